//! `phasegate signoff` and `phasegate waive`: approvals k of n over the evidence they
//! cover, and expiring waivers, as the scorecard shows them.

use crate::harness::{Project, Ran};

/// Phase `launch`: `build` passes, `smoke` passes while `smoke-ok` exists, and `release`
/// needs 2 distinct approvers among sre and security. The cto may waive `smoke` (for
/// long enough that a fixed date in 2099 stays within it).
fn launch() -> Project {
    Project::new(
        r#"
[project]
name = "shop"

[gates.build]
run = "true"

[gates.smoke]
run = "test -e smoke-ok"

[gates.release]
signoff = { roles = ["sre", "security"], approvals = 2 }

[[phase]]
id = "launch"
gates = ["build", "smoke", "release"]

[[waiver]]
gates = ["smoke"]
roles = ["cto"]
max = "99years"
"#,
    )
}

fn json(p: &Project) -> (i32, serde_json::Value) {
    let r = p.run(&["status", "--format", "json"]);
    (
        r.code,
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {r:?}")),
    )
}

fn gate<'a>(doc: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    doc["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == id)
        .unwrap_or_else(|| panic!("no gate {id} in {doc}"))
}

fn approve(p: &Project, role: &str, by: &str) -> Ran {
    let r = p.run(&["signoff", "release", "--as", role, "--by", by]);
    assert_eq!(r.code, 0, "{r:?}");
    r
}

fn passing_run(p: &Project) {
    std::fs::write(p.file("smoke-ok"), "").unwrap();
    let r = p.run(&["run"]);
    assert_eq!(r.code, 0, "{r:?}");
}

#[test]
fn a_signoff_needs_k_distinct_approvers() {
    let p = launch();
    passing_run(&p);
    let (code, doc) = json(&p);
    assert_eq!(code, 1);
    assert_eq!(gate(&doc, "release")["state"], "missing");
    assert_eq!(
        gate(&doc, "release")["reason"],
        "needs 2 approvals by sre, security; has 0"
    );

    let r = approve(&p, "sre", "alice@example.com");
    assert!(
        r.stdout
            .contains("approved `release` as sre by alice@example.com"),
        "{r:?}"
    );
    assert!(r.stdout.contains("gate `release` is now missing"), "{r:?}");
    let (_, doc) = json(&p);
    let release = gate(&doc, "release");
    assert_eq!(release["state"], "missing");
    assert!(
        release["reason"].as_str().unwrap().contains("has 1"),
        "{release}"
    );

    // The same person again, in the other role: still one approver.
    approve(&p, "security", "alice@example.com");
    let (code, doc) = json(&p);
    assert_eq!(code, 1);
    let release = gate(&doc, "release");
    assert_eq!(release["state"], "missing");
    assert!(
        release["reason"].as_str().unwrap().contains("has 1"),
        "{release}"
    );

    let r = approve(&p, "security", "bob@example.com");
    assert!(r.stdout.contains("gate `release` is now pass"), "{r:?}");
    let (code, doc) = json(&p);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["go"], true);
    let release = gate(&doc, "release");
    assert_eq!(release["state"], "pass");
    assert_eq!(release["approvals"].as_array().unwrap().len(), 2);
    assert_eq!(release["approvals"][1]["by"], "bob@example.com");
    assert_eq!(release["approvals"][1]["counts"], true);
}

#[test]
fn a_wrong_role_an_unknown_gate_and_a_run_gate_are_refused() {
    let p = launch();
    let r = p.run(&["signoff", "release", "--as", "intern", "--by", "x"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("role `intern` may not approve gate `release`"),
        "{r:?}"
    );
    assert!(r.stderr.contains("allowed roles: sre, security"), "{r:?}");

    let r = p.run(&["signoff", "build", "--as", "sre", "--by", "x"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("gate `build` is a run gate, not a signoff gate"),
        "{r:?}"
    );

    let r = p.run(&["signoff", "relase", "--as", "sre", "--by", "x"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("did you mean `release`?"), "{r:?}");

    // Nothing refused was recorded.
    let r = p.run(&["evidence", "list"]);
    assert!(!r.stdout.contains("release"), "{r:?}");
}

#[test]
fn an_approval_stops_counting_when_a_gate_of_its_phase_re_runs() {
    let p = launch();
    passing_run(&p);
    approve(&p, "sre", "alice");
    approve(&p, "security", "bob");
    assert_eq!(json(&p).0, 0);

    std::fs::remove_file(p.file("smoke-ok")).unwrap();
    assert_eq!(p.run(&["run", "smoke"]).code, 1);
    let (code, doc) = json(&p);
    assert_eq!(code, 1);
    let release = gate(&doc, "release");
    assert_eq!(release["state"], "stale");
    assert!(
        release["reason"].as_str().unwrap().contains(
            "approval by alice (sre) does not count: approved evidence changed since: gate `smoke` re-ran"
        ),
        "{release}"
    );

    let why = p.run(&["why", "release"]);
    assert_eq!(why.code, 1, "{why:?}");
    assert!(why.stdout.contains("gate `release`: stale"), "{why:?}");
    assert!(
        why.stdout.contains("✘ alice (sre) at")
            && why
                .stdout
                .contains("approved evidence changed since: gate `smoke` re-ran"),
        "{why:?}"
    );
    let table = p.run(&["status"]);
    assert!(table.stdout.contains("⟲ stale"), "{table:?}");

    // The same result again is still new evidence: approvals cover entries, not verdicts.
    passing_run(&p);
    assert_eq!(gate(&json(&p).1, "release")["state"], "stale");
    approve(&p, "sre", "alice");
    approve(&p, "security", "bob");
    assert_eq!(json(&p).0, 0);
}

#[test]
fn an_approval_expires_with_fresh_for() {
    let p = Project::new(
        r#"
[project]
name = "t"

[gates.release]
signoff = { roles = ["sre"], approvals = 1 }
fresh_for = "1s"

[[phase]]
id = "p"
gates = ["release"]
"#,
    );
    let r = p.run(&["signoff", "release", "--as", "sre", "--by", "alice"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("gate `release` is now pass"), "{r:?}");
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let (code, doc) = json(&p);
    assert_eq!(code, 1);
    let release = gate(&doc, "release");
    assert_eq!(release["state"], "stale");
    assert!(
        release["reason"]
            .as_str()
            .unwrap()
            .contains("approval older than fresh_for 1s"),
        "{release}"
    );
}

#[test]
fn a_waiver_shows_waived_and_does_not_block_its_phase() {
    let p = launch();
    p.run(&["run"]);
    approve(&p, "sre", "alice");
    approve(&p, "security", "bob");
    let (code, doc) = json(&p);
    assert_eq!(code, 1);
    assert_eq!(gate(&doc, "smoke")["state"], "fail");

    let r = p.run(&[
        "waive",
        "smoke",
        "--reason",
        "staging is down",
        "--until",
        "2099-12-31",
        "--as",
        "cto",
        "--by",
        "carol",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .contains("waived `smoke` until 2099-12-31T23:59:59Z by carol as cto"),
        "{r:?}"
    );
    let (code, doc) = json(&p);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["go"], true);
    assert_eq!(doc["phases"][0]["state"], "done");
    let smoke = gate(&doc, "smoke");
    assert_eq!(smoke["state"], "waived", "never a pass");
    assert_eq!(smoke["verdict"], "fail");
    assert_eq!(smoke["waiver"]["by"], "carol");
    assert_eq!(smoke["waiver"]["until"], "2099-12-31T23:59:59Z");
    assert!(
        smoke["reason"]
            .as_str()
            .unwrap()
            .starts_with("waived by carol (cto) until 2099-12-31T23:59:59Z: staging is down"),
        "{smoke}"
    );

    let table = p.run(&["status"]);
    assert!(table.stdout.contains("⚑ waived"), "{table:?}");
    assert!(table.stdout.contains("2/3 passing, 1 waived"), "{table:?}");
    let why = p.run(&["why", "smoke"]);
    assert!(
        why.stdout
            .contains("waiver:   by carol (cto) until 2099-12-31T23:59:59Z: staging is down"),
        "{why:?}"
    );

    // `run` still runs a waived gate, and a pass then shows as a pass.
    std::fs::write(p.file("smoke-ok"), "").unwrap();
    p.run(&["run", "smoke"]);
    assert_eq!(gate(&json(&p).1, "smoke")["state"], "pass");
}

#[test]
fn a_waiver_must_end_in_the_future_and_name_a_role() {
    let p = launch();
    let waive = |until: &str, role: &str| {
        p.run(&[
            "waive", "smoke", "--reason", "r", "--until", until, "--as", role, "--by", "c",
        ])
    };
    let r = waive("2020-01-01", "cto");
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("is in the past"), "{r:?}");
    let r = waive("2020-01-01T00:00:00Z", "cto");
    assert_eq!(r.code, 2, "{r:?}");
    let r = waive("next tuesday", "cto");
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("is not a date"), "{r:?}");
    let r = waive("2099-01-01", " ");
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("`--as` is empty"), "{r:?}");
    // An RFC 3339 time with an offset is taken as it is.
    let r = waive("2099-06-01T12:00:00+02:00", "cto");
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        gate(&json(&p).1, "smoke")["waiver"]["until"],
        "2099-06-01T10:00:00Z"
    );
}

#[test]
fn the_ledger_verifies_after_signoffs_and_waivers() {
    let p = launch();
    passing_run(&p);
    approve(&p, "sre", "alice");
    approve(&p, "security", "bob");
    let r = p.run(&[
        "waive",
        "smoke",
        "--reason",
        "r",
        "--until",
        "2099-01-01",
        "--as",
        "cto",
        "--by",
        "c",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    let r = p.run(&["evidence", "verify"]);
    assert_eq!(r.code, 0, "{r:?}");
    // One run for the gates, and one closed run per statement.
    assert!(
        r.stdout
            .contains("5 records, 4 closed runs with valid signed heads"),
        "{r:?}"
    );
}

#[test]
fn the_approver_is_the_git_email_else_user() {
    let p = launch();
    let isolated = |args: &[&str]| -> Ran {
        p.cmd(args)
            .env("HOME", p.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("USER", "zed")
            .output()
            .unwrap()
            .into()
    };
    let r = isolated(&["signoff", "release", "--as", "sre"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("by zed"), "{r:?}");

    let git = |args: &[&str]| {
        let ok = std::process::Command::new("git")
            .args(args)
            .current_dir(p.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()
            .unwrap()
            .status
            .success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q"]);
    git(&["config", "user.email", "ann@example.com"]);
    let r = isolated(&["signoff", "release", "--as", "security"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("by ann@example.com"), "{r:?}");
    let (_, doc) = json(&p);
    let by: Vec<&str> = gate(&doc, "release")["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["by"].as_str().unwrap())
        .collect();
    assert_eq!(by, ["zed", "ann@example.com"]);
}

#[test]
fn a_gate_needing_a_signoff_gate_waits_for_its_approvals() {
    // Regression (issue 8): `deploy` ran and passed before anyone approved `release`.
    let p = Project::new(
        r#"
[project]
name = "shop"

[gates.build]
run = "true"

[gates.release]
signoff = { roles = ["sre", "security"], approvals = 2 }

[gates.deploy]
run = "touch deployed"
needs = ["release"]

[[phase]]
id = "launch"
gates = ["build", "release", "deploy"]
"#,
    );
    let r = p.run(&["run"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(!p.file("deployed").exists(), "deploy ran before approval");
    let (_, doc) = json(&p);
    assert_eq!(
        gate(&doc, "deploy")["reason"],
        "never ran; last skipped: waiting for approval of `release`: needs 2 approvals by sre, \
         security; has 0"
    );

    approve(&p, "sre", "alice");
    let r = p.run(&["run", "deploy"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        !p.file("deployed").exists(),
        "deploy ran after 1 of 2 approvals"
    );

    approve(&p, "security", "bob");
    let r = p.run(&["run", "deploy"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(p.file("deployed").exists());
    assert_eq!(json(&p).0, 0);
}

#[test]
fn anyone_waiving_a_signoff_gate_is_refused_and_the_scorecard_stays_no_go() {
    // Regression (issue 8): `waive release --as anyone` turned a 2-of-2 sign-off gate
    // `waived`, the phase done and the scorecard GO.
    let p = launch();
    passing_run(&p);
    let anyone = |gate: &str| {
        let r = p.run(&[
            "waive",
            gate,
            "--as",
            "anyone",
            "--reason",
            "x",
            "--until",
            "2099-01-01",
        ]);
        assert_eq!(r.code, 2, "{r:?}");
        r.stderr
    };
    let stderr = anyone("release");
    assert!(
        stderr.contains("no `[[waiver]]` rule of the roadmap lets gate `release` be waived"),
        "{stderr}"
    );
    assert!(stderr.contains("`smoke` by cto for at most"), "{stderr}");
    let stderr = anyone("smoke");
    assert!(
        stderr.contains("role `anyone` may not waive gate `smoke`"),
        "{stderr}"
    );
    let (code, doc) = json(&p);
    assert_eq!(code, 1);
    assert_eq!(doc["go"], false);
    assert_eq!(gate(&doc, "release")["state"], "missing");
}
