//! Rendered diagnostics, snapshot-tested: what a user sees is a contract.

use phasegate_roadmap::{parse, render_plain};

/// Snapshots live in `tests/snapshots`, beside the test binary's folder.
macro_rules! snapshot {
    ($value:expr) => {
        insta::with_settings!({ snapshot_path => "../snapshots" }, {
            insta::assert_snapshot!($value);
        })
    };
}

/// One of each common mistake: an unknown key with a suggestion, an undefined gate with a
/// suggestion, a bad duration, a gate with no kind, a 3-gate `needs` cycle, an `after`
/// cycle and a duplicate phase id.
const SEVERAL: &str = r#"[project]
name = "shop"
base_gates = ["lint"]

[gates.fmt]
run = "cargo fmt --check"
timout = "5m"

[gates.test]
run = "cargo test"

[gates.lint]
run = "cargo clippy -- -D warnings"
needs = ["fmt", "tset"]
timeout = "5 lightyears"

[gates.docs]
title = "Docs build"

[gates.a]
run = "true"
needs = ["b"]

[gates.b]
run = "true"
needs = ["c"]

[gates.c]
run = "true"
needs = ["a"]

[[phase]]
id = "baseline"
gates = ["fmt"]
after = ["launch"]

[[phase]]
id = "launch"
after = ["baseline"]

[[phase]]
id = "baseline"
"#;

#[test]
fn several_errors_at_once() {
    let err = parse(SEVERAL, "phasegate.toml").unwrap_err();
    assert_eq!(err.problems(), 7);
    let out = render_plain(&err);
    // Every problem names file:line:column.
    assert_eq!(out.matches("╭─[phasegate.toml:").count(), 7, "{out}");
    snapshot!(out);
}

#[test]
fn toml_syntax_error() {
    let src = "[project]\nname = \"shop\n\n[[phase]]\nid = \"baseline\"\n";
    let err = parse(src, "phasegate.toml").unwrap_err();
    assert_eq!(err.problems(), 1);
    snapshot!(render_plain(&err));
}

#[test]
fn probe_and_signoff_mistakes() {
    let src = r#"[gates.headers]
probe = "headers"
path = "/"
neds = ["x"]

[gates.go-live]
signoff = { roles = ["sre", "security"], approvals = 3 }
run = "true"

[[phase]]
id = "launch"
gates = ["headers", "go-live"]
"#;
    let err = parse(src, "phasegate.toml").unwrap_err();
    snapshot!(render_plain(&err));
}

#[test]
fn no_phase_at_all() {
    let err = parse("[gates.test]\nrun = \"cargo test\"\n", "phasegate.toml").unwrap_err();
    let out = render_plain(&err);
    assert!(out.contains("[phasegate.toml:1:1]"), "{out}");
    snapshot!(out);
}

#[test]
fn a_file_cut_short_points_at_its_last_character() {
    let err = parse("[project]\nname = \"shop", "phasegate.toml").unwrap_err();
    let p = err.iter().next().unwrap();
    assert_eq!(p.spans()[0], 21..22);
    assert!(render_plain(&err).contains("[phasegate.toml:2:12]"));
}

/// Issue 8: a duration that parses but would overflow a clock reading is a diagnostic at
/// its place, never a panic later (a service's `ready.within` is added to `Instant::now()`).
#[test]
fn durations_have_an_upper_bound() {
    let src = "[project]\nname = \"t\"\n\n[services.web]\nrun = \"true\"\nready = { tcp = \"{port}\", within = \"500000000y\" }\n\n[gates.a]\nrun = \"true\"\ntimeout = \"101y\"\nservice = \"web\"\n\n[gates.b]\nrun = \"true\"\ntimeout = \"1000000000000y\"\n\n[[phase]]\nid = \"p\"\ngates = [\"a\", \"b\"]\n";
    let err = parse(src, "phasegate.toml").unwrap_err();
    let out = render_plain(&err);
    assert_eq!(err.problems(), 3, "{out}");
    assert!(out.contains("phasegate.toml:6:"), "{out}");
    assert!(out.contains("phasegate.toml:10:11"), "{out}");
    assert!(out.contains("`timeout` is too long"), "{out}");
    assert!(
        parse(
            &src.replace("101y", "99y")
                .replace("500000000y", "1y")
                .replace("1000000000000y", "1s"),
            "phasegate.toml"
        )
        .is_ok()
    );
}
