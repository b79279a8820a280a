//! `cors`: the allow-list holds, for simple requests and preflights alike, judged as the
//! Fetch standard's CORS check and CORS-preflight fetch judge them in a browser.
//!
//! ```toml
//! [gates.cors]
//! probe = "cors"
//! path = "/api/v1/me"                  # default "/"
//! allowed = ["https://app.example.com"]
//! credentials = true                   # allowed origins must get ACAC: true (default false)
//! method = "GET"                       # the method the preflight asks for (default "GET")
//! request_headers = ["content-type", "authorization"]  # default ["content-type"]
//! max_age_at_least = "10m"             # optional: preflight caching (Access-Control-Max-Age)
//! ```
//!
//! For each allowed origin a simple request (`method` with `Origin`, same-origin redirects
//! followed) and a preflight (`OPTIONS` with `Origin`, `Access-Control-Request-Method` and
//! `Access-Control-Request-Headers`, never followed) are sent. Each response, and each redirect
//! hop of the simple request, must pass Fetch's CORS check: exactly one
//! `Access-Control-Allow-Origin` equal to the origin (or `*` without `credentials`) and, with
//! `credentials`, `Access-Control-Allow-Credentials` exactly `true`. When a browser would
//! preflight (a method other than GET/HEAD/POST, or any `request_headers`), the preflight must
//! also have an ok status (200–299), list the method in `Access-Control-Allow-Methods`
//! (byte-exact, `*` only without credentials) and every request header in
//! `Access-Control-Allow-Headers` (case-insensitive, `*` only without credentials and never for
//! `authorization`); with `max_age_at_least`, its `Access-Control-Max-Age` (5 s when absent or
//! invalid, as browsers read it) must be at least that.
//!
//! Foreign origins must not pass the CORS check, on either request: `https://evil.example`,
//! `null`, and per allowed origin the look-alikes that sloppy checks accept: suffix
//! (`https://app.example.com.evil.test`), prefix (`https://evilapp.example.com`), dot-replaced
//! (`https://app-example.com`, `https://appxexample.com`) and http downgrade
//! (`http://app.example.com`). An ACAO naming another origin (a fixed allow-list entry) grants
//! nothing and is fine; a reflected one, or `*`, is a finding. A foreign preflight counts only
//! when its status is ok, since browsers drop a non-ok preflight whatever it carries. `*`
//! together with credentials always fails.
//!
//! `Vary: Origin` (or `Vary: *`) is required when the answer depends on the origin: when the
//! CORS headers of the simple requests (or of the preflights) differ between the origins sent,
//! every one of those responses must carry it, those without ACAO included, or a shared cache
//! hands one origin's answer to another. A fixed ACAO sent to everyone needs no `Vary`.
//!
//! A 4xx preflight is evaluated, not skipped (the MDN Observatory reports such a server as "not
//! implemented"): for an allowed origin it is `cors-preflight-not-ok`. A server that reflects
//! any origin with credentials fails with `cors-origin-reflected`; the Observatory passes it
//! (its reflection test never sees the sent Origin).
//!
//! Findings: `cors-allowed-origin-refused`, `cors-allowed-origin-mismatch`,
//! `cors-vary-missing`, `cors-credentials-missing`, `cors-preflight-not-ok`,
//! `cors-preflight-method-missing`, `cors-preflight-headers-missing`, `cors-max-age-too-short`,
//! `cors-foreign-origin-allowed`, `cors-origin-reflected`, `cors-wildcard-with-credentials`,
//! and the client's `redirect-off-origin` and `redirect-limit-exceeded`.
//!
//! Budget: 2 requests per allowed origin plus 2 per distinct foreign origin (at most
//! 2 + 5 per allowed origin), each simple request followed by at most 5 redirect hops.

use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::net::{Client, ProbeError, Request, Response};
use crate::params::{self, Dur, err};
use crate::probe::Probe;
use crate::report::Report;
use crate::{Context, ParamError};

/// What browsers assume when a preflight carries no valid Access-Control-Max-Age (Fetch's
/// CORS-preflight fetch).
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(5);

/// The `cors` probe's parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    #[serde(default = "root")]
    path: String,
    allowed: Vec<String>,
    #[serde(default)]
    credentials: bool,
    #[serde(default = "params::get")]
    method: String,
    /// Header names the protected clients send, lowercased and sorted by `validate` as
    /// browsers list them in Access-Control-Request-Headers.
    #[serde(default = "content_type")]
    request_headers: Vec<String>,
    #[serde(default)]
    max_age_at_least: Option<Dur>,
}

fn root() -> String {
    "/".to_string()
}

fn content_type() -> Vec<String> {
    vec!["content-type".to_string()]
}

/// The `cors` probe.
pub(crate) struct Cors;

impl Probe for Cors {
    const KIND: &'static str = "cors";
    const RULES: &'static [&'static str] = &[
        "allowed",
        "foreign",
        "look_alikes",
        "preflight",
        "max_age",
        "vary",
    ];
    type Config = Config;

    fn validate(cfg: &mut Config, errors: &mut Vec<ParamError>) {
        params::check_path("path", &cfg.path, errors);
        params::check_method("method", &cfg.method, errors);
        // Fetch normalizes these six methods to upper case before sending and before matching
        // Access-Control-Allow-Methods; any other method is matched byte for byte.
        let upper = cfg.method.to_ascii_uppercase();
        if ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"].contains(&upper.as_str()) {
            cfg.method = upper;
        }
        if cfg.allowed.is_empty() {
            errors.push(err("allowed", "expected at least one allowed origin"));
        }
        for (i, origin) in cfg.allowed.iter().enumerate() {
            if let Err(message) = check_origin(origin) {
                errors.push(err(format!("allowed[{i}]"), message));
            }
        }
        for (i, name) in cfg.request_headers.iter().enumerate() {
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                errors.push(err(
                    format!("request_headers[{i}]"),
                    format!("expected a header name like \"content-type\", saw {name:?}"),
                ));
            }
        }
        for name in &mut cfg.request_headers {
            name.make_ascii_lowercase();
        }
        cfg.request_headers.sort();
        cfg.request_headers.dedup();
    }

    fn budget(cfg: &Config) -> u32 {
        let budget = 2 * (cfg.allowed.len() + foreign_origins(cfg).len());
        u32::try_from(budget).unwrap_or(u32::MAX)
    }

    /// Sends the simple requests and preflights and judges the answers.
    async fn check(
        cfg: &Config,
        _ctx: &Context,
        http: &mut Client,
        report: &mut Report,
    ) -> Result<(), ProbeError> {
        // Every response, kept to decide whether the answer depends on the origin (Vary).
        let mut simples = Vec::new();
        let mut preflights = Vec::new();
        for origin in &cfg.allowed {
            let [simple, preflight] = pair(cfg, origin, http).await?;
            wildcard_with_credentials(&simple, report);
            wildcard_with_credentials(&preflight, report);
            // Fetch runs the CORS check on every redirect response of a CORS request too.
            for hop in &simple.redirects {
                let at = format!("{} (its {} to {})", simple.location, hop.status, hop.to);
                allowed(cfg, origin, &hop.headers, hop.status, &at, report);
            }
            allowed(
                cfg,
                origin,
                &simple.headers,
                simple.status,
                &simple.location,
                report,
            );
            if needs_preflight(cfg) {
                preflight_ok(&preflight, report);
                allowed(
                    cfg,
                    origin,
                    &preflight.headers,
                    preflight.status,
                    &preflight.location,
                    report,
                );
                preflight_method(cfg, &preflight, report);
                preflight_headers(cfg, &preflight, report);
                max_age(cfg, &preflight, report);
            }
            simples.push(simple);
            preflights.push(preflight);
        }
        for origin in &foreign_origins(cfg) {
            let [simple, preflight] = pair(cfg, origin, http).await?;
            wildcard_with_credentials(&simple, report);
            wildcard_with_credentials(&preflight, report);
            let hops_grant = simple
                .redirects
                .iter()
                .all(|h| grants(&h.headers, origin, false));
            if hops_grant {
                foreign(origin, &simple, report);
            }
            // Browsers drop a preflight without an ok status, whatever it carries.
            if preflight.is_success() {
                foreign(origin, &preflight, report);
            }
            simples.push(simple);
            preflights.push(preflight);
        }
        vary(&simples, report);
        vary(&preflights, report);
        // `allowed` is required, so the allowed origins and their look-alikes always went.
        for rule in ["allowed", "foreign", "look_alikes", "vary"] {
            report.exercised(rule);
        }
        report.covered(
            "preflight",
            needs_preflight(cfg),
            "the request is CORS-safelisted, so browsers send no preflight; give `method` or `request_headers` the clients really send",
        );
        report.covered(
            "max_age",
            cfg.max_age_at_least.is_some(),
            "no `max_age_at_least`: preflight caching not judged",
        );
        Ok(())
    }
}

/// Whether a browser preflights the request the probe stands for: a method that is not
/// CORS-safelisted or any CORS-unsafe header (the configured names stand for such headers,
/// e.g. `content-type: application/json`).
fn needs_preflight(cfg: &Config) -> bool {
    !["GET", "HEAD", "POST"].contains(&cfg.method.as_str()) || !cfg.request_headers.is_empty()
}

/// Every value of header `name`, combined as Fetch combines a header list (`, `), trimmed.
fn combined(headers: &[(String, String)], name: &str) -> Option<String> {
    let values: Vec<&str> = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}

/// Fetch's CORS check for `origin`: ACAO is `*` (not with credentials) or exactly the origin,
/// and with credentials ACAC is exactly `true`.
fn grants(headers: &[(String, String)], origin: &str, with_credentials: bool) -> bool {
    match combined(headers, "access-control-allow-origin").as_deref() {
        Some("*") => !with_credentials,
        Some(v) if v == origin => !with_credentials || credentials(headers),
        _ => false,
    }
}

/// An allowed origin must pass the CORS check (in the credentials mode configured); each way
/// it fails is its own finding.
fn allowed(
    cfg: &Config,
    origin: &str,
    headers: &[(String, String)],
    status: u16,
    at: &str,
    report: &mut Report,
) {
    match combined(headers, "access-control-allow-origin") {
        None => report.finding(
            "cors-allowed-origin-refused",
            format!("expected Access-Control-Allow-Origin: {origin}, saw none (status {status})"),
            at,
        ),
        // Without credentials `*` passes Fetch's CORS check for every origin, this one included;
        // that it also admits foreign origins is their finding.
        Some(v) if v == "*" && !cfg.credentials => {}
        Some(v) if v != origin => report.finding(
            "cors-allowed-origin-mismatch",
            format!(
                "expected Access-Control-Allow-Origin: {origin} (exactly one value), saw {v:?}"
            ),
            at,
        ),
        Some(_) => {}
    }
    // Without ACAO the origin is refused already; a missing ACAC there says nothing more.
    let has_acao = combined(headers, "access-control-allow-origin").is_some();
    if cfg.credentials && has_acao && !credentials(headers) {
        report.finding(
            "cors-credentials-missing",
            format!(
                "expected Access-Control-Allow-Credentials: true (exactly, as Fetch compares it), saw {:?}",
                combined(headers, "access-control-allow-credentials")
                    .unwrap_or_else(|| "no such header".to_string())
            ),
            at,
        );
    }
}

/// Fetch's CORS-preflight fetch fails unless the status is ok (200–299): a 405 carrying every
/// CORS header still blocks every request that needs a preflight.
fn preflight_ok(resp: &Response, report: &mut Report) {
    if !resp.is_success() {
        report.finding(
            "cors-preflight-not-ok",
            format!(
                "expected an ok status (200-299) for the preflight, saw {} (browsers block every request that needs a preflight)",
                resp.status
            ),
            resp.location.as_str(),
        );
    }
}

/// The items of a comma-separated list header, trimmed, empty items dropped.
fn list(resp: &Response, name: &str) -> Vec<String> {
    resp.header_all(name)
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// A preflight for a method that is not CORS-safelisted must list it in
/// Access-Control-Allow-Methods: byte for byte (Fetch compares the normalized method exactly,
/// so `patch` does not allow `PATCH`), or `*` when the request is not credentialed.
fn preflight_method(cfg: &Config, resp: &Response, report: &mut Report) {
    if ["GET", "HEAD", "POST"].contains(&cfg.method.as_str()) {
        return;
    }
    let methods = list(resp, "access-control-allow-methods");
    let listed = methods
        .iter()
        .any(|m| *m == cfg.method || (m == "*" && !cfg.credentials));
    if !listed {
        report.finding(
            "cors-preflight-method-missing",
            format!(
                "expected Access-Control-Allow-Methods to include {}, saw {:?}",
                cfg.method,
                methods.join(", ")
            ),
            resp.location.as_str(),
        );
    }
}

/// Every header the client sends must be in Access-Control-Allow-Headers (case-insensitive).
/// `*` covers them only without credentials, and never `authorization` (Fetch's "CORS
/// non-wildcard request-header name").
fn preflight_headers(cfg: &Config, resp: &Response, report: &mut Report) {
    let names = list(resp, "access-control-allow-headers");
    let star = names.iter().any(|n| n == "*") && !cfg.credentials;
    let missing: Vec<&str> = cfg
        .request_headers
        .iter()
        .filter(|h| {
            let listed = names.iter().any(|n| n.eq_ignore_ascii_case(h));
            let by_star = star && *h != "authorization";
            !(listed || by_star)
        })
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        report.finding(
            "cors-preflight-headers-missing",
            format!(
                "expected Access-Control-Allow-Headers to cover {}, saw {:?}",
                missing.join(", "),
                names.join(", ")
            ),
            resp.location.as_str(),
        );
    }
}

/// With `max_age_at_least`, browsers must be told to cache the preflight that long; an absent
/// or invalid Access-Control-Max-Age is read as 5 s.
fn max_age(cfg: &Config, resp: &Response, report: &mut Report) {
    let Some(Dur(least)) = cfg.max_age_at_least else {
        return;
    };
    let raw = combined(&resp.headers, "access-control-max-age");
    let seen = raw
        .as_deref()
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(DEFAULT_MAX_AGE, Duration::from_secs);
    if seen < least {
        report.finding(
            "cors-max-age-too-short",
            format!(
                "expected Access-Control-Max-Age of at least {}s, saw {} (read as {}s)",
                least.as_secs(),
                raw.as_deref()
                    .map_or_else(|| "none".to_string(), |v| format!("{v:?}")),
                seen.as_secs()
            ),
            resp.location.as_str(),
        );
    }
}

/// A foreign origin must not pass the CORS check. ACAO naming some other origin grants it
/// nothing (a fixed allow-list entry), so it is not a finding.
fn foreign(origin: &str, resp: &Response, report: &mut Report) {
    let at = resp.location.as_str();
    let acao = combined(&resp.headers, "access-control-allow-origin").unwrap_or_default();
    if grants(&resp.headers, origin, true) {
        report.finding(
            "cors-origin-reflected",
            format!("expected no Access-Control-Allow-Origin for foreign origin {origin}, saw it reflected with Access-Control-Allow-Credentials: true"),
            at,
        );
    } else if grants(&resp.headers, origin, false) {
        report.finding(
            "cors-foreign-origin-allowed",
            format!(
                "expected no Access-Control-Allow-Origin for foreign origin {origin}, saw {acao:?}"
            ),
            at,
        );
    }
}

/// When the CORS headers of `responses` (one kind, one per origin sent) differ by origin, every
/// one of them must say `Vary: Origin`; one finding names the first that does not.
fn vary(responses: &[Response], report: &mut Report) {
    let cors = |r: &Response| {
        (
            combined(&r.headers, "access-control-allow-origin"),
            combined(&r.headers, "access-control-allow-credentials"),
        )
    };
    let Some(first) = responses.first() else {
        return;
    };
    if responses.iter().all(|r| cors(r) == cors(first)) {
        return;
    }
    let missing: Vec<&Response> = responses
        .iter()
        .filter(|r| {
            !r.header_all("vary")
                .iter()
                .flat_map(|v| v.split(','))
                .any(|t| t.trim().eq_ignore_ascii_case("origin") || t.trim() == "*")
        })
        .collect();
    if let Some(r) = missing.first() {
        report.finding(
            "cors-vary-missing",
            format!(
                "expected Vary: Origin (Access-Control-Allow-Origin differs by Origin), saw {:?} here and on {} of {} such responses",
                r.header_all("vary").join(", "),
                missing.len(),
                responses.len()
            ),
            r.location.as_str(),
        );
    }
}

/// An origin is `scheme://host[:port]`, nothing more, exactly as browsers send it.
fn check_origin(origin: &str) -> Result<Url, String> {
    let expected = format!("expected an origin like \"https://app.example.com\", saw {origin:?}");
    let url = Url::parse(origin).map_err(|_| expected.clone())?;
    if url.host_str().is_none() || url.origin().ascii_serialization() != origin {
        return Err(expected);
    }
    Ok(url)
}

/// The look-alikes of an allowed origin that a sloppy check would accept.
fn look_alikes(origin: &str) -> Vec<String> {
    let Ok(url) = Url::parse(origin) else {
        return Vec::new();
    };
    let Some(host) = url.host_str() else {
        return Vec::new();
    };
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let scheme = url.scheme();
    let mut out = vec![
        format!("{scheme}://{host}.evil.test{port}"),
        format!("{scheme}://evil{host}{port}"),
    ];
    if host.contains('.') {
        out.push(format!("{scheme}://{}{port}", host.replacen('.', "-", 1)));
        out.push(format!("{scheme}://{}{port}", host.replacen('.', "x", 1)));
    }
    if scheme == "https" {
        out.push(format!("http://{host}{port}"));
    }
    out
}

fn foreign_origins(cfg: &Config) -> Vec<String> {
    let mut out = vec!["https://evil.example".to_string(), "null".to_string()];
    for origin in &cfg.allowed {
        for o in look_alikes(origin) {
            if !out.contains(&o) && !cfg.allowed.contains(&o) {
                out.push(o);
            }
        }
    }
    out
}

async fn pair(cfg: &Config, origin: &str, http: &mut Client) -> Result<[Response; 2], ProbeError> {
    let simple = Request::new(&cfg.method, &cfg.path)
        .header("origin", origin)
        .note(format!("Origin: {origin}"));
    let mut preflight = Request::new("OPTIONS", &cfg.path)
        .header("origin", origin)
        .header("access-control-request-method", &cfg.method)
        .note(format!("preflight, Origin: {origin}"))
        // Fetch's CORS-preflight fetch does not follow redirects: a 3xx is a failed preflight.
        .no_follow();
    if !cfg.request_headers.is_empty() {
        // As browsers send it: lowercased, sorted, joined by a bare comma.
        preflight = preflight.header(
            "access-control-request-headers",
            cfg.request_headers.join(","),
        );
    }
    Ok([http.send(&simple).await?, http.send(&preflight).await?])
}

/// Fetch requires the value `true` byte for byte: `True` fails a credentialed request.
fn credentials(headers: &[(String, String)]) -> bool {
    combined(headers, "access-control-allow-credentials").as_deref() == Some("true")
}

fn wildcard_with_credentials(resp: &Response, report: &mut Report) {
    if combined(&resp.headers, "access-control-allow-origin").as_deref() == Some("*")
        && credentials(&resp.headers)
    {
        report.finding(
            "cors-wildcard-with-credentials",
            "expected no `Access-Control-Allow-Origin: *` together with Access-Control-Allow-Credentials: true, saw both",
            resp.location.as_str(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alikes_of_an_https_origin() {
        assert_eq!(
            look_alikes("https://app.example.com"),
            [
                "https://app.example.com.evil.test",
                "https://evilapp.example.com",
                "https://app-example.com",
                "https://appxexample.com",
                "http://app.example.com",
            ]
        );
    }

    #[test]
    fn origins_are_checked() {
        assert!(check_origin("https://app.example.com").is_ok());
        assert!(check_origin("https://app.example.com:8443").is_ok());
        assert!(check_origin("https://app.example.com/").is_err());
        assert!(check_origin("app.example.com").is_err());
    }
}
