//! A baseline: the fingerprints of findings accepted once (`--write-baseline`), so that a
//! repository adopting the scanner fails only on new secrets. Format (JSON, versioned):
//! `{"version": 1, "findings": [{"fingerprint", "rule", "file", "line"}]}`; only the
//! fingerprints count, the rest is there for people reviewing the file.

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{Error, Finding, Scan};

/// Accepted fingerprints.
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    fingerprints: HashSet<String>,
}

#[derive(Serialize, Deserialize)]
struct File {
    version: u32,
    findings: Vec<Entry>,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    fingerprint: String,
    rule: String,
    file: String,
    line: u32,
}

impl Baseline {
    /// Reads a baseline file.
    pub fn read(path: &Path) -> Result<Baseline, Error> {
        let text = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        let file: File = serde_json::from_slice(&text).map_err(|e| Error::Baseline {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        if file.version != 1 {
            return Err(Error::Baseline {
                path: path.to_owned(),
                message: format!("version {} (this phasegate reads version 1)", file.version),
            });
        }
        Ok(Baseline {
            fingerprints: file.findings.into_iter().map(|e| e.fingerprint).collect(),
        })
    }

    /// The baseline file accepting `findings`.
    pub fn render(findings: &[Finding]) -> String {
        let file = File {
            version: 1,
            findings: findings
                .iter()
                .map(|f| Entry {
                    fingerprint: f.fingerprint.clone(),
                    rule: f.rule.clone(),
                    file: f.file.clone(),
                    line: f.line,
                })
                .collect(),
        };
        serde_json::to_string_pretty(&file).expect("a baseline always serializes") + "\n"
    }

    /// Whether `finding` was accepted.
    pub fn contains(&self, finding: &Finding) -> bool {
        self.fingerprints.contains(&finding.fingerprint)
    }

    /// Removes the accepted findings from `scan`, counting them.
    pub fn apply(&self, scan: &mut Scan) {
        let before = scan.findings.len();
        scan.findings.retain(|f| !self.contains(f));
        scan.stats.baselined += (before - scan.findings.len()) as u64;
    }
}
