use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::{GateKind, Phase, Project, Provenance, Rule, WaiverRule};

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
        exclusive: false,
        fail_on: Default::default(),
        cache: None,
        require: vec![],
        partial: Default::default(),
        todo: None,
        schedule: Default::default(),
    }
}

fn phase(id: &str, after: &[&str], gates: &[&str]) -> Phase {
    Phase {
        id: PhaseId::new(id).unwrap(),
        title: id.to_uppercase(),
        after: after.iter().map(|a| PhaseId::new(*a).unwrap()).collect(),
        gates: gates.iter().map(|g| GateId::new(*g).unwrap()).collect(),
        schedule: Default::default(),
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
        trust: None,
        roles: BTreeMap::new(),
        waivers: vec![waiver_rule(&["*"], &["cto"], 30 * 24 * 60, 1)],
    }
}

/// A `[[waiver]]` rule; `"*"` in `gates` is every gate but sign-off gates.
fn waiver_rule(gates: &[&str], roles: &[&str], max_minutes: u64, approvals: u32) -> WaiverRule {
    WaiverRule {
        every_gate: gates.contains(&"*"),
        gates: gates
            .iter()
            .filter(|g| **g != "*")
            .map(|g| GateId::new(*g).unwrap())
            .collect(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        max: Duration::from_secs(max_minutes * 60),
        approvals,
    }
}

fn record(g: &Gate, verdict: Verdict, at: Timestamp) -> Record {
    let provenance = Provenance {
        run_id: "r1".into(),
        roadmap_sha256: "r".into(),
        git: None,
        host: "h".into(),
        tool_version: "0".into(),
    };
    let rule = Rule {
        kind: "run".into(),
        text: "x".into(),
        timeout_ms: 1,
        cwd: None,
        env: BTreeMap::new(),
    };
    let reason = (verdict != Verdict::Pass).then(|| format!("it said {verdict}"));
    let mut r = Record::new(g, vec![], rule, verdict, reason, &provenance);
    r.started_at = at;
    r.exit_code = Some(0);
    r
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

// Sign-offs and waivers.

fn signoff(id: &str, roles: &[&str], approvals: u32) -> Gate {
    let mut g = gate(id);
    g.kind = GateKind::Signoff {
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        approvals,
    };
    g
}

/// A roadmap with run gates `build` and `smoke` and the sign-off `release` (2 of sre,
/// security) in phase `launch`.
fn launch(fresh_for: Option<Duration>) -> (Roadmap, Gate, Gate, Gate) {
    let (build, smoke) = (gate("build"), gate("smoke"));
    let mut release = signoff("release", &["sre", "security"], 2);
    release.fresh_for = fresh_for;
    let rm = roadmap(
        vec![build.clone(), smoke.clone(), release.clone()],
        vec![phase("launch", &[], &["build", "smoke", "release"])],
    );
    (rm, build, smoke, release)
}

/// Records as the ledger would hand them over, each with a made-up entry hash.
struct Ledger(Vec<(Record, String)>);

impl Ledger {
    fn new() -> Self {
        Ledger(Vec::new())
    }

    fn push(&mut self, r: Record) {
        let hash = format!("{:064x}", self.0.len() + 1);
        self.0.push((r, hash));
    }

    fn evidence(&self) -> Vec<Evidence<'_>> {
        self.0
            .iter()
            .map(|(record, h)| Evidence {
                record,
                entry_hash: Some(h),
            })
            .collect()
    }

    fn card(&self, rm: &Roadmap, at: Timestamp) -> Scorecard {
        evaluate_evidence(rm, self.evidence(), at)
    }

    /// An approval of `g` by `by` as `role`, over the evidence as it is now.
    fn approve(&mut self, rm: &Roadmap, g: &Gate, by: &str, role: &str, at: Timestamp) {
        let covers = phase_evidence_digest(rm, &g.id, self.evidence());
        let mut r = record(g, Verdict::Pass, at);
        r.approval = Some(crate::Approval {
            signed: None,
            by: by.into(),
            role: role.into(),
            note: None,
            phases: rm.phases_of(&g.id),
            covers_sha256: covers,
        });
        self.push(r);
    }

    fn waive(&mut self, g: &Gate, until: Timestamp, at: Timestamp) {
        self.waive_as(g, "wendy", "cto", until, at);
    }

    fn waive_as(&mut self, g: &Gate, by: &str, role: &str, until: Timestamp, at: Timestamp) {
        let mut r = record(g, Verdict::Skipped, at);
        r.waiver = Some(Waiver {
            signed: None,
            by: by.into(),
            role: role.into(),
            reason: "vendor outage".into(),
            until,
        });
        self.push(r);
    }
}

fn minutes(m: i64) -> Timestamp {
    now()
        .checked_add(jiff::SignedDuration::from_mins(m))
        .unwrap()
}

#[test]
fn signoff_needs_k_distinct_approvers() {
    let (rm, build, smoke, release) = launch(None);
    let mut l = Ledger::new();
    l.push(record(&build, Verdict::Pass, minutes(-10)));
    l.push(record(&smoke, Verdict::Pass, minutes(-9)));
    let s = l.card(&rm, now());
    let g = s.gate("release").unwrap();
    assert_eq!(g.state, GateState::Missing);
    assert_eq!(g.reason, "needs 2 approvals by sre, security; has 0");
    assert_eq!(g.last_run, None);

    l.approve(&rm, &release, "alice@example.com", "sre", minutes(-5));
    let g = l.card(&rm, now()).gate("release").unwrap().clone();
    assert_eq!(g.state, GateState::Missing);
    assert_eq!(
        g.reason,
        "needs 2 approvals by sre, security; has 1: alice@example.com (sre)"
    );
    assert_eq!(g.last_run, Some(minutes(-5)));

    // The same person again, in the other role and spelled differently: still one approver.
    l.approve(&rm, &release, "Alice@Example.com", "security", minutes(-4));
    let s = l.card(&rm, now());
    let g = s.gate("release").unwrap();
    assert_eq!(g.state, GateState::Missing, "{}", g.reason);
    assert!(g.reason.contains("has 1"), "{}", g.reason);
    assert_eq!(g.approvals.len(), 1);
    assert!(!s.go);

    l.approve(&rm, &release, "bob@example.com", "security", minutes(-3));
    let s = l.card(&rm, now());
    let g = s.gate("release").unwrap();
    assert_eq!(g.state, GateState::Pass, "{}", g.reason);
    assert_eq!(
        g.reason,
        "approved by Alice@Example.com (security), bob@example.com (security)"
    );
    assert_eq!(g.verdict, Some(Verdict::Pass));
    assert_eq!(g.last_run, Some(minutes(-3)));
    assert!(
        g.approvals
            .iter()
            .all(|a| a.counts && a.reason == "current")
    );
    assert!(s.go, "{:?}", s.reasons);
}

#[test]
fn an_approval_in_a_role_the_gate_does_not_allow_never_counts() {
    let (rm, _, _, release) = launch(None);
    let mut l = Ledger::new();
    l.approve(&rm, &release, "alice", "sre", minutes(-2));
    l.approve(&rm, &release, "mallory", "intern", minutes(-1));
    let s = l.card(&rm, now());
    let g = s.gate("release").unwrap();
    assert_eq!(
        g.state,
        GateState::Missing,
        "not stale: it never will count"
    );
    assert!(g.reason.contains("has 1"), "{}", g.reason);
    let m = g.approvals.iter().find(|a| a.by == "mallory").unwrap();
    assert!(!m.counts);
    assert_eq!(m.reason, "role `intern` may not approve this gate");
}

#[test]
fn an_approval_stops_counting_when_the_evidence_of_its_phase_changes() {
    let (rm, build, smoke, release) = launch(None);
    let mut l = Ledger::new();
    l.push(record(&build, Verdict::Pass, minutes(-10)));
    l.push(record(&smoke, Verdict::Pass, minutes(-9)));
    l.approve(&rm, &release, "alice", "sre", minutes(-5));
    l.approve(&rm, &release, "bob", "security", minutes(-4));
    assert!(l.card(&rm, now()).go);

    l.push(record(&smoke, Verdict::Fail, minutes(-1)));
    let s = l.card(&rm, now());
    let g = s.gate("release").unwrap();
    assert_eq!(g.state, GateState::Stale);
    assert!(g.reason.starts_with("needs 2 approvals by sre, security; has 0; approval by alice (sre) does not count: approved evidence changed since: gate `smoke` re-ran"), "{}", g.reason);
    assert!(g.approvals.iter().all(|a| !a.counts));

    // Approving the new evidence makes them count again.
    l.approve(&rm, &release, "alice", "sre", now());
    l.approve(&rm, &release, "bob", "security", now());
    let g = l.card(&rm, now()).gate("release").unwrap().clone();
    assert_eq!(g.state, GateState::Pass, "{}", g.reason);
}

#[test]
fn a_gate_first_getting_evidence_changes_what_was_approved() {
    let (rm, build, _, release) = launch(None);
    let mut l = Ledger::new();
    l.approve(&rm, &release, "alice", "sre", minutes(-5));
    l.approve(&rm, &release, "bob", "security", minutes(-5));
    assert_eq!(
        l.card(&rm, now()).gate("release").unwrap().state,
        GateState::Pass
    );
    l.push(record(&build, Verdict::Pass, minutes(-1)));
    let g = l.card(&rm, now()).gate("release").unwrap().clone();
    assert_eq!(g.state, GateState::Stale);
    assert!(g.reason.contains("gate `build` re-ran"), "{}", g.reason);
}

#[test]
fn an_approval_expires_with_fresh_for() {
    let (rm, _, _, release) = launch(Some(Duration::from_secs(3600)));
    let mut l = Ledger::new();
    l.approve(&rm, &release, "alice", "sre", minutes(-70));
    l.approve(&rm, &release, "bob", "security", minutes(-30));
    let g = l.card(&rm, now()).gate("release").unwrap().clone();
    assert_eq!(g.state, GateState::Stale);
    assert!(
        g.reason
            .contains("approval by alice (sre) does not count: approval older than fresh_for 1h"),
        "{}",
        g.reason
    );
    assert!(g.reason.contains("has 1: bob (security)"), "{}", g.reason);
    // Fresh at an earlier time.
    let g = l.card(&rm, minutes(-15)).gate("release").unwrap().clone();
    assert_eq!(g.state, GateState::Pass, "{}", g.reason);
}

#[test]
fn an_approval_under_another_definition_of_the_gate_is_stale() {
    let (rm, _, _, release) = launch(None);
    let mut l = Ledger::new();
    l.approve(&rm, &release, "alice", "sre", minutes(-2));
    let mut changed = rm.clone();
    changed.gates[2].title = Some("Release approval".into());
    let g = l.card(&changed, now()).gate("release").unwrap().clone();
    assert_eq!(g.state, GateState::Stale);
    assert!(
        g.reason
            .contains("approved under a different definition of the gate"),
        "{}",
        g.reason
    );
}

#[test]
fn only_approvals_count_for_a_signoff_gate_and_approvals_never_count_for_others() {
    let (rm, build, _, release) = launch(None);
    let mut l = Ledger::new();
    // A plain pass record of a sign-off gate (a hand-made or foreign record).
    l.push(record(&release, Verdict::Pass, minutes(-1)));
    let g = l.card(&rm, now()).gate("release").unwrap().clone();
    assert_eq!(g.state, GateState::Missing);
    // An approval record of a run gate is not an attempt at it.
    let mut r = record(&build, Verdict::Pass, minutes(-1));
    r.approval = Some(crate::Approval {
        signed: None,
        by: "alice".into(),
        role: "sre".into(),
        note: None,
        phases: vec![],
        covers_sha256: "x".into(),
    });
    l.push(r);
    let g = l.card(&rm, now()).gate("build").unwrap().clone();
    assert_eq!(g.state, GateState::Missing);
}

#[test]
fn without_entry_hashes_no_approval_can_count() {
    let (rm, build, smoke, release) = launch(None);
    let mut l = Ledger::new();
    l.push(record(&build, Verdict::Pass, minutes(-10)));
    l.push(record(&smoke, Verdict::Pass, minutes(-10)));
    l.approve(&rm, &release, "alice", "sre", minutes(-5));
    l.approve(&rm, &release, "bob", "security", minutes(-4));
    assert!(l.card(&rm, now()).go);
    let records: Vec<Record> = l.0.iter().map(|(r, _)| r.clone()).collect();
    let s = evaluate(&rm, &records, now());
    assert_eq!(s.gate("release").unwrap().state, GateState::Stale);
}

#[test]
fn phase_evidence_digest_covers_the_other_non_signoff_gates_of_the_phases() {
    let (build, smoke, other) = (gate("build"), gate("smoke"), gate("other"));
    let (release, security) = (
        signoff("release", &["sre"], 1),
        signoff("security", &["sec"], 1),
    );
    let mut rm = roadmap(
        vec![
            build.clone(),
            smoke.clone(),
            other.clone(),
            release.clone(),
            security.clone(),
        ],
        vec![
            phase("launch", &[], &["smoke", "release", "security"]),
            phase("later", &[], &["other"]),
        ],
    );
    rm.project.base_gates = vec![build.id.clone()];
    let mut l = Ledger::new();
    let empty = phase_evidence_digest(&rm, &release.id, l.evidence());
    assert_eq!(empty, crate::sha256_hex(b""));
    l.push(record(&build, Verdict::Pass, now()));
    l.push(record(&smoke, Verdict::Pass, now()));
    let d = phase_evidence_digest(&rm, &release.id, l.evidence());
    assert_eq!(
        d,
        crate::sha256_hex(format!("build\t{:064x}\nsmoke\t{:064x}\n", 1, 2).as_bytes()),
        "base gates included, sorted by gate id"
    );
    // A gate of another phase, another sign-off, skips and waivers change nothing.
    l.push(record(&other, Verdict::Fail, now()));
    l.approve(&rm, &security, "sam", "sec", now());
    l.push(record(&smoke, Verdict::Skipped, now()));
    l.waive(&build, minutes(60), now());
    assert_eq!(phase_evidence_digest(&rm, &release.id, l.evidence()), d);
    // Another attempt of a covered gate does, whatever its verdict.
    l.push(record(&smoke, Verdict::Pass, now()));
    assert_ne!(phase_evidence_digest(&rm, &release.id, l.evidence()), d);
}

#[test]
fn an_unexpired_waiver_shows_waived_and_does_not_block_its_phase() {
    let (a, b) = (gate("a"), gate("b"));
    let rm = roadmap(
        vec![a.clone(), b.clone()],
        vec![phase("p", &[], &["a", "b"]), phase("q", &["p"], &[])],
    );
    let mut l = Ledger::new();
    l.push(record(&a, Verdict::Pass, minutes(-10)));
    l.push(record(&b, Verdict::Fail, minutes(-10)));
    l.waive(&b, minutes(60), minutes(-5));
    let s = l.card(&rm, now());
    let g = s.gate("b").unwrap();
    assert_eq!(g.state, GateState::Waived);
    assert_eq!(
        g.reason,
        format!(
            "waived by wendy (cto) until {}: vendor outage; otherwise fail: it said fail",
            minutes(60)
        )
    );
    assert_eq!(g.waiver.as_ref().unwrap().reason, "vendor outage");
    assert_eq!(
        g.verdict,
        Some(Verdict::Fail),
        "the evidence is still shown"
    );
    assert_eq!(s.phases[0].state, PhaseState::Done);
    assert_eq!(s.phases[1].state, PhaseState::Done);
    assert!(s.go);
}

#[test]
fn an_expired_waiver_no_longer_counts() {
    let b = gate("b");
    let rm = roadmap(vec![b.clone()], vec![phase("p", &[], &["b"])]);
    let mut l = Ledger::new();
    l.waive(&b, minutes(60), minutes(-5));
    assert!(l.card(&rm, minutes(59)).go);
    let s = l.card(&rm, minutes(60));
    let g = s.gate("b").unwrap();
    assert_eq!(g.state, GateState::Missing);
    assert_eq!(g.waiver, None);
    assert_eq!(
        g.reason,
        format!(
            "no evidence yet; waiver by wendy (cto) expired at {}",
            minutes(60)
        )
    );
    assert!(!s.go);
}

#[test]
fn the_latest_waiver_counts_and_attempts_neither_hide_it_nor_are_hidden() {
    let b = gate("b");
    let rm = roadmap(vec![b.clone()], vec![phase("p", &[], &["b"])]);
    let mut l = Ledger::new();
    l.waive(&b, minutes(600), minutes(-20));
    // A later waiver replaces it, even a shorter one.
    l.waive(&b, minutes(10), minutes(-10));
    // A later skip (a need failed) does not hide the waiver.
    l.push(record(&b, Verdict::Skipped, minutes(-5)));
    let g = l.card(&rm, now()).gate("b").unwrap().clone();
    assert_eq!(g.state, GateState::Waived);
    assert!(g.reason.contains("never ran; last skipped"), "{}", g.reason);
    assert_eq!(
        l.card(&rm, minutes(11)).gate("b").unwrap().state,
        GateState::Missing
    );
    // A pass on current evidence wins: a waiver is never needed to pass.
    l.push(record(&b, Verdict::Pass, minutes(-1)));
    let g = l.card(&rm, now()).gate("b").unwrap().clone();
    assert_eq!(g.state, GateState::Pass);
    assert_eq!(g.reason, "passed");
}

#[test]
fn a_signoff_gate_may_be_waived_only_when_a_rule_names_it() {
    let (mut rm, _, _, release) = launch(None);
    let mut l = Ledger::new();
    l.waive(&release, minutes(60), minutes(-1));
    // `"*"` leaves sign-off gates out.
    let g = l.card(&rm, now()).gate("release").unwrap().clone();
    assert_eq!(g.state, GateState::Missing);
    assert!(
        g.reason.ends_with(
            "waiver by wendy (cto) does not count: no `[[waiver]]` rule of the roadmap covers \
             this gate"
        ),
        "{}",
        g.reason
    );
    rm.waivers
        .push(waiver_rule(&["*", "release"], &["cto"], 120, 1));
    let g = l.card(&rm, now()).gate("release").unwrap().clone();
    assert_eq!(g.state, GateState::Waived);
    assert!(
        g.reason
            .ends_with("otherwise missing: needs 2 approvals by sre, security; has 0"),
        "{}",
        g.reason
    );
}

#[test]
fn nothing_is_waived_that_the_roadmap_does_not_allow() {
    // Regression (issue 8): any waiver by anyone used to turn a gate `waived`.
    let b = gate("b");
    let mut rm = roadmap(vec![b.clone()], vec![phase("p", &[], &["b"])]);
    rm.waivers = vec![];
    let mut l = Ledger::new();
    l.waive(&b, minutes(60), minutes(-5));
    let card = l.card(&rm, now());
    assert_eq!(card.gate("b").unwrap().state, GateState::Missing);
    assert!(!card.go);

    rm.waivers = vec![waiver_rule(&["b"], &["cfo"], 60, 1)];
    let g = l.card(&rm, now()).gate("b").unwrap().clone();
    assert_eq!(g.state, GateState::Missing);
    assert!(
        g.reason
            .ends_with("waiver by wendy (cto) does not count: role `cto` may not waive this gate"),
        "{}",
        g.reason
    );

    // 65 minutes from grant to end, the rule allows 30.
    rm.waivers = vec![waiver_rule(&["b"], &["cto"], 30, 1)];
    let g = l.card(&rm, now()).gate("b").unwrap().clone();
    assert_eq!(g.state, GateState::Missing);
    assert!(
        g.reason
            .ends_with("does not count: it lasts longer than the 30m the roadmap allows"),
        "{}",
        g.reason
    );
}

#[test]
fn a_rule_needing_k_granters_waives_once_k_distinct_granters_agree_until_the_earliest_end() {
    let b = gate("b");
    let mut rm = roadmap(vec![b.clone()], vec![phase("p", &[], &["b"])]);
    rm.waivers = vec![waiver_rule(&["b"], &["cto", "cfo"], 24 * 60, 2)];
    let mut l = Ledger::new();
    l.waive_as(&b, "carol", "cto", minutes(120), minutes(-5));
    // The same granter again, told apart regardless of case, is still one.
    l.waive_as(&b, "Carol ", "cfo", minutes(120), minutes(-4));
    let g = l.card(&rm, now()).gate("b").unwrap().clone();
    assert_eq!(g.state, GateState::Missing);
    assert!(
        g.reason
            .ends_with("waiver by Carol  (cfo) waits for 2 granters under its rule, has 1"),
        "{}",
        g.reason
    );
    // A granter in a role the rule does not list does not count.
    l.waive_as(&b, "mallory", "intern", minutes(600), minutes(-3));
    assert_eq!(
        l.card(&rm, now()).gate("b").unwrap().state,
        GateState::Missing
    );

    l.waive_as(&b, "frank", "cfo", minutes(60), minutes(-2));
    let card = l.card(&rm, now());
    let g = card.gate("b").unwrap();
    assert_eq!(g.state, GateState::Waived);
    assert!(card.go);
    assert!(
        g.reason.starts_with(&format!(
            "waived by Carol  (cfo), frank (cfo) until {}",
            minutes(60)
        )),
        "{}",
        g.reason
    );
    assert_eq!(g.waiver.as_ref().unwrap().until, minutes(60));
    // From the earliest end on, one granter is left.
    assert_eq!(
        l.card(&rm, minutes(60)).gate("b").unwrap().state,
        GateState::Missing
    );
}

/// A cached record of `g` made at `at`, reusing the attempt at `seq` (entry hash `hash`)
/// that started at `observed`.
fn cached(g: &Gate, at: Timestamp, seq: u64, hash: &str, observed: Timestamp) -> Record {
    let mut r = record(g, Verdict::Pass, at);
    r.cache = Some(crate::CacheInfo {
        key: "k".into(),
        manifest: None,
        modified: vec![],
        from: Some(crate::CachedFrom {
            seq,
            entry_hash: hash.into(),
            run_id: "r0".into(),
            started_at: observed,
            duration_ms: 5,
        }),
    });
    r
}

#[test]
fn a_cached_pass_shows_its_evidence_and_is_as_old_as_the_result_it_reuses() {
    let mut a = gate("a");
    a.fresh_for = Some(Duration::from_secs(3600));
    let rm = roadmap(vec![a.clone()], vec![phase("p", &[], &["a"])]);
    let recent = minutes(-10);
    let s = evaluate(&rm, &[cached(&a, now(), 1, "h", recent)], now());
    assert_eq!(s.gates[0].state, GateState::Pass);
    assert_eq!(s.gates[0].reason, "passed (cached from evidence #1)");
    assert_eq!(s.gates[0].cached_from.as_ref().unwrap().seq, 1);

    // Reused today, observed two hours ago: older than fresh_for, whatever the reuse says.
    let old = minutes(-120);
    let s = evaluate(&rm, &[cached(&a, now(), 1, "h", old)], now());
    assert_eq!(s.gates[0].state, GateState::Stale, "{}", s.gates[0].reason);
}

#[test]
fn a_cached_record_does_not_change_the_evidence_an_approval_covers() {
    let (build, release) = (gate("build"), signoff("release", &["sre"], 1));
    let rm = roadmap(
        vec![build.clone(), release.clone()],
        vec![phase("launch", &[], &["build", "release"])],
    );
    let mut l = Ledger::new();
    l.push(record(&build, Verdict::Pass, minutes(-5)));
    let before = phase_evidence_digest(&rm, &release.id, l.evidence());
    let original = format!("{:064x}", 1);
    l.push(cached(&build, now(), 1, &original, minutes(-5)));
    assert_eq!(
        phase_evidence_digest(&rm, &release.id, l.evidence()),
        before
    );
}

#[test]
fn a_pass_that_skipped_rules_is_partial_everywhere_and_still_counts() {
    let (a, b) = (gate("a"), gate("b"));
    let rm = roadmap(
        vec![a.clone(), b.clone()],
        vec![phase("p", &[], &["a", "b"])],
    );
    let mut partial = record(&a, Verdict::Pass, now());
    partial.coverage = Some(crate::Coverage {
        exercised: vec!["live".into()],
        skipped: vec![
            crate::SkippedRule {
                rule: "dependency".into(),
                reason: "no fault hook".into(),
            },
            crate::SkippedRule {
                rule: "recovery".into(),
                reason: "no fault hook".into(),
            },
        ],
    });
    let mut full = record(&b, Verdict::Pass, now());
    full.coverage = Some(crate::Coverage {
        exercised: vec!["live".into()],
        skipped: vec![],
    });
    let s = evaluate(&rm, [&partial, &full], now());
    let ga = s.gate("a").unwrap();
    assert_eq!(ga.state, GateState::Pass);
    assert_eq!(ga.partial(), Some(2));
    assert_eq!(ga.state_label(), "pass (partial: 2 skipped)");
    assert_eq!(ga.reason, "passed; partial: skipped dependency, recovery");
    let gb = s.gate("b").unwrap();
    assert_eq!((gb.partial(), gb.state_label().as_str()), (None, "pass"));
    // By default a partial pass counts: the phase is done, and names the partial gate.
    assert!(s.go);
    assert_eq!(s.phases[0].state, PhaseState::Done);
    assert_eq!(s.phases[0].partial, [GateId::new("a").unwrap()]);
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(
        json["gates"][0]["coverage"]["skipped"][0]["rule"],
        "dependency"
    );
    assert_eq!(json["phases"][0]["partial"], serde_json::json!(["a"]));
    assert!(
        json["gates"][1]["coverage"]["skipped"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_gate_with_a_todo_is_missing_whatever_its_evidence() {
    let mut a = gate("a");
    a.todo = Some("fill in: fault, restore".into());
    let rm = roadmap(vec![a.clone()], vec![phase("p", &[], &["a"])]);
    let s = evaluate(&rm, [&record(&a, Verdict::Pass, now())], now());
    assert_eq!(s.gates[0].state, GateState::Missing);
    assert_eq!(s.gates[0].reason, "todo: fill in: fault, restore");
    assert_eq!(s.phases[0].state, PhaseState::InProgress);
}
