//! The demo roadmap's probes of the project's files, through the real binary: `dependencies`
//! (advisories) on this workspace's Cargo.lock against the fixture OSV mirror, `migrations`
//! against the gate's last passing record in the ledger, and `advisories update`.

use std::path::Path;

use crate::harness::{Project, flat};

const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/demo");

/// The demo roadmap with the files `phasegate demo` writes beside it.
fn demo_project() -> Project {
    let p = Project::new(&std::fs::read_to_string(format!("{DEMO}/membership.toml")).unwrap());
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.lock"),
        p.file("Cargo.lock"),
    )
    .unwrap();
    for dir in ["advisories", "migrations"] {
        std::fs::create_dir_all(p.file(dir)).unwrap();
        for entry in std::fs::read_dir(format!("{DEMO}/{dir}")).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, p.file(dir).join(path.file_name().unwrap())).unwrap();
        }
    }
    p
}

/// The line of `Cargo.lock` naming `name`, and its locked version.
fn locked(lock: &Path, name: &str) -> (usize, String) {
    let text = std::fs::read_to_string(lock).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| *l == format!("name = \"{name}\""))
        .unwrap();
    let version = lines[at + 1]
        .strip_prefix("version = \"")
        .unwrap()
        .trim_end_matches('"');
    (at + 1, version.to_owned())
}

#[test]
fn the_demo_dependencies_gate_passes_and_fails_once_the_mirror_has_an_advisory_for_a_locked_crate()
{
    let p = demo_project();
    let r = p.run(&["run", "dependencies"]);
    assert_eq!(r.code, 0, "{r:?}");

    let (line, version) = locked(&p.file("Cargo.lock"), "tokio");
    let advisory = serde_json::json!({
        "schema_version": "1.6.0",
        "id": "RUSTSEC-2099-0001",
        "modified": "2026-01-01T00:00:00Z",
        "published": "2026-01-01T00:00:00Z",
        "aliases": ["CVE-2099-0001"],
        "summary": "tokio is broken",
        "affected": [{
            "package": {"ecosystem": "crates.io", "name": "tokio"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "1.0.0"}, {"fixed": "99.0.0"}]}],
        }],
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
    });
    std::fs::write(
        p.file("advisories/RUSTSEC-2099-0001.json"),
        advisory.to_string(),
    )
    .unwrap();
    let r = p.run(&["run", "dependencies"]);
    assert_eq!(r.code, 1, "{r:?}");
    let why = p.run(&["why", "dependencies"]);
    let text = flat(&why.all());
    for part in [
        format!("tokio@{version} is affected by RUSTSEC-2099-0001 (CVE-2099-0001)"),
        "fixed in 99.0.0".to_owned(),
        format!("Cargo.lock:{line}"),
    ] {
        assert!(text.contains(&flat(&part)), "{part} in {why:?}");
    }
}

#[test]
fn the_migrations_gate_compares_with_its_last_passing_run_in_the_ledger() {
    let p = demo_project();
    let r = p.run(&["run", "migrations"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(flat(&r.all()).contains("recorded 2 migrations"), "{r:?}");
    std::fs::write(
        p.file("migrations/0003_tokens.sql"),
        "CREATE TABLE tokens (id INTEGER);\n",
    )
    .unwrap();
    let r = p.run(&["run", "migrations"]);
    assert_eq!(r.code, 0, "a new migration is fine: {r:?}");

    let applied = p.file("migrations/0001_members.sql");
    let original = std::fs::read_to_string(&applied).unwrap();
    std::fs::write(&applied, original.replace("'member'", "'guest'")).unwrap();
    let r = p.run(&["run", "migrations"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        flat(&r.all()).contains("applied migration `migrations/0001_members.sql` changed"),
        "{r:?}"
    );
    // The failing run is no baseline: the change keeps failing until it is undone.
    let r = p.run(&["run", "migrations"]);
    assert_eq!(r.code, 1, "{r:?}");
    std::fs::write(&applied, original).unwrap();
    let r = p.run(&["run", "migrations"]);
    assert_eq!(r.code, 0, "{r:?}");
}

#[test]
fn advisories_update_without_network_fails_naming_the_url() {
    let p = demo_project();
    let r = p.run(&[
        "advisories",
        "update",
        "--ecosystem",
        "crates.io",
        "--source",
        "http://127.0.0.1:1/osv",
        "--timeout",
        "5s",
    ]);
    assert_eq!(r.code, 3, "{r:?}");
    let text = flat(&r.stderr);
    assert!(
        text.contains("cannot download `http://127.0.0.1:1/osv/crates.io/all.zip`"),
        "{r:?}"
    );
    assert!(text.contains("help: without network here, copy"), "{r:?}");
    let r = p.run(&["advisories", "update", "--ecosystem", "Maven"]);
    assert_eq!(r.code, 2, "{r:?}");
}

#[test]
fn check_reports_bad_advisories_and_migrations_parameters_at_their_line() {
    let roadmap = crate::harness::one_phase(&[
        (
            "deps",
            "probe = \"advisories\"\ndb = \"osv\"\naccept = [{ id = \"GHSA-1\", reason = \"\", until = 2027-01-01 }]",
        ),
        (
            "schema",
            "probe = \"migrations\"\nbaseline = \"last-pass\"\ndirs = [\"/etc\"]",
        ),
    ]);
    let p = Project::new(&roadmap);
    let r = p.run(&["check"]);
    assert_eq!(r.code, 2, "{r:?}");
    let text = flat(&r.all());
    assert!(
        text.contains("expected why the advisory is accepted"),
        "{r:?}"
    );
    assert!(
        text.contains("expected a folder inside the project"),
        "{r:?}"
    );
    assert!(!text.contains("has no target"), "{r:?}");
}

/// The demo's lockfile is a copy of the workspace's (the crate must package without files
/// outside it): refresh it with `cp Cargo.lock crates/phasegate/demo/sample-service.lock`.
#[test]
fn the_demo_lockfile_is_the_workspaces() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let workspace = std::fs::read_to_string(root.join("Cargo.lock")).unwrap();
    let demo =
        std::fs::read_to_string(root.join("crates/phasegate/demo/sample-service.lock")).unwrap();
    assert!(
        workspace == demo,
        "crates/phasegate/demo/sample-service.lock differs from Cargo.lock: cp Cargo.lock crates/phasegate/demo/sample-service.lock"
    );
}
