use std::time::Duration;

use phasegate_sample_service::{CSP, HSTS};
use reqwest::Response;
use serde_json::json;

use crate::support::{Service, header};

pub fn assert_security_headers(response: &Response) {
    let expect = [
        ("strict-transport-security", HSTS),
        ("content-security-policy", CSP),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "strict-origin-when-cross-origin"),
        (
            "permissions-policy",
            "camera=(), microphone=(), geolocation=()",
        ),
        ("cross-origin-opener-policy", "same-origin"),
        ("server", "membership"),
    ];
    for (name, value) in expect {
        assert_eq!(
            header(response, name),
            Some(value),
            "{name} on a {} response",
            response.status()
        );
    }
    assert!(header(response, "x-powered-by").is_none());
    assert!(CSP.contains("script-src 'self';") && !CSP.contains("unsafe-inline"));
}

#[tokio::test]
async fn every_kind_of_response_carries_the_security_headers() {
    let service = Service::start_with(|config| {
        config.rate_limit = 1;
        config.rate_window = Duration::from_secs(30);
    })
    .await;

    let ok = service.get("/health/live").await;
    assert_eq!(ok.status(), 200);
    assert_security_headers(&ok);

    let index = service.get("/").await;
    assert_eq!(index.status(), 200);
    assert_security_headers(&index);

    let not_found = service.get("/no/such/route").await;
    assert_eq!(not_found.status(), 404);
    assert_security_headers(&not_found);

    let not_allowed = service.get("/api/v1/auth/sign-in").await;
    assert_eq!(not_allowed.status(), 405);
    assert_security_headers(&not_allowed);

    let unauthorized = service.get("/api/v1/admin/users").await;
    assert_eq!(unauthorized.status(), 401);
    assert_security_headers(&unauthorized);

    let sign_in = || {
        service
            .client
            .post(service.url("/api/v1/auth/sign-in"))
            .json(&json!({ "email": "x@example.com", "password": "x" }))
            .send()
    };
    assert_eq!(sign_in().await.unwrap().status(), 401);
    let limited = sign_in().await.unwrap();
    assert_eq!(limited.status(), 429);
    assert_security_headers(&limited);
}
