use std::path::{Path, PathBuf};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use phasegate_model::Verdict;
use serde_json::json;

use crate::support::*;

#[derive(Clone)]
struct Fixture {
    flag: PathBuf,
    /// Whether ready looks at its dependency (the flag file) at all.
    ready_checks: bool,
    /// Whether live (wrongly) depends on it too.
    live_checks: bool,
}

fn status(down: bool) -> StatusCode {
    if down {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    }
}

fn server(dir: &Path, ready_checks: bool, live_checks: bool) -> Router {
    let fx = Fixture {
        flag: dir.join("db-down"),
        ready_checks,
        live_checks,
    };
    Router::new()
        .route(
            "/health/live",
            get(|State(f): State<Fixture>| async move { status(f.live_checks && f.flag.exists()) }),
        )
        .route(
            "/health/ready",
            get(
                |State(f): State<Fixture>| async move { status(f.ready_checks && f.flag.exists()) },
            ),
        )
        .with_state(fx)
}

fn params() -> serde_json::Value {
    json!({
        "fault": "touch db-down",
        "restore": "rm -f db-down && touch restored",
        "within": "2s",
        "poll": "50ms",
    })
}

async fn probe(
    dir: &Path,
    ready_checks: bool,
    live_checks: bool,
    p: serde_json::Value,
) -> phasegate_probes::Outcome {
    let url = serve(server(dir, ready_checks, live_checks)).await;
    phasegate_probes::run("health", &crate::support::params(p), &ctx_in(&url, dir)).await
}

#[tokio::test]
async fn ready_that_follows_its_dependency_passes_and_is_restored() {
    let dir = tempfile::tempdir().unwrap();
    let o = probe(dir.path(), true, false, params()).await;
    assert_pass(&o);
    assert!(o.measurements.contains_key("ready_down_after_ms"));
    assert!(o.measurements.contains_key("ready_back_after_ms"));
    assert!(!dir.path().join("db-down").exists());
}

#[tokio::test]
async fn ready_that_ignores_its_dependency_fails_and_restore_still_runs() {
    let dir = tempfile::tempdir().unwrap();
    let o = probe(dir.path(), false, false, params()).await;
    assert_fails_with(&o, "ready-ignores-dependency");
    assert_eq!(
        o.findings[0].location.as_deref(),
        Some("GET /health/ready (after fault hook)")
    );
    assert!(dir.path().join("restored").exists(), "restore ran");
    assert!(!dir.path().join("db-down").exists());
}

#[tokio::test]
async fn live_that_fails_with_the_dependency_fails() {
    let dir = tempfile::tempdir().unwrap();
    let o = probe(dir.path(), true, true, params()).await;
    assert_fails_with(&o, "live-fails-during-fault");
}

#[tokio::test]
async fn failing_fault_hook_is_an_error_with_its_output_and_restore_runs() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = params();
    p["fault"] = json!("echo boom-from-hook >&2; exit 3");
    let o = probe(dir.path(), true, false, p).await;
    assert_eq!(o.verdict, Verdict::Error, "{o:#?}");
    assert!(
        o.reason.as_deref().unwrap().contains("boom-from-hook"),
        "{o:#?}"
    );
    assert!(dir.path().join("restored").exists(), "restore ran");
}

#[tokio::test]
async fn hook_sees_the_context_env_and_a_hanging_hook_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let url = serve(server(dir.path(), true, false)).await;
    let mut ctx = ctx_in(&url, dir.path());
    ctx.env.set.insert("FLAG".into(), "db-down".into());
    let mut p = params();
    p["fault"] = json!("touch \"$FLAG\"");
    let o = phasegate_probes::run("health", &crate::support::params(p.clone()), &ctx).await;
    assert_pass(&o);
    p["fault"] = json!("sleep 30");
    p["within"] = json!("300ms");
    let started = std::time::Instant::now();
    let o = phasegate_probes::run("health", &crate::support::params(p), &ctx).await;
    assert_eq!(o.verdict, Verdict::Error, "{o:#?}");
    assert!(
        o.reason.as_deref().unwrap().contains("did not finish"),
        "{o:#?}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[tokio::test]
async fn without_hooks_live_and_ready_must_be_2xx() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("db-down"), "").unwrap();
    let o = probe(dir.path(), true, false, json!({})).await;
    assert_fails_with(&o, "ready-not-ok");
    assert_eq!(o.requests, 2);
}

#[tokio::test]
async fn unreachable_service_is_an_error() {
    let o = run("health", &dead_url().await, json!({})).await;
    assert_eq!(o.verdict, Verdict::Error, "{o:#?}");
}
