//! [`Ledger`]: the chain, the heads and the queries, over any [`Store`].

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::io::Write;
use std::ops::ControlFlow;
use std::path::Path;

use jiff::Timestamp;
use phasegate_model::{Record, Verdict};

use crate::LedgerError;
use crate::entry::{self, Entry, EntryKind, HEAD_VERSION, Head, RunOpened, RunStatus};
use crate::hash::{MerkleBuilder, ZERO_HASH, entry_hash};
use crate::key::Key;
use crate::sqlite::SqliteStore;
use crate::store::{Row, Store};
use crate::verify::{Broken, Checkpoint, Verification, Verifier};

/// The file [`Ledger::open`] uses inside the ledger directory.
pub const LEDGER_FILE: &str = "ledger.sqlite";

/// Whether `location` names a PostgreSQL database (`postgres://` or `postgresql://`)
/// rather than a ledger directory.
pub fn is_postgres_url(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

/// The evidence ledger: one hash chain of [`Entry`]s with signed run heads.
///
/// Every append is one transaction on the store that reads the chain's tip and writes
/// after it, so concurrent writers (two `phasegate run`s, even in two processes) produce one
/// valid chain, and a crash loses at most the entry being written.
pub struct Ledger {
    store: Box<dyn Store + Send>,
}

impl fmt::Debug for Ledger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ledger")
            .field("location", &self.store.location())
            .finish()
    }
}

/// An entry as stored: its position, its hashes and the decoded entry.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEntry {
    /// Position in the chain.
    pub seq: u64,
    /// Hex chain hash.
    pub hash: String,
    /// Hex hash of the previous entry.
    pub prev_hash: String,
    /// The entry.
    pub entry: Entry,
}

/// One line of [`Ledger::list`], read from the indexed columns only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Position in the chain.
    pub seq: u64,
    /// The kind of entry.
    pub kind: EntryKind,
    /// Its run.
    pub run_id: String,
    /// The gate, for records.
    pub gate: Option<String>,
    /// The verdict, for records.
    pub verdict: Option<Verdict>,
    /// When the run or attempt started, or when the run closed.
    pub at: Timestamp,
}

/// One run, as [`Ledger::runs`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSummary {
    /// The run.
    pub run_id: String,
    /// Sequence number of its `run_opened` entry.
    pub opened_seq: u64,
    /// When it started.
    pub started_at: Timestamp,
    /// How it ended; `None` when it has no head (still running, or killed).
    pub status: Option<RunStatus>,
    /// When it was closed, if it was.
    pub closed_at: Option<Timestamp>,
    /// The key that signed its head, if it has one.
    pub key_id: Option<String>,
    /// Its number of records.
    pub records: u64,
}

/// The state of a run, as far as appending to it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RunState {
    Unknown,
    Open,
    Closed,
}

impl Ledger {
    /// Opens the SQLite ledger `dir/ledger.sqlite`, creating the directory and the file if
    /// needed.
    pub fn open(dir: &Path) -> Result<Ledger, LedgerError> {
        std::fs::create_dir_all(dir).map_err(|source| LedgerError::CreateDir {
            path: dir.to_owned(),
            source,
        })?;
        let store = SqliteStore::open(&dir.join(LEDGER_FILE))?;
        Ok(Ledger::with_store(Box::new(store)))
    }

    /// An empty ledger held in memory: what a read-only command sees where no ledger has
    /// been created yet, without creating one.
    pub fn empty() -> Result<Ledger, LedgerError> {
        let store = SqliteStore::open(Path::new(":memory:"))?;
        Ok(Ledger::with_store(Box::new(store)))
    }

    /// Opens the ledger at `location`: a `postgres://` or `postgresql://` URL opens the
    /// PostgreSQL store (schema from its `schema=` parameter, `phasegate` by default);
    /// anything else is a directory for [`Ledger::open`].
    pub fn open_url(location: &str) -> Result<Ledger, LedgerError> {
        if !is_postgres_url(location) {
            return Ledger::open(Path::new(location));
        }
        #[cfg(feature = "postgres")]
        {
            let store = crate::postgres::PostgresStore::open(location)?;
            Ok(Ledger::with_store(Box::new(store)))
        }
        #[cfg(not(feature = "postgres"))]
        Err(LedgerError::Location {
            location: crate::url::redact_url(location),
            reason: "this build has no PostgreSQL store (the `postgres` feature is off)".to_owned(),
        })
    }

    /// A ledger over any store.
    pub fn with_store(store: Box<dyn Store + Send>) -> Ledger {
        Ledger { store }
    }

    /// Where the ledger is, for messages.
    pub fn location(&self) -> String {
        self.store.location()
    }

    /// Appends the start of a run; returns its sequence number. The run id must be new.
    pub fn open_run(&mut self, run: &RunOpened) -> Result<u64, LedgerError> {
        if self.run_state(&run.run_id)? != RunState::Unknown {
            return Err(LedgerError::RunExists {
                run_id: run.run_id.clone(),
            });
        }
        self.append_encoded(vec![encode_row(&Entry::RunOpened(run.clone()))?])
    }

    /// Appends one record, in its own durable transaction; returns its sequence number.
    /// Its run must be open (opened, not closed).
    pub fn append_record(&mut self, record: &Record) -> Result<u64, LedgerError> {
        // Encode first: a record that cannot be stored should not cost a query.
        let row = encode_row(&Entry::Record(record.clone()))?;
        self.require_open(&record.run_id)?;
        self.append_encoded(vec![row])
    }

    /// Appends records in one durable transaction (one fsync for all of them: a group
    /// commit); returns the last sequence number. Either all of them are stored or none,
    /// whenever the process dies. Their runs must be open. Nothing is stored for none.
    pub fn append_records<'r>(
        &mut self,
        records: impl IntoIterator<Item = &'r Record>,
    ) -> Result<u64, LedgerError> {
        let mut rows = Vec::new();
        let mut runs: Vec<&str> = Vec::new();
        for record in records {
            rows.push(encode_row(&Entry::Record(record.clone()))?);
            if !runs.contains(&record.run_id.as_str()) {
                runs.push(&record.run_id);
            }
        }
        for run_id in runs {
            self.require_open(run_id)?;
        }
        if rows.is_empty() {
            return Ok(0);
        }
        self.append_encoded(rows)
    }

    /// Closes a run: computes the Merkle root over the hashes of exactly the records that
    /// carry `run_id`, in seq order, signs the head with `key` and appends it.
    ///
    /// The records are read before the head's transaction; that is sound because only the
    /// process that opened a run appends to it, and verify rejects a record after its head.
    pub fn close_run(
        &mut self,
        run_id: &str,
        status: RunStatus,
        key: &Key,
    ) -> Result<Head, LedgerError> {
        self.require_open(run_id)?;
        let hashes = self.store.run_record_hashes(run_id)?;
        let mut tree = MerkleBuilder::new();
        for (_, hash) in &hashes {
            tree.push(hash);
        }
        let mut head = Head {
            v: HEAD_VERSION,
            run_id: run_id.to_owned(),
            status,
            closed_at: Timestamp::now(),
            records: tree.len(),
            first_seq: hashes.first().map(|(seq, _)| *seq),
            last_seq: hashes.last().map(|(seq, _)| *seq),
            root: hex::encode(tree.root()),
            key_id: key.key_id(),
            public_key: key.public_hex(),
            signature: String::new(),
        };
        head.signature = key.sign_hex(&head.signed_bytes()?);
        self.append_encoded(vec![encode_row(&Entry::Head(head.clone()))?])?;
        Ok(head)
    }

    /// Appends many entries in one transaction (imports, benchmarks). Runs must be opened
    /// before their records and heads, here or earlier; heads are stored as given, so a
    /// wrong one is reported by [`Ledger::verify`], not here.
    pub fn append_batch(&mut self, entries: &[Entry]) -> Result<(), LedgerError> {
        let mut states: HashMap<&str, RunState> = HashMap::new();
        let mut rows = Vec::with_capacity(entries.len());
        for entry in entries {
            let run_id = entry.run_id();
            let state = match states.get(run_id) {
                Some(s) => *s,
                None => self.run_state(run_id)?,
            };
            let next = match (entry.kind(), state) {
                (EntryKind::RunOpened, RunState::Unknown) => RunState::Open,
                (EntryKind::RunOpened, _) => {
                    return Err(LedgerError::RunExists {
                        run_id: run_id.to_owned(),
                    });
                }
                (_, RunState::Unknown) => {
                    return Err(LedgerError::RunNotOpened {
                        run_id: run_id.to_owned(),
                    });
                }
                (_, RunState::Closed) => {
                    return Err(LedgerError::RunClosed {
                        run_id: run_id.to_owned(),
                    });
                }
                (EntryKind::Record, RunState::Open) => RunState::Open,
                (EntryKind::Head, RunState::Open) => RunState::Closed,
            };
            states.insert(run_id, next);
            rows.push(encode_row(entry)?);
        }
        if rows.is_empty() {
            return Ok(());
        }
        self.append_encoded(rows).map(|_| ())
    }

    /// Recomputes every hash, link, head root and signature, streaming the entries, and
    /// names the first entry that does not match.
    pub fn verify(&self) -> Result<Verification, LedgerError> {
        self.verify_with(None)
    }

    /// [`Ledger::verify`], and also reports a head signed by a key whose id is not in
    /// `trusted_key_ids`: anyone can sign a head with a key of their own.
    pub fn verify_trusting(&self, trusted_key_ids: &[String]) -> Result<Verification, LedgerError> {
        self.verify_with(Some(trusted_key_ids.iter().cloned().collect()))
    }

    /// [`Ledger::verify`] from `checkpoint` on: checks that the entry at the checkpoint is
    /// still the one verified (its stored hash, and its hash recomputed from its body and
    /// `prev_hash`), then verifies only the entries after it. Returns the verification
    /// (counting from the start of the chain) and, when nothing is broken, the checkpoint
    /// to resume from next time. Without a checkpoint it verifies everything.
    ///
    /// This is what keeps `status` fast on a large ledger; see [`Checkpoint`] for what it
    /// cannot detect.
    pub fn verify_from(
        &self,
        checkpoint: Option<&Checkpoint>,
    ) -> Result<(Verification, Option<Checkpoint>), LedgerError> {
        let Some(cp) = checkpoint.filter(|c| c.is_current()) else {
            let mut verifier = Verifier::new(None);
            self.store.scan(1, &mut |row| Ok(verifier.visit(row)))?;
            let next = verifier.checkpoint();
            return Ok((verifier.finish(), next));
        };
        let row = self.store.get(cp.seq)?;
        let intact = row.as_ref().is_some_and(|r| {
            let prev: Option<[u8; 32]> = r.prev_hash.clone().try_into().ok();
            hex::encode(&r.hash) == cp.hash
                && prev.is_some_and(|p| entry_hash(r.seq, &p, &r.body).as_slice() == r.hash)
        });
        if !intact {
            let reason = match &row {
                None => format!(
                    "entry {} verified earlier is missing: the chain was cut short",
                    cp.seq
                ),
                Some(_) => format!(
                    "entry differs from when it was verified (its hash was {})",
                    cp.hash
                ),
            };
            let broken = Verification {
                last_seq: Some(cp.seq),
                broken: Some(Broken {
                    seq: cp.seq,
                    gate: row.as_ref().and_then(|r| r.gate.clone()),
                    run_id: row.map(|r| r.run_id),
                    reason,
                }),
                ..Verification::default()
            };
            return Ok((broken, None));
        }
        let mut verifier = Verifier::resume(cp);
        self.store
            .scan(cp.seq + 1, &mut |row| Ok(verifier.visit(row)))?;
        let next = verifier.checkpoint();
        Ok((verifier.finish(), next))
    }

    /// The first of `entries` (as read by the queries) whose stored hash is not the hash of
    /// its own contents and `prev_hash`: a body changed in place. Cheap, so that whatever
    /// `status` judges is checked even before a [`Checkpoint`]; an entry rewritten together
    /// with its hash passes here and breaks the chain after it, which only a verify of
    /// that stretch finds.
    pub fn recheck(entries: &[StoredEntry]) -> Option<Broken> {
        entries.iter().find_map(|e| {
            let prev: Option<[u8; 32]> = hex::decode(&e.prev_hash).ok()?.try_into().ok();
            let body = entry::encode(&e.entry).ok();
            let matches = match (prev, body) {
                (Some(prev), Some(body)) => hex::encode(entry_hash(e.seq, &prev, &body)) == e.hash,
                _ => false,
            };
            (!matches).then(|| Broken {
                seq: e.seq,
                gate: match &e.entry {
                    Entry::Record(r) => Some(r.gate.to_string()),
                    _ => None,
                },
                run_id: Some(e.entry.run_id().to_owned()),
                reason: "hash does not match the entry (its body or hash was changed)".to_owned(),
            })
        })
    }

    fn verify_with(&self, trusted: Option<BTreeSet<String>>) -> Result<Verification, LedgerError> {
        let mut verifier = Verifier::new(trusted);
        self.store.scan(1, &mut |row| Ok(verifier.visit(row)))?;
        Ok(verifier.finish())
    }

    /// For each gate, its latest decisive (pass, fail, error) record, and its latest skipped
    /// record when that is later; in seq order. Uses the indexes, not a scan.
    pub fn latest_per_gate(&self) -> Result<Vec<Record>, LedgerError> {
        self.latest_per_gate_stored()?
            .into_iter()
            .map(into_record)
            .collect()
    }

    /// [`Ledger::latest_per_gate`] with each record's position and hashes: an approval
    /// covers the entry hashes of the evidence it approves.
    pub fn latest_per_gate_stored(&self) -> Result<Vec<StoredEntry>, LedgerError> {
        self.store
            .latest_per_gate()?
            .iter()
            .map(decode_record_row)
            .collect()
    }

    /// Every record of `gate`, in seq order. Meant for `signoff` gates, whose records are
    /// few (one per approval or waiver), not for gates that run.
    pub fn records_of(&self, gate: &str) -> Result<Vec<StoredEntry>, LedgerError> {
        let mut rows = self.store.history(gate, usize::MAX)?;
        rows.reverse();
        rows.iter().map(decode_record_row).collect()
    }

    /// The latest waiver of `gate` (a skipped record with a `waiver`), expired or not.
    pub fn latest_waiver(&self, gate: &str) -> Result<Option<StoredEntry>, LedgerError> {
        // Waivers are skipped records; walk the gate's skips newest first, in growing
        // pages, so the usual case (the latest skip, or none) costs one small query.
        let mut limit = 16;
        loop {
            let rows = self.store.history_with_verdict(gate, "skipped", limit)?;
            for row in &rows {
                let stored = decode_record_row(row)?;
                if matches!(&stored.entry, Entry::Record(r) if r.waiver.is_some()) {
                    return Ok(Some(stored));
                }
            }
            if rows.len() < limit {
                return Ok(None);
            }
            limit = limit.saturating_mul(8);
        }
    }

    /// Every waiver of `gate` (skipped records with a `waiver`), expired or not, in seq
    /// order: a waiver policy needing several granters judges them all.
    pub fn waivers(&self, gate: &str) -> Result<Vec<StoredEntry>, LedgerError> {
        let mut out = Vec::new();
        for row in self
            .store
            .history_with_verdict(gate, "skipped", usize::MAX)?
        {
            let stored = decode_record_row(&row)?;
            if matches!(&stored.entry, Entry::Record(r) if r.waiver.is_some()) {
                out.push(stored);
            }
        }
        out.reverse();
        Ok(out)
    }

    /// Everything status evaluation reads, each entry once, in seq order: the latest
    /// records per gate, every record of `signoff_gates` (approvals count k of n, so all
    /// are needed), every waiver of `waivable_gates` (waivers count per granter) and the
    /// latest waiver of each other gate of `gates`.
    pub fn status_evidence(
        &self,
        gates: &[&str],
        signoff_gates: &[&str],
        waivable_gates: &[&str],
    ) -> Result<Vec<StoredEntry>, LedgerError> {
        let mut out = self.latest_per_gate_stored()?;
        for g in signoff_gates {
            out.extend(self.records_of(g)?);
        }
        for g in gates {
            if waivable_gates.contains(g) {
                out.extend(self.waivers(g)?);
            } else {
                out.extend(self.latest_waiver(g)?);
            }
        }
        out.sort_by_key(|e| e.seq);
        out.dedup_by_key(|e| e.seq);
        Ok(out)
    }

    /// The latest `limit` records of `gate`, newest first.
    pub fn history(&self, gate: &str, limit: usize) -> Result<Vec<StoredEntry>, LedgerError> {
        self.store
            .history(gate, limit)?
            .iter()
            .map(decode_row)
            .collect()
    }

    /// Summaries of the last `limit` entries (all with `None`), oldest first.
    pub fn list(&self, limit: Option<usize>) -> Result<Vec<Summary>, LedgerError> {
        match limit {
            Some(n) => self.store.tail(n)?.iter().map(summarize).collect(),
            None => {
                let mut out = Vec::new();
                self.store.scan(1, &mut |row| {
                    out.push(summarize(&row)?);
                    Ok(ControlFlow::Continue(()))
                })?;
                Ok(out)
            }
        }
    }

    /// The last entry of the chain (what to pin to detect a truncated tail), if any.
    pub fn tip(&self) -> Result<Option<StoredEntry>, LedgerError> {
        self.store.tail(1)?.first().map(decode_row).transpose()
    }

    /// The entry at `seq`.
    pub fn get(&self, seq: u64) -> Result<Option<StoredEntry>, LedgerError> {
        self.store.get(seq)?.as_ref().map(decode_row).transpose()
    }

    /// The signed head that closed `run_id`, if it was closed (an indexed lookup).
    pub fn head(&self, run_id: &str) -> Result<Option<Head>, LedgerError> {
        for row in self.store.run_markers(run_id)? {
            if row.kind == EntryKind::Head.as_str()
                && let Entry::Head(head) = decode_row(&row)?.entry
            {
                return Ok(Some(head));
            }
        }
        Ok(None)
    }

    /// Every run, in the order they were opened.
    pub fn runs(&self) -> Result<Vec<RunSummary>, LedgerError> {
        let counts: HashMap<String, u64> = self.store.record_counts()?.into_iter().collect();
        let mut runs: Vec<RunSummary> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for row in self.store.markers()? {
            match decode_row(&row)?.entry {
                Entry::RunOpened(r) => {
                    index.insert(r.run_id.clone(), runs.len());
                    runs.push(RunSummary {
                        records: counts.get(&r.run_id).copied().unwrap_or(0),
                        run_id: r.run_id,
                        opened_seq: row.seq,
                        started_at: r.started_at,
                        status: None,
                        closed_at: None,
                        key_id: None,
                    });
                }
                Entry::Head(h) => {
                    if let Some(run) = index.get(&h.run_id).map(|&i| &mut runs[i]) {
                        run.status = Some(h.status);
                        run.closed_at = Some(h.closed_at);
                        run.key_id = Some(h.key_id);
                    }
                }
                Entry::Record(_) => {
                    return Err(LedgerError::Corrupt {
                        seq: row.seq,
                        reason: "indexed as a run marker but holds a record".to_owned(),
                    });
                }
            }
        }
        Ok(runs)
    }

    /// Writes every entry as one JSON line
    /// `{"seq":N,"hash":"..","prev_hash":"..","entry":{..}}`, where `entry` is the stored
    /// body byte for byte, so the export can be verified without the ledger. Returns the
    /// number of lines.
    pub fn export_jsonl(&self, out: &mut impl Write) -> Result<u64, LedgerError> {
        let mut lines = 0;
        self.store.scan(1, &mut |row| {
            // The body is spliced in verbatim; make sure it is JSON so the line stays valid.
            serde_json::from_slice::<serde::de::IgnoredAny>(&row.body).map_err(|e| {
                LedgerError::Corrupt {
                    seq: row.seq,
                    reason: format!("body is not JSON: {e}"),
                }
            })?;
            let write = |out: &mut dyn Write| -> std::io::Result<()> {
                write!(
                    out,
                    "{{\"seq\":{},\"hash\":\"{}\",\"prev_hash\":\"{}\",\"entry\":",
                    row.seq,
                    hex::encode(&row.hash),
                    hex::encode(&row.prev_hash)
                )?;
                out.write_all(&row.body)?;
                out.write_all(b"}\n")
            };
            write(out).map_err(|source| LedgerError::Export { source })?;
            lines += 1;
            Ok(ControlFlow::Continue(()))
        })?;
        Ok(lines)
    }

    fn run_state(&self, run_id: &str) -> Result<RunState, LedgerError> {
        let markers = self.store.run_markers(run_id)?;
        Ok(
            if markers.iter().any(|r| r.kind == EntryKind::Head.as_str()) {
                RunState::Closed
            } else if markers.is_empty() {
                RunState::Unknown
            } else {
                RunState::Open
            },
        )
    }

    fn require_open(&self, run_id: &str) -> Result<(), LedgerError> {
        match self.run_state(run_id)? {
            RunState::Open => Ok(()),
            RunState::Unknown => Err(LedgerError::RunNotOpened {
                run_id: run_id.to_owned(),
            }),
            RunState::Closed => Err(LedgerError::RunClosed {
                run_id: run_id.to_owned(),
            }),
        }
    }

    /// Chains `rows` (seq, prev_hash and hash still unset) after the tip, in one
    /// transaction; returns the last sequence number.
    fn append_encoded(&mut self, rows: Vec<Row>) -> Result<u64, LedgerError> {
        let mut pending = Some(rows);
        let mut last = 0;
        self.store.append(&mut |tip| {
            let mut rows = pending.take().expect("the store calls build exactly once");
            let (mut seq, mut prev) = tip.map_or((0, ZERO_HASH), |t| (t.seq, t.hash));
            for row in &mut rows {
                seq += 1;
                let hash = entry_hash(seq, &prev, &row.body);
                row.seq = seq;
                row.prev_hash = prev.to_vec();
                row.hash = hash.to_vec();
                prev = hash;
            }
            last = seq;
            Ok(rows)
        })?;
        Ok(last)
    }
}

/// The row for `entry`, not yet placed in the chain.
fn encode_row(entry: &Entry) -> Result<Row, LedgerError> {
    let (gate, verdict) = match entry {
        Entry::Record(r) => (
            Some(r.gate.to_string()),
            Some(r.verdict.as_str().to_owned()),
        ),
        _ => (None, None),
    };
    Ok(Row {
        seq: 0,
        kind: entry.kind().as_str().to_owned(),
        run_id: entry.run_id().to_owned(),
        gate,
        verdict,
        at: entry.at().to_string(),
        body: entry::encode(entry)?,
        prev_hash: Vec::new(),
        hash: Vec::new(),
    })
}

/// Decodes a row the indexes say is a record, and checks that it is one.
fn decode_record_row(row: &Row) -> Result<StoredEntry, LedgerError> {
    let stored = decode_row(row)?;
    match &stored.entry {
        Entry::Record(_) => Ok(stored),
        other => Err(LedgerError::Corrupt {
            seq: row.seq,
            reason: format!("indexed as a record but holds a {} entry", other.kind()),
        }),
    }
}

fn into_record(stored: StoredEntry) -> Result<Record, LedgerError> {
    match stored.entry {
        Entry::Record(r) => Ok(r),
        other => Err(LedgerError::Corrupt {
            seq: stored.seq,
            reason: format!("indexed as a record but holds a {} entry", other.kind()),
        }),
    }
}

fn decode_row(row: &Row) -> Result<StoredEntry, LedgerError> {
    let entry = entry::decode(&row.body).map_err(|reason| LedgerError::Corrupt {
        seq: row.seq,
        reason,
    })?;
    Ok(StoredEntry {
        seq: row.seq,
        hash: hex::encode(&row.hash),
        prev_hash: hex::encode(&row.prev_hash),
        entry,
    })
}

fn summarize(row: &Row) -> Result<Summary, LedgerError> {
    let corrupt = |reason: String| LedgerError::Corrupt {
        seq: row.seq,
        reason,
    };
    let kind = EntryKind::from_name(&row.kind)
        .ok_or_else(|| corrupt(format!("unknown kind `{}`", row.kind)))?;
    let verdict = match row.verdict.as_deref() {
        None => None,
        Some("pass") => Some(Verdict::Pass),
        Some("fail") => Some(Verdict::Fail),
        Some("error") => Some(Verdict::Error),
        Some("skipped") => Some(Verdict::Skipped),
        Some(other) => return Err(corrupt(format!("unknown verdict `{other}`"))),
    };
    let at = row
        .at
        .parse::<Timestamp>()
        .map_err(|e| corrupt(format!("bad time `{}`: {e}", row.at)))?;
    Ok(Summary {
        seq: row.seq,
        kind,
        run_id: row.run_id.clone(),
        gate: row.gate.clone(),
        verdict,
        at,
    })
}
