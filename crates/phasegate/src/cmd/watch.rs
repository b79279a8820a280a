//! `phasegate watch`: the engine's watch loop with a board on the terminal.

use std::collections::BTreeMap;
use std::io::IsTerminal;

use phasegate_engine::{Error, RunOptions, Trigger, WatchEvent, WatchOptions};

use crate::cli::{Global, WatchArgs};
use crate::exit;
use crate::progress::Progress;

pub fn watch(global: &Global, args: &WatchArgs) -> Result<u8, Error> {
    let options = super::options(global)?;
    let watch = watch_options(args, false)?;
    let _supervisor = phasegate_engine::Supervisor::install();
    let redraw = std::io::stdout().is_terminal();
    super::runtime()?.block_on(async {
        let cancel = super::run::cancel_on_signals()?;
        let mut progress = Progress::new();
        phasegate_engine::watch(
            &options,
            &watch,
            |ev| board(ev, &mut progress, redraw),
            cancel,
        )
        .await
    })?;
    Ok(exit::INTERRUPTED)
}

/// The engine's options for `args`: every gate and service gets `PHASEGATE_EXE`.
pub(super) fn watch_options(args: &WatchArgs, schedules: bool) -> Result<WatchOptions, Error> {
    let exe =
        std::env::current_exe().map_err(Error::io("cannot find phasegate's own executable"))?;
    Ok(WatchOptions {
        names: args.names.clone(),
        run: RunOptions {
            jobs: args.execution.jobs,
            grace: args.execution.grace,
            env: BTreeMap::from([("PHASEGATE_EXE".to_owned(), exe.display().to_string())]),
            no_cache: args.no_cache,
        },
        debounce: args.debounce,
        schedules,
    })
}

/// Shows one event of the loop: progress while a cycle runs, then the board again (the
/// screen cleared first on a terminal, so the board stays in place).
fn board(ev: WatchEvent<'_>, progress: &mut Progress, redraw: bool) {
    match ev {
        WatchEvent::Watching { root } => {
            eprintln!("watching {} (Ctrl-C to stop)", root.display());
        }
        WatchEvent::Run(ev) => progress.event(ev),
        WatchEvent::Ran(report) => {
            progress.clear();
            if redraw {
                // Clear the screen and go home: the board replaces the previous one.
                print!("\x1b[2J\x1b[H");
            }
            print!(
                "{}",
                phasegate_report::status_table(&report.scorecard, super::width())
            );
            super::run::print_report(report);
        }
        other => eprintln!("{}", line(&other)),
    }
}

/// One line saying what the loop did, for the terminal and the daemon's log.
pub(super) fn line(ev: &WatchEvent<'_>) -> String {
    match ev {
        WatchEvent::Watching { root } => format!("watching {}", root.display()),
        WatchEvent::Invalid(e) => format!(
            "the roadmap does not load; watching for a fix:\n{}",
            diagnostic(e)
        ),
        WatchEvent::Cycle { trigger, plan } => format!(
            "cycle ({}): running {}",
            trigger_text(trigger),
            join(plan.gates.iter().map(|g| g.as_str()))
        ),
        WatchEvent::Run(_) => String::new(),
        WatchEvent::Ran(report) => format!(
            "run {} {}: {} passed of {}; scorecard {}",
            report.run_id,
            if report.interrupted {
                "interrupted"
            } else {
                "closed"
            },
            report
                .records
                .iter()
                .filter(|r| r.verdict == phasegate_model::Verdict::Pass)
                .count(),
            report.records.len(),
            if report.scorecard.go { "GO" } else { "NO-GO" }
        ),
        WatchEvent::Unchanged { trigger } => {
            format!("{}: no gate's key changed", trigger_text(trigger))
        }
        WatchEvent::Deferred(gates) => format!(
            "in cooldown: {}",
            join(gates.iter().map(|(g, at)| format!("{g} until {at:.0}")))
        ),
        WatchEvent::Failed(e) => format!("cycle failed: {e}"),
        WatchEvent::Idle { next: [] } => "waiting for changes".to_owned(),
        WatchEvent::Idle { next } => format!(
            "waiting; next: {}",
            join(next.iter().map(|(g, at)| format!("{g} at {at:.0}")))
        ),
    }
}

/// The diagnostic as miette renders it on a terminal (file:line:column, the span).
fn diagnostic(e: &Error) -> String {
    let mut out = String::new();
    let handler =
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor());
    if handler.render_report(&mut out, e).is_err() {
        return e.to_string();
    }
    out
}

fn trigger_text(t: &Trigger) -> String {
    match t {
        Trigger::Start => "start".to_owned(),
        Trigger::Changed(paths) => format!(
            "changed: {}",
            join(paths.iter().take(5).map(|p| p.display().to_string()))
                + if paths.len() > 5 { ", ..." } else { "" }
        ),
        Trigger::Due(gates) => format!("due: {}", join(gates.iter().map(|g| g.as_str()))),
        Trigger::CooledDown(gates) => {
            format!("cooldown over: {}", join(gates.iter().map(|g| g.as_str())))
        }
    }
}

fn join<S: AsRef<str>>(items: impl Iterator<Item = S>) -> String {
    items
        .map(|s| s.as_ref().to_owned())
        .collect::<Vec<_>>()
        .join(", ")
}
