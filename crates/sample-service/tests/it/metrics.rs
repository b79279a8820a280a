use crate::support::{PLATFORM, Service, header};

#[tokio::test]
async fn metrics_expose_request_families_by_route_template() {
    let service = Service::start().await;
    let token = service.token(PLATFORM).await;
    assert_eq!(
        service.get_as("/api/v1/admin/users", &token).await.status(),
        200
    );
    assert_eq!(
        service
            .get_as("/api/v1/admin/users/4/role", &token)
            .await
            .status(),
        405
    );
    assert_eq!(service.get("/no/such/path-12345").await.status(), 404);

    let response = service.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert!(
        header(&response, "content-type")
            .unwrap()
            .contains("openmetrics-text")
    );
    let text = response.text().await.unwrap();
    for expected in [
        "# TYPE http_requests counter",
        r#"http_requests_total{method="GET",route="/api/v1/admin/users",status="200"} 1"#,
        r#"http_requests_total{method="POST",route="/api/v1/auth/sign-in",status="200"} 1"#,
        r#"route="/api/v1/admin/users/{id}/role",status="405""#,
        r#"http_requests_total{method="GET",route="unmatched",status="404"} 1"#,
        "# TYPE http_request_duration_seconds histogram",
        r#"http_request_duration_seconds_bucket{le="0.001",method="GET",route="/api/v1/admin/users"}"#,
        r#"http_request_duration_seconds_count{method="GET",route="/api/v1/admin/users"} 1"#,
    ] {
        assert!(text.contains(expected), "missing {expected} in\n{text}");
    }
    assert!(
        !text.contains("path-12345"),
        "raw paths never become labels"
    );
    assert!(!text.contains("users/4/"), "raw paths never become labels");
}
