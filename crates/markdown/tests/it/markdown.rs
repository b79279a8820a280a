//! Markdown roadmaps: `import` drafts (golden files, each must parse) and `sync` (only the
//! boxes the evidence decides change, byte for byte).

use std::collections::BTreeMap;

use phasegate_markdown::{Synced, import, sync};
use phasegate_model::{
    Approval, Evidence, Gate, GateKind, GateState, Provenance, Record, Roadmap, Rule, Scorecard,
    Verdict, evaluate_evidence, phase_evidence_digest,
};
use phasegate_roadmap::{parse, parse_with, render_plain};
use proptest::prelude::*;

const MILESTONES: &str = include_str!("../fixtures/markdown/milestones.md");
const WEEKS: &str = include_str!("../fixtures/markdown/weeks.md");
const PERSIAN: &str = include_str!("../fixtures/markdown/persian.md");
const PLAYBOOK: &str = include_str!("../fixtures/markdown/playbook.md");

const FIXTURES: &[(&str, &str)] = &[
    ("milestones", MILESTONES),
    ("weeks", WEEKS),
    ("persian", PERSIAN),
    ("playbook", PLAYBOOK),
];

/// Imports `md` and parses the draft, failing with the rendered diagnostics.
/// The draft imported from `md`, as a user completes it: its `todo`s removed (a gate with a
/// `todo` is missing whatever its evidence, and these tests are about syncing evidence).
fn roadmap_of(md: &str) -> Roadmap {
    let imported = import(md, "docs/ROADMAP.md");
    let rules = phasegate_roadmap::ProbeRules {
        validate: &|_, _| Vec::new(),
        reads_files: &|kind| phasegate_markdown::FILE_PROBES.contains(&kind),
        coverage: &|_| None,
    };
    let mut rm = parse_with(&imported.toml, "phasegate.toml", Some(rules)).unwrap_or_else(|e| {
        panic!(
            "the draft does not parse:\n{}\n{}",
            render_plain(&e),
            imported.toml
        )
    });
    for g in &mut rm.gates {
        g.todo = None;
    }
    rm
}

fn record(gate: &Gate, verdict: Verdict) -> Record {
    let provenance = Provenance {
        run_id: "r1".into(),
        roadmap_sha256: "r".into(),
        git: None,
        host: "h".into(),
        tool_version: "0".into(),
    };
    let rule = Rule {
        kind: "run".into(),
        text: "x".into(),
        timeout_ms: 1,
        cwd: None,
        env: BTreeMap::new(),
    };
    let mut r = Record::new(gate, vec![], rule, verdict, None, &provenance);
    r.started_at = serde_json::from_str("\"2026-11-22T00:00:00Z\"").unwrap();
    r
}

/// The scorecard when the gates for which `passes` holds have passing evidence, one gate
/// (if any is named) failing evidence, and the rest none.
fn card(rm: &Roadmap, passes: impl Fn(&Gate) -> bool, failing: Option<&str>) -> Scorecard {
    let is_signoff = |g: &Gate| matches!(g.kind, GateKind::Signoff { .. });
    let mut records: Vec<Record> = rm
        .gates
        .iter()
        .filter(|g| !is_signoff(g))
        .filter_map(|g| {
            if failing == Some(g.id.as_str()) {
                Some(record(g, Verdict::Fail))
            } else {
                passes(g).then(|| record(g, Verdict::Pass))
            }
        })
        .collect();
    // A sign-off gate passes only on enough distinct approvals of the current evidence of
    // its phases, which the entry hashes identify: give every record a made-up one.
    let evidence = |records: &[Record]| -> Vec<(Record, String)> {
        let hash = |i: usize| format!("{i:064x}");
        records
            .iter()
            .cloned()
            .enumerate()
            .map(|(i, r)| (r, hash(i)))
            .collect()
    };
    let attempts = evidence(&records);
    fn as_evidence(pairs: &[(Record, String)]) -> Vec<Evidence<'_>> {
        pairs
            .iter()
            .map(|(record, h)| Evidence {
                record,
                entry_hash: Some(h),
            })
            .collect()
    }
    for g in rm.gates.iter().filter(|g| is_signoff(g) && passes(g)) {
        let GateKind::Signoff { roles, approvals } = &g.kind else {
            unreachable!()
        };
        let covers = phase_evidence_digest(rm, &g.id, as_evidence(&attempts));
        for n in 0..*approvals {
            let mut r = record(g, Verdict::Pass);
            r.approval = Some(Approval {
                signed: None,
                by: format!("approver{n}"),
                role: roles[0].clone(),
                note: None,
                phases: rm.phases_of(&g.id),
                covers_sha256: covers.clone(),
            });
            records.push(r);
        }
    }
    let now = serde_json::from_str("\"2026-11-22T00:00:00Z\"").unwrap();
    evaluate_evidence(rm, as_evidence(&evidence(&records)), now)
}

fn item<'r>(rm: &'r Roadmap, starts: &str) -> &'r Gate {
    rm.gates
        .iter()
        .find(|g| g.item.as_deref().is_some_and(|i| i.starts_with(starts)))
        .unwrap_or_else(|| panic!("no gate linked to an item starting with {starts:?}"))
}

/// `text` with `from` replaced by `to`, exactly once.
fn patched(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "{from:?} is not unique");
    text.replacen(from, to, 1)
}

/// `text` (a fixture in the milestones style) with the boxes of its phases' status lines
/// (top-level `- [?] Owner: ...` lines, in order) set to `marks`: an oracle written
/// independently of `sync`.
fn with_status(text: &str, marks: &[char]) -> String {
    let mut marks = marks.iter();
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        if line.starts_with("- [") && line.get(6..).is_some_and(|t| t.starts_with("Owner:")) {
            let mark = marks.next().expect("a mark for every status line");
            out.push_str("- [");
            out.push(*mark);
            out.push_str(&line[4..]);
        } else {
            out.push_str(line);
        }
    }
    assert!(marks.next().is_none(), "more marks than status lines");
    out
}

fn snapshot(name: &str, md: &str) {
    let imported = import(md, &format!("docs/{name}.md"));
    roadmap_of(md);
    insta::with_settings!({ snapshot_path => "../snapshots" }, {
        insta::assert_snapshot!(
            format!("import_{name}"),
            format!("{}\n---\n{}", imported.summary, imported.toml)
        );
    });
}

#[test]
fn import_milestones() {
    snapshot("milestones", MILESTONES);
}

#[test]
fn import_weeks() {
    snapshot("weeks", WEEKS);
}

#[test]
fn import_persian() {
    snapshot("persian", PERSIAN);
}

#[test]
fn import_playbook() {
    snapshot("playbook", PLAYBOOK);
}

#[test]
fn import_is_deterministic_and_its_summary_counts_the_roadmap() {
    for (name, md) in FIXTURES {
        let first = import(md, "docs/ROADMAP.md");
        assert_eq!(first, import(md, "docs/ROADMAP.md"), "{name}");
        let rm = roadmap_of(md);
        let s = first.summary;
        let kind = |k: &str| rm.gates.iter().filter(|g| g.kind.name() == k).count();
        assert_eq!(s.phases, rm.phases.len(), "{name}");
        assert_eq!(s.base, rm.project.base_gates.len(), "{name}");
        assert_eq!(
            (s.run, s.probe, s.signoff),
            (kind("run"), kind("probe"), kind("signoff")),
            "{name}"
        );
        assert_eq!(rm.project.markdown.as_deref(), Some("docs/ROADMAP.md"));
        assert!(rm.gates.iter().all(|g| g.item.is_some()), "{name}");
        let words = |t: &Option<String>| {
            t.as_deref()
                .map(|t| t.split_whitespace().collect::<String>())
        };
        assert!(
            rm.gates.iter().all(|g| words(&g.title) == words(&g.item)),
            "{name}"
        );
    }
}

#[test]
fn persian_titles_are_kept_and_ids_are_ascii() {
    let rm = roadmap_of(PERSIAN);
    let phases: Vec<(&str, &str)> = rm
        .phases
        .iter()
        .map(|p| (p.id.as_str(), p.title.as_str()))
        .collect();
    assert_eq!(
        phases,
        [
            ("phase-1", "فاز ۰: پایه"),
            ("phase-2", "فاز ۱: آماده‌سازی"),
            ("production-phase-a", "Production Phase A - پایش"),
        ]
    );
    assert!(rm.gates.iter().all(|g| g.id.as_str().is_ascii()));
    let security = item(&rm, "هدرهای امنیتی");
    assert_eq!(
        security.kind,
        GateKind::Run {
            command: "pnpm -w smoke:security".into()
        }
    );
    assert_eq!(rm.project.base_gates.len(), 3, "the base gates list");
    assert_eq!(rm.phases[1].after, [rm.phases[0].id.clone()]);
}

#[test]
fn milestone_items_become_the_expected_kinds() {
    let rm = roadmap_of(MILESTONES);
    let kind = |starts: &str| item(&rm, starts).kind.clone();
    let probe = |p: &str| GateKind::Probe {
        probe: p.into(),
        params: BTreeMap::new(),
    };
    assert_eq!(kind("CORS: only"), probe("cors"));
    assert_eq!(kind("Rate limiting"), probe("rate-limit"));
    assert_eq!(kind("Admin routes refuse"), probe("rbac"));
    assert_eq!(kind("Restore drill"), probe("restore-drill"));
    assert_eq!(kind("p95 under"), probe("load"));
    assert_eq!(kind("Payment provider callback"), probe("webhook"));
    assert_eq!(
        kind("`./scripts/smoke-security.sh staging`"),
        GateKind::Run {
            command: "./scripts/smoke-security.sh staging".into()
        }
    );
    assert_eq!(
        kind("On-call rotation"),
        GateKind::Signoff {
            roles: vec!["qa".into(), "platform".into()],
            approvals: 1
        },
        "the phase's owner approves"
    );
    let ids: Vec<&str> = rm.phases.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(
        ids,
        ["m0-groundwork", "m1-hardening", "m2-recovery", "m3-launch"],
        "no phase for the legend, the overview or the command cheat sheet"
    );
    assert!(rm.gate("go-no-go-meeting-signs-the-launch-2").is_some());
}

/// The gates whose item's box is ticked in `md`.
fn ticked(md: &str) -> impl Fn(&Gate) -> bool + '_ {
    |g| {
        g.item
            .as_deref()
            .is_some_and(|i| md.contains(&format!("[x] {i}")))
    }
}

#[test]
fn sync_changes_only_the_boxes_the_evidence_decides() {
    let rm = roadmap_of(MILESTONES);
    let cors = item(&rm, "CORS: only").id.clone();
    let drill = item(&rm, "Restore drill").id.clone();
    let split = item(&rm, "Split `.env.example`").id.clone();
    let was_ticked = ticked(MILESTONES);
    let card = card(
        &rm,
        |g| was_ticked(g) || g.id == cors || g.id == drill || g.id == split,
        None,
    );
    let synced = sync(MILESTONES, &rm, &card);
    let mut expected = patched(MILESTONES, "[ ] CORS: only", "[x] CORS: only");
    expected = patched(&expected, "[ ] Restore drill", "[x] Restore drill");
    expected = patched(&expected, "[~] Split", "[x] Split");
    // M0 is in progress (ticked by hand), the others wait for it.
    expected = with_status(&expected, &['~', ' ', ' ', ' ']);
    assert_eq!(synced.text, expected);
    assert_eq!(synced.changes.len(), 5);
    let phases: Vec<_> = synced.changes.iter().map(|c| c.phase.as_ref()).collect();
    assert_eq!(
        phases,
        [
            Some(&rm.phases[0].id),
            None,
            Some(&rm.phases[1].id),
            None,
            None
        ]
    );
    let unticked: Vec<_> = synced
        .unticked_without_evidence
        .iter()
        .map(|c| (c.phase.as_ref(), c.from, c.to))
        .collect();
    assert_eq!(unticked, [(Some(&rm.phases[0].id), 'x', '~')]);
    assert!(synced.not_found.is_empty());
    let first = &synced.changes[1];
    assert_eq!(
        (first.from, first.to, first.gate.clone()),
        ('~', 'x', split)
    );
    assert_eq!(
        first.line,
        1 + MILESTONES[..MILESTONES.find("[~] Split").unwrap()]
            .matches('\n')
            .count()
    );
    assert_eq!(
        first.item,
        "Split `.env.example` into staging and production examples."
    );

    let again = sync(&synced.text, &rm, &card);
    assert!(again.is_unchanged(), "{:?}", again.changes);
    assert_eq!(again.text, synced.text);
}

#[test]
fn a_box_ticked_by_hand_without_evidence_is_unticked_and_reported() {
    let rm = roadmap_of(MILESTONES);
    let pinned = item(&rm, "Pin the toolchain").id.clone();
    let headers = item(&rm, "Strict security headers").id.clone();
    let was_ticked = ticked(MILESTONES);
    // Everything ticked has evidence except two: one with none, one failing.
    let card = card(
        &rm,
        |g| was_ticked(g) && g.id != pinned,
        Some(headers.as_str()),
    );
    let synced = sync(MILESTONES, &rm, &card);
    let mut expected = patched(MILESTONES, "[x] Pin the toolchain", "[ ] Pin the toolchain");
    expected = patched(&expected, "[x] Strict security", "[ ] Strict security");
    // M0 has some evidence but is not done; M1 waits for it.
    expected = with_status(&expected, &['~', ' ', ' ', ' ']);
    assert_eq!(synced.text, expected);
    let reported: Vec<(&str, char, char)> = synced
        .unticked_without_evidence
        .iter()
        .map(|c| (c.gate.as_str(), c.from, c.to))
        .collect();
    assert_eq!(
        reported,
        [
            (rm.phases[0].id.as_str(), 'x', '~'),
            (pinned.as_str(), 'x', ' '),
            (headers.as_str(), 'x', ' ')
        ]
    );
    let unticked = &synced.unticked_without_evidence;
    assert_eq!(unticked[0].phase.as_ref(), Some(&rm.phases[0].id));
    assert!(
        unticked[0].reason.contains("in progress"),
        "{:?}",
        unticked[0]
    );
    assert!(unticked[1].reason.contains("missing"), "{:?}", unticked[1]);
    assert!(unticked[2].reason.contains("fail"), "{:?}", unticked[2]);
    // The fourth change: M1's `[~]`, set back as the phase waits for M0.
    assert_eq!(synced.changes.len(), 4);
    let blocked = &synced.changes[2];
    assert_eq!(
        (blocked.phase.as_ref(), blocked.from, blocked.to),
        (Some(&rm.phases[1].id), '~', ' ')
    );
    assert!(blocked.reason.contains("blocked"), "{blocked:?}");
}

#[test]
fn without_any_evidence_every_tick_goes_and_in_progress_items_stay() {
    let rm = roadmap_of(MILESTONES);
    let synced = sync(MILESTONES, &rm, &card(&rm, |_| false, None));
    // A `[x]` inside an item's text is part of the text, not a box of its own.
    let own_boxes = MILESTONES
        .lines()
        .filter(|l| l.trim_start().starts_with("- [x]"))
        .count();
    assert_eq!(synced.unticked_without_evidence.len(), own_boxes);
    assert!(!synced.text.contains("- [x]"));
    // An item's `[~]` stays; a phase's `[~]` goes when the phase has no evidence at all.
    assert_eq!(
        synced.text,
        with_status(&MILESTONES.replace("- [x]", "- [ ]"), &[' ', ' ', ' ', ' '])
    );
    assert!(synced.text.contains("- [~] Split"));
}

#[test]
fn crlf_line_endings_and_persian_text_survive_sync() {
    let crlf = PLAYBOOK.replace('\n', "\r\n");
    let rm = roadmap_of(&crlf);
    assert_eq!(
        rm,
        roadmap_of(PLAYBOOK),
        "line endings do not change the import"
    );
    let refused = item(&rm, "A webhook with a bad signature").id.clone();
    let card = card(&rm, |g| g.id == refused, None);
    let synced = sync(&crlf, &rm, &card);
    assert_eq!(
        synced.text,
        patched(&crlf, "[ ] A webhook", "[x] A webhook")
    );
    assert_eq!(
        synced.text.matches("\r\n").count(),
        crlf.matches('\n').count()
    );

    let rm = roadmap_of(PERSIAN);
    let cors = item(&rm, "سیاست CORS").id.clone();
    let synced = sync(PERSIAN, &rm, &card_with(&rm, &[cors.as_str()]));
    let mut expected = patched(PERSIAN, "[ ] سیاست CORS", "[x] سیاست CORS");
    // The one ticked box has no evidence here.
    expected = patched(&expected, "[x] هدرهای", "[ ] هدرهای");
    assert_eq!(synced.text, expected);
}

fn card_with(rm: &Roadmap, passing: &[&str]) -> Scorecard {
    card(rm, |g| passing.contains(&g.id.as_str()), None)
}

#[test]
fn a_deleted_item_is_reported_as_not_found() {
    let rm = roadmap_of(MILESTONES);
    let oncall = item(&rm, "On-call rotation").id.clone();
    let edited = patched(
        MILESTONES,
        "  - [ ] On-call rotation staffed for the first month.\n",
        "",
    );
    let synced = sync(&edited, &rm, &card(&rm, ticked(MILESTONES), None));
    assert_eq!(synced.not_found, [oncall]);
    assert_eq!(synced.text, with_status(&edited, &['~', ' ', ' ', ' ']));
}

#[test]
fn the_link_survives_edits_elsewhere_and_moves() {
    let rm = roadmap_of(MILESTONES);
    let cors = item(&rm, "CORS: only").id.clone();
    let card = card(&rm, |g| ticked(MILESTONES)(g) || g.id == cors, None);
    let cors_line = "  - [ ] CORS: only the dashboard origin is allowed in production.\n";
    // A new paragraph above, and the CORS item moved to another milestone, re-indented.
    let edited = patched(
        &patched(MILESTONES, cors_line, ""),
        "This file tracks",
        "A new paragraph written later.\n\nThis file tracks",
    );
    let edited = patched(
        &edited,
        "## M3 Launch\n",
        "## M3 Launch\n- [ ]   CORS: only the dashboard origin\n  is allowed in production.\n",
    );
    let synced = sync(&edited, &rm, &card);
    assert!(synced.not_found.is_empty(), "{:?}", synced.not_found);
    assert_eq!(
        synced.text,
        with_status(
            &patched(&edited, "- [ ]   CORS", "- [x]   CORS"),
            &['~', ' ', ' ', ' ']
        )
    );
    assert_eq!(synced.changes.len(), 3);
}

#[test]
fn the_odd_task_marker_range_patches_one_byte() {
    // pulldown-cmark reports this marker's range as "\t[ ]": the box is patched at its `[`.
    for doc in ["*\t\t[ ]\r", "*\t\t[ ] a\r", "-\t[ ] a\n", "1.\t \t[ ] a"] {
        let rm = roadmap_with_item(doc.trim_start_matches(['*', '-', '1', '.', '\t', ' ']));
        let synced = sync(doc, &rm, &card_with(&rm, &["g"]));
        assert_eq!(synced.text.len(), doc.len(), "{doc:?}");
        let diff: Vec<usize> = (0..doc.len())
            .filter(|&i| doc.as_bytes()[i] != synced.text.as_bytes()[i])
            .collect();
        assert_eq!(diff.len(), 1, "{doc:?} gave {:?}", synced.text);
        assert_eq!(doc.as_bytes()[diff[0] - 1], b'[');
        assert_eq!(synced.text.as_bytes()[diff[0]], b'x');
    }
}

/// A roadmap with one gate `g` linked to the item whose text follows the box in `rest`.
fn roadmap_with_item(rest: &str) -> Roadmap {
    let text = rest.trim_start_matches("[ ]").trim();
    let toml = format!(
        "[gates.g]\nrun = \"true\"\nitem = {}\n[[phase]]\nid = \"p\"\ngates = [\"g\"]\n",
        toml_string(text)
    );
    parse(&toml, "t.toml").unwrap()
}

fn toml_string(s: &str) -> String {
    format!("\"{}\"", s.escape_default())
}

/// Lines of plain text: they start with a letter, so that they are never a list item, a
/// heading, a code block or a table.
fn plain_line() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9 ,.]{0,30}"
}

#[derive(Debug, Clone)]
enum Edit {
    /// Insert a paragraph (blank line, text, blank line) before line `at`.
    Insert(usize, String),
    /// Delete line `at` if it is plain text.
    Delete(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), plain_line()).prop_map(|(at, s)| Edit::Insert(at, s)),
        any::<usize>().prop_map(Edit::Delete),
    ]
}

fn is_plain(line: &str) -> bool {
    let t = line.trim_start();
    !t.is_empty()
        && !t.starts_with(['-', '*', '+', '#'])
        && !t.starts_with(|c: char| c.is_ascii_digit())
        && line.len() == t.len()
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
    for e in edits {
        match e {
            Edit::Insert(at, s) => {
                let at = at % (lines.len() + 1);
                // Not before an indented line: after a paragraph, four spaces make a code
                // block of what was a nested item, which is no unrelated edit.
                if lines.get(at).is_none_or(|l| !l.starts_with([' ', '\t'])) {
                    lines.splice(at..at, [String::new(), s.clone(), String::new()]);
                }
            }
            Edit::Delete(at) => {
                let at = at % lines.len();
                if is_plain(&lines[at]) && lines.len() > 1 {
                    lines.remove(at);
                }
            }
        }
    }
    lines.join("\n")
}

fn doc_piece() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "- ",
        "* ",
        "1. ",
        "  ",
        "\t",
        "[ ] ",
        "[x] ",
        "[X] ",
        "[~] ",
        "[",
        "]",
        "x",
        "a b",
        "`cargo test`",
        "## M1 ",
        "# T",
        "\n",
        "\r\n",
        "\r",
        "\n\n",
        "> ",
        "| a |",
        "فاز ۱",
        "Acceptance",
        "Owner: a",
        "Status: ",
        "\\",
        "\"",
        "    ",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Unrelated edits elsewhere (plain lines inserted or deleted) change nothing about
    /// which boxes sync sets: editing then syncing is syncing then editing.
    #[test]
    fn unrelated_edits_survive_sync(
        which in 0usize..2,
        edits in prop::collection::vec(edit(), 0..8),
        passing in prop::collection::vec(any::<bool>(), 64),
    ) {
        let md = [MILESTONES, PERSIAN][which];
        let rm = roadmap_of(md);
        let card = card(
            &rm,
            |g| passing[rm.gates.iter().position(|x| x.id == g.id).unwrap_or(0) % 64],
            None,
        );
        let edited = apply(md, &edits);
        let synced: Synced = sync(&edited, &rm, &card);
        prop_assert!(synced.not_found.is_empty(), "{:?}", synced.not_found);
        prop_assert_eq!(synced.text, apply(&sync(md, &rm, &card).text, &edits));
    }

    /// Any document: the draft parses, and syncing with every gate passing changes single
    /// bytes just after a `[`, to `x`, and nothing else; a second sync changes nothing.
    #[test]
    fn any_document_imports_and_syncs_byte_for_byte(
        pieces in prop::collection::vec(doc_piece(), 0..40),
    ) {
        let doc: String = pieces.concat();
        let imported = import(&doc, "R.md");
        let rm = parse(&imported.toml, "phasegate.toml")
            .map_err(|e| TestCaseError::fail(format!("{}\n{}", render_plain(&e), imported.toml)))?;
        let all = card(&rm, |_| true, None);
        let synced = sync(&doc, &rm, &all);
        prop_assert_eq!(synced.text.len(), doc.len());
        for (i, (a, b)) in doc.bytes().zip(synced.text.bytes()).enumerate() {
            if a != b {
                prop_assert_eq!(doc.as_bytes()[i - 1], b'[');
                prop_assert_eq!(b, b'x');
            }
        }
        prop_assert!(sync(&synced.text, &rm, &all).is_unchanged());
    }
}

#[test]
fn sync_with_no_linked_gates_changes_nothing() {
    let rm = roadmap_with_item("[ ] something else entirely");
    let synced = sync(MILESTONES, &rm, &card_with(&rm, &["g"]));
    assert_eq!(synced.text, MILESTONES);
    assert!(synced.changes.is_empty());
    assert_eq!(synced.not_found.len(), 1);
    assert_eq!(
        card_with(&rm, &["g"]).gate("g").map(|g| g.state),
        Some(GateState::Pass)
    );
}

/// Four phases, each with a status line whose box disagrees with the evidence given in
/// `status_lines_follow_their_phase`, and items whose boxes already agree.
const STATUS_DOC: &str = "# Plan\n\n## M1 Build\n- [ ] Owner: Platform  Target: 2026-03-01\n- [x] Build passes: `cargo build --all`\n- [ ] Docs written.\n- Tasks\n  - [ ] Owner: nested, so a gate\n\n## M2 Ship\n- [~] Status: shipped\n- [x] Release notes published.\n\n### Checklist\n- [ ] Owner: under a sub-heading, so a gate\n\n## M3 Operate\n- [~] **Owners:** SRE\n- [ ] Runbook reviewed.\n\n## M4 Scale\n- [x] status: done, supposedly\n- [ ] Load test: `k6 run load.js`\n";

#[test]
fn status_lines_are_not_gates_and_name_the_owner() {
    let rm = roadmap_of(STATUS_DOC);
    let items: Vec<&str> = rm.gates.iter().filter_map(|g| g.item.as_deref()).collect();
    assert_eq!(
        items,
        [
            "Build passes: `cargo build --all`",
            "Docs written.",
            "Owner: nested, so a gate",
            "Release notes published.",
            "Owner: under a sub-heading, so a gate",
            "Runbook reviewed.",
            "Load test: `k6 run load.js`",
        ]
    );
    let roles = |starts: &str| match &item(&rm, starts).kind {
        GateKind::Signoff { roles, .. } => roles.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(roles("Docs written"), ["platform"]);
    assert_eq!(roles("Runbook"), ["sre"]);
    let persian = roadmap_of(PERSIAN);
    assert!(
        persian
            .gates
            .iter()
            .all(|g| !g.item.as_deref().unwrap_or("").starts_with("مالک")),
        "the Persian status line is no gate"
    );
}

/// `rm` with its `signoff` gates checked by a command instead, so that the evidence of
/// `card` alone decides them (what a sign-off needs is not what these tests are about).
fn signoffs_as_runs(mut rm: Roadmap) -> Roadmap {
    for gate in &mut rm.gates {
        if matches!(gate.kind, GateKind::Signoff { .. }) {
            gate.kind = GateKind::Run {
                command: "true".into(),
            };
        }
    }
    rm
}

/// The byte offsets where `a` and `b` differ (same length).
fn diff(a: &str, b: &str) -> Vec<usize> {
    assert_eq!(a.len(), b.len());
    (0..a.len())
        .filter(|&i| a.as_bytes()[i] != b.as_bytes()[i])
        .collect()
}

#[test]
fn status_lines_follow_their_phase() {
    let mut rm = signoffs_as_runs(roadmap_of(STATUS_DOC));
    // Independent phases, so that none is blocked.
    for phase in &mut rm.phases {
        phase.after.clear();
    }
    let build = item(&rm, "Build passes").id.clone();
    let notes = item(&rm, "Release notes").id.clone();
    let load = item(&rm, "Load test").id.clone();
    let card = card(&rm, |g| g.id == build || g.id == notes, Some(load.as_str()));
    let states: Vec<&str> = card.phases.iter().map(|p| p.state.as_str()).collect();
    assert_eq!(
        states,
        ["in_progress", "in_progress", "in_progress", "failing"]
    );
    // M2 is in progress only by the gate under its sub-heading: done without it.
    let sub = item(&rm, "Owner: under a sub-heading").id.clone();
    let card = self::card(
        &rm,
        |g| g.id == build || g.id == notes || g.id == sub,
        Some(load.as_str()),
    );
    let states: Vec<&str> = card.phases.iter().map(|p| p.state.as_str()).collect();
    assert_eq!(states, ["in_progress", "done", "in_progress", "failing"]);

    let synced = sync(STATUS_DOC, &rm, &card);
    let mut expected = patched(STATUS_DOC, "[ ] Owner: Platform", "[~] Owner: Platform");
    expected = patched(&expected, "[~] Status: shipped", "[x] Status: shipped");
    expected = patched(&expected, "[~] **Owners:**", "[ ] **Owners:**");
    expected = patched(&expected, "[x] status: done", "[~] status: done");
    expected = patched(&expected, "[ ] Owner: under", "[x] Owner: under");
    assert_eq!(synced.text, expected);
    // Only the boxes' one byte, each just after a `[`.
    let changed = diff(STATUS_DOC, &synced.text);
    assert_eq!(changed.len(), 5);
    assert!(
        changed
            .iter()
            .all(|&i| STATUS_DOC.as_bytes()[i - 1] == b'[')
    );

    let got: Vec<(Option<&str>, &str, char, char)> = synced
        .changes
        .iter()
        .map(|c| {
            (
                c.phase.as_ref().map(|p| p.as_str()),
                c.gate.as_str(),
                c.from,
                c.to,
            )
        })
        .collect();
    let id = |n: usize| rm.phases[n].id.as_str();
    assert_eq!(
        got,
        [
            (Some(id(0)), id(0), ' ', '~'),
            (Some(id(1)), id(1), '~', 'x'),
            (None, sub.as_str(), ' ', 'x'),
            (Some(id(2)), id(2), '~', ' '),
            (Some(id(3)), id(3), 'x', '~'),
        ]
    );
    assert_eq!(
        synced.changes[0].item,
        "Owner: Platform  Target: 2026-03-01"
    );
    assert_eq!(synced.changes[0].line, 4);
    assert!(synced.changes[0].reason.contains("in progress"));
    assert!(synced.changes[1].reason.contains("done"));
    assert!(synced.changes[3].reason.contains("no evidence"));
    assert!(synced.changes[4].reason.contains("failing"));
    assert_eq!(
        synced.unticked_without_evidence,
        [synced.changes[4].clone()],
        "a status line ticked while its phase fails"
    );
    assert!(synced.not_found.is_empty());

    // Deterministic, and a second sync agrees.
    assert_eq!(sync(STATUS_DOC, &rm, &card), synced);
    let again = sync(&synced.text, &rm, &card);
    assert!(again.is_unchanged(), "{:?}", again.changes);
    assert_eq!(again.text, synced.text);

    // CRLF line endings: the same bytes change.
    let crlf = STATUS_DOC.replace('\n', "\r\n");
    assert_eq!(sync(&crlf, &rm, &card).text, expected.replace('\n', "\r\n"));
}

#[test]
fn a_waiting_phase_status_is_unset_whatever_its_evidence() {
    let rm = signoffs_as_runs(roadmap_of(STATUS_DOC));
    // Every gate of M2 to M4 passes, but M1 is not done: they wait for it.
    let docs = item(&rm, "Docs written").id.clone();
    let card = card(&rm, |g| g.id != docs, None);
    let states: Vec<&str> = card.phases.iter().map(|p| p.state.as_str()).collect();
    assert_eq!(states, ["in_progress", "blocked", "blocked", "blocked"]);
    let synced = sync(STATUS_DOC, &rm, &card);
    let mut expected = patched(STATUS_DOC, "[ ] Owner: Platform", "[~] Owner: Platform");
    expected = patched(&expected, "[~] Status: shipped", "[ ] Status: shipped");
    expected = patched(&expected, "[~] **Owners:**", "[ ] **Owners:**");
    expected = patched(&expected, "[x] status: done", "[ ] status: done");
    expected = patched(&expected, "[ ] Owner: nested", "[x] Owner: nested");
    expected = patched(&expected, "[ ] Owner: under", "[x] Owner: under");
    expected = patched(&expected, "[ ] Runbook", "[x] Runbook");
    expected = patched(&expected, "[ ] Load test", "[x] Load test");
    assert_eq!(synced.text, expected);
    assert!(
        synced
            .changes
            .iter()
            .filter(|c| c.phase.is_some() && c.to == ' ')
            .all(|c| c.reason.contains("blocked")),
        "{:?}",
        synced.changes
    );

    // Everything passes: every status line is ticked.
    let all = self::card(&rm, |_| true, None);
    let synced = sync(STATUS_DOC, &rm, &all);
    for status in [
        "[x] Owner: Platform",
        "[x] Status: shipped",
        "[x] **Owners:**",
        "[x] status: done",
    ] {
        assert!(synced.text.contains(status), "{status}: {}", synced.text);
    }
}

#[test]
fn a_persian_phase_status_line_follows_its_phase() {
    let rm = signoffs_as_runs(roadmap_of(PERSIAN));
    // Phase 0 done, phase 1 started.
    let started = item(&rm, "اجرای `pnpm -w smoke:payments`").id.clone();
    let first: Vec<_> = card(&rm, |_| false, None).phases[0].gates.clone();
    let card = card(&rm, |g| first.contains(&g.id) || g.id == started, None);
    let states: Vec<&str> = card.phases.iter().map(|p| p.state.as_str()).collect();
    assert_eq!(states, ["done", "in_progress", "blocked"]);
    let synced = sync(PERSIAN, &rm, &card);
    let mut expected = patched(PERSIAN, "[ ] مالک:", "[~] مالک:");
    expected = patched(&expected, "[ ] سیاست CORS", "[x] سیاست CORS");
    expected = patched(&expected, "[ ] اجرای", "[x] اجرای");
    assert_eq!(synced.text, expected);
    let phases: Vec<_> = synced
        .changes
        .iter()
        .filter_map(|c| c.phase.clone())
        .collect();
    assert_eq!(phases, [rm.phases[1].id.clone()]);
}

#[test]
fn a_status_line_linked_to_a_gate_stays_that_gates() {
    // A roadmap drafted before status lines existed: the owner line is a gate's item.
    let toml = "[gates.owner]\nrun = \"true\"\nitem = \"Owner: Platform  Target: 2026-03-01\"\n[gates.build]\nrun = \"true\"\n[[phase]]\nid = \"m1\"\ntitle = \"M1 Build\"\ngates = [\"owner\", \"build\"]\n";
    let rm = parse(toml, "t.toml").unwrap();
    let card = card_with(&rm, &["owner"]);
    assert_eq!(card.phases[0].state.as_str(), "in_progress");
    let synced = sync(STATUS_DOC, &rm, &card);
    assert_eq!(
        synced.text,
        patched(STATUS_DOC, "[ ] Owner: Platform", "[x] Owner: Platform")
    );
    assert_eq!(synced.changes.len(), 1);
    assert_eq!(synced.changes[0].phase, None);
    assert_eq!(synced.changes[0].gate.as_str(), "owner");
}

/// Items about the repository's own files become gates of the file probes, which read
/// their `cwd` and name no service or base URL.
#[test]
fn repository_items_become_file_probe_gates_without_a_target() {
    let md = "# Plan\n\n## M1 Repository\n- [ ] CI scripts allow lint/typecheck failure (`|| true`), which hides regressions\n- [ ] No placeholder left in critical docs\n- [ ] Local-first: no mandatory external dependency\n";
    let rm = roadmap_of(md);
    let kinds: Vec<(&str, Option<&str>)> = rm
        .gates
        .iter()
        .map(|g| match &g.kind {
            GateKind::Probe { probe, .. } => (probe.as_str(), g.base_url.as_deref()),
            _ => ("not a probe", None),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("ci-tolerance", None),
            ("docs-drift", None),
            ("local-first", None)
        ]
    );
    assert!(
        import(md, "ROADMAP.md")
            .toml
            .contains("probe = \"docs-drift\"\ncwd = \".\"")
    );
}
