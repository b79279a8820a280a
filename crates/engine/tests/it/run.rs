//! Running gates through a session: records stored as they come, a signed head, the
//! scorecard after, cancellation.

use std::time::Duration;

use phasegate_engine::{Event, SignoffRequest};
use phasegate_model::{GateState, Verdict};
use tokio::sync::watch;

use crate::support::{Project, one_phase, options, run, runtime};

#[test]
fn a_passing_run_is_stored_signed_and_go() {
    let p = Project::new(&one_phase(&[
        ("a", "run = \"true\""),
        ("b", "run = \"echo hi\"\nneeds = [\"a\"]"),
    ]));
    let s = p.session();
    let (_, report, events) = run(&s, &[]);
    assert!(report.all_passed() && !report.interrupted);
    assert_eq!(report.records.len(), 2);
    assert_eq!(report.head.records, 2);
    assert!(report.scorecard.go, "{:?}", report.scorecard.reasons);
    // Every record was reported to the observer as it finished, after its start.
    let finished: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Event::Finished(r) => Some(r.gate.as_str()),
            Event::Started { .. } => None,
        })
        .collect();
    assert_eq!(finished, ["a", "b"]);
    assert_eq!(report.snapshots.len(), 1, "the run completed phase p");
    assert!(report.snapshots[0].1.join("manifest.json").is_file());
    let v = s.verify().unwrap();
    assert!(v.is_ok() && v.records == 2 && v.runs_closed == 1, "{v:?}");
}

#[test]
fn a_failing_gate_skips_its_dependants_and_is_no_go() {
    let p = Project::new(&one_phase(&[
        ("a", "run = \"exit 3\""),
        ("b", "run = \"true\"\nneeds = [\"a\"]"),
    ]));
    let s = p.session();
    let (_, report, _) = run(&s, &[]);
    assert!(!report.all_passed());
    let verdict = |g: &str| {
        report
            .records
            .iter()
            .find(|r| r.gate.as_str() == g)
            .unwrap()
            .verdict
    };
    assert_eq!(verdict("a"), Verdict::Fail);
    assert_eq!(verdict("b"), Verdict::Skipped);
    assert!(!report.scorecard.go);
    assert_eq!(report.scorecard.gate("a").unwrap().state, GateState::Fail);
    assert!(report.snapshots.is_empty());
}

#[test]
fn a_gate_needing_a_signoff_gate_waits_for_its_approval_and_the_signoff_gate_is_not_recorded() {
    // Regression (issue 8): `deploy` used to run and pass before anyone approved.
    let p = Project::new(&one_phase(&[
        ("build", "run = \"true\""),
        (
            "approve",
            "signoff = { roles = [\"cto\", \"release\"], approvals = 2 }",
        ),
        ("deploy", "run = \"true\"\nneeds = [\"approve\"]"),
    ]));
    let s = p.session();
    let (plan, report, _) = run(&s, &[]);
    assert_eq!(plan.signoffs.len(), 1);
    let deploy = report
        .records
        .iter()
        .find(|r| r.gate.as_str() == "deploy")
        .unwrap();
    assert_eq!(deploy.verdict, Verdict::Skipped);
    assert_eq!(
        deploy.reason.as_deref(),
        Some("waiting for approval of `approve`: needs 2 approvals by cto, release; has 0")
    );
    assert!(report.records.iter().all(|r| r.gate.as_str() != "approve"));
    assert!(!report.scorecard.go);

    for (role, by) in [("cto", "carol"), ("release", "rob")] {
        s.signoff(&SignoffRequest {
            gate: "approve".into(),
            role: role.into(),
            note: None,
            by: Some(by.into()),
            key: None,
        })
        .unwrap();
    }
    let (_, report, _) = run(&s, &["deploy"]);
    let gates: Vec<(&str, Verdict)> = report
        .records
        .iter()
        .map(|r| (r.gate.as_str(), r.verdict))
        .collect();
    assert_eq!(gates, [("deploy", Verdict::Pass)]);
    // The approval covers `build`, not `deploy`, which waited for it: running `deploy`
    // leaves it current.
    assert!(report.scorecard.go, "{:?}", report.scorecard.reasons);
}

#[test]
fn cancelling_ends_the_running_gates_and_closes_the_run_as_interrupted() {
    let p = Project::new(&one_phase(&[("slow", "run = \"sleep 30\"")]));
    let s = p.session();
    let plan = s.plan(&[]).unwrap();
    let (cancel, cancel_rx) = watch::channel(false);
    let started = std::time::Instant::now();
    let report = runtime()
        .block_on(async {
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                cancel.send_replace(true);
            });
            s.run(&plan, &options(), |_| {}, cancel_rx).await
        })
        .unwrap();
    assert!(report.interrupted);
    assert!(!report.all_passed());
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(s.verify().unwrap().is_ok());
}
