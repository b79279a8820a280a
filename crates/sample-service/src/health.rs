//! Liveness and readiness.
//!
//! Live says the process answers; it touches nothing so a database outage never gets the
//! process restarted. Ready says the service can do its job, so it checks the database for real.

use std::time::Duration;

use crate::config::Config;
use crate::db::{self, Db};
use crate::flaw::Flaw;

/// How long the readiness query may take before the database counts as unavailable.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// Why the service is not ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NotReady {
    pub(crate) reason: String,
}

/// Checks the database through a fresh read-only connection.
pub(crate) async fn ready(config: &Config, db: &Db) -> Result<(), NotReady> {
    if config.has(Flaw::ReadyIgnoresDb) {
        return Ok(());
    }
    let path = db.path().to_owned();
    let check = tokio::task::spawn_blocking(move || db::check_ready(&path));
    match tokio::time::timeout(READY_TIMEOUT, check).await {
        Ok(Ok(Ok(()))) => Ok(()),
        Ok(Ok(Err(err))) => Err(NotReady {
            reason: format!("database: {err}"),
        }),
        Ok(Err(_)) => Err(NotReady {
            reason: "database: check task failed".to_owned(),
        }),
        Err(_) => Err(NotReady {
            reason: format!("database: no answer within {READY_TIMEOUT:?}"),
        }),
    }
}
