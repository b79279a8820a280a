//! The process-wide part of ending a gate's processes, which only the program that owns the
//! process may switch on: being the child subreaper, and ending or reaping children that
//! nobody registered.

use std::sync::Mutex;

/// How many [`Supervisor`]s are alive, and the subreaper setting to restore after the last.
struct State {
    installed: usize,
    was_subreaper: bool,
}

static STATE: Mutex<State> = Mutex::new(State {
    installed: 0,
    was_subreaper: false,
});

/// Lets a run take charge of the whole process while it is alive: the process becomes the
/// child subreaper (Linux), so a gate's orphans (a double fork, `setsid` then exit) are
/// reparented to it, where they are found and ended; and at the end of each run every
/// process reparented to it that no gate or service accounted for is ended too, and orphaned
/// zombies are reaped.
///
/// Only a program that owns its process should install one (phasegate's binary does, for
/// the length of a run): the sweep ends *any* child the runner did not start itself, and
/// reaping would take the exit status of the embedder's own children. Dropping the guard
/// restores the subreaper setting the process had before. Guards may nest; the last one
/// dropped restores it.
#[derive(Debug)]
#[must_use = "the supervision ends when the guard is dropped"]
pub struct Supervisor {
    // Only `install` makes one.
    _private: (),
}

impl Supervisor {
    /// Makes this process the child subreaper and allows the runner's process-wide sweeps
    /// until the guard is dropped.
    pub fn install() -> Self {
        let mut state = lock();
        if state.installed == 0 {
            state.was_subreaper = subreaper::is_set();
            subreaper::set(true);
        }
        state.installed += 1;
        Self { _private: () }
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        let mut state = lock();
        state.installed -= 1;
        if state.installed == 0 {
            subreaper::set(state.was_subreaper);
        }
    }
}

/// Whether a [`Supervisor`] is installed: the process is the subreaper and sweeping
/// unregistered children is allowed.
pub(crate) fn is_installed() -> bool {
    lock().installed > 0
}

fn lock() -> std::sync::MutexGuard<'static, State> {
    STATE.lock().expect("never poisoned: no panics while held")
}

#[cfg(target_os = "linux")]
mod subreaper {
    use rustix::process::{getpid, set_child_subreaper};

    pub(super) fn is_set() -> bool {
        // The kernel answers with a flag, which rustix wraps as a pid: any answer means set.
        rustix::process::child_subreaper().is_ok_and(|flag| flag.is_some())
    }

    // Best effort: without it, group and marker scans still find most escapees.
    pub(super) fn set(on: bool) {
        let _ = set_child_subreaper(on.then(getpid));
    }
}

#[cfg(not(target_os = "linux"))]
mod subreaper {
    // No subreaper outside Linux: orphans go to init, beyond the runner's reach.
    pub(super) fn is_set() -> bool {
        false
    }

    pub(super) fn set(_: bool) {}
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Held by the tests that install a supervisor, depend on none being installed, or spawn
    /// children outside the registry (which a supervised run reaps and ends): the setting is
    /// process-wide and tests run in parallel.
    pub(crate) static PROCESS_WIDE: Mutex<()> = Mutex::new(());

    #[test]
    fn the_guard_sets_the_subreaper_and_the_last_drop_restores_it() {
        let _serial = PROCESS_WIDE.lock().unwrap();
        let before = subreaper::is_set();
        let outer = Supervisor::install();
        let inner = Supervisor::install();
        assert!(is_installed());
        assert!(subreaper::is_set());
        drop(inner);
        assert!(is_installed());
        assert!(subreaper::is_set());
        drop(outer);
        assert!(!is_installed());
        assert_eq!(subreaper::is_set(), before);
    }
}
