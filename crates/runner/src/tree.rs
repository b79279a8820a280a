//! Finding and ending every process a gate started.
//!
//! A process group covers the usual case. Two escape routes remain: a descendant that calls
//! `setsid` (it leaves the group) and one that is orphaned and reparented. With a
//! [`Supervisor`](crate::Supervisor) installed the process is the child subreaper, so orphans
//! are reparented to it rather than to init, and each gate's processes carry a marker
//! variable in their environment; a scan of `/proc` finds them by group, by ancestry or by
//! marker. Without one, an orphan that also left the group is beyond reach. Hand-written
//! because no maintained crate does this attribution; it is the core of "no process survives
//! its gate".

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::time::Duration;

use phasegate_probes::child;
// Every child phasegate spawns is registered through this (gates, services, their stop
// commands, the probes' hooks); `phasegate_probes::child` says why the registry lives there.
pub use phasegate_probes::child::{Spawned, spawn};
use rustix::process::{Pid, Signal};

use crate::supervisor;

/// Name of the environment variable that marks a gate's processes.
pub const MARKER_VAR: &str = "PHASEGATE_GATE_MARK";

struct Proc {
    pid: i32,
    ppid: i32,
    pgid: i32,
    zombie: bool,
}

fn read_stat(pid: i32) -> Option<Proc> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces or parentheses itself.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut f = rest.split(' ');
    let state = f.next()?;
    let ppid = f.next()?.parse().ok()?;
    let pgid = f.next()?.parse().ok()?;
    Some(Proc {
        pid,
        ppid,
        pgid,
        zombie: state == "Z" || state == "X",
    })
}

fn all_procs() -> Vec<Proc> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(read_stat)
        .collect()
}

fn has_marker(pid: i32, marker: &str) -> bool {
    let Ok(env) = fs::read(format!("/proc/{pid}/environ")) else {
        return false;
    };
    let needle = format!("{MARKER_VAR}={marker}");
    env.split(|b| *b == 0).any(|kv| kv == needle.as_bytes())
}

/// The live processes that belong to the gate whose leader is `leader` (also its group id)
/// and whose marker is `marker`: group members, descendants of the leader, and orphans
/// reparented to phasegate that carry the marker, with their descendants. `marker = None`
/// takes every orphan reparented to phasegate (the end-of-run sweep).
fn members(leader: Option<i32>, marker: Option<&str>) -> BTreeSet<i32> {
    let me = rustix::process::getpid().as_raw_nonzero().get();
    let spawned = child::with_registered(BTreeSet::clone);
    let procs = all_procs();
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    for p in &procs {
        children.entry(p.ppid).or_default().push(p.pid);
    }
    let mut found: BTreeSet<i32> = procs
        .iter()
        .filter(|p| Some(p.pgid) == leader)
        .map(|p| p.pid)
        .collect();
    let mut stack: Vec<i32> = leader.into_iter().collect();
    // With phasegate as subreaper, a descendant that lost its parent (double fork, setsid
    // and exit) is reparented here; only those need their environment read for the marker.
    for p in &procs {
        let adopted = p.ppid == me && !spawned.contains(&p.pid) && !p.zombie;
        if adopted && marker.is_none_or(|m| has_marker(p.pid, m)) {
            found.insert(p.pid);
            stack.push(p.pid);
        }
    }
    while let Some(pid) = stack.pop() {
        for &c in children.get(&pid).into_iter().flatten() {
            found.insert(c);
            stack.push(c);
        }
    }
    let zombies: BTreeSet<i32> = procs.iter().filter(|p| p.zombie).map(|p| p.pid).collect();
    found.retain(|p| *p != me && !zombies.contains(p));
    found
}

/// The common case, answered without scanning every process: the gate's group is empty and
/// no process has been reparented to phasegate. Every process a gate started is either still
/// in its group, or a descendant of one that is, or (once its parent died) a child of
/// phasegate as subreaper; so when both are empty, nothing of the gate is left.
fn nothing_left(leader: Option<i32>) -> bool {
    let group_empty = leader
        .and_then(Pid::from_raw)
        .is_none_or(|pgid| rustix::process::test_kill_process_group(pgid).is_err());
    group_empty
        && direct_children().is_some_and(|children| {
            child::with_registered(|spawned| children.iter().all(|c| spawned.contains(c)))
        })
}

/// phasegate's direct children from `/proc/self/task/*/children` (a few small files, one per
/// thread), or `None` when the kernel does not provide them.
fn direct_children() -> Option<Vec<i32>> {
    let mut out = Vec::new();
    for task in fs::read_dir("/proc/self/task").ok()?.flatten() {
        let text = fs::read_to_string(task.path().join("children")).ok()?;
        out.extend(
            text.split_whitespace()
                .filter_map(|p| p.parse::<i32>().ok()),
        );
    }
    Some(out)
}

fn signal_all(leader: Option<i32>, pids: &BTreeSet<i32>, sig: Signal) {
    if let Some(pgid) = leader.and_then(Pid::from_raw) {
        let _ = rustix::process::kill_process_group(pgid, sig);
    }
    for pid in pids.iter().filter_map(|p| Pid::from_raw(*p)) {
        let _ = rustix::process::kill_process(pid, sig);
    }
}

/// Ends every process of the gate: SIGTERM to all of them, up to `grace` for them to go,
/// then SIGKILL to whatever is left. Returns how many processes had to be signalled.
pub async fn terminate(leader: i32, marker: &str, grace: Duration) -> usize {
    end_all(Some(leader), Some(marker), grace).await
}

/// Ends every process reparented to phasegate that no gate accounted for (one that cleared
/// its environment, say). Called when a run ends; does nothing unless a
/// [`Supervisor`](crate::Supervisor) is installed, as the children it would end may be the
/// embedding program's own.
pub async fn sweep(grace: Duration) -> usize {
    if !supervisor::is_installed() {
        return 0;
    }
    end_all(None, None, grace).await
}

async fn end_all(leader: Option<i32>, marker: Option<&str>, grace: Duration) -> usize {
    if nothing_left(leader) {
        return 0;
    }
    let first = members(leader, marker);
    if first.is_empty() {
        return 0;
    }
    signal_all(leader, &first, Signal::TERM);
    let deadline = tokio::time::Instant::now() + grace;
    let mut left = first.clone();
    while !left.is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        reap_orphans();
        left = members(leader, marker);
    }
    // Children forked during the grace period are found by this second scan.
    for _ in 0..3 {
        if left.is_empty() {
            break;
        }
        signal_all(leader, &left, Signal::KILL);
        tokio::time::sleep(Duration::from_millis(10)).await;
        reap_orphans();
        left = members(leader, marker);
    }
    first.len()
}

/// Waits for (reaps) zombies that were reparented to phasegate as subreaper. Does nothing
/// unless a [`Supervisor`](crate::Supervisor) is installed: without the subreaper no orphan
/// is reparented here, and the unregistered children are the embedding program's, whose exit
/// status is theirs to collect.
pub fn reap_orphans() {
    if !supervisor::is_installed() {
        return;
    }
    // The registry is held throughout: a child spawned between the listing and the waits
    // would otherwise be reaped here, behind tokio's back.
    child::with_registered(|keep| {
        let children = direct_children().unwrap_or_else(|| {
            let me = rustix::process::getpid().as_raw_nonzero().get();
            all_procs()
                .into_iter()
                .filter(|p| p.ppid == me)
                .map(|p| p.pid)
                .collect()
        });
        for pid in children
            .into_iter()
            .filter(|c| !keep.contains(c))
            .filter_map(Pid::from_raw)
        {
            // NOHANG: reaps the ones that have exited, leaves the living alone.
            let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::NOHANG);
        }
    });
}
