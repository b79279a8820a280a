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
//! Checks, in order: `samples` requests without the header each get an id
//! (`request-id-missing`) matching `pattern` (`request-id-pattern`; default a UUID or 16 to 64
//! hex digits), all different (`request-id-duplicate`); a fresh UUID sent in `header` comes
//! back unchanged (`request-id-not-echoed`) — when it does not, and the generated ids were all
//! different, one of the service's own ids is sent instead, so that a service that echoes only
//! ids in its own format is not blamed for refusing a UUID; a 300-character id, one with a space
//! and one with a tab (a control character a header may carry) are not echoed as they were, in
//! any of the response's values of the header (`request-id-oversized-echoed`,
//! `request-id-unsafe-echoed`). Replacing them with a generated id is fine. A response that
//! carries the header more than once leaves logs and clients to pick one
//! (`request-id-multiple`, reported once).
//!
//! Budget: `samples + 5` requests. Measurements: `request_id_samples` (requests sent without
//! an id), `request_id_unique` (distinct ids among their responses).

use std::collections::HashSet;

use regex::Regex;
use serde::Deserialize;

use crate::net::{Client, ProbeError, Request, Response};
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
    const RULES: &'static [&'static str] = &["generated", "unique", "echo", "hostile"];
    type Config = Config;

    fn validate(cfg: &mut Config, errors: &mut Vec<ParamError>) {
        params::check_path("path", &cfg.path, errors);
        if reqwest::header::HeaderName::from_bytes(cfg.header.as_bytes()).is_err() {
            errors.push(err(
                "header",
                format!("expected a header name, saw {:?}", cfg.header),
            ));
        }
        params::check_count("samples", cfg.samples, 1000, " samples", errors);
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
        cfg.samples + 5
    }

    /// Sends the samples and judges the ids.
    async fn check(
        cfg: &Config,
        _ctx: &Context,
        http: &mut Client,
        report: &mut Report,
    ) -> Result<(), ProbeError> {
        let mut ids = Ids::default();
        generated(cfg, http, &mut ids, report).await?;
        report.exercised("generated");
        report.covered(
            "unique",
            cfg.samples > 1,
            "`samples = 1`: uniqueness needs at least 2 samples",
        );
        echo(cfg, http, &mut ids, report).await?;
        report.exercised("echo");
        hostile(cfg, http, report).await?;
        report.exercised("hostile");
        Ok(())
    }
}

/// The generated ids seen, and whether a response with several values was reported.
#[derive(Default)]
struct Ids {
    generated: Vec<String>,
    duplicates: bool,
    multiple_reported: bool,
}

impl Ids {
    /// The id a response carries; a second value is a finding (once per run).
    fn of<'r>(&mut self, resp: &'r Response, name: &str, report: &mut Report) -> Option<&'r str> {
        let values = resp.header_all(name);
        if values.len() > 1 && !self.multiple_reported {
            self.multiple_reported = true;
            report.finding(
                "request-id-multiple",
                format!("expected one {name} on the response, saw {values:?}"),
                resp.location.as_str(),
            );
        }
        values.first().copied()
    }
}

/// A valid id sent must come back unchanged: a UUID, else one in the service's own format.
async fn echo(
    cfg: &Config,
    http: &mut Client,
    ids: &mut Ids,
    report: &mut Report,
) -> Result<(), ProbeError> {
    let name = cfg.header.as_str();
    let uuid = uuid::Uuid::new_v4().to_string();
    let resp = send_id(cfg, http, &uuid).await?;
    let seen = ids.of(&resp, name, report).map(str::to_string);
    if seen.as_deref() == Some(uuid.as_str()) {
        return Ok(());
    }
    // A constant id would be echoed by a service that echoes nothing: only ids proven fresh
    // serve as the service's own format.
    let own = ids
        .generated
        .first()
        .filter(|_| !ids.duplicates)
        .filter(|own| **own != uuid)
        .cloned();
    let retried = match own {
        Some(own) => {
            let resp = send_id(cfg, http, &own).await?;
            let back = ids.of(&resp, name, report).map(str::to_string);
            if back.as_deref() == Some(own.as_str()) {
                return Ok(());
            }
            format!(
                ", nor {own:?} (an id it generated) echoed, saw {}",
                shown(back.as_deref())
            )
        }
        None => String::new(),
    };
    report.finding(
        "request-id-not-echoed",
        format!(
            "expected {name}: {uuid} echoed unchanged, saw {}{retried}",
            shown(seen.as_deref())
        ),
        resp.location.as_str(),
    );
    Ok(())
}

async fn send_id(cfg: &Config, http: &mut Client, id: &str) -> Result<Response, ProbeError> {
    let name = cfg.header.as_str();
    http.send(
        &Request::get(&cfg.path)
            .header(name, id)
            .note(format!("{name}: {id}")),
    )
    .await
}

fn shown(value: Option<&str>) -> String {
    value.map_or("no such header".to_string(), |v| format!("{v:?}"))
}

/// Without an id sent, each response must carry a fresh one matching the pattern.
async fn generated(
    cfg: &Config,
    http: &mut Client,
    ids: &mut Ids,
    report: &mut Report,
) -> Result<(), ProbeError> {
    let name = cfg.header.as_str();
    let regex = cfg.regex.as_ref();
    let mut unique: HashSet<String> = HashSet::new();
    for i in 0..cfg.samples {
        let resp = http
            .send(&Request::get(&cfg.path).note(format!("no {name}, sample {}", i + 1)))
            .await?;
        let at = resp.location.as_str();
        let Some(id) = ids.of(&resp, name, report) else {
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
        if !unique.insert(id.to_string()) {
            ids.duplicates = true;
            report.finding(
                "request-id-duplicate",
                format!("expected a fresh {name} on every request, saw {id:?} again"),
                at,
            );
        }
        ids.generated.push(id.to_string());
    }
    report.measure("request_id_samples", f64::from(cfg.samples));
    // Distinct ids, not ids received: 20 responses carrying one constant id is 1 unique id.
    report.measure("request_id_unique", unique.len() as f64);
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
        // Any value counts: a service that adds its own id but also passes the sent one on
        // still puts the hostile one in front of whoever reads the header.
        if resp.header_all(name).contains(&value.as_str()) {
            report.finding(
                code,
                format!("expected a {what} to be replaced or dropped, saw it echoed back as sent"),
                resp.location.as_str(),
            );
        }
    }
    Ok(())
}
