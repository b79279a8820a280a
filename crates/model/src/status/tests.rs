use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::{GateKind, Phase, Project, RECORD_VERSION, Rule};

fn gate(id: &str) -> Gate {
    Gate {
        id: GateId::new(id).unwrap(),
        title: None,
        kind: GateKind::Run {
            command: format!("echo {id}"),
        },
        needs: vec![],
        inputs: vec![],
        timeout: Duration::from_secs(60),
        retries: 0,
        fresh_for: None,
        services: vec![],
        base_url: None,
        blocking: true,
        env: BTreeMap::new(),
        cwd: None,
        secret_env: vec![],
        item: None,
    }
}

fn phase(id: &str, after: &[&str], gates: &[&str]) -> Phase {
    Phase {
        id: PhaseId::new(id).unwrap(),
        title: id.to_uppercase(),
        after: after.iter().map(|a| PhaseId::new(*a).unwrap()).collect(),
        gates: gates.iter().map(|g| GateId::new(*g).unwrap()).collect(),
    }
}

fn roadmap(gates: Vec<Gate>, phases: Vec<Phase>) -> Roadmap {
    Roadmap {
        project: Project {
            name: "t".into(),
            base_gates: vec![],
            secret_env: vec![],
            markdown: None,
        },
        services: BTreeMap::new(),
        gates,
        phases,
    }
}

fn record(g: &Gate, verdict: Verdict, at: Timestamp) -> Record {
    Record {
        v: RECORD_VERSION,
        run_id: "r1".into(),
        gate: g.id.clone(),
        phases: vec![],
        attempt: 1,
        max_attempts: 1,
        verdict,
        reason: (verdict != Verdict::Pass).then(|| format!("it said {verdict}")),
        rule: Rule {
            kind: "run".into(),
            text: "x".into(),
            timeout_ms: 1,
            cwd: None,
            env: BTreeMap::new(),
        },
        started_at: at,
        duration_ms: 1,
        exit_code: Some(0),
        signal: None,
        timed_out: false,
        measurements: BTreeMap::new(),
        findings: vec![],
        output: None,
        inputs_sha256: None,
        roadmap_sha256: "r".into(),
        gate_sha256: g.digest(),
        git: None,
        host: "h".into(),
        tool_version: "0".into(),
    }
}

fn now() -> Timestamp {
    "2026-11-22T00:00:00Z".parse().unwrap()
}

#[test]
fn missing_evidence_is_no_go_and_in_progress() {
    let rm = roadmap(vec![gate("a")], vec![phase("p", &[], &["a"])]);
    let s = evaluate(&rm, [], now());
    assert!(!s.go);
    assert_eq!(s.gates[0].state, GateState::Missing);
    assert_eq!(s.phases[0].state, PhaseState::InProgress);
    assert_eq!(s.reasons, ["phase `p` is in progress"]);
}

#[test]
fn latest_decisive_record_wins_and_skips_do_not_erase_it() {
    let a = gate("a");
    let rm = roadmap(vec![a.clone()], vec![phase("p", &[], &["a"])]);
    let recs = [
        record(&a, Verdict::Fail, now()),
        record(&a, Verdict::Pass, now()),
        record(&a, Verdict::Skipped, now()),
    ];
    let s = evaluate(&rm, &recs, now());
    assert_eq!(s.gates[0].state, GateState::Pass);
    assert!(s.go);
    let recs = [
        record(&a, Verdict::Pass, now()),
        record(&a, Verdict::Error, now()),
    ];
    let s = evaluate(&rm, &recs, now());
    assert_eq!(
        s.gates[0].state,
        GateState::Fail,
        "error never counts as pass"
    );
    assert_eq!(s.phases[0].state, PhaseState::Failing);
}

#[test]
fn old_pass_is_stale_and_changed_rule_is_stale() {
    let mut a = gate("a");
    a.fresh_for = Some(Duration::from_secs(3600));
    let rm = roadmap(vec![a.clone()], vec![phase("p", &[], &["a"])]);
    let old = now()
        .checked_sub(jiff::SignedDuration::from_hours(2))
        .unwrap();
    let s = evaluate(&rm, &[record(&a, Verdict::Pass, old)], now());
    assert_eq!(s.gates[0].state, GateState::Stale);
    assert!(
        s.gates[0].reason.contains("older than fresh_for 1h"),
        "{}",
        s.gates[0].reason
    );

    let mut weakened = a.clone();
    weakened.kind = GateKind::Run {
        command: "true".into(),
    };
    let rm = roadmap(vec![weakened], vec![phase("p", &[], &["a"])]);
    let s = evaluate(&rm, &[record(&a, Verdict::Pass, now())], now());
    assert_eq!(s.gates[0].state, GateState::Stale);
}

#[test]
fn phase_after_an_unfinished_phase_is_blocked_and_advisory_gates_do_not_block() {
    let (a, mut b) = (gate("a"), gate("b"));
    b.blocking = false;
    let rm = roadmap(
        vec![a.clone(), b.clone()],
        vec![
            phase("second", &["first"], &["b"]),
            phase("first", &[], &["a", "b"]),
        ],
    );
    let s = evaluate(&rm, &[record(&b, Verdict::Fail, now())], now());
    assert_eq!(s.phases[0].id.as_str(), "first", "dependency order");
    assert_eq!(s.phases[0].state, PhaseState::InProgress);
    assert_eq!(s.phases[1].state, PhaseState::Blocked);
    assert!(s.phases[1].reasons[0].contains("waits for phase `first`"));
    let s = evaluate(
        &rm,
        &[
            record(&b, Verdict::Fail, now()),
            record(&a, Verdict::Pass, now()),
        ],
        now(),
    );
    assert!(s.go, "{:?}", s.reasons);
}
