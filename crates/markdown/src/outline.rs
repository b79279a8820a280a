//! Blocks to an outline: which headings are phases, which items are gates and where each
//! gate belongs (a phase or the base gates). The rules are in the module docs of
//! [`crate`].

use std::collections::BTreeMap;

use crate::classify::{self, Kind, SectionKind, label_kind, section_kind};
use crate::scan::{Block, Heading, Item, scan};

/// A markdown roadmap's phases and gates, in document order.
#[derive(Debug, Default)]
pub(crate) struct Outline {
    /// The document's title (its only level-1 heading), if any.
    pub title: Option<String>,
    /// Items of a base-gates list.
    pub base: Vec<Entry>,
    /// Phases in document order.
    pub phases: Vec<PhaseDraft>,
}

/// A phase to be.
#[derive(Debug)]
pub(crate) struct PhaseDraft {
    /// The heading's text exactly (`None` for items before any heading).
    pub title: Option<String>,
    /// The heading's line.
    pub line: usize,
    /// Roles the section names as its owner.
    pub owner: Vec<String>,
    /// Its gates.
    pub entries: Vec<Entry>,
}

/// A gate to be: one item.
#[derive(Debug)]
pub(crate) struct Entry {
    /// The item's text exactly.
    pub text: String,
    /// Its line.
    pub line: usize,
    /// What it becomes.
    pub kind: Kind,
    /// Roles named by the item itself.
    pub owner: Vec<String>,
}

/// Where an item's gate goes: a phase keyed by its heading's block index (`None`: before
/// any heading).
type Key = Option<usize>;

#[derive(Default)]
struct Section {
    phase: Option<PhaseDraft>,
    /// Plain leaf items, gates only if the phase would otherwise have none.
    plain: Vec<Entry>,
}

/// Builds the outline of `src`.
pub(crate) fn outline(src: &str) -> Outline {
    let blocks = scan(src);
    let title_index = title_index(&blocks);
    let mut walk = Walk {
        blocks: &blocks,
        title_index,
        sections: BTreeMap::new(),
        base: Vec::new(),
        owners: BTreeMap::new(),
        headings: Vec::new(),
        paragraph_label: None,
    };
    for (index, block) in blocks.iter().enumerate() {
        match block {
            Block::Heading(h) => walk.heading(index, h),
            Block::Paragraph(p) => walk.paragraph(&p.text),
            Block::Item(item) => walk.item(item),
        }
    }
    let Walk {
        sections,
        base,
        mut owners,
        ..
    } = walk;
    Outline {
        title: title_index.and_then(|i| match &blocks[i] {
            Block::Heading(h) => Some(h.text.clone()),
            _ => None,
        }),
        base,
        phases: phases(&blocks, title_index, sections, &mut owners),
    }
}

/// The index of the document's title: a single level-1 heading at the top is the
/// document's title, not a section.
fn title_index(blocks: &[Block]) -> Option<usize> {
    let level1 = blocks
        .iter()
        .filter(|b| matches!(b, Block::Heading(h) if h.level == 1))
        .count();
    match (
        blocks.iter().position(|b| matches!(b, Block::Heading(_))),
        level1,
    ) {
        (Some(i), 1) if matches!(&blocks[i], Block::Heading(h) if h.level == 1) => Some(i),
        _ => None,
    }
}

/// The blocks read so far: where each item went, and what is open at the current block.
struct Walk<'b> {
    blocks: &'b [Block],
    title_index: Option<usize>,
    sections: BTreeMap<Key, Section>,
    base: Vec<Entry>,
    owners: BTreeMap<Key, Vec<String>>,
    /// Open headings: (level, block index, kind).
    headings: Vec<(u8, usize, SectionKind)>,
    /// The kind of list a paragraph label ("**Exit criteria:**") announced.
    paragraph_label: Option<SectionKind>,
}

impl Walk<'_> {
    fn heading(&mut self, index: usize, h: &Heading) {
        while self
            .headings
            .last()
            .is_some_and(|(level, ..)| *level >= h.level)
        {
            self.headings.pop();
        }
        let kind = if Some(index) == self.title_index {
            SectionKind::Other
        } else {
            section_kind(&h.text)
        };
        self.headings.push((h.level, index, kind));
        self.paragraph_label = None;
        if kind == SectionKind::Phase {
            self.sections.entry(Some(index)).or_default();
        }
        let key = owner(&self.headings, self.title_index);
        note_owner(&mut self.owners, key, &h.text);
    }

    fn paragraph(&mut self, text: &str) {
        self.paragraph_label = label_kind(text);
        let key = owner(&self.headings, self.title_index);
        note_owner(&mut self.owners, key, text);
    }

    /// Whether `item` is under a heading, label or labelled item of this kind.
    fn context(&self, item: &Item, kind: SectionKind) -> bool {
        self.headings.iter().any(|(_, _, k)| *k == kind)
            || self.paragraph_label == Some(kind)
            || ancestors(self.blocks, item).any(|a| label_kind(&a.text) == Some(kind))
    }

    fn item(&mut self, item: &Item) {
        let key = owner(&self.headings, self.title_index);
        // An item that is an owner line ("Owner: Data  Target: ...") names the
        // phase's owner; an owner named in passing is that item's alone.
        if classify::starts_with_owner(&item.text) {
            note_owner(&mut self.owners, key, &item.text);
        }
        if is_status_line(item, &self.headings) {
            // The phase's status line: its owner is the phase's, its box is set
            // from the phase's state by `sync`; it is no gate.
            note_owner(&mut self.owners, key, &item.text);
            return;
        }
        if item.text.is_empty() || self.context(item, SectionKind::Legend) {
            return;
        }
        let own_label = label_kind(&item.text);
        if item.checkbox.is_none() && own_label.is_some() && item.has_children {
            // "- Acceptance" introducing a nested list: a label, not a gate.
            return;
        }
        let entry = Entry {
            text: item.text.clone(),
            line: item.line,
            kind: classify::item_kind(&item.text, &item.code),
            owner: classify::owner_roles(&item.text),
        };
        let in_base = self.context(item, SectionKind::Base);
        let criterion = self.context(item, SectionKind::Criteria)
            || (own_label == Some(SectionKind::Criteria) && item.text.contains(':'));
        let blocks = self.blocks;
        if in_base && (item.checkbox.is_some() || !item.has_children) {
            self.base.push(entry);
        } else if item.checkbox.is_some() || criterion && !item.has_children {
            self.sections
                .entry(key)
                .or_default()
                .phase
                .get_or_insert_with(|| draft(blocks, key))
                .entries
                .push(entry);
        } else if !item.has_children
            && !self
                .headings
                .iter()
                .any(|(_, _, k)| *k == SectionKind::Aside)
        {
            self.sections.entry(key).or_default().plain.push(entry);
        }
    }
}

/// The phases of the sections, in document order, each with its owner (taken out of
/// `owners`).
fn phases(
    blocks: &[Block],
    title_index: Option<usize>,
    sections: BTreeMap<Key, Section>,
    owners: &mut BTreeMap<Key, Vec<String>>,
) -> Vec<PhaseDraft> {
    let mut phases = Vec::new();
    for (key, s) in sections {
        let is_phase_heading =
            key.is_some_and(|i| headings_kind(blocks, i, title_index) == SectionKind::Phase);
        let mut phase = match s.phase {
            Some(phase) => phase,
            None if is_phase_heading => draft(blocks, key),
            None => continue,
        };
        // A phase heading whose section has no box and no criterion: its plain items are
        // its work, and nothing is silently dropped.
        if phase.entries.is_empty() && is_phase_heading {
            phase.entries = s.plain;
        }
        phase.owner = owners.remove(&key).unwrap_or_default();
        phases.push(phase);
    }
    if phases.is_empty() {
        // A roadmap needs a phase: a document without any gets one for the whole document.
        phases.push(draft(blocks, None));
    }
    phases
}

/// Whether `item` is the status line of a phase: a top-level item with a box directly under
/// a phase heading (no other heading in between), its text opening with a status label.
fn is_status_line(item: &Item, headings: &[(u8, usize, SectionKind)]) -> bool {
    item.parent.is_none()
        && item.checkbox.is_some()
        && headings
            .last()
            .is_some_and(|(_, _, kind)| *kind == SectionKind::Phase)
        && classify::starts_with_status(&item.text)
}

fn headings_kind(blocks: &[Block], index: usize, title_index: Option<usize>) -> SectionKind {
    match &blocks[index] {
        Block::Heading(_) if Some(index) == title_index => SectionKind::Other,
        Block::Heading(h) => section_kind(&h.text),
        _ => SectionKind::Other,
    }
}

/// The heading whose phase owns what is under the open headings: the nearest phase
/// heading; else the nearest ordinary section; else the nearest criteria heading; else the
/// document's title.
fn owner(headings: &[(u8, usize, SectionKind)], title_index: Option<usize>) -> Key {
    let nearest = |want: &dyn Fn(SectionKind) -> bool| {
        headings
            .iter()
            .rev()
            .find(|(_, i, k)| Some(*i) != title_index && want(*k))
            .map(|(_, i, _)| *i)
    };
    nearest(&|k| k == SectionKind::Phase)
        .or_else(|| nearest(&|k| matches!(k, SectionKind::Other | SectionKind::Aside)))
        .or_else(|| nearest(&|k| k == SectionKind::Criteria))
        .or(title_index)
        .or_else(|| headings.last().map(|(_, i, _)| *i))
}

/// The first owner a section's text names is the owner of its phase.
fn note_owner(owners: &mut BTreeMap<Key, Vec<String>>, key: Key, text: &str) {
    if owners.contains_key(&key) {
        return;
    }
    let roles = classify::owner_roles(text);
    if !roles.is_empty() {
        owners.insert(key, roles);
    }
}

fn draft(blocks: &[Block], key: Key) -> PhaseDraft {
    let (title, line) = match key.map(|i| &blocks[i]) {
        Some(Block::Heading(h)) => (Some(h.text.clone()), h.line),
        _ => (None, 1),
    };
    PhaseDraft {
        title,
        line,
        owner: Vec::new(),
        entries: Vec::new(),
    }
}

/// The items `item` is nested in, innermost first.
fn ancestors<'b>(blocks: &'b [Block], item: &'b Item) -> impl Iterator<Item = &'b Item> {
    std::iter::successors(parent(blocks, item), move |i| parent(blocks, i))
}

fn parent<'b>(blocks: &'b [Block], item: &Item) -> Option<&'b Item> {
    match blocks.get(item.parent?)? {
        Block::Item(p) => Some(p),
        _ => None,
    }
}
