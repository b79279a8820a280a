//! Inline ignore comments, allowlists (path, regex, stopword, fingerprint), .gitignore and
//! the baseline.

use phasegate_secrets::{Baseline, Config, Mode, Options, Scanner};

use crate::fixture_set::{Gen, checksummed};

fn project(lines: &[String]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.py"), lines.join("\n") + "\n").unwrap();
    dir
}

#[test]
fn inline_markers_silence_their_line_only() {
    let g = &mut Gen::new(11);
    let dir = project(&[
        format!("a = '{}'  # phasegate:allow-secret", checksummed(g, "ghp_")),
        format!("b = '{}'  # gitleaks:allow", checksummed(g, "ghp_")),
        "# phasegate:allow-secret-next-line".to_owned(),
        format!("c = '{}'", checksummed(g, "ghp_")),
        format!("d = '{}'", checksummed(g, "ghp_")),
    ]);
    let scan = crate::scan(dir.path());
    assert_eq!(crate::places(&scan), ["app.py:5 github-token"]);
    assert_eq!(scan.stats.inline_ignored, 3);
}

#[test]
fn allowlists_by_path_regex_stopword_and_fingerprint() {
    let g = &mut Gen::new(12);
    let keep = checksummed(g, "ghp_");
    let dir = project(&[
        format!("a = '{keep}'"),
        format!("b = '{}'", checksummed(g, "gho_")),
        format!("c = '{}'", checksummed(g, "ghu_")),
    ]);
    std::fs::create_dir(dir.path().join("vendor")).unwrap();
    std::fs::write(
        dir.path().join("vendor/lib.py"),
        format!("k = '{}'\n", checksummed(g, "ghp_")),
    )
    .unwrap();
    let first = crate::scan(dir.path());
    assert_eq!(first.findings.len(), 4);
    let fp = &first
        .findings
        .iter()
        .find(|f| f.line == 3)
        .unwrap()
        .fingerprint;
    let rules = format!(
        "[allowlist]\npaths = ['''^vendor/''']\nregexes = ['''^gho_''']\n\n[[allowlists]]\nfingerprints = [\"{fp}\"]\n"
    );
    let config = Config::from_toml(&rules, "r.toml".as_ref()).unwrap();
    let scan = Scanner::new(config)
        .unwrap()
        .scan_tree(dir.path(), &Options::default())
        .unwrap();
    assert_eq!(crate::places(&scan), ["app.py:1 github-token"]);
    assert_eq!(scan.stats.allowlisted, 3);
}

#[test]
fn gitignored_files_are_not_scanned() {
    let g = &mut Gen::new(13);
    let dir = project(&[format!("a = '{}'", checksummed(g, "ghp_"))]);
    std::fs::write(dir.path().join(".gitignore"), "app.py\n").unwrap();
    assert!(crate::scan(dir.path()).findings.is_empty());
}

#[test]
fn a_baseline_accepts_existing_findings_and_new_ones_still_fail() {
    let g = &mut Gen::new(14);
    let old = format!("a = '{}'", checksummed(g, "ghp_"));
    let dir = project(std::slice::from_ref(&old));
    let first = crate::scan(dir.path());
    let file = dir.path().join("baseline.json");
    std::fs::write(&file, Baseline::render(&first.findings)).unwrap();
    let baseline = Baseline::read(&file).unwrap();
    // The old secret moves down two lines; a new one arrives.
    let new = format!("b = '{}'", checksummed(g, "ghp_"));
    std::fs::write(
        dir.path().join("app.py"),
        format!("import os\n\n{old}\n{new}\n"),
    )
    .unwrap();
    let scanner = Scanner::new(Config::builtin()).unwrap();
    let scan = phasegate_secrets::scan(
        &scanner,
        dir.path(),
        Mode::Tree,
        Some(&baseline),
        &Options::default(),
    )
    .unwrap();
    assert_eq!(crate::places(&scan), ["app.py:4 github-token"]);
    assert_eq!(scan.stats.baselined, 1);
}

#[test]
fn a_broken_baseline_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("b.json");
    std::fs::write(&file, "{\"version\": 2, \"findings\": []}").unwrap();
    let err = Baseline::read(&file).unwrap_err().to_string();
    assert!(err.contains("b.json") && err.contains("version 2"), "{err}");
}

#[test]
fn a_gitleaks_rule_file_adds_rules_with_keywords_entropy_and_path() {
    let dir = project(&["internal_key = 'acme_Zq8vR2mN5kT1wXy7'".to_owned()]);
    std::fs::write(dir.path().join("notes.md"), "acme_Zq8vR2mN5kT1wXy7\n").unwrap();
    let rules = r#"
[extend]
useDefault = true

[[rules]]
id = "acme-key"
description = "ACME internal key"
regex = '''acme_[A-Za-z0-9]{16}'''
keywords = ["acme_"]
entropy = 3.0
path = '''\.py$'''
"#;
    let config = Config::from_toml(rules, "r.toml".as_ref()).unwrap();
    let scan = Scanner::new(config)
        .unwrap()
        .scan_tree(dir.path(), &Options::default())
        .unwrap();
    assert_eq!(crate::places(&scan), ["app.py:1 acme-key"]);
}
