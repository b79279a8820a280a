//! `rbac` against the sample service (clean and each access flaw) and small routers for the
//! edges: a route that refuses everyone, credentials that cannot be obtained, tokens echoed.

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use phasegate_model::Verdict;
use phasegate_sample_service::Flaw;
use serde_json::{Value, json};

use crate::support::*;

/// The sample service's admin matrix, as the demo roadmap writes it.
fn admin_matrix() -> Value {
    json!({
        "roles": {
            "member": seed_sign_in("member@example.com"),
            "platform_admin": seed_sign_in("platform@example.com"),
            "support_admin": seed_sign_in("support@example.com"),
            "auditor": seed_sign_in("auditor@example.com"),
        },
        "default": 403,
        "rows": [
            { "path": "/api/v1/admin/users",
              "expect": { "anonymous": 401, "platform_admin": 200, "support_admin": 200 } },
            // Idempotent: support@example.com (id 3) is given the role it has.
            { "method": "POST", "path": "/api/v1/admin/users/3/role", "json": { "role": "support_admin" },
              "expect": { "anonymous": 401, "platform_admin": 200 } },
            { "path": "/api/v1/admin/audit-log",
              "expect": { "anonymous": 401, "platform_admin": 200, "auditor": 200 } },
            { "path": "/api/v1/ops/summary", "expect": { "anonymous": 401, "platform_admin": 200 } },
        ],
    })
}

/// The findings as `(code, location)`.
fn cells(o: &phasegate_probes::Outcome) -> Vec<(&str, &str)> {
    o.findings
        .iter()
        .map(|f| (f.code.as_str(), f.location.as_deref().unwrap_or("")))
        .collect()
}

#[tokio::test]
async fn the_clean_sample_service_follows_its_admin_matrix() {
    let sample = sample_with_flaws(&[], false).await;
    let o = run("rbac", &sample.url, admin_matrix()).await;
    assert_pass(&o);
    assert_eq!(o.measurements["cells"], 20.0);
    assert_eq!(o.measurements["cells_differing"], 0.0);
    // 4 sign-ins; 6 allowed cells once; 14 denied cells 5 times each.
    assert_eq!(o.requests, 4 + 6 + 14 * 5);
}

#[tokio::test]
async fn an_auditor_who_can_change_roles_is_caught_on_that_cell_only() {
    let sample = sample_with_flaws(&[Flaw::RbacAuditorCanWrite], false).await;
    let o = run("rbac", &sample.url, admin_matrix()).await;
    assert_eq!(
        cells(&o),
        [(
            "rbac-access-granted",
            "POST /api/v1/admin/users/3/role as auditor"
        )]
    );
    assert_eq!(o.verdict, Verdict::Fail);
    assert_eq!(
        o.findings[0].message,
        "role auditor must be refused (expected 403), yet it was let in: 200 in 5 of 5"
    );
}

#[tokio::test]
async fn admin_routes_open_without_a_token_are_caught_for_anonymous() {
    let sample = sample_with_flaws(&[Flaw::RbacAdminOpen], false).await;
    let o = run("rbac", &sample.url, admin_matrix()).await;
    assert_fails_with(&o, "rbac-access-granted");
    assert_eq!(
        cells(&o),
        [
            (
                "rbac-access-granted",
                "GET /api/v1/admin/users as anonymous"
            ),
            (
                "rbac-access-granted",
                "GET /api/v1/admin/audit-log as anonymous"
            ),
        ]
    );
}

#[tokio::test]
async fn a_deny_that_holds_only_sometimes_is_caught_by_repeating_denied_cells() {
    let sample = sample_with_flaws(&[Flaw::RbacFlakyDeny], false).await;
    let o = run("rbac", &sample.url, admin_matrix()).await;
    assert_fails_with(&o, "rbac-deny-unstable");
    let unstable = o
        .findings
        .iter()
        .find(|f| f.code == "rbac-deny-unstable")
        .unwrap();
    assert!(
        unstable.message.contains(" of 5, 403 in "),
        "says how many of the 5 got in: {}",
        unstable.message
    );
    // Anonymous requests carry no role to race on: those cells hold.
    assert!(
        o.findings
            .iter()
            .all(|f| !f.location.as_deref().unwrap().ends_with("as anonymous"))
    );
}

/// Signs in anyone with `/login` (token = the user name), and answers `/admin` with `status`
/// whoever asks.
fn router(admin_status: StatusCode) -> Router {
    Router::new()
        .route(
            "/login",
            post(|body: axum::Json<Value>| async move {
                match body["user"].as_str() {
                    Some("nobody") => (StatusCode::UNAUTHORIZED, axum::Json(json!({}))),
                    Some(user) => (
                        StatusCode::OK,
                        axum::Json(json!({ "auth": { "jwt": format!("tok-{user}-secret") } })),
                    ),
                    None => (StatusCode::BAD_REQUEST, axum::Json(json!({}))),
                }
            }),
        )
        .route(
            "/admin",
            get(move |headers: HeaderMap| async move {
                // Echoes the credentials it got, as some debug endpoints do.
                let auth = headers
                    .get("authorization")
                    .map(|v| v.to_str().unwrap().to_owned());
                (admin_status, format!("{auth:?}"))
            }),
        )
}

fn login(user: &str) -> Value {
    json!({ "sign_in": { "path": "/login", "json": { "user": user } }, "capture": "/auth/jwt" })
}

#[tokio::test]
async fn a_route_that_refuses_everyone_does_not_pass() {
    let url = serve(router(StatusCode::FORBIDDEN)).await;
    let o = run(
        "rbac",
        &url,
        json!({
            "roles": { "admin": login("root"), "deputy": login("dep") },
            "inherit": { "deputy": "admin" },
            "rows": [{ "path": "/admin", "expect": { "anonymous": 403, "admin": 200 } }],
            "repeat": 2,
        }),
    )
    .await;
    assert_eq!(
        cells(&o),
        [
            ("rbac-status-mismatch", "GET /admin as admin"),
            ("rbac-status-mismatch", "GET /admin as deputy"),
        ]
    );
    assert_eq!(o.findings[0].message, "role admin: expected 200, got 403");
    assert_eq!(o.verdict, Verdict::Fail);
}

#[tokio::test]
async fn credentials_that_cannot_be_obtained_are_findings_and_their_cells_are_not_sent() {
    let url = serve(router(StatusCode::OK)).await;
    let o = run(
        "rbac",
        &url,
        json!({
            "roles": {
                "ghost": login("nobody"),
                "lost": { "sign_in": { "path": "/login", "json": { "user": "x" } } },
                "ops": { "token": { "env": "PHASEGATE_TEST_SURELY_UNSET_TOKEN" } },
            },
            "default": 200,
            "rows": [{ "path": "/admin" }],
        }),
    )
    .await;
    assert_eq!(o.verdict, Verdict::Fail);
    let mut found = cells(&o);
    found.sort_unstable();
    assert_eq!(
        found,
        [
            ("credentials-unavailable", "role ghost (POST /login)"),
            ("credentials-unavailable", "role lost (POST /login)"),
            (
                "credentials-unavailable",
                "role ops (token from $PHASEGATE_TEST_SURELY_UNSET_TOKEN)"
            ),
        ]
    );
    let messages: Vec<&str> = o.findings.iter().map(|f| f.message.as_str()).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("expected the sign-in to answer 2xx with a token, saw 401")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("at `/token` of the sign-in's JSON answer")),
        "{messages:?}"
    );
    assert_eq!(o.measurements["cells"], 1.0, "anonymous only");
}

#[tokio::test]
async fn tokens_never_appear_in_the_outcome() {
    let url = serve(router(StatusCode::OK)).await;
    let mut ctx = ctx(&url);
    ctx.env
        .set
        .insert("OPS_TOKEN".into(), "ops-token-from-env-secret".into());
    let p = params(json!({
        "roles": { "admin": login("root"), "ops": { "token": { "env": "OPS_TOKEN" }, "header": "x-api-key", "scheme": "" } },
        "default": 403,
        "rows": [{ "path": "/admin" }],
    }));
    let o = phasegate_probes::run("rbac", &p, &ctx).await;
    assert_fails_with(&o, "rbac-access-granted");
    assert_eq!(o.findings.len(), 3, "every role got in: {o:#?}");
    let seen = format!("{o:?}");
    for secret in ["tok-root-secret", "ops-token-from-env-secret"] {
        assert!(!seen.contains(secret), "{secret} in {seen}");
    }
}

#[tokio::test]
async fn bad_parameters_are_all_reported() {
    let errors = phasegate_probes::validate(
        "rbac",
        &params(json!({
            "roles": { "anonymous": login("a"), "both": { "token": { "env": "X" }, "sign_in": { "path": "/l" } } },
            "rows": [{ "path": "nope", "expect": { "ghost": 200 } }],
            "max_wait": "2m",
        })),
    )
    .unwrap_err();
    let keys: Vec<&str> = errors.iter().filter_map(|e| e.key.as_deref()).collect();
    for key in [
        "roles.anonymous",
        "roles.both",
        "max_wait",
        "rows[0].path",
        "rows[0].expect.ghost",
        "rows[0].expect",
    ] {
        assert!(keys.contains(&key), "{key} missing from {errors:?}");
    }
}
