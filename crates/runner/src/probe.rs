//! One attempt of a `probe` gate: the built-in probe against the gate's service (or its
//! `base_url`), bounded by the gate's timeout, ended early by an interruption.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use phasegate_model::{Finding, Record, Verdict};
use phasegate_probes::{Cut, Target};
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
    // A probe of the project's files reads the gate's working directory and has no service.
    let base_url = match (phasegate_probes::target(probe), base_url) {
        (Some(Target::Files), None) => None,
        (Some(Target::Files), Some(_)) => {
            return error(format!(
                "probe `{probe}` reads the project's files, not a service: remove the gate's `service` and `base_url`"
            ));
        }
        (_, None) => {
            return error(format!(
                "probe `{probe}` has no target: give the gate `service = \"...\"` or `base_url = \"...\"`"
            ));
        }
        (_, Some(base)) => match url::Url::parse(base) {
            Ok(u) => Some(u),
            Err(e) => return error(format!("invalid base URL `{base}`: {e}")),
        },
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
    // `baseline = "last-pass"`: the gate's own latest passing output, found by the caller.
    let mut params = std::borrow::Cow::Borrowed(params);
    if params.get("baseline").and_then(|v| v.as_str()) == Some(crate::LAST_PASS)
        && let Some(found) = ctx.baselines.get(&job.gate.id)
    {
        match found {
            Ok(path) => {
                let path = path.to_string_lossy().into_owned();
                params.to_mut().insert("baseline".into(), path.into());
            }
            Err(why) => return error(why.clone()),
        }
    }
    let (o, cut) = phasegate_probes::run_until(probe, &params, &pctx, stop).await;
    // The gate's own threshold: findings below it are warnings, not a fail; then its
    // coverage policy: a required rule skipped is a fail saying what to add.
    let o = o
        .judged(job.gate.fail_on)
        .covering(&job.gate.require, job.gate.partial);
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
    r.coverage = o.coverage.map(|mut c| {
        for s in &mut c.skipped {
            s.reason = redact_str(&s.reason, &job.secrets);
        }
        c
    });
    // What the probe kept of its run (the load probe's result file, histograms included) is
    // the gate's output: a log beside command gates' logs, sealed in the record by its digest.
    if let Some(text) = &o.attachment {
        match keep_attachment(job, ctx, attempt, text) {
            Ok(output) => r.output = Some(output),
            Err(why) if r.verdict == Verdict::Pass => {
                r.verdict = Verdict::Error;
                r.reason = Some(why);
            }
            Err(_) => {}
        }
    }
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

/// Writes a probe's attachment to the attempt's log (redacted like any output) and returns
/// the evidence of it.
fn keep_attachment(
    job: &GateJob,
    ctx: &RunContext,
    attempt: u32,
    text: &str,
) -> Result<phasegate_model::OutputEvidence, String> {
    let log = format!("logs/{}/{}.{attempt}.log", ctx.run_id(), job.gate.id);
    let path = ctx.ledger_dir.join(&log);
    let cannot =
        |e: std::io::Error| format!("cannot keep the probe's result in {}: {e}", path.display());
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(cannot)?;
    }
    let file = std::fs::File::create(&path).map_err(cannot)?;
    let c = crate::capture::capture(text.as_bytes(), file, &job.secrets).map_err(cannot)?;
    Ok(phasegate_model::OutputEvidence {
        sha256: c.sha256,
        bytes: c.bytes,
        log,
        excerpt: c.excerpt,
        truncated: c.truncated,
    })
}
