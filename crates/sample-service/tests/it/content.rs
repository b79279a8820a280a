use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{MEMBER, PLATFORM, Service};

async fn mint(service: &Service, token: &str, id: &str) -> reqwest::Response {
    service
        .post_as(
            &format!("/api/v1/content/{id}/download-token"),
            token,
            json!({}),
        )
        .await
}

async fn download_status(service: &Service, id: &str, token: &str) -> u16 {
    service
        .get(&format!("/api/v1/content/{id}/download?token={token}"))
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
        .get(&format!(
            "/api/v1/content/welcome-guide/download?token={token}"
        ))
        .await;
    assert_eq!(response.status(), 200);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .starts_with("Welcome, member.")
    );
    let via_url = service.get(minted["url"].as_str().unwrap()).await;
    assert_eq!(via_url.status(), 200);

    assert_eq!(
        download_status(&service, "annual-report-2025", &token).await,
        403
    );
    assert_eq!(
        download_status(&service, "..%2F..%2Fetc%2Fpasswd", &token).await,
        403,
        "path traversal"
    );
    assert_eq!(
        service
            .get("/api/v1/content/welcome-guide/download")
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
        download_status(&service, "welcome-guide", &flipped).await,
        403
    );

    // A session token is signed with a different key and is no download token.
    assert_eq!(
        download_status(&service, "welcome-guide", &member).await,
        403
    );
    assert_eq!(
        download_status(&service, "welcome-guide", "garbage").await,
        403
    );
    assert_eq!(download_status(&service, "welcome-guide", token).await, 200);
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
    assert_eq!(download_status(&service, "welcome-guide", token).await, 200);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(download_status(&service, "welcome-guide", token).await, 403);
}
