//! Payments: checkout creates a pending payment (once per `Idempotency-Key`); the provider's
//! signed callback pays it and activates (or extends) the subscription exactly once.

use axum::body::Bytes;
use axum::http::HeaderMap;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::api_error::ApiError;
use crate::auth::Principal;
use crate::config::Config;
use crate::db;
use crate::flaw::Flaw;
use crate::input::{self, Fields};
use crate::rbac::Action;
use crate::state::AppState;

type HmacSha256 = Hmac<Sha256>;

/// The price of the default (monthly) plan.
pub const PLAN_AMOUNT_CENTS: i64 = 990;
/// The currency of every plan.
pub const PLAN_CURRENCY: &str = "EUR";
/// How long one paid period of the monthly plan lasts.
pub const PLAN_PERIOD: std::time::Duration = std::time::Duration::from_secs(30 * 86_400);

/// A plan a member can check out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Its name in the checkout body (`{"plan": "monthly"}`).
    pub name: &'static str,
    pub amount_cents: i64,
    /// What one payment adds to the subscription.
    pub period: std::time::Duration,
}

/// The plans; the first is the default when checkout names none.
pub const PLANS: [Plan; 2] = [
    Plan {
        name: "monthly",
        amount_cents: PLAN_AMOUNT_CENTS,
        period: PLAN_PERIOD,
    },
    Plan {
        name: "yearly",
        amount_cents: 9_900,
        period: std::time::Duration::from_secs(365 * 86_400),
    },
];

/// The header a client repeats a checkout under (the IETF `Idempotency-Key` draft).
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// The longest `Idempotency-Key` accepted; a UUID needs 36.
const MAX_IDEMPOTENCY_KEY: usize = 255;
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

impl From<&db::Payment> for Checkout {
    fn from(payment: &db::Payment) -> Self {
        Checkout {
            payment_id: payment.id.clone(),
            amount_cents: payment.amount_cents,
            currency: payment.currency.clone(),
        }
    }
}

/// The optional checkout body.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct CheckoutRequest {
    plan: Option<String>,
}

impl Fields for CheckoutRequest {
    const FIELDS: &'static [&'static str] = &["plan"];
}

/// Reads the optional checkout body: none means the default plan.
pub(crate) fn checkout_request(config: &Config, body: &[u8]) -> Result<CheckoutRequest, ApiError> {
    if body.is_empty() {
        return Ok(CheckoutRequest::default());
    }
    input::parse_strict(config, body)
}

/// Reads `Idempotency-Key`: absent, or 1 to 255 visible ASCII characters.
pub(crate) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_HEADER) else {
        return Ok(None);
    };
    let key = value.to_str().unwrap_or_default().trim();
    let visible = key.bytes().all(|b| b.is_ascii_graphic());
    if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY || !visible {
        return Err(ApiError::bad_request(format!(
            "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters"
        )));
    }
    Ok(Some(key.to_owned()))
}

/// Creates a pending payment for the requested plan. With an idempotency key, the first
/// request creates it and a repeat of the same request answers the same payment; the same
/// key with another plan is refused (422), since answering the first payment would tell the
/// client it bought what it did not ask for.
pub(crate) async fn checkout(
    state: &AppState,
    principal: Principal,
    request: CheckoutRequest,
    key: Option<String>,
) -> Result<Checkout, ApiError> {
    principal.require(&state.config, Action::Checkout)?;
    let name = request.plan.as_deref().unwrap_or(PLANS[0].name);
    let plan = PLANS
        .iter()
        .find(|plan| plan.name == name)
        .ok_or_else(|| ApiError::unprocessable(format!("unknown plan `{name}`")))?;
    let key = key.filter(|_| !state.config.has(Flaw::IdempotencyIgnored));
    let payment = db::Payment {
        id: format!("pay_{}", uuid::Uuid::new_v4().simple()),
        user_id: principal.user_id,
        plan: plan.name.to_owned(),
        amount_cents: plan.amount_cents,
        currency: PLAN_CURRENCY.to_owned(),
        status: "pending".to_owned(),
    };
    state
        .db
        .run(move |conn| {
            // Insert first and look up on conflict: the unique index decides between two
            // concurrent requests, never a read made before either committed.
            if db::insert_payment(conn, &payment, key.as_deref())? {
                return Ok(Ok(Checkout::from(&payment)));
            }
            let key = key.expect("only a keyed insert can conflict");
            let first = db::payment_by_key(conn, payment.user_id, &key)?
                .expect("the conflicting payment exists: payments are never deleted");
            if first.plan != payment.plan {
                return Ok(Err(ApiError::new(
                    axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                    "idempotency_key_reused",
                    "this Idempotency-Key was used for a different checkout request",
                )));
            }
            Ok(Ok(Checkout::from(&first)))
        })
        .await?
}

/// The provider's event body.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct CallbackEvent {
    event_id: String,
    payment_id: String,
    amount_cents: i64,
    currency: String,
    status: String,
}

impl Fields for CallbackEvent {
    const FIELDS: &'static [&'static str] = &[
        "event_id",
        "payment_id",
        "amount_cents",
        "currency",
        "status",
    ];
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
    if config.has(Flaw::WebhookNoSignature) && header(SIGNATURE_HEADER).is_none() {
        return Ok(());
    }
    let timestamp: i64 = header(TIMESTAMP_HEADER)
        .and_then(|value| value.trim().parse().ok())
        .ok_or_else(|| ApiError::unauthorized("missing or malformed X-Timestamp"))?;
    // Freshness first: a captured request replayed later is refused even with a good signature.
    let stale =
        (jiff::Timestamp::now().as_second() - timestamp).abs() > TIMESTAMP_TOLERANCE_SECONDS;
    if stale && !config.has(Flaw::WebhookStaleOk) {
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
    let config = std::sync::Arc::clone(&state.config);
    state
        .db
        .run(move |conn| {
            let tx = conn.transaction()?;
            let Some(payment) = db::payment(&tx, &event.payment_id)? else {
                return Ok(Err(ApiError::not_found("unknown payment")));
            };
            // Checked before the event is recorded, so a corrected event can still be applied.
            let matches =
                payment.amount_cents == event.amount_cents && payment.currency == event.currency;
            if !matches && !config.has(Flaw::AmountMismatchOk) {
                return Ok(Err(ApiError::unprocessable(format!(
                    "amount mismatch: payment is {} {}, event says {} {}",
                    payment.amount_cents, payment.currency, event.amount_cents, event.currency
                ))));
            }
            let event_is_new = db::record_event(&tx, &event.event_id, &payment.id)?;
            let payment_was_pending = event_is_new && db::mark_paid(&tx, &payment.id)?;
            if !payment_was_pending && !config.has(Flaw::WebhookReplay) {
                tx.commit()?;
                return Ok(Ok(CallbackOutcome {
                    accepted: true,
                    duplicate: true,
                }));
            }
            let period = PLANS
                .iter()
                .find(|plan| plan.name == payment.plan)
                .map_or(PLAN_PERIOD, |plan| plan.period);
            let expires_at = db::activate_subscription(&tx, payment.user_id, period)?;
            db::audit(
                &tx,
                None,
                "payment.activated",
                &format!(
                    "payment={} event={} expires_at={expires_at}",
                    payment.id, event.event_id
                ),
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
