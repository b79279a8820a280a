//! The ledger under attack: tampering, SIGKILL at any moment, concurrent runs.

use std::process::Stdio;
use std::time::Duration;

use phasegate_testkit::Signal;

use crate::harness::{Project, one_phase, pids_in, wait_until};

fn db(p: &Project) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(p.ledger_db()).unwrap();
    c.busy_timeout(Duration::from_secs(30)).unwrap();
    c
}

fn count_records(p: &Project) -> i64 {
    if !p.ledger_db().exists() {
        return 0;
    }
    db(p)
        .query_row(
            "SELECT count(*) FROM entries WHERE kind = 'record'",
            [],
            |r| r.get(0),
        )
        .unwrap_or(0)
}

fn quick_gates(n: usize) -> String {
    let gates: Vec<(String, String)> = (0..n)
        .map(|i| (format!("g{i:02}"), "run = \"true\"".to_owned()))
        .collect();
    let refs: Vec<(&str, &str)> = gates
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    one_phase(&refs)
}

#[test]
fn changing_one_byte_of_one_stored_record_is_detected_and_named() {
    let p = Project::new(&one_phase(&[
        ("a", "run = \"true\""),
        ("b", "run = \"echo hello\""),
        ("c", "run = \"true\""),
    ]));
    assert_eq!(p.run(&["run", "--jobs", "1"]).code, 0);
    let ok = p.run(&["evidence", "verify"]);
    assert_eq!(ok.code, 0, "{ok:?}");
    let conn = db(&p);
    let (seq, body): (i64, Vec<u8>) = conn
        .query_row(
            "SELECT seq, body FROM entries WHERE gate = 'b' AND kind = 'record'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    // Flip the exit code's digit: 0 -> 1, one byte.
    let at = find(&body, b"\"exit_code\":0").unwrap() + 12;
    let mut tampered = body.clone();
    tampered[at] = b'1';
    conn.execute(
        "UPDATE entries SET body = ?1 WHERE seq = ?2",
        rusqlite::params![tampered, seq],
    )
    .unwrap();
    drop(conn);
    let r = p.run(&["evidence", "verify"]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stdout.contains(&format!("entry {seq}")),
        "names the entry: {r:?}"
    );
    assert!(r.stdout.contains("`b`"), "names the gate: {r:?}");
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn sigkill_during_a_run_leaves_a_verifiable_ledger_with_the_run_incomplete() {
    let p = Project::new(&one_phase(&[
        ("fast", "run = \"true\""),
        ("slow", "run = \"echo $$ > slow.pid; exec sleep 60\""),
    ]));
    let mut run = p.start(&["run"], Stdio::null(), Stdio::null());
    wait_until(Duration::from_secs(30), || {
        count_records(&p) >= 1 && p.file("slow.pid").exists()
    });
    run.signal(Signal::KILL);
    run.wait_timeout(Duration::from_secs(30)).unwrap();
    // The gate's process outlives a SIGKILLed phasegate (nothing can prevent that); end it.
    for pid in pids_in(&p.file("slow.pid")) {
        let _ = std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status();
    }
    let r = p.run(&["evidence", "verify"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("incomplete"), "{r:?}");
    // The ledger stays usable: the next run closes and verifies.
    std::fs::write(
        p.file("phasegate.toml"),
        one_phase(&[("fast", "run = \"true\"")]),
    )
    .unwrap();
    assert_eq!(p.run(&["run"]).code, 0);
    let r = p.run(&["evidence", "verify"]);
    assert_eq!(r.code, 0, "{r:?}");
}

#[test]
fn sigkill_at_any_moment_never_breaks_the_chain_or_loses_a_closed_run() {
    let p = Project::new(&quick_gates(8));
    assert_eq!(p.run(&["run"]).code, 0, "one closed run first");
    let closed_heads = |p: &Project| -> i64 {
        db(p)
            .query_row(
                "SELECT count(*) FROM entries WHERE kind = 'head'",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    let mut heads = closed_heads(&p);
    for delay_ms in [0u64, 3, 7, 12, 20, 30, 45, 60, 90, 130, 200] {
        let mut run = p.start(&["run"], Stdio::null(), Stdio::null());
        std::thread::sleep(Duration::from_millis(delay_ms));
        run.signal(Signal::KILL);
        let status = run.wait_timeout(Duration::from_secs(30)).unwrap();
        let r = p.run(&["evidence", "verify"]);
        assert_eq!(r.code, 0, "after SIGKILL at {delay_ms} ms: {r:?}");
        let now = closed_heads(&p);
        assert!(
            now >= heads,
            "a closed run was lost after SIGKILL at {delay_ms} ms"
        );
        if status.success() {
            assert_eq!(now, heads + 1, "a run that exited normally has its head");
        }
        heads = now;
    }
}

/// The gates a run's progress lines (stderr, not a terminal) report as finished.
fn reported_finished(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("✔ "))
        .filter_map(|l| l.split(' ').next())
        .map(str::to_owned)
        .collect()
}

/// The gates with a record in the latest run opened.
fn gates_stored_by_latest_run(p: &Project) -> Vec<String> {
    let conn = db(p);
    let run: String = conn
        .query_row(
            "SELECT run_id FROM entries WHERE kind = 'run_opened' ORDER BY seq DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let mut stmt = conn
        .prepare("SELECT gate FROM entries WHERE kind = 'record' AND run_id = ?1")
        .unwrap();
    stmt.query_map([run], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn sigkill_while_records_are_committed_in_groups_never_loses_a_record_it_reported() {
    // Many quick gates at once: records finish together and share commits.
    let p = Project::new(&quick_gates(40));
    let full = p.run(&["run", "--jobs", "8"]);
    assert_eq!(full.code, 0, "{full:?}");
    let mut reported = reported_finished(&full.stderr);
    let mut stored = gates_stored_by_latest_run(&p);
    reported.sort();
    stored.sort();
    assert_eq!(reported.len(), 40, "{full:?}");
    assert_eq!(reported, stored, "a whole run stores what it reports");
    for delay_ms in [0u64, 5, 10, 20, 35, 50, 80, 120, 180] {
        let log = p.file(&format!("stderr-{delay_ms}"));
        let mut run = p.start(
            &["run", "--jobs", "8"],
            Stdio::null(),
            std::fs::File::create(&log).unwrap().into(),
        );
        std::thread::sleep(Duration::from_millis(delay_ms));
        run.signal(Signal::KILL);
        run.wait_timeout(Duration::from_secs(30)).unwrap();
        let r = p.run(&["evidence", "verify"]);
        assert_eq!(r.code, 0, "after SIGKILL at {delay_ms} ms: {r:?}");
        let stored = gates_stored_by_latest_run(&p);
        let shown = reported_finished(&std::fs::read_to_string(&log).unwrap());
        for gate in &shown {
            assert!(
                stored.contains(gate),
                "`{gate}` was reported finished but has no record (SIGKILL at {delay_ms} ms)"
            );
        }
    }
}

#[test]
fn two_concurrent_runs_on_one_ledger_both_finish_in_one_valid_chain() {
    let p = Project::new(&quick_gates(20));
    // The key exists first; the ledger does not: both runs create it at the same moment.
    assert_eq!(p.run(&["evidence", "key"]).code, 0);
    let a = p
        .cmd(&["run"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let b = p
        .cmd(&["run"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    let r = p.run(&["evidence", "verify"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        count_records(&p),
        40,
        "every record of both runs is present"
    );
    let heads: i64 = db(&p)
        .query_row(
            "SELECT count(*) FROM entries WHERE kind = 'head'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(heads, 2);
}

#[test]
fn the_signing_key_file_is_private_and_stable() {
    use std::os::unix::fs::PermissionsExt;
    let p = Project::new(&quick_gates(1));
    let first = p.run(&["evidence", "key"]);
    assert_eq!(first.code, 0, "{first:?}");
    // Issue 19: the key lives in the user's key directory, named by the id the project
    // records, never in the project.
    assert!(!p.file(".phasegate/signing.key").exists());
    let mode = std::fs::metadata(p.key_file())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let dir_mode = std::fs::metadata(p.key_dir()).unwrap().permissions().mode();
    assert_eq!(dir_mode & 0o777, 0o700);
    assert_eq!(p.run(&["evidence", "key"]).stdout, first.stdout);
    let seed = "11".repeat(32);
    let from_env: crate::harness::Ran = p
        .cmd(&["evidence", "key"])
        .env("PHASEGATE_SIGNING_KEY", &seed)
        .output()
        .unwrap()
        .into();
    assert_eq!(from_env.code, 0, "{from_env:?}");
    assert_ne!(
        from_env.stdout, first.stdout,
        "the environment's key takes precedence"
    );
}

#[test]
fn ctrl_c_ends_running_gates_records_what_finished_and_closes_the_run_as_interrupted() {
    let p = Project::new(&one_phase(&[
        ("quick", "run = \"true\""),
        (
            "slow",
            "run = \"echo $$ >> slow.pid; sleep 60 & echo $! >> slow.pid; wait\"",
        ),
        ("later", "run = \"touch later-ran\"\nneeds = [\"slow\"]"),
    ]));
    let out = p.interrupt(&["run", "--jobs", "2"], || {
        count_records(&p) >= 1 && pids_in(&p.file("slow.pid")).len() >= 2
    });
    assert_eq!(out.code, 130, "{out:?}");
    assert!(out.stdout.contains("interrupted"), "{out:?}");
    for pid in pids_in(&p.file("slow.pid")) {
        assert!(
            !crate::harness::alive(pid),
            "gate process {pid} survived Ctrl-C"
        );
    }
    assert!(!p.file("later-ran").exists(), "nothing starts after Ctrl-C");
    let verify = p.run(&["evidence", "verify"]);
    assert_eq!(verify.code, 0, "{verify:?}");
    assert!(
        !verify.stdout.contains("incomplete"),
        "the interrupted run is closed: {verify:?}"
    );
    let export = p.run(&["evidence", "export"]).stdout;
    assert!(export.contains("\"status\":\"interrupted\""), "{export}");
    let slow = export
        .lines()
        .find(|l| l.contains("\"gate\":\"slow\""))
        .unwrap();
    assert!(
        slow.contains("\"verdict\":\"error\"") && slow.contains("interrupted"),
        "{slow}"
    );
    assert!(
        export
            .lines()
            .any(|l| l.contains("\"gate\":\"quick\"") && l.contains("\"verdict\":\"pass\""))
    );
}

#[test]
fn status_over_a_ledger_that_does_not_verify_is_no_go_naming_the_broken_entry() {
    // Regression (issue 8): `status` printed GO over a chain that did not verify.
    let p = Project::new(&one_phase(&[
        ("a", "run = \"false\""),
        ("b", "run = \"true\""),
    ]));
    assert_eq!(p.run(&["run", "--jobs", "1"]).code, 1);
    let conn = db(&p);
    let (seq, body): (i64, Vec<u8>) = conn
        .query_row(
            "SELECT seq, body FROM entries WHERE gate = 'a' AND kind = 'record'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    // Turn the failure into a pass in place.
    let text = String::from_utf8(body).unwrap();
    let forged = text
        .replace("\"verdict\":\"fail\"", "\"verdict\":\"pass\"")
        .replace("\"exit_code\":1", "\"exit_code\":0");
    conn.execute(
        "UPDATE entries SET body = ?1, verdict = 'pass' WHERE seq = ?2",
        rusqlite::params![forged.as_bytes(), seq],
    )
    .unwrap();
    drop(conn);
    let r = p.run(&["status"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(!r.stdout.contains("GO: every phase"), "{r:?}");
    assert!(
        r.stdout.contains(&format!(
            "BROKEN: the evidence ledger does not verify: entry {seq} (gate `a`"
        )),
        "{r:?}"
    );
    let json = p.run(&["status", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["go"], false);
    assert!(
        doc["broken"]
            .as_str()
            .unwrap()
            .starts_with(&format!("entry {seq}"))
    );
}

#[test]
fn an_anchor_in_a_git_ref_makes_verify_fail_when_entries_after_it_are_removed() {
    let p = Project::new(&one_phase(&[("a", "run = \"true\"")]));
    p.commit_all("roadmap");
    assert_eq!(p.run(&["run"]).code, 0);
    let r = p.run(&["evidence", "anchor", "--git-ref", "refs/phasegate/anchor"]);
    assert_eq!(r.code, 0, "{r:?}");
    let anchor = r.stdout.trim().to_owned();
    assert!(anchor.starts_with("3:"), "{r:?}");
    assert_eq!(
        p.git(&["cat-file", "blob", "refs/phasegate/anchor"]).trim(),
        anchor
    );
    let ok = p.run(&["evidence", "verify"]);
    assert_eq!(ok.code, 0, "{ok:?}");
    assert!(
        ok.stdout
            .contains("(from git ref refs/phasegate/anchor): present"),
        "{ok:?}"
    );

    // Remove the run's record and head: what is left still links.
    db(&p)
        .execute("DELETE FROM entries WHERE seq > 1", [])
        .unwrap();
    let r = p.run(&["evidence", "verify"]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stdout.contains(&format!(
            "BROKEN anchor {anchor} (from git ref refs/phasegate/anchor): entry 3: missing"
        )),
        "{r:?}"
    );
    let r = p.run(&["evidence", "verify", "--anchor", &anchor]);
    assert_eq!(r.code, 4, "{r:?}");
    let r = p.run(&["evidence", "verify", "--anchor", "nonsense"]);
    assert_eq!(r.code, 2, "{r:?}");
}
