//! No process a gate started survives it; output of any size keeps memory bounded.

use std::process::Stdio;
use std::time::Duration;

use crate::harness::{Project, alive, one_phase, pids_in, wait_until};

#[test]
fn timeout_ends_a_gate_that_traps_sigterm_forks_children_and_escapes_with_setsid() {
    // Every process records its pid; all of them ignore SIGTERM. One child leaves the group
    // with setsid, one grandchild is orphaned (double fork), one does both.
    let script = r#"trap '' TERM
echo $$ >> pids
(trap '' TERM; sleep 300) & echo $! >> pids
sleep 300 & echo $! >> pids
setsid sh -c 'trap "" TERM; echo $$ >> pids; sleep 300' &
sh -c 'sleep 300 & echo $! >> pids' &
setsid sh -c 'sleep 300 & echo $! >> pids; exit 0' &
sleep 300
"#;
    let p = Project::new(&one_phase(&[(
        "stubborn",
        "run = \"sh ./stubborn.sh\"\ntimeout = \"1s\"",
    )]));
    std::fs::write(p.file("stubborn.sh"), script).unwrap();
    let r = p.run(&["run", "--grace", "500ms"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("timed out"), "{r:?}");
    let pids = pids_in(&p.file("pids"));
    assert_eq!(pids.len(), 6, "every process started: {pids:?}");
    // Orphans end up with init once phasegate has exited; give it a moment to reap them.
    wait_until(Duration::from_secs(5), || !pids.iter().any(|p| alive(*p)));
    let survivors: Vec<i32> = pids.into_iter().filter(|p| alive(*p)).collect();
    assert!(
        survivors.is_empty(),
        "processes survived the gate: {survivors:?}"
    );
}

#[test]
fn processes_left_running_by_a_passing_gate_are_ended_and_reported() {
    let p = Project::new(&one_phase(&[(
        "leaky",
        "run = \"sleep 300 >/dev/null 2>&1 & echo $! > pid\"",
    )]));
    let r = p.run(&["run"]);
    assert_eq!(r.code, 0, "{r:?}");
    let pid = pids_in(&p.file("pid"))[0];
    assert!(!alive(pid), "the background sleep outlived its gate");
    let why = p.run(&["why", "leaky"]);
    assert!(why.stdout.contains("leftover-processes"), "{why:?}");
}

#[test]
fn a_gate_printing_a_gibibyte_keeps_phasegate_memory_bounded() {
    let p = Project::new(&one_phase(&[(
        "loud",
        "run = \"yes | head -c 1073741824; echo last-line\"",
    )]));
    let mut run = p.start(&["run"], Stdio::null(), Stdio::inherit());
    let status_file = format!("/proc/{}/status", run.id());
    let mut peak_kib = 0u64;
    let status = loop {
        if let Some(s) = run.try_wait() {
            break s;
        }
        if let Ok(text) = std::fs::read_to_string(&status_file)
            && let Some(line) = text.lines().find(|l| l.starts_with("VmHWM:"))
        {
            peak_kib = peak_kib.max(line.split_whitespace().nth(1).unwrap().parse().unwrap());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success());
    assert!(peak_kib > 0, "could not read phasegate's memory");
    // 1 GiB went through; phasegate's peak resident memory stays a small constant.
    assert!(peak_kib < 64 * 1024, "peak RSS {peak_kib} KiB");
    let export = p.run(&["evidence", "export"]);
    assert!(
        export.stdout.contains("\"bytes\":1073741834"),
        "all bytes counted: {}",
        &export.stdout[..export.stdout.len().min(2000)]
    );
    assert!(
        export.stdout.contains("last-line"),
        "the tail is kept in the excerpt"
    );
    let log = std::fs::metadata(p.file(".phasegate").join(logs_of(&export.stdout))).unwrap();
    assert_eq!(log.len(), 1_073_741_834);
    std::fs::remove_dir_all(p.file(".phasegate/logs")).unwrap();
}

fn logs_of(export: &str) -> String {
    let at = export.find("\"log\":\"").unwrap() + 7;
    export[at..at + export[at..].find('"').unwrap()].to_owned()
}
