use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::routing::get;
use serde_json::json;

use crate::support::*;

const GOOD: &str = r#"# HELP http_requests_total Requests served.
# TYPE http_requests_total counter
http_requests_total{route="/",status="200"} 7
# HELP http_request_duration_seconds Latency.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{route="/",le="0.1"} 6
http_request_duration_seconds_bucket{route="/",le="+Inf"} 7
http_request_duration_seconds_sum{route="/"} 0.4
http_request_duration_seconds_count{route="/"} 7
"#;

async fn serving(text: &'static str) -> url::Url {
    serve(Router::new().route("/metrics", get(move || async move { text }))).await
}

#[tokio::test]
async fn good_exposition_passes_default_and_declared_requirements() {
    let url = serving(GOOD).await;
    assert_pass(&run("metrics", &url, json!({})).await);
    let declared = json!({ "families": [
        { "name": "http_requests_total", "type": "counter", "labels": ["route", "status"] },
        { "name": "http_request_duration_seconds", "type": "histogram" },
    ]});
    assert_pass(&run("metrics", &url, declared).await);
}

#[tokio::test]
async fn parse_errors_are_findings_with_line_numbers() {
    let url = serving("# TYPE a counter\na{route=\"/\" 1\n").await;
    let o = run("metrics", &url, json!({})).await;
    assert_fails_with(&o, "metrics-parse-error");
    assert_eq!(
        o.findings[0].location.as_deref(),
        Some("GET /metrics (scrape) line 2")
    );
}

#[tokio::test]
async fn inconsistent_histogram_fails() {
    let bad = "# TYPE h histogram\nh_bucket{le=\"1\"} 5\nh_bucket{le=\"+Inf\"} 4\nh_sum 1\nh_count 4\n# TYPE c counter\nc{route=\"/\",code=\"200\"} 1\n";
    let o = run("metrics", &serving(bad).await, json!({})).await;
    assert_fails_with(&o, "metrics-histogram-inconsistent");
}

#[tokio::test]
async fn missing_families_labels_and_types_fail() {
    let url = serving("# TYPE up gauge\nup 1\n").await;
    let o = run("metrics", &url, json!({})).await;
    assert_fails_with(&o, "metrics-no-request-counter");
    assert_fails_with(&o, "metrics-no-histogram");
    let url = serving(GOOD).await;
    let o = run(
        "metrics",
        &url,
        json!({ "families": [
            { "name": "http_requests", "type": "gauge", "labels": ["method"] },
            { "name": "db_pool_size" },
        ]}),
    )
    .await;
    assert_fails_with(&o, "metrics-family-type");
    assert_fails_with(&o, "metrics-family-labels");
    assert_fails_with(&o, "metrics-family-missing");
}

fn counting(increment_on_traffic: bool) -> Router {
    let hits = Arc::new(AtomicU64::new(0));
    let h = hits.clone();
    Router::new()
        .route(
            "/",
            get(move || {
                let h = h.clone();
                async move {
                    if increment_on_traffic {
                        h.fetch_add(1, Ordering::Relaxed);
                    }
                    "home"
                }
            }),
        )
        .route(
            "/metrics",
            get(move || {
                let hits = hits.clone();
                async move {
                    format!(
                        "# TYPE http_requests_total counter\nhttp_requests_total{{route=\"/\",status=\"200\"}} {}\n# TYPE d histogram\nd_bucket{{le=\"+Inf\"}} 0\nd_sum 0\nd_count 0\n",
                        hits.load(Ordering::Relaxed)
                    )
                }
            }),
        )
}

#[tokio::test]
async fn counters_must_grow_with_traffic_when_asked() {
    let url = serve(counting(true)).await;
    let o = run("metrics", &url, json!({ "expect_traffic": true })).await;
    assert_pass(&o);
    assert_eq!(o.requests, 4, "two scrapes, GET /, a third scrape");
    let url = serve(counting(false)).await;
    let o = run("metrics", &url, json!({ "expect_traffic": true })).await;
    assert_fails_with(&o, "metrics-counter-not-increased");
}

#[tokio::test]
async fn a_non_2xx_scrape_fails() {
    let url = serve(Router::new()).await;
    assert_fails_with(&run("metrics", &url, json!({})).await, "metrics-status");
}
