//! The raw, append-only table of entries, behind a trait so that another database can hold
//! it. A store knows nothing of hashes, signatures or encodings: [`crate::Ledger`] computes
//! rows, the store keeps them and finds them again.

use std::ops::ControlFlow;

use crate::LedgerError;

/// The last row of the chain: what the next row links to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tip {
    /// Its sequence number.
    pub seq: u64,
    /// Its stored hash.
    pub hash: [u8; 32],
}

/// One stored row, exactly as the store holds it (a tampered row is returned as it is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Position in the chain, from 1, without gaps.
    pub seq: u64,
    /// `run_opened`, `record` or `head`.
    pub kind: String,
    /// The entry's run.
    pub run_id: String,
    /// The gate, for records.
    pub gate: Option<String>,
    /// The verdict, for records.
    pub verdict: Option<String>,
    /// The entry's time as RFC 3339: `started_at` of runs and records, `closed_at` of heads.
    pub at: String,
    /// The canonical encoding of the entry; the only column the hash covers.
    pub body: Vec<u8>,
    /// The previous row's hash (zeros for the first row).
    pub prev_hash: Vec<u8>,
    /// This row's chain hash.
    pub hash: Vec<u8>,
}

/// Rows computed from the chain's tip, to be appended after it.
pub type BuildRows<'a> = dyn FnMut(Option<Tip>) -> Result<Vec<Row>, LedgerError> + 'a;

/// What visiting a row says: go on or stop.
pub type Visit<'a> = dyn FnMut(Row) -> Result<ControlFlow<()>, LedgerError> + 'a;

/// An append-only table of [`Row`]s in `seq` order.
///
/// Rows are indexed by (`gate`, `verdict`, `seq`), (`gate`, `seq`), (`run_id`, `kind`) and
/// kind, so that the queries below do not read the whole table.
pub trait Store {
    /// Where the store is, for messages (a path or a URL without password).
    fn location(&self) -> String;

    /// Reads the tip, calls `build` once with it and inserts the rows it returns, all in
    /// one write transaction that excludes every other writer (`BEGIN IMMEDIATE` on
    /// SQLite). This is what keeps one valid chain when several processes append at once.
    /// If `build` fails, nothing is written.
    fn append(&mut self, build: &mut BuildRows<'_>) -> Result<(), LedgerError>;

    /// Calls `visit` with every row from `from_seq` on, in `seq` order, from one consistent
    /// snapshot, without loading them all at once.
    fn scan(&self, from_seq: u64, visit: &mut Visit<'_>) -> Result<(), LedgerError>;

    /// The row at `seq`.
    fn get(&self, seq: u64) -> Result<Option<Row>, LedgerError>;

    /// The last `limit` rows, in `seq` order.
    fn tail(&self, limit: usize) -> Result<Vec<Row>, LedgerError>;

    /// For each gate, its latest record with a decisive verdict (`pass`, `fail`, `error`)
    /// and its latest `skipped` record when that is later; all in `seq` order.
    fn latest_per_gate(&self) -> Result<Vec<Row>, LedgerError>;

    /// The gate's latest `limit` records, newest first.
    fn history(&self, gate: &str, limit: usize) -> Result<Vec<Row>, LedgerError>;

    /// The gate's latest `limit` records with this verdict (`pass`, `skipped`...), newest
    /// first.
    fn history_with_verdict(
        &self,
        gate: &str,
        verdict: &str,
        limit: usize,
    ) -> Result<Vec<Row>, LedgerError>;

    /// The `run_opened` and `head` rows of `run_id`, in `seq` order.
    fn run_markers(&self, run_id: &str) -> Result<Vec<Row>, LedgerError>;

    /// Every `run_opened` and `head` row, in `seq` order.
    fn markers(&self) -> Result<Vec<Row>, LedgerError>;

    /// The `(seq, hash)` of every record of `run_id`, in `seq` order.
    fn run_record_hashes(&self, run_id: &str) -> Result<Vec<(u64, Vec<u8>)>, LedgerError>;

    /// The number of records of each run that has any.
    fn record_counts(&self) -> Result<Vec<(String, u64)>, LedgerError>;
}
