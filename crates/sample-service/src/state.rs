//! The state every handler shares.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::access_log::AccessLog;
use crate::config::Config;
use crate::db::Db;
use crate::error::Error;
use crate::metrics::Metrics;
use crate::rate_limit::RateLimiter;
use crate::token::Signer;

/// Shared state: configuration, database, metrics, limiters and signing keys. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub(crate) config: Arc<Config>,
    pub(crate) db: Db,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) sign_in_limiter: Arc<RateLimiter>,
    pub(crate) callback_limiter: Arc<RateLimiter>,
    pub(crate) session_signer: Signer,
    pub(crate) download_signer: Signer,
    pub(crate) access_log: Option<Arc<AccessLog>>,
    /// Set once the shutdown signal came: readiness answers 503 from then on.
    draining: Arc<AtomicBool>,
}

impl AppState {
    /// Opens (creating, migrating and seeding if needed) the database and builds the state.
    ///
    /// Blocks on SQLite; from async code call it through `spawn_blocking` (as [`crate::serve`]
    /// does).
    pub fn new(config: Config) -> Result<Self, Error> {
        let db = Db::open(&config.db).map_err(|source| Error::Database {
            path: config.db.clone(),
            source,
        })?;
        let access_log = AccessLog::open(&config)?;
        let limiter = || Arc::new(RateLimiter::new(config.rate_limit, config.rate_window));
        Ok(AppState {
            sign_in_limiter: limiter(),
            callback_limiter: limiter(),
            session_signer: Signer::new(&config.token_secret, "session"),
            download_signer: Signer::new(&config.token_secret, "download"),
            metrics: Arc::new(Metrics::new()),
            access_log,
            draining: Arc::new(AtomicBool::new(false)),
            db,
            config: Arc::new(config),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Whether the service is shutting down (readiness then answers 503).
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Marks the service as shutting down.
    pub(crate) fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// The metric registry, e.g. to add families of the embedding program.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}
