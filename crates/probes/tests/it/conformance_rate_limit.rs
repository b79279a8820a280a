//! Issue 9: the `rate-limit` probe against concrete limiters, one row per rule, each citing
//! where the rule comes from (RFC 6585 §4 for 429, RFC 9110 §10.2.3 for Retry-After and
//! §5.6.7 for HTTP-dates). A row passes when the verdict and the set of finding codes are
//! exactly the expected ones.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::http::{HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use serde_json::json;

use crate::support::*;

/// The headers of a refusal, made when it is sent (`now` is the server's clock).
type Headers = fn(SystemTime) -> Vec<(&'static str, String)>;

struct Row {
    name: &'static str,
    /// Requests let through before the block.
    allow: u32,
    /// How long the block lasts once it starts.
    block: Duration,
    /// The status of a refusal.
    status: u16,
    headers: Headers,
    max_wait: &'static str,
    expect: &'static [&'static str],
    /// `recovery_checked` expected, when the probe got that far.
    recovery_checked: Option<f64>,
}

const S: Duration = Duration::from_secs(1);

fn seconds(n: &'static str) -> Vec<(&'static str, String)> {
    vec![("retry-after", n.to_string())]
}

fn date(t: SystemTime) -> String {
    httpdate::fmt_http_date(t)
}

fn rows() -> Vec<Row> {
    let base = |name, headers: Headers, expect, recovery_checked| Row {
        name,
        allow: 3,
        block: S,
        status: 429,
        headers,
        max_wait: "3s",
        expect,
        recovery_checked,
    };
    vec![
        // RFC 6585 §4: 429 Too Many Requests; RFC 9110 §10.2.3: Retry-After = delay-seconds.
        base("retry-after seconds", |_| seconds("1"), &[], Some(1.0)),
        // RFC 9110 §10.2.3: Retry-After = HTTP-date (IMF-fixdate), read against the
        // response's Date.
        base(
            "retry-after IMF-fixdate",
            |now| vec![("date", date(now)), ("retry-after", date(now + S))],
            &[],
            Some(1.0),
        ),
        // RFC 9110 §5.6.7: a recipient MUST accept the obsolete RFC 850 form.
        base(
            "retry-after RFC 850 date",
            |now| {
                let t: SystemTime = now + 2 * S;
                let imf = date(t);
                // "Wed, 21 Oct 2015 07:28:00 GMT" -> "Wednesday, 21-Oct-15 07:28:00 GMT"
                let parts: Vec<&str> = imf.split([' ', ',']).filter(|p| !p.is_empty()).collect();
                let day = match parts[0] {
                    "Mon" => "Monday",
                    "Tue" => "Tuesday",
                    "Wed" => "Wednesday",
                    "Thu" => "Thursday",
                    "Fri" => "Friday",
                    "Sat" => "Saturday",
                    _ => "Sunday",
                };
                let rfc850 = format!(
                    "{day}, {}-{}-{} {} GMT",
                    parts[1],
                    parts[2],
                    &parts[3][2..],
                    parts[4]
                );
                vec![("date", date(now)), ("retry-after", rfc850)]
            },
            &[],
            Some(1.0),
        ),
        // RFC 9110 §5.6.7: and the asctime form.
        base(
            "retry-after asctime date",
            |now| {
                let imf = date(now + 2 * S);
                let p: Vec<&str> = imf.split([' ', ',']).filter(|p| !p.is_empty()).collect();
                let asctime = format!(
                    "{} {} {:>2} {} {}",
                    p[0],
                    p[2],
                    p[1].trim_start_matches('0'),
                    p[4],
                    p[3]
                );
                vec![("date", date(now)), ("retry-after", asctime)]
            },
            &[],
            Some(1.0),
        ),
        // RFC 9110 §10.2.3 with §6.6.1 (Date): a server whose clock is an hour behind ours
        // still means "in 1s"; read against our clock the date is in the past and the probe
        // would come back too early and blame the service.
        base(
            "retry-after date from a skewed clock",
            |now| {
                let skewed = now - Duration::from_secs(3600);
                vec![("date", date(skewed)), ("retry-after", date(skewed + S))]
            },
            &[],
            Some(1.0),
        ),
        // RFC 9110 §10.2.3: the server asked for 60s, more than `max_wait`: recovery is not
        // checked (no request before the server's time), which is not a failure.
        Row {
            block: Duration::from_secs(60),
            max_wait: "1s",
            ..base(
                "retry-after beyond max_wait",
                |_| seconds("60"),
                &[],
                Some(0.0),
            )
        },
        // RFC 6585 §4: Retry-After is a MAY; phasegate asks for it (proposed severity low).
        base(
            "429 without retry-after",
            |_| Vec::new(),
            &["retry-after-missing"],
            Some(0.0),
        ),
        // RFC 9110 §10.2.3: delay-seconds = 1*DIGIT, so neither words nor fractions.
        base(
            "retry-after words",
            |_| seconds("soon"),
            &["retry-after-invalid"],
            Some(0.0),
        ),
        base(
            "retry-after fraction",
            |_| seconds("1.5"),
            &["retry-after-invalid"],
            Some(0.0),
        ),
        // RFC 9110 §5.5 (singleton fields): two different values leave nothing to obey.
        base(
            "two retry-after values",
            |_| vec![("retry-after", "1".into()), ("retry-after", "5".into())],
            &["retry-after-invalid"],
            Some(0.0),
        ),
        // RFC 9110 §10.2.3: after the time asked, the request is expected to succeed.
        Row {
            block: Duration::from_secs(5),
            max_wait: "3s",
            ..base(
                "still limited after retry-after",
                |_| seconds("1"),
                &["rate-limit-not-recovered"],
                Some(1.0),
            )
        },
        // RFC 6585 §4: limiting is answered with 429; a 503 is not a rate limit.
        Row {
            status: 503,
            ..base(
                "503 instead of 429",
                |_| seconds("1"),
                &["rate-limit-not-enforced"],
                None,
            )
        },
        // phasegate rule: a 429 by request limit + 1.
        Row {
            allow: 6,
            ..base(
                "429 too late",
                |_| seconds("1"),
                &["rate-limit-not-enforced"],
                Some(1.0),
            )
        },
        // RFC 9110 §10.2.3: 0 is a valid delay.
        Row {
            block: Duration::ZERO,
            ..base("retry-after zero", |_| seconds("0"), &[], Some(1.0))
        },
    ]
}

struct Window {
    count: u32,
    blocked_at: Option<Instant>,
}

fn limiter(allow: u32, block: Duration, status: u16, headers: Headers) -> Router {
    let window = Arc::new(Mutex::new(Window {
        count: 0,
        blocked_at: None,
    }));
    Router::new().route(
        "/api/login",
        post(move || {
            let window = window.clone();
            async move {
                let mut w = window.lock().unwrap();
                if let Some(at) = w.blocked_at
                    && at.elapsed() >= block
                {
                    w.blocked_at = None;
                    w.count = 0;
                }
                if w.blocked_at.is_none() {
                    w.count += 1;
                    if w.count <= allow {
                        return "ok".into_response();
                    }
                    w.blocked_at = Some(Instant::now());
                }
                let mut resp = StatusCode::from_u16(status).unwrap().into_response();
                for (name, value) in headers(SystemTime::now()) {
                    resp.headers_mut()
                        .append(name, HeaderValue::from_str(&value).unwrap());
                }
                resp
            }
        }),
    )
}

#[tokio::test]
async fn rate_limit_conformance() {
    let rows = rows();
    assert!(rows.len() >= 10);
    let mut wrong = Vec::new();
    for r in rows {
        let url = serve(limiter(r.allow, r.block, r.status, r.headers)).await;
        let p =
            json!({ "path": "/api/login", "limit": 3, "max_requests": 10, "max_wait": r.max_wait });
        let o = run("rate-limit", &url, p).await;
        let checked = o.measurements.get("recovery_checked").copied();
        if !crate::support::row_holds(&o, r.expect) || checked != r.recovery_checked {
            wrong.push(format!(
                "{}: expected {:?} recovery_checked {:?}, got {:?} {checked:?} {:#?}",
                r.name, r.expect, r.recovery_checked, o.verdict, o.findings
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
