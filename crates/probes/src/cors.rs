//! `cors`: the allow-list holds, for simple requests and preflights alike.
//!
//! ```toml
//! [gates.cors]
//! probe = "cors"
//! path = "/api/v1/me"                  # default "/"
//! allowed = ["https://app.example.com"]
//! credentials = true                   # allowed origins must get ACAC: true (default false)
//! method = "GET"                       # the method the preflight asks for (default "GET")
//! ```
//!
//! For each allowed origin a simple request (`method` with `Origin`) and a preflight (`OPTIONS`
//! with `Origin` and `Access-Control-Request-Method`) must both answer
//! `Access-Control-Allow-Origin` equal to that origin and `Vary: Origin`; with `credentials`
//! also `Access-Control-Allow-Credentials: true`; a preflight for a non-simple method must list
//! it in `Access-Control-Allow-Methods`.
//!
//! Foreign origins must get no `Access-Control-Allow-Origin` at all, on either request:
//! `https://evil.example`, `null`, and per allowed origin the look-alikes that sloppy checks
//! accept: suffix (`https://app.example.com.evil.test`), prefix (`https://evilapp.example.com`),
//! dot-replaced (`https://app-example.com`, `https://appxexample.com`) and http downgrade
//! (`http://app.example.com`). `*` together with credentials always fails.
//!
//! The status of a response does not matter: a 4xx preflight that still carries CORS headers is
//! evaluated like any other (the MDN Observatory reports such a server as "not implemented").
//! A server that reflects any origin with credentials fails with `cors-origin-reflected`; the
//! Observatory passes it (its reflection test never sees the sent Origin).
//!
//! Findings: `cors-allowed-origin-refused`, `cors-allowed-origin-mismatch`,
//! `cors-vary-missing`, `cors-credentials-missing`, `cors-preflight-method-missing`,
//! `cors-foreign-origin-allowed`, `cors-origin-reflected`, `cors-wildcard-with-credentials`.
//!
//! Budget: 2 requests per allowed origin plus 2 per distinct foreign origin (at most
//! 2 + 5 per allowed origin).

use serde::Deserialize;
use url::Url;

use crate::net::{Client, ProbeError, Request, Response};
use crate::params::{self, err};
use crate::probe::Probe;
use crate::report::Report;
use crate::{Context, ParamError};

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
}

fn root() -> String {
    "/".to_string()
}

/// The `cors` probe.
pub(crate) struct Cors;

impl Probe for Cors {
    const KIND: &'static str = "cors";
    type Config = Config;

    fn validate(cfg: &mut Config, errors: &mut Vec<ParamError>) {
        params::check_path("path", &cfg.path, errors);
        params::check_method("method", &cfg.method, errors);
        if cfg.allowed.is_empty() {
            errors.push(err("allowed", "expected at least one allowed origin"));
        }
        for (i, origin) in cfg.allowed.iter().enumerate() {
            if let Err(message) = check_origin(origin) {
                errors.push(err(format!("allowed[{i}]"), message));
            }
        }
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
        for origin in &cfg.allowed {
            let [simple, preflight] = pair(cfg, origin, http).await?;
            for resp in [&simple, &preflight] {
                wildcard_with_credentials(resp, report);
                allowed(cfg, origin, resp, report);
            }
            preflight_method(cfg, &preflight, report);
        }
        for origin in &foreign_origins(cfg) {
            for resp in pair(cfg, origin, http).await? {
                wildcard_with_credentials(&resp, report);
                foreign(origin, &resp, report);
            }
        }
        Ok(())
    }
}

/// An allowed origin must be answered with itself, `Vary: Origin` and, with `credentials`,
/// Access-Control-Allow-Credentials.
fn allowed(cfg: &Config, origin: &str, resp: &Response, report: &mut Report) {
    let at = resp.location.as_str();
    match resp.header("access-control-allow-origin") {
        None => report.finding(
            "cors-allowed-origin-refused",
            format!(
                "expected Access-Control-Allow-Origin: {origin}, saw none (status {})",
                resp.status
            ),
            at,
        ),
        Some(v) if v.trim() != origin => report.finding(
            "cors-allowed-origin-mismatch",
            format!("expected Access-Control-Allow-Origin: {origin}, saw {v:?}"),
            at,
        ),
        Some(_) => {}
    }
    let vary_origin = resp
        .header_all("vary")
        .iter()
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("origin") || t.trim() == "*");
    if !vary_origin {
        report.finding(
            "cors-vary-missing",
            format!(
                "expected Vary: Origin (the answer depends on the origin), saw {:?}",
                resp.header_all("vary").join(", ")
            ),
            at,
        );
    }
    if cfg.credentials && !credentials(resp) {
        report.finding(
            "cors-credentials-missing",
            format!(
                "expected Access-Control-Allow-Credentials: true, saw {:?}",
                resp.header("access-control-allow-credentials")
                    .unwrap_or("no such header")
            ),
            at,
        );
    }
}

/// A preflight for a method that is not simple must list it in Access-Control-Allow-Methods.
fn preflight_method(cfg: &Config, resp: &Response, report: &mut Report) {
    let at = resp.location.as_str();
    let simple_method = ["GET", "HEAD", "POST"].contains(&cfg.method.to_ascii_uppercase().as_str());
    if simple_method {
        return;
    }
    let methods = resp.header_all("access-control-allow-methods").join(",");
    let listed = methods.split(',').any(|m| {
        let m = m.trim();
        m.eq_ignore_ascii_case(&cfg.method) || (m == "*" && !cfg.credentials)
    });
    if !listed {
        report.finding(
            "cors-preflight-method-missing",
            format!(
                "expected Access-Control-Allow-Methods to include {}, saw {methods:?}",
                cfg.method
            ),
            at,
        );
    }
}

/// A foreign origin must get no Access-Control-Allow-Origin at all.
fn foreign(origin: &str, resp: &Response, report: &mut Report) {
    let at = resp.location.as_str();
    let Some(acao) = resp.header("access-control-allow-origin") else {
        return;
    };
    if acao.trim() == origin && credentials(resp) {
        report.finding(
            "cors-origin-reflected",
            format!("expected no Access-Control-Allow-Origin for foreign origin {origin}, saw it reflected with Access-Control-Allow-Credentials: true"),
            at,
        );
    } else {
        report.finding(
            "cors-foreign-origin-allowed",
            format!(
                "expected no Access-Control-Allow-Origin for foreign origin {origin}, saw {acao:?}"
            ),
            at,
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
    let preflight = Request::new("OPTIONS", &cfg.path)
        .header("origin", origin)
        .header("access-control-request-method", &cfg.method)
        .note(format!("preflight, Origin: {origin}"));
    Ok([http.send(&simple).await?, http.send(&preflight).await?])
}

fn credentials(resp: &Response) -> bool {
    resp.header("access-control-allow-credentials")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

fn wildcard_with_credentials(resp: &Response, report: &mut Report) {
    if resp.header("access-control-allow-origin").map(str::trim) == Some("*") && credentials(resp) {
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
