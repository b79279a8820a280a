//! What the service is told at start: where its database lives, which flaws are on, limits and
//! secrets.

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::flaw::Flaw;

/// The webhook secret used when none is given. The payment provider is simulated by whoever
/// drives the service (phasegate's probes, the tests), so the secret is a well-known demo value.
pub const DEFAULT_WEBHOOK_SECRET: &str = "sample-service-demo-webhook-secret";

/// The password of every seed user.
pub const SEED_PASSWORD: &str = "correct-horse";

/// Configuration of one service instance.
#[derive(Clone)]
pub struct Config {
    /// The SQLite database file; created with the schema and seed users when missing.
    pub db: PathBuf,
    /// The hardenings switched off.
    pub flaws: BTreeSet<Flaw>,
    /// Sign-in and callback requests allowed per window per client.
    pub rate_limit: u32,
    /// The rate-limit window; short by default so probes can wait it out.
    pub rate_window: Duration,
    /// Origins allowed to make credentialed cross-origin requests (exact string match).
    pub allowed_origins: Vec<String>,
    /// The secret payment-provider callbacks are signed with.
    pub webhook_secret: String,
    /// The secret session and download tokens are signed with; random per process by default,
    /// so tokens die with the process.
    pub token_secret: String,
    /// How long a session token (and the `sid` cookie) lives.
    pub session_ttl: Duration,
    /// How long a download token lives at most; tests shorten it to see tokens expire, and
    /// a mint request may ask for less (`{"ttl_ms": 500}`).
    pub download_ttl: Duration,
    /// Where one line per request is appended (time, method, path, status, duration); no
    /// access log when `None`.
    pub access_log: Option<PathBuf>,
    /// After the shutdown signal: how long readiness answers 503 while the service still
    /// serves, so that load balancers stop routing here before the listener closes.
    pub drain: Duration,
    /// After the listener closed: how long in-flight requests get to finish before their
    /// connections are dropped (and serving ends with an error).
    pub shutdown_grace: Duration,
}

impl Config {
    /// The defaults for a database at `db`, with no flaws.
    pub fn new(db: impl Into<PathBuf>) -> Self {
        Config {
            db: db.into(),
            flaws: BTreeSet::new(),
            rate_limit: 5,
            rate_window: Duration::from_secs(2),
            allowed_origins: vec![
                "https://app.example.com".to_owned(),
                "https://admin.example.com".to_owned(),
            ],
            webhook_secret: DEFAULT_WEBHOOK_SECRET.to_owned(),
            token_secret: random_secret(),
            session_ttl: Duration::from_secs(3600),
            download_ttl: Duration::from_secs(300),
            access_log: None,
            drain: Duration::from_millis(500),
            shutdown_grace: Duration::from_secs(10),
        }
    }

    /// Whether `flaw` is switched on, i.e. its hardening is off.
    pub fn has(&self, flaw: Flaw) -> bool {
        self.flaws.contains(&flaw)
    }

    /// Switches `flaw` on (builder style, for tests).
    #[must_use]
    pub fn with_flaw(mut self, flaw: Flaw) -> Self {
        self.flaws.insert(flaw);
        self
    }

    /// The flaws as `a, b` or `none`, for the startup line.
    pub fn flaw_list(&self) -> String {
        if self.flaws.is_empty() {
            return "none".to_owned();
        }
        self.flaws
            .iter()
            .map(|flaw| flaw.name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source is available");
    hex::encode(bytes)
}

// Secrets must never reach logs, so Debug is written by hand.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("db", &self.db)
            .field("flaws", &self.flaws)
            .field("rate_limit", &self.rate_limit)
            .field("rate_window", &self.rate_window)
            .field("allowed_origins", &self.allowed_origins)
            .field("webhook_secret", &"<redacted>")
            .field("token_secret", &"<redacted>")
            .field("session_ttl", &self.session_ttl)
            .field("download_ttl", &self.download_ttl)
            .field("access_log", &self.access_log)
            .field("drain", &self.drain)
            .field("shutdown_grace", &self.shutdown_grace)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_secrets() {
        let config = Config::new("x.db");
        let debug = format!("{config:?}");
        assert!(!debug.contains(DEFAULT_WEBHOOK_SECRET));
        assert!(!debug.contains(&config.token_secret));
    }

    #[test]
    fn flaw_list_reads_well() {
        let config = Config::new("x.db");
        assert_eq!(config.flaw_list(), "none");
        let config = config.with_flaw(Flaw::NoHsts).with_flaw(Flaw::XPoweredBy);
        assert_eq!(config.flaw_list(), "no-hsts, x-powered-by");
    }
}
