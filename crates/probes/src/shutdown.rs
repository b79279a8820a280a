//! `shutdown`: SIGTERM lets in-flight requests finish, readiness drops before the listener
//! closes, and the process exits 0 within its deadline.
//!
//! ```toml
//! [gates.graceful-shutdown]
//! probe = "shutdown"
//! command = '"$PHASEGATE_EXE" sample-service --port {port} --db shutdown.db'
//! slow_path = "/api/v1/slow?ms=2000"   # a request that takes a while (longer than the drain)
//! ready = "/health/ready"              # default
//! in_flight = 3                        # default: slow requests open when SIGTERM is sent
//! new_connections = "refused"          # default; or "drained"
//! start_within = "30s"                 # default: bound on the start
//! deadline = "10s"                     # default: SIGTERM to exit
//! poll = "50ms"                        # default: readiness poll interval after SIGTERM
//! ```
//!
//! The probe starts **its own** instance, since it stops it: `command` with `{port}` filled
//! with a free loopback port, run as `sh -c 'exec COMMAND'` in the gate's directory with the
//! gate's environment, in its own process group (killed when the probe ends, however it
//! ends). The `exec` makes the service the process that gets SIGTERM and whose exit status is
//! judged, so `command` is one simple command (wrap anything else in a script that `exec`s
//! the service). The gate's own service or base URL is not addressed.
//!
//! Once `ready` answers 2xx on `http://127.0.0.1:{port}`, `in_flight` requests to `slow_path`
//! are opened and given 300ms to reach the service; a request that already finished makes the
//! probe an error (nothing was in flight: make `slow_path` slower). Then SIGTERM goes to the
//! service, and `ready` is polled every `poll`, each time on a new connection
//! (`Connection: close`, as a load balancer's health check), until new connections are not
//! served, the process exits, or `deadline` passes. Rules:
//!
//! - every in-flight request completes with a 2xx (`shutdown-request-dropped`);
//! - readiness answers non-2xx before new connections stop being served or the process exits
//!   (`shutdown-ready-not-dropped`): a load balancer must stop routing here before
//!   connections fail;
//! - `new_connections = "refused"`: new connections stop being accepted before the process
//!   exits, while in-flight requests finish (`shutdown-still-accepting` when a poll was still
//!   answered when the process exited, or at the deadline): keep `slow_path` slower than the
//!   service's drain so there is time to see it. `"drained"`: new connections are answered
//!   (any status) until the in-flight requests are done (`shutdown-new-connections-dropped`);
//! - the process exits within `deadline` (`shutdown-deadline-exceeded`; it is then killed)
//!   with status 0 (`shutdown-exit-status`, naming the signal when one ended it).
//!
//! Budget: the start polls (one per 100ms of `start_within`), `in_flight`, and one poll per
//! `poll` of `deadline`. Measurements: `in_flight`, `in_flight_completed`,
//! `ready_down_after_ms`, `listener_closed_after_ms`, `exit_after_ms`, `exit_code`.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::hook::{self, Group};
use crate::net::{Client, ProbeError, Request, Response};
use crate::params::{self, Dur, err};
use crate::probe::Probe;
use crate::report::{Report, ms};
use crate::{Context, ParamError, child};

/// Time the in-flight requests get to reach the service before SIGTERM is sent.
const SETTLE: Duration = Duration::from_millis(300);

/// Interval of the readiness polls while the instance starts.
const START_POLL: Duration = Duration::from_millis(100);

/// The longest `deadline` or `start_within`.
const MAX_WAIT: Duration = Duration::from_secs(600);

/// How much of the instance's output is kept, to quote when it fails to start.
const OUTPUT_TAIL: usize = 4000;

/// The `shutdown` probe's parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    command: String,
    slow_path: String,
    #[serde(default = "ready")]
    ready: String,
    #[serde(default = "in_flight")]
    in_flight: u32,
    #[serde(default)]
    new_connections: NewConnections,
    #[serde(default = "start_within")]
    start_within: Dur,
    #[serde(default = "deadline")]
    deadline: Dur,
    #[serde(default = "poll")]
    poll: Dur,
}

/// What must happen to connections made after SIGTERM.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum NewConnections {
    /// Refused once the drain is over, while in-flight requests finish.
    #[default]
    Refused,
    /// Answered until in-flight requests are done (a service that keeps accepting).
    Drained,
}

fn ready() -> String {
    "/health/ready".to_owned()
}

fn in_flight() -> u32 {
    3
}

fn start_within() -> Dur {
    Dur(Duration::from_secs(30))
}

fn deadline() -> Dur {
    Dur(Duration::from_secs(10))
}

fn poll() -> Dur {
    Dur(Duration::from_millis(50))
}

/// The `shutdown` probe.
pub(crate) struct Shutdown;

impl Probe for Shutdown {
    const KIND: &'static str = "shutdown";
    const RULES: &'static [&'static str] = &["in_flight", "ready_drop", "new_connections", "exit"];
    type Config = Config;

    fn validate(cfg: &mut Config, errors: &mut Vec<ParamError>) {
        if !cfg.command.contains("{port}") {
            errors.push(err(
                "command",
                "expected `{port}` in the command: the probe starts its own instance on a free port",
            ));
        }
        params::check_path("slow_path", &cfg.slow_path, errors);
        params::check_path("ready", &cfg.ready, errors);
        params::check_count("in_flight", cfg.in_flight, 50, " requests", errors);
        for (key, d) in [
            ("start_within", cfg.start_within),
            ("deadline", cfg.deadline),
        ] {
            if d.0.is_zero() || d.0 > MAX_WAIT {
                errors.push(err(key, "expected a duration above zero and at most 10m"));
            }
        }
        if cfg.poll.0 < Duration::from_millis(10) || cfg.poll.0 > cfg.deadline.0 {
            errors.push(err(
                "poll",
                "expected at least 10ms and not above `deadline`",
            ));
        }
    }

    fn budget(cfg: &Config) -> u32 {
        let polls = |within: Duration, every: Duration| {
            u32::try_from(within.as_nanos().div_ceil(every.as_nanos().max(1))).unwrap_or(u32::MAX)
        };
        polls(cfg.start_within.0, START_POLL)
            .saturating_add(cfg.in_flight)
            .saturating_add(polls(cfg.deadline.0, cfg.poll.0))
            // One more poll each: the first is sent at once.
            .saturating_add(2)
    }

    async fn check(
        cfg: &Config,
        ctx: &Context,
        http: &mut Client,
        report: &mut Report,
    ) -> Result<(), ProbeError> {
        let mut instance = Instance::start(cfg, ctx)?;
        http.set_base(instance.base.clone());
        instance.wait_ready(cfg, http).await?;
        let in_flight = InFlight::open(cfg, http)?;
        tokio::time::sleep(SETTLE).await;
        in_flight.still_open(cfg)?;
        let sigterm = Instant::now();
        instance.signal_term()?;
        let seen = watch(cfg, &mut instance, &in_flight, http, sigterm).await?;
        let exit = match seen.exit {
            Some(exit) => Some(exit),
            None => {
                instance.kill().await;
                None
            }
        };
        let done = in_flight.finish(ctx.timeout).await;
        judge(cfg, &seen, exit, &done, sigterm, report);
        for rule in Self::RULES {
            report.exercised(rule);
        }
        Ok(())
    }
}

/// The instance the probe started: its process, registered and in its own group.
struct Instance {
    base: url::Url,
    child: tokio::process::Child,
    _spawned: child::Spawned,
    group: Group,
    output: Arc<Mutex<Vec<u8>>>,
    /// The tasks reading its stdout and stderr into `output`.
    readers: Vec<JoinHandle<()>>,
}

impl Instance {
    fn start(cfg: &Config, ctx: &Context) -> Result<Instance, ProbeError> {
        let port = std::net::TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.local_addr())
            .map_err(|e| ProbeError::Other(format!("cannot find a free loopback port: {e}")))?
            .port();
        let command = cfg.command.replace("{port}", &port.to_string());
        // `exec`: SIGTERM goes to the service itself, not to a shell that would not pass it on.
        let mut cmd = hook::shell(&format!("exec {command}"), ctx);
        let (mut child, spawned) = child::spawn(&mut cmd).map_err(|e| {
            ProbeError::Other(format!(
                "the service command `{command}` could not start: {e}"
            ))
        })?;
        let group = Group(rustix::process::Pid::from_raw(spawned.pid()));
        let output = Arc::new(Mutex::new(Vec::new()));
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            readers.push(keep_tail(out, Arc::clone(&output)));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(keep_tail(err, Arc::clone(&output)));
        }
        let base = url::Url::parse(&format!("http://127.0.0.1:{port}/"))
            .expect("a loopback URL with a port parses");
        Ok(Instance {
            base,
            child,
            _spawned: spawned,
            group,
            output,
            readers,
        })
    }

    /// Polls `ready` until it answers 2xx; an exit or `start_within` passing is an error.
    async fn wait_ready(&mut self, cfg: &Config, http: &mut Client) -> Result<(), ProbeError> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().map_err(wait_error)? {
                // What it printed last is what says why: read the pipes to their end (bounded:
                // something it started may hold them open).
                for reader in std::mem::take(&mut self.readers) {
                    let _ = tokio::time::timeout(Duration::from_secs(1), reader).await;
                }
                return Err(ProbeError::Other(format!(
                    "the service exited ({}) before it was ready; its output: {}",
                    describe(status),
                    self.output_tail()
                )));
            }
            let last = match http.send(&Request::get(&cfg.ready).note("starting")).await {
                Ok(resp) if resp.is_success() => return Ok(()),
                Ok(resp) => format!("status {}", resp.status),
                Err(ProbeError::Transport { message, .. }) => message,
                Err(e) => return Err(e),
            };
            if started.elapsed() >= cfg.start_within.0 {
                return Err(ProbeError::Other(format!(
                    "the service was not ready within {} (last: {last}); its output: {}",
                    humantime::format_duration(cfg.start_within.0),
                    self.output_tail()
                )));
            }
            tokio::time::sleep(START_POLL).await;
        }
    }

    fn signal_term(&self) -> Result<(), ProbeError> {
        let pid = self
            .child
            .id()
            .and_then(|p| i32::try_from(p).ok())
            .and_then(rustix::process::Pid::from_raw)
            .ok_or_else(|| ProbeError::Other("the service exited before SIGTERM".to_owned()))?;
        rustix::process::kill_process(pid, rustix::process::Signal::TERM)
            .map_err(|e| ProbeError::Other(format!("cannot send SIGTERM to the service: {e}")))
    }

    /// Ends the whole group with SIGKILL and collects the exit status.
    async fn kill(&mut self) {
        if let Some(pid) = self.group.0.take() {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
        let _ = self.child.wait().await;
    }

    fn output_tail(&self) -> String {
        let bytes = self.output.lock().unwrap_or_else(PoisonError::into_inner);
        hook::tail(&String::from_utf8_lossy(&bytes))
    }
}

/// Keeps the last [`OUTPUT_TAIL`] bytes `pipe` gives, until it closes.
fn keep_tail(
    mut pipe: impl AsyncRead + Unpin + Send + 'static,
    tail: Arc<Mutex<Vec<u8>>>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = pipe.read(&mut buf).await {
            let mut tail = tail.lock().unwrap_or_else(PoisonError::into_inner);
            tail.extend_from_slice(&buf[..n]);
            let extra = tail.len().saturating_sub(OUTPUT_TAIL);
            tail.drain(..extra);
        }
    })
}

fn wait_error(e: std::io::Error) -> ProbeError {
    ProbeError::Other(format!("cannot wait for the service: {e}"))
}

/// "status 3", "killed by signal 15 (SIGTERM)".
fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("status {code}"),
        (None, Some(15)) => "killed by signal 15 (SIGTERM: it does not handle it)".to_owned(),
        (None, Some(9)) => "killed by signal 9 (SIGKILL)".to_owned(),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => "an unknown status".to_owned(),
    }
}

/// What one in-flight request got, and when.
type Landed = (Result<Response, ProbeError>, Instant);

/// The slow requests open across SIGTERM; aborted if the probe ends before they do.
struct InFlight(Vec<JoinHandle<Landed>>);

impl InFlight {
    fn open(cfg: &Config, http: &mut Client) -> Result<InFlight, ProbeError> {
        let mut tasks = Vec::new();
        for n in 1..=cfg.in_flight {
            let req = Request::get(&cfg.slow_path).note(format!("in flight {n}"));
            let send = http.detached(&req)?;
            tasks.push(tokio::spawn(async move { (send.await, Instant::now()) }));
        }
        Ok(InFlight(tasks))
    }

    /// An error when one of them already finished: then nothing is in flight at SIGTERM, and
    /// the check would prove nothing.
    fn still_open(&self, cfg: &Config) -> Result<(), ProbeError> {
        if self.0.iter().any(JoinHandle::is_finished) {
            return Err(ProbeError::Other(format!(
                "GET {} finished within {}ms, before SIGTERM was sent: nothing was in flight; make `slow_path` slower",
                cfg.slow_path,
                SETTLE.as_millis()
            )));
        }
        Ok(())
    }

    fn all_finished(&self) -> bool {
        self.0.iter().all(JoinHandle::is_finished)
    }

    /// Waits for each (at most `limit` each, which the per-request timeout bounds anyway).
    async fn finish(mut self, limit: Duration) -> Vec<Option<Landed>> {
        let mut out = Vec::new();
        for task in std::mem::take(&mut self.0) {
            out.push(
                tokio::time::timeout(limit + Duration::from_secs(1), task)
                    .await
                    .ok()
                    .and_then(Result::ok),
            );
        }
        out
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// What the polls after SIGTERM saw, as times since SIGTERM.
#[derive(Debug, Default)]
struct Seen {
    /// The first readiness answer that was not a 2xx.
    ready_down: Option<Duration>,
    /// The first poll whose connection was not served, and how.
    not_served: Option<(Duration, &'static str)>,
    /// The last poll that got an HTTP answer.
    last_answered: Option<Duration>,
    /// When the exit was noticed, and its status.
    exit: Option<(Duration, ExitStatus)>,
}

/// Polls readiness on new connections after SIGTERM until the process exits or `deadline`.
async fn watch(
    cfg: &Config,
    instance: &mut Instance,
    in_flight: &InFlight,
    http: &mut Client,
    sigterm: Instant,
) -> Result<Seen, ProbeError> {
    let mut seen = Seen::default();
    let end = sigterm + cfg.deadline.0;
    loop {
        if let Some(status) = instance.child.try_wait().map_err(wait_error)? {
            seen.exit = Some((sigterm.elapsed(), status));
            // Anything the service left behind in its group goes with it.
            if let Some(pid) = instance.group.0.take() {
                let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
            }
            return Ok(seen);
        }
        if Instant::now() >= end {
            return Ok(seen);
        }
        // After the listener closed, "drained" still needs to know it did not close early;
        // "refused" has seen what it needed.
        let polling = seen.not_served.is_none()
            || (cfg.new_connections == NewConnections::Drained && !in_flight.all_finished());
        if polling {
            let at = sigterm.elapsed();
            let req = Request::get(&cfg.ready)
                .header("connection", "close")
                .no_follow()
                .note(format!("{} after SIGTERM", human(at)));
            match http.send(&req).await {
                Ok(resp) => {
                    seen.last_answered = Some(at);
                    if !resp.is_success() && seen.ready_down.is_none() {
                        seen.ready_down = Some(at);
                    }
                }
                Err(ProbeError::Transport { .. }) => {
                    let how = if http.last_was_connect_error() {
                        "refused"
                    } else {
                        "accepted, then closed without an answer"
                    };
                    seen.not_served.get_or_insert((at, how));
                }
                Err(e) => return Err(e),
            }
        }
        let now = Instant::now();
        tokio::time::sleep(cfg.poll.0.min(end.saturating_duration_since(now))).await;
    }
}

/// Records the findings and measurements of what was seen.
fn judge(
    cfg: &Config,
    seen: &Seen,
    exit: Option<(Duration, ExitStatus)>,
    done: &[Option<Landed>],
    sigterm: Instant,
    report: &mut Report,
) {
    let at = format!("GET {} (after SIGTERM)", cfg.ready);
    report.measure("in_flight", done.len() as f64);
    let mut failures: Vec<String> = Vec::new();
    let mut completed = 0u32;
    let mut last_done: Option<Duration> = None;
    for landed in done {
        match landed {
            Some((Ok(resp), when)) if resp.is_success() => {
                completed += 1;
                let after = when.saturating_duration_since(sigterm);
                last_done = Some(last_done.map_or(after, |d| d.max(after)));
            }
            Some((Ok(resp), _)) => failures.push(format!("answered {}", resp.status)),
            Some((Err(ProbeError::Transport { message, .. }), _)) => {
                // The innermost cause says what happened ("connection closed before message
                // completed"); the URL before it is in the location already.
                let cause = message.rsplit(": ").next().unwrap_or(message);
                failures.push(format!("cut ({cause})"));
            }
            Some((Err(e), _)) => failures.push(e.to_string()),
            None => failures.push("no answer".to_owned()),
        }
    }
    report.measure("in_flight_completed", f64::from(completed));
    if !failures.is_empty() {
        report.finding(
            "shutdown-request-dropped",
            format!(
                "expected the {} requests in flight at SIGTERM to complete with a 2xx, saw {} of them fail: {}",
                done.len(),
                failures.len(),
                grouped(&failures)
            ),
            format!("GET {} (in flight at SIGTERM)", cfg.slow_path),
        );
    }
    if let Some(d) = seen.ready_down {
        report.measure("ready_down_after_ms", ms(d));
    }
    if let Some((d, _)) = seen.not_served {
        report.measure("listener_closed_after_ms", ms(d));
    }
    // When traffic stopped being served: connections failed, or the process was gone.
    let stopped = seen
        .not_served
        .map(|(d, how)| (d, format!("a new connection was {how}")));
    let stopped = stopped.or_else(|| exit.map(|(d, _)| (d, "the process exited".to_owned())));
    // A drain a load balancer can act on: after the first unready answer, traffic is still
    // served (a later poll answered). A single 503 in the instant the process goes away (a
    // readiness check cut by the runtime's own teardown) is no drain window.
    let dropped_in_time = match (seen.ready_down, &stopped) {
        (Some(down), Some((end, _))) => {
            down <= *end && seen.last_answered.is_some_and(|last| last > down)
        }
        (Some(_), None) => true,
        (None, _) => false,
    };
    if !dropped_in_time {
        let saw = match (&stopped, seen.last_answered, seen.ready_down) {
            (Some((end, what)), Some(_), Some(down)) => format!(
                "one unready answer {} after SIGTERM and then {what} {} after SIGTERM, with no poll answered in between: no drain window (make the drain longer than `poll`)",
                human(down),
                human(*end)
            ),
            (Some((end, what)), None, _) => format!(
                "{what} {} after SIGTERM, with no poll answered before: the service stopped at once, so load balancers kept routing here until connections failed",
                human(*end)
            ),
            (Some((end, what)), Some(_), None) => format!(
                "2xx at every poll until {what} {} after SIGTERM",
                human(*end)
            ),
            (None, _, _) => format!(
                "2xx at every poll for {}",
                humantime::format_duration(cfg.deadline.0)
            ),
        };
        report.finding(
            "shutdown-ready-not-dropped",
            format!(
                "expected {} to answer 503 after SIGTERM, before the listener closed, saw {saw}",
                cfg.ready
            ),
            at.as_str(),
        );
    }
    new_connections(cfg, seen, exit, last_done, &at, report);
    match exit {
        Some((d, status)) => {
            report.measure("exit_after_ms", ms(d));
            if let Some(code) = status.code() {
                report.measure("exit_code", f64::from(code));
            }
            if !status.success() {
                report.finding(
                    "shutdown-exit-status",
                    format!(
                        "expected exit status 0 after SIGTERM, saw {} {} after SIGTERM",
                        describe(status),
                        human(d)
                    ),
                    "the service process",
                );
            }
        }
        None => report.finding(
            "shutdown-deadline-exceeded",
            format!(
                "expected the process to exit within {} of SIGTERM, saw it still running; it was killed (SIGKILL)",
                humantime::format_duration(cfg.deadline.0)
            ),
            "the service process",
        ),
    }
}

/// The `new_connections` rule.
fn new_connections(
    cfg: &Config,
    seen: &Seen,
    exit: Option<(Duration, ExitStatus)>,
    last_done: Option<Duration>,
    at: &str,
    report: &mut Report,
) {
    match cfg.new_connections {
        NewConnections::Refused => {
            // Only when polls were answered, so that a service gone at once (reported above)
            // is not also blamed for accepting.
            if seen.not_served.is_some() {
                return;
            }
            let Some(last) = seen.last_answered else {
                return;
            };
            let until = match exit {
                Some((d, _)) => format!("until the process exited {} after SIGTERM", human(d)),
                None => format!(
                    "for the whole {} deadline",
                    humantime::format_duration(cfg.deadline.0)
                ),
            };
            report.finding(
                "shutdown-still-accepting",
                format!(
                    "expected new connections to be refused after the drain while in-flight requests finished, saw them answered {until} (last {} after SIGTERM): the listener stayed open through the shutdown (`slow_path` must outlast the drain for this to be seen)",
                    human(last)
                ),
                at,
            );
        }
        NewConnections::Drained => {
            let Some((when, how)) = seen.not_served else {
                return;
            };
            if last_done.is_none_or(|done| when < done) {
                report.finding(
                    "shutdown-new-connections-dropped",
                    format!(
                        "expected new connections to be answered until the in-flight requests were done (new_connections = \"drained\"), saw one {how} {} after SIGTERM",
                        human(when)
                    ),
                    at,
                );
            }
        }
    }
}

/// "cut: connection closed ×2; answered 503".
fn grouped(items: &[String]) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for item in items {
        match counts.iter_mut().find(|(i, _)| *i == item.as_str()) {
            Some((_, n)) => *n += 1,
            None => counts.push((item, 1)),
        }
    }
    counts
        .iter()
        .map(|(i, n)| {
            if *n == 1 {
                (*i).to_owned()
            } else {
                format!("{i} ×{n}")
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A time since SIGTERM, to the millisecond ("0ms", "1s 250ms").
fn human(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        return format!("{}ms", d.as_millis());
    }
    humantime::format_duration(Duration::from_millis(
        u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
    ))
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_well() {
        assert_eq!(describe(ExitStatus::from_raw(3 << 8)), "status 3");
        assert!(describe(ExitStatus::from_raw(15)).contains("SIGTERM: it does not handle it"));
        assert_eq!(grouped(&["a".into(), "b".into(), "a".into()]), "a ×2; b");
        assert_eq!(human(Duration::from_micros(100)), "0ms");
        assert_eq!(human(Duration::from_millis(1250)), "1s 250ms");
    }
}
