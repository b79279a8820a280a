//! What a probe gathers while it runs, and how that becomes an [`Outcome`].

use std::collections::BTreeMap;

use phasegate_model::{Finding, Verdict};

use crate::net::ProbeError;
use crate::{Outcome, ParamError};

/// Findings, measurements and the reason the probe stopped early, if it did.
#[derive(Debug, Default)]
pub(crate) struct Report {
    pub findings: Vec<Finding>,
    pub measurements: BTreeMap<String, f64>,
    pub requests: u32,
    /// Set when the check could not run to the end; the verdict is then an error.
    pub error: Option<String>,
    /// Set while the check has changed something it must undo (health's fault): if the
    /// check is cut short then, its probe's cleanup runs.
    pub pending_cleanup: bool,
}

impl Report {
    /// The report of a probe that did not start because its parameters are wrong.
    pub fn invalid(errors: &[ParamError]) -> Report {
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        Report {
            error: Some(format!("invalid parameters: {}", text.join("; "))),
            ..Report::default()
        }
    }

    /// Records a broken rule.
    pub fn finding(&mut self, code: &str, message: impl Into<String>, location: impl Into<String>) {
        self.findings.push(Finding {
            code: code.to_string(),
            message: message.into(),
            location: Some(location.into()),
        });
    }

    /// Records a measurement.
    pub fn measure(&mut self, name: &str, value: f64) {
        self.measurements.insert(name.to_string(), value);
    }

    /// Closes the report: the requests sent and how the probe ended.
    pub fn finish(mut self, requests: u32, result: Result<(), ProbeError>) -> Report {
        self.requests = requests;
        if let Err(e) = result {
            self.error = Some(e.to_string());
        }
        self
    }

    pub fn into_outcome(self) -> Outcome {
        let (verdict, reason) = if let Some(error) = self.error {
            (Verdict::Error, Some(error))
        } else if self.requests == 0 {
            // No samples is never a pass: it proves nothing about the service.
            (
                Verdict::Error,
                Some("the probe gathered no samples".to_string()),
            )
        } else if let Some(first) = self.findings.first() {
            let more = match self.findings.len() {
                1 => String::new(),
                n => format!(" (and {} more)", n - 1),
            };
            let at = first
                .location
                .as_deref()
                .map(|l| format!(" at {l}"))
                .unwrap_or_default();
            (
                Verdict::Fail,
                Some(format!("{}: {}{at}{more}", first.code, first.message)),
            )
        } else {
            (Verdict::Pass, None)
        };
        Outcome {
            verdict,
            reason,
            findings: self.findings,
            measurements: self.measurements,
            requests: self.requests,
        }
    }
}

/// Milliseconds of a duration, as measurements are recorded.
pub(crate) fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
