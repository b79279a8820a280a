//! One probe run ad hoc against a URL, outside any roadmap.

use std::path::PathBuf;
use std::time::Duration;

use phasegate_probes::{Context, Outcome, Params, Target};

use crate::Error;

/// A probe asked for on the command line.
#[derive(Debug, Clone)]
pub struct ProbeRequest {
    /// The probe kind (one of [`phasegate_probes::KINDS`]).
    pub kind: String,
    /// The base URL of the service; for a probe of the project's files, the directory it
    /// reads (relative to `workdir`).
    pub url: String,
    /// Its parameters.
    pub params: Params,
    /// Limit on each request.
    pub timeout: Duration,
    /// Where hook commands run.
    pub workdir: PathBuf,
    /// The least severe finding that fails the probe; less severe ones are warnings.
    pub fail_on: phasegate_model::Severity,
}

/// `KEY=VALUE` pairs; a value that parses as TOML (a number, an array, an inline table, a
/// quoted string) is taken as such, anything else as a plain string.
pub fn parse_params(pairs: &[String]) -> Result<Params, Error> {
    let mut params = Params::new();
    for pair in pairs {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(Error::usage(
                format!("parameter `{pair}` is not KEY=VALUE"),
                "e.g. -p limit=5 or -p paths='[\"/\", \"/login\"]'",
            ));
        };
        let parsed = toml::from_str::<toml::Table>(&format!("v = {value}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .and_then(|v| serde_json::to_value(v).ok())
            .unwrap_or_else(|| serde_json::Value::String(value.to_owned()));
        params.insert(key.trim().to_owned(), parsed);
    }
    Ok(params)
}

/// Validates the request's parameters and URL, then runs the probe.
pub async fn probe(request: &ProbeRequest) -> Result<Outcome, Error> {
    if let Err(errors) = phasegate_probes::validate(&request.kind, &request.params) {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        return Err(Error::usage(
            format!(
                "invalid parameters for probe `{}`: {}",
                request.kind,
                lines.join("; ")
            ),
            format!("probes: {}", phasegate_probes::KINDS.join(", ")),
        ));
    }
    // A probe of the project's files takes a directory instead of a URL.
    let (base_url, workdir) = if phasegate_probes::target(&request.kind) == Some(Target::Files) {
        (None, request.workdir.join(&request.url))
    } else {
        let url = url::Url::parse(&request.url).map_err(|e| {
            Error::usage(
                format!("invalid URL `{}`: {e}", request.url),
                "give a base URL such as http://127.0.0.1:8080",
            )
        })?;
        (Some(url), request.workdir.clone())
    };
    let ctx = Context {
        base_url,
        timeout: request.timeout,
        workdir,
        // No session here, but the same variables are phasegate's own secrets.
        env: phasegate_probes::ChildEnv::withholding([crate::SIGNING_KEY_VAR, crate::LEDGER_VAR]),
    };
    Ok(phasegate_probes::run(&request.kind, &request.params, &ctx)
        .await
        .judged(request.fail_on))
}
