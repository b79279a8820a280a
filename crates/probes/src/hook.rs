//! Shell hooks (`health`'s fault and restore): `sh -c` in the context's working directory,
//! bounded in time, in their own process group so that a timeout leaves nothing behind, and
//! registered (see [`child`]) while they are waited for.

use std::process::Stdio;
use std::time::Duration;

use crate::net::ProbeError;
use crate::{Context, child};

/// How much of a failed hook's output the error quotes.
const EXCERPT: usize = 400;

/// `sh -c command` as the probes start a process of the gate's: in the gate's environment
/// and working directory, its output piped, in a process group of its own (which
/// [`Group`] ends), killed if dropped.
pub(crate) fn shell(command: &str, ctx: &Context) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new("sh");
    ctx.env.apply(&mut cmd);
    cmd.arg("-c")
        .arg(command)
        .current_dir(&ctx.workdir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .process_group(0);
    cmd
}

/// Runs `command`; an exit status other than 0, a spawn failure or a timeout is an error that
/// quotes the end of the hook's output.
pub(crate) async fn run(
    what: &str,
    command: &str,
    ctx: &Context,
    limit: Duration,
) -> Result<(), ProbeError> {
    let mut cmd = shell(command, ctx);
    // Registered until this returns, after the wait: the runner's reaper of orphans must
    // not take the hook's exit status first.
    let (child, spawned) = child::spawn(&mut cmd)
        .map_err(|e| ProbeError::Other(format!("{what} hook `{command}` could not start: {e}")))?;
    // Ends the hook's whole group (the shell's children too) unless it finished: on its
    // timeout, and when the probe is dropped mid-hook (its gate timed out or was stopped).
    let mut group = Group(rustix::process::Pid::from_raw(spawned.pid()));
    match tokio::time::timeout(limit, child.wait_with_output()).await {
        Ok(Ok(out)) if out.status.success() => {
            group.0 = None;
            Ok(())
        }
        Ok(Ok(out)) => {
            group.0 = None;
            let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&out.stderr));
            Err(ProbeError::Other(format!(
                "{what} hook `{command}` failed ({}): {}",
                out.status,
                tail(&text)
            )))
        }
        Ok(Err(e)) => Err(ProbeError::Other(format!(
            "{what} hook `{command}` could not be waited for: {e}"
        ))),
        Err(_) => Err(ProbeError::Other(format!(
            "{what} hook `{command}` did not finish within {}",
            humantime::format_duration(limit)
        ))),
    }
}

/// A process group (a hook's, `shutdown`'s service), sent SIGKILL when dropped while set.
pub(crate) struct Group(pub(crate) Option<rustix::process::Pid>);

impl Drop for Group {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
    }
}

/// The end of a process's output, on one line, for an error message.
pub(crate) fn tail(text: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        return "no output".to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    let start = chars.len().saturating_sub(EXCERPT);
    let cut: String = chars[start..].iter().collect();
    let cut = cut.replace('\n', " | ");
    if start > 0 { format!("...{cut}") } else { cut }
}
