//! The gate cache through real runs: what invalidates which gate, what never is cached,
//! and what `run --explain` and `why` name.

use std::collections::BTreeMap;
use std::path::Path;

use phasegate_engine::{Session, Why};
use phasegate_model::{CacheDecision, Change, GateState, How, Record, Verdict};

use crate::support::{Project, one_phase, run};

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// The session with `vars` as its environment.
fn session_with(p: &Project, vars: &[(&str, &str)]) -> Session {
    Session::open(phasegate_engine::Options {
        vars: vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..p.options()
    })
    .unwrap()
}

/// Runs everything; returns each gate's decision as a short word, and the records.
fn run_all(s: &Session) -> (BTreeMap<String, String>, Vec<Record>) {
    let (_, report, _) = run(s, &[]);
    let words = report
        .decisions
        .iter()
        .map(|(g, d)| {
            let word = match d {
                CacheDecision::Hit(_) => "cached".to_owned(),
                other => format!("ran: {other}"),
            };
            (g.to_string(), word)
        })
        .collect();
    (words, report.records)
}

fn cached(words: &BTreeMap<String, String>) -> Vec<&str> {
    words
        .iter()
        .filter(|(_, w)| *w == "cached")
        .map(|(g, _)| g.as_str())
        .collect()
}

/// `lib` and `doc` hash their directories, `app` needs `lib` and declares `$APP_MODE`.
fn project() -> Project {
    let p = Project::new(&one_phase(&[
        ("lib", "run = \"cat lib/*.txt\"\ninputs = [\"lib/**\"]"),
        (
            "app",
            "run = \"true\"\ninputs = [\"app/**\", \"$APP_MODE\"]\nneeds = [\"lib\"]",
        ),
        ("doc", "run = \"true\"\ninputs = [\"doc/*.md\"]"),
        ("plain", "run = \"true\""),
    ]));
    let root = p.dir.path();
    write(root, "lib/a.txt", "a");
    write(root, "app/main.txt", "main");
    write(root, "doc/readme.md", "# doc");
    write(root, ".gitignore", "lib/tmp/\n");
    p
}

#[test]
fn each_change_invalidates_exactly_the_gates_it_should_and_says_why() {
    let p = project();
    let root = p.dir.path().to_path_buf();
    let s = session_with(&p, &[("APP_MODE", "one")]);

    let (words, _) = run_all(&s);
    assert!(cached(&words).is_empty(), "{words:?}");
    assert_eq!(
        words["plain"],
        "ran: not cacheable: it declares no `inputs`"
    );

    // Nothing changed: every cacheable gate is reused, the others run.
    let (words, records) = run_all(&s);
    assert_eq!(cached(&words), ["app", "doc", "lib"], "{words:?}");
    let lib = records.iter().find(|r| r.gate.as_str() == "lib").unwrap();
    assert_eq!(lib.verdict, Verdict::Pass);
    assert!(lib.output.is_none() && lib.cached_from().is_some());

    // An input file: its gate and what needs it.
    write(&root, "lib/a.txt", "A");
    let (words, _) = run_all(&s);
    assert_eq!(cached(&words), ["doc"], "{words:?}");
    assert_eq!(words["lib"], "ran: changed: file `lib/a.txt` changed");
    assert_eq!(words["app"], "ran: changed: needed gate `lib` changed");

    // A file added, and one removed.
    write(&root, "lib/b.txt", "b");
    std::fs::remove_file(root.join("doc/readme.md")).unwrap();
    let (words, _) = run_all(&s);
    assert_eq!(words["lib"], "ran: changed: file `lib/b.txt` added");
    assert_eq!(words["doc"], "ran: changed: file `doc/readme.md` removed");

    // Touching a file without changing it, and writing an ignored file, change nothing.
    let (words, _) = run_all(&s);
    assert_eq!(cached(&words), ["app", "doc", "lib"], "{words:?}");
    let f = std::fs::File::options()
        .write(true)
        .open(root.join("lib/a.txt"))
        .unwrap();
    f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))
        .unwrap();
    drop(f);
    write(&root, "lib/tmp/scratch.txt", "ignored");
    let (words, _) = run_all(&s);
    assert_eq!(cached(&words), ["app", "doc", "lib"], "{words:?}");

    // A declared variable: only the gate declaring it.
    let s = session_with(&p, &[("APP_MODE", "two")]);
    let (words, _) = run_all(&s);
    assert_eq!(cached(&words), ["doc", "lib"], "{words:?}");
    assert_eq!(words["app"], "ran: changed: variable `APP_MODE` changed");
    let s = session_with(&p, &[]);
    let (words, _) = run_all(&s);
    assert_eq!(words["app"], "ran: changed: variable `APP_MODE` unset");

    // The command: only that gate (and what needs it).
    let roadmap = std::fs::read_to_string(root.join("phasegate.toml")).unwrap();
    let changed = roadmap.replacen(
        "[gates.doc]\nrun = \"true\"",
        "[gates.doc]\nrun = \"test -d doc\"",
        1,
    );
    std::fs::write(root.join("phasegate.toml"), changed).unwrap();
    let s = session_with(&p, &[]);
    let (words, _) = run_all(&s);
    assert_eq!(cached(&words), ["app", "lib"], "{words:?}");
    assert_eq!(
        words["doc"],
        "ran: changed: `command` changed in the gate's definition"
    );
}

#[test]
fn why_names_what_changed_and_status_shows_the_cached_evidence() {
    let p = project();
    let root = p.dir.path().to_path_buf();
    let s = p.session();
    run_all(&s);
    run_all(&s);
    let Why { status, cache, .. } = s.why("lib").unwrap();
    assert_eq!(status.state, GateState::Pass);
    let from = status.cached_from.clone().expect("a cached pass");
    assert_eq!(
        status.reason,
        format!("passed (cached from evidence #{})", from.seq)
    );
    assert!(matches!(cache, Some(CacheDecision::Hit(f)) if f == from));
    let table = phasegate_report::status_table(&s.scorecard().unwrap(), None);
    assert!(
        table.contains(&format!("pass (cached from evidence #{}, ", from.seq)),
        "{table}"
    );

    write(&root, "lib/a.txt", "changed");
    let why = s.why("lib").unwrap();
    assert_eq!(
        why.cache,
        Some(CacheDecision::Changed(vec![Change::File {
            path: "lib/a.txt".into(),
            how: How::Changed
        }]))
    );
    let line = phasegate_report::why_cache(why.cache.as_ref().unwrap(), why.evaluated_at);
    assert_eq!(
        line,
        "  cache:    a run would run it: changed: file `lib/a.txt` changed\n"
    );
    // `why` reads the stat cache but never writes it.
    let stat = s.ledger_dir.join(phasegate_engine::STAT_CACHE_FILE);
    let before = std::fs::read(&stat).unwrap();
    s.why("app").unwrap();
    assert_eq!(std::fs::read(&stat).unwrap(), before);
}

#[test]
fn a_failing_gate_is_never_cached_and_no_cache_forces_a_run() {
    let p = Project::new(&one_phase(&[
        ("bad", "run = \"exit 1\"\ninputs = [\"x\"]"),
        ("good", "run = \"true\"\ninputs = [\"x\"]"),
    ]));
    write(p.dir.path(), "x", "x");
    let s = p.session();
    run_all(&s);
    let (words, records) = run_all(&s);
    assert_eq!(cached(&words), ["good"]);
    assert!(
        words["bad"].starts_with("ran: its evidence is not a pass (fail: "),
        "{words:?}"
    );
    let bad = records.iter().find(|r| r.gate.as_str() == "bad").unwrap();
    assert_eq!((bad.verdict, bad.cached_from()), (Verdict::Fail, None));

    let plan = s.plan(&[]).unwrap();
    let (_cancel, cancel_rx) = tokio::sync::watch::channel(false);
    let options = phasegate_engine::RunOptions {
        no_cache: true,
        ..crate::support::options()
    };
    let report = crate::support::runtime()
        .block_on(s.run(&plan, &options, |_| {}, cancel_rx))
        .unwrap();
    assert_eq!(report.decisions["good"], CacheDecision::Forced);
    assert!(report.records.iter().all(|r| r.cached_from().is_none()));
}

#[test]
fn a_gate_writing_into_its_inputs_is_not_cached_and_the_finding_names_the_file() {
    let p = Project::new(&one_phase(&[(
        "gen",
        "run = \"date +%s%N > gen/out.txt\"\ninputs = [\"gen/**\"]",
    )]));
    write(p.dir.path(), "gen/out.txt", "0");
    let s = p.session();
    let (_, records) = run_all(&s);
    let finding = &records[0].findings[0];
    assert_eq!(finding.code, "inputs-modified");
    assert_eq!(finding.location.as_deref(), Some("gen/out.txt"));
    assert_eq!(records[0].verdict, Verdict::Pass);
    let (words, _) = run_all(&s);
    assert_eq!(
        words["gen"],
        "ran: its inputs changed while it last ran (`gen/out.txt`)"
    );
}

#[test]
fn changed_runs_only_the_gates_whose_key_changed_and_their_dependants() {
    let p = project();
    let s = p.session();
    run_all(&s);
    let plan = s.plan(&[]).unwrap();
    let (narrowed, left) = s.changed(&plan).unwrap();
    // `plain` has no inputs but a key all the same: unchanged.
    assert!(narrowed.gates.is_empty(), "{:?}", narrowed.gates);
    assert_eq!(left.len(), 4);

    write(p.dir.path(), "lib/a.txt", "changed");
    let (narrowed, _) = s.changed(&plan).unwrap();
    let ids: Vec<&str> = narrowed.gates.iter().map(|g| g.as_str()).collect();
    assert_eq!(ids, ["lib", "app"]);
}

#[test]
fn a_fully_cached_gate_starts_no_service_and_a_probe_parameter_invalidates_it() {
    // A service that leaves a mark when it starts, and a probe of it opting in to the cache.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for mut conn in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let _ = conn
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    let head = format!(
        "[project]\nname = \"t\"\n\n[services.api]\nrun = \"touch started; exec sleep 30\"\nurl = \"http://127.0.0.1:{port}\"\n\n"
    );
    let roadmap = |path: &str| {
        phasegate_testkit::one_phase_after(
            &head,
            &[(
                "smoke",
                &format!(
                    "probe = \"http\"\nservice = \"api\"\ncache = true\nrequests = [{{ path = \"{path}\" }}]"
                ),
            )],
        )
    };
    let p = Project::new(&roadmap("/"));
    let root = p.dir.path().to_path_buf();
    let s = p.session();
    let (words, records) = run_all(&s);
    assert_eq!(records[0].verdict, Verdict::Pass, "{:?}", records[0].reason);
    assert!(root.join("started").exists());
    assert!(
        words["smoke"].starts_with("ran: no earlier evidence"),
        "{words:?}"
    );

    std::fs::remove_file(root.join("started")).unwrap();
    let (words, _) = run_all(&s);
    assert_eq!(cached(&words), ["smoke"]);
    assert!(
        !root.join("started").exists(),
        "a cached run started the service"
    );

    std::fs::write(root.join("phasegate.toml"), roadmap("/health")).unwrap();
    let s = p.session();
    let (words, _) = run_all(&s);
    assert_eq!(
        words["smoke"],
        "ran: changed: `params.requests` changed in the gate's definition"
    );
}

#[test]
fn a_secret_the_gate_is_given_is_in_its_key_but_never_stored_in_clear() {
    let p = Project::new(&one_phase(&[(
        "deploy",
        "run = \"true\"\ninputs = [\"x\"]\nsecret_env = [\"DEPLOY_TOKEN\"]",
    )]));
    write(p.dir.path(), "x", "x");
    let secret = "s3cr3t-value-never-stored";
    let s = session_with(&p, &[("DEPLOY_TOKEN", secret)]);
    run_all(&s);
    let (words, _) = run_all(&s);
    assert_eq!(cached(&words), ["deploy"]);
    let s = session_with(&p, &[("DEPLOY_TOKEN", "rotated")]);
    let (words, _) = run_all(&s);
    assert_eq!(
        words["deploy"],
        "ran: changed: variable `DEPLOY_TOKEN` changed"
    );
    let mut export = Vec::new();
    s.export_jsonl(&mut export).unwrap();
    let export = String::from_utf8(export).unwrap();
    assert!(export.contains("\"DEPLOY_TOKEN\":\""), "the digest is kept");
    assert!(!export.contains(secret) && !export.contains("rotated"));
}

#[test]
fn changed_also_runs_a_need_that_does_not_pass_rather_than_run_without_it() {
    let p = Project::new(&one_phase(&[
        ("a", "run = \"test -f ok\"\ninputs = [\"x\"]"),
        ("b", "run = \"true\"\ninputs = [\"y\"]\nneeds = [\"a\"]"),
    ]));
    write(p.dir.path(), "x", "x");
    write(p.dir.path(), "y", "y");
    let s = p.session();
    run_all(&s);
    write(p.dir.path(), "y", "changed");
    let (narrowed, left) = s.changed(&s.plan(&[]).unwrap()).unwrap();
    let ids: Vec<&str> = narrowed.gates.iter().map(|g| g.as_str()).collect();
    assert_eq!(ids, ["a", "b"], "`a` failed: `b` must wait for it");
    assert!(left.is_empty());
}
