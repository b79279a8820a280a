//! Recomputing the chain and the heads: [`Verification`].

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::ops::ControlFlow;

use ed25519_dalek::{Signature, VerifyingKey};
use phasegate_model::RECORD_VERSION;
use serde::{Deserialize, Serialize};

use crate::entry::{self, Entry, HEAD_VERSION, Head, RUN_OPENED_VERSION};
use crate::hash::{MerkleBuilder, ZERO_HASH, entry_hash};
use crate::key::key_id_of;
use crate::store::Row;

/// The outcome of [`crate::Ledger::verify`]: what was checked and the first entry that does
/// not match, if any. A broken ledger is an outcome, not an error.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verification {
    /// Entries checked (up to and including a broken one).
    pub entries: u64,
    /// Records among them.
    pub records: u64,
    /// Runs closed by a valid head.
    pub runs_closed: u64,
    /// Ids of the keys that signed those heads, sorted.
    pub key_ids: Vec<String>,
    /// Runs opened without a head (still running, or killed), in the order they opened.
    /// They do not make verification fail.
    pub incomplete: Vec<String>,
    /// Sequence number of the last entry checked.
    pub last_seq: Option<u64>,
    /// Hex hash of the last entry checked: pin it elsewhere to detect a truncated tail.
    pub last_hash: Option<String>,
    /// The first entry that does not match, if any; checking stops there.
    pub broken: Option<Broken>,
}

impl Verification {
    /// Whether every entry matched.
    pub fn is_ok(&self) -> bool {
        self.broken.is_none()
    }
}

/// The first entry that does not match, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// Its sequence number.
    pub seq: u64,
    /// Its gate, for a record.
    pub gate: Option<String>,
    /// Its run.
    pub run_id: Option<String>,
    /// What does not match.
    pub reason: String,
}

impl fmt::Display for Broken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "entry {}", self.seq)?;
        match (&self.gate, &self.run_id) {
            (Some(g), Some(r)) => write!(f, " (gate `{g}`, run `{r}`)")?,
            (None, Some(r)) => write!(f, " (run `{r}`)")?,
            (Some(g), None) => write!(f, " (gate `{g}`)")?,
            (None, None) => {}
        }
        write!(f, ": {}", self.reason)
    }
}

/// Where a verification that found nothing broken got to: enough to go on verifying the
/// entries appended after it without reading the earlier ones again
/// ([`crate::Ledger::verify_from`]). Serializable, so a caller can keep it (the engine
/// keeps it beside the ledger for `status`).
///
/// What resuming cannot detect: a change to entries before `seq` that leaves the entry at
/// `seq` (its body, `prev_hash` and `hash` columns) as it was; only a full
/// [`crate::Ledger::verify`] finds those. Its size grows with the number of runs (it keeps
/// the ids of closed runs, to catch a run opened twice).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The checkpoint's format version ([`CHECKPOINT_VERSION`]).
    pub v: u32,
    /// The last entry verified.
    pub seq: u64,
    /// Its hex hash, which the entry at `seq` must still have.
    pub hash: String,
    /// The verifier's state after that entry.
    state: State,
}

/// The version of [`Checkpoint`]'s fields; one of another version is not resumed from.
pub const CHECKPOINT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct State {
    entries: u64,
    records: u64,
    runs_closed: u64,
    key_ids: BTreeSet<String>,
    open: BTreeMap<String, OpenRun>,
    closed: BTreeSet<String>,
}

/// A run seen opened and not yet closed: just enough to check its head, in `O(log n)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct OpenRun {
    opened_seq: u64,
    tree: MerkleBuilder,
    first_seq: Option<u64>,
    last_seq: Option<u64>,
}

/// Checks rows one at a time, in seq order; memory grows with the number of runs only.
pub(crate) struct Verifier {
    trusted: Option<BTreeSet<String>>,
    expected_seq: u64,
    prev_hash: [u8; 32],
    open: HashMap<String, OpenRun>,
    closed: HashSet<String>,
    key_ids: BTreeSet<String>,
    out: Verification,
}

impl Checkpoint {
    /// Whether this checkpoint can be resumed from by this version of the verifier.
    pub fn is_current(&self) -> bool {
        self.v == CHECKPOINT_VERSION
    }
}

impl Verifier {
    pub(crate) fn new(trusted: Option<BTreeSet<String>>) -> Self {
        Verifier {
            trusted,
            expected_seq: 1,
            prev_hash: ZERO_HASH,
            open: HashMap::new(),
            closed: HashSet::new(),
            key_ids: BTreeSet::new(),
            out: Verification::default(),
        }
    }

    /// A verifier that goes on after `checkpoint`, trusting what it covered.
    pub(crate) fn resume(checkpoint: &Checkpoint) -> Self {
        let state = checkpoint.state.clone();
        let prev_hash = hex::decode(&checkpoint.hash)
            .ok()
            .and_then(|b| b.try_into().ok())
            // An unreadable hash links to nothing: the next entry is then reported broken.
            .unwrap_or([0xff; 32]);
        Verifier {
            trusted: None,
            expected_seq: checkpoint.seq + 1,
            prev_hash,
            open: state.open.into_iter().collect(),
            closed: state.closed.into_iter().collect(),
            key_ids: state.key_ids,
            out: Verification {
                entries: state.entries,
                records: state.records,
                runs_closed: state.runs_closed,
                last_seq: Some(checkpoint.seq),
                last_hash: Some(checkpoint.hash.clone()),
                ..Verification::default()
            },
        }
    }

    /// Where the verification got to, unless something was broken or nothing was read.
    pub(crate) fn checkpoint(&self) -> Option<Checkpoint> {
        if self.out.broken.is_some() {
            return None;
        }
        Some(Checkpoint {
            v: CHECKPOINT_VERSION,
            seq: self.out.last_seq?,
            hash: self.out.last_hash.clone()?,
            state: State {
                entries: self.out.entries,
                records: self.out.records,
                runs_closed: self.out.runs_closed,
                key_ids: self.key_ids.clone(),
                open: self
                    .open
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                closed: self.closed.iter().cloned().collect(),
            },
        })
    }

    /// Checks the next row; `Break` once one does not match.
    pub(crate) fn visit(&mut self, row: Row) -> ControlFlow<()> {
        self.out.entries += 1;
        self.out.last_seq = Some(row.seq);
        self.out.last_hash = Some(hex::encode(&row.hash));
        match self.check(&row) {
            Ok(()) => ControlFlow::Continue(()),
            Err(reason) => {
                self.out.broken = Some(Broken {
                    seq: row.seq,
                    gate: row.gate,
                    run_id: Some(row.run_id),
                    reason,
                });
                ControlFlow::Break(())
            }
        }
    }

    fn check(&mut self, row: &Row) -> Result<(), String> {
        let seq = row.seq;
        if seq != self.expected_seq {
            return Err(format!(
                "sequence gap: expected entry {}, found {seq}",
                self.expected_seq
            ));
        }
        if row.prev_hash.as_slice() != self.prev_hash.as_slice() {
            return Err(if seq == 1 {
                "prev_hash of the first entry is not zero".to_owned()
            } else {
                format!("prev_hash does not link to entry {}", seq - 1)
            });
        }
        let hash = entry_hash(seq, &self.prev_hash, &row.body);
        if row.hash.as_slice() != hash.as_slice() {
            return Err("hash does not match the entry (its body or hash was changed)".to_owned());
        }
        self.expected_seq = seq + 1;
        self.prev_hash = hash;

        let entry = entry::decode(&row.body).map_err(|e| format!("undecodable body: {e}"))?;
        check_columns(row, &entry)?;
        let (kind, v, supported) = match &entry {
            Entry::RunOpened(r) => ("run_opened", r.v, RUN_OPENED_VERSION),
            Entry::Record(r) => ("record", r.v, RECORD_VERSION),
            Entry::Head(h) => ("head", h.v, HEAD_VERSION),
        };
        if v != supported {
            return Err(format!(
                "{kind} version {v} is not supported (expected {supported})"
            ));
        }
        match entry {
            Entry::RunOpened(r) => {
                if self.open.contains_key(&r.run_id) || self.closed.contains(&r.run_id) {
                    return Err(format!("run `{}` opened twice", r.run_id));
                }
                self.open.insert(
                    r.run_id,
                    OpenRun {
                        opened_seq: seq,
                        tree: MerkleBuilder::new(),
                        first_seq: None,
                        last_seq: None,
                    },
                );
            }
            Entry::Record(r) => {
                let Some(run) = self.open.get_mut(&r.run_id) else {
                    return Err(if self.closed.contains(&r.run_id) {
                        format!("record for run `{}` after its head", r.run_id)
                    } else {
                        format!("record for run `{}`, which was never opened", r.run_id)
                    });
                };
                run.tree.push(&hash);
                run.first_seq.get_or_insert(seq);
                run.last_seq = Some(seq);
                self.out.records += 1;
            }
            Entry::Head(head) => {
                let Some(run) = self.open.remove(&head.run_id) else {
                    return Err(if self.closed.contains(&head.run_id) {
                        format!("second head for run `{}`", head.run_id)
                    } else {
                        format!("head for unknown run `{}`", head.run_id)
                    });
                };
                check_head(&head, &run)?;
                if let Some(trusted) = &self.trusted
                    && !trusted.contains(&head.key_id)
                {
                    return Err(format!("head signed by untrusted key `{}`", head.key_id));
                }
                self.key_ids.insert(head.key_id);
                self.closed.insert(head.run_id);
                self.out.runs_closed += 1;
            }
        }
        Ok(())
    }

    pub(crate) fn finish(mut self) -> Verification {
        let mut incomplete: Vec<(u64, String)> = self
            .open
            .drain()
            .map(|(id, run)| (run.opened_seq, id))
            .collect();
        incomplete.sort_unstable();
        self.out.incomplete = incomplete.into_iter().map(|(_, id)| id).collect();
        self.out.key_ids = self.key_ids.into_iter().collect();
        self.out
    }
}

/// The indexed columns are derived from the body; a mismatch would make queries lie.
fn check_columns(row: &Row, entry: &Entry) -> Result<(), String> {
    let (gate, verdict) = match entry {
        Entry::Record(r) => (Some(r.gate.as_str()), Some(r.verdict.as_str())),
        _ => (None, None),
    };
    let matches = row.kind == entry.kind().as_str()
        && row.run_id == entry.run_id()
        && row.gate.as_deref() == gate
        && row.verdict.as_deref() == verdict
        && row.at == entry.at().to_string();
    if matches {
        Ok(())
    } else {
        Err("indexed columns (kind, run_id, gate, verdict, at) do not match the body".to_owned())
    }
}

fn check_head(head: &Head, run: &OpenRun) -> Result<(), String> {
    let root = hex::encode(run.tree.root());
    if head.records != run.tree.len()
        || head.first_seq != run.first_seq
        || head.last_seq != run.last_seq
        || head.root != root
    {
        return Err(format!(
            "head does not match the run's records: it covers {} records (seq {} to {}, root {}), \
             the ledger holds {} (seq {} to {}, root {root})",
            head.records,
            show(head.first_seq),
            show(head.last_seq),
            head.root,
            run.tree.len(),
            show(run.first_seq),
            show(run.last_seq),
        ));
    }
    let public: [u8; 32] = hex::decode(&head.public_key)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| "head's public key is not 32 hex bytes".to_owned())?;
    if key_id_of(&public) != head.key_id {
        return Err(format!(
            "head's key id `{}` does not belong to its public key",
            head.key_id
        ));
    }
    let key = VerifyingKey::from_bytes(&public)
        .map_err(|_| "head's public key is not a valid ed25519 key".to_owned())?;
    let signature: [u8; 64] = hex::decode(&head.signature)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| "head's signature is not 64 hex bytes".to_owned())?;
    let message = head
        .signed_bytes()
        .map_err(|e| format!("cannot re-encode the head: {e}"))?;
    key.verify_strict(&message, &Signature::from_bytes(&signature))
        .map_err(|_| format!("bad signature on head (key `{}`)", head.key_id))
}

fn show(seq: Option<u64>) -> String {
    seq.map_or_else(|| "-".to_owned(), |s| s.to_string())
}
