//! Running one gate (with its retries) and turning what happened into evidence records.

use std::collections::{BTreeMap, BTreeSet};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use jiff::Timestamp;
use phasegate_model::{
    CacheDecision, CacheInfo, Finding, Gate, GateId, GateKind, Manifest, OutputEvidence, PhaseId,
    Record, Sha256Hex, Verdict,
};
use phasegate_probes::ChildEnv;
use tokio::sync::{mpsc, watch};

use crate::cache;
use crate::capture::redact_str;
use crate::inputs::Inputs;
use crate::process::{self, Ending, Execution, Spec};
use crate::service::Services;
use crate::{Event, RunContext, probe, rule};

/// Exit statuses `sh` uses when the command could not be run at all.
const SH_NOT_EXECUTABLE: i32 = 126;
const SH_NOT_FOUND: i32 = 127;

/// A gate, with what the run knows about it.
pub(crate) struct GateJob {
    pub gate: Gate,
    pub phases: Vec<PhaseId>,
    /// Values to redact from everything the gate leaves: every secret of the run.
    pub secrets: Vec<String>,
    /// Variables its processes must not inherit (see [`crate::secrets::withheld`]).
    pub withheld: BTreeSet<String>,
    /// What its cache key was made of as it started, once known: stored with its records.
    pub manifest: Option<Manifest>,
}

impl GateJob {
    /// The environment of the gate's processes: the run's, its services', its own `env`.
    pub(crate) fn child_env(
        &self,
        ctx: &RunContext,
        services: &BTreeMap<String, String>,
    ) -> ChildEnv {
        let mut set = ctx.env.clone();
        set.extend(services.clone());
        set.extend(self.gate.env.clone());
        ChildEnv {
            set,
            withheld: self.withheld.clone(),
        }
    }
}

/// What the gate's services give it: environment for commands, a base URL for probes.
#[derive(Default)]
struct ServiceAccess {
    env: BTreeMap<String, String>,
    base_url: Option<String>,
}

/// Starts (or joins) the gate's services.
async fn access(job: &GateJob, services: &Services) -> Result<ServiceAccess, String> {
    let mut access = ServiceAccess::default();
    for id in &job.gate.services {
        let running = services.ensure(id).await?;
        let var = id.as_str().to_ascii_uppercase().replace(['-', '.'], "_");
        access
            .env
            .insert(format!("PHASEGATE_SERVICE_{var}_URL"), running.url.clone());
        access.env.insert(
            format!("PHASEGATE_SERVICE_{var}_PORT"),
            running.port.to_string(),
        );
        if access.base_url.is_none() {
            access
                .env
                .insert("PHASEGATE_SERVICE_URL".into(), running.url.clone());
            access.base_url = Some(running.url);
        }
    }
    if access.base_url.is_none() {
        access.base_url.clone_from(&job.gate.base_url);
    }
    Ok(access)
}

/// Runs all attempts of one gate; returns its final record. A panic in one of them (a bug of
/// phasegate's, or of a library it calls) ends the gate, not the run: the attempt's record is
/// an error naming the panic, and the gates needing this one are skipped as for any other
/// error.
///
/// First the cache: the gate's inputs are hashed now, after what it needs has run, and
/// when its key matches evidence that may be reused, a cached record pointing at that
/// evidence is the gate's record: no attempt, no service started. Returns the record and
/// what the cache decided.
pub(crate) async fn run_gate(
    mut job: GateJob,
    need_keys: BTreeMap<GateId, Sha256Hex>,
    ctx: Arc<RunContext>,
    services: Arc<Services>,
    inputs: Arc<Inputs>,
    events: mpsc::UnboundedSender<Event>,
    cancel: watch::Receiver<bool>,
) -> (Record, CacheDecision) {
    // A gate whose claim still needs parameters would test something else: it never runs.
    if let Some(todo) = &job.gate.todo {
        let record = skipped(&job, &ctx, format!("not ready to run: {todo}"));
        let why = "it has a `todo`".to_owned();
        return (emit(&events, record), CacheDecision::NotCacheable(why));
    }
    let (manifest, decision) = cache::decide(&job, &ctx, &inputs, need_keys).await;
    if let (CacheDecision::Hit(from), Some(m)) = (&decision, &manifest) {
        let record = cache::cached(&job, &ctx, m.key(), from.clone());
        return (emit(&events, record), decision);
    }
    job.manifest = manifest;
    let record = run_attempts(job, ctx, services, inputs.clone(), events, cancel).await;
    // Whatever the gate did, the tree may have changed under the gates still to start.
    inputs.invalidate();
    (record, decision)
}

/// The attempts of the gate, catching their panics.
async fn run_attempts(
    job: GateJob,
    ctx: Arc<RunContext>,
    services: Arc<Services>,
    inputs: Arc<Inputs>,
    events: mpsc::UnboundedSender<Event>,
    mut cancel: watch::Receiver<bool>,
) -> Record {
    let mut attempt = 1;
    // Unwind safety: after a panic nothing the attempts touched is used again but `attempt`,
    // a plain integer, and the job and context, which they only read.
    let attempts = AssertUnwindSafe(attempts(
        &job,
        &ctx,
        &services,
        &inputs,
        &events,
        &mut cancel,
        &mut attempt,
    ));
    match attempts.catch_unwind().await {
        Ok(record) => record,
        Err(panic) => {
            let why = format!(
                "the gate panicked: {}",
                phasegate_probes::panic_message(&*panic)
            );
            let max_attempts = job.gate.retries.saturating_add(1);
            let why = redact_str(&why, &job.secrets);
            emit(
                &events,
                base_record(&job, &ctx, attempt, max_attempts, Verdict::Error, Some(why)),
            )
        }
    }
}

/// The attempts of [`run_gate`], `attempt` counting them.
async fn attempts(
    job: &GateJob,
    ctx: &RunContext,
    services: &Services,
    inputs: &Arc<Inputs>,
    events: &mpsc::UnboundedSender<Event>,
    cancel: &mut watch::Receiver<bool>,
    attempt: &mut u32,
) -> Record {
    let max_attempts = job.gate.retries.saturating_add(1);
    let access = tokio::select! {
        a = access(job, services) => a,
        () = process::cancelled(cancel) => Err("interrupted: the run was stopped".to_owned()),
    };
    let access = match access {
        Ok(a) => a,
        Err(why) => {
            let why = redact_str(&why, &job.secrets);
            return emit(
                events,
                base_record(job, ctx, 1, max_attempts, Verdict::Error, Some(why)),
            );
        }
    };
    loop {
        let _ = events.send(Event::Started {
            gate: job.gate.id.clone(),
            attempt: *attempt,
            max_attempts,
        });
        let record = match &job.gate.kind {
            GateKind::Run { command } => {
                run_attempt(job, ctx, command, &access, *attempt, max_attempts, cancel).await
            }
            GateKind::Probe { probe, params } => {
                probe::attempt(
                    job,
                    ctx,
                    probe,
                    params,
                    access.base_url.as_deref(),
                    &access.env,
                    *attempt,
                    max_attempts,
                    cancel,
                )
                .await
            }
            GateKind::Signoff { .. } => unreachable!("`run` leaves sign-off gates out"),
        };
        let record = cache::check_own_inputs(job, inputs, record).await;
        let retry = *attempt < max_attempts && record.verdict == Verdict::Fail && !*cancel.borrow();
        let record = emit(events, record);
        if !retry {
            return record;
        }
        *attempt += 1;
    }
}

async fn run_attempt(
    job: &GateJob,
    ctx: &RunContext,
    command: &str,
    access: &ServiceAccess,
    attempt: u32,
    max_attempts: u32,
    cancel: &mut watch::Receiver<bool>,
) -> Record {
    let log_rel = format!("logs/{}/{}.{attempt}.log", ctx.run_id(), job.gate.id);
    let spec = Spec {
        script: command.to_owned(),
        cwd: gate_cwd(job, ctx),
        env: job.child_env(ctx, &access.env),
        timeout: job.gate.timeout,
        grace: ctx.grace,
        log: ctx.ledger_dir.join(&log_rel),
        secrets: job.secrets.clone(),
        marker: format!("{}/{}/{attempt}", ctx.run_id(), job.gate.id),
    };
    #[cfg(test)]
    tests::panic_if_asked(job, attempt);
    let started_at = Timestamp::now();
    let exec = process::execute(&spec, cancel).await;
    attempt_record(job, ctx, attempt, max_attempts, started_at, &exec, log_rel)
}

/// The gate's working directory.
pub(crate) fn gate_cwd(job: &GateJob, ctx: &RunContext) -> std::path::PathBuf {
    match &job.gate.cwd {
        Some(c) => ctx.root.join(c),
        None => ctx.root.clone(),
    }
}

/// Sends `record` as [`Event::Finished`] and returns it.
pub(crate) fn emit(events: &mpsc::UnboundedSender<Event>, record: Record) -> Record {
    let _ = events.send(Event::Finished(Box::new(record.clone())));
    record
}

/// The record of a gate that was not attempted.
pub(crate) fn skipped(job: &GateJob, ctx: &RunContext, reason: String) -> Record {
    base_record(
        job,
        ctx,
        1,
        job.gate.retries.saturating_add(1),
        Verdict::Skipped,
        Some(reason),
    )
}

fn attempt_record(
    job: &GateJob,
    ctx: &RunContext,
    attempt: u32,
    max_attempts: u32,
    started_at: Timestamp,
    exec: &Execution,
    log: String,
) -> Record {
    let (mut verdict, mut reason) = judge(&exec.ending, job.gate.timeout);
    let output = match &exec.output {
        Ok(c) => Some(OutputEvidence {
            sha256: c.sha256.clone(),
            bytes: c.bytes,
            log,
            excerpt: c.excerpt.clone(),
            truncated: c.truncated,
        }),
        Err(why) => {
            if verdict == Verdict::Pass {
                // Evidence without its output is not evidence of a pass.
                verdict = Verdict::Error;
                reason = Some(why.clone());
            }
            None
        }
    };
    let mut findings = Vec::new();
    if exec.leftovers > 0 {
        findings.push(Finding {
            code: "leftover-processes".into(),
            message: format!("{} process(es) were still running after the gate's command exited; phasegate ended them", exec.leftovers),
            location: None,
            // The gate's own verdict stands: phasegate cleaned up after it.
            severity: Some(phasegate_model::Severity::Low),
        });
    }
    let mut measurements = BTreeMap::new();
    measurements.insert(
        "duration_ms".to_owned(),
        exec.duration.as_secs_f64() * 1000.0,
    );
    let mut r = base_record(
        job,
        ctx,
        attempt,
        max_attempts,
        verdict,
        reason.map(|r| redact_str(&r, &job.secrets)),
    );
    r.started_at = started_at;
    r.duration_ms = u64::try_from(exec.duration.as_millis()).unwrap_or(u64::MAX);
    (r.exit_code, r.signal) = match exec.ending {
        Ending::Exited(c) => (Some(c), None),
        Ending::Signalled(s) => (None, Some(s)),
        _ => (None, None),
    };
    r.timed_out = exec.ending == Ending::TimedOut;
    r.output = output;
    r.findings = findings;
    r.measurements = measurements;
    r
}

/// The verdict on how an attempt's process ended, and why when it is not a pass.
fn judge(ending: &Ending, timeout: std::time::Duration) -> (Verdict, Option<String>) {
    match ending {
        Ending::Exited(0) => (Verdict::Pass, None),
        Ending::Exited(c @ (SH_NOT_EXECUTABLE | SH_NOT_FOUND)) => (
            Verdict::Error,
            Some(format!(
                "the command could not be run: sh exited with status {c} (command not found or not executable)"
            )),
        ),
        Ending::Exited(c) => (Verdict::Fail, Some(format!("exited with status {c}"))),
        Ending::Signalled(s) => (Verdict::Fail, Some(format!("killed by signal {s}"))),
        Ending::TimedOut => (
            Verdict::Fail,
            Some(format!(
                "timed out after {}; its processes were ended",
                humantime::format_duration(timeout)
            )),
        ),
        Ending::Interrupted => (
            Verdict::Error,
            Some("interrupted: the run was stopped".to_owned()),
        ),
        Ending::NotStarted(why) => (Verdict::Error, Some(why.clone())),
    }
}

pub(crate) fn base_record(
    job: &GateJob,
    ctx: &RunContext,
    attempt: u32,
    max_attempts: u32,
    verdict: Verdict,
    reason: Option<String>,
) -> Record {
    let mut r = Record::new(
        &job.gate,
        job.phases.clone(),
        rule(&job.gate, &ctx.project, &job.secrets),
        verdict,
        reason,
        &ctx.provenance,
    );
    r.attempt = attempt;
    r.max_attempts = max_attempts;
    if let Some(m) = &job.manifest {
        if job.gate.input_globs().next().is_some() {
            r.inputs_sha256 = Some(m.files_sha256());
        }
        r.cache = Some(CacheInfo {
            key: m.key(),
            manifest: Some(m.clone()),
            modified: Vec::new(),
            from: None,
        });
    }
    r
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The variable that makes a `run` gate's attempt panic in tests: its value is the attempt
    /// that panics.
    pub(crate) const PANIC_AT: &str = "PHASEGATE_TEST_PANIC_AT";

    /// The test-only way into a gate's task for a panic: no gate panics on purpose otherwise.
    pub(crate) fn panic_if_asked(job: &GateJob, attempt: u32) {
        if job.gate.env.get(PANIC_AT) == Some(&attempt.to_string()) {
            panic!("attempt {attempt} of `{}` was told to panic", job.gate.id);
        }
    }
}
