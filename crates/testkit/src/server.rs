//! A server a test starts, ended when the test ends — on success, on a failed assertion and
//! on a panic alike — so that the suite leaves nothing running.
//!
//! The server runs in its own process group. On drop it first gets the signal it expects for
//! a clean stop (nginx: SIGQUIT, which also ends its workers; our services: SIGTERM) and a
//! bounded time to exit; then the whole group gets SIGKILL, so a worker the server forked
//! cannot outlive it even when the server itself crashed or ignored the signal.
//! `Child::kill` alone signals only the leader, which is how every test run used to orphan
//! an nginx worker.

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Output};
use std::time::{Duration, Instant};

pub use rustix::process::Signal;
use rustix::process::{Pid, kill_process, kill_process_group};

use crate::proc;

/// How long a server has, after its stop signal, before its group is killed.
pub const GRACE: Duration = Duration::from_secs(10);

/// A running process in its own process group, stopped and reaped on drop.
pub struct Server {
    child: Child,
    stop: Signal,
    grace: Duration,
    exited: Option<ExitStatus>,
}

impl Server {
    /// Starts `command` in a new process group; `stop` is the signal that asks it to end.
    pub fn start(command: &mut Command, stop: Signal) -> Server {
        use std::os::unix::process::CommandExt;
        let child = command
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {:?}: {e}", command.get_program()));
        Server {
            child,
            stop,
            grace: GRACE,
            exited: None,
        }
    }

    /// Changes how long the server has to stop before its group is killed.
    pub fn grace(mut self, grace: Duration) -> Server {
        self.grace = grace;
        self
    }

    /// The leader's pid, which is also the group id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The child, to take its pipes.
    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }

    /// Sends `signal` to the leader only, as a test of the server's own signal handling does.
    pub fn signal(&self, signal: Signal) {
        if self.exited.is_none() {
            kill_process(self.pid(), signal).expect("the unreaped leader can be signalled");
        }
    }

    /// The leader's exit status if it has exited, without waiting. Once the leader has
    /// exited, whatever is left of its group is killed.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        if self.exited.is_none() && !proc::alive(self.pid().as_raw_nonzero().get()) {
            self.finish();
        }
        self.exited
    }

    /// Waits up to `limit` for the leader to exit; its exit status, or `None` on time-out.
    pub fn wait_timeout(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops the server as on drop and returns the leader's exit status.
    pub fn stop(mut self) -> ExitStatus {
        self.end()
    }

    /// Sends the leader `signal` and collects its stdout and stderr (those that are piped)
    /// until it exits; after `limit` the group is killed. A command interrupted by a test.
    pub fn interrupt(mut self, signal: Signal, limit: Duration) -> Output {
        fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                if let Some(mut pipe) = pipe {
                    let _ = pipe.read_to_end(&mut bytes);
                }
                bytes
            })
        }
        let stdout = drain(self.child.stdout.take());
        let stderr = drain(self.child.stderr.take());
        self.signal(signal);
        let status = self.wait_timeout(limit).unwrap_or_else(|| self.finish());
        Output {
            status,
            stdout: stdout.join().expect("the reader does not panic"),
            stderr: stderr.join().expect("the reader does not panic"),
        }
    }

    fn pid(&self) -> Pid {
        Pid::from_child(&self.child)
    }

    /// The stop signal, the grace time, then the end of the group.
    fn end(&mut self) -> ExitStatus {
        self.signal(self.stop);
        let grace = self.grace;
        self.wait_timeout(grace).unwrap_or_else(|| self.finish())
    }

    /// SIGKILL to the whole group, a bounded wait until no member runs, then the leader is
    /// reaped. The group is signalled before the reaping because until then the leader's pid,
    /// which is the group id, cannot be reused by an unrelated process.
    fn finish(&mut self) -> ExitStatus {
        if let Some(status) = self.exited {
            return status;
        }
        let pgid = self.pid();
        let _ = kill_process_group(pgid, Signal::KILL);
        let deadline = Instant::now() + Duration::from_secs(5);
        while !proc::group_members(pgid.as_raw_nonzero().get()).is_empty()
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(10));
        }
        let status = self.child.wait().expect("the leader is our child");
        self.exited = Some(status);
        status
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.exited.is_none() {
            self.end();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    use super::*;

    /// Starts `sh -c script` (which prints pids on its first line) and returns the server and
    /// those pids.
    fn start(script: &str) -> (Server, Vec<i32>) {
        let mut server = Server::start(
            Command::new("sh")
                .args(["-c", script])
                .stdout(Stdio::piped()),
            Signal::TERM,
        )
        .grace(Duration::from_millis(300));
        let mut line = String::new();
        let stdout = server.child_mut().stdout.take().unwrap();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let pids = line
            .split_whitespace()
            .map(|p| p.parse().unwrap())
            .collect();
        (server, pids)
    }

    fn assert_all_gone(pids: &[i32]) {
        let alive: Vec<i32> = pids.iter().copied().filter(|p| proc::alive(*p)).collect();
        assert!(alive.is_empty(), "still running: {alive:?} of {pids:?}");
        assert!(proc::group_members(pids[0]).is_empty());
    }

    #[test]
    fn dropping_the_server_ends_the_leader_and_the_child_it_forked() {
        let (server, pids) = start("sleep 300 & echo $$ $!; wait");
        assert!(pids.iter().all(|p| proc::alive(*p)), "{pids:?}");
        drop(server);
        assert_all_gone(&pids);
    }

    #[test]
    fn a_server_that_ignores_its_stop_signal_is_killed_with_its_group_after_the_grace() {
        let (server, pids) = start("trap '' TERM; sleep 300 & echo $$ $!; wait");
        let started = Instant::now();
        let status = server.stop();
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9)
        );
        assert_all_gone(&pids);
    }

    #[test]
    fn a_child_left_behind_by_a_leader_that_exited_is_killed() {
        // nginx's master killed alone leaves its worker running, as this leader does.
        let (mut server, pids) = start("sleep 300 & echo $$ $!");
        assert!(
            server
                .wait_timeout(Duration::from_secs(10))
                .unwrap()
                .success()
        );
        assert_all_gone(&pids);
    }
}
