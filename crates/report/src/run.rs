use phasegate_model::{Record, Verdict};

use crate::{short_duration, table};

/// The final table of a run: one row per gate (its last attempt).
pub fn run_table(records: &[Record], width: Option<u16>) -> String {
    let mut t = table(&["gate", "verdict", "time", "attempts", "detail"], width);
    for r in records {
        let skipped = partial(r);
        let verdict = match r.verdict {
            Verdict::Pass if skipped > 0 => format!("◐ pass (partial: {skipped} skipped)"),
            Verdict::Pass => "✔ pass".to_owned(),
            Verdict::Fail => "✘ fail".to_owned(),
            Verdict::Error => "‼ error".to_owned(),
            Verdict::Skipped => "↷ skipped".to_owned(),
        };
        let attempts = if r.verdict == Verdict::Skipped {
            "-".to_owned()
        } else if r.cached_from().is_some() {
            "cached".to_owned()
        } else {
            format!("{}/{}", r.attempt, r.max_attempts)
        };
        let mut detail = match r.cached_from() {
            Some(from) => format!("cached from evidence #{}", from.seq),
            None => r.reason.clone().unwrap_or_default(),
        };
        if skipped > 0 && r.verdict == Verdict::Pass {
            let rules: Vec<&str> = r
                .coverage
                .iter()
                .flat_map(|c| &c.skipped)
                .map(|s| s.rule.as_str())
                .collect();
            let sep = if detail.is_empty() { "" } else { "; " };
            detail = format!("{detail}{sep}skipped: {}", rules.join(", "));
        }
        t.add_row(vec![
            r.gate.to_string(),
            verdict,
            short_duration(r.duration_ms),
            attempts,
            detail,
        ]);
    }
    let count = |v| records.iter().filter(|r| r.verdict == v).count();
    let cached = records.iter().filter(|r| r.cached_from().is_some()).count();
    let partials = records
        .iter()
        .filter(|r| r.verdict == Verdict::Pass && partial(r) > 0)
        .count();
    let notes: Vec<String> = [(cached, "cached"), (partials, "partial")]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
    let pass = if notes.is_empty() {
        format!("{} pass", count(Verdict::Pass))
    } else {
        format!("{} pass ({})", count(Verdict::Pass), notes.join(", "))
    };
    format!(
        "{t}\ngates: {pass}, {} fail, {} error, {} skipped\n",
        count(Verdict::Fail),
        count(Verdict::Error),
        count(Verdict::Skipped)
    )
}

/// How many rules the attempt skipped (0 without coverage).
fn partial(r: &Record) -> usize {
    r.coverage.as_ref().map_or(0, |c| c.skipped.len())
}
