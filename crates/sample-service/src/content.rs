//! Members-only content, fetched through short-lived signed download tokens.
//!
//! A token binds one content id, one user and an expiry. A download needs the token **and** the
//! session of the user it was minted for (bearer or `sid` cookie), so a leaked link is useless
//! to anyone else. The token is checked before the content id is even looked up, so a token
//! never unlocks another resource and unknown ids (path traversal attempts included) are
//! indistinguishable from a bad token.

use serde::{Deserialize, Serialize};

use crate::api_error::ApiError;
use crate::auth::Principal;
use crate::db;
use crate::flaw::Flaw;
use crate::input::Fields;
use crate::state::AppState;

/// The catalogue: id and body.
const CATALOGUE: &[(&str, &str)] = &[
    (
        "welcome-guide",
        "Welcome, member. This guide explains how to get the most out of your membership.\n",
    ),
    (
        "annual-report-2025",
        "Annual report 2025: members grew, incidents fell, every release passed its gates.\n",
    ),
];

fn find(id: &str) -> Option<&'static str> {
    CATALOGUE
        .iter()
        .find(|(known, _)| *known == id)
        .map(|(_, body)| *body)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct DownloadClaims {
    /// The content id.
    content: String,
    /// The user it was minted for.
    sub: i64,
    /// Expiry, unix milliseconds (tests use sub-second lifetimes).
    exp_ms: i64,
}

/// A minted download token.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct DownloadToken {
    pub(crate) token: String,
    pub(crate) expires_at: String,
    pub(crate) url: String,
}

/// What a mint request may ask: a shorter lifetime than the configured one (a client that
/// only needs the file now, or a probe that must see a token expire within a bounded wait).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct MintRequest {
    ttl_ms: Option<u64>,
}

impl Fields for MintRequest {
    const FIELDS: &'static [&'static str] = &["ttl_ms"];
}

/// Mints a token for `id`; only active subscribers get one. It lives the configured download
/// lifetime, or less when the request asks.
pub(crate) async fn mint(
    state: &AppState,
    principal: Principal,
    id: String,
    request: MintRequest,
) -> Result<DownloadToken, ApiError> {
    if request.ttl_ms == Some(0) {
        return Err(ApiError::unprocessable("ttl_ms must be at least 1"));
    }
    if find(&id).is_none() {
        return Err(ApiError::not_found("no such content"));
    }
    let user_id = principal.user_id;
    let subscription = state
        .db
        .run(move |conn| db::subscription(conn, user_id))
        .await?;
    if !subscription.is_active() {
        return Err(ApiError::forbidden("an active subscription is required"));
    }
    let longest = u64::try_from(state.config.download_ttl.as_millis()).unwrap_or(u64::MAX);
    let ttl_ms = request.ttl_ms.map_or(longest, |asked| asked.min(longest));
    let ttl_ms = i64::try_from(ttl_ms).unwrap_or(i64::MAX / 2);
    let now = jiff::Timestamp::now();
    let exp_ms = now.as_millisecond().saturating_add(ttl_ms);
    let token = state.download_signer.sign(&DownloadClaims {
        content: id.clone(),
        sub: user_id,
        exp_ms,
    });
    let expires_at = jiff::Timestamp::from_millisecond(exp_ms)
        .map_err(|_| ApiError::internal())?
        .to_string();
    Ok(DownloadToken {
        url: format!("/api/v1/content/{id}/download?token={token}"),
        token,
        expires_at,
    })
}

/// The body of `id` when `token` is a valid, unexpired token for exactly that id, minted for
/// `viewer`.
pub(crate) fn download(
    state: &AppState,
    viewer: &Principal,
    id: &str,
    token: Option<&str>,
) -> Result<&'static str, ApiError> {
    let token = token.ok_or_else(|| ApiError::forbidden("missing download token"))?;
    let claims: DownloadClaims = state
        .download_signer
        .verify(token)
        .ok_or_else(|| ApiError::forbidden("invalid download token"))?;
    if !state.config.has(Flaw::TokenNotBound) {
        if claims.content != id {
            return Err(ApiError::forbidden("token is for another resource"));
        }
        if claims.sub != viewer.user_id {
            return Err(ApiError::forbidden("token was minted for another user"));
        }
    }
    if !state.config.has(Flaw::TokenNeverExpires)
        && jiff::Timestamp::now().as_millisecond() >= claims.exp_ms
    {
        return Err(ApiError::forbidden("download token expired"));
    }
    find(id).ok_or_else(|| ApiError::not_found("no such content"))
}
