//! The `cors` probe's conformance suite (issue 9): one row per concrete server behaviour, served
//! on 127.0.0.1:0, with the verdict and the exact set of finding codes a browser following the
//! Fetch standard (https://fetch.spec.whatwg.org/) implies. Each row names the Fetch step it
//! exercises:
//!
//! - "CORS check" (§4.10): ACAO must be `*` (not with credentials) or exactly the request's
//!   origin, one value; with credentials ACAC must be exactly `true`.
//! - "CORS-preflight fetch" (§4.9): the preflight is not redirected, needs an ok status
//!   (200–299) and the CORS check; then the method (byte-exact unless CORS-safelisted, `*` only
//!   without credentials) and each CORS-unsafe header name (case-insensitive, `*` only without
//!   credentials and never for `Authorization`) must be allowed; Access-Control-Max-Age is read
//!   as 5 s when absent or invalid.
//! - "HTTP fetch" runs the CORS check on every response of a CORS request, redirects included;
//!   "HTTP-redirect fetch" follows them (the probe only within the base URL's origin).
//! - "CORS protocol and HTTP caches" (§3.2.5): `Vary: Origin` when the answer depends on
//!   Origin, also on the responses without ACAO; a static ACAO needs none.

use axum::Router;
use phasegate_model::Verdict;
use serde_json::{Value, json};

use crate::support::*;

const APP: &str = "https://app.example.com";

/// What the fixture saw of one request.
struct Req {
    path: String,
    origin: Option<String>,
    /// OPTIONS with Access-Control-Request-Method.
    preflight: bool,
}

/// A status and headers (a header named twice is sent twice).
type Resp = (u16, Vec<(&'static str, String)>);

struct Row {
    name: &'static str,
    /// Parameters over [`base_params`].
    params: Value,
    serve: fn(&Req) -> Resp,
    verdict: Verdict,
    /// The exact set of finding codes.
    codes: &'static [&'static str],
    /// Requests sent, when the row is about the count.
    requests: Option<u32>,
    /// A substring of some finding's location, when the row is about where.
    at: Option<&'static str>,
}

fn base_params() -> Value {
    json!({
        "path": "/api",
        "allowed": [APP],
        "credentials": true,
        "request_headers": ["content-type", "authorization"],
    })
}

/// A correct exact allow-list: ACAO + ACAC for `APP` only, Vary on everything, preflights
/// answered 204 with methods, headers and a 10 minute max-age.
fn good(r: &Req) -> Resp {
    answer(r, r.origin.as_deref().filter(|o| *o == APP))
}

/// The answer of a server granting `acao` (if any) to this request.
fn answer(r: &Req, acao: Option<&str>) -> Resp {
    let mut h = vec![("vary", "Origin".to_string())];
    if let Some(acao) = acao {
        h.push(("access-control-allow-origin", acao.to_string()));
        h.push(("access-control-allow-credentials", "true".to_string()));
        if r.preflight {
            h.push(("access-control-allow-methods", "GET, POST, PUT".to_string()));
            h.push((
                "access-control-allow-headers",
                "content-type, authorization".to_string(),
            ));
            h.push(("access-control-max-age", "600".to_string()));
        }
    }
    (if r.preflight { 204 } else { 200 }, h)
}

/// `resp` with header `name` replaced by `value` (added if absent).
fn set(mut resp: Resp, name: &'static str, value: &str) -> Resp {
    resp.1.retain(|(n, _)| *n != name);
    resp.1.push((name, value.to_string()));
    resp
}

/// `resp` with header `name` removed.
fn without(mut resp: Resp, name: &str) -> Resp {
    resp.1.retain(|(n, _)| *n != name);
    resp
}

/// `resp` changed only on preflights.
fn on_preflight(r: &Req, resp: Resp, change: impl FnOnce(Resp) -> Resp) -> Resp {
    if r.preflight { change(resp) } else { resp }
}

fn is_app(r: &Req) -> bool {
    r.origin.as_deref() == Some(APP)
}

fn rows() -> Vec<Row> {
    let row = |name, params: Value, serve: fn(&Req) -> Resp, codes: &'static [&'static str]| Row {
        name,
        params,
        serve,
        verdict: crate::support::expected_verdict(codes),
        codes,
        requests: None,
        at: None,
    };
    vec![
        // CORS check + CORS-preflight fetch, all satisfied. 1 allowed + 7 foreign origins.
        Row {
            requests: Some(2 + 2 * 7),
            ..row("exact allow-list passes", json!({}), good, &[])
        },
        // CORS check: no ACAO at all fails the allowed origin on both requests.
        row(
            "no CORS headers at all",
            json!({}),
            |r| (if r.preflight { 204 } else { 200 }, vec![]),
            // The preflight lacks ACAH as well: every broken rule is reported at once.
            &[
                "cors-allowed-origin-refused",
                "cors-preflight-headers-missing",
            ],
        ),
        // CORS-preflight fetch: "If ... response's status is not an ok status, return a network
        // error" — a 405 carrying every CORS header still blocks the request (a false pass
        // before issue 9).
        row(
            "preflight 405 with every CORS header",
            json!({}),
            |r| on_preflight(r, good(r), |(_, h)| (405, h)),
            &["cors-preflight-not-ok"],
        ),
        // CORS-preflight fetch: a 403 without CORS headers fails on both counts.
        row(
            "preflight 403 for everyone",
            json!({}),
            |r| on_preflight(r, good(r), |_| (403, vec![("vary", "Origin".into())])),
            &[
                "cors-allowed-origin-refused",
                "cors-preflight-headers-missing",
                "cors-preflight-not-ok",
            ],
        ),
        // CORS-preflight fetch: the preflight is not redirected; a 3xx is not an ok status.
        Row {
            requests: Some(2 + 2 * 7),
            ..row(
                "preflight redirected",
                json!({}),
                |r| {
                    on_preflight(r, good(r), |(_, h)| {
                        set((308, h), "location", "/api/preflight")
                    })
                },
                &["cors-preflight-not-ok"],
            )
        },
        // CORS-preflight fetch: a browser preflights nothing for GET without unsafe headers, so
        // a server without OPTIONS handling is correct then.
        row(
            "no preflight needed, none answered",
            json!({ "request_headers": [] }),
            |r| {
                if r.preflight { (405, vec![]) } else { good(r) }
            },
            &[],
        ),
        // CORS check: `*` passes for every origin without credentials, foreign ones included.
        row(
            "wildcard without credentials",
            json!({ "credentials": false }),
            |r| without(answer(r, Some("*")), "access-control-allow-credentials"),
            &["cors-foreign-origin-allowed"],
        ),
        // CORS check: `*` with credentials fails a credentialed request.
        row(
            "wildcard with credentials",
            json!({}),
            |r| answer(r, Some("*")),
            &[
                "cors-allowed-origin-mismatch",
                "cors-foreign-origin-allowed",
                "cors-wildcard-with-credentials",
            ],
        ),
        // CORS check: a reflected origin with ACAC passes for any origin — universal access.
        Row {
            at: Some("GET /api (Origin: null)"),
            ..row(
                "reflect any origin with credentials",
                json!({}),
                |r| answer(r, r.origin.as_deref()),
                &["cors-origin-reflected"],
            )
        },
        // CORS check without credentials: reflection admits every origin.
        row(
            "reflect any origin without credentials",
            json!({ "credentials": false }),
            |r| {
                without(
                    answer(r, r.origin.as_deref()),
                    "access-control-allow-credentials",
                )
            },
            &["cors-foreign-origin-allowed"],
        ),
        // CORS protocol and HTTP caches: reflection depends on Origin, so Vary is required.
        row(
            "reflect any origin, no Vary (the sample's flaw)",
            json!({}),
            |r| without(answer(r, r.origin.as_deref()), "vary"),
            &["cors-origin-reflected", "cors-vary-missing"],
        ),
        // CORS protocol and HTTP caches: a static ACAO sent to everyone needs no Vary, and it
        // grants foreign origins nothing (CORS check: not their origin). A false fail before
        // issue 9.
        row(
            "fixed ACAO for everyone, no Vary",
            json!({}),
            |r| without(answer(r, Some(APP)), "vary"),
            &[],
        ),
        // CORS protocol and HTTP caches: ACAO only for the allowed origin depends on Origin.
        Row {
            at: Some("(Origin: https://app.example.com)"),
            ..row(
                "exact allow-list without Vary",
                json!({}),
                |r| without(good(r), "vary"),
                &["cors-vary-missing"],
            )
        },
        // CORS protocol and HTTP caches: the responses without ACAO need Vary too, or a cached
        // refusal is served to the allowed origin.
        Row {
            at: Some("(Origin: https://evil.example)"),
            ..row(
                "Vary only where ACAO is sent",
                json!({}),
                |r| if is_app(r) { good(r) } else { (200, vec![]) },
                &["cors-vary-missing"],
            )
        },
        // CORS check: ACAC must be byte-exactly `true`.
        row(
            "ACAC True",
            json!({}),
            |r| {
                let resp = good(r);
                if is_app(r) {
                    set(resp, "access-control-allow-credentials", "True")
                } else {
                    resp
                }
            },
            &["cors-credentials-missing"],
        ),
        // CORS check: with credentials ACAC is required.
        row(
            "ACAC missing with credentials",
            json!({}),
            |r| without(good(r), "access-control-allow-credentials"),
            &["cors-credentials-missing"],
        ),
        // CORS check: without credentials ACAC is not looked at.
        row(
            "ACAC missing without credentials",
            json!({ "credentials": false }),
            |r| without(good(r), "access-control-allow-credentials"),
            &[],
        ),
        // CORS check: two ACAO headers combine to "a, a", which is not the origin.
        row(
            "ACAO sent twice",
            json!({}),
            |r| {
                let mut resp = good(r);
                if is_app(r) {
                    resp.1
                        .push(("access-control-allow-origin", APP.to_string()));
                }
                resp
            },
            &["cors-allowed-origin-mismatch"],
        ),
        // CORS check: byte equality with the serialized origin; a trailing slash fails.
        row(
            "ACAO with a trailing slash",
            json!({}),
            |r| answer(r, is_app(r).then_some("https://app.example.com/")),
            &["cors-allowed-origin-mismatch"],
        ),
        // CORS check: byte equality; an upper-cased origin fails.
        row(
            "ACAO upper-cased",
            json!({}),
            |r| answer(r, is_app(r).then_some("HTTPS://APP.EXAMPLE.COM")),
            &["cors-allowed-origin-mismatch"],
        ),
        // CORS-preflight fetch: every CORS-unsafe header name must be in ACAH.
        row(
            "ACAH misses authorization",
            json!({}),
            |r| {
                let resp = good(r);
                if is_app(r) && r.preflight {
                    set(resp, "access-control-allow-headers", "content-type")
                } else {
                    resp
                }
            },
            &["cors-preflight-headers-missing"],
        ),
        // CORS-preflight fetch: header names match case-insensitively.
        row(
            "ACAH in other case",
            json!({}),
            |r| {
                let resp = good(r);
                if is_app(r) && r.preflight {
                    set(
                        resp,
                        "access-control-allow-headers",
                        "Content-Type,AUTHORIZATION",
                    )
                } else {
                    resp
                }
            },
            &[],
        ),
        // CORS-preflight fetch: `*` never covers Authorization (a "CORS non-wildcard
        // request-header name"), even without credentials.
        row(
            "ACAH wildcard and authorization",
            json!({ "credentials": false }),
            |r| {
                let resp = without(good(r), "access-control-allow-credentials");
                if is_app(r) && r.preflight {
                    set(resp, "access-control-allow-headers", "*")
                } else {
                    resp
                }
            },
            &["cors-preflight-headers-missing"],
        ),
        // CORS-preflight fetch: `*` covers other headers without credentials.
        row(
            "ACAH wildcard without credentials",
            json!({ "credentials": false, "request_headers": ["content-type", "x-request-id"] }),
            |r| {
                let resp = without(good(r), "access-control-allow-credentials");
                if is_app(r) && r.preflight {
                    set(resp, "access-control-allow-headers", "*")
                } else {
                    resp
                }
            },
            &[],
        ),
        // CORS-preflight fetch: with credentials `*` is a literal header name.
        row(
            "ACAH wildcard with credentials",
            json!({ "request_headers": ["content-type"] }),
            |r| {
                let resp = good(r);
                if is_app(r) && r.preflight {
                    set(resp, "access-control-allow-headers", "*")
                } else {
                    resp
                }
            },
            &["cors-preflight-headers-missing"],
        ),
        // CORS-preflight fetch: a method that is not CORS-safelisted must be in ACAM.
        row(
            "ACAM misses the method",
            json!({ "method": "DELETE" }),
            good,
            &["cors-preflight-method-missing"],
        ),
        // CORS-preflight fetch: methods match byte for byte; `patch` does not allow PATCH
        // (Fetch upper-cases only DELETE, GET, HEAD, OPTIONS, POST and PUT).
        row(
            "ACAM lower-case patch",
            json!({ "method": "PATCH" }),
            |r| {
                let resp = good(r);
                if is_app(r) && r.preflight {
                    set(resp, "access-control-allow-methods", "GET, patch")
                } else {
                    resp
                }
            },
            &["cors-preflight-method-missing"],
        ),
        // Fetch normalizes `put` to PUT before matching ACAM.
        row(
            "method put normalized",
            json!({ "method": "put" }),
            good,
            &[],
        ),
        // CORS-preflight fetch: `*` allows any method without credentials.
        row(
            "ACAM wildcard without credentials",
            json!({ "method": "DELETE", "credentials": false }),
            |r| {
                let resp = without(good(r), "access-control-allow-credentials");
                if is_app(r) && r.preflight {
                    set(resp, "access-control-allow-methods", "*")
                } else {
                    resp
                }
            },
            &[],
        ),
        // CORS-preflight fetch: with credentials `*` is a literal method name.
        row(
            "ACAM wildcard with credentials",
            json!({ "method": "DELETE" }),
            |r| {
                let resp = good(r);
                if is_app(r) && r.preflight {
                    set(resp, "access-control-allow-methods", "*")
                } else {
                    resp
                }
            },
            &["cors-preflight-method-missing"],
        ),
        // CORS-preflight fetch, max-age: 600 s meets a 10 minute floor.
        row(
            "max-age meets the floor",
            json!({ "max_age_at_least": "10m" }),
            good,
            &[],
        ),
        // Max-age below the floor.
        row(
            "max-age below the floor",
            json!({ "max_age_at_least": "1h" }),
            good,
            &["cors-max-age-too-short"],
        ),
        // An invalid max-age is read as the default 5 s.
        row(
            "max-age invalid",
            json!({ "max_age_at_least": "1m" }),
            |r| {
                let resp = good(r);
                if is_app(r) && r.preflight {
                    set(resp, "access-control-max-age", "10m")
                } else {
                    resp
                }
            },
            &["cors-max-age-too-short"],
        ),
        // CORS check on look-alikes: a suffix match reflects them with credentials.
        Row {
            at: Some("GET /api (Origin: https://evilapp.example.com)"),
            ..row(
                "suffix-matching allow-list",
                json!({}),
                |r| {
                    answer(
                        r,
                        r.origin
                            .as_deref()
                            .filter(|o| o.ends_with("app.example.com")),
                    )
                },
                &["cors-origin-reflected"],
            )
        },
        // CORS check: `null` is an origin a sandboxed iframe sends; ACAO null grants it.
        Row {
            at: Some("(Origin: null)"),
            ..row(
                "null origin allowed",
                json!({}),
                |r| {
                    let origin = r.origin.as_deref();
                    answer(r, origin.filter(|o| *o == APP || *o == "null"))
                },
                &["cors-origin-reflected"],
            )
        },
        // CORS-preflight fetch: a foreign origin's preflight reflected but answered 403 grants
        // nothing (not an ok status), and its simple request gets no ACAO.
        row(
            "foreign preflight 403 with reflected ACAO",
            json!({}),
            |r| {
                if r.preflight && !is_app(r) {
                    (403, answer(r, r.origin.as_deref()).1)
                } else {
                    good(r)
                }
            },
            &[],
        ),
        // HTTP-redirect fetch: a same-origin redirect is followed; each hop is a request and
        // must pass the CORS check (HTTP fetch) as the final response does.
        Row {
            requests: Some(8 * (2 + 1)),
            ..row(
                "same-origin redirect with CORS on both",
                json!({}),
                |r| {
                    if r.path == "/api" && !r.preflight {
                        set(good(r), "location", "/api/v2").pipe(|(_, h)| (301, h))
                    } else {
                        good(r)
                    }
                },
                &[],
            )
        },
        // HTTP fetch: a redirect without ACAO fails the CORS request before it is followed.
        Row {
            at: Some(
                "GET /api (Origin: https://app.example.com) -> 302 /api/v2 (its 302 to /api/v2)",
            ),
            ..row(
                "redirect hop without CORS headers",
                json!({}),
                |r| {
                    if r.path == "/api" && !r.preflight {
                        (
                            302,
                            vec![
                                ("location", "/api/v2".to_string()),
                                ("vary", "Origin".into()),
                            ],
                        )
                    } else {
                        good(r)
                    }
                },
                &["cors-allowed-origin-refused"],
            )
        },
        // The probe talks only to the base URL: a cross-origin redirect is reported, not
        // followed (no connection to 127.0.0.2), and the 3xx is judged.
        Row {
            requests: Some(2 + 2 * 7),
            ..row(
                "cross-origin redirect",
                json!({}),
                |r| {
                    if r.preflight {
                        good(r)
                    } else {
                        set(good(r), "location", "http://127.0.0.2:9/api").pipe(|(_, h)| (302, h))
                    }
                },
                &["redirect-off-origin"],
            )
        },
        // Redirects are bounded: a loop stops after 5 hops, each one a request.
        Row {
            requests: Some(8 * (1 + 5 + 1)),
            ..row(
                "redirect loop",
                json!({}),
                |r| {
                    if r.preflight {
                        good(r)
                    } else {
                        set(good(r), "location", "/api").pipe(|(_, h)| (307, h))
                    }
                },
                &["redirect-limit-exceeded"],
            )
        },
    ]
}

/// `x.pipe(f)` is `f(x)`: keeps the response builders above readable left to right.
trait Pipe: Sized {
    fn pipe<T>(self, f: impl FnOnce(Self) -> T) -> T {
        f(self)
    }
}

impl<T> Pipe for T {}

async fn serve_row(policy: fn(&Req) -> Resp) -> url::Url {
    let app = Router::new().fallback(move |req: axum::extract::Request| async move {
        let h = req.headers();
        let r = Req {
            path: req.uri().path().to_string(),
            origin: h
                .get("origin")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            preflight: req.method() == "OPTIONS" && h.contains_key("access-control-request-method"),
        };
        let (status, headers) = policy(&r);
        let mut resp = axum::response::Response::builder().status(status);
        for (name, value) in headers {
            resp = resp.header(name, value);
        }
        resp.body(axum::body::Body::empty()).unwrap()
    });
    serve(app).await
}

#[tokio::test]
async fn cors_conformance_table() {
    let rows = rows();
    assert!(rows.len() >= 25, "the suite has {} rows", rows.len());
    let mut failures = Vec::new();
    for row in &rows {
        let mut p = base_params();
        for (k, v) in row.params.as_object().unwrap() {
            p[k] = v.clone();
        }
        let url = serve_row(row.serve).await;
        let o = run("cors", &url, p).await;
        let mut got: Vec<&str> = codes(&o);
        got.sort_unstable();
        got.dedup();
        let mut want = row.codes.to_vec();
        want.sort_unstable();
        let mut wrong = Vec::new();
        if o.verdict != row.verdict {
            wrong.push(format!(
                "verdict {:?}, expected {:?}",
                o.verdict, row.verdict
            ));
        }
        if got != want {
            wrong.push(format!("codes {got:?}, expected {want:?}"));
        }
        if let Some(n) = row.requests.filter(|n| *n != o.requests) {
            wrong.push(format!("{} requests, expected {n}", o.requests));
        }
        if let Some(at) = row.at {
            let seen = o
                .findings
                .iter()
                .any(|f| f.location.as_deref().is_some_and(|l| l.contains(at)));
            if !seen {
                wrong.push(format!("no finding at {at:?}"));
            }
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "{}: {}\n{:#?}",
                row.name,
                wrong.join("; "),
                o.findings
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
