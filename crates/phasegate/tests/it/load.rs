//! `phasegate load`: ad hoc load against the bundled sample service, the output formats, and
//! shards run as separate processes then merged.

use std::process::Command;

use crate::harness::{BIN, Ran, flat};
use crate::probe::Sample;

fn load(args: &[&str]) -> Ran {
    Command::new(BIN)
        .arg("load")
        .args(args)
        .output()
        .unwrap()
        .into()
}

/// The sample service once it answers (it opens its database first): one request.
fn ready(flaws: &[&str]) -> Sample {
    let s = Sample::start(flaws);
    let r = load(&[
        &s.url,
        "--connections",
        "1",
        "--max-requests",
        "1",
        "--duration",
        "20s",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    s
}

fn kv(line: &str, key: &str) -> f64 {
    line.split_whitespace()
        .find_map(|t| t.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key} in {line:?}"))
        .parse()
        .unwrap()
}

#[test]
fn a_rate_run_prints_corrected_and_service_time_and_says_which_is_which() {
    let s = ready(&[]);
    let url = format!("{}/health/live", s.url);
    let r = load(&[&url, "--rate", "100", "--duration", "1s"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("constant rate 100 req/s"), "{r:?}");
    assert!(r.stdout.contains("100 sent in"), "{r:?}");
    assert!(
        r.stdout
            .contains("from due time (corrected, coordinated omission)"),
        "{r:?}"
    );
    assert!(
        r.stdout.contains("service time (from send, uncorrected)"),
        "{r:?}"
    );
    // Closed loop has no schedule, so nothing to correct.
    let r = load(&[
        &url,
        "--connections",
        "2",
        "--duration",
        "300ms",
        "--format",
        "kv",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        kv(&r.stdout, "rps") > 0.0 && kv(&r.stdout, "errors") == 0.0,
        "{r:?}"
    );
}

#[test]
fn shards_run_as_processes_merge_into_one_run() {
    let s = ready(&[]);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("{}/health/live", s.url);
    let files: Vec<_> = (0..3)
        .map(|i| dir.path().join(format!("shard{i}.json")))
        .collect();
    let children: Vec<_> = files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            Command::new(BIN)
                .args([
                    "load",
                    &url,
                    "--rate",
                    "150",
                    "--duration",
                    "1s",
                    "--format",
                    "kv",
                ])
                .args(["--shard", &format!("{i}/3"), "--save"])
                .arg(f)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut answered = 0.0;
    for c in children {
        let r: Ran = c.wait_with_output().unwrap().into();
        assert_eq!(r.code, 0, "{r:?}");
        // Each shard carries a third of the rate: 50 requests in its second.
        assert_eq!(kv(&r.stdout, "sent"), 50.0, "{r:?}");
        answered += kv(&r.stdout, "sent");
    }
    let mut merge = Command::new(BIN);
    merge
        .args(["load", "merge", "--format", "json"])
        .args(&files);
    let r: Ran = merge.output().unwrap().into();
    assert_eq!(r.code, 0, "{r:?}");
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc["sent"], 150);
    assert_eq!(doc["answered"].as_f64(), Some(answered));
    assert_eq!(doc["shards"], serde_json::json!([0, 1, 2]));
    assert_eq!(doc["rate"], 150.0);
    // The same shard twice is refused, not counted twice.
    let mut twice = Command::new(BIN);
    twice.args(["load", "merge"]).arg(&files[0]).arg(&files[0]);
    let r: Ran = twice.output().unwrap().into();
    assert_eq!(r.code, 2, "{r:?}");
    assert!(flat(&r.stderr).contains("shard 0 given twice"), "{r:?}");
}

#[test]
fn a_host_that_is_not_loopback_needs_allow_remote() {
    let r = load(&["http://192.0.2.1/", "--duration", "1s"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(flat(&r.stderr).contains("allow_remote"), "{r:?}");
    let r = load(&["http://127.0.0.1:1/", "--shard", "3/3"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(flat(&r.stderr).contains("I/N"), "{r:?}");
}

#[test]
fn http2_with_streams_runs_on_prior_knowledge_and_the_protocol_is_printed() {
    let s = ready(&[]);
    let url = format!("{}/health/live", s.url);
    let common = [
        "--connections",
        "2",
        "--max-requests",
        "100",
        "--duration",
        "20s",
    ];
    let r = load(&[&[url.as_str(), "--http2", "--streams", "3"], &common[..]].concat());
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("100 answered; 0 failed"), "{r:?}");
    assert!(
        r.stdout
            .contains("protocol: h2 over plain TCP (0 HTTP/1.1 and 2 HTTP/2 connections opened)"),
        "{r:?}"
    );
    // Without --http2 the same target is loaded over HTTP/1.1.
    let r = load(&[&[url.as_str(), "--format", "json"], &common[..]].concat());
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains(r#""protocol": "http/1.1""#), "{r:?}");
    assert!(r.stdout.contains(r#""http1": 2"#), "{r:?}");
    // Streams are HTTP/2's.
    let r = load(&[url.as_str(), "--streams", "3"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("--http2"), "{r:?}");
}

/// `https://` against a server that speaks plain HTTP: the handshake fails and the result says
/// why; a CA file that cannot be read is a usage error before any request.
#[test]
fn tls_failures_are_named() {
    let s = ready(&[]);
    let url = s.url.replace("http://", "https://");
    let r = load(&[&url, "--max-requests", "5", "--duration", "20s"]);
    assert!(r.stdout.contains("5 failed (5 connect"), "{r:?}");
    assert!(
        r.stdout
            .contains("first failed connection: TLS handshake with `127.0.0.1` failed"),
        "{r:?}"
    );
    let r = load(&[&url, "--ca-file", "/nonexistent/ca.pem"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("cannot use the CA file `/nonexistent/ca.pem`"),
        "{r:?}"
    );
}

/// A load gate comparing with its own latest passing run: the first run has nothing to
/// compare with (a warning), the second compares with the first, a slower service fails
/// naming both runs, and a baseline log changed since its record is refused.
#[test]
fn the_regression_gate_compares_with_the_last_passing_run_of_the_gate() {
    let p = crate::harness::Project::new(
        r#"
[services.api]
run = '"$PHASEGATE_EXE" sample-service --port {port} --db m.db $FLAWS'
ready = { http = "http://127.0.0.1:{port}/health/ready", within = "30s" }

[gates.landing]
probe = "load"
service = "api"
path = "/"
rate = 40
connections = 8
duration = "1s"
baseline = "last-pass"
thresholds = { regression = "300%" }            # 40 samples on a busy machine are noisy; the flaw adds 100 ms

[[phase]]
id = "perf"
gates = ["landing"]
"#,
    );
    let run = |flaws: &str| -> Ran { p.cmd(&["run"]).env("FLAWS", flaws).output().unwrap().into() };
    let why = || -> String { p.run(&["why", "landing"]).all() };
    let first = run("");
    assert_eq!(first.code, 0, "{first:?}");
    assert!(why().contains("load-no-baseline"), "{}", why());
    let second = run("");
    assert_eq!(second.code, 0, "{second:?}");
    assert!(!why().contains("load-no-baseline"), "{}", why());
    let slow = run("--flaw slow-endpoint");
    assert_eq!(slow.code, 1, "{slow:?}");
    let w = why();
    assert!(w.contains("load-regression"), "{w}");
    assert!(
        w.contains("in this run (started ") && w.contains("in the baseline run (started "),
        "{w}"
    );
    // The baseline is the second run's log (the slow run did not pass).
    let logs = p.path().join(".phasegate/logs");
    let mut runs: Vec<_> = std::fs::read_dir(&logs)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    runs.sort();
    assert_eq!(runs.len(), 3, "{runs:?}");
    assert!(w.contains(&runs[1]), "{w} should name run {}", runs[1]);
    // A baseline changed since its record sealed it is refused, not compared with.
    let log = logs.join(&runs[1]).join("landing.1.log");
    let text = std::fs::read_to_string(&log).unwrap();
    std::fs::write(&log, text.replace("\"sent\": 40", "\"sent\": 41")).unwrap();
    let tampered = run("");
    assert_eq!(tampered.code, 1, "{tampered:?}");
    assert!(why().contains("no longer matches the digest"), "{}", why());
}
