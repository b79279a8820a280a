//! What the access probes (`rbac`, `strict-input`) share: how a role obtains its credentials
//! and the [`Keyring`] holding them (never shown in clear). The sign-in request is the one
//! every probe uses ([`crate::signin::SignIn`]); the 429s a rate-limited sign-in or route
//! answers are waited out by [`Patience`], not judged.
//!
//! A role's credentials are either a token from an environment variable or a sign-in request
//! whose JSON answer holds the token (`capture`, a JSON pointer, default `/token`):
//!
//! ```toml
//! roles.member = { sign_in = { path = "/api/v1/auth/sign-in", json = { email = "m@x", password = "p" } } }
//! roles.ops = { token = { env = "OPS_TOKEN" }, header = "X-Api-Key", scheme = "" }
//! ```
//!
//! The token is sent as `Authorization: Bearer TOKEN` unless `header` and `scheme` say
//! otherwise. The role [`ANONYMOUS`] is always there and sends no credentials.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::net::{Client, ProbeError, Request};
use crate::params::{self, Dur, err};
use crate::patience::{self, Patience};
use crate::report::Report;
use crate::signin::{self, SignIn};
use crate::{Context, ParamError};

/// The role without credentials, available in every matrix without being declared.
pub(crate) const ANONYMOUS: &str = "anonymous";

/// How a role obtains its credentials.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Credentials {
    token: Option<FromEnv>,
    sign_in: Option<SignIn>,
    capture: Option<String>,
    #[serde(default = "authorization")]
    header: String,
    #[serde(default = "bearer")]
    scheme: String,
}

/// `{ env = "NAME" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FromEnv {
    env: String,
}

fn authorization() -> String {
    "authorization".to_owned()
}

fn bearer() -> String {
    "Bearer".to_owned()
}

/// The JSON pointer a sign-in's token is read at when `capture` is not given.
const DEFAULT_CAPTURE: &str = "/token";

impl Credentials {
    fn capture(&self) -> &str {
        self.capture.as_deref().unwrap_or(DEFAULT_CAPTURE)
    }
}

/// Checks what both access probes take: the `roles` table, `max_wait` and `max_retries`.
pub(crate) fn validate(
    roles: &BTreeMap<String, Credentials>,
    max_wait: Dur,
    max_retries: u32,
    errors: &mut Vec<ParamError>,
) {
    validate_roles(roles, errors);
    patience::validate(max_wait, max_retries, errors);
}

/// The requests obtaining credentials can take: a sign-in a role, and each 429 waited out.
pub(crate) fn budget(roles: &BTreeMap<String, Credentials>, max_retries: u32) -> u32 {
    u32::try_from(roles.len())
        .unwrap_or(u32::MAX)
        .saturating_add(max_retries)
}

/// Checks the `roles` table: names, one source of credentials each, pointers and headers.
fn validate_roles(roles: &BTreeMap<String, Credentials>, errors: &mut Vec<ParamError>) {
    for (name, cred) in roles {
        let key = |k: &str| format!("roles.{name}{k}");
        if name == ANONYMOUS {
            errors.push(err(
                key(""),
                "`anonymous` is built in (no credentials) and cannot be declared",
            ));
        }
        match (&cred.token, &cred.sign_in) {
            (Some(_), Some(_)) => errors.push(err(
                key(""),
                "expected either `token` or `sign_in`, not both",
            )),
            (None, None) => errors.push(err(
                key(""),
                "expected `token = { env = \"NAME\" }` or `sign_in = { path = ..., json = ... }`",
            )),
            _ => {}
        }
        if let Some(FromEnv { env }) = &cred.token
            && (env.is_empty() || env.contains('='))
        {
            errors.push(err(
                key(".token.env"),
                format!("expected an environment variable name, saw {env:?}"),
            ));
        }
        if let Some(sign_in) = &cred.sign_in {
            sign_in.validate(&key(".sign_in"), errors);
            if sign_in.has_bearer() {
                errors.push(err(
                    key(".sign_in.bearer"),
                    "a role's token is read at `capture` (beside `sign_in`), not `bearer`",
                ));
            }
        } else if cred.capture.is_some() {
            errors.push(err(key(".capture"), "`capture` reads the `sign_in` answer"));
        }
        if !cred.capture().is_empty() && !cred.capture().starts_with('/') {
            errors.push(err(
                key(".capture"),
                format!(
                    "expected a JSON pointer starting with `/`, saw {:?}",
                    cred.capture()
                ),
            ));
        }
        params::check_header_names(&key(".header"), [&cred.header], errors);
    }
}

/// A token: its `Debug` never shows it.
struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The credentials each role obtained. A role whose credentials could not be obtained is
/// absent, and its requests are not sent (a `credentials-unavailable` finding says why).
#[derive(Debug, Default)]
pub(crate) struct Keyring {
    /// Role name → header name and value.
    headers: BTreeMap<String, (String, Secret)>,
    /// Every token obtained, for [`Keyring::scrub`].
    tokens: Vec<Secret>,
}

impl Keyring {
    /// Obtains the credentials of `wanted` (roles of `roles`; anonymous needs none), in order.
    /// A role that fails is a `credentials-unavailable` finding, not an error: the other
    /// roles can still be checked, and the finding keeps the outcome from passing.
    pub async fn obtain(
        roles: &BTreeMap<String, Credentials>,
        wanted: impl IntoIterator<Item = &str>,
        ctx: &Context,
        http: &mut Client,
        patience: &mut Patience,
        report: &mut Report,
    ) -> Result<Keyring, ProbeError> {
        let mut ring = Keyring::default();
        for name in wanted {
            let Some(cred) = roles.get(name) else {
                continue;
            };
            let token = match (&cred.token, &cred.sign_in) {
                (Some(FromEnv { env }), _) => env_value(ctx, env).ok_or_else(|| {
                    (
                        format!(
                            "expected a token in environment variable {env}, saw it unset or empty"
                        ),
                        format!("role {name} (token from ${env})"),
                    )
                }),
                (None, Some(sign_in)) => sign_in_token(sign_in, cred.capture(), http, patience)
                    .await?
                    .map_err(|why| (why, format!("role {name} ({})", sign_in.name()))),
                // `validate` refuses this; said rather than assumed.
                (None, None) => Err((
                    "expected `token` or `sign_in`, saw neither".to_owned(),
                    format!("role {name}"),
                )),
            };
            match token {
                Ok(token) => {
                    let value = if cred.scheme.is_empty() {
                        token.clone()
                    } else {
                        format!("{} {token}", cred.scheme)
                    };
                    ring.tokens.push(Secret(token));
                    ring.headers
                        .insert(name.to_owned(), (cred.header.clone(), Secret(value)));
                }
                Err((why, location)) => {
                    report.finding(
                        "credentials-unavailable",
                        format!("{why}; the requests of role {name} are not sent"),
                        location,
                    );
                }
            }
        }
        Ok(ring)
    }

    /// `req` with `role`'s credentials; `None` when the role has none to send (its
    /// credentials could not be obtained). Anonymous gets `req` as it is.
    pub fn authorize(&self, role: &str, req: Request) -> Option<Request> {
        if role == ANONYMOUS {
            return Some(req);
        }
        let (header, Secret(value)) = self.headers.get(role)?;
        Some(req.header(header, value))
    }

    /// `text` with every token obtained replaced by `<redacted>`: for any text taken from a
    /// response (an echoing service may quote the credentials it was sent).
    pub fn scrub(&self, text: &str) -> String {
        self.tokens
            .iter()
            .filter(|Secret(t)| !t.is_empty())
            .fold(text.to_owned(), |text, Secret(t)| {
                text.replace(t.as_str(), "<redacted>")
            })
    }
}

/// The value of `name` in the environment the gate's own processes get ([`crate::ChildEnv`]:
/// what it sets, else phasegate's own unless withheld), trimmed (a token file read with
/// `$(cat ..)` keeps no newline, one exported by hand may); an empty value counts as unset.
fn env_value(ctx: &Context, name: &str) -> Option<String> {
    let value = match ctx.env.set.get(name) {
        Some(value) => Some(value.clone()),
        None if ctx.env.withheld.contains(name) => None,
        None => std::env::var(name).ok(),
    };
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Sends the sign-in and reads the token; the inner `Err` says why there is none.
async fn sign_in_token(
    sign_in: &SignIn,
    capture: &str,
    http: &mut Client,
    patience: &mut Patience,
) -> Result<Result<String, String>, ProbeError> {
    let resp = sign_in.send("sign-in".to_owned(), http, patience).await?;
    if !resp.is_success() {
        return Ok(Err(format!(
            "expected the sign-in to answer 2xx with a token, saw {}",
            resp.status
        )));
    }
    let token = signin::token_at(&resp, capture).filter(|t| !t.is_empty());
    Ok(token.ok_or_else(|| {
        format!(
            "expected a token (a non-empty string) at `{capture}` of the sign-in's JSON answer ({}), saw none",
            resp.status
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sign_in_body_does_not_show_in_debug() {
        let cred: Credentials = serde_json::from_value(serde_json::json!({
            "sign_in": { "path": "/login", "json": { "password": "hunter2" },
                         "headers": { "x-otp": "123456" } },
        }))
        .unwrap();
        let debug = format!("{cred:?}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("123456"),
            "{debug}"
        );
        assert!(debug.contains("/login"), "{debug}");
    }

    #[test]
    fn a_role_reads_its_token_at_capture_not_bearer() {
        let roles: BTreeMap<String, Credentials> = serde_json::from_value(serde_json::json!({
            "member": { "sign_in": { "path": "/login", "bearer": "/token" } },
            "admin": { "sign_in": { "path": "/login", "headers": { "bad name": "x" } },
                       "capture": "/session/token" },
        }))
        .unwrap();
        let mut errors = Vec::new();
        validate_roles(&roles, &mut errors);
        let keys: Vec<&str> = errors.iter().filter_map(|e| e.key.as_deref()).collect();
        assert_eq!(
            keys,
            ["roles.admin.sign_in.headers", "roles.member.sign_in.bearer"],
            "{errors:?}"
        );
    }

    #[test]
    fn secrets_do_not_show_in_debug_and_are_scrubbed_from_text() {
        let mut ring = Keyring::default();
        ring.tokens.push(Secret("tok-123".into()));
        ring.headers.insert(
            "member".into(),
            ("authorization".into(), Secret("Bearer tok-123".into())),
        );
        assert!(!format!("{ring:?}").contains("tok-123"));
        assert_eq!(
            ring.scrub("echo: Bearer tok-123"),
            "echo: Bearer <redacted>"
        );
        let req = ring.authorize("member", Request::get("/x")).unwrap();
        assert_eq!(req.headers[0].1, b"Bearer tok-123");
        assert!(ring.authorize("auditor", Request::get("/x")).is_none());
        assert!(
            ring.authorize(ANONYMOUS, Request::get("/x"))
                .unwrap()
                .headers
                .is_empty()
        );
    }
}
