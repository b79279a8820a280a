//! `rate-limit`: a burst is answered with 429 and a usable `Retry-After`, and the limit lifts.
//!
//! ```toml
//! [gates.login-rate-limit]
//! probe = "rate-limit"
//! path = "/api/login"
//! method = "POST"                  # default
//! json = { user = "x", password = "y" }
//! limit = 5                        # a 429 must come by request limit + 1 (default 5)
//! max_requests = 50                # hard cap on the burst (default 50, at least limit + 1)
//! max_wait = "10s"                 # cap on the wait for Retry-After (default 10s)
//! ```
//!
//! Requests go one after the other until the first 429, at most `max_requests`. No 429 by
//! request `limit + 1` is `rate-limit-not-enforced`, saying how many got through (the burst
//! goes on to `max_requests` to find out). The 429 must carry `Retry-After` as seconds or an
//! HTTP-date (`retry-after-missing`, `retry-after-invalid`). The probe then waits that long
//! (at most `max_wait`) and one more request must not be a 429 (`rate-limit-not-recovered`);
//! without a usable `Retry-After` there is nothing to wait for and that step is left out.
//!
//! Budget: `max_requests + 1`, time at most `max_wait` plus the requests.
//! Measurements: `requests_before_429`, `retry_after_s`.

use std::time::{Duration, SystemTime};

use serde::Deserialize;
use serde_json::Value;

use crate::net::{Body, Client, ProbeError, Request, Response};
use crate::params::{self, Dur, err};
use crate::probe::Probe;
use crate::report::Report;
use crate::{Context, ParamError};

/// Added to the wait: limiters refill on their own clock, and arriving a hair early would
/// blame the service for our timing.
const SLACK: Duration = Duration::from_millis(100);

/// The `rate-limit` probe's parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    path: String,
    #[serde(default = "params::post")]
    method: String,
    json: Option<Value>,
    #[serde(default = "limit")]
    limit: u32,
    #[serde(default = "max_requests")]
    max_requests: u32,
    #[serde(default = "max_wait")]
    max_wait: Dur,
}

fn limit() -> u32 {
    5
}

fn max_requests() -> u32 {
    50
}

fn max_wait() -> Dur {
    Dur(Duration::from_secs(10))
}

/// The `rate-limit` probe.
pub(crate) struct RateLimit;

impl Probe for RateLimit {
    const KIND: &'static str = "rate-limit";
    type Config = Config;

    fn validate(cfg: &mut Config, errors: &mut Vec<ParamError>) {
        params::check_path("path", &cfg.path, errors);
        params::check_method("method", &cfg.method, errors);
        if cfg.limit == 0 {
            errors.push(err("limit", "expected a limit of at least 1"));
        }
        if cfg.max_requests < cfg.limit.saturating_add(1) || cfg.max_requests > 10_000 {
            errors.push(err(
                "max_requests",
                format!(
                    "expected between limit + 1 ({}) and 10000, saw {}",
                    cfg.limit.saturating_add(1),
                    cfg.max_requests
                ),
            ));
        }
    }

    fn budget(cfg: &Config) -> u32 {
        cfg.max_requests + 1
    }

    /// Bursts, reads Retry-After, waits and checks the limit lifted.
    async fn check(
        cfg: &Config,
        _ctx: &Context,
        http: &mut Client,
        report: &mut Report,
    ) -> Result<(), ProbeError> {
        let Some(limited) = burst(cfg, http, report).await? else {
            return Ok(());
        };
        let Some(wait) = retry_wait(&limited, report) else {
            return Ok(());
        };
        recovery(cfg, wait, http, report).await
    }
}

/// Sends requests until the first 429 and judges how many got through; the 429, if one came.
async fn burst(
    cfg: &Config,
    http: &mut Client,
    report: &mut Report,
) -> Result<Option<Response>, ProbeError> {
    let mut statuses: Vec<u16> = Vec::new();
    let mut limited = None;
    for n in 1..=cfg.max_requests {
        let resp = http
            .send(&request(cfg, format!("burst request {n}")))
            .await?;
        if resp.status == 429 {
            limited = Some(resp);
            break;
        }
        statuses.push(resp.status);
    }
    let through = statuses.len();
    report.measure("requests_before_429", through as f64);
    let by = cfg.limit as usize + 1;
    let summary = summarize(&statuses);
    let Some(limited) = limited else {
        report.finding(
            "rate-limit-not-enforced",
            format!("expected a 429 by request {by}, saw none in {through} requests ({summary})"),
            format!("{} {} (burst)", cfg.method, cfg.path),
        );
        return Ok(None);
    };
    if through >= by {
        report.finding(
            "rate-limit-not-enforced",
            format!("expected a 429 by request {by}, saw {through} requests get through first ({summary})"),
            limited.location.as_str(),
        );
    }
    Ok(Some(limited))
}

/// The wait the 429 asks for; `None` (with a finding) when it asks for none usable.
fn retry_wait(limited: &Response, report: &mut Report) -> Option<Duration> {
    let Some(value) = limited.header("retry-after") else {
        report.finding(
            "retry-after-missing",
            "expected a Retry-After header (seconds or HTTP-date) on the 429, saw none",
            limited.location.as_str(),
        );
        return None;
    };
    let wait = retry_after(value);
    match wait {
        Some(wait) => report.measure("retry_after_s", wait.as_secs_f64()),
        None => report.finding(
            "retry-after-invalid",
            format!("expected Retry-After as seconds or an HTTP-date, saw {value:?}"),
            limited.location.as_str(),
        ),
    }
    wait
}

/// Waits `wait` (at most `max_wait`), then one request must not be a 429.
async fn recovery(
    cfg: &Config,
    wait: Duration,
    http: &mut Client,
    report: &mut Report,
) -> Result<(), ProbeError> {
    let capped = (wait + SLACK).min(cfg.max_wait.0);
    tokio::time::sleep(capped).await;
    let after = http
        .send(&request(
            cfg,
            format!("after waiting {}", humantime::format_duration(capped)),
        ))
        .await?;
    if after.status == 429 {
        report.finding(
            "rate-limit-not-recovered",
            format!(
                "expected no 429 after waiting Retry-After ({}s){}, saw 429",
                wait.as_secs(),
                if capped < wait + SLACK {
                    format!(
                        ", capped at max_wait {}",
                        humantime::format_duration(cfg.max_wait.0)
                    )
                } else {
                    String::new()
                }
            ),
            after.location.as_str(),
        );
    }
    Ok(())
}

fn request(cfg: &Config, note: String) -> Request {
    Request::new(&cfg.method, &cfg.path)
        .body(cfg.json.clone().map(Body::Json))
        .note(note)
}

/// `Retry-After` as a wait from now: delay-seconds or an HTTP-date.
fn retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// `200×5, 500×1`.
fn summarize(statuses: &[u16]) -> String {
    let mut counts: Vec<(u16, usize)> = Vec::new();
    for s in statuses {
        match counts.iter_mut().find(|(c, _)| c == s) {
            Some((_, n)) => *n += 1,
            None => counts.push((*s, 1)),
        }
    }
    if counts.is_empty() {
        return "no responses".to_string();
    }
    counts
        .iter()
        .map(|(s, n)| format!("{s}×{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        assert_eq!(retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon"), None);
        assert_eq!(retry_after("-1"), None);
    }
}
