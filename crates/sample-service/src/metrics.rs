//! Prometheus metrics: a request counter and a latency histogram, recorded by a middleware for
//! every request and labelled with the matched route template (never the raw path, which would
//! let clients mint unbounded label values).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The route label of requests that matched no route.
const UNMATCHED: &str = "unmatched";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DurationLabels {
    method: String,
    route: String,
}

fn duration_histogram() -> Histogram {
    // 1 ms .. ~8 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 14))
}

/// The service's metric registry and the families it records.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<DurationLabels, Histogram>,
}

impl Metrics {
    /// A fresh registry with the HTTP families registered.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let durations = Family::<DurationLabels, Histogram>::new_with_constructor(
            duration_histogram as fn() -> Histogram,
        );
        // The counter encoder appends `_total`, exposing `http_requests_total`.
        registry.register(
            "http_requests",
            "HTTP requests by method, route template and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency in seconds by method and route template",
            durations.clone(),
        );
        Metrics {
            registry,
            requests,
            durations,
        }
    }

    fn record(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status: status.to_string(),
            })
            .inc();
        self.durations
            .get_or_create(&DurationLabels {
                method: method.to_owned(),
                route: route.to_owned(),
            })
            .observe(seconds);
    }

    /// The OpenMetrics text exposition of everything recorded so far.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Middleware: counts and times every request.
pub(crate) async fn middleware(
    State(metrics): State<Arc<Metrics>>,
    req: Request,
    next: Next,
) -> Response {
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, MatchedPath::as_str)
        .to_owned();
    let start = Instant::now();
    let response = next.run(req).await;
    metrics.record(
        &method,
        &route,
        response.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposes_both_families_with_route_labels() {
        let metrics = Metrics::new();
        metrics.record("GET", "/api/v1/admin/users", 200, 0.01);
        let text = metrics.encode();
        assert!(
            text.contains(
                r#"http_requests_total{method="GET",route="/api/v1/admin/users",status="200"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"http_request_duration_seconds_count{method="GET",route="/api/v1/admin/users"} 1"#
            ),
            "{text}"
        );
    }
}
