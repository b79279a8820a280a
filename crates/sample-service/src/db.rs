//! Persistence: the SQLite schema, seed users, and every SQL statement the service runs.
//!
//! One connection behind a mutex is plenty for a test target; queries run on tokio's blocking
//! pool so a slow disk never stalls the async workers.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::Serialize;

use crate::config::SEED_PASSWORD;
use crate::password;
use crate::rbac::Role;

/// The schema version this code writes (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 2;

const SCHEMA: &str = "
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('member', 'platform_admin', 'support_admin', 'auditor')),
    created_at    TEXT NOT NULL
);
CREATE TABLE payments (
    id           TEXT PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
    currency     TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'paid')),
    created_at   TEXT NOT NULL,
    paid_at      TEXT
);
CREATE TABLE payment_events (
    event_id    TEXT PRIMARY KEY,
    payment_id  TEXT NOT NULL REFERENCES payments (id),
    received_at TEXT NOT NULL
);
CREATE TABLE subscriptions (
    user_id      INTEGER PRIMARY KEY REFERENCES users (id),
    status       TEXT NOT NULL CHECK (status IN ('active')),
    activated_at TEXT NOT NULL,
    activations  INTEGER NOT NULL
);
CREATE TABLE audit_log (
    id     INTEGER PRIMARY KEY,
    at     TEXT NOT NULL,
    actor  TEXT,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);
";

/// Version 2: subscriptions expire, and checkout remembers idempotency keys. The unique index
/// is what makes a key create one payment even when two requests race: the second insert
/// conflicts in the database instead of passing a check made before the first committed.
/// SQLite treats NULLs as distinct, so payments made without a key never conflict.
const SCHEMA_V2: &str = "
ALTER TABLE subscriptions ADD COLUMN expires_at TEXT;
ALTER TABLE payments ADD COLUMN plan TEXT NOT NULL DEFAULT 'monthly';
ALTER TABLE payments ADD COLUMN idempotency_key TEXT;
CREATE UNIQUE INDEX payments_idempotency_key ON payments (user_id, idempotency_key);
";

/// The users a fresh database starts with; all share [`SEED_PASSWORD`].
pub const SEED_USERS: [(&str, Role); 4] = [
    ("member@example.com", Role::Member),
    ("platform@example.com", Role::PlatformAdmin),
    ("support@example.com", Role::SupportAdmin),
    ("auditor@example.com", Role::Auditor),
];

/// Members who start with an active subscription (password [`SEED_PASSWORD`]): two, so that
/// a download token minted for one can be tried with the other's session, both entitled.
pub const SEED_SUBSCRIBERS: [&str; 2] = ["subscriber@example.com", "other.subscriber@example.com"];

/// A query failed or its task died.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DbError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("database task failed")]
    Task(#[from] tokio::task::JoinError),
}

/// The service's database handle.
#[derive(Clone)]
pub(crate) struct Db {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl Db {
    /// Opens (creating if missing) the database at `path`, migrates it and seeds it.
    pub(crate) fn open(path: &Path) -> rusqlite::Result<Db> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrate(&mut conn)?;
        seed(&mut conn)?;
        Ok(Db {
            conn: Arc::new(Mutex::new(conn)),
            path: path.to_owned(),
        })
    }

    /// The database file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` with the connection on the blocking pool.
    pub(crate) async fn run<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        let result = tokio::task::spawn_blocking(move || {
            // A panic while holding the lock cannot leave SQLite half-written: an open
            // transaction rolls back when dropped, so a poisoned lock is safe to reuse.
            let mut conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut conn)
        })
        .await?;
        Ok(result?)
    }
}

fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if version >= SCHEMA_VERSION {
        return Ok(());
    }
    let tx = conn.transaction()?;
    if version < 1 {
        tx.execute_batch(SCHEMA)?;
    }
    tx.execute_batch(SCHEMA_V2)?;
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()
}

fn seed(conn: &mut Connection) -> rusqlite::Result<()> {
    let users: i64 = conn.query_row("SELECT count(*) FROM users", [], |row| row.get(0))?;
    if users > 0 {
        return Ok(());
    }
    let tx = conn.transaction()?;
    let now = now();
    for (email, role) in SEED_USERS {
        tx.execute(
            "INSERT INTO users (email, password_hash, role, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![email, password::hash(SEED_PASSWORD), role.as_str(), now],
        )?;
    }
    for email in SEED_SUBSCRIBERS {
        tx.execute(
            "INSERT INTO users (email, password_hash, role, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![
                email,
                password::hash(SEED_PASSWORD),
                Role::Member.as_str(),
                now
            ],
        )?;
        activate_subscription(&tx, tx.last_insert_rowid(), crate::payments::PLAN_PERIOD)?;
    }
    tx.commit()
}

/// Readiness: a NEW read-only connection to the file (never creating it) and a query on a
/// real table. Reusing the open connection would keep answering after the file is gone.
pub(crate) fn check_ready(path: &Path) -> rusqlite::Result<()> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(1))?;
    conn.query_row("SELECT count(*) FROM users", [], |row| row.get::<_, i64>(0))?;
    Ok(())
}

/// Now, as stored in the database (RFC 3339, UTC).
pub(crate) fn now() -> String {
    jiff::Timestamp::now().to_string()
}

/// A user row.
#[derive(Debug, Clone)]
pub(crate) struct User {
    pub(crate) id: i64,
    pub(crate) email: String,
    pub(crate) password_hash: String,
    pub(crate) role: Role,
    pub(crate) created_at: String,
}

const USER_COLUMNS: &str = "id, email, password_hash, role, created_at";

fn user_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    let role: String = row.get(3)?;
    Ok(User {
        id: row.get(0)?,
        email: row.get(1)?,
        password_hash: row.get(2)?,
        role: role.parse().map_err(|message: String| {
            rusqlite::Error::FromSqlConversionFailure(
                3,
                rusqlite::types::Type::Text,
                message.into(),
            )
        })?,
        created_at: row.get(4)?,
    })
}

pub(crate) fn user_by_email(conn: &Connection, email: &str) -> rusqlite::Result<Option<User>> {
    conn.query_row(
        &format!("SELECT {USER_COLUMNS} FROM users WHERE email = ?1"),
        [email],
        user_from_row,
    )
    .optional()
}

pub(crate) fn user_by_id(conn: &Connection, id: i64) -> rusqlite::Result<Option<User>> {
    conn.query_row(
        &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
        [id],
        user_from_row,
    )
    .optional()
}

pub(crate) fn list_users(conn: &Connection) -> rusqlite::Result<Vec<User>> {
    let mut stmt = conn.prepare(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"))?;
    stmt.query_map([], user_from_row)?.collect()
}

/// Sets a user's role; false when there is no such user.
pub(crate) fn set_role(conn: &Connection, id: i64, role: Role) -> rusqlite::Result<bool> {
    let changed = conn.execute(
        "UPDATE users SET role = ?1 WHERE id = ?2",
        params![role.as_str(), id],
    )?;
    Ok(changed == 1)
}

/// A payment row.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Payment {
    pub(crate) id: String,
    pub(crate) user_id: i64,
    pub(crate) plan: String,
    pub(crate) amount_cents: i64,
    pub(crate) currency: String,
    pub(crate) status: String,
}

const PAYMENT_COLUMNS: &str = "id, user_id, plan, amount_cents, currency, status";

fn payment_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Payment> {
    Ok(Payment {
        id: row.get(0)?,
        user_id: row.get(1)?,
        plan: row.get(2)?,
        amount_cents: row.get(3)?,
        currency: row.get(4)?,
        status: row.get(5)?,
    })
}

/// Inserts `payment` under `idempotency_key` (none: always a new payment). Returns false,
/// inserting nothing, when the user already made a payment with that key.
pub(crate) fn insert_payment(
    conn: &Connection,
    payment: &Payment,
    idempotency_key: Option<&str>,
) -> rusqlite::Result<bool> {
    let inserted = conn.execute(
        "INSERT INTO payments (id, user_id, plan, amount_cents, currency, status, created_at, idempotency_key)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (user_id, idempotency_key) DO NOTHING",
        params![
            payment.id,
            payment.user_id,
            payment.plan,
            payment.amount_cents,
            payment.currency,
            payment.status,
            now(),
            idempotency_key
        ],
    )?;
    Ok(inserted == 1)
}

/// The payment `user_id` made with `idempotency_key`.
pub(crate) fn payment_by_key(
    conn: &Connection,
    user_id: i64,
    idempotency_key: &str,
) -> rusqlite::Result<Option<Payment>> {
    conn.query_row(
        &format!(
            "SELECT {PAYMENT_COLUMNS} FROM payments WHERE user_id = ?1 AND idempotency_key = ?2"
        ),
        params![user_id, idempotency_key],
        payment_from_row,
    )
    .optional()
}

pub(crate) fn payment(conn: &Connection, id: &str) -> rusqlite::Result<Option<Payment>> {
    conn.query_row(
        &format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE id = ?1"),
        [id],
        payment_from_row,
    )
    .optional()
}

/// Records a provider event; false when the event id was seen before.
pub(crate) fn record_event(
    conn: &Connection,
    event_id: &str,
    payment_id: &str,
) -> rusqlite::Result<bool> {
    let inserted = conn.execute(
        "INSERT INTO payment_events (event_id, payment_id, received_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (event_id) DO NOTHING",
        params![event_id, payment_id, now()],
    )?;
    Ok(inserted == 1)
}

/// Marks a pending payment paid; false when it was not pending.
pub(crate) fn mark_paid(conn: &Connection, payment_id: &str) -> rusqlite::Result<bool> {
    let changed = conn.execute(
        "UPDATE payments SET status = 'paid', paid_at = ?1 WHERE id = ?2 AND status = 'pending'",
        params![now(), payment_id],
    )?;
    Ok(changed == 1)
}

/// Activates (or re-activates) a user's subscription, counting activations, and extends it
/// by `period` from its current expiry, or from now when it has lapsed (a renewal paid early
/// is not lost; one paid late does not back-date). Returns the new expiry.
pub(crate) fn activate_subscription(
    conn: &Connection,
    user_id: i64,
    period: std::time::Duration,
) -> rusqlite::Result<String> {
    let now = jiff::Timestamp::now();
    let current: Option<String> = conn
        .query_row(
            "SELECT expires_at FROM subscriptions WHERE user_id = ?1",
            [user_id],
            |row| row.get(0),
        )
        .optional()?
        .flatten();
    let from = current
        .and_then(|at| at.parse::<jiff::Timestamp>().ok())
        .filter(|at| *at > now)
        .unwrap_or(now);
    let period = jiff::SignedDuration::try_from(period).expect("plan periods are days, not ages");
    let expires_at = from
        .checked_add(period)
        .expect("a plan period from now stays within jiff's range")
        .to_string();
    conn.execute(
        "INSERT INTO subscriptions (user_id, status, activated_at, activations, expires_at)
         VALUES (?1, 'active', ?2, 1, ?3)
         ON CONFLICT (user_id) DO UPDATE
         SET status = 'active', activations = activations + 1, expires_at = ?3",
        params![user_id, now.to_string(), expires_at],
    )?;
    Ok(expires_at)
}

/// A user's subscription as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Subscription {
    pub(crate) status: String,
    pub(crate) activated_at: Option<String>,
    pub(crate) activations: i64,
    /// Until when it is paid for (RFC 3339, UTC); none before the first activation.
    pub(crate) expires_at: Option<String>,
}

impl Subscription {
    pub(crate) fn is_active(&self) -> bool {
        self.status == "active"
    }
}

pub(crate) fn subscription(conn: &Connection, user_id: i64) -> rusqlite::Result<Subscription> {
    let found = conn
        .query_row(
            "SELECT status, activated_at, activations, expires_at FROM subscriptions WHERE user_id = ?1",
            [user_id],
            |row| {
                Ok(Subscription {
                    status: row.get(0)?,
                    activated_at: row.get(1)?,
                    activations: row.get(2)?,
                    expires_at: row.get(3)?,
                })
            },
        )
        .optional()?;
    Ok(found.unwrap_or(Subscription {
        status: "none".to_owned(),
        activated_at: None,
        activations: 0,
        expires_at: None,
    }))
}

/// One audit-log entry.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AuditEntry {
    pub(crate) id: i64,
    pub(crate) at: String,
    pub(crate) actor: Option<String>,
    pub(crate) action: String,
    pub(crate) detail: String,
}

pub(crate) fn audit(
    conn: &Connection,
    actor: Option<&str>,
    action: &str,
    detail: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO audit_log (at, actor, action, detail) VALUES (?1, ?2, ?3, ?4)",
        params![now(), actor, action, detail],
    )?;
    Ok(())
}

/// The newest `limit` audit entries, newest first.
pub(crate) fn audit_log(conn: &Connection, limit: u32) -> rusqlite::Result<Vec<AuditEntry>> {
    let mut stmt = conn
        .prepare("SELECT id, at, actor, action, detail FROM audit_log ORDER BY id DESC LIMIT ?1")?;
    stmt.query_map([limit], |row| {
        Ok(AuditEntry {
            id: row.get(0)?,
            at: row.get(1)?,
            actor: row.get(2)?,
            action: row.get(3)?,
            detail: row.get(4)?,
        })
    })?
    .collect()
}

/// Counts for the ops summary.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Summary {
    pub(crate) users: i64,
    pub(crate) payments_pending: i64,
    pub(crate) payments_paid: i64,
    pub(crate) active_subscriptions: i64,
    pub(crate) audit_entries: i64,
}

pub(crate) fn summary(conn: &Connection) -> rusqlite::Result<Summary> {
    conn.query_row(
        "SELECT
            (SELECT count(*) FROM users),
            (SELECT count(*) FROM payments WHERE status = 'pending'),
            (SELECT count(*) FROM payments WHERE status = 'paid'),
            (SELECT count(*) FROM subscriptions WHERE status = 'active'),
            (SELECT count(*) FROM audit_log)",
        [],
        |row| {
            Ok(Summary {
                users: row.get(0)?,
                payments_pending: row.get(1)?,
                payments_paid: row.get(2)?,
                active_subscriptions: row.get(3)?,
                audit_entries: row.get(4)?,
            })
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_seeds_once_and_is_ready() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        let db = Db::open(&path).unwrap();
        drop(db);
        let db = Db::open(&path).unwrap();
        let conn = db.conn.lock().unwrap();
        let users = list_users(&conn).unwrap();
        assert_eq!(users.len(), SEED_USERS.len() + SEED_SUBSCRIBERS.len());
        let subscriber = users.last().unwrap();
        assert!(subscription(&conn, subscriber.id).unwrap().is_active());
        let member = user_by_email(&conn, "member@example.com").unwrap().unwrap();
        assert_eq!(member.role, Role::Member);
        assert!(password::verify(SEED_PASSWORD, &member.password_hash));
        check_ready(&path).unwrap();
        assert!(check_ready(&dir.path().join("missing.db")).is_err());
        assert!(
            !dir.path().join("missing.db").exists(),
            "read-only never creates"
        );
    }
}
