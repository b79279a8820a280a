//! Issue 9: the `health` probe against concrete services, one row per rule, each citing where
//! the rule comes from (mostly the Kubernetes probe semantics: liveness failing restarts the
//! container, readiness failing takes it out of the endpoints; an HTTP probe succeeds on
//! 200-399). A row passes when the verdict and the set of finding codes are exactly the
//! expected ones.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::support::*;

/// Where the service is: before the fault, this long into it, or after the restore.
#[derive(Clone, Copy)]
enum Phase {
    Before,
    During(Duration),
    After,
}

/// An endpoint's answer in a phase: a status, or 0 for an answer that never comes in time.
type Answer = fn(Phase) -> u16;

struct Row {
    name: &'static str,
    live: Answer,
    ready: Answer,
    expect: &'static [&'static str],
}

fn ok(_: Phase) -> u16 {
    200
}

/// Ready that follows its dependency.
fn follows(p: Phase) -> u16 {
    match p {
        Phase::During(_) => 503,
        _ => 200,
    }
}

const MS: fn(u64) -> Duration = Duration::from_millis;

fn rows() -> Vec<Row> {
    vec![
        // Kubernetes: readiness follows the dependency, liveness does not.
        Row {
            name: "well-behaved",
            live: ok,
            ready: follows,
            expect: &[],
        },
        // Any 2xx is a success.
        Row {
            name: "204 everywhere",
            live: |_| 204,
            ready: |p| {
                if matches!(p, Phase::During(_)) {
                    503
                } else {
                    204
                }
            },
            expect: &[],
        },
        // Kubernetes: a probe that times out has failed, so no answer is not ready.
        Row {
            name: "ready hangs during the fault",
            live: ok,
            ready: |p| {
                if matches!(p, Phase::During(_)) {
                    0
                } else {
                    200
                }
            },
            expect: &[],
        },
        // Kubernetes: 4xx is a failure too.
        Row {
            name: "ready 429 during the fault",
            live: ok,
            ready: |p| {
                if matches!(p, Phase::During(_)) {
                    429
                } else {
                    200
                }
            },
            expect: &[],
        },
        // Readiness that ignores the dependency keeps sending traffic to a broken pod.
        Row {
            name: "ready ignores the dependency",
            live: ok,
            ready: ok,
            expect: &["ready-ignores-dependency"],
        },
        // Kubernetes: 200-399 is success, so a redirect keeps the pod in the endpoints.
        Row {
            name: "ready redirects during the fault",
            live: ok,
            ready: |p| {
                if matches!(p, Phase::During(_)) {
                    302
                } else {
                    200
                }
            },
            expect: &["ready-ignores-dependency"],
        },
        // Kubernetes: a failing liveness probe restarts the container, which does not bring
        // a dependency back.
        Row {
            name: "live fails with the dependency",
            live: |p| {
                if matches!(p, Phase::During(_)) {
                    503
                } else {
                    200
                }
            },
            ready: follows,
            expect: &["live-fails-during-fault"],
        },
        // Same, late in the window: the check is watched for the whole fault window, not only
        // until ready went down (the false pass of issue 9).
        Row {
            name: "live fails late in the fault window",
            live: |p| match p {
                Phase::During(d) if d > MS(600) => 503,
                _ => 200,
            },
            ready: follows,
            expect: &["live-fails-during-fault"],
        },
        // Same, when liveness stops answering (a deadlock on the dependency).
        Row {
            name: "live hangs late in the fault window",
            live: |p| match p {
                Phase::During(d) if d > MS(600) => 0,
                _ => 200,
            },
            ready: follows,
            expect: &["live-fails-during-fault"],
        },
        // Readiness that comes back while the dependency is still down (a cached check)
        // sends traffic to a pod that cannot serve it.
        Row {
            name: "ready comes back during the fault",
            live: ok,
            ready: |p| match p {
                Phase::During(d) if d < MS(400) => 503,
                _ => 200,
            },
            expect: &["ready-up-during-fault"],
        },
        // The pod must rejoin once the dependency is back.
        Row {
            name: "ready stays down after the restore",
            live: ok,
            ready: |p| if matches!(p, Phase::Before) { 200 } else { 503 },
            expect: &["ready-not-restored"],
        },
        // phasegate rule, stricter than Kubernetes: a health endpoint answers 2xx itself; a
        // redirect (to a login page, say) proves nothing about the service.
        Row {
            name: "live redirects",
            live: |_| 302,
            ready: follows,
            expect: &["live-not-ok"],
        },
        // A service not ready to begin with is not put through the fault.
        Row {
            name: "ready 500 before the fault",
            live: ok,
            ready: |_| 500,
            expect: &["ready-not-ok"],
        },
    ]
}

#[derive(Clone)]
struct Fixture {
    flag: PathBuf,
    /// When the fault was first seen.
    since: Arc<Mutex<Option<Instant>>>,
}

impl Fixture {
    fn phase(&self) -> Phase {
        let mut since = self.since.lock().unwrap();
        match (self.flag.exists(), *since) {
            (true, Some(at)) => Phase::During(at.elapsed()),
            (true, None) => {
                *since = Some(Instant::now());
                Phase::During(Duration::ZERO)
            }
            (false, Some(_)) => Phase::After,
            (false, None) => Phase::Before,
        }
    }
}

async fn answer(status: u16) -> Response {
    if status == 0 {
        tokio::time::sleep(Duration::from_secs(2)).await;
        return StatusCode::OK.into_response();
    }
    StatusCode::from_u16(status).unwrap().into_response()
}

fn server(fx: Fixture, live: Answer, ready: Answer) -> Router {
    let (l, r) = (fx.clone(), fx);
    Router::new()
        .route("/health/live", get(move || answer(live(l.phase()))))
        .route("/health/ready", get(move || answer(ready(r.phase()))))
}

#[tokio::test]
async fn health_conformance() {
    let rows = rows();
    assert!(rows.len() >= 10);
    let mut wrong = Vec::new();
    for r in rows {
        let dir = tempfile::tempdir().unwrap();
        let fx = Fixture {
            flag: dir.path().join("db-down"),
            since: Arc::new(Mutex::new(None)),
        };
        let url = serve(server(fx, r.live, r.ready)).await;
        let mut ctx = ctx_in(&url, dir.path());
        // Short enough that a hanging endpoint is "no answer" well inside the window.
        ctx.timeout = Duration::from_millis(300);
        let p = params(json!({
            "fault": "touch db-down",
            "restore": "rm -f db-down",
            "within": "1500ms",
            "poll": "100ms",
        }));
        let o = phasegate_probes::run("health", &p, &ctx).await;
        if !crate::support::row_holds(&o, r.expect) {
            wrong.push(format!(
                "{}: expected {:?}, got {:?} {:?} {:#?}",
                r.name, r.expect, o.verdict, o.reason, o.findings
            ));
        }
        assert!(!dir.path().join("db-down").exists(), "{}: restored", r.name);
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
