//! `phasegate probe`: one probe, ad hoc, against a running service; and probe parameters
//! judged at `check` time.

use std::process::{Command, Stdio};
use std::time::Duration;

use phasegate_testkit::{Server, Signal};

use crate::harness::{BIN, Project, Ran, wait_until};

/// The bundled sample service on a free port, ended on drop.
pub(crate) struct Sample {
    _server: Server,
    pub(crate) url: String,
    _dir: tempfile::TempDir,
}

impl Sample {
    pub(crate) fn start(flaws: &[&str]) -> Sample {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut c = Command::new(BIN);
        c.args(["sample-service", "--port", &port.to_string(), "--db"])
            .arg(dir.path().join("m.db"))
            .stderr(Stdio::null());
        for f in flaws {
            c.args(["--flaw", f]);
        }
        let server = Server::start(&mut c, Signal::TERM);
        let url = format!("http://127.0.0.1:{port}");
        wait_until(Duration::from_secs(20), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Sample {
            _server: server,
            url,
            _dir: dir,
        }
    }
}

fn probe(args: &[&str]) -> Ran {
    Command::new(BIN)
        .arg("probe")
        .args(args)
        .output()
        .unwrap()
        .into()
}

#[test]
fn probe_passes_on_the_clean_service_and_names_the_flaw_otherwise() {
    let clean = Sample::start(&[]);
    let login = "login={ path = \"/api/v1/auth/sign-in\", json = { email = \"member@example.com\", password = \"correct-horse\" } }";
    let r = probe(&[
        "headers",
        &clean.url,
        "-p",
        "https=\"yes\"",
        "-p",
        "session_cookies=[\"sid\"]",
        "-p",
        login,
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains(": pass"), "{r:?}");

    let flawed = Sample::start(&["x-powered-by"]);
    // A banner is a low-severity finding: a warning at the default threshold...
    let r = probe(&["headers", &flawed.url, "-p", "https=yes"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("⚠ [x-powered-by, low]"), "{r:?}");
    // ...and a fail when the threshold is low.
    let r = probe(&[
        "headers",
        &flawed.url,
        "-p",
        "https=yes",
        "--fail-on",
        "low",
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("✘ [x-powered-by, low]"), "{r:?}");
    let json = probe(&[
        "headers",
        &flawed.url,
        "--fail-on",
        "low",
        "--format",
        "json",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["verdict"], "fail");
}

#[test]
fn probe_errors_are_distinct_from_findings() {
    let unreachable = probe(&["request-id", "http://127.0.0.1:1"]);
    assert_eq!(unreachable.code, 3, "could not run: {unreachable:?}");
    let bad = probe(&[
        "cors",
        "http://127.0.0.1:1",
        "-p",
        "alowed=[\"https://a.example\"]",
    ]);
    assert_eq!(bad.code, 2, "bad parameters: {bad:?}");
    assert!(bad.stderr.contains("alowed"), "{bad:?}");
}

#[test]
fn check_reports_a_bad_probe_parameter_at_its_line_and_column() {
    let p = Project::new(
        "[gates.h]\nprobe = \"rate-limit\"\nbase_url = \"http://127.0.0.1:1\"\npath = \"/login\"\nlimit = \"five\"\n\n[[phase]]\nid = \"p\"\ngates = [\"h\"]\n",
    );
    let r = p.run(&["check"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("phasegate.toml:5:1"), "{r:?}");
    assert!(
        r.stderr
            .contains("invalid parameter `limit` for probe `rate-limit`"),
        "{r:?}"
    );
}

/// A health gate against a plain HTTP service, its fault hook taking longer than the gate.
fn health_roadmap(timeout: &str) -> String {
    phasegate_testkit::one_phase_after(
        "[project]\nname = \"t\"\n\n[services.web]\nrun = \"exec python3 -m http.server {port} --bind 127.0.0.1\"\nready = { http = \"http://127.0.0.1:{port}/\", within = \"20s\" }\n\n",
        &[(
            "health",
            &format!(
                "probe = \"health\"\nservice = \"web\"\nlive = \"/\"\nready = \"/\"\ntimeout = \"{timeout}\"\nfault = \"touch faulted; sleep 30\"\nrestore = \"touch restored\"\nwithin = \"40s\""
            ),
        )],
    )
}

#[test]
fn the_health_restore_hook_runs_when_the_gate_times_out_and_on_ctrl_c() {
    let p = Project::new(&health_roadmap("1s"));
    let r = p.run(&["run", "--grace", "500ms"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("timed out after 1s"), "{r:?}");
    assert!(p.file("restored").exists(), "restore did not run: {r:?}");
    let why = p.run(&["why", "health"]);
    assert!(why.stdout.contains("restored-after-cut"), "{why:?}");

    let p = Project::new(&health_roadmap("60s"));
    let out = p.interrupt(&["run"], || p.file("faulted").exists());
    assert_eq!(out.code, 130, "{out:?}");
    assert!(p.file("restored").exists(), "restore did not run: {out:?}");
}
