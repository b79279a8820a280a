//! phasegate's secret scanner.
//!
//! A [`Scanner`] is built once from [`Config`] (the built-in rules, or a gitleaks-style TOML
//! rule file, plus allowlists) and then scans bytes ([`Scanner::scan_bytes`]), a directory
//! tree as git sees it ([`Scanner::scan_tree`]), the staged files ([`git::scan_staged`]) or
//! every blob of the history ([`git::scan_history`]). Each file is read once and searched
//! once for every rule's keywords (Aho-Corasick); a rule's regex runs only around its
//! keywords' hits, so most files cost one linear pass.
//!
//! A [`Finding`] never holds the secret: only a redacted excerpt and a fingerprint (a digest
//! of rule, path and secret), stable when the code around it moves. What is not a secret
//! (placeholders, documented examples, UUIDs, lockfile hashes, variable references, lines
//! with an inline ignore marker, allowlisted paths and values, [`Baseline`]d findings) is
//! counted in [`Stats`], never reported.
//!
//! What it is not: it verifies nothing online (no network), and it does not print; the
//! renderers in [`render`] return strings.

mod allow;
mod baseline;
mod config;
mod filter;
pub mod git;
pub mod render;
mod rule;
mod scan;

use std::path::PathBuf;

pub use allow::{Allowlist, RegexTarget};
pub use baseline::Baseline;
pub use config::{Config, glob_allowlist};
pub use rule::{Check, Rule, builtins};
pub use scan::{Options, Scan, Scanner};

/// One secret found.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Finding {
    /// The path relative to the scanned root (or the repository, for git scans), `/`-separated.
    pub file: String,
    /// 1-based line of the secret's first character.
    pub line: u32,
    /// 1-based column of the secret's first character, in Unicode code points.
    pub column: u32,
    /// 1-based line and column just past the secret's last character.
    pub end_line: u32,
    pub end_column: u32,
    /// The rule's id.
    pub rule: String,
    /// The rule's description.
    pub description: String,
    /// The secret's first characters and its length, e.g. `ghp_****(40)`.
    pub redacted: String,
    /// The line, with every secret on it redacted, shortened around the secret.
    pub excerpt: String,
    /// Hex digest of rule, file and secret: the same wherever the line moves.
    pub fingerprint: String,
    /// With `--history`: the first commit whose tree holds the secret at this path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// What a scan read, skipped and set aside.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stats {
    /// Files (or blobs) read and searched.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Files with a NUL byte in their first 8 KiB (and no UTF-16 byte order mark).
    pub skipped_binary: u64,
    /// Files over the size limit.
    pub skipped_large: u64,
    /// Files marked as test fixtures in their first 4 KiB (see docs/secrets.md).
    pub skipped_fixture: u64,
    /// Files that could not be read.
    pub unreadable: u64,
    /// Candidates set aside as placeholders, examples or non-random values.
    pub noise: u64,
    /// Candidates on a line with an inline ignore marker.
    pub inline_ignored: u64,
    /// Candidates matched by an allowlist (path, regex, stopword or fingerprint).
    pub allowlisted: u64,
    /// Findings accepted by the baseline.
    pub baselined: u64,
}

impl Stats {
    fn add(&mut self, o: &Stats) {
        self.files += o.files;
        self.bytes += o.bytes;
        self.skipped_binary += o.skipped_binary;
        self.skipped_large += o.skipped_large;
        self.skipped_fixture += o.skipped_fixture;
        self.unreadable += o.unreadable;
        self.noise += o.noise;
        self.inline_ignored += o.inline_ignored;
        self.allowlisted += o.allowlisted;
        self.baselined += o.baselined;
    }
}

/// Why a scan could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A rule file or allowlist entry is wrong.
    #[error("{}:{line}:{column}: {message}", file.display())]
    Config {
        file: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// A file phasegate must read (the root, a rule file, a baseline) could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A baseline file is not one.
    #[error("{}: not a phasegate or gitleaks baseline: {message}", path.display())]
    Baseline { path: PathBuf, message: String },
    /// git could not be run or failed.
    #[error("git {command}: {message}")]
    Git { command: String, message: String },
    /// The scan was asked to stop.
    #[error("stopped")]
    Stopped,
}

/// What to scan under a root.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    /// The working tree as git sees it.
    #[default]
    Tree,
    /// The staged content of the staged files.
    Staged,
    /// Every blob reachable in the history.
    History,
}

/// The scanner for `root`: the rules of `config`, else of `root/.gitleaks.toml` when there is
/// one (teams keep their gitleaks configuration), else the built-in rules; plus path globs
/// never scanned.
pub fn scanner_for(
    root: &std::path::Path,
    config: Option<&std::path::Path>,
    allow: &[String],
) -> Result<Scanner, Error> {
    let default = root.join(".gitleaks.toml");
    let config = match config {
        Some(path) => Config::from_file(path)?,
        None if default.is_file() => Config::from_file(&default)?,
        None => Config::builtin(),
    };
    let mut scanner = Scanner::new(config)?;
    if !allow.is_empty() {
        scanner.allow(glob_allowlist(allow)?);
    }
    Ok(scanner)
}

/// Scans `root` in `mode`, then sets aside what `baseline` accepts.
pub fn scan(
    scanner: &Scanner,
    root: &std::path::Path,
    mode: Mode,
    baseline: Option<&Baseline>,
    options: &Options,
) -> Result<Scan, Error> {
    let mut scan = match mode {
        Mode::Tree => scanner.scan_tree(root, options)?,
        Mode::Staged => git::scan_staged(scanner, root, options)?,
        Mode::History => git::scan_history(scanner, root, options)?,
    };
    if let Some(b) = baseline {
        b.apply(&mut scan);
    }
    Ok(scan)
}
