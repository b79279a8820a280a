//! `phasegate watch`: the real binary watching a temporary project; each step waits for the
//! line the loop prints when it is done (no sleeps), and the gates log each real run to a
//! file outside the project (a file inside would be a change of its own).

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use phasegate_testkit::{Server, Signal};

use crate::harness::{Project, one_phase};

/// How long one step of the loop may take on a slow machine.
const STEP: Duration = Duration::from_secs(60);

/// A running `phasegate watch` (or `daemon run`) and the lines of its stderr.
pub struct Watching {
    server: Option<Server>,
    lines: mpsc::Receiver<String>,
    /// Every line seen so far.
    pub seen: Vec<String>,
}

impl Watching {
    pub fn start(p: &Project, args: &[&str]) -> Watching {
        let mut server = p.start(args, Stdio::null(), Stdio::piped());
        let stderr = server.child_mut().stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Watching {
            server: Some(server),
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a line containing `text`; returns it.
    pub fn expect(&mut self, text: &str) -> String {
        let deadline = Instant::now() + STEP;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(text) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no line with `{text}` within {STEP:?}; seen:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Ctrl-C: the exit code and the rest of stderr.
    pub fn interrupt(mut self) -> (i32, String) {
        let mut server = self.server.take().unwrap();
        server.signal(Signal::INT);
        let status = server.wait_timeout(STEP).expect("watch ends on Ctrl-C");
        let rest: Vec<String> = self.lines.iter().collect();
        (status.code().unwrap_or(-1), rest.join("\n"))
    }
}

/// `a` and `b` read their own input; `c` needs `a`. Each logs its runs to `log`.
fn project(log: &std::path::Path) -> Project {
    let log = log.display();
    let p = Project::new(&one_phase(&[
        (
            "a",
            &format!("run = \"echo a >> {log}\"\ninputs = [\"a.txt\"]"),
        ),
        (
            "b",
            &format!("run = \"echo b >> {log}\"\ninputs = [\"b.txt\"]"),
        ),
        (
            "c",
            &format!("run = \"echo c >> {log}\"\ninputs = [\"c.txt\"]\nneeds = [\"a\"]"),
        ),
    ]));
    for f in ["a.txt", "b.txt", "c.txt"] {
        std::fs::write(p.file(f), "1").unwrap();
    }
    p
}

/// A project with one gate `id` running `run` (`{log}` replaced by `log`), its input file
/// `in.txt`, and further keys `extra`.
pub fn one_gate(id: &str, run: &str, log: &std::path::Path, extra: &str) -> Project {
    let run = run.replace("{log}", &log.display().to_string());
    let p = Project::new(&one_phase(&[(
        id,
        &format!("run = \"{run}\"\ninputs = [\"in.txt\"]\n{extra}"),
    )]));
    std::fs::write(p.file("in.txt"), "1").unwrap();
    p
}

/// The times (ns since the epoch) a gate running `date +%s%N >> {log}` started.
pub fn times(log: &std::path::Path) -> Vec<u128> {
    runs(log).iter().map(|t| t.parse().unwrap()).collect()
}

fn runs(log: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn an_edit_to_an_input_reruns_that_gate_and_its_dependants_only() {
    let out = tempfile::tempdir().unwrap();
    let log = out.path().join("runs.log");
    let p = project(&log);
    let mut w = Watching::start(&p, &["watch", "--debounce", "50ms"]);
    w.expect("cycle (start): running a, b, c");
    w.expect("waiting for changes");
    let mut first = runs(&log);
    first.sort();
    assert_eq!(first, ["a", "b", "c"]);

    std::fs::write(p.file("a.txt"), "2").unwrap();
    w.expect("cycle (changed: a.txt): running a, c");
    w.expect("waiting for changes");
    assert_eq!(runs(&log)[3..], ["a", "c"], "{:?}", w.seen);

    // Rewriting a file with the same content changes no key: nothing runs.
    std::fs::write(p.file("b.txt"), "1").unwrap();
    w.expect("changed: b.txt: no gate's key changed");
    w.expect("waiting for changes");

    std::fs::write(p.file("b.txt"), "2").unwrap();
    w.expect("cycle (changed: b.txt): running b");
    w.expect("waiting for changes");
    assert_eq!(runs(&log)[5..], ["b"]);

    let (code, _) = w.interrupt();
    assert_eq!(code, 130);
    let status = p.run(&["status"]);
    assert_eq!(status.code, 0, "{status:?}");
}

#[test]
fn a_broken_roadmap_edit_prints_the_diagnostic_and_a_fix_resumes() {
    let out = tempfile::tempdir().unwrap();
    let log = out.path().join("runs.log");
    let p = project(&log);
    let good = std::fs::read_to_string(p.file("phasegate.toml")).unwrap();
    let mut w = Watching::start(&p, &["watch", "--debounce", "50ms"]);
    w.expect("waiting for changes");

    std::fs::write(
        p.file("phasegate.toml"),
        good.replace("[gates.b]", "[gates.b]\ntimout = \"1m\""),
    )
    .unwrap();
    w.expect("the roadmap does not load; watching for a fix");
    let at = w.expect("phasegate.toml:");
    assert!(at.contains("phasegate.toml:9:1"), "{at}");
    w.expect("did you mean `timeout`?");
    w.expect("waiting for changes");
    assert_eq!(runs(&log).len(), 3, "a broken roadmap ran gates");

    // The fix changes `b`'s definition: `b` runs again, and only `b`.
    std::fs::write(
        p.file("phasegate.toml"),
        good.replace("[gates.b]", "[gates.b]\ntimeout = \"1m\""),
    )
    .unwrap();
    w.expect("cycle (changed: phasegate.toml): running b");
    w.expect("waiting for changes");
    assert_eq!(runs(&log)[3..], ["b"]);
    let (code, _) = w.interrupt();
    assert_eq!(code, 130);
}

#[test]
fn ctrl_c_ends_the_running_gate_and_closes_the_run_as_interrupted() {
    let out = tempfile::tempdir().unwrap();
    let started = out.path().join("started");
    let p = one_gate("slow", "echo $$ > {log} && exec sleep 300", &started, "");
    let mut w = Watching::start(&p, &["watch", "--grace", "1s"]);
    w.expect("cycle (start): running slow");
    crate::harness::wait_until(STEP, || !crate::harness::pids_in(&started).is_empty());
    let pid = crate::harness::pids_in(&started)[0];
    let (code, _) = w.interrupt();
    assert_eq!(code, 130);
    assert!(!crate::harness::alive(pid), "the gate outlived the watch");
    let export = p.run(&["evidence", "export"]).stdout;
    assert!(export.contains("\"status\":\"interrupted\""), "{export}");
    let verify = p.run(&["evidence", "verify"]);
    assert_eq!(verify.code, 0, "the interrupted run is closed: {verify:?}");
}

#[test]
fn a_change_within_the_cooldown_waits_for_its_end() {
    let out = tempfile::tempdir().unwrap();
    let log = out.path().join("runs.log");
    let p = one_gate("a", "date +%s%N >> {log}", &log, "cooldown = \"2s\"");
    let mut w = Watching::start(&p, &["watch", "--debounce", "50ms"]);
    w.expect("waiting for changes");
    std::fs::write(p.file("in.txt"), "2").unwrap();
    w.expect("in cooldown: a until");
    w.expect("waiting; next: a at");
    assert_eq!(runs(&log).len(), 1, "ran within its cooldown");
    w.expect("cycle (cooldown over: a): running a");
    w.expect("waiting for changes");
    let times = times(&log);
    assert_eq!(times.len(), 2);
    let gap = Duration::from_nanos((times[1] - times[0]) as u64);
    // The cooldown counts from just before the first run started.
    assert!(gap >= Duration::from_millis(1900), "{gap:?}");
    let (code, _) = w.interrupt();
    assert_eq!(code, 130);
}

#[test]
fn a_new_directory_is_watched_and_an_ignored_one_is_not() {
    let out = tempfile::tempdir().unwrap();
    let log = out.path().join("runs.log");
    let p = Project::new(&one_phase(&[(
        "a",
        &format!(
            "run = \"echo a >> {}\"\ninputs = [\"src/**\"]",
            log.display()
        ),
    )]));
    std::fs::create_dir_all(p.file("src")).unwrap();
    std::fs::create_dir_all(p.file("target")).unwrap();
    std::fs::write(p.file("src/a.txt"), "1").unwrap();
    std::fs::write(p.file(".gitignore"), "target/\n").unwrap();
    let mut w = Watching::start(&p, &["watch", "--debounce", "50ms"]);
    w.expect("waiting for changes");

    std::fs::create_dir(p.file("src/new")).unwrap();
    w.expect("changed: src/new: no gate's key changed");
    w.expect("waiting for changes");
    std::fs::write(p.file("src/new/b.txt"), "1").unwrap();
    w.expect("cycle (changed: src/new/b.txt): running a");
    w.expect("waiting for changes");

    std::fs::write(p.file("target/out.bin"), "1").unwrap();
    std::fs::write(p.file("src/a.txt"), "2").unwrap();
    w.expect("cycle (changed: src/a.txt): running a");
    w.expect("waiting for changes");
    assert!(
        !w.seen.iter().any(|l| l.contains("target")),
        "{:#?}",
        w.seen
    );
    assert_eq!(runs(&log).len(), 3);
    let (code, _) = w.interrupt();
    assert_eq!(code, 130);
}
