//! Ticking a markdown roadmap's boxes from the evidence, one byte per box.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use phasegate_model::{GateId, GateState, PhaseId, PhaseState, PhaseStatus, Roadmap, Scorecard};

use crate::classify::starts_with_status;
use crate::scan::{Block, Checkbox, Item, normalize, scan};

/// A markdown roadmap with its boxes set from the evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Synced {
    /// The document: the input with only the changed boxes' one character replaced.
    pub text: String,
    /// Every box changed (items linked to gates and phases' status lines), in document
    /// order.
    pub changes: Vec<Change>,
    /// The boxes found ticked with no passing evidence behind them (un-ticked, so they are
    /// in `changes` too): an item whose gates do not all pass, or a status line whose phase
    /// is not done.
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

/// One box changed: an item linked to gates, or a phase's status line (`phase` is set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// 1-based line of the box.
    pub line: usize,
    /// The item's text as in the document.
    pub item: String,
    /// The gate that decided (the first one that does not pass, when several are linked).
    /// For a status line, which no gate decides, the phase's id (see `phase`).
    pub gate: GateId,
    /// For a phase's status line: the phase whose state decided. `None` for an item.
    pub phase: Option<PhaseId>,
    /// The box before: `' '`, `'x'` (or `'X'`), `'~'`.
    pub from: char,
    /// The box after.
    pub to: char,
    /// Why, in one line.
    pub reason: String,
}

/// A markdown roadmap whose linked plain items became checkbox items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Boxed {
    /// The document: the input with `[ ] ` inserted before the text of each such item.
    pub text: String,
    /// The 1-based lines of the items that got a box, in document order.
    pub lines: Vec<usize>,
}

/// Turns each item linked to a gate that has no checkbox (a plain bullet, as many roadmaps
/// state their criteria) into a checkbox item: `- text` becomes `- [ ] text`. Every other
/// byte is unchanged; `sync` then ticks the new boxes from the evidence. An item whose text
/// does not start on its marker's line is left alone, since a box there would not be one.
pub fn add_boxes(markdown: &str, roadmap: &Roadmap) -> Boxed {
    let linked = linked_gates(roadmap);
    let mut at: Vec<(usize, usize)> = Vec::new();
    for block in scan(markdown) {
        let Block::Item(item) = block else { continue };
        let Some(start) = item.text_start else {
            continue;
        };
        if item.checkbox.is_some() || !linked.contains_key(&normalize(&item.text)) {
            continue;
        }
        let line_start = markdown[..start].rfind('\n').map_or(0, |i| i + 1);
        if is_marker(&markdown[line_start..start]) {
            at.push((start, item.line));
        }
    }
    let mut text = markdown.to_owned();
    for (start, _) in at.iter().rev() {
        text.insert_str(*start, "[ ] ");
    }
    Boxed {
        text,
        lines: at.into_iter().map(|(_, line)| line).collect(),
    }
}

/// Whether `prefix` (a line up to an item's text) is indentation or blockquote markers, then
/// a list marker (`-`, `*`, `+`, `1.`, `1)`) and blanks: where a task marker may go.
fn is_marker(prefix: &str) -> bool {
    let rest = prefix.trim_start_matches([' ', '\t', '>']);
    let rest = match rest.strip_prefix(['-', '*', '+']) {
        Some(r) => r,
        None => {
            let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            if digits == 0 || digits > 9 {
                return false;
            }
            match rest[digits..].strip_prefix(['.', ')']) {
                Some(r) => r,
                None => return false,
            }
        }
    };
    !rest.is_empty() && rest.chars().all(|c| c == ' ' || c == '\t')
}

/// Sets the boxes of the items linked to gates (by the gates' `item` text, whitespace
/// normalized) from the scorecard: `[x]` when every linked gate passes, `[ ]` otherwise,
/// a `[~]` left as it is while its gates do not all pass.
///
/// Sets the box of each phase's status line (a top-level item with a box directly under
/// the heading whose text is the phase's `title`, opening with `Owner:`, `Status:`...,
/// and linked to no gate) from the phase's state: `[x]` when done; `[ ]` when blocked or
/// when none of its gates has any evidence (a `[~]` set by hand included); `[~]` when in
/// progress or failing.
///
/// Every other byte is unchanged.
pub fn sync(markdown: &str, roadmap: &Roadmap, card: &Scorecard) -> Synced {
    let linked = linked_gates(roadmap);
    let blocks = scan(markdown);
    let phases = phase_headings(&blocks, roadmap, card);
    let mut bytes = markdown.as_bytes().to_vec();
    let mut found: BTreeSet<&str> = BTreeSet::new();
    let mut changes = Vec::new();
    let mut unticked = Vec::new();
    // The heading the blocks are directly under (the last one seen).
    let mut heading: Option<usize> = None;
    for (index, block) in blocks.into_iter().enumerate() {
        let item = match block {
            Block::Heading(_) => {
                heading = Some(index);
                continue;
            }
            Block::Paragraph(_) => continue,
            Block::Item(item) => item,
        };
        let key = normalize(&item.text);
        let Some(checkbox) = item.checkbox.filter(|c| c.mark.is_ascii()) else {
            // A criterion without a box: linked, but there is nothing to tick.
            if let Some((k, _)) = linked.get_key_value(&key) {
                found.insert(k.as_str());
            }
            continue;
        };
        let decision = if let Some((k, gates)) = linked.get_key_value(&key) {
            found.insert(k.as_str());
            gate_decision(gates, card, checkbox.mark)
        } else if let Some(phase) = heading.and_then(|h| phases.get(&h))
            && item.parent.is_none()
            && starts_with_status(&item.text)
        {
            phase_decision(phase, card)
        } else {
            continue;
        };
        if agrees(checkbox, decision.to) {
            continue;
        }
        bytes[checkbox.offset] = decision.to;
        let change = change(item, checkbox, decision);
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

/// The gates linked to each item, by the item's normalized text.
fn linked_gates(roadmap: &Roadmap) -> BTreeMap<String, Vec<&GateId>> {
    // Several gates may be linked to one item (a run and a probe checking the same
    // criterion): the box is ticked only when all of them pass.
    let mut linked: BTreeMap<String, Vec<&GateId>> = BTreeMap::new();
    for gate in &roadmap.gates {
        if let Some(item) = &gate.item {
            linked.entry(normalize(item)).or_default().push(&gate.id);
        }
    }
    linked
}

/// The change `decision` makes to `item`'s box.
fn change(item: Item, checkbox: Checkbox, decision: Decision) -> Change {
    Change {
        line: item.line,
        item: item.text,
        gate: decision.gate,
        phase: decision.phase,
        from: char::from(checkbox.mark),
        to: char::from(decision.to),
        reason: if checkbox.is_ticked() {
            format!("ticked without passing evidence: {}", decision.reason)
        } else {
            decision.reason
        },
    }
}

/// What a box should be, and who decided.
struct Decision {
    /// The mark: `x`, ` ` or `~` (a mark the box keeps when it already has it).
    to: u8,
    gate: GateId,
    phase: Option<PhaseId>,
    reason: String,
}

/// Whether a box already says what it should: any tick (`x` or `X`) for `x`.
fn agrees(checkbox: Checkbox, to: u8) -> bool {
    if to == b'x' {
        checkbox.is_ticked()
    } else {
        checkbox.mark == to
    }
}

/// An item linked to `gates`: ticked when all pass; otherwise unticked, a `[~]` kept.
fn gate_decision(gates: &[&GateId], card: &Scorecard, mark: u8) -> Decision {
    let failing = gates
        .iter()
        .find(|g| card.gate(g.as_str()).map(|s| s.state) != Some(GateState::Pass));
    match failing {
        None => {
            let gate = gates[0];
            // A partial pass ticks the box (it counts), and the reason says it is partial.
            let partial = gates
                .iter()
                .filter_map(|g| card.gate(g.as_str()).and_then(|s| s.partial()))
                .sum::<usize>();
            let partial = if partial > 0 {
                format!(" (partial: {partial} skipped)")
            } else {
                String::new()
            };
            Decision {
                to: b'x',
                gate: gate.clone(),
                phase: None,
                reason: format!("gate `{gate}` passes{partial}"),
            }
        }
        Some(gate) => {
            let why = card.gate(gate.as_str()).map_or_else(
                || "not on the scorecard".to_owned(),
                |s| format!("{}: {}", s.state, s.reason),
            );
            Decision {
                // `[~]` says work has started: the evidence cannot say otherwise, so it stays.
                to: if mark == b'~' { b'~' } else { b' ' },
                gate: (*gate).clone(),
                phase: None,
                reason: format!("gate `{gate}` is {why}"),
            }
        }
    }
}

/// The phases whose status line may be under each heading, by the heading's block index: a
/// heading whose text (whitespace normalized) is a phase's `title`. When several headings
/// have one text, the phases with that title take them in document order.
fn phase_headings<'c>(
    blocks: &[Block],
    roadmap: &Roadmap,
    card: &'c Scorecard,
) -> BTreeMap<usize, &'c PhaseStatus> {
    let mut by_text: BTreeMap<String, VecDeque<usize>> = BTreeMap::new();
    for (index, block) in blocks.iter().enumerate() {
        if let Block::Heading(h) = block {
            by_text
                .entry(normalize(&h.text))
                .or_default()
                .push_back(index);
        }
    }
    let mut phases = BTreeMap::new();
    for phase in &roadmap.phases {
        let heading = by_text
            .get_mut(&normalize(&phase.title))
            .and_then(VecDeque::pop_front);
        let status = card.phases.iter().find(|p| p.id == phase.id);
        if let (Some(heading), Some(status)) = (heading, status) {
            phases.insert(heading, status);
        }
    }
    phases
}

/// A phase's status line: `[x]` when done; `[ ]` when blocked or when none of its gates has
/// any evidence; `[~]` when in progress or failing.
fn phase_decision(phase: &PhaseStatus, card: &Scorecard) -> Decision {
    let id = &phase.id;
    let no_evidence = phase.gates.iter().all(|g| {
        card.gate(g.as_str())
            .is_none_or(|s| s.state == GateState::Missing)
    });
    let first_reason = || phase.reasons.first().map_or("", String::as_str);
    let (to, reason) = match phase.state {
        PhaseState::Done => (b'x', format!("phase `{id}` is done")),
        PhaseState::Blocked => (b' ', format!("phase `{id}` is blocked: {}", first_reason())),
        _ if no_evidence => (b' ', format!("phase `{id}` has no evidence yet")),
        PhaseState::InProgress | PhaseState::Failing => (
            b'~',
            format!(
                "phase `{id}` is {}: {}",
                phase.state.as_str().replace('_', " "),
                first_reason()
            ),
        ),
    };
    Decision {
        to,
        // Phase and gate ids share one syntax.
        gate: GateId::new(id.as_str()).expect("a phase id is a valid gate id"),
        phase: Some(id.clone()),
        reason,
    }
}
