//! The one HTTP client every probe uses: bounded in requests, time and body size, confined to
//! the base URL.

use std::time::{Duration, Instant};

use reqwest::header::{HeaderName, HeaderValue};
use url::Url;

use crate::Context;

/// Bodies are read up to this many bytes; a probe never needs more, and a service streaming
/// gigabytes must not grow phasegate's memory.
const MAX_BODY: usize = 1 << 20;

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
}

impl Request {
    pub fn new(method: &str, path: &str) -> Self {
        Request {
            method: method.to_string(),
            path: path.to_string(),
            headers: Vec::new(),
            body: None,
            note: None,
        }
    }

    pub fn get(path: &str) -> Self {
        Request::new("GET", path)
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

    /// How findings name this request: `GET /health/ready (after fault hook)`.
    pub fn location(&self) -> String {
        match &self.note {
            Some(note) => format!("{} {} ({note})", self.method, self.path),
            None => format!("{} {}", self.method, self.path),
        }
    }
}

/// A response, read completely (up to [`MAX_BODY`]).
#[derive(Debug, Clone)]
pub(crate) struct Response {
    pub status: u16,
    /// Names lowercased, in the order received; values decoded lossily.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub latency: Duration,
    /// The request that produced it, as findings name it.
    pub location: String,
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
}

/// The client: counts requests against a budget and only addresses the base URL.
pub(crate) struct Client {
    client: reqwest::Client,
    base: Url,
    sent: u32,
    budget: u32,
}

impl Client {
    /// A client for `ctx` allowed at most `budget` requests.
    pub fn new(ctx: &Context, budget: u32) -> Result<Client, ProbeError> {
        let client = reqwest::Client::builder()
            // A probe judges the response it got; following a redirect could leave the base URL.
            .redirect(reqwest::redirect::Policy::none())
            // Libraries do not read the environment behind the caller's back (HTTP_PROXY).
            .no_proxy()
            .timeout(ctx.timeout)
            .connect_timeout(ctx.timeout)
            .build()
            .map_err(|e| {
                ProbeError::Other(format!("cannot build the HTTP client: {}", chain(&e)))
            })?;
        Ok(Client {
            client,
            base: ctx.base_url.clone(),
            sent: 0,
            budget,
        })
    }

    /// Requests sent so far.
    pub fn sent(&self) -> u32 {
        self.sent
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

    /// Sends `req` and reads the response.
    pub async fn send(&mut self, req: &Request) -> Result<Response, ProbeError> {
        let location = req.location();
        if self.sent >= self.budget {
            return Err(ProbeError::Budget {
                budget: self.budget,
                location,
            });
        }
        let url = self.url(&req.path)?;
        let method = reqwest::Method::from_bytes(req.method.as_bytes())
            .map_err(|_| ProbeError::Other(format!("invalid method {:?}", req.method)))?;
        let mut builder = self.client.request(method, url);
        for (name, value) in &req.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| ProbeError::Other(format!("invalid header name {name:?}")))?;
            let value = HeaderValue::from_bytes(value)
                .map_err(|_| ProbeError::Other(format!("invalid value for header {name}")))?;
            builder = builder.header(name, value);
        }
        builder = match &req.body {
            Some(Body::Text(text)) => builder.body(text.clone()),
            Some(Body::Json(json)) => builder.json(json),
            None => builder,
        };
        self.sent += 1;
        let started = Instant::now();
        let transport = |e: reqwest::Error| ProbeError::Transport {
            location: location.clone(),
            message: chain(&e),
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
        })
    }
}

/// An error with its causes, in one line ("error sending request: connection refused").
fn chain(e: &dyn std::error::Error) -> String {
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
