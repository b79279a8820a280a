//! What a probe gathers while it runs, and how that becomes an [`Outcome`].

use std::collections::BTreeMap;

use phasegate_model::{Coverage, Finding, Partial, Severity, SkippedRule, Verdict};

use crate::net::ProbeError;
use crate::{Outcome, ParamError};

/// Findings, measurements and the reason the probe stopped early, if it did.
#[derive(Debug, Default)]
pub(crate) struct Report {
    pub findings: Vec<Finding>,
    pub measurements: BTreeMap<String, f64>,
    pub requests: u32,
    /// Files a probe of the project's files read: its samples, as requests are an HTTP
    /// probe's.
    pub files: u32,
    /// Set when the check could not run to the end; the verdict is then an error.
    pub error: Option<String>,
    /// Set while the check has changed something it must undo (health's fault): if the
    /// check is cut short then, its probe's cleanup runs.
    pub pending_cleanup: bool,
    /// Becomes [`Outcome::attachment`].
    pub attachment: Option<String>,
    /// The rules the check tested and the ones it skipped, in the order first recorded;
    /// becomes [`Outcome::coverage`].
    pub coverage: Coverage,
    /// The probe's rules ([`crate::probe::Probe::RULES`]): a rule the check neither tested
    /// nor skipped is closed as skipped, so that a pass never claims it.
    pub rules: &'static [&'static str],
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
            severity: Some(crate::severity::of(code)),
        });
    }

    /// Records that the check tested `rule` (one of the probe's rules). A rule tested once
    /// counts as exercised even if it was skipped elsewhere (on another response).
    pub fn exercised(&mut self, rule: &str) {
        self.known(rule);
        if !self.coverage.exercised.iter().any(|r| r == rule) {
            self.coverage.exercised.push(rule.to_owned());
        }
    }

    /// Records that the check did not test `rule`, and why: the reason says what the gate
    /// needs for it to be tested ("plain http; set https = \"yes\" when TLS ends at a
    /// proxy"). The first reason given for a rule is kept.
    pub fn skipped(&mut self, rule: &str, reason: impl Into<String>) {
        self.known(rule);
        if self.coverage.skip_of(rule).is_none() {
            self.coverage.skipped.push(SkippedRule {
                rule: rule.to_owned(),
                reason: reason.into(),
            });
        }
    }

    /// [`Report::exercised`] when `tested`, else [`Report::skipped`] with `reason`.
    pub fn covered(&mut self, rule: &str, tested: bool, reason: impl Into<String>) {
        if tested {
            self.exercised(rule);
        } else {
            self.skipped(rule, reason);
        }
    }

    // A misspelt rule name would make a coverage line nobody can `require`.
    fn known(&self, rule: &str) {
        debug_assert!(
            self.rules.is_empty() || self.rules.contains(&rule),
            "rule `{rule}` is not one of {:?}",
            self.rules
        );
    }

    /// The coverage as the outcome carries it: the probe's rules neither tested nor skipped
    /// are skipped ("not reached"), a rule tested somewhere is not also skipped, and the
    /// lists follow the probe's order of rules. `None` for a probe with no rules that
    /// recorded none.
    fn closed_coverage(&mut self) -> Option<Coverage> {
        let mut c = std::mem::take(&mut self.coverage);
        if self.rules.is_empty() && c.exercised.is_empty() && c.skipped.is_empty() {
            return None;
        }
        for rule in self.rules {
            if !c.exercised.iter().any(|r| r == rule) && c.skip_of(rule).is_none() {
                c.skipped.push(SkippedRule {
                    rule: (*rule).to_owned(),
                    reason: "not reached: the check ended before it".to_owned(),
                });
            }
        }
        c.skipped.retain(|s| !c.exercised.contains(&s.rule));
        let order = |r: &str| {
            self.rules
                .iter()
                .position(|x| *x == r)
                .unwrap_or(usize::MAX)
        };
        c.exercised.sort_by_key(|r| order(r));
        c.skipped.sort_by_key(|s| order(&s.rule));
        Some(c)
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

    /// The outcome at the default threshold ([`Severity::Medium`]); a gate with another
    /// `fail_on` judges it again ([`Outcome::judged`]).
    pub fn into_outcome(mut self) -> Outcome {
        let coverage = self.closed_coverage();
        let error = match self.error {
            Some(error) => Some(error),
            // No samples is never a pass: it proves nothing about the service.
            None if self.requests == 0 && self.files == 0 => {
                Some("the probe gathered no samples".to_string())
            }
            None => None,
        };
        let outcome = Outcome {
            verdict: if error.is_some() {
                Verdict::Error
            } else {
                Verdict::Pass
            },
            reason: error,
            findings: self.findings,
            measurements: self.measurements,
            requests: self.requests,
            attachment: self.attachment,
            coverage,
        };
        outcome.judged(Severity::default())
    }
}

impl Outcome {
    /// The verdict at threshold `fail_on`: a fail when some finding is at least that
    /// severe, else a pass (findings below it stay, as warnings). The reason leads with the
    /// most severe finding and groups its repeats; an error stays an error.
    pub fn judged(mut self, fail_on: Severity) -> Outcome {
        if self.verdict == Verdict::Error {
            return self;
        }
        // Most severe first; a stable sort keeps the probe's order within a severity.
        self.findings
            .sort_by_key(|f| std::cmp::Reverse(f.severity.unwrap_or_default()));
        let worst = self
            .findings
            .first()
            .map(|f| f.severity.unwrap_or_default());
        let (verdict, reason) = match worst {
            Some(s) if s >= fail_on => (Verdict::Fail, Some(summary(&self.findings))),
            Some(_) => (
                Verdict::Pass,
                Some(format!(
                    "passed with {} warning{} below fail_on {fail_on}: {}",
                    self.findings.len(),
                    if self.findings.len() == 1 { "" } else { "s" },
                    summary(&self.findings)
                )),
            ),
            None => (Verdict::Pass, None),
        };
        self.verdict = verdict;
        self.reason = reason;
        self
    }
}

impl Outcome {
    /// The verdict under the gate's coverage policy: a pass that skipped a rule in `require`,
    /// or skipped any rule under `partial = "fail"`, is a fail whose reason names each such
    /// rule and why it was skipped (which says what to add). Anything else is unchanged.
    pub fn covering(mut self, require: &[String], partial: Partial) -> Outcome {
        if self.verdict != Verdict::Pass {
            return self;
        }
        let Some(coverage) = &self.coverage else {
            return self;
        };
        let failing: Vec<String> = coverage
            .skipped
            .iter()
            .filter(|s| partial == Partial::Fail || require.contains(&s.rule))
            .map(ToString::to_string)
            .collect();
        if failing.is_empty() {
            return self;
        }
        let why = if partial == Partial::Fail {
            "partial = \"fail\""
        } else {
            "`require`"
        };
        self.verdict = Verdict::Fail;
        self.reason = Some(format!(
            "rule{} not exercised, which {why} does not allow: {}",
            if failing.len() == 1 { "" } else { "s" },
            failing.join("; ")
        ));
        self
    }
}

/// "hsts-missing (high) on 3 responses: no Strict-Transport-Security header, at GET /,
/// GET /login, GET /x; and 2 more findings": the first (most severe) code, its repeats
/// grouped, a few of their places.
fn summary(findings: &[Finding]) -> String {
    let first = &findings[0];
    let same: Vec<&Finding> = findings.iter().filter(|f| f.code == first.code).collect();
    let severity = first.severity.unwrap_or_default();
    let places: Vec<&str> = same.iter().filter_map(|f| f.location.as_deref()).collect();
    let shown = places
        .iter()
        .take(3)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    let at = match places.len() {
        0 => String::new(),
        n if n <= 3 => format!(" at {shown}"),
        n => format!(" at {shown} (+{} more)", n - 3),
    };
    let repeats = match same.len() {
        1 => String::new(),
        n => format!(" on {n} responses"),
    };
    let others = findings.len() - same.len();
    let more = match others {
        0 => String::new(),
        1 => "; and 1 more finding".to_owned(),
        n => format!("; and {n} more findings"),
    };
    format!(
        "{} ({severity}){repeats}: {}{at}{more}",
        first.code, first.message
    )
}

/// Milliseconds of a duration, as measurements are recorded.
pub(crate) fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use phasegate_model::{Severity, Verdict};

    use super::Report;

    fn report(codes: &[(&str, &str)]) -> Report {
        let mut r = Report {
            requests: 3,
            ..Report::default()
        };
        for (code, at) in codes {
            r.finding(code, format!("{code} seen"), *at);
        }
        r
    }

    #[test]
    fn findings_below_the_threshold_are_warnings_and_at_it_fail() {
        let low = report(&[("x-powered-by", "GET /")]).into_outcome();
        assert_eq!(low.verdict, Verdict::Pass);
        assert!(
            low.reason
                .unwrap()
                .starts_with("passed with 1 warning below fail_on medium")
        );
        let strict = report(&[("x-powered-by", "GET /")])
            .into_outcome()
            .judged(Severity::Low);
        assert_eq!(strict.verdict, Verdict::Fail);
        let lenient = report(&[("hsts-missing", "GET /")])
            .into_outcome()
            .judged(Severity::Critical);
        assert_eq!(lenient.verdict, Verdict::Pass);
    }

    #[test]
    fn the_reason_leads_with_the_most_severe_and_groups_its_repeats() {
        let o = report(&[
            ("x-powered-by", "GET /"),
            ("hsts-missing", "GET /"),
            ("hsts-missing", "GET /a"),
            ("hsts-missing", "GET /b"),
            ("hsts-missing", "GET /c"),
            ("cors-origin-reflected", "OPTIONS /api"),
        ])
        .into_outcome();
        assert_eq!(o.verdict, Verdict::Fail);
        assert_eq!(
            o.reason.as_deref(),
            Some(
                "cors-origin-reflected (critical): cors-origin-reflected seen at OPTIONS /api; and 5 more findings"
            )
        );
        let codes: Vec<&str> = o.findings.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(codes[..2], ["cors-origin-reflected", "hsts-missing"]);
        let hsts = report(&[
            ("hsts-missing", "GET /"),
            ("hsts-missing", "GET /a"),
            ("hsts-missing", "GET /b"),
            ("hsts-missing", "GET /c"),
        ])
        .into_outcome();
        assert_eq!(
            hsts.reason.as_deref(),
            Some(
                "hsts-missing (high) on 4 responses: hsts-missing seen at GET /, GET /a, GET /b (+1 more)"
            )
        );
    }

    #[test]
    fn coverage_closes_over_the_probes_rules_and_a_rule_tested_once_is_exercised() {
        let mut r = Report {
            requests: 1,
            rules: &["a", "b", "c", "d"],
            ..Report::default()
        };
        r.skipped("c", "no `c` given");
        r.exercised("b");
        r.skipped("b", "not on this response");
        r.exercised("a");
        r.skipped("c", "a second reason is not kept");
        let c = r.into_outcome().coverage.unwrap();
        assert_eq!(c.exercised, ["a", "b"]);
        let skipped: Vec<(&str, &str)> = c
            .skipped
            .iter()
            .map(|s| (s.rule.as_str(), s.reason.as_str()))
            .collect();
        assert_eq!(
            skipped,
            [
                ("c", "no `c` given"),
                ("d", "not reached: the check ended before it")
            ]
        );
    }

    #[test]
    fn a_required_skipped_rule_fails_a_pass_and_leaves_a_fail_alone() {
        use phasegate_model::Partial;
        let partial = || {
            let mut r = report(&[]);
            r.rules = &["live", "dependency"];
            r.exercised("live");
            r.skipped("dependency", "no fault hook: add `fault`");
            r
        };
        let o = partial().into_outcome();
        assert_eq!(o.verdict, Verdict::Pass);
        let kept = o.clone().covering(&["live".to_owned()], Partial::Pass);
        assert_eq!(kept, o);
        let failed = o.covering(&["dependency".to_owned()], Partial::Pass);
        assert_eq!(failed.verdict, Verdict::Fail);
        assert_eq!(
            failed.reason.as_deref(),
            Some(
                "rule not exercised, which `require` does not allow: dependency: no fault hook: add `fault`"
            )
        );
        let mut bad = partial();
        bad.finding("hsts-missing", "no header", "GET /");
        let bad = bad.into_outcome();
        let reason = bad.reason.clone();
        let still = bad.covering(&[], Partial::Fail);
        assert_eq!(still.verdict, Verdict::Fail);
        assert_eq!(still.reason, reason, "the finding stays the reason");
    }

    #[test]
    fn a_probe_without_rules_has_no_coverage_unless_it_records_some() {
        assert_eq!(report(&[]).into_outcome().coverage, None);
        let mut r = report(&[]);
        r.exercised("secrets");
        assert_eq!(
            r.into_outcome().coverage.unwrap().exercised,
            ["secrets".to_owned()]
        );
    }

    #[test]
    fn an_error_stays_an_error_whatever_the_threshold() {
        let mut r = report(&[("hsts-missing", "GET /")]);
        r.error = Some("connection refused".into());
        let o = r.into_outcome().judged(Severity::Low);
        assert_eq!(o.verdict, Verdict::Error);
        assert_eq!(o.reason.as_deref(), Some("connection refused"));
    }
}
