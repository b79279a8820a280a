//! Phase snapshots: `phasegate close PHASE [--tag]`, and the snapshot `run` writes when a
//! phase becomes done.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use jiff::Timestamp;
use phasegate_ledger::{Entry, Ledger};
use phasegate_model::{PhaseState, Scorecard};
use phasegate_report::{SNAPSHOT_VERSION, Snapshot, SnapshotGate, SnapshotHead};

use crate::cli::{CloseArgs, Global};
use crate::project::Project;
use crate::{Error, exit};

/// Records read per gate to find the one its state rests on.
const HISTORY: usize = 50;

pub fn close(global: &Global, args: &CloseArgs) -> Result<u8, Error> {
    let project = Project::load(global)?;
    let Some(phase) = project.loaded.roadmap.phase(&args.phase) else {
        let known = project.loaded.roadmap.phases.iter().map(|p| p.id.as_str());
        return Err(Error::usage(
            format!("no phase named `{}`", args.phase),
            crate::error::suggest(&args.phase, known),
        ));
    };
    let card = super::status::scorecard(&project)?;
    let status = card
        .phases
        .iter()
        .find(|p| p.id == phase.id)
        .expect("every phase is on the scorecard");
    if status.state != PhaseState::Done {
        println!(
            "phase `{}` is {}, not done:",
            phase.id,
            status.state.as_str().replace('_', " ")
        );
        for r in &status.reasons {
            println!("  {r}");
        }
        return Ok(exit::FAILED);
    }
    if args.tag {
        ensure_clean(&project)?;
    }
    let (snapshot, dir) = write(&project, &card, phase.id.as_str())?;
    println!(
        "phase `{}` closed: snapshot in {}",
        snapshot.phase,
        dir.display()
    );
    if args.tag {
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
        git(&project, &["tag", "-a", &name, "-m", &message])?;
        println!("tagged {name}");
    }
    Ok(exit::OK)
}

/// Writes a snapshot for every phase that is done in `after` but was not in `before`.
pub fn snapshot_newly_done(
    project: &Project,
    before: &Scorecard,
    after: &Scorecard,
) -> Result<(), Error> {
    for p in after.phases.iter().filter(|p| p.state == PhaseState::Done) {
        let was_done = before
            .phases
            .iter()
            .any(|b| b.id == p.id && b.state == PhaseState::Done);
        if !was_done {
            let (_, dir) = write(project, after, p.id.as_str())?;
            println!("phase `{}` is done: snapshot in {}", p.id, dir.display());
        }
    }
    Ok(())
}

fn write(project: &Project, card: &Scorecard, phase: &str) -> Result<(Snapshot, PathBuf), Error> {
    let snapshot = build(project, card, phase)?;
    let base = format!("{phase}-{}", snapshot.closed_at.strftime("%Y%m%dT%H%M%SZ"));
    let snapshots = project.ledger_dir.join("snapshots");
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

fn build(project: &Project, card: &Scorecard, phase_id: &str) -> Result<Snapshot, Error> {
    let roadmap = &project.loaded.roadmap;
    let phase = roadmap
        .phase(phase_id)
        .expect("the caller checked the phase exists");
    let ledger = project.ledger()?;
    let mut gates = Vec::new();
    let mut runs = BTreeSet::new();
    for id in roadmap.phase_gates(phase) {
        let status = card
            .gate(id.as_str())
            .expect("every roadmap gate is on the scorecard");
        let gate = roadmap.gate(id.as_str()).expect("phase gates exist");
        // The record the gate's state rests on: the one the scorecard names.
        let entry = ledger
            .history(id.as_str(), HISTORY)?
            .into_iter()
            .find(|e| match &e.entry {
                Entry::Record(r) => {
                    Some(&r.run_id) == status.run_id.as_ref()
                        && Some(r.started_at) == status.last_run
                }
                _ => false,
            });
        if let Some(run) = &status.run_id {
            runs.insert(run.clone());
        }
        gates.push(SnapshotGate {
            id: id.to_string(),
            state: status.state.to_string(),
            seq: entry.as_ref().map(|e| e.seq),
            hash: entry.as_ref().map(|e| e.hash.clone()),
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
        roadmap_sha256: project.loaded.sha256.clone(),
        git: phasegate_runner::git_info(&project.root),
        gates,
        heads: heads(&ledger, &runs)?,
    })
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

fn ensure_clean(project: &Project) -> Result<(), Error> {
    let out = git(project, &["status", "--porcelain", "--untracked-files=no"])?;
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

fn git(project: &Project, args: &[&str]) -> Result<String, Error> {
    let out = Command::new("git")
        .arg("-C")
        .arg(&project.root)
        .args(args)
        .output()
        .map_err(Error::io("cannot run git"))?;
    if !out.status.success() {
        return Err(Error::usage(
            format!(
                "git {} failed: {}",
                args.first().unwrap_or(&""),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            "tagging needs the roadmap to be in a git work tree",
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
