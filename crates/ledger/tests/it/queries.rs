//! The SQLite store's own behaviours: its schema version, its file, its pragmas, and
//! opening by location. The queries themselves are in the conformance suite.

use phasegate_ledger::{Ledger, LedgerError, SCHEMA_VERSION};

use crate::support::{Fixture, run};

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
fn open_url_takes_a_path_as_a_sqlite_directory() {
    let dir = tempfile::tempdir().unwrap();
    let inner = dir.path().join("ledger");
    let mut ledger = Ledger::open_url(inner.to_str().unwrap()).unwrap();
    ledger.open_run(&run("r")).unwrap();
    assert!(inner.join(phasegate_ledger::LEDGER_FILE).is_file());
    assert!(phasegate_ledger::is_postgres_url("postgresql://h/db"));
    assert!(!phasegate_ledger::is_postgres_url("./postgres"));
}

/// Regression: two `phasegate run` on a fresh project create the ledger together; switching
/// the new file to WAL made one of them fail at once with "database is locked".
#[test]
fn many_openers_of_a_new_ledger_all_succeed() {
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let barrier = std::sync::Barrier::new(8);
        std::thread::scope(|s| {
            for i in 0..8 {
                let (dir, barrier) = (dir.path(), &barrier);
                s.spawn(move || {
                    barrier.wait();
                    let mut ledger =
                        Ledger::open(dir).unwrap_or_else(|e| panic!("opener {i}: {e}"));
                    ledger.open_run(&run(&format!("r{i}"))).unwrap();
                });
            }
        });
        assert!(Ledger::open(dir.path()).unwrap().verify().unwrap().is_ok());
    }
}
