//! Finding the roadmap and the ledger the command works on.

use std::path::{Path, PathBuf};

use phasegate_ledger::{Key, Ledger};
use phasegate_roadmap::Loaded;

use crate::Error;
use crate::cli::Global;

/// Environment variable holding the signing key's seed (hex), instead of the key file.
pub const SIGNING_KEY_VAR: &str = "PHASEGATE_SIGNING_KEY";

/// The roadmap a command works on, and where its evidence lives.
pub struct Project {
    /// The roadmap as loaded and validated.
    pub loaded: Loaded,
    /// The roadmap's directory.
    pub root: PathBuf,
    /// The ledger directory; with a database URL for `--ledger`, it still holds the
    /// signing key, logs and snapshots (`.phasegate/` beside the roadmap).
    pub ledger_dir: PathBuf,
    /// `--ledger` when it is a PostgreSQL URL: the ledger's entries live there.
    pub ledger_url: Option<String>,
}

impl Project {
    /// Finds and loads the roadmap named by `--config` or discovered from the current
    /// directory.
    pub fn load(global: &Global) -> Result<Self, Error> {
        Self::load_from(&roadmap_path(global)?, global)
    }

    /// Loads the roadmap at `path` (the ledger still follows `--ledger`).
    pub fn load_from(path: &Path, global: &Global) -> Result<Self, Error> {
        let path = path.to_path_buf();
        let loaded = phasegate_roadmap::load_with(&path, Some(&validate_probe))?;
        let parent = loaded.path.parent().filter(|p| !p.as_os_str().is_empty());
        let root = absolute(parent.unwrap_or(Path::new(".")));
        let ledger_url = global
            .ledger
            .as_ref()
            .and_then(|l| l.to_str())
            .filter(|l| phasegate_ledger::is_postgres_url(l))
            .map(str::to_owned);
        let ledger_dir = match &global.ledger {
            Some(dir) if ledger_url.is_none() => absolute(dir),
            _ => root.join(".phasegate"),
        };
        Ok(Project {
            loaded,
            root,
            ledger_dir,
            ledger_url,
        })
    }

    /// Opens (creating when needed) the ledger: the PostgreSQL database of `--ledger URL`,
    /// else the SQLite file in the ledger directory.
    pub fn ledger(&self) -> Result<Ledger, Error> {
        Ok(match &self.ledger_url {
            Some(url) => Ledger::open_url(url)?,
            None => Ledger::open(&self.ledger_dir)?,
        })
    }

    /// The signing key: from `PHASEGATE_SIGNING_KEY`, else the key file in the ledger
    /// directory (created with 0600 permissions on first use).
    pub fn signing_key(&self) -> Result<Key, Error> {
        match std::env::var(SIGNING_KEY_VAR) {
            Ok(hex) => Key::from_hex(hex.trim()).map_err(|e| {
                Error::usage(
                    format!("{SIGNING_KEY_VAR} is not a valid key: {e}"),
                    "it must hold the 32-byte ed25519 seed as 64 hex characters",
                )
            }),
            Err(_) => Ok(Key::load_or_create(&self.ledger_dir.join("signing.key"))?),
        }
    }
}

/// The probes' own judgement of their parameters, for the roadmap's diagnostics.
fn validate_probe(kind: &str, params: &phasegate_probes::Params) -> Vec<(Option<String>, String)> {
    match phasegate_probes::validate(kind, params) {
        Ok(()) => Vec::new(),
        Err(errors) => errors.into_iter().map(|e| (e.key, e.message)).collect(),
    }
}

fn roadmap_path(global: &Global) -> Result<PathBuf, Error> {
    if let Some(p) = &global.config {
        return Ok(p.clone());
    }
    let cwd = std::env::current_dir().map_err(Error::io("cannot read the current directory"))?;
    phasegate_roadmap::discover(&cwd).ok_or(Error::NoRoadmap(cwd))
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}
