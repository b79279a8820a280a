//! Phase snapshots: written when a phase becomes done, and by `close`, with an optional tag.

use crate::harness::{Project, one_phase};

fn snapshots(p: &Project) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(p.file(".phasegate/snapshots"))
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn a_run_that_completes_a_phase_writes_its_snapshot_with_the_evidence() {
    let p = Project::new(&one_phase(&[
        ("unit", "run = \"true\""),
        ("smoke", "run = \"test -e ok\""),
    ]));
    assert_eq!(p.run(&["run"]).code, 1);
    assert!(
        snapshots(&p).is_empty(),
        "no snapshot for a phase that is not done"
    );
    std::fs::write(p.file("ok"), "").unwrap();
    let r = p.run(&["run"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("phase `p` is done: snapshot in"), "{r:?}");
    let snaps = snapshots(&p);
    assert_eq!(snaps.len(), 1);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(snaps[0].join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["version"], 1);
    assert_eq!(manifest["phase"], "p");
    for g in manifest["gates"].as_array().unwrap() {
        assert_eq!(g["state"], "pass");
        // The manifest's hash is the ledger's hash of that entry.
        let shown = p.run(&["evidence", "show", &g["seq"].to_string()]);
        let entry: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
        assert_eq!(entry["hash"], g["hash"], "{shown:?}");
        assert_eq!(entry["entry"]["gate"], g["id"]);
    }
    assert_eq!(
        manifest["heads"].as_array().unwrap().len(),
        1,
        "the run that produced the evidence"
    );
    assert!(
        std::fs::read_to_string(snaps[0].join("report.md"))
            .unwrap()
            .contains("# Phase `p` closed")
    );
    // A run that leaves the phase done writes no second snapshot.
    assert_eq!(p.run(&["run"]).code, 0);
    assert_eq!(snapshots(&p).len(), 1);
}

#[test]
fn close_refuses_a_phase_that_is_not_done_and_tags_only_a_clean_tree() {
    let p = Project::new(&one_phase(&[("unit", "run = \"true\"")]));
    let r = p.run(&["close", "p"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("not done"), "{r:?}");

    p.commit_all("roadmap");
    assert_eq!(p.run(&["run"]).code, 0);
    std::fs::write(
        p.file("phasegate.toml"),
        format!(
            "{}\n# edited\n",
            std::fs::read_to_string(p.file("phasegate.toml")).unwrap()
        ),
    )
    .unwrap();
    let dirty = p.run(&["close", "p", "--tag"]);
    assert_eq!(dirty.code, 2, "{dirty:?}");
    assert!(dirty.stderr.contains("uncommitted changes"), "{dirty:?}");
    assert!(p.git(&["tag"]).is_empty(), "no tag on a dirty tree");

    p.commit_all("edit");
    let r: crate::harness::Ran = p
        .cmd(&["close", "p", "--tag"])
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 0, "{r:?}");
    let tags = p.git(&["tag"]);
    assert!(tags.starts_with("phase-p-"), "{tags}");
    let message = p.git(&["tag", "-n99", tags.trim()]);
    assert!(message.contains("phase p closed"), "{message}");
}
