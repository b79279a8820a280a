//! Pinning the chain's end: the anchor, kept as a git ref, detects a truncated tail.

use phasegate_engine::{Anchor, DEFAULT_ANCHOR_REF};

use crate::support::{Project, one_phase, run};

fn git(p: &Project, args: &[&str]) {
    let ok = std::process::Command::new("git")
        .args(args)
        .current_dir(p.dir.path())
        .status()
        .unwrap()
        .success();
    assert!(ok, "git {args:?}");
}

#[test]
fn an_anchor_kept_as_a_git_ref_detects_entries_removed_after_it() {
    let p = Project::new(&one_phase(&[("a", "run = \"true\"")]));
    git(&p, &["init", "-q"]);
    let s = p.session();
    assert_eq!(s.anchor().unwrap(), None, "an empty ledger has no end");
    assert_eq!(s.read_anchor_ref(DEFAULT_ANCHOR_REF).unwrap(), None);
    run(&s, &[]);
    let anchor = s.anchor().unwrap().unwrap();
    assert_eq!(anchor.seq, 3, "run opened, one record, its head");
    assert_eq!(anchor.to_string().parse::<Anchor>().unwrap(), anchor);
    s.write_anchor_ref(&anchor, DEFAULT_ANCHOR_REF).unwrap();
    assert_eq!(
        s.read_anchor_ref(DEFAULT_ANCHOR_REF).unwrap(),
        Some(anchor.clone())
    );
    assert_eq!(s.check_anchor(&anchor).unwrap(), None);

    // Keep the ledger as it is now, to put it back later as a truncated chain.
    let saved = tempfile::tempdir().unwrap();
    let files = ledger_files(&s);
    for f in &files {
        std::fs::copy(f, saved.path().join(f.file_name().unwrap())).unwrap();
    }

    // More entries after the anchor are fine.
    run(&s, &[]);
    assert_eq!(s.check_anchor(&anchor).unwrap(), None);
    let later = s.anchor().unwrap().unwrap();
    assert_eq!(later.seq, 6);

    // Cut the chain back to the first run: every link left still verifies, the later
    // anchor does not.
    for f in ledger_files(&s) {
        std::fs::remove_file(f).unwrap();
    }
    for f in &files {
        std::fs::copy(saved.path().join(f.file_name().unwrap()), f).unwrap();
    }
    assert!(s.verify().unwrap().is_ok(), "the chain alone cannot tell");
    let lost = s.check_anchor(&later).unwrap().unwrap();
    assert_eq!(lost.seq, 6);
    assert!(
        lost.reason
            .starts_with("missing: the chain ends at entry 3, before the anchored entry 6"),
        "{}",
        lost.reason
    );
    let other = Anchor {
        seq: 2,
        hash: "0".repeat(64),
    };
    let replaced = s.check_anchor(&other).unwrap().unwrap();
    assert!(
        replaced.reason.contains("the anchor pinned"),
        "{}",
        replaced.reason
    );
    assert!("3:xyz".parse::<Anchor>().is_err());
}

/// The SQLite files of the session's ledger (the database and its WAL, when there is one).
fn ledger_files(s: &phasegate_engine::Session) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(&s.ledger_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(phasegate_ledger::LEDGER_FILE)
        })
        .collect()
}
