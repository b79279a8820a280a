//! `shutdown` against real processes: this test binary re-run as a service (the sample
//! service, clean or with `shutdown-drops-requests`, or a hand-written one that shuts down
//! the wrong way), since the probe must start and signal a process of its own.

use std::time::Duration;

use axum::Router;
use axum::extract::Query;
use axum::routing::get;
use phasegate_model::Verdict;
use phasegate_probes::Outcome;
use serde_json::{Value, json};

use crate::support::*;

/// The variable that turns [`child_service`] into a service: its mode.
const CHILD: &str = "PHASEGATE_TEST_SHUTDOWN_CHILD";

/// Not a test: the service the probe starts, when this binary is run as
/// `it shutdown::child_service --exact` with [`CHILD`] set; otherwise it returns at once.
/// Modes: `sample ARGS..` (the sample service's command line), `no-drain PORT` (graceful, but
/// the listener closes at once and readiness never drops), `blip PORT` (one 503, then the
/// listener closes), `ignore-term PORT`.
#[test]
fn child_service() {
    let Ok(spec) = std::env::var(CHILD) else {
        return;
    };
    let mut words = spec.split_whitespace().map(str::to_owned);
    let mode = words.next().unwrap();
    let args: Vec<String> = words.collect();
    let code = match mode.as_str() {
        "sample" => phasegate_sample_service::cli::main(args.into_iter().map(Into::into)),
        other => hand_written(other, args[0].parse().unwrap()),
    };
    std::process::exit(i32::from(code));
}

#[derive(serde::Deserialize)]
struct Slow {
    ms: u64,
}

/// A service with `/ready` and `/slow?ms=N` that shuts down as `mode` says. `/ready` answers
/// 200, except in mode `blip`: after SIGTERM it answers one 503 and the listener closes
/// right after it (readiness drops, but never for long enough to be acted on).
fn hand_written(mode: &str, port: u16) -> u8 {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let terminating = Arc::new(AtomicBool::new(false));
        let unready_served = Arc::new(tokio::sync::Notify::new());
        let (flag, served) = (Arc::clone(&terminating), Arc::clone(&unready_served));
        let app = Router::new()
            .route(
                "/ready",
                get(move || {
                    let (flag, served) = (Arc::clone(&flag), Arc::clone(&served));
                    async move {
                        if flag.load(Ordering::SeqCst) {
                            served.notify_one();
                            return (axum::http::StatusCode::SERVICE_UNAVAILABLE, "draining");
                        }
                        (axum::http::StatusCode::OK, "ready")
                    }
                }),
            )
            .route(
                "/slow",
                get(|Query(q): Query<Slow>| async move {
                    tokio::time::sleep(Duration::from_millis(q.ms)).await;
                    "done"
                }),
            );
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).unwrap();
        let mode = mode.to_owned();
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                term.recv().await;
                match mode.as_str() {
                    "ignore-term" => std::future::pending::<()>().await,
                    "blip" => {
                        terminating.store(true, Ordering::SeqCst);
                        unready_served.notified().await;
                    }
                    _ => {}
                }
            })
            .await
            .unwrap();
    });
    0
}

/// The probe's parameters for a child service started as `spec` (`{port}` filled by the
/// probe), with the sample service's paths.
fn params(spec: &str) -> Value {
    let exe = std::env::current_exe().unwrap();
    json!({
        "command": format!(
            "env {CHILD}='{spec}' '{}' shutdown::child_service --exact --nocapture",
            exe.display()
        ),
        "slow_path": "/api/v1/slow?ms=1500",
        "deadline": "10s",
    })
}

async fn run_probe(p: Value) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let url = dead_url().await;
    phasegate_probes::run(
        "shutdown",
        &crate::support::params(p),
        &ctx_in(&url, dir.path()),
    )
    .await
}

const SAMPLE: &str = "sample --port {port} --db shutdown.db";

#[tokio::test]
async fn the_clean_sample_service_drains_and_exits_0() {
    let o = run_probe(params(SAMPLE)).await;
    assert_pass(&o);
    assert!(o.findings.is_empty(), "{o:#?}");
    let m = &o.measurements;
    assert_eq!(m["in_flight_completed"], 3.0);
    assert_eq!(m["exit_code"], 0.0);
    assert!(
        m["ready_down_after_ms"] < m["listener_closed_after_ms"],
        "{m:?}"
    );
    assert!(
        m["listener_closed_after_ms"] >= 400.0,
        "the 500ms drain: {m:?}"
    );
    assert!(
        m["exit_after_ms"] >= 900.0,
        "it waited for the slow requests: {m:?}"
    );
}

#[tokio::test]
async fn shutdown_drops_requests_is_caught() {
    let o = run_probe(params(&format!("{SAMPLE} --flaw shutdown-drops-requests"))).await;
    assert_fails_with(&o, "shutdown-request-dropped");
    assert_fails_with(&o, "shutdown-ready-not-dropped");
    let dropped = o
        .findings
        .iter()
        .find(|f| f.code == "shutdown-request-dropped")
        .unwrap();
    assert!(
        dropped
            .message
            .starts_with("expected the 3 requests in flight at SIGTERM to complete with a 2xx, saw 3 of them fail: cut ("),
        "{dropped:?}"
    );
    assert_eq!(o.measurements["in_flight_completed"], 0.0);
}

#[tokio::test]
async fn a_single_unready_answer_as_the_listener_closes_is_no_drain() {
    let mut p = params("blip {port}");
    p["ready"] = json!("/ready");
    p["slow_path"] = json!("/slow?ms=1000");
    let o = run_probe(p).await;
    assert_eq!(codes(&o), ["shutdown-ready-not-dropped"], "{o:#?}");
    assert!(o.findings[0].message.contains("no drain window"), "{o:#?}");
    assert!(
        o.measurements.contains_key("ready_down_after_ms"),
        "the 503 was seen: {o:#?}"
    );
}

#[tokio::test]
async fn new_connections_drained_is_a_different_contract() {
    let mut p = params(SAMPLE);
    p["new_connections"] = json!("drained");
    let o = run_probe(p).await;
    assert_fails_with(&o, "shutdown-new-connections-dropped");
    assert_eq!(codes(&o), ["shutdown-new-connections-dropped"], "{o:#?}");
}

#[tokio::test]
async fn closing_the_listener_at_once_is_caught_even_when_requests_finish() {
    let mut p = params("no-drain {port}");
    p["ready"] = json!("/ready");
    p["slow_path"] = json!("/slow?ms=1000");
    let o = run_probe(p).await;
    assert_eq!(codes(&o), ["shutdown-ready-not-dropped"], "{o:#?}");
    assert!(
        o.findings[0]
            .message
            .contains("/ready to answer 503 after SIGTERM"),
        "{o:#?}"
    );
    assert_eq!(o.measurements["in_flight_completed"], 3.0);
}

#[tokio::test]
async fn a_service_ignoring_sigterm_is_killed_at_the_deadline() {
    let mut p = params("ignore-term {port}");
    p["ready"] = json!("/ready");
    p["slow_path"] = json!("/slow?ms=500");
    p["deadline"] = json!("1s");
    let started = std::time::Instant::now();
    let o = run_probe(p).await;
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "bounded by the deadline"
    );
    assert_fails_with(&o, "shutdown-deadline-exceeded");
    assert_fails_with(&o, "shutdown-still-accepting");
    assert_fails_with(&o, "shutdown-ready-not-dropped");
}

#[tokio::test]
async fn nothing_in_flight_or_no_start_is_an_error_never_a_pass() {
    let mut p = params(SAMPLE);
    p["slow_path"] = json!("/api/v1/slow?ms=1");
    let o = run_probe(p).await;
    assert_eq!(o.verdict, Verdict::Error, "{o:#?}");
    assert!(o.reason.unwrap().contains("nothing was in flight"));

    let o = run_probe(json!({ "command": "sh -c 'echo no database here >&2; exit 4' {port}", "slow_path": "/slow" })).await;
    assert_eq!(o.verdict, Verdict::Error, "{o:#?}");
    let reason = o.reason.unwrap();
    assert!(
        reason.contains("exited (status 4) before it was ready")
            && reason.contains("no database here"),
        "{reason}"
    );
}

#[test]
fn parameters_are_checked() {
    let errors = phasegate_probes::validate(
        "shutdown",
        &crate::support::params(
            json!({ "command": "serve", "slow_path": "slow", "in_flight": 0, "poll": "1ms" }),
        ),
    )
    .unwrap_err();
    let keys: Vec<&str> = errors.iter().filter_map(|e| e.key.as_deref()).collect();
    assert_eq!(
        keys,
        ["command", "slow_path", "in_flight", "poll"],
        "{errors:?}"
    );
}
