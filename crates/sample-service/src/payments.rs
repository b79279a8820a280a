//! Payments: checkout creates a pending payment; the provider's signed callback pays it and
//! activates the subscription exactly once.

use axum::body::Bytes;
use axum::http::HeaderMap;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::api_error::ApiError;
use crate::auth::Principal;
use crate::config::Config;
use crate::db;
use crate::input::{self, Fields};
use crate::rbac::Action;
use crate::state::AppState;

type HmacSha256 = Hmac<Sha256>;

/// The price of the one plan.
pub const PLAN_AMOUNT_CENTS: i64 = 990;
/// Its currency.
pub const PLAN_CURRENCY: &str = "EUR";
/// How far a callback's `X-Timestamp` may be from now, either way, in seconds.
pub const TIMESTAMP_TOLERANCE_SECONDS: i64 = 300;
/// The header carrying the hex HMAC.
pub const SIGNATURE_HEADER: &str = "x-signature";
/// The header carrying the unix-seconds timestamp the signature covers.
pub const TIMESTAMP_HEADER: &str = "x-timestamp";

/// The value of `X-Signature` for `body` sent at `timestamp`:
/// `hex(HMAC-SHA256(secret, "{timestamp}.{body}"))`. Public so that tests and probes can play
/// the payment provider.
pub fn sign_callback(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// A created payment.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Checkout {
    pub(crate) payment_id: String,
    pub(crate) amount_cents: i64,
    pub(crate) currency: String,
}

/// Creates a pending payment for the plan.
pub(crate) async fn checkout(state: &AppState, principal: Principal) -> Result<Checkout, ApiError> {
    principal.require(&state.config, Action::Checkout)?;
    let payment = db::Payment {
        id: format!("pay_{}", uuid::Uuid::new_v4().simple()),
        user_id: principal.user_id,
        amount_cents: PLAN_AMOUNT_CENTS,
        currency: PLAN_CURRENCY.to_owned(),
        status: "pending".to_owned(),
    };
    let checkout = Checkout {
        payment_id: payment.id.clone(),
        amount_cents: payment.amount_cents,
        currency: payment.currency.clone(),
    };
    state
        .db
        .run(move |conn| db::insert_payment(conn, &payment))
        .await?;
    Ok(checkout)
}

/// The provider's event body.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct CallbackEvent {
    event_id: String,
    payment_id: String,
    amount_cents: i64,
    status: String,
}

impl Fields for CallbackEvent {
    const FIELDS: &'static [&'static str] = &["event_id", "payment_id", "amount_cents", "status"];
}

/// What a valid callback did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct CallbackOutcome {
    pub(crate) accepted: bool,
    /// True when the event (or another one for the same payment) was already applied.
    pub(crate) duplicate: bool,
}

/// Checks `X-Timestamp` freshness and `X-Signature` over the raw body.
fn verify_signature(config: &Config, headers: &HeaderMap, body: &[u8]) -> Result<(), ApiError> {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let timestamp: i64 = header(TIMESTAMP_HEADER)
        .and_then(|value| value.trim().parse().ok())
        .ok_or_else(|| ApiError::unauthorized("missing or malformed X-Timestamp"))?;
    // Freshness first: a captured request replayed later is refused even with a good signature.
    if (jiff::Timestamp::now().as_second() - timestamp).abs() > TIMESTAMP_TOLERANCE_SECONDS {
        return Err(ApiError::unauthorized("stale timestamp"));
    }
    let signature = header(SIGNATURE_HEADER)
        .and_then(|value| hex::decode(value.trim()).ok())
        .ok_or_else(|| ApiError::unauthorized("missing or malformed X-Signature"))?;
    let mut mac =
        HmacSha256::new_from_slice(config.webhook_secret.as_bytes()).expect("HMAC accepts any key");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    // verify_slice compares in constant time.
    mac.verify_slice(&signature)
        .map_err(|_| ApiError::unauthorized("bad signature"))
}

/// Verifies, parses and applies a provider callback.
pub(crate) async fn callback(
    state: &AppState,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<CallbackOutcome, ApiError> {
    verify_signature(&state.config, headers, &body)?;
    let event: CallbackEvent = input::parse_strict(&state.config, &body)?;
    if event.status != "paid" {
        return Err(ApiError::unprocessable(format!(
            "unsupported status `{}`",
            event.status
        )));
    }
    state
        .db
        .run(move |conn| {
            let tx = conn.transaction()?;
            let Some(payment) = db::payment(&tx, &event.payment_id)? else {
                return Ok(Err(ApiError::not_found("unknown payment")));
            };
            // Checked before the event is recorded, so a corrected event can still be applied.
            if payment.amount_cents != event.amount_cents {
                return Ok(Err(ApiError::unprocessable(format!(
                    "amount mismatch: payment is {} cents, event says {}",
                    payment.amount_cents, event.amount_cents
                ))));
            }
            let event_is_new = db::record_event(&tx, &event.event_id, &payment.id)?;
            let payment_was_pending = event_is_new && db::mark_paid(&tx, &payment.id)?;
            if !payment_was_pending {
                tx.commit()?;
                return Ok(Ok(CallbackOutcome {
                    accepted: true,
                    duplicate: true,
                }));
            }
            db::activate_subscription(&tx, payment.user_id)?;
            db::audit(
                &tx,
                None,
                "payment.activated",
                &format!("payment={} event={}", payment.id, event.event_id),
            )?;
            tx.commit()?;
            Ok(Ok(CallbackOutcome {
                accepted: true,
                duplicate: false,
            }))
        })
        .await?
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn signed(config: &Config, timestamp: i64, body: &[u8]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(TIMESTAMP_HEADER, HeaderValue::from(timestamp));
        let signature = sign_callback(&config.webhook_secret, timestamp, body);
        headers.insert(SIGNATURE_HEADER, HeaderValue::from_str(&signature).unwrap());
        headers
    }

    #[test]
    fn signature_freshness_and_integrity() {
        let config = Config::new("x.db");
        let now = jiff::Timestamp::now().as_second();
        let body = br#"{"event_id":"e"}"#;
        assert!(verify_signature(&config, &signed(&config, now, body), body).is_ok());
        assert!(verify_signature(&config, &signed(&config, now, body), b"{}").is_err());
        let stale = now - TIMESTAMP_TOLERANCE_SECONDS - 1;
        assert!(verify_signature(&config, &signed(&config, stale, body), body).is_err());
        assert!(verify_signature(&config, &HeaderMap::new(), body).is_err());
    }
}
