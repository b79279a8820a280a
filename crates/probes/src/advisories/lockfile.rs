//! Lockfiles read into exact (ecosystem, name, version) lists: what was resolved, not what
//! was asked for. Each reader takes the file's text and returns its packages with the line
//! that names them, or why the file could not be read.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;

/// A package ecosystem, named as OSV names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Ecosystem {
    Cargo,
    Npm,
    PyPI,
    Go,
}

impl Ecosystem {
    /// The OSV `affected[].package.ecosystem` value.
    pub fn osv_name(self) -> &'static str {
        match self {
            Ecosystem::Cargo => "crates.io",
            Ecosystem::Npm => "npm",
            Ecosystem::PyPI => "PyPI",
            Ecosystem::Go => "Go",
        }
    }

    /// From an OSV ecosystem value; a suffix after `:` (`Debian:12`) names a release of an
    /// ecosystem this probe does not read.
    pub fn from_osv(name: &str) -> Option<Ecosystem> {
        [
            Ecosystem::Cargo,
            Ecosystem::Npm,
            Ecosystem::PyPI,
            Ecosystem::Go,
        ]
        .into_iter()
        .find(|e| e.osv_name() == name)
    }

    /// The name as advisories and lockfiles are compared: PyPI names are normalized
    /// (PEP 503: case-insensitive, runs of `-`, `_`, `.` equal); other ecosystems' are exact.
    pub fn normalize(self, name: &str) -> String {
        match self {
            Ecosystem::PyPI => {
                let mut out = String::with_capacity(name.len());
                for c in name.chars() {
                    if matches!(c, '-' | '_' | '.') {
                        if !out.ends_with('-') {
                            out.push('-');
                        }
                    } else {
                        out.extend(c.to_lowercase());
                    }
                }
                out
            }
            _ => name.to_owned(),
        }
    }
}

/// One locked package.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Package {
    pub ecosystem: Ecosystem,
    pub name: String,
    pub version: String,
    /// 1-based line of the lockfile naming it.
    pub line: usize,
}

/// What reading one lockfile gave.
#[derive(Debug, Default)]
pub(crate) struct Read {
    pub packages: Vec<Package>,
    /// Entries that name no registry version (path, git and workspace packages): not
    /// matchable against advisories of a registry, counted so that the evidence says so.
    pub skipped: usize,
    /// Requirements lines without an exact `==` pin, with their line: nothing to match.
    pub unpinned: Vec<(usize, String)>,
}

/// Why a lockfile could not be read: the message and, when known, the line.
#[derive(Debug)]
pub(crate) struct Unreadable {
    pub line: Option<usize>,
    pub message: String,
}

impl Unreadable {
    fn new(message: impl std::fmt::Display) -> Unreadable {
        Unreadable {
            line: None,
            message: message.to_string(),
        }
    }
}

/// Whether a file of this name is a lockfile this module reads.
pub(crate) fn is_lockfile(file_name: &str) -> bool {
    matches!(
        file_name,
        "Cargo.lock"
            | "package-lock.json"
            | "npm-shrinkwrap.json"
            | "pnpm-lock.yaml"
            | "yarn.lock"
            | "poetry.lock"
            | "uv.lock"
            | "go.sum"
    ) || (file_name.starts_with("requirements") && file_name.ends_with(".txt"))
}

/// Reads the lockfile at `path` (its kind from its file name) from `text`.
pub(crate) fn read(path: &Path, text: &str) -> Result<Read, Unreadable> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let mut read = match name {
        "Cargo.lock" => cargo(text),
        "package-lock.json" | "npm-shrinkwrap.json" => npm(text),
        "pnpm-lock.yaml" => pnpm(text),
        "yarn.lock" if text.contains("__metadata:") => yarn_berry(text),
        "yarn.lock" => Ok(yarn_v1(text)),
        "poetry.lock" => poetry(text),
        "uv.lock" => uv(text),
        "go.sum" => Ok(go_sum(text)),
        _ if is_lockfile(name) => Ok(requirements(text)),
        _ => Err(Unreadable::new(format!("`{name}` is not a known lockfile"))),
    }?;
    // Nested copies of one package (npm's node_modules trees) are one finding each, not many.
    let mut seen = BTreeSet::new();
    read.packages
        .retain(|p| seen.insert((p.name.clone(), p.version.clone())));
    Ok(read)
}

/// Lines by what they name, built in one pass (searching the text once per package is
/// quadratic on lockfiles of thousands): `"KEY": {` for JSON, `KEY:` and `resolution:
/// "VALUE"` for YAML. The first occurrence wins; absent is line 1, which only happens when a
/// file's formatting differs from what its tool writes.
#[derive(Default)]
struct Lines(std::collections::HashMap<String, usize>);

impl Lines {
    fn json_keys(text: &str) -> Lines {
        let mut map = std::collections::HashMap::new();
        for (i, line) in text.lines().enumerate() {
            if let Some(key) = line
                .trim()
                .strip_prefix('"')
                .and_then(|l| l.strip_suffix("\": {"))
            {
                map.entry(key.to_owned()).or_insert(i + 1);
            }
        }
        Lines(map)
    }

    fn yaml(text: &str) -> Lines {
        let mut map = std::collections::HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let t = line.trim();
            let named = match t.strip_prefix("resolution:") {
                Some(value) => Some(value.trim()),
                None => t.strip_suffix(':'),
            };
            if let Some(n) = named {
                map.entry(n.trim_matches(['"', '\'']).to_owned())
                    .or_insert(i + 1);
            }
        }
        Lines(map)
    }

    fn of(&self, key: &str) -> usize {
        self.0.get(key).copied().unwrap_or(1)
    }
}

/// For TOML lockfiles (`[[package]]` tables with `name` then `version`): the line of each
/// package's `name`, found in one pass (searching the text per package is quadratic on a
/// lockfile of thousands of packages).
fn toml_lines(text: &str) -> std::collections::HashMap<(String, String), usize> {
    let mut lines = std::collections::HashMap::new();
    let mut name: Option<(&str, usize)> = None;
    for (i, line) in text.lines().enumerate() {
        if let Some(n) = quoted(line, "name") {
            name = Some((n, i + 1));
        } else if let (Some(v), Some((n, at))) = (quoted(line, "version"), name.take()) {
            lines.entry((n.to_owned(), v.to_owned())).or_insert(at);
        }
    }
    lines
}

/// The string value of `key = "value"` on line `l`.
fn quoted<'a>(l: &'a str, key: &str) -> Option<&'a str> {
    l.strip_prefix(key)?
        .trim_start()
        .strip_prefix('=')?
        .trim()
        .strip_prefix('"')?
        .strip_suffix('"')
}

fn toml_line(
    lines: &std::collections::HashMap<(String, String), usize>,
    name: &str,
    version: &str,
) -> usize {
    lines
        .get(&(name.to_owned(), version.to_owned()))
        .copied()
        .unwrap_or(1)
}

fn toml_error(e: &toml::de::Error, text: &str) -> Unreadable {
    Unreadable {
        line: e
            .span()
            .map(|s| text[..s.start].bytes().filter(|b| *b == b'\n').count() + 1),
        message: e.message().to_owned(),
    }
}

fn cargo(text: &str) -> Result<Read, Unreadable> {
    #[derive(Deserialize)]
    struct Lock {
        #[serde(default)]
        package: Vec<Pkg>,
    }
    #[derive(Deserialize)]
    struct Pkg {
        name: String,
        version: String,
        source: Option<String>,
    }
    let lock: Lock = toml::from_str(text).map_err(|e| toml_error(&e, text))?;
    let lines = toml_lines(text);
    let mut read = Read::default();
    for p in lock.package {
        // Only crates from crates.io are in its advisories: path (workspace) and git
        // packages have no source or another one.
        let from_crates_io = p.source.as_deref().is_some_and(|s| {
            (s.starts_with("registry+") || s.starts_with("sparse+"))
                && (s.contains("crates.io-index") || s.contains("index.crates.io"))
        });
        if !from_crates_io {
            read.skipped += 1;
            continue;
        }
        let line = toml_line(&lines, &p.name, &p.version);
        read.packages.push(Package {
            ecosystem: Ecosystem::Cargo,
            name: p.name,
            version: p.version,
            line,
        });
    }
    Ok(read)
}

fn npm(text: &str) -> Result<Read, Unreadable> {
    let lock: serde_json::Value = serde_json::from_str(text).map_err(|e| Unreadable {
        line: Some(e.line()),
        message: e.to_string(),
    })?;
    let lines = Lines::json_keys(text);
    let mut read = Read::default();
    // Lockfile versions 2 and 3 list every installed path in `packages`; version 1 nests
    // `dependencies` (version 2 has both, the same packages).
    if let Some(packages) = lock.get("packages").and_then(|p| p.as_object()) {
        for (key, entry) in packages {
            let installed = key.rsplit_once("node_modules/").map(|(_, n)| n);
            let link = entry.get("link").and_then(|l| l.as_bool()) == Some(true);
            let version = entry.get("version").and_then(|v| v.as_str());
            match (installed, version) {
                (Some(installed), Some(version)) if !link => {
                    // An alias (`"node_modules/x": { "name": "real" }`) installs `real`.
                    let name = entry
                        .get("name")
                        .and_then(|n| n.as_str())
                        .unwrap_or(installed);
                    read.packages.push(Package {
                        ecosystem: Ecosystem::Npm,
                        name: name.to_owned(),
                        version: version.to_owned(),
                        line: lines.of(key),
                    });
                }
                // The root, workspace folders and links are the project's own code.
                _ => read.skipped += 1,
            }
        }
    } else if let Some(deps) = lock.get("dependencies").and_then(|d| d.as_object()) {
        npm_v1(&lines, deps, &mut read);
    } else {
        return Err(Unreadable::new(
            "neither `packages` (lockfile version 2 and 3) nor `dependencies` (version 1)",
        ));
    }
    Ok(read)
}

fn npm_v1(lines: &Lines, deps: &serde_json::Map<String, serde_json::Value>, read: &mut Read) {
    for (name, dep) in deps {
        let version = dep.get("version").and_then(|v| v.as_str()).unwrap_or("");
        // `npm:real@1.2.3` is an alias; `file:`, git and tarball URLs are not registry
        // versions.
        let (name, version) = match version.strip_prefix("npm:").and_then(split_at_version) {
            Some((real, v)) => (real, v),
            None => (name.as_str(), version),
        };
        if version.is_empty() || version.contains(':') {
            read.skipped += 1;
        } else {
            read.packages.push(Package {
                ecosystem: Ecosystem::Npm,
                name: name.to_owned(),
                version: version.to_owned(),
                line: lines.of(name),
            });
        }
        if let Some(nested) = dep.get("dependencies").and_then(|d| d.as_object()) {
            npm_v1(lines, nested, read);
        }
    }
}

/// `name@rest` split at the `@` that ends the name (a scope's leading `@` is the name's).
fn split_at_version(spec: &str) -> Option<(&str, &str)> {
    let at = spec.get(1..)?.find('@')? + 1;
    Some((&spec[..at], &spec[at + 1..]))
}

fn yaml(text: &str) -> Result<serde_norway::Value, Unreadable> {
    serde_norway::from_str(text).map_err(|e| Unreadable {
        line: e.location().map(|l| l.line()),
        message: e.to_string(),
    })
}

fn pnpm(text: &str) -> Result<Read, Unreadable> {
    let lock = yaml(text)?;
    // `lockfileVersion` is a number in 5.x files and a string from 6.0 on.
    let version = match lock.get("lockfileVersion") {
        Some(serde_norway::Value::Number(n)) => n.as_f64(),
        Some(serde_norway::Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    .ok_or_else(|| Unreadable::new("no `lockfileVersion`"))?;
    let lines = Lines::yaml(text);
    let mut read = Read::default();
    let Some(packages) = lock.get("packages").and_then(|p| p.as_mapping()) else {
        return Ok(read);
    };
    for (key, entry) in packages {
        let Some(key) = key.as_str() else { continue };
        let field = |f: &str| entry.get(f).and_then(|v| v.as_str());
        let parsed = match (field("name"), field("version")) {
            (Some(n), Some(v)) => Some((n, v)),
            _ => pnpm_key(key, version),
        };
        match parsed {
            Some((name, v)) if !v.contains(':') && !v.contains('/') => {
                read.packages.push(Package {
                    ecosystem: Ecosystem::Npm,
                    name: name.to_owned(),
                    version: v.to_owned(),
                    line: lines.of(key),
                })
            }
            _ => read.skipped += 1,
        }
    }
    Ok(read)
}

/// A pnpm `packages` key: `/name/1.2.3_peer` before lockfile 6, `/name@1.2.3(peer@1)` in
/// 6, `name@1.2.3` from 9 (peer suffixes dropped).
fn pnpm_key(key: &str, lockfile_version: f64) -> Option<(&str, &str)> {
    let key = key.strip_prefix('/').unwrap_or(key);
    let key = key.split('(').next()?;
    if lockfile_version < 6.0 {
        let (name, version) = key.rsplit_once('/')?;
        Some((name, version.split('_').next()?))
    } else {
        split_at_version(key)
    }
}

/// yarn 1's own format (neither YAML nor JSON, and no maintained parser crate reads it): a
/// header line of specifiers at column 0, then indented `version "x"`.
fn yarn_v1(text: &str) -> Read {
    let mut read = Read::default();
    let mut current: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            let first = line.trim_end_matches(':').split(", ").next().unwrap_or("");
            let spec = first.trim_matches('"');
            current = split_at_version(spec).map(|(name, range)| {
                // `alias@npm:real@^1` installs `real`.
                match range.strip_prefix("npm:").and_then(split_at_version) {
                    Some((real, _)) => real.to_owned(),
                    None => name.to_owned(),
                }
            });
            continue;
        }
        if let (Some(name), Some(v)) = (&current, line.trim().strip_prefix("version ")) {
            read.packages.push(Package {
                ecosystem: Ecosystem::Npm,
                name: name.clone(),
                version: v.trim().trim_matches('"').to_owned(),
                line: i + 1,
            });
            current = None;
        }
    }
    read
}

/// yarn 2+ (berry): YAML whose entries' `resolution` is `name@npm:1.2.3` for registry
/// packages (`workspace:`, `patch:`, `link:`... are not).
fn yarn_berry(text: &str) -> Result<Read, Unreadable> {
    let lock = yaml(text)?;
    let lines = Lines::yaml(text);
    let mut read = Read::default();
    let Some(entries) = lock.as_mapping() else {
        return Err(Unreadable::new("expected a mapping of entries"));
    };
    for (key, entry) in entries {
        if key.as_str() == Some("__metadata") {
            continue;
        }
        let resolution = entry.get("resolution").and_then(|r| r.as_str());
        match resolution.and_then(split_at_version) {
            Some((name, rest)) if rest.starts_with("npm:") => {
                let version = entry
                    .get("version")
                    .and_then(|v| v.as_str())
                    .unwrap_or(&rest[4..]);
                read.packages.push(Package {
                    ecosystem: Ecosystem::Npm,
                    name: name.to_owned(),
                    version: version.to_owned(),
                    line: lines.of(resolution.unwrap_or_default()),
                });
            }
            _ => read.skipped += 1,
        }
    }
    Ok(read)
}

fn poetry(text: &str) -> Result<Read, Unreadable> {
    #[derive(Deserialize)]
    struct Lock {
        #[serde(default)]
        package: Vec<Pkg>,
    }
    #[derive(Deserialize)]
    struct Pkg {
        name: String,
        version: String,
        source: Option<Source>,
    }
    #[derive(Deserialize)]
    struct Source {
        #[serde(rename = "type")]
        kind: String,
    }
    let lock: Lock = toml::from_str(text).map_err(|e| toml_error(&e, text))?;
    let lines = toml_lines(text);
    let mut read = Read::default();
    for p in lock.package {
        // `legacy` is another package index, still PyPI's names and versions.
        if p.source.is_some_and(|s| s.kind != "legacy") {
            read.skipped += 1;
            continue;
        }
        let line = toml_line(&lines, &p.name, &p.version);
        read.packages.push(python(p.name, p.version, line));
    }
    Ok(read)
}

fn uv(text: &str) -> Result<Read, Unreadable> {
    #[derive(Deserialize)]
    struct Lock {
        #[serde(default)]
        package: Vec<Pkg>,
    }
    #[derive(Deserialize)]
    struct Pkg {
        name: String,
        version: Option<String>,
        #[serde(default)]
        source: toml::Table,
    }
    let lock: Lock = toml::from_str(text).map_err(|e| toml_error(&e, text))?;
    let lines = toml_lines(text);
    let mut read = Read::default();
    for p in lock.package {
        // The project itself (`editable`, `virtual`) and git or path sources are not
        // registry releases.
        match p.version {
            Some(version) if p.source.contains_key("registry") => {
                let line = toml_line(&lines, &p.name, &version);
                read.packages.push(python(p.name, version, line));
            }
            _ => read.skipped += 1,
        }
    }
    Ok(read)
}

fn python(name: String, version: String, line: usize) -> Package {
    Package {
        ecosystem: Ecosystem::PyPI,
        name,
        version,
        line,
    }
}

/// pip requirements files: `name[extras]==1.2.3 ; markers --hash=...`, with `\`
/// continuations and comments. Only exact pins are versions; the rest is said.
fn requirements(text: &str) -> Read {
    let mut read = Read::default();
    let mut logical = String::new();
    let mut start = 0;
    for (i, raw) in text.lines().enumerate() {
        if logical.is_empty() {
            start = i + 1;
        }
        // A `#` starts a comment at the line's start or after whitespace (PEP 508 URLs may
        // hold `#` fragments otherwise).
        let line = match raw.find(" #").or_else(|| raw.starts_with('#').then_some(0)) {
            Some(at) => &raw[..at],
            None => raw,
        };
        if let Some(cont) = line.trim_end().strip_suffix('\\') {
            logical.push_str(cont);
            logical.push(' ');
            continue;
        }
        logical.push_str(line);
        let req = std::mem::take(&mut logical);
        let req = req.trim();
        // Options (`-r other.txt`, `--index-url`, `-e .`) are not requirements.
        if req.is_empty() || req.starts_with('-') {
            continue;
        }
        let spec = req.split(';').next().unwrap_or("");
        let spec = spec.split(" --").next().unwrap_or("").trim();
        let pinned = spec.split_once("===").or_else(|| spec.split_once("=="));
        match pinned {
            Some((name, version))
                if !version.contains('*')
                    && !version.contains(',')
                    && !name.contains(['<', '>', '!', '~']) =>
            {
                let name = name.split('[').next().unwrap_or("").trim();
                read.packages
                    .push(python(name.to_owned(), version.trim().to_owned(), start));
            }
            _ => read.unpinned.push((start, spec.to_owned())),
        }
    }
    read
}

/// go.sum: `module version hash` lines; `version/go.mod` lines hash only a go.mod, read
/// for the module graph, not built.
fn go_sum(text: &str) -> Read {
    let mut read = Read::default();
    for (i, line) in text.lines().enumerate() {
        let mut fields = line.split_whitespace();
        if let (Some(module), Some(version)) = (fields.next(), fields.next())
            && !version.ends_with("/go.mod")
        {
            read.packages.push(Package {
                ecosystem: Ecosystem::Go,
                name: module.to_owned(),
                version: version.to_owned(),
                line: i + 1,
            });
        }
    }
    read
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(read: &Read) -> Vec<String> {
        read.packages
            .iter()
            .map(|p| format!("{}@{}:{}", p.name, p.version, p.line))
            .collect()
    }

    #[test]
    fn pnpm_keys_of_each_lockfile_version() {
        assert_eq!(
            pnpm_key("/@babel/core/7.1.0_react@17.0.2", 5.4),
            Some(("@babel/core", "7.1.0"))
        );
        assert_eq!(
            pnpm_key("/@babel/core@7.1.0(react@17.0.2)", 6.0),
            Some(("@babel/core", "7.1.0"))
        );
        assert_eq!(pnpm_key("lodash@4.17.20", 9.0), Some(("lodash", "4.17.20")));
    }

    #[test]
    fn requirements_pins_continuations_and_unpinned_lines() {
        let read = requirements(
            "# top\nDjango[argon2]==4.2.1 ; python_version >= \"3.8\" \\\n    --hash=sha256:abc\nrequests>=2\n-r other.txt\nflask===2.0.0  # exact\nx==1.*\n",
        );
        assert_eq!(names(&read), ["Django@4.2.1:2", "flask@2.0.0:6"]);
        assert_eq!(read.unpinned.len(), 2);
        assert_eq!(read.unpinned[0], (4, "requests>=2".to_owned()));
    }

    #[test]
    fn yarn_v1_aliases_and_scopes() {
        let read = yarn_v1(
            "# yarn lockfile v1\n\n\"@babel/core@^7.0.0\", \"@babel/core@^7.1.0\":\n  version \"7.1.2\"\n  resolved \"x\"\n\nmy-alias@npm:lodash@^4:\n  version \"4.17.20\"\n",
        );
        assert_eq!(names(&read), ["@babel/core@7.1.2:4", "lodash@4.17.20:8"]);
    }

    #[test]
    fn pypi_names_are_normalized() {
        assert_eq!(
            Ecosystem::PyPI.normalize("Zope.Interface__x"),
            "zope-interface-x"
        );
        assert_eq!(Ecosystem::Npm.normalize("Foo"), "Foo");
    }
}
