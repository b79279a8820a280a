//! One attempt of a `probe` gate: the built-in probe against the gate's service (or its
//! `base_url`), bounded by the gate's timeout, ended early by an interruption.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use phasegate_model::{Finding, Record, Verdict};
use phasegate_probes::Cut;
use tokio::sync::watch;

use crate::attempt::{GateJob, base_record, gate_cwd};
use crate::capture::redact_str;
use crate::{RunContext, process};

/// Limit on a single request of a probe; the gate's timeout bounds the whole probe.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[expect(
    clippy::too_many_arguments,
    reason = "one call site; a struct would only rename them"
)]
pub(crate) async fn attempt(
    job: &GateJob,
    ctx: &RunContext,
    probe: &str,
    params: &phasegate_probes::Params,
    base_url: Option<&str>,
    service_env: &BTreeMap<String, String>,
    attempt: u32,
    max_attempts: u32,
    cancel: &mut watch::Receiver<bool>,
) -> Record {
    let started_at = Timestamp::now();
    let started = Instant::now();
    let error = |why: String| {
        let mut r = base_record(job, ctx, attempt, max_attempts, Verdict::Error, Some(why));
        r.started_at = started_at;
        r
    };
    let Some(base) = base_url else {
        return error(format!(
            "probe `{probe}` has no target: give the gate `service = \"...\"` or `base_url = \"...\"`"
        ));
    };
    let base_url = match url::Url::parse(base) {
        Ok(u) => u,
        Err(e) => return error(format!("invalid base URL `{base}`: {e}")),
    };
    let pctx = phasegate_probes::Context {
        base_url,
        timeout: REQUEST_TIMEOUT.min(job.gate.timeout),
        workdir: gate_cwd(job, ctx),
        env: job.child_env(ctx, service_env),
    };
    let interrupted = cancel.clone();
    // The probe is stopped rather than dropped, so that it undoes what it changed (health's
    // restore) whether the gate ends, times out or is interrupted.
    let stop = async {
        tokio::select! {
            () = tokio::time::sleep(job.gate.timeout) => {}
            () = process::cancelled(cancel) => {}
        }
    };
    let (o, cut) = phasegate_probes::run_until(probe, params, &pctx, stop).await;
    // The gate's own threshold: findings below it are warnings, not a fail.
    let o = o.judged(job.gate.fail_on);
    let timeout = humantime::format_duration(job.gate.timeout);
    let (verdict, reason, timed_out) = match cut {
        Some(Cut::Stopped) if *interrupted.borrow() => (
            Verdict::Error,
            Some("interrupted: the run was stopped".to_owned()),
            false,
        ),
        Some(Cut::Stopped) => (
            Verdict::Fail,
            Some(format!("timed out after {timeout}")),
            true,
        ),
        // A panic's reason is the probe's own: it names the panic.
        Some(Cut::Panicked(_)) | None => (o.verdict, o.reason, false),
    };
    let reason = reason.map(|r| redact_str(&r, &job.secrets));
    let mut r = base_record(job, ctx, attempt, max_attempts, verdict, reason);
    r.timed_out = timed_out;
    // Findings quote what the service and the hooks said, which may be a secret.
    r.findings = o
        .findings
        .into_iter()
        .map(|f| Finding {
            message: redact_str(&f.message, &job.secrets),
            location: f.location.map(|l| redact_str(&l, &job.secrets)),
            ..f
        })
        .collect();
    r.measurements = o.measurements;
    r.measurements
        .insert("requests".into(), f64::from(o.requests));
    r.started_at = started_at;
    r.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    r.measurements.insert(
        "duration_ms".into(),
        started.elapsed().as_secs_f64() * 1000.0,
    );
    r
}
