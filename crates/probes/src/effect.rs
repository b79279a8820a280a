//! What the probes that must prove "exactly once" share (`webhook`, `idempotency`): setup
//! requests that must succeed, the `effect` request whose JSON is read before and after, and
//! the comparison of two readings in words a person understands ("activations went from 1
//! to 2").

use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

use crate::ParamError;
use crate::http::{self, Step, Vars};
use crate::net::{Client, ProbeError, Response};
use crate::params::err;
use crate::patience::Patience;
use crate::report::Report;

/// Times a setup request is sent again after a 429.
pub(crate) const SETUP_RETRIES: u32 = 3;

/// The longest `Retry-After` a setup request waits out: sign-in is rate limited, and the
/// gates running beside this one sign in too.
const SETUP_MAX_WAIT: Duration = Duration::from_secs(5);

/// Runs `steps` in order (sign in, check out...). Setup is not what the probe judges: a step
/// whose assertions fail, or whose capture cannot be taken, stops the check with an error
/// naming it, since nothing after it could be tested. A 429 is waited out (at most
/// [`SETUP_RETRIES`] times a step, each at most 5s, 1s when it does not say) rather than
/// taken for a failure.
pub(crate) async fn setup(
    steps: &[Step],
    what: &str,
    vars: &mut Vars,
    http: &mut Client,
) -> Result<(), ProbeError> {
    for (i, step) in steps.iter().enumerate() {
        let note = format!("{what} {}", i + 1);
        let mut patience =
            Patience::new(SETUP_MAX_WAIT, SETUP_RETRIES).or_wait(Duration::from_secs(1));
        let scratch = loop {
            let mut scratch = Report::default();
            match http::run_step(step, &note, vars, http, &mut scratch).await? {
                Some(resp) if patience.wait_out(&resp).await => {}
                _ => break scratch,
            }
        };
        if let Some(f) = scratch.findings.first() {
            return Err(ProbeError::Other(format!(
                "{what} request {} failed, nothing could be tested: {} ({})",
                i + 1,
                f.message,
                f.location.as_deref().unwrap_or_default()
            )));
        }
    }
    Ok(())
}

/// The `effect` parameters: a request whose JSON shows what the probed action changes.
pub(crate) struct Observer<'a> {
    pub step: &'a Step,
    /// The part of the JSON compared (empty: all of it).
    pub pointer: &'a str,
    /// Parts left out of the comparison (a `now` field that changes on every read).
    pub ignore: &'a [String],
}

impl Observer<'_> {
    /// Checks the pointers, pushing problems under `key`.
    pub fn validate(
        step: &Step,
        pointer: &str,
        ignore: &[String],
        captured: &mut Vec<String>,
        errors: &mut Vec<ParamError>,
    ) {
        http::validate_steps("effect", std::slice::from_ref(step), captured, errors);
        http::check_pointer("effect_pointer", pointer, errors);
        for p in ignore {
            if p.is_empty() {
                errors.push(err(
                    "effect_ignore",
                    "an empty pointer would ignore everything",
                ));
            }
            http::check_pointer("effect_ignore", p, errors);
        }
    }

    /// Reads the effect now. A failed read is an error: without it nothing can be judged.
    pub async fn read(
        &self,
        when: &str,
        vars: &mut Vars,
        http: &mut Client,
    ) -> Result<Value, ProbeError> {
        let note = format!("effect {when}");
        let mut scratch = Report::default();
        let resp = http::run_step(self.step, &note, vars, http, &mut scratch).await?;
        let unreadable = |why: String| {
            ProbeError::Other(format!(
                "cannot read the effect {when} ({} {}): {why}",
                self.step.method(),
                self.step.path()
            ))
        };
        if let Some(f) = scratch.findings.first() {
            return Err(unreadable(f.message.clone()));
        }
        let resp: Response = resp.ok_or_else(|| unreadable("not sent".to_owned()))?;
        let doc: Value = serde_json::from_slice(&resp.body)
            .map_err(|e| unreadable(format!("the body is not JSON ({e})")))?;
        let mut part = doc
            .pointer(self.pointer)
            .cloned()
            .ok_or_else(|| unreadable(format!("no value at `{}`", self.pointer)))?;
        for p in self.ignore {
            remove(&mut part, p);
        }
        Ok(part)
    }

    /// How findings name the effect: `GET /api/v1/subscription`.
    pub fn name(&self) -> String {
        format!("{} {}", self.step.method(), self.step.path())
    }
}

/// Removes the value at `pointer` (relative to the compared part), if there is one.
fn remove(doc: &mut Value, pointer: &str) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    let last = last.replace("~1", "/").replace("~0", "~");
    match doc.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.remove(&last);
        }
        Some(Value::Array(items)) => {
            if let Ok(i) = last.parse::<usize>()
                && i < items.len()
            {
                items.remove(i);
            }
        }
        _ => {}
    }
}

/// One part of the JSON that differs between two readings.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Change {
    /// JSON pointer of the part (`/expires_at`; empty for a whole scalar document).
    pub pointer: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// The leaves that differ between `before` and `after`; arrays are compared whole.
pub(crate) fn changes(before: &Value, after: &Value) -> Vec<Change> {
    let mut out = Vec::new();
    diff("", Some(before), Some(after), Arrays::Whole, &mut out);
    out
}

/// The first part (in key, then index order) where `before` and `after` differ, arrays
/// compared item by item: a list of users that changed in one role is then told as that
/// role, not as two long documents that start alike. `None` when they are the same.
pub(crate) fn first_change(before: &Value, after: &Value) -> Option<Change> {
    let mut out = Vec::new();
    diff("", Some(before), Some(after), Arrays::ByItem, &mut out);
    out.into_iter().next()
}

/// How [`diff`] compares two arrays.
#[derive(Clone, Copy, PartialEq)]
enum Arrays {
    /// As one value: a changed list of events is one change.
    Whole,
    /// Item by item, each index a part.
    ByItem,
}

fn diff(
    at: &str,
    before: Option<&Value>,
    after: Option<&Value>,
    arrays: Arrays,
    out: &mut Vec<Change>,
) {
    match (before, after) {
        (Some(Value::Object(b)), Some(Value::Object(a))) => {
            let keys: std::collections::BTreeSet<&String> = b.keys().chain(a.keys()).collect();
            for k in keys {
                let escaped = k.replace('~', "~0").replace('/', "~1");
                diff(&format!("{at}/{escaped}"), b.get(k), a.get(k), arrays, out);
            }
        }
        (Some(Value::Array(b)), Some(Value::Array(a))) if arrays == Arrays::ByItem => {
            for i in 0..b.len().max(a.len()) {
                diff(&format!("{at}/{i}"), b.get(i), a.get(i), arrays, out);
            }
        }
        _ if !same(before, after) => out.push(Change {
            pointer: at.to_owned(),
            before: before.cloned(),
            after: after.cloned(),
        }),
        _ => {}
    }
}

/// Equality where `1` and `1.0` are the same number.
fn same(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// `activations went from 1 to 2, expires_at from "2026-01-01T00:00:00Z" to "..."`; at most
/// four parts, then how many more.
pub(crate) fn describe(changes: &[Change]) -> String {
    const SHOWN: usize = 4;
    const LONGEST: usize = 80;
    let show = |v: &Option<Value>| {
        let text = match v {
            None => "(absent)".to_owned(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        };
        if text.chars().count() > LONGEST {
            format!("{}...", text.chars().take(LONGEST).collect::<String>())
        } else {
            text
        }
    };
    let mut parts: Vec<String> = changes
        .iter()
        .take(SHOWN)
        .enumerate()
        .map(|(i, c)| {
            let name = if c.pointer.is_empty() {
                "the value".to_owned()
            } else {
                c.pointer.trim_start_matches('/').to_owned()
            };
            let verb = if i == 0 { " went" } else { "" };
            format!(
                "{name}{verb} from {} to {}",
                show(&c.before),
                show(&c.after)
            )
        })
        .collect();
    if changes.len() > SHOWN {
        parts.push(format!("and {} more", changes.len() - SHOWN));
    }
    parts.join(", ")
}

/// JSON-pointer overrides as a person reads them: `amount_cents = 1, currency = "XXX"`.
pub(crate) fn show_overrides(overrides: &BTreeMap<String, Value>) -> String {
    overrides
        .iter()
        .map(|(p, v)| format!("{} = {v}", p.trim_start_matches('/')))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether `seen` is the effect of one action, given `reference`, the changes one action was
/// seen to make: the same parts changed, numbers by the same amount, timestamps by the same
/// duration (within a second). `Err` says how they differ.
pub(crate) fn same_effect(reference: &[Change], seen: &[Change]) -> Result<(), String> {
    let by_pointer = |cs: &[Change]| -> BTreeMap<String, Change> {
        cs.iter().map(|c| (c.pointer.clone(), c.clone())).collect()
    };
    let (reference, seen) = (by_pointer(reference), by_pointer(seen));
    let mut problems = Vec::new();
    for (pointer, s) in &seen {
        let name = pointer.trim_start_matches('/');
        let Some(r) = reference.get(pointer) else {
            problems.push(format!("{name} changed where one action leaves it alone"));
            continue;
        };
        let step = |c: &Change| delta(c.before.as_ref(), c.after.as_ref());
        if let (Some(want), Some(got)) = (step(r), step(s))
            && !want.matches(&got)
        {
            problems.push(format!(
                "{} moved by {} where one action moves it by {}",
                if name.is_empty() { "the value" } else { name },
                got,
                want
            ));
        }
    }
    for pointer in reference.keys().filter(|p| !seen.contains_key(*p)) {
        problems.push(format!(
            "{} did not change where one action changes it",
            pointer.trim_start_matches('/')
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// How far a value moved: a number's difference or a timestamp's duration.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Delta {
    Number(f64),
    Time(i128),
}

impl Delta {
    fn matches(&self, other: &Delta) -> bool {
        match (self, other) {
            (Delta::Number(a), Delta::Number(b)) => (a - b).abs() < 1e-9,
            // Timestamps are written at different instants; a second absorbs that.
            (Delta::Time(a), Delta::Time(b)) => (a - b).abs() <= 1_000,
            _ => false,
        }
    }
}

impl std::fmt::Display for Delta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Delta::Number(n) => write!(f, "{n:+}"),
            // Days and hours rather than humantime's months: plan periods are counted in days.
            Delta::Time(ms) => {
                let sign = if *ms < 0 { "-" } else { "+" };
                let secs = ms.unsigned_abs() / 1_000;
                let parts = [
                    (secs / 86_400, "d"),
                    (secs / 3_600 % 24, "h"),
                    (secs / 60 % 60, "m"),
                    (secs % 60, "s"),
                ];
                let text: Vec<String> = parts
                    .iter()
                    .filter(|(n, _)| *n > 0)
                    .map(|(n, unit)| format!("{n}{unit}"))
                    .collect();
                if text.is_empty() {
                    write!(f, "{sign}{ms}ms")
                } else {
                    write!(f, "{sign}{}", text.join(" "))
                }
            }
        }
    }
}

fn delta(before: Option<&Value>, after: Option<&Value>) -> Option<Delta> {
    match (before?, after?) {
        (Value::Number(b), Value::Number(a)) => Some(Delta::Number(a.as_f64()? - b.as_f64()?)),
        (Value::String(b), Value::String(a)) => {
            let b: jiff::Timestamp = b.parse().ok()?;
            let a: jiff::Timestamp = a.parse().ok()?;
            Some(Delta::Time(i128::from(
                a.as_millisecond() - b.as_millisecond(),
            )))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn changes_are_leaves_and_read_well() {
        let before =
            json!({ "status": "none", "activations": 0, "expires_at": null, "n": { "a": 1 } });
        let after = json!({ "status": "active", "activations": 1.0, "expires_at": "2026-01-31T00:00:00Z", "n": { "a": 1 } });
        let c = changes(&before, &after);
        let pointers: Vec<&str> = c.iter().map(|c| c.pointer.as_str()).collect();
        assert_eq!(pointers, ["/activations", "/expires_at", "/status"]);
        assert_eq!(
            describe(&c),
            "activations went from 0 to 1.0, expires_at from null to 2026-01-31T00:00:00Z, status from none to active"
        );
        assert!(changes(&before, &before).is_empty());
        assert_eq!(changes(&json!(1), &json!(2))[0].pointer, "");
    }

    #[test]
    fn one_effect_is_the_same_move_as_the_reference() {
        let r = changes(
            &json!({ "activations": 1, "expires_at": "2026-01-31T00:00:00Z", "status": "active" }),
            &json!({ "activations": 2, "expires_at": "2026-03-02T00:00:00Z", "status": "active" }),
        );
        let once = changes(
            &json!({ "activations": 2, "expires_at": "2026-03-02T00:00:00Z" }),
            &json!({ "activations": 3, "expires_at": "2026-04-01T00:00:00.4Z" }),
        );
        assert_eq!(same_effect(&r, &once), Ok(()));
        let twice = changes(
            &json!({ "activations": 2, "expires_at": "2026-03-02T00:00:00Z" }),
            &json!({ "activations": 4, "expires_at": "2026-05-01T00:00:00Z" }),
        );
        let why = same_effect(&r, &twice).unwrap_err();
        assert!(
            why.contains("activations moved by +2 where one action moves it by +1"),
            "{why}"
        );
        assert!(
            why.contains("expires_at moved by +60d where one action moves it by +30d"),
            "{why}"
        );
        let none = same_effect(&r, &[]).unwrap_err();
        assert!(none.contains("activations did not change"), "{none}");
    }

    #[test]
    fn the_first_change_goes_into_arrays() {
        let old = json!([{ "id": 1, "role": "a" }, { "id": 2, "role": "b" }]);
        let new = json!([{ "id": 1, "role": "a" }, { "id": 2, "role": "c", "x/y": 1 }]);
        let c = first_change(&old, &new).unwrap();
        assert_eq!(
            (c.pointer.as_str(), c.before, c.after),
            ("/1/role", Some(json!("b")), Some(json!("c")))
        );
        let new = json!([{ "id": 1, "role": "a" }, { "id": 2, "role": "b", "x/y": 1 }]);
        let c = first_change(&old, &new).unwrap();
        assert_eq!(
            (c.pointer.as_str(), c.before, c.after),
            ("/1/x~1y", None, Some(json!(1)))
        );
        let c = first_change(&old, &json!([{ "id": 1, "role": "a" }])).unwrap();
        assert_eq!((c.pointer.as_str(), c.after), ("/1", None));
        assert_eq!(first_change(&json!(13), &json!(14)).unwrap().pointer, "");
        assert_eq!(first_change(&old, &old), None);
        // `changes` keeps a changed array as one change.
        assert_eq!(changes(&old, &new)[0].pointer, "");
    }

    #[test]
    fn ignored_parts_are_removed() {
        let mut doc = json!({ "a": 1, "now": "x", "list": [1, 2], "x/y": 3 });
        remove(&mut doc, "/now");
        remove(&mut doc, "/list/0");
        remove(&mut doc, "/x~1y");
        remove(&mut doc, "/missing/deep");
        assert_eq!(doc, json!({ "a": 1, "list": [2] }));
    }
}
