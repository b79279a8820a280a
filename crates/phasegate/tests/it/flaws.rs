//! `phasegate demo`: the membership roadmap against the sample service, clean and with each
//! flaw. Every flaw the sample service offers must be caught by a probe gate that fails
//! with a finding — a table-driven test over `sample-service --list-flaws`.

use std::process::Command;

use crate::harness::{BIN, Ran};

/// Which gate of examples/membership/phasegate.toml catches which flaw, and a word the
/// finding (code or message) must contain.
const CAUGHT_BY: &[(&str, &str, &str)] = &[
    ("no-hsts", "security-headers", "hsts"),
    ("csp-unsafe-inline", "security-headers", "unsafe-inline"),
    ("x-powered-by", "security-headers", "powered"),
    ("cookie-not-httponly", "security-headers", "httponly"),
    ("cors-any-origin", "cors-allowlist", "origin"),
    ("no-request-id", "request-id", "request"),
    ("ready-ignores-db", "readiness-tracks-db", "ready"),
    ("metrics-missing", "metrics", "metrics"),
    ("no-rate-limit", "sign-in-rate-limit", "429"),
    // access: rbac, strict-input
    ("rbac-auditor-can-write", "admin-rbac", "auditor"),
    ("rbac-admin-open", "admin-rbac", "anonymous"),
    ("rbac-flaky-deny", "admin-rbac", "some of the time"),
    ("dto-accepts-unknown", "strict-dto", "unknown field"),
    // payments
    ("webhook-no-signature", "payment-webhook", "unsigned"),
    ("webhook-replay", "payment-webhook", "replayed event"),
    ("webhook-stale-ok", "payment-webhook", "stale timestamp"),
    ("amount-mismatch-ok", "payment-webhook", "mismatch"),
    ("idempotency-ignored", "checkout-idempotency", "answers"),
    // content and lifecycle: token, shutdown
    ("token-never-expires", "download-tokens", "expired"),
    ("token-not-bound", "download-tokens", "not bound"),
    ("token-in-url-logged", "download-tokens", "access.log"),
    ("shutdown-drops-requests", "graceful-shutdown", "in flight"),
    // performance: load
    ("slow-endpoint", "landing-latency", "p95"),
];

fn demo(dir: &std::path::Path, flaws: &[&str]) -> Ran {
    let mut c = Command::new(BIN);
    c.arg("demo")
        .arg("--dir")
        .arg(dir)
        .env_remove("PHASEGATE_SIGNING_KEY")
        .env_remove("PHASEGATE_LEDGER");
    for f in flaws {
        c.args(["--flaw", f]);
    }
    c.output().unwrap().into()
}

fn status(dir: &std::path::Path) -> serde_json::Value {
    let out = Command::new(BIN)
        .args(["status", "--format", "json", "-c"])
        .arg(dir.join("phasegate.toml"))
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Fails when the demo's output or its stored evidence holds the webhook secret or a token
/// in clear. The sample service's tokens are base64url JSON, so every one starts `eyJ`.
fn assert_no_secrets(dir: &std::path::Path, ran: &Ran) -> Result<(), String> {
    let export = Command::new(BIN)
        .args(["evidence", "export", "-c"])
        .arg(dir.join("phasegate.toml"))
        .output()
        .unwrap();
    let export = String::from_utf8_lossy(&export.stdout);
    if export.lines().count() < 2 {
        return Err(format!("no evidence exported: {export}"));
    }
    for (what, text) in [
        ("stdout", ran.stdout.as_str()),
        ("stderr", ran.stderr.as_str()),
        ("evidence", &export),
    ] {
        if text.contains(phasegate_sample_service::DEFAULT_WEBHOOK_SECRET) {
            return Err(format!("the webhook secret is in the {what}"));
        }
        if let Some(at) = text.find("eyJ") {
            let end = text.len().min(at + 60);
            return Err(format!(
                "a token in clear in the {what}: {}",
                &text[at..end]
            ));
        }
    }
    Ok(())
}

fn gate_states(doc: &serde_json::Value) -> Vec<(String, String)> {
    doc["gates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["id"].as_str().unwrap().to_owned(),
                g["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn the_clean_sample_service_passes_every_gate_and_the_demo_says_go() {
    let dir = tempfile::tempdir().unwrap();
    let r = demo(dir.path(), &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("GO: every phase is done"), "{r:?}");
    assert_no_secrets(dir.path(), &r).unwrap();
    let doc = status(dir.path());
    for (gate, state) in gate_states(&doc) {
        assert_eq!(
            state, "pass",
            "gate {gate} against the clean service: {r:?}"
        );
    }
    let verify = Command::new(BIN)
        .args(["evidence", "verify", "-c"])
        .arg(dir.path().join("phasegate.toml"))
        .output()
        .unwrap();
    assert!(verify.status.success());
}

#[test]
fn every_flaw_is_caught_by_a_gate_that_fails_and_says_why() {
    let listed = Command::new(BIN)
        .args(["sample-service", "--list-flaws"])
        .output()
        .unwrap();
    assert!(listed.status.success());
    let names: Vec<String> = String::from_utf8(listed.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split('\t').next())
        .map(str::to_owned)
        .collect();
    assert!(names.len() >= 9, "{names:?}");
    let uncaught: Vec<&String> = names
        .iter()
        .filter(|n| !CAUGHT_BY.iter().any(|(f, _, _)| f == n))
        .collect();
    assert!(
        uncaught.is_empty(),
        "flaws with no probe that catches them: {uncaught:?}"
    );

    // Two demos at a time: each starts its own service on its own port.
    let results: Vec<(String, Result<(), String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = CAUGHT_BY
            .chunks(CAUGHT_BY.len().div_ceil(2))
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|&(flaw, gate, word)| (flaw.to_owned(), check_flaw(flaw, gate, word)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let failures: Vec<String> = results
        .into_iter()
        .filter_map(|(f, r)| r.err().map(|e| format!("{f}: {e}")))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn check_flaw(flaw: &str, gate: &str, word: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let r = demo(dir.path(), &[flaw]);
    if r.code != 1 {
        return Err(format!("demo should be no-go (exit 1): {r:?}"));
    }
    assert_no_secrets(dir.path(), &r)?;
    let states = gate_states(&status(dir.path()));
    let state = states
        .iter()
        .find(|(g, _)| g == gate)
        .map(|(_, s)| s.as_str());
    if state != Some("fail") {
        return Err(format!(
            "gate {gate} should fail, is {state:?}; all: {states:?}"
        ));
    }
    let why: Ran = Command::new(BIN)
        .args(["why", gate, "-c"])
        .arg(dir.path().join("phasegate.toml"))
        .output()
        .unwrap()
        .into();
    let findings: Vec<&str> = why
        .stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("finding:"))
        .collect();
    if findings.is_empty() || !findings.iter().any(|f| f.to_lowercase().contains(word)) {
        return Err(format!(
            "`why {gate}` should show a finding mentioning {word:?}: {why:?}"
        ));
    }
    Ok(())
}
