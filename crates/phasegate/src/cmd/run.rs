use std::collections::BTreeMap;

use jiff::Timestamp;
use phasegate_ledger::{RunOpened, RunStatus};
use phasegate_model::{GateKind, Record};
use phasegate_runner::{Event, RunContext};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};

use crate::cli::{Global, RunArgs};
use crate::error::suggest;
use crate::progress::Progress;
use crate::project::Project;
use crate::{Error, exit};

pub fn run(global: &Global, args: &RunArgs) -> Result<u8, Error> {
    execute(&Project::load(global)?, args, BTreeMap::new())
}

/// Runs the selected gates of `project`; `env` goes to every gate and service on top of
/// `PHASEGATE_EXE` (this binary, so roadmaps can call phasegate itself).
pub fn execute(
    project: &Project,
    args: &RunArgs,
    mut env: BTreeMap<String, String>,
) -> Result<u8, Error> {
    let roadmap = &project.loaded.roadmap;
    let selected = roadmap.select(&args.names).map_err(|unknown| {
        let known = roadmap
            .phases
            .iter()
            .map(|p| p.id.as_str())
            .chain(roadmap.gates.iter().map(|g| g.id.as_str()));
        Error::usage(
            format!("no phase or gate named `{}`", unknown.join("`, `")),
            suggest(&unknown[0], known),
        )
    })?;
    // Sign-off gates are approved by people; a run never executes or records them.
    let (signoffs, gates): (Vec<_>, Vec<_>) = selected
        .into_iter()
        .partition(|g| matches!(g.kind, GateKind::Signoff { .. }));
    for g in &signoffs {
        eprintln!(
            "note: `{}` is a sign-off gate: approved by people, not run",
            g.id
        );
    }
    if gates.is_empty() {
        eprintln!("nothing to run");
        return Ok(exit::OK);
    }

    let mut ledger = project.ledger()?;
    let key = project.signing_key()?;
    // To tell which phases this run completes, for their snapshots.
    let before = super::status::scorecard(project)?;
    let run_id = new_run_id()?;
    let tool_version = env!("CARGO_PKG_VERSION").to_owned();
    let git = phasegate_runner::git_info(&project.root);
    let host = phasegate_runner::host_name();
    ledger.open_run(&RunOpened {
        v: phasegate_ledger::RUN_OPENED_VERSION,
        run_id: run_id.clone(),
        started_at: Timestamp::now(),
        roadmap_sha256: project.loaded.sha256.clone(),
        selection: args.names.clone(),
        git: git.clone(),
        host: host.clone(),
        tool_version: tool_version.clone(),
    })?;
    let ctx = RunContext {
        run_id: run_id.clone(),
        root: project.root.clone(),
        ledger_dir: project.ledger_dir.clone(),
        jobs: args
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        grace: args.grace,
        project: roadmap.project.clone(),
        roadmap_sha256: project.loaded.sha256.clone(),
        git,
        host,
        tool_version,
        env: {
            let exe = std::env::current_exe()
                .map_err(Error::io("cannot find phasegate's own executable"))?;
            env.insert("PHASEGATE_EXE".into(), exe.display().to_string());
            env
        },
        secret_values: secret_values(roadmap),
    };

    // The binary owns its process: orphans of gates are reparented to it and swept.
    let _supervisor = phasegate_runner::Supervisor::install();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::io("cannot start the async runtime"))?;
    let (records, interrupted, store_error) = runtime.block_on(async {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (cancel_tx, cancel_rx) = watch::channel(false);
        let mut sigint =
            signal(SignalKind::interrupt()).map_err(Error::io("cannot handle SIGINT"))?;
        let mut sigterm =
            signal(SignalKind::terminate()).map_err(Error::io("cannot handle SIGTERM"))?;
        let mut progress = Progress::new();
        let mut store_error = None;
        let mut store =
            |ev: Event, progress: &mut Progress, store_error: &mut Option<Error>| match ev {
                Event::Started {
                    gate,
                    attempt,
                    max_attempts,
                } => progress.started(gate.as_str(), attempt, max_attempts),
                Event::Finished(record) => {
                    progress.finished(&record);
                    if let Err(e) = ledger.append_record(&record) {
                        store_error.get_or_insert(Error::from(e));
                        // Evidence that cannot be stored must not be produced: stop the run.
                        cancel_tx.send_replace(true);
                    }
                }
            };
        let run = phasegate_runner::run(roadmap, &gates, ctx, tx, cancel_rx.clone());
        tokio::pin!(run);
        let outcome = loop {
            tokio::select! {
                Some(ev) = rx.recv() => store(ev, &mut progress, &mut store_error),
                _ = sigint.recv() => interrupt(&cancel_tx),
                _ = sigterm.recv() => interrupt(&cancel_tx),
                outcome = &mut run => break outcome,
            }
        };
        while let Ok(ev) = rx.try_recv() {
            store(ev, &mut progress, &mut store_error);
        }
        progress.clear();
        Ok::<_, Error>((outcome.records, outcome.interrupted, store_error))
    })?;
    drop(runtime);

    let status = if interrupted {
        RunStatus::Interrupted
    } else {
        RunStatus::Completed
    };
    let head = ledger.close_run(&run_id, status, &key)?;
    if let Some(e) = store_error {
        return Err(e);
    }
    print!("{}", phasegate_report::run_table(&records, super::width()));
    println!(
        "run {run_id} {}: {} records, head signed by key {} in {}",
        if interrupted { "interrupted" } else { "closed" },
        head.records,
        head.key_id,
        ledger.location()
    );
    let after = super::status::scorecard(project)?;
    summary_line(&after);
    if !interrupted {
        super::close::snapshot_newly_done(project, &before, &after)?;
    }
    Ok(if interrupted {
        exit::INTERRUPTED
    } else if records
        .iter()
        .all(|r: &Record| r.verdict == phasegate_model::Verdict::Pass)
    {
        exit::OK
    } else {
        exit::FAILED
    })
}

fn interrupt(cancel: &watch::Sender<bool>) {
    if !cancel.send_replace(true) {
        eprintln!("interrupted: ending running gates, recording what finished");
    }
}

fn summary_line(card: &phasegate_model::Scorecard) {
    if card.go {
        println!("scorecard: GO");
    } else {
        println!(
            "scorecard: NO-GO ({}); see `phasegate status`",
            card.reasons.join("; ")
        );
    }
}

/// Values of every declared secret variable present in phasegate's environment.
fn secret_values(roadmap: &phasegate_model::Roadmap) -> BTreeMap<String, String> {
    roadmap
        .gates
        .iter()
        .flat_map(|g| g.secret_names(&roadmap.project))
        .filter_map(|name| Some((name.to_owned(), std::env::var(name).ok()?)))
        .collect()
}

/// Sortable and unique: UTC time to the second, then 8 random hex digits.
pub(crate) fn new_run_id() -> Result<String, Error> {
    let mut rand = [0u8; 4];
    getrandom::fill(&mut rand).map_err(|e| Error::Io {
        what: "cannot read random bytes".into(),
        source: std::io::Error::other(e.to_string()),
    })?;
    Ok(format!(
        "{}-{}",
        Timestamp::now().strftime("%Y%m%dT%H%M%SZ"),
        hex::encode(rand)
    ))
}
