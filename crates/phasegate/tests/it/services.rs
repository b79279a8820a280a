//! Services: started once for the gates that need them, stopped whatever happens.

use std::time::Duration;

use crate::harness::{Project, alive, pids_in, wait_until};

/// A real HTTP server on the port phasegate picks, recording its pid.
const HTTP_SERVICE: &str = r#"[services.web]
run = "echo $$ >> service.pid; echo booting; exec python3 -m http.server {port} --bind 127.0.0.1"
ready = { http = "http://127.0.0.1:{port}/", within = "20s" }
"#;

/// Fetches the service's URL with python (no curl needed).
const FETCH: &str = "import os, urllib.request\nprint(urllib.request.urlopen(os.environ['PHASEGATE_SERVICE_WEB_URL']).status)\n";

fn roadmap(services: &str, gates: &[(&str, &str)]) -> String {
    phasegate_testkit::one_phase_after(&format!("{services}\n"), gates)
}

fn assert_all_dead(pids: &[i32]) {
    wait_until(Duration::from_secs(5), || !pids.iter().any(|p| alive(*p)));
    let alive: Vec<i32> = pids.iter().copied().filter(|p| alive(*p)).collect();
    assert!(
        alive.is_empty(),
        "service processes left running: {alive:?}"
    );
}

#[test]
fn one_service_start_is_shared_by_the_gates_and_stopped_at_the_end() {
    let gate = "run = \"python3 fetch.py\"\nservice = \"web\"";
    let p = Project::new(&roadmap(
        HTTP_SERVICE,
        &[("a", gate), ("b", gate), ("plain", "run = \"true\"")],
    ));
    std::fs::write(p.file("fetch.py"), FETCH).unwrap();
    let r = p.run(&["run"]);
    assert_eq!(r.code, 0, "{r:?}");
    let pids = pids_in(&p.file("service.pid"));
    assert_eq!(pids.len(), 1, "started once for both gates: {pids:?}");
    assert_all_dead(&pids);
}

#[test]
fn a_service_never_ready_fails_its_gates_with_its_last_output_and_is_ended() {
    let svc = "[services.web]\nrun = \"echo $$ >> service.pid; echo 'waiting for the database'; sleep 300\"\nready = { tcp = \"{port}\", within = \"1s\" }\n";
    let p = Project::new(&roadmap(svc, &[("a", "run = \"true\"\nservice = \"web\"")]));
    let r = p.run(&["run", "--grace", "500ms"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.all().contains("service web not ready within 1s"), "{r:?}");
    let why = p.run(&["why", "a"]);
    assert!(
        why.stdout.contains("waiting for the database"),
        "the reason carries the service's last output: {why:?}"
    );
    assert!(why.stdout.contains("gate `a`: fail"), "{why:?}");
    assert_all_dead(&pids_in(&p.file("service.pid")));
}

#[test]
fn a_crashing_service_is_reported_with_its_output() {
    let svc = "[services.web]\nrun = \"echo 'fatal: DATABASE_URL is not set' >&2; exit 3\"\nready = { tcp = \"{port}\", within = \"10s\" }\n";
    let p = Project::new(&roadmap(svc, &[("a", "run = \"true\"\nservice = \"web\"")]));
    let r = p.run(&["run"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.all().contains("exited"), "{r:?}");
    let why = p.run(&["why", "a"]);
    assert!(
        why.stdout.contains("fatal: DATABASE_URL is not set"),
        "{why:?}"
    );
}

#[test]
fn services_are_stopped_when_a_gate_times_out_and_on_ctrl_c() {
    let slow = "run = \"sleep 60\"\nservice = \"web\"\ntimeout = \"1s\"";
    let p = Project::new(&roadmap(HTTP_SERVICE, &[("slow", slow)]));
    let r = p.run(&["run", "--grace", "500ms"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("timed out"), "{r:?}");
    assert_all_dead(&pids_in(&p.file("service.pid")));

    let p = Project::new(&roadmap(
        HTTP_SERVICE,
        &[(
            "slow",
            "run = \"touch started; sleep 60\"\nservice = \"web\"",
        )],
    ));
    let out = p.interrupt(&["run"], || p.file("started").exists());
    assert_eq!(out.code, 130, "{out:?}");
    assert_all_dead(&pids_in(&p.file("service.pid")));
}
