//! Coverage end to end: a probe gate whose pass skipped rules is shown as partial by `run`,
//! `status` (table and JSON) and `why`; `require` turns a skipped rule into a fail saying what
//! to add; an unknown rule name is a roadmap error at its file:line:column; a `todo` gate
//! never runs and stays missing.

use crate::harness::{Project, flat};

const SERVICE: &str = r#"
[services.api]
run = '"$PHASEGATE_EXE" sample-service --port {port} --db m.db --flaw ready-ignores-db'
ready = { http = "http://127.0.0.1:{port}/health/live", within = "30s" }
"#;

#[test]
fn a_partial_pass_is_shown_as_partial_and_a_required_rule_fails() {
    let p = Project::new(&format!(
        r#"{SERVICE}
[gates.ready]
title = "Health ready reflects DB dependency"
probe = "health"
service = "api"

[gates.ready-required]
probe = "health"
service = "api"
require = ["dependency"]

[gates.later]
probe = "cors"
service = "api"
allowed = ["https://app.example.com"]
todo = "fill in: the production allowlist"

[[phase]]
id = "launch"
gates = ["ready", "ready-required", "later"]
"#
    ));
    let run = p.run(&["run"]);
    assert_eq!(run.code, 1, "{run:?}");
    // The progress lines, one per gate (the table wraps its cells).
    let all = run.all();
    assert!(all.contains("◐ ready pass (partial: 2 skipped) ("), "{all}");
    assert!(
        all.contains("✘ ready-required fail (") && all.contains("rule not exercised, which `require` does not allow: dependency: no fault hook: add `fault` and `restore`"),
        "{all}"
    );
    assert!(
        all.contains("↷ later skipped (0.0s): not ready to run: fill in: the production allowlist"),
        "{all}"
    );
    let table = flat(&all);
    assert!(table.contains("◐ pass (partial: 2 skipped)"), "{table}");
    assert!(table.contains("skipped: dependency, recovery"), "{table}");
    assert!(table.contains("1 pass (1 partial), 1 fail"), "{table}");

    let status = flat(&p.run(&["status"]).all());
    assert!(status.contains("◐ pass (partial: 2 skipped)"), "{status}");
    assert!(status.contains("1/3 passing, 1 partial"), "{status}");
    assert!(
        status.contains("gate `later` is missing: todo: fill in: the production allowlist"),
        "{status}"
    );

    let json: serde_json::Value =
        serde_json::from_str(&p.run(&["status", "--format", "json"]).stdout).unwrap();
    let ready = &json["gates"][0];
    assert_eq!(ready["state"], "pass");
    assert_eq!(
        ready["coverage"]["exercised"],
        serde_json::json!(["live", "ready"])
    );
    assert_eq!(ready["coverage"]["skipped"][0]["rule"], "dependency");
    assert_eq!(json["phases"][0]["partial"], serde_json::json!(["ready"]));

    let why = p.run(&["why", "ready"]).stdout;
    assert!(
        why.starts_with("gate `ready`: pass (partial: 2 skipped)"),
        "{why}"
    );
    assert!(why.contains("  tested:   live, ready\n"), "{why}");
    assert!(
        why.contains("  skipped:  dependency: no fault hook: add `fault` and `restore`"),
        "{why}"
    );
}

#[test]
fn partial_fail_in_the_project_fails_every_partial_probe_gate() {
    let p = Project::new(&format!(
        r#"[project]
name = "strict"
partial = "fail"
{SERVICE}
[gates.ready]
probe = "health"
service = "api"

[[phase]]
id = "launch"
gates = ["ready"]
"#
    ));
    let run = p.run(&["run"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        flat(&run.all()).contains("rules not exercised, which partial = \"fail\" does not allow: dependency: no fault hook"),
        "{run:?}"
    );
}

#[test]
fn an_unknown_rule_in_require_is_located_and_lists_the_probes_rules() {
    let p = Project::new(
        "[gates.ready]\nprobe = \"health\"\nbase_url = \"http://127.0.0.1:9\"\nrequire = [\"ready\", \"db\"]\n\n[[phase]]\nid = \"p\"\ngates = [\"ready\"]\n",
    );
    let r = p.run(&["check"]);
    assert_eq!(r.code, 2, "{r:?}");
    let all = flat(&r.all());
    assert!(
        all.contains("unknown rule `db` in `require` of probe `health`"),
        "{all}"
    );
    assert!(all.contains("phasegate.toml:4:21"), "{all}");
    assert!(
        all.contains("the rules of `health` are `live`, `ready`, `dependency` and `recovery`"),
        "{all}"
    );
}
