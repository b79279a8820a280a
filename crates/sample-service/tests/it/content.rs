use std::time::Duration;

use serde_json::{Value, json};

use phasegate_sample_service::SEED_SUBSCRIBERS;

use crate::support::{MEMBER, PLATFORM, Service};

pub async fn mint(service: &Service, token: &str, id: &str) -> reqwest::Response {
    service
        .post_as(
            &format!("/api/v1/content/{id}/download-token"),
            token,
            json!({}),
        )
        .await
}

/// Mints a download token for `id` as `session`, living `ttl_ms` when given.
pub async fn minted(service: &Service, session: &str, id: &str, ttl_ms: Option<u64>) -> String {
    let body = ttl_ms.map_or_else(|| json!({}), |ttl| json!({ "ttl_ms": ttl }));
    let response = service
        .post_as(
            &format!("/api/v1/content/{id}/download-token"),
            session,
            body,
        )
        .await;
    assert_eq!(response.status(), 200);
    let minted: Value = response.json().await.unwrap();
    minted["token"].as_str().unwrap().to_owned()
}

/// The status of a download of `id` with download token `token`, signed in as `session`.
pub async fn download_status(service: &Service, id: &str, token: &str, session: &str) -> u16 {
    service
        .get_as(
            &format!("/api/v1/content/{id}/download?token={token}"),
            session,
        )
        .await
        .status()
        .as_u16()
}

#[tokio::test]
async fn subscribers_download_with_a_token_bound_to_one_resource() {
    let service = Service::start().await;
    let member = service.token(MEMBER).await;

    let response = mint(&service, &member, "welcome-guide").await;
    assert_eq!(response.status(), 403, "no subscription yet");
    assert_eq!(service.get("/api/v1/subscription").await.status(), 401);

    service.subscribe(&member).await;
    let response = mint(&service, &member, "welcome-guide").await;
    assert_eq!(response.status(), 200);
    let minted: Value = response.json().await.unwrap();
    let token = minted["token"].as_str().unwrap().to_owned();
    assert!(minted["expires_at"].as_str().unwrap().ends_with('Z'));

    let response = service
        .get_as(
            &format!("/api/v1/content/welcome-guide/download?token={token}"),
            &member,
        )
        .await;
    assert_eq!(response.status(), 200);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .starts_with("Welcome, member.")
    );
    let via_url = service
        .get_as(minted["url"].as_str().unwrap(), &member)
        .await;
    assert_eq!(via_url.status(), 200);

    assert_eq!(
        download_status(&service, "annual-report-2025", &token, &member).await,
        403
    );
    assert_eq!(
        download_status(&service, "..%2F..%2Fetc%2Fpasswd", &token, &member).await,
        403,
        "path traversal"
    );
    assert_eq!(
        service
            .get_as("/api/v1/content/welcome-guide/download", &member)
            .await
            .status(),
        403,
        "no token"
    );
    assert_eq!(mint(&service, &member, "no-such-thing").await.status(), 404);
    let admin = service.token(PLATFORM).await;
    assert_eq!(mint(&service, &admin, "welcome-guide").await.status(), 403);
}

#[tokio::test]
async fn tampered_tokens_are_403() {
    let service = Service::start().await;
    let member = service.token(MEMBER).await;
    service.subscribe(&member).await;
    let minted: Value = mint(&service, &member, "welcome-guide")
        .await
        .json()
        .await
        .unwrap();
    let token = minted["token"].as_str().unwrap();

    let (payload, signature) = token.split_once('.').unwrap();
    let mut flipped = signature.as_bytes().to_vec();
    flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
    let flipped = format!("{payload}.{}", String::from_utf8(flipped).unwrap());
    assert_eq!(
        download_status(&service, "welcome-guide", &flipped, &member).await,
        403
    );

    // A session token is signed with a different key and is no download token.
    assert_eq!(
        download_status(&service, "welcome-guide", &member, &member).await,
        403
    );
    assert_eq!(
        download_status(&service, "welcome-guide", "garbage", &member).await,
        403
    );
    assert_eq!(
        download_status(&service, "welcome-guide", token, &member).await,
        200
    );
}

#[tokio::test]
async fn tokens_expire() {
    let service = Service::start_with(|config| {
        config.download_ttl = Duration::from_millis(300);
    })
    .await;
    let member = service.token(MEMBER).await;
    service.subscribe(&member).await;
    let minted: Value = mint(&service, &member, "welcome-guide")
        .await
        .json()
        .await
        .unwrap();
    let token = minted["token"].as_str().unwrap();
    assert_eq!(
        download_status(&service, "welcome-guide", token, &member).await,
        200
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        download_status(&service, "welcome-guide", token, &member).await,
        403
    );
}

#[tokio::test]
async fn a_mint_may_ask_for_a_shorter_life_never_a_longer_one() {
    let service = Service::start_with(|config| {
        config.download_ttl = Duration::from_millis(400);
    })
    .await;
    let subscriber = service.token(SEED_SUBSCRIBERS[0]).await;
    let short = minted(&service, &subscriber, "welcome-guide", Some(100)).await;
    let long = minted(&service, &subscriber, "welcome-guide", Some(60_000)).await;
    assert_eq!(
        download_status(&service, "welcome-guide", &short, &subscriber).await,
        200
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        download_status(&service, "welcome-guide", &short, &subscriber).await,
        403
    );
    assert_eq!(
        download_status(&service, "welcome-guide", &long, &subscriber).await,
        200
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        download_status(&service, "welcome-guide", &long, &subscriber).await,
        403,
        "capped by the configured lifetime"
    );
    let zero = service
        .post_as(
            "/api/v1/content/welcome-guide/download-token",
            &subscriber,
            json!({ "ttl_ms": 0 }),
        )
        .await;
    assert_eq!(zero.status(), 422);
    let unknown = service
        .post_as(
            "/api/v1/content/welcome-guide/download-token",
            &subscriber,
            json!({ "ttl": 5 }),
        )
        .await;
    assert_eq!(unknown.status(), 422);
}

#[tokio::test]
async fn a_token_works_only_for_the_user_it_was_minted_for_by_bearer_or_cookie() {
    let service = Service::start().await;
    let owner = service.token(SEED_SUBSCRIBERS[0]).await;
    let other = service.token(SEED_SUBSCRIBERS[1]).await;
    let token = minted(&service, &owner, "welcome-guide", None).await;
    let path = format!("/api/v1/content/welcome-guide/download?token={token}");
    assert_eq!(
        download_status(&service, "welcome-guide", &token, &owner).await,
        200
    );
    assert_eq!(
        download_status(&service, "welcome-guide", &token, &other).await,
        403,
        "another subscriber's session"
    );
    assert_eq!(service.get(&path).await.status(), 401, "no session");
    let by_cookie = service
        .client
        .get(service.url(&path))
        .header("cookie", format!("theme=dark; sid={owner}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        by_cookie.status(),
        200,
        "a download link opened in the browser"
    );
    let other_cookie = service
        .client
        .get(service.url(&path))
        .header("cookie", format!("sid={other}"))
        .send()
        .await
        .unwrap();
    assert_eq!(other_cookie.status(), 403);
}
