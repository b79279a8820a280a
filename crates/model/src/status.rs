//! The scorecard: derived from the roadmap and the records, never stored.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;

use crate::{
    CachedFrom, Coverage, Gate, GateId, GateKind, PhaseId, Record, Roadmap, Sha256Hex, Verdict,
    Waiver, sha256_hex,
};

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
    /// No evidence (for a sign-off: fewer current approvals than it needs).
    Missing,
    /// Not passing, but an unexpired waiver stands in for it: it does not block its
    /// phase, and it is never shown as a pass.
    Waived,
    /// Its latest evidence is not signed by a key the roadmap trusts (`[trust]`): never a
    /// pass, whatever the evidence says.
    Untrusted,
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
display_as_serde_name!(GateState { Pass => "pass", Fail => "fail", Stale => "stale", Missing => "missing", Waived => "waived", Untrusted => "untrusted" });
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
    /// For a `signoff` gate: the latest approval of each approver, and whether it counts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<ApprovalStatus>,
    /// The unexpired waiver standing in for the gate, when its state is `waived`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiver: Option<Waiver>,
    /// When the state comes from a cached record: the evidence whose result it reuses
    /// (its time is what `fresh_for` is judged from).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cached_from: Option<CachedFrom>,
    /// For a probe gate: the rules the evidence shown exercised and those it skipped, with
    /// why. A `pass` whose `coverage.skipped` is not empty is a partial pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage: Option<Coverage>,
}

impl GateStatus {
    /// How many rules a passing gate's evidence skipped: `Some` only for a partial pass.
    pub fn partial(&self) -> Option<usize> {
        let skipped = self.coverage.as_ref().map_or(0, |c| c.skipped.len());
        (self.state == GateState::Pass && skipped > 0).then_some(skipped)
    }

    /// The state as shown: `pass (partial: 2 skipped)` for a partial pass, never a plain
    /// `pass`.
    pub fn state_label(&self) -> String {
        match self.partial() {
            Some(n) => format!("pass (partial: {n} skipped)"),
            None => self.state.to_string(),
        }
    }
}

/// One approver's approval of a `signoff` gate, as judged now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApprovalStatus {
    /// Who approved.
    pub by: String,
    /// In which role.
    pub role: String,
    /// What they said.
    pub note: Option<String>,
    /// When.
    pub at: Timestamp,
    /// The run (of one record) holding the approval.
    pub run_id: String,
    /// Whether it counts towards the gate's approvals now.
    pub counts: bool,
    /// `current` when it counts, otherwise why not.
    pub reason: String,
}

/// A record as the ledger holds it: the record and the hash of the entry holding it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evidence<'r> {
    /// The record.
    pub record: &'r Record,
    /// The ledger's chain hash of the entry; `None` when the caller does not know it, in
    /// which case no approval can match the evidence (approvals cover entry hashes).
    pub entry_hash: Option<&'r str>,
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
    /// Its passing gates whose evidence skipped some rules: a phase done on them is done
    /// on partial evidence, and says so.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub partial: Vec<GateId>,
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
    /// Why the evidence cannot be trusted, when its ledger does not verify (the entry that
    /// does not match): the scorecard is then no-go whatever the gates say. Set by the
    /// caller that verified the ledger; evaluation itself reads no ledger.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broken: Option<String>,
}

impl Scorecard {
    /// Marks the scorecard as judged over a ledger that does not verify: no-go, with
    /// `why` (the broken entry) as the first reason.
    pub fn set_broken(&mut self, why: String) {
        self.go = false;
        self.reasons
            .insert(0, format!("the evidence ledger does not verify: {why}"));
        self.broken = Some(why);
    }

    /// The status of one gate.
    pub fn gate(&self, id: &str) -> Option<&GateStatus> {
        self.gates.iter().find(|g| g.id.as_str() == id)
    }
}

/// Evaluates the roadmap against records whose ledger hashes are unknown: like
/// [`evaluate_evidence`], except that no approval of a `signoff` gate can count (approvals
/// cover entry hashes). `records` may hold any records of any gates in ledger order.
pub fn evaluate<'r>(
    roadmap: &Roadmap,
    records: impl IntoIterator<Item = &'r Record>,
    now: Timestamp,
) -> Scorecard {
    evaluate_evidence(
        roadmap,
        records.into_iter().map(|record| Evidence {
            record,
            entry_hash: None,
        }),
        now,
    )
}

/// Evaluates the roadmap against evidence. `evidence` may hold any records of any gates in
/// ledger order. For each gate the last decisive (pass/fail/error) record counts, and a
/// later skip is reported as the reason when there is no decisive one. Approvals and
/// waivers are told apart from attempts by their `approval` and `waiver` fields:
///
/// - a `signoff` gate passes when enough distinct approvers, in allowed roles, approved
///   the current evidence of its phases ([`phase_evidence_digest`]) within `fresh_for`;
///   records of it without an approval never count;
/// - a gate that does not pass is `waived`, which does not block its phase, while a
///   `[[waiver]]` rule of the roadmap covering it is met: enough distinct granters (by
///   [`Waiver::by`]) in its roles, each with an unexpired waiver no longer than its `max`,
///   until the earliest of their ends. Each granter's latest waiver is theirs. A pass on
///   current evidence wins over it. To judge k of n, `evidence` must hold every waiver of
///   a gate a rule covers.
pub fn evaluate_evidence<'r>(
    roadmap: &Roadmap,
    evidence: impl IntoIterator<Item = Evidence<'r>>,
    now: Timestamp,
) -> Scorecard {
    evaluate_trusting(roadmap, evidence, now, &|_| None)
}

/// Why a record is not to be trusted (its run's head is signed by a key the roadmap does not
/// pin, an approval's signature does not verify, ...), or `None` when it is. The caller
/// decides, since judging keys is not the model's business.
pub type Distrust<'a> = &'a dyn Fn(&Record) -> Option<String>;

/// [`evaluate_evidence`], where a record `untrusted` says something about never counts: a
/// gate whose latest evidence is untrusted is [`GateState::Untrusted`], an untrusted
/// approval does not count and an untrusted waiver stands in for nothing.
pub fn evaluate_trusting<'r>(
    roadmap: &Roadmap,
    evidence: impl IntoIterator<Item = Evidence<'r>>,
    now: Timestamp,
    untrusted: Distrust<'_>,
) -> Scorecard {
    let sorted = Sorted::from(evidence);
    let gates: Vec<GateStatus> = roadmap
        .gates
        .iter()
        .map(|g| {
            let status = match &g.kind {
                GateKind::Signoff { roles, approvals } => {
                    let rule = SignoffRule {
                        roles,
                        needed: *approvals,
                    };
                    signoff_status(roadmap, g, rule, &sorted, now, untrusted)
                }
                _ => {
                    let decisive = sorted.decisive.get(g.id.as_str()).map(|e| e.record);
                    match decisive.and_then(|r| Some((r, untrusted(r)?))) {
                        Some((r, why)) => status_of(g, GateState::Untrusted, why, Some(r)),
                        None => gate_status(
                            g,
                            decisive,
                            sorted.skipped.get(g.id.as_str()).copied(),
                            now,
                        ),
                    }
                }
            };
            let (trusted, distrusted): (Vec<&Record>, Vec<&Record>) = sorted
                .waivers
                .get(g.id.as_str())
                .map_or(&[][..], Vec::as_slice)
                .iter()
                .partition(|r| untrusted(r).is_none());
            let mut status = waiver::apply(roadmap, g, status, &trusted, now);
            if let Some(r) = distrusted
                .last()
                .filter(|_| status.state != GateState::Pass)
            {
                let by = r.waiver.as_ref().map_or("?", |w| w.by.as_str());
                let why = untrusted(r).unwrap_or_default();
                status.reason = format!("{}; waiver by {by} does not count: {why}", status.reason);
            }
            status
        })
        .collect();
    let phases = phase_statuses(roadmap, &gates);
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
        broken: None,
    }
}

/// Each phase's state in dependency order: blocked while a phase it comes `after` is not
/// done, else failing, in progress or done by its blocking gates.
fn phase_statuses(roadmap: &Roadmap, gates: &[GateStatus]) -> Vec<PhaseStatus> {
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
            if !g.blocking || matches!(g.state, GateState::Pass | GateState::Waived) {
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
        let partial = ids
            .iter()
            .filter(|id| {
                by_id
                    .get(id.as_str())
                    .is_some_and(|g| g.partial().is_some())
            })
            .cloned()
            .collect();
        phases.push(PhaseStatus {
            id: phase.id.clone(),
            title: phase.title.clone(),
            state,
            gates: ids,
            reasons,
            partial,
        });
    }
    phases
}

/// The records of each gate that status reads, told apart by what they are.
#[derive(Default)]
struct Sorted<'r> {
    /// The latest attempt with a decisive verdict.
    decisive: BTreeMap<&'r str, Evidence<'r>>,
    /// The latest skipped attempt.
    skipped: BTreeMap<&'r str, &'r Record>,
    /// Every approval, in ledger order.
    approvals: BTreeMap<&'r str, Vec<&'r Record>>,
    /// Every waiver, in ledger order.
    waivers: BTreeMap<&'r str, Vec<&'r Record>>,
}

impl<'r, I: IntoIterator<Item = Evidence<'r>>> From<I> for Sorted<'r> {
    fn from(evidence: I) -> Self {
        let mut s = Sorted::default();
        for e in evidence {
            let r = e.record;
            let gate = r.gate.as_str();
            // Approvals and waivers are people's statements about a gate, not attempts at
            // it: they must never stand in for its latest attempt (nor hide one).
            if r.approval.is_some() {
                s.approvals.entry(gate).or_default().push(r);
            } else if r.waiver.is_some() {
                s.waivers.entry(gate).or_default().push(r);
            } else if r.verdict.is_decisive() {
                s.decisive.insert(gate, e);
            } else {
                s.skipped.insert(gate, r);
            }
        }
        s
    }
}

/// SHA-256 of the evidence an approval of the `signoff` gate `gate` approves: over the
/// sorted `(gate id, entry hash)` pairs of the latest decisive records of the other gates
/// of the phases requiring `gate` (base gates included). `evidence` is as for
/// [`evaluate_evidence`].
///
/// Sign-off gates are left out, so that approving one sign-off never undoes another. So
/// are the gates that need `gate` (directly or not): they wait for the approval, so their
/// evidence comes after it and would make it stale at once. A gate without decisive
/// evidence adds nothing, so its first evidence changes the digest.
pub fn phase_evidence_digest<'r>(
    roadmap: &Roadmap,
    gate: &GateId,
    evidence: impl IntoIterator<Item = Evidence<'r>>,
) -> Sha256Hex {
    digest_of(&covered(roadmap, gate), &Sorted::from(evidence).decisive)
}

/// The gates whose evidence an approval of `gate` covers, sorted by id, each once.
fn covered<'a>(roadmap: &'a Roadmap, gate: &GateId) -> Vec<&'a Gate> {
    let mut ids: Vec<GateId> = roadmap
        .phases_of(gate)
        .iter()
        .filter_map(|p| roadmap.phase(p.as_str()))
        .flat_map(|p| roadmap.phase_gates(p))
        .filter(|id| id != gate)
        .collect();
    ids.sort();
    ids.dedup();
    let waiting = dependants(roadmap, gate);
    ids.iter()
        .filter(|id| !waiting.contains(id))
        .filter_map(|id| roadmap.gate(id.as_str()))
        .filter(|g| !matches!(g.kind, GateKind::Signoff { .. }))
        .collect()
}

/// The gates that need `gate`, directly or through other gates.
fn dependants<'a>(roadmap: &'a Roadmap, gate: &GateId) -> BTreeSet<&'a GateId> {
    let mut found: BTreeSet<&GateId> = BTreeSet::new();
    loop {
        let before = found.len();
        for g in &roadmap.gates {
            if g.needs.iter().any(|n| n == gate || found.contains(n)) {
                found.insert(&g.id);
            }
        }
        if found.len() == before {
            return found;
        }
    }
}

fn digest_of(covered: &[&Gate], decisive: &BTreeMap<&str, Evidence<'_>>) -> Sha256Hex {
    let mut text = String::new();
    for g in covered {
        if let Some(e) = decisive.get(g.id.as_str()) {
            // Ids are slugs and hashes hex, so tab and newline cannot occur inside them.
            // An unknown hash gives a digest no real approval can have. A cached record
            // stands for the evidence it reuses: a run that changed nothing must not make
            // an approval stale.
            let hash = match e.record.cached_from() {
                Some(from) => Some(from.entry_hash.as_str()),
                None => e.entry_hash,
            };
            text.push_str(&format!("{}\t{}\n", g.id, hash.unwrap_or("unknown")));
        }
    }
    sha256_hex(text.as_bytes())
}

/// When a record's attempt ended (for a cached record, the attempt it reuses): the ledger
/// holds it from about then on.
fn ended_at(r: &Record) -> Timestamp {
    let (start, ms) = match r.cached_from() {
        Some(from) => (from.started_at, from.duration_ms),
        None => (r.started_at, r.duration_ms),
    };
    let took = jiff::SignedDuration::from_millis(i64::try_from(ms).unwrap_or(i64::MAX));
    start.checked_add(took).unwrap_or(start)
}

/// What a `signoff` gate asks for: approvals by `needed` distinct people in `roles`.
#[derive(Clone, Copy)]
struct SignoffRule<'a> {
    roles: &'a [String],
    needed: u32,
}

fn signoff_status(
    roadmap: &Roadmap,
    gate: &Gate,
    rule: SignoffRule<'_>,
    sorted: &Sorted<'_>,
    now: Timestamp,
    untrusted: Distrust<'_>,
) -> GateStatus {
    let SignoffRule { roles, needed } = rule;
    let covered = covered(roadmap, &gate.id);
    let current = digest_of(&covered, &sorted.decisive);
    let judge = Judge {
        gate,
        roles,
        covered,
        current,
        decisive: &sorted.decisive,
        now,
        untrusted,
    };
    let all = sorted
        .approvals
        .get(gate.id.as_str())
        .map(Vec::as_slice)
        .unwrap_or_default();
    let approvals = per_approver(all, &judge);
    let (state, reason, shown) = signoff_outcome(&approvals, roles, needed);
    GateStatus {
        approvals: approvals.into_iter().map(|(_, a)| a).collect(),
        ..status_of(gate, state, reason, shown)
    }
}

/// What decides whether an approval of a `signoff` gate counts now.
struct Judge<'a> {
    gate: &'a Gate,
    roles: &'a [String],
    /// The gates whose evidence an approval covers ([`covered`]).
    covered: Vec<&'a Gate>,
    /// The digest of their evidence now.
    current: Sha256Hex,
    decisive: &'a BTreeMap<&'a str, Evidence<'a>>,
    now: Timestamp,
    untrusted: Distrust<'a>,
}

impl Judge<'_> {
    /// Why an approval does not count now, or `None` when it does.
    fn why_not(&self, r: &Record) -> Option<String> {
        if let Some(why) = (self.untrusted)(r) {
            return Some(why);
        }
        let a = r.approval.as_ref().expect("only approvals are sorted here");
        if !self.roles.contains(&a.role) {
            return Some(format!("role `{}` may not approve this gate", a.role));
        }
        let age = self.now.duration_since(r.started_at).unsigned_abs();
        if let Some(fresh) = self.gate.fresh_for.filter(|f| age > *f) {
            return Some(format!(
                "approval older than fresh_for {} (approved {} ago)",
                humantime::format_duration(fresh),
                humantime::format_duration(round_secs(age))
            ));
        }
        if r.gate_sha256 != self.gate.digest() {
            return Some("approved under a different definition of the gate".to_owned());
        }
        if a.covers_sha256 != self.current {
            return Some(match self.rerun_since(r).as_slice() {
                [] => "approved evidence changed since".to_owned(),
                [one] => format!("approved evidence changed since: gate `{one}` re-ran"),
                many => format!(
                    "approved evidence changed since: gates `{}` re-ran",
                    many.join("`, `")
                ),
            });
        }
        None
    }

    /// The covered gates whose latest decisive attempt ended after the approval `r`.
    fn rerun_since(&self, r: &Record) -> Vec<&str> {
        self.covered
            .iter()
            .filter(|g| {
                self.decisive
                    .get(g.id.as_str())
                    .is_some_and(|e| ended_at(e.record) > r.started_at)
            })
            .map(|g| g.id.as_str())
            .collect()
    }
}

/// One entry per approver, in the order of their first approval: their latest approval
/// that counts, else their latest. Approvers are told apart by the key that signed, else by
/// name regardless of case: approving twice, under one key or one name, never makes two.
fn per_approver<'r>(all: &[&'r Record], judge: &Judge<'_>) -> Vec<(&'r Record, ApprovalStatus)> {
    let mut per_approver: BTreeMap<String, (&Record, Option<String>)> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for r in all {
        let a = r.approval.as_ref().expect("only approvals are sorted here");
        let key = match &a.signed {
            Some(s) => s.key.clone(),
            None => a.by.trim().to_lowercase(),
        };
        let verdict = judge.why_not(r);
        match per_approver.get(&key) {
            Some((_, None)) if verdict.is_some() => {}
            Some(_) => {
                per_approver.insert(key, (r, verdict));
            }
            None => {
                order.push(key.clone());
                per_approver.insert(key, (r, verdict));
            }
        }
    }
    order
        .iter()
        .map(|k| {
            let (r, why_not) = &per_approver[k];
            let a = r.approval.as_ref().expect("only approvals are sorted here");
            let status = ApprovalStatus {
                by: a.by.clone(),
                role: a.role.clone(),
                note: a.note.clone(),
                at: r.started_at,
                run_id: r.run_id.clone(),
                counts: why_not.is_none(),
                reason: why_not.clone().unwrap_or_else(|| "current".to_owned()),
            };
            (*r, status)
        })
        .collect()
}

/// A `signoff` gate's state and reason from its approvals (one per approver), and the
/// approval its status is shown by.
fn signoff_outcome<'r>(
    approvals: &[(&'r Record, ApprovalStatus)],
    roles: &[String],
    needed: u32,
) -> (GateState, String, Option<&'r Record>) {
    let counting: Vec<&(&Record, ApprovalStatus)> =
        approvals.iter().filter(|(_, a)| a.counts).collect();
    let named = |list: &[&(&Record, ApprovalStatus)]| {
        list.iter()
            .map(|(_, a)| format!("{} ({})", a.by, a.role))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let has = u32::try_from(counting.len()).unwrap_or(u32::MAX);
    let needs = format!(
        "needs {needed} approval{} by {}",
        if needed == 1 { "" } else { "s" },
        roles.join(", ")
    );
    // A role that is no longer allowed is not stale evidence: it never will count.
    let stale: Vec<&(&Record, ApprovalStatus)> = approvals
        .iter()
        .filter(|(_, a)| !a.counts && roles.contains(&a.role))
        .collect();
    if has >= needed {
        let last = counting
            .iter()
            .map(|(r, _)| *r)
            .max_by_key(|r| r.started_at);
        return (
            GateState::Pass,
            format!("approved by {}", named(&counting)),
            last,
        );
    }
    let mut reason = format!("{needs}; has {has}");
    if has > 0 {
        reason.push_str(&format!(": {}", named(&counting)));
    }
    for (_, a) in &stale {
        reason.push_str(&format!(
            "; approval by {} ({}) does not count: {}",
            a.by, a.role, a.reason
        ));
    }
    let state = if stale.is_empty() {
        GateState::Missing
    } else {
        GateState::Stale
    };
    let last = approvals
        .iter()
        .filter(|(_, a)| a.counts || roles.contains(&a.role))
        .map(|(r, _)| *r)
        .max_by_key(|r| r.started_at);
    (state, reason, last)
}

fn gate_status(
    gate: &Gate,
    decisive: Option<&Record>,
    skipped: Option<&Record>,
    now: Timestamp,
) -> GateStatus {
    let base = |state, reason: String, r: Option<&Record>| status_of(gate, state, reason, r);
    // A gate still to be filled in tests nothing yet, whatever evidence it had before.
    if let Some(todo) = &gate.todo {
        return base(GateState::Missing, format!("todo: {todo}"), None);
    }
    let Some(r) = decisive else {
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
            // A cached record is as old as the result it reuses.
            let age = now.duration_since(r.observed_at()).unsigned_abs();
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
                let cached = r
                    .cached_from()
                    .map(|from| format!(" (cached from evidence #{})", from.seq))
                    .unwrap_or_default();
                // The rules only; `why` and `coverage` give each one's reason.
                let partial = match r.coverage.as_ref().filter(|c| c.is_partial()) {
                    Some(c) => format!(
                        "; partial: skipped {}",
                        c.skipped
                            .iter()
                            .map(|s| s.rule.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    None => String::new(),
                };
                base(GateState::Pass, format!("passed{cached}{partial}"), Some(r))
            }
        }
        Verdict::Fail | Verdict::Error => {
            let reason = r.reason.clone().unwrap_or_else(|| r.verdict.to_string());
            base(GateState::Fail, reason, Some(r))
        }
        Verdict::Skipped => unreachable!("skips are never decisive"),
    }
}

/// The status of `gate` as the record `shown` (if any) shows it: no approvals, no waiver.
fn status_of(gate: &Gate, state: GateState, reason: String, shown: Option<&Record>) -> GateStatus {
    GateStatus {
        id: gate.id.clone(),
        state,
        last_run: shown.map(|r| r.started_at),
        verdict: shown.map(|r| r.verdict),
        run_id: shown.map(|r| r.run_id.clone()),
        reason,
        blocking: gate.blocking,
        approvals: Vec::new(),
        waiver: None,
        cached_from: shown.and_then(|r| r.cached_from().cloned()),
        coverage: shown.and_then(|r| r.coverage.clone()),
    }
}

fn round_secs(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs())
}

mod waiver;

#[cfg(test)]
mod tests;
