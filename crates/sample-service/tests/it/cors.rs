use reqwest::{Method, Response};

use crate::support::{Service, header};

const FOREIGN: [&str; 7] = [
    "https://evil.test",
    "null",
    "https://app.example.com.evil.test",
    "https://evilapp.example.com",
    "https://app-example.com",
    "http://app.example.com",
    "https://app.example.com:8443",
];

fn access_control_headers(response: &Response) -> Vec<String> {
    response
        .headers()
        .keys()
        .map(|name| name.as_str().to_owned())
        .filter(|name| name.starts_with("access-control-"))
        .collect()
}

async fn get_with_origin(service: &Service, origin: &str) -> Response {
    service
        .client
        .get(service.url("/health/live"))
        .header("origin", origin)
        .send()
        .await
        .unwrap()
}

async fn preflight(service: &Service, origin: &str, method: &str) -> Response {
    service
        .client
        .request(Method::OPTIONS, service.url("/api/v1/admin/users"))
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn allowed_origins_get_credentialed_access() {
    let service = Service::start().await;
    for origin in ["https://app.example.com", "https://admin.example.com"] {
        let response = get_with_origin(&service, origin).await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            header(&response, "access-control-allow-origin"),
            Some(origin)
        );
        assert_eq!(
            header(&response, "access-control-allow-credentials"),
            Some("true")
        );
        assert!(
            response
                .headers()
                .get_all("vary")
                .iter()
                .any(|value| value.to_str().unwrap().contains("Origin"))
        );
    }
}

#[tokio::test]
async fn foreign_null_and_look_alike_origins_get_no_cors_headers() {
    let service = Service::start().await;
    for origin in FOREIGN {
        let response = get_with_origin(&service, origin).await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            access_control_headers(&response),
            Vec::<String>::new(),
            "{origin}"
        );
    }
}

#[tokio::test]
async fn preflight_is_answered_for_allowed_origins_only() {
    let service = Service::start().await;
    let response = preflight(&service, "https://app.example.com", "POST").await;
    assert_eq!(response.status(), 204);
    assert_eq!(
        header(&response, "access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(
        header(&response, "access-control-allow-credentials"),
        Some("true")
    );
    assert!(
        header(&response, "access-control-allow-methods")
            .unwrap()
            .contains("POST")
    );
    assert!(
        header(&response, "access-control-allow-headers")
            .unwrap()
            .contains("authorization")
    );
    assert!(header(&response, "strict-transport-security").is_some());

    for origin in FOREIGN {
        let response = preflight(&service, origin, "POST").await;
        assert_eq!(response.status(), 403, "{origin}");
        assert_eq!(
            access_control_headers(&response),
            Vec::<String>::new(),
            "{origin}"
        );
    }

    let response = preflight(&service, "https://app.example.com", "DELETE").await;
    assert_eq!(response.status(), 403, "method not allowed");
}
