//! `phasegate import` and `phasegate sync` on a markdown roadmap.

use crate::harness::{Project, Ran};

const DOC: &str = "# Shop readiness\r\n\r\n## M1 Baseline\r\n- [ ] Unit tests pass: `./unit.sh`\r\n- [x] Lint is clean: `./lint.sh`\r\n\r\nSome   prose  that\tstays.\r\n\r\n## M2 Launch\r\n- [~] Smoke test: `./smoke.sh`\r\n";

fn project_with_doc() -> Project {
    let p = Project::new("");
    std::fs::remove_file(p.file("phasegate.toml")).unwrap();
    std::fs::write(p.file("ROADMAP.md"), DOC).unwrap();
    for (script, code) in [("unit.sh", 0), ("lint.sh", 1), ("smoke.sh", 1)] {
        std::fs::write(p.file(script), format!("#!/bin/sh\nexit {code}\n")).unwrap();
        let _ = std::process::Command::new("chmod")
            .args(["+x", &p.file(script).display().to_string()])
            .status();
    }
    p
}

#[test]
fn import_writes_a_draft_that_checks_and_is_deterministic() {
    let p = project_with_doc();
    let r = p.run(&["import", "ROADMAP.md"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("3 run gates"), "{r:?}");
    let first = std::fs::read_to_string(p.file("phasegate.toml")).unwrap();
    assert!(first.contains("markdown = \"ROADMAP.md\""), "{first}");
    assert_eq!(p.run(&["check"]).code, 0);
    let again = p.run(&["import", "ROADMAP.md"]);
    assert_eq!(again.code, 2, "refuses to overwrite: {again:?}");
    assert_eq!(p.run(&["import", "ROADMAP.md", "--force"]).code, 0);
    assert_eq!(
        std::fs::read_to_string(p.file("phasegate.toml")).unwrap(),
        first,
        "same document, same file"
    );
}

#[test]
fn sync_ticks_from_evidence_unticks_hand_ticks_and_changes_nothing_else() {
    let p = project_with_doc();
    assert_eq!(p.run(&["import", "ROADMAP.md"]).code, 0);
    p.run(&["run"]);
    let check: Ran = p.run(&["sync", "--check"]);
    assert_eq!(
        check.code, 1,
        "the document disagrees with the evidence: {check:?}"
    );
    assert_eq!(
        std::fs::read_to_string(p.file("ROADMAP.md")).unwrap(),
        DOC,
        "--check writes nothing"
    );

    let r = p.run(&["sync"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("ticked by hand with no passing evidence"),
        "{r:?}"
    );
    let expected = DOC
        .replace("- [ ] Unit tests", "- [x] Unit tests")
        .replace("- [x] Lint", "- [ ] Lint");
    assert_eq!(
        std::fs::read_to_string(p.file("ROADMAP.md")).unwrap(),
        expected,
        "only the boxes change; CRLF, tabs and spacing stay"
    );
    assert_eq!(p.run(&["sync", "--check"]).code, 0, "now in agreement");

    // An item whose text was edited away is reported, not silently dropped.
    std::fs::write(
        p.file("ROADMAP.md"),
        expected.replace("Lint is clean", "Linting is clean"),
    )
    .unwrap();
    let r = p.run(&["sync"]);
    assert!(r.stderr.contains("no longer found"), "{r:?}");
}
