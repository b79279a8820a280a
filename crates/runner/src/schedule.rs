//! Driving a run: gates start as soon as what they need has passed, up to `jobs` at once;
//! a gate whose need did not pass is skipped with the reason.

use std::sync::Arc;

use phasegate_model::{Gate, GateKind, Record, Roadmap};
use phasegate_probes::ChildEnv;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::attempt::{self, GateJob};
use crate::dag::Dag;
use crate::secrets::withheld;
use crate::service::Services;
use crate::{Event, RunContext, gate_secrets, tree};

/// How a run ended.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// The final record of every gate that ran or was skipped, in completion order (never
    /// one of a sign-off gate).
    pub records: Vec<Record>,
    /// Whether the run was interrupted (gates that had not started are not in `records`).
    pub interrupted: bool,
}

/// Runs `gates` (which must include everything they need; see [`Roadmap::select`]).
/// Every record is sent on `events` as soon as it exists; `cancel` turning true ends the
/// running gates as on timeout and starts no new one.
///
/// Sign-off gates are approved by people, never run: they are left out of the run and have
/// no record in its outcome, and a `needs` on one is no constraint on scheduling (the status
/// evaluation requires the approvals for the gate's phases).
///
/// When it returns, every process its gates and services started has been ended, as far as
/// the process group and the marker scan reach; with a [`Supervisor`](crate::Supervisor)
/// installed, so have the orphans that escaped both.
pub async fn run(
    roadmap: &Roadmap,
    gates: &[&Gate],
    ctx: RunContext,
    events: mpsc::UnboundedSender<Event>,
    cancel: watch::Receiver<bool>,
) -> RunOutcome {
    let gates: Vec<&Gate> = gates
        .iter()
        .copied()
        .filter(|g| !matches!(g.kind, GateKind::Signoff { .. }))
        .collect();
    let ctx = Arc::new(ctx);
    // A service is no gate: it gets no declared secret.
    let service_env = ChildEnv {
        set: ctx.env.clone(),
        withheld: withheld(roadmap, None, &ctx.withheld_vars),
    };
    // A secret's value is redacted wherever it shows, not only from the gates declaring it.
    let secrets: Vec<String> = roadmap
        .gates
        .iter()
        .flat_map(|g| gate_secrets(g, &roadmap.project, &ctx.secret_values))
        .chain(ctx.secret_values.values().cloned())
        .chain(ctx.own_secrets.iter().cloned())
        .collect();
    let services = Arc::new(Services::new(
        roadmap.services.clone(),
        ctx.root.clone(),
        ctx.ledger_dir.join("logs").join(ctx.run_id()),
        ctx.run_id().to_owned(),
        service_env,
        secrets.clone(),
        ctx.grace,
    ));
    let scheduler = Scheduler {
        roadmap,
        secrets,
        ctx: ctx.clone(),
        services: services.clone(),
        events,
        cancel,
    };
    let records = scheduler.drive(Dag::new(&gates)).await;
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
    /// Values redacted from everything the run stores.
    secrets: Vec<String>,
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
            secrets: self.secrets.clone(),
            withheld: withheld(self.roadmap, Some(g), &self.ctx.withheld_vars),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use phasegate_model::Verdict;

    use super::*;

    fn context(root: &std::path::Path, roadmap: &Roadmap) -> RunContext {
        RunContext {
            provenance: phasegate_model::Provenance {
                run_id: "test".into(),
                roadmap_sha256: String::new(),
                git: None,
                host: "test".into(),
                tool_version: "0".into(),
            },
            root: root.to_path_buf(),
            ledger_dir: root.join(".phasegate"),
            jobs: 2,
            grace: Duration::from_millis(200),
            project: roadmap.project.clone(),
            env: BTreeMap::new(),
            secret_values: BTreeMap::new(),
            withheld_vars: Default::default(),
            own_secrets: Vec::new(),
        }
    }

    async fn run_all(source: &str, root: &std::path::Path) -> RunOutcome {
        let roadmap = phasegate_roadmap::parse(source, "phasegate.toml").unwrap();
        let gates: Vec<&Gate> = roadmap.gates.iter().collect();
        let (tx, _rx) = mpsc::unbounded_channel();
        let (_cancel_tx, cancel) = watch::channel(false);
        run(&roadmap, &gates, context(root, &roadmap), tx, cancel).await
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn sign_off_gates_are_never_run_nor_recorded_nor_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let outcome = run_all(
            r#"
[project]
name = "t"

[gates.approve]
signoff = { roles = ["sre"] }

[gates.build]
run = "true"
needs = ["approve"]

[[phase]]
id = "p"
gates = ["approve", "build"]
"#,
            dir.path(),
        )
        .await;
        let records: Vec<(&str, Verdict)> = outcome
            .records
            .iter()
            .map(|r| (r.gate.as_str(), r.verdict))
            .collect();
        assert_eq!(records, [("build", Verdict::Pass)]);
    }

    #[test]
    fn without_a_supervisor_the_embedders_children_are_left_alone() {
        // Not a tokio test: the lock must not be held across an await.
        let _serial = crate::supervisor::tests::PROCESS_WIDE.lock().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut own = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let outcome = runtime.block_on(run_all(
            r#"
[project]
name = "t"

[gates.build]
run = "true"

[[phase]]
id = "p"
gates = ["build"]
"#,
            dir.path(),
        ));
        assert_eq!(outcome.records[0].verdict, Verdict::Pass);
        let status = own.try_wait().unwrap();
        own.kill().unwrap();
        own.wait().unwrap();
        assert_eq!(
            status, None,
            "the run ended or reaped a child it did not start"
        );
    }
}
