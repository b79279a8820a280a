//! Ticking a markdown roadmap's boxes from the evidence, one byte per box.

use std::collections::{BTreeMap, BTreeSet};

use phasegate_model::{GateId, GateState, Roadmap, Scorecard};

use super::scan::{Block, normalize, scan};

/// A markdown roadmap with its boxes set from the evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Synced {
    /// The document: the input with only the changed boxes' one character replaced.
    pub text: String,
    /// Every box changed, in document order.
    pub changes: Vec<Change>,
    /// The boxes found ticked with no passing evidence behind them (un-ticked, so they are
    /// in `changes` too).
    pub unticked_without_evidence: Vec<Change>,
    /// Gates with an `item` no longer found in the document, in roadmap order.
    pub not_found: Vec<GateId>,
}

impl Synced {
    /// Whether the document already agreed with the evidence (`sync --check`).
    pub fn is_unchanged(&self) -> bool {
        self.changes.is_empty()
    }
}

/// One box changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// 1-based line of the box.
    pub line: usize,
    /// The item's text as in the document.
    pub item: String,
    /// The gate that decided (the first one that does not pass, when several are linked).
    pub gate: GateId,
    /// The box before: `' '`, `'x'` (or `'X'`), `'~'`.
    pub from: char,
    /// The box after.
    pub to: char,
    /// Why, in one line.
    pub reason: String,
}

/// Sets the boxes of the items linked to gates (by the gates' `item` text, whitespace
/// normalized) from the scorecard: `[x]` when every linked gate passes, `[ ]` otherwise,
/// a `[~]` left as it is while its gates do not all pass. Every other byte is unchanged.
pub fn sync(markdown: &str, roadmap: &Roadmap, card: &Scorecard) -> Synced {
    // Several gates may be linked to one item (a run and a probe checking the same
    // criterion): the box is ticked only when all of them pass.
    let mut linked: BTreeMap<String, Vec<&GateId>> = BTreeMap::new();
    for gate in &roadmap.gates {
        if let Some(item) = &gate.item {
            linked.entry(normalize(item)).or_default().push(&gate.id);
        }
    }
    let mut bytes = markdown.as_bytes().to_vec();
    let mut found: BTreeSet<&str> = BTreeSet::new();
    let mut changes = Vec::new();
    let mut unticked = Vec::new();
    for block in scan(markdown) {
        let Block::Item(item) = block else { continue };
        let key = normalize(&item.text);
        let Some(gates) = linked.get(&key) else {
            continue;
        };
        found.insert(linked.get_key_value(&key).map_or("", |(k, _)| k.as_str()));
        let Some(checkbox) = item.checkbox.filter(|c| c.mark.is_ascii()) else {
            // A criterion without a box: linked, but there is nothing to tick.
            continue;
        };
        let failing = gates
            .iter()
            .find(|g| card.gate(g.as_str()).map(|s| s.state) != Some(GateState::Pass));
        let from = char::from(checkbox.mark);
        let (to, gate, reason) = match failing {
            None => {
                let gate = gates[0];
                (b'x', gate, format!("gate `{gate}` passes"))
            }
            Some(gate) => {
                let why = card.gate(gate.as_str()).map_or_else(
                    || "not on the scorecard".to_owned(),
                    |s| format!("{}: {}", s.state, s.reason),
                );
                let to = if checkbox.mark == b'~' { b'~' } else { b' ' };
                (to, *gate, format!("gate `{gate}` is {why}"))
            }
        };
        let agrees = if to == b'x' {
            checkbox.is_ticked()
        } else {
            checkbox.mark == to
        };
        if agrees {
            continue;
        }
        bytes[checkbox.offset] = to;
        let change = Change {
            line: item.line,
            item: item.text,
            gate: gate.clone(),
            from,
            to: char::from(to),
            reason: if checkbox.is_ticked() {
                format!("ticked without passing evidence: {reason}")
            } else {
                reason
            },
        };
        if checkbox.is_ticked() {
            unticked.push(change.clone());
        }
        changes.push(change);
    }
    let not_found = roadmap
        .gates
        .iter()
        .filter(|g| {
            g.item
                .as_ref()
                .is_some_and(|i| !found.contains(normalize(i).as_str()))
        })
        .map(|g| g.id.clone())
        .collect();
    Synced {
        // Only single ASCII bytes replaced single ASCII bytes: still UTF-8.
        text: String::from_utf8(bytes).expect("one ASCII byte replaced by another"),
        changes,
        unticked_without_evidence: unticked,
        not_found,
    }
}
