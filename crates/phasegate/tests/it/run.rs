//! `phasegate run`: verdicts, exit codes, needs, retries, parallelism, secrets.

use crate::harness::{Project, one_phase};

#[test]
fn passing_gates_exit_0_and_failing_gate_exits_1_with_its_status() {
    let p = Project::new(&one_phase(&[
        ("ok", "run = \"echo fine\""),
        ("bad", "run = \"echo broken >&2; exit 3\""),
    ]));
    let r = p.run(&["run", "ok"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("✔ pass"), "{r:?}");
    let r = p.run(&["run"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("exited with status 3"), "{r:?}");
    assert!(r.stdout.contains("scorecard: NO-GO"), "{r:?}");
}

#[test]
fn command_not_found_is_an_error_not_a_failure() {
    let p = Project::new(&one_phase(&[(
        "missing",
        "run = \"definitely-not-a-command-xyz\"",
    )]));
    let r = p.run(&["run"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("‼ error"), "{r:?}");
    assert!(r.stdout.contains("command not found"), "{r:?}");
}

#[test]
fn timed_out_gate_fails_and_says_so() {
    let p = Project::new(&one_phase(&[(
        "slow",
        "run = \"sleep 30\"\ntimeout = \"1s\"",
    )]));
    let started = std::time::Instant::now();
    let r = p.run(&["run", "--grace", "1s"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("timed out after 1s"), "{r:?}");
    // Far below the 30 s the command wanted: the timeout really ended it.
    assert!(started.elapsed().as_secs() < 20);
}

#[test]
fn gate_whose_need_failed_is_skipped_with_the_reason_and_the_skip_cascades() {
    let p = Project::new(&one_phase(&[
        ("build", "run = \"exit 1\""),
        ("test", "run = \"touch ran-test\"\nneeds = [\"build\"]"),
        ("deploy", "run = \"touch ran-deploy\"\nneeds = [\"test\"]"),
    ]));
    let r = p.run(&["run"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stdout.contains("needs `build`, which ended with fail"),
        "{r:?}"
    );
    assert!(
        r.stdout.contains("needs `test`, which was skipped"),
        "{r:?}"
    );
    assert!(!p.file("ran-test").exists() && !p.file("ran-deploy").exists());
}

#[test]
fn retries_rerun_a_failing_gate_and_every_attempt_is_recorded() {
    // Fails on the first attempt, passes on the second.
    let p = Project::new(&one_phase(&[(
        "flaky",
        "run = \"if [ -e once ]; then echo second; else touch once; echo first; exit 1; fi\"\nretries = 2",
    )]));
    let r = p.run(&["run"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("2/3"), "{r:?}");
    let export = p.run(&["evidence", "export"]);
    let attempts: Vec<&str> = export
        .stdout
        .lines()
        .filter(|l| l.contains("\"gate\":\"flaky\""))
        .collect();
    assert_eq!(attempts.len(), 2, "{export:?}");
    assert!(
        attempts[0].contains("\"verdict\":\"fail\"")
            && attempts[1].contains("\"verdict\":\"pass\"")
    );
}

#[test]
fn a_gate_in_several_phases_runs_once() {
    let roadmap = r#"
[project]
base_gates = ["count"]

[gates.count]
run = "echo x >> counter"

[gates.other]
run = "true"

[[phase]]
id = "one"
gates = ["other"]

[[phase]]
id = "two"
after = ["one"]
gates = ["count"]
"#;
    let p = Project::new(roadmap);
    let r = p.run(&["run", "one", "two"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(std::fs::read_to_string(p.file("counter")).unwrap(), "x\n");
}

#[test]
fn gates_run_in_parallel_up_to_jobs() {
    // Each gate marks itself up and waits (2 s at most) for the other's mark: both pass only
    // when they run at the same time.
    let wait = |me: &str, other: &str| {
        format!(
            "run = \"touch {me}-up; for i in $(seq 20); do [ -e {other}-up ] && exit 0; sleep 0.1; done; exit 1\""
        )
    };
    let roadmap = one_phase(&[("a", &wait("a", "b")), ("b", &wait("b", "a"))]);
    let r = Project::new(&roadmap).run(&["run", "--jobs", "2"]);
    assert_eq!(r.code, 0, "{r:?}");
    let r = Project::new(&roadmap).run(&["run", "--jobs", "1"]);
    assert_eq!(r.code, 1, "with one job the first gate waits alone: {r:?}");
}

#[test]
fn secret_values_never_reach_output_logs_or_the_ledger() {
    let secret = "hunter2-9f8e7d6c";
    let roadmap = format!(
        "[project]\nsecret_env = [\"API_TOKEN\"]\n\n[gates.leak]\nrun = \"echo token=$API_TOKEN; echo $DB_PASSWORD >&2; exit 1\"\nsecret_env = [\"DB_PASSWORD\"]\nenv = {{ DB_PASSWORD = \"pw-{secret}\" }}\n\n[[phase]]\nid = \"p\"\ngates = [\"leak\"]\n"
    );
    let p = Project::new(&roadmap);
    let r: crate::harness::Ran = p
        .cmd(&["run"])
        .env("API_TOKEN", secret)
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 1, "{r:?}");
    let why = p.run(&["why", "leak"]);
    assert!(why.stdout.contains("token=[REDACTED]"), "{why:?}");
    let export = p.run(&["evidence", "export"]);
    let mut stored = Vec::new();
    for entry in crate::harness::files_below(&p.file(".phasegate")) {
        stored.extend(std::fs::read(entry).unwrap());
    }
    for (name, text) in [
        ("run output", r.all()),
        ("why", why.all()),
        ("export", export.stdout.clone()),
    ] {
        assert!(!text.contains(secret), "{name} leaks the secret: {text}");
    }
    assert!(
        !String::from_utf8_lossy(&stored).contains(secret),
        "a file under .phasegate leaks the secret"
    );
    assert!(
        export.stdout.contains("\"DB_PASSWORD\":\"[REDACTED]\""),
        "{}",
        export.stdout
    );
}

#[test]
fn an_unreachable_probe_target_is_an_error_and_signoff_gates_are_not_run() {
    let p = Project::new(&one_phase(&[
        // Port 1 on loopback: nothing listens there.
        (
            "headers",
            "probe = \"headers\"\nbase_url = \"http://127.0.0.1:1\"",
        ),
        ("go-live", "signoff = { roles = [\"sre\"] }"),
        ("unit", "run = \"true\""),
    ]));
    let r = p.run(&["run"]);
    assert_eq!(r.code, 1, "a probe that cannot run is never a pass: {r:?}");
    assert!(r.stdout.contains("‼ error"), "{r:?}");
    assert!(r.stderr.contains("`go-live` is a sign-off gate"), "{r:?}");
    let status = p.run(&["status", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    let state = |id: &str| {
        doc["gates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["id"] == id)
            .unwrap()["state"]
            .clone()
    };
    assert_eq!(state("headers"), "fail");
    assert_eq!(state("go-live"), "missing");
    assert_eq!(state("unit"), "pass");
}

#[test]
fn an_exclusive_gate_runs_alone() {
    // Each plain gate is up for a while; the exclusive one fails if it sees any of them up.
    let plain = |me: &str| format!("run = \"touch {me}.up; sleep 0.5; rm {me}.up\"");
    let roadmap = one_phase(&[
        ("a", &plain("a")),
        (
            "burst",
            "run = \"sleep 0.2; ! ls *.up 2>/dev/null\"\nexclusive = true",
        ),
        ("b", &plain("b")),
        ("c", &plain("c")),
    ]);
    let r = Project::new(&roadmap).run(&["run", "--jobs", "4"]);
    assert_eq!(r.code, 0, "{r:?}");
    let control = roadmap.replace("exclusive = true", "");
    let r = Project::new(&control).run(&["run", "--jobs", "4"]);
    assert_eq!(
        r.code, 1,
        "without `exclusive` it overlaps with the others: {r:?}"
    );
}
