//! Renderers of a [`Scan`]: a table for people, JSON (versioned) and SARIF 2.1.0 for tools.
//! None of them holds a secret: findings carry only redacted forms.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::Scan;

/// One line per finding (`file:line:col  rule  excerpt  fingerprint`, the commit with
/// `--history`), then a summary line.
pub fn table(scan: &Scan) -> String {
    let mut out = String::new();
    let width = scan
        .findings
        .iter()
        .map(|f| f.file.len() + 12)
        .max()
        .unwrap_or(0)
        .min(60);
    for f in &scan.findings {
        let at = format!("{}:{}:{}", f.file, f.line, f.column);
        let commit = f
            .commit
            .as_deref()
            .map(|c| format!("  commit {}", &c[..c.len().min(12)]))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{at:<width$}  {:<26}  {}  [{}]{commit}",
            f.rule, f.excerpt, f.fingerprint
        );
    }
    let s = &scan.stats;
    let _ = writeln!(
        out,
        "{} secret{} in {} files ({:.1} MB); skipped: {} binary, {} over the size limit, {} fixtures, {} unreadable; set aside: {} placeholders/examples, {} inline-ignored, {} allowlisted, {} baselined",
        scan.findings.len(),
        if scan.findings.len() == 1 { "" } else { "s" },
        s.files,
        s.bytes as f64 / 1e6,
        s.skipped_binary,
        s.skipped_large,
        s.skipped_fixture,
        s.unreadable,
        s.noise,
        s.inline_ignored,
        s.allowlisted,
        s.baselined,
    );
    out
}

/// `{"version": 1, "findings": [...], "stats": {...}}`.
pub fn json(scan: &Scan) -> String {
    let v = json!({
        "version": 1,
        "findings": scan.findings,
        "stats": scan.stats,
    });
    serde_json::to_string_pretty(&v).expect("a scan always serializes") + "\n"
}

/// A SARIF 2.1.0 log with one run; locations are relative to `%SRCROOT%` (the scanned root),
/// columns in Unicode code points, each result with a `partialFingerprints` entry.
pub fn sarif(scan: &Scan, rules: &[&crate::Rule]) -> String {
    let used: Vec<&crate::Rule> = rules
        .iter()
        .copied()
        .filter(|r| scan.findings.iter().any(|f| f.rule == r.id))
        .collect();
    let descriptors: Vec<Value> = used
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "shortDescription": {"text": r.description},
                "defaultConfiguration": {"level": "error"},
            })
        })
        .collect();
    let results: Vec<Value> = scan
        .findings
        .iter()
        .map(|f| {
            let mut result = json!({
                "ruleId": f.rule,
                "level": "error",
                "message": {"text": format!("{}: {}", f.description, f.redacted)},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri(&f.file), "uriBaseId": "%SRCROOT%"},
                        "region": {
                            "startLine": f.line,
                            "startColumn": f.column,
                            "endLine": f.end_line,
                            "endColumn": f.end_column,
                            "snippet": {"text": f.excerpt},
                        },
                    },
                }],
                "partialFingerprints": {"phasegateSecret/v1": f.fingerprint},
            });
            if let Some(i) = used.iter().position(|r| r.id == f.rule) {
                result["ruleIndex"] = json!(i);
            }
            if let Some(c) = &f.commit {
                result["properties"] = json!({"commit": c});
            }
            result
        })
        .collect();
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "phasegate",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://example.invalid/phasegate/docs/secrets.md",
                "rules": descriptors,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    serde_json::to_string_pretty(&log).expect("a SARIF log always serializes") + "\n"
}

/// A relative path as a URI reference (RFC 3986): unreserved characters and `/` kept, every
/// other byte percent-encoded.
fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn paths_become_uri_references() {
        assert_eq!(super::uri("a dir/ü.env"), "a%20dir/%C3%BC.env");
    }
}
