use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use phasegate_model::Verdict;
use serde_json::json;

use crate::support::*;

const CSP: &str = "default-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'";

/// A site whose every response (404 and 405 included) gets `headers`, except where told.
#[derive(Clone)]
struct Site {
    headers: Vec<(&'static str, String)>,
    /// (path, header) a route leaves out.
    drop_on: Option<(&'static str, &'static str)>,
    bare_404: bool,
}

fn good() -> Site {
    Site {
        headers: vec![
            (
                "strict-transport-security",
                "max-age=31536000; includeSubDomains".into(),
            ),
            ("content-security-policy", CSP.into()),
            ("x-content-type-options", "nosniff".into()),
            ("referrer-policy", "strict-origin-when-cross-origin".into()),
            ("server", "fixture".into()),
            ("cross-origin-opener-policy", "same-origin".into()),
            ("cross-origin-resource-policy", "same-origin".into()),
            ("permissions-policy", "camera=(), microphone=()".into()),
        ],
        drop_on: None,
        bare_404: false,
    }
}

impl Site {
    fn set(mut self, name: &'static str, value: &str) -> Site {
        self.headers.retain(|(n, _)| *n != name);
        self.headers.push((name, value.to_string()));
        self
    }

    fn without(mut self, name: &'static str) -> Site {
        self.headers.retain(|(n, _)| *n != name);
        self
    }

    fn router(self, cookie: &'static str) -> Router {
        let site = Arc::new(self);
        let set_cookie =
            move || async move { ([("set-cookie", cookie)], "<html><body>hi</body></html>") };
        Router::new()
            .route("/", get(set_cookie))
            .route("/legacy", get(|| async { "legacy" }))
            .layer(middleware::from_fn(move |req: Request, next: Next| {
                let site = site.clone();
                async move {
                    let path = req.uri().path().to_string();
                    let mut resp: Response = next.run(req).await;
                    if site.bare_404 && resp.status() == StatusCode::NOT_FOUND {
                        return resp;
                    }
                    for (name, value) in &site.headers {
                        if site.drop_on.is_some_and(|(p, h)| p == path && h == *name) {
                            continue;
                        }
                        resp.headers_mut().append(
                            HeaderName::from_static(name),
                            HeaderValue::from_str(value).unwrap(),
                        );
                    }
                    resp
                }
            }))
    }
}

const GOOD_COOKIE: &str = "sid=abc; Path=/; Secure; HttpOnly; SameSite=Lax";

async fn probe(site: Site, cookie: &'static str) -> phasegate_probes::Outcome {
    let url = serve(site.router(cookie)).await;
    run(
        "headers",
        &url,
        json!({ "paths": ["/", "/legacy"], "session_cookies": ["sid"], "https": "yes" }),
    )
    .await
}

#[tokio::test]
async fn good_site_passes_on_every_route_and_error_page() {
    let o = probe(good(), GOOD_COOKIE).await;
    assert_pass(&o);
    assert_eq!(
        o.requests, 4,
        "two paths, the unknown path and the unknown method"
    );
}

#[tokio::test]
async fn missing_hsts_fails_but_only_where_https_applies() {
    let o = probe(good().without("strict-transport-security"), GOOD_COOKIE).await;
    assert_fails_with(&o, "hsts-missing");
    // On a plain http URL with https = "auto", HSTS and Secure do not apply.
    let url = serve(
        good()
            .without("strict-transport-security")
            .router("sid=abc; HttpOnly; SameSite=Lax"),
    )
    .await;
    assert_pass(&run("headers", &url, json!({ "session_cookies": ["sid"] })).await);
}

#[tokio::test]
async fn short_or_duplicate_hsts_fails() {
    let o = probe(
        good().set("strict-transport-security", "max-age=0"),
        GOOD_COOKIE,
    )
    .await;
    assert_fails_with(&o, "hsts-max-age-too-short");
    let o = probe(
        good().set(
            "strict-transport-security",
            "max-age=31536000, max-age=31536000",
        ),
        GOOD_COOKIE,
    )
    .await;
    assert_fails_with(&o, "hsts-invalid");
}

#[tokio::test]
async fn csp_with_unsafe_inline_fails_unless_a_nonce_is_present() {
    let o = probe(good().set("content-security-policy", "default-src 'self'; script-src 'self' 'unsafe-inline'; object-src 'none'; frame-ancestors 'none'; form-action 'self'"), GOOD_COOKIE).await;
    assert_fails_with(&o, "csp-unsafe-inline");
    let o = probe(good().set("content-security-policy", "default-src 'self'; script-src 'nonce-r4nd' 'unsafe-inline'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"), GOOD_COOKIE).await;
    assert_pass(&o);
}

#[tokio::test]
async fn report_only_alone_is_not_a_policy() {
    let site = good()
        .without("content-security-policy")
        .set("content-security-policy-report-only", CSP);
    let o = probe(site, GOOD_COOKIE).await;
    assert_fails_with(&o, "csp-report-only");
}

#[tokio::test]
async fn frame_ancestors_star_is_not_protection() {
    let site = good().set(
        "content-security-policy",
        "default-src 'self'; object-src 'none'; frame-ancestors *; form-action 'self'",
    );
    let o = probe(site.clone().set("x-frame-options", "DENY"), GOOD_COOKIE).await;
    assert_fails_with(&o, "framing-frame-ancestors-open");
}

#[tokio::test]
async fn x_frame_options_allow_from_fails_and_deny_passes() {
    let site = good().set(
        "content-security-policy",
        "default-src 'self'; object-src 'none'; form-action 'self'",
    );
    assert_fails_with(&probe(site.clone(), GOOD_COOKIE).await, "framing-missing");
    let o = probe(
        site.clone()
            .set("x-frame-options", "ALLOW-FROM https://a.example"),
        GOOD_COOKIE,
    )
    .await;
    assert_fails_with(&o, "xfo-allow-from");
    assert_pass(&probe(site.set("x-frame-options", "DENY"), GOOD_COOKIE).await);
}

#[tokio::test]
async fn nosniff_and_referrer_policy() {
    assert_fails_with(
        &probe(good().without("x-content-type-options"), GOOD_COOKIE).await,
        "nosniff-missing",
    );
    assert_fails_with(
        &probe(good().set("referrer-policy", "unsafe-url"), GOOD_COOKIE).await,
        "referrer-policy-unsafe",
    );
    // The last valid token wins.
    assert_pass(
        &probe(
            good().set("referrer-policy", "unsafe-url, no-referrer, bogus"),
            GOOD_COOKIE,
        )
        .await,
    );
}

#[tokio::test]
async fn x_powered_by_and_server_version_fail() {
    // Banners are low-severity findings: they fail a gate whose threshold is low.
    let low = phasegate_model::Severity::Low;
    assert_fails_with(
        &probe(good().set("x-powered-by", "Express"), GOOD_COOKIE)
            .await
            .judged(low),
        "x-powered-by",
    );
    assert_fails_with(
        &probe(good().set("server", "nginx/1.22.1"), GOOD_COOKIE)
            .await
            .judged(low),
        "server-version",
    );
    let o = run_with_rules(good().set("server", "nginx/1.22.1")).await;
    assert_pass(&o);
}

async fn run_with_rules(site: Site) -> phasegate_probes::Outcome {
    let url = serve(site.router(GOOD_COOKIE)).await;
    run(
        "headers",
        &url,
        json!({ "https": "yes", "session_cookies": ["sid"], "rules": { "server_version": false } }),
    )
    .await
}

#[tokio::test]
async fn named_session_cookie_without_httponly_fails_though_its_name_has_no_sess() {
    let o = probe(good(), "sid=abc; Path=/; Secure; SameSite=Lax").await;
    assert_fails_with(&o, "cookie-session-not-httponly");
    assert_eq!(o.findings.len(), 1, "reported once, not per route: {o:#?}");
    assert_eq!(o.findings[0].location.as_deref(), Some("GET /"));
}

#[tokio::test]
async fn cookie_without_secure_or_samesite_fails() {
    let o = probe(good(), "sid=abc; Path=/; HttpOnly").await;
    assert_fails_with(&o, "cookie-not-secure");
    assert_fails_with(&o, "cookie-samesite-missing");
    let o = probe(good(), "sid=abc; Path=/; HttpOnly; SameSite=None").await;
    assert_fails_with(&o, "cookie-samesite-invalid");
}

#[tokio::test]
async fn a_named_session_cookie_never_set_fails() {
    let url = serve(good().router(GOOD_COOKIE)).await;
    let o = run(
        "headers",
        &url,
        json!({ "https": "yes", "session_cookies": ["session"] }),
    )
    .await;
    assert_fails_with(&o, "cookie-session-not-seen");
}

#[tokio::test]
async fn a_route_that_drops_the_csp_is_flagged_with_that_route() {
    let site = Site {
        drop_on: Some(("/legacy", "content-security-policy")),
        ..good()
    };
    let o = probe(site, GOOD_COOKIE).await;
    assert_fails_with(&o, "csp-missing");
    let locations: Vec<_> = o
        .findings
        .iter()
        .map(|f| f.location.as_deref().unwrap())
        .collect();
    assert_eq!(locations, ["GET /legacy", "GET /legacy"], "{o:#?}");
    // The CSP carried the frame-ancestors protection, so framing goes with it.
    assert_fails_with(&o, "framing-missing");
}

#[tokio::test]
async fn a_bare_404_page_is_flagged() {
    let o = probe(
        Site {
            bare_404: true,
            ..good()
        },
        GOOD_COOKIE,
    )
    .await;
    assert_fails_with(&o, "csp-missing");
    assert_fails_with(&o, "hsts-missing");
    assert!(
        o.findings
            .iter()
            .all(|f| f.location.as_deref().unwrap().contains("unknown path")),
        "{o:#?}"
    );
}

#[tokio::test]
async fn login_cookies_are_checked() {
    let app = good().router(GOOD_COOKIE).route(
        "/login",
        axum::routing::post(|| async {
            (
                [("set-cookie", "sid=new; Path=/; Secure; SameSite=Strict")],
                "ok",
            )
        }),
    );
    let app = app.layer(middleware::from_fn(|req: Request, next: Next| async move {
        let mut resp = next.run(req).await;
        for (n, v) in good().headers {
            resp.headers_mut().insert(
                HeaderName::from_static(n),
                HeaderValue::from_str(&v).unwrap(),
            );
        }
        resp
    }));
    let url = serve(app).await;
    let o = run(
        "headers",
        &url,
        json!({ "https": "yes", "session_cookies": ["sid"], "login": { "path": "/login", "json": { "user": "a" } } }),
    )
    .await;
    assert_fails_with(&o, "cookie-session-not-httponly");
    assert_eq!(
        o.findings[0].location.as_deref(),
        Some("POST /login (login)")
    );
}

#[tokio::test]
async fn unreachable_service_is_an_error_not_a_fail() {
    let o = run("headers", &dead_url().await, json!({})).await;
    assert_eq!(o.verdict, Verdict::Error, "{o:#?}");
    assert!(o.findings.is_empty());
    assert!(o.reason.unwrap().contains("GET /"));
}
