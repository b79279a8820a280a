//! The [`Probe`] trait every built-in probe implements, and the glue that makes one registry
//! [`Entry`] of it: parameters parsed the same way, a client with the declared budget, the
//! report closed the same way.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;

use futures_util::FutureExt;

use serde::de::DeserializeOwned;

use crate::files::{FileProbe, run_files, validate_files};
use crate::net::{Client, ProbeError};
use crate::params;
use crate::report::Report;
use crate::{Context, Cut, ParamError, Params, Target, panic_message};

/// One built-in probe: its name, its parameters, its request budget and its check. A probe
/// says only what is its own; parsing, the client and closing the report are done here.
pub(crate) trait Probe {
    /// The name written in `probe = "..."`.
    const KIND: &'static str;

    /// The probe's rules, in the order `why` lists them: the check records each as
    /// exercised or skipped with the reason ([`Report::exercised`], [`Report::skipped`]);
    /// a gate's `require = [...]` names them. A rule left unrecorded is closed as skipped.
    const RULES: &'static [&'static str] = &[];

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

    /// Undoes what `check` changed when it was cut short (timed out, interrupted, panicked)
    /// while [`Report::pending_cleanup`] was set, recording how that went. Nothing by default.
    fn cleanup(
        _cfg: &Self::Config,
        _ctx: &Context,
        _report: &mut Report,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// A future a registry entry returns; boxed because every probe's future has its own type.
pub(crate) type BoxReport<'a> = Pin<Box<dyn Future<Output = (Report, Option<Cut>)> + Send + 'a>>;

/// What ends a check early when it resolves.
pub(crate) type Stop<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// A probe in the registry, its type erased so that all of them fit one list.
pub(crate) struct Entry {
    pub kind: &'static str,
    pub target: Target,
    pub rules: &'static [&'static str],
    pub validate: fn(&Params) -> Result<(), Vec<ParamError>>,
    pub run: for<'a> fn(&'a Params, &'a Context, Stop<'a>) -> BoxReport<'a>,
}

impl Entry {
    /// The entry of probe `P`.
    pub const fn of<P: Probe>() -> Entry {
        Entry {
            kind: P::KIND,
            target: Target::Service,
            rules: P::RULES,
            validate: validate::<P>,
            run: run::<P>,
        }
    }

    /// The entry of file probe `P`.
    pub const fn files<P: FileProbe>() -> Entry {
        Entry {
            kind: P::KIND,
            target: Target::Files,
            rules: P::RULES,
            validate: validate_files::<P>,
            run: run_files::<P>,
        }
    }
}

/// Parses `raw` into `P`'s configuration: deserialization first (which stops at the first
/// problem), then every problem [`Probe::validate`] finds.
fn parse<P: Probe>(raw: &Params) -> Result<P::Config, Vec<ParamError>> {
    parse_with(raw, P::validate)
}

/// Deserializes `raw`, then completes and checks it with `validate`.
pub(crate) fn parse_with<C: DeserializeOwned>(
    raw: &Params,
    validate: fn(&mut C, &mut Vec<ParamError>),
) -> Result<C, Vec<ParamError>> {
    let mut cfg: C = params::from_params(raw)?;
    let mut errors = Vec::new();
    validate(&mut cfg, &mut errors);
    if errors.is_empty() {
        Ok(cfg)
    } else {
        Err(errors)
    }
}

fn validate<P: Probe>(raw: &Params) -> Result<(), Vec<ParamError>> {
    parse::<P>(raw).map(drop)
}

fn run<'a, P: Probe>(raw: &'a Params, ctx: &'a Context, stop: Stop<'a>) -> BoxReport<'a> {
    Box::pin(async move {
        let cfg = match parse::<P>(raw) {
            Ok(cfg) => cfg,
            Err(errors) => return (Report::invalid(&errors), None),
        };
        let mut report = Report {
            rules: P::RULES,
            ..Report::default()
        };
        let Some(base) = &ctx.base_url else {
            let why = format!(
                "probe `{}` has no target: give the gate `service = \"...\"` or `base_url = \"...\"`",
                P::KIND
            );
            return (report.finish(0, Err(ProbeError::Other(why))), None);
        };
        let mut http = match Client::new(base, ctx.timeout, P::budget(&cfg)) {
            Ok(http) => http,
            Err(e) => return (report.finish(0, Err(e)), None),
        };
        let ended = {
            // The check is dropped when cut short, and what it had recorded is kept.
            let check = AssertUnwindSafe(P::check(&cfg, ctx, &mut http, &mut report));
            tokio::select! {
                result = check.catch_unwind() => result.map_err(|panic| Cut::Panicked(panic_message(&*panic))),
                () = stop => Err(Cut::Stopped),
            }
        };
        // Redirects the client would not follow are findings of whichever probe sent them.
        http.drain_findings(&mut report);
        match ended {
            Ok(result) => (report.finish(http.sent(), result), None),
            Err(cut) => {
                if report.pending_cleanup {
                    P::cleanup(&cfg, ctx, &mut report).await;
                }
                let why = cut_reason(P::KIND, &cut);
                (
                    report.finish(http.sent(), Err(ProbeError::Other(why))),
                    Some(cut),
                )
            }
        }
    })
}

/// The error a check cut short ends with.
pub(crate) fn cut_reason(kind: &str, cut: &Cut) -> String {
    match cut {
        Cut::Stopped => format!("probe `{kind}` was stopped before its end"),
        Cut::Panicked(m) => format!("probe `{kind}` panicked: {m}"),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use phasegate_model::Verdict;

    use super::*;

    /// A probe that marks a change to undo, then panics or hangs as its parameter says.
    struct Faulty;

    impl Probe for Faulty {
        const KIND: &'static str = "faulty";
        type Config = std::collections::BTreeMap<String, String>;

        fn validate(_: &mut Self::Config, _: &mut Vec<ParamError>) {}

        fn budget(_: &Self::Config) -> u32 {
            1
        }

        async fn check(
            cfg: &Self::Config,
            _: &Context,
            _: &mut Client,
            report: &mut Report,
        ) -> Result<(), ProbeError> {
            report.pending_cleanup = true;
            if cfg.contains_key("panic") {
                panic!("the probe broke");
            }
            std::future::pending().await
        }

        async fn cleanup(_: &Self::Config, _: &Context, report: &mut Report) {
            report.finding("cleaned", "cleanup ran", "here");
        }
    }

    fn ctx() -> Context {
        // reqwest needs one crypto provider for the process, as `crate::run_until` installs.
        let _ = rustls::crypto::ring::default_provider().install_default();
        Context {
            base_url: Some(url::Url::parse("http://127.0.0.1:1").unwrap()),
            timeout: Duration::from_secs(1),
            workdir: std::env::temp_dir(),
            env: crate::ChildEnv::default(),
        }
    }

    #[tokio::test]
    async fn a_panicking_check_is_an_error_naming_the_panic_and_is_cleaned_up() {
        let params = Params::from([("panic".to_owned(), serde_json::json!("yes"))]);
        let ctx = ctx();
        let (report, cut) = run::<Faulty>(&params, &ctx, Box::pin(std::future::pending())).await;
        assert_eq!(cut, Some(Cut::Panicked("the probe broke".to_owned())));
        let outcome = report.into_outcome();
        assert_eq!(outcome.verdict, Verdict::Error);
        assert_eq!(
            outcome.reason.as_deref(),
            Some("probe `faulty` panicked: the probe broke")
        );
        assert_eq!(outcome.findings[0].code, "cleaned");
    }

    #[tokio::test]
    async fn a_stopped_check_is_cleaned_up_before_it_returns() {
        let params = Params::new();
        let ctx = ctx();
        let stop = Box::pin(tokio::time::sleep(Duration::from_millis(50)));
        let (report, cut) = run::<Faulty>(&params, &ctx, stop).await;
        assert_eq!(cut, Some(Cut::Stopped));
        assert_eq!(report.findings[0].code, "cleaned");
    }
}
