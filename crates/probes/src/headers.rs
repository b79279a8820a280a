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
//! authenticated = { paths = ["/account"], bearer = "/token" }  # signed in after the login
//! ignore = ["corp-missing"]            # finding codes not reported
//! opt_in = ["cookie-session-host-prefix-missing"]  # opt-in codes
//! ```
//!
//! Requests: each path, then (with `error_routes`) `GET /phasegate-probe-404-<random>`, which
//! must answer 404, and `DELETE /`, which must answer 404 or 405, then the login when given,
//! then each `authenticated` path with the login's cookies (and its bearer token).
//! Every rule is evaluated on every response, so a route or an error page that drops a header
//! is flagged with that route as the location. `Set-Cookie` is collected from all of them.
//!
//! # Rules and the MDN HTTP Observatory
//!
//! `https` applies when `https = "yes"` (TLS terminated upstream) or the base URL is https.
//!
//! | rule (`rules.*`) | phasegate: fails when | finding codes | Observatory test | same verdict? |
//! |---|---|---|---|---|
//! | `hsts` (https only) | header missing; several headers or a comma (duplicates); a directive twice (RFC 6797 §6.1 rule 2); no `max-age` of 1*DIGIT; `max-age` below `hsts_min_age` (default 1 year), including 0 | `hsts-missing`, `hsts-invalid`, `hsts-max-age-too-short` | strict-transport-security | yes, except the threshold (Observatory: 6 months), a repeated directive (Observatory: keeps the last max-age, so `max-age=0; max-age=31536000` passes there) and plain http with `https = "auto"`, where phasegate does not apply the rule (Observatory: fail, `hsts-not-implemented-no-https`) |
//! | `csp` | no enforced CSP (header, or `<meta http-equiv>` in `<head>` of HTML); for `<script>` (script-src-elem, else script-src, else default-src): missing, `'unsafe-inline'` without a grammatical nonce or hash, `*`, scheme-only, host wildcard (`https://*`, `*.*`), `http://` on https; for inline handlers (script-src-attr ...): missing or `'unsafe-inline'`; for eval (script-src, else default-src): `'unsafe-eval'` or missing; object-src (else default-src) missing, broad or `http://`; `'strict-dynamic'` without nonce or hash; base-uri missing or broad when scripts are nonce-based; form-action missing or broad on HTML | `csp-missing`, `csp-report-only`, `csp-script-unrestricted`, `csp-unsafe-inline`, `csp-unsafe-eval`, `csp-broad-source`, `csp-insecure-source`, `csp-object-unrestricted`, `csp-invalid`, `csp-base-uri-missing`, `csp-base-uri-unsafe`, `csp-form-action-missing`, `csp-form-action-unsafe` | content-security-policy | yes (Report-Only alone fails in both), except: script-src-elem/-attr are read (Observatory: not), host wildcards fail, base-uri and form-action fail (Observatory: informational flags), a malformed nonce does not excuse `'unsafe-inline'`; several policies are combined as browsers enforce them (each aspect weak only if weak in all) |
//! | `nosniff` | first value of the combined `X-Content-Type-Options` (Fetch "determine nosniff") missing or not `nosniff` (case-insensitive) | `nosniff-missing`, `nosniff-invalid` | x-content-type-options | yes |
//! | `framing` | no header CSP `frame-ancestors` and no `X-Frame-Options` DENY/SAMEORIGIN; **`frame-ancestors *` or scheme-only** is no protection (an empty list is `'none'`); **`ALLOW-FROM`** is obsolete; several distinct XFO values conflict | `framing-missing`, `framing-frame-ancestors-open`, `xfo-allow-from`, `xfo-invalid` | x-frame-options | yes, except the two deliberate differences in bold (Observatory passes both) |
//! | `referrer` | `Referrer-Policy` (header, then `<meta name=referrer>` with its legacy values) missing, without a valid token, or whose last valid token is not no-referrer, same-origin, strict-origin or strict-origin-when-cross-origin | `referrer-policy-missing`, `referrer-policy-invalid`, `referrer-policy-unsafe` | referrer-policy | yes, except a missing policy (Observatory: pass with 0) |
//! | `coop` (HTML only) | `Cross-Origin-Opener-Policy` missing, `unsafe-none`, or not exactly same-origin, same-origin-allow-popups or noopener-allow-popups | `coop-missing`, `coop-unsafe`, `coop-invalid` | cross-origin-opener-policy (after 1.4.8) | no: missing fails (Observatory: 0) |
//! | `corp` | `Cross-Origin-Resource-Policy` missing or, combined, not exactly same-origin, same-site or cross-origin | `corp-missing`, `corp-invalid` | cross-origin-resource-policy | no: missing fails (Observatory: 0) |
//! | `permissions_policy` (HTML only) | `Permissions-Policy` missing or not a structured-field dictionary | `permissions-policy-missing`, `permissions-policy-invalid` | — | — |
//! | `cache` | the login's response or an `authenticated` response without `Cache-Control: no-store` | `cache-no-store-missing` | — | — |
//! | `powered_by` | `X-Powered-By` present | `x-powered-by` | — (not tested by the Observatory) | — |
//! | `server_version` | `Server` contains a digit | `server-version` | — (not tested by the Observatory) | — |
//! | `cookies` | a cookie without `Secure` (https only); `SameSite` missing, not Lax/Strict/None, or None without Secure; a named session cookie without `HttpOnly` or with `SameSite=None`; a `__Secure-`/`__Host-` cookie (case-insensitive) breaking its prefix rules; a named session cookie never set; with `opt_in`, a session cookie not named `__Host-` | `cookie-not-secure`, `cookie-samesite-missing`, `cookie-samesite-invalid`, `cookie-session-not-httponly`, `cookie-session-samesite-none`, `cookie-prefix-invalid`, `cookie-session-not-seen`, `cookie-session-host-prefix-missing` | cookies | yes for Secure, SameSite values and HttpOnly, except: session cookies are the named ones (Observatory: names containing `sess` or `login`), a missing SameSite fails (Observatory: pass with 0), and Secure is not required on plain http with `https = "auto"` |
//! | (error routes) | the unknown path does not answer 404; the unknown method does not answer 404 or 405 | `unknown-path-status`, `unknown-method-status` | — | — |
//!
//! Cookies being deleted (Max-Age ≤ 0, else an Expires in the past) are not judged. The
//! conformance suite (`tests/it/conformance_headers.rs`) holds one row per rule, with the
//! clause it rests on.
//!
//! CORS reflection, the fourth deliberate difference, is the `cors` probe's business.

use serde::Deserialize;
use serde_json::Value;

use crate::net::{Client, ProbeError, Request, Response};
use crate::params::{self, Dur, err, yes};
use crate::probe::Probe;
use crate::report::Report;
use crate::{Context, ParamError};

mod cookie;
mod csp;
mod meta;

use cookie::CookieCheck;
use csp::{Policy, Scope, is_broad};
use meta::Meta;

const YEAR_SECS: u64 = 365 * 24 * 3600;

/// Every finding code of this probe, as `ignore` and `opt_in` name them.
pub(crate) const CODES: &[&str] = &[
    "hsts-missing",
    "hsts-invalid",
    "hsts-max-age-too-short",
    "csp-missing",
    "csp-report-only",
    "csp-script-unrestricted",
    "csp-unsafe-inline",
    "csp-unsafe-eval",
    "csp-broad-source",
    "csp-insecure-source",
    "csp-object-unrestricted",
    "csp-invalid",
    "csp-base-uri-missing",
    "csp-base-uri-unsafe",
    "csp-form-action-missing",
    "csp-form-action-unsafe",
    "nosniff-missing",
    "nosniff-invalid",
    "framing-missing",
    "framing-frame-ancestors-open",
    "xfo-allow-from",
    "xfo-invalid",
    "referrer-policy-missing",
    "referrer-policy-invalid",
    "referrer-policy-unsafe",
    "coop-missing",
    "coop-invalid",
    "coop-unsafe",
    "corp-missing",
    "corp-invalid",
    "permissions-policy-missing",
    "permissions-policy-invalid",
    "cache-no-store-missing",
    "x-powered-by",
    "server-version",
    "cookie-not-secure",
    "cookie-samesite-missing",
    "cookie-samesite-invalid",
    "cookie-session-not-httponly",
    "cookie-session-samesite-none",
    "cookie-session-host-prefix-missing",
    "cookie-prefix-invalid",
    "cookie-session-not-seen",
    "unknown-path-status",
    "unknown-method-status",
];

/// Codes off unless `opt_in` names them: sound advice that most sound sites do not follow.
const OPT_IN: &[&str] = &["cookie-session-host-prefix-missing"];

/// The `headers` probe's parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    #[serde(default = "root")]
    paths: Vec<String>,
    #[serde(default)]
    session_cookies: Vec<String>,
    login: Option<Login>,
    /// Requested after the login with its cookies (and bearer token): signed-in pages.
    authenticated: Option<Authenticated>,
    #[serde(default)]
    https: HttpsMode,
    #[serde(default = "year")]
    hsts_min_age: Dur,
    #[serde(default)]
    rules: Rules,
    #[serde(default = "yes")]
    error_routes: bool,
    /// Finding codes not reported: where a site legitimately differs.
    #[serde(default)]
    ignore: Vec<String>,
    /// Opt-in finding codes to check (see [`OPT_IN`]). Not `require`, which is the gate's
    /// own key naming the rules a pass must have exercised.
    #[serde(default)]
    opt_in: Vec<String>,
    /// With an https base URL: the cleartext port that must redirect to https.
    #[serde(default = "http_port")]
    http_port: u16,
}

fn http_port() -> u16 {
    80
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Authenticated {
    paths: Vec<String>,
    /// JSON pointer to a token in the login's response, sent as `Authorization: Bearer`.
    bearer: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Rules {
    hsts: bool,
    csp: bool,
    nosniff: bool,
    framing: bool,
    referrer: bool,
    coop: bool,
    corp: bool,
    permissions_policy: bool,
    cache: bool,
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
            coop: true,
            corp: true,
            permissions_policy: true,
            cache: true,
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
    // The `rules.*` switches, then what the switches do not name: the `Secure` cookie flag
    // (https only), the cleartext redirect (https base URL only) and the error routes.
    const RULES: &'static [&'static str] = &[
        "hsts",
        "csp",
        "nosniff",
        "framing",
        "referrer",
        "coop",
        "corp",
        "permissions_policy",
        "cache",
        "powered_by",
        "server_version",
        "cookies",
        "cookie_secure",
        "https_redirect",
        "error_routes",
    ];
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
        if let Some(auth) = &cfg.authenticated {
            if cfg.login.is_none() {
                errors.push(err(
                    "authenticated",
                    "expected a `login` to sign in with before the authenticated paths",
                ));
            }
            for (i, p) in auth.paths.iter().enumerate() {
                params::check_path(&format!("authenticated.paths[{i}]"), p, errors);
            }
            if let Some(pointer) = &auth.bearer
                && !(pointer.is_empty() || pointer.starts_with('/'))
            {
                errors.push(err(
                    "authenticated.bearer",
                    format!("expected a JSON pointer such as \"/token\", saw {pointer:?}"),
                ));
            }
        }
        for (i, name) in cfg.session_cookies.iter().enumerate() {
            if name.is_empty() || name.contains(['=', ';', ' ']) {
                errors.push(err(
                    format!("session_cookies[{i}]"),
                    format!("expected a cookie name, saw {name:?}"),
                ));
            }
        }
        for (key, list) in [("ignore", &cfg.ignore), ("opt_in", &cfg.opt_in)] {
            for (i, code) in list.iter().enumerate() {
                let known = if key == "opt_in" { OPT_IN } else { CODES };
                if !known.contains(&code.as_str()) {
                    errors.push(err(
                        format!("{key}[{i}]"),
                        format!(
                            "expected one of the finding codes {}, saw {code:?}",
                            known.join(", ")
                        ),
                    ));
                }
            }
        }
    }

    fn budget(cfg: &Config) -> u32 {
        // One more for the cleartext listener, asked only with an https base URL.
        let budget = cfg.paths.len()
            + 1
            + 2 * usize::from(cfg.error_routes)
            + usize::from(cfg.login.is_some())
            + cfg.authenticated.as_ref().map_or(0, |a| a.paths.len());
        u32::try_from(budget).unwrap_or(u32::MAX)
    }

    /// Probes the routes and evaluates every response; `ignore`d codes are dropped at the end.
    async fn check(
        cfg: &Config,
        _: &Context,
        http: &mut Client,
        report: &mut Report,
    ) -> Result<(), ProbeError> {
        let result = check(cfg, http, report).await;
        report.findings.retain(|f| !cfg.ignore.contains(&f.code));
        result
    }
}

async fn check(cfg: &Config, http: &mut Client, report: &mut Report) -> Result<(), ProbeError> {
    let https = cfg.https == HttpsMode::Yes || http.base().scheme() == "https";
    let mut responses = Vec::new();
    for path in &cfg.paths {
        responses.push(http.send(&Request::page(path)).await?);
    }
    // HSTS protects only from the second visit on: the first, typed as plain http, must be
    // redirected (a no-op unless the base URL is https).
    let first = cfg.paths.first().map_or("/", String::as_str);
    http.check_http_redirects_to_https(first, cfg.http_port, report)
        .await?;
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
        req.body = params::body(&login.body, &login.json);
        let resp = http.send(&req).await?;
        if cfg.rules.cache {
            no_store(&resp, "the sign-in response", report);
        }
        if let Some(auth) = &cfg.authenticated {
            let signed_in = signed_in_request(auth, &resp)?;
            for path in &auth.paths {
                let mut req = signed_in.clone();
                req.path.clone_from(path);
                let page = http.send(&req).await?;
                if !page.is_success() {
                    // A page not signed in proves nothing about signed-in pages.
                    return Err(ProbeError::Other(format!(
                        "{}: expected a 2xx signed in, saw {}; check `login` and `authenticated.bearer`",
                        page.location, page.status
                    )));
                }
                if cfg.rules.cache {
                    no_store(&page, "a signed-in response", report);
                }
                responses.push(page);
            }
        }
        responses.push(resp);
    }
    let host_prefix = cfg
        .opt_in
        .iter()
        .any(|c| c == "cookie-session-host-prefix-missing");
    let mut cookies = CookieCheck::default();
    for resp in &responses {
        evaluate(cfg, https, resp, report);
        if cfg.rules.cookies {
            cookies.evaluate(&cfg.session_cookies, host_prefix, https, resp, report);
        }
    }
    coverage(
        cfg,
        http.base().scheme() == "https",
        https,
        &responses,
        report,
    );
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

/// Records which rules the responses let the probe test, and why the others were not.
fn coverage(
    cfg: &Config,
    https_url: bool,
    https: bool,
    responses: &[Response],
    report: &mut Report,
) {
    let r = cfg.rules;
    let off = |key: &str| format!("turned off by `rules = {{ {key} = false }}`");
    let plain = "plain http; set https = \"yes\" when TLS ends at a proxy";
    for (rule, on) in [
        ("csp", r.csp),
        ("nosniff", r.nosniff),
        ("framing", r.framing),
        ("referrer", r.referrer),
        ("corp", r.corp),
        ("powered_by", r.powered_by),
        ("server_version", r.server_version),
    ] {
        report.covered(rule, on, off(rule));
    }
    for (rule, on) in [("hsts", r.hsts), ("cookie_secure", r.cookies)] {
        match (on, https) {
            (false, _) => report.skipped(rule, off(if rule == "hsts" { rule } else { "cookies" })),
            (true, false) => report.skipped(rule, plain),
            (true, true) => report.exercised(rule),
        }
    }
    let html = responses.iter().any(|resp| {
        resp.header("content-type")
            .is_some_and(|t| t.to_ascii_lowercase().contains("text/html"))
    });
    for (rule, on) in [
        ("coop", r.coop),
        ("permissions_policy", r.permissions_policy),
    ] {
        match (on, html) {
            (false, _) => report.skipped(rule, off(rule)),
            (true, false) => report.skipped(
                rule,
                "no HTML response among the probed routes; add an HTML page to `paths`",
            ),
            (true, true) => report.exercised(rule),
        }
    }
    match (r.cache, cfg.login.is_some()) {
        (false, _) => report.skipped("cache", off("cache")),
        (true, false) => report.skipped(
            "cache",
            "no signed-in response; add `login` (and `authenticated` paths)",
        ),
        (true, true) => report.exercised("cache"),
    }
    let set_cookie = responses
        .iter()
        .any(|resp| !resp.header_all("set-cookie").is_empty());
    match (r.cookies, set_cookie || !cfg.session_cookies.is_empty()) {
        (false, _) => report.skipped("cookies", off("cookies")),
        (true, false) => report.skipped(
            "cookies",
            "no probed route set a cookie; add `login` and name its `session_cookies`",
        ),
        (true, true) => report.exercised("cookies"),
    }
    report.covered(
        "https_redirect",
        https_url,
        "the base URL is http; give an https `base_url` to check that cleartext redirects to https",
    );
    report.covered(
        "error_routes",
        cfg.error_routes,
        "turned off by `error_routes = false`",
    );
}

/// A request carrying what the login gave: its cookies, and its bearer token if configured.
fn signed_in_request(auth: &Authenticated, login: &Response) -> Result<Request, ProbeError> {
    let mut req = Request::get("/").note("signed in");
    let pairs = login.cookie_pairs();
    if !pairs.is_empty() {
        req = req.header("cookie", pairs.join("; "));
    }
    if let Some(pointer) = &auth.bearer {
        let token = serde_json::from_slice::<Value>(&login.body)
            .ok()
            .and_then(|v| v.pointer(pointer).and_then(Value::as_str).map(str::to_string))
            .ok_or_else(|| {
                ProbeError::Other(format!(
                    "{}: expected a string at {pointer} in the login's JSON response for the bearer token, saw none",
                    login.location
                ))
            })?;
        req = req.header("authorization", format!("Bearer {token}"));
    }
    Ok(req)
}

/// The values of field `name` as the Fetch standard's "get, decode, and split" gives them: all
/// fields of that name combined with ", ", split on commas outside quoted strings, trimmed.
fn split_values(resp: &Response, name: &str) -> Option<Vec<String>> {
    let fields = resp.header_all(name);
    if fields.is_empty() {
        return None;
    }
    let combined = fields.join(", ");
    let mut values = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = combined.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            '\\' if quoted => {
                current.push(c);
                current.extend(chars.next());
            }
            ',' if !quoted => values.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    values.push(current);
    Some(values.into_iter().map(|v| v.trim().to_string()).collect())
}

/// All header rules on one response.
fn evaluate(cfg: &Config, https: bool, resp: &Response, report: &mut Report) {
    let at = resp.location.as_str();
    let rules = cfg.rules;
    let document = resp
        .header("content-type")
        .is_some_and(|t| t.to_ascii_lowercase().contains("text/html"));
    let meta = if document {
        Meta::from_html(&resp.text())
    } else {
        Meta::default()
    };
    if rules.hsts && https {
        hsts(resp, cfg.hsts_min_age.0.as_secs(), report);
    }
    let header_policies = Policy::parse_header(&resp.header_all("content-security-policy"));
    if rules.csp {
        let mut policies = header_policies.clone();
        policies.extend(meta.csp.iter().filter_map(|c| Policy::parse_meta(c)));
        csp(resp, &policies, Scope { https, document }, report);
    }
    if rules.nosniff {
        // Fetch "determine nosniff": only the first value of the combined list counts.
        match split_values(resp, "x-content-type-options") {
            None => report.finding(
                "nosniff-missing",
                "expected X-Content-Type-Options: nosniff, saw no such header",
                at,
            ),
            Some(values) if !values[0].eq_ignore_ascii_case("nosniff") => report.finding(
                "nosniff-invalid",
                format!(
                    "expected X-Content-Type-Options: nosniff, saw {:?}",
                    values.join(", ")
                ),
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
    // COOP and Permissions-Policy govern documents; a JSON body opens no window and uses no
    // camera. CORP guards any resource against no-cors embedding.
    if rules.coop && document {
        coop(resp, report);
    }
    if rules.corp {
        corp(resp, report);
    }
    if rules.permissions_policy && document {
        permissions_policy(resp, report);
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
    // RFC 6797 §8.1 says to process the first of several fields, but browsers read the fields
    // combined with ", " (Fetch), which no longer parses: duplicates switch HSTS off.
    if values.len() > 1 || value.contains(',') {
        report.finding(
            "hsts-invalid",
            format!("expected one Strict-Transport-Security header, saw {:?} (duplicates make it invalid)", values.join(", ")),
            at,
        );
        return;
    }
    match parse_hsts_max_age(value) {
        Err(why) => report.finding(
            "hsts-invalid",
            format!("expected a valid Strict-Transport-Security (RFC 6797 §6.1), saw {value:?}: {why}"),
            at,
        ),
        Ok(0) => report.finding(
            "hsts-max-age-too-short",
            format!("expected max-age of at least {min_age} seconds, saw max-age=0, which turns HSTS off"),
            at,
        ),
        Ok(age) if age < min_age => report.finding(
            "hsts-max-age-too-short",
            format!("expected max-age of at least {min_age} seconds, saw {age}"),
            at,
        ),
        Ok(_) => {}
    }
}

/// max-age of an HSTS value per RFC 6797 §6.1: directives are `token [ "=" ( token /
/// quoted-string ) ]` separated by `;`, case-insensitive, each at most once (§6.1 rule 2: a
/// repeated directive makes the whole header invalid); max-age is `1*DIGIT`, a value past u64
/// saturating as RFC 9111 §1.2.2 tells delta-seconds to.
fn parse_hsts_max_age(value: &str) -> Result<u64, String> {
    let is_token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    };
    let mut seen: Vec<String> = Vec::new();
    let mut max_age = None;
    for directive in value.split(';') {
        let directive = directive.trim();
        if directive.is_empty() {
            continue;
        }
        let (name, raw) = match directive.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim())),
            None => (directive, None),
        };
        if !is_token(name) {
            return Err(format!("{name:?} is not a directive name"));
        }
        let name = name.to_ascii_lowercase();
        if seen.contains(&name) {
            return Err(format!("directive {name} appears twice"));
        }
        seen.push(name.clone());
        let value = match raw {
            None => None,
            Some(v) if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') => {
                Some(v[1..v.len() - 1].to_string())
            }
            Some(v) if is_token(v) => Some(v.to_string()),
            Some(v) => return Err(format!("{v:?} is neither a token nor a quoted string")),
        };
        if name == "max-age" {
            let digits = value.filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()));
            let Some(digits) = digits else {
                return Err("max-age is not a number of seconds".to_string());
            };
            max_age = Some(digits.parse::<u64>().unwrap_or(u64::MAX));
        }
    }
    max_age.ok_or_else(|| "no max-age".to_string())
}

fn csp(resp: &Response, policies: &[Policy], scope: Scope, report: &mut Report) {
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
    // Every policy is enforced: an aspect is weak only when every policy leaves it weak.
    let all: Vec<_> = policies.iter().map(|p| p.problems(scope)).collect();
    let (first, rest) = all.split_first().expect("policies is not empty");
    for (code, aspect, message) in first {
        if rest
            .iter()
            .all(|ps| ps.iter().any(|(c, a, _)| c == code && a == aspect))
        {
            report.finding(code, message.clone(), at);
        }
    }
}

fn framing(resp: &Response, policies: &[Policy], report: &mut Report) {
    let at = resp.location.as_str();
    let ancestors: Vec<Vec<String>> = policies
        .iter()
        .filter_map(|p| p.get("frame-ancestors"))
        .collect();
    if !ancestors.is_empty() {
        // HTML "check a navigation response's adherence to X-Frame-Options" step 2: an
        // enforced frame-ancestors makes browsers ignore X-Frame-Options. An empty source list
        // matches nothing (CSP3 §6.7.2.5), so it protects like 'none'.
        let protective = |s: &Vec<String>| !s.iter().any(|x| is_broad(x));
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
    let Some(values) = split_values(resp, "x-frame-options") else {
        report.finding(
            "framing-missing",
            "expected CSP frame-ancestors or X-Frame-Options DENY/SAMEORIGIN, saw neither",
            at,
        );
        return;
    };
    // HTML's processing model: the values lowercased form a set; several distinct values
    // conflict (browsers then block every frame, their own origin's too), one value must be
    // deny or sameorigin, anything else protects nothing.
    let mut set: Vec<String> = Vec::new();
    for v in &values {
        let v = v.to_ascii_lowercase();
        if !set.contains(&v) {
            set.push(v);
        }
    }
    let shown = values.join(", ");
    match set.as_slice() {
        [one] if one == "deny" || one == "sameorigin" => {}
        [one] if one.starts_with("allow-from") => report.finding(
            "xfo-allow-from",
            format!("expected X-Frame-Options DENY or SAMEORIGIN, saw {shown:?} (ALLOW-FROM is obsolete and ignored by browsers)"),
            at,
        ),
        [_] => report.finding(
            "xfo-invalid",
            format!("expected X-Frame-Options DENY or SAMEORIGIN, saw {shown:?}"),
            at,
        ),
        _ => report.finding(
            "xfo-invalid",
            format!("expected one X-Frame-Options value, saw {shown:?} (conflicting values: browsers block all framing or none)"),
            at,
        ),
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

/// HTML's `<meta name=referrer>` legacy values and the policies they stand for.
const REFERRER_LEGACY: &[(&str, &str)] = &[
    ("never", "no-referrer"),
    ("default", "strict-origin-when-cross-origin"),
    ("always", "unsafe-url"),
    ("origin-when-crossorigin", "origin-when-cross-origin"),
];

fn referrer(resp: &Response, meta: &Meta, report: &mut Report) {
    let at = resp.location.as_str();
    // Referrer Policy §8.1: the last valid token of the header wins; unknown tokens allow
    // future values. A meta (one token, legacy values mapped) then overrides it.
    let mut tokens: Vec<String> = resp
        .header_all("referrer-policy")
        .iter()
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .collect();
    tokens.extend(meta.referrer.iter().map(|m| {
        let m = m.trim().to_ascii_lowercase();
        REFERRER_LEGACY
            .iter()
            .find(|(legacy, _)| *legacy == m)
            .map_or(m, |(_, policy)| (*policy).to_string())
    }));
    if tokens.is_empty() {
        report.finding(
            "referrer-policy-missing",
            "expected a Referrer-Policy header, saw none",
            at,
        );
        return;
    }
    match tokens
        .iter()
        .rfind(|t| REFERRER_TOKENS.contains(&t.as_str()))
    {
        None => report.finding(
            "referrer-policy-invalid",
            format!("expected a valid Referrer-Policy, saw {:?}", tokens.join(", ")),
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

/// Cross-Origin-Opener-Policy, a structured-field token (RFC 8941) compared exactly: HTML
/// "obtain a cross-origin opener policy" treats anything else, `Same-Origin` or a repeated
/// field included, as unsafe-none.
fn coop(resp: &Response, report: &mut Report) {
    let at = resp.location.as_str();
    let Some(combined) = combined_or_missing(
        resp,
        "cross-origin-opener-policy",
        "coop-missing",
        "expected Cross-Origin-Opener-Policy same-origin (or same-origin-allow-popups) on an HTML page, saw none",
        report,
    ) else {
        return;
    };
    let token = combined.split(';').next().unwrap_or_default().trim();
    match token {
        "same-origin" | "same-origin-allow-popups" | "noopener-allow-popups" => {}
        "unsafe-none" => report.finding(
            "coop-unsafe",
            "expected Cross-Origin-Opener-Policy same-origin or same-origin-allow-popups, saw unsafe-none (cross-origin windows keep a handle on this page)",
            at,
        ),
        _ => report.finding(
            "coop-invalid",
            format!("expected Cross-Origin-Opener-Policy same-origin, same-origin-allow-popups or noopener-allow-popups (exact, lowercase, once), saw {combined:?}"),
            at,
        ),
    }
}

/// Cross-Origin-Resource-Policy: Fetch's "cross-origin resource policy internal check" gets the
/// combined value and compares it byte for byte, so a repeated field is no policy.
fn corp(resp: &Response, report: &mut Report) {
    let at = resp.location.as_str();
    let Some(combined) = combined_or_missing(
        resp,
        "cross-origin-resource-policy",
        "corp-missing",
        "expected Cross-Origin-Resource-Policy same-origin or same-site (cross-origin for a public resource), saw none",
        report,
    ) else {
        return;
    };
    if !matches!(
        combined.as_str(),
        "same-origin" | "same-site" | "cross-origin"
    ) {
        report.finding(
            "corp-invalid",
            format!("expected Cross-Origin-Resource-Policy same-origin, same-site or cross-origin (exact, lowercase, once), saw {combined:?}"),
            at,
        );
    }
}

fn permissions_policy(resp: &Response, report: &mut Report) {
    let at = resp.location.as_str();
    let Some(combined) = combined_or_missing(
        resp,
        "permissions-policy",
        "permissions-policy-missing",
        "expected a Permissions-Policy on an HTML page (e.g. camera=(), microphone=(), geolocation=()), saw none",
        report,
    ) else {
        return;
    };
    if let Err(why) = parse_sf_dictionary(&combined) {
        report.finding(
            "permissions-policy-invalid",
            format!("expected Permissions-Policy as a structured-field dictionary (feature=(allowlist)), saw {combined:?}: {why}; browsers ignore the whole header"),
            at,
        );
    }
}

/// The value of header `name` as Fetch combines repeated fields (", "), or `None` after
/// recording `missing` when the response has none.
fn combined_or_missing(
    resp: &Response,
    name: &str,
    missing: &str,
    message: &str,
    report: &mut Report,
) -> Option<String> {
    let values = resp.header_all(name);
    if values.is_empty() {
        report.finding(missing, message, resp.location.as_str());
        return None;
    }
    Some(values.join(", "))
}

/// Checks RFC 8941 §4.2.2 dictionary syntax, as Permissions Policy parses its header: members
/// `key[=item|inner-list]` with parameters, separated by commas.
fn parse_sf_dictionary(input: &str) -> Result<(), String> {
    let b = input.as_bytes();
    let mut i = 0;
    let skip_sp = |i: &mut usize| {
        while *i < b.len() && b[*i] == b' ' {
            *i += 1;
        }
    };
    let skip_ows = |i: &mut usize| {
        while *i < b.len() && (b[*i] == b' ' || b[*i] == b'\t') {
            *i += 1;
        }
    };
    let key = |i: &mut usize| -> Result<(), String> {
        if *i >= b.len() || !(b[*i].is_ascii_lowercase() || b[*i] == b'*') {
            return Err(format!("expected a lowercase key at byte {i}"));
        }
        while *i < b.len()
            && (b[*i].is_ascii_lowercase() || b[*i].is_ascii_digit() || b"_-.*".contains(&b[*i]))
        {
            *i += 1;
        }
        Ok(())
    };
    // A bare item: token, string, number or boolean.
    let bare_item = |i: &mut usize| -> Result<(), String> {
        match b.get(*i) {
            Some(b'"') => {
                *i += 1;
                loop {
                    match b.get(*i) {
                        None => return Err("unterminated string".to_string()),
                        Some(b'\\') => *i += 2,
                        Some(b'"') => {
                            *i += 1;
                            return Ok(());
                        }
                        Some(_) => *i += 1,
                    }
                }
            }
            Some(c) if c.is_ascii_alphabetic() || *c == b'*' => {
                while *i < b.len()
                    && (b[*i].is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~:/".contains(&b[*i]))
                {
                    *i += 1;
                }
                Ok(())
            }
            Some(c) if c.is_ascii_digit() || *c == b'-' => {
                *i += 1;
                while *i < b.len() && (b[*i].is_ascii_digit() || b[*i] == b'.') {
                    *i += 1;
                }
                Ok(())
            }
            Some(b'?') => {
                *i += 2;
                Ok(())
            }
            _ => Err(format!("expected an item at byte {i}")),
        }
    };
    let params = |i: &mut usize| -> Result<(), String> {
        while b.get(*i) == Some(&b';') {
            *i += 1;
            skip_sp(i);
            key(i)?;
            if b.get(*i) == Some(&b'=') {
                *i += 1;
                bare_item(i)?;
            }
        }
        Ok(())
    };
    if b.iter().all(|c| *c == b' ' || *c == b'\t') {
        return Err("empty".to_string());
    }
    skip_sp(&mut i);
    loop {
        key(&mut i)?;
        if b.get(i) == Some(&b'=') {
            i += 1;
            if b.get(i) == Some(&b'(') {
                i += 1;
                loop {
                    skip_sp(&mut i);
                    if b.get(i) == Some(&b')') {
                        i += 1;
                        break;
                    }
                    bare_item(&mut i)?;
                    params(&mut i)?;
                    if !matches!(b.get(i), Some(b' ' | b')')) {
                        return Err(format!("expected a space or `)` at byte {i}"));
                    }
                }
            } else {
                bare_item(&mut i)?;
            }
        }
        params(&mut i)?;
        skip_ows(&mut i);
        if i >= b.len() {
            return Ok(());
        }
        if b[i] != b',' {
            return Err(format!("expected `,` at byte {i}"));
        }
        i += 1;
        skip_ows(&mut i);
        if i >= b.len() {
            return Err("trailing comma".to_string());
        }
    }
}

/// Cache-Control must hold `no-store` (RFC 9111 §5.2.2.5): `no-cache` and `private` still let
/// a browser or shared cache keep the credentials or the signed-in page on disk.
fn no_store(resp: &Response, what: &str, report: &mut Report) {
    let values = split_values(resp, "cache-control").unwrap_or_default();
    let has = values.iter().any(|d| {
        d.split('=')
            .next()
            .is_some_and(|n| n.trim().eq_ignore_ascii_case("no-store"))
    });
    if !has {
        report.finding(
            "cache-no-store-missing",
            format!(
                "expected Cache-Control: no-store on {what}, saw {:?}",
                values.join(", ")
            ),
            resp.location.as_str(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hsts_grammar() {
        assert_eq!(
            parse_hsts_max_age("max-age=31536000; includeSubDomains"),
            Ok(31_536_000)
        );
        assert_eq!(parse_hsts_max_age("MAX-AGE=\"10\";;"), Ok(10));
        assert_eq!(
            parse_hsts_max_age(&format!("max-age={}", "9".repeat(30))),
            Ok(u64::MAX)
        );
        for bad in [
            "max-age=31536000; max-age=0",
            "max-age=+5",
            "max-age=",
            "max-age=1 2",
            "includeSubDomains",
            "max-age=\"5",
        ] {
            assert!(parse_hsts_max_age(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn structured_dictionary() {
        for ok in [
            "camera=(), geolocation=(self \"https://a.example\")",
            "fullscreen=*",
            "sync-xhr=self, usb=()",
        ] {
            assert_eq!(parse_sf_dictionary(ok), Ok(()), "{ok}");
        }
        for bad in [
            "camera 'none'",
            "Camera=()",
            "camera=(self",
            "camera=(),",
            "",
        ] {
            assert!(parse_sf_dictionary(bad).is_err(), "{bad}");
        }
    }
}
