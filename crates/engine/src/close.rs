//! Phase snapshots: closing a done phase on demand, and the snapshot a run writes when it
//! completes a phase.

use std::collections::BTreeSet;
use std::path::PathBuf;

use jiff::Timestamp;
use phasegate_ledger::{Entry, Ledger, StoredEntry};
use phasegate_model::{PhaseId, PhaseState, Scorecard};
use phasegate_report::{SNAPSHOT_VERSION, Snapshot, SnapshotGate, SnapshotHead};

use crate::{Error, Session};

/// What closing a phase did.
#[derive(Debug)]
pub enum Closed {
    /// The phase is not done: nothing was written.
    NotDone {
        /// The phase.
        phase: PhaseId,
        /// Its state.
        state: PhaseState,
        /// Why it is not done.
        reasons: Vec<String>,
    },
    /// The snapshot was written (and the tag made, when asked).
    Snapshot {
        /// The snapshot.
        snapshot: Box<Snapshot>,
        /// Where its manifest and report are.
        dir: PathBuf,
        /// The annotated git tag made, when asked for.
        tag: Option<String>,
    },
}

impl Session {
    /// Snapshots the done phase `phase` (manifest + report under `snapshots/` of the ledger
    /// directory); with `tag`, also an annotated git tag, refused on a dirty work tree.
    pub fn close(&self, phase: &str, tag: bool) -> Result<Closed, Error> {
        let roadmap = self.roadmap();
        let Some(phase) = roadmap.phase(phase) else {
            let known = roadmap.phases.iter().map(|p| p.id.as_str());
            return Err(Error::unknown("phase", phase, known));
        };
        let (card, entries) = self.evaluate()?;
        let status = card
            .phases
            .iter()
            .find(|p| p.id == phase.id)
            .expect("every phase is on the scorecard");
        if status.state != PhaseState::Done {
            return Ok(Closed::NotDone {
                phase: phase.id.clone(),
                state: status.state,
                reasons: status.reasons.clone(),
            });
        }
        if tag {
            self.ensure_clean()?;
        }
        let (snapshot, dir) = self.write_snapshot(&card, &entries, phase.id.as_str())?;
        let tag = if tag {
            Some(self.tag(&snapshot)?)
        } else {
            None
        };
        Ok(Closed::Snapshot {
            snapshot: Box::new(snapshot),
            dir,
            tag,
        })
    }

    /// Writes a snapshot for every phase that is done in `after` but was not in `before`.
    pub(crate) fn snapshot_newly_done(
        &self,
        before: &Scorecard,
        after: &Scorecard,
        entries: &[StoredEntry],
    ) -> Result<Vec<(PhaseId, PathBuf)>, Error> {
        let mut written = Vec::new();
        for p in after.phases.iter().filter(|p| p.state == PhaseState::Done) {
            let was_done = before
                .phases
                .iter()
                .any(|b| b.id == p.id && b.state == PhaseState::Done);
            if !was_done {
                let (_, dir) = self.write_snapshot(after, entries, p.id.as_str())?;
                written.push((p.id.clone(), dir));
            }
        }
        Ok(written)
    }

    fn write_snapshot(
        &self,
        card: &Scorecard,
        entries: &[StoredEntry],
        phase: &str,
    ) -> Result<(Snapshot, PathBuf), Error> {
        let snapshot = self.snapshot(card, entries, phase)?;
        let base = format!("{phase}-{}", snapshot.closed_at.strftime("%Y%m%dT%H%M%SZ"));
        let snapshots = self.state_dir()?.join("snapshots");
        // Two snapshots of a phase within a second must not overwrite each other.
        let dir = std::iter::once(base.clone())
            .chain((2..).map(|n| format!("{base}-{n}")))
            .map(|name| snapshots.join(name))
            .find(|d| !d.exists())
            .expect("an unused name exists");
        std::fs::create_dir_all(&dir)
            .map_err(Error::io(format!("cannot create `{}`", dir.display())))?;
        for (name, text) in [
            ("manifest.json", snapshot.to_json()),
            ("report.md", snapshot.to_markdown()),
        ] {
            let path = dir.join(name);
            std::fs::write(&path, text)
                .map_err(Error::io(format!("cannot write `{}`", path.display())))?;
        }
        Ok((snapshot, dir))
    }

    /// The snapshot of `phase_id`: each gate with the ledger entry its state rests on, found
    /// among the entries the scorecard was evaluated on.
    fn snapshot(
        &self,
        card: &Scorecard,
        entries: &[StoredEntry],
        phase_id: &str,
    ) -> Result<Snapshot, Error> {
        let roadmap = self.roadmap();
        let phase = roadmap
            .phase(phase_id)
            .expect("the caller checked the phase exists");
        let mut gates = Vec::new();
        let mut runs = BTreeSet::new();
        for id in roadmap.phase_gates(phase) {
            let status = card
                .gate(id.as_str())
                .expect("every roadmap gate is on the scorecard");
            let gate = roadmap.gate(id.as_str()).expect("phase gates exist");
            let entry = entries.iter().find(|e| match &e.entry {
                Entry::Record(r) => {
                    r.gate == id
                        && Some(&r.run_id) == status.run_id.as_ref()
                        && Some(r.started_at) == status.last_run
                }
                _ => false,
            });
            if let Some(run) = &status.run_id {
                runs.insert(run.clone());
            }
            gates.push(SnapshotGate {
                id: id.to_string(),
                state: status.state_label(),
                seq: entry.map(|e| e.seq),
                hash: entry.map(|e| e.hash.clone()),
                run_id: status.run_id.clone(),
                started_at: status.last_run,
                rule: gate.kind.describe(),
            });
        }
        Ok(Snapshot {
            version: SNAPSHOT_VERSION,
            phase: phase.id.to_string(),
            title: phase.title.clone(),
            closed_at: Timestamp::now(),
            roadmap_sha256: self.loaded.sha256.clone(),
            git: phasegate_runner::git_info(&self.root, None),
            gates,
            heads: heads(&self.ledger()?, &runs)?,
        })
    }

    fn ensure_clean(&self) -> Result<(), Error> {
        let out = phasegate_runner::git_status(&self.root).map_err(git_failed("status"))?;
        if !out.trim().is_empty() {
            let files: Vec<&str> = out.lines().take(5).collect();
            return Err(Error::usage(
                format!(
                    "refusing to tag: the working tree has uncommitted changes ({})",
                    files.join("; ").trim()
                ),
                "commit or stash them, then run `phasegate close PHASE --tag` again",
            ));
        }
        Ok(())
    }

    /// Makes the annotated tag `phase-<id>-<time>` carrying the snapshot's report.
    fn tag(&self, snapshot: &Snapshot) -> Result<String, Error> {
        let name = format!(
            "phase-{}-{}",
            snapshot.phase,
            snapshot.closed_at.strftime("%Y%m%dT%H%M%SZ")
        );
        let message = format!(
            "phase {} closed: {}\n\n{}",
            snapshot.phase,
            snapshot.title,
            snapshot.to_markdown()
        );
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(&self.root)
            .args(["tag", "-a", &name, "-m", &message])
            .output()
            .map_err(Error::io("cannot run git"))?;
        if !out.status.success() {
            return Err(git_failed("tag")(
                String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            ));
        }
        Ok(name)
    }
}

fn git_failed(what: &'static str) -> impl FnOnce(String) -> Error {
    move |why| {
        Error::usage(
            format!("git {what} failed: {why}"),
            "tagging needs the roadmap to be in a git work tree",
        )
    }
}

fn heads(ledger: &Ledger, runs: &BTreeSet<String>) -> Result<Vec<SnapshotHead>, Error> {
    let mut out = Vec::new();
    for run in runs {
        if let Some(h) = ledger.head(run)? {
            out.push(SnapshotHead {
                run_id: h.run_id,
                root: h.root,
                key_id: h.key_id,
                signature: h.signature,
            });
        }
    }
    Ok(out)
}
