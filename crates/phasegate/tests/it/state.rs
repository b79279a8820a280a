//! Issue 19, "Where phasegate keeps its state": no private key one `git add` away,
//! read-only commands write nothing.

use crate::harness::{Project, files_below, flat, one_phase};

fn echo() -> String {
    one_phase(&[("say", "run = \"echo hello from the gate\"")])
}

/// Every file below the project, relative to it, sorted.
fn listing(p: &Project) -> Vec<String> {
    let mut files: Vec<String> = files_below(p.path())
        .iter()
        .map(|f| f.strip_prefix(p.path()).unwrap().display().to_string())
        .collect();
    files.sort();
    files
}

#[test]
fn init_and_run_in_a_fresh_git_repository_stage_no_key_and_no_log() {
    let p = Project::new("");
    std::fs::remove_file(p.file("phasegate.toml")).unwrap();
    p.git(&["init", "-q"]);
    let init = p.run(&["init"]);
    assert_eq!(init.code, 0, "{init:?}");
    assert!(init.stdout.contains("commit: phasegate.toml"), "{init:?}");
    assert!(
        init.stdout.contains("do not commit: .phasegate/"),
        "{init:?}"
    );
    p.run(&["run"]);
    // A gate that prints, so there is a log to keep out.
    std::fs::write(p.file("phasegate.toml"), echo()).unwrap();
    let run = p.run(&["run"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(p.ledger_db().exists());
    assert!(p.file(".phasegate/logs").is_dir());
    assert!(
        p.key_file().is_file(),
        "the key is in the user's key directory"
    );
    assert_eq!(
        std::fs::read_to_string(p.file(".phasegate/.gitignore"))
            .unwrap()
            .lines()
            .last(),
        Some("*")
    );

    let staged = p.git(&["add", "-A", "-n"]);
    assert!(staged.contains("phasegate.toml"), "{staged}");
    for banned in [
        ".phasegate",
        "signing.key",
        ".key",
        "logs/",
        "ledger.sqlite",
    ] {
        assert!(
            !staged.contains(banned),
            "`{banned}` would be staged:\n{staged}"
        );
    }
    // No key material anywhere in the work tree.
    let seed = std::fs::read_to_string(p.key_file()).unwrap();
    for file in files_below(p.path()) {
        if file.components().any(|c| c.as_os_str() == ".git") {
            continue;
        }
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        assert!(
            !text.contains(seed.trim()),
            "{} holds the key",
            file.display()
        );
    }
}

#[test]
fn read_only_commands_on_a_project_never_run_leave_it_unchanged() {
    let p = Project::new(&echo());
    let before = listing(&p);
    assert_eq!(before, ["phasegate.toml"]);

    let status = p.run(&["status"]);
    assert_eq!(status.code, 1, "no evidence is no-go: {status:?}");
    assert!(status.stderr.contains("no evidence yet"), "{status:?}");
    assert!(status.stdout.contains("say"), "{status:?}");
    let json = p.run(&["status", "--format", "json"]);
    assert_eq!(json.code, 1, "{json:?}");

    for (args, code) in [
        (&["why", "say"][..], 1),
        (&["check"][..], 0),
        (&["evidence", "list"][..], 0),
        (&["evidence", "verify"][..], 0),
        (&["evidence", "export"][..], 0),
        (&["evidence", "show", "1"][..], 2),
    ] {
        let r = p.run(args);
        assert_eq!(r.code, code, "{args:?}: {r:?}");
    }
    assert_eq!(
        listing(&p),
        before,
        "a read-only command wrote to the project"
    );
    assert!(
        files_below(p.state.path()).is_empty(),
        "a read-only command made a key"
    );
}

#[test]
fn status_with_a_roadmap_elsewhere_leaves_an_empty_directory_empty() {
    let p = Project::new(&echo());
    let empty = tempfile::tempdir().unwrap();
    let roadmap = p.file("phasegate.toml");
    let r: crate::harness::Ran = p
        .cmd(&["-c", roadmap.to_str().unwrap(), "status"])
        .current_dir(empty.path())
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 1, "{r:?}");
    assert!(files_below(empty.path()).is_empty());
    assert_eq!(listing(&p), ["phasegate.toml"]);
}

#[test]
fn a_key_inside_a_git_work_tree_is_refused_with_how_to_move_it() {
    let p = Project::new(&echo());
    p.git(&["init", "-q"]);
    // The layout before issue 19: the key beside the ledger.
    std::fs::create_dir(p.file(".phasegate")).unwrap();
    std::fs::write(p.file(".phasegate/signing.key"), "22".repeat(32)).unwrap();
    let r = p.run(&["run"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        flat(&r.stderr).contains("inside the git work tree"),
        "{r:?}"
    );
    assert!(
        flat(&r.stderr).contains("mv "),
        "says how to move it: {r:?}"
    );
    assert!(
        flat(&r.stderr).contains("PHASEGATE_ALLOW_KEY_IN_TREE"),
        "{r:?}"
    );
    assert!(!p.ledger_db().exists(), "nothing was run: {r:?}");

    let allowed: crate::harness::Ran = p
        .cmd(&["run"])
        .env("PHASEGATE_ALLOW_KEY_IN_TREE", "1")
        .output()
        .unwrap()
        .into();
    assert_eq!(allowed.code, 0, "{allowed:?}");

    // A key file given by path is held to the same rule.
    std::fs::remove_file(p.file(".phasegate/signing.key")).unwrap();
    std::fs::write(p.file("ci.key"), "33".repeat(32)).unwrap();
    let given: crate::harness::Ran = p
        .cmd(&["evidence", "key"])
        .env("PHASEGATE_SIGNING_KEY_FILE", p.file("ci.key"))
        .output()
        .unwrap()
        .into();
    assert_eq!(given.code, 2, "{given:?}");
    assert!(
        flat(&given.stderr).contains("inside the git work tree"),
        "{given:?}"
    );
}

#[test]
fn ci_keys_come_from_the_environment_or_a_mounted_file() {
    let p = Project::new(&echo());
    let seed = "44".repeat(32);
    let with_env = |args: &[&str]| -> crate::harness::Ran {
        p.cmd(args)
            .env("PHASEGATE_SIGNING_KEY", &seed)
            .output()
            .unwrap()
            .into()
    };
    let run = with_env(&["run"]);
    assert_eq!(run.code, 0, "{run:?}");
    let by_env = with_env(&["evidence", "key"]);
    assert_eq!(by_env.code, 0, "{by_env:?}");
    assert!(!p.key_dir().exists(), "no key was made");
    assert!(!p.file(".phasegate/key-id").exists());

    let mounted = tempfile::tempdir().unwrap();
    let file = mounted.path().join("signing-key");
    std::fs::write(&file, format!("{seed}\n")).unwrap();
    let by_file: crate::harness::Ran = p
        .cmd(&["evidence", "key"])
        .env("PHASEGATE_SIGNING_KEY_FILE", &file)
        .output()
        .unwrap()
        .into();
    assert_eq!(by_file.code, 0, "{by_file:?}");
    assert_eq!(by_file.stdout, by_env.stdout);
    let verify = p.run(&["evidence", "verify"]);
    assert_eq!(verify.code, 0, "{verify:?}");
}

#[test]
fn a_moved_checkout_finds_its_key() {
    let p = Project::new(&echo());
    let first = p.run(&["evidence", "key"]);
    assert_eq!(first.code, 0, "{first:?}");
    let elsewhere = tempfile::tempdir().unwrap();
    let moved = elsewhere.path().join("moved");
    std::fs::rename(p.path(), &moved).unwrap();
    let again: crate::harness::Ran = p
        .cmd(&["evidence", "key"])
        .current_dir(&moved)
        .output()
        .unwrap()
        .into();
    std::fs::rename(&moved, p.path()).unwrap();
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(again.stdout, first.stdout);
}
