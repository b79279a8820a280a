//! `--history` and `--staged` on real git repositories.

use std::path::Path;
use std::process::Command;

use phasegate_secrets::{Config, Mode, Options, Scanner};

use crate::fixture_set::{Gen, checksummed};

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn scan(dir: &Path, mode: Mode) -> phasegate_secrets::Scan {
    let scanner = Scanner::new(Config::builtin()).unwrap();
    phasegate_secrets::scan(&scanner, dir, mode, None, &Options::default()).unwrap()
}

#[test]
fn a_secret_added_then_removed_is_found_in_history_with_its_commit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q", "-b", "main"]);
    std::fs::write(d.join("app.py"), "import os\n").unwrap();
    git(d, &["add", "."]);
    git(d, &["commit", "-qm", "first"]);
    let g = &mut Gen::new(21);
    std::fs::write(
        d.join("app.py"),
        format!("import os\nTOKEN = '{}'\n", checksummed(g, "ghp_")),
    )
    .unwrap();
    git(d, &["commit", "-qam", "add the token"]);
    let introduced = git(d, &["rev-parse", "HEAD"]);
    // Touch the line's neighbours: the same secret in a later blob stays one finding.
    std::fs::write(
        d.join("app.py"),
        format!("import os\nimport sys\nTOKEN = '{}'\n", "x"),
    )
    .unwrap();
    git(d, &["commit", "-qam", "remove the token"]);
    assert!(scan(d, Mode::Tree).findings.is_empty());
    let history = scan(d, Mode::History);
    assert_eq!(crate::places(&history), ["app.py:2 github-token"]);
    assert_eq!(
        history.findings[0].commit.as_deref(),
        Some(introduced.as_str())
    );
    assert_eq!(history.stats.files, 3);
}

#[test]
fn staged_scans_the_index_not_the_working_tree() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q", "-b", "main"]);
    let g = &mut Gen::new(22);
    std::fs::write(
        d.join("staged.py"),
        format!("T = '{}'\n", checksummed(g, "ghp_")),
    )
    .unwrap();
    std::fs::write(
        d.join("unstaged.py"),
        format!("T = '{}'\n", checksummed(g, "ghp_")),
    )
    .unwrap();
    git(d, &["add", "staged.py"]);
    let staged = scan(d, Mode::Staged);
    assert_eq!(crate::places(&staged), ["staged.py:1 github-token"]);
    assert!(staged.findings[0].commit.is_none());
}

#[test]
fn history_outside_a_repository_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let scanner = Scanner::new(Config::builtin()).unwrap();
    let err = phasegate_secrets::scan(
        &scanner,
        dir.path(),
        Mode::History,
        None,
        &Options::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("git rev-parse"), "{err}");
}
