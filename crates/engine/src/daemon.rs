//! The daemon's files in the ledger directory (`daemon/`): a lock that makes it one per
//! roadmap, its pid, its state (next scheduled runs, last cycles) for `daemon status`, and
//! its log, rotated by size. The loop it runs is [`crate::watch`]; detaching is the front
//! end's (the engine never forks).
//!
//! The lock is an `flock` held for the daemon's life: the kernel releases it when the
//! process dies however it dies (`kill -9` included), so a pid file left behind is told
//! from a running daemon by trying the lock, never by trusting the pid (which the system
//! may have given to another process since).

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use rustix::fs::{FlockOperation, flock};
use serde::{Deserialize, Serialize};

use crate::fsutil::write_atomically;
use crate::{Error, Session, Trigger, WatchEvent};

/// The daemon's directory, in the ledger directory.
pub const DAEMON_DIR: &str = "daemon";

/// How many cycles `daemon status` shows.
const CYCLES_KEPT: usize = 20;

/// The version of the state file's format.
const STATE_VERSION: u32 = 1;

/// Where a roadmap's daemon keeps its files.
#[derive(Debug, Clone)]
pub struct Daemon {
    dir: PathBuf,
}

/// Whether a daemon runs for the roadmap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// It runs, with this pid.
    Running(Option<u32>),
    /// None runs, but a pid file says one did: it was killed without cleaning up.
    Stale(u32),
    /// None runs.
    Stopped,
}

/// Held by the running daemon: the lock (released by the kernel whenever the process
/// ends) and its pid file, removed when dropped.
#[derive(Debug)]
pub struct DaemonLock {
    _file: File,
    pid_file: PathBuf,
}

impl Drop for DaemonLock {
    fn drop(&mut self) {
        // Gone already is fine; the lock, not this file, says whether a daemon runs.
        let _ = std::fs::remove_file(&self.pid_file);
    }
}

/// What the running daemon tells `daemon status`, rewritten after every cycle.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DaemonState {
    /// The format's version.
    pub version: u32,
    /// The daemon's pid.
    pub pid: u32,
    /// When it started.
    pub started_at: Timestamp,
    /// The roadmap it keeps current.
    pub roadmap: PathBuf,
    /// The next scheduled runs (and ends of cooldowns), soonest first.
    pub next: Vec<(String, Timestamp)>,
    /// The last cycles, oldest first.
    pub cycles: VecDeque<Cycle>,
}

/// One cycle of the daemon, as `daemon status` lists it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cycle {
    /// When it started.
    pub started_at: Timestamp,
    /// What started it.
    pub trigger: String,
    /// The gates it ran.
    pub gates: Vec<String>,
    /// `passed`, `failed N of M`, `interrupted`, `error: ...`, or `running`.
    pub outcome: String,
    /// The run it made.
    pub run_id: Option<String>,
}

impl Session {
    /// The files of this roadmap's daemon.
    pub fn daemon(&self) -> Daemon {
        Daemon {
            dir: self.ledger_dir.join(DAEMON_DIR),
        }
    }

    /// Takes the daemon's lock for this process and writes its pid; refused, naming the
    /// pid, when a daemon already runs for this roadmap.
    pub fn lock_daemon(&self) -> Result<DaemonLock, Error> {
        self.state_dir()?;
        self.daemon().lock()
    }
}

impl Daemon {
    /// The directory of the daemon's files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The pid file.
    pub fn pid_file(&self) -> PathBuf {
        self.dir.join("pid")
    }

    /// The log; earlier ones are `log.1` (newest) to `log.3`.
    pub fn log_file(&self) -> PathBuf {
        self.dir.join("log")
    }

    /// Where the daemon's own stderr goes (what it could not log: a panic).
    pub fn stderr_file(&self) -> PathBuf {
        self.dir.join("stderr")
    }

    fn lock_file(&self) -> PathBuf {
        self.dir.join("lock")
    }

    fn state_file(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    fn lock(&self) -> Result<DaemonLock, Error> {
        std::fs::create_dir_all(&self.dir)
            .map_err(Error::io(format!("cannot create `{}`", self.dir.display())))?;
        let path = self.lock_file();
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(Error::io(format!("cannot open `{}`", path.display())))?;
        if flock(file.as_fd(), FlockOperation::NonBlockingLockExclusive).is_err() {
            let pid = self.pid();
            return Err(Error::usage(
                format!(
                    "a daemon is already running for this roadmap{}",
                    pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
                ),
                "`phasegate daemon status` shows what it does; `phasegate daemon stop` stops it",
            ));
        }
        let pid_file = self.pid_file();
        write_atomically(&pid_file, &format!("{}\n", std::process::id()))?;
        Ok(DaemonLock {
            _file: file,
            pid_file,
        })
    }

    /// The pid the pid file names, if it names one.
    pub fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.pid_file())
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Whether a daemon runs: its lock is held. A pid file without the lock is stale.
    pub fn liveness(&self) -> Liveness {
        let held = File::open(self.lock_file()).is_ok_and(|f| {
            // A shared lock we can take means nobody holds the exclusive one; closing
            // `f` gives it back at once.
            flock(f.as_fd(), FlockOperation::NonBlockingLockShared).is_err()
        });
        match (held, self.pid()) {
            (true, pid) => Liveness::Running(pid),
            (false, Some(pid)) => Liveness::Stale(pid),
            (false, None) => Liveness::Stopped,
        }
    }

    /// The state the daemon last wrote, if any.
    pub fn state(&self) -> Result<Option<DaemonState>, Error> {
        let path = self.state_file();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(format!("cannot read `{}`", path.display()))(e)),
        };
        serde_json::from_str(&text).map(Some).map_err(|e| {
            Error::io(format!("cannot read `{}`", path.display()))(std::io::Error::other(e))
        })
    }

    /// Writes the daemon's state for `daemon status`.
    pub fn save_state(&self, state: &DaemonState) -> Result<(), Error> {
        let text = serde_json::to_string_pretty(state).expect("the state always serializes");
        write_atomically(&self.state_file(), &text)
    }
}

impl DaemonState {
    /// The state of a daemon starting now in this process.
    pub fn new(roadmap: PathBuf) -> Self {
        DaemonState {
            version: STATE_VERSION,
            pid: std::process::id(),
            started_at: Timestamp::now(),
            roadmap,
            next: Vec::new(),
            cycles: VecDeque::new(),
        }
    }

    /// Takes in one event of the loop; `true` when the state changed enough to be saved.
    pub fn observe(&mut self, ev: &WatchEvent<'_>) -> bool {
        match ev {
            WatchEvent::Cycle { trigger, plan } => {
                self.push(Cycle {
                    started_at: Timestamp::now(),
                    trigger: trigger_name(trigger).to_owned(),
                    gates: plan.gates.iter().map(|g| g.to_string()).collect(),
                    outcome: "running".to_owned(),
                    run_id: None,
                });
            }
            WatchEvent::Ran(report) => {
                let failed = report
                    .records
                    .iter()
                    .filter(|r| r.verdict != phasegate_model::Verdict::Pass)
                    .count();
                let outcome = if report.interrupted {
                    "interrupted".to_owned()
                } else if failed == 0 {
                    "passed".to_owned()
                } else {
                    format!("failed {failed} of {}", report.records.len())
                };
                self.finish(outcome, Some(report.run_id.clone()));
            }
            WatchEvent::Failed(e) => self.finish(format!("error: {e}"), None),
            WatchEvent::Invalid(e) => {
                self.push(Cycle {
                    started_at: Timestamp::now(),
                    trigger: "roadmap".to_owned(),
                    gates: Vec::new(),
                    outcome: format!("roadmap does not load: {e}"),
                    run_id: None,
                });
            }
            WatchEvent::Idle { next } => {
                self.next = next.iter().map(|(g, t)| (g.to_string(), *t)).collect();
            }
            WatchEvent::Watching { .. }
            | WatchEvent::Run(_)
            | WatchEvent::Unchanged { .. }
            | WatchEvent::Deferred(_) => return false,
        }
        true
    }

    fn push(&mut self, cycle: Cycle) {
        if self.cycles.len() == CYCLES_KEPT {
            self.cycles.pop_front();
        }
        self.cycles.push_back(cycle);
    }

    /// Ends the running cycle (a failure before any ran is a cycle of its own).
    fn finish(&mut self, outcome: String, run_id: Option<String>) {
        match self.cycles.back_mut() {
            Some(c) if c.outcome == "running" => {
                c.outcome = outcome;
                c.run_id = run_id;
            }
            _ => self.push(Cycle {
                started_at: Timestamp::now(),
                trigger: "-".to_owned(),
                gates: Vec::new(),
                outcome,
                run_id,
            }),
        }
    }
}

fn trigger_name(t: &Trigger) -> &'static str {
    match t {
        Trigger::Start => "start",
        Trigger::Changed(_) => "changed",
        Trigger::Due(_) => "schedule",
        Trigger::CooledDown(_) => "cooldown over",
    }
}

/// The daemon's log: lines appended, the file rotated when it passes `max_bytes`
/// (`log` → `log.1` → ... → `log.<keep>`, the oldest dropped), so a daemon running for
/// months keeps a bounded amount of disk.
#[derive(Debug)]
pub struct LogFile {
    path: PathBuf,
    max_bytes: u64,
    keep: u32,
    file: Option<File>,
    size: u64,
}

impl LogFile {
    /// A log at `path`, rotated past `max_bytes`, keeping `keep` older files.
    pub fn new(path: PathBuf, max_bytes: u64, keep: u32) -> Self {
        LogFile {
            path,
            max_bytes,
            keep,
            file: None,
            size: 0,
        }
    }

    /// Appends `line` with the time in front, rotating first when the file is full.
    pub fn line(&mut self, line: &str) -> Result<(), Error> {
        let what = format!("cannot write the log `{}`", self.path.display());
        let what = || what.clone();
        if self.file.is_none() || self.size >= self.max_bytes {
            if self.size >= self.max_bytes {
                self.rotate().map_err(Error::io(what()))?;
            }
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .map_err(Error::io(what()))?;
            self.size = file.metadata().map(|m| m.len()).unwrap_or(0);
            self.file = Some(file);
        }
        let text = format!(
            "{} {line}\n",
            Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ")
        );
        let file = self.file.as_mut().expect("opened above");
        file.write_all(text.as_bytes()).map_err(Error::io(what()))?;
        self.size += text.len() as u64;
        Ok(())
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        self.file = None;
        let numbered = |n: u32| PathBuf::from(format!("{}.{n}", self.path.display()));
        for n in (1..self.keep).rev() {
            match std::fs::rename(numbered(n), numbered(n + 1)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        if self.keep == 0 {
            std::fs::remove_file(&self.path)
        } else {
            std::fs::rename(&self.path, numbered(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_rotates_past_its_size_and_keeps_what_it_is_told() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let mut log = LogFile::new(path.clone(), 100, 2);
        for i in 0..20 {
            log.line(&format!("line {i:02} with some words in it"))
                .unwrap();
        }
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["log", "log.1", "log.2"]);
        for name in &names {
            let len = std::fs::metadata(dir.path().join(name)).unwrap().len();
            assert!(len < 200, "{name} has {len} bytes");
        }
        let last = std::fs::read_to_string(&path).unwrap();
        assert!(last.contains("line 19"), "{last}");
        let older = std::fs::read_to_string(dir.path().join("log.1")).unwrap();
        assert!(
            !older.contains("line 19") && older.contains("line 1"),
            "{older}"
        );
    }

    #[test]
    fn a_second_lock_is_refused_and_a_pid_file_without_the_lock_is_stale() {
        let dir = tempfile::tempdir().unwrap();
        let daemon = Daemon {
            dir: dir.path().join("daemon"),
        };
        assert_eq!(daemon.liveness(), Liveness::Stopped);
        let lock = daemon.lock().unwrap();
        assert_eq!(
            daemon.liveness(),
            Liveness::Running(Some(std::process::id()))
        );
        let again = daemon.lock().unwrap_err().to_string();
        assert!(again.contains("already running"), "{again}");
        drop(lock);
        assert_eq!(daemon.liveness(), Liveness::Stopped);
        std::fs::write(daemon.pid_file(), "4242\n").unwrap();
        assert_eq!(daemon.liveness(), Liveness::Stale(4242));
        // A stale pid file does not stand in the way.
        let _lock = daemon.lock().unwrap();
    }
}
