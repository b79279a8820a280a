use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::Service;

#[tokio::test]
async fn graceful_shutdown_lets_an_in_flight_request_finish() {
    let mut service = Service::start().await;
    let slow = tokio::spawn({
        let client = service.client.clone();
        let url = service.url("/api/v1/slow?ms=1500");
        async move { client.get(url).send().await }
    });
    // Let the request reach the handler before shutting down.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let started = Instant::now();
    service.trigger_shutdown();

    let response = slow
        .await
        .unwrap()
        .expect("the in-flight request completes");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["slept_ms"], 1500);

    let base = service.base.clone();
    service
        .join()
        .await
        .expect("serve returns Ok after draining");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "serve waited for the request"
    );

    let after = crate::support::client()
        .get(format!("{base}/health/live"))
        .send()
        .await;
    assert!(after.is_err(), "no longer accepting");
}

#[tokio::test]
async fn slow_is_bounded() {
    let service = Service::start().await;
    assert_eq!(service.get("/api/v1/slow?ms=5001").await.status(), 400);
    assert_eq!(service.get("/api/v1/slow?ms=1").await.status(), 200);
    service.stop().await.unwrap();
}
