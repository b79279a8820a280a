//! Turning raw [`Params`] into a probe's typed configuration, with errors that name the key.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use crate::net::Body;
use crate::{ParamError, Params};

/// Deserializes `params` into `T`. serde stops at the first problem; the key is recovered from
/// the error path so the message can point at the parameter (`requests[0].expect.status`).
pub(crate) fn from_params<T: DeserializeOwned>(params: &Params) -> Result<T, Vec<ParamError>> {
    let value =
        serde_json::Value::Object(params.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        // serde reports unknown and missing fields against the enclosing map; name the field.
        let field = ["unknown field `", "missing field `"]
            .iter()
            .find_map(|prefix| message.strip_prefix(prefix))
            .and_then(|rest| rest.split('`').next());
        let parent = if path == "." { None } else { Some(path) };
        let key = match (parent, field) {
            // Unknown fields are already in the path; missing ones are not.
            (Some(p), Some(f)) if p == f || p.ends_with(&format!(".{f}")) => Some(p),
            (Some(p), Some(f)) => Some(format!("{p}.{f}")),
            (None, Some(f)) => Some(f.to_string()),
            (p, None) => p,
        };
        vec![ParamError { key, message }]
    })
}

/// Shorthand for a [`ParamError`] about `key`.
pub(crate) fn err(key: impl Into<String>, message: impl Into<String>) -> ParamError {
    ParamError {
        key: Some(key.into()),
        message: message.into(),
    }
}

/// A duration written as a humantime string (`"10s"`, `"300ms"`, `"365d"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Dur(pub Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        match &value {
            serde_json::Value::String(s) => match humantime::parse_duration(s) {
                // Waits add durations to clock readings: a bound keeps that from overflowing.
                Ok(d) if d > phasegate_model::MAX_DURATION => Err(serde::de::Error::custom(
                    format!("expected a duration of at most 100 years, saw {s:?}"),
                )),
                Ok(d) => Ok(Dur(d)),
                Err(e) => Err(serde::de::Error::custom(format!(
                    "expected a duration like \"10s\" or \"300ms\", saw {s:?} ({e})"
                ))),
            },
            other => Err(serde::de::Error::custom(format!(
                "expected a duration string like \"10s\", saw {other}"
            ))),
        }
    }
}

/// Checks that a request path is absolute (`/x`), so that it can only address the base URL.
pub(crate) fn check_path(key: &str, path: &str, errors: &mut Vec<ParamError>) {
    if !path.starts_with('/') || path.starts_with("//") {
        errors.push(err(
            key,
            format!("expected a path starting with a single `/`, saw {path:?}"),
        ));
    } else if path.chars().any(|c| c.is_control() || c == ' ') {
        errors.push(err(
            key,
            format!("expected a path without spaces or control characters, saw {path:?}"),
        ));
    }
}

/// Checks an HTTP method token.
pub(crate) fn check_method(key: &str, method: &str, errors: &mut Vec<ParamError>) {
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        errors.push(err(
            key,
            format!("expected an HTTP method such as \"GET\", saw {method:?}"),
        ));
    }
}

/// Checks that a request has at most one body: raw text or JSON.
pub(crate) fn check_body(
    key: &str,
    body: &Option<String>,
    json: &Option<serde_json::Value>,
    errors: &mut Vec<ParamError>,
) {
    if body.is_some() && json.is_some() {
        errors.push(err(key, "expected either `body` or `json`, not both"));
    }
}

/// Checks that a count is 1 to `max` (`unit` follows `max` in the message: " requests").
pub(crate) fn check_count(
    key: &str,
    value: u32,
    max: u32,
    unit: &str,
    errors: &mut Vec<ParamError>,
) {
    if !(1..=max).contains(&value) {
        errors.push(err(key, format!("expected 1 to {max}{unit}, saw {value}")));
    }
}

/// The body a request's `body` (text) or `json` parameter gives; [`check_body`] refuses both.
pub(crate) fn body(text: &Option<String>, json: &Option<serde_json::Value>) -> Option<Body> {
    match (text, json) {
        (Some(text), _) => Some(Body::Text(text.clone())),
        (None, Some(json)) => Some(Body::Json(json.clone())),
        (None, None) => None,
    }
}

/// Checks header names.
pub(crate) fn check_header_names<'a>(
    key: &str,
    names: impl IntoIterator<Item = &'a String>,
    errors: &mut Vec<ParamError>,
) {
    for name in names {
        if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            errors.push(err(key, format!("invalid header name {name:?}")));
        }
    }
}

/// Default method of a request that reads.
pub(crate) fn get() -> String {
    "GET".to_string()
}

/// Default method of a request that submits (a login, a rate-limited form).
pub(crate) fn post() -> String {
    "POST".to_string()
}

/// Default liveness path, the usual one.
pub(crate) fn live() -> String {
    "/health/live".to_string()
}

/// Default `true` for `#[serde(default = ...)]`.
pub(crate) fn yes() -> bool {
    true
}
