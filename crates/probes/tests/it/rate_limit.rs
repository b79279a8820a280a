use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use serde_json::json;

use crate::support::*;

/// A fixed-window limiter: `allow` requests per second, then 429 (with `retry_after` if any).
fn limited(allow: u32, retry_after: Option<&'static str>) -> Router {
    let window = Arc::new(Mutex::new((Instant::now(), 0u32)));
    Router::new().route(
        "/api/login",
        post(move || {
            let window = window.clone();
            async move {
                let mut w = window.lock().unwrap();
                if w.0.elapsed() >= Duration::from_secs(1) {
                    *w = (Instant::now(), 0);
                }
                w.1 += 1;
                if w.1 > allow {
                    let mut resp = StatusCode::TOO_MANY_REQUESTS.into_response();
                    if let Some(ra) = retry_after {
                        resp.headers_mut()
                            .insert("retry-after", ra.parse().unwrap());
                    }
                    resp
                } else {
                    "ok".into_response()
                }
            }
        }),
    )
}

fn params() -> serde_json::Value {
    json!({ "path": "/api/login", "json": { "user": "a" }, "limit": 3, "max_requests": 10, "max_wait": "3s" })
}

#[tokio::test]
async fn limiter_with_retry_after_passes() {
    let url = serve(limited(3, Some("1"))).await;
    let o = run("rate-limit", &url, params()).await;
    assert_pass(&o);
    assert_eq!(o.measurements["requests_before_429"], 3.0);
    assert_eq!(o.requests, 5, "3 through, the 429, one after waiting");
}

#[tokio::test]
async fn never_429_fails_within_the_cap() {
    let url = serve(limited(1000, Some("1"))).await;
    let o = run("rate-limit", &url, params()).await;
    assert_fails_with(&o, "rate-limit-not-enforced");
    assert_eq!(o.requests, 10, "max_requests is a hard cap");
    assert!(
        o.findings[0].message.contains("none in 10 requests"),
        "{o:#?}"
    );
}

#[tokio::test]
async fn a_late_429_says_how_many_got_through() {
    let url = serve(limited(6, Some("1"))).await;
    let o = run("rate-limit", &url, params()).await;
    assert_fails_with(&o, "rate-limit-not-enforced");
    assert!(
        o.findings[0].message.contains("saw 6 requests get through"),
        "{o:#?}"
    );
}

#[tokio::test]
async fn a_429_without_retry_after_fails() {
    let url = serve(limited(3, None)).await;
    assert_fails_with(
        &run("rate-limit", &url, params()).await,
        "retry-after-missing",
    );
    let url = serve(limited(3, Some("soon"))).await;
    assert_fails_with(
        &run("rate-limit", &url, params()).await,
        "retry-after-invalid",
    );
}

#[tokio::test]
async fn a_retry_after_beyond_max_wait_is_not_checked_and_not_a_failure() {
    let url = serve(limited(3, Some("60"))).await;
    let mut p = params();
    p["max_wait"] = json!("200ms");
    let o = run("rate-limit", &url, p).await;
    assert_pass(&o);
    assert_eq!(o.measurements["recovery_checked"], 0.0);
    assert_eq!(o.measurements["retry_after_s"], 60.0);
    assert_eq!(o.requests, 4, "no request before the server's time");
}

#[tokio::test]
async fn a_limit_that_does_not_lift_fails() {
    // Retry-After says 0s, but the window is 1s long: the probe comes back after 100ms, as
    // it was told it could, and is still refused.
    let url = serve(limited(3, Some("0"))).await;
    let p = params();
    assert_fails_with(
        &run("rate-limit", &url, p).await,
        "rate-limit-not-recovered",
    );
}
