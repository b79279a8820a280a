use phasegate_model::{GateState, PhaseState, Scorecard};

use crate::{age, table};

fn phase_mark(s: PhaseState) -> &'static str {
    match s {
        PhaseState::Done => "✔ done",
        PhaseState::Failing => "✘ failing",
        PhaseState::InProgress => "… in progress",
        PhaseState::Blocked => "⏸ blocked",
    }
}

fn gate_mark(s: GateState) -> &'static str {
    match s {
        GateState::Pass => "✔ pass",
        GateState::Fail => "✘ fail",
        GateState::Stale => "⟲ stale",
        GateState::Missing => "· missing",
        GateState::Waived => "⚑ waived",
        GateState::Untrusted => "⚠ untrusted",
    }
}

/// The scorecard as a terminal report: phases, gates, and go / no-go with the reasons.
pub fn status_table(card: &Scorecard, width: Option<u16>) -> String {
    let mut phases = table(&["phase", "state", "gates"], width);
    for p in &card.phases {
        let count = |state| {
            p.gates
                .iter()
                .filter(|g| card.gate(g.as_str()).is_some_and(|s| s.state == state))
                .count()
        };
        let passing = count(GateState::Pass);
        let mut gates = format!("{passing}/{} passing", p.gates.len());
        // A pass that skipped rules is not a plain pass: the phase says how many.
        if !p.partial.is_empty() {
            gates.push_str(&format!(", {} partial", p.partial.len()));
        }
        // A waived gate lets the phase be done without passing: say so beside the count.
        let waived = count(GateState::Waived);
        if waived > 0 {
            gates.push_str(&format!(", {waived} waived"));
        }
        let mark = match (p.state, p.partial.len()) {
            (PhaseState::Done, n) if n > 0 => format!("{} (partial)", phase_mark(p.state)),
            _ => phase_mark(p.state).to_owned(),
        };
        phases.add_row(vec![format!("{}\n{}", p.id, p.title), mark, gates]);
    }
    let mut gates = table(&["gate", "state", "last run", "why"], width);
    for g in &card.gates {
        let id = if g.blocking {
            g.id.to_string()
        } else {
            format!("{} (advisory)", g.id)
        };
        let last = g
            .last_run
            .map(|t| age(t, card.evaluated_at))
            .unwrap_or_else(|| "never".into());
        // A cached pass says which evidence it stands on, and how old that is.
        let reason = match &g.cached_from {
            Some(from) if g.state == GateState::Pass => {
                let rest = g.reason.split_once("; partial").map(|(_, r)| r);
                format!(
                    "pass (cached from evidence #{}, {}){}",
                    from.seq,
                    age(from.started_at, card.evaluated_at),
                    rest.map(|r| format!("; partial{r}")).unwrap_or_default()
                )
            }
            _ => g.reason.clone(),
        };
        let mark = match g.partial() {
            Some(n) => format!("◐ pass (partial: {n} skipped)"),
            None => gate_mark(g.state).to_owned(),
        };
        gates.add_row(vec![id, mark, last, reason]);
    }
    let mut out = format!("{phases}\n{gates}\n");
    let partial: Vec<&str> = card
        .gates
        .iter()
        .filter(|g| g.partial().is_some())
        .map(|g| g.id.as_str())
        .collect();
    if card.go && !partial.is_empty() {
        out.push_str(&format!(
            "GO: every phase is done on current evidence, partly on partial passes ({}): `phasegate why <gate>` lists what they skipped\n",
            partial.join(", ")
        ));
    } else if card.go {
        out.push_str("GO: every phase is done on current evidence\n");
    } else {
        out.push_str("NO-GO:\n");
        if let Some(why) = &card.broken {
            out.push_str(&format!(
                "  - BROKEN: the evidence ledger does not verify: {why}\n"
            ));
        }
        for p in card.phases.iter().filter(|p| p.state != PhaseState::Done) {
            out.push_str(&format!(
                "  - phase `{}` is {}\n",
                p.id,
                p.state.as_str().replace('_', " ")
            ));
            for r in &p.reasons {
                out.push_str(&format!("      {r}\n"));
            }
        }
    }
    out
}
