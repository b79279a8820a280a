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
        } else {
            format!("{}/{}", r.attempt, r.max_attempts)
        };
        t.add_row(vec![
            r.gate.to_string(),
            verdict.to_owned(),
            short_duration(r.duration_ms),
            attempts,
            r.reason.clone().unwrap_or_default(),
        ]);
    }
    let count = |v| records.iter().filter(|r| r.verdict == v).count();
    format!(
        "{t}\ngates: {} pass, {} fail, {} error, {} skipped\n",
        count(Verdict::Pass),
        count(Verdict::Fail),
        count(Verdict::Error),
        count(Verdict::Skipped)
    )
}
