//! The [`Probe`] trait every built-in probe implements, and the glue that makes one registry
//! [`Entry`] of it: parameters parsed the same way, a client with the declared budget, the
//! report closed the same way.

use std::future::Future;
use std::pin::Pin;

use serde::de::DeserializeOwned;

use crate::net::{Client, ProbeError};
use crate::params;
use crate::report::Report;
use crate::{Context, ParamError, Params};

/// One built-in probe: its name, its parameters, its request budget and its check. A probe
/// says only what is its own; parsing, the client and closing the report are done here.
pub(crate) trait Probe {
    /// The name written in `probe = "..."`.
    const KIND: &'static str;

    /// The typed parameters, deserialized from [`Params`] (unknown keys are errors).
    type Config: DeserializeOwned + Send + Sync;

    /// Checks what serde cannot (ranges, paths, combinations) and pushes every problem found.
    /// It may complete `cfg` with what it prepared (`request-id` keeps its compiled pattern).
    fn validate(cfg: &mut Self::Config, errors: &mut Vec<ParamError>);

    /// The most requests the check may send, decided from the parameters before the first one.
    fn budget(cfg: &Self::Config) -> u32;

    /// Sends the requests through `http` and records findings and measurements in `report`.
    /// `Err` means the check could not run to the end; what it found so far is kept.
    fn check(
        cfg: &Self::Config,
        ctx: &Context,
        http: &mut Client,
        report: &mut Report,
    ) -> impl Future<Output = Result<(), ProbeError>> + Send;
}

/// A future a registry entry returns; boxed because every probe's future has its own type.
type BoxReport<'a> = Pin<Box<dyn Future<Output = Report> + Send + 'a>>;

/// A probe in the registry, its type erased so that all of them fit one list.
pub(crate) struct Entry {
    pub kind: &'static str,
    pub validate: fn(&Params) -> Result<(), Vec<ParamError>>,
    pub run: for<'a> fn(&'a Params, &'a Context) -> BoxReport<'a>,
}

impl Entry {
    /// The entry of probe `P`.
    pub const fn of<P: Probe>() -> Entry {
        Entry {
            kind: P::KIND,
            validate: validate::<P>,
            run: run::<P>,
        }
    }
}

/// Parses `raw` into `P`'s configuration: deserialization first (which stops at the first
/// problem), then every problem [`Probe::validate`] finds.
fn parse<P: Probe>(raw: &Params) -> Result<P::Config, Vec<ParamError>> {
    let mut cfg: P::Config = params::from_params(raw)?;
    let mut errors = Vec::new();
    P::validate(&mut cfg, &mut errors);
    if errors.is_empty() {
        Ok(cfg)
    } else {
        Err(errors)
    }
}

fn validate<P: Probe>(raw: &Params) -> Result<(), Vec<ParamError>> {
    parse::<P>(raw).map(drop)
}

fn run<'a, P: Probe>(raw: &'a Params, ctx: &'a Context) -> BoxReport<'a> {
    Box::pin(async move {
        let cfg = match parse::<P>(raw) {
            Ok(cfg) => cfg,
            Err(errors) => return Report::invalid(&errors),
        };
        let mut report = Report::default();
        let mut http = match Client::new(ctx, P::budget(&cfg)) {
            Ok(http) => http,
            Err(e) => return report.finish(0, Err(e)),
        };
        let result = P::check(&cfg, ctx, &mut http, &mut report).await;
        report.finish(http.sent(), result)
    })
}
