//! `phasegate daemon`: the real binary detached in the background, one per roadmap; each
//! test stops (or kills) what it started, whatever happens.

use std::time::{Duration, Instant};

use crate::harness::{Project, alive, flat, one_phase, wait_until};
use crate::watch::{one_gate, times};

const STEP: Duration = Duration::from_secs(60);

/// Ends the daemon of `p` when the test ends, even on a failed assertion.
struct Stopped<'a>(&'a Project);

impl Drop for Stopped<'_> {
    fn drop(&mut self) {
        let _ = self.0.run(&["daemon", "stop", "--wait", "20s"]);
        if let Some(pid) = pid(self.0) {
            let _ = rustix::process::kill_process(
                rustix::process::Pid::from_raw(pid).unwrap(),
                rustix::process::Signal::KILL,
            );
        }
    }
}

fn pid(p: &Project) -> Option<i32> {
    std::fs::read_to_string(p.file(".phasegate/daemon/pid"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn lines(path: &std::path::Path) -> usize {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .count()
}

#[test]
fn start_status_a_second_start_and_stop() {
    let p = Project::new(&one_phase(&[("ok", "run = \"true\"")]));
    let _guard = Stopped(&p);
    let start = p.run(&["daemon", "start"]);
    assert_eq!(start.code, 0, "{start:?}");
    assert!(start.stdout.contains("daemon started (pid "), "{start:?}");
    let pid = pid(&p).expect("a pid file");
    assert!(alive(pid));

    let again = p.run(&["daemon", "start"]);
    assert_eq!(again.code, 2, "{again:?}");
    assert!(
        flat(&again.stderr).contains(&format!(
            "a daemon is already running for this roadmap (pid {pid})"
        )),
        "{again:?}"
    );

    // The first cycle runs `ok`; the status lists it once it is done.
    wait_until(STEP, || {
        p.run(&["daemon", "status"]).stdout.contains("passed")
    });
    let status = p.run(&["daemon", "status"]);
    assert_eq!(status.code, 0, "{status:?}");
    assert!(
        status
            .stdout
            .contains(&format!("daemon: running (pid {pid})")),
        "{status:?}"
    );
    assert!(status.stdout.contains("start         passed"), "{status:?}");

    let stop = p.run(&["daemon", "stop"]);
    assert_eq!(stop.code, 0, "{stop:?}");
    assert!(
        stop.stdout.contains(&format!("daemon stopped (pid {pid})")),
        "{stop:?}"
    );
    assert!(!alive(pid));
    let status = p.run(&["daemon", "status"]);
    assert_eq!(status.code, 1, "{status:?}");
    assert!(
        status.stdout.contains("daemon: not running\n"),
        "{status:?}"
    );
    let logs = p.run(&["daemon", "logs"]);
    assert!(logs.stdout.contains("daemon started"), "{logs:?}");
    assert!(
        logs.stdout.contains("cycle (start): running ok"),
        "{logs:?}"
    );
    assert!(logs.stdout.contains("daemon stopped"), "{logs:?}");
    assert!(!p.file(".phasegate/daemon/pid").exists());
}

#[test]
fn a_killed_daemon_leaves_a_stale_pid_file_that_start_sees_through() {
    let p = Project::new(&one_phase(&[("ok", "run = \"true\"")]));
    let _guard = Stopped(&p);
    assert_eq!(p.run(&["daemon", "start"]).code, 0);
    let old = pid(&p).unwrap();
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(old).unwrap(),
        rustix::process::Signal::KILL,
    )
    .unwrap();
    wait_until(STEP, || !alive(old));
    // A gate the daemon was starting holds a copy of the lock between its fork and its
    // exec (the descriptor closes on exec): the lock is free once that instant is over.
    wait_until(STEP, || p.run(&["daemon", "status"]).code == 1);
    let status = p.run(&["daemon", "status"]);
    assert_eq!(status.code, 1, "{status:?}");
    assert!(
        status.stdout.contains(&format!(
            "pid {old} was killed without stopping cleanly (stale pid file)"
        )),
        "{status:?}"
    );

    let start = p.run(&["daemon", "start"]);
    assert_eq!(start.code, 0, "{start:?}");
    assert!(
        flat(&start.stderr).contains("did not stop cleanly"),
        "{start:?}"
    );
    let new = pid(&p).unwrap();
    assert_ne!(new, old);
    assert!(
        p.run(&["daemon", "status"])
            .stdout
            .contains(&format!("running (pid {new})"))
    );
}

#[test]
fn a_schedule_fires_and_a_failing_cycle_does_not_stop_the_daemon() {
    let out = tempfile::tempdir().unwrap();
    let log = out.path().join("runs.log");
    // `flaky` fails every other run; `tick` runs every 200ms.
    let p = Project::new(&one_phase(&[
        (
            "tick",
            &format!("run = \"echo t >> {}\"\nevery = \"200ms\"", log.display()),
        ),
        (
            "flaky",
            &format!(
                "run = \"echo f >> {0}.f; test $(wc -l < {0}.f) -ne 2\"\nevery = \"200ms\"",
                log.display()
            ),
        ),
    ]));
    let _guard = Stopped(&p);
    assert_eq!(p.run(&["daemon", "start"]).code, 0);
    let started = Instant::now();
    wait_until(STEP, || lines(&log) >= 4);
    assert!(lines(&log) >= 4, "the schedule did not fire");
    // At most one run per interval (and the first at once).
    let allowed = 1 + (started.elapsed().as_millis() / 200) as usize;
    assert!(
        lines(&log) <= allowed + 1,
        "{} runs in {:?}",
        lines(&log),
        started.elapsed()
    );
    let status = p.run(&["daemon", "status"]);
    assert_eq!(status.code, 0, "{status:?}");
    assert!(status.stdout.contains("schedule      passed"), "{status:?}");
    assert!(
        status.stdout.contains("schedule      failed 1 of"),
        "{status:?}"
    );
    assert!(status.stdout.contains("next:\n  "), "{status:?}");
    assert!(status.stdout.contains("  tick"), "{status:?}");
}

#[test]
fn a_cron_schedule_fires_at_the_times_it_names() {
    let out = tempfile::tempdir().unwrap();
    let log = out.path().join("runs.log");
    // Every second, seconds first; `date` in the log says when each run started.
    let p = one_gate(
        "tick",
        "date +%s%N >> {log}",
        &log,
        "cron = \"* * * * * *\"",
    );
    let _guard = Stopped(&p);
    assert_eq!(p.run(&["daemon", "start"]).code, 0);
    wait_until(STEP, || lines(&log) >= 3);
    let times = times(&log);
    assert!(times.len() >= 3, "{times:?}");
    // The start cycle, then one run per second on the second (cached evidence is not
    // reused by a schedule: every run ran).
    for pair in times[1..].windows(2) {
        let gap = Duration::from_nanos((pair[1] - pair[0]) as u64);
        assert!(gap >= Duration::from_millis(500), "{times:?}");
    }
    let status = p.run(&["daemon", "status"]);
    assert!(
        status.stdout.contains("schedule      passed    "),
        "{status:?}"
    );
}

#[test]
fn a_hung_gate_is_ended_at_its_timeout_and_the_daemon_goes_on() {
    let p = Project::new(&one_phase(&[(
        "hung",
        "run = \"exec sleep 300\"\ntimeout = \"300ms\"\nevery = \"100ms\"",
    )]));
    let _guard = Stopped(&p);
    assert_eq!(p.run(&["daemon", "start", "--grace", "100ms"]).code, 0);
    let failed_cycles = || {
        p.run(&["daemon", "status"])
            .stdout
            .matches("failed 1 of 1")
            .count()
    };
    wait_until(STEP, || failed_cycles() >= 3);
    assert!(failed_cycles() >= 3, "{:?}", p.run(&["daemon", "status"]));
    let logs = p.run(&["daemon", "logs"]).stdout;
    assert!(logs.contains("hung fail: timed out after 300ms"), "{logs}");
}

#[test]
fn print_unit_runs_the_daemon_of_this_roadmap_in_the_foreground() {
    let p = Project::new(&one_phase(&[("ok", "run = \"true\"")]));
    let unit = p.run(&["daemon", "print-unit"]);
    assert_eq!(unit.code, 0, "{unit:?}");
    let roadmap = p.file("phasegate.toml");
    assert!(
        unit.stdout.contains(&format!(
            "ExecStart=\"{}\" --config \"{}\" daemon run\n",
            crate::harness::BIN,
            roadmap.display()
        )),
        "{unit:?}"
    );
    assert!(unit.stdout.contains("KillSignal=SIGTERM\n"), "{unit:?}");
    assert!(
        unit.stdout.contains("[Install]\nWantedBy=default.target\n"),
        "{unit:?}"
    );
    // Printing it starts nothing.
    assert!(!p.file(".phasegate/daemon/pid").exists());
}
