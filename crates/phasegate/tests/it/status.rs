//! `phasegate status` and `phasegate why`: the scorecard and its explanations.

use crate::harness::{Project, one_phase};

const TWO_PHASES: &str = r#"
[project]
name = "shop"

[gates.unit]
run = "true"

[gates.smoke]
run = "test -e smoke-ok"
fresh_for = "1h"

[[phase]]
id = "baseline"
title = "Baseline"
gates = ["unit"]

[[phase]]
id = "launch"
title = "Launch"
after = ["baseline"]
gates = ["smoke"]
"#;

fn json(p: &Project) -> (i32, serde_json::Value) {
    let r = p.run(&["status", "--format", "json"]);
    (
        r.code,
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {r:?}")),
    )
}

#[test]
fn status_json_moves_from_missing_to_go_as_evidence_arrives() {
    let p = Project::new(TWO_PHASES);
    let (code, doc) = json(&p);
    assert_eq!(code, 1);
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["go"], false);
    assert_eq!(doc["gates"][0]["state"], "missing");
    assert_eq!(doc["gates"][0]["last_run"], serde_json::Value::Null);
    assert_eq!(doc["phases"][1]["state"], "blocked");

    p.run(&["run"]);
    let (code, doc) = json(&p);
    assert_eq!(code, 1);
    assert_eq!(doc["phases"][0]["id"], "baseline");
    assert_eq!(doc["phases"][0]["state"], "done");
    assert_eq!(doc["phases"][1]["state"], "failing");
    assert_eq!(doc["gates"][1]["id"], "smoke");
    assert_eq!(doc["gates"][1]["state"], "fail");
    assert!(doc["gates"][0]["last_run"].is_string());

    std::fs::write(p.file("smoke-ok"), "").unwrap();
    assert_eq!(p.run(&["run", "launch"]).code, 0);
    let (code, doc) = json(&p);
    assert_eq!(
        (code, &doc["go"]),
        (0, &serde_json::Value::Bool(true)),
        "{doc}"
    );
    let table = p.run(&["status"]);
    assert!(
        table.stdout.contains("GO: every phase is done"),
        "{table:?}"
    );
}

#[test]
fn a_weakened_gate_makes_its_evidence_stale() {
    let p = Project::new(TWO_PHASES);
    std::fs::write(p.file("smoke-ok"), "").unwrap();
    assert_eq!(p.run(&["run"]).code, 0);
    // Someone loosens the smoke test after the fact.
    let weakened = TWO_PHASES.replace("run = \"test -e smoke-ok\"", "run = \"true\"");
    std::fs::write(p.file("phasegate.toml"), weakened).unwrap();
    let (code, doc) = json(&p);
    assert_eq!(code, 1);
    assert_eq!(doc["gates"][1]["state"], "stale");
    let why = p.run(&["why", "smoke"]);
    assert!(why.stdout.contains("different definition"), "{why:?}");
    assert!(
        why.stdout.contains("then:     run `test -e smoke-ok`"),
        "{why:?}"
    );
}

#[test]
fn why_explains_a_failure_from_the_evidence() {
    let p = Project::new(&one_phase(&[(
        "lint",
        "run = \"echo 'src/lib.rs:3: unused import'; exit 2\"",
    )]));
    p.commit_all("init");
    p.run(&["run"]);
    let why = p.run(&["why", "lint"]);
    assert_eq!(why.code, 1, "{why:?}");
    for expected in [
        "gate `lint`: fail",
        "exit status 2",
        "src/lib.rs:3: unused import",
        "commit ",
        " on master",
        "roadmap:  sha256 ",
    ] {
        assert!(
            why.stdout.contains(expected)
                || expected == " on master" && why.stdout.contains(" on main"),
            "missing {expected:?}: {why:?}"
        );
    }
    let never = Project::new(&one_phase(&[("x", "run = \"true\"")]));
    let why = never.run(&["why", "x"]);
    assert!(
        why.stdout
            .contains("evidence: none; run it with `phasegate run x`"),
        "{why:?}"
    );
    let typo = never.run(&["why", "y"]);
    assert_eq!(typo.code, 2, "{typo:?}");
}
