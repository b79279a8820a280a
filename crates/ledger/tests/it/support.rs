//! Builders for runs and records, and raw access to the SQLite file for tampering.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use phasegate_ledger::{Entry, Ledger, RUN_OPENED_VERSION, RunOpened};
use phasegate_model::{
    Finding, GateId, GitInfo, OutputEvidence, PhaseId, RECORD_VERSION, Record, Rule, Verdict,
};

pub fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_750_000_000 + second).unwrap()
}

pub fn run(run_id: &str) -> RunOpened {
    RunOpened {
        v: RUN_OPENED_VERSION,
        run_id: run_id.to_owned(),
        started_at: at(0),
        roadmap_sha256: "ab".repeat(32),
        selection: vec!["baseline".to_owned()],
        git: Some(GitInfo {
            commit: "0123456789abcdef0123456789abcdef01234567".to_owned(),
            branch: "main".to_owned(),
            dirty: false,
        }),
        host: "builder".to_owned(),
        tool_version: "0.1.0".to_owned(),
    }
}

pub fn record(run_id: &str, gate: &str, verdict: Verdict, i: i64) -> Record {
    Record {
        v: RECORD_VERSION,
        run_id: run_id.to_owned(),
        gate: GateId::new(gate).unwrap(),
        phases: vec![PhaseId::new("baseline").unwrap()],
        attempt: 1,
        max_attempts: 1,
        verdict,
        reason: (verdict != Verdict::Pass).then(|| "exited with status 1".to_owned()),
        rule: Rule {
            kind: "run".to_owned(),
            text: "cargo test --workspace".to_owned(),
            timeout_ms: 30_000,
            cwd: None,
            env: BTreeMap::from([("TOKEN".to_owned(), "[REDACTED]".to_owned())]),
        },
        started_at: at(i),
        duration_ms: 1234,
        exit_code: Some(i32::from(verdict != Verdict::Pass)),
        signal: None,
        timed_out: false,
        measurements: BTreeMap::from([("duration_ms".to_owned(), 1234.5)]),
        findings: vec![Finding {
            code: "note".to_owned(),
            message: "ünïcode \"quoted\" and\nnewline".to_owned(),
            location: Some("src/lib.rs:1".to_owned()),
        }],
        output: Some(OutputEvidence {
            sha256: "cd".repeat(32),
            bytes: 4096,
            log: format!("logs/{run_id}/{gate}.log"),
            excerpt: "running 12 tests\ntest ok\n".to_owned(),
            truncated: false,
        }),
        inputs_sha256: None,
        roadmap_sha256: "ab".repeat(32),
        gate_sha256: "ef".repeat(32),
        git: None,
        host: "builder".to_owned(),
        tool_version: "0.1.0".to_owned(),
        approval: None,
        waiver: None,
    }
}

/// A run with `n` passing records over gates `g0`..`g3`, without a head.
pub fn open_run_entries(run_id: &str, n: i64) -> Vec<Entry> {
    let mut entries = vec![Entry::RunOpened(run(run_id))];
    for i in 0..n {
        entries.push(Entry::Record(record(
            run_id,
            &format!("g{}", i % 4),
            Verdict::Pass,
            i,
        )));
    }
    entries
}

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub ledger: Ledger,
}

impl Fixture {
    pub fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(dir.path()).unwrap();
        Fixture { dir, ledger }
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join(phasegate_ledger::LEDGER_FILE)
    }

    pub fn sql(&self) -> rusqlite::Connection {
        sql(&self.db_path())
    }
}

pub fn sql(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}
