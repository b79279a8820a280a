//! Integration tests of the secret scanner: real files in temporary directories, real git
//! repositories.

mod fixture_set;
mod git;
mod noise;
mod output;
mod rules;

use std::path::Path;

use phasegate_secrets::{Config, Options, Scan, Scanner};

/// Scans `dir` with the built-in rules.
pub fn scan(dir: &Path) -> Scan {
    Scanner::new(Config::builtin())
        .unwrap()
        .scan_tree(dir, &Options::default())
        .unwrap()
}

/// `file:line rule` of every finding.
pub fn places(scan: &Scan) -> Vec<String> {
    scan.findings
        .iter()
        .map(|f| format!("{}:{} {}", f.file, f.line, f.rule))
        .collect()
}
