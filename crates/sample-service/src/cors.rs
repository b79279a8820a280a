//! CORS: credentialed cross-origin access for an exact allowlist of origins, nothing for others.
//!
//! Matching is whole-string equality. Prefix, suffix or regex matching is how
//! `https://app.example.com.evil.test` ends up trusted.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::config::Config;
use crate::flaw::Flaw;

const ALLOW_METHODS: &str = "GET, POST, OPTIONS";
const ALLOW_HEADERS: &str = "authorization, content-type, x-request-id";
const EXPOSE_HEADERS: &str = "x-request-id, retry-after";
const MAX_AGE_SECONDS: &str = "600";

/// Whether `origin` may make credentialed requests.
pub(crate) fn is_allowed(config: &Config, origin: &str) -> bool {
    config.has(Flaw::CorsAnyOrigin)
        || config
            .allowed_origins
            .iter()
            .any(|allowed| allowed == origin)
}

/// Middleware: answers preflights and decorates responses for allowed origins.
pub(crate) async fn middleware(
    State(config): State<Arc<Config>>,
    req: Request,
    next: Next,
) -> Response {
    let origin = req.headers().get(header::ORIGIN).cloned();
    let allowed = origin
        .as_ref()
        .and_then(|origin| origin.to_str().ok())
        .is_some_and(|origin| is_allowed(&config, origin));
    let is_preflight = req.method() == Method::OPTIONS
        && origin.is_some()
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);

    let mut response = if is_preflight {
        preflight(&req, allowed)
    } else {
        next.run(req).await
    };
    let headers = response.headers_mut();
    // Responses differ by Origin, so caches must key on it whatever this one said.
    if !config.has(Flaw::CorsAnyOrigin) {
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    if let (true, Some(origin)) = (allowed, origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        if !is_preflight {
            headers.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static(EXPOSE_HEADERS),
            );
        }
    }
    response
}

fn preflight(req: &Request, origin_allowed: bool) -> Response {
    let method_allowed = req
        .headers()
        .get(header::ACCESS_CONTROL_REQUEST_METHOD)
        .and_then(|method| method.to_str().ok())
        .is_some_and(|method| matches!(method, "GET" | "POST"));
    if !(origin_allowed && method_allowed) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let mut headers = HeaderMap::new();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(ALLOW_METHODS),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(ALLOW_HEADERS),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(MAX_AGE_SECONDS),
    );
    (StatusCode::NO_CONTENT, headers).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_match_only() {
        let config = Config::new("x.db");
        assert!(is_allowed(&config, "https://app.example.com"));
        for foreign in [
            "null",
            "https://app.example.com.evil.test",
            "https://evilapp.example.com",
            "https://app-example.com",
            "http://app.example.com",
            "https://app.example.com/",
            "HTTPS://APP.EXAMPLE.COM",
        ] {
            assert!(!is_allowed(&config, foreign), "{foreign}");
        }
        let config = config.with_flaw(Flaw::CorsAnyOrigin);
        assert!(is_allowed(&config, "https://evil.test"));
    }
}
