//! Driving a run: gates start as soon as what they need has passed, up to `jobs` at once;
//! a gate whose need did not pass is skipped with the reason.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use phasegate_model::{CacheDecision, Gate, GateId, GateKind, Record, Roadmap, Sha256Hex, Verdict};
use phasegate_probes::ChildEnv;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::attempt::{self, GateJob};
use crate::dag::Dag;
use crate::inputs::Inputs;
use crate::secrets::withheld;
use crate::service::Services;
use crate::{Event, RunContext, Signoff, gate_secrets, tree};

/// How a run ended.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// The final record of every gate that ran or was skipped, in completion order (never
    /// one of a sign-off gate).
    pub records: Vec<Record>,
    /// Whether the run was interrupted (gates that had not started are not in `records`).
    pub interrupted: bool,
    /// What the cache decided for each gate that could start: reused or ran, and why.
    pub decisions: BTreeMap<GateId, CacheDecision>,
}

/// Runs `gates` (which must include everything they need; see [`Roadmap::select`]).
/// Every record is sent on `events` as soon as it exists; `cancel` turning true ends the
/// running gates as on timeout and starts no new one.
///
/// Sign-off gates are approved by people, never run: they are left out of the run and have
/// no record in its outcome. A gate that `needs` one runs only when the caller says it is
/// satisfied ([`RunContext::signoffs`]: approved, or waived); otherwise the gate, and what
/// needs it in turn, is skipped with the reason the caller gave ("waiting for approval of
/// ..."), whether or not the sign-off gate was selected.
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
    // phasegate's own state is never an input: logs and the ledger change at every run.
    let mut skip = vec![ctx.ledger_dir.clone(), ctx.root.join(".phasegate")];
    skip.dedup();
    let inputs = Arc::new(Inputs::new(&ctx.root, skip, ctx.cache.stat_file.clone()));
    let scheduler = Scheduler {
        roadmap,
        secrets,
        ctx: ctx.clone(),
        services: services.clone(),
        inputs: inputs.clone(),
        events,
        cancel,
    };
    // The sign-off gates something of this run needs: settled now, from the caller's word.
    let held: BTreeSet<&GateId> = gates
        .iter()
        .flat_map(|g| &g.needs)
        .filter(|n| {
            roadmap
                .gate(n.as_str())
                .is_some_and(|g| matches!(g.kind, GateKind::Signoff { .. }))
        })
        .collect();
    let (records, decisions) = scheduler.drive(Dag::new(&gates, &held), &held).await;
    // The stat cache is a hint: failing to write it costs the next run some reading, and
    // must not fail this one, whose evidence is already stored.
    let _ = tokio::task::spawn_blocking(move || inputs.save()).await;
    // Services go at the end of the run, whatever happened: failure, timeout or Ctrl-C.
    services.stop_all().await;
    // Anything reparented to us that no gate accounted for must not outlive the run.
    tree::sweep(ctx.grace).await;
    RunOutcome {
        records,
        interrupted: *scheduler.cancel.borrow(),
        decisions,
    }
}

/// What every gate of a run shares.
struct Scheduler<'a> {
    roadmap: &'a Roadmap,
    /// Values redacted from everything the run stores.
    secrets: Vec<String>,
    ctx: Arc<RunContext>,
    services: Arc<Services>,
    inputs: Arc<Inputs>,
    events: mpsc::UnboundedSender<Event>,
    cancel: watch::Receiver<bool>,
}

impl Scheduler<'_> {
    /// Runs the gates of `dag` to the end (or the cancel), after settling the `held`
    /// sign-off gates; returns their final records and what the cache decided.
    async fn drive(
        &self,
        mut dag: Dag<'_>,
        held: &BTreeSet<&GateId>,
    ) -> (Vec<Record>, BTreeMap<GateId, CacheDecision>) {
        let jobs = self.ctx.jobs.max(1);
        let mut records = Vec::new();
        let mut decisions = BTreeMap::new();
        // The key of each gate as far as known: its evidence's, until it runs here. A
        // gate's key holds the keys of its needs, so that a change reaches its dependants.
        let mut keys: BTreeMap<GateId, Sha256Hex> = self
            .ctx
            .cache
            .priors
            .iter()
            .map(|(g, p)| (g.clone(), p.key.clone()))
            .collect();
        // A sign-off gate never runs: its definition is its key.
        for g in &self.roadmap.gates {
            if matches!(g.kind, GateKind::Signoff { .. }) {
                keys.insert(g.id.clone(), g.digest());
            }
        }
        for id in held {
            let skipped = match self.ctx.signoffs.get(*id) {
                Some(Signoff::Satisfied) => dag.settle(id, Verdict::Pass),
                Some(Signoff::Waiting(why)) => dag.hold(id, why),
                None => dag.hold(id, &format!("waiting for approval of `{id}`")),
            };
            self.skip(skipped, &mut records);
        }
        let mut running = JoinSet::new();
        let mut alone = false;
        loop {
            while running.len() < jobs && !alone && !*self.cancel.borrow() {
                let Some(g) = dag.take_ready(running.is_empty()) else {
                    break;
                };
                alone = g.exclusive;
                let need_keys = g
                    .needs
                    .iter()
                    .filter_map(|n| Some((n.clone(), keys.get(n)?.clone())))
                    .collect();
                running.spawn(attempt::run_gate(
                    self.job(g),
                    need_keys,
                    self.ctx.clone(),
                    self.services.clone(),
                    self.inputs.clone(),
                    self.events.clone(),
                    self.cancel.clone(),
                ));
            }
            let Some(done) = running.join_next().await else {
                break;
            };
            // When an exclusive gate ran, it was the only one: whatever finished, it is over.
            alone = false;
            let (record, decision) =
                done.expect("a gate task never panics: `run_gate` catches its panics");
            match &record.cache {
                Some(c) => keys.insert(record.gate.clone(), c.key.clone()),
                // Not hashable: its dependants must not match on its old key.
                None => keys.remove(&record.gate),
            };
            decisions.insert(record.gate.clone(), decision);
            let skipped = dag.settle(&record.gate, record.verdict);
            records.push(record);
            self.skip(skipped, &mut records);
        }
        (records, decisions)
    }

    /// Records and reports the gates `skipped`, each with why.
    fn skip(&self, skipped: Vec<(&Gate, String)>, records: &mut Vec<Record>) {
        for (g, why) in skipped {
            let rec = attempt::skipped(&self.job(g), &self.ctx, why);
            records.push(attempt::emit(&self.events, rec));
        }
    }

    fn job(&self, g: &Gate) -> GateJob {
        GateJob {
            gate: g.clone(),
            phases: self.roadmap.phases_of(&g.id),
            secrets: self.secrets.clone(),
            withheld: withheld(self.roadmap, Some(g), &self.ctx.withheld_vars),
            manifest: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use phasegate_model::Verdict;

    use super::*;
    use crate::Event;

    fn context(
        root: &std::path::Path,
        roadmap: &Roadmap,
        signoffs: BTreeMap<GateId, Signoff>,
    ) -> RunContext {
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
            signoffs,
            cache: Default::default(),
            baselines: BTreeMap::new(),
        }
    }

    async fn run_all(source: &str, root: &std::path::Path) -> RunOutcome {
        run_with(source, root, BTreeMap::new(), |_| true).await
    }

    /// Runs the gates of `source` that `select` keeps, with `signoffs` as the caller's word.
    async fn run_with(
        source: &str,
        root: &std::path::Path,
        signoffs: BTreeMap<GateId, Signoff>,
        select: impl Fn(&Gate) -> bool,
    ) -> RunOutcome {
        let roadmap = phasegate_roadmap::parse(source, "phasegate.toml").unwrap();
        let gates: Vec<&Gate> = roadmap.gates.iter().filter(|g| select(g)).collect();
        let (tx, _rx) = mpsc::unbounded_channel();
        let (_cancel_tx, cancel) = watch::channel(false);
        run(
            &roadmap,
            &gates,
            context(root, &roadmap, signoffs),
            tx,
            cancel,
        )
        .await
    }

    const NEEDS_APPROVAL: &str = r#"
[project]
name = "t"

[gates.approve]
signoff = { roles = ["sre"] }

[gates.build]
run = "true"
needs = ["approve"]

[gates.deploy]
run = "true"
needs = ["build"]

[gates.lint]
run = "true"

[[phase]]
id = "p"
gates = ["approve", "build", "deploy", "lint"]
"#;

    fn verdicts(outcome: &RunOutcome) -> Vec<(&str, Verdict, Option<&str>)> {
        let mut v: Vec<_> = outcome
            .records
            .iter()
            .map(|r| (r.gate.as_str(), r.verdict, r.reason.as_deref()))
            .collect();
        v.sort_by_key(|(g, ..)| *g);
        v
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_gate_needing_a_sign_off_gate_waits_for_it_and_sign_off_gates_are_never_run() {
        // Regression (issue 8): `build` used to run and pass before anyone approved.
        let dir = tempfile::tempdir().unwrap();
        let waiting = BTreeMap::from([(
            GateId::new("approve").unwrap(),
            Signoff::Waiting("waiting for approval of `approve`: has 0".into()),
        )]);
        let outcome = run_with(NEEDS_APPROVAL, dir.path(), waiting, |_| true).await;
        assert_eq!(
            verdicts(&outcome),
            [
                (
                    "build",
                    Verdict::Skipped,
                    Some("waiting for approval of `approve`: has 0")
                ),
                (
                    "deploy",
                    Verdict::Skipped,
                    Some("needs `build`, which was skipped")
                ),
                ("lint", Verdict::Pass, None),
            ]
        );

        // Not told about it (nor is it selected): still waiting.
        let outcome = run_with(NEEDS_APPROVAL, dir.path(), BTreeMap::new(), |g| {
            g.id.as_str() != "approve"
        })
        .await;
        assert_eq!(
            verdicts(&outcome)[0],
            (
                "build",
                Verdict::Skipped,
                Some("waiting for approval of `approve`")
            )
        );

        let satisfied = BTreeMap::from([(GateId::new("approve").unwrap(), Signoff::Satisfied)]);
        let outcome = run_with(NEEDS_APPROVAL, dir.path(), satisfied, |_| true).await;
        assert_eq!(
            verdicts(&outcome),
            [
                ("build", Verdict::Pass, None),
                ("deploy", Verdict::Pass, None),
                ("lint", Verdict::Pass, None),
            ]
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_panicking_gate_is_an_error_its_dependants_are_skipped_and_the_run_closes() {
        // Regression (issue 8): the panic took the whole run down with it.
        let dir = tempfile::tempdir().unwrap();
        let source = format!(
            r#"
[project]
name = "t"

[gates.boom]
run = "exit 1"
retries = 1
env = {{ {} = "2" }}

[gates.after]
run = "true"
needs = ["boom"]

[gates.lint]
run = "true"

[[phase]]
id = "p"
gates = ["boom", "after", "lint"]
"#,
            crate::attempt::tests::PANIC_AT
        );
        let roadmap = phasegate_roadmap::parse(&source, "phasegate.toml").unwrap();
        let gates: Vec<&Gate> = roadmap.gates.iter().collect();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (_cancel_tx, cancel) = watch::channel(false);
        let ctx = context(dir.path(), &roadmap, BTreeMap::new());
        let outcome = run(&roadmap, &gates, ctx, tx, cancel).await;

        assert!(!outcome.interrupted);
        assert_eq!(
            verdicts(&outcome),
            [
                (
                    "after",
                    Verdict::Skipped,
                    Some("needs `boom`, which ended with error")
                ),
                (
                    "boom",
                    Verdict::Error,
                    Some("the gate panicked: attempt 2 of `boom` was told to panic")
                ),
                ("lint", Verdict::Pass, None),
            ]
        );
        // The record names the attempt that panicked, after the one that failed.
        let mut boom = Vec::new();
        while let Ok(event) = rx.try_recv() {
            if let Event::Finished(r) = event
                && r.gate.as_str() == "boom"
            {
                boom.push((r.attempt, r.max_attempts, r.verdict));
            }
        }
        assert_eq!(boom, [(1, 2, Verdict::Fail), (2, 2, Verdict::Error)]);
    }

    /// Answers 200 to every request on a fresh loopback port, for as long as `runtime` runs.
    fn serve_ok(runtime: &tokio::runtime::Runtime) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        runtime.spawn(async move {
            loop {
                let Ok((mut conn, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(async move {
                    let mut request = [0u8; 4096];
                    let _ = conn.read(&mut request).await;
                    let _ = conn
                        .write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                        )
                        .await;
                });
            }
        });
        url
    }

    #[test]
    fn the_reaper_never_takes_the_exit_status_of_a_hook_or_a_stop_command() {
        // Regression (issue 8): health hooks and services' stop commands were spawned outside
        // the registry, so `reap_orphans` could reap one that had just exited before tokio
        // waited for it: "could not be waited for" (ECHILD) instead of its exit status.
        // Not a tokio test: the lock must not be held across an await.
        let _serial = crate::supervisor::tests::PROCESS_WIDE.lock().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let url = serve_ok(&runtime);
        let mut source = String::from("[project]\nname = \"t\"\n");
        for s in 0..4 {
            source.push_str(&format!(
                "\n[services.s{s}]\nrun = \"exec sleep 30\"\nstop = \"exit 0\"\nurl = \"{url}\"\n"
            ));
        }
        let gates: Vec<String> = (0..32).map(|i| format!("h{i}")).collect();
        for (i, g) in gates.iter().enumerate() {
            // The probe goes to its service's URL, served here; the service is a `sleep`,
            // whose stop command the reaper must leave alone too.
            source.push_str(&format!(
                "\n[gates.{g}]\nprobe = \"health\"\nlive = \"/\"\nready = \"/\"\nfault = \"exit 3\"\nrestore = \"true\"\nservice = \"s{}\"\n",
                i % 4
            ));
        }
        source.push_str(&format!(
            "\n[[phase]]\nid = \"p\"\ngates = [{}]\n",
            gates
                .iter()
                .map(|g| format!("\"{g}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        let roadmap = phasegate_roadmap::parse(&source, "phasegate.toml").unwrap();
        let selected: Vec<&Gate> = roadmap.gates.iter().collect();
        let mut ctx = context(dir.path(), &roadmap, BTreeMap::new());
        ctx.jobs = 8;

        let supervisor = crate::Supervisor::install();
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reaper = std::thread::spawn({
            let done = done.clone();
            move || {
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    tree::reap_orphans();
                }
            }
        });
        let (tx, _rx) = mpsc::unbounded_channel();
        let (_cancel_tx, cancel) = watch::channel(false);
        let outcome = runtime.block_on(run(&roadmap, &selected, ctx, tx, cancel));
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        reaper.join().unwrap();
        drop(supervisor);

        assert_eq!(outcome.records.len(), gates.len());
        let lost: Vec<_> = outcome
            .records
            .iter()
            .filter(|r| {
                r.reason.as_deref()
                    != Some("fault hook `exit 3` failed (exit status: 3): no output")
            })
            .map(|r| (r.gate.as_str(), r.verdict, r.reason.as_deref()))
            .collect();
        assert!(
            lost.is_empty(),
            "{} of {} gates lost their hook's status: {lost:#?}",
            lost.len(),
            gates.len()
        );
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
