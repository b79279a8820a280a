//! The SQLite [`Store`]: one file, WAL mode, `synchronous=FULL`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::LedgerError;
use crate::store::{BuildRows, Row, Store, Tip, Visit};

/// The schema version this build writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 1;

/// Each step takes the schema from version `index` to `index + 1`.
const MIGRATIONS: &[&str] = &["
    CREATE TABLE entries (
        seq       INTEGER PRIMARY KEY,
        kind      TEXT NOT NULL,
        run_id    TEXT NOT NULL,
        gate      TEXT,
        verdict   TEXT,
        at        TEXT NOT NULL,
        body      BLOB NOT NULL,
        prev_hash BLOB NOT NULL,
        hash      BLOB NOT NULL
    ) STRICT;
    -- latest_per_gate: one index probe per gate and verdict.
    CREATE INDEX entries_gate_verdict ON entries (gate, verdict, seq) WHERE gate IS NOT NULL;
    -- history: newest records of one gate.
    CREATE INDEX entries_gate ON entries (gate, seq) WHERE gate IS NOT NULL;
    -- closing a run, counting records per run.
    CREATE INDEX entries_run ON entries (run_id, kind, seq);
    -- runs: the few run_opened and head rows among a million records.
    CREATE INDEX entries_markers ON entries (seq) WHERE kind <> 'record';
"];

const COLUMNS: &str = "seq, kind, run_id, gate, verdict, at, body, prev_hash, hash";

/// Page size of new ledger files.
const PAGE_SIZE: i64 = 16_384;

/// Waiting for another writer: a run appends one short transaction per record, so a long
/// wait means something is wrong; a minute is far beyond any honest transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// A [`Store`] in one SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
}

impl SqliteStore {
    /// Opens (creating it if needed) the SQLite ledger at `path`: WAL mode so readers never
    /// block the writer, `synchronous=FULL` so a committed entry survives a power cut,
    /// a 60 s busy timeout so concurrent writers queue, and the schema migrated to
    /// [`SCHEMA_VERSION`]. The parent directory must exist.
    pub fn open(path: &Path) -> Result<SqliteStore, LedgerError> {
        let open_error = |source| LedgerError::Open {
            path: path.to_owned(),
            source,
        };
        let mut conn = Connection::open(path).map_err(open_error)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_error)?;
        // Switching a new file to WAL takes an exclusive lock and SQLite answers BUSY at once
        // there, without its busy handler: two processes creating the ledger together (two
        // `phasegate run` on a fresh project) would fail. So the setup retries on BUSY.
        let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
        loop {
            match setup(&mut conn, path) {
                Err(LedgerError::Open { source, .. })
                    if is_busy(&source) && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(10));
                }
                other => break other?,
            }
        }
        Ok(SqliteStore {
            conn,
            path: path.to_owned(),
        })
    }

    /// The SQLite file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, source: rusqlite::Error) -> LedgerError {
        LedgerError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn rows(&self, sql: &str, params: impl rusqlite::Params) -> Result<Vec<Row>, LedgerError> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params, read_row)
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }
}

/// Page size, WAL, durability and schema: everything `open` sets up.
fn setup(conn: &mut Connection, path: &Path) -> Result<(), LedgerError> {
    let open_error = |source| LedgerError::Open {
        path: path.to_owned(),
        source,
    };
    // Bodies are ~1-2 KiB: with SQLite's default 4 KiB pages only two fit per page and
    // a third of the file is slack. Only takes effect on a new, empty file.
    conn.pragma_update(None, "page_size", PAGE_SIZE)
        .map_err(open_error)?;
    conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
        .map_err(open_error)?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(open_error)?;
    migrate(conn, path)
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<(), LedgerError> {
    let open_error = |source| LedgerError::Open {
        path: path.to_owned(),
        source,
    };
    let user_version = |conn: &Connection| {
        conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
            .map_err(open_error)
    };
    let found = user_version(conn)?;
    if found > SCHEMA_VERSION {
        return Err(LedgerError::SchemaTooNew {
            path: path.to_owned(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    // Re-read inside the write transaction: another process may have migrated meanwhile.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(open_error)?;
    let mut version = user_version(&tx)?;
    while version < SCHEMA_VERSION {
        let step = usize::try_from(version).expect("user_version is between 0 and SCHEMA_VERSION");
        tx.execute_batch(MIGRATIONS[step]).map_err(open_error)?;
        version += 1;
    }
    tx.pragma_update(None, "user_version", version)
        .map_err(open_error)?;
    tx.commit().map_err(open_error)
}

/// SQLite integers are `i64`; sequence numbers and counts are never negative, and one that
/// is (a tampered row) is reported as a conversion error rather than wrapped.
fn get_u64(r: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<u64> {
    let v: i64 = r.get(idx)?;
    u64::try_from(v).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(idx, v))
}

/// A sequence number as an SQLite integer; SQLite's rowids stop at `i64::MAX` anyway.
fn sql_int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok(Row {
        seq: get_u64(r, 0)?,
        kind: r.get(1)?,
        run_id: r.get(2)?,
        gate: r.get(3)?,
        verdict: r.get(4)?,
        at: r.get(5)?,
        body: r.get(6)?,
        prev_hash: r.get(7)?,
        hash: r.get(8)?,
    })
}

impl Store for SqliteStore {
    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn append(&mut self, build: &mut BuildRows<'_>) -> Result<(), LedgerError> {
        let path = self.path.clone();
        let err = |source| LedgerError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let last = tx
            .query_row(
                "SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((get_u64(r, 0)?, r.get::<_, Vec<u8>>(1)?)),
            )
            .optional()
            .map_err(err)?;
        let tip = match last {
            None => None,
            Some((seq, hash)) => Some(Tip {
                seq,
                hash: hash.try_into().map_err(|_| LedgerError::Corrupt {
                    seq,
                    reason: "stored hash is not 32 bytes".to_owned(),
                })?,
            }),
        };
        // On any error below, dropping `tx` rolls everything back.
        let rows = build(tip)?;
        {
            let mut insert = tx
                .prepare_cached(&format!(
                    "INSERT INTO entries ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
                ))
                .map_err(err)?;
            for row in &rows {
                insert
                    .execute(params![
                        sql_int(row.seq),
                        row.kind,
                        row.run_id,
                        row.gate,
                        row.verdict,
                        row.at,
                        row.body,
                        row.prev_hash,
                        row.hash
                    ])
                    .map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    }

    fn scan(&self, from_seq: u64, visit: &mut Visit<'_>) -> Result<(), LedgerError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM entries WHERE seq >= ?1 ORDER BY seq"
            ))
            .map_err(|e| self.err(e))?;
        let mut rows = stmt.query([sql_int(from_seq)]).map_err(|e| self.err(e))?;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let row = read_row(r).map_err(|e| self.err(e))?;
            if visit(row)?.is_break() {
                break;
            }
        }
        Ok(())
    }

    fn get(&self, seq: u64) -> Result<Option<Row>, LedgerError> {
        Ok(self
            .rows(
                &format!("SELECT {COLUMNS} FROM entries WHERE seq = ?1"),
                [sql_int(seq)],
            )?
            .pop())
    }

    fn tail(&self, limit: usize) -> Result<Vec<Row>, LedgerError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut rows = self.rows(
            &format!("SELECT {COLUMNS} FROM entries ORDER BY seq DESC LIMIT ?1"),
            [limit],
        )?;
        rows.reverse();
        Ok(rows)
    }

    fn latest_per_gate(&self) -> Result<Vec<Row>, LedgerError> {
        // Walks the distinct gates through the index (a skip-scan written by hand), then
        // probes the latest seq per verdict: O(gates * log n), whatever the ledger's size.
        let sql = "
            WITH RECURSIVE gates(gate) AS (
                SELECT MIN(gate) FROM entries WHERE gate IS NOT NULL
                UNION ALL
                SELECT (SELECT MIN(e.gate) FROM entries e WHERE e.gate > gates.gate)
                FROM gates WHERE gates.gate IS NOT NULL
            )
            SELECT
                MAX(IFNULL((SELECT MAX(seq) FROM entries WHERE gate = g.gate AND verdict = 'pass'), 0),
                    IFNULL((SELECT MAX(seq) FROM entries WHERE gate = g.gate AND verdict = 'fail'), 0),
                    IFNULL((SELECT MAX(seq) FROM entries WHERE gate = g.gate AND verdict = 'error'), 0)),
                IFNULL((SELECT MAX(seq) FROM entries WHERE gate = g.gate AND verdict = 'skipped'), 0)
            FROM gates g WHERE g.gate IS NOT NULL";
        let mut stmt = self.conn.prepare_cached(sql).map_err(|e| self.err(e))?;
        let pairs = stmt
            .query_map([], |r| Ok((get_u64(r, 0)?, get_u64(r, 1)?)))
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        let mut seqs: Vec<u64> = Vec::with_capacity(pairs.len() * 2);
        for (decisive, skipped) in pairs {
            if decisive > 0 {
                seqs.push(decisive);
            }
            if skipped > decisive {
                seqs.push(skipped);
            }
        }
        seqs.sort_unstable();
        let mut rows = Vec::with_capacity(seqs.len());
        for seq in seqs {
            rows.extend(self.get(seq)?);
        }
        Ok(rows)
    }

    fn history(&self, gate: &str, limit: usize) -> Result<Vec<Row>, LedgerError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.rows(
            &format!("SELECT {COLUMNS} FROM entries WHERE gate = ?1 ORDER BY seq DESC LIMIT ?2"),
            params![gate, limit],
        )
    }

    fn history_with_verdict(
        &self,
        gate: &str,
        verdict: &str,
        limit: usize,
    ) -> Result<Vec<Row>, LedgerError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.rows(
            &format!(
                "SELECT {COLUMNS} FROM entries WHERE gate = ?1 AND verdict = ?2
                 ORDER BY seq DESC LIMIT ?3"
            ),
            params![gate, verdict, limit],
        )
    }

    fn run_markers(&self, run_id: &str) -> Result<Vec<Row>, LedgerError> {
        self.rows(
            &format!(
                "SELECT {COLUMNS} FROM entries
                 WHERE run_id = ?1 AND kind IN ('run_opened', 'head') ORDER BY seq"
            ),
            [run_id],
        )
    }

    fn markers(&self) -> Result<Vec<Row>, LedgerError> {
        self.rows(
            &format!("SELECT {COLUMNS} FROM entries WHERE kind <> 'record' ORDER BY seq"),
            [],
        )
    }

    fn run_record_hashes(&self, run_id: &str) -> Result<Vec<(u64, Vec<u8>)>, LedgerError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq, hash FROM entries WHERE run_id = ?1 AND kind = 'record' ORDER BY seq",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([run_id], |r| Ok((get_u64(r, 0)?, r.get(1)?)))
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    fn record_counts(&self) -> Result<Vec<(String, u64)>, LedgerError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT run_id, COUNT(*) FROM entries WHERE kind = 'record' GROUP BY run_id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, get_u64(r, 1)?)))
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }
}
