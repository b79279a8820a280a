//! The ledger for people: its entries listed, and what verification found.

use std::fmt::Write as _;

use jiff::Timestamp;
use phasegate_model::Verdict;

/// One ledger entry, as `evidence list` shows it.
#[derive(Debug, Clone, Copy)]
pub struct EntryRow<'a> {
    /// Position in the chain.
    pub seq: u64,
    /// The kind of entry (`record`, `run_opened`, `head`, ...).
    pub kind: &'a str,
    /// When it happened.
    pub at: Timestamp,
    /// Its run.
    pub run_id: &'a str,
    /// The gate, for records.
    pub gate: Option<&'a str>,
    /// The verdict, for records.
    pub verdict: Option<Verdict>,
}

/// The entries as fixed-width columns, oldest first.
pub fn entry_list(rows: &[EntryRow<'_>]) -> String {
    let mut s = String::new();
    if rows.is_empty() {
        s.push_str("the ledger is empty; `phasegate run` adds evidence\n");
    }
    let _ = writeln!(
        s,
        "{:>8}  {:<10}  {:<20}  {:<26}  {:<14}  verdict",
        "seq", "kind", "at", "run", "gate"
    );
    for r in rows {
        let _ = writeln!(
            s,
            "{:>8}  {:<10}  {:<20}  {:<26}  {:<14}  {}",
            r.seq,
            r.kind,
            r.at.strftime("%Y-%m-%d %H:%M:%S"),
            r.run_id,
            r.gate.unwrap_or("-"),
            r.verdict.map_or("-", |v| v.as_str())
        );
    }
    s
}

/// What verifying the ledger found.
#[derive(Debug, Clone, Copy)]
pub struct VerifySummary<'a> {
    /// The first entry that does not match, described; `None` when all match.
    pub broken: Option<&'a str>,
    /// Entries checked.
    pub entries: u64,
    /// Records among them.
    pub records: u64,
    /// Runs closed by a valid head.
    pub runs_closed: u64,
    /// Ids of the keys that signed those heads.
    pub key_ids: &'a [String],
    /// The last entry checked: its sequence number and hash.
    pub last: Option<(u64, &'a str)>,
    /// Runs opened and never closed.
    pub incomplete: &'a [String],
}

/// The verification result for people.
pub fn verification(v: &VerifySummary<'_>) -> String {
    let mut s = String::new();
    if let Some(broken) = v.broken {
        let _ = writeln!(s, "BROKEN: {broken}");
        let _ = writeln!(
            s,
            "{} entries before it matched; nothing after it can be trusted",
            v.entries.saturating_sub(1)
        );
        return s;
    }
    let keys = if v.key_ids.is_empty() {
        "none".to_owned()
    } else {
        v.key_ids.join(", ")
    };
    let _ = writeln!(
        s,
        "ok: {} entries verified: {} records, {} closed runs with valid signed heads (keys: {keys})",
        v.entries, v.records, v.runs_closed
    );
    if let Some((seq, hash)) = v.last {
        let _ = writeln!(s, "chain head: entry {seq} hash {hash}");
    }
    if !v.incomplete.is_empty() {
        let _ = writeln!(
            s,
            "incomplete runs (opened, never closed: still running or killed): {}",
            v.incomplete.join(", ")
        );
    }
    s
}
