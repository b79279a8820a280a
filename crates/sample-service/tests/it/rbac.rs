use phasegate_sample_service::{SEED_SUBSCRIBERS, SEED_USERS};
use serde_json::{Value, json};

use crate::support::{AUDITOR, MEMBER, PLATFORM, SUPPORT, Service};

#[derive(Clone, Copy)]
enum Call {
    ListUsers,
    ChangeRole,
    AuditLog,
    OpsSummary,
}

async fn call(service: &Service, call: Call, token: Option<&str>) -> u16 {
    let request = match call {
        Call::ListUsers => service.client.get(service.url("/api/v1/admin/users")),
        Call::ChangeRole => service
            .client
            .post(service.url("/api/v1/admin/users/1/role"))
            .json(&json!({ "role": "member" })),
        Call::AuditLog => service.client.get(service.url("/api/v1/admin/audit-log")),
        Call::OpsSummary => service.client.get(service.url("/api/v1/ops/summary")),
    };
    let request = match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    };
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn admin_routes_follow_the_role_matrix() {
    let service = Service::start().await;
    let member = service.token(MEMBER).await;
    let platform = service.token(PLATFORM).await;
    let support = service.token(SUPPORT).await;
    let auditor = service.token(AUDITOR).await;

    //                     none  member platform support auditor
    let matrix: [(Call, [u16; 5]); 4] = [
        (Call::ListUsers, [401, 403, 200, 200, 403]),
        (Call::ChangeRole, [401, 403, 200, 403, 403]),
        (Call::AuditLog, [401, 403, 200, 403, 200]),
        (Call::OpsSummary, [401, 403, 200, 403, 403]),
    ];
    for (index, (route, expected)) in matrix.into_iter().enumerate() {
        let tokens = [
            None,
            Some(&member),
            Some(&platform),
            Some(&support),
            Some(&auditor),
        ];
        for (token, want) in tokens.into_iter().zip(expected) {
            let got = call(&service, route, token.map(String::as_str)).await;
            assert_eq!(got, want, "row {index}, token {token:?}");
        }
    }
}

#[tokio::test]
async fn role_changes_apply_at_once_and_are_audited() {
    let service = Service::start().await;
    let platform = service.token(PLATFORM).await;
    let support = service.token(SUPPORT).await;

    let users: Value = service
        .get_as("/api/v1/admin/users", &platform)
        .await
        .json()
        .await
        .unwrap();
    let users = users.as_array().unwrap();
    assert_eq!(users.len(), SEED_USERS.len() + SEED_SUBSCRIBERS.len());
    assert!(users.iter().all(|user| user.get("password_hash").is_none()));
    let support_id = users.iter().find(|user| user["email"] == SUPPORT).unwrap()["id"]
        .as_i64()
        .unwrap();

    let path = format!("/api/v1/admin/users/{support_id}/role");
    let response = service
        .post_as(&path, &platform, json!({ "role": "root" }))
        .await;
    assert_eq!(response.status(), 422);
    let response = service
        .post_as(
            "/api/v1/admin/users/999/role",
            &platform,
            json!({ "role": "member" }),
        )
        .await;
    assert_eq!(response.status(), 404);

    assert_eq!(call(&service, Call::OpsSummary, Some(&support)).await, 403);
    let response = service
        .post_as(&path, &platform, json!({ "role": "platform_admin" }))
        .await;
    assert_eq!(response.status(), 200);
    // The same token now carries the new rights: roles are read per request.
    assert_eq!(call(&service, Call::OpsSummary, Some(&support)).await, 200);

    let log: Value = service
        .get_as("/api/v1/admin/audit-log", &platform)
        .await
        .json()
        .await
        .unwrap();
    let newest = &log.as_array().unwrap()[0];
    assert_eq!(newest["action"], "user.role_changed");
    assert_eq!(newest["actor"], PLATFORM);

    let summary: Value = service
        .get_as("/api/v1/ops/summary", &platform)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(summary["users"], SEED_USERS.len() + SEED_SUBSCRIBERS.len());
    assert!(summary["audit_entries"].as_i64().unwrap() >= 3);
}
