//! The [`FileProbe`] trait: probes of the project's files (secrets, lockfiles, CI definitions,
//! docs, migrations). They send no request and need no service; the check reads under the
//! gate's working directory on a blocking thread, and stops between files when asked.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::net::ProbeError;
use crate::probe::{BoxReport, Stop, cut_reason, parse_with};
use crate::report::Report;
use crate::{Context, Cut, ParamError, Params, panic_message};

/// How long a stopped check is waited for before its partial report is given up: a check
/// polls [`Cancel`] between files, so this only matters for one huge read.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// One built-in probe of the project's files.
pub(crate) trait FileProbe {
    /// The name written in `probe = "..."`.
    const KIND: &'static str;

    /// The probe's rules, as [`crate::probe::Probe::RULES`]: each one the check records
    /// with [`Report::exercised`] or [`Report::skipped`] (one call per rule).
    const RULES: &'static [&'static str] = &[];

    /// The typed parameters, deserialized from [`Params`] (unknown keys are errors).
    type Config: DeserializeOwned + Send + Sync + 'static;

    /// Checks what serde cannot and pushes every problem found.
    fn validate(cfg: &mut Self::Config, errors: &mut Vec<ParamError>);

    /// Reads the files under `ctx.workdir` and records findings and measurements in `report`,
    /// counting each file it read in `report.files` (none read is an error, never a pass).
    /// Blocking. Calls [`Cancel::check`] between files; `Err` means the check could not run
    /// to its end, and what it found so far is kept.
    fn check(
        cfg: &Self::Config,
        ctx: &Context,
        cancel: &Cancel,
        report: &mut Report,
    ) -> Result<(), ProbeError>;
}

/// Set when the check must end early (the gate's timeout, an interruption).
#[derive(Debug, Clone, Default)]
pub(crate) struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// `Err` once the check has been asked to stop: `cancel.check()?` between files.
    pub fn check(&self) -> Result<(), ProbeError> {
        if self.0.load(Ordering::Relaxed) {
            Err(ProbeError::Other("stopped".to_owned()))
        } else {
            Ok(())
        }
    }

    /// The flag itself, for a library that polls it between files.
    pub fn flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.0)
    }

    fn set(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

pub(crate) fn validate_files<P: FileProbe>(raw: &Params) -> Result<(), Vec<ParamError>> {
    parse_with::<P::Config>(raw, P::validate).map(drop)
}

pub(crate) fn run_files<'a, P: FileProbe>(
    raw: &'a Params,
    ctx: &'a Context,
    stop: Stop<'a>,
) -> BoxReport<'a> {
    Box::pin(async move {
        let cfg = match parse_with::<P::Config>(raw, P::validate) {
            Ok(cfg) => cfg,
            Err(errors) => return (Report::invalid(&errors), None),
        };
        let cancel = Cancel::default();
        let (owned_ctx, owned_cancel) = (ctx.clone(), cancel.clone());
        let mut task = tokio::task::spawn_blocking(move || {
            let mut report = Report {
                rules: P::RULES,
                ..Report::default()
            };
            let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
                P::check(&cfg, &owned_ctx, &owned_cancel, &mut report)
            }));
            (report, result)
        });
        let cut = tokio::select! {
            joined = &mut task => return match joined {
                Ok((mut report, Ok(result))) => {
                    report.measure("files", f64::from(report.files));
                    let result = result.and_then(|()| nothing_read(&report, P::KIND, ctx));
                    (report.finish(0, result), None)
                }
                Ok((report, Err(panic))) => cut_short(report, Cut::Panicked(panic_message(&*panic)), P::KIND),
                Err(e) => cut_short(Report::default(), Cut::Panicked(e.to_string()), P::KIND),
            },
            () = stop => Cut::Stopped,
        };
        cancel.set();
        let report = match tokio::time::timeout(STOP_GRACE, task).await {
            Ok(Ok((report, _))) => report,
            _ => Report::default(),
        };
        cut_short(report, cut, P::KIND)
    })
}

/// A check that read no file proves nothing: an error naming where it looked.
fn nothing_read(report: &Report, kind: &str, ctx: &Context) -> Result<(), ProbeError> {
    if report.files == 0 {
        Err(ProbeError::Other(format!(
            "probe `{kind}` found no file to examine under {}",
            ctx.workdir.display()
        )))
    } else {
        Ok(())
    }
}

fn cut_short(report: Report, cut: Cut, kind: &str) -> (Report, Option<Cut>) {
    let why = cut_reason(kind, &cut);
    (report.finish(0, Err(ProbeError::Other(why))), Some(cut))
}

#[cfg(test)]
mod tests {
    use phasegate_model::Verdict;

    use super::*;

    /// Counts the entries of the root, or panics, or runs until cancelled, as told.
    struct Lister;

    impl FileProbe for Lister {
        const KIND: &'static str = "lister";
        type Config = std::collections::BTreeMap<String, String>;

        fn validate(cfg: &mut Self::Config, errors: &mut Vec<ParamError>) {
            if cfg.contains_key("bad") {
                errors.push(ParamError {
                    key: Some("bad".into()),
                    message: "not allowed".into(),
                });
            }
        }

        fn check(
            cfg: &Self::Config,
            ctx: &Context,
            cancel: &Cancel,
            report: &mut Report,
        ) -> Result<(), ProbeError> {
            if cfg.contains_key("panic") {
                panic!("the scan broke");
            }
            let entries =
                std::fs::read_dir(&ctx.workdir).map_err(|e| ProbeError::Other(e.to_string()))?;
            let entries = entries.count();
            report.files = u32::try_from(entries).unwrap();
            report.measure("entries", entries as f64);
            if cfg.contains_key("forever") {
                report.finding("seen", "started", "here");
                loop {
                    cancel.check()?;
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
            Ok(())
        }
    }

    fn ctx(dir: &std::path::Path) -> Context {
        Context {
            base_url: None,
            timeout: Duration::from_secs(1),
            workdir: dir.to_owned(),
            env: crate::ChildEnv::default(),
        }
    }

    fn params(key: &str) -> Params {
        Params::from([(key.to_owned(), serde_json::json!("yes"))])
    }

    #[tokio::test]
    async fn a_check_reads_the_working_directory_without_a_service() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), "x").unwrap();
        std::fs::write(dir.path().join("b"), "y").unwrap();
        let (report, cut) = run_files::<Lister>(
            &Params::new(),
            &ctx(dir.path()),
            Box::pin(std::future::pending()),
        )
        .await;
        assert_eq!(cut, None);
        let outcome = report.into_outcome();
        assert_eq!(outcome.verdict, Verdict::Pass);
        assert_eq!(outcome.measurements["entries"], 2.0);
        assert_eq!(outcome.requests, 0);
    }

    #[tokio::test]
    async fn a_check_that_read_nothing_is_an_error_not_a_pass() {
        let dir = tempfile::tempdir().unwrap();
        let (report, _) = run_files::<Lister>(
            &Params::new(),
            &ctx(dir.path()),
            Box::pin(std::future::pending()),
        )
        .await;
        let outcome = report.into_outcome();
        assert_eq!(outcome.verdict, Verdict::Error);
        assert!(
            outcome
                .reason
                .unwrap()
                .contains("found no file to examine under")
        );
    }

    #[tokio::test]
    async fn invalid_parameters_and_a_missing_root_are_errors() {
        let ctx = ctx(std::path::Path::new("/nonexistent/phasegate"));
        let (report, _) =
            run_files::<Lister>(&params("bad"), &ctx, Box::pin(std::future::pending())).await;
        let outcome = report.into_outcome();
        assert_eq!(outcome.verdict, Verdict::Error);
        assert!(outcome.reason.unwrap().contains("`bad`: not allowed"));
        let (report, _) =
            run_files::<Lister>(&Params::new(), &ctx, Box::pin(std::future::pending())).await;
        assert_eq!(report.into_outcome().verdict, Verdict::Error);
    }

    #[tokio::test]
    async fn a_panic_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let (report, cut) = run_files::<Lister>(
            &params("panic"),
            &ctx(dir.path()),
            Box::pin(std::future::pending()),
        )
        .await;
        assert_eq!(cut, Some(Cut::Panicked("the scan broke".into())));
        assert_eq!(
            report.into_outcome().reason.as_deref(),
            Some("probe `lister` panicked: the scan broke")
        );
    }

    #[tokio::test]
    async fn a_stopped_check_ends_and_keeps_what_it_found() {
        let dir = tempfile::tempdir().unwrap();
        let stop = Box::pin(tokio::time::sleep(Duration::from_millis(50)));
        let (report, cut) = run_files::<Lister>(&params("forever"), &ctx(dir.path()), stop).await;
        assert_eq!(cut, Some(Cut::Stopped));
        assert_eq!(report.findings[0].code, "seen");
        assert_eq!(report.into_outcome().verdict, Verdict::Error);
    }
}
