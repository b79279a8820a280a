//! `health`: liveness and readiness, and readiness that follows its dependencies.
//!
//! ```toml
//! [gates.readiness]
//! probe = "health"
//! live = "/health/live"            # default
//! ready = "/health/ready"          # default
//! fault = "docker stop db"         # optional: takes a dependency down
//! restore = "docker start db"      # required with `fault`
//! within = "10s"                   # default: limit on each hook and each wait
//! poll = "200ms"                   # default: interval between polls
//! ```
//!
//! Live and ready must answer 2xx first (`live-not-ok`, `ready-not-ok`; stricter than a
//! Kubernetes probe, which takes any 200–399: a health endpoint that redirects, to a login page
//! say, proves nothing). With a fault hook: the hook runs (`sh -c` in the context's working
//! directory with its environment, bounded by `within`), and the fault window lasts `within`
//! from then: ready must turn not-ready within it (`ready-ignores-dependency`) and stay so
//! until its end (`ready-up-during-fault`, once it has gone down), while live stays 2xx at
//! every poll of the **whole** window (`live-fails-during-fault`), not only until ready went
//! down: a liveness check that fails a few seconds into an outage gets the service restarted
//! just the same. Then the restore hook **always** runs, even when the check already failed
//! or the fault hook did, and ready must answer 2xx again within `within`
//! (`ready-not-restored`). A hook that fails makes the verdict an error quoting its output.
//! During the fault, not ready is what an orchestrator's readiness probe counts as failing
//! (Kubernetes: a status of 400 or more, a timeout or a refused connection); a 3xx still routes
//! traffic there, so it is not "down".
//!
//! Budget: 2, plus with a fault hook 2 per poll while waiting for the fault and 1 per poll
//! while waiting for the restore (`ceil(within / poll) + 1` polls each).
//! Measurements: `ready_down_after_ms`, `ready_back_after_ms`, `restore_ms` (the restore hook
//! ran, and how long it took).
//!
//! The restore hook also runs when the check is cut short after the fault hook started (the
//! gate's timeout, Ctrl-C, a panic): bounded by `within`, recorded as `restore_ms` and a
//! `restored-after-cut` finding saying how it ended.

use std::time::Duration;

use serde::Deserialize;
use tokio::time::Instant;

use crate::net::{Client, ProbeError, Request, Response};
use crate::params::{self, Dur, err};
use crate::probe::Probe;
use crate::report::{Report, ms};
use crate::{Context, ParamError, hook};

/// The `health` probe's parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    #[serde(default = "params::live")]
    live: String,
    #[serde(default = "ready")]
    ready: String,
    fault: Option<String>,
    restore: Option<String>,
    #[serde(default = "within")]
    within: Dur,
    #[serde(default = "poll")]
    poll: Dur,
}

fn ready() -> String {
    "/health/ready".to_string()
}

fn within() -> Dur {
    Dur(Duration::from_secs(10))
}

fn poll() -> Dur {
    Dur(Duration::from_millis(200))
}

/// The `health` probe.
pub(crate) struct Health;

impl Probe for Health {
    const KIND: &'static str = "health";
    const RULES: &'static [&'static str] = &["live", "ready", "dependency", "recovery"];
    type Config = Config;

    fn validate(cfg: &mut Config, errors: &mut Vec<ParamError>) {
        params::check_path("live", &cfg.live, errors);
        params::check_path("ready", &cfg.ready, errors);
        match (&cfg.fault, &cfg.restore) {
            (Some(_), None) => errors.push(err(
                "restore",
                "expected a restore command next to `fault` (the service must be left as it was found)",
            )),
            (None, Some(_)) => errors.push(err("fault", "expected a fault command next to `restore`")),
            _ => {}
        }
        for (key, cmd) in [("fault", &cfg.fault), ("restore", &cfg.restore)] {
            if cmd.as_deref().is_some_and(|c| c.trim().is_empty()) {
                errors.push(err(key, "expected a shell command, saw an empty string"));
            }
        }
        if cfg.within.0.is_zero() {
            errors.push(err("within", "expected a duration above zero"));
        }
        if cfg.poll.0.is_zero() || cfg.poll.0 > cfg.within.0 {
            errors.push(err(
                "poll",
                "expected a duration above zero and not above `within`",
            ));
        }
    }

    fn budget(cfg: &Config) -> u32 {
        if cfg.fault.is_some() {
            2u32.saturating_add(polls(cfg).saturating_mul(3))
        } else {
            2
        }
    }

    /// Checks live and ready, and with a fault hook the fault and the recovery.
    async fn check(
        cfg: &Config,
        ctx: &Context,
        http: &mut Client,
        report: &mut Report,
    ) -> Result<(), ProbeError> {
        let live = http.send(&Request::get(&cfg.live)).await?;
        report.exercised("live");
        let ready = http.send(&Request::get(&cfg.ready)).await?;
        report.exercised("ready");
        for (code, what, resp) in [
            ("live-not-ok", "liveness", &live),
            ("ready-not-ok", "readiness", &ready),
        ] {
            if !resp.is_success() {
                report.finding(
                    code,
                    format!("expected {what} to answer 2xx, saw {}", resp.status),
                    resp.location.as_str(),
                );
            }
        }
        let (Some(fault), Some(restore)) = (&cfg.fault, &cfg.restore) else {
            let why = "no fault hook: add `fault` and `restore` (commands that take a dependency down and bring it back)";
            report.skipped("dependency", why);
            report.skipped("recovery", why);
            return Ok(());
        };
        if !report.findings.is_empty() {
            // Breaking a dependency of a service that is not healthy to begin with proves nothing.
            let why = "the service was not healthy before the fault, so no fault was made";
            report.skipped("dependency", why);
            report.skipped("recovery", why);
            return Ok(());
        }
        // From here on, a check cut short (timeout, Ctrl-C, panic) still restores: see `cleanup`.
        report.pending_cleanup = true;
        let faulted = match hook::run("fault", fault, ctx, cfg.within.0).await {
            Ok(()) => {
                report.exercised("dependency");
                during_fault(cfg, http, report).await
            }
            Err(e) => Err(e),
        };
        // The restore runs whatever happened above, so the service is left as it was found.
        let restored = match run_restore(restore, cfg, ctx, report).await {
            Ok(()) if faulted.is_ok() => {
                report.exercised("recovery");
                after_restore(cfg, http, report).await
            }
            Ok(()) => Ok(()),
            Err(e) => Err(e),
        };
        faulted.and(restored)
    }

    /// The restore hook of a check cut short after its fault hook started.
    async fn cleanup(cfg: &Config, ctx: &Context, report: &mut Report) {
        let Some(restore) = &cfg.restore else {
            return;
        };
        let how = match run_restore(restore, cfg, ctx, report).await {
            Ok(()) => "it succeeded".to_owned(),
            Err(e) => format!("it failed: {e}"),
        };
        report.finding(
            "restored-after-cut",
            format!("the check was cut short after its fault hook; the restore hook ran and {how}"),
            "restore hook",
        );
    }
}

/// Runs the restore hook (bounded by `within`) and records that it ran (`restore_ms`).
async fn run_restore(
    restore: &str,
    cfg: &Config,
    ctx: &Context,
    report: &mut Report,
) -> Result<(), ProbeError> {
    let started = Instant::now();
    let result = hook::run("restore", restore, ctx, cfg.within.0).await;
    report.pending_cleanup = false;
    report.measure("restore_ms", ms(started.elapsed()));
    result
}

fn polls(cfg: &Config) -> u32 {
    let n = cfg
        .within
        .0
        .as_nanos()
        .div_ceil(cfg.poll.0.as_nanos().max(1))
        + 1;
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Polls ready and live for the whole fault window (`within` from the fault hook): ready must
/// go down and stay down, live must stay 2xx throughout.
async fn during_fault(
    cfg: &Config,
    http: &mut Client,
    report: &mut Report,
) -> Result<(), ProbeError> {
    let started = Instant::now();
    let deadline = started + cfg.within.0;
    let mut live_reported = false;
    let mut up_reported = false;
    let mut went_down = false;
    let mut last_ready = String::from("no answer");
    loop {
        let at = Instant::now();
        let ready = http
            .send(&Request::get(&cfg.ready).note("after fault hook"))
            .await;
        let live = http
            .send(&Request::get(&cfg.live).note("after fault hook"))
            .await;
        if !live_reported {
            let problem = match &live {
                Ok(r) if r.is_success() => None,
                Ok(r) => Some((format!("status {}", r.status), r.location.clone())),
                Err(e @ ProbeError::Transport { .. }) => Some((
                    e.to_string(),
                    format!("GET {} (after fault hook)", cfg.live),
                )),
                Err(_) => return live.map(drop),
            };
            if let Some((seen, location)) = problem {
                live_reported = true;
                report.finding(
                    "live-fails-during-fault",
                    format!(
                        "expected liveness to stay 2xx while a dependency is down, saw {seen} {} after the fault hook",
                        humantime::format_duration(round_ms(at - started))
                    ),
                    location,
                );
            }
        }
        let down = match &ready {
            Ok(r) => {
                last_ready = r.status.to_string();
                is_not_ready(r)
            }
            Err(ProbeError::Transport { .. }) => true,
            Err(_) => return ready.map(drop),
        };
        if down && !went_down {
            went_down = true;
            report.measure("ready_down_after_ms", ms(started.elapsed()));
        }
        if !down && went_down && !up_reported {
            up_reported = true;
            report.finding(
                "ready-up-during-fault",
                format!(
                    "expected readiness to stay down while the dependency is down, saw it back at {last_ready} {} after the fault hook",
                    humantime::format_duration(round_ms(at - started))
                ),
                format!("GET {} (after fault hook)", cfg.ready),
            );
        }
        if Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep_until((at + cfg.poll.0).min(deadline)).await;
    }
    if !went_down {
        report.finding(
            "ready-ignores-dependency",
            format!(
                "expected readiness to turn not-ready (4xx, 5xx or no answer) within {} of the fault hook, saw {last_ready} throughout",
                humantime::format_duration(cfg.within.0),
            ),
            format!("GET {} (after fault hook)", cfg.ready),
        );
    }
    Ok(())
}

/// Whether an orchestrator would take this readiness answer as not ready: Kubernetes counts
/// 200–399 as success, so a redirect still receives traffic.
fn is_not_ready(r: &Response) -> bool {
    !(200..400).contains(&r.status)
}

/// A duration to the millisecond, as messages show it.
fn round_ms(d: Duration) -> Duration {
    Duration::from_millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Polls until ready answers 2xx again.
async fn after_restore(
    cfg: &Config,
    http: &mut Client,
    report: &mut Report,
) -> Result<(), ProbeError> {
    let started = Instant::now();
    let deadline = started + cfg.within.0;
    loop {
        let at = Instant::now();
        let seen = match http
            .send(&Request::get(&cfg.ready).note("after restore hook"))
            .await
        {
            Ok(r) if r.is_success() => {
                report.measure("ready_back_after_ms", ms(started.elapsed()));
                return Ok(());
            }
            Ok(r) => format!("status {}", r.status),
            Err(e @ ProbeError::Transport { .. }) => e.to_string(),
            Err(e) => return Err(e),
        };
        if Instant::now() >= deadline {
            report.finding(
                "ready-not-restored",
                format!(
                    "expected readiness to answer 2xx within {} of the restore hook, saw {seen}",
                    humantime::format_duration(cfg.within.0)
                ),
                format!("GET {} (after restore hook)", cfg.ready),
            );
            return Ok(());
        }
        tokio::time::sleep_until((at + cfg.poll.0).min(deadline)).await;
    }
}
