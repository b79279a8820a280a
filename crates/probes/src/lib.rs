//! phasegate's built-in probes: checks of a **running** HTTP service.
//!
//! A probe is named by its kind (one of [`KINDS`]) and configured by typed parameters taken
//! from the roadmap's gate table ([`Params`]). [`validate`] checks those parameters without
//! sending anything (`phasegate check`); [`run`] executes the probe against
//! [`Context::base_url`] and returns an [`Outcome`]: a verdict, the findings that explain it,
//! measurements and the number of requests sent.
//!
//! What this crate is not: it knows nothing of the ledger, of gates or of caching, and it never
//! prints. It talks only to `base_url` (redirects are followed only within its origin, at most
//! five hops, each counted; proxies from the environment are ignored) plus the shell hooks a
//! probe declares (`health`'s fault and restore) and the instance of the service `shutdown`
//! starts, on a loopback port, to stop it.
//! Besides the probes it holds what every process phasegate starts shares, the runner's
//! processes included, because the runner depends on this crate and not the other way:
//! [`ChildEnv`], its environment, and [`child`], the registry of the children waited for.
//! Every probe has a request budget computed from its parameters before the first request, and
//! every wait is bounded by a parameter.
//!
//! Verdicts: [`Verdict::Fail`] means the service answered and
//! broke a rule (one [`Finding`] per broken rule and place);
//! [`Verdict::Error`] means the check could not run (bad
//! parameters, connection refused, a hook that failed, no samples gathered). Never a pass.
//!
//! Probes, one module each: `http` (requests with assertions and captures), `headers`
//! (security headers and cookies on every route, including 404 and 405 responses), `cors`
//! (allow-list with look-alike origins), `request-id`, `health` (live/ready with a fault hook),
//! `metrics` (Prometheus text format and OpenMetrics), `rate-limit`, and the access probes
//! `rbac` (a role × request matrix of statuses) and `strict-input` (bad bodies refused, with
//! no effect), which share how roles obtain credentials (module `access`).
//! What several probes share lives once: signing in (`signin`: the sign-in request and the
//! session it opens; the access probes' roles sign in with it too), waiting out a 429 the
//! probe is not there to judge (`patience`), and reading and comparing an effect's JSON
//! (`effect`: the changes between two readings, or the first one).
//! The payment paths: `webhook` (plays the payment provider: signed, forged, stale and
//! mismatching callbacks, replays and concurrent copies, judged by an `effect` request read
//! before and after) and `idempotency` (a request repeated under one `Idempotency-Key`).
//!
//! Content and lifecycle: `token` (download tokens work for their user and resource only,
//! expire, resist tampering and stay out of the logs; sessions from `signin`) and `shutdown`
//! (starts its own instance of the service, sends SIGTERM with requests in flight).
//!
//! Probes of the project's files (module `files`, the `FileProbe` trait: no service, no
//! request; they read under [`Context::workdir`]): `advisories` (lockfiles against an OSV
//! mirror, with [`update_mirror`] to refresh it) and `migrations` (forward-only, against the
//! gate's last passing record).
//!
//! Inside, each probe is a type implementing the crate-private `Probe` trait (module `probe`):
//! its kind, its typed configuration, the parameter checks serde cannot do, its request budget
//! and its check, which sends requests and records findings. One list, `REGISTRY`, names every
//! probe; [`KINDS`], [`validate`] and [`run`] are derived from it, and what all probes share
//! (parsing the parameters, the bounded client, closing the report) is done once in `probe`.
//! A new probe is its module plus one line in that list.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use phasegate_model::{Finding, Verdict};

mod access;
pub mod child;
mod cors;
mod env;
mod exposition;
mod files;
mod headers;
mod health;
mod hook;
mod http;
mod metrics;
mod net;
mod params;
mod patience;
mod probe;
mod rate_limit;
mod rbac;
mod report;
mod request_id;
pub mod severity;
mod strict_input;
// payments: webhook and idempotency
mod effect;
mod idempotency;
mod signature;
mod webhook;
// content and lifecycle: `token`, `shutdown`
mod shutdown;
mod signin;
mod token;
// performance: `load` (public: `phasegate load` drives the generator directly)
pub mod load;
// the repository's own files: ci-tolerance, docs-drift, local-first
mod repo;
// the project's files: `advisories`, `migrations`
mod advisories;
mod migrations;
// files of the project
mod secrets;

pub use crate::env::ChildEnv;
use crate::probe::Entry;
// `phasegate advisories update`: refreshing the `advisories` probe's OSV mirror.
pub use advisories::update::{ECOSYSTEMS, MirrorError, OSV_BUCKET, Updated, update_mirror};

/// A probe's parameters as parsed from the roadmap's gate table (TOML values turned into JSON
/// values; durations are humantime strings such as `"10s"`).
pub type Params = BTreeMap<String, serde_json::Value>;

/// Every probe, once: [`KINDS`], [`validate`] and [`run`] are derived from this list, so a new
/// probe is its module plus one line here. The order is the order of [`KINDS`].
const REGISTRY: &[Entry] = &[
    Entry::of::<http::Http>(),
    Entry::of::<headers::Headers>(),
    Entry::of::<cors::Cors>(),
    Entry::of::<request_id::RequestId>(),
    Entry::of::<health::Health>(),
    Entry::of::<metrics::Metrics>(),
    Entry::of::<rate_limit::RateLimit>(),
    // access: rbac, strict-input
    Entry::of::<rbac::Rbac>(),
    Entry::of::<strict_input::StrictInput>(),
    // payments
    Entry::of::<webhook::Webhook>(),
    Entry::of::<idempotency::Idempotency>(),
    // content and lifecycle
    Entry::of::<token::Token>(),
    Entry::of::<shutdown::Shutdown>(),
    // performance
    Entry::of::<load::Load>(),
    // the repository's own files
    Entry::files::<repo::ci_tolerance::CiTolerance>(),
    Entry::files::<repo::docs_drift::DocsDrift>(),
    Entry::files::<repo::local_first::LocalFirst>(),
    // the project's files
    Entry::files::<advisories::Advisories>(),
    Entry::files::<migrations::Migrations>(),
    // files of the project
    Entry::files::<secrets::Secrets>(),
];

/// The probe kinds this crate implements, as written in `probe = "..."`.
pub const KINDS: &[&str] = &kinds();

const fn kinds() -> [&'static str; REGISTRY.len()] {
    let mut out = [""; REGISTRY.len()];
    let mut i = 0;
    while i < REGISTRY.len() {
        out[i] = REGISTRY[i].kind;
        i += 1;
    }
    out
}

fn entry(kind: &str) -> Option<&'static Entry> {
    REGISTRY.iter().find(|e| e.kind == kind)
}

/// One problem with a probe's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    /// The parameter concerned, as a dotted path (`expect.status`, `requests[1].path`); `None`
    /// when the problem is not about one parameter (an unknown probe kind).
    pub key: Option<String>,
    /// What was expected (and what was seen).
    pub message: String,
}

impl std::fmt::Display for ParamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.key {
            Some(key) => write!(f, "`{key}`: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ParamError {}

/// Checks a probe's parameters without sending anything. An unknown kind, an unknown or
/// mistyped parameter, or a value out of range is an error; all problems found are returned.
pub fn validate(kind: &str, params: &Params) -> Result<(), Vec<ParamError>> {
    match entry(kind) {
        Some(entry) => (entry.validate)(params),
        None => Err(vec![unknown_kind(kind)]),
    }
}

fn unknown_kind(kind: &str) -> ParamError {
    ParamError {
        key: None,
        message: format!(
            "unknown probe `{kind}`, expected one of: {}",
            KINDS.join(", ")
        ),
    }
}

/// The rules probe `kind` records coverage of (what `require = [...]` may name), in its
/// order; `None` for an unknown kind.
pub fn rules(kind: &str) -> Option<&'static [&'static str]> {
    entry(kind).map(|e| e.rules)
}

/// What a probe examines: a running service over HTTP, or the files of the project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A running service, reached at [`Context::base_url`] (the gate's `service` or
    /// `base_url`).
    Service,
    /// The project's files, under [`Context::workdir`]; no service and no request.
    Files,
}

/// What probe `kind` examines; `None` for an unknown kind.
pub fn target(kind: &str) -> Option<Target> {
    entry(kind).map(|e| e.target)
}

/// Where and how a probe runs.
#[derive(Clone)]
pub struct Context {
    /// The service under test; every request goes to this scheme, host and port, and request
    /// paths are appended to its path. `None` for probes of [`Target::Files`]; a service
    /// probe without one is an error naming what to give.
    pub base_url: Option<url::Url>,
    /// Limit on each request (connect plus response).
    pub timeout: Duration,
    /// Working directory of hook commands, and the root a [`Target::Files`] probe reads.
    pub workdir: PathBuf,
    /// Environment of hook commands.
    pub env: ChildEnv,
}

// Hook environments carry secrets (database passwords); `ChildEnv`'s Debug shows names only.
impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("base_url", &self.base_url.as_ref().map(url::Url::as_str))
            .field("timeout", &self.timeout)
            .field("workdir", &self.workdir)
            .field("env", &self.env)
            .finish()
    }
}

/// What a probe run found.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// [`Verdict::Pass`], [`Verdict::Fail`] or [`Verdict::Error`]; never `Skipped`.
    pub verdict: Verdict,
    /// One line saying why, when the verdict is not a pass.
    pub reason: Option<String>,
    /// Every broken rule, with what was expected, what was seen and which request showed it.
    pub findings: Vec<Finding>,
    /// Named measurements (`latency_max_ms`, `requests_before_429`, ...).
    pub measurements: BTreeMap<String, f64>,
    /// Requests sent to the service.
    pub requests: u32,
    /// The probe's own record of what it measured, kept as the gate's output evidence (the
    /// `load` probe: its result file, histograms included); `None` for most probes.
    pub attachment: Option<String>,
    /// Which of the probe's rules the run tested and which it skipped, with why; `None` for
    /// a probe that declares no rules and recorded none.
    pub coverage: Option<phasegate_model::Coverage>,
}

/// Runs the probe `kind` against `ctx.base_url`. Never panics on a misbehaving service and never
/// returns a pass it did not observe: invalid parameters, an unreachable service or a failed
/// hook give [`Verdict::Error`].
pub async fn run(kind: &str, params: &Params, ctx: &Context) -> Outcome {
    run_until(kind, params, ctx, std::future::pending()).await.0
}

/// Why a probe's check did not run to its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cut {
    /// The `stop` of [`run_until`] resolved (the gate's timeout, an interruption).
    Stopped,
    /// The check panicked, with this message.
    Panicked(String),
}

/// The text a panic was raised with, as [`Cut::Panicked`] quotes it. Public so that the
/// runner words a panicking gate the same way.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// [`run`], cut short when `stop` resolves. However the check ends (run to its end,
/// stopped, panicked), what it changed is undone before this returns: `health`'s restore
/// hook runs, bounded by its own limit, and a finding says how it ended. A cut check's
/// outcome is an error naming why, with what it found so far.
pub async fn run_until<'a>(
    kind: &str,
    params: &'a Params,
    ctx: &'a Context,
    stop: impl Future<Output = ()> + Send + 'a,
) -> (Outcome, Option<Cut>) {
    // reqwest is built without a default crypto provider; the process needs exactly one, and
    // another part of the program may have installed it already, which is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (report, cut) = match entry(kind) {
        Some(entry) => (entry.run)(params, ctx, Box::pin(stop)).await,
        None => (report::Report::invalid(&[unknown_kind(kind)]), None),
    };
    (report.into_outcome(), cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    // A kind listed twice would make the second entry unreachable without any error.
    #[test]
    fn registry_kinds_are_unique_and_listed_in_kinds() {
        for (i, entry) in REGISTRY.iter().enumerate() {
            assert_eq!(KINDS[i], entry.kind);
            assert!(!KINDS[..i].contains(&entry.kind), "{} twice", entry.kind);
        }
        assert_eq!(KINDS.len(), REGISTRY.len());
    }
}
