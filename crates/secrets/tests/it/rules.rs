//! Each rule finds its planted secret and none of the decoys, on the labelled fixture set.

use std::collections::BTreeSet;

use crate::fixture_set;

#[test]
fn every_rule_finds_its_planted_secret_and_no_decoy() {
    let dir = tempfile::tempdir().unwrap();
    let (planted, decoys) = fixture_set::write(dir.path(), 7);
    let scan = crate::scan(dir.path());
    let found: BTreeSet<String> = crate::places(&scan).into_iter().collect();
    let missed: Vec<String> = planted
        .iter()
        .map(|p| format!("{}:{} {}", p.file, p.line, p.rule))
        .filter(|p| !found.contains(p))
        .collect();
    assert!(missed.is_empty(), "missed {missed:#?}\nfound {found:#?}");
    let decoy_hits: Vec<String> = decoys
        .iter()
        .filter(|d| {
            scan.findings
                .iter()
                .any(|f| f.file == d.file && f.line == d.line)
        })
        .map(|d| format!("{}:{} {}", d.file, d.line, d.what))
        .collect();
    assert!(decoy_hits.is_empty(), "decoys reported: {decoy_hits:#?}");
    assert_eq!(scan.findings.len(), planted.len(), "{found:#?}");
    // Every built-in rule has its planted secret.
    let rules: BTreeSet<&str> = planted.iter().map(|p| p.rule).collect();
    for r in phasegate_secrets::builtins() {
        assert!(
            rules.contains(r.id.as_str()),
            "no planted secret for {}",
            r.id
        );
    }
    assert_eq!(scan.stats.skipped_fixture, 1);
}

#[test]
fn other_seeds_give_the_same_verdicts() {
    for seed in [1, 99, 12345] {
        let dir = tempfile::tempdir().unwrap();
        let (planted, _) = fixture_set::write(dir.path(), seed);
        let scan = crate::scan(dir.path());
        assert_eq!(
            scan.findings.len(),
            planted.len(),
            "seed {seed}: {:#?}",
            crate::places(&scan)
        );
    }
}

#[test]
fn no_finding_holds_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    fixture_set::write(dir.path(), 7);
    let scan = crate::scan(dir.path());
    let json = phasegate_secrets::render::json(&scan);
    for f in &scan.findings {
        let text = std::fs::read_to_string(dir.path().join(&f.file)).unwrap();
        let line = text.lines().nth(f.line as usize - 1).unwrap();
        // The secret starts at the column; its first 12 characters must appear nowhere.
        let secret: String = line.chars().skip(f.column as usize - 1).take(12).collect();
        if secret.len() == 12 {
            assert!(!json.contains(&secret), "{} leaks in {json}", f.rule);
        }
    }
}

#[test]
fn utf16_files_are_decoded_and_binaries_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let mut g = fixture_set::Gen::new(3);
    let token = fixture_set::checksummed(&mut g, "ghp_");
    let text = format!("first line\ntoken = {token}\n");
    let mut utf16 = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    std::fs::write(dir.path().join("win.ps1"), utf16).unwrap();
    let mut binary = b"\x7fELF\0\0\0".to_vec();
    binary.extend_from_slice(token.as_bytes());
    std::fs::write(dir.path().join("app.bin"), binary).unwrap();
    let scan = crate::scan(dir.path());
    assert_eq!(crate::places(&scan), ["win.ps1:2 github-token"]);
    assert_eq!(scan.findings[0].column, 9);
    assert_eq!(scan.stats.skipped_binary, 1);
}

#[test]
fn the_labels_list_every_planted_secret_and_decoy() {
    let dir = tempfile::tempdir().unwrap();
    let (planted, decoys) = fixture_set::write(dir.path(), 7);
    let (expected, decoy) = fixture_set::labels(&planted, &decoys);
    assert_eq!(expected.lines().count(), planted.len() + 1);
    assert_eq!(decoy.lines().count(), decoys.len() + 1);
    assert!(expected.lines().all(|l| l.split('\t').count() == 3));
}
