//! Waivers on the scorecard. A gate that does not pass is `waived` when a `[[waiver]]` rule
//! of the roadmap covering it is met: enough distinct granters, each in one of the rule's
//! roles, hold an unexpired waiver no longer than the rule's `max`. The policy is applied
//! when judging, not only when granting, so tightening the roadmap withdraws waivers.

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::{GateState, GateStatus};
use crate::{Gate, Record, Roadmap, Waiver, WaiverRule};

/// `status` with the waivers of `gate` applied; `waivers` are its waiver records in ledger
/// order (all of them for a gate some rule covers, else at least the latest).
pub(super) fn apply(
    roadmap: &Roadmap,
    gate: &Gate,
    mut status: GateStatus,
    waivers: &[&Record],
    now: Timestamp,
) -> GateStatus {
    // A pass on current evidence wins: a waiver is never needed to pass.
    let Some(latest) = waivers.last().and_then(|r| as_waiver(r)) else {
        return status;
    };
    if status.state == GateState::Pass {
        return status;
    }
    let rules: Vec<&WaiverRule> = roadmap.waiver_rules(gate).collect();
    let mut best: Option<Vec<&Record>> = None;
    let mut pending: Option<String> = None;
    for rule in &rules {
        let held = granters(rule, waivers, now);
        let needed = usize::try_from(rule.approvals).unwrap_or(usize::MAX);
        if held.len() >= needed {
            // The `needed` granters whose waivers last longest; the waiver ends with the
            // earliest of them.
            let chosen = held[..needed].to_vec();
            let ends = |c: &[&Record]| c.last().and_then(|r| as_waiver(r)).map(|w| w.until);
            if best.as_deref().is_none_or(|b| ends(&chosen) > ends(b)) {
                best = Some(chosen);
            }
        } else if !held.is_empty() && pending.is_none() {
            pending = Some(format!(
                "waiver by {} waits for {} granters under its rule, has {}",
                named(&held),
                rule.approvals,
                held.len()
            ));
        }
    }
    match best {
        Some(chosen) => {
            let shown = as_waiver(chosen.last().expect("a rule needs at least one granter"))
                .expect("only waivers are chosen");
            status.reason = format!(
                "waived by {} until {}: {}; otherwise {}: {}",
                named(&chosen),
                shown.until,
                shown.reason,
                status.state,
                status.reason
            );
            status.state = GateState::Waived;
            status.waiver = Some(shown.clone());
        }
        None => {
            let why = pending.unwrap_or_else(|| {
                if latest.until <= now {
                    format!(
                        "waiver by {} ({}) expired at {}",
                        latest.by, latest.role, latest.until
                    )
                } else {
                    format!(
                        "waiver by {} ({}) does not count: {}",
                        latest.by,
                        latest.role,
                        why_not(&rules, latest)
                    )
                }
            });
            status.reason = format!("{}; {why}", status.reason);
        }
    }
    status
}

fn as_waiver(r: &Record) -> Option<&Waiver> {
    r.waiver.as_ref()
}

/// The latest waiver of each granter (told apart by `by`, regardless of case) that `rule`
/// allows now, longest-lasting first. A granter's later waiver replaces their earlier one,
/// so a waiver can be shortened.
fn granters<'r>(rule: &WaiverRule, waivers: &[&'r Record], now: Timestamp) -> Vec<&'r Record> {
    let mut latest: BTreeMap<String, &Record> = BTreeMap::new();
    for r in waivers {
        if let Some(w) = as_waiver(r) {
            // As for approvals: the key that signed tells people apart, else the name.
            let who = match &w.signed {
                Some(s) => s.key.clone(),
                None => w.by.trim().to_lowercase(),
            };
            latest.insert(who, r);
        }
    }
    let mut held: Vec<&Record> = latest
        .into_values()
        .filter(|r| {
            let w = as_waiver(r).expect("only waivers are kept");
            w.until > now && rule.roles.contains(&w.role) && within(rule, w, r.started_at)
        })
        .collect();
    held.sort_by_key(|r| std::cmp::Reverse(as_waiver(r).map(|w| w.until)));
    held
}

/// Whether the waiver `w`, granted at `granted`, is no longer than the rule's `max`.
fn within(rule: &WaiverRule, w: &Waiver, granted: Timestamp) -> bool {
    let length = w.until.duration_since(granted);
    length <= jiff::SignedDuration::try_from(rule.max).unwrap_or(jiff::SignedDuration::MAX)
}

/// Why no rule of `rules` (those covering the gate) lets the unexpired waiver `w` count.
/// (One rule listing its role still might, with more granters: that is told apart before.)
fn why_not(rules: &[&WaiverRule], w: &Waiver) -> String {
    let by_role: Vec<&&WaiverRule> = rules.iter().filter(|r| r.roles.contains(&w.role)).collect();
    if rules.is_empty() {
        "no `[[waiver]]` rule of the roadmap covers this gate".to_owned()
    } else if by_role.is_empty() {
        format!("role `{}` may not waive this gate", w.role)
    } else {
        let longest = by_role.iter().map(|r| r.max).max().expect("not empty");
        format!(
            "it lasts longer than the {} the roadmap allows",
            humantime::format_duration(longest)
        )
    }
}

/// "alice (cto), bob (cfo)".
fn named(records: &[&Record]) -> String {
    records
        .iter()
        .filter_map(|r| as_waiver(r))
        .map(|w| format!("{} ({})", w.by, w.role))
        .collect::<Vec<_>>()
        .join(", ")
}
