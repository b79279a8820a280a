//! Signing in as a user a probe acts for, and carrying that session on later requests.
//!
//! ```toml
//! owner = { path = "/api/v1/auth/sign-in", json = { email = "a@example.com", password = "pw" }, bearer = "/token" }
//! ```
//!
//! The sign-in is one request (`method`, default `POST`, `path`, `json` or `body`, `headers`).
//! It must answer 2xx: a probe that could not sign in could not check anything signed in, so
//! that is an error, never a pass. Sign-in is rate limited on any hardened service, and gates
//! run in parallel from one address: a 429 is retried after its `Retry-After` (1s when absent;
//! one asking for more than 5s ends the sign-in), up to [`ATTEMPTS`] attempts in all, through
//! the [`Patience`] every probe uses. The session is every cookie the response sets (name=value,
//! sent back as `Cookie`), plus, with `bearer`, the string at that JSON pointer of the
//! response, sent as `Authorization: Bearer`. Its values are credentials: they are shown only
//! as a label (`‹owner's session›`) in locations and errors, and never in `Debug`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::ParamError;
use crate::net::{Client, ProbeError, Request, Response};
use crate::params::{self, err};
use crate::patience::Patience;

/// Attempts at one sign-in, the first included: what a probe's budget counts per sign-in.
pub(crate) const ATTEMPTS: u32 = 3;

/// The longest wait before another attempt: a 429 asking for more ends the sign-in.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(5);

/// How to sign in: a request and where its answer carries the session. The access probes'
/// roles (`roles.NAME.sign_in`, whose token pointer is the role's `capture`) use it too. Its
/// body usually holds a password, so it is never quoted (not even by `Debug`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SignIn {
    #[serde(default = "params::post")]
    method: String,
    path: String,
    json: Option<Value>,
    body: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    /// JSON pointer to the bearer token in the response; cookies alone when absent.
    bearer: Option<String>,
}

impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignIn")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("body", &"<redacted>")
            .field("bearer", &self.bearer)
            .finish()
    }
}

impl SignIn {
    /// Pushes every problem with the parameters under `key` (`owner`, `roles.member.sign_in`).
    pub(crate) fn validate(&self, key: &str, errors: &mut Vec<ParamError>) {
        params::check_method(&format!("{key}.method"), &self.method, errors);
        params::check_path(&format!("{key}.path"), &self.path, errors);
        params::check_body(&format!("{key}.body"), &self.body, &self.json, errors);
        params::check_header_names(&format!("{key}.headers"), self.headers.keys(), errors);
        if let Some(pointer) = &self.bearer
            && !pointer.starts_with('/')
        {
            errors.push(err(
                format!("{key}.bearer"),
                format!("expected a JSON pointer starting with `/`, saw {pointer:?}"),
            ));
        }
    }

    /// Whether a `bearer` pointer is given.
    pub(crate) fn has_bearer(&self) -> bool {
        self.bearer.is_some()
    }

    /// `POST /api/v1/auth/sign-in`, for locations.
    pub(crate) fn name(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// Sends the sign-in request (noted `note`), waiting out the 429s `patience` allows.
    pub(crate) async fn send(
        &self,
        note: String,
        http: &mut Client,
        patience: &mut Patience,
    ) -> Result<Response, ProbeError> {
        let mut req = Request::new(&self.method, &self.path)
            .note(note)
            .body(params::body(&self.body, &self.json));
        for (name, value) in &self.headers {
            req = req.header(name, value);
        }
        patience.send(http, &req).await
    }

    /// Signs in as `who` (a label for messages: "owner", "other user"). Sign-in is rate
    /// limited on any hardened service: a 429 is waited out (its `Retry-After`, 1s when
    /// absent, at most 5s), up to [`ATTEMPTS`] attempts in all.
    pub(crate) async fn sign_in(
        &self,
        who: &str,
        http: &mut Client,
    ) -> Result<Session, ProbeError> {
        let mut patience =
            Patience::new(MAX_RETRY_WAIT, ATTEMPTS - 1).or_wait(Duration::from_secs(1));
        let resp = self
            .send(format!("sign in as {who}"), http, &mut patience)
            .await?;
        if !resp.is_success() {
            return Err(ProbeError::Other(format!(
                "{}: could not sign in as {who}: expected a 2xx, saw {}",
                resp.location, resp.status
            )));
        }
        let cookies = resp.cookie_pairs();
        let bearer = match &self.bearer {
            None => None,
            Some(pointer) => Some(token_at(&resp, pointer).ok_or_else(|| {
                ProbeError::Other(format!(
                    "{}: signed in as {who}, but expected a string at {pointer} in the JSON response for the bearer token, saw none",
                    resp.location
                ))
            })?),
        };
        if bearer.is_none() && cookies.is_empty() {
            return Err(ProbeError::Other(format!(
                "{}: signed in as {who}, but the response set no cookie and no `bearer` pointer is given: there is no session to use",
                resp.location
            )));
        }
        Ok(Session {
            who: who.to_owned(),
            label: format!("‹{who}'s session›"),
            cookie: (!cookies.is_empty()).then(|| cookies.join("; ")),
            bearer,
        })
    }
}

/// The string at `pointer` of `resp`'s JSON body, if there is one.
pub(crate) fn token_at(resp: &Response, pointer: &str) -> Option<String> {
    serde_json::from_slice::<Value>(&resp.body)
        .ok()
        .and_then(|doc| {
            doc.pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
}

/// A signed-in session: what a request must carry to act as its user.
pub(crate) struct Session {
    /// Whose session it is ("owner").
    who: String,
    /// Shown instead of the credentials.
    label: String,
    cookie: Option<String>,
    bearer: Option<String>,
}

impl Session {
    /// `req` carrying this session (its cookies and bearer token), which no finding shows.
    pub(crate) fn apply(&self, mut req: Request) -> Request {
        if let Some(cookie) = &self.cookie {
            req = req.header("cookie", cookie).secret(cookie, &self.label);
        }
        if let Some(bearer) = &self.bearer {
            req = req
                .header("authorization", format!("Bearer {bearer}"))
                .secret(bearer, &self.label);
        }
        req
    }

    /// Whose session it is, as the sign-in named it.
    pub(crate) fn who(&self) -> &str {
        &self.who
    }

    /// The credential values, for checks that they leak nowhere (logs).
    pub(crate) fn values(&self) -> impl Iterator<Item = &str> {
        self.bearer.iter().chain(&self.cookie).map(String::as_str)
    }
}

// Credentials never reach Debug output.
impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("who", &self.who)
            .field("cookie", &self.cookie.as_ref().map(|_| "<redacted>"))
            .field("bearer", &self.bearer.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_locations_never_show_the_credentials() {
        let session = Session {
            who: "owner".to_owned(),
            label: "‹owner's session›".to_owned(),
            cookie: Some("sid=abc.def".to_owned()),
            bearer: Some("abc.def".to_owned()),
        };
        assert!(!format!("{session:?}").contains("abc"));
        let req = session.apply(Request::get("/x?t=abc.def"));
        assert_eq!(req.location(), "GET /x?t=‹owner's session›");
        assert_eq!(session.values().count(), 2);
    }
}
