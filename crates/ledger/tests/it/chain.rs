//! Appending, closing and verifying: the happy paths and the refusals.

use phasegate_ledger::{Entry, Key, Ledger, LedgerError, RunStatus, Store, merkle_root};
use phasegate_model::Verdict;

use crate::support::{Fixture, open_run_entries, record, run};

#[test]
fn append_close_verify_round_trip() {
    let mut f = Fixture::new();
    let key = Key::generate().unwrap();
    assert_eq!(f.ledger.open_run(&run("r1")).unwrap(), 1);
    let mut seqs = Vec::new();
    for i in 0..5 {
        seqs.push(
            f.ledger
                .append_record(&record("r1", "test", Verdict::Pass, i))
                .unwrap(),
        );
    }
    assert_eq!(seqs, [2, 3, 4, 5, 6]);
    let head = f
        .ledger
        .close_run("r1", RunStatus::Completed, &key)
        .unwrap();
    assert_eq!(head.records, 5);
    assert_eq!((head.first_seq, head.last_seq), (Some(2), Some(6)));
    assert_eq!(head.key_id, key.key_id());
    let hashes: Vec<Vec<u8>> = seqs
        .iter()
        .map(|&s| hex::decode(f.ledger.get(s).unwrap().unwrap().hash).unwrap())
        .collect();
    assert_eq!(head.root, hex::encode(merkle_root(&hashes)));

    let stored = f.ledger.get(7).unwrap().unwrap();
    assert_eq!(stored.entry, Entry::Head(head));
    assert_eq!(stored.prev_hash, f.ledger.get(6).unwrap().unwrap().hash);
    assert_eq!(f.ledger.get(8).unwrap(), None);

    let v = f.ledger.verify().unwrap();
    assert!(v.is_ok(), "{:?}", v.broken);
    assert_eq!((v.entries, v.records, v.runs_closed), (7, 5, 1));
    assert_eq!(v.key_ids, [key.key_id()]);
    assert!(v.incomplete.is_empty());
    assert_eq!(v.last_seq, Some(7));
    assert_eq!(v.last_hash.as_deref(), Some(stored.hash.as_str()));

    // Reopening sees the same chain and keeps appending after it.
    drop(f.ledger);
    let mut again = Ledger::open(f.dir.path()).unwrap();
    assert_eq!(again.open_run(&run("r2")).unwrap(), 8);
    assert!(again.verify().unwrap().is_ok());
}

#[test]
fn empty_ledger_verifies() {
    let f = Fixture::new();
    let v = f.ledger.verify().unwrap();
    assert!(v.is_ok());
    assert_eq!((v.entries, v.last_seq), (0, None));
}

#[test]
fn a_run_without_a_head_is_incomplete_and_still_verifies() {
    let mut f = Fixture::new();
    let key = Key::generate().unwrap();
    f.ledger
        .append_batch(&open_run_entries("killed", 3))
        .unwrap();
    f.ledger.append_batch(&open_run_entries("done", 2)).unwrap();
    f.ledger
        .close_run("done", RunStatus::Interrupted, &key)
        .unwrap();
    let v = f.ledger.verify().unwrap();
    assert!(v.is_ok(), "{:?}", v.broken);
    assert_eq!(v.incomplete, ["killed"]);
    assert_eq!(v.runs_closed, 1);
    let runs = f.ledger.runs().unwrap();
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

#[test]
fn interleaved_runs_each_cover_only_their_records() {
    let mut f = Fixture::new();
    let key = Key::generate().unwrap();
    f.ledger.open_run(&run("a")).unwrap();
    f.ledger.open_run(&run("b")).unwrap();
    for i in 0..6 {
        let id = if i % 2 == 0 { "a" } else { "b" };
        f.ledger
            .append_record(&record(id, "test", Verdict::Pass, i))
            .unwrap();
    }
    let b = f.ledger.close_run("b", RunStatus::Completed, &key).unwrap();
    let a = f.ledger.close_run("a", RunStatus::Completed, &key).unwrap();
    assert_eq!((a.records, a.first_seq, a.last_seq), (3, Some(3), Some(7)));
    assert_eq!((b.records, b.first_seq, b.last_seq), (3, Some(4), Some(8)));
    let v = f.ledger.verify().unwrap();
    assert!(v.is_ok(), "{:?}", v.broken);
    assert_eq!(v.runs_closed, 2);
}

#[test]
fn a_run_with_no_records_closes_with_the_empty_root() {
    let mut f = Fixture::new();
    let key = Key::generate().unwrap();
    f.ledger.open_run(&run("empty")).unwrap();
    let head = f
        .ledger
        .close_run("empty", RunStatus::Completed, &key)
        .unwrap();
    assert_eq!((head.records, head.first_seq), (0, None));
    assert_eq!(head.root, hex::encode(merkle_root::<&[u8]>(&[])));
    assert!(f.ledger.verify().unwrap().is_ok());
}

#[test]
fn appends_refuse_runs_in_the_wrong_state() {
    let mut f = Fixture::new();
    let key = Key::generate().unwrap();
    let err = f
        .ledger
        .append_record(&record("nope", "test", Verdict::Pass, 0))
        .unwrap_err();
    assert!(matches!(err, LedgerError::RunNotOpened { .. }), "{err}");
    let err = f
        .ledger
        .close_run("nope", RunStatus::Completed, &key)
        .unwrap_err();
    assert!(matches!(err, LedgerError::RunNotOpened { .. }), "{err}");
    f.ledger.open_run(&run("r")).unwrap();
    let err = f.ledger.open_run(&run("r")).unwrap_err();
    assert_eq!(err.to_string(), "run `r` is already in the ledger");
    f.ledger.close_run("r", RunStatus::Completed, &key).unwrap();
    let err = f
        .ledger
        .append_record(&record("r", "test", Verdict::Pass, 0))
        .unwrap_err();
    assert!(matches!(err, LedgerError::RunClosed { .. }), "{err}");
    let err = f
        .ledger
        .close_run("r", RunStatus::Completed, &key)
        .unwrap_err();
    assert!(matches!(err, LedgerError::RunClosed { .. }), "{err}");

    // A batch is checked as a whole before anything is written.
    let mut batch = open_run_entries("x", 2);
    batch.push(Entry::Record(record("y", "test", Verdict::Pass, 0)));
    let err = f.ledger.append_batch(&batch).unwrap_err();
    assert!(matches!(err, LedgerError::RunNotOpened { .. }), "{err}");
    assert_eq!(f.ledger.list(None).unwrap().len(), 2);

    let mut bad = record("r2", "test", Verdict::Pass, 0);
    bad.measurements.insert("p95_ms".to_owned(), f64::NAN);
    f.ledger.open_run(&run("r2")).unwrap();
    let err = f.ledger.append_record(&bad).unwrap_err();
    assert_eq!(
        err.to_string(),
        "measurement `p95_ms` of gate `test` is not a finite number"
    );
    assert!(f.ledger.verify().unwrap().is_ok());
}

#[test]
fn a_failing_build_writes_nothing() {
    let f = Fixture::new();
    let mut store = phasegate_ledger::SqliteStore::open(&f.db_path()).unwrap();
    let err = store
        .append(&mut |_| {
            Err(LedgerError::Random {
                reason: "boom".to_owned(),
            })
        })
        .unwrap_err();
    assert!(matches!(err, LedgerError::Random { .. }));
    assert_eq!(store.tail(10).unwrap(), []);
}

#[test]
fn two_writers_on_one_file_make_one_valid_chain() {
    let f = Fixture::new();
    let key = Key::generate().unwrap();
    let dir = f.dir.path().to_owned();
    let writers: Vec<_> = ["left", "right"]
        .into_iter()
        .map(|run_id| {
            let dir = dir.clone();
            let key = key.clone();
            std::thread::spawn(move || {
                let mut ledger = Ledger::open(&dir).unwrap();
                ledger.open_run(&run(run_id)).unwrap();
                for i in 0..500 {
                    ledger
                        .append_record(&record(run_id, &format!("g{}", i % 7), Verdict::Pass, i))
                        .unwrap();
                }
                ledger
                    .close_run(run_id, RunStatus::Completed, &key)
                    .unwrap()
            })
        })
        .collect();
    for w in writers {
        assert_eq!(w.join().unwrap().records, 500);
    }
    let v = f.ledger.verify().unwrap();
    assert!(v.is_ok(), "{:?}", v.broken);
    assert_eq!((v.entries, v.records, v.runs_closed), (1004, 1000, 2));
    let runs = f.ledger.runs().unwrap();
    assert!(runs.iter().all(|r| r.records == 500), "{runs:?}");
}
