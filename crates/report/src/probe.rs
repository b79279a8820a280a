//! One ad hoc probe's outcome: for people, and as JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use phasegate_model::{Finding, Verdict};

/// What a probe found, as `phasegate probe` shows it.
#[derive(Debug, Clone, Copy)]
pub struct ProbeView<'a> {
    /// The probe kind.
    pub kind: &'a str,
    /// The URL it ran against.
    pub url: &'a str,
    /// Its verdict.
    pub verdict: Verdict,
    /// Why, when not a pass.
    pub reason: Option<&'a str>,
    /// Every broken rule.
    pub findings: &'a [Finding],
    /// Named measurements.
    pub measurements: &'a BTreeMap<String, f64>,
    /// Requests sent.
    pub requests: u32,
}

/// The outcome for people: the verdict, each finding with where it showed, the requests.
pub fn probe_text(o: &ProbeView<'_>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "probe {} on {}: {}", o.kind, o.url, o.verdict);
    if let Some(r) = o.reason {
        let _ = writeln!(s, "  {r}");
    }
    // A passing probe's findings are warnings below its threshold.
    let mark = if o.verdict == Verdict::Pass {
        "⚠"
    } else {
        "✘"
    };
    for f in o.findings {
        let _ = writeln!(s, "  {mark} [{}] {}", crate::finding_label(f), f.message);
        if let Some(l) = &f.location {
            let _ = writeln!(s, "      at {l}");
        }
    }
    let measured: Vec<String> = o
        .measurements
        .iter()
        .map(|(k, v)| format!("{k}={v:.1}"))
        .collect();
    let measured = if measured.is_empty() {
        String::new()
    } else {
        format!("; {}", measured.join(", "))
    };
    let _ = writeln!(s, "  {} requests{measured}", o.requests);
    s
}

/// The outcome as a pretty-printed JSON document (with a trailing newline).
pub fn probe_json(o: &ProbeView<'_>) -> String {
    let doc = serde_json::json!({
        "verdict": o.verdict,
        "reason": o.reason,
        "findings": o.findings,
        "measurements": o.measurements,
        "requests": o.requests,
    });
    format!(
        "{}\n",
        serde_json::to_string_pretty(&doc).expect("an outcome serializes")
    )
}
