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
        // content and lifecycle
        "token-never-expires",
        "token-not-bound",
        "token-in-url-logged",
        "shutdown-drops-requests",
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
    let mut started = start(dir.path(), &["--flaw", "no-hsts", "--flaw", "x-powered-by"]).await;
    let (server, base) = (&mut started.server, started.base.clone());
    let rest = started
        .line
        .strip_prefix("sample-service listening on http://127.0.0.1:")
        .unwrap_or_else(|| panic!("unexpected startup line: {}", started.line));
    assert_eq!(
        rest.split_once(' ').unwrap().1,
        "(flaws: no-hsts, x-powered-by)"
    );

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
    let started = started(
        std::process::Command::new(BIN)
            .args(["--port", "0"])
            .current_dir(dir.path()),
    )
    .await;
    assert!(started.line.ends_with("(flaws: none)"), "{}", started.line);
    // The default database path is ./membership.db.
    for _ in 0..100 {
        if dir.path().join("membership.db").exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(dir.path().join("membership.db").exists());
    started.server.stop();
}

/// A binary started by [`started`], with its startup line, its base URL and its stderr, kept
/// open: the service writes a last line when it stops, and a closed pipe would make that a
/// panic.
struct Started {
    server: Server,
    line: String,
    base: String,
    _stderr: tokio::io::Lines<BufReader<ChildStderr>>,
}

/// Starts the binary with `args` (a fresh database in `dir`).
async fn start(dir: &std::path::Path, args: &[&str]) -> Started {
    started(
        std::process::Command::new(BIN)
            .args(["--port", "0", "--db"])
            .arg(dir.join("membership.db"))
            .args(args)
            .current_dir(dir),
    )
    .await
}

/// Starts `command` (the binary with its arguments), its stderr piped and its base URL read
/// from the startup line.
async fn started(command: &mut std::process::Command) -> Started {
    let mut server = Server::start(
        command
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
        .strip_prefix("sample-service listening on ")
        .unwrap_or_else(|| panic!("unexpected startup line: {line}"));
    let base = rest.split_once(' ').unwrap().0.to_owned();
    Started {
        server,
        line,
        base,
        _stderr: stderr,
    }
}

/// A GET on a connection of its own, as a load balancer's health check makes it: `Ok(status)`,
/// or `Err` when nothing accepted the connection.
async fn fresh_get(url: &str) -> Result<u16, reqwest::Error> {
    crate::support::client()
        .get(url)
        .header("connection", "close")
        .send()
        .await
        .map(|r| r.status().as_u16())
}

#[tokio::test]
async fn sigterm_turns_ready_503_first_then_closes_the_listener_then_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let mut started = start(dir.path(), &["--drain", "600ms"]).await;
    let (server, base) = (&mut started.server, started.base.clone());
    assert_eq!(
        fresh_get(&format!("{base}/health/ready")).await.unwrap(),
        200
    );
    let slow = tokio::spawn({
        let url = format!("{base}/api/v1/slow?ms=2000");
        async move { crate::support::client().get(url).send().await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.signal(Signal::TERM);
    tokio::time::sleep(Duration::from_millis(150)).await;
    // Draining: still serving, but no longer ready.
    assert_eq!(
        fresh_get(&format!("{base}/health/ready")).await.unwrap(),
        503
    );
    assert_eq!(
        fresh_get(&format!("{base}/health/live")).await.unwrap(),
        200
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    // The drain is over: new connections are refused while the slow request finishes.
    assert!(fresh_get(&format!("{base}/health/live")).await.is_err());
    assert!(
        server.try_wait().is_none(),
        "still finishing the slow request"
    );
    let response = slow
        .await
        .unwrap()
        .expect("the in-flight request completes");
    assert_eq!(response.status(), 200);
    let status = server.wait_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn shutdown_drops_requests_exits_at_once_and_cuts_in_flight_requests() {
    let dir = tempfile::tempdir().unwrap();
    let mut started = start(dir.path(), &["--flaw", "shutdown-drops-requests"]).await;
    let (server, base) = (&mut started.server, started.base.clone());
    let slow = tokio::spawn({
        let url = format!("{base}/api/v1/slow?ms=3000");
        async move { crate::support::client().get(url).send().await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.signal(Signal::TERM);
    let status = server.wait_timeout(Duration::from_secs(2)).unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(slow.await.unwrap().is_err(), "the connection was cut");
}

#[tokio::test]
async fn the_access_log_has_one_line_per_request_without_the_query() {
    for (flaw, logged) in [
        (None, "/api/v1/slow 200"),
        (
            Some("token-in-url-logged"),
            "/api/v1/slow?ms=1&token=s3cret 200",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut args = vec!["--access-log", "access.log"];
        args.extend(flaw.iter().flat_map(|f| ["--flaw", *f]));
        let started = start(dir.path(), &args).await;
        let base = started.base.clone();
        let client = crate::support::client();
        let status = client
            .get(format!("{base}/api/v1/slow?ms=1&token=s3cret"))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200);
        drop(started);
        let log = std::fs::read_to_string(dir.path().join("access.log")).unwrap();
        let line = log.lines().find(|l| l.contains("/api/v1/slow")).unwrap();
        // time method target status duration
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(fields.len(), 5, "{line}");
        assert!(
            fields[0].ends_with('Z') && fields[4].ends_with("ms"),
            "{line}"
        );
        assert_eq!(fields[1], "GET");
        assert!(line.contains(logged), "{flaw:?}: {line}");
        assert_eq!(log.contains("s3cret"), flaw.is_some(), "{log}");
    }
}

/// The server's stderr, line by line, to read its startup line with a time limit.
fn stderr_lines(server: &mut Server) -> tokio::io::Lines<BufReader<ChildStderr>> {
    let pipe = server.child_mut().stderr.take().unwrap();
    BufReader::new(ChildStderr::from_std(pipe).unwrap()).lines()
}
