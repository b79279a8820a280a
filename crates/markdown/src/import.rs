//! An outline to a commented `phasegate.toml` draft.

use std::fmt::{self, Write as _};

use crate::classify::Kind;
use crate::outline::{Entry, Outline, PhaseDraft, outline};
use crate::slug::{self, Ids};

/// A `phasegate.toml` drafted from a markdown roadmap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The roadmap file's text: valid, commented, ready for review.
    pub toml: String,
    /// How many phases and gates of each kind it has.
    pub summary: ImportSummary,
}

/// How many items became which kind of gate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Phases.
    pub phases: usize,
    /// `run` gates (backticked commands).
    pub run: usize,
    /// `probe` gates (items naming a known check).
    pub probe: usize,
    /// `signoff` gates (everything else).
    pub signoff: usize,
    /// Of those gates, how many are base gates (required by every phase).
    pub base: usize,
}

impl fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        writeln!(f, "{} phase{}", self.phases, plural(self.phases))?;
        writeln!(f, "{} run gate{} (commands)", self.run, plural(self.run))?;
        writeln!(
            f,
            "{} probe gate{} (parameters to fill in)",
            self.probe,
            plural(self.probe)
        )?;
        writeln!(
            f,
            "{} signoff gate{} (a person approves)",
            self.signoff,
            plural(self.signoff)
        )?;
        write!(
            f,
            "{} base gate{} (required by every phase)",
            self.base,
            plural(self.base)
        )
    }
}

/// What a probe gate targets until the user says otherwise: a host that cannot resolve
/// (`.invalid` is reserved), so that a draft never probes a real one by accident.
const PLACEHOLDER_URL: &str = "https://staging.example.invalid";

/// Drafts a `phasegate.toml` from a markdown roadmap. `source_name` is the markdown path as
/// it should be written into `[project] markdown = "..."`. Deterministic: the same text
/// gives the same file.
pub fn import(markdown: &str, source_name: &str) -> Imported {
    let outline = outline(markdown);
    let plan = plan(&outline);
    let mut summary = ImportSummary {
        phases: plan.phases.len(),
        base: plan.base.len(),
        ..ImportSummary::default()
    };
    for gate in plan
        .base
        .iter()
        .chain(plan.phases.iter().flat_map(|p| &p.gates))
    {
        match gate.entry.kind {
            Kind::Run(_) => summary.run += 1,
            Kind::Probe(_) => summary.probe += 1,
            Kind::Signoff => summary.signoff += 1,
        }
    }
    Imported {
        toml: render(&outline, &plan, source_name, &summary),
        summary,
    }
}

/// Ids given to the outline's phases and gates.
struct Plan<'o> {
    base: Vec<PlannedGate<'o>>,
    phases: Vec<PlannedPhase<'o>>,
}

struct PlannedPhase<'o> {
    id: String,
    draft: &'o PhaseDraft,
    gates: Vec<PlannedGate<'o>>,
}

struct PlannedGate<'o> {
    id: String,
    entry: &'o Entry,
    roles: Vec<String>,
}

fn plan(outline: &Outline) -> Plan<'_> {
    let mut phase_ids = Ids::default();
    let mut gate_ids = Ids::default();
    let base = plan_gates(&mut gate_ids, &outline.base, "base", &[]);
    let phases = outline
        .phases
        .iter()
        .enumerate()
        .map(|(n, draft)| {
            let ordinal = n + 1;
            let title = draft.title.as_deref().unwrap_or_default();
            let readable = slug::heading_slug(title);
            let base = if draft.title.is_none() {
                "roadmap".to_owned()
            } else if slug::is_mostly_ascii(title) && !readable.is_empty() {
                readable
            } else {
                format!("phase-{ordinal}")
            };
            PlannedPhase {
                id: phase_ids.unique(&base),
                draft,
                gates: plan_gates(
                    &mut gate_ids,
                    &draft.entries,
                    &ordinal.to_string(),
                    &draft.owner,
                ),
            }
        })
        .collect();
    Plan { base, phases }
}

/// Gate ids and roles for a phase's entries (`prefix` numbers the items whose text gives no
/// readable id: `item-<prefix>-<n>`).
fn plan_gates<'o>(
    ids: &mut Ids,
    entries: &'o [Entry],
    prefix: &str,
    owner: &[String],
) -> Vec<PlannedGate<'o>> {
    entries
        .iter()
        .enumerate()
        .map(|(n, entry)| {
            let readable = slug::slug(&entry.text, slug::MAX_ID);
            let base = if slug::is_mostly_ascii(&entry.text) && !readable.is_empty() {
                readable
            } else {
                format!("item-{prefix}-{}", n + 1)
            };
            let roles = if !entry.owner.is_empty() {
                entry.owner.clone()
            } else if !owner.is_empty() {
                owner.to_vec()
            } else {
                vec!["owner".to_owned()]
            };
            PlannedGate {
                id: ids.unique(&base),
                entry,
                roles,
            }
        })
        .collect()
}

fn render(
    outline: &Outline,
    plan: &Plan<'_>,
    source_name: &str,
    summary: &ImportSummary,
) -> String {
    let mut out = String::new();
    header(&mut out, source_name, summary);
    project(&mut out, outline, plan, source_name);
    phases(&mut out, outline, plan);
    out
}

/// What a reviewer of the draft needs to know, between the line naming the source and the
/// summary.
const ADVICE: &str = "\
#
# - `run` gates come from backticked commands: check each is the command you mean.
# - `probe` gates need their parameters and a target (`service` or `base_url`);
#   see docs/roadmap-format.md.
# - `signoff` gates are items no command or probe checks: a person in one of the
#   roles approves them.
# - `item` is the text of the markdown item a gate came from: `phasegate sync` ticks
#   that item's box from the evidence, so keep the two equal when you edit either.
#
";

/// The comment that opens the draft.
fn header(w: &mut String, source_name: &str, summary: &ImportSummary) {
    // Writing into a String cannot fail; `let _` keeps that out of every line below.
    let _ = writeln!(
        w,
        "# Drafted by `phasegate import` from {source_name}: review it before relying on it."
    );
    w.push_str(ADVICE);
    for line in summary.to_string().lines() {
        let _ = writeln!(w, "# {line}");
    }
    let _ = writeln!(w);
}

/// The version, the `[project]` table and the base gates.
fn project(w: &mut String, outline: &Outline, plan: &Plan<'_>, source_name: &str) {
    let _ = writeln!(w, "version = 1");
    let _ = writeln!(w);
    let _ = writeln!(w, "[project]");
    let name = outline.title.as_deref().unwrap_or("project");
    let _ = writeln!(w, "name = {}", quote(name));
    let _ = writeln!(w, "markdown = {}", quote(source_name));
    if !plan.base.is_empty() {
        let _ = writeln!(w, "# required by every phase, in addition to its own gates");
        let _ = writeln!(
            w,
            "base_gates = {}",
            list(plan.base.iter().map(|g| g.id.as_str()))
        );
        let _ = writeln!(w);
        let _ = writeln!(w, "# ── base gates ──");
    }
    for gate in &plan.base {
        gate_table(w, gate);
    }
}

/// Each phase with its gates, each phase `after` the one before it.
fn phases(w: &mut String, outline: &Outline, plan: &Plan<'_>) {
    let mut previous: Option<&str> = None;
    for phase in &plan.phases {
        let _ = writeln!(w);
        let _ = writeln!(w, "# ── from line {} ──", phase.draft.line);
        let _ = writeln!(w, "[[phase]]");
        let _ = writeln!(w, "id = {}", quote(&phase.id));
        let title = phase
            .draft
            .title
            .as_deref()
            .or(outline.title.as_deref())
            .unwrap_or("Roadmap");
        let _ = writeln!(w, "title = {}", quote(title));
        if let Some(previous) = previous {
            let _ = writeln!(w, "after = {}", list([previous]));
        }
        let _ = writeln!(
            w,
            "gates = {}",
            list(phase.gates.iter().map(|g| g.id.as_str()))
        );
        for gate in &phase.gates {
            gate_table(w, gate);
        }
        previous = Some(&phase.id);
    }
}

fn gate_table(w: &mut String, gate: &PlannedGate<'_>) {
    let e = gate.entry;
    let _ = writeln!(w);
    let _ = writeln!(w, "[gates.{}]  # line {}", gate.id, e.line);
    // The title reads as the item does; `item` keeps its text exactly, line breaks included.
    let _ = writeln!(
        w,
        "title = {}",
        quote(&e.text.split_whitespace().collect::<Vec<_>>().join(" "))
    );
    let _ = writeln!(w, "item = {}", quote(&e.text));
    match &e.kind {
        Kind::Run(command) => {
            let _ = writeln!(w, "run = {}", quote(command));
        }
        Kind::Probe(probe) => {
            let _ = writeln!(w, "probe = {}", quote(probe));
            if crate::FILE_PROBES.contains(probe) {
                let _ = writeln!(
                    w,
                    "cwd = \".\"  # the directory it reads, relative to this file; then the probe's parameters"
                );
            } else {
                let _ = writeln!(
                    w,
                    "base_url = {}  # fill in: your deployment, or `service = \"<id>\"`",
                    quote(PLACEHOLDER_URL)
                );
            }
            // What the claim needs besides a target: until given, the gate never runs and
            // is `missing` with this text; the rules it rests on are required, so a gate
            // filled in only with a target cannot pass without testing them.
            let needs = crate::claims::needs(probe, &crate::classify::fold(&e.text));
            for p in &needs.preset {
                let _ = writeln!(w, "{p}");
            }
            if !needs.fill.is_empty() {
                let keys: Vec<&str> = needs
                    .fill
                    .iter()
                    .map(|f| f.split(" = ").next().unwrap_or(f))
                    .map(|f| f.split(" (").next().unwrap_or(f))
                    .collect();
                let _ = writeln!(
                    w,
                    "todo = {}  # remove once these are set",
                    quote(&format!("fill in: {}", keys.join(", ")))
                );
                for f in &needs.fill {
                    let _ = writeln!(w, "# {f}");
                }
            }
            if !needs.require.is_empty() {
                let _ = writeln!(
                    w,
                    "require = {}  # the claim rests on these rules",
                    list(needs.require.iter().copied())
                );
            }
        }
        Kind::Signoff => {
            let roles = list(gate.roles.iter().map(String::as_str));
            let _ = writeln!(w, "signoff = {{ roles = {roles} }}");
        }
    }
}

/// A TOML array of strings: on one line when short, one element a line otherwise.
fn list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let items: Vec<String> = items.into_iter().map(quote).collect();
    let one_line = format!("[{}]", items.join(", "));
    if one_line.len() <= 80 {
        return one_line;
    }
    let mut out = String::from("[\n");
    for item in items {
        let _ = writeln!(out, "  {item},");
    }
    out.push(']');
    out
}

/// A TOML basic string: `"`, `\` and control characters escaped, everything else (right-to-
/// left text included) kept as it is.
pub(crate) fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote("a \"b\" \\ c\u{1}"), r#""a \"b\" \\ c\u0001""#);
        assert_eq!(quote("فاز ۱"), "\"فاز ۱\"");
        let parsed: toml::Table =
            toml::from_str(&format!("k = {}", quote("x\r\n\t\"\\\u{7f}y"))).unwrap();
        assert_eq!(parsed["k"].as_str(), Some("x\r\n\t\"\\\u{7f}y"));
    }

    #[test]
    fn summary_lines() {
        let s = ImportSummary {
            phases: 2,
            run: 1,
            probe: 0,
            signoff: 3,
            base: 1,
        };
        assert_eq!(
            s.to_string(),
            "2 phases\n1 run gate (commands)\n0 probe gates (parameters to fill in)\n3 signoff gates (a person approves)\n1 base gate (required by every phase)"
        );
    }
}
