//! Issue 9: the `request-id` probe against concrete services, one row per rule, each citing
//! the rule's intent (there is no RFC for request ids; the references are the conventions of
//! Heroku's router and common middleware: echo a valid client id, generate one when absent,
//! never pass on one that is oversized or unsafe to log, a fresh one per request). A row
//! passes when the verdict and the set of finding codes are exactly the expected ones.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::routing::get;
use serde_json::json;

use crate::support::*;

/// The response's X-Request-Id values, from the request's.
type Decide = fn(Option<&str>) -> Vec<String>;

struct Row {
    name: &'static str,
    decide: Decide,
    pattern: Option<&'static str>,
    expect: &'static [&'static str],
}

static N: AtomicU64 = AtomicU64::new(1);

fn next() -> u64 {
    N.fetch_add(1, Ordering::Relaxed)
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// A fresh UUID-shaped id.
fn uuid() -> String {
    let (a, b) = (next(), next());
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

/// A fresh id of 32 hex digits.
fn hex() -> String {
    format!("{:016x}{:016x}", next(), next())
}

fn is_inert(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn rows() -> Vec<Row> {
    let row = |name, decide: Decide, expect| Row {
        name,
        decide,
        pattern: None,
        expect,
    };
    vec![
        // Echo a valid id, otherwise mint one.
        row(
            "well-behaved",
            |sent| {
                vec![
                    sent.filter(|s| is_inert(s))
                        .map_or_else(uuid, str::to_string),
                ]
            },
            &[],
        ),
        // A service that echoes only ids in its own format (32 hex digits) is not at fault
        // for replacing a UUID: the probe retries with one of the service's own ids.
        row(
            "echoes only its own format",
            |sent| {
                let own = |s: &&str| s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit());
                vec![sent.filter(own).map_or_else(hex, str::to_string)]
            },
            &[],
        ),
        // The default pattern accepts upper-case hex.
        row(
            "upper-case ids",
            |sent| {
                vec![
                    sent.filter(|s| is_inert(s))
                        .map_or_else(|| uuid().to_uppercase(), str::to_string),
                ]
            },
            &[],
        ),
        // Echo when given: a service that always mints its own breaks the client's trace.
        row("never echoes", |_| vec![uuid()], &["request-id-not-echoed"]),
        // Generated when absent.
        row(
            "no header at all",
            |_| Vec::new(),
            &["request-id-missing", "request-id-not-echoed"],
        ),
        // Fresh on every request; a constant id echoed back must not pass the echo rule
        // either (it is "echoed" only because it is constant).
        row(
            "constant hex id",
            |_| vec!["0123456789abcdef0123456789abcdef".to_string()],
            &["request-id-duplicate", "request-id-not-echoed"],
        ),
        // Ids that repeat after a few requests (a small counter) collide in logs.
        row(
            "ids cycle",
            |sent| {
                vec![sent.filter(|s| is_inert(s)).map_or_else(
                    || format!("{:032x}", N.fetch_add(1, Ordering::Relaxed) % 3),
                    str::to_string,
                )]
            },
            &["request-id-duplicate"],
        ),
        // Generated ids should be unguessable-looking and recognisable: a UUID or hex.
        row(
            "sequential ids",
            |sent| {
                vec![sent.filter(|s| is_inert(s)).map_or_else(
                    || format!("req-{}", N.fetch_add(1, Ordering::Relaxed)),
                    str::to_string,
                )]
            },
            &["request-id-pattern"],
        ),
        // Unsafe values are not echoed: oversized (log flooding) and whitespace or control
        // characters (log forging).
        row(
            "echoes anything",
            |sent| vec![sent.map_or_else(uuid, str::to_string)],
            &["request-id-oversized-echoed", "request-id-unsafe-echoed"],
        ),
        row(
            "echoes long ids",
            |sent| {
                vec![
                    sent.filter(|s| !s.contains([' ', '\t']))
                        .map_or_else(uuid, str::to_string),
                ]
            },
            &["request-id-oversized-echoed"],
        ),
        // One id per response: a service that adds its own and passes the client's on in a
        // second value still hands the hostile one to whoever reads the header.
        row(
            "two values",
            |sent| {
                let mut v = vec![uuid()];
                v.extend(sent.map(str::to_string));
                v
            },
            &[
                "request-id-multiple",
                "request-id-not-echoed",
                "request-id-oversized-echoed",
                "request-id-unsafe-echoed",
            ],
        ),
        // A declared pattern must match in full.
        Row {
            name: "custom pattern not matched",
            decide: |sent| {
                vec![
                    sent.filter(|s| is_inert(s))
                        .map_or_else(uuid, str::to_string),
                ]
            },
            pattern: Some("[0-9a-f]{32}"),
            expect: &["request-id-pattern"],
        },
    ]
}

fn server(decide: Decide) -> Router {
    Router::new()
        .route("/health/live", get(|| async { "ok" }))
        .layer(middleware::from_fn(
            move |req: Request, next: Next| async move {
                let sent = req
                    .headers()
                    .get("x-request-id")
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
                let mut resp = next.run(req).await;
                for id in decide(sent.as_deref()) {
                    resp.headers_mut()
                        .append("x-request-id", HeaderValue::from_str(&id).unwrap());
                }
                resp
            },
        ))
}

#[tokio::test]
async fn request_id_conformance() {
    let rows = rows();
    assert!(rows.len() >= 10);
    let mut wrong = Vec::new();
    for r in rows {
        let url = serve(server(r.decide)).await;
        let mut p = json!({ "samples": 6 });
        if let Some(pattern) = r.pattern {
            p["pattern"] = json!(pattern);
        }
        let o = run("request-id", &url, p).await;
        if !crate::support::row_holds(&o, r.expect) {
            wrong.push(format!(
                "{}: expected {:?}, got {:?} {:#?}",
                r.name, r.expect, o.verdict, o.findings
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// `request_id_unique` counts distinct ids, not ids received.
#[tokio::test]
async fn unique_counts_distinct_ids() {
    // Its own counter: the rows' tests share `N` and run in parallel.
    static ALTERNATE: AtomicU64 = AtomicU64::new(0);
    let url = serve(server(|sent| {
        let n = ALTERNATE.fetch_add(1, Ordering::Relaxed) % 2;
        vec![sent.map_or_else(|| format!("{n:032x}"), str::to_string)]
    }))
    .await;
    let o = run("request-id", &url, json!({ "samples": 6 })).await;
    assert_eq!(o.measurements["request_id_samples"], 6.0);
    assert_eq!(o.measurements["request_id_unique"], 2.0);
}
