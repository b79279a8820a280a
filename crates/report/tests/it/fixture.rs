//! One project with a gate in each state: its roadmap, the ledger's records and the
//! scorecard, all at [`now`].

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use phasegate_model::{
    Approval, Evidence, Finding, Gate, GitInfo, OutputEvidence, Provenance, Record, Roadmap, Rule,
    Scorecard, Verdict, Waiver, evaluate_evidence, phase_evidence_digest,
};

/// Phases `foundation` (done), `quality` (failing: `test` fails, the advisory `lint` was
/// skipped) and `launch` (blocked: `docs` is stale, `headers` missing, `audit` errored and
/// is waived, `review` is approved and `go-live` short of one approval).
pub const ROADMAP: &str = r#"
version = 1

[project]
name = "shop"
base_gates = ["fmt"]

[gates.fmt]
run = "cargo fmt --all -- --check"

[gates.build]
title = "The workspace builds"
run = "cargo build --workspace"
inputs = ["**/*.rs", "Cargo.lock"]
timeout = "5m"

[gates.test]
run = "cargo test --workspace"
needs = ["build"]
retries = 1

[gates.lint]
run = "cargo clippy -- -D warnings"
blocking = false

[gates.docs]
run = "mdbook build docs"
fresh_for = "7d"

[gates.headers]
probe = "headers"
base_url = "https://shop.example"
path = "/"

[gates.audit]
run = "cargo audit"

[gates.review]
signoff = { roles = ["security"] }

[gates.go-live]
signoff = { roles = ["sre", "security"], approvals = 2 }

[[phase]]
id = "foundation"
title = "Foundation"
gates = ["build"]

[[phase]]
id = "quality"
title = "Quality"
after = ["foundation"]
gates = ["test", "lint"]

[[phase]]
id = "launch"
title = "Launch"
after = ["quality"]
gates = ["docs", "headers", "audit", "review", "go-live"]

[[waiver]]
gates = ["audit"]
roles = ["cto"]
max = "7d"
"#;

/// The time every scorecard is evaluated at.
pub fn now() -> Timestamp {
    "2026-11-22T12:00:00Z".parse().unwrap()
}

/// [`now`] minus `minutes`.
pub fn ago(minutes: i64) -> Timestamp {
    now()
        .checked_sub(SignedDuration::from_mins(minutes))
        .unwrap()
}

pub fn roadmap() -> Roadmap {
    phasegate_roadmap::parse(ROADMAP, "phasegate.toml").unwrap()
}

/// An attempt at `gate` in run `run`, started at `at`, that took `duration_ms`.
pub fn record(
    rm: &Roadmap,
    gate: &str,
    run: &str,
    verdict: Verdict,
    at: Timestamp,
    duration_ms: u64,
) -> Record {
    let gate = rm.gate(gate).unwrap();
    let provenance = Provenance {
        run_id: run.into(),
        roadmap_sha256: "a1".repeat(32),
        git: Some(GitInfo {
            commit: "0123456789abcdef0123456789abcdef01234567".into(),
            branch: "main".into(),
            dirty: false,
        }),
        host: "ci-1".into(),
        tool_version: "0.1.0".into(),
    };
    let reason = (verdict != Verdict::Pass).then(|| format!("{} said {verdict}", gate.id));
    let mut r = Record::new(
        gate,
        rm.phases_of(&gate.id),
        rule(gate),
        verdict,
        reason,
        &provenance,
    );
    r.started_at = at;
    r.duration_ms = duration_ms;
    r
}

fn rule(gate: &Gate) -> Rule {
    Rule {
        kind: gate.kind.name().into(),
        text: gate.kind.describe(),
        timeout_ms: u64::try_from(gate.timeout.as_millis()).unwrap(),
        cwd: None,
        env: BTreeMap::new(),
    }
}

/// Records as the ledger would hand them over, each with a made-up entry hash.
pub struct Ledger(pub Vec<(Record, String)>);

impl Ledger {
    pub fn push(&mut self, r: Record) {
        let hash = format!("{:064x}", self.0.len() + 1);
        self.0.push((r, hash));
    }

    pub fn evidence(&self) -> Vec<Evidence<'_>> {
        self.0
            .iter()
            .map(|(record, h)| Evidence {
                record,
                entry_hash: Some(h),
            })
            .collect()
    }

    pub fn card(&self, rm: &Roadmap) -> Scorecard {
        evaluate_evidence(rm, self.evidence(), now())
    }

    /// The records of `gate`, newest first (what `why` is given).
    pub fn history(&self, gate: &str) -> Vec<Record> {
        self.0
            .iter()
            .rev()
            .filter(|(r, _)| r.gate.as_str() == gate)
            .map(|(r, _)| r.clone())
            .collect()
    }

    /// An approval of `gate` by `by` as `role`, over the evidence as it is now.
    fn approve(&mut self, rm: &Roadmap, gate: &str, by: &str, role: &str, at: Timestamp) {
        let id = &rm.gate(gate).unwrap().id;
        let covers = phase_evidence_digest(rm, id, self.evidence());
        let mut r = record(rm, gate, &format!("approve-{by}"), Verdict::Pass, at, 0);
        r.reason = None;
        r.approval = Some(Approval {
            signed: None,
            by: by.into(),
            role: role.into(),
            note: Some(format!("checked as {role}")),
            phases: rm.phases_of(id),
            covers_sha256: covers,
        });
        self.push(r);
    }
}

/// The ledger of the project: two runs, then approvals and a waiver.
pub fn ledger(rm: &Roadmap) -> Ledger {
    let mut l = Ledger(Vec::new());
    // An old run, under an older definition of `docs`: its pass is stale now.
    let mut docs = record(rm, "docs", "r-old", Verdict::Pass, ago(60 * 24 * 3), 2_500);
    docs.gate_sha256 = "0".repeat(64);
    docs.rule.text = "mkdocs build".into();
    l.push(docs);
    l.push(record(
        rm,
        "audit",
        "r-old",
        Verdict::Pass,
        ago(60 * 24 * 3),
        800,
    ));
    for r in run(rm) {
        l.push(r);
    }
    l.approve(rm, "review", "sam", "security", ago(30));
    l.approve(rm, "go-live", "ola", "sre", ago(20));
    let mut waiver = record(rm, "audit", "waive-1", Verdict::Skipped, ago(10), 0);
    waiver.reason = None;
    waiver.waiver = Some(Waiver {
        signed: None,
        by: "wendy".into(),
        role: "cto".into(),
        reason: "advisory database unreachable".into(),
        until: now().checked_add(SignedDuration::from_hours(48)).unwrap(),
    });
    l.push(waiver);
    l
}

/// The latest run, one record per gate that ran (its last attempt).
pub fn run(rm: &Roadmap) -> Vec<Record> {
    let mut fmt = record(rm, "fmt", "r-2", Verdict::Pass, ago(61), 340);
    fmt.exit_code = Some(0);

    let mut build = record(rm, "build", "r-2", Verdict::Pass, ago(60), 125_400);
    build.exit_code = Some(0);
    build.inputs_sha256 = Some("b2".repeat(32));
    build.output = Some(OutputEvidence {
        sha256: "c3".repeat(32),
        bytes: 96,
        log: "logs/r-2/build.log".into(),
        excerpt: "   Compiling shop v0.1.0\n    Finished `dev` profile in 2m 5s\n".into(),
        truncated: false,
    });

    let mut test = record(rm, "test", "r-2", Verdict::Fail, ago(58), 3_400);
    test.attempt = 2;
    test.max_attempts = 2;
    test.exit_code = Some(101);
    test.measurements = BTreeMap::from([("passed".into(), 41.0), ("p95_ms".into(), 12.25)]);
    test.findings = vec![Finding {
        severity: None,
        code: "test-failed".into(),
        message: "cart::tests::total_includes_tax panicked".into(),
        location: Some("src/cart.rs:88".into()),
    }];
    let excerpt: String = (1..=45).map(|i| format!("line {i}\n")).collect();
    test.output = Some(OutputEvidence {
        sha256: "d4".repeat(32),
        bytes: 100_000,
        log: "logs/r-2/test.log".into(),
        excerpt,
        truncated: true,
    });

    let mut audit = record(rm, "audit", "r-2", Verdict::Error, ago(57), 600_000);
    audit.reason = Some("timed out after 10m".into());
    audit.signal = Some(9);
    audit.timed_out = true;

    let lint = record(rm, "lint", "r-2", Verdict::Skipped, ago(57), 0);
    vec![fmt, build, test, audit, lint]
}
