use axum::Router;
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::routing::get;
use serde_json::json;

use crate::support::*;

/// A server that decides the response's X-Request-Id from the request's.
fn server(decide: fn(Option<&str>) -> Option<String>) -> Router {
    Router::new()
        .route("/health/live", get(|| async { "ok" }))
        .layer(middleware::from_fn(
            move |req: Request, next: Next| async move {
                let sent = req
                    .headers()
                    .get("x-request-id")
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
                let mut resp = next.run(req).await;
                if let Some(id) = decide(sent.as_deref()) {
                    resp.headers_mut()
                        .insert("x-request-id", HeaderValue::from_str(&id).unwrap());
                }
                resp
            },
        ))
}

fn fresh() -> String {
    uuid_like()
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    format!(
        "{:032x}",
        N.fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
    )
}

fn good(sent: Option<&str>) -> Option<String> {
    match sent {
        Some(id)
            if id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
        {
            Some(id.to_string())
        }
        _ => Some(fresh()),
    }
}

#[tokio::test]
async fn good_service_passes() {
    let url = serve(server(good)).await;
    let o = run("request-id", &url, json!({ "samples": 10 })).await;
    assert_pass(&o);
    assert_eq!(o.requests, 14);
}

#[tokio::test]
async fn echoing_anything_fails() {
    let url = serve(server(|sent| Some(sent.map_or_else(fresh, str::to_string)))).await;
    let o = run("request-id", &url, json!({ "samples": 3 })).await;
    assert_fails_with(&o, "request-id-oversized-echoed");
    assert_fails_with(&o, "request-id-unsafe-echoed");
}

#[tokio::test]
async fn constant_ids_fail_pattern_and_uniqueness() {
    let url = serve(server(|sent| {
        Some(sent.map_or("abc".to_string(), str::to_string))
    }))
    .await;
    let o = run("request-id", &url, json!({ "samples": 3 })).await;
    assert_fails_with(&o, "request-id-pattern");
    assert_fails_with(&o, "request-id-duplicate");
}

#[tokio::test]
async fn no_request_id_at_all_fails() {
    let url = serve(server(|_| None)).await;
    let o = run("request-id", &url, json!({ "samples": 2 })).await;
    assert_fails_with(&o, "request-id-not-echoed");
    assert_fails_with(&o, "request-id-missing");
}

#[tokio::test]
async fn a_custom_pattern_must_match_in_full() {
    let url = serve(server(good)).await;
    let o = run(
        "request-id",
        &url,
        json!({ "samples": 2, "pattern": "[0-9a-f]{8}" }),
    )
    .await;
    assert_fails_with(&o, "request-id-pattern");
}
