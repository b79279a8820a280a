//! Driving a run: gates start as soon as what they need has passed, up to `jobs` at once;
//! a gate whose need did not pass is skipped with the reason.

use std::sync::Arc;

use phasegate_model::{Gate, Record, Roadmap};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::attempt::{self, GateJob};
use crate::dag::Dag;
use crate::service::Services;
use crate::{Event, RunContext, gate_secrets, tree};

/// How a run ended.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// The final record of every gate that ran or was skipped, in completion order.
    pub records: Vec<Record>,
    /// Whether the run was interrupted (gates that had not started are not in `records`).
    pub interrupted: bool,
}

/// Runs `gates` (which must include everything they need; see [`Roadmap::select`]).
/// Every record is sent on `events` as soon as it exists; `cancel` turning true ends the
/// running gates as on timeout and starts no new one.
pub async fn run(
    roadmap: &Roadmap,
    gates: &[&Gate],
    ctx: RunContext,
    events: mpsc::UnboundedSender<Event>,
    cancel: watch::Receiver<bool>,
) -> RunOutcome {
    tree::become_subreaper();
    let ctx = Arc::new(ctx);
    let services = Arc::new(Services::new(
        roadmap.services.clone(),
        ctx.root.clone(),
        ctx.ledger_dir.join("logs").join(&ctx.run_id),
        ctx.run_id.clone(),
        ctx.env.clone(),
        ctx.grace,
    ));
    let scheduler = Scheduler {
        roadmap,
        ctx: ctx.clone(),
        services: services.clone(),
        events,
        cancel,
    };
    let records = scheduler.drive(Dag::new(gates)).await;
    // Services go at the end of the run, whatever happened: failure, timeout or Ctrl-C.
    services.stop_all().await;
    // Anything reparented to us that no gate accounted for must not outlive the run.
    tree::sweep(ctx.grace).await;
    RunOutcome {
        records,
        interrupted: *scheduler.cancel.borrow(),
    }
}

/// What every gate of a run shares.
struct Scheduler<'a> {
    roadmap: &'a Roadmap,
    ctx: Arc<RunContext>,
    services: Arc<Services>,
    events: mpsc::UnboundedSender<Event>,
    cancel: watch::Receiver<bool>,
}

impl Scheduler<'_> {
    /// Runs the gates of `dag` to the end (or the cancel); returns their final records.
    async fn drive(&self, mut dag: Dag<'_>) -> Vec<Record> {
        let jobs = self.ctx.jobs.max(1);
        let mut records = Vec::new();
        let mut running = JoinSet::new();
        let mut alone = false;
        loop {
            while running.len() < jobs && !alone && !*self.cancel.borrow() {
                let Some(g) = dag.take_ready(running.is_empty()) else {
                    break;
                };
                alone = g.exclusive;
                running.spawn(attempt::run_gate(
                    self.job(g),
                    self.ctx.clone(),
                    self.services.clone(),
                    self.events.clone(),
                    self.cancel.clone(),
                ));
            }
            let Some(done) = running.join_next().await else {
                break;
            };
            // When an exclusive gate ran, it was the only one: whatever finished, it is over.
            alone = false;
            let record = done.expect("a gate task never panics");
            let skipped = dag.settle(&record.gate, record.verdict);
            records.push(record);
            for (g, why) in skipped {
                let rec = attempt::skipped(&self.job(g), &self.ctx, why);
                records.push(attempt::emit(&self.events, rec));
            }
        }
        records
    }

    fn job(&self, g: &Gate) -> GateJob {
        GateJob {
            gate: g.clone(),
            phases: self.roadmap.phases_of(&g.id),
            secrets: gate_secrets(g, &self.roadmap.project, &self.ctx.secret_values),
        }
    }
}
