use std::fmt::Write;

use jiff::Timestamp;
use phasegate_model::{
    CacheDecision, Gate, GateKind, GateState, GateStatus, GitInfo, OutputEvidence, Record,
};

use crate::{age, short_duration};

/// Lines of the output excerpt shown; the record holds more, `evidence show` prints all.
const EXCERPT_LINES: usize = 40;

/// Explains a gate's state from the evidence alone: the rule, what was observed, when, on
/// which commit, and the relevant output. `history` is the gate's records, newest first.
pub fn why(gate: &Gate, status: &GateStatus, history: &[Record], now: Timestamp) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "gate `{}`: {}", gate.id, status.state_label());
    let _ = writeln!(
        o,
        "  reason:   {}",
        status.reason.replace('\n', "\n            ")
    );
    let _ = writeln!(o, "  rule:     {}", rule(gate));
    if let Some(w) = &status.waiver {
        let _ = writeln!(
            o,
            "  waiver:   by {} ({}) until {}: {}",
            w.by, w.role, w.until, w.reason
        );
    }
    if let GateKind::Signoff { .. } = gate.kind {
        return signoff(o, gate, status, now);
    }

    let shown = match status.run_id.as_deref() {
        Some(run) => history
            .iter()
            .find(|r| r.run_id == run && Some(r.started_at) == status.last_run),
        None => history.first(),
    };
    let Some(r) = shown else {
        let _ = writeln!(
            o,
            "  evidence: none; run it with `phasegate run {}`",
            gate.id
        );
        return o;
    };
    if status.state == GateState::Stale && r.gate_sha256 != gate.digest() {
        let _ = writeln!(
            o,
            "  then:     {} `{}` (the rule the evidence was produced under)",
            r.rule.kind, r.rule.text
        );
    }
    evidence(&mut o, r, now);
    if history.len() > 1 {
        let past: Vec<String> = history
            .iter()
            .take(6)
            .map(|h| format!("{} {}", h.verdict, age(h.started_at, now)))
            .collect();
        let _ = writeln!(o, "  history:  {}", past.join(", "));
    }
    o
}

/// The gate's rule in one line: its kind, what it checks, and the settings that matter.
fn rule(gate: &Gate) -> String {
    let timeout = humantime::format_duration(gate.timeout);
    let mut rule = match &gate.kind {
        GateKind::Probe { probe, params } => {
            let params = serde_json::to_string(params).expect("JSON values always serialize");
            format!("probe `{probe}` with {params}, timeout {timeout}")
        }
        kind => format!("{} `{}`, timeout {timeout}", kind.name(), kind.describe()),
    };
    if gate.retries > 0 {
        let _ = write!(rule, ", retries {}", gate.retries);
    }
    if let Some(f) = gate.fresh_for {
        let _ = write!(rule, ", fresh for {}", humantime::format_duration(f));
    }
    if !gate.needs.is_empty() {
        let needs: Vec<&str> = gate.needs.iter().map(|n| n.as_str()).collect();
        let _ = write!(rule, ", needs {}", needs.join(", "));
    }
    if !gate.blocking {
        rule.push_str(", advisory");
    }
    if !gate.require.is_empty() {
        let _ = write!(rule, ", require {}", gate.require.join(", "));
    }
    if gate.partial == phasegate_model::Partial::Fail {
        rule.push_str(", partial = fail");
    }
    if let Some(todo) = &gate.todo {
        let _ = write!(rule, ", todo: {todo}");
    }
    rule
}

/// What the cache makes of a gate now, for `why`: one line, `  cache:    ...`.
pub fn why_cache(decision: &CacheDecision, now: Timestamp) -> String {
    let text = match decision {
        CacheDecision::Hit(from) => format!(
            "unchanged since evidence #{} ({}): a run reuses it",
            from.seq,
            age(from.started_at, now)
        ),
        other => format!("a run would run it: {other}"),
    };
    format!("  cache:    {text}\n")
}

/// What the cache decided for each gate of a run (`run --explain`): one line per gate.
pub fn run_explain(
    decisions: &std::collections::BTreeMap<phasegate_model::GateId, CacheDecision>,
    now: Timestamp,
) -> String {
    let width = decisions
        .keys()
        .map(|g| g.as_str().len())
        .max()
        .unwrap_or(0);
    let mut o = String::new();
    for (gate, d) in decisions {
        let text = match d {
            CacheDecision::Hit(from) => format!(
                "cached from evidence #{} ({})",
                from.seq,
                age(from.started_at, now)
            ),
            other => format!("ran: {other}"),
        };
        let _ = writeln!(o, "  {:width$}  {text}", gate.as_str());
    }
    o
}

/// The attempt `r`: when and how it ended, what it observed, where it ran, its output.
fn evidence(o: &mut String, r: &Record, now: Timestamp) {
    let _ = writeln!(
        o,
        "  evidence: {} at {} ({}), attempt {}/{}, took {}",
        r.verdict,
        r.started_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        age(r.started_at, now),
        r.attempt,
        r.max_attempts,
        short_duration(r.duration_ms)
    );
    let _ = writeln!(o, "  run:      {}", r.run_id);
    if let Some(from) = r.cached_from() {
        let _ = writeln!(
            o,
            "  cached:   the gate did not run; its result is evidence #{} (run {}, {})",
            from.seq,
            from.run_id,
            age(from.started_at, now)
        );
    }
    let observed = observed(r);
    if !observed.is_empty() {
        let _ = writeln!(o, "  observed: {}", observed.join("; "));
    }
    if let Some(c) = &r.coverage {
        let exercised = if c.exercised.is_empty() {
            "none".to_owned()
        } else {
            c.exercised.join(", ")
        };
        let _ = writeln!(o, "  tested:   {exercised}");
        for s in &c.skipped {
            let _ = writeln!(o, "  skipped:  {}: {}", s.rule, s.reason);
        }
    }
    let _ = writeln!(
        o,
        "  source:   {}, host {}, phasegate {}",
        source(r.git.as_ref()),
        r.host,
        r.tool_version
    );
    let _ = writeln!(o, "  roadmap:  sha256 {}", r.roadmap_sha256);
    for f in &r.findings {
        let at = f
            .location
            .as_deref()
            .map(|l| format!(" at {l}"))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "  finding:  [{}] {}{at}",
            crate::finding_label(f),
            f.message
        );
    }
    if let Some(out) = &r.output {
        output(o, out);
    }
}

/// How the process ended and what the check measured.
fn observed(r: &Record) -> Vec<String> {
    let mut observed = Vec::new();
    if let Some(c) = r.exit_code {
        observed.push(format!("exit status {c}"));
    }
    if let Some(s) = r.signal {
        observed.push(format!("signal {s}"));
    }
    if r.timed_out {
        observed.push(format!(
            "timed out after {}",
            short_duration(r.rule.timeout_ms)
        ));
    }
    for (k, v) in &r.measurements {
        observed.push(format!("{k} = {}", number(*v)));
    }
    observed
}

/// The repository state the attempt ran on.
fn source(git: Option<&GitInfo>) -> String {
    match git {
        Some(g) => format!(
            "commit {} on {}{}",
            &g.commit[..g.commit.len().min(12)],
            g.branch,
            if g.dirty {
                " (uncommitted changes)"
            } else {
                ""
            }
        ),
        None => "not in a git work tree".to_owned(),
    }
}

/// The output's digest and log, and the last [`EXCERPT_LINES`] lines of its excerpt.
fn output(o: &mut String, out: &OutputEvidence) {
    let _ = writeln!(
        o,
        "  output:   {} bytes, sha256 {}, log {}",
        out.bytes, out.sha256, out.log
    );
    let lines: Vec<&str> = out.excerpt.lines().collect();
    let skip = lines.len().saturating_sub(EXCERPT_LINES);
    if skip > 0 {
        let _ = writeln!(
            o,
            "    │ … {skip} more lines in the excerpt (`phasegate evidence show`)"
        );
    }
    for l in &lines[skip..] {
        let _ = writeln!(o, "    │ {l}");
    }
}

/// The rest of `why` for a sign-off gate: its approvals, not an attempt's output.
fn signoff(mut o: String, gate: &Gate, status: &GateStatus, now: Timestamp) -> String {
    if status.approvals.is_empty() {
        let _ = writeln!(
            o,
            "  approvals: none; approve it with `phasegate signoff {} --as ROLE`",
            gate.id
        );
        return o;
    }
    let _ = writeln!(o, "  approvals:");
    for a in &status.approvals {
        let _ = writeln!(
            o,
            "    {} {} ({}) at {} ({}), run {}: {}",
            if a.counts { "✔" } else { "✘" },
            a.by,
            a.role,
            a.at.strftime("%Y-%m-%d %H:%M:%S UTC"),
            age(a.at, now),
            a.run_id,
            if a.counts { "counts" } else { &a.reason }
        );
        if let Some(note) = &a.note {
            let _ = writeln!(o, "      note: {note}");
        }
    }
    o
}

/// `28` for whole numbers, `29.9` otherwise.
fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}
