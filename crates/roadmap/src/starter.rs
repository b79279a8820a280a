//! The starter roadmap `phasegate init` writes: gates for the build tools found in the
//! repository (Cargo, pnpm, npm, Make), each key explained by a comment the first time it
//! appears, so that the file teaches its own format.
//!
//! Pure: the caller reads the repository's files into a [`Repository`] (the engine does, for
//! `phasegate init`); this module only decides and writes.

use std::collections::BTreeSet;
use std::fmt::Write as _;

/// What the starter needs to know of a repository: its name and the build files found in
/// its root, with their text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Repository {
    /// The project's name (the directory's name).
    pub name: String,
    /// Whether `Cargo.toml` exists.
    pub cargo: bool,
    /// The text of `package.json`, when there is one (empty when it cannot be read).
    pub package_json: Option<String>,
    /// Whether `pnpm-lock.yaml` exists.
    pub pnpm_lock: bool,
    /// The text of the Makefile (`GNUmakefile`, `makefile` or `Makefile`), when there is one.
    pub makefile: Option<String>,
}

/// One gate the starter proposes.
struct Proposal {
    id: String,
    title: &'static str,
    run: String,
    /// The id (before de-duplication) of a gate of the same tool this one needs.
    needs: Option<&'static str>,
    inputs: &'static [&'static str],
    timeout: Option<&'static str>,
    /// Build gates go into the first phase; the others become base gates.
    is_build: bool,
    /// Prefix for the id when another tool already proposed the same one.
    tool: &'static str,
}

/// The text of a commented starter `phasegate.toml` for `repo`.
///
/// It proposes gates for Cargo (`Cargo.toml`), pnpm (`package.json` with `pnpm-lock.yaml`),
/// npm (`package.json`) and Make (`Makefile` with `lint`, `test` or `build` targets). With
/// none of them it proposes a single example gate that fails until it is replaced by a real
/// check. The text always parses as a valid roadmap.
pub fn starter(repo: &Repository) -> String {
    let mut proposals = Vec::new();
    let mut found = Vec::new();
    if repo.cargo {
        found.push("Cargo");
        proposals.extend(cargo());
    }
    if let Some(scripts) = repo.package_json.as_deref().map(package_scripts) {
        let tool = if repo.pnpm_lock { "pnpm" } else { "npm" };
        let gates = node(&scripts, tool);
        if !gates.is_empty() {
            found.push(tool);
            proposals.extend(gates);
        }
    }
    if let Some(targets) = repo.makefile.as_deref().and_then(make_targets) {
        found.push("Make");
        proposals.extend(make(&targets));
    }
    dedup_ids(&mut proposals);
    let name = if repo.name.is_empty() {
        "project"
    } else {
        &repo.name
    };
    render(name, &found, &proposals)
}

fn cargo() -> Vec<Proposal> {
    let rust: &[&str] = &["**/*.rs", "**/Cargo.toml", "Cargo.lock"];
    vec![
        Proposal {
            id: "fmt".into(),
            title: "Code is formatted",
            run: "cargo fmt --all -- --check".into(),
            needs: None,
            inputs: &["**/*.rs"],
            timeout: Some("5m"),
            is_build: false,
            tool: "cargo",
        },
        Proposal {
            id: "clippy".into(),
            title: "Clippy finds nothing",
            run: "cargo clippy --workspace --all-targets -- -D warnings".into(),
            needs: Some("fmt"),
            inputs: rust,
            timeout: Some("15m"),
            is_build: false,
            tool: "cargo",
        },
        Proposal {
            id: "test".into(),
            title: "Tests pass",
            run: "cargo test --workspace".into(),
            needs: None,
            inputs: rust,
            timeout: Some("20m"),
            is_build: false,
            tool: "cargo",
        },
        Proposal {
            id: "build".into(),
            title: "Release build",
            run: "cargo build --release".into(),
            needs: Some("test"),
            inputs: rust,
            timeout: Some("30m"),
            is_build: true,
            tool: "cargo",
        },
    ]
}

/// Script names, in the order their gates are proposed, with a title each.
const SCRIPTS: &[(&str, &str)] = &[
    ("lint", "Lint is clean"),
    ("typecheck", "Types check"),
    ("test", "Tests pass"),
    ("build", "Production build"),
];

/// The script names of a `package.json` (none when it does not parse).
fn package_scripts(text: &str) -> BTreeSet<String> {
    let json: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    json.get("scripts")
        .and_then(serde_json::Value::as_object)
        .map(|scripts| {
            scripts
                .iter()
                // `npm init` writes a `test` script that always fails: not a real check.
                .filter(|(_, cmd)| {
                    !cmd.as_str()
                        .is_some_and(|c| c.contains("no test specified"))
                })
                .map(|(name, _)| name.clone())
                .collect()
        })
        .unwrap_or_default()
}

fn node(scripts: &BTreeSet<String>, tool: &'static str) -> Vec<Proposal> {
    let has_test = scripts.contains("test");
    SCRIPTS
        .iter()
        .filter(|(name, _)| scripts.contains(*name))
        .map(|(name, title)| Proposal {
            id: (*name).into(),
            title,
            run: format!("{tool} run {name}"),
            needs: (*name == "build" && has_test).then_some("test"),
            inputs: &[],
            timeout: None,
            is_build: *name == "build",
            tool,
        })
        .collect()
}

/// The `lint`, `test` and `build` targets of a Makefile, when it has any.
fn make_targets(text: &str) -> Option<BTreeSet<String>> {
    let mut targets = BTreeSet::new();
    for line in text.lines() {
        // Recipe lines start with a tab; `a := b` and `a ::= b` are assignments.
        if line.starts_with('\t') {
            continue;
        }
        let Some((names, rest)) = line.split_once(':') else {
            continue;
        };
        if rest.starts_with('=') || rest.starts_with(":=") || names.contains('=') {
            continue;
        }
        for name in names.split_whitespace() {
            if matches!(name, "lint" | "test" | "build") {
                targets.insert(name.to_owned());
            }
        }
    }
    (!targets.is_empty()).then_some(targets)
}

fn make(targets: &BTreeSet<String>) -> Vec<Proposal> {
    [
        ("lint", "Lint is clean"),
        ("test", "Tests pass"),
        ("build", "Build succeeds"),
    ]
    .iter()
    .filter(|(t, _)| targets.contains(*t))
    .map(|(t, title)| Proposal {
        id: (*t).into(),
        title,
        run: format!("make {t}"),
        needs: (*t == "build" && targets.contains("test")).then_some("test"),
        inputs: &[],
        timeout: None,
        is_build: *t == "build",
        tool: "make",
    })
    .collect()
}

/// Two tools can propose the same id (`test`): the later one gets its tool as a prefix.
fn dedup_ids(proposals: &mut [Proposal]) {
    let mut taken = BTreeSet::new();
    for p in proposals {
        if !taken.insert(p.id.clone()) {
            p.id = format!("{}-{}", p.tool, p.id);
            taken.insert(p.id.clone());
        }
    }
}

/// The id a proposal's `needs` resolves to: the gate of the same tool with that name.
fn needed_id<'a>(proposals: &'a [Proposal], p: &Proposal) -> Option<&'a str> {
    let name = p.needs?;
    proposals
        .iter()
        .find(|q| q.tool == p.tool && (q.id == name || q.id == format!("{}-{name}", q.tool)))
        .map(|q| q.id.as_str())
}

/// A TOML basic string.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn array(items: &[&str]) -> String {
    let items: Vec<String> = items.iter().map(|s| quote(s)).collect();
    format!("[{}]", items.join(", "))
}

/// Writes keys, explaining each one the first time it appears.
struct Writer {
    text: String,
    explained: BTreeSet<&'static str>,
}

impl Writer {
    fn line(&mut self, line: &str) {
        self.text.push_str(line);
        self.text.push('\n');
    }

    fn key(&mut self, key: &'static str, value: &str, why: &str) {
        if self.explained.insert(key) {
            for line in why.lines() {
                self.line(&format!("# {line}"));
            }
        }
        self.line(&format!("{key} = {value}"));
    }
    /// Several lines at once, each as [`Writer::line`] writes it.
    fn lines(&mut self, text: &str) {
        for line in text.lines() {
            self.line(line);
        }
    }
}

const TITLE_WHY: &str = "A human title for reports.";
const TIMEOUT_WHY: &str = "The longest one attempt may take (the default is 10m).";

fn render(name: &str, found: &[&str], proposals: &[Proposal]) -> String {
    let mut w = Writer {
        text: String::new(),
        explained: BTreeSet::new(),
    };
    header(&mut w, found);
    project(&mut w, name, proposals);
    gates(&mut w, proposals);
    phase(&mut w, proposals);
    w.text
}

/// The comment that opens the file: what it is and which tools were detected.
fn header(w: &mut Writer, found: &[&str]) {
    w.lines(
        "# phasegate.toml: this repository's readiness roadmap.
# A phase is done only when every gate it requires has passed, on recorded evidence.
# `phasegate check` validates this file, `phasegate run` runs the gates and
# `phasegate status` shows what is done. The format is described in phasegate's
# docs/roadmap-format.md.",
    );
    if found.is_empty() {
        w.line(
            "# No build tool was detected (Cargo, pnpm, npm or Make): start from the example gate.",
        );
    } else {
        w.line(&format!("# Gates proposed for: {}.", found.join(", ")));
    }
}

/// The `[project]` table: every gate that is not a build is a base gate.
fn project(w: &mut Writer, name: &str, proposals: &[Proposal]) {
    w.line("");
    w.line("[project]");
    w.key("name", &quote(name), "Shown in reports.");
    let base: Vec<&str> = proposals
        .iter()
        .filter(|p| !p.is_build)
        .map(|p| p.id.as_str())
        .collect();
    w.key(
        "base_gates",
        &array(&base),
        "Gates every phase requires in addition to its own.",
    );
    w.key(
        "secret_env",
        "[]",
        "Environment variables whose values are never stored or printed, e.g. [\"DEPLOY_TOKEN\"].",
    );
}

/// The proposed gates (or, when there are none, an example that fails on purpose), then a
/// commented-out example of a later gate.
fn gates(w: &mut Writer, proposals: &[Proposal]) {
    w.line("");
    w.line("# A gate is one checkable thing. A `run` gate passes when its shell command exits 0;");
    w.line("# it runs with `sh -c` in this file's directory.");
    if proposals.is_empty() {
        w.line("");
        w.line("[gates.example]");
        w.key("title", &quote("Replace me with a real check"), TITLE_WHY);
        w.key(
            "run",
            &quote(
                "echo 'edit phasegate.toml: replace this command with a real check' >&2; exit 1",
            ),
            "The command. This one fails on purpose, so that no phase is done by accident.",
        );
        w.key("timeout", &quote("10m"), TIMEOUT_WHY);
    }
    for p in proposals {
        proposed_gate(w, proposals, p);
    }
    w.lines(
        "
# A later gate, as an example: uncomment and adapt.
# [gates.smoke]
# title = \"The release answers\"
# run = \"./scripts/smoke.sh\"
# Extra attempts after a failed one, for a flaky check (all attempts are recorded).
# retries = 1
# Evidence older than this is stale and must be produced again.
# fresh_for = \"7d\"
# `false` makes the gate advisory: reported, never blocking a phase.
# blocking = true",
    );
}

/// The table of the proposed gate `p`.
fn proposed_gate(w: &mut Writer, proposals: &[Proposal], p: &Proposal) {
    w.line("");
    w.line(&format!("[gates.{}]", p.id));
    w.key("title", &quote(p.title), TITLE_WHY);
    w.key(
        "run",
        &quote(&p.run),
        "The shell command; the gate passes when it exits 0.",
    );
    if let Some(needed) = needed_id(proposals, p) {
        w.key(
            "needs",
            &array(&[needed]),
            "Gates that must pass before this one runs.",
        );
    }
    if !p.inputs.is_empty() {
        w.key(
            "inputs",
            &array(p.inputs),
            "Files (globs) whose content decides whether an earlier pass still holds.",
        );
    }
    if let Some(t) = p.timeout {
        w.key("timeout", &quote(t), TIMEOUT_WHY);
    }
}

/// The one phase, `baseline`, requiring the build gates (or the example), then a
/// commented-out example of a later phase.
fn phase(w: &mut Writer, proposals: &[Proposal]) {
    w.line("");
    w.line("# A phase is done when its own gates and the base gates have passed, and the phases");
    w.line("# it comes `after` are done.");
    w.line("[[phase]]");
    w.key(
        "id",
        &quote("baseline"),
        "The phase's id, used by `after` and on the command line.",
    );
    w.key("title", &quote("Baseline"), TITLE_WHY);
    let gates: Vec<&str> = if proposals.is_empty() {
        vec!["example"]
    } else {
        proposals
            .iter()
            .filter(|p| p.is_build)
            .map(|p| p.id.as_str())
            .collect()
    };
    w.key("gates", &array(&gates), "The phase's own gates.");
    w.lines(
        "
# A later phase, as an example: uncomment and adapt.
# [[phase]]
# id = \"launch\"
# title = \"Launch\"
# The phases that must be done before this one can be.
# after = [\"baseline\"]
# gates = [\"smoke\"]",
    );
}
