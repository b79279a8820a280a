//! `Set-Cookie`: parsing a cookie line and the `cookies` rule across all responses.

use crate::net::Response;
use crate::report::Report;

/// Cookie rules across all responses; a cookie's problem is reported once, where first seen.
#[derive(Default)]
pub(super) struct CookieCheck {
    /// Every cookie name set so far, to tell a named session cookie that never came.
    pub seen: Vec<String>,
    reported: Vec<(String, String)>,
}

impl CookieCheck {
    /// Judges the cookies `resp` sets; `session_cookies` are the ones that must be HttpOnly and
    /// not `SameSite=None` (and `__Host-` prefixed when `host_prefix`).
    pub fn evaluate(
        &mut self,
        session_cookies: &[String],
        host_prefix: bool,
        https: bool,
        resp: &Response,
        report: &mut Report,
    ) {
        for line in resp.header_all("set-cookie") {
            let cookie = Cookie::parse(line);
            if cookie.name.is_empty() {
                continue;
            }
            if !self.seen.contains(&cookie.name) {
                self.seen.push(cookie.name.clone());
            }
            // A cookie being deleted carries no value worth protecting.
            if cookie.is_deletion() {
                continue;
            }
            let name = &cookie.name;
            let mut problems: Vec<(&str, String)> = Vec::new();
            if https && !cookie.secure {
                problems.push((
                    "cookie-not-secure",
                    format!("expected cookie `{name}` to be Secure, saw no Secure attribute"),
                ));
            }
            match cookie.same_site.as_deref().map(str::to_ascii_lowercase).as_deref() {
                None => problems.push(("cookie-samesite-missing", format!("expected cookie `{name}` to have SameSite=Lax or Strict, saw no SameSite attribute"))),
                Some("lax" | "strict") => {}
                Some("none") if cookie.secure => {}
                Some("none") => problems.push(("cookie-samesite-invalid", format!("expected cookie `{name}` with SameSite=None to be Secure, saw no Secure attribute"))),
                Some(other) => problems.push(("cookie-samesite-invalid", format!("expected cookie `{name}` to have SameSite Lax, Strict or None, saw {other:?}"))),
            }
            let session = session_cookies.contains(name);
            if session
                && cookie
                    .same_site
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case("none"))
            {
                problems.push(("cookie-session-samesite-none", format!("expected session cookie `{name}` to be SameSite=Lax or Strict, saw SameSite=None (sent on cross-site requests: CSRF)")));
            }
            if session && host_prefix && !has_prefix(name, "__Host-") {
                problems.push(("cookie-session-host-prefix-missing", format!("expected session cookie `{name}` to be named `__Host-...` (locked to this host, Secure and Path=/), saw no prefix")));
            }
            if session && !cookie.http_only {
                problems.push((
                    "cookie-session-not-httponly",
                    format!(
                        "expected session cookie `{name}` to be HttpOnly, saw no HttpOnly attribute"
                    ),
                ));
            }
            // RFC 6265bis §5.7 step 21-22: prefixes match case-insensitively.
            if has_prefix(name, "__Secure-") && !cookie.secure {
                problems.push(("cookie-prefix-invalid", format!("expected `{name}` to be Secure as its __Secure- prefix requires, saw no Secure attribute")));
            }
            if has_prefix(name, "__Host-")
                && (!cookie.secure || cookie.domain || cookie.path.as_deref() != Some("/"))
            {
                problems.push(("cookie-prefix-invalid", format!("expected `{name}` to be Secure, with Path=/ and no Domain as its __Host- prefix requires, saw {line:?}")));
            }
            for (code, message) in problems {
                let key = (code.to_string(), name.clone());
                if !self.reported.contains(&key) {
                    self.reported.push(key);
                    report.finding(code, message, resp.location.as_str());
                }
            }
        }
    }
}

fn has_prefix(name: &str, prefix: &str) -> bool {
    name.get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

/// The parts of a `Set-Cookie` line the rules look at.
#[derive(Debug, Default)]
struct Cookie {
    name: String,
    secure: bool,
    http_only: bool,
    same_site: Option<String>,
    domain: bool,
    path: Option<String>,
    max_age: Option<i64>,
    expires: Option<std::time::SystemTime>,
}

impl Cookie {
    /// Max-Age 0 or less, or (without Max-Age, which takes precedence) an Expires in the past.
    fn is_deletion(&self) -> bool {
        match self.max_age {
            Some(age) => age <= 0,
            None => self
                .expires
                .is_some_and(|e| e <= std::time::SystemTime::now()),
        }
    }

    fn parse(line: &str) -> Cookie {
        let mut parts = line.split(';');
        let name = parts
            .next()
            .and_then(|p| p.split_once('='))
            .map(|(n, _)| n.trim().to_string())
            .unwrap_or_default();
        let mut cookie = Cookie {
            name,
            ..Cookie::default()
        };
        for attr in parts {
            let (key, value) = match attr.split_once('=') {
                Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v.trim())),
                None => (attr.trim().to_ascii_lowercase(), None),
            };
            match key.as_str() {
                "secure" => cookie.secure = true,
                "httponly" => cookie.http_only = true,
                "samesite" => cookie.same_site = Some(value.unwrap_or_default().to_string()),
                "domain" => cookie.domain = true,
                "path" => cookie.path = value.map(str::to_string),
                // RFC 6265bis §5.6.2: a value not starting with a digit or `-` is ignored.
                "max-age" => {
                    cookie.max_age = value
                        .filter(|v| v.starts_with(|c: char| c.is_ascii_digit() || c == '-'))
                        .and_then(|v| v.parse().ok());
                }
                "expires" => cookie.expires = value.and_then(|v| httpdate::parse_http_date(v).ok()),
                _ => {}
            }
        }
        cookie
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_attributes() {
        let c = Cookie::parse("sid=abc; Path=/; HttpOnly; SameSite=Lax; Max-Age=10");
        assert_eq!(c.name, "sid");
        assert!(c.http_only && !c.secure);
        assert_eq!(c.same_site.as_deref(), Some("Lax"));
        assert_eq!(c.max_age, Some(10));
        assert!(Cookie::parse("sid=; Expires=Thu, 01 Jan 1970 00:00:00 GMT").is_deletion());
        assert!(!Cookie::parse("sid=x; Max-Age=+0").is_deletion());
    }
}
