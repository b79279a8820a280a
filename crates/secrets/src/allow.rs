//! Allowlists, as gitleaks defines them: paths and regexes (regexes over the secret, the whole
//! match or the line), stopwords (substrings of the secret), fingerprints; any of them
//! (`condition = "OR"`, the default) or all that are given (`"AND"`) allow a candidate.

use std::collections::HashSet;

use regex::bytes::Regex;

/// What an allowlist regex is matched against.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RegexTarget {
    /// The secret only (gitleaks' default).
    #[default]
    Secret,
    /// The whole regex match.
    Match,
    /// The line the match starts on.
    Line,
}

/// One allowlist.
#[derive(Debug, Clone, Default)]
pub struct Allowlist {
    /// Regexes over the file's path (relative, `/`-separated).
    pub paths: Vec<Regex>,
    /// Globs over the file's path (`allow` of the probe, `--allow` of the command).
    pub globs: Option<globset::GlobSet>,
    /// Regexes over [`Allowlist::target`].
    pub regexes: Vec<Regex>,
    /// What [`Allowlist::regexes`] match.
    pub target: RegexTarget,
    /// Substrings of the secret (case-insensitive).
    pub stopwords: Vec<String>,
    /// Fingerprints of accepted findings.
    pub fingerprints: HashSet<String>,
    /// Rules this allowlist is limited to (global allowlists only; empty: all).
    pub rules: Vec<String>,
    /// `condition = "AND"`: every kind of entry given must match.
    pub all: bool,
}

/// A candidate, as allowlists see it.
pub(crate) struct Candidate<'a> {
    pub rule: &'a str,
    pub path: &'a str,
    pub secret: &'a [u8],
    pub whole: &'a [u8],
    pub line: &'a [u8],
    pub fingerprint: &'a str,
}

impl Allowlist {
    /// Whether the whole file is allowed (path entries only, so that the file need not be
    /// read).
    pub(crate) fn allows_path(&self, path: &str) -> bool {
        let only_paths = self.regexes.is_empty()
            && self.stopwords.is_empty()
            && self.fingerprints.is_empty()
            && self.rules.is_empty();
        (only_paths || !self.all) && self.rules.is_empty() && self.path_matches(path) == Some(true)
    }

    fn path_matches(&self, path: &str) -> Option<bool> {
        if self.paths.is_empty() && self.globs.is_none() {
            return None;
        }
        Some(
            self.paths.iter().any(|r| r.is_match(path.as_bytes()))
                || self.globs.as_ref().is_some_and(|g| g.is_match(path)),
        )
    }

    /// Whether `c` is allowed.
    pub(crate) fn allows(&self, c: &Candidate) -> bool {
        if !self.rules.is_empty() && !self.rules.iter().any(|r| r == c.rule) {
            return false;
        }
        let target = match self.target {
            RegexTarget::Secret => c.secret,
            RegexTarget::Match => c.whole,
            RegexTarget::Line => c.line,
        };
        let lower = String::from_utf8_lossy(c.secret).to_lowercase();
        let checks = [
            self.path_matches(c.path),
            (!self.regexes.is_empty()).then(|| self.regexes.iter().any(|r| r.is_match(target))),
            (!self.stopwords.is_empty()).then(|| {
                self.stopwords
                    .iter()
                    .any(|w| lower.contains(&w.to_lowercase()))
            }),
            (!self.fingerprints.is_empty()).then(|| self.fingerprints.contains(c.fingerprint)),
        ];
        let mut given = checks.iter().flatten().peekable();
        if given.peek().is_none() {
            return false;
        }
        if self.all {
            given.all(|x| *x)
        } else {
            given.any(|x| *x)
        }
    }
}
