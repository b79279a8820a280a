//! Each flaw switches exactly its hardening off; the clean behaviour is asserted in the other
//! modules, here the difference.

use phasegate_sample_service::{CSP, Flaw, HSTS, SEED_PASSWORD};

use crate::content::{download_status, minted};
use crate::support::{AUDITOR, MEMBER, Service, header, now};

#[tokio::test]
async fn no_hsts_drops_only_hsts() {
    let service = Service::with_flaw(Flaw::NoHsts).await;
    let response = service.get("/health/live").await;
    assert!(header(&response, "strict-transport-security").is_none());
    assert_eq!(header(&response, "content-security-policy"), Some(CSP));

    let clean = Service::start().await;
    let response = clean.get("/health/live").await;
    assert_eq!(header(&response, "strict-transport-security"), Some(HSTS));
}

#[tokio::test]
async fn csp_unsafe_inline_allows_inline_scripts() {
    let service = Service::with_flaw(Flaw::CspUnsafeInline).await;
    let response = service.get("/").await;
    let csp = header(&response, "content-security-policy").unwrap();
    assert!(csp.contains("script-src 'self' 'unsafe-inline'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(header(&response, "strict-transport-security"), Some(HSTS));
}

#[tokio::test]
async fn x_powered_by_advertises_the_framework() {
    let service = Service::with_flaw(Flaw::XPoweredBy).await;
    for path in ["/health/live", "/nope"] {
        let response = service.get(path).await;
        assert_eq!(header(&response, "x-powered-by"), Some("Express/4.17.1"));
        assert_eq!(header(&response, "server"), Some("membership"));
    }
}

#[tokio::test]
async fn cookie_not_httponly_drops_only_httponly() {
    let service = Service::with_flaw(Flaw::CookieNotHttponly).await;
    let response = service.sign_in_response(MEMBER, SEED_PASSWORD).await;
    assert_eq!(response.status(), 200);
    let cookie = header(&response, "set-cookie").unwrap();
    assert!(!cookie.contains("HttpOnly"), "{cookie}");
    assert!(
        cookie.contains("; Secure") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
}

#[tokio::test]
async fn cors_any_origin_reflects_any_origin_with_credentials() {
    let service = Service::with_flaw(Flaw::CorsAnyOrigin).await;
    for origin in [
        "https://evil.test",
        "null",
        "https://app.example.com.evil.test",
    ] {
        let response = service
            .client
            .get(service.url("/health/live"))
            .header("origin", origin)
            .send()
            .await
            .unwrap();
        assert_eq!(
            header(&response, "access-control-allow-origin"),
            Some(origin)
        );
        assert_eq!(
            header(&response, "access-control-allow-credentials"),
            Some("true")
        );
        assert!(header(&response, "vary").is_none(), "Vary dropped too");
    }
    let preflight = service
        .client
        .request(reqwest::Method::OPTIONS, service.url("/api/v1/admin/users"))
        .header("origin", "https://evil.test")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert_eq!(
        header(&preflight, "access-control-allow-origin"),
        Some("https://evil.test")
    );
}

#[tokio::test]
async fn no_request_id_neither_echoes_nor_generates() {
    let service = Service::with_flaw(Flaw::NoRequestId).await;
    let response = service
        .client
        .get(service.url("/health/live"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert!(header(&response, "x-request-id").is_none());
    let response = service.get("/health/live").await;
    assert!(header(&response, "x-request-id").is_none());
}

#[tokio::test]
async fn ready_ignores_db_stays_ready_without_a_database() {
    let service = Service::with_flaw(Flaw::ReadyIgnoresDb).await;
    let away = service.db.with_extension("db.away");
    std::fs::rename(&service.db, &away).unwrap();
    let response = service.get("/health/ready").await;
    assert_eq!(
        response.status(),
        200,
        "the flaw: ready although the db is gone"
    );
    std::fs::rename(&away, &service.db).unwrap();
}

#[tokio::test]
async fn metrics_missing_answers_404() {
    let service = Service::with_flaw(Flaw::MetricsMissing).await;
    let response = service.get("/metrics").await;
    assert_eq!(response.status(), 404);
    let text = response.text().await.unwrap();
    assert!(!text.contains("http_requests_total"));
}

#[tokio::test]
async fn no_rate_limit_never_answers_429() {
    let service = Service::start_with(|config| {
        config.rate_limit = 2;
        config.flaws.insert(Flaw::NoRateLimit);
    })
    .await;
    for attempt in 0..12 {
        let response = service.sign_in_response(MEMBER, "wrong").await;
        assert_eq!(response.status(), 401, "attempt {attempt}");
    }
    for attempt in 0..6 {
        let response = service.callback_raw(b"{}".to_vec(), 0, "00").await;
        assert_eq!(response.status(), 401, "callback attempt {attempt}");
    }
}

#[tokio::test]
async fn flaws_combine() {
    let service = Service::start_with(|config| {
        config.flaws.insert(Flaw::NoHsts);
        config.flaws.insert(Flaw::XPoweredBy);
    })
    .await;
    let response = service.get("/health/live").await;
    assert!(header(&response, "strict-transport-security").is_none());
    assert_eq!(header(&response, "x-powered-by"), Some("Express/4.17.1"));
    assert!(header(&response, "x-request-id").is_some());
}

// access: the flaws the `rbac` and `strict-input` probes catch

#[tokio::test]
async fn rbac_auditor_can_write_lets_the_auditor_change_roles() {
    let service = Service::with_flaw(Flaw::RbacAuditorCanWrite).await;
    let auditor = service.token(AUDITOR).await;
    let body = serde_json::json!({ "role": "support_admin" });
    let response = service
        .post_as("/api/v1/admin/users/3/role", &auditor, body)
        .await;
    assert_eq!(response.status(), 200);
    let response = service.get_as("/api/v1/ops/summary", &auditor).await;
    assert_eq!(response.status(), 403, "only the write is opened");
}

#[tokio::test]
async fn rbac_admin_open_answers_admin_reads_without_a_token() {
    let service = Service::with_flaw(Flaw::RbacAdminOpen).await;
    for path in ["/api/v1/admin/users", "/api/v1/admin/audit-log"] {
        assert_eq!(service.get(path).await.status(), 200, "{path}");
    }
    assert_eq!(service.get("/api/v1/ops/summary").await.status(), 401);
    let member = service.token(MEMBER).await;
    let response = service.get_as("/api/v1/admin/users", &member).await;
    assert_eq!(response.status(), 403, "a token is still judged");
}

#[tokio::test]
async fn rbac_flaky_deny_lets_some_denied_requests_through() {
    let service = Service::with_flaw(Flaw::RbacFlakyDeny).await;
    let member = service.token(MEMBER).await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let response = service.get_as("/api/v1/ops/summary", &member).await;
        statuses.push(response.status().as_u16());
    }
    assert!(statuses.contains(&200), "{statuses:?}");
    assert!(statuses.contains(&403), "{statuses:?}");
    let anonymous = service.get("/api/v1/ops/summary").await;
    assert_eq!(anonymous.status(), 401, "no token is no role to race on");
}

#[tokio::test]
async fn dto_accepts_unknown_ignores_unknown_fields_only() {
    let body = serde_json::json!({ "email": MEMBER, "password": SEED_PASSWORD, "admin": true });
    let clean = Service::start().await;
    let response = clean
        .post_as("/api/v1/auth/sign-in", "x", body.clone())
        .await;
    assert_eq!(response.status(), 422);

    let service = Service::with_flaw(Flaw::DtoAcceptsUnknown).await;
    let response = service.post_as("/api/v1/auth/sign-in", "x", body).await;
    assert_eq!(response.status(), 200);
    let response = service
        .post_as(
            "/api/v1/auth/sign-in",
            "x",
            serde_json::json!({ "email": 1 }),
        )
        .await;
    assert_eq!(
        response.status(),
        422,
        "types and required fields still checked"
    );
}

// payments: the flaws the `webhook` and `idempotency` probes catch

fn paid(event_id: &str, payment_id: &str) -> serde_json::Value {
    serde_json::json!({
        "event_id": event_id,
        "payment_id": payment_id,
        "amount_cents": phasegate_sample_service::PLAN_AMOUNT_CENTS,
        "currency": phasegate_sample_service::PLAN_CURRENCY,
        "status": "paid",
    })
}

async fn activations(service: &Service, token: &str) -> i64 {
    let response = service.get_as("/api/v1/subscription", token).await;
    let body: serde_json::Value = response.json().await.unwrap();
    body["activations"].as_i64().unwrap()
}

#[tokio::test]
async fn webhook_no_signature_accepts_an_unsigned_callback_but_not_a_bad_one() {
    let service = Service::with_flaw(Flaw::WebhookNoSignature).await;
    let member = service.token(MEMBER).await;
    let payment = service.checkout(&member).await;
    let raw = serde_json::to_vec(&paid("evt-1", &payment)).unwrap();
    let bad = service.callback_raw(raw.clone(), now(), "00").await;
    assert_eq!(bad.status(), 401, "a present signature is still verified");
    let unsigned = service
        .client
        .post(service.url("/api/v1/payments/callback"))
        .header("content-type", "application/json")
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 200);
    assert_eq!(activations(&service, &member).await, 1);
}

#[tokio::test]
async fn webhook_replay_activates_and_extends_again() {
    let service = Service::with_flaw(Flaw::WebhookReplay).await;
    let member = service.token(MEMBER).await;
    let payment = service.checkout(&member).await;
    let event = paid("evt-1", &payment);
    for n in 1..=3 {
        assert_eq!(service.callback(&event).await.status(), 200);
        assert_eq!(activations(&service, &member).await, n);
    }
}

#[tokio::test]
async fn webhook_stale_ok_accepts_old_timestamps_but_checks_signatures() {
    let service = Service::with_flaw(Flaw::WebhookStaleOk).await;
    let member = service.token(MEMBER).await;
    let payment = service.checkout(&member).await;
    let stale = now() - 3600;
    let raw = serde_json::to_vec(&paid("evt-1", &payment)).unwrap();
    assert_eq!(service.callback_raw(raw, stale, "00").await.status(), 401);
    let response = service.callback_at(&paid("evt-1", &payment), stale).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn amount_mismatch_ok_accepts_a_wrong_amount_or_currency() {
    let service = Service::with_flaw(Flaw::AmountMismatchOk).await;
    let member = service.token(MEMBER).await;
    let payment = service.checkout(&member).await;
    let mut cheap = paid("evt-1", &payment);
    cheap["amount_cents"] = serde_json::json!(1);
    cheap["currency"] = serde_json::json!("JPY");
    assert_eq!(service.callback(&cheap).await.status(), 200);
    assert_eq!(activations(&service, &member).await, 1);
}

#[tokio::test]
async fn idempotency_ignored_creates_a_payment_per_request() {
    let service = Service::with_flaw(Flaw::IdempotencyIgnored).await;
    let member = service.token(MEMBER).await;
    let body = serde_json::json!({ "plan": "monthly" });
    let mut ids = Vec::new();
    for _ in 0..2 {
        let response = service.checkout_with_key(&member, "k", body.clone()).await;
        assert_eq!(response.status(), 200);
        let answer: serde_json::Value = response.json().await.unwrap();
        ids.push(answer["payment_id"].clone());
    }
    assert_ne!(ids[0], ids[1]);
    let other = service
        .checkout_with_key(&member, "k", serde_json::json!({ "plan": "yearly" }))
        .await;
    assert_eq!(
        other.status(),
        200,
        "a different body under the same key too"
    );
}

// content and lifecycle: the `token` and `shutdown` probes (the access-log and shutdown flaws
// need a real process: tests/it/cli.rs)

#[tokio::test]
async fn token_never_expires_accepts_an_expired_token() {
    let service = Service::with_flaw(Flaw::TokenNeverExpires).await;
    let owner = service
        .token(phasegate_sample_service::SEED_SUBSCRIBERS[0])
        .await;
    let token = minted(&service, &owner, "welcome-guide", Some(50)).await;
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    assert_eq!(
        download_status(&service, "welcome-guide", &token, &owner).await,
        200
    );
}

#[tokio::test]
async fn token_not_bound_accepts_another_user_and_another_file_but_still_checks_the_signature() {
    let service = Service::with_flaw(Flaw::TokenNotBound).await;
    let [owner, other] = phasegate_sample_service::SEED_SUBSCRIBERS;
    let (owner, other) = (service.token(owner).await, service.token(other).await);
    let token = minted(&service, &owner, "welcome-guide", None).await;
    assert_eq!(
        download_status(&service, "welcome-guide", &token, &other).await,
        200
    );
    assert_eq!(
        download_status(&service, "annual-report-2025", &token, &owner).await,
        200
    );
    assert_eq!(
        download_status(&service, "welcome-guide", "garbage", &owner).await,
        403
    );
}
