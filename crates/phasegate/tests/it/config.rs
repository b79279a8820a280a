//! Roadmap errors as the user sees them, and finding the roadmap.

use crate::harness::{BIN, Project};

/// A project directory is `$TMPDIR/.tmpXXXXXX`, and `TMPDIR` is not always `/tmp` (the leak
/// check's README advice points it elsewhere).
fn snapshot_filters() -> Vec<(&'static str, &'static str)> {
    vec![(r"(?:/[^/\s]+)*/\.tmp[A-Za-z0-9]+", "[TMP]")]
}

#[test]
fn every_roadmap_error_is_reported_at_once_with_its_location() {
    let p = Project::new(
        r#"[project]
name = "broken"
base_gates = ["lnit"]

[gates.lint]
run = "cargo clippy"
timout = "5m"

[gates.test]
run = "cargo test"
needs = ["biuld"]
timeout = "five minutes"

[gates.orphan]
title = "no kind"

[gates.a]
run = "true"
needs = ["b"]

[gates.b]
run = "true"
needs = ["a"]

[[phase]]
id = "one"
gates = ["lint"]

[[phase]]
id = "one"
gates = ["test"]
"#,
    );
    let r = p.run(&["check"]);
    assert_eq!(r.code, 2, "{r:?}");
    insta::with_settings!({ filters => snapshot_filters() }, {
        insta::assert_snapshot!(r.stderr);
    });
    for expected in [
        "phasegate.toml:3:",
        "did you mean `lint`?",
        "did you mean `timeout`?",
        "five minutes",
        "no kind",
        "cycle",
        "one",
    ] {
        assert!(
            r.stderr.contains(expected),
            "missing {expected:?}:\n{}",
            r.stderr
        );
    }
}

#[test]
fn check_prints_a_summary_of_a_valid_roadmap() {
    let p = Project::new(
        "[project]\nname = \"shop\"\nbase_gates = [\"test\"]\n\n[gates.test]\nrun = \"true\"\n\n[gates.smoke]\nrun = \"true\"\nneeds = [\"test\"]\n\n[[phase]]\nid = \"launch\"\ntitle = \"Launch\"\nafter = [\"base\"]\ngates = [\"smoke\"]\n\n[[phase]]\nid = \"base\"\ntitle = \"Baseline\"\n",
    );
    let r = p.run(&["check"]);
    assert_eq!(r.code, 0, "{r:?}");
    insta::with_settings!({ filters => snapshot_filters() }, {
        insta::assert_snapshot!(r.stdout);
    });
}

#[test]
fn roadmap_is_found_in_parent_directories_or_named_with_config() {
    let p = Project::new("[gates.x]\nrun = \"true\"\n\n[[phase]]\nid = \"p\"\ngates = [\"x\"]\n");
    let sub = p.file("a/b");
    std::fs::create_dir_all(&sub).unwrap();
    let r: crate::harness::Ran = p.cmd(&["check"]).current_dir(&sub).output().unwrap().into();
    assert_eq!(r.code, 0, "{r:?}");
    let elsewhere = tempfile::tempdir().unwrap();
    let r: crate::harness::Ran = std::process::Command::new(BIN)
        .arg("check")
        .current_dir(elsewhere.path())
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("phasegate init"), "{r:?}");
    let cfg = p.file("phasegate.toml");
    let r: crate::harness::Ran = std::process::Command::new(BIN)
        .args(["-c", cfg.to_str().unwrap(), "run"])
        .current_dir(elsewhere.path())
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        p.file(".phasegate/ledger.sqlite").exists(),
        "the ledger lives beside the roadmap"
    );
}

#[test]
fn unknown_run_target_is_a_usage_error_with_a_suggestion() {
    let p = Project::new(
        "[gates.build]\nrun = \"true\"\n\n[[phase]]\nid = \"p\"\ngates = [\"build\"]\n",
    );
    let r = p.run(&["run", "biuld"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("did you mean `build`?"), "{r:?}");
}

#[test]
fn init_writes_a_starter_that_checks_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[package]\nname = \"x\"\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    let run = |args: &[&str]| -> crate::harness::Ran {
        std::process::Command::new(BIN)
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap()
            .into()
    };
    assert_eq!(run(&["init"]).code, 0);
    let text = std::fs::read_to_string(dir.path().join("phasegate.toml")).unwrap();
    assert!(text.contains("cargo test"), "{text}");
    assert_eq!(run(&["check"]).code, 0);
    let again = run(&["init"]);
    assert_eq!(again.code, 2, "{again:?}");
    assert!(again.stderr.contains("--force"));
}
