//! `--ledger postgres://...`: a run, the scorecard and verify, with the entries in
//! PostgreSQL (skipped with a note when `PHASEGATE_TEST_PG_URL` is unset; CI sets it).

use crate::harness::{Project, one_phase};

/// The server of the tests, e.g. `postgres://postgres@127.0.0.1:5432/test`.
pub const PG_URL_VAR: &str = "PHASEGATE_TEST_PG_URL";

/// Drops the test's schema however the test ends.
pub struct Schema {
    pub url: String,
    pub name: String,
}

impl Drop for Schema {
    fn drop(&mut self) {
        phasegate_ledger::PostgresStore::drop_schema(&self.url, &self.name).unwrap();
    }
}

#[test]
fn run_status_and_verify_on_a_postgres_ledger() {
    let Some(url) = std::env::var(PG_URL_VAR).ok().filter(|u| !u.is_empty()) else {
        eprintln!("note: pg::run_status_and_verify_on_a_postgres_ledger skipped: set {PG_URL_VAR}");
        return;
    };
    let schema = Schema {
        url: url.clone(),
        name: format!("pgcli_{}", std::process::id()),
    };
    let sep = if url.contains('?') { '&' } else { '?' };
    let ledger = format!("{url}{sep}schema={}", schema.name);
    let p = Project::new(&one_phase(&[
        ("a", "run = \"true\""),
        ("b", "run = \"echo hello\""),
    ]));

    let run = p.run(&["--ledger", &ledger, "run"]);
    assert_eq!(run.code, 0, "{run:?}");
    let status = p.run(&["--ledger", &ledger, "status"]);
    assert_eq!(status.code, 0, "{status:?}");
    let verify = p.run(&["--ledger", &ledger, "evidence", "verify"]);
    assert_eq!(verify.code, 0, "{verify:?}");

    // The entries are in PostgreSQL, not in a SQLite file; the key in the key directory.
    assert!(!p.ledger_db().exists());
    assert!(p.key_file().exists());
    let ledger = phasegate_ledger::Ledger::open_url(&ledger).unwrap();
    let v = ledger.verify().unwrap();
    assert!(v.is_ok(), "{:?}", v.broken);
    assert_eq!((v.records, v.runs_closed), (2, 1));
}
