//! Authentication: sign-in, session tokens, the `sid` cookie, and the [`Principal`] extractor.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, header};
use serde::{Deserialize, Serialize};

use crate::api_error::ApiError;
use crate::config::Config;
use crate::db;
use crate::flaw::Flaw;
use crate::password;
use crate::rbac::{self, Action, Role};
use crate::state::AppState;

/// What a session token says. The role is informational: authorization reads the current role
/// from the database, so a demotion takes effect at once rather than at token expiry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SessionClaims {
    /// The user id.
    pub(crate) sub: i64,
    /// The role when the token was issued.
    pub(crate) role: Role,
    /// Expiry, unix seconds.
    pub(crate) exp: i64,
}

/// A successful sign-in.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SignedIn {
    pub(crate) token: String,
    pub(crate) role: Role,
}

/// Checks `email` and `password`; wrong email and wrong password look the same to the caller.
pub(crate) async fn sign_in(
    state: &AppState,
    email: String,
    password: String,
) -> Result<SignedIn, ApiError> {
    let user = state
        .db
        .run(move |conn| {
            let user = db::user_by_email(conn, &email)?;
            let accepted = match &user {
                Some(user) => password::verify(&password, &user.password_hash),
                None => {
                    password::verify_dummy(&password);
                    false
                }
            };
            let (action, actor) = if accepted {
                ("sign_in.success", Some(email.as_str()))
            } else {
                ("sign_in.failure", None)
            };
            // The attempted email goes into the detail, never the password.
            db::audit(conn, actor, action, &format!("email={email}"))?;
            Ok(user.filter(|_| accepted))
        })
        .await?
        .ok_or_else(|| ApiError::unauthorized("wrong email or password"))?;

    let exp = jiff::Timestamp::now().as_second()
        + i64::try_from(state.config.session_ttl.as_secs()).unwrap_or(i64::MAX / 2);
    let token = state.session_signer.sign(&SessionClaims {
        sub: user.id,
        role: user.role,
        exp,
    });
    Ok(SignedIn {
        token,
        role: user.role,
    })
}

/// The `Set-Cookie` value carrying the session token.
///
/// The API itself authenticates with `Authorization: Bearer` only, so a cross-site request that
/// carries the cookie cannot act on its own: the cookie is for the browser page.
pub(crate) fn session_cookie(config: &Config, token: &str) -> HeaderValue {
    let http_only = if config.has(Flaw::CookieNotHttponly) {
        ""
    } else {
        "; HttpOnly"
    };
    let max_age = config.session_ttl.as_secs();
    HeaderValue::from_str(&format!(
        "sid={token}{http_only}; Secure; SameSite=Lax; Path=/; Max-Age={max_age}"
    ))
    .expect("a token is base64url and a dot, valid in a header")
}

/// The signed-in user of a request.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The user id.
    pub user_id: i64,
    /// The user's email.
    pub email: String,
    /// The user's current role.
    pub role: Role,
}

impl Principal {
    /// `Ok` when the principal may perform `action`, else 403.
    pub(crate) fn require(&self, config: &Config, action: Action) -> Result<(), ApiError> {
        if rbac::allows(config, self.role, action) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "role {} may not do this",
                self.role
            )))
        }
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // The flaw: as if the admin read routes were mounted outside the authentication layer,
        // their handlers trusting whoever calls with the rights of a platform admin.
        if state.config.has(Flaw::RbacAdminOpen)
            && parts.method == Method::GET
            && parts.uri.path().starts_with("/api/v1/admin/")
            && !parts.headers.contains_key(header::AUTHORIZATION)
        {
            return Ok(Principal {
                user_id: 0,
                email: "anonymous".to_owned(),
                role: Role::PlatformAdmin,
            });
        }
        let token = bearer(parts).ok_or_else(|| ApiError::unauthorized("missing bearer token"))?;
        authenticate(state, token).await
    }
}

/// The signed-in user of a read a browser makes by navigating, such as a download link: the
/// bearer token, or else the `sid` cookie. Only reads take the cookie: a cross-site page can
/// make the browser send it, so nothing that changes state may accept it (see
/// [`session_cookie`]).
#[derive(Debug, Clone)]
pub(crate) struct Viewer(pub(crate) Principal);

impl FromRequestParts<AppState> for Viewer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts)
            .or_else(|| sid_cookie(parts))
            .ok_or_else(|| ApiError::unauthorized("missing bearer token or sid cookie"))?;
        authenticate(state, token).await.map(Viewer)
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
}

fn sid_cookie(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| pair.trim().strip_prefix("sid="))
}

/// The user a session token names, when the token is ours, unexpired, and the user exists.
async fn authenticate(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    let claims: SessionClaims = state
        .session_signer
        .verify(token.trim())
        .ok_or_else(|| ApiError::unauthorized("invalid token"))?;
    if claims.exp <= jiff::Timestamp::now().as_second() {
        return Err(ApiError::unauthorized("token expired"));
    }
    let user = state
        .db
        .run(move |conn| db::user_by_id(conn, claims.sub))
        .await?
        .ok_or_else(|| ApiError::unauthorized("unknown user"))?;
    Ok(Principal {
        user_id: user.id,
        email: user.email,
        role: user.role,
    })
}
