//! The real binary: flags, exit codes, the startup line, SIGTERM.

use std::process::Stdio;
use std::time::Duration;

use phasegate_sample_service::Flaw;
use phasegate_testkit::{Server, Signal};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::ChildStderr;

const BIN: &str = env!("CARGO_BIN_EXE_sample-service");

#[test]
fn list_flaws_prints_every_name_and_description() {
    let output = std::process::Command::new(BIN)
        .arg("--list-flaws")
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    let expected = [
        "no-hsts",
        "csp-unsafe-inline",
        "x-powered-by",
        "cookie-not-httponly",
        "cors-any-origin",
        "no-request-id",
        "ready-ignores-db",
        "metrics-missing",
        "no-rate-limit",
        // access (rbac, strict-input)
        "rbac-auditor-can-write",
        "rbac-admin-open",
        "rbac-flaky-deny",
        "dto-accepts-unknown",
        // payments
        "webhook-no-signature",
        "webhook-replay",
        "webhook-stale-ok",
        "amount-mismatch-ok",
        "idempotency-ignored",
    ];
    // One line per flaw, in `Flaw::all` order; every name above among them.
    assert_eq!(lines.len(), Flaw::all().len(), "{stdout}");
    let names: Vec<&str> = lines
        .iter()
        .zip(Flaw::all())
        .map(|(line, flaw)| {
            let (got, description) = line.split_once('\t').unwrap();
            assert_eq!(got, flaw.name());
            assert!(!description.is_empty());
            got
        })
        .collect();
    for name in expected {
        assert!(names.contains(&name), "{name} missing from {stdout}");
    }
}

#[test]
fn an_unknown_flaw_is_a_usage_error_naming_the_valid_ones() {
    let output = std::process::Command::new(BIN)
        .args(["--port", "0", "--flaw", "no-such-flaw"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("no-such-flaw"), "{stderr}");
    assert!(
        stderr.contains("no-hsts") && stderr.contains("no-rate-limit"),
        "{stderr}"
    );
}

#[test]
fn port_is_required() {
    let output = std::process::Command::new(BIN).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[tokio::test]
async fn sigterm_finishes_in_flight_requests_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("membership.db");
    let mut server = Server::start(
        std::process::Command::new(BIN)
            .args([
                "--port",
                "0",
                "--flaw",
                "no-hsts",
                "--flaw",
                "x-powered-by",
                "--db",
            ])
            .arg(&db)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
        Signal::TERM,
    );
    let mut stderr = stderr_lines(&mut server);
    let line = tokio::time::timeout(Duration::from_secs(20), stderr.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let rest = line
        .strip_prefix("sample-service listening on http://127.0.0.1:")
        .unwrap_or_else(|| panic!("unexpected startup line: {line}"));
    let (port, flaws) = rest.split_once(' ').unwrap();
    assert_eq!(flaws, "(flaws: no-hsts, x-powered-by)");
    let base = format!("http://127.0.0.1:{port}");

    let client = crate::support::client();
    let live = client
        .get(format!("{base}/health/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
    assert_eq!(live.headers()["x-powered-by"], "Express/4.17.1");
    assert!(db.exists(), "the database was created");

    let slow = tokio::spawn({
        let client = client.clone();
        let url = format!("{base}/api/v1/slow?ms=1200");
        async move { client.get(url).send().await }
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    server.signal(Signal::TERM);

    let response = slow.await.unwrap().expect("in-flight request completes");
    assert_eq!(response.status(), 200);
    let status = server.wait_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn a_default_clean_start_says_flaws_none() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(
        std::process::Command::new(BIN)
            .args(["--port", "0"])
            .current_dir(dir.path())
            .stderr(Stdio::piped())
            .stdout(Stdio::null()),
        Signal::TERM,
    );
    let mut stderr = stderr_lines(&mut server);
    let line = tokio::time::timeout(Duration::from_secs(20), stderr.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(line.ends_with("(flaws: none)"), "{line}");
    // The default database path is ./membership.db.
    for _ in 0..100 {
        if dir.path().join("membership.db").exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(dir.path().join("membership.db").exists());
    server.stop();
}

/// The server's stderr, line by line, to read its startup line with a time limit.
fn stderr_lines(server: &mut Server) -> tokio::io::Lines<BufReader<ChildStderr>> {
    let pipe = server.child_mut().stderr.take().unwrap();
    BufReader::new(ChildStderr::from_std(pipe).unwrap()).lines()
}
