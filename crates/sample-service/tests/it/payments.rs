use std::time::Duration;

use phasegate_sample_service::{
    PLAN_AMOUNT_CENTS, PLAN_CURRENCY, PLAN_PERIOD, PLANS, sign_callback,
};
use serde_json::{Value, json};

use crate::support::{MEMBER, PLATFORM, Service, now};

fn event(event_id: &str, payment_id: &str, amount_cents: i64) -> Value {
    json!({
        "event_id": event_id,
        "payment_id": payment_id,
        "amount_cents": amount_cents,
        "currency": PLAN_CURRENCY,
        "status": "paid",
    })
}

async fn subscription(service: &Service, token: &str) -> Value {
    let response = service.get_as("/api/v1/subscription", token).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn checkout_is_for_members_only() {
    let service = Service::start().await;
    let response = service
        .post_as("/api/v1/checkout", "bogus", json!({}))
        .await;
    assert_eq!(response.status(), 401);
    let admin = service.token(PLATFORM).await;
    let response = service.post_as("/api/v1/checkout", &admin, json!({})).await;
    assert_eq!(response.status(), 403);

    let member = service.token(MEMBER).await;
    let response = service
        .post_as("/api/v1/checkout", &member, json!({}))
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert!(body["payment_id"].as_str().unwrap().starts_with("pay_"));
    assert_eq!(body["amount_cents"], PLAN_AMOUNT_CENTS);
    assert_eq!(body["currency"], PLAN_CURRENCY);
}

#[tokio::test]
async fn a_valid_callback_activates_once_and_replays_have_no_effect() {
    let service = Service::start().await;
    let member = service.token(MEMBER).await;
    let payment = service.checkout(&member).await;

    let body = event("evt-1", &payment, PLAN_AMOUNT_CENTS);
    let response = service.callback(&body).await;
    assert_eq!(response.status(), 200);
    let outcome: Value = response.json().await.unwrap();
    assert_eq!(outcome["duplicate"], false);
    let after_first = subscription(&service, &member).await;
    assert_eq!(after_first["status"], "active");
    assert_eq!(after_first["activations"], 1);
    assert!(after_first["activated_at"].is_string());

    // The very same delivery again, and a new event id for the already-paid payment.
    for replay in [body.clone(), event("evt-2", &payment, PLAN_AMOUNT_CENTS)] {
        let response = service.callback(&replay).await;
        assert_eq!(response.status(), 200);
        let outcome: Value = response.json().await.unwrap();
        assert_eq!(outcome["duplicate"], true);
    }
    let after_replays = subscription(&service, &member).await;
    assert_eq!(after_replays["activations"], 1);
    assert_eq!(after_replays["activated_at"], after_first["activated_at"]);
}

#[tokio::test]
async fn bad_signatures_and_stale_timestamps_are_401_without_effect() {
    let service = Service::start().await;
    let member = service.token(MEMBER).await;
    let payment = service.checkout(&member).await;
    let raw = serde_json::to_vec(&event("evt-1", &payment, PLAN_AMOUNT_CENTS)).unwrap();
    let ts = now();

    let wrong_secret = sign_callback("not-the-secret", ts, &raw);
    assert_eq!(
        service
            .callback_raw(raw.clone(), ts, &wrong_secret)
            .await
            .status(),
        401
    );

    let signed_other_body = sign_callback(&service.config.webhook_secret, ts, b"{}");
    assert_eq!(
        service
            .callback_raw(raw.clone(), ts, &signed_other_body)
            .await
            .status(),
        401
    );
    assert_eq!(
        service
            .callback_raw(raw.clone(), ts, "not-hex")
            .await
            .status(),
        401
    );

    let no_headers = service
        .client
        .post(service.url("/api/v1/payments/callback"))
        .header("content-type", "application/json")
        .body(raw.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(no_headers.status(), 401);

    // Correctly signed, but outside the 300 s tolerance on either side.
    for stale in [ts - 301, ts + 301] {
        let body = event("evt-1", &payment, PLAN_AMOUNT_CENTS);
        assert_eq!(service.callback_at(&body, stale).await.status(), 401);
    }
    assert_eq!(subscription(&service, &member).await["activations"], 0);

    // And the same event properly signed now still works: nothing was recorded.
    let body = event("evt-1", &payment, PLAN_AMOUNT_CENTS);
    assert_eq!(service.callback(&body).await.status(), 200);
    assert_eq!(subscription(&service, &member).await["activations"], 1);
}

#[tokio::test]
async fn amount_mismatch_and_unknown_payment_are_refused() {
    let service = Service::start().await;
    let member = service.token(MEMBER).await;
    let payment = service.checkout(&member).await;

    let response = service.callback(&event("evt-1", &payment, 1)).await;
    assert_eq!(response.status(), 422);
    assert_eq!(subscription(&service, &member).await["status"], "none");

    let mut dollars = event("evt-1b", &payment, PLAN_AMOUNT_CENTS);
    dollars["currency"] = json!("USD");
    let response = service.callback(&dollars).await;
    assert_eq!(response.status(), 422, "currency mismatch");
    let mut no_currency = event("evt-1c", &payment, PLAN_AMOUNT_CENTS);
    no_currency.as_object_mut().unwrap().remove("currency");
    assert_eq!(service.callback(&no_currency).await.status(), 422);

    let response = service
        .callback(&event("evt-2", "pay_unknown", PLAN_AMOUNT_CENTS))
        .await;
    assert_eq!(response.status(), 404);

    let mut extra = event("evt-3", &payment, PLAN_AMOUNT_CENTS);
    extra["user_id"] = json!(2);
    assert_eq!(
        service.callback(&extra).await.status(),
        422,
        "unknown field"
    );

    let mut refunded = event("evt-4", &payment, PLAN_AMOUNT_CENTS);
    refunded["status"] = json!("refunded");
    assert_eq!(service.callback(&refunded).await.status(), 422);
    assert_eq!(subscription(&service, &member).await["activations"], 0);
}

#[tokio::test]
async fn the_callback_is_rate_limited() {
    let service = Service::start_with(|config| {
        config.rate_limit = 3;
        config.rate_window = Duration::from_secs(30);
    })
    .await;
    for _ in 0..3 {
        let response = service.callback_raw(b"{}".to_vec(), now(), "00").await;
        assert_eq!(response.status(), 401);
    }
    let response = service.callback_raw(b"{}".to_vec(), now(), "00").await;
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));
    // A separate budget from sign-in.
    assert_eq!(
        service.sign_in_response(MEMBER, "wrong").await.status(),
        401
    );
}

fn expires_at(subscription: &Value) -> jiff::Timestamp {
    subscription["expires_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn each_payment_extends_the_subscription_by_its_plan_period_from_the_current_expiry() {
    let service = Service::start().await;
    let member = service.token(MEMBER).await;
    assert_eq!(
        subscription(&service, &member).await["expires_at"],
        Value::Null
    );
    let before = jiff::Timestamp::now();
    service.subscribe(&member).await;
    let first = expires_at(&subscription(&service, &member).await);
    let month = jiff::SignedDuration::try_from(PLAN_PERIOD).unwrap();
    assert!(first >= before + month && first <= jiff::Timestamp::now() + month);

    // A renewal paid while still active extends from the expiry, not from now.
    service.subscribe(&member).await;
    let second = subscription(&service, &member).await;
    assert_eq!(second["activations"], 2);
    assert_eq!(expires_at(&second), first + month);

    let response = service
        .post_as("/api/v1/checkout", &member, json!({ "plan": "yearly" }))
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["amount_cents"], PLANS[1].amount_cents);
    let yearly = body["payment_id"].as_str().unwrap();
    let mut paid = event("evt-yearly", yearly, PLANS[1].amount_cents);
    paid["currency"] = json!(PLAN_CURRENCY);
    assert_eq!(service.callback(&paid).await.status(), 200);
    let year = jiff::SignedDuration::try_from(PLANS[1].period).unwrap();
    assert_eq!(
        expires_at(&subscription(&service, &member).await),
        first + month + year
    );
}

#[tokio::test]
async fn checkout_takes_an_optional_strict_body() {
    let service = Service::start().await;
    let member = service.token(MEMBER).await;
    let empty = service
        .client
        .post(service.url("/api/v1/checkout"))
        .bearer_auth(&member)
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), 200, "no body: the default plan");
    for bad in [
        json!({ "plan": "lifetime" }),
        json!({ "plan": "monthly", "amount_cents": 1 }),
        json!({ "plan": 12 }),
    ] {
        let response = service
            .post_as("/api/v1/checkout", &member, bad.clone())
            .await;
        assert_eq!(response.status(), 422, "{bad}");
    }
}

#[tokio::test]
async fn an_idempotency_key_gives_one_payment_and_the_same_answer() {
    let service = Service::start().await;
    let member = service.token(MEMBER).await;
    let monthly = json!({ "plan": "monthly" });
    let first = service
        .checkout_with_key(&member, "key-1", monthly.clone())
        .await;
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.unwrap();
    let again = service
        .checkout_with_key(&member, "key-1", monthly.clone())
        .await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap(), first);

    let other = service
        .checkout_with_key(&member, "key-1", json!({ "plan": "yearly" }))
        .await;
    assert_eq!(other.status(), 422);
    let other: Value = other.json().await.unwrap();
    assert_eq!(other["error"], "idempotency_key_reused");

    // Racing requests with one key: the database's unique index lets one payment through.
    let mut racing = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let request = service
            .client
            .post(service.url("/api/v1/checkout"))
            .bearer_auth(&member)
            .header("idempotency-key", "key-2")
            .json(&monthly);
        racing.spawn(async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()
        });
    }
    let answers = racing.join_all().await;
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:?}");
    assert_ne!(answers[0]["payment_id"], first["payment_id"]);

    // Without a key, each checkout is a new payment.
    assert_ne!(
        Value::from(service.checkout(&member).await),
        first["payment_id"]
    );
    let bad_key = service.checkout_with_key(&member, "", monthly).await;
    assert_eq!(bad_key.status(), 400);
}
