//! Security headers on every response, errors included.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::config::Config;
use crate::flaw::Flaw;

/// Sent always: in production TLS ends at a proxy in front, so the service cannot tell from
/// the request whether the client used HTTPS.
pub const HSTS: &str = "max-age=31536000; includeSubDomains";
/// The Content-Security-Policy of the clean service.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
const CSP_UNSAFE_INLINE: &str = "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
/// The `Server` header: a name, no version to look vulnerabilities up by.
pub const SERVER: &str = "membership";

/// Middleware: sets the security headers, overriding whatever a handler set.
pub(crate) async fn middleware(
    State(config): State<Arc<Config>>,
    req: Request,
    next: Next,
) -> Response {
    // API answers carry credentials (sign-in) or the member's data: no cache may keep them.
    let api = req.uri().path().starts_with("/api/");
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    let set = |headers: &mut axum::http::HeaderMap, name: HeaderName, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };

    if config.has(Flaw::NoHsts) {
        headers.remove(header::STRICT_TRANSPORT_SECURITY);
    } else {
        set(headers, header::STRICT_TRANSPORT_SECURITY, HSTS);
    }
    let csp = if config.has(Flaw::CspUnsafeInline) {
        CSP_UNSAFE_INLINE
    } else {
        CSP
    };
    set(headers, header::CONTENT_SECURITY_POLICY, csp);
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(
        headers,
        header::REFERRER_POLICY,
        "strict-origin-when-cross-origin",
    );
    set(
        headers,
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=()",
    );
    set(
        headers,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    // Same-origin: no page of another site may embed a response with no-cors; the CORS
    // allowlist still lets the app's origins read the API, as CORP leaves CORS requests alone.
    set(
        headers,
        HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    );
    if api && !headers.contains_key(header::CACHE_CONTROL) {
        set(headers, header::CACHE_CONTROL, "no-store");
    }
    set(headers, header::SERVER, SERVER);

    let powered_by = HeaderName::from_static("x-powered-by");
    if config.has(Flaw::XPoweredBy) {
        set(headers, powered_by, "Express/4.17.1");
    } else {
        headers.remove(powered_by);
    }
    response
}
