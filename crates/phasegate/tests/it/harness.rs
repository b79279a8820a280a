//! A temporary project and a way to run the real binary in it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use phasegate_testkit::{Server, Signal};

pub const BIN: &str = env!("CARGO_BIN_EXE_phasegate");

/// A temporary directory holding a `phasegate.toml`, and the user's state directory
/// (`XDG_STATE_HOME`, where keys live) of its commands: its own, outside the project, so
/// keys are per test, never inside the project's work tree, and removed with it.
pub struct Project {
    pub dir: tempfile::TempDir,
    pub state: tempfile::TempDir,
}

/// What a command did.
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A diagnostic as one line: miette wraps long messages at the terminal width (and so at
/// wherever a long temporary path falls), with a `│` gutter on continuation lines.
pub fn flat(text: &str) -> String {
    text.split_whitespace()
        .filter(|w| *w != "│")
        .collect::<Vec<_>>()
        .join(" ")
}

impl Ran {
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl std::fmt::Debug for Ran {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

impl From<Output> for Ran {
    fn from(o: Output) -> Self {
        Ran {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Project {
    pub fn new(roadmap: &str) -> Self {
        Project {
            dir: phasegate_testkit::project_dir(roadmap),
            state: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The binary, in the project directory, isolated from the caller's environment.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .current_dir(self.path())
            .env_remove("PHASEGATE_SIGNING_KEY")
            .env_remove("PHASEGATE_SIGNING_KEY_FILE")
            .env_remove("PHASEGATE_ALLOW_KEY_IN_TREE")
            .env("XDG_STATE_HOME", self.state.path())
            .env_remove("PHASEGATE_CONFIG")
            .env_remove("PHASEGATE_LEDGER")
            .env("NO_COLOR", "1");
        c
    }

    /// The binary started in its own process group, as a test's long-lived command; ended
    /// (SIGTERM, then SIGKILL to its group) when dropped.
    pub fn start(&self, args: &[&str], stdout: Stdio, stderr: Stdio) -> Server {
        Server::start(self.cmd(args).stdout(stdout).stderr(stderr), Signal::TERM)
    }

    /// Starts the binary, waits until `ready` holds, sends SIGINT (Ctrl-C) and returns what
    /// the command did.
    pub fn interrupt(&self, args: &[&str], ready: impl FnMut() -> bool) -> Ran {
        let run = self.start(args, Stdio::piped(), Stdio::piped());
        wait_until(std::time::Duration::from_secs(30), ready);
        // Generous: a slow machine, and phasegate's own grace for what it ends.
        run.interrupt(Signal::INT, std::time::Duration::from_secs(120))
            .into()
    }

    pub fn run(&self, args: &[&str]) -> Ran {
        self.cmd(args).output().unwrap().into()
    }

    /// The directory the project's signing keys are kept in.
    pub fn key_dir(&self) -> PathBuf {
        self.state.path().join("phasegate/keys")
    }

    /// The project's signing key file, as `.phasegate/key-id` names it.
    pub fn key_file(&self) -> PathBuf {
        let id = std::fs::read_to_string(self.file(".phasegate/key-id")).unwrap();
        self.key_dir().join(format!("{}.key", id.trim()))
    }

    pub fn ledger_db(&self) -> PathBuf {
        self.file(".phasegate/ledger.sqlite")
    }
}

pub use phasegate_testkit::one_phase;

pub use phasegate_testkit::proc::alive;

/// Pids written one per line to a file by a gate.
pub fn pids_in(path: &Path) -> Vec<i32> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect()
}

/// Polls `done` until it holds or `limit` has passed.
pub fn wait_until(limit: std::time::Duration, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + limit;
    while !done() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

impl Project {
    /// Runs git in the project with a fixed identity; returns its stdout.
    pub fn git(&self, args: &[&str]) -> String {
        let out = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
            .args(args)
            .current_dir(self.path())
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// A git repository holding everything in the project, committed.
    pub fn commit_all(&self, message: &str) {
        if !self.file(".git").exists() {
            self.git(&["init", "-q"]);
            std::fs::write(self.file(".gitignore"), ".phasegate/\n").unwrap();
        }
        self.git(&["add", "."]);
        self.git(&["commit", "-qm", message]);
    }
}

/// Every file below `dir`, at any depth.
pub fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.is_dir() {
            out.extend(files_below(&path));
        } else {
            out.push(path);
        }
    }
    out
}
