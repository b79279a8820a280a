//! The scorecard: derived from the roadmap and the records, never stored.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;

use crate::{Gate, GateId, PhaseId, Record, Roadmap, Verdict};

/// The state of one gate on the scorecard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GateState {
    /// Latest evidence passes, is fresh and was produced under the current rule.
    Pass,
    /// Latest evidence is a fail or an error.
    Fail,
    /// Latest evidence passed, but is older than `fresh_for` or the rule changed since.
    Stale,
    /// No evidence.
    Missing,
}

/// The state of one phase on the scorecard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseState {
    /// Every blocking gate passes and every phase it comes after is done.
    Done,
    /// A blocking gate fails.
    Failing,
    /// Nothing fails, but some blocking gate is missing or stale.
    InProgress,
    /// A phase it comes after is not done.
    Blocked,
}

macro_rules! display_as_serde_name {
    ($t:ty { $($v:ident => $s:literal),* $(,)? }) => {
        impl $t {
            /// The name used in output.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s),* }
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
display_as_serde_name!(GateState { Pass => "pass", Fail => "fail", Stale => "stale", Missing => "missing" });
display_as_serde_name!(PhaseState { Done => "done", Failing => "failing", InProgress => "in_progress", Blocked => "blocked" });

/// One gate on the scorecard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateStatus {
    /// The gate.
    pub id: GateId,
    /// Its state.
    pub state: GateState,
    /// Start of the attempt the state is derived from.
    pub last_run: Option<Timestamp>,
    /// Verdict of that attempt.
    pub verdict: Option<Verdict>,
    /// Run that produced it.
    pub run_id: Option<String>,
    /// Why the gate is in this state, in one line.
    pub reason: String,
    /// Whether the gate can block a phase.
    pub blocking: bool,
}

/// One phase on the scorecard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhaseStatus {
    /// The phase.
    pub id: PhaseId,
    /// Its title.
    pub title: String,
    /// Its state.
    pub state: PhaseState,
    /// The gates it requires (base gates included).
    pub gates: Vec<GateId>,
    /// Why it is not done (empty when done).
    pub reasons: Vec<String>,
}

/// The whole scorecard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scorecard {
    /// Go when every phase is done.
    pub go: bool,
    /// Why not, one line per phase that is not done.
    pub reasons: Vec<String>,
    /// Phases in dependency order.
    pub phases: Vec<PhaseStatus>,
    /// Gates in file order.
    pub gates: Vec<GateStatus>,
    /// The time freshness was judged against.
    pub evaluated_at: Timestamp,
}

impl Scorecard {
    /// The status of one gate.
    pub fn gate(&self, id: &str) -> Option<&GateStatus> {
        self.gates.iter().find(|g| g.id.as_str() == id)
    }
}

/// Evaluates the roadmap against evidence. `records` may hold any records of any gates in
/// ledger order; for each gate the last decisive (pass/fail/error) record counts, and a later
/// skip is reported as the reason when there is no decisive one.
pub fn evaluate<'r>(
    roadmap: &Roadmap,
    records: impl IntoIterator<Item = &'r Record>,
    now: Timestamp,
) -> Scorecard {
    let mut decisive: BTreeMap<&str, &Record> = BTreeMap::new();
    let mut skipped: BTreeMap<&str, &Record> = BTreeMap::new();
    for r in records {
        let slot = if r.verdict.is_decisive() {
            &mut decisive
        } else {
            &mut skipped
        };
        slot.insert(r.gate.as_str(), r);
    }
    let gates: Vec<GateStatus> = roadmap
        .gates
        .iter()
        .map(|g| {
            gate_status(
                g,
                decisive.get(g.id.as_str()),
                skipped.get(g.id.as_str()),
                now,
            )
        })
        .collect();
    let by_id: BTreeMap<&str, &GateStatus> = gates.iter().map(|g| (g.id.as_str(), g)).collect();

    let mut phase_states: BTreeMap<&PhaseId, PhaseState> = BTreeMap::new();
    let mut phases = Vec::with_capacity(roadmap.phases.len());
    for phase in roadmap.phase_order() {
        let ids = roadmap.phase_gates(phase);
        let mut reasons = Vec::new();
        let not_done: Vec<&str> = phase
            .after
            .iter()
            .filter(|a| phase_states.get(a) != Some(&PhaseState::Done))
            .map(|a| a.as_str())
            .collect();
        let mut failing = false;
        let mut incomplete = false;
        for id in &ids {
            let Some(g) = by_id.get(id.as_str()) else {
                continue;
            };
            if !g.blocking || g.state == GateState::Pass {
                continue;
            }
            failing |= g.state == GateState::Fail;
            incomplete |= g.state != GateState::Fail;
            reasons.push(format!("gate `{}` is {}: {}", g.id, g.state, g.reason));
        }
        let state = if !not_done.is_empty() {
            reasons.insert(
                0,
                format!("waits for phase `{}` to be done", not_done.join("`, `")),
            );
            PhaseState::Blocked
        } else if failing {
            PhaseState::Failing
        } else if incomplete {
            PhaseState::InProgress
        } else {
            PhaseState::Done
        };
        phase_states.insert(&phase.id, state);
        phases.push(PhaseStatus {
            id: phase.id.clone(),
            title: phase.title.clone(),
            state,
            gates: ids,
            reasons,
        });
    }
    let reasons = phases
        .iter()
        .filter(|p| p.state != PhaseState::Done)
        .map(|p| format!("phase `{}` is {}", p.id, p.state.as_str().replace('_', " ")))
        .collect();
    Scorecard {
        go: phases.iter().all(|p| p.state == PhaseState::Done),
        reasons,
        phases,
        gates,
        evaluated_at: now,
    }
}

fn gate_status(
    gate: &Gate,
    decisive: Option<&&Record>,
    skipped: Option<&&Record>,
    now: Timestamp,
) -> GateStatus {
    let base = |state, reason: String, r: Option<&Record>| GateStatus {
        id: gate.id.clone(),
        state,
        last_run: r.map(|r| r.started_at),
        verdict: r.map(|r| r.verdict),
        run_id: r.map(|r| r.run_id.clone()),
        reason,
        blocking: gate.blocking,
    };
    let Some(r) = decisive.copied() else {
        let reason = match skipped {
            Some(s) => format!(
                "never ran; last skipped: {}",
                s.reason.as_deref().unwrap_or("no reason")
            ),
            None => "no evidence yet".to_owned(),
        };
        return base(GateState::Missing, reason, None);
    };
    match r.verdict {
        Verdict::Pass => {
            let age = now.duration_since(r.started_at).unsigned_abs();
            if let Some(fresh) = gate.fresh_for.filter(|f| age > *f) {
                let reason = format!(
                    "passed {} ago, older than fresh_for {}",
                    humantime::format_duration(round_secs(age)),
                    humantime::format_duration(fresh)
                );
                base(GateState::Stale, reason, Some(r))
            } else if r.gate_sha256 != gate.digest() {
                base(
                    GateState::Stale,
                    "passed under a different definition of the gate; run it again".into(),
                    Some(r),
                )
            } else {
                base(GateState::Pass, "passed".into(), Some(r))
            }
        }
        Verdict::Fail | Verdict::Error => {
            let reason = r.reason.clone().unwrap_or_else(|| r.verdict.to_string());
            base(GateState::Fail, reason, Some(r))
        }
        Verdict::Skipped => unreachable!("skips are never decisive"),
    }
}

fn round_secs(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs())
}

#[cfg(test)]
mod tests;
