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
//! Requests go one after the other until the first 429 (RFC 6585 §4), at most
//! `max_requests`. No 429 by request `limit + 1` is `rate-limit-not-enforced`, saying how many
//! got through (the burst goes on to `max_requests` to find out).
//!
//! The 429 should carry `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date in any
//! of the three forms a recipient must accept (IMF-fixdate, RFC 850, asctime). RFC 6585 makes
//! it a MAY; phasegate asks for it (`retry-after-missing`, proposed severity low) because
//! without it a well-behaved client can only guess when to come back, and it is what lets the
//! probe check recovery. A value that is neither, or several different values, is
//! `retry-after-invalid`. An HTTP-date is read against the response's own `Date` when it has
//! one, so a clock difference between the service and phasegate does not change the wait.
//!
//! The probe then waits what the server asked (plus 100ms) and one more request must not be a
//! 429 (`rate-limit-not-recovered`). When the server asks for more than `max_wait`, recovery
//! is **not checked** — not waited for and no request sent, since a request before the
//! server's time is exactly what it asked clients not to do and may extend the block — and the
//! measurement `recovery_checked` is 0 with `retry_after_s` saying what the server asked; it
//! is not a finding: the service did what the RFC asks. Without a usable `Retry-After` there is
//! nothing to wait for and recovery is not checked either.
//!
//! Budget: `max_requests + 1`, time at most `max_wait` plus the requests.
//! Measurements: `requests_before_429`, `retry_after_s`, `recovery_checked` (1 or 0).

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
    const RULES: &'static [&'static str] = &["limit", "retry_after", "recovery"];
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
        let limited = burst(cfg, http, report).await?;
        report.exercised("limit");
        let Some(limited) = limited else {
            report.skipped("retry_after", "no 429 came");
            report.skipped("recovery", "no 429 came");
            return Ok(());
        };
        let wait = retry_wait(&limited, report);
        report.exercised("retry_after");
        match wait {
            Some(wait) if wait.saturating_add(SLACK) <= cfg.max_wait.0 => {
                report.measure("recovery_checked", 1.0);
                report.exercised("recovery");
                recovery(cfg, wait, http, report).await
            }
            Some(wait) => {
                report.measure("recovery_checked", 0.0);
                report.skipped(
                    "recovery",
                    format!(
                        "the server asked to wait {}, more than `max_wait`; raise `max_wait` to check the limit lifts",
                        humantime::format_duration(wait)
                    ),
                );
                Ok(())
            }
            None => {
                report.measure("recovery_checked", 0.0);
                report.skipped("recovery", "no usable Retry-After to wait for");
                Ok(())
            }
        }
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
    let values = limited.header_all("retry-after");
    let Some(value) = values.first().copied() else {
        report.finding(
            "retry-after-missing",
            "expected a Retry-After header (seconds or HTTP-date) on the 429, saw none",
            limited.location.as_str(),
        );
        return None;
    };
    // Retry-After is a singleton field: two different values leave the client nothing to obey.
    let wait = if values.iter().all(|v| v.trim() == value.trim()) {
        retry_after(value, limited.header("date"))
    } else {
        None
    };
    let value = values.join(", ");
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

/// Waits `wait` (the caller made sure it fits in `max_wait`), then one request must not be a
/// 429.
async fn recovery(
    cfg: &Config,
    wait: Duration,
    http: &mut Client,
    report: &mut Report,
) -> Result<(), ProbeError> {
    let waited = wait + SLACK;
    tokio::time::sleep(waited).await;
    let after = http
        .send(&request(
            cfg,
            format!("after waiting {}", humantime::format_duration(waited)),
        ))
        .await?;
    if after.status == 429 {
        report.finding(
            "rate-limit-not-recovered",
            format!(
                "expected no 429 after waiting what Retry-After asked ({}), saw 429",
                humantime::format_duration(wait)
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

/// `Retry-After` as a wait: delay-seconds (`1*DIGIT`, so no sign, fraction or unit; a value
/// too large for a `u64` is still a valid, very long wait) or an HTTP-date, measured from the
/// response's `Date` when it has a valid one, else from our clock. A date in the past is no
/// wait.
pub(crate) fn retry_after(value: &str, date: Option<&str>) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(
            value.parse::<u64>().unwrap_or(u64::MAX),
        ));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    let now = date
        .and_then(|d| httpdate::parse_http_date(d.trim()).ok())
        .unwrap_or_else(SystemTime::now);
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
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
        assert_eq!(retry_after("3", None), Some(Duration::from_secs(3)));
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:28:00 GMT", None),
            Some(Duration::ZERO)
        );
        // RFC 9110 §5.6.7: the obsolete RFC 850 and asctime forms must be accepted too.
        let date = Some("Wed, 21 Oct 2015 07:28:00 GMT");
        for form in [
            "Wed, 21 Oct 2015 07:28:30 GMT",
            "Wednesday, 21-Oct-15 07:28:30 GMT",
            "Wed Oct 21 07:28:30 2015",
        ] {
            assert_eq!(
                retry_after(form, date),
                Some(Duration::from_secs(30)),
                "{form}"
            );
        }
        assert_eq!(
            retry_after("99999999999999999999999", None),
            Some(Duration::from_secs(u64::MAX))
        );
        for bad in ["soon", "-1", "+1", "1.5", "1s", ""] {
            assert_eq!(retry_after(bad, None), None, "{bad}");
        }
    }
}
