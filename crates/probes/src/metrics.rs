//! `metrics`: a Prometheus endpoint that scrapes cleanly and exposes what dashboards need.
//!
//! ```toml
//! [gates.metrics]
//! probe = "metrics"
//! path = "/metrics"                                    # default
//! families = [{ name = "http_requests_total", type = "counter", labels = ["route", "status"] }]
//! expect_traffic = true                                # default false
//! ```
//!
//! The scrape asks for the formats Prometheus asks for (`Accept`, OpenMetrics first) and the
//! response's `Content-Type` must be one Prometheus 3 scrapes without a fallback configured:
//! `text/plain` (the 0.0.4 text format, with or without `version`) or
//! `application/openmetrics-text` (OpenMetrics 1.0), well-formed (`metrics-content-type`;
//! a missing, unknown or malformed type is refused by Prometheus 3, which reports "Failed to
//! determine correct type of scrape target"). The body is then read with a strict parser of
//! the format the type names (see `exposition`; an unusable type falls back to 0.0.4, as
//! `fallback_scrape_protocol` would): every syntax problem is a `metrics-parse-error` and every
//! histogram inconsistency (non-cumulative buckets, no `+Inf` bucket, `_count` different from
//! it, no `_sum`) a `metrics-histogram-inconsistent`, each located by line. A non-2xx scrape is
//! `metrics-status`.
//!
//! Each family in `families` must exist (`metrics-family-missing`; a counter may be named with
//! or without `_total`), have the declared `type` (`metrics-family-type`; `unknown` and
//! `untyped` are the same type) and carry each label on its samples (`metrics-family-labels`).
//! Without `families` the default requirement is a counter with a route-like label (route,
//! path, handler, endpoint) and a status-like label (status, code, status_code)
//! (`metrics-no-request-counter`), and a histogram (`metrics-no-histogram`).
//!
//! The probe always scrapes twice: a counter series (or a histogram's `_count` and buckets)
//! that went down between two scrapes without its `_created` changing is
//! `metrics-counter-decreased` (a counter only resets when its process restarts, and
//! `rate()` reads every drop as a reset). With `expect_traffic`, it then sends `GET /` to the
//! base URL and scrapes a third time: the request counters (the counter families of
//! `families`, else the default request counter) must have grown across `GET /` by more than
//! they grew between the first two scrapes (`metrics-counter-not-increased`), so the probe's
//! own scrapes never count as the traffic, whether or not the service labels them; series
//! whose route-like label is the metrics path are left out as well, and `_created` series are
//! never summed.
//!
//! Budget: 2 requests, 4 with `expect_traffic`. Measurements: `metrics_families`,
//! `metrics_samples`.

use serde::Deserialize;

use std::collections::BTreeMap;

use crate::exposition::{self, Exposition, Family, Format, KIND_NAMES, Kind};
use crate::net::{Client, ProbeError, Request, Response};
use crate::params::{self, err};
use crate::probe::Probe;
use crate::report::Report;
use crate::{Context, ParamError};

const ROUTE_LABELS: &[&str] = &["route", "path", "handler", "endpoint"];
const STATUS_LABELS: &[&str] = &["status", "code", "status_code"];

/// The `metrics` probe's parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    #[serde(default = "path")]
    path: String,
    families: Option<Vec<FamilySpec>>,
    #[serde(default)]
    expect_traffic: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FamilySpec {
    name: String,
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    labels: Vec<String>,
}

fn path() -> String {
    "/metrics".to_string()
}

/// The `metrics` probe.
pub(crate) struct Metrics;

impl Probe for Metrics {
    const KIND: &'static str = "metrics";
    const RULES: &'static [&'static str] = &["format", "families", "monotonic", "traffic"];
    type Config = Config;

    fn validate(cfg: &mut Config, errors: &mut Vec<ParamError>) {
        params::check_path("path", &cfg.path, errors);
        for (i, f) in cfg.families.iter().flatten().enumerate() {
            if let Some(kind) = &f.kind
                && Kind::parse(kind).is_none()
            {
                errors.push(err(
                    format!("families[{i}].type"),
                    format!("expected {KIND_NAMES}, saw {kind:?}"),
                ));
            }
            if f.name.is_empty() {
                errors.push(err(
                    format!("families[{i}].name"),
                    "expected a metric family name",
                ));
            }
        }
    }

    fn budget(cfg: &Config) -> u32 {
        if cfg.expect_traffic { 4 } else { 2 }
    }

    /// Scrapes and judges the exposition.
    async fn check(
        cfg: &Config,
        _ctx: &Context,
        http: &mut Client,
        report: &mut Report,
    ) -> Result<(), ProbeError> {
        let Some((exp, resp)) = scrape(cfg, http, "scrape", true, report).await? else {
            return Ok(());
        };
        let at = resp.location.as_str();
        report.exercised("format");
        report.exercised("families");
        report.measure("metrics_families", exp.families.len() as f64);
        report.measure(
            "metrics_samples",
            exp.families.iter().map(|f| f.samples.len()).sum::<usize>() as f64,
        );
        let counters = match &cfg.families {
            Some(specs) => declared(specs, &exp, at, report),
            None => default_families(&exp, at, report),
        };
        let Some((second, again)) = scrape(cfg, http, "second scrape", false, report).await? else {
            return Ok(());
        };
        decreased(&exp, &second, &again.location, report);
        report.exercised("monotonic");
        if cfg.expect_traffic {
            grows(cfg, &exp, &second, &counters, http, report).await?;
            report.exercised("traffic");
        } else {
            report.skipped(
                "traffic",
                "`expect_traffic = false`: request counters not seen to count a request",
            );
        }
        Ok(())
    }
}

/// Each declared family must exist with its type and labels; returns the counters among them.
fn declared(specs: &[FamilySpec], exp: &Exposition, at: &str, report: &mut Report) -> Vec<String> {
    let mut counters: Vec<String> = Vec::new();
    for spec in specs {
        let Some(family) = find(exp, &spec.name) else {
            report.finding(
                "metrics-family-missing",
                format!("expected metric family {}, saw none", spec.name),
                at,
            );
            continue;
        };
        if let Some(kind) = &spec.kind
            && !family.kind.is_named(kind)
        {
            report.finding(
                "metrics-family-type",
                format!(
                    "expected {} to be a {kind}, saw {}",
                    spec.name,
                    family.kind.as_str()
                ),
                at,
            );
        }
        for label in &spec.labels {
            if !has_label(family, &[label.as_str()]) {
                report.finding(
                    "metrics-family-labels",
                    format!(
                        "expected {} to carry label {label}, saw none of its samples with it",
                        spec.name
                    ),
                    at,
                );
            }
        }
        if family.kind == Kind::Counter {
            counters.push(family.name.clone());
        }
    }
    counters
}

/// Without declared families: a request counter and a histogram; returns the request counters.
fn default_families(exp: &Exposition, at: &str, report: &mut Report) -> Vec<String> {
    let request_counters: Vec<&Family> = exp
        .families
        .iter()
        .filter(|f| {
            f.kind == Kind::Counter && has_label(f, ROUTE_LABELS) && has_label(f, STATUS_LABELS)
        })
        .collect();
    if request_counters.is_empty() {
        report.finding(
            "metrics-no-request-counter",
            "expected a counter with a route label (route, path, handler or endpoint) and a status label (status, code or status_code), saw none",
            at,
        );
    }
    if !exp.families.iter().any(|f| f.kind == Kind::Histogram) {
        report.finding(
            "metrics-no-histogram",
            "expected at least one histogram (request latency), saw none",
            at,
        );
    }
    request_counters.iter().map(|f| f.name.clone()).collect()
}

/// The request counters must grow across one request to the service by more than the probe's
/// own scrapes make them grow: `first` and `second` were scraped back to back.
async fn grows(
    cfg: &Config,
    first: &Exposition,
    second: &Exposition,
    counters: &[String],
    http: &mut Client,
    report: &mut Report,
) -> Result<(), ProbeError> {
    let base_path = http.url(&cfg.path)?.path().to_string();
    let own = [cfg.path.as_str(), base_path.as_str()];
    let (a, b) = (
        traffic(first, counters, &own),
        traffic(second, counters, &own),
    );
    http.send(&Request::get("/").note("traffic")).await?;
    if let Some((third, resp)) = scrape(cfg, http, "after traffic", false, report).await? {
        decreased(second, &third, &resp.location, report);
        let c = traffic(&third, counters, &own);
        let (scrape_only, across) = (b - a, c - b);
        if counters.is_empty() || across <= scrape_only {
            report.finding(
                "metrics-counter-not-increased",
                format!(
                    "expected the request counter{} to grow after GET / by more than a scrape alone makes it grow, saw +{scrape_only} between two scrapes and +{across} across GET / ({b} before, {c} after)",
                    if counters.is_empty() { String::new() } else { format!(" ({})", counters.join(", ")) }
                ),
                resp.location.as_str(),
            );
        }
    }
    Ok(())
}

/// Every counter-like series of `before` that is lower in `after`, unless its `_created`
/// changed (a restart, which OpenMetrics makes visible).
fn decreased(before: &Exposition, after: &Exposition, at: &str, report: &mut Report) {
    let (old, new) = (monotonic(before), monotonic(after));
    let (old_created, new_created) = (created(before), created(after));
    for (key, (value, line)) in &new {
        let Some((was, _)) = old.get(key) else {
            continue;
        };
        let family_key = (key.0.clone(), key.1.clone());
        let reset = old_created.get(&family_key) != new_created.get(&family_key);
        if value < was && !reset {
            report.finding(
                "metrics-counter-decreased",
                format!(
                    "expected {}{} never to go down between scrapes, saw {was} then {value}",
                    key.2, key.3
                ),
                format!("{at} line {line}"),
            );
        }
    }
}

/// (family, labels but `le`, sample name, labels) → (value, line) of every sample that may
/// only grow: counters and the `_count` and buckets of histograms, never `_created`.
type SeriesKey = (String, String, String, String);

fn monotonic(exp: &Exposition) -> BTreeMap<SeriesKey, (f64, usize)> {
    let mut out = BTreeMap::new();
    for f in &exp.families {
        let counts = match f.kind {
            Kind::Counter => true,
            Kind::Histogram => false,
            _ => continue,
        };
        for s in &f.samples {
            let keep = if counts {
                !s.name.ends_with("_created")
            } else {
                s.name.ends_with("_count") || s.name.ends_with("_bucket")
            };
            if keep && !s.value.is_nan() {
                out.insert(
                    (
                        f.name.clone(),
                        labels(s, false),
                        s.name.clone(),
                        labels(s, true),
                    ),
                    (s.value, s.line),
                );
            }
        }
    }
    out
}

/// (family, labels but `le`) → value of its `_created` sample.
fn created(exp: &Exposition) -> BTreeMap<(String, String), String> {
    exp.families
        .iter()
        .flat_map(|f| f.samples.iter().map(move |s| (f, s)))
        .filter(|(_, s)| s.name.ends_with("_created"))
        .map(|(f, s)| ((f.name.clone(), labels(s, false)), s.value.to_string()))
        .collect()
}

/// `{a="1",b="2"}` in sorted order, with or without `le`.
fn labels(s: &exposition::Sample, with_le: bool) -> String {
    let mut pairs: Vec<String> = s
        .labels
        .iter()
        .filter(|(n, _)| with_le || n != "le")
        .map(|(n, v)| format!("{n}={v:?}"))
        .collect();
    pairs.sort();
    format!("{{{}}}", pairs.join(","))
}

fn find<'a>(exp: &'a Exposition, name: &str) -> Option<&'a Family> {
    exp.family(name)
        .or_else(|| name.strip_suffix("_total").and_then(|n| exp.family(n)))
        .or_else(|| exp.family(&format!("{name}_total")))
}

fn has_label(family: &Family, names: &[&str]) -> bool {
    family
        .samples
        .iter()
        .any(|s| s.labels.iter().any(|(n, _)| names.contains(&n.as_str())))
}

/// Scrapes once; findings for a bad status or content type, and when `judge` for a bad body
/// (later scrapes are read for their values only: the same body rules judged twice would only
/// repeat findings); `None` when nothing was readable.
async fn scrape(
    cfg: &Config,
    http: &mut Client,
    note: &str,
    judge: bool,
    report: &mut Report,
) -> Result<Option<(Exposition, Response)>, ProbeError> {
    let resp = http
        .send(&Request::prometheus(&cfg.path).note(note))
        .await?;
    if !resp.is_success() {
        report.finding(
            "metrics-status",
            format!("expected a 2xx scrape, saw {}", resp.status),
            resp.location.as_str(),
        );
        return Ok(None);
    }
    let format = match content_type(resp.header("content-type")) {
        Ok(format) => format,
        Err(problem) => {
            if judge {
                report.finding("metrics-content-type", problem, resp.location.as_str());
            }
            Format::Text
        }
    };
    let (exp, problems) = exposition::parse(&resp.text(), format);
    for p in problems.into_iter().filter(|_| judge) {
        let code = if p.kind == "histogram" {
            "metrics-histogram-inconsistent"
        } else {
            "metrics-parse-error"
        };
        report.finding(
            code,
            p.message,
            format!("{} line {}", resp.location, p.line),
        );
    }
    Ok(Some((exp, resp)))
}

/// The text format a `Content-Type` names, or why Prometheus 3 would refuse to scrape it.
/// Prometheus reads it with Go's `mime.ParseMediaType`: `type/subtype` then `; name=value`
/// parameters (a token or a quoted string), names unique; a comma is not a separator.
fn content_type(value: Option<&str>) -> Result<Format, String> {
    let expect = "expected Content-Type text/plain; version=0.0.4 or application/openmetrics-text; version=1.0.0 (Prometheus 3 refuses to scrape anything else)";
    let Some(value) = value else {
        return Err(format!("{expect}, saw no Content-Type"));
    };
    let malformed = || format!("{expect}, saw the malformed {value:?}");
    let mut parts = value.split(';');
    let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    let (kind, sub) = media.split_once('/').ok_or_else(malformed)?;
    if !is_token(kind) || !is_token(sub) {
        return Err(malformed());
    }
    let mut names: Vec<String> = Vec::new();
    for param in parts {
        let param = param.trim();
        if param.is_empty() {
            // Go tolerates trailing semicolons.
            continue;
        }
        let (name, val) = param.split_once('=').ok_or_else(malformed)?;
        let (name, val) = (name.trim().to_ascii_lowercase(), val.trim());
        let quoted = val.len() >= 2 && val.starts_with('"') && val.ends_with('"');
        if !is_token(&name) || !(quoted || is_token(val)) || names.contains(&name) {
            return Err(malformed());
        }
        names.push(name);
    }
    match media.as_str() {
        "text/plain" => Ok(Format::Text),
        "application/openmetrics-text" => Ok(Format::OpenMetrics),
        _ => Err(format!("{expect}, saw {value:?}")),
    }
}

/// An RFC 9110 token.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Sum of the named counters' request series, leaving out series about the metrics endpoint
/// itself (`own`: its path as configured and as the service sees it) and `_created`.
fn traffic(exp: &Exposition, counters: &[String], own: &[&str]) -> f64 {
    counters
        .iter()
        .filter_map(|name| exp.family(name))
        .flat_map(|f| &f.samples)
        .filter(|s| !s.name.ends_with("_created"))
        .filter(|s| {
            !ROUTE_LABELS
                .iter()
                .any(|l| s.label(l).is_some_and(|v| own.contains(&v)))
        })
        .map(|s| s.value)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_prometheus_scrapes() {
        let text = Ok(Format::Text);
        let om = Ok(Format::OpenMetrics);
        assert_eq!(
            content_type(Some("text/plain; version=0.0.4; charset=utf-8")),
            text
        );
        assert_eq!(content_type(Some("text/plain")), text);
        assert_eq!(content_type(Some("Text/Plain;charset=\"utf-8\";")), text);
        assert_eq!(
            content_type(Some(
                "application/openmetrics-text; version=1.0.0; charset=utf-8"
            )),
            om
        );
        for bad in [
            None,
            Some(""),
            Some("text/html"),
            Some("application/json"),
            Some("text/plain; version=0.0.4, charset=utf-8"),
            Some("text/plain; version"),
            Some("text/plain; a=1; a=2"),
            Some("text"),
        ] {
            assert!(content_type(bad).is_err(), "{bad:?}");
        }
    }
}
