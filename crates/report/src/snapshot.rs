//! A phase snapshot: what closed a phase, as a manifest (JSON) and a readable report.

use std::fmt::Write;

use jiff::Timestamp;
use phasegate_model::GitInfo;
use serde::Serialize;

/// Version of the manifest; bump on any incompatible change.
pub const SNAPSHOT_VERSION: u32 = 1;

/// Everything that closed a phase: the gates, the evidence records (by ledger position and
/// hash), and the signed heads of the runs that produced them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    /// [`SNAPSHOT_VERSION`].
    pub version: u32,
    /// The phase.
    pub phase: String,
    /// Its title.
    pub title: String,
    /// When the snapshot was taken.
    pub closed_at: Timestamp,
    /// SHA-256 of the roadmap file.
    pub roadmap_sha256: String,
    /// The repository state.
    pub git: Option<GitInfo>,
    /// The gates of the phase with their evidence.
    pub gates: Vec<SnapshotGate>,
    /// Signed heads of the runs that produced the evidence.
    pub heads: Vec<SnapshotHead>,
}

/// A gate of the phase and the record that passed it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SnapshotGate {
    /// The gate.
    pub id: String,
    /// Its state on the scorecard (`pass`, `pass (partial: N skipped)`, or `waived`).
    pub state: String,
    /// Ledger sequence number of the evidence record.
    pub seq: Option<u64>,
    /// Chain hash of that record.
    pub hash: Option<String>,
    /// The run that produced it.
    pub run_id: Option<String>,
    /// When it ran.
    pub started_at: Option<Timestamp>,
    /// The rule, in one line.
    pub rule: String,
}

/// The signed head of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SnapshotHead {
    /// The run.
    pub run_id: String,
    /// Merkle root over its records.
    pub root: String,
    /// Signing key id.
    pub key_id: String,
    /// The ed25519 signature (hex).
    pub signature: String,
}

impl Snapshot {
    /// The manifest, pretty JSON.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a snapshot always serializes");
        s.push('\n');
        s
    }

    /// The readable report.
    pub fn to_markdown(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "# Phase `{}` closed: {}\n", self.phase, self.title);
        let _ = writeln!(
            o,
            "- closed at: {}",
            self.closed_at.strftime("%Y-%m-%d %H:%M:%S UTC")
        );
        match &self.git {
            Some(g) => {
                let dirty = if g.dirty {
                    " (with uncommitted changes)"
                } else {
                    ""
                };
                let _ = writeln!(o, "- commit: `{}` on `{}`{dirty}", g.commit, g.branch);
            }
            None => {
                let _ = writeln!(o, "- commit: not in a git work tree");
            }
        }
        let _ = writeln!(o, "- roadmap sha256: `{}`\n", self.roadmap_sha256);
        let _ = writeln!(
            o,
            "| gate | state | rule | evidence | run |\n|---|---|---|---|---|"
        );
        for g in &self.gates {
            let evidence = match (g.seq, &g.hash) {
                (Some(seq), Some(hash)) => {
                    format!("entry {seq}, `{}…`", &hash[..hash.len().min(16)])
                }
                _ => "-".to_owned(),
            };
            let rule = g.rule.replace('|', "\\|");
            let _ = writeln!(
                o,
                "| `{}` | {} | `{rule}` | {evidence} | {} |",
                g.id,
                g.state,
                g.run_id.as_deref().unwrap_or("-")
            );
        }
        let _ = writeln!(o, "\n## Signed run heads\n");
        for h in &self.heads {
            let _ = writeln!(
                o,
                "- run `{}`: root `{}`, key `{}`, signature `{}`",
                h.run_id, h.root, h.key_id, h.signature
            );
        }
        let _ = writeln!(
            o,
            "\nCheck it: `phasegate evidence verify`; each entry: `phasegate evidence show SEQ`."
        );
        o
    }
}
