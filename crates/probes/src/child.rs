//! The children phasegate waits for. Every process it spawns (a gate's or a service's `sh`, a
//! service's stop command, a probe's hook) is registered here from the moment it exists until
//! its exit status has been collected, so that the runner's reaper of orphans (phasegate is
//! the child subreaper during a run) can tell a child someone waits for from an orphan, and
//! never reaps one behind tokio's back: tokio's wait would then fail (`ECHILD`) and the exit
//! status would be lost.
//!
//! It lives in this crate, beside [`ChildEnv`](crate::ChildEnv), because the probes spawn
//! hooks and cannot depend on the runner, which depends on them. The alternative, a spawner
//! the runner hands to probes through [`Context`](crate::Context), keeps the set in the
//! runner, but it is one more thing every caller building a `Context` must supply, and a
//! default that spawns without registering brings the race back without a sound. The set is
//! process-wide anyway, as being a subreaper is: with one registry that every spawner uses,
//! there is nothing to forget.

use std::collections::BTreeSet;
use std::sync::Mutex;

/// Pids of the direct children whose exit status someone will wait for.
static AWAITED: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

/// The registration of a child started by [`spawn`], which ends when this is dropped: keep it
/// until the child has been waited for.
#[derive(Debug)]
#[must_use = "the child is unregistered, and may be reaped by anyone, when this is dropped"]
pub struct Spawned(i32);

/// Spawns `cmd` and registers its pid in one step, under the lock [`with_registered`] holds:
/// a child that exits at once is never mistaken for an orphan.
pub fn spawn(
    cmd: &mut tokio::process::Command,
) -> std::io::Result<(tokio::process::Child, Spawned)> {
    let mut awaited = lock();
    let child = cmd.spawn()?;
    let pid = child
        .id()
        .and_then(|p| i32::try_from(p).ok())
        .expect("a just-spawned child has a pid");
    awaited.insert(pid);
    Ok((child, Spawned(pid)))
}

impl Spawned {
    /// The child's pid.
    pub fn pid(&self) -> i32 {
        self.0
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        lock().remove(&self.0);
    }
}

/// Calls `f` with the pids registered now, holding the registry throughout: no child is
/// spawned through [`spawn`] until `f` returns, so a list of the process's children made
/// inside `f` shows every registered one as registered (the reaper lists, then waits, in
/// `f`).
pub fn with_registered<R>(f: impl FnOnce(&BTreeSet<i32>) -> R) -> R {
    f(&lock())
}

fn lock() -> std::sync::MutexGuard<'static, BTreeSet<i32>> {
    AWAITED
        .lock()
        .expect("never poisoned: no panics while held")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_child_is_registered_until_its_guard_is_dropped() {
        let (mut child, spawned) =
            spawn(tokio::process::Command::new("true").kill_on_drop(true)).expect("`true` starts");
        let pid = spawned.pid();
        assert!(with_registered(|r| r.contains(&pid)));
        assert!(child.wait().await.expect("waited for").success());
        drop(spawned);
        assert!(!with_registered(|r| r.contains(&pid)));
    }
}
