//! The gate cache from the command line: `run` reuses unchanged gates, `--explain` and
//! `why` say why a gate ran, `--no-cache` and `--changed`.

use crate::harness::{Project, one_phase};

/// `build` logs each time it really runs; `docs` declares no inputs.
fn project() -> Project {
    let p = Project::new(&one_phase(&[
        (
            "build",
            "run = \"echo ran >> runs.log\"\ninputs = [\"src/**\", \"$BUILD_MODE\"]",
        ),
        (
            "test",
            "run = \"true\"\ninputs = [\"src/**\"]\nneeds = [\"build\"]",
        ),
        ("docs", "run = \"true\""),
    ]));
    std::fs::create_dir(p.file("src")).unwrap();
    std::fs::write(p.file("src/a.txt"), "a").unwrap();
    p
}

fn runs(p: &Project) -> usize {
    std::fs::read_to_string(p.file("runs.log"))
        .unwrap_or_default()
        .lines()
        .count()
}

#[test]
fn an_unchanged_gate_is_not_run_again_and_explain_says_why_each_gate_ran() {
    let p = project();
    let r = p.run(&["run", "--explain"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .contains("build  ran: no earlier evidence to reuse"),
        "{r:?}"
    );
    assert_eq!(runs(&p), 1);

    let r = p.run(&["run", "--explain"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(runs(&p), 1, "a cached gate ran: {r:?}");
    assert!(r.stdout.contains("gates: 3 pass (2 cached)"), "{r:?}");
    assert!(r.stdout.contains("build  cached from evidence #"), "{r:?}");
    assert!(
        r.stdout
            .contains("docs   ran: not cacheable: it declares no `inputs`"),
        "{r:?}"
    );
    let status = p.run(&["status"]);
    assert!(
        status.stdout.contains("pass (cached from evidence #"),
        "{status:?}"
    );

    std::fs::write(p.file("src/a.txt"), "b").unwrap();
    let why = p.run(&["why", "build"]);
    assert!(
        why.stdout
            .contains("cache:    a run would run it: changed: file `src/a.txt` changed"),
        "{why:?}"
    );
    let r = p
        .cmd(&["run", "--explain"])
        .env("BUILD_MODE", "release")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&r.stdout);
    assert!(
        out.contains("build  ran: changed: variable `BUILD_MODE` set, file `src/a.txt` changed"),
        "{out}"
    );
    assert!(
        out.contains("test   ran: changed: needed gate `build` changed, file `src/a.txt` changed"),
        "{out}"
    );
    assert_eq!(runs(&p), 2);
}

#[test]
fn no_cache_runs_everything_and_changed_runs_only_what_changed() {
    let p = project();
    p.run(&["run"]);
    let r = p.run(&["run", "--no-cache", "--explain"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("build  ran: --no-cache"), "{r:?}");
    assert_eq!(runs(&p), 2);

    let r = p.run(&["run", "--changed"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr
            .contains("--changed: 3 gate(s) unchanged since their evidence, not run"),
        "{r:?}"
    );
    assert!(r.stderr.contains("nothing to run"), "{r:?}");

    std::fs::write(p.file("src/b.txt"), "new").unwrap();
    let r = p.run(&["run", "--changed", "--explain"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("--changed: 1 gate(s) unchanged"), "{r:?}");
    assert!(r.stdout.contains("file `src/b.txt` added"), "{r:?}");
    assert!(!r.stdout.contains("docs "), "{r:?}");
    assert_eq!(runs(&p), 3);
}

/// The git facts of the latest record of `gate`.
fn git_of_latest(p: &Project, gate: &str) -> Option<phasegate_model::GitInfo> {
    let ledger = phasegate_ledger::Ledger::open(&p.file(".phasegate")).unwrap();
    let records = ledger.latest_per_gate().unwrap();
    let r = records.iter().rfind(|r| r.gate.as_str() == gate).unwrap();
    r.git.clone()
}

#[test]
fn a_fully_cached_run_in_a_git_tree_starts_no_process_and_still_knows_the_commit() {
    let p = Project::new(&one_phase(&[(
        "build",
        "run = \"echo ran >> runs.log\"\ninputs = [\"src/**\"]",
    )]));
    std::fs::create_dir(p.file("src")).unwrap();
    std::fs::write(p.file("src/a.txt"), "a").unwrap();
    std::fs::write(p.file(".gitignore"), ".phasegate/\nruns.log\n").unwrap();
    p.commit_all("one");
    let head = p.git(&["rev-parse", "HEAD"]).trim().to_owned();
    assert_eq!(p.run(&["run"]).code, 0);
    // Nothing to start anything with: PATH holds neither `git` nor `sh`.
    let empty = tempfile::tempdir().unwrap();
    let out = p.cmd(&["run"]).env("PATH", empty.path()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(stdout.contains("1 cached"), "{stdout}");
    assert_eq!(runs(&p), 1);
    let git = git_of_latest(&p, "build").expect("the commit is known without git");
    assert_eq!((git.commit.as_str(), git.dirty), (head.as_str(), false));

    // A tracked file changed: the tree is dirty (git, found on PATH again, says so).
    std::fs::write(p.file("src/a.txt"), "b").unwrap();
    assert_eq!(p.run(&["run"]).code, 0);
    assert_eq!(runs(&p), 2);
    assert!(git_of_latest(&p, "build").unwrap().dirty);
    // Changed back: clean again, and cached again.
    std::fs::write(p.file("src/a.txt"), "a").unwrap();
    assert_eq!(p.run(&["run"]).code, 0);
    assert!(!git_of_latest(&p, "build").unwrap().dirty);
}
