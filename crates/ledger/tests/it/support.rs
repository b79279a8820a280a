//! Builders for runs and records, raw access to the SQLite file for tampering, and the
//! stores the conformance suite runs on.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use phasegate_ledger::{Entry, Ledger, RUN_OPENED_VERSION, RunOpened, SqliteStore, Store};
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
            severity: None,
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
        cache: None,
        coverage: None,
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

/// The SQLite store of the conformance suite: a file in a temporary directory.
pub struct SqliteBackend {
    dir: tempfile::TempDir,
}

impl SqliteBackend {
    pub fn new() -> SqliteBackend {
        SqliteBackend {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn sql(&self) -> rusqlite::Connection {
        sql(&self.dir.path().join(phasegate_ledger::LEDGER_FILE))
    }
}

impl crate::conformance::Backend for SqliteBackend {
    fn ledger(&self) -> Ledger {
        Ledger::open(self.dir.path()).unwrap()
    }

    fn store(&self) -> Box<dyn Store + Send> {
        self.ledger();
        Box::new(SqliteStore::open(&self.dir.path().join(phasegate_ledger::LEDGER_FILE)).unwrap())
    }

    fn body(&self, seq: u64) -> Vec<u8> {
        self.sql()
            .query_row(
                "SELECT body FROM entries WHERE seq = ?1",
                [seq as i64],
                |r| r.get(0),
            )
            .unwrap()
    }

    fn set_body(&self, seq: u64, body: &[u8]) {
        let n = self
            .sql()
            .execute(
                "UPDATE entries SET body = ?1 WHERE seq = ?2",
                rusqlite::params![body, seq as i64],
            )
            .unwrap();
        assert_eq!(n, 1);
    }

    fn set_hash(&self, seq: u64, hash: &[u8]) {
        let n = self
            .sql()
            .execute(
                "UPDATE entries SET hash = ?1 WHERE seq = ?2",
                rusqlite::params![hash, seq as i64],
            )
            .unwrap();
        assert_eq!(n, 1);
    }

    fn set_verdict(&self, seq: u64, verdict: &str) {
        let n = self
            .sql()
            .execute(
                "UPDATE entries SET verdict = ?1 WHERE seq = ?2",
                rusqlite::params![verdict, seq as i64],
            )
            .unwrap();
        assert_eq!(n, 1);
    }

    fn delete(&self, seq: u64) {
        let n = self
            .sql()
            .execute("DELETE FROM entries WHERE seq = ?1", [seq as i64])
            .unwrap();
        assert_eq!(n, 1);
    }
}

/// The variable naming the PostgreSQL server of the tests, e.g.
/// `postgres://postgres@127.0.0.1:5432/test`. CI sets it.
pub const PG_URL_VAR: &str = "PHASEGATE_TEST_PG_URL";

/// Says, once per case, that the PostgreSQL half of the suite did not run. CI sets the URL:
/// there a missing one fails the case, lest the PostgreSQL store go untested unnoticed.
pub fn pg_skipped(case: &str) {
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "postgres::{case}: {PG_URL_VAR} is unset under CI=true"
    );
    eprintln!("note: postgres::{case} skipped: set {PG_URL_VAR} to run it on PostgreSQL");
}

/// The URL of the PostgreSQL server of the tests, or `None` when unset.
#[cfg(feature = "postgres")]
pub fn pg_url() -> Option<String> {
    std::env::var(PG_URL_VAR).ok().filter(|u| !u.is_empty())
}

/// The PostgreSQL store of the conformance suite: a fresh schema, dropped afterwards.
#[cfg(feature = "postgres")]
pub struct PgBackend {
    url: String,
    schema: String,
}

#[cfg(feature = "postgres")]
impl PgBackend {
    /// `None` when `PHASEGATE_TEST_PG_URL` is unset.
    pub fn new() -> Option<PgBackend> {
        pg_url().map(PgBackend::with_url)
    }

    /// A fresh schema in the database at `url`. Only [`crate::conformance::Backend::ledger`]
    /// and `store` take `url` as given; the raw-row methods connect without TLS, so they
    /// need a URL without `sslmode` or `sslrootcert`.
    pub fn with_url(url: String) -> PgBackend {
        PgBackend {
            url,
            schema: fresh_schema(),
        }
    }

    fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).unwrap()
    }

    fn execute(&self, sql: &str, params: &[&(dyn postgres::types::ToSql + Sync)]) {
        let sql = sql.replace("entries", &format!("\"{}\".entries", self.schema));
        let n = self.client().execute(&sql, params).unwrap();
        assert_eq!(n, 1, "{sql}");
    }
}

/// A schema name no other test, process or earlier run uses.
#[cfg(feature = "postgres")]
pub fn fresh_schema() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "pgtest_{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

#[cfg(feature = "postgres")]
impl Drop for PgBackend {
    fn drop(&mut self) {
        phasegate_ledger::PostgresStore::drop_schema(&self.url, &self.schema).unwrap();
    }
}

#[cfg(feature = "postgres")]
impl crate::conformance::Backend for PgBackend {
    fn ledger(&self) -> Ledger {
        Ledger::with_store(self.store())
    }

    fn store(&self) -> Box<dyn Store + Send> {
        Box::new(phasegate_ledger::PostgresStore::open_in_schema(&self.url, &self.schema).unwrap())
    }

    fn body(&self, seq: u64) -> Vec<u8> {
        let sql = format!(
            "SELECT body FROM \"{}\".entries WHERE seq = $1",
            self.schema
        );
        self.client()
            .query_one(&sql, &[&(seq as i64)])
            .unwrap()
            .get(0)
    }

    fn set_body(&self, seq: u64, body: &[u8]) {
        self.execute(
            "UPDATE entries SET body = $1 WHERE seq = $2",
            &[&body, &(seq as i64)],
        );
    }

    fn set_hash(&self, seq: u64, hash: &[u8]) {
        self.execute(
            "UPDATE entries SET hash = $1 WHERE seq = $2",
            &[&hash, &(seq as i64)],
        );
    }

    fn set_verdict(&self, seq: u64, verdict: &str) {
        self.execute(
            "UPDATE entries SET verdict = $1 WHERE seq = $2",
            &[&verdict, &(seq as i64)],
        );
    }

    fn delete(&self, seq: u64) {
        self.execute("DELETE FROM entries WHERE seq = $1", &[&(seq as i64)]);
    }
}

/// The PostgreSQL store of a conformance case, or `None` (skip) when
/// `PHASEGATE_TEST_PG_URL` is unset.
#[cfg(feature = "postgres")]
pub fn pg_backend() -> Option<PgBackend> {
    PgBackend::new()
}

/// Without the `postgres` feature the PostgreSQL half of the suite always skips.
#[cfg(not(feature = "postgres"))]
pub fn pg_backend() -> Option<SqliteBackend> {
    None
}
