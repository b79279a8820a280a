//! `webhook`: signed payment callbacks are verified, applied exactly once, and refused with
//! no effect when forged, stale or not matching the payment.
//!
//! ```toml
//! [gates.payment-webhook]
//! probe = "webhook"
//! path = "/api/v1/payments/callback"
//! secret = { env = "PAYMENT_WEBHOOK_SECRET" } # also in the gate's `secret_env`: redacted
//! scheme = "stripe"                         # or a table, see below
//! setup = [                                 # once, as the http probe's requests
//!   { method = "POST", path = "/api/login", json = { email = "m@x", password = "p" },
//!     capture = { token = "/token" } },
//! ]
//! payment = [                               # before each scenario: a new pending payment
//!   { method = "POST", path = "/api/checkout", headers = { Authorization = "Bearer {{token}}" },
//!     capture = { payment_id = "/payment_id", amount = "/amount_cents",
//!                 currency = "/currency" } },
//! ]
//! event = { event_id = "{{event_id}}", payment_id = "{{payment_id}}",
//!           amount_cents = "{{amount}}", currency = "{{currency}}", status = "paid" }
//! effect = { path = "/api/subscription", headers = { Authorization = "Bearer {{token}}" } }
//! mismatches = [ { "/amount_cents" = 1 }, { "/currency" = "XXX" } ]
//! ```
//!
//! The probe plays the payment provider: it builds the event from the template
//! (`{{event_id}}` is a new id per event; a string that is exactly `"{{name}}"` keeps the
//! captured value's JSON type, so amounts stay numbers), signs it with the secret read from
//! the variable `secret.env`, and reads the `effect` request's JSON (or the part at
//! `effect_pointer`, minus `effect_ignore`) before and after each delivery.
//!
//! On a first pending payment: an event without its signature header, one signed with
//! another secret, one with a timestamp older than the scheme's tolerance (when the scheme has
//! a timestamp; else `stale_tested` is 0) and one per `mismatches` entry (JSON-pointer
//! overrides of the event, e.g. another amount or currency) must each be refused with a 4xx
//! and change nothing. These come first so that an accidental acceptance shows as the change
//! it made; an accepted one may have paid the payment, so the next check starts on a new
//! payment and every check is judged on its own. Then the correctly signed event must be
//! accepted (2xx) and change the effect, and the very same event again must be acknowledged
//! (2xx, so that the provider stops retrying) and change nothing. On a second payment one
//! event gives the change one event makes; on a third, two copies of one event sent at once
//! must make that same change once (numbers moved by the same amount, timestamps by the same
//! duration).
//!
//! The callback route is usually rate limited: a 429 is not a refusal. The probe waits what
//! `Retry-After` asks (at most `max_wait`, default 5s) and sends again, re-signed, up to three
//! times; a 429 it cannot wait out stops the check with an error saying what was not tested.
//!
//! The secret never appears in findings, measurements or Debug output; signatures are not
//! reported either.
//!
//! Budget: 4 × (setup + payment × (3 + refused events)), two effect reads per event, 4 × each
//! event (429s are waited out and sent again).
//! Measurements: `stale_tested`, `mismatches_tested`, `concurrent_tested` (1 or 0),
//! `rate_limit_waits`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::effect::{self, Change, Observer};
use crate::http::{self, Step, Vars};
use crate::net::{Body, Client, ProbeError, Request, Response};
use crate::params::{self, Dur, err};
use crate::patience::Patience;
use crate::probe::Probe;
use crate::report::Report;
use crate::signature::{Scheme, SchemeParam, Secret};
use crate::{Context, ParamError};

/// Resends after a 429, each after waiting what it asked.
const RETRIES: u32 = 3;

/// How much older than the tolerance the stale event is: clocks drift, and an event just past
/// the limit could be accepted by a receiver rounding the other way.
const STALE_MARGIN: Duration = Duration::from_secs(60);

/// The longest `max_wait`.
const MAX_WAIT: Duration = Duration::from_secs(60);

/// The `webhook` probe's parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    path: String,
    secret: SecretRef,
    scheme: SchemeParam,
    #[serde(default)]
    setup: Vec<Step>,
    payment: Vec<Step>,
    event: Value,
    effect: Step,
    #[serde(default)]
    effect_pointer: String,
    #[serde(default)]
    effect_ignore: Vec<String>,
    #[serde(default)]
    mismatches: Vec<BTreeMap<String, Value>>,
    #[serde(default = "max_wait")]
    max_wait: Dur,
}

/// Where the secret is: `{ env = "NAME" }`. Never the value itself, which would be written in
/// the roadmap and recorded with the gate's rule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretRef {
    env: String,
}

fn max_wait() -> Dur {
    Dur(Duration::from_secs(5))
}

/// The name every event template may use for the probe's event id.
const EVENT_ID: &str = "event_id";

impl Config {
    fn scheme(&self) -> &Scheme {
        &self.scheme.0
    }

    /// Events sent: unsigned, bad signature, stale, mismatches, valid, replay, the
    /// reference and two concurrent copies.
    fn events(&self) -> u32 {
        let stale = u32::from(self.scheme().has_timestamp());
        let mismatches = u32::try_from(self.mismatches.len()).unwrap_or(u32::MAX);
        (2 + stale).saturating_add(mismatches).saturating_add(5)
    }
}

/// Whether `name` can be an environment variable's name.
fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The `webhook` probe.
pub(crate) struct Webhook;

impl Probe for Webhook {
    const KIND: &'static str = "webhook";
    const RULES: &'static [&'static str] = &[
        "unsigned",
        "forged",
        "stale",
        "mismatch",
        "applied",
        "replay",
        "concurrent",
    ];
    type Config = Config;

    fn validate(cfg: &mut Config, errors: &mut Vec<ParamError>) {
        params::check_path("path", &cfg.path, errors);
        if !is_var_name(&cfg.secret.env) {
            errors.push(err(
                "secret.env",
                format!(
                    "expected the name of an environment variable, saw {:?}",
                    cfg.secret.env
                ),
            ));
        }
        cfg.scheme.0.validate("scheme", errors);
        if cfg.payment.is_empty() {
            errors.push(err(
                "payment",
                "expected at least one request creating a pending payment",
            ));
        }
        let mut captured = vec![EVENT_ID.to_owned()];
        http::validate_steps("setup", &cfg.setup, &mut captured, errors);
        http::validate_steps("payment", &cfg.payment, &mut captured, errors);
        Observer::validate(
            &cfg.effect,
            &cfg.effect_pointer,
            &cfg.effect_ignore,
            &mut captured,
            errors,
        );
        let mut texts = Vec::new();
        http::json_strings(&cfg.event, &mut texts);
        http::check_templates("event", &texts, &captured, errors);
        let names_id = texts
            .iter()
            .any(|t| http::template_names(t).iter().any(|n| n == EVENT_ID));
        if !names_id && cfg.scheme().id_header.is_none() {
            errors.push(err(
                "event",
                "expected `{{event_id}}` in the event: replays are told apart by the event's id",
            ));
        }
        for (i, overrides) in cfg.mismatches.iter().enumerate() {
            let key = format!("mismatches[{i}]");
            if overrides.is_empty() {
                errors.push(err(&key, "expected at least one `\"/pointer\" = value`"));
            }
            for pointer in overrides.keys() {
                if pointer.is_empty() || cfg.event.pointer(pointer).is_none() {
                    errors.push(err(
                        &key,
                        format!("the event has no value at {pointer:?} to override"),
                    ));
                }
            }
        }
        if cfg.max_wait.0 > MAX_WAIT {
            errors.push(err(
                "max_wait",
                format!(
                    "expected at most {}, saw {}",
                    humantime::format_duration(MAX_WAIT),
                    humantime::format_duration(cfg.max_wait.0)
                ),
            ));
        }
    }

    fn budget(cfg: &Config) -> u32 {
        let steps = |s: &[Step]| u32::try_from(s.len()).unwrap_or(u32::MAX);
        let events = cfg.events();
        // A payment per scenario (3) and after each refused event accepted (events - 5).
        let payments = events.saturating_sub(2);
        // Before and after each event, again on each new payment, less the two concurrent
        // copies read together.
        let reads = events.saturating_mul(2).saturating_sub(3);
        let tries = effect::SETUP_RETRIES + 1;
        steps(&cfg.setup)
            .saturating_add(steps(&cfg.payment).saturating_mul(payments))
            .saturating_mul(tries)
            .saturating_add(reads)
            .saturating_add(events.saturating_mul(RETRIES + 1))
    }

    async fn check(
        cfg: &Config,
        ctx: &Context,
        http: &mut Client,
        report: &mut Report,
    ) -> Result<(), ProbeError> {
        let secret = secret(cfg, ctx)?;
        let mut run = Run {
            cfg,
            secret,
            observer: Observer {
                step: &cfg.effect,
                pointer: &cfg.effect_pointer,
                ignore: &cfg.effect_ignore,
            },
            vars: Vars::new(),
            waits: 0,
        };
        effect::setup(&cfg.setup, "setup", &mut run.vars, http).await?;
        let result = run.scenarios(http, report).await;
        report.measure("rate_limit_waits", f64::from(run.waits));
        result
    }
}

/// The secret from the variable `secret.env`, as the gate's own process would see it.
fn secret(cfg: &Config, ctx: &Context) -> Result<Secret, ProbeError> {
    let name = &cfg.secret.env;
    let text = ctx.env.var(name).filter(|v| !v.is_empty()).ok_or_else(|| {
        ProbeError::Other(format!(
            "the webhook secret variable `{name}` is not set (set it in phasegate's environment and list it in the gate's `secret_env`)"
        ))
    })?;
    Secret::decode(&text, cfg.scheme().secret_encoding)
        .map_err(|why| ProbeError::Other(format!("the webhook secret in `{name}`: {why}")))
}

/// How an event is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Unsigned,
    BadSignature,
    Stale,
    Signed,
}

/// An event that must be refused: how it is delivered and changed, how findings name it.
struct Refusal<'a> {
    kind: Kind,
    what: String,
    /// The finding when it is accepted.
    code: &'static str,
    /// JSON-pointer overrides of the event (a mismatch).
    overrides: Option<&'a BTreeMap<String, Value>>,
}

/// An event, ready to be delivered as `kind`.
struct Event {
    id: String,
    body: String,
    kind: Kind,
}

/// One run of the check: the parameters, the secret and what was captured.
struct Run<'a> {
    cfg: &'a Config,
    secret: Secret,
    observer: Observer<'a>,
    vars: Vars,
    /// 429s waited out.
    waits: u32,
}

impl Run<'_> {
    async fn scenarios(
        &mut self,
        http: &mut Client,
        report: &mut Report,
    ) -> Result<(), ProbeError> {
        effect::setup(&self.cfg.payment, "payment", &mut self.vars, http).await?;
        let mut state = self
            .observer
            .read("before the first event", &mut self.vars, http)
            .await?;
        let stale = self.cfg.scheme().has_timestamp();
        report.measure("stale_tested", f64::from(u8::from(stale)));
        report.measure("mismatches_tested", self.cfg.mismatches.len() as f64);
        if !stale {
            report.skipped(
                "stale",
                "the signature scheme carries no timestamp, so no event can be stale",
            );
        }
        if self.cfg.mismatches.is_empty() {
            report.skipped(
                "mismatch",
                "no `mismatches`: an event for another amount or currency was not tried; add `mismatches`",
            );
        }
        for refusal in refusals(self.cfg) {
            let event = self.event(refusal.kind, refusal.overrides)?;
            let (after, spent) = self.refused(&event, &refusal, state, http, report).await?;
            report.exercised(match (refusal.kind, refusal.overrides) {
                (Kind::Unsigned, _) => "unsigned",
                (Kind::BadSignature, _) => "forged",
                (Kind::Stale, _) => "stale",
                (Kind::Signed, _) => "mismatch",
            });
            state = after;
            // An accepted forgery may have paid the payment: the next event goes to a new one,
            // so that each check is judged on its own and the genuine event still has an effect.
            if spent {
                effect::setup(&self.cfg.payment, "payment", &mut self.vars, http).await?;
                state = self
                    .observer
                    .read("on a new payment", &mut self.vars, http)
                    .await?;
            }
        }

        let event = self.event(Kind::Signed, None)?;
        let applied = self
            .applied(&event, "after the signed event", &state, http, report)
            .await?;
        report.exercised("applied");
        let Some(after) = applied else {
            report.measure("concurrent_tested", 0.0);
            let why = "the signed event was not applied, so there was nothing to repeat";
            report.skipped("replay", why);
            report.skipped("concurrent", why);
            return Ok(());
        };
        let replayed = self.deliver(&event, "replay", http).await?;
        report.exercised("replay");
        let after_replay = self
            .observer
            .read("after the replay", &mut self.vars, http)
            .await?;
        let second = effect::changes(&after, &after_replay);
        if !second.is_empty() {
            report.finding(
                "webhook-replay-effect",
                format!(
                    "replayed event {} had a second effect on {}: {}",
                    event.id,
                    self.observer.name(),
                    effect::describe(&second)
                ),
                replayed.location.as_str(),
            );
        }
        if !replayed.is_success() {
            report.finding(
                "webhook-replay-refused",
                format!(
                    "expected the replayed event {} to be acknowledged with a 2xx (a provider retries until it is), saw {}",
                    event.id, replayed.status
                ),
                replayed.location.as_str(),
            );
        }
        self.concurrent(http, report).await
    }

    /// The event from the template with a new id, `overrides` applied, to deliver as `kind`.
    fn event(
        &self,
        kind: Kind,
        overrides: Option<&BTreeMap<String, Value>>,
    ) -> Result<Event, ProbeError> {
        let id = format!("evt_phasegate_{}", uuid::Uuid::new_v4().simple());
        let mut vars = self.vars.clone();
        vars.insert(EVENT_ID.to_owned(), Value::String(id.clone()));
        let mut doc = http::fill_json_typed(&self.cfg.event, &vars).map_err(|missing| {
            ProbeError::Other(format!(
                "the event uses `{{{{{missing}}}}}`, which no setup or payment request captured"
            ))
        })?;
        for (pointer, value) in overrides.into_iter().flatten() {
            if let Some(slot) = doc.pointer_mut(pointer) {
                *slot = value.clone();
            }
        }
        Ok(Event {
            id,
            body: doc.to_string(),
            kind,
        })
    }

    /// The request delivering `event` now: signed as its kind says, with a fresh timestamp.
    fn request(&self, event: &Event, note: &str) -> Request {
        let scheme = self.cfg.scheme();
        let now = jiff::Timestamp::now().as_second();
        let (secret, timestamp) = match event.kind {
            Kind::BadSignature => (self.secret.wrong(), now),
            Kind::Stale => {
                let age = scheme.tolerance() + STALE_MARGIN;
                let age = i64::try_from(age.as_secs()).unwrap_or(i64::MAX / 2);
                (self.secret.clone(), now - age)
            }
            Kind::Unsigned | Kind::Signed => (self.secret.clone(), now),
        };
        let mut headers = scheme.headers(&secret, &event.id, timestamp, &event.body);
        if event.kind == Kind::Unsigned {
            headers.remove(0);
        }
        let mut req = Request::new("POST", &self.cfg.path)
            .no_follow()
            .header("content-type", "application/json")
            .body(Some(Body::Text(event.body.clone())))
            .note(format!("{note} {}", event.id));
        for (name, value) in headers {
            req = req.header(&name, value);
        }
        req
    }

    /// Delivers `event`, waiting out 429s (re-signed each time): at most [`RETRIES`] waits,
    /// each what the 429 asks (1s when it does not say) and at most `max_wait`; a 429 it
    /// cannot wait out is an error saying what was not tested.
    async fn deliver(
        &mut self,
        event: &Event,
        note: &str,
        http: &mut Client,
    ) -> Result<Response, ProbeError> {
        let mut patience =
            Patience::new(self.cfg.max_wait.0, RETRIES).or_wait(Duration::from_secs(1));
        loop {
            let resp = http.send(&self.request(event, note)).await?;
            if resp.status != 429 {
                self.waits += patience.waits;
                return Ok(resp);
            }
            if !patience.wait_out(&resp).await {
                let wait = patience.asked(&resp).unwrap_or_default();
                return Err(ProbeError::Other(format!(
                    "{} was rate limited (429, Retry-After {}) after {} waits: the event sent as `{note}` could not be tested; raise `max_wait` (at most 60s) or the service's limit",
                    resp.location,
                    humantime::format_duration(wait),
                    patience.waits,
                )));
            }
        }
    }
}

/// The events that must be refused, in order: unsigned, badly signed, stale (when the
/// scheme has a timestamp), each mismatch.
fn refusals(cfg: &Config) -> Vec<Refusal<'_>> {
    let plain = |kind, what: &str, code| Refusal {
        kind,
        what: what.to_owned(),
        code,
        overrides: None,
    };
    let mut out = vec![
        plain(
            Kind::Unsigned,
            "an event without a signature",
            "webhook-unsigned-accepted",
        ),
        plain(
            Kind::BadSignature,
            "an event signed with the wrong secret",
            "webhook-bad-signature-accepted",
        ),
    ];
    if cfg.scheme().has_timestamp() {
        out.push(plain(
            Kind::Stale,
            "an event with a stale timestamp",
            "webhook-stale-accepted",
        ));
    }
    out.extend(cfg.mismatches.iter().map(|o| Refusal {
        kind: Kind::Signed,
        what: format!(
            "a signed event not matching the payment ({})",
            effect::show_overrides(o)
        ),
        code: "webhook-mismatch-accepted",
        overrides: Some(o),
    }));
    out
}

impl Run<'_> {
    /// Delivers an event that must be refused with no effect; the effect's new state, and
    /// whether the event was accepted or had an effect (the payment may be spent).
    async fn refused(
        &mut self,
        event: &Event,
        refusal: &Refusal<'_>,
        before: Value,
        http: &mut Client,
        report: &mut Report,
    ) -> Result<(Value, bool), ProbeError> {
        let (what, code) = (refusal.what.as_str(), refusal.code);
        let resp = self.deliver(event, &note_of(event.kind), http).await?;
        let after = self
            .observer
            .read(&format!("after {what}"), &mut self.vars, http)
            .await?;
        let changed = effect::changes(&before, &after);
        let effect = self.effect_text(&changed);
        let at = resp.location.as_str();
        let id = &event.id;
        if resp.is_success() {
            report.finding(
                code,
                format!("{what} ({id}) was accepted with {}{effect}", resp.status),
                at,
            );
        } else if !(400..500).contains(&resp.status) {
            report.finding(
                "webhook-refusal-status",
                format!(
                    "expected {what} ({id}) to be refused with a 4xx, saw {}{effect}",
                    resp.status
                ),
                at,
            );
        } else if !changed.is_empty() {
            report.finding(
                "webhook-refused-with-effect",
                format!("{what} ({id}) was refused with {}{effect}", resp.status),
                at,
            );
        }
        Ok((after, resp.is_success() || !changed.is_empty()))
    }

    /// ` and changed GET /x: a went from 1 to 2`, or ` (no change seen in GET /x)`.
    fn effect_text(&self, changed: &[Change]) -> String {
        if changed.is_empty() {
            format!(" (no change seen in {})", self.observer.name())
        } else {
            format!(
                " and changed {}: {}",
                self.observer.name(),
                effect::describe(changed)
            )
        }
    }

    /// Delivers a correctly signed event, which must be accepted and change the effect; the
    /// new state, or `None` (with a finding) when it was not applied.
    async fn applied(
        &mut self,
        event: &Event,
        when: &str,
        before: &Value,
        http: &mut Client,
        report: &mut Report,
    ) -> Result<Option<Value>, ProbeError> {
        let resp = self.deliver(event, "signed", http).await?;
        if !resp.is_success() {
            report.finding(
                "webhook-valid-refused",
                format!(
                    "expected the correctly signed event {} to be accepted with a 2xx, saw {} {}; what follows it was not tested",
                    event.id,
                    resp.status,
                    http::excerpt(&resp.text())
                ),
                resp.location.as_str(),
            );
            return Ok(None);
        }
        let after = self.observer.read(when, &mut self.vars, http).await?;
        if effect::changes(before, &after).is_empty() {
            report.finding(
                "webhook-no-effect",
                format!(
                    "the correctly signed event {} was accepted with {} but {} did not change, so applying it exactly once could not be checked",
                    event.id,
                    resp.status,
                    self.observer.name()
                ),
                resp.location.as_str(),
            );
            return Ok(None);
        }
        Ok(Some(after))
    }

    /// On a second payment, one event's change; on a third, two concurrent copies of one
    /// event must make that change once.
    async fn concurrent(
        &mut self,
        http: &mut Client,
        report: &mut Report,
    ) -> Result<(), ProbeError> {
        effect::setup(&self.cfg.payment, "payment", &mut self.vars, http).await?;
        let before = self
            .observer
            .read("before the reference event", &mut self.vars, http)
            .await?;
        let event = self.event(Kind::Signed, None)?;
        let Some(after) = self
            .applied(&event, "after the reference event", &before, http, report)
            .await?
        else {
            report.measure("concurrent_tested", 0.0);
            report.skipped(
                "concurrent",
                "the reference event was not applied, so there was no effect to compare",
            );
            return Ok(());
        };
        let reference = effect::changes(&before, &after);

        effect::setup(&self.cfg.payment, "payment", &mut self.vars, http).await?;
        let before = self
            .observer
            .read("before the concurrent copies", &mut self.vars, http)
            .await?;
        let event = self.event(Kind::Signed, None)?;
        let copies = [
            self.request(&event, "concurrent copy 1 of"),
            self.request(&event, "concurrent copy 2 of"),
        ];
        let mut answers = http.send_concurrently(&copies).await?;
        // A copy the limiter refused never raced: send it again alone, and say the race was
        // not run rather than pass on it.
        let mut raced = true;
        for answer in &mut answers {
            if answer.status == 429 {
                raced = false;
                *answer = self
                    .deliver(&event, "concurrent copy (resent) of", http)
                    .await?;
            }
        }
        report.measure("concurrent_tested", f64::from(u8::from(raced)));
        report.covered(
            "concurrent",
            raced,
            "a concurrent copy was refused with 429, so the copies never raced; raise the callback's rate limit for the probe",
        );
        let after = self
            .observer
            .read("after the concurrent copies", &mut self.vars, http)
            .await?;
        let seen = effect::changes(&before, &after);
        if let Err(why) = effect::same_effect(&reference, &seen) {
            report.finding(
                "webhook-concurrent-effect",
                format!(
                    "two concurrent deliveries of event {} did not have exactly one effect on {}: {why} ({})",
                    event.id,
                    self.observer.name(),
                    if seen.is_empty() { "nothing changed".to_owned() } else { effect::describe(&seen) }
                ),
                answers[0].location.as_str(),
            );
        }
        if !answers.iter().any(Response::is_success) {
            let statuses: Vec<String> = answers.iter().map(|a| a.status.to_string()).collect();
            report.finding(
                "webhook-valid-refused",
                format!(
                    "expected at least one of two concurrent copies of event {} to be accepted with a 2xx, saw {}",
                    event.id,
                    statuses.join(" and ")
                ),
                answers[0].location.as_str(),
            );
        }
        Ok(())
    }
}

/// How a delivery is named in locations.
fn note_of(kind: Kind) -> String {
    match kind {
        Kind::Unsigned => "unsigned",
        Kind::BadSignature => "bad signature",
        Kind::Stale => "stale timestamp",
        Kind::Signed => "signed, mismatching",
    }
    .to_owned()
}
