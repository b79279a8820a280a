use std::time::{Duration, Instant};

use phasegate_sample_service::SEED_PASSWORD;
use serde_json::{Value, json};

use crate::support::{MEMBER, PLATFORM, Service, header};

#[tokio::test]
async fn sign_in_returns_a_token_and_a_hardened_cookie() {
    let service = Service::start().await;
    let response = service.sign_in_response(MEMBER, SEED_PASSWORD).await;
    assert_eq!(response.status(), 200);
    let cookie = header(&response, "set-cookie").unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["role"], "member");
    let token = body["token"].as_str().unwrap();
    assert!(cookie.starts_with(&format!("sid={token};")), "{cookie}");
    for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(
            cookie.split("; ").any(|part| part == attribute),
            "{attribute} missing in {cookie}"
        );
    }

    let response = service.get_as("/api/v1/subscription", token).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "none");
    assert_eq!(body["activations"], 0);

    let admin = service.sign_in_response(PLATFORM, SEED_PASSWORD).await;
    let body: Value = admin.json().await.unwrap();
    assert_eq!(body["role"], "platform_admin");
}

#[tokio::test]
async fn wrong_password_and_unknown_email_are_401() {
    let service = Service::start().await;
    let response = service.sign_in_response(MEMBER, "wrong").await;
    assert_eq!(response.status(), 401);
    assert!(header(&response, "set-cookie").is_none());
    let response = service
        .sign_in_response("nobody@example.com", SEED_PASSWORD)
        .await;
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn missing_tampered_and_foreign_tokens_are_401() {
    let service = Service::start().await;
    let response = service.get("/api/v1/subscription").await;
    assert_eq!(response.status(), 401);

    let token = service.token(MEMBER).await;
    let mut tampered = token.clone().into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let response = service.get_as("/api/v1/subscription", &tampered).await;
    assert_eq!(response.status(), 401);

    // Another instance has another token secret: its tokens mean nothing here.
    let other = Service::start().await;
    let foreign = other.token(MEMBER).await;
    let response = service.get_as("/api/v1/subscription", &foreign).await;
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn unknown_fields_and_non_json_are_refused() {
    let service = Service::start().await;
    let response = service
        .client
        .post(service.url("/api/v1/auth/sign-in"))
        .json(&json!({ "email": MEMBER, "password": SEED_PASSWORD, "role": "platform_admin" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let response = service
        .client
        .post(service.url("/api/v1/auth/sign-in"))
        .body("email=member@example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
}

#[tokio::test]
async fn sign_in_is_rate_limited_then_recovers_after_the_window() {
    let service = Service::start_with(|config| {
        config.rate_limit = 5;
        config.rate_window = Duration::from_secs(2);
    })
    .await;
    for attempt in 1..=5 {
        let response = service.sign_in_response(MEMBER, "wrong").await;
        assert_eq!(response.status(), 401, "attempt {attempt}");
    }
    let limited_at = Instant::now();
    let response = service.sign_in_response(MEMBER, SEED_PASSWORD).await;
    assert_eq!(response.status(), 429);
    let retry_after: u64 = header(&response, "retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after), "Retry-After {retry_after}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "rate_limited");

    // The health endpoints are not limited.
    assert_eq!(service.get("/health/live").await.status(), 200);

    tokio::time::sleep(Duration::from_secs(retry_after).saturating_sub(limited_at.elapsed())).await;
    let response = service.sign_in_response(MEMBER, SEED_PASSWORD).await;
    assert_eq!(response.status(), 200, "allowed again after Retry-After");
}
