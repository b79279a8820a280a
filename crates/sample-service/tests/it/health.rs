use serde_json::Value;

use crate::support::Service;

#[tokio::test]
async fn ready_follows_the_database_file_and_live_does_not() {
    let service = Service::start().await;
    let response = service.get("/health/ready").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ready");

    // The fault hook phasegate runs: `mv membership.db membership.db.away`.
    let away = service.db.with_extension("db.away");
    std::fs::rename(&service.db, &away).unwrap();

    let response = service.get("/health/ready").await;
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    assert!(
        body["reason"].as_str().unwrap().contains("database"),
        "{body}"
    );
    assert!(!service.db.exists(), "the check must not recreate the file");

    let response = service.get("/health/live").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");

    std::fs::rename(&away, &service.db).unwrap();
    let response = service.get("/health/ready").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ready");
}
