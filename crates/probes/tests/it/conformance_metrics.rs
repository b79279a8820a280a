//! Issue 9: the `metrics` probe against concrete expositions, one row per rule, each citing
//! where the rule comes from. A row passes when the verdict and the set of finding codes are
//! exactly the expected ones: an extra finding is a false fail, a missing one a false pass.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::json;

use crate::support::*;

const TEXT: Option<&str> = Some("text/plain; version=0.0.4; charset=utf-8");
const OM: Option<&str> = Some("application/openmetrics-text; version=1.0.0; charset=utf-8");

/// A request counter and a latency histogram, as the default requirements ask.
const BASE_TEXT: &str = r#"# HELP http_requests_total Requests served.
# TYPE http_requests_total counter
http_requests_total{route="/",status="200"} 7
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{route="/",le="0.1"} 6
http_request_duration_seconds_bucket{route="/",le="+Inf"} 7
http_request_duration_seconds_sum{route="/"} 0.4
http_request_duration_seconds_count{route="/"} 7
"#;

/// The same in OpenMetrics, with what only OpenMetrics has: `# UNIT`, `_created`, exemplars.
const BASE_OM: &str = r#"# HELP http_requests Requests served.
# TYPE http_requests counter
http_requests_total{route="/",status="200"} 7 # {trace_id="4bf92f3577b34da6a3ce929d0e0e4736"} 1.0 1700000000.123
http_requests_created{route="/",status="200"} 1700000000.0
# TYPE http_request_duration_seconds histogram
# UNIT http_request_duration_seconds seconds
http_request_duration_seconds_bucket{route="/",le="0.1"} 6 # {trace_id="a"} 0.05
http_request_duration_seconds_bucket{route="/",le="+Inf"} 7
http_request_duration_seconds_sum{route="/"} 0.4
http_request_duration_seconds_count{route="/"} 7
http_request_duration_seconds_created{route="/"} 1700000000.0
"#;

fn text(extra: &str) -> String {
    format!("{BASE_TEXT}{extra}")
}

fn om(extra: &str) -> String {
    format!("{BASE_OM}{extra}# EOF\n")
}

struct Row {
    name: &'static str,
    content_type: Option<&'static str>,
    /// The body of each scrape in turn; the last one repeats.
    bodies: Vec<String>,
    expect_traffic: bool,
    /// Expected finding codes; empty means a pass.
    expect: &'static [&'static str],
}

fn row(
    name: &'static str,
    ct: Option<&'static str>,
    body: String,
    expect: &'static [&'static str],
) -> Row {
    Row {
        name,
        content_type: ct,
        bodies: vec![body],
        expect_traffic: false,
        expect,
    }
}

fn counter_scrapes(values: &[&str], extra_series: &str) -> Vec<String> {
    values
        .iter()
        .map(|v| {
            format!(
                "# TYPE http_requests_total counter\n{extra_series}http_requests_total{{route=\"/\",status=\"200\"}} {v}\n# TYPE d histogram\nd_bucket{{le=\"+Inf\"}} 0\nd_sum 0\nd_count 0\n"
            )
        })
        .collect()
}

fn rows() -> Vec<Row> {
    vec![
        // Prometheus exposition formats, "Text format details": Content-Type
        // `text/plain; version=0.0.4`.
        row("text/plain with version", TEXT, text(""), &[]),
        // Prometheus content negotiation: `text/plain` without a version is 0.0.4.
        row("text/plain without version", Some("text/plain"), text(""), &[]),
        // Prometheus 3 migration guide, "Scrape protocols": a blank Content-Type fails the
        // scrape unless `fallback_scrape_protocol` is set.
        row("no content type", None, text(""), &["metrics-content-type"]),
        // Same: an unknown media type is refused.
        row("text/html", Some("text/html; charset=utf-8"), text(""), &["metrics-content-type"]),
        // Same, via Go's mime.ParseMediaType: a comma does not separate parameters
        // ("mime: invalid media parameter", seen on gitlab-exporter with Prometheus 3.0.1).
        row(
            "malformed parameters",
            Some("text/plain; version=0.0.4, charset=utf-8"),
            text(""),
            &["metrics-content-type"],
        ),
        // OpenMetrics 1.0: exemplars on counters and buckets, `# UNIT`, `_created`, float
        // timestamps in seconds, `info`, `stateset`, `gaugehistogram`, `unknown`, `# EOF`.
        row(
            "OpenMetrics with every type",
            OM,
            om(r#"# TYPE build info
build_info{version="1.2.3"} 1
# TYPE feature stateset
feature{feature="a"} 1
feature{feature="b"} 0
# TYPE queue gaugehistogram
queue_bucket{le="1"} 2
queue_bucket{le="+Inf"} 3
queue_gcount 3
queue_gsum 2.5
# TYPE temp gauge
temp 21.5 1700000000.5
# TYPE mystery unknown
mystery 1
"#),
            &[],
        ),
        // OpenMetrics 1.0, "Overall structure": the exposition MUST end with `# EOF`.
        row("OpenMetrics without # EOF", OM, BASE_OM.to_string(), &["metrics-parse-error"]),
        // Same: nothing may follow `# EOF`.
        row("OpenMetrics after # EOF", OM, format!("{}extra 1\n", om("")), &["metrics-parse-error"]),
        // OpenMetrics 1.0, "Metric types": `untyped` is not one of them (it is `unknown`).
        row(
            "OpenMetrics untyped",
            OM,
            om("# TYPE x untyped\nx 1\n"),
            &["metrics-parse-error"],
        ),
        // OpenMetrics 1.0, "Exemplars": the label set MUST NOT exceed 128 UTF-8 characters.
        row(
            "OpenMetrics oversized exemplar",
            OM,
            om(&format!(
                "# TYPE c counter\nc_total 1 # {{trace_id=\"{}\"}} 1\n",
                "a".repeat(130)
            )),
            &["metrics-parse-error"],
        ),
        // OpenMetrics 1.0, "StateSet": each sample is 1 (the state holds) or 0.
        row(
            "OpenMetrics stateset value 2",
            OM,
            om("# TYPE s stateset\ns{s=\"a\"} 2\n"),
            &["metrics-parse-error"],
        ),
        // Exposition format 0.0.4: after the value only an integer timestamp (ms); exemplars
        // and float timestamps are OpenMetrics only, and Prometheus's text parser refuses them.
        row(
            "exemplar in text/plain",
            TEXT,
            text("# TYPE c counter\nc_total 1 # {trace_id=\"a\"} 1\n"),
            &["metrics-parse-error"],
        ),
        row(
            "float timestamp in text/plain",
            TEXT,
            text("# TYPE g gauge\ng 1 1700000000.5\n"),
            &["metrics-parse-error"],
        ),
        // Exposition format 0.0.4: `# TYPE` is counter, gauge, histogram, summary or untyped.
        row(
            "info type in text/plain",
            TEXT,
            text("# TYPE build info\nbuild_info 1\n"),
            &["metrics-parse-error"],
        ),
        // Exposition format 0.0.4, "Histograms and summaries": buckets are cumulative and
        // the +Inf bucket equals _count.
        row(
            "non-cumulative histogram",
            TEXT,
            text("# TYPE h histogram\nh_bucket{le=\"1\"} 5\nh_bucket{le=\"+Inf\"} 4\nh_sum 1\nh_count 4\n"),
            &["metrics-histogram-inconsistent"],
        ),
        // Exposition format 0.0.4: each series once (Prometheus: "duplicate sample").
        row(
            "duplicate series",
            TEXT,
            text("up 1\nup 1\n"),
            &["metrics-parse-error"],
        ),
        // Prometheus querying, "rate()": a counter only goes down on a reset; a drop between
        // two scrapes of one process is read as a reset and makes rate() lie.
        Row {
            name: "counter goes backwards",
            content_type: TEXT,
            bodies: counter_scrapes(&["10", "9"], ""),
            expect_traffic: false,
            expect: &["metrics-counter-decreased"],
        },
        // OpenMetrics 1.0, "Counter": `_created` tells a reset apart; a drop with a new
        // `_created` is a restart, not a defect.
        Row {
            name: "counter reset with a new _created",
            content_type: OM,
            bodies: vec![
                om(""),
                om("").replace("} 7 # {trace_id", "} 1 # {trace_id").replace(
                    "http_requests_created{route=\"/\",status=\"200\"} 1700000000.0",
                    "http_requests_created{route=\"/\",status=\"200\"} 1700000100.0",
                ),
            ],
            expect_traffic: false,
            expect: &[],
        },
        // phasegate rule (issue 9): the probe's own scrapes are not the traffic. A counter
        // without a route label that counts only the scrapes grows by 1 each time.
        Row {
            name: "counter counts only the probe's scrapes",
            content_type: TEXT,
            bodies: counter_scrapes(&["1", "2", "3"], ""),
            expect_traffic: true,
            expect: &["metrics-counter-not-increased"],
        },
        Row {
            name: "counter counts scrapes and the traffic",
            content_type: TEXT,
            bodies: counter_scrapes(&["1", "2", "4"], ""),
            expect_traffic: true,
            expect: &[],
        },
        // Same, with the scrapes labelled by route: only the /metrics series moves.
        Row {
            name: "only the /metrics series grows",
            content_type: TEXT,
            bodies: ["1", "2", "3"]
                .iter()
                .map(|n| {
                    format!(
                        "# TYPE http_requests_total counter\nhttp_requests_total{{route=\"/metrics\",status=\"200\"}} {n}\nhttp_requests_total{{route=\"/\",status=\"200\"}} 5\n# TYPE d histogram\nd_bucket{{le=\"+Inf\"}} 0\nd_sum 0\nd_count 0\n"
                    )
                })
                .collect(),
            expect_traffic: true,
            expect: &["metrics-counter-not-increased"],
        },
    ]
}

async fn serving(ct: Option<&'static str>, bodies: Vec<String>) -> url::Url {
    let bodies = Arc::new(bodies);
    let n = Arc::new(AtomicUsize::new(0));
    serve(Router::new().route("/", get(|| async { "home" })).route(
        "/metrics",
        get(move || {
            let i = n.fetch_add(1, Ordering::Relaxed).min(bodies.len() - 1);
            let body = bodies[i].clone();
            async move {
                let mut resp = body.into_response();
                resp.headers_mut().remove(header::CONTENT_TYPE);
                if let Some(ct) = ct {
                    resp.headers_mut()
                        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
                }
                resp
            }
        }),
    ))
    .await
}

#[tokio::test]
async fn metrics_conformance() {
    let rows = rows();
    assert!(rows.len() >= 15);
    let mut wrong = Vec::new();
    for r in rows {
        let url = serving(r.content_type, r.bodies).await;
        let o = run(
            "metrics",
            &url,
            json!({ "expect_traffic": r.expect_traffic }),
        )
        .await;
        if !crate::support::row_holds(&o, r.expect) {
            wrong.push(format!(
                "{}: expected {:?}, got {:?} {:#?}",
                r.name, r.expect, o.verdict, o.findings
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
