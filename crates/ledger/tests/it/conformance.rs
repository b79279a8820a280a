//! The `Store` conformance suite: every behaviour a store must have, run on SQLite always
//! and on PostgreSQL when `PHASEGATE_TEST_PG_URL` is set (CI sets it).
//!
//! Each case is a function of a [`Backend`]: a fresh, empty store that can open any number
//! of ledgers on itself and change its rows behind the ledger's back, through the
//! database's own SQL.

use phasegate_ledger::{
    Entry, EntryKind, Key, Ledger, LedgerError, RunStatus, Store, entry_hash, merkle_root,
};
use phasegate_model::Verdict;

use crate::support::{at, open_run_entries, record, run};

/// A fresh store and raw access to its rows.
pub trait Backend: Send + Sync {
    /// A new ledger on this store (another connection).
    fn ledger(&self) -> Ledger;
    /// The raw store, for the cases that talk to the trait directly.
    fn store(&self) -> Box<dyn Store + Send>;
    /// The stored body of `seq`.
    fn body(&self, seq: u64) -> Vec<u8>;
    /// Overwrites the body of `seq`.
    fn set_body(&self, seq: u64, body: &[u8]);
    /// Overwrites the hash column of `seq`.
    fn set_hash(&self, seq: u64, hash: &[u8]);
    /// Overwrites the verdict column of `seq`.
    fn set_verdict(&self, seq: u64, verdict: &str);
    /// Deletes the row `seq`.
    fn delete(&self, seq: u64);
}

/// Declares each case once per backend: `sqlite::case` and `postgres::case`.
macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $case() {
                    super::$case(&crate::support::SqliteBackend::new());
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $case() {
                    match crate::support::pg_backend() {
                        Some(backend) => super::$case(&backend),
                        None => crate::support::pg_skipped(stringify!($case)),
                    }
                }
            )*
        }
    };
}

conformance!(
    append_close_verify_round_trip,
    empty_ledger_verifies,
    a_run_without_a_head_is_incomplete_and_still_verifies,
    interleaved_runs_each_cover_only_their_records,
    a_run_with_no_records_closes_with_the_empty_root,
    appends_refuse_runs_in_the_wrong_state,
    a_failing_build_writes_nothing,
    two_writers_make_one_valid_chain,
    latest_per_gate_keeps_the_latest_decisive_and_a_later_skip,
    list_reads_summaries_oldest_first,
    export_writes_one_verifiable_line_per_entry,
    status_evidence_finds_waivers_behind_many_skips_and_every_signoff_record,
    a_flipped_body_byte_breaks_exactly_that_entry,
    an_altered_hash_column_alone_breaks_that_entry,
    a_deleted_record_leaves_a_sequence_gap,
    a_changed_index_column_is_reported,
    an_incomplete_run_does_not_hide_tampering_after_it,
    verify_from_a_checkpoint_reads_on_from_it_and_checks_the_checkpoint_entry,
);

fn broken_at(ledger: &Ledger) -> (u64, String) {
    let v = ledger.verify().unwrap();
    let b = v.broken.expect("verify must report the tampering");
    (b.seq, b.reason)
}

/// Two runs, one closed and one open: 1 + 4 + 1 + 1 + 2 = 9 entries.
fn populated(b: &impl Backend) -> Ledger {
    let mut ledger = b.ledger();
    let key = Key::from_hex(&"07".repeat(32)).unwrap();
    ledger.append_batch(&open_run_entries("a", 4)).unwrap();
    ledger.close_run("a", RunStatus::Completed, &key).unwrap();
    ledger.append_batch(&open_run_entries("b", 2)).unwrap();
    assert!(ledger.verify().unwrap().is_ok());
    ledger
}

pub fn append_close_verify_round_trip(b: &impl Backend) {
    let mut ledger = b.ledger();
    let key = Key::generate().unwrap();
    assert_eq!(ledger.open_run(&run("r1")).unwrap(), 1);
    let mut seqs = Vec::new();
    for i in 0..5 {
        seqs.push(
            ledger
                .append_record(&record("r1", "test", Verdict::Pass, i))
                .unwrap(),
        );
    }
    assert_eq!(seqs, [2, 3, 4, 5, 6]);
    let head = ledger.close_run("r1", RunStatus::Completed, &key).unwrap();
    assert_eq!(head.records, 5);
    assert_eq!((head.first_seq, head.last_seq), (Some(2), Some(6)));
    assert_eq!(head.key_id, key.key_id());
    let hashes: Vec<Vec<u8>> = seqs
        .iter()
        .map(|&s| hex::decode(ledger.get(s).unwrap().unwrap().hash).unwrap())
        .collect();
    assert_eq!(head.root, hex::encode(merkle_root(&hashes)));

    let stored = ledger.get(7).unwrap().unwrap();
    assert_eq!(stored.entry, Entry::Head(head));
    assert_eq!(stored.prev_hash, ledger.get(6).unwrap().unwrap().hash);
    assert_eq!(ledger.get(8).unwrap(), None);

    let v = ledger.verify().unwrap();
    assert!(v.is_ok(), "{:?}", v.broken);
    assert_eq!((v.entries, v.records, v.runs_closed), (7, 5, 1));
    assert_eq!(v.key_ids, [key.key_id()]);
    assert!(v.incomplete.is_empty());
    assert_eq!(v.last_seq, Some(7));
    assert_eq!(v.last_hash.as_deref(), Some(stored.hash.as_str()));

    // Reopening sees the same chain and keeps appending after it.
    drop(ledger);
    let mut again = b.ledger();
    assert_eq!(again.open_run(&run("r2")).unwrap(), 8);
    assert!(again.verify().unwrap().is_ok());
}

fn empty_ledger_verifies(b: &impl Backend) {
    let ledger = b.ledger();
    let v = ledger.verify().unwrap();
    assert!(v.is_ok());
    assert_eq!((v.entries, v.last_seq), (0, None));
    assert!(ledger.list(None).unwrap().is_empty());
    assert!(ledger.latest_per_gate().unwrap().is_empty());
    assert!(ledger.runs().unwrap().is_empty());
}

fn a_run_without_a_head_is_incomplete_and_still_verifies(b: &impl Backend) {
    let mut ledger = b.ledger();
    let key = Key::generate().unwrap();
    ledger.append_batch(&open_run_entries("killed", 3)).unwrap();
    ledger.append_batch(&open_run_entries("done", 2)).unwrap();
    ledger
        .close_run("done", RunStatus::Interrupted, &key)
        .unwrap();
    let v = ledger.verify().unwrap();
    assert!(v.is_ok(), "{:?}", v.broken);
    assert_eq!(v.incomplete, ["killed"]);
    assert_eq!(v.runs_closed, 1);
    let runs = ledger.runs().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(
        (runs[0].run_id.as_str(), runs[0].status, runs[0].records),
        ("killed", None, 3)
    );
    assert_eq!(
        (runs[1].run_id.as_str(), runs[1].status, runs[1].records),
        ("done", Some(RunStatus::Interrupted), 2)
    );
    assert_eq!(runs[1].key_id.as_deref(), Some(key.key_id().as_str()));
}

fn interleaved_runs_each_cover_only_their_records(b: &impl Backend) {
    let mut ledger = b.ledger();
    let key = Key::generate().unwrap();
    ledger.open_run(&run("a")).unwrap();
    ledger.open_run(&run("b")).unwrap();
    for i in 0..6 {
        let id = if i % 2 == 0 { "a" } else { "b" };
        ledger
            .append_record(&record(id, "test", Verdict::Pass, i))
            .unwrap();
    }
    let bh = ledger.close_run("b", RunStatus::Completed, &key).unwrap();
    let ah = ledger.close_run("a", RunStatus::Completed, &key).unwrap();
    assert_eq!(
        (ah.records, ah.first_seq, ah.last_seq),
        (3, Some(3), Some(7))
    );
    assert_eq!(
        (bh.records, bh.first_seq, bh.last_seq),
        (3, Some(4), Some(8))
    );
    let v = ledger.verify().unwrap();
    assert!(v.is_ok(), "{:?}", v.broken);
    assert_eq!(v.runs_closed, 2);
}

fn a_run_with_no_records_closes_with_the_empty_root(b: &impl Backend) {
    let mut ledger = b.ledger();
    let key = Key::generate().unwrap();
    ledger.open_run(&run("empty")).unwrap();
    let head = ledger
        .close_run("empty", RunStatus::Completed, &key)
        .unwrap();
    assert_eq!((head.records, head.first_seq), (0, None));
    assert_eq!(head.root, hex::encode(merkle_root::<&[u8]>(&[])));
    assert!(ledger.verify().unwrap().is_ok());
}

fn appends_refuse_runs_in_the_wrong_state(b: &impl Backend) {
    let mut ledger = b.ledger();
    let key = Key::generate().unwrap();
    let err = ledger
        .append_record(&record("nope", "test", Verdict::Pass, 0))
        .unwrap_err();
    assert!(matches!(err, LedgerError::RunNotOpened { .. }), "{err}");
    let err = ledger
        .close_run("nope", RunStatus::Completed, &key)
        .unwrap_err();
    assert!(matches!(err, LedgerError::RunNotOpened { .. }), "{err}");
    ledger.open_run(&run("r")).unwrap();
    let err = ledger.open_run(&run("r")).unwrap_err();
    assert_eq!(err.to_string(), "run `r` is already in the ledger");
    ledger.close_run("r", RunStatus::Completed, &key).unwrap();
    let err = ledger
        .append_record(&record("r", "test", Verdict::Pass, 0))
        .unwrap_err();
    assert!(matches!(err, LedgerError::RunClosed { .. }), "{err}");
    let err = ledger
        .close_run("r", RunStatus::Completed, &key)
        .unwrap_err();
    assert!(matches!(err, LedgerError::RunClosed { .. }), "{err}");

    // A batch is checked as a whole before anything is written.
    let mut batch = open_run_entries("x", 2);
    batch.push(Entry::Record(record("y", "test", Verdict::Pass, 0)));
    let err = ledger.append_batch(&batch).unwrap_err();
    assert!(matches!(err, LedgerError::RunNotOpened { .. }), "{err}");
    assert_eq!(ledger.list(None).unwrap().len(), 2);

    let mut bad = record("r2", "test", Verdict::Pass, 0);
    bad.measurements.insert("p95_ms".to_owned(), f64::NAN);
    ledger.open_run(&run("r2")).unwrap();
    let err = ledger.append_record(&bad).unwrap_err();
    assert_eq!(
        err.to_string(),
        "measurement `p95_ms` of gate `test` is not a finite number"
    );
    assert!(ledger.verify().unwrap().is_ok());
}

fn a_failing_build_writes_nothing(b: &impl Backend) {
    let mut store = b.store();
    let err = store
        .append(&mut |_| {
            Err(LedgerError::Random {
                reason: "boom".to_owned(),
            })
        })
        .unwrap_err();
    assert!(matches!(err, LedgerError::Random { .. }));
    assert_eq!(store.tail(10).unwrap(), []);
    // The store is still usable: the failed transaction did not linger.
    let mut ledger = Ledger::with_store(store);
    assert_eq!(ledger.open_run(&run("after")).unwrap(), 1);
    assert!(ledger.verify().unwrap().is_ok());
}

fn two_writers_make_one_valid_chain(b: &impl Backend) {
    const EACH: i64 = 300;
    let key = Key::generate().unwrap();
    std::thread::scope(|s| {
        let writers: Vec<_> = ["left", "right"]
            .into_iter()
            .map(|run_id| {
                let key = key.clone();
                s.spawn(move || {
                    let mut ledger = b.ledger();
                    ledger.open_run(&run(run_id)).unwrap();
                    for i in 0..EACH {
                        ledger
                            .append_record(&record(
                                run_id,
                                &format!("g{}", i % 7),
                                Verdict::Pass,
                                i,
                            ))
                            .unwrap();
                    }
                    ledger
                        .close_run(run_id, RunStatus::Completed, &key)
                        .unwrap()
                })
            })
            .collect();
        for w in writers {
            assert_eq!(w.join().unwrap().records, EACH as u64);
        }
    });
    let ledger = b.ledger();
    let v = ledger.verify().unwrap();
    assert!(v.is_ok(), "{:?}", v.broken);
    let n = 2 * EACH as u64;
    assert_eq!((v.entries, v.records, v.runs_closed), (n + 4, n, 2));
    let runs = ledger.runs().unwrap();
    assert!(runs.iter().all(|r| r.records == EACH as u64), "{runs:?}");
}

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

fn latest_per_gate_keeps_the_latest_decisive_and_a_later_skip(b: &impl Backend) {
    let mut ledger = b.ledger();
    ledger.open_run(&run("r1")).unwrap();
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
        ledger
            .append_record(&record("r1", gate, verdict, i))
            .unwrap();
    }
    let latest = ledger.latest_per_gate().unwrap();
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

    let history = ledger.history("build", 2).unwrap();
    let seqs: Vec<u64> = history.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [7, 3]);
    assert!(matches!(&history[0].entry, Entry::Record(r) if r.verdict == Verdict::Skipped));
    assert!(ledger.history("missing", 5).unwrap().is_empty());
    assert_eq!(ledger.records_of("build").unwrap().len(), 3);
    let got = ledger.get(2).unwrap().unwrap();
    assert!(matches!(&got.entry, Entry::Record(r) if r.gate.as_str() == "build"));
}

fn list_reads_summaries_oldest_first(b: &impl Backend) {
    let mut ledger = b.ledger();
    let key = Key::generate().unwrap();
    ledger.open_run(&run("r1")).unwrap();
    ledger
        .append_record(&record("r1", "test", Verdict::Fail, 3))
        .unwrap();
    ledger.close_run("r1", RunStatus::Completed, &key).unwrap();
    let all = ledger.list(None).unwrap();
    let kinds: Vec<EntryKind> = all.iter().map(|s| s.kind).collect();
    assert_eq!(
        kinds,
        [EntryKind::RunOpened, EntryKind::Record, EntryKind::Head]
    );
    assert_eq!(all[1].gate.as_deref(), Some("test"));
    assert_eq!(all[1].verdict, Some(Verdict::Fail));
    assert_eq!(all[1].at, at(3));
    assert_eq!(all[2].verdict, None);
    let last2 = ledger.list(Some(2)).unwrap();
    assert_eq!(last2, all[1..]);
}

fn export_writes_one_verifiable_line_per_entry(b: &impl Backend) {
    let mut ledger = b.ledger();
    let key = Key::generate().unwrap();
    ledger.open_run(&run("r1")).unwrap();
    // More entries than one page of the PostgreSQL store's scan.
    let records: Vec<Entry> = (0..600)
        .map(|i| Entry::Record(record("r1", "test", Verdict::Pass, i)))
        .collect();
    ledger.append_batch(&records).unwrap();
    ledger.close_run("r1", RunStatus::Completed, &key).unwrap();
    let mut out = Vec::new();
    assert_eq!(ledger.export_jsonl(&mut out).unwrap(), 602);
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
        let hash = entry_hash(seq, &prev, body.as_bytes());
        assert_eq!(v["hash"], hex::encode(hash));
        prev = hash;
    }
    assert_eq!(ledger.verify().unwrap().entries, 602);
}

fn status_evidence_finds_waivers_behind_many_skips_and_every_signoff_record(b: &impl Backend) {
    let mut ledger = b.ledger();
    ledger.open_run(&run("r1")).unwrap();
    let waiver = |mut r: phasegate_model::Record, until: i64| {
        r.waiver = Some(phasegate_model::Waiver {
            signed: None,
            by: format!("wendy{until}"),
            role: "cto".into(),
            reason: "outage".into(),
            until: at(until),
        });
        r
    };
    ledger
        .append_record(&waiver(record("r1", "smoke", Verdict::Skipped, 0), 100))
        .unwrap();
    // More skips than the first page of the waiver search.
    for i in 1..=40 {
        ledger
            .append_record(&record("r1", "smoke", Verdict::Skipped, i))
            .unwrap();
    }
    ledger
        .append_record(&record("r1", "smoke", Verdict::Pass, 41))
        .unwrap();
    for i in 42..45 {
        ledger
            .append_record(&record("r1", "release", Verdict::Pass, i))
            .unwrap();
    }
    let w = ledger.latest_waiver("smoke").unwrap().unwrap();
    assert_eq!(w.seq, 2, "the run marker is entry 1");
    assert!(ledger.latest_waiver("release").unwrap().is_none());
    assert_eq!(ledger.records_of("release").unwrap().len(), 3);

    let all = ledger
        .status_evidence(&["smoke", "release"], &["release"], &[])
        .unwrap();
    let seqs: Vec<u64> = all.iter().map(|e| e.seq).collect();
    // The waiver, smoke's pass (its skips came before it), every release record, each once.
    assert_eq!(seqs, [2, 43, 44, 45, 46]);

    // A second waiver of smoke: the latest only, unless a rule makes smoke waivable.
    ledger
        .append_record(&waiver(record("r1", "smoke", Verdict::Skipped, 46), 200))
        .unwrap();
    let seqs = |waivable: &[&str]| -> Vec<u64> {
        ledger
            .status_evidence(&["smoke", "release"], &["release"], waivable)
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect()
    };
    assert_eq!(seqs(&[]), [43, 44, 45, 46, 47]);
    assert_eq!(seqs(&["smoke"]), [2, 43, 44, 45, 46, 47]);
    let waivers: Vec<u64> = ledger
        .waivers("smoke")
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(waivers, [2, 47]);
    let stored = ledger.latest_per_gate_stored().unwrap();
    assert!(stored.iter().all(|e| e.hash.len() == 64));
}

fn a_flipped_body_byte_breaks_exactly_that_entry(b: &impl Backend) {
    let ledger = populated(b);
    // Every entry, at its first, middle and last byte (the SQLite-only property test
    // tries random positions and flips).
    for seq in 1..=9 {
        let original = b.body(seq);
        for i in [0, original.len() / 2, original.len() - 1] {
            let mut body = original.clone();
            body[i] ^= 0x20;
            b.set_body(seq, &body);
            let (at, reason) = broken_at(&ledger);
            assert_eq!(at, seq, "byte {i}: {reason}");
        }
        b.set_body(seq, &original);
        assert!(ledger.verify().unwrap().is_ok());
    }
}

fn an_altered_hash_column_alone_breaks_that_entry(b: &impl Backend) {
    let ledger = populated(b);
    b.set_hash(5, &[0u8; 32]);
    let (at, reason) = broken_at(&ledger);
    assert_eq!(at, 5, "{reason}");
    assert!(reason.starts_with("hash does not match"), "{reason}");
}

fn a_deleted_record_leaves_a_sequence_gap(b: &impl Backend) {
    let ledger = populated(b);
    b.delete(3);
    let (at, reason) = broken_at(&ledger);
    assert_eq!(at, 4);
    assert_eq!(reason, "sequence gap: expected entry 3, found 4");
}

fn a_changed_index_column_is_reported(b: &impl Backend) {
    let ledger = populated(b);
    b.set_verdict(2, "fail");
    let (at, reason) = broken_at(&ledger);
    assert_eq!(at, 2);
    assert!(reason.starts_with("indexed columns"), "{reason}");
}

fn an_incomplete_run_does_not_hide_tampering_after_it(b: &impl Backend) {
    let mut ledger = populated(b);
    ledger.open_run(&run("c")).unwrap();
    let mut body = b.body(10);
    body.push(b' ');
    b.set_body(10, &body);
    let (at, _) = broken_at(&ledger);
    assert_eq!(at, 10);
}

/// What only the PostgreSQL store has: a URL with a schema, a schema version table.
#[cfg(feature = "postgres")]
mod postgres_only {
    use phasegate_ledger::{Ledger, LedgerError, PG_SCHEMA_VERSION, PostgresStore};

    use crate::support::{fresh_schema, pg_skipped, pg_url as url, run};

    #[test]
    fn open_url_uses_the_schema_parameter_and_hides_the_password() {
        let Some(url) = url() else {
            return pg_skipped("open_url_uses_the_schema_parameter_and_hides_the_password");
        };
        let schema = fresh_schema();
        let sep = if url.contains('?') { '&' } else { '?' };
        let mut ledger = Ledger::open_url(&format!("{url}{sep}schema={schema}")).unwrap();
        ledger.open_run(&run("r")).unwrap();
        assert!(ledger.location().ends_with(&format!("schema={schema}")));
        drop(ledger);
        // The same schema, opened the other way, holds the entry.
        let again = Ledger::with_store(Box::new(
            PostgresStore::open_in_schema(&url, &schema).unwrap(),
        ));
        assert_eq!(again.list(None).unwrap().len(), 1);
        drop(again);
        PostgresStore::drop_schema(&url, &schema).unwrap();

        let err = PostgresStore::open("postgres://who:s3cret@127.0.0.1:1/nowhere").unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("cannot open ledger `postgres://who:***@127.0.0.1:1/nowhere"),
            "{text}"
        );
        assert!(!text.contains("s3cret"), "{text}");
        let err = PostgresStore::open_in_schema(&url, "Bad-Name").unwrap_err();
        assert!(err.to_string().contains("schema name `Bad-Name`"), "{err}");
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let Some(url) = url() else {
            return pg_skipped("a_newer_schema_is_refused");
        };
        let schema = fresh_schema();
        drop(PostgresStore::open_in_schema(&url, &schema).unwrap());
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        client
            .execute(
                &format!("UPDATE \"{schema}\".schema_version SET version = $1"),
                &[&(PG_SCHEMA_VERSION + 1)],
            )
            .unwrap();
        let err = PostgresStore::open_in_schema(&url, &schema).unwrap_err();
        PostgresStore::drop_schema(&url, &schema).unwrap();
        assert!(
            matches!(err, LedgerError::SchemaTooNewAt { found: 2, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("has schema version 2"), "{err}");
    }

    #[test]
    fn concurrent_opens_of_a_new_schema_all_succeed() {
        let Some(url) = url() else {
            return pg_skipped("concurrent_opens_of_a_new_schema_all_succeed");
        };
        let schema = fresh_schema();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| drop(PostgresStore::open_in_schema(&url, &schema).unwrap()));
            }
        });
        PostgresStore::drop_schema(&url, &schema).unwrap();
    }
}

fn verify_from_a_checkpoint_reads_on_from_it_and_checks_the_checkpoint_entry(b: &impl Backend) {
    let mut ledger = populated(b);
    let (full, cp) = ledger.verify_from(None).unwrap();
    assert_eq!(full, ledger.verify().unwrap());
    let cp = cp.unwrap();
    assert_eq!((cp.seq, Some(cp.hash.clone())), (9, full.last_hash.clone()));

    // Run `b` was open at the checkpoint: its head after it must still match its records.
    let key = Key::from_hex(&"07".repeat(32)).unwrap();
    ledger
        .append_record(&record("b", "late", Verdict::Pass, 9))
        .unwrap();
    ledger.close_run("b", RunStatus::Completed, &key).unwrap();
    let (resumed, next) = ledger.verify_from(Some(&cp)).unwrap();
    assert_eq!(
        resumed,
        ledger.verify().unwrap(),
        "the same counts as from the start"
    );
    let next = next.unwrap();
    assert_eq!(next.seq, 11);
    // Nothing new: nothing read, the same checkpoint.
    let (again, same) = ledger.verify_from(Some(&next)).unwrap();
    assert!(again.is_ok());
    assert_eq!(same.as_ref(), Some(&next));

    // The checkpoint entry changed: caught there.
    let original = b.body(11);
    let mut body = original.clone();
    body[5] ^= 0x20;
    b.set_body(11, &body);
    let (v, none) = ledger.verify_from(Some(&next)).unwrap();
    assert_eq!(v.broken.unwrap().seq, 11);
    assert!(none.is_none());
    b.set_body(11, &original);

    // What a checkpoint cannot see: an earlier entry changed with the checkpoint entry
    // left alone. A full verify still finds it.
    let original = b.body(3);
    let mut body = original.clone();
    body[5] ^= 0x20;
    b.set_body(3, &body);
    assert!(ledger.verify_from(Some(&next)).unwrap().0.is_ok());
    assert_eq!(broken_at(&ledger).0, 3);
    b.set_body(3, &original);

    // The chain cut short before the checkpoint.
    b.delete(11);
    let (v, _) = ledger.verify_from(Some(&next)).unwrap();
    let broken = v.broken.unwrap();
    assert_eq!(broken.seq, 11);
    assert!(broken.reason.contains("missing"), "{}", broken.reason);
}
