use phasegate_probes::{KINDS, validate};
use serde_json::json;

use crate::support::params;

fn keys(kind: &str, p: serde_json::Value) -> Vec<Option<String>> {
    validate(kind, &params(p))
        .unwrap_err()
        .into_iter()
        .map(|e| e.key)
        .collect()
}

#[test]
fn every_kind_validates_its_minimal_params() {
    let minimal = |kind: &str| match kind {
        "http" => json!({ "requests": [{ "path": "/" }] }),
        "cors" => json!({ "allowed": ["https://app.example.com"] }),
        "rate-limit" => json!({ "path": "/api/login" }),
        // access: rbac, strict-input
        "rbac" => json!({ "default": 403, "rows": [{ "path": "/admin" }] }),
        "strict-input" => json!({ "routes": [{ "path": "/items", "json": { "name": "a" } }] }),
        // payments
        "webhook" => json!({
            "path": "/callback", "secret": { "env": "SECRET" }, "scheme": "stripe",
            "payment": [{ "method": "POST", "path": "/checkout", "capture": { "id": "/id" } }],
            "event": { "id": "{{event_id}}", "payment": "{{id}}" },
            "effect": { "path": "/subscription" },
        }),
        "idempotency" => json!({
            "request": { "method": "POST", "path": "/checkout", "json": { "plan": "a" } },
            "different": { "/plan": "b" },
        }),
        // content and lifecycle
        "token" => {
            let sign_in = json!({ "path": "/sign-in", "bearer": "/token" });
            json!({
                "owner": sign_in, "other": sign_in, "resource": "a", "other_resource": "b",
                "mint": { "path": "/c/{resource}/mint" },
                "download": { "path": "/c/{resource}?token={token}" },
                "expiring": { "lifetime": "1s" },
            })
        }
        "shutdown" => json!({ "command": "serve --port {port}", "slow_path": "/slow" }),
        // performance
        "load" => json!({ "duration": "1s" }),
        // the project's files
        "advisories" => json!({ "db": "osv" }),
        "migrations" => json!({ "baseline": "last-pass" }),
        _ => json!({}),
    };
    for kind in KINDS {
        assert_eq!(validate(kind, &params(minimal(kind))), Ok(()), "{kind}");
    }
}

#[test]
fn unknown_probe_is_an_error_listing_the_kinds() {
    let errors = validate("webhooks", &params(json!({}))).unwrap_err();
    assert_eq!(errors[0].key, None);
    assert!(errors[0].message.contains("unknown probe `webhooks`"));
    assert!(errors[0].message.contains("rate-limit"));
}

#[test]
fn unknown_params_are_named() {
    assert_eq!(
        keys("request-id", json!({ "sample": 3 })),
        [Some("sample".to_string())]
    );
    let nested = json!({ "requests": [{ "path": "/", "expect": { "stauts": 200 } }] });
    assert_eq!(
        keys("http", nested),
        [Some("requests[0].expect.stauts".to_string())]
    );
    assert_eq!(
        keys(
            "headers",
            json!({ "rules": { "hsts": true, "xss": false } })
        ),
        [Some("rules.xss".to_string())]
    );
}

#[test]
fn wrong_types_and_values_are_named_with_what_was_expected() {
    let errors = validate("request-id", &params(json!({ "samples": "many" }))).unwrap_err();
    assert_eq!(errors[0].key.as_deref(), Some("samples"));
    assert!(
        errors[0].message.contains("expected u32"),
        "{}",
        errors[0].message
    );
    let errors = validate("health", &params(json!({ "within": "soon" }))).unwrap_err();
    assert_eq!(errors[0].key.as_deref(), Some("within"));
    assert!(
        errors[0].message.contains("expected a duration"),
        "{}",
        errors[0].message
    );
    assert_eq!(
        keys(
            "http",
            json!({ "requests": [{ "path": "/", "expect": { "status": 999 } }] })
        ),
        [Some("requests[0].expect.status".to_string())]
    );
    assert_eq!(
        keys("headers", json!({ "https": "maybe" })),
        [Some("https".to_string())]
    );
    assert_eq!(
        keys("cors", json!({ "allowed": ["https://app.example.com/"] })),
        [Some("allowed[0]".to_string())]
    );
    assert_eq!(keys("rate-limit", json!({})), [Some("path".to_string())]);
    assert_eq!(
        keys(
            "rate-limit",
            json!({ "path": "/x", "limit": 10, "max_requests": 5 })
        ),
        [Some("max_requests".to_string())]
    );
    assert_eq!(
        keys("health", json!({ "fault": "true" })),
        [Some("restore".to_string())]
    );
    assert_eq!(
        keys("request-id", json!({ "pattern": "(" })),
        [Some("pattern".to_string())]
    );
    assert_eq!(
        keys(
            "metrics",
            json!({ "families": [{ "name": "x", "type": "meter" }] })
        ),
        [Some("families[0].type".to_string())]
    );
    assert_eq!(
        keys("http", json!({ "requests": [{ "path": "/{{token}}" }] })),
        [Some("requests[0].path".to_string())]
    );
    assert_eq!(
        keys("headers", json!({ "paths": ["health"] })),
        [Some("paths[0]".to_string())]
    );
}
