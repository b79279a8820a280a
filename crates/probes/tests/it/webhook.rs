//! `webhook` against the sample service, clean and with each payments flaw, and against
//! hand-written callbacks for the edges.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use phasegate_model::Verdict;
use phasegate_probes::{ChildEnv, Context, Outcome};
use phasegate_sample_service::{Config, Flaw};
use serde_json::{Value, json};

use crate::support::*;

const SECRET_ENV: &str = "PHASEGATE_TEST_WEBHOOK_SECRET";

/// The gate of the demo roadmap: the sample service's own scheme written as a table.
fn params() -> Value {
    json!({
        "path": "/api/v1/payments/callback",
        "secret": { "env": SECRET_ENV },
        "scheme": {
            "signature_header": "X-Signature",
            "timestamp_header": "X-Timestamp",
            "payload": "{timestamp}.{body}",
            "encoding": "hex",
            "tolerance": "5m",
        },
        "setup": [{
            "method": "POST", "path": "/api/v1/auth/sign-in",
            "json": { "email": "member@example.com", "password": "correct-horse" },
            "capture": { "token": "/token" },
        }],
        "payment": [{
            "method": "POST", "path": "/api/v1/checkout",
            "headers": { "Authorization": "Bearer {{token}}" },
            "json": { "plan": "monthly" },
            "capture": { "payment_id": "/payment_id", "amount": "/amount_cents", "currency": "/currency" },
        }],
        "event": {
            "event_id": "{{event_id}}", "payment_id": "{{payment_id}}",
            "amount_cents": "{{amount}}", "currency": "{{currency}}", "status": "paid",
        },
        "effect": { "path": "/api/v1/subscription", "headers": { "Authorization": "Bearer {{token}}" } },
        "mismatches": [{ "/amount_cents": 1 }, { "/currency": "USD" }],
    })
}

fn ctx_with_secret(url: &url::Url, secret: &str) -> Context {
    Context {
        env: ChildEnv {
            set: BTreeMap::from([(SECRET_ENV.to_owned(), secret.to_owned())]),
            withheld: Default::default(),
        },
        ..ctx(url)
    }
}

fn secret() -> String {
    format!("whk-test-{}", uuid::Uuid::new_v4().simple())
}

/// Runs the probe against a sample service with `flaws`, signing with the service's secret.
async fn against(flaws: &[Flaw], adjust: impl FnOnce(&mut Config)) -> (Outcome, String) {
    let secret = secret();
    let (url, _dir) = sample_service(|c| {
        c.rate_limit = 1000;
        c.webhook_secret = secret.clone();
        c.flaws.extend(flaws);
        adjust(c);
    })
    .await;
    let o = run_webhook(&ctx_with_secret(&url, &secret)).await;
    (o, secret)
}

/// The probe with the default parameters, in `ctx` (its URL, with or without a secret).
async fn run_webhook(ctx: &phasegate_probes::Context) -> Outcome {
    phasegate_probes::run("webhook", &params_of(params()), ctx).await
}

/// [`against`] the clean sample service, its callbacks limited to `limit` per `window`.
async fn against_limit(limit: u32, window: Duration) -> Outcome {
    against(&[], |c| {
        c.rate_limit = limit;
        c.rate_window = window;
    })
    .await
    .0
}

fn params_of(v: Value) -> phasegate_probes::Params {
    crate::support::params(v)
}

fn message<'a>(o: &'a Outcome, code: &str) -> &'a str {
    &o.findings
        .iter()
        .find(|f| f.code == code)
        .unwrap_or_else(|| panic!("no {code} in {o:#?}"))
        .message
}

#[tokio::test]
async fn the_clean_sample_service_passes_and_the_secret_never_shows() {
    let (o, secret) = against(&[], |_| {}).await;
    assert_pass(&o);
    assert!(o.findings.is_empty(), "{o:#?}");
    assert_eq!(o.measurements["stale_tested"], 1.0);
    assert_eq!(o.measurements["mismatches_tested"], 2.0);
    assert_eq!(o.measurements["concurrent_tested"], 1.0);
    assert!(!format!("{o:?}").contains(&secret));
}

/// Each flaw gives exactly its findings: an accepted forgery spends its payment, and the
/// next check starts on a new one, so the genuine event is still judged on its own.
/// A flaw, the finding codes it owes, and (code, words) pairs: some finding of that code says
/// those words.
type FlawRow = (
    Flaw,
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
);

#[tokio::test]
async fn each_payments_flaw_fails_with_exactly_its_findings() {
    // Each flaw: the findings it owes, and what some finding of a code must say. One run a
    // flaw: the probe takes seconds against the sample service.
    let rows: [FlawRow; 4] = [
        (
            Flaw::WebhookNoSignature,
            &["webhook-unsigned-accepted"],
            &[
                (
                    "webhook-unsigned-accepted",
                    "an event without a signature (evt_phasegate_",
                ),
                // An accepted forgery names the change it made.
                (
                    "webhook-unsigned-accepted",
                    "was accepted with 200 and changed GET /api/v1/subscription: activated_at went from null to 20",
                ),
                (
                    "webhook-unsigned-accepted",
                    "activations from 0 to 1, expires_at from null to 20",
                ),
            ],
        ),
        (
            Flaw::WebhookStaleOk,
            &["webhook-stale-accepted"],
            &[("webhook-stale-accepted", "an event with a stale timestamp")],
        ),
        (
            Flaw::AmountMismatchOk,
            &["webhook-mismatch-accepted"],
            // Both mismatches are caught, each on its own payment.
            &[
                (
                    "webhook-mismatch-accepted",
                    "not matching the payment (amount_cents = 1)",
                ),
                ("webhook-mismatch-accepted", "(currency = \"USD\")"),
                ("webhook-mismatch-accepted", "activations went from 1 to 2"),
            ],
        ),
        (
            Flaw::WebhookReplay,
            &["webhook-concurrent-effect", "webhook-replay-effect"],
            &[
                (
                    "webhook-replay-effect",
                    "had a second effect on GET /api/v1/subscription: activations went from 1 to 2, expires_at from 20",
                ),
                // The replay flaw also fails the concurrent copies.
                (
                    "webhook-concurrent-effect",
                    "activations moved by +2 where one action moves it by +1",
                ),
                (
                    "webhook-concurrent-effect",
                    "expires_at moved by +60d where one action moves it by +30d",
                ),
            ],
        ),
    ];
    for (flaw, expected, says) in rows {
        let (o, secret) = against(&[flaw], |_| {}).await;
        assert!(row_holds(&o, expected), "{flaw}: {o:#?}");
        for (code, words) in says {
            assert!(
                o.findings
                    .iter()
                    .any(|f| f.code == *code && f.message.contains(words)),
                "{flaw}: no {code} saying {words:?} in {o:#?}"
            );
        }
        assert!(!format!("{o:?}").contains(&secret), "{flaw}");
        if flaw == Flaw::AmountMismatchOk {
            assert_eq!(o.findings.len(), 2, "one a mismatch: {o:#?}");
        }
    }
}

#[tokio::test]
async fn the_default_rate_limit_is_waited_out_not_taken_for_a_refusal() {
    // 5 callbacks per 2s, as the demo's service runs: the probe sends 10.
    let o = against_limit(5, Duration::from_secs(2)).await;
    assert_pass(&o);
    assert!(o.measurements["rate_limit_waits"] >= 1.0, "{o:#?}");
}

#[tokio::test]
async fn a_rate_limit_longer_than_max_wait_is_an_error_not_a_pass() {
    let o = against_limit(3, Duration::from_secs(30)).await;
    assert_eq!(o.verdict, Verdict::Error, "{o:#?}");
    let reason = o.reason.as_deref().unwrap();
    assert!(reason.contains("rate limited (429"), "{reason}");
    assert!(reason.contains("could not be tested"), "{reason}");
}

#[tokio::test]
async fn a_wrong_secret_is_a_refused_valid_event_and_a_missing_one_an_error() {
    let (url, _dir) = sample_service(|c| c.rate_limit = 1000).await;
    let o = run_webhook(&ctx_with_secret(&url, "not-the-service-secret")).await;
    assert_fails_with(&o, "webhook-valid-refused");
    assert!(!format!("{o:?}").contains("not-the-service-secret"));

    let o = run_webhook(&ctx(&url)).await;
    assert_eq!(o.verdict, Verdict::Error);
    assert!(o.reason.unwrap().contains(SECRET_ENV));
}

/// A callback that accepts everything and changes nothing: every forgery is accepted, and
/// the valid event cannot be shown to have had its effect; never a pass.
#[tokio::test]
async fn a_callback_that_accepts_everything_without_effect_fails() {
    let url = serve(fake(StatusCode::OK)).await;
    let o = run_webhook(&ctx_with_secret(&url, "s")).await;
    assert_fails_with(&o, "webhook-unsigned-accepted");
    assert!(!format!("{o:?}").contains(FAKE_TOKEN));
    assert!(
        message(&o, "webhook-unsigned-accepted")
            .contains("(no change seen in GET /api/v1/subscription)")
    );
    assert_fails_with(&o, "webhook-no-effect");
    assert_eq!(o.measurements["concurrent_tested"], 0.0);
    assert!(
        !o.findings.iter().any(|f| f.code == "webhook-replay-effect"),
        "what could not be tested is not judged: {o:#?}"
    );
}

/// A callback that refuses everything refuses the forgeries too, but is no pass.
#[tokio::test]
async fn a_callback_that_refuses_everything_fails() {
    let url = serve(fake(StatusCode::UNAUTHORIZED)).await;
    let o = run_webhook(&ctx_with_secret(&url, "s")).await;
    assert_fails_with(&o, "webhook-valid-refused");
    assert!(!format!("{o:?}").contains(FAKE_TOKEN));
    let codes = codes(&o);
    assert_eq!(codes, ["webhook-valid-refused"], "{o:#?}");
}

/// The bearer token the fake sign-in hands out; it must never show in an outcome.
const FAKE_TOKEN: &str = "tok-9f8e7d6c5b4a";

/// A service whose sign-in gives everyone [`FAKE_TOKEN`]: the start of every fake here.
fn signing_in() -> Router {
    Router::new().route(
        "/api/v1/auth/sign-in",
        post(|| async { axum::Json(json!({ "token": FAKE_TOKEN })) }),
    )
}

/// Sign-in, checkout and a constant subscription; the callback answers `status`.
fn fake(status: StatusCode) -> Router {
    signing_in()
        .route(
            "/api/v1/checkout",
            post(|| async {
                axum::Json(json!({ "payment_id": "pay_1", "amount_cents": 990, "currency": "EUR" }))
            }),
        )
        .route(
            "/api/v1/subscription",
            get(|| async { axum::Json(json!({ "status": "none" })) }),
        )
        .route(
            "/api/v1/payments/callback",
            post(move || async move { status }),
        )
}

#[test]
fn parameters_are_checked_together() {
    let mut p = params();
    p["scheme"] = json!("no-such-provider");
    let errors = phasegate_probes::validate("webhook", &params_of(p)).unwrap_err();
    assert!(
        errors[0].to_string().contains("stripe, standard-webhooks"),
        "{errors:?}"
    );

    let mut p = params();
    p["secret"] = json!({ "env": "NOT A NAME" });
    p["payment"] = json!([]);
    p["event"] = json!({ "id": "{{nope}}", "amount_cents": 1 });
    p["mismatches"] = json!([{ "/currency": "USD" }, {}]);
    p["max_wait"] = json!("5m");
    let errors = phasegate_probes::validate("webhook", &params_of(p)).unwrap_err();
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let text = text.join("\n");
    for part in [
        "`secret.env`: expected the name of an environment variable",
        "`payment`: expected at least one request",
        "`{{nope}}` is not captured",
        "expected `{{event_id}}` in the event",
        "the event has no value at \"/currency\"",
        "`mismatches[1]`: expected at least one",
        "`max_wait`: expected at most 1m",
    ] {
        assert!(text.contains(part), "{part} in {text}");
    }
    for preset in [
        "stripe",
        "standard-webhooks",
        "svix",
        "paddle",
        "shopify",
        "razorpay",
        "lemon-squeezy",
        "github",
    ] {
        let mut p = params();
        p["scheme"] = json!(preset);
        assert!(
            phasegate_probes::validate("webhook", &params_of(p)).is_ok(),
            "{preset}"
        );
    }
}

/// A receiver written apart from the probe, as a provider's documentation says to verify:
/// `verify` checks the headers against the raw body with the secret; events are applied once
/// per payment, and must match its amount and currency.
fn receiver(verify: fn(&axum::http::HeaderMap, &[u8]) -> bool) -> Router {
    #[derive(Default)]
    struct State {
        next: u32,
        paid: std::collections::HashSet<String>,
        activations: u32,
    }
    let state = std::sync::Arc::new(std::sync::Mutex::new(State::default()));
    let (checkout_state, callback_state, effect_state) =
        (state.clone(), state.clone(), state.clone());
    signing_in()
        .route(
            "/api/v1/checkout",
            post(move || async move {
                let mut s = checkout_state.lock().unwrap();
                s.next += 1;
                let id = format!("pay_{}", s.next);
                axum::Json(json!({ "payment_id": id, "amount_cents": 990, "currency": "EUR" }))
            }),
        )
        .route(
            "/api/v1/subscription",
            get(move || async move {
                let s = effect_state.lock().unwrap();
                axum::Json(json!({ "activations": s.activations }))
            }),
        )
        .route(
            "/api/v1/payments/callback",
            post(
                move |headers: axum::http::HeaderMap, body: axum::body::Bytes| async move {
                    if !verify(&headers, &body) {
                        return StatusCode::UNAUTHORIZED;
                    }
                    let event: Value = serde_json::from_slice(&body).unwrap();
                    if event["amount_cents"] != 990 || event["currency"] != "EUR" {
                        return StatusCode::UNPROCESSABLE_ENTITY;
                    }
                    let mut s = callback_state.lock().unwrap();
                    if s.paid
                        .insert(event["payment_id"].as_str().unwrap().to_owned())
                    {
                        s.activations += 1;
                    }
                    StatusCode::OK
                },
            ),
        )
}

const RECEIVER_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

fn header<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Whether unix time `ts` is within five minutes of now.
fn fresh(ts: &str) -> bool {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    ts.parse::<i64>().is_ok_and(|t| (now - t).abs() <= 300)
}

/// docs.stripe.com/webhooks, "Verify signatures manually".
fn stripe_verify(headers: &axum::http::HeaderMap, body: &[u8]) -> bool {
    let Some(value) = header(headers, "stripe-signature") else {
        return false;
    };
    let field = |k: &str| {
        value
            .split(',')
            .find_map(|kv| kv.strip_prefix(k)?.strip_prefix('='))
    };
    let (Some(t), Some(v1)) = (field("t"), field("v1")) else {
        return false;
    };
    let expected = hmac_sha256(RECEIVER_SECRET.as_bytes(), &[t.as_bytes(), b".", body]);
    fresh(t) && hex::decode(v1).is_ok_and(|sig| sig == expected)
}

/// The Standard Webhooks specification: the key is the base64 after `whsec_`.
fn standard_verify(headers: &axum::http::HeaderMap, body: &[u8]) -> bool {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64.decode(&RECEIVER_SECRET["whsec_".len()..]).unwrap();
    let (Some(id), Some(ts), Some(sig)) = (
        header(headers, "webhook-id"),
        header(headers, "webhook-timestamp"),
        header(headers, "webhook-signature"),
    ) else {
        return false;
    };
    let expected = b64.encode(hmac_sha256(
        &key,
        &[id.as_bytes(), b".", ts.as_bytes(), b".", body],
    ));
    fresh(ts)
        && sig
            .split(' ')
            .any(|s| s.strip_prefix("v1,") == Some(expected.as_str()))
}

/// Shopify: base64 of the HMAC of the raw body, no timestamp.
fn shopify_verify(headers: &axum::http::HeaderMap, body: &[u8]) -> bool {
    use base64::Engine;
    let expected = base64::engine::general_purpose::STANDARD
        .encode(hmac_sha256(RECEIVER_SECRET.as_bytes(), &[body]));
    header(headers, "x-shopify-hmac-sha256") == Some(expected.as_str())
}

/// Presets against receivers written from the providers' documentation: each passes, and a
/// scheme without a timestamp says staleness was not tested.
#[tokio::test]
async fn presets_pass_against_receivers_verifying_as_the_providers_document() {
    for (preset, verify, stale) in [
        ("stripe", stripe_verify as fn(&_, &_) -> bool, 1.0),
        ("standard-webhooks", standard_verify, 1.0),
        ("shopify", shopify_verify, 0.0),
    ] {
        let url = serve(receiver(verify)).await;
        let mut p = params();
        p["scheme"] = json!(preset);
        p["mismatches"] = json!([{ "/amount_cents": 1 }, { "/currency": "USD" }]);
        let o = phasegate_probes::run(
            "webhook",
            &params_of(p),
            &ctx_with_secret(&url, RECEIVER_SECRET),
        )
        .await;
        assert_pass(&o);
        assert!(o.findings.is_empty(), "{preset}: {o:#?}");
        assert_eq!(o.measurements["stale_tested"], stale, "{preset}");
        assert!(!format!("{o:?}").contains(RECEIVER_SECRET), "{preset}");
    }
}
