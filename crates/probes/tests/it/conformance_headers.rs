//! Conformance suite for `headers`: each row is one concrete response, the verdict the
//! specifications imply and the finding codes phasegate must give, with the rule it rests on.
//! A false pass is the worst defect a probe can have and a false fail the fastest way to have
//! it switched off, so every row names its rule and the suite checks the exact set of codes.
//!
//! All rows are served by one fixture on 127.0.0.1:0: row `i` answers `GET /r/{i}`, and for
//! the sign-in rows `POST /r/{i}/login` and `GET /r/{i}/me` (which wants the login's cookie).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::support::*;

const CSP: &str = "default-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
const HTML: &str = "<!doctype html><html><head><title>t</title></head><body>hi</body></html>";

/// Headers every row starts from: a response that passes every rule.
const BASE: &[(&str, &str)] = &[
    ("content-type", "text/html; charset=utf-8"),
    (
        "strict-transport-security",
        "max-age=31536000; includeSubDomains",
    ),
    ("content-security-policy", CSP),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
    (
        "permissions-policy",
        "camera=(), microphone=(), geolocation=()",
    ),
    ("server", "fixture"),
];

/// Header fields in order, as sent.
type Fields = Vec<(&'static str, &'static str)>;

struct Row {
    name: &'static str,
    /// Fields replacing the base fields of the same name; a name listed twice is sent twice.
    set: Vec<(&'static str, &'static str)>,
    drop: Vec<&'static str>,
    body: &'static str,
    params: Value,
    /// With a login: fields of the sign-in response and of the signed-in page.
    login: Option<(Fields, Fields)>,
    expect: Vec<&'static str>,
}

fn row(name: &'static str, expect: &[&'static str]) -> Row {
    Row {
        name,
        set: Vec::new(),
        drop: Vec::new(),
        body: HTML,
        params: json!({}),
        login: None,
        expect: expect.to_vec(),
    }
}

impl Row {
    fn set(mut self, name: &'static str, value: &'static str) -> Row {
        self.set.push((name, value));
        self
    }
    fn drop(mut self, name: &'static str) -> Row {
        self.drop.push(name);
        self
    }
    fn csp(self, value: &'static str) -> Row {
        self.set("content-security-policy", value)
    }
    fn body(mut self, body: &'static str) -> Row {
        self.body = body;
        self
    }
    fn json(self) -> Row {
        self.set("content-type", "application/json").body("{}")
    }
    fn params(mut self, params: Value) -> Row {
        self.params = params;
        self
    }
    fn login(
        mut self,
        login: &[(&'static str, &'static str)],
        me: &[(&'static str, &'static str)],
    ) -> Row {
        self.login = Some((login.to_vec(), me.to_vec()));
        self
    }
    fn headers(&self, extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut out: Vec<_> = BASE
            .iter()
            .filter(|(n, _)| !self.drop.contains(n) && !self.set.iter().any(|(s, _)| s == n))
            .copied()
            .collect();
        out.extend(self.set.iter().copied());
        out.retain(|(n, _)| !extra.iter().any(|(e, _)| e == n));
        out.extend(extra.iter().copied());
        out
    }
}

fn respond(
    status: StatusCode,
    headers: Vec<(&'static str, &'static str)>,
    body: &'static str,
) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut().remove("content-type");
    for (n, v) in headers {
        resp.headers_mut()
            .append(HeaderName::from_static(n), HeaderValue::from_static(v));
    }
    resp
}

// One row per line reads as a table; rustfmt would spread each over many lines.
#[rustfmt::skip]
fn rows() -> Vec<Row> {
    let sid = json!({ "session_cookies": ["sid"] });
    vec![
        row("baseline: every rule holds", &[]),

        // ------------------------------------------------------------------ HSTS, RFC 6797
        // §7.1: an HSTS host includes the STS header field in responses over secure transport.
        row("hsts missing", &["hsts-missing"]).drop("strict-transport-security"),
        // §6.1.1: max-age=0 tells the UA to forget the host.
        row("hsts max-age=0", &["hsts-max-age-too-short"]).set("strict-transport-security", "max-age=0"),
        // phasegate's threshold (hsts_min_age, default 1 year; the Observatory asks 6 months).
        row("hsts six months", &["hsts-max-age-too-short"]).set("strict-transport-security", "max-age=15552000"),
        // §6.1 rule 2: all directives MUST appear only once; a repeated one invalidates the field.
        row("hsts repeated max-age", &["hsts-invalid"]).set("strict-transport-security", "max-age=31536000; max-age=0"),
        row("hsts repeated includeSubDomains", &["hsts-invalid"]).set("strict-transport-security", "max-age=31536000; includeSubDomains; includesubdomains"),
        // Fetch combines repeated fields with ", ", which no longer parses (browsers ignore it).
        row("hsts two fields", &["hsts-invalid"]).set("strict-transport-security", "max-age=31536000").set("strict-transport-security", "max-age=31536000"),
        // §6.1.1: max-age is delta-seconds, 1*DIGIT: no sign.
        row("hsts signed max-age", &["hsts-invalid"]).set("strict-transport-security", "max-age=+31536000"),
        // §6.1: directive-value = token / quoted-string.
        row("hsts quoted max-age", &[]).set("strict-transport-security", "max-age=\"31536000\"; includeSubDomains"),
        // §6.1: directive names are case-insensitive.
        row("hsts upper-case name", &[]).set("strict-transport-security", "MAX-AGE=31536000"),
        // §6.1.1: max-age is REQUIRED.
        row("hsts without max-age", &["hsts-invalid"]).set("strict-transport-security", "includeSubDomains"),
        // §6.1 rule 3: unknown directives are ignored.
        row("hsts unknown directives", &[]).set("strict-transport-security", "max-age=31536000; preload; x-future=\"1\""),
        // RFC 9111 §1.2.2: a delta-seconds too large to represent saturates, it is not invalid.
        row("hsts huge max-age", &[]).set("strict-transport-security", "max-age=999999999999999999999999"),
        // §8.1 (and §7.2): over plain http with https = "auto" the rule does not apply.
        row("hsts on plain http, https auto", &[]).drop("strict-transport-security").params(json!({ "https": "auto" })),

        // ------------------------------------------------------------------ CSP (CSP3)
        // §4.1: no policy at all; framing then rests on X-Frame-Options.
        row("csp missing", &["csp-missing"]).drop("content-security-policy").set("x-frame-options", "DENY"),
        // §4.1: a report-only policy blocks nothing.
        row("csp report-only alone", &["csp-report-only"]).drop("content-security-policy").set("content-security-policy-report-only", CSP).set("x-frame-options", "DENY"),
        // §6.7.3.3: 'unsafe-inline' allows all inline script.
        row("csp unsafe-inline", &["csp-unsafe-inline"]).csp("default-src 'self'; script-src 'self' 'unsafe-inline'; object-src 'none'; frame-ancestors 'none'; form-action 'self'"),
        // §6.7.3.3: a nonce switches 'unsafe-inline' off.
        row("csp unsafe-inline with a nonce", &[]).csp("default-src 'self'; script-src 'nonce-r4nd0m+/_-==' 'unsafe-inline'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
        // §2.3.1: nonce-source = "'nonce-" base64-value "'"; an empty value is no nonce.
        row("csp empty nonce does not count", &["csp-unsafe-inline"]).csp("default-src 'self'; script-src 'nonce-' 'unsafe-inline'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
        // §2.3.1: base64-value allows only ALPHA DIGIT + / - _ and trailing =.
        row("csp nonce with a bad character does not count", &["csp-unsafe-inline"]).csp("default-src 'self'; script-src 'nonce-ab$c' 'unsafe-inline'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
        // §2.3.1: hash-source = "'" ("sha256" / "sha384" / "sha512") "-" base64-value "'".
        row("csp unsafe-inline with a hash", &[]).csp("default-src 'self'; script-src 'sha256-B2yPHKaXnvFWtRChIbabYmUBFZdVfKKXHbWtWidDVF8=' 'unsafe-inline'; object-src 'none'; frame-ancestors 'none'; form-action 'self'"),
        row("csp sha1 is not a hash source", &["csp-unsafe-inline"]).csp("default-src 'self'; script-src 'sha1-abc=' 'unsafe-inline'; object-src 'none'; frame-ancestors 'none'; form-action 'self'"),
        // §6.8.3: inline handlers use script-src-attr first; it does not fall back when present.
        row("csp script-src-attr unsafe-inline next to a strict script-src", &["csp-unsafe-inline"]).csp("default-src 'self'; script-src 'self'; script-src-attr 'unsafe-inline'; object-src 'none'; frame-ancestors 'none'; form-action 'self'"),
        // §6.8.3: <script> elements use script-src-elem first.
        row("csp script-src-elem * next to a strict script-src", &["csp-broad-source"]).csp("default-src 'self'; script-src 'self'; script-src-elem *; object-src 'none'; frame-ancestors 'none'; form-action 'self'"),
        // §6.8.3 and §4.4: script-src-elem alone leaves handlers and eval unchecked.
        row("csp script-src-elem alone", &["csp-script-unrestricted", "csp-unsafe-eval"]).csp("script-src-elem 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'"),
        // §4.4 EnsureCSPDoesNotBlockStringCompilation: 'unsafe-eval' allows eval.
        row("csp unsafe-eval", &["csp-unsafe-eval"]).csp("default-src 'self'; script-src 'self' 'unsafe-eval'; object-src 'none'; frame-ancestors 'none'; form-action 'self'"),
        // 'wasm-unsafe-eval' allows WebAssembly compilation only, not eval.
        row("csp wasm-unsafe-eval", &[]).csp("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; object-src 'none'; frame-ancestors 'none'; form-action 'self'"),
        // §6.7.2.8: `*` matches any http(s) URL.
        row("csp script-src *", &["csp-broad-source"]).csp("default-src 'self'; script-src *; object-src 'none'; frame-ancestors 'none'; form-action 'self'"),
        // §2.3.1 scheme-source: `https:` matches any https URL.
        row("csp script-src https:", &["csp-broad-source"]).csp("default-src 'self'; script-src https:; object-src 'none'; frame-ancestors 'none'; form-action 'self'"),
        // §6.7.2.8 host-part "*": `https://*` matches any host.
        row("csp script-src https://*", &["csp-broad-source"]).csp("default-src 'self'; script-src https://*; object-src 'none'; frame-ancestors 'none'; form-action 'self'"),
        // `*.*` names no domain: meant as, and in lax parsers taken as, any host.
        row("csp script-src *.*", &["csp-broad-source"]).csp("default-src 'self'; script-src *.*; object-src 'none'; frame-ancestors 'none'; form-action 'self'"),
        // An http source on an https site lets a network attacker serve the script (Observatory
        // csp-implemented-with-insecure-scheme).
        row("csp http source on https", &["csp-insecure-source"]).csp("default-src 'self'; script-src 'self' http://cdn.example.com; object-src 'none'; frame-ancestors 'none'; form-action 'self'"),
        // A named domain wildcard is an allow-list.
        row("csp host allow-list", &[]).csp("default-src 'self'; script-src https://cdn.example.com *.example.com; object-src 'none'; frame-ancestors 'none'; form-action 'self'"),
        // §8.2: with 'strict-dynamic', host and scheme sources and 'unsafe-inline' are ignored.
        row("csp strict-dynamic with a nonce", &[]).csp("script-src 'nonce-abc' 'strict-dynamic' https: 'unsafe-inline'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
        // 'strict-dynamic' needs a nonce or hash to trust anything (Observatory csp-header-invalid).
        row("csp strict-dynamic without a nonce", &["csp-invalid"]).csp("script-src 'strict-dynamic'; object-src 'none'; frame-ancestors 'none'; form-action 'self'"),
        // base-uri has no fallback (§6.2.1): an injected <base> moves nonced relative scripts.
        row("csp nonce-based without base-uri", &["csp-base-uri-missing"]).csp("default-src 'self'; script-src 'nonce-abc'; object-src 'none'; frame-ancestors 'none'; form-action 'self'"),
        row("csp nonce-based with base-uri *", &["csp-base-uri-unsafe"]).csp("default-src 'self'; script-src 'nonce-abc'; object-src 'none'; frame-ancestors 'none'; base-uri *; form-action 'self'"),
        // An allow-list needs no base-uri: a moved URL must still match it.
        row("csp allow-list without base-uri", &[]).csp("default-src 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'"),
        // §6.8.3: object-src falls back to default-src; neither leaves plugins unchecked.
        row("csp without object-src or default-src", &["csp-object-unrestricted"]).csp("script-src 'self'; frame-ancestors 'none'; form-action 'self'"),
        row("csp object-src *", &["csp-broad-source"]).csp("default-src 'self'; object-src *; frame-ancestors 'none'; form-action 'self'"),
        // §6.4.1: form-action has no fallback; forms exist only in documents.
        row("csp without form-action on a page", &["csp-form-action-missing"]).csp("default-src 'self'; object-src 'none'; frame-ancestors 'none'"),
        row("csp without form-action on JSON", &[]).csp("default-src 'self'; object-src 'none'; frame-ancestors 'none'").json(),
        row("csp form-action https:", &["csp-form-action-unsafe"]).csp("default-src 'self'; object-src 'none'; frame-ancestors 'none'; form-action https:"),
        // §2.3.1: 'none' next to other sources is ignored.
        row("csp 'none' next to *", &["csp-broad-source"]).csp("default-src 'self'; script-src 'none' *; object-src 'none'; frame-ancestors 'none'; form-action 'self'"),
        // §4.1 + §6.3.2: every policy is enforced; a strict one is not undone by a loose one.
        row("csp two policies, each closing what the other opens", &[]).csp("default-src 'self'; script-src 'self' 'unsafe-eval'; object-src 'none'; frame-ancestors 'none'; form-action 'self'").set("content-security-policy", "script-src 'self'"),
        row("csp two policies, both unsafe-inline", &["csp-unsafe-inline"]).csp("default-src 'self'; script-src 'self' 'unsafe-inline'; object-src 'none'; frame-ancestors 'none'; form-action 'self'").set("content-security-policy", "script-src * 'unsafe-inline'"),
        // §2.2.1 step 2.4: a repeated directive is ignored, the first wins.
        row("csp repeated directive, strict first", &[]).csp("default-src 'self'; script-src 'self'; script-src *; object-src 'none'; frame-ancestors 'none'; form-action 'self'"),
        row("csp repeated directive, broad first", &["csp-broad-source"]).csp("default-src 'self'; script-src *; script-src 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'"),
        // HTML §4.2.5.3: a CSP meta in <head> is enforced.
        row("csp meta in head", &[]).drop("content-security-policy").set("x-frame-options", "DENY")
            .body("<html><head><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'self'; object-src 'none'; form-action 'self'\"></head><body>hi</body></html>"),
        // HTML §4.2.5.3: a CSP meta outside <head> is ignored.
        row("csp meta in body", &["csp-missing"]).drop("content-security-policy").set("x-frame-options", "DENY")
            .body("<html><head></head><body><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'self'; object-src 'none'; form-action 'self'\"></body></html>"),
        // HTML §4.2.5.3: frame-ancestors is removed from a meta policy.
        row("csp meta frame-ancestors does not protect", &["framing-missing"]).drop("content-security-policy")
            .body("<html><head><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'self'; object-src 'none'; form-action 'self'; frame-ancestors 'none'\"></head><body>hi</body></html>"),
        // HTML §4.2.5.3: an empty content is ignored.
        row("csp meta with empty content", &["csp-missing"]).drop("content-security-policy").set("x-frame-options", "DENY")
            .body("<html><head><meta http-equiv=\"Content-Security-Policy\" content=\"\"></head><body>hi</body></html>"),

        // ------------------------------------------------------------------ framing
        // HTML "check a navigation response's adherence to X-Frame-Options" and CSP3 §6.4.2.
        row("framing neither frame-ancestors nor XFO", &["framing-missing"]).csp("default-src 'self'; object-src 'none'; form-action 'self'"),
        row("framing XFO DENY", &[]).csp("default-src 'self'; object-src 'none'; form-action 'self'").set("x-frame-options", "DENY"),
        row("framing XFO sameorigin, lower case", &[]).csp("default-src 'self'; object-src 'none'; form-action 'self'").set("x-frame-options", "sameorigin"),
        // Step 6: several distinct values including deny/sameorigin conflict.
        row("framing XFO DENY, SAMEORIGIN", &["xfo-invalid"]).csp("default-src 'self'; object-src 'none'; form-action 'self'").set("x-frame-options", "DENY, SAMEORIGIN"),
        // Step 5: the values form a set; DENY twice is DENY.
        row("framing XFO DENY in two fields", &[]).csp("default-src 'self'; object-src 'none'; form-action 'self'").set("x-frame-options", "DENY").set("x-frame-options", "deny"),
        // Step 10: ALLOW-FROM is not recognised, the frame is allowed.
        row("framing XFO ALLOW-FROM", &["xfo-allow-from"]).csp("default-src 'self'; object-src 'none'; form-action 'self'").set("x-frame-options", "ALLOW-FROM https://a.example"),
        row("framing XFO ALLOWALL", &["xfo-invalid"]).csp("default-src 'self'; object-src 'none'; form-action 'self'").set("x-frame-options", "ALLOWALL"),
        // CSP3 §6.7.2.8: `*` and scheme sources match any ancestor.
        row("framing frame-ancestors *", &["framing-frame-ancestors-open"]).csp("default-src 'self'; object-src 'none'; form-action 'self'; frame-ancestors *").set("x-frame-options", "DENY"),
        row("framing frame-ancestors https:", &["framing-frame-ancestors-open"]).csp("default-src 'self'; object-src 'none'; form-action 'self'; frame-ancestors https:"),
        // CSP3 §6.7.2.5: an empty source list matches nothing, like 'none'.
        row("framing empty frame-ancestors", &[]).csp("default-src 'self'; object-src 'none'; form-action 'self'; frame-ancestors"),
        // HTML step 2: frame-ancestors present, X-Frame-Options is ignored.
        row("framing frame-ancestors 'self' beats XFO ALLOW-FROM", &[]).csp("default-src 'self'; object-src 'none'; form-action 'self'; frame-ancestors 'self'").set("x-frame-options", "ALLOW-FROM https://a.example"),

        // ------------------------------------------------------------------ nosniff, Fetch
        // Fetch "determine nosniff": the first value of the combined list, case-insensitive.
        row("nosniff missing", &["nosniff-missing"]).drop("x-content-type-options"),
        row("nosniff mixed case", &[]).set("x-content-type-options", "NoSniff"),
        row("nosniff first of a list", &[]).set("x-content-type-options", "nosniff, foo"),
        row("nosniff second field only", &["nosniff-invalid"]).set("x-content-type-options", "foo").set("x-content-type-options", "nosniff"),
        // "get, decode, and split" keeps the quotes of a quoted string.
        row("nosniff quoted", &["nosniff-invalid"]).set("x-content-type-options", "\"nosniff\""),

        // ------------------------------------------------------------------ Referrer-Policy
        row("referrer missing", &["referrer-policy-missing"]).drop("referrer-policy"),
        row("referrer unsafe-url", &["referrer-policy-unsafe"]).set("referrer-policy", "unsafe-url"),
        // Referrer Policy §8.1: the last valid token wins; unknown tokens are skipped.
        row("referrer last valid token wins", &[]).set("referrer-policy", "unsafe-url, no-referrer, bogus"),
        row("referrer no valid token", &["referrer-policy-invalid"]).set("referrer-policy", "bogus"),
        // HTML §4.2.5.1: a referrer meta overrides the header.
        row("referrer meta overrides the header", &["referrer-policy-unsafe"]).set("referrer-policy", "no-referrer")
            .body("<html><head><meta name=\"referrer\" content=\"unsafe-url\"></head><body>hi</body></html>"),
        // HTML §4.2.5.1: legacy meta values: never = no-referrer.
        row("referrer meta legacy never", &[]).drop("referrer-policy")
            .body("<html><head><meta name=\"referrer\" content=\"never\"></head><body>hi</body></html>"),

        // ------------------------------------------------------------------ COOP (HTML)
        // HTML "obtain a cross-origin opener policy": a structured token, compared exactly.
        row("coop missing on a page", &["coop-missing"]).drop("cross-origin-opener-policy"),
        row("coop missing on JSON", &[]).drop("cross-origin-opener-policy").json(),
        row("coop unsafe-none", &["coop-unsafe"]).set("cross-origin-opener-policy", "unsafe-none"),
        row("coop mixed case", &["coop-invalid"]).set("cross-origin-opener-policy", "Same-Origin"),
        row("coop with a report-to parameter", &[]).set("cross-origin-opener-policy", "same-origin; report-to=\"coop\""),
        row("coop same-origin-allow-popups", &[]).set("cross-origin-opener-policy", "same-origin-allow-popups"),

        // ------------------------------------------------------------------ CORP (Fetch)
        // Fetch "cross-origin resource policy internal check": get (combined), exact match.
        row("corp missing", &["corp-missing"]).drop("cross-origin-resource-policy"),
        row("corp missing on JSON too", &["corp-missing"]).drop("cross-origin-resource-policy").json(),
        row("corp in two fields", &["corp-invalid"]).set("cross-origin-resource-policy", "same-origin").set("cross-origin-resource-policy", "same-origin"),
        row("corp cross-origin", &[]).set("cross-origin-resource-policy", "cross-origin"),

        // ------------------------------------------------------------------ Permissions-Policy
        // Permissions Policy §5.2: the header is an RFC 8941 dictionary; a parse failure drops it.
        row("permissions-policy missing", &["permissions-policy-missing"]).drop("permissions-policy"),
        row("permissions-policy in Feature-Policy syntax", &["permissions-policy-invalid"]).set("permissions-policy", "camera 'none'"),
        row("permissions-policy with an allow-list", &[]).set("permissions-policy", "camera=(), geolocation=(self \"https://maps.example\")"),

        // ------------------------------------------------------------------ banners
        row("x-powered-by", &["x-powered-by"]).set("x-powered-by", "Express"),
        row("server with a version", &["server-version"]).set("server", "nginx/1.25.3"),
        row("x-powered-by ignored", &[]).set("x-powered-by", "Express").params(json!({ "ignore": ["x-powered-by"] })),

        // ------------------------------------------------------------------ cookies, RFC 6265bis
        row("cookie sound", &[]).set("set-cookie", "sid=abc; Path=/; Secure; HttpOnly; SameSite=Lax").params(sid.clone()),
        // §4.1.2.5: without Secure the cookie travels over http.
        row("cookie without Secure", &["cookie-not-secure"]).set("set-cookie", "sid=abc; Path=/; HttpOnly; SameSite=Lax").params(sid.clone()),
        row("cookie without SameSite", &["cookie-samesite-missing"]).set("set-cookie", "sid=abc; Path=/; Secure; HttpOnly").params(sid.clone()),
        // §5.6.7: an unknown SameSite value is no enforcement.
        row("cookie SameSite=Bogus", &["cookie-samesite-invalid"]).set("set-cookie", "sid=abc; Path=/; Secure; HttpOnly; SameSite=Bogus").params(sid.clone()),
        // §8.8: SameSite=None sends the session on cross-site requests (CSRF).
        row("session cookie SameSite=None", &["cookie-session-samesite-none"]).set("set-cookie", "sid=abc; Path=/; Secure; HttpOnly; SameSite=None").params(sid.clone()),
        row("other cookie SameSite=None; Secure", &[]).set("set-cookie", "embed=1; Path=/; Secure; SameSite=None"),
        // §4.1.2.6: HttpOnly keeps the session from script.
        row("session cookie without HttpOnly", &["cookie-session-not-httponly"]).set("set-cookie", "sid=abc; Path=/; Secure; SameSite=Lax").params(sid.clone()),
        // §4.1.3.2: __Host- requires Secure, Path=/ and no Domain.
        row("__Host- cookie with Domain", &["cookie-prefix-invalid"]).set("set-cookie", "__Host-sid=abc; Path=/; Secure; HttpOnly; SameSite=Lax; Domain=example.com"),
        // §5.7: prefixes match case-insensitively.
        row("__host- cookie without Path=/", &["cookie-prefix-invalid"]).set("set-cookie", "__host-sid=abc; Secure; HttpOnly; SameSite=Lax"),
        // §5.6.1 and §5.7 step 22: an Expires in the past deletes the cookie; nothing to protect.
        row("cookie deletion by Expires", &[]).set("set-cookie", "sid=; Expires=Thu, 01 Jan 1970 00:00:00 GMT").set("set-cookie", "sid=abc; Path=/; Secure; HttpOnly; SameSite=Lax").params(sid.clone()),
        // Opt-in (ASVS 3.4.4): the session cookie named __Host-.
        row("session cookie without __Host- when required", &["cookie-session-host-prefix-missing"]).set("set-cookie", "sid=abc; Path=/; Secure; HttpOnly; SameSite=Lax")
            .params(json!({ "session_cookies": ["sid"], "opt_in": ["cookie-session-host-prefix-missing"] })),
        row("session cookie __Host- when required", &[]).set("set-cookie", "__Host-sid=abc; Path=/; Secure; HttpOnly; SameSite=Strict")
            .params(json!({ "session_cookies": ["__Host-sid"], "opt_in": ["cookie-session-host-prefix-missing"] })),

        // ------------------------------------------------------------------ caching, RFC 9111
        // §5.2.2.5: only no-store keeps credentials and signed-in pages out of caches.
        row("sign-in and signed-in page no-store", &[]).login(&[("cache-control", "no-store")], &[("cache-control", "no-store")]),
        row("sign-in without no-store", &["cache-no-store-missing"]).login(&[("cache-control", "no-cache")], &[("cache-control", "no-store")]),
        row("signed-in page private, no-cache", &["cache-no-store-missing"]).login(&[("cache-control", "no-store")], &[("cache-control", "private, no-cache")]),
        // RFC 9110 §5.3: repeated fields are one list.
        row("signed-in page no-store in a second field", &[]).login(&[("cache-control", "no-store")], &[("cache-control", "private"), ("cache-control", "no-store")]),
    ]
}

#[tokio::test]
async fn conformance_headers() {
    let rows = Arc::new(rows());
    assert!(rows.len() >= 40, "{} rows", rows.len());
    let page = {
        let rows = Arc::clone(&rows);
        move |Path(i): Path<usize>| {
            let rows = Arc::clone(&rows);
            async move { respond(StatusCode::OK, rows[i].headers(&[]), rows[i].body) }
        }
    };
    let login = {
        let rows = Arc::clone(&rows);
        move |Path(i): Path<usize>| {
            let rows = Arc::clone(&rows);
            async move {
                let (login, _) = rows[i].login.clone().unwrap_or_default();
                let mut h = rows[i].headers(&login);
                h.push((
                    "set-cookie",
                    "sid=abc; Path=/; Secure; HttpOnly; SameSite=Lax",
                ));
                h.retain(|(n, _)| *n != "content-type");
                h.push(("content-type", "application/json"));
                respond(StatusCode::OK, h, "{\"token\":\"t\"}")
            }
        }
    };
    let me = {
        let rows = Arc::clone(&rows);
        move |Path(i): Path<usize>, req: Request| {
            let rows = Arc::clone(&rows);
            async move {
                let (_, me) = rows[i].login.clone().unwrap_or_default();
                let signed_in = req
                    .headers()
                    .get("cookie")
                    .is_some_and(|c| c.as_bytes() == b"sid=abc");
                let status = if signed_in {
                    StatusCode::OK
                } else {
                    StatusCode::UNAUTHORIZED
                };
                respond(status, rows[i].headers(&me), rows[i].body)
            }
        }
    };
    let app = Router::new()
        .route("/r/{i}", get(page))
        .route("/r/{i}/login", post(login))
        .route("/r/{i}/me", get(me));
    let url = serve(app).await;

    let mut wrong = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let mut p = json!({ "paths": [format!("/r/{i}")], "https": "yes", "error_routes": false });
        for (k, v) in row.params.as_object().unwrap() {
            p[k] = v.clone();
        }
        if row.login.is_some() {
            p["login"] = json!({ "path": format!("/r/{i}/login"), "json": {} });
            p["session_cookies"] = json!(["sid"]);
            p["authenticated"] = json!({ "paths": [format!("/r/{i}/me")] });
        }
        let o = run("headers", &url, p).await;
        let mut got: Vec<&str> = codes(&o);
        got.sort_unstable();
        got.dedup();
        let mut want = row.expect.clone();
        want.sort_unstable();
        let verdict = crate::support::expected_verdict(&want);
        if o.verdict != verdict || got != want {
            wrong.push(format!(
                "row {i} `{}`: expected {verdict:?} {want:?}, got {:?} {got:?} {:?}",
                row.name, o.verdict, o.reason
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} rows wrong:\n{}",
        wrong.len(),
        rows.len(),
        wrong.join("\n")
    );
}
