//! `strict-input`: a mutating route accepts its valid example body and refuses, with a 4xx and
//! no effect, each bad variant of it.
//!
//! ```toml
//! [gates.strict-dto]
//! probe = "strict-input"
//! roles.admin = { sign_in = { path = "/api/v1/auth/sign-in", json = { email = "a@x", password = "p" } } }
//! routes = [
//!   { path = "/api/v1/auth/sign-in", json = { email = "m@x", password = "p" } },
//!   { path = "/api/v1/admin/users/3/role", as = "admin", json = { role = "support_admin" },
//!     effect = { path = "/api/v1/admin/users", as = "admin" } },
//! ]
//! ```
//!
//! For each route (method `POST` unless said), the example body is sent first and must be
//! accepted (2xx): a route that refuses everything would otherwise pass. Then, derived from
//! it, each of `variants` (all five by default) must be refused:
//!
//! - `unknown-field`: the body plus a field it does not know (`unknown_field`, default
//!   `phasegate_unknown`, set to `true`): mass assignment starts where unknown fields pass;
//! - `wrong-type`: one field (`retype`, default the first string field, else the first
//!   field) with a value of another JSON type (a string becomes `12345`, anything else the
//!   string `"12345"`);
//! - `missing-field`: one field (`drop`, default the first) left out;
//! - `oversized`: one string field (`oversize`, default the first) `oversize_bytes` long
//!   (default 100000);
//! - `malformed`: the body's JSON text cut short by its last byte, still sent as JSON.
//!
//! Refused means a 4xx other than 401, 403, 404, 405, 409 and 429, which say who may call,
//! which routes exist, what already exists (the valid body's own write) or how often, not that
//! the body was checked (`refused = [400, 422]` lists the
//! statuses instead). When `effect` names a request (`GET` unless said; its JSON, or the value
//! at `pointer`, is read before and after each variant), a variant must also leave it
//! unchanged. A route's credentials (`as`, and the effect's own `as`) are those of `roles`, as
//! for the `rbac` probe; without `as` the route is called anonymously. 429s are waited out as
//! `rbac` waits them.
//!
//! Budget: one sign-in per role, per route one request for the valid body and one per variant
//! (twice that plus one with an `effect`), and `max_retries`.
//! Measurements: `routes_checked`, `variants_sent`, `variants_refused`, `rate_limited_waits`.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::access::{self, ANONYMOUS, Credentials, Keyring};
use crate::effect::{self, Change};
use crate::http::StatusSet;
use crate::net::{Body, Client, ProbeError, Request, Response};
use crate::params::{self, Dur, err};
use crate::patience::{self, Patience};
use crate::probe::Probe;
use crate::report::Report;
use crate::{Context, ParamError};

/// The most bytes an oversized value may have (a body must still be sendable).
const MAX_OVERSIZE: u32 = 8 << 20;

/// The `strict-input` probe's parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    #[serde(default)]
    roles: BTreeMap<String, Credentials>,
    routes: Vec<Route>,
    #[serde(default = "oversize_bytes")]
    oversize_bytes: u32,
    refused: Option<StatusSet>,
    #[serde(default = "patience::max_wait")]
    max_wait: Dur,
    #[serde(default = "patience::max_retries")]
    max_retries: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Route {
    #[serde(default = "params::post")]
    method: String,
    path: String,
    #[serde(rename = "as")]
    role: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    json: Value,
    effect: Option<Effect>,
    #[serde(default = "Variant::all")]
    variants: Vec<Variant>,
    unknown_field: Option<String>,
    retype: Option<String>,
    drop: Option<String>,
    oversize: Option<String>,
    /// The variants derived from `json`, filled by `validate`.
    #[serde(skip)]
    bad: Vec<Bad>,
}

/// A request whose JSON answer shows whether a variant changed something.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Effect {
    #[serde(default = "params::get")]
    method: String,
    path: String,
    #[serde(rename = "as")]
    role: Option<String>,
    #[serde(default)]
    pointer: String,
}

fn oversize_bytes() -> u32 {
    100_000
}

/// A way to spoil the example body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Variant {
    UnknownField,
    WrongType,
    MissingField,
    Oversized,
    Malformed,
}

impl Variant {
    fn all() -> Vec<Variant> {
        vec![
            Variant::UnknownField,
            Variant::WrongType,
            Variant::MissingField,
            Variant::Oversized,
            Variant::Malformed,
        ]
    }

    /// The rule the variant tests, as `require` names it.
    fn rule(self) -> &'static str {
        match self {
            Variant::UnknownField => "unknown_field",
            Variant::WrongType => "wrong_type",
            Variant::MissingField => "missing_field",
            Variant::Oversized => "oversized",
            Variant::Malformed => "malformed",
        }
    }

    /// The finding when the route accepts this variant.
    fn accepted_code(self) -> &'static str {
        match self {
            Variant::UnknownField => "input-unknown-field-accepted",
            Variant::WrongType => "input-wrong-type-accepted",
            Variant::MissingField => "input-missing-field-accepted",
            Variant::Oversized => "input-oversized-accepted",
            Variant::Malformed => "input-malformed-accepted",
        }
    }
}

/// One bad body, derived from the example.
#[derive(Debug, Clone, PartialEq)]
struct Bad {
    variant: Variant,
    /// How messages name it: `with an unknown field "phasegate_unknown"`.
    what: String,
    body: BadBody,
}

#[derive(Debug, Clone, PartialEq)]
enum BadBody {
    Json(Value),
    /// Not JSON, though sent as `application/json`.
    Text(String),
}

/// The field an override names, or the first that `fits`, or `None`.
fn pick<'a>(
    body: &'a Map<String, Value>,
    named: Option<&'a String>,
    fits: impl Fn(&Value) -> bool,
) -> Option<&'a String> {
    match named {
        Some(name) => body.contains_key(name).then_some(name),
        None => body.keys().find(|k| fits(&body[k.as_str()])),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Derives `variant` from the example `body`; `Err` says why it cannot be (a field that is
/// not there, no string to oversize).
fn derive(
    route: &Route,
    body: &Map<String, Value>,
    variant: Variant,
    size: u32,
) -> Result<Bad, String> {
    let with = |f: &dyn Fn(&mut Map<String, Value>)| {
        let mut copy = body.clone();
        f(&mut copy);
        BadBody::Json(Value::Object(copy))
    };
    let missing = |key: &str, name: &String| {
        format!("`{key}` names {name:?}, which the example body does not have")
    };
    let (what, body) = match variant {
        Variant::UnknownField => {
            let mut name = route
                .unknown_field
                .clone()
                .unwrap_or_else(|| "phasegate_unknown".to_owned());
            if route.unknown_field.is_some() && body.contains_key(&name) {
                return Err(format!(
                    "`unknown_field` names {name:?}, which the example body has"
                ));
            }
            while body.contains_key(&name) {
                name.push('_');
            }
            (
                format!("with an unknown field {name:?}"),
                with(&|b| {
                    b.insert(name.clone(), Value::Bool(true));
                }),
            )
        }
        Variant::WrongType => {
            let field = pick(body, route.retype.as_ref(), Value::is_string)
                .or_else(|| route.retype.is_none().then(|| body.keys().next()).flatten())
                .ok_or_else(|| match &route.retype {
                    Some(name) => missing("retype", name),
                    None => "the example body has no field to give a wrong type".to_owned(),
                })?;
            let old = &body[field.as_str()];
            let new = match old {
                Value::String(_) => Value::from(12345),
                _ => Value::from("12345"),
            };
            (
                format!(
                    "with {field:?} as {} instead of {}",
                    type_name(&new),
                    type_name(old)
                ),
                with(&|b| {
                    b.insert(field.clone(), new.clone());
                }),
            )
        }
        Variant::MissingField => {
            let field =
                pick(body, route.drop.as_ref(), |_| true).ok_or_else(|| match &route.drop {
                    Some(name) => missing("drop", name),
                    None => "the example body has no field to leave out".to_owned(),
                })?;
            (
                format!("without the field {field:?}"),
                with(&|b| {
                    b.remove(field.as_str());
                }),
            )
        }
        Variant::Oversized => {
            let field = pick(body, route.oversize.as_ref(), Value::is_string)
                .filter(|f| body[f.as_str()].is_string())
                .ok_or_else(|| match &route.oversize {
                    Some(name) => format!("`oversize` names {name:?}, which is not a string field of the example body"),
                    None => "the example body has no string field to oversize: name one with `oversize`, or leave `oversized` out of `variants`".to_owned(),
                })?;
            let long = "x".repeat(size as usize);
            (
                format!("with {field:?} {size} bytes long"),
                with(&|b| {
                    b.insert(field.clone(), Value::String(long.clone()));
                }),
            )
        }
        Variant::Malformed => {
            let mut text = Value::Object(body.clone()).to_string();
            text.pop();
            ("cut short (malformed JSON)".to_owned(), BadBody::Text(text))
        }
    };
    Ok(Bad {
        variant,
        what,
        body,
    })
}

/// The `strict-input` probe.
pub(crate) struct StrictInput;

impl Probe for StrictInput {
    const KIND: &'static str = "strict-input";
    const RULES: &'static [&'static str] = &[
        "unknown_field",
        "wrong_type",
        "missing_field",
        "oversized",
        "malformed",
        "no_effect",
    ];
    type Config = Config;

    fn validate(cfg: &mut Config, errors: &mut Vec<ParamError>) {
        access::validate(&cfg.roles, cfg.max_wait, cfg.max_retries, errors);
        if cfg.routes.is_empty() {
            errors.push(err("routes", "expected at least one route"));
        }
        params::check_count(
            "oversize_bytes",
            cfg.oversize_bytes,
            MAX_OVERSIZE,
            "",
            errors,
        );
        if let Some(StatusSet(codes)) = &cfg.refused
            && let Some(bad) = codes.iter().find(|c| !(400..500).contains(*c))
        {
            errors.push(err("refused", format!("expected 4xx statuses, saw {bad}")));
        }
        for (i, route) in cfg.routes.iter_mut().enumerate() {
            let key = |k: &str| format!("routes[{i}].{k}");
            params::check_method(&key("method"), &route.method, errors);
            params::check_path(&key("path"), &route.path, errors);
            params::check_header_names(&key("headers"), route.headers.keys(), errors);
            let mut roles = vec![(key("as"), route.role.as_ref())];
            if let Some(effect) = &route.effect {
                params::check_method(&key("effect.method"), &effect.method, errors);
                params::check_path(&key("effect.path"), &effect.path, errors);
                if !effect.pointer.is_empty() && !effect.pointer.starts_with('/') {
                    errors.push(err(
                        key("effect.pointer"),
                        format!(
                            "expected a JSON pointer starting with `/`, saw {:?}",
                            effect.pointer
                        ),
                    ));
                }
                roles.push((key("effect.as"), effect.role.as_ref()));
            }
            for (k, role) in roles {
                if let Some(role) = role
                    && role != ANONYMOUS
                    && !cfg.roles.contains_key(role)
                {
                    errors.push(err(k, format!("role `{role}` is not declared in `roles`")));
                }
            }
            if route.variants.is_empty() {
                errors.push(err(key("variants"), "expected at least one variant"));
            }
            let Value::Object(body) = &route.json else {
                errors.push(err(
                    key("json"),
                    format!(
                        "expected a JSON object (a table) to derive variants from, saw {}",
                        type_name(&route.json)
                    ),
                ));
                continue;
            };
            let mut bad = Vec::new();
            for variant in route.variants.clone() {
                match derive(route, body, variant, cfg.oversize_bytes) {
                    Ok(b) => bad.push(b),
                    Err(why) => errors.push(err(key("variants"), why)),
                }
            }
            route.bad = bad;
        }
    }

    fn budget(cfg: &Config) -> u32 {
        let per_route = cfg.routes.iter().map(|r| {
            let variants = u32::try_from(r.variants.len()).unwrap_or(u32::MAX);
            let reads = if r.effect.is_some() {
                variants.saturating_add(1)
            } else {
                0
            };
            variants.saturating_add(1).saturating_add(reads)
        });
        per_route
            .fold(0u32, u32::saturating_add)
            .saturating_add(access::budget(&cfg.roles, cfg.max_retries))
    }

    /// Obtains the credentials the routes use, then checks each route.
    async fn check(
        cfg: &Config,
        ctx: &Context,
        http: &mut Client,
        report: &mut Report,
    ) -> Result<(), ProbeError> {
        let mut patience = Patience::new(cfg.max_wait.0, cfg.max_retries);
        let wanted: Vec<&str> = cfg
            .routes
            .iter()
            .flat_map(|r| {
                [
                    r.role.as_deref(),
                    r.effect.as_ref().and_then(|e| e.role.as_deref()),
                ]
            })
            .flatten()
            .collect();
        let mut unique: Vec<&str> = Vec::new();
        for w in wanted {
            if !unique.contains(&w) {
                unique.push(w);
            }
        }
        let ring = Keyring::obtain(&cfg.roles, unique, ctx, http, &mut patience, report).await?;
        let mut run = Run {
            cfg,
            ring: &ring,
            http,
            patience: &mut patience,
            report,
            sent: 0,
            refused: 0,
            routes: 0,
        };
        for route in &cfg.routes {
            run.route(route).await?;
        }
        let (routes, sent, refused) = (run.routes, run.sent, run.refused);
        for v in Variant::all() {
            // Dropped when another route sent it: a rule tested once is exercised.
            report.skipped(
                v.rule(),
                "never sent: not in `variants`, or no route accepted its valid example body",
            );
        }
        report.measure("routes_checked", f64::from(routes));
        report.measure("variants_sent", f64::from(sent));
        report.measure("variants_refused", f64::from(refused));
        report.measure("rate_limited_waits", f64::from(patience.waits));
        Ok(())
    }
}

/// One run of the check: what every route needs, and the counts measured at the end.
struct Run<'a> {
    cfg: &'a Config,
    ring: &'a Keyring,
    http: &'a mut Client,
    patience: &'a mut Patience,
    report: &'a mut Report,
    sent: u32,
    refused: u32,
    routes: u32,
}

/// What a route answered a bad body, as the probe judges it.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    Accepted,
    Refused,
    ServerError,
    /// A 4xx (or 1xx/3xx) that does not show the body was checked.
    Inconclusive,
}

fn classify(status: u16, refused: Option<&StatusSet>) -> Answer {
    match (status, refused) {
        (200..=299, _) => Answer::Accepted,
        (500..=599, _) => Answer::ServerError,
        (s, Some(StatusSet(codes))) if codes.contains(&s) => Answer::Refused,
        (_, Some(_)) => Answer::Inconclusive,
        (401 | 403 | 404 | 405 | 409 | 429, None) => Answer::Inconclusive,
        (400..=499, None) => Answer::Refused,
        _ => Answer::Inconclusive,
    }
}

impl Run<'_> {
    async fn route(&mut self, route: &Route) -> Result<(), ProbeError> {
        let role = route.role.as_deref().unwrap_or(ANONYMOUS);
        let base = {
            let mut req = Request::new(&route.method, &route.path).no_follow();
            for (name, value) in &route.headers {
                req = req.header(name, value);
            }
            req
        };
        // Without its credentials the route is not checked; `credentials-unavailable` says so.
        let Some(base) = self.ring.authorize(role, base) else {
            return Ok(());
        };
        let valid = base
            .clone()
            .body(Some(Body::Json(route.json.clone())))
            .note("valid example body");
        let resp = self.patience.send(self.http, &valid).await?;
        if !resp.is_success() {
            self.report.finding(
                "input-valid-refused",
                format!(
                    "expected the valid example body to be accepted (2xx), saw {}; the bad variants are not sent, as a route that refuses everything proves nothing by refusing them",
                    resp.status
                ),
                resp.location.as_str(),
            );
            return Ok(());
        }
        self.routes += 1;
        let mut before = match &route.effect {
            Some(effect) => self.read_effect(effect, "before the variants").await?,
            None => None,
        };
        self.report.covered(
            "no_effect",
            before.is_some(),
            format!(
                "no `effect` read for {} {}: a refused body's side effects not checked; add `effect`",
                route.method, route.path
            ),
        );
        for bad in &route.bad {
            let req = match &bad.body {
                BadBody::Json(json) => base.clone().body(Some(Body::Json(json.clone()))),
                BadBody::Text(text) => base
                    .clone()
                    .header("content-type", "application/json")
                    .body(Some(Body::Text(text.clone()))),
            }
            .note(format!("body {}", bad.what));
            let resp = self.patience.send(self.http, &req).await?;
            self.sent += 1;
            self.report.exercised(bad.variant.rule());
            self.judge(bad, &resp);
            if let (Some(effect), Some(old)) = (&route.effect, &before) {
                let after = self
                    .read_effect(effect, &format!("after the body {}", bad.what))
                    .await?;
                if let Some(new) = &after
                    && new != old
                {
                    // Numbers equal as numbers (`1`, `1.0`) but not as JSON: the whole value.
                    let change = effect::first_change(old, new).unwrap_or(Change {
                        pointer: String::new(),
                        before: Some(old.clone()),
                        after: Some(new.clone()),
                    });
                    let at = format!("{}{}", effect.pointer, change.pointer);
                    let within = if at.is_empty() {
                        String::new()
                    } else {
                        format!(" at `{at}`")
                    };
                    self.report.finding(
                        "input-effect",
                        format!(
                            "expected the body {} to change nothing, yet {} {}{} went from {} to {}",
                            bad.what,
                            effect.method,
                            effect.path,
                            within,
                            self.ring.scrub(&short(change.before.as_ref())),
                            self.ring.scrub(&short(change.after.as_ref())),
                        ),
                        resp.location.as_str(),
                    );
                }
                before = after;
            }
        }
        Ok(())
    }

    fn judge(&mut self, bad: &Bad, resp: &Response) {
        let status = resp.status;
        let at = resp.location.as_str();
        let (code, message) = match classify(status, self.cfg.refused.as_ref()) {
            Answer::Refused => {
                self.refused += 1;
                return;
            }
            Answer::Accepted => (
                bad.variant.accepted_code(),
                format!(
                    "expected the body {} to be refused with a 4xx, saw {status}: it was accepted",
                    bad.what
                ),
            ),
            Answer::ServerError => (
                "input-server-error",
                format!(
                    "expected the body {} to be refused with a 4xx, saw {status}: a bad body breaks the handler",
                    bad.what
                ),
            ),
            Answer::Inconclusive => (
                "input-refusal-inconclusive",
                format!(
                    "expected the body {} to be refused for what it is, saw {status}, which does not show the body was checked",
                    bad.what
                ),
            ),
        };
        self.report.finding(code, message, at);
    }

    /// The effect request's JSON (at its pointer); `None` with a finding when unreadable,
    /// and then no variant of the route is compared.
    async fn read_effect(
        &mut self,
        effect: &Effect,
        when: &str,
    ) -> Result<Option<Value>, ProbeError> {
        let role = effect.role.as_deref().unwrap_or(ANONYMOUS);
        let req = Request::new(&effect.method, &effect.path).note(format!("effect, {when}"));
        let Some(req) = self.ring.authorize(role, req) else {
            return Ok(None);
        };
        let resp = self.patience.send(self.http, &req).await?;
        let value = resp
            .is_success()
            .then(|| serde_json::from_slice::<Value>(&resp.body).ok())
            .flatten()
            .and_then(|doc| doc.pointer(&effect.pointer).cloned());
        if value.is_none() {
            self.report.finding(
                "input-effect-unreadable",
                format!(
                    "expected a 2xx JSON answer with a value at `{}` to compare, saw {}; effects are not compared",
                    effect.pointer, resp.status
                ),
                resp.location.as_str(),
            );
        }
        Ok(value)
    }
}

/// A JSON value for a message: as JSON, cut at 120 characters; `nothing` when absent.
fn short(v: Option<&Value>) -> String {
    const MAX: usize = 120;
    let Some(v) = v else {
        return "nothing".to_owned();
    };
    let text = v.to_string();
    if text.chars().count() > MAX {
        format!("{}...", text.chars().take(MAX).collect::<String>())
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn route(v: serde_json::Value) -> Route {
        serde_json::from_value(v).unwrap()
    }

    fn bads(route: &Route) -> Vec<Result<Bad, String>> {
        let body = route.json.as_object().unwrap();
        Variant::all()
            .into_iter()
            .map(|v| derive(route, body, v, 10))
            .collect()
    }

    #[test]
    fn variants_are_derived_from_the_example_body() {
        let r = route(json!({ "path": "/x", "json": { "count": 2, "email": "a@x", "name": "n" } }));
        let b: Vec<Bad> = bads(&r).into_iter().map(Result::unwrap).collect();
        assert_eq!(
            b[0].body,
            BadBody::Json(
                json!({ "count": 2, "email": "a@x", "name": "n", "phasegate_unknown": true })
            )
        );
        assert_eq!(b[0].what, "with an unknown field \"phasegate_unknown\"");
        assert_eq!(
            b[1].body,
            BadBody::Json(json!({ "count": 2, "email": 12345, "name": "n" }))
        );
        assert_eq!(b[1].what, "with \"email\" as a number instead of a string");
        assert_eq!(
            b[2].body,
            BadBody::Json(json!({ "email": "a@x", "name": "n" }))
        );
        assert_eq!(
            b[3].body,
            BadBody::Json(json!({ "count": 2, "email": "xxxxxxxxxx", "name": "n" }))
        );
        assert_eq!(
            b[4].body,
            BadBody::Text(r#"{"count":2,"email":"a@x","name":"n""#.to_owned())
        );
        assert!(
            serde_json::from_str::<Value>(match &b[4].body {
                BadBody::Text(t) => t,
                BadBody::Json(_) => unreachable!(),
            })
            .is_err()
        );
    }

    #[test]
    fn overrides_choose_the_fields_and_must_name_real_ones() {
        let r = route(
            json!({ "path": "/x", "json": { "a": "s", "n": 1, "phasegate_unknown": 0 },
            "retype": "n", "drop": "n", "oversize": "a" }),
        );
        let b = bads(&r);
        let b0 = b[0].as_ref().unwrap();
        assert_eq!(
            b0.what, "with an unknown field \"phasegate_unknown_\"",
            "never a known field"
        );
        assert_eq!(
            b[1].as_ref().unwrap().body,
            BadBody::Json(json!({ "a": "s", "n": "12345", "phasegate_unknown": 0 }))
        );
        assert_eq!(b[2].as_ref().unwrap().what, "without the field \"n\"");
        let r =
            route(json!({ "path": "/x", "json": { "n": 1 }, "retype": "m", "unknown_field": "n" }));
        let b = bads(&r);
        assert!(
            b[0].as_ref()
                .unwrap_err()
                .contains("which the example body has")
        );
        assert!(b[1].as_ref().unwrap_err().contains("`retype` names \"m\""));
        assert!(
            b[3].as_ref()
                .unwrap_err()
                .contains("no string field to oversize")
        );
    }

    #[test]
    fn a_long_value_is_cut_in_messages() {
        assert_eq!(short(Some(&json!("x".repeat(200)))).len(), 123);
        assert_eq!(short(None), "nothing");
    }

    #[test]
    fn only_a_4xx_about_the_body_counts_as_refused() {
        assert_eq!(classify(422, None), Answer::Refused);
        assert_eq!(classify(413, None), Answer::Refused);
        assert_eq!(classify(200, None), Answer::Accepted);
        assert_eq!(classify(500, None), Answer::ServerError);
        for s in [401, 403, 404, 405, 409, 429, 302] {
            assert_eq!(classify(s, None), Answer::Inconclusive, "{s}");
        }
        let only = StatusSet(vec![400]);
        assert_eq!(classify(422, Some(&only)), Answer::Inconclusive);
        assert_eq!(classify(400, Some(&only)), Answer::Refused);
    }
}
