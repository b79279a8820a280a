//! The ledger's error type.

use std::path::PathBuf;

/// Why the ledger could not do what was asked. A ledger that fails verification is not an
/// error: it is a [`crate::Verification`] with `broken` set.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// The ledger's directory could not be created.
    #[error("cannot create ledger directory `{path}`: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The SQLite file could not be opened or prepared.
    #[error("cannot open ledger `{path}`: {source}")]
    Open {
        /// The SQLite file.
        path: PathBuf,
        /// The cause.
        source: rusqlite::Error,
    },
    /// The SQLite file was written by a newer phasegate.
    #[error(
        "ledger `{path}` has schema version {found}; this phasegate supports up to {supported}"
    )]
    SchemaTooNew {
        /// The SQLite file.
        path: PathBuf,
        /// Its `user_version`.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// A read or write failed.
    #[error("ledger `{path}`: {source}")]
    Sqlite {
        /// The SQLite file.
        path: PathBuf,
        /// The cause.
        source: rusqlite::Error,
    },
    /// The PostgreSQL ledger could not be reached or prepared.
    #[cfg(feature = "postgres")]
    #[error("cannot open ledger `{location}`: {}", with_causes(cause))]
    PostgresOpen {
        /// The database URL, without its password.
        location: String,
        /// The cause, whose own causes the message also shows.
        cause: postgres::Error,
    },
    /// A read or write on the PostgreSQL ledger failed.
    #[cfg(feature = "postgres")]
    #[error("ledger `{location}`: {}", with_causes(cause))]
    Postgres {
        /// The database URL, without its password.
        location: String,
        /// The cause, whose own causes the message also shows.
        cause: postgres::Error,
    },
    /// The PostgreSQL ledger was written by a newer phasegate.
    #[error(
        "ledger `{location}` has schema version {found}; this phasegate supports up to {supported}"
    )]
    SchemaTooNewAt {
        /// The database URL, without its password.
        location: String,
        /// Its `schema_version`.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// A ledger location this build cannot open: a malformed URL, a bad schema name, a
    /// database this build has no store for, or a store whose connection thread stopped.
    #[error("ledger `{location}`: {reason}")]
    Location {
        /// The location as given, without a password.
        location: String,
        /// What is wrong.
        reason: String,
    },
    /// An entry could not be encoded.
    #[error("cannot encode ledger entry: {source}")]
    Encode {
        /// The cause.
        source: serde_json::Error,
    },
    /// A record carries a measurement that JSON cannot represent.
    #[error("measurement `{name}` of gate `{gate}` is not a finite number")]
    NonFiniteMeasurement {
        /// The gate.
        gate: String,
        /// The measurement.
        name: String,
    },
    /// A stored entry could not be read back; `phasegate evidence verify` says more.
    #[error("ledger entry {seq} is unreadable: {reason}")]
    Corrupt {
        /// Its sequence number.
        seq: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// `open_run` for a run id the ledger already has.
    #[error("run `{run_id}` is already in the ledger")]
    RunExists {
        /// The run.
        run_id: String,
    },
    /// A record or head for a run that was never opened.
    #[error("run `{run_id}` was never opened in this ledger")]
    RunNotOpened {
        /// The run.
        run_id: String,
    },
    /// A record or head for a run that already has its head.
    #[error("run `{run_id}` is already closed")]
    RunClosed {
        /// The run.
        run_id: String,
    },
    /// The operating system gave no random bytes for a new key.
    #[error("cannot generate a signing key: {reason}")]
    Random {
        /// The cause.
        reason: String,
    },
    /// A signing key given as text is malformed.
    #[error("invalid signing key: {reason}")]
    InvalidKey {
        /// What is wrong (never the key itself).
        reason: String,
    },
    /// A signing key file is malformed.
    #[error("invalid signing key file `{path}`: {reason}")]
    InvalidKeyFile {
        /// The key file.
        path: PathBuf,
        /// What is wrong (never the key itself).
        reason: String,
    },
    /// A signing key file could not be read or created.
    #[error("cannot read or create signing key `{path}`: {source}")]
    KeyFile {
        /// The key file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Writing an export failed.
    #[error("cannot write ledger export: {source}")]
    Export {
        /// The cause.
        source: std::io::Error,
    },
}

/// `error` and its causes, joined by `: `. A `postgres::Error` says only what kind of thing
/// failed ("error performing TLS handshake", "db error"); why (an unknown CA, the server's
/// message) is in its causes. They go into the message rather than `source()`, so that it
/// stands alone and a report walking `source()` does not print each part twice.
#[cfg(feature = "postgres")]
pub(crate) fn with_causes(error: &postgres::Error) -> String {
    let mut text = error.to_string();
    let mut next = std::error::Error::source(error);
    while let Some(cause) = next {
        let shown = cause.to_string();
        // An `io::Error` wrapping another error shows that error's text, and its source is
        // the wrapped error's source: the same words can come twice in a row.
        if !text.ends_with(&shown) {
            text = format!("{text}: {shown}");
        }
        next = cause.source();
    }
    text
}
