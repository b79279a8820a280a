//! Verification before judgement: the scorecard is evaluated only over a ledger that
//! verifies, and `status` stays fast on a large ledger by resuming from the last verified
//! entry, kept in `verified.json` in the ledger directory.
//!
//! The file is a cache, not a trust anchor: whoever can write the ledger directory can
//! also write it (and make status skip what came before its entry). What resuming cannot
//! detect is said on [`phasegate_ledger::Checkpoint`]; `phasegate evidence verify` always
//! verifies the whole chain.

use phasegate_ledger::{Checkpoint, Ledger, Verification};
use serde::{Deserialize, Serialize};

use crate::{Error, Session};

/// The checkpoint file in the ledger directory.
pub const CHECKPOINT_FILE: &str = "verified.json";

#[derive(Serialize, Deserialize)]
struct Saved {
    /// The ledger it belongs to ([`Ledger::location`]): one directory may hold the cache
    /// of a database ledger too.
    location: String,
    checkpoint: Checkpoint,
}

impl Session {
    /// Verifies `ledger` from the last checkpoint on (everything, the first time), and
    /// keeps the new checkpoint when nothing is broken.
    pub fn verify_incrementally(&self, ledger: &Ledger) -> Result<Verification, Error> {
        let path = self.ledger_dir.join(CHECKPOINT_FILE);
        let location = ledger.location();
        // Anything unreadable or for another ledger means starting from the beginning.
        let saved = std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| serde_json::from_str::<Saved>(&text).ok())
            .filter(|s| s.location == location);
        let previous = saved.map(|s| s.checkpoint);
        let (verification, next) = ledger.verify_from(previous.as_ref())?;
        // Where no ledger exists yet there is nothing to cache, and nothing may be created.
        let next = next.filter(|_| self.has_ledger());
        if let Some(checkpoint) = next.filter(|n| Some(n) != previous.as_ref()) {
            let text = serde_json::to_string(&Saved {
                location,
                checkpoint,
            })
            .expect("a checkpoint always serializes");
            // A cache that cannot be written (a read-only checkout) only costs time next
            // time: it must not stop `status`.
            let _ = std::fs::create_dir_all(&self.ledger_dir)
                .map_err(Error::io("cannot create the ledger directory"))
                .and_then(|()| crate::fsutil::write_atomically(&path, &text));
        }
        Ok(verification)
    }
}
