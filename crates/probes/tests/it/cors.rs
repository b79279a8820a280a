use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::routing::get;
use serde_json::json;

use crate::support::*;

const APP: &str = "https://app.example.com";

/// A server whose CORS decision is `policy(origin)`: the ACAO value to send, if any.
fn server(policy: fn(&str) -> Option<String>, credentials: bool) -> Router {
    let policy = Arc::new(policy);
    Router::new()
        // Preflights get a 204; the CORS headers are added below, whatever the status.
        .route(
            "/api/data",
            get(|| async { "{}" }).options(|| async { axum::http::StatusCode::NO_CONTENT }),
        )
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            let policy = policy.clone();
            async move {
                let origin = req
                    .headers()
                    .get("origin")
                    .and_then(|o| o.to_str().ok())
                    .map(str::to_string);
                let mut resp = next.run(req).await;
                let h = resp.headers_mut();
                h.insert("vary", HeaderValue::from_static("Origin"));
                if let Some(acao) = origin.as_deref().and_then(|o| policy(o)) {
                    h.insert(
                        "access-control-allow-origin",
                        HeaderValue::from_str(&acao).unwrap(),
                    );
                    h.insert(
                        "access-control-allow-methods",
                        HeaderValue::from_static("GET, PUT"),
                    );
                    h.insert(
                        "access-control-allow-headers",
                        HeaderValue::from_static("Content-Type"),
                    );
                    if credentials {
                        h.insert(
                            "access-control-allow-credentials",
                            HeaderValue::from_static("true"),
                        );
                    }
                }
                resp
            }
        }))
}

fn params() -> serde_json::Value {
    json!({ "path": "/api/data", "allowed": [APP], "credentials": true })
}

#[tokio::test]
async fn exact_allowlist_passes() {
    let url = serve(server(|o| (o == APP).then(|| o.to_string()), true)).await;
    let o = run("cors", &url, params()).await;
    assert_pass(&o);
    // Allowed: simple + preflight; foreign: evil, null and five look-alikes, twice each.
    assert_eq!(o.requests, 2 + 2 * 7);
}

#[tokio::test]
async fn reflecting_any_origin_with_credentials_fails() {
    let url = serve(server(|o| Some(o.to_string()), true)).await;
    let o = run("cors", &url, params()).await;
    assert_fails_with(&o, "cors-origin-reflected");
    let null = o
        .findings
        .iter()
        .any(|f| f.location.as_deref() == Some("GET /api/data (Origin: null)"));
    assert!(null, "the null origin is refused too: {o:#?}");
}

#[tokio::test]
async fn wildcard_with_credentials_fails() {
    let url = serve(server(|_| Some("*".to_string()), true)).await;
    let o = run("cors", &url, params()).await;
    assert_fails_with(&o, "cors-wildcard-with-credentials");
    assert_fails_with(&o, "cors-allowed-origin-mismatch");
}

#[tokio::test]
async fn sloppy_suffix_check_accepts_look_alikes_and_fails() {
    let url = serve(server(
        |o| o.ends_with("app.example.com").then(|| o.to_string()),
        true,
    ))
    .await;
    let o = run("cors", &url, params()).await;
    assert_fails_with(&o, "cors-origin-reflected");
    let flagged: Vec<_> = o
        .findings
        .iter()
        .filter_map(|f| f.location.as_deref())
        .collect();
    assert!(
        flagged.contains(&"GET /api/data (Origin: https://evilapp.example.com)"),
        "{flagged:?}"
    );
    assert!(
        flagged.contains(&"OPTIONS /api/data (preflight, Origin: http://app.example.com)"),
        "{flagged:?}"
    );
    assert!(
        !flagged.iter().any(|l| l.contains("evil.example)")),
        "{flagged:?}"
    );
}

#[tokio::test]
async fn missing_credentials_and_vary_fail() {
    let url = serve(server(|o| (o == APP).then(|| o.to_string()), false)).await;
    assert_fails_with(
        &run("cors", &url, params()).await,
        "cors-credentials-missing",
    );
    let no_vary = Router::new().route(
        "/api/data",
        get(|req: Request| async move {
            let origin = req.headers().get("origin").cloned();
            let mut resp = axum::response::IntoResponse::into_response("{}");
            if let Some(o) = origin.filter(|o| o == APP) {
                resp.headers_mut().insert("access-control-allow-origin", o);
            }
            resp
        }),
    );
    let url = serve(no_vary).await;
    let o = run(
        "cors",
        &url,
        json!({ "path": "/api/data", "allowed": [APP] }),
    )
    .await;
    assert_fails_with(&o, "cors-vary-missing");
    // The preflight got a 405 without CORS headers: the allowed origin is refused there.
    assert_fails_with(&o, "cors-allowed-origin-refused");
}

#[tokio::test]
async fn preflight_must_list_a_non_simple_method() {
    let url = serve(server(|o| (o == APP).then(|| o.to_string()), true)).await;
    let mut p = params();
    p["method"] = json!("DELETE");
    assert_fails_with(&run("cors", &url, p).await, "cors-preflight-method-missing");
}
