//! `token` against the sample service (clean and with each token flaw), and against
//! hand-written download routes for what the sample service never does.

use std::path::Path;

use axum::Router;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::routing::{get, post};
use phasegate_model::Verdict;
use phasegate_probes::Outcome;
use phasegate_sample_service::{Flaw, SEED_PASSWORD, SEED_SUBSCRIBERS};
use serde_json::{Value, json};

use crate::support::*;

/// The sample service on a loopback port, its access log and database in `dir`.
async fn sample_service(dir: &Path, flaws: &[Flaw]) -> url::Url {
    let log = dir.join("access.log");
    let url = sample_service_in(dir, |config| {
        config.access_log = Some(log.clone());
        config.rate_limit = 1000;
        config.flaws.extend(flaws);
    })
    .await;
    // The probe reads the log first: wait until serve() has opened (created) it.
    for _ in 0..200 {
        if log.exists() {
            return url;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the sample service did not open its access log");
}

fn sign_in(email: &str) -> Value {
    json!({ "path": "/api/v1/auth/sign-in", "json": { "email": email, "password": SEED_PASSWORD }, "bearer": "/token" })
}

/// The parameters the demo roadmap uses, with the access log.
fn params() -> Value {
    json!({
        "owner": sign_in(SEED_SUBSCRIBERS[0]),
        "other": sign_in(SEED_SUBSCRIBERS[1]),
        "resource": "welcome-guide",
        "other_resource": "annual-report-2025",
        "mint": { "path": "/api/v1/content/{resource}/download-token", "json": {} },
        "download": { "path": "/api/v1/content/{resource}/download?token={token}" },
        "expiring": { "json": { "ttl_ms": 300 }, "lifetime": "300ms" },
        "logs": ["access.log"],
    })
}

async fn run_in(dir: &Path, url: &url::Url, p: Value) -> Outcome {
    phasegate_probes::run("token", &crate::support::params(p), &ctx_in(url, dir)).await
}

/// Every download token the service minted, read from what its access log shows when it
/// logs queries (the flaw) — or from the minted URLs we cannot see otherwise.
fn logged_tokens(dir: &Path) -> Vec<String> {
    let log = std::fs::read_to_string(dir.join("access.log")).unwrap();
    log.split("token=")
        .skip(1)
        .map(|rest| rest.split([' ', '&']).next().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_clean_sample_service_passes_and_its_log_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let url = sample_service(dir.path(), &[]).await;
    let o = run_in(dir.path(), &url, params()).await;
    assert_pass(&o);
    assert!(o.findings.is_empty(), "{o:#?}");
    assert_eq!(o.requests, 14);
    assert!(o.measurements["log_lines_checked"] >= 14.0, "{o:#?}");
    assert!(o.measurements["expired_after_ms"] >= 500.0, "{o:#?}");
    // The clean log has the downloads, without their tokens.
    let log = std::fs::read_to_string(dir.path().join("access.log")).unwrap();
    assert!(
        log.contains("GET /api/v1/content/welcome-guide/download 200"),
        "{log}"
    );
    assert!(logged_tokens(dir.path()).is_empty(), "{log}");
}

#[tokio::test]
async fn token_never_expires_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let url = sample_service(dir.path(), &[Flaw::TokenNeverExpires]).await;
    let o = run_in(dir.path(), &url, params()).await;
    assert_fails_with(&o, "token-expired-accepted");
    assert_eq!(codes(&o), ["token-expired-accepted"], "{o:#?}");
    let f = &o.findings[0];
    assert!(
        f.message
            .contains("a token minted to live 300ms to be refused")
            && f.message.contains("saw 200")
            && f.message.contains("expired tokens still work"),
        "{f:?}"
    );
    assert!(
        f.location
            .as_ref()
            .unwrap()
            .contains("token=‹expired token›"),
        "{f:?}"
    );
}

#[tokio::test]
async fn token_not_bound_is_caught_for_the_user_and_the_resource() {
    let dir = tempfile::tempdir().unwrap();
    let url = sample_service(dir.path(), &[Flaw::TokenNotBound]).await;
    let o = run_in(dir.path(), &url, params()).await;
    assert_fails_with(&o, "token-other-user-accepted");
    assert_fails_with(&o, "token-other-resource-accepted");
    let mut seen = codes(&o);
    seen.sort_unstable();
    assert_eq!(
        seen,
        ["token-other-resource-accepted", "token-other-user-accepted"],
        "the signature, the expiry and traversals are still checked: {o:#?}"
    );
    let other = o
        .findings
        .iter()
        .find(|f| f.code == "token-other-user-accepted")
        .unwrap();
    assert!(
        other.message.contains("not bound to the user")
            && other
                .location
                .as_ref()
                .unwrap()
                .ends_with("token=‹owner's token› (as other user)"),
        "{other:?}"
    );
}

#[tokio::test]
async fn token_in_url_logged_is_caught_and_no_token_is_shown_anywhere() {
    let dir = tempfile::tempdir().unwrap();
    let url = sample_service(dir.path(), &[Flaw::TokenInUrlLogged]).await;
    let o = run_in(dir.path(), &url, params()).await;
    assert_fails_with(&o, "token-in-logs");
    let f = o
        .findings
        .iter()
        .find(|f| f.code == "token-in-logs")
        .unwrap();
    assert!(
        f.message
            .contains("saw the owner's download token in clear on")
            && f.message.contains("log `access.log`"),
        "{f:?}"
    );
    let tokens = logged_tokens(dir.path());
    assert!(tokens.len() >= 10, "{tokens:?}");
    let shown = format!("{o:?}");
    for token in &tokens {
        let decoded: String = url::form_urlencoded::parse(format!("t={token}").as_bytes())
            .next()
            .unwrap()
            .1
            .into_owned();
        // The tokens of the sample service are longer than any word of a message.
        assert!(
            !shown.contains(&decoded) && !shown.contains(token),
            "{shown}"
        );
        // Not even the signature alone.
        let signature = decoded.rsplit('.').next().unwrap();
        assert!(!shown.contains(signature), "{shown}");
    }
}

#[tokio::test]
async fn without_logs_the_evidence_says_the_leak_was_not_checked() {
    let dir = tempfile::tempdir().unwrap();
    let url = sample_service(dir.path(), &[]).await;
    let mut p = params();
    p.as_object_mut().unwrap().remove("logs");
    let o = run_in(dir.path(), &url, p).await;
    assert_eq!(o.verdict, Verdict::Pass, "{o:#?}");
    assert_eq!(codes(&o), ["token-logs-not-checked"]);
    assert!(o.reason.unwrap().contains("log leak not checked"));
}

#[tokio::test]
async fn a_log_that_gains_nothing_or_is_missing_is_an_error_not_a_pass() {
    let dir = tempfile::tempdir().unwrap();
    let url = sample_service(dir.path(), &[]).await;
    std::fs::write(dir.path().join("other.log"), "unrelated\n").unwrap();
    let mut p = params();
    p["logs"] = json!(["other.log"]);
    let o = run_in(dir.path(), &url, p.clone()).await;
    assert_eq!(o.verdict, Verdict::Error, "{o:#?}");
    assert!(o.reason.unwrap().contains("gained no line"));
    p["logs"] = json!(["missing.log"]);
    let o = run_in(dir.path(), &url, p).await;
    assert_eq!(o.verdict, Verdict::Error, "{o:#?}");
    assert!(o.reason.unwrap().contains("cannot read log `missing.log`"));
}

#[derive(serde::Deserialize)]
struct Q {
    token: Option<String>,
}

/// A hand-written content service: sign-in answers a bearer token, the mint always the same
/// token, and `download` decides what a download of `id` with `token` answers.
fn content_service(
    download: impl Fn(&str, &str) -> (StatusCode, &'static str) + Clone + Send + Sync + 'static,
) -> Router {
    limited_content_service(0, "1", download)
}

/// [`content_service`] whose first `limited` sign-ins answer 429 with `Retry-After: wait`.
fn limited_content_service(
    limited: usize,
    wait: &'static str,
    download: impl Fn(&str, &str) -> (StatusCode, &'static str) + Clone + Send + Sync + 'static,
) -> Router {
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let sign_in = move || {
        let n = seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async move {
            if n < limited {
                let limited = [("retry-after", wait)];
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    limited,
                    axum::Json(json!({})),
                )
            } else {
                let ok = [("x-sign-in", "ok")];
                (
                    StatusCode::OK,
                    ok,
                    axum::Json(json!({ "token": "session-abc" })),
                )
            }
        }
    };
    Router::new()
        .route("/sign-in", post(sign_in))
        .route(
            "/c/{id}/mint",
            post(|| async { axum::Json(json!({ "token": "aGVsbG8.c2lnbmF0dXJl" })) }),
        )
        .route(
            "/c/{id}/download",
            get(
                move |axum::extract::Path(id): axum::extract::Path<String>, Query(q): Query<Q>| {
                    let download = download.clone();
                    async move { download(&id, &q.token.unwrap_or_default()) }
                },
            ),
        )
}

fn fixture_params() -> Value {
    let sign_in = json!({ "path": "/sign-in", "bearer": "/token" });
    json!({
        "owner": sign_in,
        "other": sign_in,
        "resource": "a",
        "other_resource": "b",
        "mint": { "path": "/c/{resource}/mint" },
        "download": { "path": "/c/{resource}/download?token={token}" },
        "expiring": { "lifetime": "10ms" },
    })
}

#[tokio::test]
async fn a_download_that_refuses_everything_does_not_pass() {
    let url = serve(content_service(|_, _| (StatusCode::FORBIDDEN, "no"))).await;
    let o = run("token", &url, fixture_params()).await;
    assert_fails_with(&o, "token-valid-refused");
    assert!(
        o.findings[0].message.contains("nothing else was checked"),
        "{o:#?}"
    );
}

#[tokio::test]
async fn a_rate_limited_sign_in_is_retried_after_retry_after_then_is_an_error() {
    let url = serve(limited_content_service(1, "1", |_, _| {
        (StatusCode::FORBIDDEN, "no")
    }))
    .await;
    let o = run("token", &url, fixture_params()).await;
    assert_fails_with(&o, "token-valid-refused");
    let url = serve(limited_content_service(100, "1", |_, _| {
        (StatusCode::OK, "file")
    }))
    .await;
    let o = run("token", &url, fixture_params()).await;
    assert_eq!(o.verdict, Verdict::Error, "{o:#?}");
    assert_eq!(o.requests, 3, "three attempts");
    assert!(
        o.reason
            .unwrap()
            .contains("could not sign in as owner: expected a 2xx, saw 429"),
        "never a pass without a session"
    );
    // A 429 asking for more than 5s is not waited out: one attempt, then the error.
    let url = serve(limited_content_service(1, "30", |_, _| {
        (StatusCode::OK, "file")
    }))
    .await;
    let o = run("token", &url, fixture_params()).await;
    assert_eq!(o.verdict, Verdict::Error, "{o:#?}");
    assert_eq!(o.requests, 1, "no wait of 30s");
    assert!(o.reason.unwrap().contains("saw 429"));
}

#[tokio::test]
async fn a_download_that_checks_nothing_fails_every_rule_but_the_valid_one() {
    // Any token, any id, forever: the expiring token never expires either.
    let url = serve(content_service(|_, _| (StatusCode::OK, "file"))).await;
    let o = run("token", &url, fixture_params()).await;
    let mut seen = codes(&o);
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(
        seen,
        [
            "token-expired-accepted",
            "token-logs-not-checked",
            "token-other-resource-accepted",
            "token-other-user-accepted",
            "token-path-traversal-accepted",
            "token-tampered-accepted",
        ],
        "{o:#?}"
    );
    let traversals = o
        .findings
        .iter()
        .filter(|f| f.code == "token-path-traversal-accepted")
        .count();
    assert_eq!(traversals, 3);
    let tampered: Vec<&str> = o
        .findings
        .iter()
        .filter(|f| f.code == "token-tampered-accepted")
        .map(|f| f.location.as_deref().unwrap())
        .collect();
    assert_eq!(tampered.len(), 2, "signature and payload");
    assert!(
        tampered[0].contains("‹token, signature changed›"),
        "{tampered:?}"
    );
    assert!(!format!("{o:?}").contains("c2lnbmF0dXJl"), "{o:#?}");
}

#[tokio::test]
async fn a_server_error_or_a_redirect_is_no_refusal() {
    let url = serve(content_service(|id, token| {
        if id == "a" && token == "aGVsbG8.c2lnbmF0dXJl" {
            (StatusCode::OK, "file")
        } else {
            (StatusCode::INTERNAL_SERVER_ERROR, "boom")
        }
    }))
    .await;
    let o = run("token", &url, fixture_params()).await;
    assert_fails_with(&o, "token-refusal-not-4xx");
    assert!(
        o.findings.iter().any(|f| f
            .message
            .contains("saw 500 (a redirect may hand the file out elsewhere")),
        "{o:#?}"
    );
}

#[test]
fn parameters_are_checked_with_every_problem_named() {
    let mut p = fixture_params();
    p["download"] = json!({ "path": "/c/download" });
    p["other_resource"] = json!("a");
    p["expiring"] = json!({ "lifetime": "20s" });
    let errors = phasegate_probes::validate("token", &crate::support::params(p)).unwrap_err();
    let keys: Vec<&str> = errors.iter().filter_map(|e| e.key.as_deref()).collect();
    assert_eq!(
        keys,
        [
            "other_resource",
            "download.path",
            "download",
            "expiring.lifetime"
        ],
        "{errors:?}"
    );
    let mut p = fixture_params();
    p["resource"] = json!("../etc");
    p["owner"]["bearer"] = json!("token");
    let errors = phasegate_probes::validate("token", &crate::support::params(p)).unwrap_err();
    let keys: Vec<&str> = errors.iter().filter_map(|e| e.key.as_deref()).collect();
    assert_eq!(keys, ["owner.bearer", "resource"], "{errors:?}");
    let mut p = fixture_params();
    p["colour"] = json!("red");
    let errors = phasegate_probes::validate("token", &crate::support::params(p)).unwrap_err();
    assert_eq!(errors[0].key.as_deref(), Some("colour"), "{errors:?}");
}

#[tokio::test]
async fn traversals_reach_the_service_encoded_and_decode_to_climbing_ids() {
    let ids = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = std::sync::Arc::clone(&ids);
    let url = serve(content_service(move |id, _| {
        seen.lock().unwrap().push(id.to_owned());
        if id == "a" {
            (StatusCode::OK, "file")
        } else {
            (StatusCode::NOT_FOUND, "no")
        }
    }))
    .await;
    run("token", &url, fixture_params()).await;
    let ids = ids.lock().unwrap();
    for climbing in ["../b", "a/../b"] {
        assert!(ids.iter().any(|id| id == climbing), "{climbing}: {ids:?}");
    }
    assert_eq!(ids.iter().filter(|id| *id == "../b").count(), 2, "{ids:?}");
}
