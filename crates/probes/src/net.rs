//! The one HTTP client every probe uses: bounded in requests, time and body size, confined to
//! the base URL.
//!
//! Redirects are followed like a browser follows them, but only within the base URL's origin
//! and at most [`MAX_REDIRECTS`] hops per request; each hop is one request. A redirect that
//! leaves the origin, or one hop too many, is not followed: the 3xx is returned for the probe to
//! judge and the client records a finding (`redirect-off-origin`, `redirect-limit-exceeded`),
//! because the probe did not see the response a browser would end on. Requests carry a
//! browser-like `User-Agent` (and, for [`Request::page`], a browser's `Accept`) so that the
//! service answers the way it answers the clients being protected.

use std::future::Future;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderName, HeaderValue};
use url::Url;

use crate::report::Report;

/// Bodies are read up to this many bytes; a probe never needs more, and a service streaming
/// gigabytes must not grow phasegate's memory.
const MAX_BODY: usize = 1 << 20;

/// Same-origin redirects followed per request. Browsers allow 20; five is far more than a
/// sane route needs and keeps the worst case of a probe's budget small.
pub(crate) const MAX_REDIRECTS: u32 = 5;

/// The `User-Agent` of every request: browser-shaped (`Mozilla/5.0 (platform)`), because
/// services and the WAFs in front of them treat unknown agents differently, yet naming
/// phasegate so that its traffic can be told apart in the service's logs.
pub(crate) const USER_AGENT: &str = concat!(
    "Mozilla/5.0 (X11; Linux x86_64) phasegate/",
    env!("CARGO_PKG_VERSION")
);

/// The `Accept` a browser sends for a top-level page (Firefox's), used by [`Request::page`]:
/// content negotiation must pick the page a browser gets, with the headers it gets.
pub(crate) const BROWSER_ACCEPT: &str =
    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

/// The `Accept` Prometheus 2 sends when it scrapes the text formats (OpenMetrics preferred;
/// protobuf left out, as the probe reads text only), used by [`Request::prometheus`]: a
/// service may answer it with another format than a bare `curl` gets, and the metrics probe
/// must judge what Prometheus will parse.
pub(crate) const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";

/// Why a probe could not finish.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProbeError {
    /// The request could not be sent or its response not read.
    #[error("{location}: {message}")]
    Transport { location: String, message: String },
    /// A probe tried to exceed the request budget it declared (a bug in the probe).
    #[error("request budget of {budget} exhausted before {location}")]
    Budget { budget: u32, location: String },
    /// Anything else that stopped the check (a hook that failed, a bad request).
    #[error("{0}")]
    Other(String),
}

/// A request body.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    Text(String),
    Json(serde_json::Value),
}

/// One request to the service.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub method: String,
    /// Path and query, appended to the base URL's path.
    pub path: String,
    /// Header values as raw bytes: some probes deliberately send unusual but legal bytes.
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Option<Body>,
    /// Said in the location after the request line, e.g. `after fault hook`.
    pub note: Option<String>,
    /// Whether same-origin redirects are followed (true unless [`Request::no_follow`]).
    pub follow: bool,
    /// Values the request carries that no finding may show (a download token in the query),
    /// each with the label shown in its place; see [`Request::secret`].
    pub secrets: Vec<(String, String)>,
}

impl Request {
    pub fn new(method: &str, path: &str) -> Self {
        Request {
            method: method.to_string(),
            path: path.to_string(),
            headers: Vec::new(),
            body: None,
            note: None,
            follow: true,
            secrets: Vec::new(),
        }
    }

    pub fn get(path: &str) -> Self {
        Request::new("GET", path)
    }

    /// A `GET` of a page as a browser loads it: with a browser's `Accept`.
    pub fn page(path: &str) -> Self {
        Request::get(path).header("accept", BROWSER_ACCEPT)
    }

    /// A `GET` of a metrics endpoint as Prometheus scrapes it: with Prometheus's `Accept`.
    pub fn prometheus(path: &str) -> Self {
        Request::get(path).header("accept", PROMETHEUS_ACCEPT)
    }

    /// Judge the first response even when it is a redirect: the `http` probe asserts statuses
    /// as written, and a CORS preflight is never redirected by browsers (Fetch treats a 3xx
    /// preflight as a failed preflight).
    pub fn no_follow(mut self) -> Self {
        self.follow = false;
        self
    }

    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        self.headers
            .push((name.to_string(), value.as_ref().to_vec()));
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    pub fn body(mut self, body: Option<Body>) -> Self {
        self.body = body;
        self
    }

    /// Shows `label` wherever `value` (as written, or percent-encoded) would appear in what
    /// findings and errors say about this request: its location, the redirects it followed,
    /// transport errors (which quote the URL).
    pub fn secret(mut self, value: &str, label: &str) -> Self {
        if !value.is_empty() {
            self.secrets.push((value.to_owned(), label.to_owned()));
        }
        self
    }

    /// How findings name this request: `GET /health/ready (after fault hook)`.
    pub fn location(&self) -> String {
        let location = match &self.note {
            Some(note) => format!("{} {} ({note})", self.method, self.path),
            None => format!("{} {}", self.method, self.path),
        };
        self.mask(&location)
    }

    /// `text` with every secret of this request replaced by its label.
    pub fn mask(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for (value, label) in &self.secrets {
            let encoded: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
            text = text.replace(value, label).replace(&encoded, label);
        }
        text
    }
}

/// A response, read completely (up to [`MAX_BODY`]).
#[derive(Debug, Clone)]
pub(crate) struct Response {
    pub status: u16,
    /// Names lowercased, in the order received; values decoded lossily.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// From the first request to this response, summed over redirect hops.
    pub latency: Duration,
    /// The request that produced it, as findings name it, with the redirects followed:
    /// `GET / -> 302 /login`.
    pub location: String,
    /// The redirects followed to reach this response, in order.
    pub redirects: Vec<Hop>,
}

/// One redirect followed.
#[derive(Debug, Clone)]
pub(crate) struct Hop {
    /// The redirect's status (301, 302, 303, 307, 308).
    pub status: u16,
    /// The redirect response's headers, as in [`Response::headers`] (CORS checks every hop).
    pub headers: Vec<(String, String)>,
    /// Path and query the redirect pointed to, under the base URL's origin.
    pub to: String,
}

impl Response {
    /// Every value of header `name` (case-insensitive), in order.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The cookies the response sets, as `name=value` pairs (attributes dropped): what a
    /// client sends back as `Cookie`.
    pub fn cookie_pairs(&self) -> Vec<&str> {
        self.header_all("set-cookie")
            .into_iter()
            .filter_map(|line| line.split(';').next())
            .map(str::trim)
            .filter(|pair| pair.contains('='))
            .collect()
    }

    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Whether the status is one a browser follows with `Location`.
    pub fn is_redirect(&self) -> bool {
        matches!(self.status, 301 | 302 | 303 | 307 | 308)
    }
}

/// What plain `http://` on an https service's host answered (see
/// [`Client::check_http_redirects_to_https`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HttpToHttps {
    /// The base URL is not https: nothing to check, nothing sent.
    NotApplicable,
    /// Nothing listens for plain http there: no cleartext page to downgrade to.
    NoHttpListener,
    /// The first answer redirected to the base URL's https origin.
    Redirected,
    /// Anything else; a finding `http-not-redirected-to-https` was recorded.
    NotRedirected,
}

/// The client: counts requests against a budget and only addresses the base URL.
pub(crate) struct Client {
    client: reqwest::Client,
    base: Url,
    /// Every request sent, redirect hops included.
    sent: u32,
    /// Requests the probe asked for (hops not included), checked against `budget`.
    asked: u32,
    budget: u32,
    /// Redirect hops followed.
    hops: u32,
    /// Findings about redirects, recorded by [`Client::drain_findings`] into the report.
    findings: Vec<(&'static str, String, String)>,
    /// Whether the last request failed to connect at all (nothing listening).
    last_was_connect_error: bool,
}

impl Client {
    /// A client for the service at `base`, each request bounded by `timeout`, allowed at most
    /// `budget` requests.
    pub fn new(base: &Url, timeout: Duration, budget: u32) -> Result<Client, ProbeError> {
        let client = reqwest::Client::builder()
            // Redirects are followed by `send`, hop by hop, so that each hop is counted and none
            // leaves the base URL's origin.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(USER_AGENT)
            // Libraries do not read the environment behind the caller's back (HTTP_PROXY).
            .no_proxy()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| {
                ProbeError::Other(format!("cannot build the HTTP client: {}", chain(&e)))
            })?;
        Ok(Client {
            client,
            base: base.clone(),
            sent: 0,
            asked: 0,
            budget,
            hops: 0,
            findings: Vec::new(),
            last_was_connect_error: false,
        })
    }

    /// Counts `n` requests a probe sent through connections of its own (`load`), so that the
    /// outcome's request count is the whole traffic.
    pub fn count_external(&mut self, n: u32) {
        self.sent = self.sent.saturating_add(n);
    }

    /// Requests sent so far, redirect hops included.
    pub fn sent(&self) -> u32 {
        self.sent
    }

    /// The base URL requests are sent to.
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// Addresses `base` from now on instead of the context's base URL: for a probe that starts
    /// its own instance of the service (`shutdown`). The budget and the count go on.
    pub fn set_base(&mut self, base: Url) {
        self.base = base;
    }

    /// Whether the last request failed to connect at all: nothing was listening (or
    /// accepting) there.
    pub fn last_was_connect_error(&self) -> bool {
        self.last_was_connect_error
    }

    /// Counts `req` against the budget now and returns a future that sends it on its own,
    /// borrowing nothing, so that several requests can be in flight while the probe goes on
    /// (`shutdown` keeps slow requests open while it signals and polls). Redirects are not
    /// followed: the first response is what the request got.
    pub fn detached(
        &mut self,
        req: &Request,
    ) -> Result<impl Future<Output = Result<Response, ProbeError>> + Send + use<>, ProbeError> {
        let location = req.location();
        if self.asked >= self.budget {
            return Err(ProbeError::Budget {
                budget: self.budget,
                location,
            });
        }
        self.asked += 1;
        self.sent += 1;
        let url = self.url(&req.path)?;
        let exchange = Exchange {
            client: self.client.clone(),
            method: req.method.clone(),
            url,
            headers: req.headers.clone(),
            body: req.body.clone(),
            location,
        };
        let req = req.clone();
        Ok(async move {
            exchange.send().await.map_err(|(e, _)| match e {
                ProbeError::Transport { location, message } => ProbeError::Transport {
                    location,
                    message: req.mask(&message),
                },
                other => other,
            })
        })
    }

    /// Moves the findings the client made (redirects it would not follow) into `report`, and
    /// the number of redirect hops followed into its measurements when there were any.
    pub fn drain_findings(&mut self, report: &mut Report) {
        for (code, message, location) in self.findings.drain(..) {
            report.finding(code, message, location);
        }
        if self.hops > 0 {
            report.measure("redirects_followed", f64::from(self.hops));
        }
    }

    /// The URL of `path` under the base URL.
    pub fn url(&self, path: &str) -> Result<Url, ProbeError> {
        let mut base = self.base.clone();
        base.set_query(None);
        base.set_fragment(None);
        let prefix = base.as_str().trim_end_matches('/').to_string();
        let url = Url::parse(&format!("{prefix}{path}"))
            .map_err(|e| ProbeError::Other(format!("invalid request path {path:?}: {e}")))?;
        if url.origin() != self.base.origin() {
            return Err(ProbeError::Other(format!(
                "request path {path:?} leaves the base URL {}",
                self.base
            )));
        }
        Ok(url)
    }

    /// Sends `req` and reads the response, following same-origin redirects unless the request
    /// says otherwise.
    pub async fn send(&mut self, req: &Request) -> Result<Response, ProbeError> {
        let mut location = req.location();
        if self.asked >= self.budget {
            return Err(ProbeError::Budget {
                budget: self.budget,
                location,
            });
        }
        self.asked += 1;
        let mut url = self.url(&req.path)?;
        let mut method = req.method.clone();
        let mut headers = req.headers.clone();
        let mut body = req.body.clone();
        let mut redirects = Vec::new();
        let mut latency = Duration::ZERO;
        loop {
            let mut resp = self
                .send_once(&method, url.clone(), &headers, body.as_ref(), &location)
                .await
                .map_err(|e| match e {
                    ProbeError::Transport { location, message } => ProbeError::Transport {
                        location: req.mask(&location),
                        message: req.mask(&message),
                    },
                    other => other,
                })?;
            latency += resp.latency;
            if !req.follow || !resp.is_redirect() {
                resp.latency = latency;
                resp.location = location;
                resp.redirects = redirects;
                return Ok(resp);
            }
            let next = resp
                .header("location")
                .and_then(|l| url.join(l.trim()).ok());
            let stop = match &next {
                // A 3xx without a usable Location is what a browser shows: judge it.
                None => None,
                Some(next) if next.origin() != self.base.origin() => Some((
                    "redirect-off-origin",
                    format!(
                        "expected redirects to stay on {}, saw {} to {next} (not followed: probes talk only to the base URL)",
                        self.base.origin().ascii_serialization(),
                        resp.status
                    ),
                )),
                Some(_) if redirects.len() >= MAX_REDIRECTS as usize => Some((
                    "redirect-limit-exceeded",
                    format!(
                        "expected at most {MAX_REDIRECTS} redirects, saw a {} after {MAX_REDIRECTS}",
                        resp.status
                    ),
                )),
                Some(_) => None,
            };
            let Some(next) = next.filter(|_| stop.is_none()) else {
                if let Some((code, message)) = stop {
                    self.findings.push((code, message, location.clone()));
                }
                resp.latency = latency;
                resp.location = location;
                resp.redirects = redirects;
                return Ok(resp);
            };
            let to = req.mask(&match next.query() {
                Some(q) => format!("{}?{q}", next.path()),
                None => next.path().to_string(),
            });
            location = format!("{location} -> {} {to}", resp.status);
            // Fetch's HTTP-redirect fetch: 303 (but for HEAD), and 301/302 after POST, become
            // a GET without a body or the headers describing it; 307 and 308 keep both.
            let to_get = (resp.status == 303 && method != "HEAD")
                || (matches!(resp.status, 301 | 302) && method == "POST");
            if to_get {
                method = "GET".to_string();
                body = None;
                headers.retain(|(n, _)| {
                    ![
                        "content-type",
                        "content-length",
                        "content-encoding",
                        "content-language",
                        "content-location",
                    ]
                    .iter()
                    .any(|h| n.eq_ignore_ascii_case(h))
                });
            }
            redirects.push(Hop {
                status: resp.status,
                headers: resp.headers,
                to,
            });
            self.hops += 1;
            url = next;
        }
    }

    /// For an https base URL, asks plain `http://` on the same host (port `http_port`, 80 for
    /// a service behind a standard listener) for `path` and records
    /// `http-not-redirected-to-https` unless the first answer redirects to the base URL's
    /// https origin. Opt-in: it is the one request that leaves the base URL's scheme and port,
    /// and it counts against the budget like any other. Connection refused means there is no
    /// cleartext listener, which is as safe as a redirect.
    pub async fn check_http_redirects_to_https(
        &mut self,
        path: &str,
        http_port: u16,
        report: &mut Report,
    ) -> Result<HttpToHttps, ProbeError> {
        if self.base.scheme() != "https" {
            return Ok(HttpToHttps::NotApplicable);
        }
        let mut plain = self.url(path)?;
        plain
            .set_scheme("http")
            .map_err(|()| ProbeError::Other(format!("cannot make {plain} plain http")))?;
        // `set_port` only fails for URLs without a host, and `url` returned one under the base.
        plain
            .set_port(Some(http_port))
            .map_err(|()| ProbeError::Other(format!("cannot set port {http_port} on {plain}")))?;
        let location = format!("GET {plain}");
        if self.asked >= self.budget {
            return Err(ProbeError::Budget {
                budget: self.budget,
                location,
            });
        }
        self.asked += 1;
        // A person typing the host in a browser's address bar is who the redirect protects.
        let accept = [("accept".to_string(), BROWSER_ACCEPT.as_bytes().to_vec())];
        let resp = match self
            .send_once("GET", plain.clone(), &accept, None, &location)
            .await
        {
            Ok(resp) => resp,
            Err(_) if self.last_was_connect_error => return Ok(HttpToHttps::NoHttpListener),
            Err(e) => return Err(e),
        };
        let target = resp
            .header("location")
            .and_then(|l| plain.join(l.trim()).ok());
        let good = resp.is_redirect()
            && target
                .as_ref()
                .is_some_and(|t| t.origin() == self.base.origin());
        if good {
            return Ok(HttpToHttps::Redirected);
        }
        let saw = match (resp.is_redirect(), target) {
            (true, Some(t)) => format!("{} to {t}", resp.status),
            _ => format!("status {}", resp.status),
        };
        report.finding(
            "http-not-redirected-to-https",
            format!(
                "expected plain http to redirect to {}, saw {saw}",
                self.base.origin().ascii_serialization()
            ),
            location,
        );
        Ok(HttpToHttps::NotRedirected)
    }

    /// Sends `reqs` at the same time, each exactly once (no redirect is followed: a probe
    /// sending concurrent copies judges the first answer of each), and returns the responses
    /// in the order of `reqs`. For races the service must win: duplicate deliveries of an
    /// event, double submissions under one idempotency key.
    pub async fn send_concurrently(
        &mut self,
        reqs: &[Request],
    ) -> Result<Vec<Response>, ProbeError> {
        let count = u32::try_from(reqs.len()).unwrap_or(u32::MAX);
        if self.asked.saturating_add(count) > self.budget {
            return Err(ProbeError::Budget {
                budget: self.budget,
                location: reqs.first().map(Request::location).unwrap_or_default(),
            });
        }
        // `detached` counts each one; the check above keeps a batch from going out half.
        let pending = reqs
            .iter()
            .map(|req| self.detached(req))
            .collect::<Result<Vec<_>, _>>()?;
        futures_util::future::join_all(pending)
            .await
            .into_iter()
            .collect()
    }

    /// One request, no redirect handling; counts one request sent.
    async fn send_once(
        &mut self,
        method: &str,
        url: Url,
        headers: &[(String, Vec<u8>)],
        body: Option<&Body>,
        location: &str,
    ) -> Result<Response, ProbeError> {
        self.last_was_connect_error = false;
        self.sent += 1;
        let exchange = Exchange {
            client: self.client.clone(),
            method: method.to_owned(),
            url,
            headers: headers.to_vec(),
            body: body.cloned(),
            location: location.to_owned(),
        };
        exchange.send().await.map_err(|(e, connect)| {
            self.last_was_connect_error = connect;
            e
        })
    }
}

/// One request as sent: owned, so that it can be sent apart from the [`Client`]
/// ([`Client::detached`]).
struct Exchange {
    client: reqwest::Client,
    method: String,
    url: Url,
    headers: Vec<(String, Vec<u8>)>,
    body: Option<Body>,
    location: String,
}

impl Exchange {
    /// Sends the request and reads the response (up to [`MAX_BODY`]); on failure, the error
    /// and whether it failed to connect at all.
    async fn send(self) -> Result<Response, (ProbeError, bool)> {
        let location = self.location;
        let method = reqwest::Method::from_bytes(self.method.as_bytes()).map_err(|_| {
            (
                ProbeError::Other(format!("invalid method {:?}", self.method)),
                false,
            )
        })?;
        let mut builder = self.client.request(method, self.url);
        for (name, value) in &self.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                (
                    ProbeError::Other(format!("invalid header name {name:?}")),
                    false,
                )
            })?;
            let value = HeaderValue::from_bytes(value).map_err(|_| {
                (
                    ProbeError::Other(format!("invalid value for header {name}")),
                    false,
                )
            })?;
            builder = builder.header(name, value);
        }
        builder = match self.body {
            Some(Body::Text(text)) => builder.body(text),
            Some(Body::Json(json)) => builder.json(&json),
            None => builder,
        };
        let started = Instant::now();
        let transport = |e: reqwest::Error| {
            let connect = e.is_connect();
            (
                ProbeError::Transport {
                    location: location.clone(),
                    message: chain(&e),
                },
                connect,
            )
        };
        let mut resp = builder.send().await.map_err(transport)?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(transport)? {
            let room = MAX_BODY - body.len();
            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if body.len() >= MAX_BODY {
                break;
            }
        }
        Ok(Response {
            status,
            headers,
            body,
            latency: started.elapsed(),
            location,
            redirects: Vec::new(),
        })
    }
}

/// An error with its causes, in one line ("error sending request: connection refused").
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::Router;
    use axum::http::HeaderMap;

    use super::*;

    async fn serve(app: Router) -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        port
    }

    fn client(base: &str) -> Client {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Client::new(&Url::parse(base).unwrap(), Duration::from_secs(5), 4).unwrap()
    }

    /// A plain-http server answering every request with `status` and `Location: location`.
    async fn plain(status: u16, location: String) -> u16 {
        serve(Router::new().fallback(move || async move {
            (
                axum::http::StatusCode::from_u16(status).unwrap(),
                [("location", location)],
            )
        }))
        .await
    }

    #[tokio::test]
    async fn plain_http_redirecting_to_the_https_origin_passes() {
        let port = plain(301, "https://127.0.0.1:8443/".to_string()).await;
        let mut http = client("https://127.0.0.1:8443/");
        let mut report = Report::default();
        let seen = http
            .check_http_redirects_to_https("/", port, &mut report)
            .await
            .unwrap();
        assert_eq!(seen, HttpToHttps::Redirected);
        assert!(report.findings.is_empty());
        assert_eq!(http.sent(), 1);
    }

    #[tokio::test]
    async fn plain_http_served_or_redirected_elsewhere_is_a_finding() {
        for (status, location) in [
            (200, "/"),
            (301, "http://127.0.0.1:8443/"),
            (302, "https://other.example/"),
        ] {
            let port = plain(status, location.to_string()).await;
            let mut http = client("https://127.0.0.1:8443/");
            let mut report = Report::default();
            let seen = http
                .check_http_redirects_to_https("/", port, &mut report)
                .await
                .unwrap();
            assert_eq!(seen, HttpToHttps::NotRedirected, "{status} {location}");
            assert_eq!(report.findings[0].code, "http-not-redirected-to-https");
        }
    }

    #[tokio::test]
    async fn no_plain_http_listener_and_http_bases_need_nothing() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let mut report = Report::default();
        let mut http = client("https://127.0.0.1:8443/");
        let seen = http
            .check_http_redirects_to_https("/", port, &mut report)
            .await;
        assert_eq!(seen.unwrap(), HttpToHttps::NoHttpListener);
        let mut http = client("http://127.0.0.1:8443/");
        let seen = http
            .check_http_redirects_to_https("/", port, &mut report)
            .await;
        assert_eq!(seen.unwrap(), HttpToHttps::NotApplicable);
        assert_eq!(http.sent(), 0);
        assert!(report.findings.is_empty());
    }

    #[tokio::test]
    async fn requests_look_like_browsers_and_prometheus() {
        let echo = |headers: HeaderMap| async move {
            let get = |n: &str| headers.get(n).map(|v| v.to_str().unwrap().to_string());
            format!(
                "{}\n{}",
                get("user-agent").unwrap_or_default(),
                get("accept").unwrap_or_default()
            )
        };
        let port = serve(Router::new().fallback(echo)).await;
        let mut http = client(&format!("http://127.0.0.1:{port}/"));
        let page = http.send(&Request::page("/")).await.unwrap().text();
        assert_eq!(page, format!("{USER_AGENT}\n{BROWSER_ACCEPT}"));
        assert!(USER_AGENT.starts_with("Mozilla/5.0 ("));
        let scrape = http
            .send(&Request::prometheus("/metrics"))
            .await
            .unwrap()
            .text();
        assert_eq!(scrape, format!("{USER_AGENT}\n{PROMETHEUS_ACCEPT}"));
    }

    /// Both requests must be in flight at once: the route answers only when two are waiting.
    #[tokio::test]
    async fn concurrent_requests_arrive_together_and_count_against_the_budget() {
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
        let app = Router::new().fallback(move || {
            let barrier = barrier.clone();
            async move {
                barrier.wait().await;
                "together"
            }
        });
        let port = serve(app).await;
        let mut http = client(&format!("http://127.0.0.1:{port}/"));
        let reqs = [Request::get("/a"), Request::get("/b")];
        let answers = tokio::time::timeout(Duration::from_secs(5), http.send_concurrently(&reqs))
            .await
            .expect("sent one after the other, the first would wait forever")
            .unwrap();
        let texts: Vec<String> = answers.iter().map(Response::text).collect();
        assert_eq!(texts, ["together", "together"]);
        assert_eq!(answers[1].location, "GET /b");
        assert_eq!(http.sent(), 2);
        let three = [Request::get("/c"), Request::get("/d"), Request::get("/e")];
        let over = http.send_concurrently(&three).await;
        assert!(matches!(over, Err(ProbeError::Budget { budget: 4, .. })));
        assert_eq!(http.sent(), 2, "nothing sent past the budget");
    }

    #[tokio::test]
    async fn a_303_after_post_becomes_a_get_and_hops_count_as_requests() {
        let app = Router::new()
            .route(
                "/form",
                axum::routing::post(|| async {
                    (
                        axum::http::StatusCode::SEE_OTHER,
                        [("location", "/done?x=1")],
                    )
                }),
            )
            .route("/done", axum::routing::get(|| async { "done" }));
        let port = serve(app).await;
        let mut http = client(&format!("http://127.0.0.1:{port}/"));
        let req = Request::new("POST", "/form").body(Some(Body::Text("a=1".into())));
        let resp = http.send(&req).await.unwrap();
        assert_eq!((resp.status, resp.text().as_str()), (200, "done"));
        assert_eq!(resp.location, "POST /form -> 303 /done?x=1");
        assert_eq!(resp.redirects[0].to, "/done?x=1");
        assert_eq!(http.sent(), 2);
        let resp = http.send(&req.clone().no_follow()).await.unwrap();
        assert_eq!(resp.status, 303);
        let mut report = Report::default();
        http.drain_findings(&mut report);
        assert_eq!(report.measurements["redirects_followed"], 1.0);
    }

    #[tokio::test]
    async fn secrets_are_shown_as_labels_in_locations_redirects_and_errors() {
        let app = Router::new().route(
            "/get",
            axum::routing::get(|| async {
                (
                    axum::http::StatusCode::FOUND,
                    [("location", "/file?token=s3cr%2Bt")],
                )
            }),
        );
        let port = serve(app).await;
        let mut http = client(&format!("http://127.0.0.1:{port}/"));
        let req = Request::get("/get?token=s3cr%2Bt").secret("s3cr+t", "‹token›");
        let resp = http.send(&req).await.unwrap();
        assert_eq!(
            resp.location,
            "GET /get?token=‹token› -> 302 /file?token=‹token›"
        );
        let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let dead_port = dead.local_addr().unwrap().port();
        drop(dead);
        let mut http = client(&format!("http://127.0.0.1:{dead_port}/"));
        let err = http.send(&req).await.unwrap_err().to_string();
        assert!(!err.contains("s3cr"), "{err}");
        assert!(err.contains("‹token›"), "{err}");
        assert!(http.last_was_connect_error());
    }

    #[tokio::test]
    async fn detached_requests_run_concurrently_and_count_against_the_budget() {
        let app = Router::new().route(
            "/slow",
            axum::routing::get(|| async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                "done"
            }),
        );
        let port = serve(app).await;
        let mut http = client("http://127.0.0.1:1/");
        http.set_base(Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap());
        let started = Instant::now();
        let sends: Vec<_> = (0..4)
            .map(|_| http.detached(&Request::get("/slow")).unwrap())
            .collect();
        assert!(matches!(
            http.detached(&Request::get("/slow")),
            Err(ProbeError::Budget { budget: 4, .. })
        ));
        for resp in futures_util::future::join_all(sends).await {
            assert_eq!(resp.unwrap().text(), "done");
        }
        assert!(
            started.elapsed() < Duration::from_millis(1000),
            "in parallel"
        );
        assert_eq!(http.sent(), 4);
    }
}
