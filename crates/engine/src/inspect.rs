//! Reading the evidence: a gate explained, the ledger listed, shown, verified, exported.

use std::io::Write;

use phasegate_ledger::{Entry, Summary, Verification};
use phasegate_model::{CacheDecision, Gate, GateStatus, Record};

use crate::{Error, Session};

/// How many past records [`Session::why`] reads for a gate's history.
const WHY_HISTORY: usize = 20;

/// A gate's state with everything needed to explain it.
#[derive(Debug)]
pub struct Why<'s> {
    /// The gate as the roadmap defines it now.
    pub gate: &'s Gate,
    /// Its state on the scorecard.
    pub status: GateStatus,
    /// Its latest records, newest first.
    pub history: Vec<Record>,
    /// When the scorecard was evaluated.
    pub evaluated_at: jiff::Timestamp,
    /// What a run would make of the gate's evidence now: reuse it, or run the gate and
    /// why (what changed since the evidence). `None` for a sign-off gate.
    pub cache: Option<CacheDecision>,
}

impl Session {
    /// The gate `name`'s state, explained by its recent records.
    pub fn why(&self, name: &str) -> Result<Why<'_>, Error> {
        let gate = self.gate(name)?;
        let (card, entries) = self.evaluate()?;
        let ledger = self.read_ledger()?;
        let cache = self.cache_decision(gate, &ledger, &card, &entries)?;
        let status = card
            .gate(name)
            .expect("every roadmap gate is on the scorecard")
            .clone();
        let history = ledger
            .history(name, WHY_HISTORY)?
            .into_iter()
            .filter_map(|e| match e.entry {
                Entry::Record(r) => Some(r),
                _ => None,
            })
            .collect();
        Ok(Why {
            gate,
            status,
            history,
            evaluated_at: card.evaluated_at,
            cache,
        })
    }

    /// The ledger's entries, oldest first (only the last `limit` when given).
    pub fn entries(&self, limit: Option<usize>) -> Result<Vec<Summary>, Error> {
        Ok(self.read_ledger()?.list(limit)?)
    }

    /// Entry `seq` as a JSON document: its place in the chain and its canonical encoding
    /// (exactly what the chain hashes), or `None` when there is no such entry.
    pub fn entry_json(&self, seq: u64) -> Result<Option<serde_json::Value>, Error> {
        let Some(e) = self.read_ledger()?.get(seq)? else {
            return Ok(None);
        };
        let body: serde_json::Value = serde_json::from_slice(&phasegate_ledger::encode(&e.entry)?)
            .expect("the canonical encoding is JSON");
        Ok(Some(serde_json::json!({
            "seq": e.seq, "hash": e.hash, "prev_hash": e.prev_hash, "entry": body
        })))
    }

    /// Recomputes every hash and signature of the ledger; when the roadmap pins run
    /// signers, a head signed by any other key breaks it too.
    pub fn verify(&self) -> Result<Verification, Error> {
        let ledger = self.read_ledger()?;
        Ok(match self.pinned_run_keys()? {
            Some(keys) => ledger.verify_trusting(&keys)?,
            None => ledger.verify()?,
        })
    }

    /// Writes every entry as one JSON object per line.
    pub fn export_jsonl(&self, out: &mut impl Write) -> Result<u64, Error> {
        let n = self.read_ledger()?.export_jsonl(out)?;
        out.flush().map_err(Error::io("cannot write the export"))?;
        Ok(n)
    }
}
