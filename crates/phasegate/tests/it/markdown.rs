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

/// A roadmap that states its work as plain bullets, without a single checkbox.
const PLAIN: &str = "# Billing service readiness\n\nContext: nothing here is ticked by hand.\n\n## Week 1: Foundations\n\n- Unit suite is green: `./unit.sh`\n- Lint passes with no warnings: `./lint.sh`\n  continued on a second line\n* Payment runbook reviewed by the on-call lead\n\n## Acceptance\n\n1. Smoke suite passes: `./smoke.sh`\n\nNotes: - not an item, and [ ] not a box.\n";

#[test]
fn sync_add_boxes_turns_linked_plain_items_into_checkboxes_and_keeps_every_other_byte() {
    let p = Project::new("");
    std::fs::remove_file(p.file("phasegate.toml")).unwrap();
    std::fs::write(p.file("ROADMAP.md"), PLAIN).unwrap();
    for (script, code) in [("unit.sh", 0), ("lint.sh", 1), ("smoke.sh", 0)] {
        std::fs::write(p.file(script), format!("#!/bin/sh\nexit {code}\n")).unwrap();
        let _ = std::process::Command::new("chmod")
            .args(["+x", &p.file(script).display().to_string()])
            .status();
    }
    assert_eq!(p.run(&["import", "ROADMAP.md"]).code, 0);
    p.run(&["run"]);
    // Without boxes, sync has nothing to tick.
    let plain = p.run(&["sync"]);
    assert_eq!(plain.code, 0, "{plain:?}");
    assert_eq!(
        std::fs::read_to_string(p.file("ROADMAP.md")).unwrap(),
        PLAIN
    );

    let r = p.run(&["sync", "--add-boxes"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("ROADMAP.md:7: added a checkbox"), "{r:?}");
    let boxed = std::fs::read_to_string(p.file("ROADMAP.md")).unwrap();
    assert_eq!(
        boxed,
        PLAIN
            .replace("- Unit suite", "- [x] Unit suite")
            .replace("- Lint passes", "- [ ] Lint passes")
            .replace("* Payment runbook", "* [ ] Payment runbook")
            .replace("1. Smoke suite", "1. [x] Smoke suite"),
        "only the boxes were added, and sync ticked the passing ones"
    );
    // From then on plain `sync` keeps them true, and adding boxes again adds none.
    std::fs::write(p.file("lint.sh"), "#!/bin/sh\nexit 0\n").unwrap();
    p.run(&["run"]);
    assert_eq!(p.run(&["sync"]).code, 0);
    let again = p.run(&["sync", "--add-boxes"]);
    assert!(
        again
            .stdout
            .contains("every linked item already has a checkbox"),
        "{again:?}"
    );
    assert_eq!(
        std::fs::read_to_string(p.file("ROADMAP.md")).unwrap(),
        boxed.replace("- [ ] Lint passes", "- [x] Lint passes")
    );
    assert_eq!(p.run(&["sync", "--add-boxes", "--check"]).code, 2);
}
