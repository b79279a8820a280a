use axum::Router;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use phasegate_model::Verdict;
use serde_json::json;

use crate::support::*;

fn app() -> Router {
    Router::new()
        .route(
            "/login",
            post(|| async { ([("x-request-id", "rid-1")], axum::Json(json!({ "token": "t-123" }))) }),
        )
        .route(
            "/me/{rid}",
            get(|headers: HeaderMap, axum::extract::Path(rid): axum::extract::Path<String>| async move {
                let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
                if auth != Some("Bearer t-123") || rid != "rid-1" {
                    return axum::http::StatusCode::UNAUTHORIZED.into_response();
                }
                axum::Json(json!({ "name": "alice", "id": 7 })).into_response()
            }),
        )
}

#[tokio::test]
async fn captures_flow_into_later_requests() {
    let url = serve(app()).await;
    let o = run(
        "http",
        &url,
        json!({ "requests": [
            { "method": "POST", "path": "/login", "json": { "user": "alice" },
              "expect": { "status": 200, "json": { "/token": { "type": "string" } } },
              "capture": { "token": "/token", "rid": { "header": "x-request-id" } } },
            { "path": "/me/{{rid}}", "headers": { "authorization": "Bearer {{token}}" },
              "expect": { "status": [200, 204], "headers": { "content-type": "application/json" },
                          "body_contains": "alice", "json": { "/id": 7, "/name": "alice" }, "max_latency": "5s" } },
        ]}),
    )
    .await;
    assert_pass(&o);
    assert_eq!(o.requests, 2);
    assert!(o.measurements.contains_key("latency_p50_ms"));
    assert!(o.measurements.contains_key("latency_max_ms"));
}

#[tokio::test]
async fn every_failed_assertion_is_reported() {
    let url = serve(app()).await;
    let o = run(
        "http",
        &url,
        json!({ "requests": [
            { "method": "POST", "path": "/login", "capture": { "token": "/token", "rid": { "header": "x-request-id" } } },
            { "path": "/me/{{rid}}", "headers": { "authorization": "Bearer {{token}}" },
              "expect": { "status": 201, "headers": { "content-type": "text/xml", "x-missing": "a" },
                          "body_contains": "bob", "json": { "/name": "bob", "/id": { "type": "string" }, "/nope": 1 } } },
        ]}),
    )
    .await;
    assert_eq!(o.verdict, Verdict::Fail, "{o:#?}");
    let mut codes = codes(&o);
    codes.sort();
    assert_eq!(
        codes,
        [
            "body-mismatch",
            "header-mismatch",
            "header-missing",
            "json-mismatch",
            "json-missing",
            "json-type-mismatch",
            "status-mismatch"
        ]
    );
    assert!(
        o.findings
            .iter()
            .all(|f| f.location.as_deref() == Some("GET /me/rid-1 (request 2)"))
    );
    let status = o
        .findings
        .iter()
        .find(|f| f.code == "status-mismatch")
        .unwrap();
    assert_eq!(status.message, "expected status 201, saw 200");
}

#[tokio::test]
async fn a_failed_capture_skips_the_requests_that_need_it() {
    let url = serve(app()).await;
    let o = run(
        "http",
        &url,
        json!({ "requests": [
            { "method": "POST", "path": "/login", "capture": { "token": "/access_token" } },
            { "path": "/me/x", "headers": { "authorization": "Bearer {{token}}" } },
        ]}),
    )
    .await;
    assert_fails_with(&o, "capture-failed");
    assert_fails_with(&o, "capture-unavailable");
    assert_eq!(o.requests, 1);
}

#[tokio::test]
async fn default_expectation_is_2xx() {
    let url = serve(app()).await;
    let o = run("http", &url, json!({ "requests": [{ "path": "/me/x" }] })).await;
    assert_fails_with(&o, "status-mismatch");
}

#[tokio::test]
async fn unreachable_server_is_an_error_not_a_fail() {
    let o = run(
        "http",
        &dead_url().await,
        json!({ "requests": [{ "path": "/" }] }),
    )
    .await;
    assert_eq!(o.verdict, Verdict::Error, "{o:#?}");
    assert!(o.findings.is_empty());
    let reason = o.reason.unwrap();
    assert!(reason.starts_with("GET / (request 1): "), "{reason}");
}

#[tokio::test]
async fn invalid_params_are_an_error_without_requests() {
    let url = serve(app()).await;
    let o = run("http", &url, json!({ "requests": [] })).await;
    assert_eq!(o.verdict, Verdict::Error);
    assert_eq!(o.requests, 0);
    assert!(o.reason.unwrap().contains("requests"));
}
