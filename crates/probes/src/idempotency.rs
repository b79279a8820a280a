//! `idempotency`: a request repeated under the same `Idempotency-Key` has one effect and gets
//! the same answer, also when the copies race; another request under a used key is refused.
//!
//! ```toml
//! [gates.checkout-idempotency]
//! probe = "idempotency"
//! setup = [ { method = "POST", path = "/api/login", json = { email = "m@x", password = "p" },
//!             capture = { token = "/token" } } ]
//! request = { method = "POST", path = "/api/checkout", json = { plan = "monthly" },
//!             headers = { Authorization = "Bearer {{token}}" } }
//! key_header = "Idempotency-Key"          # default
//! compare = "/payment_id"                 # the part of the answer that must repeat (default: all)
//! different = { "/plan" = "yearly" }      # JSON-pointer overrides making another request
//! effect = { path = "/api/payments", headers = { Authorization = "Bearer {{token}}" } }  # optional
//! ```
//!
//! With a new key the request must be accepted (2xx, else `idempotency-request-failed` and
//! nothing else is tested). The same request under the same key again must get a 2xx and the
//! same answer (the JSON at `compare`) and, when an `effect` request is given, leave the
//! effect's JSON unchanged. Two copies under a second new key sent at once: at least one 2xx,
//! the other a 2xx with the same answer or a 409 (the IETF draft's "request in progress"), and
//! the effect moved exactly as by one request. Last, the request changed by `different`
//! under the first key must be refused with a 4xx (422 or 409 are usual) and have no effect.
//!
//! Keys are `phasegate-` and a random UUID, so runs never collide with each other or with
//! real clients. Without `effect`, answers alone are compared (`effect_checked` is 0, as it
//! is when the first request did not change the effect, which then cannot show a second one).
//!
//! Budget: 4 × setup (a 429 is waited out), 5 requests, 5 effect reads.
//! Measurements: `effect_checked` (1 or 0).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::effect::{self, Observer};
use crate::http::{self, Step, Vars};
use crate::net::{Client, ProbeError, Request, Response};
use crate::params::err;
use crate::probe::Probe;
use crate::report::Report;
use crate::{Context, ParamError};

/// The `idempotency` probe's parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    #[serde(default)]
    setup: Vec<Step>,
    request: Step,
    #[serde(default = "key_header")]
    key_header: String,
    #[serde(default)]
    compare: String,
    different: BTreeMap<String, Value>,
    effect: Option<Step>,
    #[serde(default)]
    effect_pointer: String,
    #[serde(default)]
    effect_ignore: Vec<String>,
}

fn key_header() -> String {
    "Idempotency-Key".to_owned()
}

/// The `idempotency` probe.
pub(crate) struct Idempotency;

impl Probe for Idempotency {
    const KIND: &'static str = "idempotency";
    const RULES: &'static [&'static str] = &["repeat", "effect", "concurrent", "key_reuse"];
    type Config = Config;

    fn validate(cfg: &mut Config, errors: &mut Vec<ParamError>) {
        let mut captured = Vec::new();
        http::validate_steps("setup", &cfg.setup, &mut captured, errors);
        http::validate_steps(
            "request",
            std::slice::from_ref(&cfg.request),
            &mut captured.clone(),
            errors,
        );
        if !cfg.request.is_bare() {
            errors.push(err(
                "request",
                "the probe judges the answers itself: `expect` and `capture` belong in `setup`",
            ));
        }
        if reqwest::header::HeaderName::from_bytes(cfg.key_header.as_bytes()).is_err() {
            errors.push(err(
                "key_header",
                format!("invalid header name {:?}", cfg.key_header),
            ));
        }
        http::check_pointer("compare", &cfg.compare, errors);
        match cfg.request.json() {
            None => errors.push(err(
                "request",
                "expected a `json` body, which `different` changes",
            )),
            Some(json) => {
                if cfg.different.is_empty() {
                    errors.push(err(
                        "different",
                        "expected at least one `\"/pointer\" = value` making another request",
                    ));
                }
                for (pointer, value) in &cfg.different {
                    match json.pointer(pointer) {
                        Some(v) if v == value => errors.push(err(
                            "different",
                            format!(
                                "{pointer:?} is already {value}: the request would be the same"
                            ),
                        )),
                        Some(_) if !pointer.is_empty() => {}
                        _ => errors.push(err(
                            "different",
                            format!("the request's json has no value at {pointer:?} to change"),
                        )),
                    }
                }
            }
        }
        if let Some(step) = &cfg.effect {
            Observer::validate(
                step,
                &cfg.effect_pointer,
                &cfg.effect_ignore,
                &mut captured,
                errors,
            );
        }
    }

    fn budget(cfg: &Config) -> u32 {
        let setup = u32::try_from(cfg.setup.len())
            .unwrap_or(u32::MAX)
            .saturating_mul(effect::SETUP_RETRIES + 1);
        let reads = if cfg.effect.is_some() { 5 } else { 0 };
        setup.saturating_add(5 + reads)
    }

    async fn check(
        cfg: &Config,
        _ctx: &Context,
        http: &mut Client,
        report: &mut Report,
    ) -> Result<(), ProbeError> {
        let mut run = Run {
            cfg,
            observer: cfg.effect.as_ref().map(|step| Observer {
                step,
                pointer: &cfg.effect_pointer,
                ignore: &cfg.effect_ignore,
            }),
            vars: Vars::new(),
        };
        report.measure(
            "effect_checked",
            f64::from(u8::from(run.observer.is_some())),
        );
        effect::setup(&cfg.setup, "setup", &mut run.vars, http).await?;
        run.check(http, report).await
    }
}

/// One run of the check: the parameters, the effect request if any, what setup captured.
struct Run<'a> {
    cfg: &'a Config,
    observer: Option<Observer<'a>>,
    vars: Vars,
}

/// A new key, unique to this run.
fn new_key() -> String {
    format!("phasegate-{}", uuid::Uuid::new_v4())
}

impl Run<'_> {
    async fn check(&mut self, http: &mut Client, report: &mut Report) -> Result<(), ProbeError> {
        let key = new_key();
        let before = self.read("before the first request", http).await?;
        let first = http.send(&self.request(&key, "first", false)?).await?;
        if !first.is_success() {
            report.finding(
                "idempotency-request-failed",
                format!(
                    "expected the request with a new {} to be accepted with a 2xx, saw {} {}; nothing else was tested",
                    self.cfg.key_header,
                    first.status,
                    http::excerpt(&first.text())
                ),
                first.location.as_str(),
            );
            return Ok(());
        }
        let once = self.read("after the first request", http).await?;
        let reference = effect::changes(&before, &once);
        // An effect the first request did not move cannot show a second one: say so.
        if reference.is_empty() {
            report.measure("effect_checked", 0.0);
        }
        match (&self.observer, reference.is_empty()) {
            (None, _) => report.skipped(
                "effect",
                "no `effect` request: only the answers were compared; add `effect`",
            ),
            (Some(_), true) => report.skipped(
                "effect",
                "the first request did not change the `effect` reading, so a second effect cannot show; point `effect` at what the request changes",
            ),
            (Some(_), false) => report.exercised("effect"),
        }

        let second = http.send(&self.request(&key, "repeated", false)?).await?;
        if !second.is_success() {
            report.finding(
                "idempotency-repeat-refused",
                format!(
                    "expected the same request repeated with the same {} to get its first answer again, saw {} {}",
                    self.cfg.key_header,
                    second.status,
                    http::excerpt(&second.text())
                ),
                second.location.as_str(),
            );
        } else {
            self.same_answer(&first, &second, "sent twice", report);
        }
        report.exercised("repeat");
        let twice = self.read("after the repeated request", http).await?;
        self.no_change(
            &once,
            &twice,
            "repeating the request with the same key",
            &second,
            report,
        );

        let raced = self.race(&reference, twice, http, report).await?;
        report.exercised("concurrent");

        let other = http
            .send(&self.request(&key, "different body, same key", true)?)
            .await?;
        report.exercised("key_reuse");
        if !(400..500).contains(&other.status) {
            report.finding(
                "idempotency-key-reuse-not-refused",
                format!(
                    "expected another request ({}) under the {} of an earlier one to be refused with a 4xx, saw {} {}",
                    effect::show_overrides(&self.cfg.different),
                    self.cfg.key_header,
                    other.status,
                    http::excerpt(&other.text())
                ),
                other.location.as_str(),
            );
        }
        let last = self.read("after the different request", http).await?;
        self.no_change(
            &raced,
            &last,
            "another request under a used key",
            &other,
            report,
        );
        Ok(())
    }

    /// Two copies under a new key at once, the effect being `before`; the effect after.
    async fn race(
        &mut self,
        reference: &[effect::Change],
        before: Value,
        http: &mut Client,
        report: &mut Report,
    ) -> Result<Value, ProbeError> {
        let key = new_key();
        let copy = self.request(&key, "concurrent copy", false)?;
        let answers = http.send_concurrently(&[copy.clone(), copy]).await?;
        let accepted: Vec<&Response> = answers.iter().filter(|a| a.is_success()).collect();
        // 409 is what the IETF draft gives a copy arriving while the first is in progress.
        let refused_badly = answers.iter().any(|a| !a.is_success() && a.status != 409);
        if accepted.is_empty() || refused_badly {
            let statuses: Vec<String> = answers.iter().map(|a| a.status.to_string()).collect();
            report.finding(
                "idempotency-repeat-refused",
                format!(
                    "expected two concurrent copies under one {} to be answered 2xx (or 409 for the one in progress), saw {}",
                    self.cfg.key_header,
                    statuses.join(" and ")
                ),
                answers[0].location.as_str(),
            );
        }
        if let [a, b] = accepted[..] {
            self.same_answer(a, b, "sent concurrently", report);
        }
        let after = self.read("after the concurrent copies", http).await?;
        if let Some(observer) = &self.observer
            && !reference.is_empty()
            && let Err(why) = effect::same_effect(reference, &effect::changes(&before, &after))
        {
            report.finding(
                "idempotency-second-effect",
                format!(
                    "two concurrent copies under one key did not have exactly one effect on {}: {why}",
                    observer.name()
                ),
                answers[0].location.as_str(),
            );
        }
        Ok(after)
    }

    /// The request under `key`, with `different` applied when `changed`.
    fn request(&self, key: &str, note: &str, changed: bool) -> Result<Request, ProbeError> {
        let missing = |name: String| {
            ProbeError::Other(format!(
                "the request uses `{{{{{name}}}}}`, which no setup request captured"
            ))
        };
        let mut json = http::step_json(&self.cfg.request, &self.vars).map_err(missing)?;
        if changed && let Some(doc) = &mut json {
            for (pointer, value) in &self.cfg.different {
                if let Some(slot) = doc.pointer_mut(pointer) {
                    *slot = value.clone();
                }
            }
        }
        let note = format!("{note}, key {key}");
        let req = http::build_with(&self.cfg.request, &note, &self.vars, json.as_ref())
            .map_err(missing)?;
        Ok(req.header(&self.cfg.key_header, key))
    }

    /// The effect's JSON now, or null without an `effect` request.
    async fn read(&mut self, when: &str, http: &mut Client) -> Result<Value, ProbeError> {
        match &self.observer {
            Some(observer) => observer.read(when, &mut self.vars, http).await,
            None => Ok(Value::Null),
        }
    }

    /// Both answers carry the same value at `compare`.
    fn same_answer(&self, first: &Response, again: &Response, how: &str, report: &mut Report) {
        let pick = |r: &Response| -> Option<Value> {
            match serde_json::from_slice::<Value>(&r.body) {
                Ok(doc) => doc.pointer(&self.cfg.compare).cloned(),
                Err(_) if self.cfg.compare.is_empty() => Some(Value::String(r.text())),
                Err(_) => None,
            }
        };
        let (a, b) = (pick(first), pick(again));
        if a.is_some() && a == b {
            return;
        }
        let what = if self.cfg.compare.is_empty() {
            "the answer".to_owned()
        } else {
            format!("`{}`", self.cfg.compare)
        };
        let shown = match (&a, &b) {
            (Some(a), Some(b)) => effect::describe(&effect::changes(a, b)),
            _ => format!("{what} is missing from an answer"),
        };
        report.finding(
            "idempotency-different-answer",
            format!(
                "the same request {how} under one {} got two different answers ({what} differs: {shown}): a second operation was made",
                self.cfg.key_header
            ),
            again.location.as_str(),
        );
    }

    /// The effect did not change between `before` and `after`.
    fn no_change(
        &self,
        before: &Value,
        after: &Value,
        what: &str,
        resp: &Response,
        report: &mut Report,
    ) {
        let Some(observer) = &self.observer else {
            return;
        };
        let changed = effect::changes(before, after);
        if !changed.is_empty() {
            report.finding(
                "idempotency-second-effect",
                format!(
                    "{what} had a second effect on {}: {}",
                    observer.name(),
                    effect::describe(&changed)
                ),
                resp.location.as_str(),
            );
        }
    }
}
