//! `ci-tolerance`: CI that swallows failures. Starts from the CI definitions (GitHub Actions
//! workflows, `.gitlab-ci.yml`, `.ci/run`), follows what they call (package.json scripts,
//! Makefile targets, justfile recipes, shell scripts run by path) and reports every place
//! a failure is turned into a success, naming the entry point it weakens.

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::path::{Path, PathBuf};

use saphyr::{LoadableYamlNode, MarkedYaml};
use serde::Deserialize;

use super::runners::{
    Rule, just_args, just_recipes, make_args, make_rules, npm_scripts, pattern_matches,
};
use super::shell::{self, Command, Op};
use super::{at, glob_set, normalize, read, walk};
use crate::files::{Cancel, FileProbe};
use crate::net::ProbeError;
use crate::params::err;
use crate::report::Report;
use crate::{Context, ParamError};

pub(crate) struct CiTolerance;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    /// Places where a swallowed failure is intended, each with why.
    #[serde(default)]
    allow: Vec<Allow>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Allow {
    /// The file, relative to the gate's directory.
    path: Option<String>,
    /// Its line (1-based); without it, every line of `path` that matches.
    line: Option<usize>,
    /// Text the flagged line contains (`"rustup component add"`).
    pattern: Option<String>,
    reason: Option<String>,
}

impl Allow {
    fn covers(&self, hit: &Hit) -> bool {
        self.path
            .as_deref()
            .is_none_or(|p| Path::new(p) == hit.path)
            && self.line.is_none_or(|l| l == hit.line)
            && self
                .pattern
                .as_deref()
                .is_none_or(|p| hit.source.contains(p))
    }
}

/// Where CI starts, as the walk looks for it.
const DEFINITIONS: &[&str] = &[
    ".github/workflows/*.yml",
    ".github/workflows/*.yaml",
    ".gitlab-ci.yml",
    ".ci/run",
];

impl FileProbe for CiTolerance {
    const KIND: &'static str = "ci-tolerance";
    type Config = Config;

    fn validate(cfg: &mut Config, errors: &mut Vec<ParamError>) {
        for (i, a) in cfg.allow.iter().enumerate() {
            if a.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
                errors.push(err(
                    format!("allow[{i}].reason"),
                    "an allowlist entry needs a reason: why is this failure allowed to pass?",
                ));
            }
            if a.path.is_none() && a.pattern.is_none() {
                errors.push(err(
                    format!("allow[{i}]"),
                    "expected `path` (with or without `line`) or `pattern`",
                ));
            }
            if a.line.is_some() && a.path.is_none() {
                errors.push(err(
                    format!("allow[{i}].line"),
                    "a line needs the `path` it is in",
                ));
            }
        }
    }

    fn check(
        cfg: &Config,
        ctx: &Context,
        cancel: &Cancel,
        report: &mut Report,
    ) -> Result<(), ProbeError> {
        let mut no_errors = Vec::new();
        let globs = glob_set(
            "definitions",
            &DEFINITIONS
                .iter()
                .map(|s| (*s).to_owned())
                .collect::<Vec<_>>(),
            &mut no_errors,
        );
        let definitions = walk(&ctx.workdir, &globs, cancel)?;
        if definitions.is_empty() {
            return Err(ProbeError::Other(format!(
                "no CI definition found under {}: looked for {}",
                ctx.workdir.display(),
                DEFINITIONS.join(", ")
            )));
        }
        let mut scan = Scan {
            root: &ctx.workdir,
            cancel,
            report,
            queue: VecDeque::new(),
            seen: HashSet::new(),
            hits: Vec::new(),
            followed: 0,
            not_shell: BTreeSet::new(),
        };
        for def in &definitions {
            scan.definition(def)?;
        }
        while let Some((unit, from)) = scan.queue.pop_front() {
            scan.unit(&unit, &from)?;
        }
        let Scan {
            hits,
            followed,
            not_shell,
            ..
        } = scan;
        let mut used = vec![false; cfg.allow.len()];
        let mut allowed = 0;
        for hit in &hits {
            if let Some(i) = cfg.allow.iter().position(|a| a.covers(hit)) {
                used[i] = true;
                allowed += 1;
                continue;
            }
            report.finding(
                hit.code,
                format!("{} (weakens {})", hit.what, hit.from),
                at(&hit.path, hit.line),
            );
        }
        for (i, a) in cfg.allow.iter().enumerate() {
            if !used[i] {
                let what = a
                    .path
                    .as_deref()
                    .or(a.pattern.as_deref())
                    .unwrap_or_default();
                report.finding(
                    "ci-allow-unused",
                    format!("allowlist entry `{what}` matches no swallowed failure: remove it"),
                    format!("allow[{i}]"),
                );
            }
        }
        report.measure("ci_definitions", definitions.len() as f64);
        report.measure("ci_units_followed", followed as f64);
        report.measure("ci_swallowed", hits.len() as f64);
        report.measure("ci_allowed", f64::from(allowed));
        // Scripts in other languages are called but not read: said, not silently passed.
        report.measure("ci_scripts_not_shell", not_shell.len() as f64);
        Ok(())
    }
}

/// Something CI runs, read once whoever calls it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Unit {
    Script {
        path: PathBuf,
        dir: PathBuf,
    },
    Npm {
        dir: PathBuf,
        script: String,
    },
    Make {
        file: PathBuf,
        target: Option<String>,
    },
    Just {
        file: PathBuf,
        recipe: Option<String>,
    },
}

/// The CI entry point that leads to a place, and the place that called it.
#[derive(Debug, Clone)]
struct From {
    entry: String,
    via: Option<String>,
}

impl std::fmt::Display for From {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.via {
            Some(via) => write!(f, "{}, via {via}", self.entry),
            None => f.write_str(&self.entry),
        }
    }
}

struct Hit {
    code: &'static str,
    path: PathBuf,
    line: usize,
    what: String,
    from: From,
    /// The flagged source line, for allowlist patterns.
    source: String,
}

struct Scan<'a> {
    root: &'a Path,
    cancel: &'a Cancel,
    report: &'a mut Report,
    queue: VecDeque<(Unit, From)>,
    seen: HashSet<Unit>,
    hits: Vec<Hit>,
    followed: usize,
    not_shell: BTreeSet<PathBuf>,
}

/// A piece of shell text inside a file: where its first line is and where it runs.
struct Snippet<'s> {
    file: &'s Path,
    /// The file's text, for quoting flagged lines.
    source: &'s str,
    text: &'s str,
    /// 1-based line of the text's first line in the file.
    line: usize,
    dir: PathBuf,
}

impl Scan<'_> {
    fn read(&mut self, rel: &Path) -> Result<Option<String>, ProbeError> {
        read(self.root, rel, self.cancel, self.report)
    }

    fn hit(
        &mut self,
        code: &'static str,
        file: &Path,
        source: &str,
        line: usize,
        what: String,
        from: &From,
    ) {
        if self
            .hits
            .iter()
            .any(|h| h.path == file && h.line == line && h.code == code)
        {
            return;
        }
        self.hits.push(Hit {
            code,
            path: file.to_owned(),
            line,
            what,
            from: from.clone(),
            source: source
                .lines()
                .nth(line.saturating_sub(1))
                .unwrap_or_default()
                .to_owned(),
        });
    }

    fn follow(&mut self, unit: Unit, from: From) {
        if !self.seen.contains(&unit) {
            self.seen.insert(unit.clone());
            self.queue.push_back((unit, from));
        }
    }

    fn definition(&mut self, def: &Path) -> Result<(), ProbeError> {
        let Some(text) = self.read(def)? else {
            return Ok(());
        };
        let name = def.to_string_lossy().into_owned();
        if name == ".ci/run" {
            let from = From {
                entry: name,
                via: None,
            };
            self.seen.insert(Unit::Script {
                path: def.to_owned(),
                dir: PathBuf::new(),
            });
            return self.script(def, &text, PathBuf::new(), &from);
        }
        let docs = match MarkedYaml::load_from_str(&text) {
            Ok(docs) => docs,
            Err(e) => {
                let line = e.marker().line();
                let what = format!(
                    "the CI definition does not parse, so nothing in it is known to run: {}",
                    e.info()
                );
                let from = From {
                    entry: name,
                    via: None,
                };
                self.hit("ci-definition-invalid", def, &text, line, what, &from);
                return Ok(());
            }
        };
        let Some(doc) = docs.first() else {
            return Ok(());
        };
        if name == ".gitlab-ci.yml" {
            self.gitlab(def, &text, doc);
        } else {
            self.workflow(def, &text, doc);
        }
        Ok(())
    }

    /// A GitHub Actions workflow: `continue-on-error` on jobs and steps, a `shell` without
    /// `-e`, and every `run`.
    fn workflow(&mut self, file: &Path, text: &str, doc: &MarkedYaml<'_>) {
        let Some(jobs) = get(doc, "jobs").and_then(|j| j.data.as_mapping()) else {
            return;
        };
        for (key, job) in jobs {
            let Some(id) = key.data.as_str() else {
                continue;
            };
            let entry = format!("{}:{} job {id}", file.display(), key.span.start.line());
            let from = From { entry, via: None };
            if let Some(c) =
                get(job, "continue-on-error").filter(|c| c.data.as_bool() == Some(true))
            {
                let what = format!(
                    "`continue-on-error: true` lets job `{id}` fail without failing the workflow"
                );
                self.hit(
                    "ci-continue-on-error",
                    file,
                    text,
                    c.span.start.line(),
                    what,
                    &from,
                );
            }
            let default_shell = get(job, "defaults")
                .and_then(|d| get(d, "run"))
                .and_then(|r| get(r, "shell"));
            if let Some(s) = default_shell {
                self.shell_option(file, text, s, &from);
            }
            let job_dir = get(job, "defaults")
                .and_then(|d| get(d, "run"))
                .and_then(|r| get(r, "working-directory"))
                .and_then(|w| w.data.as_str())
                .unwrap_or_default();
            let Some(steps) = get(job, "steps").and_then(|s| s.data.as_sequence()) else {
                continue;
            };
            for (n, step) in steps.iter().enumerate() {
                let label = get(step, "name")
                    .and_then(|s| s.data.as_str())
                    .map_or_else(|| format!("step {}", n + 1), |s| format!("step `{s}`"));
                let step_from = From {
                    entry: format!(
                        "{}:{} job {id} {label}",
                        file.display(),
                        step.span.start.line()
                    ),
                    via: None,
                };
                if let Some(c) =
                    get(step, "continue-on-error").filter(|c| c.data.as_bool() == Some(true))
                {
                    let what = format!(
                        "`continue-on-error: true` lets {label} of job `{id}` fail without failing the job"
                    );
                    self.hit(
                        "ci-continue-on-error",
                        file,
                        text,
                        c.span.start.line(),
                        what,
                        &step_from,
                    );
                }
                if let Some(s) = get(step, "shell") {
                    self.shell_option(file, text, s, &step_from);
                }
                let Some(run) = get(step, "run") else {
                    continue;
                };
                let Some(script) = run.data.as_str() else {
                    continue;
                };
                let dir = get(step, "working-directory")
                    .and_then(|w| w.data.as_str())
                    .unwrap_or(job_dir);
                let snippet = Snippet {
                    file,
                    source: text,
                    text: script,
                    line: scalar_line(text, run.span.start.line(), script),
                    dir: normalize(Path::new(dir)).unwrap_or_default(),
                };
                self.snippet(&snippet, &step_from);
            }
        }
    }

    /// `shell: bash {0}` runs a step's script without `-e`: every line but the last may fail.
    fn shell_option(&mut self, file: &Path, text: &str, node: &MarkedYaml<'_>, from: &From) {
        let Some(shell) = node.data.as_str() else {
            return;
        };
        let words: Vec<&str> = shell.split_whitespace().collect();
        let sh = words.first().is_some_and(|w| {
            ["bash", "sh", "zsh", "dash"].contains(&w.rsplit('/').next().unwrap_or(w))
        });
        let errexit = words.iter().any(|w| {
            (w.starts_with('-') && !w.starts_with("--") && w.contains('e')) || *w == "errexit"
        });
        if sh && words.len() > 1 && !errexit {
            let what = format!(
                "`shell: {shell}` runs the script without `-e`: a failing line before the last is ignored"
            );
            self.hit(
                "ci-set-plus-e",
                file,
                text,
                node.span.start.line(),
                what,
                from,
            );
        }
    }

    /// GitLab CI: `allow_failure` anywhere in a job, and its `before_script` and `script`
    /// (`after_script` cannot fail a job, by GitLab's design, so it is not read).
    fn gitlab(&mut self, file: &Path, text: &str, doc: &MarkedYaml<'_>) {
        const NOT_JOBS: &[&str] = &[
            "stages",
            "variables",
            "default",
            "include",
            "workflow",
            "image",
            "services",
            "cache",
            "before_script",
            "after_script",
        ];
        let Some(top) = doc.data.as_mapping() else {
            return;
        };
        for (key, node) in top {
            let Some(name) = key.data.as_str() else {
                continue;
            };
            let line = key.span.start.line();
            let (label, job) = match name {
                "before_script" => ("before_script of every job".to_owned(), None),
                "default" => ("default".to_owned(), Some(node)),
                n if NOT_JOBS.contains(&n) => continue,
                n => (format!("job {n}"), Some(node)),
            };
            let from = From {
                entry: format!("{}:{line} {label}", file.display()),
                via: None,
            };
            let mut scripts = Vec::new();
            match job {
                None => scripts.push(node),
                Some(job) => {
                    if job.data.as_mapping().is_none() {
                        continue;
                    }
                    self.allow_failure(file, text, job, name, &from);
                    scripts.extend(
                        ["before_script", "script"]
                            .iter()
                            .filter_map(|k| get(job, k)),
                    );
                }
            }
            for s in scripts {
                let mut lines = Vec::new();
                flatten(s, &mut lines);
                for item in lines {
                    let Some(script) = item.data.as_str() else {
                        continue;
                    };
                    let snippet = Snippet {
                        file,
                        source: text,
                        text: script,
                        line: scalar_line(text, item.span.start.line(), script),
                        dir: PathBuf::new(),
                    };
                    self.snippet(&snippet, &from);
                }
            }
        }
    }

    fn allow_failure(
        &mut self,
        file: &Path,
        text: &str,
        node: &MarkedYaml<'_>,
        job: &str,
        from: &From,
    ) {
        if let Some(map) = node.data.as_mapping() {
            for (k, v) in map {
                if k.data.as_str() == Some("allow_failure") && v.data.as_bool() != Some(false) {
                    let what = format!(
                        "`allow_failure` lets job `{job}` fail without failing the pipeline"
                    );
                    self.hit(
                        "ci-allow-failure",
                        file,
                        text,
                        k.span.start.line(),
                        what,
                        from,
                    );
                } else {
                    self.allow_failure(file, text, v, job, from);
                }
            }
        } else if let Some(seq) = node.data.as_sequence() {
            for v in seq {
                self.allow_failure(file, text, v, job, from);
            }
        }
    }

    fn unit(&mut self, unit: &Unit, from: &From) -> Result<(), ProbeError> {
        self.followed += 1;
        match unit {
            Unit::Script { path, dir } => {
                let Some(text) = self.read(path)? else {
                    return Ok(());
                };
                self.script(path, &text, dir.clone(), from)
            }
            Unit::Npm { dir, script } => self.npm(dir, script, from),
            Unit::Make { file, target } => self.make(file, target.as_deref(), from),
            Unit::Just { file, recipe } => self.just(file, recipe.as_deref(), from),
        }
    }

    fn script(
        &mut self,
        path: &Path,
        text: &str,
        dir: PathBuf,
        from: &From,
    ) -> Result<(), ProbeError> {
        if let Some(shebang) = text.lines().next().and_then(|l| l.strip_prefix("#!")) {
            let shells = ["sh", "bash", "zsh", "dash", "ksh"];
            let is_shell = shebang
                .split_whitespace()
                .flat_map(|w| w.rsplit('/').next())
                .any(|w| shells.contains(&w));
            if !is_shell {
                self.not_shell.insert(path.to_owned());
                return Ok(());
            }
        }
        let snippet = Snippet {
            file: path,
            source: text,
            text,
            line: 1,
            dir,
        };
        self.snippet(&snippet, from);
        Ok(())
    }

    /// The rules on one piece of shell, then what it calls.
    fn snippet(&mut self, s: &Snippet<'_>, from: &From) {
        let commands = shell::parse(s.text);
        let mut dir = s.dir.clone();
        for (i, cmd) in commands.iter().enumerate() {
            let line = s.line + cmd.line;
            if let Some(what) = swallowed(&commands, i) {
                self.hit("ci-or-true", s.file, s.source, line, what, from);
            }
            for (code, what) in flags(cmd) {
                self.hit(code, s.file, s.source, line, what, from);
            }
            // A `cd` inside a group or subshell is undone at its end: only top-level ones count.
            if let [cd, to] = cmd.words.as_slice()
                && cd == "cd"
                && cmd.in_group.is_none()
                && !to.starts_with(['$', '/', '~', '`'])
            {
                dir = normalize(&dir.join(to)).unwrap_or_default();
            }
            let via = From {
                entry: from.entry.clone(),
                via: Some(at(s.file, line)),
            };
            for unit in self.calls(cmd, &dir, s.file) {
                self.follow(unit, via.clone());
            }
            if let Some(inner) = inline_script(cmd) {
                let nested = Snippet {
                    file: s.file,
                    source: s.source,
                    text: inner,
                    line,
                    dir: dir.clone(),
                };
                self.snippet(&nested, from);
            }
        }
    }

    /// What `cmd` runs that is defined in the repository.
    fn calls(&mut self, cmd: &Command, dir: &Path, file: &Path) -> Vec<Unit> {
        let words = strip_wrappers(&cmd.words);
        let Some((prog, args)) = words.split_first() else {
            return Vec::new();
        };
        let prog = prog.as_str();
        match prog {
            "bash" | "sh" | "zsh" | "dash" | "ksh" | "source" | "." => {
                let mut rest = args.iter();
                while let Some(a) = rest.next() {
                    if a == "-c" {
                        return Vec::new();
                    }
                    if a == "-o" {
                        rest.next();
                        continue;
                    }
                    if !a.starts_with(['-', '+']) {
                        return self.script_unit(a, dir, file).into_iter().collect();
                    }
                }
                Vec::new()
            }
            "npm" | "pnpm" | "yarn" => npm_scripts(prog, args)
                .into_iter()
                .map(|(sub, script)| Unit::Npm {
                    dir: sub.map_or_else(
                        || dir.to_owned(),
                        |d| normalize(&dir.join(d)).unwrap_or_default(),
                    ),
                    script,
                })
                .collect(),
            "make" | "gmake" | "$(MAKE)" | "${MAKE}" => {
                let (sub, file_opt, targets) = make_args(args);
                let dir = normalize(&dir.join(sub.unwrap_or_default())).unwrap_or_default();
                self.units_of(
                    &dir,
                    file_opt,
                    &["GNUmakefile", "makefile", "Makefile"],
                    targets,
                    |file, target| Unit::Make { file, target },
                )
            }
            "just" => {
                let (file_opt, recipes) = just_args(args);
                self.units_of(
                    dir,
                    file_opt,
                    &["justfile", "Justfile", ".justfile"],
                    recipes,
                    |file, recipe| Unit::Just { file, recipe },
                )
            }
            p if p.contains('/') => self.script_unit(p, dir, file).into_iter().collect(),
            _ => Vec::new(),
        }
    }

    /// The units a `make` or `just` call runs: each target named (or the default one) of the
    /// file given with `-f`, else of the first of `names` present in `dir`.
    fn units_of(
        &self,
        dir: &Path,
        file_opt: Option<String>,
        names: &[&str],
        targets: Vec<String>,
        unit: impl Fn(PathBuf, Option<String>) -> Unit,
    ) -> Vec<Unit> {
        let Some(file) = file_opt.map(|f| dir.join(f)).or_else(|| {
            names
                .iter()
                .map(|n| dir.join(n))
                .find(|p| self.root.join(p).is_file())
        }) else {
            return Vec::new();
        };
        if targets.is_empty() {
            vec![unit(file, None)]
        } else {
            targets
                .into_iter()
                .map(|t| unit(file.clone(), Some(t)))
                .collect()
        }
    }

    /// A script named by path, looked up from the working directory, then from the caller's
    /// own directory; outside the repository, or not there, it is not ours to read.
    fn script_unit(&self, path: &str, dir: &Path, caller: &Path) -> Option<Unit> {
        if path.starts_with(['/', '$', '~', '`']) {
            return None;
        }
        let here = caller.parent().unwrap_or(Path::new(""));
        [dir, here, Path::new("")]
            .iter()
            .filter_map(|d| normalize(&d.join(path)))
            .find(|p| self.root.join(p).is_file())
            .map(|p| Unit::Script {
                path: p,
                dir: dir.to_owned(),
            })
    }

    fn npm(&mut self, dir: &Path, script: &str, from: &From) -> Result<(), ProbeError> {
        let file = dir.join("package.json");
        let Some(text) = self.read(&file)? else {
            return Ok(());
        };
        let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
            return Ok(());
        };
        let Some(scripts) = json.get("scripts").and_then(|s| s.as_object()) else {
            return Ok(());
        };
        let start = text.find("\"scripts\"").unwrap_or(0);
        // npm runs `preX` and `postX` around `X`.
        for name in [
            format!("pre{script}"),
            script.to_owned(),
            format!("post{script}"),
        ] {
            let Some(body) = scripts.get(&name).and_then(|b| b.as_str()) else {
                continue;
            };
            let line = text[start..]
                .find(&format!("\"{name}\""))
                .map_or(1, |off| super::line_at(&text, start + off));
            let snippet = Snippet {
                file: &file,
                source: &text,
                text: body,
                line,
                dir: dir.to_owned(),
            };
            self.snippet(&snippet, from);
        }
        Ok(())
    }

    fn make(&mut self, file: &Path, target: Option<&str>, from: &From) -> Result<(), ProbeError> {
        let Some(text) = self.read(file)? else {
            return Ok(());
        };
        let rules = make_rules(&text);
        let dir = file.parent().unwrap_or(Path::new("")).to_owned();
        if let Some(ignore) = rules
            .iter()
            .find(|r| r.targets.iter().any(|t| t == ".IGNORE"))
        {
            let what = "`.IGNORE` makes make ignore every failing recipe line".to_owned();
            self.hit("ci-ignore-errors", file, &text, ignore.line, what, from);
        }
        let wanted: Vec<&Rule> = match target {
            None => rules
                .iter()
                .find(|r| {
                    r.targets
                        .first()
                        .is_some_and(|t| !t.starts_with('.') && !t.contains('%'))
                })
                .into_iter()
                .collect(),
            Some(t) => {
                let exact: Vec<&Rule> = rules
                    .iter()
                    .filter(|r| r.targets.iter().any(|x| x == t))
                    .collect();
                if exact.is_empty() {
                    rules
                        .iter()
                        .filter(|r| r.targets.iter().any(|x| pattern_matches(x, t)))
                        .collect()
                } else {
                    exact
                }
            }
        };
        for rule in wanted {
            let via = From {
                entry: from.entry.clone(),
                via: Some(at(file, rule.line)),
            };
            for pre in &rule.prereqs {
                if rules.iter().any(|r| r.targets.contains(pre)) {
                    self.follow(
                        Unit::Make {
                            file: file.to_owned(),
                            target: Some(pre.clone()),
                        },
                        via.clone(),
                    );
                }
            }
            for (line, recipe) in &rule.recipe {
                let body = recipe.trim_start_matches(['@', '-', '+', ' ', '\t']);
                let prefix = &recipe[..recipe.len() - body.len()];
                if prefix.contains('-') {
                    let what = format!(
                        "`-` before the recipe line `{}` makes make ignore its failure",
                        short(body)
                    );
                    self.hit("ci-ignore-errors", file, &text, *line, what, from);
                }
                let body = body.replace("$$", "$");
                let snippet = Snippet {
                    file,
                    source: &text,
                    text: &body,
                    line: *line,
                    dir: dir.clone(),
                };
                self.snippet(&snippet, from);
            }
        }
        Ok(())
    }

    fn just(&mut self, file: &Path, recipe: Option<&str>, from: &From) -> Result<(), ProbeError> {
        let Some(text) = self.read(file)? else {
            return Ok(());
        };
        let recipes = just_recipes(&text);
        let dir = file.parent().unwrap_or(Path::new("")).to_owned();
        let wanted = match recipe {
            None => recipes
                .iter()
                .find(|r| r.name == "default")
                .or(recipes.first()),
            Some(name) => recipes
                .iter()
                .find(|r| r.name == name || r.aliases.iter().any(|a| a == name)),
        };
        let Some(r) = wanted else { return Ok(()) };
        let via = From {
            entry: from.entry.clone(),
            via: Some(at(file, r.line)),
        };
        for dep in &r.deps {
            self.follow(
                Unit::Just {
                    file: file.to_owned(),
                    recipe: Some(dep.clone()),
                },
                via.clone(),
            );
        }
        let shebang = r.body.first().is_some_and(|(_, l)| l.starts_with("#!"));
        if shebang {
            let (first, _) = r.body[0];
            let text_body: Vec<&str> = r.body.iter().map(|(_, l)| l.as_str()).collect();
            let joined = text_body.join("\n");
            if is_shell_shebang(&text_body[0][2..]) {
                let snippet = Snippet {
                    file,
                    source: &text,
                    text: &joined,
                    line: first,
                    dir,
                };
                self.snippet(&snippet, from);
            }
            return Ok(());
        }
        for (line, l) in &r.body {
            let body = l.trim_start_matches(['@', '-']);
            if l[..l.len() - body.len()].contains('-') {
                let what = format!(
                    "`-` before the recipe line `{}` makes just ignore its failure",
                    short(body)
                );
                self.hit("ci-ignore-errors", file, &text, *line, what, from);
            }
            let snippet = Snippet {
                file,
                source: &text,
                text: body,
                line: *line,
                dir: dir.clone(),
            };
            self.snippet(&snippet, from);
        }
        Ok(())
    }
}

fn is_shell_shebang(shebang: &str) -> bool {
    shebang
        .split_whitespace()
        .flat_map(|w| w.rsplit('/').next())
        .any(|w| ["sh", "bash", "zsh", "dash", "ksh"].contains(&w))
}

fn get<'a, 'i>(node: &'a MarkedYaml<'i>, key: &str) -> Option<&'a MarkedYaml<'i>> {
    node.data.as_mapping_get(key)
}

/// Every scalar of a GitLab script (a string, or a list, lists nested by anchors).
fn flatten<'a, 'i>(node: &'a MarkedYaml<'i>, out: &mut Vec<&'a MarkedYaml<'i>>) {
    match node.data.as_sequence() {
        Some(seq) => seq.iter().for_each(|n| flatten(n, out)),
        None => out.push(node),
    }
}

/// The 1-based line where `script`'s first line is written, at or after `from`: a block
/// scalar (`run: |`) starts on the line after its indicator, a plain one on its key's line.
fn scalar_line(text: &str, from: usize, script: &str) -> usize {
    let Some(first) = script.lines().map(str::trim).find(|l| !l.is_empty()) else {
        return from;
    };
    let lead = script.lines().take_while(|l| l.trim().is_empty()).count();
    text.lines()
        .enumerate()
        .skip(from.saturating_sub(1))
        .find(|(_, l)| l.contains(first))
        .map_or(from, |(i, _)| i + 1 - lead)
}

/// `|| true`, `|| :`, `|| exit 0`, `|| echo ...` (also as a `{ ...; }` group ending so),
/// and `; true`: what is swallowed, for command `i`.
fn swallowed(cmds: &[Command], i: usize) -> Option<String> {
    let cmd = &cmds[i];
    let handler = |c: &Command| -> Option<String> {
        let w: Vec<&str> = c.words.iter().map(String::as_str).collect();
        match w.as_slice() {
            ["true"] => Some("|| true".to_owned()),
            [":", ..] => Some("|| :".to_owned()),
            ["exit" | "return", "0"] => Some(format!("|| {} 0", w[0])),
            ["echo" | "printf", ..] => Some(format!("|| {}", w[0])),
            _ => None,
        }
    };
    let failed = || {
        // The and-or list before this command: its first word names what fails.
        let mut j = i;
        while j > 0 && matches!(cmds[j].op, Op::And | Op::Or | Op::Pipe) {
            j -= 1;
            if cmds[j].in_group.is_none() || cmds[j].group {
                break;
            }
        }
        cmds.get(j).map_or_else(String::new, |c| {
            short(
                &c.words
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" "),
            )
        })
    };
    match cmd.op {
        Op::Or if cmd.group => {
            let last = cmds.iter().rposition(|c| c.in_group == Some(i))?;
            let op = handler(&cmds[last])?;
            Some(format!(
                "`{op}` at the end of the `||` group swallows the failure of `{}`",
                failed()
            ))
        }
        Op::Or => {
            let op = handler(cmd)?;
            Some(format!("`{op}` swallows the failure of `{}`", failed()))
        }
        Op::Semi if cmd.in_group.is_none() && cmd.words == ["true"] => Some(format!(
            "`; true` replaces the exit status of `{}` with success",
            failed()
        )),
        _ => None,
    }
}

/// `set +e`, `--passWithNoTests`, `--exit-zero`, and keep-going / ignore-errors flags of
/// build tools.
fn flags(cmd: &Command) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let words = strip_wrappers(&cmd.words);
    let Some(prog) = words.first().map(String::as_str) else {
        return out;
    };
    let args = &words[1..];
    if prog == "set"
        && args
            .iter()
            .any(|a| (a.starts_with('+') && a.contains('e')) || a == "errexit")
        && !args.iter().any(|a| a == "-o")
    {
        out.push((
            "ci-set-plus-e",
            "`set +e` turns off exit-on-error: the failures after it are ignored".to_owned(),
        ));
    }
    for a in args {
        if a == "--passWithNoTests" || a.starts_with("--passWithNoTests=") && !a.ends_with("false")
        {
            out.push((
                "ci-pass-with-no-tests",
                format!(
                    "`--passWithNoTests`: `{}` passes when it finds no test at all",
                    short(&words.join(" "))
                ),
            ));
        }
        if a == "--exit-zero" {
            out.push((
                "ci-exit-zero",
                format!(
                    "`--exit-zero`: `{}` reports problems but always succeeds",
                    short(&words.join(" "))
                ),
            ));
        }
    }
    let make = matches!(prog, "make" | "gmake" | "$(MAKE)" | "${MAKE}");
    let short_flag = |c: char| {
        args.iter().any(|a| {
            a.starts_with('-')
                && !a.starts_with("--")
                && a[1..].chars().all(|x| x.is_ascii_alphabetic())
                && a.contains(c)
        })
    };
    if make && (short_flag('i') || args.iter().any(|a| a == "--ignore-errors")) {
        out.push((
            "ci-ignore-errors",
            format!(
                "`{}` ignores the failure of every recipe line",
                short(&words.join(" "))
            ),
        ));
    }
    let keep_going = match prog {
        "make" | "gmake" | "$(MAKE)" | "${MAKE}" => {
            short_flag('k') || args.iter().any(|a| a == "--keep-going")
        }
        "ninja" => args.iter().any(|a| a == "-k"),
        "bazel" | "bazelisk" => args.iter().any(|a| a == "-k" || a == "--keep_going"),
        "cargo" => args.iter().any(|a| a == "--keep-going"),
        _ => false,
    };
    if keep_going {
        out.push((
            "ci-keep-going",
            format!("`{}` keeps going after a failure", short(&words.join(" "))),
        ));
    }
    out
}

/// The script of `bash -c '...'` / `sh -c '...'`, read as shell too.
fn inline_script(cmd: &Command) -> Option<&str> {
    let words = strip_wrappers(&cmd.words);
    let (prog, args) = words.split_first()?;
    if !["bash", "sh", "zsh", "dash"].contains(&prog.as_str()) {
        return None;
    }
    let c = args.iter().position(|a| {
        a == "-c" || (a.starts_with('-') && !a.starts_with("--") && a.ends_with('c'))
    })?;
    args.get(c + 1).map(String::as_str)
}

/// The command after wrappers that run it unchanged (`sudo`, `env X=1`, `time` ...).
fn strip_wrappers(words: &[String]) -> &[String] {
    let mut w = words;
    loop {
        match w.first().map(String::as_str) {
            Some("sudo" | "exec" | "command" | "nice" | "nohup" | "time") => w = &w[1..],
            Some("env") => {
                w = &w[1..];
                while w
                    .first()
                    .is_some_and(|a| a.contains('=') || a.starts_with('-'))
                {
                    w = &w[1..];
                }
            }
            _ => return w,
        }
    }
}

/// A command as quoted in a message: its first 60 characters.
fn short(s: &str) -> String {
    let s = s.trim();
    match s.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn swallows(text: &str) -> Vec<String> {
        let cmds = shell::parse(text);
        (0..cmds.len())
            .filter_map(|i| swallowed(&cmds, i))
            .collect()
    }

    #[test]
    fn swallowing_operators_and_their_look_alikes() {
        assert_eq!(
            swallows("cargo clippy || true"),
            ["`|| true` swallows the failure of `cargo clippy`"]
        );
        assert_eq!(swallows("npm run lint || exit 0").len(), 1);
        assert_eq!(swallows("a || :").len(), 1);
        assert_eq!(swallows("a; true").len(), 1);
        assert_eq!(swallows("lint || { echo lint failed; true; }").len(), 1);
        assert!(swallows("lint || { echo lint failed; exit 1; }").is_empty());
        assert!(swallows("echo 'a || true' # b || true").is_empty());
        assert!(swallows("a || exit 1").is_empty());
        assert!(swallows("test -f x || cp a x").is_empty());
    }

    #[test]
    fn flags_of_tools() {
        let f = |t: &str| {
            flags(&shell::parse(t)[0])
                .into_iter()
                .map(|(c, _)| c)
                .collect::<Vec<_>>()
        };
        assert_eq!(f("set +e"), ["ci-set-plus-e"]);
        assert!(f("set -e").is_empty());
        assert_eq!(f("npx jest --passWithNoTests"), ["ci-pass-with-no-tests"]);
        assert_eq!(f("flake8 --exit-zero ."), ["ci-exit-zero"]);
        assert_eq!(f("make -k test"), ["ci-keep-going"]);
        assert_eq!(f("make -i"), ["ci-ignore-errors"]);
        assert!(f("pytest -k smoke").is_empty(), "pytest's -k selects tests");
    }

    #[test]
    fn block_scalars_start_after_their_indicator() {
        let text = "steps:\n  - run: |\n      cargo test\n      cargo clippy\n";
        assert_eq!(scalar_line(text, 2, "cargo test\ncargo clippy\n"), 3);
        assert_eq!(scalar_line("a:\n  - run: make\n", 2, "make"), 2);
    }
}
