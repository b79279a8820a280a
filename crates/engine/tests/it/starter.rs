//! `starter` for each kind of repository: the right gates, and always a valid roadmap.

use std::fs;
use std::path::Path;

use phasegate_engine::starter;
use phasegate_model::{GateKind, Roadmap};
use phasegate_roadmap::{parse, render_plain};

fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

/// The starter for `dir`, checked to parse.
fn starter_of(dir: &Path) -> (String, Roadmap) {
    let text = starter(dir);
    match parse(&text, "phasegate.toml") {
        Ok(r) => (text, r),
        Err(e) => panic!("{text}\n{}", render_plain(&e)),
    }
}

fn commands(r: &Roadmap) -> Vec<(&str, &str)> {
    r.gates
        .iter()
        .map(|g| match &g.kind {
            GateKind::Run { command } => (g.id.as_str(), command.as_str()),
            other => panic!("unexpected kind {other:?}"),
        })
        .collect()
}

fn ids(ids: &[phasegate_model::GateId]) -> Vec<&str> {
    ids.iter().map(|g| g.as_str()).collect()
}

#[test]
fn cargo() {
    let dir = repo(&[("Cargo.toml", "[package]\nname = \"x\"\n")]);
    let (text, r) = starter_of(dir.path());
    assert_eq!(
        commands(&r),
        [
            ("fmt", "cargo fmt --all -- --check"),
            (
                "clippy",
                "cargo clippy --workspace --all-targets -- -D warnings"
            ),
            ("test", "cargo test --workspace"),
            ("build", "cargo build --release"),
        ]
    );
    assert_eq!(ids(&r.project.base_gates), ["fmt", "clippy", "test"]);
    assert_eq!(r.phases.len(), 1);
    assert_eq!(r.phases[0].id.as_str(), "baseline");
    assert_eq!(ids(&r.phases[0].gates), ["build"]);
    assert_eq!(ids(&r.gate("build").unwrap().needs), ["test"]);
    assert!(text.contains("# [[phase]]\n# id = \"launch\""), "{text}");
    let name = dir.path().file_name().unwrap().to_string_lossy();
    assert_eq!(r.project.name, name);
}

#[test]
fn pnpm_uses_the_scripts_that_exist() {
    let dir = repo(&[
        (
            "package.json",
            r#"{"scripts": {"lint": "eslint .", "test": "vitest", "build": "vite build", "dev": "vite"}}"#,
        ),
        ("pnpm-lock.yaml", "lockfileVersion: '9.0'\n"),
    ]);
    let (_, r) = starter_of(dir.path());
    assert_eq!(
        commands(&r),
        [
            ("lint", "pnpm run lint"),
            ("test", "pnpm run test"),
            ("build", "pnpm run build"),
        ]
    );
}

#[test]
fn npm_without_a_pnpm_lock_and_without_the_placeholder_test() {
    let dir = repo(&[(
        "package.json",
        r#"{"scripts": {"typecheck": "tsc --noEmit", "test": "echo \"Error: no test specified\" && exit 1"}}"#,
    )]);
    let (_, r) = starter_of(dir.path());
    assert_eq!(commands(&r), [("typecheck", "npm run typecheck")]);
    assert!(r.phases[0].gates.is_empty());
}

#[test]
fn make_targets() {
    let dir = repo(&[(
        "Makefile",
        "VERSION := 1\n.PHONY: lint test\nlint:\n\tshellcheck *.sh\ntest: lint\n\t./run-tests\ninstall:\n\tcp x /usr/local/bin\n",
    )]);
    let (_, r) = starter_of(dir.path());
    assert_eq!(commands(&r), [("lint", "make lint"), ("test", "make test")]);
}

#[test]
fn several_tools_get_distinct_ids() {
    let dir = repo(&[
        ("Cargo.toml", "[workspace]\n"),
        (
            "package.json",
            r#"{"scripts": {"test": "jest", "build": "webpack"}}"#,
        ),
        ("GNUmakefile", "build:\n\techo\n"),
    ]);
    let (_, r) = starter_of(dir.path());
    let got: Vec<&str> = r.gates.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(
        got,
        [
            "fmt",
            "clippy",
            "test",
            "build",
            "npm-test",
            "npm-build",
            "make-build"
        ]
    );
    assert_eq!(ids(&r.gate("npm-build").unwrap().needs), ["npm-test"]);
    assert_eq!(
        ids(&r.phases[0].gates),
        ["build", "npm-build", "make-build"]
    );
}

#[test]
fn nothing_detected_gives_an_example_gate_that_fails_until_replaced() {
    let dir = repo(&[("README.md", "hello")]);
    let (text, r) = starter_of(dir.path());
    assert_eq!(r.gates.len(), 1);
    assert_eq!(r.gates[0].id.as_str(), "example");
    let GateKind::Run { command } = &r.gates[0].kind else {
        panic!()
    };
    assert!(command.contains("exit 1"), "{command}");
    assert_eq!(ids(&r.phases[0].gates), ["example"]);
    assert!(text.contains("No build tool was detected"));
}

#[test]
fn an_unreadable_package_json_is_not_fatal() {
    let dir = repo(&[("package.json", "{ not json")]);
    let (_, r) = starter_of(dir.path());
    assert_eq!(r.gates[0].id.as_str(), "example");
}

#[test]
fn every_key_is_explained_the_first_time() {
    let dir = repo(&[("Cargo.toml", "[workspace]\n")]);
    let text = starter(dir.path());
    let mut previous = "";
    let mut seen = std::collections::BTreeSet::new();
    for line in text.lines() {
        if let Some((key, _)) = line.split_once(" = ")
            && !line.starts_with('#')
            && seen.insert(key.to_owned())
        {
            assert!(
                previous.starts_with('#'),
                "`{key}` is not explained:\n{text}"
            );
        }
        previous = line;
    }
}

#[test]
fn cargo_starter_snapshot() {
    let dir = repo(&[("Cargo.toml", "[workspace]\n")]);
    let text = starter(dir.path());
    let name = dir
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let text = text.replace(&name, "[dir]");
    insta::with_settings!({ snapshot_path => "../snapshots" }, {
        insta::assert_snapshot!(text);
    });
}
