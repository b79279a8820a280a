//! The state every handler shares.

use std::sync::Arc;

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
        let limiter = || Arc::new(RateLimiter::new(config.rate_limit, config.rate_window));
        Ok(AppState {
            sign_in_limiter: limiter(),
            callback_limiter: limiter(),
            session_signer: Signer::new(&config.token_secret, "session"),
            download_signer: Signer::new(&config.token_secret, "download"),
            metrics: Arc::new(Metrics::new()),
            db,
            config: Arc::new(config),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The metric registry, e.g. to add families of the embedding program.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}
