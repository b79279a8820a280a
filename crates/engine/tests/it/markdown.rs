//! Import and sync through the engine: files written atomically, `--check` writes nothing.

use crate::support::{Project, run};

const MD: &str = "# Shop\n\n## Phase 1: Baseline\n\n- [x] Tests pass: `cargo test`\n- [ ] Security review signed by the CISO\n";

#[test]
fn import_writes_a_draft_that_opens_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join("ROADMAP.md");
    std::fs::write(&md, MD).unwrap();
    let out = dir.path().join("phasegate.toml");
    let summary = phasegate_engine::import(&md, &out, false).unwrap();
    assert_eq!((summary.phases, summary.run, summary.signoff), (1, 1, 1));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("markdown = \"ROADMAP.md\""), "{text}");
    let e = phasegate_engine::import(&md, &out, false).unwrap_err();
    assert!(
        e.is_usage() && e.to_string().contains("already exists"),
        "{e}"
    );
    phasegate_engine::import(&md, &out, true).unwrap();
}

#[test]
fn sync_unticks_a_box_without_evidence_and_ticks_it_once_the_gate_passes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ROADMAP.md"), MD).unwrap();
    phasegate_engine::import(
        &dir.path().join("ROADMAP.md"),
        &dir.path().join("phasegate.toml"),
        false,
    )
    .unwrap();
    // The drafted command would take long here: make the run gate a quick one.
    let toml = std::fs::read_to_string(dir.path().join("phasegate.toml")).unwrap();
    std::fs::write(
        dir.path().join("phasegate.toml"),
        toml.replace("run = \"cargo test\"", "run = \"true\""),
    )
    .unwrap();
    let p = Project { dir };
    let s = p.session();
    let md = p.dir.path().join("ROADMAP.md");

    let check = s.sync(None, true).unwrap();
    assert!(
        !check.written && check.synced.changes.len() == 1,
        "{:?}",
        check.synced.changes
    );
    assert_eq!(
        std::fs::read_to_string(&md).unwrap(),
        MD,
        "--check writes nothing"
    );
    let done = s.sync(None, false).unwrap();
    assert!(done.written);
    assert!(
        std::fs::read_to_string(&md)
            .unwrap()
            .contains("- [ ] Tests pass")
    );

    run(&s, &["tests-pass-cargo-test"]);
    s.sync(None, false).unwrap();
    assert!(
        std::fs::read_to_string(&md)
            .unwrap()
            .contains("- [x] Tests pass")
    );
}

#[test]
fn init_writes_a_starter_that_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phasegate.toml");
    phasegate_engine::init(&path, false).unwrap();
    phasegate_roadmap::load(&path).unwrap();
    let e = phasegate_engine::init(&path, false).unwrap_err();
    assert!(e.is_usage(), "{e}");
}

/// `phasegate import` writes a file probe's gate without a target: it must know the same
/// file probes as the probes crate.
#[test]
fn import_knows_which_probes_read_the_project_files() {
    for kind in phasegate_probes::KINDS {
        let reads_files = phasegate_probes::target(kind) == Some(phasegate_probes::Target::Files);
        assert_eq!(
            phasegate_markdown::FILE_PROBES.contains(kind),
            reads_files,
            "probe `{kind}`: add it to (or remove it from) FILE_PROBES in crates/markdown/src/classify.rs"
        );
    }
}
