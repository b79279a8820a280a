//! `X-Request-Id`: echo a well-formed id from the client, otherwise mint a UUID.
//!
//! Ids end up in logs and downstream headers, so a client-supplied one is only trusted when it
//! is short and made of inert characters; anything else is replaced, never passed on.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use crate::config::Config;
use crate::flaw::Flaw;

/// The header name.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest id echoed back.
pub const MAX_LEN: usize = 128;

/// Whether a client-supplied id is echoed: 1..=128 of `[A-Za-z0-9._-]`.
pub fn is_acceptable(id: &[u8]) -> bool {
    (1..=MAX_LEN).contains(&id.len())
        && id
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Middleware: puts the (validated or fresh) id on the request for handlers and on the response.
pub(crate) async fn middleware(
    State(config): State<Arc<Config>>,
    mut req: Request,
    next: Next,
) -> Response {
    if config.has(Flaw::NoRequestId) {
        req.headers_mut().remove(X_REQUEST_ID);
        let mut response = next.run(req).await;
        response.headers_mut().remove(X_REQUEST_ID);
        return response;
    }
    let id = match req.headers().get(X_REQUEST_ID) {
        Some(value) if is_acceptable(value.as_bytes()) => value.clone(),
        _ => HeaderValue::from_str(&uuid::Uuid::new_v4().to_string())
            .expect("a UUID is a valid header value"),
    };
    req.headers_mut().insert(X_REQUEST_ID, id.clone());
    let mut response = next.run(req).await;
    response.headers_mut().insert(X_REQUEST_ID, id);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_short_inert_ids() {
        assert!(is_acceptable(b"abc-123_x.y"));
        assert!(is_acceptable(&[b'a'; MAX_LEN]));
        assert!(!is_acceptable(&[b'a'; MAX_LEN + 1]));
        assert!(!is_acceptable(b""));
        assert!(!is_acceptable(b"a b"));
        assert!(!is_acceptable(b"a\tb"));
        assert!(!is_acceptable(b"<script>"));
        assert!(!is_acceptable("é".as_bytes()));
    }
}
