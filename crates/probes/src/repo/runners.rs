//! The task runners CI and docs call, read as far as the probes need: which package
//! scripts `npm`/`pnpm`/`yarn` run, `make`'s and `just`'s arguments, a Makefile's rules and
//! a justfile's recipes. Hand-written: no maintained crate parses Makefiles (make itself
//! is the parser; variables and conditionals are not evaluated here) or justfiles outside
//! `just`'s own binary, and the formats' rule lines are simple.

/// The package scripts `npm`, `pnpm` or `yarn` runs, with the package directory if given.
pub(crate) fn npm_scripts(prog: &str, args: &[String]) -> Vec<(Option<String>, String)> {
    const BUILTIN: &[&str] = &[
        "install",
        "i",
        "ci",
        "add",
        "remove",
        "rm",
        "uninstall",
        "exec",
        "dlx",
        "x",
        "create",
        "init",
        "why",
        "outdated",
        "upgrade",
        "up",
        "update",
        "list",
        "ls",
        "link",
        "unlink",
        "publish",
        "pack",
        "audit",
        "config",
        "info",
        "view",
        "bin",
        "cache",
        "global",
        "import",
        "store",
        "env",
        "setup",
        "rebuild",
        "prune",
        "patch",
        "help",
        "workspace",
        "workspaces",
        "dedupe",
        "licenses",
        "node",
        "plugin",
        "set",
        "unplug",
        "version",
        "login",
        "logout",
        "whoami",
        "search",
        "owner",
        "doctor",
        "fund",
        "explain",
        "recursive",
        "-r",
        "--version",
        "-v",
    ];
    let mut dir = None;
    let mut rest = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--prefix" | "-C" | "--dir" | "--cwd" => dir = it.next().cloned(),
            "--filter" | "-F" | "--workspace" | "-w" => {
                // A workspace member, chosen by name: not a path this probe can resolve.
                return Vec::new();
            }
            s if s.starts_with("--prefix=")
                || s.starts_with("--dir=")
                || s.starts_with("--cwd=") =>
            {
                dir = s.split_once('=').map(|(_, d)| d.to_owned());
            }
            s if s.starts_with('-') && rest.is_empty() => {}
            _ => rest.push(a.clone()),
        }
    }
    let Some(sub) = rest.first().map(String::as_str) else {
        return Vec::new();
    };
    let script = match sub {
        "run" | "run-script" | "rum" | "urn" => {
            rest.iter().skip(1).find(|a| !a.starts_with('-')).cloned()
        }
        "test" | "t" | "tst" => Some("test".to_owned()),
        "start" | "stop" | "restart" => Some(sub.to_owned()),
        s if prog != "npm" && !BUILTIN.contains(&s) => Some(s.to_owned()),
        _ => None,
    };
    script.map(|s| vec![(dir, s)]).unwrap_or_default()
}

/// `make`'s directory (`-C`), makefile (`-f`) and targets.
pub(crate) fn make_args(args: &[String]) -> (Option<String>, Option<String>, Vec<String>) {
    let (mut dir, mut file, mut targets) = (None, None, Vec::new());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-C" | "--directory" => dir = it.next().cloned(),
            "-f" | "--file" | "--makefile" => file = it.next().cloned(),
            // `-j` and `-l` take an optional number; `-o`, `-W` and `-I` always an argument.
            "-j" | "-l" => {
                if it
                    .as_slice()
                    .first()
                    .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
                {
                    it.next();
                }
            }
            "-o" | "-W" | "-I" => {
                it.next();
            }
            s if s.starts_with("-C") && s.len() > 2 => dir = Some(s[2..].to_owned()),
            s if s.starts_with('-') || s.contains('=') => {}
            _ => targets.push(a.clone()),
        }
    }
    (dir, file, targets)
}

/// `just`'s justfile (`-f`) and the recipes named (arguments to a recipe look the same and
/// are dropped later, when no recipe has their name).
pub(crate) fn just_args(args: &[String]) -> (Option<String>, Vec<String>) {
    let (mut file, mut recipes) = (None, Vec::new());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-f" | "--justfile" => file = it.next().cloned(),
            "-d" | "--working-directory" | "--set" => {
                it.next();
            }
            s if s.starts_with('-') || s.contains('=') => {}
            _ => recipes.push(a.clone()),
        }
    }
    (file, recipes)
}

/// One rule of a Makefile.
pub(crate) struct Rule {
    pub targets: Vec<String>,
    pub prereqs: Vec<String>,
    pub line: usize,
    /// Recipe lines (continuations joined), with their 1-based line.
    pub recipe: Vec<(usize, String)>,
}

/// The rules of a Makefile: `targets: prerequisites` lines and their tab-indented recipes.
/// Variables and conditionals are not evaluated; a rule written through a variable is
/// not found.
pub(crate) fn make_rules(text: &str) -> Vec<Rule> {
    let mut rules: Vec<Rule> = Vec::new();
    let mut in_rule = false;
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let start = i;
        let mut joined = lines[i].to_owned();
        while joined.ends_with('\\') && i + 1 < lines.len() {
            joined.pop();
            i += 1;
            joined.push(if lines[start].starts_with('\t') {
                '\n'
            } else {
                ' '
            });
            joined.push_str(lines[i].trim_start_matches('\t'));
        }
        i += 1;
        if let Some(recipe) = joined.strip_prefix('\t') {
            if in_rule && let Some(rule) = rules.last_mut() {
                rule.recipe.push((start + 1, recipe.to_owned()));
            }
            continue;
        }
        let trimmed = joined.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        in_rule = false;
        let Some(colon) = trimmed.find(':') else {
            continue;
        };
        let after = &trimmed[colon + 1..];
        let before = &trimmed[..colon];
        if after.starts_with('=')
            || before.contains('=')
            || before.starts_with(['$', ' ']) && !before.contains(' ')
        {
            continue;
        }
        let first_word = before.split_whitespace().next().unwrap_or_default();
        if [
            "ifeq", "ifneq", "ifdef", "ifndef", "else", "endif", "define", "endef", "include",
            "-include", "export", "override",
        ]
        .contains(&first_word)
        {
            continue;
        }
        let after = after.trim_start_matches(':');
        let (prereqs, inline) = after
            .split_once(';')
            .map_or((after, None), |(p, r)| (p, Some(r.trim())));
        let mut rule = Rule {
            targets: before.split_whitespace().map(str::to_owned).collect(),
            prereqs: prereqs
                .split_whitespace()
                .filter(|p| *p != "|")
                .map(str::to_owned)
                .collect(),
            line: start + 1,
            recipe: Vec::new(),
        };
        if let Some(r) = inline.filter(|r| !r.is_empty()) {
            rule.recipe.push((start + 1, r.to_owned()));
        }
        rules.push(rule);
        in_rule = true;
    }
    rules
}

pub(crate) fn pattern_matches(pattern: &str, target: &str) -> bool {
    match pattern.split_once('%') {
        Some((pre, post)) => {
            target.len() >= pre.len() + post.len()
                && target.starts_with(pre)
                && target.ends_with(post)
        }
        None => false,
    }
}

/// One recipe of a justfile.
pub(crate) struct Recipe {
    pub name: String,
    pub aliases: Vec<String>,
    pub line: usize,
    pub deps: Vec<String>,
    pub body: Vec<(usize, String)>,
}

/// The recipes of a justfile: `name params: deps` at the start of a line, its indented body
/// below; `alias a := b` lines name a recipe too.
pub(crate) fn just_recipes(text: &str) -> Vec<Recipe> {
    let mut out: Vec<Recipe> = Vec::new();
    let mut aliases = Vec::new();
    let mut in_recipe = false;
    for (n, raw) in text.lines().enumerate() {
        if raw.starts_with([' ', '\t']) {
            if in_recipe && let Some(r) = out.last_mut() {
                let body = raw.trim();
                let comment = body.starts_with('#') && !body.starts_with("#!");
                if !body.is_empty() && !comment {
                    r.body.push((n + 1, body.to_owned()));
                }
            }
            continue;
        }
        let line = raw.trim_end();
        if line.is_empty() {
            continue;
        }
        in_recipe = false;
        if line.starts_with(['#', '[']) {
            continue;
        }
        if let Some(rest) = line.strip_prefix("alias ") {
            if let Some((a, target)) = rest.split_once(":=") {
                aliases.push((a.trim().to_owned(), target.trim().to_owned()));
            }
            continue;
        }
        let Some(colon) = line.find(':') else {
            continue;
        };
        if line[colon + 1..].starts_with('=') || line[..colon].contains(":=") {
            continue;
        }
        let head = line[..colon].trim_start_matches('@');
        let Some(name) = head.split_whitespace().next() else {
            continue;
        };
        if ["set", "export", "import", "mod"].contains(&name)
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            continue;
        }
        let deps = line[colon + 1..]
            .split(['(', ')', ' ', '&'])
            .filter(|d| {
                !d.is_empty()
                    && d.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            })
            .map(str::to_owned)
            .collect();
        out.push(Recipe {
            name: name.to_owned(),
            aliases: Vec::new(),
            line: n + 1,
            deps,
            body: Vec::new(),
        });
        in_recipe = true;
    }
    for (alias, target) in aliases {
        if let Some(r) = out.iter_mut().find(|r| r.name == target) {
            r.aliases.push(alias);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makefiles_and_justfiles() {
        let rules = make_rules(
            "X := 1\n.PHONY: test\ntest: build\n\t-cargo test \\\n\t  --all\nbuild:\n\tcargo build\n",
        );
        let test = rules.iter().find(|r| r.targets == ["test"]).unwrap();
        assert_eq!(test.prereqs, ["build"]);
        assert_eq!(test.recipe, [(4, "-cargo test \n  --all".to_owned())]);
        let recipes = just_recipes(
            "set shell := [\"bash\", \"-c\"]\nalias t := test\n\n# run tests\ntest *args: build\n    -cargo test {{args}}\nbuild:\n  cargo build\n",
        );
        assert_eq!(recipes.len(), 2);
        assert_eq!(recipes[0].name, "test");
        assert_eq!(recipes[0].aliases, ["t"]);
        assert_eq!(recipes[0].deps, ["build"]);
        assert_eq!(recipes[0].body, [(6, "-cargo test {{args}}".to_owned())]);
    }

    #[test]
    fn npm_invocations() {
        let s = |t: &str| {
            let w: Vec<String> = t.split_whitespace().map(str::to_owned).collect();
            npm_scripts(&w[0], &w[1..])
        };
        assert_eq!(s("npm run lint"), [(None, "lint".to_owned())]);
        assert_eq!(s("npm test"), [(None, "test".to_owned())]);
        assert_eq!(
            s("pnpm -C web typecheck"),
            [(Some("web".to_owned()), "typecheck".to_owned())]
        );
        assert!(s("npm ci").is_empty());
        assert!(s("yarn install").is_empty());
    }
}
