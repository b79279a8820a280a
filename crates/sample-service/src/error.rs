//! The crate's error type: what stops the service from starting or serving.

use std::path::PathBuf;

/// Why the service could not start or keep serving.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database could not be opened, migrated or seeded.
    #[error("cannot prepare database {path}")]
    Database {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// The HTTP server failed while serving.
    #[error("serving http failed")]
    Serve(#[source] std::io::Error),
    /// The access log could not be opened for appending.
    #[error("cannot open access log {path}")]
    AccessLog {
        /// The log file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// In-flight requests were still running when the shutdown grace period ended; their
    /// connections were dropped.
    #[error("in-flight requests did not finish within the shutdown grace period of {grace:?}")]
    ShutdownGrace {
        /// The grace period.
        grace: std::time::Duration,
    },
    /// A blocking task panicked or was cancelled.
    #[error("a blocking task failed")]
    Task(#[source] tokio::task::JoinError),
}
