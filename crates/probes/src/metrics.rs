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
//! The body is read with a strict parser of the text format (see `exposition`): every syntax
//! problem is a `metrics-parse-error` and every histogram inconsistency (non-cumulative buckets,
//! no `+Inf` bucket, `_count` different from it, no `_sum`) a `metrics-histogram-inconsistent`,
//! each located by line. A non-2xx scrape is `metrics-status`.
//!
//! Each family in `families` must exist (`metrics-family-missing`; a counter may be named with
//! or without `_total`), have the declared `type` (`metrics-family-type`) and carry each
//! label on its samples (`metrics-family-labels`). Without `families` the default requirement
//! is a counter with a route-like label (route, path, handler, endpoint) and a status-like label
//! (status, code, status_code) (`metrics-no-request-counter`), and a histogram
//! (`metrics-no-histogram`).
//!
//! With `expect_traffic`, the probe scrapes, sends `GET /` to the base URL, scrapes again, and
//! the request counters (the counter families of `families`, else the default request counter)
//! must have grown (`metrics-counter-not-increased`). Series whose route-like label names the
//! metrics path are left out, so that the scrapes themselves do not count as traffic.
//!
//! Budget: 1 request, 3 with `expect_traffic`. Measurements: `metrics_families`,
//! `metrics_samples`.

use serde::Deserialize;

use crate::exposition::{self, Exposition, Family, Kind};
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
    type Config = Config;

    fn validate(cfg: &mut Config, errors: &mut Vec<ParamError>) {
        params::check_path("path", &cfg.path, errors);
        for (i, f) in cfg.families.iter().flatten().enumerate() {
            if let Some(kind) = &f.kind
                && Kind::parse(kind).is_none()
            {
                errors.push(err(
                    format!("families[{i}].type"),
                    format!("expected counter, gauge, histogram, summary or untyped, saw {kind:?}"),
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
        if cfg.expect_traffic { 3 } else { 1 }
    }

    /// Scrapes and judges the exposition.
    async fn check(
        cfg: &Config,
        _ctx: &Context,
        http: &mut Client,
        report: &mut Report,
    ) -> Result<(), ProbeError> {
        let Some((exp, resp)) = scrape(cfg, http, "scrape", report).await? else {
            return Ok(());
        };
        let at = resp.location.as_str();
        report.measure("metrics_families", exp.families.len() as f64);
        report.measure(
            "metrics_samples",
            exp.families.iter().map(|f| f.samples.len()).sum::<usize>() as f64,
        );
        let counters = match &cfg.families {
            Some(specs) => declared(specs, &exp, at, report),
            None => default_families(&exp, at, report),
        };
        if cfg.expect_traffic {
            grows(cfg, &exp, &counters, http, report).await?;
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
            && kind != family.kind.as_str()
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

/// The request counters must grow after one request to the service.
async fn grows(
    cfg: &Config,
    exp: &Exposition,
    counters: &[String],
    http: &mut Client,
    report: &mut Report,
) -> Result<(), ProbeError> {
    let before = traffic(exp, counters, &cfg.path);
    http.send(&Request::get("/").note("traffic")).await?;
    if let Some((after_exp, resp)) = scrape(cfg, http, "after traffic", report).await? {
        let after = traffic(&after_exp, counters, &cfg.path);
        if counters.is_empty() || after <= before {
            report.finding(
                "metrics-counter-not-increased",
                format!(
                    "expected the request counter{} to grow after GET /, saw {before} before and {after} after",
                    if counters.is_empty() { String::new() } else { format!(" ({})", counters.join(", ")) }
                ),
                resp.location.as_str(),
            );
        }
    }
    Ok(())
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

/// Scrapes once; findings for a bad status or a bad body; `None` when nothing was readable.
async fn scrape(
    cfg: &Config,
    http: &mut Client,
    note: &str,
    report: &mut Report,
) -> Result<Option<(Exposition, Response)>, ProbeError> {
    let resp = http.send(&Request::get(&cfg.path).note(note)).await?;
    if !resp.is_success() {
        report.finding(
            "metrics-status",
            format!("expected a 2xx scrape, saw {}", resp.status),
            resp.location.as_str(),
        );
        return Ok(None);
    }
    let (exp, problems) = exposition::parse(&resp.text());
    for p in problems {
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

/// Sum of the named counters, leaving out series about the metrics endpoint itself.
fn traffic(exp: &Exposition, counters: &[String], metrics_path: &str) -> f64 {
    counters
        .iter()
        .filter_map(|name| exp.family(name))
        .flat_map(|f| &f.samples)
        .filter(|s| {
            !ROUTE_LABELS
                .iter()
                .any(|l| s.label(l).is_some_and(|v| v.contains(metrics_path)))
        })
        .map(|s| s.value)
        .sum()
}
