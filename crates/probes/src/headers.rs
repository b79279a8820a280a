//! `headers`: security headers and cookie flags on every probed route, error pages included.
//!
//! ```toml
//! [gates.security-headers]
//! probe = "headers"
//! paths = ["/", "/api/v1/me"]          # default ["/"]
//! session_cookies = ["sid"]            # named, never guessed from the name
//! login = { method = "POST", path = "/api/login", json = { user = "demo" } }
//! https = "yes"                        # "auto" (default): only when the URL is https
//! hsts_min_age = "365d"
//! rules = { server_version = false }   # every rule defaults to on
//! error_routes = true                  # also probe an unknown path and an unknown method
//! ```
//!
//! Requests: each path, then (with `error_routes`) `GET /phasegate-probe-404-<random>`, which
//! must answer 404, and `DELETE /`, which must answer 404 or 405, then the login when given.
//! Every rule is evaluated on every response, so a route or an error page that drops a header
//! is flagged with that route as the location. `Set-Cookie` is collected from all of them.
//!
//! # Rules and the MDN HTTP Observatory
//!
//! `https` applies when `https = "yes"` (TLS terminated upstream) or the base URL is https.
//!
//! | rule (`rules.*`) | phasegate: fails when | finding codes | Observatory test | same verdict? |
//! |---|---|---|---|---|
//! | `hsts` (https only) | header missing; several headers or a comma (duplicates); no parseable `max-age`; `max-age` below `hsts_min_age` (default 1 year), including 0 | `hsts-missing`, `hsts-invalid`, `hsts-max-age-too-short` | strict-transport-security | yes, except the threshold (Observatory: 6 months) and plain http with `https = "auto"`, where phasegate does not apply the rule (Observatory: fail, `hsts-not-implemented-no-https`) |
//! | `csp` | no enforced CSP (header or `<meta http-equiv>` in HTML); script-src (else default-src) missing, or with `'unsafe-inline'` (ignored when a nonce or hash is present), `'unsafe-eval'`, `*` or a scheme-only source (`data:`, `https:`); object-src (else default-src) missing, `*` or scheme-only; `'strict-dynamic'` without nonce or hash | `csp-missing`, `csp-report-only`, `csp-script-unrestricted`, `csp-unsafe-inline`, `csp-unsafe-eval`, `csp-broad-source`, `csp-object-unrestricted`, `csp-invalid` | content-security-policy | yes (Report-Only alone fails in both); with `'strict-dynamic'` and a nonce or hash, host and scheme sources are ignored, as CSP3 browsers do |
//! | `nosniff` | `X-Content-Type-Options` missing or not `nosniff` (case-insensitive) | `nosniff-missing`, `nosniff-invalid` | x-content-type-options | yes |
//! | `framing` | no CSP `frame-ancestors` and no `X-Frame-Options` DENY/SAMEORIGIN; **`frame-ancestors *` or scheme-only** is no protection; **`ALLOW-FROM`** is obsolete | `framing-missing`, `framing-frame-ancestors-open`, `xfo-allow-from`, `xfo-invalid` | x-frame-options | yes, except the two deliberate differences in bold (Observatory passes both) |
//! | `referrer` | `Referrer-Policy` (header or meta) missing, without a valid token, or whose last valid token is not no-referrer, same-origin, strict-origin or strict-origin-when-cross-origin | `referrer-policy-missing`, `referrer-policy-invalid`, `referrer-policy-unsafe` | referrer-policy | yes, except a missing policy (Observatory: pass with 0) |
//! | `powered_by` | `X-Powered-By` present | `x-powered-by` | — (not tested by the Observatory) | — |
//! | `server_version` | `Server` contains a digit | `server-version` | — (not tested by the Observatory) | — |
//! | `cookies` | a cookie without `Secure` (https only); `SameSite` missing, not Lax/Strict/None, or None without Secure; a named session cookie without `HttpOnly`; a `__Secure-`/`__Host-` cookie breaking its prefix rules; a named session cookie never set | `cookie-not-secure`, `cookie-samesite-missing`, `cookie-samesite-invalid`, `cookie-session-not-httponly`, `cookie-prefix-invalid`, `cookie-session-not-seen` | cookies | yes for Secure, SameSite values and HttpOnly, except: session cookies are the named ones (Observatory: names containing `sess` or `login`), a missing SameSite fails (Observatory: pass with 0), and Secure is not required on plain http with `https = "auto"` |
//! | (error routes) | the unknown path does not answer 404; the unknown method does not answer 404 or 405 | `unknown-path-status`, `unknown-method-status` | — | — |
//!
//! CORS reflection, the fourth deliberate difference, is the `cors` probe's business.

use serde::Deserialize;
use serde_json::Value;

use crate::net::{Body, Client, ProbeError, Request, Response};
use crate::params::{self, Dur, err, yes};
use crate::probe::Probe;
use crate::report::Report;
use crate::{Context, ParamError};

mod cookie;
mod csp;
mod meta;

use cookie::CookieCheck;
use csp::{Policy, is_broad};
use meta::Meta;

const YEAR_SECS: u64 = 365 * 24 * 3600;

/// The `headers` probe's parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    #[serde(default = "root")]
    paths: Vec<String>,
    #[serde(default)]
    session_cookies: Vec<String>,
    login: Option<Login>,
    #[serde(default)]
    https: HttpsMode,
    #[serde(default = "year")]
    hsts_min_age: Dur,
    #[serde(default)]
    rules: Rules,
    #[serde(default = "yes")]
    error_routes: bool,
}

fn root() -> Vec<String> {
    vec!["/".to_string()]
}

fn year() -> Dur {
    Dur(std::time::Duration::from_secs(YEAR_SECS))
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum HttpsMode {
    #[default]
    Auto,
    Yes,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    #[serde(default = "params::post")]
    method: String,
    path: String,
    json: Option<Value>,
    body: Option<String>,
    #[serde(default)]
    headers: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Rules {
    hsts: bool,
    csp: bool,
    nosniff: bool,
    framing: bool,
    referrer: bool,
    powered_by: bool,
    server_version: bool,
    cookies: bool,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            hsts: true,
            csp: true,
            nosniff: true,
            framing: true,
            referrer: true,
            powered_by: true,
            server_version: true,
            cookies: true,
        }
    }
}

/// The `headers` probe.
pub(crate) struct Headers;

impl Probe for Headers {
    const KIND: &'static str = "headers";
    type Config = Config;

    fn validate(cfg: &mut Config, errors: &mut Vec<ParamError>) {
        if cfg.paths.is_empty() {
            errors.push(err("paths", "expected at least one path"));
        }
        for (i, p) in cfg.paths.iter().enumerate() {
            params::check_path(&format!("paths[{i}]"), p, errors);
        }
        if let Some(login) = &cfg.login {
            params::check_method("login.method", &login.method, errors);
            params::check_path("login.path", &login.path, errors);
            params::check_body("login.body", &login.body, &login.json, errors);
        }
        for (i, name) in cfg.session_cookies.iter().enumerate() {
            if name.is_empty() || name.contains(['=', ';', ' ']) {
                errors.push(err(
                    format!("session_cookies[{i}]"),
                    format!("expected a cookie name, saw {name:?}"),
                ));
            }
        }
    }

    fn budget(cfg: &Config) -> u32 {
        let budget =
            cfg.paths.len() + 2 * usize::from(cfg.error_routes) + usize::from(cfg.login.is_some());
        u32::try_from(budget).unwrap_or(u32::MAX)
    }

    /// Probes the routes and evaluates every response.
    async fn check(
        cfg: &Config,
        ctx: &Context,
        http: &mut Client,
        report: &mut Report,
    ) -> Result<(), ProbeError> {
        let https = cfg.https == HttpsMode::Yes || ctx.base_url.scheme() == "https";
        let mut responses = Vec::new();
        for path in &cfg.paths {
            responses.push(http.send(&Request::get(path)).await?);
        }
        if cfg.error_routes {
            let missing = format!("/phasegate-probe-404-{}", uuid::Uuid::new_v4().simple());
            let resp = http
                .send(&Request::get(&missing).note("unknown path"))
                .await?;
            if resp.status != 404 {
                report.finding(
                    "unknown-path-status",
                    format!("expected 404 for an unknown path, saw {}", resp.status),
                    resp.location.as_str(),
                );
            }
            responses.push(resp);
            let resp = http
                .send(&Request::new("DELETE", "/").note("unknown method"))
                .await?;
            if resp.status != 404 && resp.status != 405 {
                report.finding(
                    "unknown-method-status",
                    format!(
                        "expected 404 or 405 for an unsupported method, saw {}",
                        resp.status
                    ),
                    resp.location.as_str(),
                );
            }
            responses.push(resp);
        }
        if let Some(login) = &cfg.login {
            let mut req = Request::new(&login.method, &login.path).note("login");
            for (k, v) in &login.headers {
                req = req.header(k, v);
            }
            req.body = match (&login.body, &login.json) {
                (Some(text), _) => Some(Body::Text(text.clone())),
                (None, Some(json)) => Some(Body::Json(json.clone())),
                (None, None) => None,
            };
            responses.push(http.send(&req).await?);
        }
        let mut cookies = CookieCheck::default();
        for resp in &responses {
            evaluate(cfg, https, resp, report);
            if cfg.rules.cookies {
                cookies.evaluate(&cfg.session_cookies, https, resp, report);
            }
        }
        if cfg.rules.cookies {
            for name in &cfg.session_cookies {
                if !cookies.seen.contains(name) {
                    report.finding(
                        "cookie-session-not-seen",
                        format!("expected session cookie `{name}` to be set by a probed route or the login, saw no such Set-Cookie"),
                        "all probed routes",
                    );
                }
            }
        }
        Ok(())
    }
}

/// All header rules on one response.
fn evaluate(cfg: &Config, https: bool, resp: &Response, report: &mut Report) {
    let at = resp.location.as_str();
    let rules = cfg.rules;
    let meta = if resp
        .header("content-type")
        .is_some_and(|t| t.to_ascii_lowercase().contains("text/html"))
    {
        Meta::from_html(&resp.text())
    } else {
        Meta::default()
    };
    if rules.hsts && https {
        hsts(resp, cfg.hsts_min_age.0.as_secs(), report);
    }
    let header_policies = Policy::parse_all(&resp.header_all("content-security-policy"));
    if rules.csp {
        let mut policies = header_policies.clone();
        policies.extend(Policy::parse_all(
            &meta.csp.iter().map(String::as_str).collect::<Vec<_>>(),
        ));
        csp(resp, &policies, report);
    }
    if rules.nosniff {
        let values = resp.header_all("x-content-type-options");
        let first = values
            .iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .next();
        match first {
            None => report.finding(
                "nosniff-missing",
                "expected X-Content-Type-Options: nosniff, saw no such header",
                at,
            ),
            Some(v) if !v.eq_ignore_ascii_case("nosniff") => report.finding(
                "nosniff-invalid",
                format!("expected X-Content-Type-Options: nosniff, saw {v:?}"),
                at,
            ),
            Some(_) => {}
        }
    }
    if rules.framing {
        // frame-ancestors is honoured only in a header policy, never in <meta>.
        framing(resp, &header_policies, report);
    }
    if rules.referrer {
        referrer(resp, &meta, report);
    }
    if rules.powered_by
        && let Some(v) = resp.header("x-powered-by")
    {
        report.finding(
            "x-powered-by",
            format!("expected no X-Powered-By header, saw {v:?}"),
            at,
        );
    }
    if rules.server_version
        && let Some(v) = resp
            .header_all("server")
            .into_iter()
            .find(|v| v.chars().any(|c| c.is_ascii_digit()))
    {
        report.finding(
            "server-version",
            format!("expected a Server header without a version, saw {v:?}"),
            at,
        );
    }
}

fn hsts(resp: &Response, min_age: u64, report: &mut Report) {
    let at = resp.location.as_str();
    let values = resp.header_all("strict-transport-security");
    let Some(value) = values.first() else {
        report.finding(
            "hsts-missing",
            "expected a Strict-Transport-Security header, saw none",
            at,
        );
        return;
    };
    if values.len() > 1 || value.contains(',') {
        report.finding(
            "hsts-invalid",
            format!("expected one Strict-Transport-Security header, saw {:?} (duplicates make it invalid)", values.join(", ")),
            at,
        );
        return;
    }
    let max_age = value.split(';').find_map(|d| {
        let (k, v) = d.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("max-age")
            .then(|| v.trim().trim_matches('"').parse::<u64>().ok())?
    });
    match max_age {
        None => report.finding(
            "hsts-invalid",
            format!("expected Strict-Transport-Security with a numeric max-age, saw {value:?}"),
            at,
        ),
        Some(0) => report.finding(
            "hsts-max-age-too-short",
            format!("expected max-age of at least {min_age} seconds, saw max-age=0, which turns HSTS off"),
            at,
        ),
        Some(age) if age < min_age => report.finding(
            "hsts-max-age-too-short",
            format!("expected max-age of at least {min_age} seconds, saw {age}"),
            at,
        ),
        Some(_) => {}
    }
}

fn csp(resp: &Response, policies: &[Policy], report: &mut Report) {
    let at = resp.location.as_str();
    if policies.is_empty() {
        if resp.header("content-security-policy-report-only").is_some() {
            report.finding(
                "csp-report-only",
                "expected an enforced Content-Security-Policy, saw only Content-Security-Policy-Report-Only (which blocks nothing)",
                at,
            );
        } else {
            report.finding(
                "csp-missing",
                "expected a Content-Security-Policy header, saw none",
                at,
            );
        }
        return;
    }
    // Every policy is enforced, so one sound policy is enough.
    let all: Vec<_> = policies.iter().map(Policy::problems).collect();
    if all.iter().any(Vec::is_empty) {
        return;
    }
    for (code, message) in all.into_iter().next().unwrap_or_default() {
        report.finding(code, message, at);
    }
}

fn framing(resp: &Response, policies: &[Policy], report: &mut Report) {
    let at = resp.location.as_str();
    let ancestors: Vec<&[String]> = policies
        .iter()
        .filter_map(|p| p.get("frame-ancestors"))
        .collect();
    if !ancestors.is_empty() {
        // Browsers ignore X-Frame-Options when frame-ancestors is present, so it decides alone.
        let protective = |s: &&[String]| !s.is_empty() && !s.iter().any(|x| is_broad(x));
        if !ancestors.iter().any(protective) {
            report.finding(
                "framing-frame-ancestors-open",
                format!(
                    "expected frame-ancestors 'none', 'self' or an allow-list, saw frame-ancestors {:?}",
                    ancestors[0].join(" ")
                ),
                at,
            );
        }
        return;
    }
    let values = resp.header_all("x-frame-options");
    if values.is_empty() {
        report.finding(
            "framing-missing",
            "expected CSP frame-ancestors or X-Frame-Options DENY/SAMEORIGIN, saw neither",
            at,
        );
        return;
    }
    let tokens: Vec<String> = values
        .iter()
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .collect();
    if tokens.iter().any(|t| t.starts_with("allow-from")) {
        report.finding(
            "xfo-allow-from",
            format!("expected X-Frame-Options DENY or SAMEORIGIN, saw {:?} (ALLOW-FROM is obsolete and ignored by browsers)", values.join(", ")),
            at,
        );
        return;
    }
    // As the HTML standard parses it: every comma-separated value must agree.
    let first = tokens.first().map(String::as_str).unwrap_or_default();
    if !(first == "deny" || first == "sameorigin") || tokens.iter().any(|t| t != first) {
        report.finding(
            "xfo-invalid",
            format!(
                "expected X-Frame-Options DENY or SAMEORIGIN, saw {:?}",
                values.join(", ")
            ),
            at,
        );
    }
}

const REFERRER_TOKENS: &[&str] = &[
    "no-referrer",
    "no-referrer-when-downgrade",
    "origin",
    "origin-when-cross-origin",
    "same-origin",
    "strict-origin",
    "strict-origin-when-cross-origin",
    "unsafe-url",
];
const REFERRER_PRIVATE: &[&str] = &[
    "no-referrer",
    "same-origin",
    "strict-origin",
    "strict-origin-when-cross-origin",
];

fn referrer(resp: &Response, meta: &Meta, report: &mut Report) {
    let at = resp.location.as_str();
    let mut values: Vec<&str> = resp.header_all("referrer-policy");
    values.extend(meta.referrer.iter().map(String::as_str));
    if values.is_empty() {
        report.finding(
            "referrer-policy-missing",
            "expected a Referrer-Policy header, saw none",
            at,
        );
        return;
    }
    // The last token the browser understands wins; unknown tokens allow future values.
    let effective = values
        .iter()
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .rfind(|t| REFERRER_TOKENS.contains(&t.as_str()));
    match effective {
        None => report.finding(
            "referrer-policy-invalid",
            format!("expected a valid Referrer-Policy, saw {:?}", values.join(", ")),
            at,
        ),
        Some(t) if !REFERRER_PRIVATE.contains(&t.as_str()) => report.finding(
            "referrer-policy-unsafe",
            format!("expected Referrer-Policy no-referrer, same-origin, strict-origin or strict-origin-when-cross-origin, saw {t}"),
            at,
        ),
        Some(_) => {}
    }
}
