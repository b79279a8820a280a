//! `load`: real traffic against the service, judged by thresholds on HDR latency percentiles,
//! error rate, throughput and regression against an earlier run.
//!
//! Two modes: closed loop (`connections` send as fast as answers come back; service time only)
//! and open loop (`rate`: requests are due on a fixed schedule whether or not earlier ones
//! have been answered; latency is counted from the due time, which corrects for coordinated
//! omission, and service time is reported beside it). The generator is in `generate`, the
//! result, its file format and the exact shard merge in `result`.
//!
//! Transport: plain HTTP/1.1 with keep-alive by default; `https://` targets over rustls,
//! checked against the platform's roots (plus `ca_file`, for a staging CA), never unchecked;
//! `http2 = true` speaks HTTP/2, negotiated by ALPN over TLS and with prior knowledge (h2c) over
//! plain TCP, `streams` concurrent requests on each connection. The protocol each connection
//! actually spoke is counted in the result, and a gate that asked for HTTP/2 and got HTTP/1.1
//! fails on it (`load-not-http2`).
//!
//! Bounded by construction: `duration` is required and a request count (`max_requests`, by
//! default what the rate can send in the duration, or [`DEFAULT_MAX_REQUESTS`] in closed loop)
//! always applies; a target that is not loopback is refused unless the gate says
//! `allow_remote = true`. A threshold with nothing to judge (no answer at all) is an error,
//! never a pass.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use serde::Deserialize;

use crate::net::{Client, ProbeError};
use crate::params::{Dur, check_method, check_path, err, get};
use crate::probe::Probe;
use crate::report::Report;
use crate::{Context, ParamError, Params};

mod generate;
mod result;

pub use generate::{LATE_START, Progress, generate};
pub use hdrhistogram::Histogram;
pub use result::{ErrorCounts, FORMAT_VERSION, LoadResult, Opened, PERCENTILES};

/// Requests a closed-loop run may send when `max_requests` is not given: a few minutes at
/// loopback speed (about 100k req/s against nginx on one core), so a forgotten bound still ends.
pub const DEFAULT_MAX_REQUESTS: u64 = 20_000_000;

/// `baseline = "last-pass"`: compare with the gate's own latest passing run, which the runner
/// substitutes (a path to its output log); left as it is when there is none yet.
pub const LAST_PASS: &str = "last-pass";

/// The longest run a gate or the command line may ask for.
pub const MAX_DURATION: Duration = Duration::from_secs(3600);

/// Why a load run could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The plan itself is wrong (parameters, target).
    #[error("{}", display_params(.0))]
    Params(Vec<ParamError>),
    /// The target's address does not resolve.
    #[error("cannot resolve `{host}`: {message}")]
    Resolve { host: String, message: String },
    /// A worker thread could not start or panicked.
    #[error("load worker failed: {0}")]
    Thread(String),
    /// A result file is not what `phasegate load --save` writes.
    #[error("not a load result: {0}")]
    Format(String),
    /// Two results cannot be merged.
    #[error("cannot merge: {0}")]
    Merge(String),
    /// The extra CA file cannot be read or holds no certificate.
    #[error("cannot use the CA file `{}`: {message}", path.display())]
    CaFile { path: PathBuf, message: String },
    /// The TLS client cannot be set up (no usable root store, no protocol version).
    #[error("cannot set up TLS: {0}")]
    Tls(String),
}

fn display_params(errors: &[ParamError]) -> String {
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    lines.join("; ")
}

/// Closed or open loop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// As fast as answers come back.
    Closed,
    /// This shard's share of the rate, requests per second.
    Rate { per_second: f64 },
}

/// Which share of a run this process makes: shard `index` of `count` (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// The whole run.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Parses `I/N` with `I` from 0 to `N - 1`.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("expected a shard as I/N with 0 ≤ I < N, e.g. 0/4; saw {text:?}");
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count): (u32, u32) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// How `https://` connections are made: one client configuration for the whole run (its
/// session cache lets reconnections resume), and the name the certificate must carry.
#[derive(Clone)]
pub(crate) struct Tls {
    connector: tokio_rustls::TlsConnector,
    server_name: rustls::pki_types::ServerName<'static>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

impl Tls {
    /// The platform's roots (what reqwest checks every other probe's HTTPS against) plus the
    /// certificates of `ca_file`; ALPN offers `h2` only when HTTP/2 is asked for, and always
    /// `http/1.1`, so that a server without HTTP/2 says so rather than failing the handshake.
    fn new(host: &str, ca_file: Option<&Path>, http2: bool) -> Result<Tls, LoadError> {
        use rustls::pki_types::pem::PemObject as _;
        use rustls::pki_types::{CertificateDer, ServerName};
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let extra = match ca_file {
            Some(path) => {
                let bad = |message: String| LoadError::CaFile {
                    path: path.to_owned(),
                    message,
                };
                let certs = CertificateDer::pem_file_iter(path)
                    .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| bad(e.to_string()))?;
                if certs.is_empty() {
                    return Err(bad("no PEM certificate in it".to_owned()));
                }
                certs
            }
            None => Vec::new(),
        };
        let tls = |e: rustls::Error| LoadError::Tls(e.to_string());
        let verifier =
            rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider.clone())
                .map_err(tls)?;
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(tls)?
            // "dangerous" is rustls's name for any verifier of one's own; this one verifies.
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        config.alpn_protocols = if http2 {
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        } else {
            vec![b"http/1.1".to_vec()]
        };
        let name = host.trim_start_matches('[').trim_end_matches(']');
        let server_name = ServerName::try_from(name.to_owned())
            .map_err(|e| LoadError::Tls(format!("`{name}` is not a server name: {e}")))?;
        Ok(Tls {
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
            server_name,
        })
    }
}

/// A load run, validated: what [`generate`] executes.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The target as shown in reports (base URL plus the first path).
    pub target: String,
    host: String,
    port: u16,
    /// `https://`: how connections are wrapped.
    tls: Option<Tls>,
    /// HTTP/2 was asked for (ALPN over TLS, prior knowledge over plain TCP).
    pub http2: bool,
    /// HTTP/2: concurrent requests on each connection (1 with HTTP/1.1).
    pub streams: u32,
    /// `scheme://authority` of the target: HTTP/2 requests carry it in their pseudo-headers.
    origin: String,
    method: hyper::Method,
    /// The paths in their weighted rotation: request `i` goes to `rotation[i % len]`.
    rotation: Vec<hyper::Uri>,
    host_header: hyper::header::HeaderValue,
    headers: hyper::HeaderMap,
    body: Bytes,
    pub mode: Mode,
    /// Connections of this shard.
    pub connections: u32,
    pub duration: Duration,
    /// Requests this shard may start at most.
    pub max_requests: u64,
    pub threads: u32,
    /// Limit on each request (connect plus response).
    pub timeout: Duration,
    pub shard: Shard,
}

impl Spec {
    /// Validates `params` (the gate's, or the command line's) for the service at `base_url`
    /// as shard `shard`; every problem is returned.
    pub fn from_params(
        params: &Params,
        base_url: &url::Url,
        timeout: Duration,
        shard: Shard,
    ) -> Result<Spec, LoadError> {
        let mut cfg: Config = crate::params::from_params(params).map_err(LoadError::Params)?;
        let mut errors = Vec::new();
        Load::validate(&mut cfg, &mut errors);
        check_target(base_url, &cfg, &mut errors);
        if !errors.is_empty() {
            return Err(LoadError::Params(errors));
        }
        // The command line's CA file is relative to where it runs.
        Spec::new(&cfg, base_url, timeout, shard, Path::new(""))
    }

    /// `workdir`: what a relative `ca_file` is relative to.
    fn new(
        cfg: &Config,
        base: &url::Url,
        timeout: Duration,
        shard: Shard,
        workdir: &Path,
    ) -> Result<Spec, LoadError> {
        let invalid = |key: &str, m: String| LoadError::Params(vec![err(key, m)]);
        let host = base.host_str().unwrap_or_default().to_owned();
        let port = base.port_or_known_default().unwrap_or(80);
        let prefix = base.path().trim_end_matches('/');
        let mut rotation = Vec::new();
        for (n, p) in cfg.paths().iter().enumerate() {
            let uri: hyper::Uri = format!("{prefix}{}", p.path).parse().map_err(|e| {
                invalid(
                    &format!("paths[{n}].path"),
                    format!("not a request target: {e}"),
                )
            })?;
            rotation.extend(std::iter::repeat_n(uri, p.weight as usize));
        }
        let mut headers = hyper::HeaderMap::new();
        for (k, v) in &cfg.headers {
            let name = hyper::header::HeaderName::from_bytes(k.as_bytes())
                .map_err(|e| invalid(&format!("headers.{k}"), format!("not a header name: {e}")))?;
            let value = hyper::header::HeaderValue::from_str(v).map_err(|e| {
                invalid(&format!("headers.{k}"), format!("not a header value: {e}"))
            })?;
            headers.append(name, value);
        }
        let authority = match base.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.clone(),
        };
        let host_header = hyper::header::HeaderValue::from_str(&authority)
            .map_err(|e| invalid("base_url", e.to_string()))?;
        let tls = (base.scheme() == "https")
            .then(|| {
                let ca_file = cfg.ca_file.as_deref().map(|f| workdir.join(f));
                Tls::new(&host, ca_file.as_deref(), cfg.http2)
            })
            .transpose()?;
        let per_shard = |v: u64| share(v, shard.index, shard.count);
        let scheduled = cfg
            .rate
            .map(|r| (r * cfg.duration.0.as_secs_f64()).ceil() as u64);
        let max_requests = cfg
            .max_requests
            .or(scheduled)
            .unwrap_or(DEFAULT_MAX_REQUESTS);
        Ok(Spec {
            target: format!(
                "{}{}",
                base.as_str().trim_end_matches('/'),
                cfg.paths()[0].path
            ),
            origin: format!("{}://{authority}", base.scheme()),
            host,
            port,
            tls,
            http2: cfg.http2,
            streams: cfg.streams,
            method: hyper::Method::from_bytes(cfg.method.to_ascii_uppercase().as_bytes())
                .map_err(|e| invalid("method", e.to_string()))?,
            rotation,
            host_header,
            headers,
            body: Bytes::from(cfg.body.clone().unwrap_or_default()),
            mode: match cfg.rate {
                Some(r) => Mode::Rate {
                    per_second: r / f64::from(shard.count),
                },
                None => Mode::Closed,
            },
            connections: u32::try_from(per_shard(u64::from(cfg.connections)).max(1))
                .expect("a share of a u32"),
            duration: cfg.duration.0,
            max_requests: per_shard(max_requests),
            threads: cfg.threads.min(cfg.connections).max(1),
            timeout,
            shard,
        })
    }

    /// Whether the target is `https://`.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Adds a header every request carries (a session's credentials).
    fn add_header(&mut self, name: &str, value: &[u8]) -> Result<(), LoadError> {
        let bad = |m: String| LoadError::Params(vec![err("sign_in", m)]);
        let name = hyper::header::HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| bad(format!("the session's header name: {e}")))?;
        let value = hyper::header::HeaderValue::from_bytes(value)
            .map_err(|e| bad(format!("the session's header value: {e}")))?;
        self.headers.append(name, value);
        Ok(())
    }

    fn socket_addr(&self) -> Result<SocketAddr, LoadError> {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        (host, self.port)
            .to_socket_addrs()
            .map_err(|e| LoadError::Resolve {
                host: host.to_owned(),
                message: e.to_string(),
            })?
            .next()
            .ok_or_else(|| LoadError::Resolve {
                host: host.to_owned(),
                message: "no address".to_owned(),
            })
    }

    /// "GET /x (200 req/s, 8 connections, 2s)": where findings point.
    fn describe(&self) -> String {
        let load = match self.mode {
            Mode::Rate { per_second } => {
                format!("{} req/s", per_second * f64::from(self.shard.count))
            }
            Mode::Closed => "closed loop".to_owned(),
        };
        let streams = if self.http2 {
            format!(" × {} HTTP/2 streams", self.streams)
        } else {
            String::new()
        };
        format!(
            "{} {} ({load}, {} connections{streams}, {})",
            self.method,
            self.rotation[0],
            self.connections,
            humantime::format_duration(self.duration)
        )
    }
}

/// Part `index` of `total` split in `parts` as evenly as can be (the first ones get the
/// remainder), so that the parts add up to `total` exactly.
fn share(total: u64, index: u32, parts: u32) -> u64 {
    total / u64::from(parts) + u64::from(u64::from(index) < total % u64::from(parts))
}

/// Loopback only, unless the roadmap declares the remote target: no ad hoc floods of someone
/// else's host. HTTP or HTTPS, and a CA file only where there is TLS to check.
fn check_target(base: &url::Url, cfg: &Config, errors: &mut Vec<ParamError>) {
    let allow_remote = cfg.allow_remote;
    match base.scheme() {
        "http" if cfg.ca_file.is_some() => errors.push(err(
            "ca_file",
            "a CA file checks TLS certificates; the target is plain `http://`",
        )),
        "http" | "https" => {}
        other => errors.push(err(
            "base_url",
            format!("the load probe speaks HTTP and HTTPS; saw scheme `{other}`"),
        )),
    }
    let loopback = match base.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    if !loopback && !allow_remote {
        errors.push(err(
            "allow_remote",
            format!(
                "`{}` is not a loopback address; loading another host must be declared with allow_remote = true",
                base.host_str().unwrap_or_default()
            ),
        ));
    }
}

/// One path of a weighted set.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WeightedPath {
    path: String,
    #[serde(default = "one")]
    weight: u32,
}

fn one() -> u32 {
    1
}

/// The `load` probe's parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    /// One path; or `paths` with weights.
    path: Option<String>,
    #[serde(default)]
    paths: Vec<WeightedPath>,
    #[serde(default = "get")]
    method: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    body: Option<String>,
    /// Sign in once before the load; every request then carries the session (its cookies,
    /// and the bearer token when `bearer` names it).
    sign_in: Option<crate::signin::SignIn>,
    /// Open loop at this many requests per second; closed loop when absent.
    rate: Option<f64>,
    #[serde(default = "default_connections")]
    connections: u32,
    duration: Dur,
    max_requests: Option<u64>,
    #[serde(default = "one")]
    threads: u32,
    #[serde(default)]
    allow_remote: bool,
    /// Speak HTTP/2: negotiated by ALPN over TLS, prior knowledge (h2c) over plain TCP.
    #[serde(default)]
    http2: bool,
    /// HTTP/2 only: concurrent requests on each connection.
    #[serde(default = "one")]
    streams: u32,
    /// PEM certificates trusted besides the platform's roots (a staging CA), relative to the
    /// project.
    ca_file: Option<String>,
    #[serde(default)]
    thresholds: BTreeMap<String, serde_json::Value>,
    /// What the `regression` threshold compares with: a result file (`phasegate load
    /// --save`), or [`LAST_PASS`], the gate's latest passing run, which the runner replaces
    /// with the path of that run's output log.
    baseline: Option<String>,
    /// Parsed from `thresholds` by `validate`.
    #[serde(skip)]
    parsed: Vec<Threshold>,
}

fn default_connections() -> u32 {
    10
}

impl Config {
    fn paths(&self) -> Vec<WeightedPath> {
        match &self.path {
            Some(p) => vec![WeightedPath {
                path: p.clone(),
                weight: 1,
            }],
            None if self.paths.is_empty() => vec![WeightedPath {
                path: "/".into(),
                weight: 1,
            }],
            None => self.paths.clone(),
        }
    }
}

/// One rule the run must keep.
#[derive(Debug, Clone, PartialEq)]
enum Threshold {
    /// The percentile `p` (100 for `max`) at most `limit`.
    Latency {
        key: String,
        p: f64,
        limit: Duration,
    },
    /// Failed over started at most this fraction.
    ErrorRate(f64),
    /// At least this many requests per second.
    MinRps(f64),
    /// Percentiles no more than this fraction above the baseline's.
    Regression(f64),
}

/// A number, or a percentage string (`"1%"`), as a fraction.
fn fraction(v: &serde_json::Value) -> Option<f64> {
    match v {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s
            .trim()
            .strip_suffix('%')?
            .trim()
            .parse::<f64>()
            .ok()
            .map(|p| p / 100.0),
        _ => None,
    }
}

fn parse_thresholds(
    raw: &BTreeMap<String, serde_json::Value>,
    errors: &mut Vec<ParamError>,
) -> Vec<Threshold> {
    let mut out = Vec::new();
    for (key, v) in raw {
        let at = format!("thresholds.{key}");
        let latency_p = if key == "max" {
            Some(100.0)
        } else {
            key.strip_prefix('p')
                .and_then(|n| n.parse::<f64>().ok())
                .filter(|p| *p > 0.0 && *p <= 100.0)
        };
        match (key.as_str(), latency_p) {
            (_, Some(p)) => match v.as_str().map(humantime::parse_duration) {
                Some(Ok(limit)) => out.push(Threshold::Latency { key: key.clone(), p, limit }),
                _ => errors.push(err(at, format!("expected a duration like \"300ms\", saw {v}"))),
            },
            ("error_rate", _) => match fraction(v).filter(|f| (0.0..=1.0).contains(f)) {
                Some(f) => out.push(Threshold::ErrorRate(f)),
                None => errors.push(err(at, format!("expected a fraction from 0 to 1 or a percentage like \"1%\", saw {v}"))),
            },
            ("min_rps", _) => match v.as_f64().filter(|r| *r > 0.0) {
                Some(r) => out.push(Threshold::MinRps(r)),
                None => errors.push(err(at, format!("expected a positive number of requests per second, saw {v}"))),
            },
            ("regression", _) => match fraction(v).filter(|f| *f >= 0.0) {
                Some(f) => out.push(Threshold::Regression(f)),
                None => errors.push(err(at, format!("expected an allowance like \"10%\", saw {v}"))),
            },
            _ => errors.push(err(
                at,
                "unknown threshold; expected a percentile (p50, p95, p99, p99.9, max), error_rate, min_rps or regression",
            )),
        }
    }
    out
}

pub(crate) struct Load;

impl Probe for Load {
    const KIND: &'static str = "load";
    const RULES: &'static [&'static str] = &["latency", "error_rate", "throughput", "regression"];
    type Config = Config;

    fn validate(cfg: &mut Config, errors: &mut Vec<ParamError>) {
        if cfg.path.is_some() && !cfg.paths.is_empty() {
            errors.push(err("paths", "expected either `path` or `paths`, not both"));
        }
        for (n, p) in cfg.paths().iter().enumerate() {
            let key = if cfg.path.is_some() {
                "path".to_owned()
            } else {
                format!("paths[{n}].path")
            };
            check_path(&key, &p.path, errors);
            if !(1..=1000).contains(&p.weight) {
                errors.push(err(
                    format!("paths[{n}].weight"),
                    format!("expected a weight from 1 to 1000, saw {}", p.weight),
                ));
            }
        }
        check_method("method", &cfg.method, errors);
        if let Some(s) = &cfg.sign_in {
            s.validate("sign_in", errors);
        }
        if cfg.duration.0.is_zero() || cfg.duration.0 > MAX_DURATION {
            errors.push(err(
                "duration",
                format!(
                    "expected a duration above 0 and at most 1h, saw {:?}",
                    cfg.duration.0
                ),
            ));
        }
        if let Some(r) = cfg.rate
            && !(r > 0.0 && r <= 1_000_000.0)
        {
            errors.push(err(
                "rate",
                format!("expected from 0 (excluded) to 1000000 requests per second, saw {r}"),
            ));
        }
        if !(1..=10_000).contains(&cfg.connections) {
            errors.push(err(
                "connections",
                format!("expected 1 to 10000 connections, saw {}", cfg.connections),
            ));
        }
        if !(1..=256).contains(&cfg.threads) {
            errors.push(err(
                "threads",
                format!("expected 1 to 256 threads, saw {}", cfg.threads),
            ));
        }
        if !(1..=1000).contains(&cfg.streams) {
            errors.push(err(
                "streams",
                format!("expected 1 to 1000 streams, saw {}", cfg.streams),
            ));
        } else if cfg.streams > 1 && !cfg.http2 {
            errors.push(err(
                "streams",
                "concurrent streams on one connection need HTTP/2 (http2 = true); HTTP/1.1 sends one request at a time",
            ));
        }
        if cfg.max_requests == Some(0) {
            errors.push(err("max_requests", "expected at least 1 request"));
        }
        cfg.parsed = parse_thresholds(&cfg.thresholds, errors);
        let wants_baseline = cfg
            .parsed
            .iter()
            .any(|t| matches!(t, Threshold::Regression(_)));
        if wants_baseline != cfg.baseline.is_some() {
            errors.push(err(
                if wants_baseline { "baseline" } else { "thresholds.regression" },
                "the `regression` threshold and `baseline` (the result file of the run to compare with) go together",
            ));
        }
    }

    fn budget(cfg: &Config) -> u32 {
        // The load goes through its own connections, bounded by `max_requests` and
        // `duration`; the shared client sends only the sign-in.
        if cfg.sign_in.is_some() {
            crate::signin::ATTEMPTS
        } else {
            0
        }
    }

    async fn check(
        cfg: &Config,
        ctx: &Context,
        http: &mut Client,
        report: &mut Report,
    ) -> Result<(), ProbeError> {
        let mut errors = Vec::new();
        check_target(http.base(), cfg, &mut errors);
        if !errors.is_empty() {
            return Err(ProbeError::Other(display_params(&errors)));
        }
        let spec =
            Spec::new(cfg, http.base(), ctx.timeout, Shard::ALL, &ctx.workdir).map_err(other)?;
        // Read before the run: a missing baseline should not cost a whole run to find out.
        let baseline = match &cfg.baseline {
            // Not replaced by a path: the gate has no passing run to compare with yet.
            Some(path) if path == LAST_PASS => {
                report.finding(
                    "load-no-baseline",
                    "no earlier passing run of this gate to compare with: the regression threshold applies from the next run",
                    spec.describe(),
                );
                None
            }
            Some(path) => {
                let full = ctx.workdir.join(path);
                let text = std::fs::read_to_string(&full).map_err(|e| {
                    ProbeError::Other(format!(
                        "cannot read the baseline `{}`: {e}",
                        full.display()
                    ))
                })?;
                Some((path.clone(), LoadResult::from_json(&text).map_err(other)?))
            }
            None => None,
        };
        let mut spec = spec;
        if let Some(s) = &cfg.sign_in {
            let session = s.sign_in("the load's user", http).await?;
            // The session's headers, as any probe request would carry them.
            for (name, value) in session.apply(crate::net::Request::get("/")).headers {
                spec.add_header(&name, &value).map_err(other)?;
            }
        }
        let result = run_blocking(spec.clone()).await.map_err(other)?;
        http.count_external(u32::try_from(result.sent).unwrap_or(u32::MAX));
        for (name, value) in result.measurements() {
            report.measure(&name, value);
        }
        report.attachment = Some(result.to_json().map_err(other)?);
        judge(&cfg.parsed, &spec, &result, baseline.as_ref(), report)
    }
}

/// The thresholds given are the rules tested; the others are skipped, saying which key adds
/// them. A regression threshold without a baseline tested nothing.
fn coverage(thresholds: &[Threshold], baseline: bool, report: &mut Report) {
    let has = |f: fn(&Threshold) -> bool| thresholds.iter().any(f);
    let regression = has(|t| matches!(t, Threshold::Regression(_)));
    if regression && !baseline {
        report.skipped(
            "regression",
            "no earlier passing run to compare with yet: the regression threshold applies from the next run",
        );
    }
    for (rule, given, key) in [
        (
            "latency",
            has(|t| matches!(t, Threshold::Latency { .. })),
            "p95",
        ),
        (
            "error_rate",
            has(|t| matches!(t, Threshold::ErrorRate(_))),
            "error_rate",
        ),
        (
            "throughput",
            has(|t| matches!(t, Threshold::MinRps(_))),
            "min_rps",
        ),
        ("regression", regression && baseline, "regression"),
    ] {
        report.covered(rule, given, format!("no `thresholds.{key}`: not judged"));
    }
}

fn other(e: LoadError) -> ProbeError {
    ProbeError::Other(e.to_string())
}

/// Runs [`generate`] on a blocking thread; if the caller's future is dropped (the gate timed
/// out), the run is told to stop rather than left to its end.
pub async fn run_blocking(spec: Spec) -> Result<LoadResult, LoadError> {
    run_blocking_with(spec, |_| {}).await
}

/// [`run_blocking`] with a progress callback (called on the blocking thread).
pub async fn run_blocking_with(
    spec: Spec,
    progress: impl FnMut(&Progress) + Send + 'static,
) -> Result<LoadResult, LoadError> {
    struct StopOnDrop(Arc<AtomicBool>);
    impl Drop for StopOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let cancel = Arc::new(AtomicBool::new(false));
    let _guard = StopOnDrop(cancel.clone());
    tokio::task::spawn_blocking(move || generate(&spec, &cancel, progress))
        .await
        .map_err(|e| LoadError::Thread(e.to_string()))?
}

/// The thresholds against `result`: one finding per broken rule; an error when a rule has
/// nothing to judge.
fn judge(
    thresholds: &[Threshold],
    spec: &Spec,
    result: &LoadResult,
    baseline: Option<&(String, LoadResult)>,
    report: &mut Report,
) -> Result<(), ProbeError> {
    let at = spec.describe();
    let latency = result.judged_latency();
    let which = if result.is_open_loop() {
        "latency from the due time (corrected for coordinated omission)"
    } else {
        "service time (closed loop, uncorrected)"
    };
    let no_data = |what: &str| {
        let first = result
            .first_error
            .as_ref()
            .map(|e| format!("; the first: {e}"))
            .unwrap_or_default();
        ProbeError::Other(format!(
            "threshold `{what}` has no data: {} requests started, none answered ({} connect errors, {} timeouts, {} broken){first}",
            result.sent, result.errors.connect, result.errors.timeout, result.errors.io
        ))
    };
    for t in thresholds {
        match t {
            Threshold::Latency { key, p, limit } => {
                let measured =
                    LoadResult::percentile_ms(latency, *p).ok_or_else(|| no_data(key))?;
                let limit_ms = limit.as_secs_f64() * 1000.0;
                if measured > limit_ms {
                    let service = LoadResult::percentile_ms(&result.service, *p).unwrap_or(0.0);
                    report.finding(
                        "load-latency-exceeded",
                        format!("{key} of {which} was {measured:.1} ms, limit {limit_ms} ms (service time {key}: {service:.1} ms)"),
                        at.clone(),
                    );
                }
            }
            Threshold::ErrorRate(max) => {
                let rate = result.error_rate().ok_or_else(|| no_data("error_rate"))?;
                if rate > *max {
                    let e = &result.errors;
                    report.finding(
                        "load-error-rate-exceeded",
                        format!(
                            "error rate was {:.2}% ({} of {}: {} connect, {} timeout, {} broken, {} 4xx, {} 5xx), limit {:.2}%",
                            rate * 100.0, e.failed(), result.sent, e.connect, e.timeout, e.io, e.status_4xx, e.status_5xx, max * 100.0
                        ),
                        at.clone(),
                    );
                }
            }
            Threshold::MinRps(min) => {
                if result.sent == 0 {
                    return Err(no_data("min_rps"));
                }
                if result.rps() < *min {
                    report.finding(
                        "load-throughput-low",
                        format!(
                            "throughput was {:.1} req/s, minimum {min} req/s",
                            result.rps()
                        ),
                        at.clone(),
                    );
                }
            }
            // No baseline: `last-pass` with no passing run yet, said by `load-no-baseline`.
            Threshold::Regression(allowed) => {
                if let Some((path, base)) = baseline {
                    regression(*allowed, result, path, base, &at, report)
                        .map_err(|what| no_data(&what))?;
                }
            }
        }
    }
    if result.answered() == 0 {
        return Err(no_data("any"));
    }
    coverage(thresholds, baseline.is_some(), report);
    // Asked for HTTP/2 and got HTTP/1.1 (the server chose it by ALPN): the figures are real
    // but are not the ones the gate asked for.
    if spec.http2 && result.opened.http1 > 0 {
        report.finding(
            "load-not-http2",
            format!(
                "HTTP/2 was asked for, but {} of {} connections spoke HTTP/1.1: the server chose it by ALPN",
                result.opened.http1,
                result.opened.http1 + result.opened.http2
            ),
            at.clone(),
        );
    }
    if result.missed_starts > 0 {
        let lag = result
            .lag
            .as_ref()
            .and_then(|l| LoadResult::percentile_ms(l, 99.0))
            .unwrap_or(0.0);
        report.finding(
            "load-missed-starts",
            format!(
                "{} of {} requests started more than {} ms after their due time (p99 lag {lag:.1} ms): the client or the connections could not keep the rate",
                result.missed_starts, result.sent, LATE_START.as_millis()
            ),
            at,
        );
    }
    Ok(())
}

/// Compares p50, p95 and p99 of the judged latency with the baseline's (and the throughput, in
/// closed loop); a finding names both runs. `Err` names a figure without data.
fn regression(
    allowed: f64,
    now: &LoadResult,
    path: &str,
    base: &LoadResult,
    at: &str,
    report: &mut Report,
) -> Result<(), String> {
    let at_second = |t: jiff::Timestamp| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let this_run = format!("this run (started {})", at_second(now.started_at));
    let that_run = format!(
        "the baseline run (started {}, {path})",
        at_second(base.started_at)
    );
    for (key, p) in [("p50", 50.0), ("p95", 95.0), ("p99", 99.0)] {
        let a = LoadResult::percentile_ms(now.judged_latency(), p)
            .ok_or_else(|| format!("regression {key}"))?;
        let b = LoadResult::percentile_ms(base.judged_latency(), p)
            .ok_or_else(|| format!("regression {key} (baseline)"))?;
        if a > b * (1.0 + allowed) {
            report.finding(
                "load-regression",
                format!(
                    "{key} was {a:.2} ms in {this_run} against {b:.2} ms in {that_run}: +{:.0}%, allowed +{:.0}%",
                    (a / b - 1.0) * 100.0,
                    allowed * 100.0
                ),
                at.to_owned(),
            );
        }
    }
    if !now.is_open_loop() && now.rps() < base.rps() * (1.0 - allowed) {
        report.finding(
            "load-regression",
            format!(
                "throughput was {:.1} req/s in {this_run} against {:.1} req/s in {that_run}, allowed -{:.0}%",
                now.rps(),
                base.rps(),
                allowed * 100.0
            ),
            at.to_owned(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(v: serde_json::Value) -> Params {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn thresholds_parse_and_bad_ones_name_their_key() {
        let mut errors = Vec::new();
        let raw = params(
            serde_json::json!({"p99.9": "1s", "max": "2s", "error_rate": "1%", "min_rps": 10, "regression": 0.1}),
        );
        let t = parse_thresholds(&raw, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        assert!(t.contains(&Threshold::ErrorRate(0.01)));
        assert!(t.contains(&Threshold::Latency {
            key: "p99.9".into(),
            p: 99.9,
            limit: Duration::from_secs(1)
        }));
        let raw = params(serde_json::json!({"p101": "1s", "p95": 3, "error_rate": 2}));
        parse_thresholds(&raw, &mut errors);
        let keys: Vec<_> = errors.iter().map(|e| e.key.clone().unwrap()).collect();
        assert_eq!(
            keys,
            ["thresholds.error_rate", "thresholds.p101", "thresholds.p95"]
        );
    }

    #[test]
    fn a_remote_target_needs_allow_remote_and_loopback_does_not() {
        let mut errors = Vec::new();
        let cfg =
            |v: serde_json::Value| -> Config { crate::params::from_params(&params(v)).unwrap() };
        let local = cfg(serde_json::json!({"duration": "1s"}));
        let remote = cfg(serde_json::json!({"duration": "1s", "allow_remote": true}));
        check_target(&"http://10.1.2.3:80/".parse().unwrap(), &local, &mut errors);
        assert_eq!(errors[0].key.as_deref(), Some("allow_remote"));
        errors.clear();
        check_target(
            &"http://10.1.2.3:80/".parse().unwrap(),
            &remote,
            &mut errors,
        );
        check_target(&"http://[::1]:80/".parse().unwrap(), &local, &mut errors);
        check_target(
            &"https://localhost:80/".parse().unwrap(),
            &local,
            &mut errors,
        );
        assert!(errors.is_empty(), "{errors:?}");
        let ca = cfg(serde_json::json!({"duration": "1s", "ca_file": "ca.pem"}));
        check_target(&"http://[::1]:80/".parse().unwrap(), &ca, &mut errors);
        check_target(&"ftp://[::1]:80/".parse().unwrap(), &local, &mut errors);
        let keys: Vec<_> = errors.iter().map(|e| e.key.clone().unwrap()).collect();
        assert_eq!(keys, ["ca_file", "base_url"]);
    }

    #[test]
    fn shares_add_up_to_the_whole() {
        for (total, parts) in [(0, 3), (10, 3), (7, 7), (5, 8), (1_000_003, 4)] {
            let sum: u64 = (0..parts).map(|i| share(total, i, parts)).sum();
            assert_eq!(sum, total, "{total} in {parts}");
        }
        assert_eq!(share(10, 0, 3), 4);
        assert_eq!(share(10, 2, 3), 3);
    }

    #[test]
    fn shards_parse_and_split_the_rate_and_the_bound() {
        assert_eq!(Shard::parse("2/4"), Ok(Shard { index: 2, count: 4 }));
        assert!(Shard::parse("4/4").is_err());
        assert!(Shard::parse("x").is_err());
        let p = params(serde_json::json!({"rate": 100.0, "duration": "1s", "connections": 3}));
        let url = "http://127.0.0.1:9/".parse().unwrap();
        let s = Spec::from_params(
            &p,
            &url,
            Duration::from_secs(1),
            Shard { index: 0, count: 2 },
        )
        .unwrap();
        assert_eq!(s.mode, Mode::Rate { per_second: 50.0 });
        assert_eq!((s.connections, s.max_requests), (2, 50));
    }
}
