use std::collections::BTreeMap;

use phasegate_engine::{Error, RunOptions, RunReport, Session, Supervisor};
use phasegate_model::Scorecard;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

use crate::cli::{Global, RunArgs};
use crate::exit;
use crate::progress::Progress;

pub fn run(global: &Global, args: &RunArgs) -> Result<u8, Error> {
    execute(&super::open(global)?, args, BTreeMap::new())
}

/// Runs the selected gates of `session`; `env` goes to every gate and service on top of
/// `PHASEGATE_EXE` (this binary, so roadmaps can call phasegate itself).
pub fn execute(
    session: &Session,
    args: &RunArgs,
    mut env: BTreeMap<String, String>,
) -> Result<u8, Error> {
    let mut plan = session.plan(&args.names)?;
    if args.changed {
        let (changed, unchanged) = session.changed(&plan)?;
        if !unchanged.is_empty() {
            eprintln!(
                "--changed: {} gate(s) unchanged since their evidence, not run",
                unchanged.len()
            );
        }
        plan = changed;
    }
    for g in &plan.signoffs {
        eprintln!("note: `{g}` is a sign-off gate: approved by people, not run");
    }
    if plan.gates.is_empty() {
        eprintln!("nothing to run");
        return Ok(exit::OK);
    }
    let exe =
        std::env::current_exe().map_err(Error::io("cannot find phasegate's own executable"))?;
    env.insert("PHASEGATE_EXE".into(), exe.display().to_string());
    let options = RunOptions {
        jobs: args.execution.jobs,
        grace: args.execution.grace,
        env,
        no_cache: args.no_cache,
    };
    // Orphaned descendants of gates are reparented here, so that none outlives the run.
    let _supervisor = Supervisor::install();
    let report = super::runtime()?.block_on(async {
        let cancel_rx = cancel_on_signals()?;
        let mut progress = Progress::new();
        let report = session
            .run(&plan, &options, |ev| progress.event(ev), cancel_rx)
            .await;
        progress.clear();
        report
    })?;
    print_report(&report);
    if args.explain {
        println!("cache:");
        print!(
            "{}",
            phasegate_report::run_explain(&report.decisions, report.scorecard.evaluated_at)
        );
    }
    Ok(if report.interrupted {
        exit::INTERRUPTED
    } else {
        exit::ok_if(report.all_passed())
    })
}

pub(super) fn print_report(report: &RunReport) {
    print!(
        "{}",
        phasegate_report::run_table(&report.records, super::width())
    );
    println!(
        "run {} {}: {} records, head signed by key {} in {}",
        report.run_id,
        if report.interrupted {
            "interrupted"
        } else {
            "closed"
        },
        report.head.records,
        report.head.key_id,
        report.location
    );
    summary_line(&report.scorecard);
    for (phase, dir) in &report.snapshots {
        println!("phase `{phase}` is done: snapshot in {}", dir.display());
    }
}

/// A cancellation channel that turns true on SIGINT or SIGTERM. Call it inside the
/// runtime, before the first gate starts: an early Ctrl-C must not kill us.
pub(super) fn cancel_on_signals() -> Result<watch::Receiver<bool>, Error> {
    let (cancel_tx, cancel_rx) = watch::channel(false);
    let mut sigint = signal(SignalKind::interrupt()).map_err(Error::io("cannot handle SIGINT"))?;
    let mut sigterm =
        signal(SignalKind::terminate()).map_err(Error::io("cannot handle SIGTERM"))?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = sigint.recv() => interrupt(&cancel_tx),
                _ = sigterm.recv() => interrupt(&cancel_tx),
            }
        }
    });
    Ok(cancel_rx)
}

fn interrupt(cancel: &watch::Sender<bool>) {
    if !cancel.send_replace(true) {
        eprintln!("interrupted: ending running gates, recording what finished");
    }
}

fn summary_line(card: &Scorecard) {
    if card.go {
        println!("scorecard: GO");
    } else {
        println!(
            "scorecard: NO-GO ({}); see `phasegate status`",
            card.reasons.join("; ")
        );
    }
}
