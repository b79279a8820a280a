//! `http`: a sequence of requests with assertions and captures.
//!
//! ```toml
//! [gates.smoke]
//! probe = "http"
//! requests = [
//!   { method = "POST", path = "/api/login", json = { user = "a" },
//!     expect = { status = 200, json = { "/token" = { type = "string" } } },
//!     capture = { token = "/token", rid = { header = "x-request-id" } } },
//!   { path = "/api/me", headers = { authorization = "Bearer {{token}}" },
//!     expect = { status = [200, 204], headers = { "content-type" = "application/json" },
//!                body_contains = "alice", max_latency = "300ms" } },
//! ]
//! ```
//!
//! Every assertion of every request is evaluated and each failed one is a finding; a wrong
//! status does not hide a wrong body (Hurl stops at the first). Without `expect.status` any 2xx
//! is expected. A capture that cannot be taken is a finding, and later requests that use it are
//! not sent (each is a finding too). Header expectations are substrings of a header value; JSON
//! expectations are keyed by JSON pointer and are either a value (numbers compare numerically)
//! or `{ type = "string" | "number" | "integer" | "boolean" | "array" | "object" | "null" }`.
//!
//! Budget: one request per entry. Measurements: `latency_max_ms`, `latency_p50_ms`.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

use regex::Regex;
use serde::Deserialize;
use serde_json::Value;

use crate::net::{Body, Client, ProbeError, Request, Response};
use crate::params::{self, Dur, err};
use crate::probe::Probe;
use crate::report::{Report, ms};
use crate::{Context, ParamError};

/// The `http` probe's parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    requests: Vec<Step>,
}

/// One request of a list: the `http` probe's `requests`, and the setup other probes run.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Step {
    #[serde(default = "params::get")]
    method: String,
    path: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    body: Option<String>,
    json: Option<Value>,
    #[serde(default)]
    expect: Expect,
    #[serde(default)]
    capture: BTreeMap<String, Capture>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    status: Option<StatusSet>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    body_contains: Option<String>,
    #[serde(default)]
    json: BTreeMap<String, JsonExpect>,
    max_latency: Option<Dur>,
}

/// `status = 200` or `status = [200, 204]`.
#[derive(Debug, Deserialize)]
#[serde(try_from = "Value")]
pub(crate) struct StatusSet(pub Vec<u16>);

impl TryFrom<Value> for StatusSet {
    type Error = String;
    fn try_from(v: Value) -> Result<Self, String> {
        let one = |v: &Value| {
            v.as_u64()
                .filter(|s| (100..=599).contains(s))
                .and_then(|s| u16::try_from(s).ok())
        };
        let expected = "expected a status code (100-599) or a list of them";
        match &v {
            Value::Array(items) if !items.is_empty() => items
                .iter()
                .map(|i| one(i).ok_or_else(|| format!("{expected}, saw {i}")))
                .collect::<Result<Vec<_>, _>>()
                .map(StatusSet),
            other => one(other)
                .map(|s| StatusSet(vec![s]))
                .ok_or_else(|| format!("{expected}, saw {other}")),
        }
    }
}

/// A JSON expectation: an exact value or `{ type = "..." }`.
#[derive(Debug, Deserialize)]
#[serde(try_from = "Value")]
enum JsonExpect {
    Type(String),
    Value(Value),
}

const JSON_TYPES: &[&str] = &[
    "string", "number", "integer", "boolean", "array", "object", "null",
];

impl TryFrom<Value> for JsonExpect {
    type Error = String;
    fn try_from(v: Value) -> Result<Self, String> {
        if let Value::Object(map) = &v
            && map.len() == 1
            && let Some(t) = map.get("type")
        {
            return match t.as_str() {
                Some(name) if JSON_TYPES.contains(&name) => Ok(JsonExpect::Type(name.to_string())),
                _ => Err(format!(
                    "expected `type` to be one of {}, saw {t}",
                    JSON_TYPES.join(", ")
                )),
            };
        }
        Ok(JsonExpect::Value(v))
    }
}

/// `name = "/json/pointer"` or `name = { header = "x-request-id" }`.
#[derive(Debug, Deserialize)]
#[serde(try_from = "Value")]
enum Capture {
    Pointer(String),
    Header(String),
}

impl TryFrom<Value> for Capture {
    type Error = String;
    fn try_from(v: Value) -> Result<Self, String> {
        match &v {
            Value::String(p) => Ok(Capture::Pointer(p.clone())),
            Value::Object(map) if map.len() == 1 => match map.get("header") {
                Some(Value::String(h)) => Ok(Capture::Header(h.clone())),
                _ => Err(format!("expected {{ header = \"name\" }}, saw {v}")),
            },
            _ => Err(format!(
                "expected a JSON pointer string or {{ header = \"name\" }}, saw {v}"
            )),
        }
    }
}

fn template_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"\{\{\s*([A-Za-z0-9_-]+)\s*\}\}").expect("static regex"))
}

/// Names used as `{{name}}` in `text`.
pub(crate) fn template_names(text: &str) -> Vec<String> {
    template_re()
        .captures_iter(text)
        .map(|c| c[1].to_string())
        .collect()
}

pub(crate) fn json_strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(items) => items.iter().for_each(|i| json_strings(i, out)),
        Value::Object(map) => map.values().for_each(|i| json_strings(i, out)),
        _ => {}
    }
}

/// The `http` probe.
pub(crate) struct Http;

impl Probe for Http {
    const KIND: &'static str = "http";
    const RULES: &'static [&'static str] = &["requests"];
    type Config = Config;

    fn validate(cfg: &mut Config, errors: &mut Vec<ParamError>) {
        if cfg.requests.is_empty() {
            errors.push(err("requests", "expected at least one request"));
        }
        validate_steps("requests", &cfg.requests, &mut Vec::new(), errors);
    }

    fn budget(cfg: &Config) -> u32 {
        u32::try_from(cfg.requests.len()).unwrap_or(u32::MAX)
    }

    /// Runs the requests in order.
    async fn check(
        cfg: &Config,
        _ctx: &Context,
        http: &mut Client,
        report: &mut Report,
    ) -> Result<(), ProbeError> {
        let mut vars = Vars::new();
        let mut latencies: Vec<Duration> = Vec::new();
        for (i, step) in cfg.requests.iter().enumerate() {
            let note = format!("request {}", i + 1);
            if let Some(resp) = run_step(step, &note, &mut vars, http, report).await? {
                latencies.push(resp.latency);
            }
        }
        // A request not sent (a capture it uses was not taken) is a finding too; its
        // assertions were not tested.
        let unsent = cfg.requests.len() - latencies.len();
        report.covered(
            "requests",
            unsent == 0,
            format!("{unsent} of the requests were not sent: a capture they use was not taken"),
        );
        if !latencies.is_empty() {
            latencies.sort();
            let max = latencies[latencies.len() - 1];
            let p50 = latencies[latencies.len().div_ceil(2) - 1];
            report.measure("latency_max_ms", ms(max));
            report.measure("latency_p50_ms", ms(p50));
        }
        Ok(())
    }
}

impl Step {
    pub(crate) fn method(&self) -> &str {
        &self.method
    }

    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    pub(crate) fn json(&self) -> Option<&Value> {
        self.json.as_ref()
    }

    /// Without assertions or captures: for a request the probe judges itself.
    pub(crate) fn is_bare(&self) -> bool {
        let e = &self.expect;
        self.capture.is_empty()
            && e.status.is_none()
            && e.headers.is_empty()
            && e.body_contains.is_none()
            && e.json.is_empty()
            && e.max_latency.is_none()
    }
}

/// Values captured by earlier requests, by name, with their JSON type.
pub(crate) type Vars = BTreeMap<String, Value>;

/// Checks a list of requests written as the `http` probe's `requests` (other probes take
/// their setup in the same form), under the parameter `key`. `captured` holds the names
/// available before the first request (a probe's own, such as `event_id`) and gains those the
/// requests capture.
pub(crate) fn validate_steps(
    key: &str,
    steps: &[Step],
    captured: &mut Vec<String>,
    errors: &mut Vec<ParamError>,
) {
    for (i, step) in steps.iter().enumerate() {
        let key = |k: &str| format!("{key}[{i}].{k}");
        params::check_method(&key("method"), &step.method, errors);
        params::check_path(&key("path"), &step.path, errors);
        params::check_body(&key("body"), &step.body, &step.json, errors);
        let mut texts: Vec<&str> = vec![&step.path];
        texts.extend(step.headers.values().map(String::as_str));
        texts.extend(step.body.as_deref());
        if let Some(json) = &step.json {
            json_strings(json, &mut texts);
        }
        check_templates(&key("path"), &texts, captured, errors);
        for name in step.headers.keys() {
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                errors.push(err(key("headers"), format!("invalid header name {name:?}")));
            }
        }
        for pointer in step.expect.json.keys() {
            check_pointer(&key("expect.json"), pointer, errors);
        }
        for (name, capture) in &step.capture {
            if !template_re().is_match(&format!("{{{{{name}}}}}")) {
                errors.push(err(
                    key("capture"),
                    format!("capture names are letters, digits, `_` and `-`, saw {name:?}"),
                ));
            }
            if let Capture::Pointer(p) = capture {
                check_pointer(&key(&format!("capture.{name}")), p, errors);
            }
        }
        captured.extend(step.capture.keys().cloned());
    }
}

/// Every `{{name}}` used in `texts` must be among `captured`.
pub(crate) fn check_templates(
    key: &str,
    texts: &[&str],
    captured: &[String],
    errors: &mut Vec<ParamError>,
) {
    for name in texts.iter().flat_map(|t| template_names(t)) {
        if !captured.contains(&name) {
            errors.push(err(
                key,
                format!("`{{{{{name}}}}}` is not captured by an earlier request"),
            ));
        }
    }
}

/// A JSON pointer is empty (the whole document) or starts with `/`.
pub(crate) fn check_pointer(key: &str, pointer: &str, errors: &mut Vec<ParamError>) {
    if !pointer.is_empty() && !pointer.starts_with('/') {
        errors.push(err(
            key,
            format!("expected a JSON pointer starting with `/`, saw {pointer:?}"),
        ));
    }
}

/// Sends one request of a list with the captures so far (`note` names it in locations:
/// `request 2`), records its failed assertions and adds its captures to `vars`. `None` when
/// it could not be sent because a capture it uses is missing (a finding says so).
pub(crate) async fn run_step(
    step: &Step,
    note: &str,
    vars: &mut Vars,
    http: &mut Client,
    report: &mut Report,
) -> Result<Option<Response>, ProbeError> {
    let req = match build(step, note, vars) {
        Ok(req) => req,
        Err(missing) => {
            report.finding(
                "capture-unavailable",
                format!("expected capture `{missing}` from an earlier request, saw none; request not sent"),
                format!("{} {} ({note})", step.method, step.path),
            );
            return Ok(None);
        }
    };
    let resp = http.send(&req).await?;
    assert_step(step, &resp, report);
    capture(step, &resp, vars, report);
    Ok(Some(resp))
}

/// Replaces `{{name}}`; `None` names the first capture that is not available.
pub(crate) fn fill(text: &str, vars: &Vars) -> Result<String, String> {
    for name in template_names(text) {
        if !vars.contains_key(&name) {
            return Err(name);
        }
    }
    Ok(template_re()
        .replace_all(text, |c: &regex::Captures<'_>| text_of(&vars[&c[1]]))
        .into_owned())
}

/// A captured value as text: a string as itself, anything else as JSON.
fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn fill_json(v: &Value, vars: &Vars) -> Result<Value, String> {
    fill_json_as(v, vars, false)
}

/// [`fill_json`], except that a string that is exactly one `{{name}}` becomes the captured
/// value with its JSON type: a payment event needs `"amount": "{{amount}}"` to stay a number.
pub(crate) fn fill_json_typed(v: &Value, vars: &Vars) -> Result<Value, String> {
    fill_json_as(v, vars, true)
}

fn fill_json_as(v: &Value, vars: &Vars, typed: bool) -> Result<Value, String> {
    Ok(match v {
        Value::String(s) => {
            let whole = template_re()
                .captures(s)
                .filter(|c| typed && c[0].len() == s.len())
                .map(|c| c[1].to_string());
            match whole {
                Some(name) => vars.get(&name).cloned().ok_or(name)?,
                None => Value::String(fill(s, vars)?),
            }
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| fill_json_as(i, vars, typed))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, i)| Ok((k.clone(), fill_json_as(i, vars, typed)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

/// The request of `step` with `vars` filled in, its JSON body replaced by `json` when given
/// (a probe's variant of a body); `Err` names a capture that is missing.
pub(crate) fn build_with(
    step: &Step,
    note: &str,
    vars: &Vars,
    json: Option<&Value>,
) -> Result<Request, String> {
    let mut req = build(step, note, vars)?;
    if let Some(json) = json {
        req.body = Some(Body::Json(json.clone()));
    }
    Ok(req)
}

/// The JSON body of `step` with `vars` filled in, keeping captured values' types.
pub(crate) fn step_json(step: &Step, vars: &Vars) -> Result<Option<Value>, String> {
    step.json
        .as_ref()
        .map(|json| fill_json_typed(json, vars))
        .transpose()
}

fn build(step: &Step, note: &str, vars: &Vars) -> Result<Request, String> {
    let mut req = Request::new(&step.method, &fill(&step.path, vars)?)
        .note(note)
        // Statuses are asserted as written (`status = 302`), as Hurl does without --location.
        .no_follow();
    for (name, value) in &step.headers {
        req = req.header(name, fill(value, vars)?);
    }
    req.body = match (&step.body, &step.json) {
        (Some(text), _) => Some(Body::Text(fill(text, vars)?)),
        (None, Some(json)) => Some(Body::Json(fill_json(json, vars)?)),
        (None, None) => None,
    };
    Ok(req)
}

fn assert_step(step: &Step, resp: &Response, report: &mut Report) {
    let at = resp.location.as_str();
    let expect = &step.expect;
    assert_status(expect.status.as_ref(), resp, report);
    for (name, want) in &expect.headers {
        let values = resp.header_all(name);
        if values.is_empty() {
            report.finding(
                "header-missing",
                format!("expected header `{name}` containing {want:?}, saw no such header"),
                at,
            );
        } else if !values.iter().any(|v| v.contains(want.as_str())) {
            report.finding(
                "header-mismatch",
                format!(
                    "expected header `{name}` containing {want:?}, saw {:?}",
                    values.join(", ")
                ),
                at,
            );
        }
    }
    if let Some(want) = &expect.body_contains
        && !resp.text().contains(want.as_str())
    {
        report.finding(
            "body-mismatch",
            format!(
                "expected the body to contain {want:?}, saw {}",
                excerpt(&resp.text())
            ),
            at,
        );
    }
    if !expect.json.is_empty() {
        match serde_json::from_slice::<Value>(&resp.body) {
            Err(e) => report.finding(
                "body-not-json",
                format!("expected a JSON body, saw {} ({e})", excerpt(&resp.text())),
                at,
            ),
            Ok(doc) => {
                for (pointer, want) in &expect.json {
                    assert_json(&doc, pointer, want, at, report);
                }
            }
        }
    }
    if let Some(Dur(max)) = expect.max_latency
        && resp.latency > max
    {
        report.finding(
            "latency-exceeded",
            format!(
                "expected a response within {}, saw {}",
                humantime::format_duration(max),
                humantime::format_duration(Duration::from_millis(
                    u64::try_from(resp.latency.as_millis()).unwrap_or(u64::MAX)
                ))
            ),
            at,
        );
    }
}

/// The status is one of those expected, or a 2xx when none is.
fn assert_status(expected: Option<&StatusSet>, resp: &Response, report: &mut Report) {
    let at = resp.location.as_str();
    match expected {
        Some(StatusSet(codes)) if !codes.contains(&resp.status) => {
            let want: Vec<String> = codes.iter().map(u16::to_string).collect();
            report.finding(
                "status-mismatch",
                format!("expected status {}, saw {}", want.join(" or "), resp.status),
                at,
            );
        }
        None if !resp.is_success() => report.finding(
            "status-mismatch",
            format!("expected a 2xx status, saw {}", resp.status),
            at,
        ),
        _ => {}
    }
}

fn assert_json(doc: &Value, pointer: &str, want: &JsonExpect, at: &str, report: &mut Report) {
    let Some(seen) = doc.pointer(pointer) else {
        report.finding(
            "json-missing",
            format!("expected a value at `{pointer}`, saw none"),
            at,
        );
        return;
    };
    match want {
        JsonExpect::Type(t) => {
            if type_name(seen) != t && !(t == "number" && seen.is_number()) {
                report.finding(
                    "json-type-mismatch",
                    format!(
                        "expected `{pointer}` to be {t}, saw {} {}",
                        type_name(seen),
                        excerpt(&seen.to_string())
                    ),
                    at,
                );
            }
        }
        JsonExpect::Value(v) => {
            if !json_eq(v, seen) {
                report.finding(
                    "json-mismatch",
                    format!(
                        "expected `{pointer}` = {v}, saw {}",
                        excerpt(&seen.to_string())
                    ),
                    at,
                );
            }
        }
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Equality where `1` and `1.0` are the same number (TOML integers meet JSON floats).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn capture(step: &Step, resp: &Response, vars: &mut Vars, report: &mut Report) {
    for (name, how) in &step.capture {
        let value = match how {
            Capture::Header(h) => resp.header(h).map(|v| Value::String(v.to_string())),
            Capture::Pointer(p) => serde_json::from_slice::<Value>(&resp.body)
                .ok()
                .and_then(|doc| doc.pointer(p).cloned()),
        };
        match value {
            Some(v) => {
                vars.insert(name.clone(), v);
            }
            None => {
                let what = match how {
                    Capture::Header(h) => format!("header `{h}`"),
                    Capture::Pointer(p) => format!("JSON value at `{p}`"),
                };
                report.finding(
                    "capture-failed",
                    format!("expected {what} to capture as `{name}`, saw none"),
                    resp.location.as_str(),
                );
            }
        }
    }
}

/// A short, single-line view of a body or value for messages.
pub(crate) fn excerpt(text: &str) -> String {
    const MAX: usize = 120;
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() > MAX {
        let cut: String = one_line.chars().take(MAX).collect();
        format!("{cut:?}...")
    } else {
        format!("{one_line:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_and_name_the_missing_capture() {
        let mut vars = Vars::new();
        vars.insert("id".to_string(), Value::from(42));
        assert_eq!(fill("/x/{{ id }}/{{id}}", &vars).unwrap(), "/x/42/42");
        assert_eq!(fill("/x/{{other}}", &vars).unwrap_err(), "other");
        let json = serde_json::json!({ "a": "{{id}}", "b": "n{{id}}" });
        assert_eq!(
            fill_json(&json, &vars).unwrap(),
            serde_json::json!({ "a": "42", "b": "n42" })
        );
        assert_eq!(
            fill_json_typed(&json, &vars).unwrap(),
            serde_json::json!({ "a": 42, "b": "n42" })
        );
    }

    #[test]
    fn numbers_compare_numerically() {
        assert!(json_eq(&serde_json::json!(1), &serde_json::json!(1.0)));
        assert!(!json_eq(&serde_json::json!(1), &serde_json::json!("1")));
    }
}
