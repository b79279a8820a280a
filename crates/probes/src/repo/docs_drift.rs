//! `docs-drift`: what the docs tell people holds. Every command a document says to run
//! (in shell code blocks, and inline code starting with a task runner) names a package
//! script, Makefile target, just recipe, cargo command or alias, or script on disk that
//! exists; every relative link and `#anchor` resolves (GitHub's heading slugs); required
//! documents exist and say something; critical documents hold no placeholder and no empty
//! section.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use globset::GlobSet;
use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use serde::Deserialize;

use super::runners::{
    just_args, just_recipes, make_args, make_rules, npm_scripts, pattern_matches,
};
use super::shell::{self, Command};
use super::{at, glob_set, line_at, normalize, read, walk};
use crate::files::{Cancel, FileProbe};
use crate::net::ProbeError;
use crate::params::err;
use crate::report::Report;
use crate::{Context, ParamError};

pub(crate) struct DocsDrift;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    /// Documents whose commands, links and anchors are checked (globs).
    #[serde(default = "default_docs")]
    docs: Vec<String>,
    /// Documents that must exist and not be empty (paths).
    #[serde(default)]
    must_exist: Vec<String>,
    /// Documents that must hold no placeholder and no empty section (globs).
    #[serde(default)]
    critical: Vec<String>,
    /// What counts as a placeholder in a critical document.
    #[serde(default = "default_placeholders")]
    placeholders: Vec<String>,
    /// Cargo subcommands installed separately (`cargo nextest`) that documents may name.
    #[serde(default = "default_cargo_plugins")]
    cargo_plugins: Vec<String>,
    #[serde(skip)]
    docs_set: GlobSet,
    #[serde(skip)]
    critical_set: GlobSet,
}

fn default_docs() -> Vec<String> {
    ["README*", "**/README.md", "CONTRIBUTING*", "docs/**/*.md"]
        .map(str::to_owned)
        .to_vec()
}

fn default_placeholders() -> Vec<String> {
    [
        "TODO",
        "TBD",
        "FIXME",
        "XXX",
        "(Placeholder)",
        "lorem ipsum",
    ]
    .map(str::to_owned)
    .to_vec()
}

fn default_cargo_plugins() -> Vec<String> {
    [
        "nextest",
        "fuzz",
        "insta",
        "deny",
        "audit",
        "llvm-cov",
        "tarpaulin",
        "udeps",
        "outdated",
        "edit",
        "expand",
        "machete",
        "hack",
        "release",
        "watch",
        "binstall",
        "mutants",
        "semver-checks",
        "criterion",
        "flamegraph",
        "bloat",
        "dist",
        "about",
        "vet",
        "msrv",
        "sort",
        "public-api",
        "zigbuild",
        "make",
        "miri",
        "careful",
        "chef",
        "sweep",
        "cyclonedx",
        "sbom",
        "license",
        "shear",
        "upgrade",
        "set-version",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// cargo's own subcommands and their one-letter forms (`cargo --list` of cargo 1.9x).
const CARGO_BUILTIN: &[&str] = &[
    "add",
    "b",
    "bench",
    "build",
    "c",
    "check",
    "clean",
    "clippy",
    "config",
    "d",
    "doc",
    "fetch",
    "fix",
    "fmt",
    "generate-lockfile",
    "help",
    "info",
    "init",
    "install",
    "locate-project",
    "login",
    "logout",
    "metadata",
    "new",
    "owner",
    "package",
    "pkgid",
    "publish",
    "r",
    "read-manifest",
    "remove",
    "report",
    "rm",
    "run",
    "rustc",
    "rustdoc",
    "search",
    "t",
    "test",
    "tree",
    "uninstall",
    "update",
    "vendor",
    "verify-project",
    "version",
    "yank",
    "--version",
    "-V",
    "--list",
    "-h",
    "--help",
];

/// Programs whose arguments name something the repository defines.
const RUNNERS: &[&str] = &["npm", "pnpm", "yarn", "make", "just", "cargo"];

const SHELL_LANGS: &[&str] = &[
    "sh",
    "bash",
    "shell",
    "zsh",
    "console",
    "shell-session",
    "terminal",
    "shellsession",
];

impl FileProbe for DocsDrift {
    const KIND: &'static str = "docs-drift";
    type Config = Config;

    fn validate(cfg: &mut Config, errors: &mut Vec<ParamError>) {
        cfg.docs_set = glob_set("docs", &cfg.docs, errors);
        cfg.critical_set = glob_set("critical", &cfg.critical, errors);
        for (i, r) in cfg.must_exist.iter().enumerate() {
            if normalize(Path::new(r)).is_none() || Path::new(r).is_absolute() {
                errors.push(err(
                    format!("must_exist[{i}]"),
                    "expected a path inside the project",
                ));
            }
        }
        if cfg.placeholders.iter().any(|p| p.trim().is_empty()) {
            errors.push(err("placeholders", "a placeholder cannot be empty"));
        }
    }

    fn check(
        cfg: &Config,
        ctx: &Context,
        cancel: &Cancel,
        report: &mut Report,
    ) -> Result<(), ProbeError> {
        let root = &ctx.workdir;
        let docs = walk(root, &cfg.docs_set, cancel)?;
        let critical = if cfg.critical.is_empty() {
            Vec::new()
        } else {
            walk(root, &cfg.critical_set, cancel)?
        };
        let mut scan = Scan {
            root,
            cancel,
            cfg,
            anchors: HashMap::new(),
            counts: Counts::default(),
            targets: Targets::default(),
        };
        for (i, r) in cfg.must_exist.iter().enumerate() {
            let path = normalize(Path::new(r)).unwrap_or_default();
            match read(root, &path, cancel, report)? {
                None => report.finding(
                    "docs-required-missing",
                    format!("document `{r}` (in `must_exist`) does not exist"),
                    format!("must_exist[{i}]"),
                ),
                Some(text) if is_empty_doc(&text) => {
                    report.finding(
                        "docs-required-empty",
                        format!(
                            "document `{r}` (in `must_exist`) is empty (nothing but headings and blanks)"
                        ),
                        at(&path, 1),
                    );
                }
                Some(_) => {}
            }
        }
        for (i, pattern) in cfg.critical.iter().enumerate() {
            let mut one = Vec::new();
            let set = glob_set("critical", std::slice::from_ref(pattern), &mut one);
            if !critical.iter().any(|p| set.is_match(p)) {
                report.finding(
                    "docs-required-missing",
                    format!("critical document `{pattern}` matches no file"),
                    format!("critical[{i}]"),
                );
            }
        }
        let mut all: Vec<&PathBuf> = docs.iter().chain(critical.iter()).collect();
        all.sort();
        all.dedup();
        for doc in all {
            let Some(text) = read(root, doc, cancel, report)? else {
                continue;
            };
            scan.counts.docs += 1;
            let parsed = parse(&text);
            scan.anchors
                .insert(doc.clone(), Some(parsed.anchors.clone()));
            if docs.contains(doc) {
                scan.drift(doc, &parsed, report)?;
            }
            if critical.contains(doc) {
                scan.counts.critical += 1;
                placeholders(cfg, doc, &text, &parsed, report);
            }
        }
        let c = &scan.counts;
        report.measure("docs_read", c.docs as f64);
        report.measure("docs_commands_checked", c.commands as f64);
        report.measure("docs_links_checked", c.links as f64);
        report.measure("docs_anchors_checked", c.anchors as f64);
        report.measure("docs_required", cfg.must_exist.len() as f64);
        report.measure("docs_critical", c.critical as f64);
        Ok(())
    }
}

#[derive(Default)]
struct Counts {
    docs: usize,
    critical: usize,
    commands: usize,
    links: usize,
    anchors: usize,
}

/// What the repository defines, read once when a document first needs it.
#[derive(Default)]
struct Targets {
    npm: HashMap<PathBuf, Option<Vec<String>>>,
    make: HashMap<PathBuf, Option<Vec<super::runners::Rule>>>,
    just: HashMap<PathBuf, Option<Vec<super::runners::Recipe>>>,
    cargo_aliases: Option<Vec<String>>,
}

struct Scan<'a> {
    root: &'a Path,
    cancel: &'a Cancel,
    cfg: &'a Config,
    /// Anchors of each Markdown document read (`None`: not there).
    anchors: HashMap<PathBuf, Option<Vec<String>>>,
    counts: Counts,
    targets: Targets,
}

/// A document as the checks see it.
#[derive(Default)]
struct Parsed {
    /// GitHub's slugs of the headings, and `id`/`name` attributes of inline HTML.
    anchors: Vec<String>,
    /// Commands with the 1-based line they are on.
    commands: Vec<(usize, Command)>,
    /// Link destinations with their line.
    links: Vec<(usize, String)>,
    /// Prose (not code) with the byte offset it starts at.
    prose: Vec<(usize, String)>,
    /// Headings: level and line, and whether anything but a heading follows before the next.
    headings: Vec<(HeadingLevel, usize, bool)>,
}

fn parse(text: &str) -> Parsed {
    let mut out = Parsed::default();
    let mut slugs: HashMap<String, usize> = HashMap::new();
    let mut heading: Option<(HeadingLevel, usize, String)> = None;
    let mut code: Option<(String, usize, String)> = None;
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS;
    for (event, range) in Parser::new_ext(text, options).into_offset_iter() {
        let content = !matches!(
            event,
            Event::Start(Tag::Heading { .. })
                | Event::End(TagEnd::Heading(_))
                | Event::SoftBreak
                | Event::HardBreak
        ) && heading.is_none();
        if content && let Some(last) = out.headings.last_mut() {
            last.2 = true;
        }
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                heading = Some((level, line_at(text, range.start), String::new()))
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((level, line, title)) = heading.take() {
                    out.anchors.push(slug(&title, &mut slugs));
                    out.headings.push((level, line, false));
                }
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                let lang = match kind {
                    CodeBlockKind::Fenced(info) => info
                        .split([' ', ',', '{'])
                        .next()
                        .unwrap_or_default()
                        .to_ascii_lowercase(),
                    CodeBlockKind::Indented => "indented".to_owned(),
                };
                code = Some((lang, range.start, String::new()));
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some((lang, start, body)) = code.take() {
                    block_commands(text, &lang, start, &body, &mut out.commands);
                }
            }
            Event::Text(t) => {
                if let Some((_, _, title)) = &mut heading {
                    title.push_str(&t);
                } else if let Some((_, _, body)) = &mut code {
                    body.push_str(&t);
                } else {
                    out.prose.push((range.start, t.into_string()));
                }
            }
            Event::Code(c) => {
                if let Some((_, _, title)) = &mut heading {
                    title.push_str(&c);
                } else if is_inline_command(&c) {
                    let line = line_at(text, range.start);
                    out.commands.extend(
                        shell::parse(&c)
                            .into_iter()
                            .map(|cmd| (line + cmd.line, cmd)),
                    );
                }
            }
            Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) => {
                out.links
                    .push((line_at(text, range.start), dest_url.into_string()));
            }
            Event::Html(h) | Event::InlineHtml(h) => {
                for attr in ["id=\"", "name=\""] {
                    let mut rest = h.as_ref();
                    while let Some(i) = rest.find(attr) {
                        rest = &rest[i + attr.len()..];
                        if let Some(end) = rest.find('"') {
                            out.anchors.push(rest[..end].to_owned());
                        }
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Inline code that reads as a command to run: a task runner with something to run
/// (`make test`, not `make` naming the tool) or a script by path (as `phasegate import`
/// tells commands from names).
fn is_inline_command(code: &str) -> bool {
    if has_angle_template(code) {
        return false;
    }
    let words: Vec<&str> = code.split_whitespace().collect();
    match words.first() {
        Some(w) if RUNNERS.contains(w) => words.len() >= 2,
        Some(w) => w.starts_with("./") && w.len() > 2 && !w.ends_with('/'),
        None => false,
    }
}

/// The commands of a fenced block: every line of a shell block (a leading `$ ` prompt
/// dropped); in a `console` block or one without a language, only prompted lines.
fn block_commands(
    text: &str,
    lang: &str,
    start: usize,
    body: &str,
    out: &mut Vec<(usize, Command)>,
) {
    let prompted_only = !matches!(lang, "sh" | "bash" | "shell" | "zsh");
    if !SHELL_LANGS.contains(&lang) && !lang.is_empty() {
        return;
    }
    // The fence line comes first; the body starts on the next line.
    let first = line_at(text, start) + 1;
    for (n, line) in body.lines().enumerate() {
        let trimmed = line.trim_start();
        let command = match trimmed.strip_prefix("$ ") {
            Some(c) => c,
            None if prompted_only => continue,
            None => trimmed,
        };
        if has_angle_template(command) {
            continue;
        }
        out.extend(
            shell::parse(command)
                .into_iter()
                .map(|c| (first + n + c.line, c)),
        );
    }
}

/// GitHub's anchor for a heading: lowercased, punctuation other than `-` and `_` dropped,
/// spaces turned into `-`; a repeated slug gets `-1`, `-2` ...
fn slug(title: &str, seen: &mut HashMap<String, usize>) -> String {
    let base: String = title
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect();
    let n = seen.entry(base.clone()).or_insert(0);
    let out = if *n == 0 { base } else { format!("{base}-{n}") };
    *n += 1;
    out
}

fn is_empty_doc(text: &str) -> bool {
    text.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#') || l.chars().all(|c| c == '=' || c == '-')
    })
}

/// Placeholders in prose and sections with nothing in them.
fn placeholders(cfg: &Config, doc: &Path, text: &str, parsed: &Parsed, report: &mut Report) {
    for (offset, prose) in &parsed.prose {
        for p in &cfg.placeholders {
            if let Some(i) = find_placeholder(prose, p) {
                let line = line_at(text, offset + i);
                report.finding(
                    "docs-placeholder",
                    format!("placeholder `{p}` in a critical document"),
                    at(doc, line),
                );
            }
        }
    }
    for (i, (level, line, filled)) in parsed.headings.iter().enumerate() {
        let next = parsed.headings.get(i + 1);
        // A heading directly followed by a deeper one opens that subsection: not empty.
        let deeper_next = next.is_some_and(|(l, _, _)| l > level);
        if !filled && !deeper_next {
            report.finding(
                "docs-empty-section",
                "section with nothing in it: the next heading or the end follows at once",
                at(doc, *line),
            );
        }
    }
}

/// Where `p` is in `prose`: an all-capitals word (`TODO`) as a whole word and in
/// capitals; anything else in any case.
fn find_placeholder(prose: &str, p: &str) -> Option<usize> {
    if p.chars().all(|c| c.is_ascii_uppercase()) {
        let mut from = 0;
        while let Some(i) = prose[from..].find(p) {
            let s = from + i;
            let e = s + p.len();
            let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
            if !word(prose[..s].chars().next_back()) && !word(prose[e..].chars().next()) {
                return Some(s);
            }
            from = e;
        }
        None
    } else {
        prose.to_lowercase().find(&p.to_lowercase())
    }
}

impl Scan<'_> {
    fn drift(
        &mut self,
        doc: &Path,
        parsed: &Parsed,
        report: &mut Report,
    ) -> Result<(), ProbeError> {
        for (line, cmd) in &parsed.commands {
            if let Some(problem) = self.command(doc, cmd, report)? {
                let (code, what) = problem;
                report.finding(code, what, at(doc, *line));
            }
        }
        for (line, dest) in &parsed.links {
            if let Some(what) = self.link(doc, dest, report)? {
                let code = if what.starts_with('#') || what.contains("no heading") {
                    "docs-anchor-broken"
                } else {
                    "docs-link-broken"
                };
                report.finding(code, what, at(doc, *line));
            }
        }
        Ok(())
    }

    /// The problem with one documented command, if any.
    fn command(
        &mut self,
        doc: &Path,
        cmd: &Command,
        report: &mut Report,
    ) -> Result<Option<(&'static str, String)>, ProbeError> {
        let words = &cmd.words;
        let Some((prog, args)) = words.split_first() else {
            return Ok(None);
        };
        let shown = words.join(" ");
        if words.iter().any(|w| is_template(w)) {
            return Ok(None);
        }
        let missing =
            |what: String| Ok(Some(("docs-command-missing", format!("`{shown}`: {what}"))));
        match prog.as_str() {
            "npm" | "pnpm" | "yarn" => {
                for (dir, script) in npm_scripts(prog, args) {
                    self.counts.commands += 1;
                    let dir = PathBuf::from(dir.unwrap_or_default());
                    let Some(scripts) = self.npm(&dir, report)? else {
                        return missing(format!(
                            "there is no {}",
                            dir.join("package.json").display()
                        ));
                    };
                    let fallback =
                        script == "start" && self.root.join(&dir).join("server.js").is_file();
                    if !scripts.contains(&script) && !fallback {
                        return missing(format!(
                            "{} has no script `{script}`",
                            dir.join("package.json").display()
                        ));
                    }
                }
            }
            "make" => {
                self.counts.commands += 1;
                let (dir, file, targets) = make_args(args);
                let dir = PathBuf::from(dir.unwrap_or_default());
                let names: Vec<PathBuf> = match file {
                    Some(f) => vec![dir.join(f)],
                    None => ["GNUmakefile", "makefile", "Makefile"]
                        .iter()
                        .map(|n| dir.join(n))
                        .collect(),
                };
                let mut found = None;
                for n in names {
                    if let Some(rules) = self.make(&n, report)? {
                        found = Some((n, rules));
                        break;
                    }
                }
                let Some((makefile, rules)) = found else {
                    return missing("there is no Makefile".to_owned());
                };
                for t in targets {
                    let known = rules
                        .iter()
                        .any(|r| r.iter().any(|x| *x == t || pattern_matches(x, &t)));
                    if !known {
                        return missing(format!("{} has no target `{t}`", makefile.display()));
                    }
                }
            }
            "just" => {
                self.counts.commands += 1;
                let (file, recipes) = just_args(args);
                let names: Vec<PathBuf> = match file {
                    Some(f) => vec![PathBuf::from(f)],
                    None => ["justfile", "Justfile", ".justfile"]
                        .iter()
                        .map(PathBuf::from)
                        .collect(),
                };
                let mut found = None;
                for n in names {
                    if let Some(r) = self.just(&n, report)? {
                        found = Some((n, r));
                        break;
                    }
                }
                let Some((justfile, known)) = found else {
                    return missing("there is no justfile".to_owned());
                };
                // Only the first word is surely a recipe; later ones may be its arguments.
                if let Some(r) = recipes.first()
                    && !known.contains(r)
                {
                    return missing(format!("{} has no recipe `{r}`", justfile.display()));
                }
            }
            "cargo" => {
                let Some(sub) = args.iter().find(|a| !a.starts_with(['-', '+'])) else {
                    return Ok(None);
                };
                self.counts.commands += 1;
                let aliases = self.cargo_aliases(report)?;
                if sub == "xtask" {
                    return self.xtask(&shown, args, &aliases, report);
                }
                let known = CARGO_BUILTIN.contains(&sub.as_str())
                    || aliases.contains(sub)
                    || self.cfg.cargo_plugins.contains(sub);
                if !known {
                    return missing(format!(
                        "`{sub}` is not a cargo command, an alias in .cargo/config.toml, or a plugin listed in `cargo_plugins`"
                    ));
                }
            }
            p if p.contains('/') && !p.starts_with(['/', '$', '~']) => {
                self.counts.commands += 1;
                return Ok(self.script(doc, p));
            }
            "bash" | "sh" | "zsh" => {
                let Some(path) = args.iter().find(|a| !a.starts_with('-')) else {
                    return Ok(None);
                };
                if path.contains('/') && !path.starts_with(['/', '$', '~']) {
                    self.counts.commands += 1;
                    let rel = normalize(Path::new(path)).unwrap_or_default();
                    if !self.root.join(&rel).is_file() {
                        return missing(format!("there is no script {path}"));
                    }
                }
            }
            _ => {}
        }
        Ok(None)
    }

    fn script(&self, doc: &Path, path: &str) -> Option<(&'static str, String)> {
        let here = doc.parent().unwrap_or(Path::new(""));
        let found = [Path::new(""), here]
            .iter()
            .filter_map(|d| normalize(&d.join(path)))
            .find(|p| self.root.join(p).is_file());
        let Some(rel) = found else {
            return Some((
                "docs-command-missing",
                format!("`{path}`: there is no such script"),
            ));
        };
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(self.root.join(&rel))
            .map(|m| m.permissions().mode())
            .unwrap_or(0);
        (mode & 0o111 == 0).then(|| {
            (
                "docs-script-not-executable",
                format!(
                    "`{path}` exists but is not executable (chmod +x {})",
                    rel.display()
                ),
            )
        })
    }

    fn xtask(
        &mut self,
        shown: &str,
        args: &[String],
        aliases: &[String],
        report: &mut Report,
    ) -> Result<Option<(&'static str, String)>, ProbeError> {
        let missing =
            |what: String| Ok(Some(("docs-command-missing", format!("`{shown}`: {what}"))));
        if !aliases.iter().any(|a| a == "xtask") {
            return missing("no `xtask` alias in .cargo/config.toml".to_owned());
        }
        let Some(task) = args.iter().skip_while(|a| *a != "xtask").nth(1) else {
            return Ok(None);
        };
        // The xtask's own source names its tasks as string literals (a `match` or clap).
        let mut globs_errors = Vec::new();
        let set = glob_set("xtask", &["xtask/**/*.rs".to_owned()], &mut globs_errors);
        let sources = walk(self.root, &set, self.cancel)?;
        if sources.is_empty() {
            return missing("there is no xtask/ crate".to_owned());
        }
        let quoted = format!("\"{task}\"");
        let mut kebab_enum = false;
        for s in &sources {
            let Some(text) = read(self.root, s, self.cancel, report)? else {
                continue;
            };
            if text.contains(&quoted) {
                return Ok(None);
            }
            // clap derive: a variant `FooBar` is the task `foo-bar`.
            let variant: String = task
                .split('-')
                .map(|w| {
                    let mut c = w.chars();
                    c.next()
                        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                        .unwrap_or_default()
                })
                .collect();
            kebab_enum |= text.contains(&format!("{variant},"))
                || text.contains(&format!("{variant} {{"))
                || text.contains(&format!("{variant}("));
        }
        if kebab_enum {
            Ok(None)
        } else {
            missing(format!("the xtask crate names no task `{task}`"))
        }
    }

    fn npm(&mut self, dir: &Path, report: &mut Report) -> Result<Option<Vec<String>>, ProbeError> {
        if !self.targets.npm.contains_key(dir) {
            let text = read(self.root, &dir.join("package.json"), self.cancel, report)?;
            let scripts = text.map(|t| {
                serde_json::from_str::<serde_json::Value>(&t)
                    .ok()
                    .and_then(|v| {
                        v.get("scripts")
                            .and_then(|s| s.as_object())
                            .map(|o| o.keys().cloned().collect())
                    })
                    .unwrap_or_default()
            });
            self.targets.npm.insert(dir.to_owned(), scripts);
        }
        Ok(self.targets.npm[dir].clone())
    }

    fn make(
        &mut self,
        file: &Path,
        report: &mut Report,
    ) -> Result<Option<Vec<Vec<String>>>, ProbeError> {
        if !self.targets.make.contains_key(file) {
            let rules = read(self.root, file, self.cancel, report)?.map(|t| make_rules(&t));
            self.targets.make.insert(file.to_owned(), rules);
        }
        Ok(self.targets.make[file]
            .as_ref()
            .map(|rules| rules.iter().map(|r| r.targets.clone()).collect()))
    }

    fn just(
        &mut self,
        file: &Path,
        report: &mut Report,
    ) -> Result<Option<Vec<String>>, ProbeError> {
        if !self.targets.just.contains_key(file) {
            let recipes = read(self.root, file, self.cancel, report)?.map(|t| just_recipes(&t));
            self.targets.just.insert(file.to_owned(), recipes);
        }
        Ok(self.targets.just[file].as_ref().map(|rs| {
            rs.iter()
                .flat_map(|r| std::iter::once(r.name.clone()).chain(r.aliases.iter().cloned()))
                .collect()
        }))
    }

    /// The `[alias]` names of .cargo/config.toml (or the older .cargo/config).
    fn cargo_aliases(&mut self, report: &mut Report) -> Result<Vec<String>, ProbeError> {
        if self.targets.cargo_aliases.is_none() {
            let mut aliases = Vec::new();
            for name in [".cargo/config.toml", ".cargo/config"] {
                if let Some(text) = read(self.root, Path::new(name), self.cancel, report)? {
                    if let Ok(doc) = text.parse::<toml::Table>()
                        && let Some(table) = doc.get("alias").and_then(|a| a.as_table())
                    {
                        aliases.extend(table.keys().cloned());
                    }
                    break;
                }
            }
            self.targets.cargo_aliases = Some(aliases);
        }
        Ok(self.targets.cargo_aliases.clone().unwrap_or_default())
    }

    /// The problem with one link, if any: relative paths must exist in the repository and
    /// anchors into Markdown documents must name a heading there.
    fn link(
        &mut self,
        doc: &Path,
        dest: &str,
        report: &mut Report,
    ) -> Result<Option<String>, ProbeError> {
        let scheme = dest.split_once(':').is_some_and(|(s, _)| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
        });
        if dest.is_empty() || scheme || dest.starts_with("//") {
            return Ok(None);
        }
        self.counts.links += 1;
        let (path, anchor) = match dest.split_once('#') {
            Some((p, a)) => (p, Some(a)),
            None => (dest, None),
        };
        let path = path.split('?').next().unwrap_or_default();
        let target = if path.is_empty() {
            doc.to_owned()
        } else {
            let decoded = percent_decode(path);
            let joined = match decoded.strip_prefix('/') {
                Some(abs) => PathBuf::from(abs),
                None => doc.parent().unwrap_or(Path::new("")).join(&decoded),
            };
            let Some(rel) = normalize(&joined) else {
                return Ok(Some(format!("link `{dest}` leaves the repository")));
            };
            if !self.root.join(&rel).exists() {
                return Ok(Some(format!(
                    "link `{dest}`: {} does not exist",
                    rel.display()
                )));
            }
            rel
        };
        let Some(anchor) = anchor.filter(|a| !a.is_empty()) else {
            return Ok(None);
        };
        if target
            .extension()
            .is_none_or(|e| e != "md" && e != "markdown")
        {
            return Ok(None);
        }
        self.counts.anchors += 1;
        if !self.anchors.contains_key(&target) {
            let text = read(self.root, &target, self.cancel, report)?;
            self.anchors
                .insert(target.clone(), text.map(|t| parse(&t).anchors));
        }
        let wanted = percent_decode(anchor).to_lowercase();
        let known = self.anchors[&target]
            .as_ref()
            .is_some_and(|a| a.iter().any(|x| x.to_lowercase() == wanted));
        Ok((!known).then(|| {
            if path.is_empty() {
                format!("#{anchor}: this document has no heading with that anchor")
            } else {
                format!(
                    "link `{dest}`: {} has no heading with anchor `{anchor}`",
                    target.display()
                )
            }
        }))
    }
}

/// `make <target>`: a word to fill in, which the shell grammar would take for a redirection.
fn has_angle_template(command: &str) -> bool {
    command.split('<').skip(1).any(|rest| {
        let name: String = rest.chars().take_while(|c| *c != '>').collect();
        rest.len() > name.len()
            && !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || "-_ .".contains(c))
    })
}

/// `%20` and friends, as links write spaces and non-ASCII names.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(h) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(h, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A word standing for something to fill in (`<target>`, `{name}`, `[args]`, `NAME`, `...`).
fn is_template(w: &str) -> bool {
    w.contains(['<', '>', '{', '}', '[', ']', '…', '*'])
        || w.contains("...")
        || (!w.is_empty() && w.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_github() {
        let mut seen = HashMap::new();
        assert_eq!(slug("Getting Started!", &mut seen), "getting-started");
        assert_eq!(
            slug("`phasegate run` — gates", &mut seen),
            "phasegate-run--gates"
        );
        assert_eq!(slug("Getting started", &mut seen), "getting-started-1");
        assert_eq!(
            slug("Ünïcode & symbols_ok", &mut seen),
            "ünïcode--symbols_ok"
        );
    }

    #[test]
    fn placeholders_are_words_in_capitals_or_phrases_in_any_case() {
        assert_eq!(find_placeholder("see TODO later", "TODO"), Some(4));
        assert_eq!(find_placeholder("TODOS and todo", "TODO"), None);
        assert!(find_placeholder("Lorem Ipsum dolor", "lorem ipsum").is_some());
    }

    #[test]
    fn commands_come_from_shell_blocks_and_runner_inline_code() {
        let text = "# T\n\nRun `make test`, `make <target>` or `git status`.\n\n```console\n$ npm run lint\noutput || true\n```\n\n```bash\ncargo xtask dist\n```\n\n```rust\nmake\n```\n";
        let p = parse(text);
        let cmds: Vec<(usize, String)> = p
            .commands
            .iter()
            .map(|(l, c)| (*l, c.words.join(" ")))
            .collect();
        assert_eq!(
            cmds,
            [
                (3, "make test".to_owned()),
                (6, "npm run lint".to_owned()),
                (11, "cargo xtask dist".to_owned())
            ]
        );
    }

    #[test]
    fn empty_sections_are_headings_followed_by_same_or_higher_ones() {
        let text = "# A\n\n## B\n\ntext\n\n## C\n\n## D\n\nmore\n";
        let p = parse(text);
        let empty: Vec<usize> = p
            .headings
            .iter()
            .enumerate()
            .filter(|(i, (level, _, filled))| {
                !filled && p.headings.get(i + 1).is_none_or(|(l, _, _)| l <= level)
            })
            .map(|(_, (_, line, _))| *line)
            .collect();
        assert_eq!(empty, [7]);
    }
}
