//! `strict-input` against the sample service (clean, `dto-accepts-unknown`, its rate-limited
//! sign-in) and small routers for the edges: a route that refuses everything, one that
//! accepts everything and keeps it, refusals for the wrong reason, a crash, an echoed token.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use phasegate_model::Verdict;
use phasegate_sample_service::{Flaw, SEED_PASSWORD};
use serde_json::{Value, json};

use crate::support::*;

/// The demo's routes: sign-in, and the admin role change with the users list as its effect.
fn dto_routes() -> Value {
    json!({
        "roles": { "platform_admin": seed_sign_in("platform@example.com") },
        "routes": [
            { "path": "/api/v1/auth/sign-in",
              "json": { "email": "member@example.com", "password": SEED_PASSWORD },
              "effect": { "path": "/api/v1/ops/summary", "as": "platform_admin", "pointer": "/audit_entries" } },
            { "path": "/api/v1/admin/users/3/role", "as": "platform_admin",
              "json": { "role": "support_admin" },
              "effect": { "path": "/api/v1/admin/users", "as": "platform_admin" } },
        ],
    })
}

#[tokio::test]
async fn the_clean_sample_service_refuses_every_bad_body_without_effect() {
    let sample = sample_with_flaws(&[], false).await;
    let o = run("strict-input", &sample.url, dto_routes()).await;
    assert_pass(&o);
    assert_eq!(o.measurements["routes_checked"], 2.0);
    assert_eq!(o.measurements["variants_refused"], 10.0);
    assert_eq!(o.measurements["rate_limited_waits"], 0.0);
    // 1 sign-in; per route the valid body, 5 variants and 6 effect reads.
    assert_eq!(o.requests, 1 + 2 * 12);
}

#[tokio::test]
async fn a_rate_limited_sign_in_is_waited_out_not_judged() {
    // Five sign-ins per 2s: the credentials, the valid body and the variants make seven.
    let sample = sample_with_flaws(&[], true).await;
    let o = run("strict-input", &sample.url, dto_routes()).await;
    assert_pass(&o);
    assert!(o.measurements["rate_limited_waits"] >= 1.0, "{o:#?}");
}

#[tokio::test]
async fn unknown_fields_accepted_are_caught_on_every_route() {
    let sample = sample_with_flaws(&[Flaw::DtoAcceptsUnknown], false).await;
    let o = run("strict-input", &sample.url, dto_routes()).await;
    assert_fails_with(&o, "input-unknown-field-accepted");
    let accepted: Vec<&str> = o
        .findings
        .iter()
        .filter(|f| f.code == "input-unknown-field-accepted")
        .map(|f| f.location.as_deref().unwrap())
        .collect();
    assert_eq!(
        accepted,
        [
            "POST /api/v1/auth/sign-in (body with an unknown field \"phasegate_unknown\")",
            "POST /api/v1/admin/users/3/role (body with an unknown field \"phasegate_unknown\")",
        ]
    );
    assert_eq!(
        o.findings
            .iter()
            .find(|f| f.code == "input-unknown-field-accepted")
            .unwrap()
            .message,
        "expected the body with an unknown field \"phasegate_unknown\" to be refused with a 4xx, saw 200: it was accepted"
    );
    // The accepted sign-in was audited: its effect is seen too.
    assert!(
        super::support::codes(&o).contains(&"input-effect"),
        "{o:#?}"
    );
    assert_eq!(o.measurements["variants_refused"], 8.0);
}

/// A route that keeps whatever it is sent (a counter of writes and the last body), whatever
/// `status` it answers, and an effect endpoint showing both and the caller's credentials.
fn store(status: StatusCode) -> Router {
    let writes = Arc::new(AtomicU64::new(0));
    let w = writes.clone();
    Router::new()
        .route(
            "/items",
            post(move |body: Bytes| {
                let w = w.clone();
                async move {
                    w.fetch_add(1, Ordering::SeqCst);
                    let _ = body;
                    status
                }
            }),
        )
        .route(
            "/login",
            post(|| async { axum::Json(json!({ "token": "sekrit-token-123" })) }),
        )
        .route(
            "/state",
            get(move |headers: HeaderMap| {
                let writes = writes.clone();
                async move {
                    let auth = headers
                        .get("authorization")
                        .map(|v| v.to_str().unwrap().to_owned());
                    // Quotes the caller's credentials in what changes, as some debug endpoints do.
                    let n = writes.load(Ordering::SeqCst);
                    axum::Json(json!({ "last": format!("{auth:?} after {n} writes"), "writes": n }))
                }
            }),
        )
}

fn items(effect: bool) -> Value {
    let mut p = json!({
        "roles": { "writer": { "sign_in": { "path": "/login" } } },
        "routes": [{ "path": "/items", "as": "writer", "json": { "name": "a", "qty": 1 } }],
    });
    if effect {
        p["routes"][0]["effect"] = json!({ "path": "/state", "as": "writer" });
    }
    p
}

#[tokio::test]
async fn a_route_that_refuses_everything_does_not_pass() {
    let url = serve(store(StatusCode::UNPROCESSABLE_ENTITY)).await;
    let o = run("strict-input", &url, items(false)).await;
    assert_eq!(o.verdict, Verdict::Fail);
    assert_eq!(codes(&o), ["input-valid-refused"]);
    assert!(o.findings[0].message.starts_with(
        "expected the valid example body to be accepted (2xx), saw 422; the bad variants are not sent"
    ));
    assert_eq!(o.requests, 2, "the sign-in and the valid body");
}

#[tokio::test]
async fn a_route_that_accepts_and_keeps_everything_fails_on_each_variant_and_its_effect() {
    let url = serve(store(StatusCode::CREATED)).await;
    let o = run("strict-input", &url, items(true)).await;
    let mut found = codes(&o);
    found.sort_unstable();
    assert_eq!(
        found,
        [
            "input-effect",
            "input-effect",
            "input-effect",
            "input-effect",
            "input-effect",
            "input-malformed-accepted",
            "input-missing-field-accepted",
            "input-oversized-accepted",
            "input-unknown-field-accepted",
            "input-wrong-type-accepted",
        ]
    );
    let effect = o
        .findings
        .iter()
        .find(|f| f.code == "input-effect")
        .unwrap();
    assert!(
        effect.message.starts_with("expected the body "),
        "{}",
        effect.message
    );
    // The effect endpoint quotes the token it was sent: quoted again, it is redacted.
    assert!(
        effect
            .message
            .contains(" to change nothing, yet GET /state at `/last` went from \"Some(\\\"Bearer <redacted>\\\") after 1 writes\""),
        "{}",
        effect.message
    );
    assert!(!format!("{o:?}").contains("sekrit-token-123"));
}

/// A route `/items` that accepts exactly `example` and answers anything else with `otherwise`.
fn only_accepts(example: Value, otherwise: StatusCode) -> Router {
    Router::new().route(
        "/items",
        post(move |body: Bytes| async move {
            match serde_json::from_slice::<Value>(&body) {
                Ok(v) if v == example => StatusCode::OK,
                _ => otherwise,
            }
        }),
    )
}

#[tokio::test]
async fn refusals_that_do_not_show_the_body_was_checked_are_inconclusive() {
    let app = |status| only_accepts(json!({ "name": "a", "qty": 1 }), status);
    let p = json!({ "routes": [{ "path": "/items", "json": { "name": "a", "qty": 1 } }] });
    let o = run(
        "strict-input",
        &serve(app(StatusCode::FORBIDDEN)).await,
        p.clone(),
    )
    .await;
    assert_eq!(o.verdict, Verdict::Fail);
    assert_eq!(codes(&o), ["input-refusal-inconclusive"; 5]);
    let o = run(
        "strict-input",
        &serve(app(StatusCode::INTERNAL_SERVER_ERROR)).await,
        p.clone(),
    )
    .await;
    assert_eq!(codes(&o), ["input-server-error"; 5]);
    let o = run(
        "strict-input",
        &serve(app(StatusCode::BAD_REQUEST)).await,
        p.clone(),
    )
    .await;
    assert_pass(&o);
    // With `refused` the statuses are the roadmap's: a 400 is then not enough.
    let mut strict = p;
    strict["refused"] = json!([422]);
    let o = run(
        "strict-input",
        &serve(app(StatusCode::BAD_REQUEST)).await,
        strict,
    )
    .await;
    assert_eq!(codes(&o), ["input-refusal-inconclusive"; 5]);
}

#[tokio::test]
async fn an_unreadable_effect_is_a_finding_not_a_silent_pass() {
    let app = only_accepts(json!({ "name": "a" }), StatusCode::BAD_REQUEST)
        .route("/broken", get(|| async { "not json" }));
    let url = serve(app).await;
    let o = run(
        "strict-input",
        &url,
        json!({ "routes": [{ "path": "/items", "json": { "name": "a" }, "effect": { "path": "/broken" } }] }),
    )
    .await;
    assert_fails_with(&o, "input-effect-unreadable");
    assert_eq!(o.measurements["variants_refused"], 5.0);
}

#[tokio::test]
async fn bad_parameters_are_all_reported() {
    let errors = phasegate_probes::validate(
        "strict-input",
        &params(json!({
            "routes": [
                { "path": "/a", "json": [1], "as": "ghost" },
                { "path": "/b", "json": { "n": 1 }, "drop": "m", "variants": ["missing-field", "oversized"] },
            ],
            "oversize_bytes": 0,
            "refused": [200],
        })),
    )
    .unwrap_err();
    let found: Vec<String> = errors.iter().map(ToString::to_string).collect();
    for want in [
        "`oversize_bytes`: expected 1 to",
        "`refused`: expected 4xx statuses, saw 200",
        "`routes[0].as`: role `ghost` is not declared",
        "`routes[0].json`: expected a JSON object",
        "`routes[1].variants`: `drop` names \"m\"",
        "`routes[1].variants`: the example body has no string field to oversize",
    ] {
        assert!(
            found.iter().any(|f| f.starts_with(want)),
            "{want} missing from {found:#?}"
        );
    }
    let unknown = phasegate_probes::validate(
        "strict-input",
        &params(json!({ "routes": [{ "path": "/a", "json": {}, "variants": ["typo"] }] })),
    )
    .unwrap_err();
    assert_eq!(
        unknown[0].key.as_deref(),
        Some("routes[0].variants[0]"),
        "{unknown:?}"
    );
}
