//! `token`: download tokens work for who and what they were minted for, and for nothing else.
//!
//! ```toml
//! [gates.download-tokens]
//! probe = "token"
//! owner = { path = "/api/v1/auth/sign-in", json = { email = "a@example.com", password = "pw" }, bearer = "/token" }
//! other = { path = "/api/v1/auth/sign-in", json = { email = "b@example.com", password = "pw" }, bearer = "/token" }
//! resource = "welcome-guide"                 # the owner's token is minted for this one...
//! other_resource = "annual-report-2025"      # ...and tried on this one
//! mint = { path = "/api/v1/content/{resource}/download-token", json = {}, token = "/token" }
//! download = { path = "/api/v1/content/{resource}/download?token={token}" }
//! expiring = { json = { ttl_ms = 500 }, lifetime = "500ms" }   # a mint body for a short-lived token
//! max_wait = "10s"                           # default: bound on waiting for it to expire
//! logs = ["access.log"]                      # the service's logs, relative to the gate's directory
//! ```
//!
//! The owner and the other user sign in ([`crate::signin`]); the owner mints a token for
//! `resource` (`mint`: `{resource}` in its path is filled, the token read at the JSON pointer
//! `token`). Every download is `download` with `{resource}` and `{token}` filled (in the path,
//! percent-encoded, or in `download.headers`), sent with the owner's session unless said
//! otherwise. Then:
//!
//! - the token downloads `resource`: a 2xx with a body (`token-valid-refused` otherwise, and
//!   nothing else is checked: refusals prove nothing when nothing is ever granted);
//! - refused, each with a 4xx (a 2xx is the finding named, a 3xx or 5xx is
//!   `token-refusal-not-4xx`: a redirect may hand the file out elsewhere, a server error means
//!   the token reached code that failed): the token with one character of its signature
//!   changed, and of its payload (`token-tampered-accepted`; the signature is the last
//!   `.`-separated part, the payload the one before; an opaque token is changed in its
//!   middle); the token in the other user's session (`token-other-user-accepted`); the token
//!   for `other_resource` (`token-other-resource-accepted`); the token for
//!   `..%2F{other_resource}`, `%2e%2e%2f{other_resource}` and
//!   `{resource}%2F..%2F{other_resource}` (`token-path-traversal-accepted`; encoded, because a
//!   client removes a literal `../` before sending);
//! - a token minted with the `expiring` body downloads at once (else the check cannot tell
//!   expiry from a broken token, and the probe errors), and is refused once `lifetime` has
//!   passed since it was minted, plus 200ms (`token-expired-accepted`); the wait overlaps the
//!   other checks and is bounded by `max_wait`;
//! - with `logs`, none of the lines the logs gained during the probe contains a token or a
//!   session credential the probe used (`token-in-logs`, naming the line numbers). A log that
//!   is missing or gained no line is an error: the check could not run. Without `logs`, the
//!   low finding `token-logs-not-checked` says so in the evidence.
//!
//! Tokens and credentials never appear in findings, locations or errors: they are shown as
//! labels (`‹owner's token›`).
//!
//! Budget: 2 sign-ins (each retried after a 429, at most 3 attempts), 2 mints and 10
//! downloads, plus `lifetime` of waiting.
//! Measurements: `expired_after_ms` (the wait before the expired token was tried),
//! `log_lines_checked`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use tokio::time::Instant;

use crate::net::{Client, ProbeError, Request, Response};
use crate::params::{self, Dur, err};
use crate::probe::Probe;
use crate::report::{Report, ms};
use crate::signin::{self, Session, SignIn};
use crate::{Context, ParamError};

/// Added to `lifetime` before the expired token is tried: the service's clock and rounding
/// must not make a correct service look wrong.
const SLACK: Duration = Duration::from_millis(200);

/// The longest `max_wait`: a gate waiting longer for one token is a misconfiguration.
const MAX_WAIT: Duration = Duration::from_secs(600);

/// A log larger than this is read from its end: what the probe appended is at the end.
const MAX_LOG_READ: u64 = 16 << 20;

/// The `token` probe's parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    owner: SignIn,
    other: SignIn,
    resource: String,
    other_resource: String,
    mint: Mint,
    download: Download,
    expiring: Expiring,
    #[serde(default = "max_wait")]
    max_wait: Dur,
    #[serde(default)]
    logs: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Mint {
    #[serde(default = "params::post")]
    method: String,
    path: String,
    json: Option<Value>,
    body: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default = "token_pointer")]
    token: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Download {
    #[serde(default = "params::get")]
    method: String,
    path: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

/// How to mint a short-lived token: the mint's body for it, and the lifetime it asks for.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expiring {
    json: Option<Value>,
    body: Option<String>,
    lifetime: Dur,
}

fn token_pointer() -> String {
    "/token".to_owned()
}

fn max_wait() -> Dur {
    Dur(Duration::from_secs(10))
}

/// The `token` probe.
pub(crate) struct Token;

impl Probe for Token {
    const KIND: &'static str = "token";
    const RULES: &'static [&'static str] = &[
        "valid",
        "tampered",
        "other_user",
        "other_resource",
        "traversal",
        "expiry",
        "logs",
    ];
    type Config = Config;

    fn validate(cfg: &mut Config, errors: &mut Vec<ParamError>) {
        cfg.owner.validate("owner", errors);
        cfg.other.validate("other", errors);
        for (key, id) in [
            ("resource", &cfg.resource),
            ("other_resource", &cfg.other_resource),
        ] {
            let unsafe_char = |c: char| matches!(c, '/' | '?' | '#' | '%') || c.is_whitespace();
            if id.is_empty() || id.chars().any(|c| unsafe_char(c) || c.is_control()) {
                errors.push(err(
                    key,
                    format!(
                        "expected a resource id without `/`, `?`, `#`, `%` or spaces, saw {id:?}"
                    ),
                ));
            }
        }
        if cfg.resource == cfg.other_resource {
            errors.push(err(
                "other_resource",
                "expected another resource than `resource`",
            ));
        }
        params::check_method("mint.method", &cfg.mint.method, errors);
        params::check_path("mint.path", &cfg.mint.path, errors);
        params::check_body("mint.body", &cfg.mint.body, &cfg.mint.json, errors);
        if !cfg.mint.token.starts_with('/') {
            errors.push(err(
                "mint.token",
                format!(
                    "expected a JSON pointer starting with `/`, saw {:?}",
                    cfg.mint.token
                ),
            ));
        }
        params::check_method("download.method", &cfg.download.method, errors);
        params::check_path("download.path", &cfg.download.path, errors);
        if !cfg.download.path.contains("{resource}") {
            errors.push(err(
                "download.path",
                "expected `{resource}` in the path: other resources and traversals are tried there",
            ));
        }
        let carries_token = cfg.download.path.contains("{token}")
            || cfg.download.headers.values().any(|v| v.contains("{token}"));
        if !carries_token {
            errors.push(err(
                "download",
                "expected `{token}` in `download.path` or a `download.headers` value",
            ));
        }
        params::check_body(
            "expiring.body",
            &cfg.expiring.body,
            &cfg.expiring.json,
            errors,
        );
        if cfg.max_wait.0 > MAX_WAIT {
            errors.push(err("max_wait", "expected at most 10m"));
        }
        if cfg.expiring.lifetime.0.is_zero()
            || cfg.expiring.lifetime.0.saturating_add(SLACK) > cfg.max_wait.0
        {
            errors.push(err(
                "expiring.lifetime",
                format!(
                    "expected a lifetime above zero that, plus 200ms, fits in `max_wait` ({})",
                    humantime::format_duration(cfg.max_wait.0)
                ),
            ));
        }
        for (i, log) in cfg.logs.iter().enumerate() {
            if log.trim().is_empty() {
                errors.push(err(format!("logs[{i}]"), "expected a file path"));
            }
        }
    }

    fn budget(_cfg: &Config) -> u32 {
        2 * signin::ATTEMPTS + 12
    }

    async fn check(
        cfg: &Config,
        ctx: &Context,
        http: &mut Client,
        report: &mut Report,
    ) -> Result<(), ProbeError> {
        let logs = Logs::open(ctx, &cfg.logs)?;
        let owner = cfg.owner.sign_in("owner", http).await?;
        let other = cfg.other.sign_in("other user", http).await?;
        let token = mint(cfg, &owner, None, http).await?;
        let mut probe = Downloads { cfg, http };
        let valid = probe
            .send(&owner, &cfg.resource, &token, "‹owner's token›", true)
            .await?;
        if !valid.is_success() || valid.body.is_empty() {
            report.finding(
                "token-valid-refused",
                format!(
                    "expected the owner's fresh token to download `{}` (a 2xx with a body), saw {} with {} bytes; nothing else was checked: refusals prove nothing when nothing is granted",
                    cfg.resource,
                    valid.status,
                    valid.body.len()
                ),
                valid.location.as_str(),
            );
            return Ok(());
        }
        report.exercised("valid");
        // The short-lived token is minted first so that its lifetime runs during the checks.
        let short = mint(cfg, &owner, Some(&cfg.expiring), probe.http).await?;
        let minted_at = Instant::now();
        let fresh = probe
            .send(&owner, &cfg.resource, &short, "‹short-lived token›", true)
            .await?;
        if !fresh.is_success() {
            return Err(ProbeError::Other(format!(
                "{}: the short-lived token was refused ({}) right after it was minted, so its expiry cannot be told from a broken token; check `expiring`",
                fresh.location, fresh.status
            )));
        }
        probe.refusals(&owner, &other, &token, report).await?;
        for rule in ["tampered", "other_user", "other_resource", "traversal"] {
            report.exercised(rule);
        }
        let wait = cfg.expiring.lifetime.0 + SLACK;
        tokio::time::sleep_until(minted_at + wait).await;
        report.measure("expired_after_ms", ms(minted_at.elapsed()));
        let expired = probe
            .send(&owner, &cfg.resource, &short, "‹expired token›", false)
            .await?;
        refused(
            &expired,
            "token-expired-accepted",
            &format!(
                "a token minted to live {} to be refused {} after it was minted",
                humantime::format_duration(cfg.expiring.lifetime.0),
                humantime::format_duration(Duration::from_millis(
                    u64::try_from(minted_at.elapsed().as_millis()).unwrap_or(u64::MAX)
                )),
            ),
            "expired tokens still work",
            report,
        );
        report.exercised("expiry");
        report.covered(
            "logs",
            !cfg.logs.is_empty(),
            "no `logs`: the service's logs were not searched for tokens; add `logs`",
        );
        let secrets = [
            ("the owner's download token", token.as_str()),
            ("the short-lived download token", short.as_str()),
        ]
        .into_iter()
        .chain(owner.values().map(|v| ("the owner's session", v)))
        .chain(other.values().map(|v| ("the other user's session", v)));
        logs.check(secrets.collect(), report)
    }
}

/// Mints a token as `owner`, with the `expiring` body when given.
async fn mint(
    cfg: &Config,
    owner: &Session,
    expiring: Option<&Expiring>,
    http: &mut Client,
) -> Result<String, ProbeError> {
    let what = if expiring.is_some() {
        "short-lived token"
    } else {
        "token"
    };
    let mut req = Request::new(&cfg.mint.method, &fill(&cfg.mint.path, &cfg.resource, None))
        .note(format!("mint a {what} as owner"));
    for (name, value) in &cfg.mint.headers {
        req = req.header(name, value);
    }
    let (json, body) = match expiring {
        Some(e) => (&e.json, &e.body),
        None => (&cfg.mint.json, &cfg.mint.body),
    };
    req.body = params::body(body, json);
    let resp = http.send(&owner.apply(req)).await?;
    if !resp.is_success() {
        return Err(ProbeError::Other(format!(
            "{}: could not mint a {what}: expected a 2xx, saw {}",
            resp.location, resp.status
        )));
    }
    serde_json::from_slice::<Value>(&resp.body)
        .ok()
        .and_then(|v| {
            v.pointer(&cfg.mint.token)
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ProbeError::Other(format!(
                "{}: expected the {what} as a string at {} of the JSON response, saw none",
                resp.location, cfg.mint.token
            ))
        })
}

/// `template` with `{resource}` and (percent-encoded) `{token}` filled.
fn fill(template: &str, resource: &str, token: Option<&str>) -> String {
    let filled = template.replace("{resource}", resource);
    match token {
        Some(token) => {
            let encoded: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
            filled.replace("{token}", &encoded)
        }
        None => filled,
    }
}

/// The download requests, each as some session, for some resource, with some token.
struct Downloads<'a> {
    cfg: &'a Config,
    http: &'a mut Client,
}

impl Downloads<'_> {
    /// Downloads `resource` with `token` (shown as `label`) as `session`. Refusals are judged
    /// on the first response (`follow` false): a redirect is not a refusal to take on trust.
    async fn send(
        &mut self,
        session: &Session,
        resource: &str,
        token: &str,
        label: &str,
        follow: bool,
    ) -> Result<Response, ProbeError> {
        let d = &self.cfg.download;
        let mut req = Request::new(&d.method, &fill(&d.path, resource, Some(token)))
            .note(format!("as {}", session.who()))
            .secret(token, label);
        for (name, value) in &d.headers {
            req = req.header(name, value.replace("{token}", token));
        }
        if !follow {
            req = req.no_follow();
        }
        self.http.send(&session.apply(req)).await
    }

    /// Everything that must be refused with the owner's `token`: tampered copies, the other
    /// user's session, another resource, path traversals.
    async fn refusals(
        &mut self,
        owner: &Session,
        other: &Session,
        token: &str,
        report: &mut Report,
    ) -> Result<(), ProbeError> {
        let cfg = self.cfg;
        for part in [Part::Signature, Part::Payload] {
            let Some(tampered) = tamper(token, part) else {
                continue;
            };
            let label = format!("‹token, {} changed›", part.name());
            let resp = self
                .send(owner, &cfg.resource, &tampered, &label, false)
                .await?;
            refused(
                &resp,
                "token-tampered-accepted",
                &format!(
                    "the token with one character of its {} changed to be refused",
                    part.name()
                ),
                "the signature is not checked",
                report,
            );
        }
        let resp = self
            .send(other, &cfg.resource, token, "‹owner's token›", false)
            .await?;
        refused(
            &resp,
            "token-other-user-accepted",
            "the owner's token to be refused in the other user's session",
            "tokens are not bound to the user they were minted for",
            report,
        );
        let resp = self
            .send(owner, &cfg.other_resource, token, "‹owner's token›", false)
            .await?;
        refused(
            &resp,
            "token-other-resource-accepted",
            &format!(
                "the token for `{}` to be refused for `{}`",
                cfg.resource, cfg.other_resource
            ),
            "tokens are not bound to their resource",
            report,
        );
        for traversal in traversals(&cfg.resource, &cfg.other_resource) {
            let resp = self
                .send(owner, &traversal, token, "‹owner's token›", false)
                .await?;
            refused(
                &resp,
                "token-path-traversal-accepted",
                &format!(
                    "`{traversal}` (a path traversal from `{}`) to be refused",
                    cfg.resource
                ),
                "the resource id reaches a lookup that follows `..`",
                report,
            );
        }
        Ok(())
    }
}

/// Records `code` when `resp` granted what it must refuse (`expected` completes "expected
/// ..."; `meaning` says what that tells), `token-refusal-not-4xx` when it answered neither.
fn refused(resp: &Response, code: &str, expected: &str, meaning: &str, report: &mut Report) {
    if resp.is_success() {
        report.finding(
            code,
            format!(
                "expected {expected}, saw {} with {} bytes: {meaning}",
                resp.status,
                resp.body.len()
            ),
            resp.location.as_str(),
        );
    } else if !(400..500).contains(&resp.status) {
        report.finding(
            "token-refusal-not-4xx",
            format!(
                "expected {expected} with a 4xx, saw {} (a redirect may hand the file out elsewhere; a server error means the token reached code that failed)",
                resp.status
            ),
            resp.location.as_str(),
        );
    }
}

/// Resource ids that climb from `resource`'s directory to `other`'s, encoded so that the
/// client does not resolve them before sending (`/a/../b` becomes `/b` in any URL parser).
fn traversals(resource: &str, other: &str) -> [String; 3] {
    [
        format!("..%2F{other}"),
        format!("%2e%2e%2f{other}"),
        format!("{resource}%2F..%2F{other}"),
    ]
}

/// Which part of a token to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Signature,
    Payload,
}

impl Part {
    fn name(self) -> &'static str {
        match self {
            Part::Signature => "signature",
            Part::Payload => "payload",
        }
    }
}

/// `token` with one character of `part` changed to another of the same alphabet (so that it
/// still decodes, and only the signature check can refuse it). The signature is the last
/// `.`-separated segment, the payload the one before it; an opaque token (no `.`) has only a
/// signature, changed in its middle. `None` when there is no such part.
fn tamper(token: &str, part: Part) -> Option<String> {
    let mut segments: Vec<String> = token.split('.').map(str::to_owned).collect();
    let index = match part {
        Part::Signature => segments.len() - 1,
        Part::Payload => segments.len().checked_sub(2)?,
    };
    let segment = &mut segments[index];
    let chars: Vec<char> = segment.chars().collect();
    if chars.is_empty() {
        return None;
    }
    // The middle, never the last character: in unpadded base64 the last one may carry unused
    // bits, which a lenient decoder ignores, and the change would then change nothing.
    let at = chars.len() / 2;
    *segment = chars
        .iter()
        .enumerate()
        .map(|(i, &c)| if i == at { flip(c) } else { c })
        .collect();
    Some(segments.join("."))
}

/// Another character of the same alphabet class as `c`: digits stay digits, hex letters stay
/// hex letters (case kept), other letters stay letters, and base64's `-`/`_` and `+`/`/` swap.
fn flip(c: char) -> char {
    let rotate = |base: u8, len: u8, by: u8| {
        let offset = (c as u8 - base + by) % len;
        char::from(base + offset)
    };
    match c {
        '0'..='9' => rotate(b'0', 10, 5),
        'a'..='f' => rotate(b'a', 6, 3),
        'A'..='F' => rotate(b'A', 6, 3),
        'g'..='z' => rotate(b'g', 20, 10),
        'G'..='Z' => rotate(b'G', 20, 10),
        '-' => '_',
        '_' => '-',
        '+' => '/',
        '/' => '+',
        _ => 'A',
    }
}

/// The service's logs, with their sizes when the probe started: only what was appended
/// during the probe is searched, so the check is about this probe's tokens and requests.
struct Logs {
    files: Vec<(String, std::path::PathBuf, u64)>,
}

impl Logs {
    fn open(ctx: &Context, logs: &[String]) -> Result<Logs, ProbeError> {
        let mut files = Vec::new();
        for log in logs {
            let path = ctx.workdir.join(log);
            let size = std::fs::metadata(&path)
                .map_err(|e| {
                    ProbeError::Other(format!(
                        "log leak not checked: cannot read log `{log}` ({}): {e}",
                        path.display()
                    ))
                })?
                .len();
            files.push((log.clone(), path, size));
        }
        Ok(Logs { files })
    }

    /// Searches what each log gained for `secrets` (what each one is, its value).
    fn check(&self, secrets: Vec<(&str, &str)>, report: &mut Report) -> Result<(), ProbeError> {
        if self.files.is_empty() {
            report.finding(
                "token-logs-not-checked",
                "log leak not checked: no `logs` given, so whether tokens reach the service's logs is unknown",
                "logs",
            );
            return Ok(());
        }
        let mut lines_checked = 0usize;
        for (name, path, before) in &self.files {
            let appended = read_appended(path, *before).map_err(|e| {
                ProbeError::Other(format!(
                    "log leak not checked: cannot read log `{name}`: {e}"
                ))
            })?;
            if appended.is_empty() {
                return Err(ProbeError::Other(format!(
                    "log leak not checked: log `{name}` gained no line during the probe; is it this service's log, and is it flushed?"
                )));
            }
            let first_line = line_number(path, *before);
            let text = String::from_utf8_lossy(&appended);
            lines_checked += text.lines().count();
            for (what, value) in &secrets {
                let encoded: String =
                    url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
                let hits: Vec<String> = text
                    .lines()
                    .enumerate()
                    .filter(|(_, line)| line.contains(value) || line.contains(&encoded))
                    .map(|(i, _)| (first_line + i).to_string())
                    .collect();
                if !hits.is_empty() {
                    let shown = hits.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
                    let more = match hits.len() {
                        n if n > 5 => format!(", +{} more", n - 5),
                        _ => String::new(),
                    };
                    report.finding(
                        "token-in-logs",
                        format!(
                            "expected no token or credential in log `{name}`, saw {what} in clear on {} line{} ({shown}{more}): anyone who reads the log can use it",
                            hits.len(),
                            if hits.len() == 1 { "" } else { "s" },
                        ),
                        format!("log {name}"),
                    );
                }
            }
        }
        report.measure("log_lines_checked", lines_checked as f64);
        Ok(())
    }
}

/// The bytes appended to `path` after its first `before` bytes (the whole file when it
/// shrank: rotated), at most [`MAX_LOG_READ`] of them.
fn read_appended(path: &Path, before: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let from = if len < before { 0 } else { before };
    let from = from.max(len.saturating_sub(MAX_LOG_READ));
    file.seek(SeekFrom::Start(from))?;
    let mut out = Vec::new();
    file.take(MAX_LOG_READ).read_to_end(&mut out)?;
    Ok(out)
}

/// The 1-based number of the line starting at byte `offset` of `path` (1 when unknown).
fn line_number(path: &Path, offset: u64) -> usize {
    std::fs::read(path).map_or(1, |bytes| {
        let end = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        bytes[..end].iter().filter(|&&b| b == b'\n').count() + 1
    })
}

#[cfg(test)]
mod tests {
    use base64::Engine;

    use super::*;

    #[test]
    fn flipping_keeps_the_alphabet_and_changes_the_character() {
        for c in ('0'..='9')
            .chain('a'..='z')
            .chain('A'..='Z')
            .chain("-_+/".chars())
        {
            let f = flip(c);
            assert_ne!(f, c, "{c}");
            assert_eq!(c.is_ascii_hexdigit(), f.is_ascii_hexdigit(), "{c} -> {f}");
            assert_eq!(c.is_ascii_digit(), f.is_ascii_digit(), "{c} -> {f}");
            assert_eq!(c.is_ascii_lowercase(), f.is_ascii_lowercase(), "{c} -> {f}");
        }
    }

    #[test]
    fn tampering_changes_one_character_of_the_named_part_and_it_still_decodes() {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let payload = b64.encode(br#"{"content":"welcome-guide","sub":5}"#);
        let signature = b64.encode([7u8; 32]);
        let token = format!("{payload}.{signature}");
        let sig = tamper(&token, Part::Signature).unwrap();
        let (p, s) = sig.split_once('.').unwrap();
        assert_eq!(p, payload);
        assert_ne!(b64.decode(s).unwrap(), b64.decode(&signature).unwrap());
        let pay = tamper(&token, Part::Payload).unwrap();
        let (p, s) = pay.split_once('.').unwrap();
        assert_eq!(s, signature);
        assert_ne!(b64.decode(p).unwrap(), b64.decode(&payload).unwrap());
        // A JWT: header.payload.signature; the payload is the middle part.
        let jwt = tamper("aaa.bbbb.cccc", Part::Payload).unwrap();
        assert_eq!(jwt, "aaa.bbeb.cccc");
        // An opaque hex token has a signature only, and stays hex.
        let opaque = tamper("0123456789abcdef", Part::Signature).unwrap();
        assert_eq!(opaque, "0123456739abcdef");
        assert_eq!(tamper("0123456789abcdef", Part::Payload), None);
    }

    #[test]
    fn tokens_are_percent_encoded_in_paths_and_traversals_stay_encoded() {
        assert_eq!(
            fill("/c/{resource}/d?token={token}", "a", Some("x+y/z=")),
            "/c/a/d?token=x%2By%2Fz%3D"
        );
        assert_eq!(
            traversals("a", "b"),
            [
                "..%2Fb".to_owned(),
                "%2e%2e%2fb".to_owned(),
                "a%2F..%2Fb".to_owned()
            ]
        );
    }
}
