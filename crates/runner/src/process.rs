//! One attempt of a `run` gate: `sh -c` in its own process group, interleaved output
//! captured with bounded memory, a timeout, and nothing left behind afterwards.

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use phasegate_probes::ChildEnv;
use tokio::sync::watch;

use crate::capture::{self, Captured, Pending};
use crate::tree;

/// What to execute.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The shell command.
    pub script: String,
    /// Working directory.
    pub cwd: PathBuf,
    /// Its environment.
    pub env: ChildEnv,
    /// Limit on the attempt.
    pub timeout: Duration,
    /// Time between SIGTERM and SIGKILL.
    pub grace: Duration,
    /// Where the full output goes.
    pub log: PathBuf,
    /// Values replaced by `[REDACTED]` in everything stored.
    pub secrets: Vec<String>,
    /// Marks this attempt's processes (see [`tree`]).
    pub marker: String,
}

/// How the process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// It exited with this status.
    Exited(i32),
    /// A signal not sent by phasegate ended it.
    Signalled(i32),
    /// It ran past its timeout and was ended.
    TimedOut,
    /// The run was interrupted and it was ended.
    Interrupted,
    /// It could not be started.
    NotStarted(String),
}

/// The result of one attempt.
#[derive(Debug, Clone)]
pub struct Execution {
    /// How it ended.
    pub ending: Ending,
    /// Its output, unless it never started or the log could not be written.
    pub output: Result<Captured, String>,
    /// Wall time.
    pub duration: Duration,
    /// Processes still alive after the gate's own process exited, which phasegate ended.
    pub leftovers: usize,
}

/// Runs `spec` to its end (or its timeout, or `cancel` turning true).
pub async fn execute(spec: &Spec, cancel: &mut watch::Receiver<bool>) -> Execution {
    let started = Instant::now();
    let (mut child, guard, out_rx) = match start(spec) {
        Ok(s) => s,
        Err(why) => {
            return Execution {
                ending: Ending::NotStarted(why.clone()),
                output: Err(why),
                duration: started.elapsed(),
                leftovers: 0,
            };
        }
    };
    let pid = guard.pid();
    let timeout = tokio::time::sleep(spec.timeout);
    tokio::pin!(timeout);
    let ended = tokio::select! {
        status = child.wait() => Ok(status),
        () = &mut timeout => Err(Ending::TimedOut),
        () = cancelled(cancel) => Err(Ending::Interrupted),
    };
    let (ending, leftovers) = match ended {
        Ok(status) => {
            let leftovers = tree::terminate(pid, &spec.marker, spec.grace).await;
            (ending_of(status), leftovers)
        }
        Err(ending) => {
            tree::terminate(pid, &spec.marker, spec.grace).await;
            // Everything in the tree has been sent SIGKILL by now; this returns at once.
            let _ = child.wait().await;
            (ending, 0)
        }
    };
    drop(guard);
    tree::reap_orphans();
    // Every writer of the pipe has been ended, so EOF is near; the bound covers a process
    // outside the gate's tree holding the pipe open, which must not hang the run.
    let output = match tokio::time::timeout(spec.grace + Duration::from_secs(2), out_rx).await {
        Ok(Ok(captured)) => captured,
        Ok(Err(_)) => Err("output capture ended abnormally".into()),
        Err(_) => Err("output still held open by a process outside the gate after it ended".into()),
    };
    Execution {
        ending,
        output,
        duration: started.elapsed(),
        leftovers,
    }
}

/// Spawns the gate's `sh` in its own group, its output captured into its log; or why not.
fn start(spec: &Spec) -> Result<(tokio::process::Child, tree::Spawned, Pending), String> {
    if !spec.cwd.is_dir() {
        return Err(format!(
            "working directory `{}` does not exist",
            spec.cwd.display()
        ));
    }
    let (child, guard, output) = spawn_sh(&Sh {
        script: &spec.script,
        cwd: &spec.cwd,
        marker: &spec.marker,
        env: &spec.env,
        log: &spec.log,
        secrets: spec.secrets.clone(),
    })?;
    Ok((child, guard, output))
}

/// A `sh -c` to start in its own process group, marked, output captured into `log`.
pub(crate) struct Sh<'a> {
    pub script: &'a str,
    pub cwd: &'a std::path::Path,
    pub marker: &'a str,
    pub env: &'a phasegate_probes::ChildEnv,
    pub log: &'a std::path::Path,
    pub secrets: Vec<String>,
}

/// Spawns `sh` as gates and services run: its own group (so it can be ended whole), the
/// marker that finds escaped descendants, stdin closed, stdout and stderr interleaved into
/// the redacting capture of its log.
pub(crate) fn spawn_sh(
    sh: &Sh<'_>,
) -> Result<(tokio::process::Child, tree::Spawned, Pending), String> {
    let (stdout, stderr, output) = capture::start(sh.log, sh.secrets.clone())?;
    let mut cmd = tokio::process::Command::new("sh");
    sh.env.apply(&mut cmd);
    cmd.arg("-c")
        .arg(sh.script)
        .current_dir(sh.cwd)
        .env(tree::MARKER_VAR, sh.marker)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .process_group(0);
    let spawned = tree::spawn(&mut cmd);
    // The parent's copies of the write end must close, or the capture never sees EOF.
    drop(cmd);
    let (child, guard) = spawned.map_err(|e| format!("cannot start `sh`: {e}"))?;
    Ok((child, guard, output))
}

fn ending_of(status: std::io::Result<std::process::ExitStatus>) -> Ending {
    match status {
        Ok(s) => match (s.code(), s.signal()) {
            (Some(code), _) => Ending::Exited(code),
            (None, Some(sig)) => Ending::Signalled(sig),
            (None, None) => Ending::NotStarted("unknown exit status".into()),
        },
        Err(e) => Ending::NotStarted(format!("cannot wait for the gate's process: {e}")),
    }
}

/// Resolves when `cancel` is (or becomes) true; never when the sender is gone.
pub async fn cancelled(cancel: &mut watch::Receiver<bool>) {
    if cancel.wait_for(|c| *c).await.is_err() {
        std::future::pending::<()>().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(dir: &std::path::Path, script: &str, timeout_ms: u64) -> Spec {
        Spec {
            script: script.into(),
            cwd: dir.to_path_buf(),
            env: ChildEnv {
                set: std::collections::BTreeMap::from([("GREETING".to_owned(), "hi".to_owned())]),
                withheld: Default::default(),
            },
            timeout: Duration::from_millis(timeout_ms),
            grace: Duration::from_millis(200),
            log: dir.join("logs/out.log"),
            secrets: vec![],
            marker: format!("test/{}", dir.display()),
        }
    }

    fn is_alive(pid: i32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| {
                !matches!(
                    s[s.rfind(')').unwrap() + 2..].chars().next(),
                    Some('Z' | 'X')
                )
            })
            .unwrap_or(false)
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn exit_status_env_and_interleaved_output_are_captured() {
        let dir = tempfile::tempdir().unwrap();
        let (_tx, mut rx) = watch::channel(false);
        let e = execute(
            &spec(
                dir.path(),
                "echo $GREETING; echo oops >&2; echo bye; exit 4",
                10_000,
            ),
            &mut rx,
        )
        .await;
        assert_eq!(e.ending, Ending::Exited(4));
        assert_eq!(e.output.unwrap().excerpt, "hi\noops\nbye\n");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("logs/out.log")).unwrap(),
            "hi\noops\nbye\n"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn timeout_ends_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let (_tx, mut rx) = watch::channel(false);
        let e = execute(
            &spec(dir.path(), "sleep 300 & echo $! > pid; sleep 300", 300),
            &mut rx,
        )
        .await;
        assert_eq!(e.ending, Ending::TimedOut);
        let pid: i32 = std::fs::read_to_string(dir.path().join("pid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while is_alive(pid) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(!is_alive(pid), "the background sleep survived");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn cancel_interrupts_and_a_missing_cwd_never_starts() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, mut rx) = watch::channel(false);
        let s = spec(dir.path(), "sleep 300", 60_000);
        let run = tokio::spawn(async move { execute(&s, &mut rx).await });
        tokio::time::sleep(Duration::from_millis(200)).await;
        tx.send_replace(true);
        assert_eq!(run.await.unwrap().ending, Ending::Interrupted);

        let (_tx, mut rx) = watch::channel(false);
        let mut s = spec(dir.path(), "true", 1000);
        s.cwd = dir.path().join("nope");
        match execute(&s, &mut rx).await.ending {
            Ending::NotStarted(why) => assert!(why.contains("does not exist"), "{why}"),
            other => panic!("{other:?}"),
        }
    }
}
