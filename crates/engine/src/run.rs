//! Running a selection of gates: the run opened in the ledger, every record stored as it
//! happens, the run closed with a signed head, and snapshots of the phases it completed.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use jiff::Timestamp;
use phasegate_ledger::{Head, Ledger, RunOpened, RunStatus};
use phasegate_model::{
    CacheDecision, Gate, GateId, GateKind, GateState, PhaseId, Record, Roadmap, Scorecard, Verdict,
};
use phasegate_runner::{Event, RunContext, Signoff};
use tokio::sync::{mpsc, watch};

use crate::{Error, Session};

/// What a run will do, resolved from the names asked for.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The phases and gates named (empty: every phase).
    pub names: Vec<String>,
    /// The gates to run, with everything they need.
    pub gates: Vec<GateId>,
    /// Sign-off gates of the selection: approved by people, never run.
    pub signoffs: Vec<GateId>,
}

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Gates running at once; `None` is the number of cores.
    pub jobs: Option<usize>,
    /// Time a gate gets between SIGTERM and SIGKILL when it is ended.
    pub grace: Duration,
    /// Environment given to every gate and service (e.g. `PHASEGATE_EXE`).
    pub env: BTreeMap<String, String>,
    /// Run every gate, reusing no evidence (`--no-cache`); keys are still recorded.
    pub no_cache: bool,
}

/// What a run did.
#[derive(Debug)]
pub struct RunReport {
    /// The run's id.
    pub run_id: String,
    /// The final record of every gate that ran or was skipped, in completion order.
    pub records: Vec<Record>,
    /// Whether the run was stopped early.
    pub interrupted: bool,
    /// The signed head that closed the run.
    pub head: Head,
    /// Where the ledger is.
    pub location: String,
    /// The scorecard after the run.
    pub scorecard: Scorecard,
    /// Phases the run completed, with the directory of their snapshot.
    pub snapshots: Vec<(PhaseId, PathBuf)>,
    /// What the cache decided for each gate that could start: reused (cached) or ran, and
    /// why (what changed since its evidence).
    pub decisions: BTreeMap<GateId, CacheDecision>,
}

impl RunReport {
    /// Whether every gate that ran passed (and the run was not interrupted).
    pub fn all_passed(&self) -> bool {
        !self.interrupted && self.records.iter().all(|r| r.verdict == Verdict::Pass)
    }
}

impl Session {
    /// Resolves `names` (phases or gates; none: every phase) into what a run does.
    pub fn plan(&self, names: &[String]) -> Result<Plan, Error> {
        let roadmap = self.roadmap();
        let selected = roadmap.select(names).map_err(|unknown| {
            let known = roadmap
                .phases
                .iter()
                .map(|p| p.id.as_str())
                .chain(roadmap.gates.iter().map(|g| g.id.as_str()));
            Error::usage(
                format!("no phase or gate named `{}`", unknown.join("`, `")),
                crate::error::suggest(&unknown[0], known),
            )
        })?;
        // Sign-off gates are approved by people; the runner never executes or records them.
        let (signoffs, gates): (Vec<&Gate>, Vec<&Gate>) = selected
            .into_iter()
            .partition(|g| matches!(g.kind, GateKind::Signoff { .. }));
        Ok(Plan {
            names: names.to_vec(),
            gates: gates.into_iter().map(|g| g.id.clone()).collect(),
            signoffs: signoffs.into_iter().map(|g| g.id.clone()).collect(),
        })
    }

    /// Runs the gates of `plan`, storing each record as it arrives and reporting progress to
    /// `observe`; `cancel` turning true ends the running gates (as on timeout) and closes
    /// the run as interrupted. Evidence that cannot be stored stops the run too, and is
    /// returned as the error once the run is closed.
    ///
    /// The process should hold a [`phasegate_runner::Supervisor`] while this runs, so that
    /// descendants of gates that escaped their process group are found and ended.
    pub async fn run(
        &self,
        plan: &Plan,
        options: &RunOptions,
        mut observe: impl FnMut(&Event),
        cancel: watch::Receiver<bool>,
    ) -> Result<RunReport, Error> {
        // The key first: one refused (inside a work tree) must leave nothing behind.
        let key = self.signing_key()?;
        let mut ledger = self.ledger()?;
        // To tell which phases this run completes, for their snapshots, and which evidence
        // the cache may reuse.
        let (before, entries) = self.evaluate()?;
        let cache = self.cache_context(&ledger, &before, &entries, !options.no_cache)?;
        let provenance = self.provenance()?;
        let run_id = provenance.run_id.clone();
        ledger.open_run(&RunOpened::new(
            &provenance,
            Timestamp::now(),
            plan.names.clone(),
        ))?;
        let mut ctx = self.run_context(provenance, options, &key, &before);
        ctx.cache = cache;
        ctx.baselines = self.load_baselines(&ledger)?;
        let (records, interrupted, decisions, store_error, mut ledger) =
            execute(self, plan, ctx, ledger, &mut observe, cancel).await;
        let status = if interrupted {
            RunStatus::Interrupted
        } else {
            RunStatus::Completed
        };
        let head = ledger.close_run(&run_id, status, &key)?;
        if let Some(e) = store_error {
            return Err(e);
        }
        let (scorecard, entries) = self.evaluate()?;
        let snapshots = if interrupted {
            Vec::new()
        } else {
            self.snapshot_newly_done(&before, &scorecard, &entries)?
        };
        Ok(RunReport {
            run_id,
            records,
            interrupted,
            head,
            location: ledger.location(),
            scorecard,
            snapshots,
            decisions,
        })
    }

    fn run_context(
        &self,
        provenance: phasegate_model::Provenance,
        options: &RunOptions,
        key: &phasegate_ledger::Key,
        before: &Scorecard,
    ) -> RunContext {
        RunContext {
            provenance,
            root: self.root.clone(),
            ledger_dir: self.ledger_dir.clone(),
            jobs: options
                .jobs
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
            grace: options.grace,
            project: self.roadmap().project.clone(),
            env: options.env.clone(),
            secret_values: self.secret_values(),
            withheld_vars: self.withheld_vars(),
            own_secrets: self.own_secrets(key),
            signoffs: signoffs(self.roadmap(), before),
            cache: Default::default(),
            baselines: BTreeMap::new(),
        }
    }
}

/// Where each sign-off gate stands on `card`, for the runner: a gate needing one runs only
/// when it passes (approved by enough people) or is waived.
fn signoffs(roadmap: &Roadmap, card: &Scorecard) -> BTreeMap<GateId, Signoff> {
    roadmap
        .gates
        .iter()
        .filter(|g| matches!(g.kind, GateKind::Signoff { .. }))
        .filter_map(|g| card.gate(g.id.as_str()))
        .map(|s| {
            let state = match s.state {
                GateState::Pass | GateState::Waived => Signoff::Satisfied,
                _ => Signoff::Waiting(format!("waiting for approval of `{}`: {}", s.id, s.reason)),
            };
            (s.id.clone(), state)
        })
        .collect()
}

/// Drives the runner: forwards its events to `observe`, has every record stored, and
/// cancels the run when asked to or when a record cannot be stored. Gives the ledger back.
///
/// Records are committed by a [`Writer`] on a thread of its own, so that the runner goes
/// on starting gates while a commit waits for the disk, and records finishing meanwhile
/// share the next commit (one fsync). A record reaches `observe` only once committed.
async fn execute(
    session: &Session,
    plan: &Plan,
    ctx: RunContext,
    ledger: Ledger,
    observe: &mut impl FnMut(&Event),
    mut cancel: watch::Receiver<bool>,
) -> (
    Vec<Record>,
    bool,
    BTreeMap<GateId, CacheDecision>,
    Option<Error>,
    Ledger,
) {
    let roadmap = session.roadmap();
    let gates: Vec<&Gate> = plan
        .gates
        .iter()
        .filter_map(|id| roadmap.gate(id.as_str()))
        .collect();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = watch::channel(*cancel.borrow());
    let (writer, mut stored) = Writer::start(ledger);
    let mut store_error = None;
    let mut on_stored = |batch: Stored, observe: &mut dyn FnMut(&Event)| match batch {
        Ok(records) => {
            for r in records {
                observe(&Event::Finished(r));
            }
        }
        Err(e) => {
            store_error.get_or_insert(e);
            // Evidence that cannot be stored must not be produced: stop the run.
            stop_tx.send_replace(true);
        }
    };
    let run = phasegate_runner::run(roadmap, &gates, ctx, tx, stop_rx);
    tokio::pin!(run);
    let mut caller_gone = false;
    let outcome = loop {
        tokio::select! {
            Some(ev) = rx.recv() => match ev {
                Event::Finished(record) => writer.store(record),
                started => observe(&started),
            },
            Some(batch) = stored.recv() => on_stored(batch, observe),
            changed = cancel.changed(), if !caller_gone => match changed {
                Ok(()) if *cancel.borrow() => { stop_tx.send_replace(true); }
                Ok(()) => {}
                // The caller dropped its sender: nobody can cancel any more.
                Err(_) => caller_gone = true,
            },
            outcome = &mut run => break outcome,
        }
    };
    while let Ok(ev) = rx.try_recv() {
        match ev {
            Event::Finished(record) => writer.store(record),
            started => observe(&started),
        }
    }
    // The runner is done: close the writer's queue and report what it still commits.
    let handle = writer.finish();
    while let Some(batch) = stored.recv().await {
        on_stored(batch, observe);
    }
    let ledger = handle.await.expect("the ledger writer does not panic");
    (
        outcome.records,
        outcome.interrupted,
        outcome.decisions,
        store_error,
        ledger,
    )
}

/// Longest a commit waits for more records after the first of its group.
const LINGER: Duration = Duration::from_millis(25);

/// A commit goes ahead once no record has come for this long.
const LINGER_GAP: Duration = Duration::from_millis(5);

/// What one commit of the [`Writer`] did: the records it stored, in order, or why it could
/// not store them.
type Stored = Result<Vec<Box<Record>>, Error>;

/// Commits records on a blocking thread: each commit takes every record queued by then and
/// those following closely (see [`LINGER`]), in one transaction, so that records finishing
/// together cost one fsync. A transaction is
/// all or nothing, so a SIGKILL at any moment leaves each record either stored or absent,
/// and the chain whole.
struct Writer {
    queue: std::sync::mpsc::Sender<Box<Record>>,
    thread: tokio::task::JoinHandle<Ledger>,
}

impl Writer {
    fn start(mut ledger: Ledger) -> (Writer, mpsc::UnboundedReceiver<Stored>) {
        let (queue, pending) = std::sync::mpsc::channel::<Box<Record>>();
        let (done, stored) = mpsc::unbounded_channel();
        let thread = tokio::task::spawn_blocking(move || {
            // Blocks for the first record of a batch, then takes what else comes while the
            // records keep arriving (cached gates finish milliseconds apart), for at most
            // `LINGER`: on a busy disk one fsync costs more than the wait. The run ending
            // closes the queue, which ends the wait at once.
            while let Ok(first) = pending.recv() {
                let mut batch = vec![first];
                let until = std::time::Instant::now() + LINGER;
                loop {
                    batch.extend(pending.try_iter());
                    let left = until.saturating_duration_since(std::time::Instant::now());
                    match pending.recv_timeout(left.min(LINGER_GAP)) {
                        Ok(r) => batch.push(r),
                        Err(_) => break,
                    }
                }
                let result = ledger
                    .append_records(batch.iter().map(|r| &**r))
                    .map(|_| batch)
                    .map_err(Error::from);
                if done.send(result).is_err() {
                    break;
                }
            }
            ledger
        });
        (Writer { queue, thread }, stored)
    }

    /// Queues `record` for the next commit.
    fn store(&self, record: Box<Record>) {
        // The thread only stops once the queue is closed, by `finish`.
        let _ = self.queue.send(record);
    }

    /// Closes the queue: the thread commits what is left, then ends.
    fn finish(self) -> tokio::task::JoinHandle<Ledger> {
        drop(self.queue);
        self.thread
    }
}
