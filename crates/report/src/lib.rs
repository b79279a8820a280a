//! Renderers: pure functions from phasegate's data (scorecard, records, roadmap) to text.
//! They never read files or the ledger and never print; the binary writes what they return.

mod check;
mod evidence;
mod json;
mod probe;
mod run;
mod snapshot;
mod status;
mod why;

pub use check::check_summary;
pub use evidence::{EntryRow, VerifySummary, entry_list, verification};
pub use json::{STATUS_JSON_VERSION, status_json};
pub use probe::{ProbeView, probe_json, probe_text};
pub use run::run_table;
pub use snapshot::{SNAPSHOT_VERSION, Snapshot, SnapshotGate, SnapshotHead};
pub use status::status_table;
pub use why::{run_explain, why, why_cache};

use comfy_table::{ContentArrangement, Table, presets};

/// A table in the house style: compact UTF-8 borders, wrapped to the terminal width.
fn table(header: &[&str], width: Option<u16>) -> Table {
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED);
    t.set_content_arrangement(ContentArrangement::Dynamic);
    if let Some(w) = width {
        t.set_width(w);
    }
    t.set_header(header.iter().copied());
    t
}

/// `code, severity` (just the code for findings recorded before severities).
fn finding_label(f: &phasegate_model::Finding) -> String {
    match f.severity {
        Some(s) => format!("{}, {s}", f.code),
        None => f.code.clone(),
    }
}

/// `12ms`, `3.4s`, `2m 5s`: short enough for a table cell.
fn short_duration(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        humantime::format_duration(std::time::Duration::from_secs(ms / 1000)).to_string()
    }
}

/// Age of `t` at `now`, rounded to a readable unit: `5s ago`, `3h ago`, `12d ago`.
fn age(t: jiff::Timestamp, now: jiff::Timestamp) -> String {
    let secs = now.duration_since(t).as_secs().max(0);
    let (n, unit) = match secs {
        0..60 => (secs, "s"),
        60..3600 => (secs / 60, "m"),
        3600..86_400 => (secs / 3600, "h"),
        _ => (secs / 86_400, "d"),
    };
    format!("{n}{unit} ago")
}
