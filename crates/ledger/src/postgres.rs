//! The PostgreSQL [`Store`]: the same table and indexes as SQLite's, in a schema of its own
//! (`phasegate` unless the URL says `?schema=NAME`).
//!
//! # Why a thread
//!
//! The `postgres` crate is a blocking wrapper that drives tokio-postgres on a private tokio
//! runtime: every call does `block_on`, which panics ("Cannot start a runtime from within a
//! runtime") when made on a thread that is already running tokio — and `phasegate run`
//! appends records from inside its runtime. So the client lives on a dedicated
//! `std::thread` owned by the store (a small actor): each [`Store`] method sends it a job
//! over a channel and waits for the answer. Callers see an ordinary synchronous store that
//! works from any thread, inside a runtime or not.
//!
//! A transaction that spans caller code (the tip read, `build`, the inserts of
//! [`Store::append`]; the pages of [`Store::scan`]) is a sequence of jobs on the one
//! connection; a guard rolls it back if the caller fails or panics in between.
//!
//! The connection is encrypted as the URL's `sslmode` and `sslrootcert` say, as in libpq
//! (see the `tls` module).

use std::collections::HashMap;
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;

use postgres::types::ToSql;
use postgres::{Client, Config, Statement};

use crate::LedgerError;
use crate::store::{BuildRows, Row, Store, Tip, Visit};
use crate::tls::Tls;

/// The schema version this build writes (the one row of `schema_version`).
pub const PG_SCHEMA_VERSION: i64 = 1;

/// The schema the store uses when the URL names none.
pub const DEFAULT_SCHEMA: &str = "phasegate";

/// Serializes schema creation and migration across processes (`pg_advisory_xact_lock`).
const MIGRATE_LOCK: i64 = 0x7068_6173_6567_6174; // "phasegat"

/// Rows fetched per round trip by [`Store::scan`].
const PAGE: i64 = 512;

const COLUMNS: &str = "seq, kind, run_id, gate, verdict, at, body, prev_hash, hash";

/// Each step takes the schema from version `index` to `index + 1`; `{s}` is the quoted
/// schema. The same table and indexes as the SQLite store.
const MIGRATIONS: &[&str] = &["
    CREATE TABLE IF NOT EXISTS {s}.entries (
        seq       BIGINT PRIMARY KEY,
        kind      TEXT NOT NULL,
        run_id    TEXT NOT NULL,
        gate      TEXT,
        verdict   TEXT,
        at        TEXT NOT NULL,
        body      BYTEA NOT NULL,
        prev_hash BYTEA NOT NULL,
        hash      BYTEA NOT NULL
    );
    -- latest_per_gate: one index probe per gate and verdict.
    CREATE INDEX IF NOT EXISTS entries_gate_verdict ON {s}.entries (gate, verdict, seq)
        WHERE gate IS NOT NULL;
    -- history: newest records of one gate.
    CREATE INDEX IF NOT EXISTS entries_gate ON {s}.entries (gate, seq) WHERE gate IS NOT NULL;
    -- closing a run, counting records per run.
    CREATE INDEX IF NOT EXISTS entries_run ON {s}.entries (run_id, kind, seq);
    -- runs: the few run_opened and head rows among a million records.
    CREATE INDEX IF NOT EXISTS entries_markers ON {s}.entries (seq) WHERE kind <> 'record';
"];

/// A job for the connection thread.
type Job = Box<dyn FnOnce(&mut Conn) + Send>;

/// A [`Store`] in a PostgreSQL schema. See the module documentation for its thread.
pub struct PostgresStore {
    jobs: mpsc::Sender<Job>,
    thread: Option<JoinHandle<()>>,
    location: String,
    schema: String,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("location", &self.location)
            .finish()
    }
}

/// The SQL of one schema, built once.
#[derive(Debug)]
struct Sql {
    schema: String,
    begin_append: String,
    tip: String,
    insert: String,
    page: String,
    get: String,
    by_seqs: String,
    tail: String,
    latest_pairs: String,
    history: String,
    history_with_verdict: String,
    run_markers: String,
    markers: String,
    run_record_hashes: String,
    record_counts: String,
}

impl Sql {
    fn new(schema: &str) -> Sql {
        let t = format!("{}.entries", quote(schema));
        Sql {
            schema: schema.to_owned(),
            // EXCLUSIVE blocks every other writer (and their LOCK) but not readers; held to
            // COMMIT, it makes reading the tip and inserting after it one step for the chain.
            begin_append: format!("BEGIN; LOCK TABLE {t} IN EXCLUSIVE MODE"),
            tip: format!("SELECT seq, hash FROM {t} ORDER BY seq DESC LIMIT 1"),
            insert: format!(
                "INSERT INTO {t} ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            ),
            page: format!("SELECT {COLUMNS} FROM {t} WHERE seq >= $1 ORDER BY seq LIMIT $2"),
            get: format!("SELECT {COLUMNS} FROM {t} WHERE seq = $1"),
            by_seqs: format!("SELECT {COLUMNS} FROM {t} WHERE seq = ANY($1) ORDER BY seq"),
            tail: format!("SELECT {COLUMNS} FROM {t} ORDER BY seq DESC LIMIT $1"),
            // The SQLite store's hand-written skip-scan over the gate index, in PostgreSQL's
            // dialect: O(gates * log n), whatever the ledger's size.
            latest_pairs: format!(
                "WITH RECURSIVE gates(gate) AS (
                    SELECT MIN(gate) FROM {t} WHERE gate IS NOT NULL
                    UNION ALL
                    SELECT (SELECT MIN(e.gate) FROM {t} e WHERE e.gate > gates.gate)
                    FROM gates WHERE gates.gate IS NOT NULL
                )
                SELECT
                    GREATEST(
                        COALESCE((SELECT MAX(seq) FROM {t} WHERE gate = g.gate AND verdict = 'pass'), 0),
                        COALESCE((SELECT MAX(seq) FROM {t} WHERE gate = g.gate AND verdict = 'fail'), 0),
                        COALESCE((SELECT MAX(seq) FROM {t} WHERE gate = g.gate AND verdict = 'error'), 0)),
                    COALESCE((SELECT MAX(seq) FROM {t} WHERE gate = g.gate AND verdict = 'skipped'), 0)
                FROM gates g WHERE g.gate IS NOT NULL"
            ),
            history: format!(
                "SELECT {COLUMNS} FROM {t} WHERE gate = $1 ORDER BY seq DESC LIMIT $2"
            ),
            history_with_verdict: format!(
                "SELECT {COLUMNS} FROM {t} WHERE gate = $1 AND verdict = $2
                 ORDER BY seq DESC LIMIT $3"
            ),
            run_markers: format!(
                "SELECT {COLUMNS} FROM {t}
                 WHERE run_id = $1 AND kind IN ('run_opened', 'head') ORDER BY seq"
            ),
            markers: format!("SELECT {COLUMNS} FROM {t} WHERE kind <> 'record' ORDER BY seq"),
            run_record_hashes: format!(
                "SELECT seq, hash FROM {t} WHERE run_id = $1 AND kind = 'record' ORDER BY seq"
            ),
            record_counts: format!(
                "SELECT run_id, COUNT(*) FROM {t} WHERE kind = 'record' GROUP BY run_id"
            ),
        }
    }
}

/// The connection, owned by the store's thread.
struct Conn {
    client: Client,
    statements: HashMap<String, Statement>,
    location: String,
    sql: Arc<Sql>,
}

impl Conn {
    fn err(&self, cause: postgres::Error) -> LedgerError {
        LedgerError::Postgres {
            location: self.location.clone(),
            cause,
        }
    }

    fn statement(&mut self, sql: &str) -> Result<Statement, LedgerError> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql).map_err(|e| self.err(e))?;
        self.statements.insert(sql.to_owned(), s.clone());
        Ok(s)
    }

    fn query(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<postgres::Row>, LedgerError> {
        let stmt = self.statement(sql)?;
        self.client.query(&stmt, params).map_err(|e| self.err(e))
    }

    fn rows(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, LedgerError> {
        let rows = self.query(sql, params)?;
        rows.iter().map(|r| self.read_row(r)).collect()
    }

    fn batch(&mut self, sql: &str) -> Result<(), LedgerError> {
        self.client.batch_execute(sql).map_err(|e| self.err(e))
    }

    fn get<'a, T: postgres::types::FromSql<'a>>(
        &self,
        r: &'a postgres::Row,
        idx: usize,
    ) -> Result<T, LedgerError> {
        r.try_get(idx).map_err(|e| self.err(e))
    }

    fn read_row(&self, r: &postgres::Row) -> Result<Row, LedgerError> {
        Ok(Row {
            seq: to_u64(self.get(r, 0)?)?,
            kind: self.get(r, 1)?,
            run_id: self.get(r, 2)?,
            gate: self.get(r, 3)?,
            verdict: self.get(r, 4)?,
            at: self.get(r, 5)?,
            body: self.get(r, 6)?,
            prev_hash: self.get(r, 7)?,
            hash: self.get(r, 8)?,
        })
    }

    /// Runs `f` in one transaction, rolled back if it fails.
    fn transaction<R>(
        &mut self,
        f: impl FnOnce(&mut Conn) -> Result<R, LedgerError>,
    ) -> Result<R, LedgerError> {
        self.batch("BEGIN")?;
        match f(self) {
            Ok(r) => {
                self.batch("COMMIT")?;
                Ok(r)
            }
            Err(e) => {
                // The connection may be gone; the original error says more.
                let _ = self.batch("ROLLBACK");
                Err(e)
            }
        }
    }
}

/// Sequence numbers and counts are never negative; one that is (a tampered row) is
/// reported rather than wrapped.
fn to_u64(v: i64) -> Result<u64, LedgerError> {
    u64::try_from(v).map_err(|_| LedgerError::Corrupt {
        seq: 0,
        reason: format!("negative sequence number or count {v}"),
    })
}

/// A sequence number or limit as a PostgreSQL `BIGINT`.
fn sql_int<T: TryInto<i64>>(v: T) -> i64 {
    v.try_into().unwrap_or(i64::MAX)
}

/// `schema` as an SQL identifier. Names are checked by [`check_schema`] first, so quoting
/// only keeps reserved words working.
fn quote(schema: &str) -> String {
    format!("\"{schema}\"")
}

fn check_schema(schema: &str, location: &str) -> Result<(), LedgerError> {
    let mut chars = schema.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && schema.len() <= 63;
    if ok {
        Ok(())
    } else {
        Err(LedgerError::Location {
            location: location.to_owned(),
            reason: format!(
                "schema name `{schema}` must be 1 to 63 lowercase letters, digits and `_`, \
                 not starting with a digit"
            ),
        })
    }
}

/// `url` without its `schema=` parameter, and that parameter's value.
fn split_schema(url: &str) -> (String, Option<String>) {
    take_param(url, "schema")
}

/// `url` without its `name=` parameter (every occurrence), and the last one's value as
/// written: phasegate's own parameters and those tokio-postgres does not know.
fn take_param(url: &str, name: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), None);
    };
    let mut value = None;
    let rest: Vec<&str> = query
        .split('&')
        .filter(|kv| match kv.split_once('=') {
            Some((key, v)) if key == name => {
                value = Some(v.to_owned());
                false
            }
            _ => !kv.is_empty(),
        })
        .collect();
    if rest.is_empty() {
        (base.to_owned(), value)
    } else {
        (format!("{base}?{}", rest.join("&")), value)
    }
}

fn location_of(url: &str, schema: &str) -> String {
    let base = crate::url::redact_url(url);
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}schema={schema}")
}

/// The connection settings of `url` (without `schema=`) and its TLS (`sslmode`,
/// `sslrootcert`, which tokio-postgres does not take as libpq does: see [`crate::tls`]).
fn parse_config(url: &str, location: &str) -> Result<(Config, Tls), LedgerError> {
    let bad = |reason: String| LedgerError::Location {
        location: location.to_owned(),
        reason,
    };
    let (url, sslmode) = take_param(url, "sslmode");
    let (url, sslrootcert) = take_param(&url, "sslrootcert");
    let decoded = |v: Option<String>| v.map(|v| crate::url::percent_decode(&v));
    let tls = Tls::from_params(decoded(sslmode).as_deref(), decoded(sslrootcert).as_deref())
        .map_err(bad)?;
    let mut config: Config = url.parse().map_err(|e| {
        bad(format!(
            "not a valid PostgreSQL URL: {}",
            crate::error::with_causes(&e)
        ))
    })?;
    if config.get_application_name().is_none() {
        config.application_name("phasegate");
    }
    config.ssl_mode(tls.ssl_mode());
    Ok((config, tls))
}

impl PostgresStore {
    /// Opens the ledger at `url` (`postgres://` or `postgresql://`, as libpq takes it), in
    /// the schema named by its `schema=` parameter, else [`DEFAULT_SCHEMA`]. Creates the
    /// schema, tables and indexes when missing (which needs the `CREATE` privilege once).
    pub fn open(url: &str) -> Result<PostgresStore, LedgerError> {
        let (url, schema) = split_schema(url);
        PostgresStore::open_in_schema(&url, schema.as_deref().unwrap_or(DEFAULT_SCHEMA))
    }

    /// Opens the ledger in `schema` of the database at `url` (whose own `schema=`, if any,
    /// is ignored). Tests give each case a fresh schema and [`PostgresStore::drop_schema`]
    /// it afterwards.
    pub fn open_in_schema(url: &str, schema: &str) -> Result<PostgresStore, LedgerError> {
        let (url, _) = split_schema(url);
        let location = location_of(&url, schema);
        check_schema(schema, &location)?;
        let (config, tls) = parse_config(&url, &location)?;
        let sql = Arc::new(Sql::new(schema));
        let (ready_tx, ready_rx) = mpsc::sync_channel::<Result<(), LedgerError>>(1);
        let (jobs, inbox) = mpsc::channel::<Job>();
        let thread_location = location.clone();
        let thread = std::thread::Builder::new()
            .name("ledger-postgres".to_owned())
            .spawn(move || {
                let mut conn = match connect(&config, &tls, thread_location, sql) {
                    Ok(conn) => conn,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                if ready_tx.send(Ok(())).is_err() {
                    return;
                }
                for job in inbox {
                    job(&mut conn);
                }
            })
            .map_err(|e| LedgerError::Location {
                location: location.clone(),
                reason: format!("cannot start its connection thread: {e}"),
            })?;
        let store = PostgresStore {
            jobs,
            thread: Some(thread),
            location,
            schema: schema.to_owned(),
        };
        ready_rx.recv().map_err(|_| store.stopped())??;
        Ok(store)
    }

    /// Drops `schema` and everything in it (a test's ledger, or one being removed) from the
    /// database at `url`. Missing is fine.
    pub fn drop_schema(url: &str, schema: &str) -> Result<(), LedgerError> {
        let (url, _) = split_schema(url);
        let location = location_of(&url, schema);
        check_schema(schema, &location)?;
        let (config, tls) = parse_config(&url, &location)?;
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", quote(schema));
        // On a thread of its own for the same reason as the store's: the caller may be
        // inside a tokio runtime.
        let open_location = location.clone();
        std::thread::spawn(move || -> Result<(), LedgerError> {
            let err = |cause| LedgerError::PostgresOpen {
                location: open_location.clone(),
                cause,
            };
            let mut client = tls.connect(&config).map_err(err)?;
            client.batch_execute(&sql).map_err(err)
        })
        .join()
        .map_err(|_| LedgerError::Location {
            location,
            reason: "its connection thread panicked".to_owned(),
        })?
    }

    /// The schema holding the tables.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    fn stopped(&self) -> LedgerError {
        LedgerError::Location {
            location: self.location.clone(),
            reason: "the database connection thread stopped".to_owned(),
        }
    }

    /// Runs `job` on the connection thread and waits for its answer.
    fn call<R: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Conn) -> Result<R, LedgerError> + Send + 'static,
    ) -> Result<R, LedgerError> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.jobs
            .send(Box::new(move |conn: &mut Conn| {
                let _ = tx.send(job(conn));
            }))
            .map_err(|_| self.stopped())?;
        rx.recv().map_err(|_| self.stopped())?
    }

    /// Rows of one query with owned parameters.
    fn select(
        &self,
        pick: fn(&Sql) -> &str,
        params: Vec<Box<dyn ToSql + Sync + Send>>,
    ) -> Result<Vec<Row>, LedgerError> {
        self.call(move |conn| {
            let sql = Arc::clone(&conn.sql);
            let refs: Vec<&(dyn ToSql + Sync)> =
                params.iter().map(|p| &**p as &(dyn ToSql + Sync)).collect();
            conn.rows(pick(&sql), &refs)
        })
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        // Closing the channel ends the thread's loop; it then closes the connection.
        let (closed, _) = mpsc::channel();
        drop(std::mem::replace(&mut self.jobs, closed));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// An open transaction spanning several jobs: rolled back on drop unless finished.
struct Pending<'a> {
    store: &'a PostgresStore,
    finished: bool,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if !self.finished {
            // Queued before any later job; ROLLBACK outside a transaction is only a warning.
            let _ = self
                .store
                .jobs
                .send(Box::new(|conn: &mut Conn| drop(conn.batch("ROLLBACK"))));
        }
    }
}

fn connect(
    config: &Config,
    tls: &Tls,
    location: String,
    sql: Arc<Sql>,
) -> Result<Conn, LedgerError> {
    let client = tls
        .connect(config)
        .map_err(|cause| LedgerError::PostgresOpen {
            location: location.clone(),
            cause,
        })?;
    let mut conn = Conn {
        client,
        statements: HashMap::new(),
        location,
        sql,
    };
    // Waiting for another writer: a run appends one short transaction per record, so a
    // minute is far beyond any honest transaction (the SQLite store's busy timeout).
    conn.batch("SET lock_timeout = '60s'")?;
    migrate(&mut conn)?;
    Ok(conn)
}

fn read_version(conn: &mut Conn) -> Result<Option<i64>, LedgerError> {
    let table = format!("{}.schema_version", quote(&conn.sql.schema));
    let exists = conn.query("SELECT to_regclass($1) IS NOT NULL", &[&table])?;
    let exists: bool = match exists.first() {
        Some(r) => conn.get(r, 0)?,
        None => false,
    };
    if !exists {
        return Ok(None);
    }
    let rows = conn.query(&format!("SELECT version FROM {table}"), &[])?;
    rows.first().map(|r| conn.get(r, 0)).transpose()
}

fn too_new(conn: &Conn, found: i64) -> LedgerError {
    LedgerError::SchemaTooNewAt {
        location: conn.location.clone(),
        found,
        supported: PG_SCHEMA_VERSION,
    }
}

fn migrate(conn: &mut Conn) -> Result<(), LedgerError> {
    match read_version(conn)? {
        Some(v) if v == PG_SCHEMA_VERSION => return Ok(()),
        Some(v) if v > PG_SCHEMA_VERSION => return Err(too_new(conn, v)),
        _ => {}
    }
    let open_error = |e: LedgerError| match e {
        LedgerError::Postgres { location, cause } => LedgerError::PostgresOpen { location, cause },
        other => other,
    };
    conn.transaction(|conn| {
        // Another process may be creating the same schema: take turns, then re-read.
        conn.batch(&format!("SELECT pg_advisory_xact_lock({MIGRATE_LOCK})"))?;
        let schema = conn.sql.schema.clone();
        let q = quote(&schema);
        let found = conn.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&schema])?;
        if found.is_empty() {
            conn.batch(&format!("CREATE SCHEMA IF NOT EXISTS {q}"))?;
        }
        conn.batch(&format!(
            "CREATE TABLE IF NOT EXISTS {q}.schema_version (
                only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
                version  BIGINT NOT NULL
            )"
        ))?;
        let mut version = read_version(conn)?.unwrap_or(0);
        if version > PG_SCHEMA_VERSION {
            return Err(too_new(conn, version));
        }
        while version < PG_SCHEMA_VERSION {
            let step = usize::try_from(version).expect("version is between 0 and the current one");
            conn.batch(&MIGRATIONS[step].replace("{s}", &q))?;
            version += 1;
        }
        conn.query(
            &format!(
                "INSERT INTO {q}.schema_version (only_row, version) VALUES (TRUE, $1)
                 ON CONFLICT (only_row) DO UPDATE SET version = EXCLUDED.version"
            ),
            &[&version],
        )?;
        Ok(())
    })
    .map_err(open_error)
}

fn read_tip(conn: &mut Conn) -> Result<Option<Tip>, LedgerError> {
    let sql = Arc::clone(&conn.sql);
    let rows = conn.query(&sql.tip, &[])?;
    let Some(r) = rows.first() else {
        return Ok(None);
    };
    let seq = to_u64(conn.get(r, 0)?)?;
    let hash: Vec<u8> = conn.get(r, 1)?;
    let hash = hash.try_into().map_err(|_| LedgerError::Corrupt {
        seq,
        reason: "stored hash is not 32 bytes".to_owned(),
    })?;
    Ok(Some(Tip { seq, hash }))
}

impl Store for PostgresStore {
    fn location(&self) -> String {
        self.location.clone()
    }

    fn append(&mut self, build: &mut BuildRows<'_>) -> Result<(), LedgerError> {
        let this = &*self;
        let mut pending = Pending {
            store: this,
            finished: false,
        };
        let tip = this.call(|conn| {
            let sql = Arc::clone(&conn.sql);
            conn.batch(&sql.begin_append)?;
            read_tip(conn)
        })?;
        // On any error below, dropping `pending` rolls everything back.
        let rows = build(tip)?;
        this.call(move |conn| {
            let sql = Arc::clone(&conn.sql);
            for row in &rows {
                let stmt = conn.statement(&sql.insert)?;
                conn.client
                    .execute(
                        &stmt,
                        &[
                            &sql_int(row.seq),
                            &row.kind,
                            &row.run_id,
                            &row.gate,
                            &row.verdict,
                            &row.at,
                            &row.body,
                            &row.prev_hash,
                            &row.hash,
                        ],
                    )
                    .map_err(|e| conn.err(e))?;
            }
            conn.batch("COMMIT")
        })?;
        pending.finished = true;
        Ok(())
    }

    fn scan(&self, from_seq: u64, visit: &mut Visit<'_>) -> Result<(), LedgerError> {
        let mut pending = Pending {
            store: self,
            finished: false,
        };
        // One snapshot for every page.
        self.call(|conn| conn.batch("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"))?;
        let mut next = sql_int(from_seq);
        'pages: loop {
            let page = self.select(|s| &s.page, vec![Box::new(next), Box::new(PAGE)])?;
            let full = page.len() == usize::try_from(PAGE).unwrap_or(usize::MAX);
            for row in page {
                next = sql_int(row.seq).saturating_add(1);
                if visit(row)?.is_break() {
                    break 'pages;
                }
            }
            if !full {
                break;
            }
        }
        self.call(|conn| conn.batch("COMMIT"))?;
        pending.finished = true;
        Ok(())
    }

    fn get(&self, seq: u64) -> Result<Option<Row>, LedgerError> {
        Ok(self.select(|s| &s.get, vec![Box::new(sql_int(seq))])?.pop())
    }

    fn tail(&self, limit: usize) -> Result<Vec<Row>, LedgerError> {
        let mut rows = self.select(|s| &s.tail, vec![Box::new(sql_int(limit))])?;
        rows.reverse();
        Ok(rows)
    }

    fn latest_per_gate(&self) -> Result<Vec<Row>, LedgerError> {
        self.call(|conn| {
            let sql = Arc::clone(&conn.sql);
            let pairs = conn.query(&sql.latest_pairs, &[])?;
            let mut seqs: Vec<i64> = Vec::with_capacity(pairs.len() * 2);
            for r in &pairs {
                let decisive: i64 = conn.get(r, 0)?;
                let skipped: i64 = conn.get(r, 1)?;
                if decisive > 0 {
                    seqs.push(decisive);
                }
                if skipped > decisive {
                    seqs.push(skipped);
                }
            }
            if seqs.is_empty() {
                return Ok(Vec::new());
            }
            conn.rows(&sql.by_seqs, &[&seqs])
        })
    }

    fn history(&self, gate: &str, limit: usize) -> Result<Vec<Row>, LedgerError> {
        self.select(
            |s| &s.history,
            vec![Box::new(gate.to_owned()), Box::new(sql_int(limit))],
        )
    }

    fn history_with_verdict(
        &self,
        gate: &str,
        verdict: &str,
        limit: usize,
    ) -> Result<Vec<Row>, LedgerError> {
        self.select(
            |s| &s.history_with_verdict,
            vec![
                Box::new(gate.to_owned()),
                Box::new(verdict.to_owned()),
                Box::new(sql_int(limit)),
            ],
        )
    }

    fn run_markers(&self, run_id: &str) -> Result<Vec<Row>, LedgerError> {
        self.select(|s| &s.run_markers, vec![Box::new(run_id.to_owned())])
    }

    fn markers(&self) -> Result<Vec<Row>, LedgerError> {
        self.select(|s| &s.markers, Vec::new())
    }

    fn run_record_hashes(&self, run_id: &str) -> Result<Vec<(u64, Vec<u8>)>, LedgerError> {
        let run_id = run_id.to_owned();
        self.call(move |conn| {
            let sql = Arc::clone(&conn.sql);
            let rows = conn.query(&sql.run_record_hashes, &[&run_id])?;
            rows.iter()
                .map(|r| Ok((to_u64(conn.get(r, 0)?)?, conn.get(r, 1)?)))
                .collect()
        })
    }

    fn record_counts(&self) -> Result<Vec<(String, u64)>, LedgerError> {
        self.call(|conn| {
            let sql = Arc::clone(&conn.sql);
            let rows = conn.query(&sql.record_counts, &[])?;
            rows.iter()
                .map(|r| Ok((conn.get(r, 0)?, to_u64(conn.get(r, 1)?)?)))
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_parameter_is_taken_out_of_the_url() {
        assert_eq!(
            split_schema("postgres://u@h/db?schema=x&sslmode=disable"),
            (
                "postgres://u@h/db?sslmode=disable".to_owned(),
                Some("x".to_owned())
            )
        );
        assert_eq!(
            split_schema("postgres://u@h/db?schema=x"),
            ("postgres://u@h/db".to_owned(), Some("x".to_owned()))
        );
        assert_eq!(
            split_schema("postgres://h/db"),
            ("postgres://h/db".to_owned(), None)
        );
    }

    #[test]
    fn tls_parameters_are_read_here_not_by_tokio_postgres() {
        // tokio-postgres refuses `sslrootcert` and `verify-full`: the error is ours, about
        // the file, its path percent-decoded.
        let url = "postgres://u@h/db?sslmode=verify-full&sslrootcert=%2Fno%20such.pem";
        let err = parse_config(url, "x").err().unwrap().to_string();
        assert!(
            err.contains("cannot read sslrootcert `/no such.pem`"),
            "{err}"
        );
        let url = "postgres://u@h/db?sslmode=require&application_name=a";
        let (config, _) = parse_config(url, "x").map_err(|e| e.to_string()).unwrap();
        assert_eq!(config.get_ssl_mode(), postgres::config::SslMode::Require);
        assert_eq!(config.get_application_name(), Some("a"));
        // What neither reads is named.
        let err = parse_config("postgres://u@h/db?sslcert=c.pem", "x")
            .err()
            .unwrap()
            .to_string();
        assert!(err.ends_with("unknown option `sslcert`"), "{err}");
    }

    #[test]
    fn locations_never_show_a_password() {
        assert_eq!(
            location_of(
                "postgres://u:s3cret@h:5432/db?password=s3cret&sslmode=disable",
                "p"
            ),
            "postgres://u:***@h:5432/db?password=***&sslmode=disable&schema=p"
        );
        assert_eq!(
            location_of("postgresql://h/db", "p"),
            "postgresql://h/db?schema=p"
        );
    }

    #[test]
    fn schema_names_are_plain_identifiers() {
        assert!(check_schema("phasegate_t1", "x").is_ok());
        for bad in ["", "1a", "A", "a\"b", "a-b", &"a".repeat(64)] {
            assert!(check_schema(bad, "x").is_err(), "{bad}");
        }
    }
}
