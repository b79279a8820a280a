//! The `needs` DAG: gates start as soon as what they need has passed, up to `jobs` at once;
//! a gate whose need did not pass is skipped with the reason.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use phasegate_model::{Gate, GateId, Record, Roadmap, Verdict};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::attempt::{self, GateJob};
use crate::service::Services;
use crate::{Event, RunContext, tree};

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
    let selected: BTreeSet<&GateId> = gates.iter().map(|g| &g.id).collect();
    let mut waiting: BTreeMap<&GateId, usize> = BTreeMap::new();
    let mut dependents: BTreeMap<&GateId, Vec<&GateId>> = BTreeMap::new();
    let mut ready: VecDeque<&Gate> = VecDeque::new();
    for g in gates {
        let needs: BTreeSet<&GateId> = g.needs.iter().filter(|n| selected.contains(n)).collect();
        for n in &needs {
            dependents.entry(n).or_default().push(&g.id);
        }
        if needs.is_empty() {
            ready.push_back(g);
        } else {
            waiting.insert(&g.id, needs.len());
        }
    }
    let by_id: BTreeMap<&GateId, &Gate> = gates.iter().map(|g| (&g.id, *g)).collect();
    let job = |g: &Gate| GateJob {
        gate: g.clone(),
        phases: roadmap.phases_of(&g.id),
        secrets: g
            .secret_names(&roadmap.project)
            .filter_map(|n| g.env.get(n).or_else(|| ctx.secret_values.get(n)).cloned())
            .collect(),
    };

    let services = Arc::new(Services::new(
        roadmap.services.clone(),
        ctx.root.clone(),
        ctx.ledger_dir.join("logs").join(&ctx.run_id),
        ctx.run_id.clone(),
        ctx.env.clone(),
        ctx.grace,
    ));
    let jobs = ctx.jobs.max(1);
    let mut records = Vec::with_capacity(gates.len());
    let mut running = JoinSet::new();
    let mut alone = false;
    loop {
        while running.len() < jobs && !alone && !*cancel.borrow() {
            let Some(&g) = ready.front() else { break };
            // An exclusive gate waits for the running ones to finish, then runs alone.
            if g.exclusive && !running.is_empty() {
                break;
            }
            ready.pop_front();
            alone = g.exclusive;
            running.spawn(attempt::run_gate(
                job(g),
                ctx.clone(),
                services.clone(),
                events.clone(),
                cancel.clone(),
            ));
        }
        let Some(done) = running.join_next().await else {
            break;
        };
        // When an exclusive gate ran, it was the only one: whatever finished, it is over.
        alone = false;
        let record = done.expect("a gate task never panics");
        let passed = record.verdict == Verdict::Pass;
        let mut finished = vec![(record.gate.clone(), passed)];
        records.push(record);
        // Settle dependents; a skip cascades to the dependents of the skipped gate.
        while let Some((id, passed)) = finished.pop() {
            for dep in dependents.get(&id).into_iter().flatten() {
                let Some(left) = waiting.get_mut(dep) else {
                    continue;
                };
                if passed {
                    *left -= 1;
                    if *left == 0 {
                        waiting.remove(dep);
                        ready.push_back(by_id[dep]);
                    }
                } else {
                    waiting.remove(dep);
                    let why = match records.iter().rev().find(|r| r.gate == id) {
                        Some(r) if r.verdict == Verdict::Skipped => {
                            format!("needs `{id}`, which was skipped")
                        }
                        Some(r) => format!("needs `{id}`, which ended with {}", r.verdict),
                        None => format!("needs `{id}`, which did not pass"),
                    };
                    let rec = attempt::skipped(&job(by_id[dep]), &ctx, why);
                    let _ = events.send(Event::Finished(Box::new(rec.clone())));
                    records.push(rec);
                    finished.push(((*dep).clone(), false));
                }
            }
        }
    }
    // Anything reparented to us that no gate accounted for must not outlive the run.
    // Services go at the end of the run, whatever happened: failure, timeout or Ctrl-C.
    services.stop_all().await;
    tree::sweep(ctx.grace).await;
    RunOutcome {
        records,
        interrupted: *cancel.borrow(),
    }
}
