//! `request-id`: the service echoes a valid request id, generates one when none is sent, and
//! does not echo a hostile one.
//!
//! ```toml
//! [gates.request-id]
//! probe = "request-id"
//! path = "/health/live"        # default
//! header = "X-Request-Id"      # default
//! samples = 20                 # requests without an id (default 20, 1..=1000)
//! pattern = "^[0-9a-f]{32}$"   # what a generated id must match, in full
//! ```
//!
//! Checks, in order: a fresh UUID sent in `header` comes back unchanged
//! (`request-id-not-echoed`); `samples` requests without the header each get an id
//! (`request-id-missing`) matching `pattern` (`request-id-pattern`; default a UUID or 16 to 64
//! hex digits), all different (`request-id-duplicate`); a 300-character id, one with a space and
//! one with a tab (a control character a header may carry) are not echoed as they were
//! (`request-id-oversized-echoed`, `request-id-unsafe-echoed`). Replacing them with a
//! generated id is fine.
//!
//! Budget: `samples + 4` requests.

use regex::Regex;
use serde::Deserialize;

use crate::net::{Client, ProbeError, Request};
use crate::params::{self, err};
use crate::probe::Probe;
use crate::report::Report;
use crate::{Context, ParamError};

const DEFAULT_PATTERN: &str = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{16,64}";

/// The `request-id` probe's parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    #[serde(default = "params::live")]
    path: String,
    #[serde(default = "header")]
    header: String,
    #[serde(default = "samples")]
    samples: u32,
    pattern: Option<String>,
    #[serde(skip)]
    regex: Option<Regex>,
}

fn header() -> String {
    "X-Request-Id".to_string()
}

fn samples() -> u32 {
    20
}

/// The `request-id` probe.
pub(crate) struct RequestId;

impl Probe for RequestId {
    const KIND: &'static str = "request-id";
    type Config = Config;

    fn validate(cfg: &mut Config, errors: &mut Vec<ParamError>) {
        params::check_path("path", &cfg.path, errors);
        if reqwest::header::HeaderName::from_bytes(cfg.header.as_bytes()).is_err() {
            errors.push(err(
                "header",
                format!("expected a header name, saw {:?}", cfg.header),
            ));
        }
        if !(1..=1000).contains(&cfg.samples) {
            errors.push(err(
                "samples",
                format!("expected 1 to 1000 samples, saw {}", cfg.samples),
            ));
        }
        let pattern = cfg.pattern.as_deref().unwrap_or(DEFAULT_PATTERN);
        // The id must match in full; an unanchored user pattern would accept anything containing it.
        match Regex::new(&format!("^(?:{pattern})$")) {
            Ok(re) => cfg.regex = Some(re),
            Err(e) => errors.push(err(
                "pattern",
                format!("expected a regular expression: {e}"),
            )),
        }
    }

    fn budget(cfg: &Config) -> u32 {
        cfg.samples + 4
    }

    /// Sends the samples and judges the ids.
    async fn check(
        cfg: &Config,
        _ctx: &Context,
        http: &mut Client,
        report: &mut Report,
    ) -> Result<(), ProbeError> {
        echo(cfg, http, report).await?;
        generated(cfg, http, report).await?;
        hostile(cfg, http, report).await
    }
}

/// A valid id sent must come back unchanged.
async fn echo(cfg: &Config, http: &mut Client, report: &mut Report) -> Result<(), ProbeError> {
    let name = cfg.header.as_str();
    let sent = uuid::Uuid::new_v4().to_string();
    let resp = http
        .send(
            &Request::get(&cfg.path)
                .header(name, &sent)
                .note(format!("{name}: {sent}")),
        )
        .await?;
    match resp.header(name) {
        Some(v) if v == sent => {}
        seen => report.finding(
            "request-id-not-echoed",
            format!(
                "expected {name}: {sent} echoed unchanged, saw {}",
                seen.map_or("no such header".to_string(), |v| format!("{v:?}"))
            ),
            resp.location.as_str(),
        ),
    }
    Ok(())
}

/// Without an id sent, each response must carry a fresh one matching the pattern.
async fn generated(cfg: &Config, http: &mut Client, report: &mut Report) -> Result<(), ProbeError> {
    let name = cfg.header.as_str();
    let mut ids: Vec<String> = Vec::new();
    let regex = cfg.regex.as_ref();
    for i in 0..cfg.samples {
        let resp = http
            .send(&Request::get(&cfg.path).note(format!("no {name}, sample {}", i + 1)))
            .await?;
        let at = resp.location.as_str();
        let Some(id) = resp.header(name) else {
            report.finding(
                "request-id-missing",
                format!("expected a generated {name} when none is sent, saw no such header"),
                at,
            );
            continue;
        };
        if regex.is_some_and(|re| !re.is_match(id)) {
            report.finding(
                "request-id-pattern",
                format!(
                    "expected a generated {name} matching {}, saw {id:?}",
                    cfg.pattern
                        .as_deref()
                        .unwrap_or("a UUID or 16-64 hex digits")
                ),
                at,
            );
        }
        if ids.iter().any(|seen| seen == id) {
            report.finding(
                "request-id-duplicate",
                format!("expected a fresh {name} on every request, saw {id:?} again"),
                at,
            );
        }
        ids.push(id.to_string());
    }
    report.measure("request_id_samples", f64::from(cfg.samples));
    report.measure("request_id_unique", ids.len() as f64);
    Ok(())
}

/// Ids that are too long or unsafe to log must not be echoed as they were sent.
async fn hostile(cfg: &Config, http: &mut Client, report: &mut Report) -> Result<(), ProbeError> {
    let name = cfg.header.as_str();
    let hostile: [(&str, String, &str); 3] = [
        (
            "request-id-oversized-echoed",
            "a".repeat(300),
            "300-character id",
        ),
        (
            "request-id-unsafe-echoed",
            "phasegate probe id".to_string(),
            "id with spaces",
        ),
        (
            "request-id-unsafe-echoed",
            "phasegate\tprobe".to_string(),
            "id with a tab",
        ),
    ];
    for (code, value, what) in hostile {
        let resp = http
            .send(
                &Request::get(&cfg.path)
                    .header(name, &value)
                    .note(format!("{name}: {what}")),
            )
            .await?;
        if resp.header(name) == Some(value.as_str()) {
            report.finding(
                code,
                format!("expected a {what} to be replaced or dropped, saw it echoed back as sent"),
                resp.location.as_str(),
            );
        }
    }
    Ok(())
}
