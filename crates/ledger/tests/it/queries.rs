//! latest_per_gate, history, list, get, export.

use phasegate_ledger::{Entry, EntryKind, Key, Ledger, LedgerError, RunStatus, SCHEMA_VERSION};
use phasegate_model::Verdict;

use crate::support::{Fixture, record, run};

fn gates_and_verdicts(records: &[phasegate_model::Record]) -> Vec<(String, Verdict, i64)> {
    records
        .iter()
        .map(|r| {
            (
                r.gate.to_string(),
                r.verdict,
                r.started_at.as_second() - 1_750_000_000,
            )
        })
        .collect()
}

#[test]
fn latest_per_gate_keeps_the_latest_decisive_and_a_later_skip() {
    let mut f = Fixture::new();
    f.ledger.open_run(&run("r1")).unwrap();
    let plan = [
        ("build", Verdict::Fail, 0),
        ("build", Verdict::Pass, 1),
        ("test", Verdict::Skipped, 2),
        ("test", Verdict::Error, 3),
        ("lint", Verdict::Pass, 4),
        ("build", Verdict::Skipped, 5),
        ("docs", Verdict::Skipped, 6),
        ("lint", Verdict::Fail, 7),
    ];
    for (gate, verdict, i) in plan {
        f.ledger
            .append_record(&record("r1", gate, verdict, i))
            .unwrap();
    }
    let latest = f.ledger.latest_per_gate().unwrap();
    assert_eq!(
        gates_and_verdicts(&latest),
        [
            ("build".to_owned(), Verdict::Pass, 1),
            ("test".to_owned(), Verdict::Error, 3),
            ("build".to_owned(), Verdict::Skipped, 5),
            ("docs".to_owned(), Verdict::Skipped, 6),
            ("lint".to_owned(), Verdict::Fail, 7),
        ]
    );

    let history = f.ledger.history("build", 2).unwrap();
    let seqs: Vec<u64> = history.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [7, 3]);
    assert!(matches!(&history[0].entry, Entry::Record(r) if r.verdict == Verdict::Skipped));
    assert!(f.ledger.history("missing", 5).unwrap().is_empty());
}

#[test]
fn list_reads_summaries_oldest_first() {
    let mut f = Fixture::new();
    let key = Key::generate().unwrap();
    f.ledger.open_run(&run("r1")).unwrap();
    f.ledger
        .append_record(&record("r1", "test", Verdict::Fail, 3))
        .unwrap();
    f.ledger
        .close_run("r1", RunStatus::Completed, &key)
        .unwrap();
    let all = f.ledger.list(None).unwrap();
    let kinds: Vec<EntryKind> = all.iter().map(|s| s.kind).collect();
    assert_eq!(
        kinds,
        [EntryKind::RunOpened, EntryKind::Record, EntryKind::Head]
    );
    assert_eq!(all[1].gate.as_deref(), Some("test"));
    assert_eq!(all[1].verdict, Some(Verdict::Fail));
    assert_eq!(all[1].at, crate::support::at(3));
    assert_eq!(all[2].verdict, None);
    let last2 = f.ledger.list(Some(2)).unwrap();
    assert_eq!(last2, all[1..]);
}

#[test]
fn export_writes_one_verifiable_line_per_entry() {
    let mut f = Fixture::new();
    let key = Key::generate().unwrap();
    f.ledger.open_run(&run("r1")).unwrap();
    f.ledger
        .append_record(&record("r1", "test", Verdict::Pass, 1))
        .unwrap();
    f.ledger
        .close_run("r1", RunStatus::Completed, &key)
        .unwrap();
    let mut out = Vec::new();
    assert_eq!(f.ledger.export_jsonl(&mut out).unwrap(), 3);
    let text = String::from_utf8(out).unwrap();
    let mut prev = [0u8; 32];
    for (i, line) in text.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let seq = v["seq"].as_u64().unwrap();
        assert_eq!(seq, i as u64 + 1);
        assert_eq!(v["prev_hash"], hex::encode(prev));
        // The entry is the stored body byte for byte: the hash can be recomputed from it.
        let start = line.find("\"entry\":").unwrap() + "\"entry\":".len();
        let body = &line[start..line.len() - 1];
        let hash = phasegate_ledger::entry_hash(seq, &prev, body.as_bytes());
        assert_eq!(v["hash"], hex::encode(hash));
        prev = hash;
    }
}

#[test]
fn a_newer_schema_is_refused() {
    let f = Fixture::new();
    f.sql()
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    let err = Ledger::open(f.dir.path()).unwrap_err();
    assert!(
        matches!(err, LedgerError::SchemaTooNew { found: 2, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("has schema version 2"), "{err}");
}

#[test]
fn open_names_the_file_it_cannot_open() {
    let dir = tempfile::tempdir().unwrap();
    // A directory where the SQLite file should be.
    std::fs::create_dir(dir.path().join(phasegate_ledger::LEDGER_FILE)).unwrap();
    let err = Ledger::open(dir.path()).unwrap_err();
    assert!(err.to_string().starts_with("cannot open ledger `"), "{err}");
}

#[test]
fn new_files_use_wal_and_large_pages() {
    let f = Fixture::new();
    let conn = f.sql();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    let page: i64 = conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        (mode.as_str(), page, version),
        ("wal", 16_384, SCHEMA_VERSION)
    );
}

#[test]
fn status_evidence_finds_waivers_behind_many_skips_and_every_signoff_record() {
    let mut f = Fixture::new();
    f.ledger.open_run(&run("r1")).unwrap();
    let waiver = |mut r: phasegate_model::Record, until: i64| {
        r.waiver = Some(phasegate_model::Waiver {
            by: "wendy".into(),
            role: "cto".into(),
            reason: "outage".into(),
            until: crate::support::at(until),
        });
        r
    };
    f.ledger
        .append_record(&waiver(record("r1", "smoke", Verdict::Skipped, 0), 100))
        .unwrap();
    // More skips than the first page of the waiver search.
    for i in 1..=40 {
        f.ledger
            .append_record(&record("r1", "smoke", Verdict::Skipped, i))
            .unwrap();
    }
    f.ledger
        .append_record(&record("r1", "smoke", Verdict::Pass, 41))
        .unwrap();
    for i in 42..45 {
        f.ledger
            .append_record(&record("r1", "release", Verdict::Pass, i))
            .unwrap();
    }
    let w = f.ledger.latest_waiver("smoke").unwrap().unwrap();
    assert_eq!(w.seq, 2, "the run marker is entry 1");
    assert!(f.ledger.latest_waiver("release").unwrap().is_none());
    assert_eq!(f.ledger.records_of("release").unwrap().len(), 3);

    let all = f
        .ledger
        .status_evidence(&["smoke", "release"], &["release"])
        .unwrap();
    let seqs: Vec<u64> = all.iter().map(|e| e.seq).collect();
    // The waiver, smoke's pass (its skips came before it), every release record, each once.
    assert_eq!(seqs, [2, 43, 44, 45, 46]);
    let stored = f.ledger.latest_per_gate_stored().unwrap();
    assert!(stored.iter().all(|e| e.hash.len() == 64));
}
