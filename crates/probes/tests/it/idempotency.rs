//! `idempotency` against the sample service's checkout, clean and with `idempotency-ignored`,
//! and against a hand-written route for the edges.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use phasegate_sample_service::Flaw;
use serde_json::{Value, json};

use crate::support::*;

/// The demo's gate, plus an effect: the pending payments a platform admin sees.
fn params(with_effect: bool) -> Value {
    let mut p = json!({
        "setup": [
            { "method": "POST", "path": "/api/v1/auth/sign-in",
              "json": { "email": "member@example.com", "password": "correct-horse" },
              "capture": { "token": "/token" } },
            { "method": "POST", "path": "/api/v1/auth/sign-in",
              "json": { "email": "platform@example.com", "password": "correct-horse" },
              "capture": { "admin": "/token" } },
        ],
        "request": {
            "method": "POST", "path": "/api/v1/checkout",
            "headers": { "Authorization": "Bearer {{token}}" },
            "json": { "plan": "monthly" },
        },
        "compare": "/payment_id",
        "different": { "/plan": "yearly" },
    });
    if with_effect {
        p["effect"] = json!({ "path": "/api/v1/ops/summary", "headers": { "Authorization": "Bearer {{admin}}" } });
        p["effect_pointer"] = json!("/payments_pending");
    }
    p
}

async fn against(flaws: &[Flaw], with_effect: bool) -> phasegate_probes::Outcome {
    let (url, _dir) = sample_service(|c| {
        c.rate_limit = 1000;
        c.flaws.extend(flaws);
    })
    .await;
    run("idempotency", &url, params(with_effect)).await
}

#[tokio::test]
async fn the_clean_checkout_passes_with_and_without_an_effect() {
    for with_effect in [true, false] {
        let o = against(&[], with_effect).await;
        assert_pass(&o);
        assert!(o.findings.is_empty(), "{o:#?}");
        assert_eq!(
            o.measurements["effect_checked"],
            f64::from(u8::from(with_effect))
        );
        assert!(!format!("{o:?}").contains("Bearer "), "{o:#?}");
    }
}

#[tokio::test]
async fn an_ignored_key_fails_on_answers_effects_and_reuse() {
    let o = against(&[Flaw::IdempotencyIgnored], true).await;
    for code in [
        "idempotency-different-answer",
        "idempotency-second-effect",
        "idempotency-key-reuse-not-refused",
    ] {
        assert_fails_with(&o, code);
    }
    let text = &o
        .findings
        .iter()
        .find(|f| f.code == "idempotency-second-effect")
        .unwrap()
        .message;
    assert!(
        text.contains("repeating the request with the same key had a second effect on GET /api/v1/ops/summary: the value went from 1 to 2"),
        "{text}"
    );
    // Answers alone show it too, without an effect request.
    let o = against(&[Flaw::IdempotencyIgnored], false).await;
    assert_fails_with(&o, "idempotency-different-answer");
    let text = &o.findings[0].message;
    assert!(
        text.contains("`/payment_id` differs: the value went from pay_"),
        "{text}"
    );
}

/// A route that refuses everything also refuses the reuse: still no pass.
#[tokio::test]
async fn a_route_that_refuses_everything_fails() {
    let app = Router::new()
        .route(
            "/api/v1/auth/sign-in",
            post(|| async { axum::Json(json!({ "token": "t" })) }),
        )
        .route(
            "/api/v1/checkout",
            post(|| async { StatusCode::UNPROCESSABLE_ENTITY }),
        );
    let url = serve(app).await;
    let o = run("idempotency", &url, params(false)).await;
    assert_fails_with(&o, "idempotency-request-failed");
    assert_eq!(codes(&o), ["idempotency-request-failed"]);
}

/// Keys being processed and keys done (with their plan and answer).
#[derive(Default)]
struct Store {
    busy: HashSet<String>,
    done: HashMap<String, (String, Value)>,
}

/// A checkout that takes 200ms and answers a copy arriving meanwhile with `in_progress`.
fn slow_checkout(in_progress: StatusCode) -> Router {
    let store = Arc::new(Mutex::new(Store::default()));
    let checkout = move |headers: HeaderMap, body: axum::Json<Value>| {
        let store = store.clone();
        async move {
            let key = headers["idempotency-key"].to_str().unwrap().to_owned();
            let plan = body.0["plan"].as_str().unwrap().to_owned();
            {
                let mut s = store.lock().unwrap();
                if s.busy.contains(&key) {
                    return (in_progress, axum::Json(json!({ "error": "in progress" })));
                }
                if let Some((first, answer)) = s.done.get(&key) {
                    let status = if *first == plan {
                        StatusCode::OK
                    } else {
                        StatusCode::UNPROCESSABLE_ENTITY
                    };
                    return (status, axum::Json(answer.clone()));
                }
                s.busy.insert(key.clone());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            let answer = json!({ "payment_id": format!("pay_{key}") });
            let mut s = store.lock().unwrap();
            s.busy.remove(&key);
            s.done.insert(key, (plan, answer.clone()));
            (StatusCode::OK, axum::Json(answer))
        }
    };
    Router::new().route("/api/v1/checkout", post(checkout))
}

/// The bearer token the fake sign-ins hand out; it must never show in an outcome.
const FAKE_TOKEN: &str = "tok-1a2b3c4d5e6f";

/// [`slow_checkout`] behind a sign-in that always answers.
fn signed_in(in_progress: StatusCode) -> Router {
    slow_checkout(in_progress).route(
        "/api/v1/auth/sign-in",
        post(|| async { axum::Json(json!({ "token": FAKE_TOKEN })) }),
    )
}

/// The IETF draft answers a copy arriving while the first is in progress with 409: that
/// passes; a 500 does not.
#[tokio::test]
async fn a_409_for_the_copy_in_progress_is_accepted_a_500_is_not() {
    let url = serve(signed_in(StatusCode::CONFLICT)).await;
    assert_pass(&run("idempotency", &url, params(false)).await);
    let url = serve(signed_in(StatusCode::INTERNAL_SERVER_ERROR)).await;
    let o = run("idempotency", &url, params(false)).await;
    assert_fails_with(&o, "idempotency-repeat-refused");
    assert!(!format!("{o:?}").contains(FAKE_TOKEN));
    assert!(o.findings[0].message.contains("saw 200 and 500"), "{o:#?}");
}

#[test]
fn parameters_are_checked_together() {
    let mut p = params(true);
    p["different"] = json!({ "/plan": "monthly", "/missing": 1 });
    p["compare"] = json!("payment_id");
    p["request"]["capture"] = json!({ "x": "/x" });
    p["effect_ignore"] = json!([""]);
    let errors = phasegate_probes::validate("idempotency", &crate::support::params(p)).unwrap_err();
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let text = text.join("\n");
    for part in [
        "\"/plan\" is already \"monthly\"",
        "no value at \"/missing\"",
        "`compare`: expected a JSON pointer",
        "`expect` and `capture` belong in `setup`",
        "`effect_ignore`: an empty pointer",
    ] {
        assert!(text.contains(part), "{part} in {text}");
    }
    let mut p = params(false);
    p["request"].as_object_mut().unwrap().remove("json");
    let errors = phasegate_probes::validate("idempotency", &crate::support::params(p)).unwrap_err();
    assert!(errors[0].to_string().contains("expected a `json` body"));
}

/// Sign-in answers 429 once (other gates sign in too): setup waits it out.
#[tokio::test]
async fn a_rate_limited_setup_request_is_waited_out() {
    let calls = Arc::new(Mutex::new(0u32));
    let sign_in = move || {
        let calls = calls.clone();
        async move {
            let mut n = calls.lock().unwrap();
            *n += 1;
            if *n == 1 {
                (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")], "{}").into_response()
            } else {
                axum::Json(json!({ "token": "t" })).into_response()
            }
        }
    };
    let app = slow_checkout(StatusCode::CONFLICT).route("/api/v1/auth/sign-in", post(sign_in));
    let url = serve(app).await;
    let started = std::time::Instant::now();
    assert_pass(&run("idempotency", &url, params(false)).await);
    assert!(started.elapsed() >= Duration::from_secs(1));
}
