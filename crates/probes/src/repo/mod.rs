//! Probes of the repository's own files: `ci-tolerance` (CI that swallows failures),
//! `docs-drift` (documented commands, links and documents that do not hold) and
//! `local-first` (default configuration that needs an outside host).
//!
//! What they share lives here: walking the tree as git sees it (`.gitignore` respected,
//! hidden files included, `.git` itself skipped), reading a file (counted, and stoppable
//! between files), glob parameters compiled once, and the shell grammar of `shell`.

pub(crate) mod ci_tolerance;
pub(crate) mod docs_drift;
pub(crate) mod local_first;
mod runners;
mod shell;

use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::ParamError;
use crate::files::Cancel;
use crate::net::ProbeError;
use crate::params::err;
use crate::report::Report;

/// Compiles `patterns` (parameter `key`), pushing an error naming each bad one.
pub(crate) fn glob_set(key: &str, patterns: &[String], errors: &mut Vec<ParamError>) -> GlobSet {
    let mut builder = GlobSetBuilder::new();
    for (i, p) in patterns.iter().enumerate() {
        // `literal_separator`: `*` stays within one directory, as in .gitignore and shells.
        match globset::GlobBuilder::new(p).literal_separator(true).build() {
            Ok(g) => {
                builder.add(g);
            }
            Err(e) => errors.push(err(format!("{key}[{i}]"), format!("invalid glob: {e}"))),
        }
    }
    builder.build().unwrap_or_else(|e| {
        errors.push(err(key, e.to_string()));
        GlobSet::empty()
    })
}

/// A single glob, for parameters that hold one pattern per entry.
pub(crate) fn glob(
    key: &str,
    pattern: &str,
    errors: &mut Vec<ParamError>,
) -> Option<globset::GlobMatcher> {
    match Glob::new(pattern) {
        Ok(g) => Some(g.compile_matcher()),
        Err(e) => {
            errors.push(err(key, format!("invalid glob: {e}")));
            None
        }
    }
}

/// The files under `root` whose path relative to it matches `globs`, sorted; `.gitignore`d
/// files are left out (they are not the project's), hidden ones are not (`.github`, `.env.example`).
pub(crate) fn walk(
    root: &Path,
    globs: &GlobSet,
    cancel: &Cancel,
) -> Result<Vec<PathBuf>, ProbeError> {
    if !root.is_dir() {
        return Err(ProbeError::Other(format!(
            "cannot read the project at {}: not a directory",
            root.display()
        )));
    }
    let walker = ignore::WalkBuilder::new(root)
        .hidden(false)
        .require_git(false)
        .filter_entry(|e| e.file_name() != ".git")
        .build();
    let mut out = Vec::new();
    for entry in walker {
        cancel.check()?;
        let Ok(entry) = entry else { continue };
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let rel = entry.path().strip_prefix(root).unwrap_or(entry.path());
        if globs.is_match(rel) {
            out.push(rel.to_owned());
        }
    }
    out.sort();
    Ok(out)
}

/// The text of `rel` under `root`, counted as a file read; `None` when it does not exist.
/// Stops first when asked to.
pub(crate) fn read(
    root: &Path,
    rel: &Path,
    cancel: &Cancel,
    report: &mut Report,
) -> Result<Option<String>, ProbeError> {
    cancel.check()?;
    match std::fs::read(root.join(rel)) {
        Ok(bytes) => {
            report.files += 1;
            Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::IsADirectory => Ok(None),
        Err(e) => Err(ProbeError::Other(format!(
            "cannot read {}: {e}",
            rel.display()
        ))),
    }
}

/// `path:line` as findings name places (forward slashes, 1-based line).
pub(crate) fn at(path: &Path, line: usize) -> String {
    format!("{}:{line}", path.display())
}

/// The 1-based line of byte `offset` in `text`.
pub(crate) fn line_at(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|b| *b == b'\n')
        .count()
        + 1
}

/// Normalises `dir/../x` and `./x` without touching the disk; `None` when it leaves the root.
pub(crate) fn normalize(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            std::path::Component::Normal(n) => out.push(n),
            std::path::Component::RootDir | std::path::Component::Prefix(_) => {}
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walking_respects_gitignore_and_keeps_hidden_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join(".github/workflows")).unwrap();
        std::fs::create_dir_all(root.join("target")).unwrap();
        std::fs::write(root.join(".gitignore"), "target/\n").unwrap();
        std::fs::write(root.join(".github/workflows/ci.yml"), "on: push").unwrap();
        std::fs::write(root.join("target/x.yml"), "x").unwrap();
        let mut errors = Vec::new();
        let globs = glob_set("files", &["**/*.yml".to_owned()], &mut errors);
        assert!(errors.is_empty());
        let found = walk(root, &globs, &Cancel::default()).unwrap();
        assert_eq!(found, [PathBuf::from(".github/workflows/ci.yml")]);
    }

    #[test]
    fn paths_normalize_within_the_root() {
        assert_eq!(
            normalize(Path::new("docs/../README.md")),
            Some(PathBuf::from("README.md"))
        );
        assert_eq!(normalize(Path::new("../x")), None);
        assert_eq!(line_at("a\nb\nc", 2), 2);
    }
}
