use phasegate_model::{Record, Verdict};

use crate::{short_duration, table};

/// The final table of a run: one row per gate (its last attempt).
pub fn run_table(records: &[Record], width: Option<u16>) -> String {
    let mut t = table(&["gate", "verdict", "time", "attempts", "detail"], width);
    for r in records {
        let verdict = match r.verdict {
            Verdict::Pass => "✔ pass",
            Verdict::Fail => "✘ fail",
            Verdict::Error => "‼ error",
            Verdict::Skipped => "↷ skipped",
        };
        let attempts = if r.verdict == Verdict::Skipped {
            "-".to_owned()
        } else if r.cached_from().is_some() {
            "cached".to_owned()
        } else {
            format!("{}/{}", r.attempt, r.max_attempts)
        };
        let detail = match r.cached_from() {
            Some(from) => format!("cached from evidence #{}", from.seq),
            None => r.reason.clone().unwrap_or_default(),
        };
        t.add_row(vec![
            r.gate.to_string(),
            verdict.to_owned(),
            short_duration(r.duration_ms),
            attempts,
            detail,
        ]);
    }
    let count = |v| records.iter().filter(|r| r.verdict == v).count();
    let cached = records.iter().filter(|r| r.cached_from().is_some()).count();
    let pass = if cached > 0 {
        format!("{} pass ({cached} cached)", count(Verdict::Pass))
    } else {
        format!("{} pass", count(Verdict::Pass))
    };
    format!(
        "{t}\ngates: {pass}, {} fail, {} error, {} skipped\n",
        count(Verdict::Fail),
        count(Verdict::Error),
        count(Verdict::Skipped)
    )
}
