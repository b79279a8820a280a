//! `phasegate daemon start | stop | status | logs | print-unit | run`: the engine's watch
//! loop with schedules, detached, one per roadmap.

use std::ffi::OsString;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use phasegate_engine::{DaemonState, Error, Event, Liveness, LogFile, Session, WatchEvent};

use crate::cli::{DaemonCommand, Global, WatchArgs};
use crate::exit;

/// The log is rotated past this size, keeping [`LOGS_KEPT`] older ones.
const LOG_MAX_BYTES: u64 = 1 << 20;
const LOGS_KEPT: u32 = 3;

/// How long `start` waits for the daemon to hold its lock.
const START_WAIT: Duration = Duration::from_secs(20);

pub fn daemon(global: &Global, cmd: DaemonCommand) -> Result<u8, Error> {
    let session = super::open(global)?;
    match cmd {
        DaemonCommand::Start(args) => start(global, &session, &args),
        DaemonCommand::Stop { wait } => stop(&session, wait),
        DaemonCommand::Status => status(&session),
        DaemonCommand::Logs { lines } => logs(&session, lines),
        DaemonCommand::PrintUnit => print_unit(&session),
        DaemonCommand::Run(args) => run(global, &session, &args),
    }
}

fn start(global: &Global, session: &Session, args: &WatchArgs) -> Result<u8, Error> {
    let daemon = session.daemon();
    match daemon.liveness() {
        Liveness::Running(pid) => {
            return Err(Error::usage(
                format!(
                    "a daemon is already running for this roadmap{}",
                    pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
                ),
                "`phasegate daemon status` shows what it does; `phasegate daemon stop` stops it",
            ));
        }
        Liveness::Stale(pid) => eprintln!(
            "note: the daemon with pid {pid} did not stop cleanly (its pid file was left behind); starting a new one"
        ),
        Liveness::Stopped => {}
    }
    std::fs::create_dir_all(daemon.dir()).map_err(Error::io(format!(
        "cannot create `{}`",
        daemon.dir().display()
    )))?;
    let stderr_path = daemon.stderr_file();
    let stderr = std::fs::File::create(&stderr_path).map_err(Error::io(format!(
        "cannot write `{}`",
        stderr_path.display()
    )))?;
    let exe =
        std::env::current_exe().map_err(Error::io("cannot find phasegate's own executable"))?;
    let mut command = Command::new(exe);
    command
        .arg("--config")
        .arg(&session.loaded.path)
        .args(["daemon", "run"])
        .args(forwarded(args))
        .current_dir(&session.root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr);
    // Through the environment, not argv: a PostgreSQL URL may hold a password.
    if let Some(ledger) = &global.ledger {
        command.env(phasegate_engine::LEDGER_VAR, ledger);
    }
    // Its own process group: Ctrl-C in this terminal is not for the daemon.
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command
        .spawn()
        .map_err(Error::io("cannot start the daemon"))?;
    let deadline = Instant::now() + START_WAIT;
    loop {
        if let Liveness::Running(Some(pid)) = daemon.liveness()
            && pid == child.id()
        {
            println!(
                "daemon started (pid {pid}); log: {}",
                daemon.log_file().display()
            );
            return Ok(exit::OK);
        }
        if let Some(status) = child
            .try_wait()
            .map_err(Error::io("cannot wait for the daemon"))?
        {
            let said = std::fs::read_to_string(&stderr_path).unwrap_or_default();
            eprint!("{said}");
            return Err(Error::usage(
                format!("the daemon exited at once ({status})"),
                "its error is above",
            ));
        }
        if Instant::now() > deadline {
            return Err(Error::usage(
                format!(
                    "the daemon (pid {}) did not start within {START_WAIT:?}",
                    child.id()
                ),
                format!("see {}", stderr_path.display()),
            ));
        }
        // Waiting on another process's lock has no event to await: poll it.
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The flags of `args` for the daemon's own command line.
fn forwarded(args: &WatchArgs) -> Vec<OsString> {
    let mut out: Vec<OsString> = Vec::new();
    if let Some(jobs) = args.execution.jobs {
        out.extend(["--jobs".into(), jobs.to_string().into()]);
    }
    out.extend([
        "--grace".into(),
        humantime::format_duration(args.execution.grace)
            .to_string()
            .into(),
        "--debounce".into(),
        humantime::format_duration(args.debounce).to_string().into(),
    ]);
    if args.no_cache {
        out.push("--no-cache".into());
    }
    out.push("--".into());
    out.extend(args.names.iter().map(Into::into));
    out
}

fn stop(session: &Session, wait: Duration) -> Result<u8, Error> {
    let daemon = session.daemon();
    let pid = match daemon.liveness() {
        Liveness::Running(Some(pid)) => pid,
        Liveness::Running(None) => {
            return Err(Error::usage(
                "a daemon holds the lock but its pid file is gone",
                format!(
                    "find it with `fuser {}`",
                    daemon.dir().join("lock").display()
                ),
            ));
        }
        Liveness::Stale(pid) => {
            let _ = std::fs::remove_file(daemon.pid_file());
            println!(
                "no daemon running (removed the pid file of pid {pid}, which did not stop cleanly)"
            );
            return Ok(exit::OK);
        }
        Liveness::Stopped => {
            println!("no daemon running");
            return Ok(exit::OK);
        }
    };
    let target = rustix::process::Pid::from_raw(pid as i32)
        .ok_or_else(|| Error::usage(format!("invalid pid {pid} in the pid file"), "remove it"))?;
    rustix::process::kill_process(target, rustix::process::Signal::TERM)
        .map_err(|e| Error::io(format!("cannot signal the daemon (pid {pid})"))(e.into()))?;
    let deadline = Instant::now() + wait;
    while matches!(daemon.liveness(), Liveness::Running(_)) {
        if Instant::now() > deadline {
            return Err(Error::usage(
                format!("the daemon (pid {pid}) did not stop within {wait:?}"),
                "its gates may take that long to end; try again, or wait longer with --wait",
            ));
        }
        // The lock is released when the process is gone: nothing to await but polling.
        std::thread::sleep(Duration::from_millis(20));
    }
    println!("daemon stopped (pid {pid})");
    Ok(exit::OK)
}

fn status(session: &Session) -> Result<u8, Error> {
    let daemon = session.daemon();
    let liveness = daemon.liveness();
    let state = daemon.state()?;
    match liveness {
        Liveness::Running(pid) => {
            let pid = pid.map(|p| format!(" (pid {p})")).unwrap_or_default();
            let since = state
                .as_ref()
                .map(|s| format!(" since {:.0}", s.started_at))
                .unwrap_or_default();
            println!("daemon: running{pid}{since}");
        }
        Liveness::Stale(pid) => println!(
            "daemon: not running; pid {pid} was killed without stopping cleanly (stale pid file)"
        ),
        Liveness::Stopped => println!("daemon: not running"),
    }
    println!("log: {}", daemon.log_file().display());
    if let Some(state) = state {
        print!(
            "{}",
            state_text(&state, matches!(liveness, Liveness::Running(_)))
        );
    }
    Ok(exit::ok_if(matches!(liveness, Liveness::Running(_))))
}

/// The next runs (when running) and the last cycles.
fn state_text(state: &DaemonState, running: bool) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    if running {
        if state.next.is_empty() {
            out.push_str("next: nothing scheduled (runs on changes)\n");
        } else {
            out.push_str("next:\n");
            for (gate, at) in &state.next {
                let _ = writeln!(out, "  {at:.0}  {gate}");
            }
        }
    }
    out.push_str(if state.cycles.is_empty() {
        "last cycles: none yet\n"
    } else {
        "last cycles:\n"
    });
    for c in state.cycles.iter().rev() {
        let _ = writeln!(
            out,
            "  {:.0}  {:<13} {:<24} {}",
            c.started_at,
            c.trigger,
            c.outcome,
            c.gates.join(", ")
        );
    }
    out
}

fn logs(session: &Session, lines: Option<usize>) -> Result<u8, Error> {
    let path = session.daemon().log_file();
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("no log yet ({})", path.display());
            return Ok(exit::OK);
        }
        Err(e) => return Err(Error::io(format!("cannot read `{}`", path.display()))(e)),
    };
    let all: Vec<&str> = text.lines().collect();
    let from = lines.map_or(0, |n| all.len().saturating_sub(n));
    for line in &all[from..] {
        println!("{line}");
    }
    Ok(exit::OK)
}

fn print_unit(session: &Session) -> Result<u8, Error> {
    let exe =
        std::env::current_exe().map_err(Error::io("cannot find phasegate's own executable"))?;
    print!(
        "\
# phasegate daemon for {project}, supervised by systemd (user unit).
# Save as ~/.config/systemd/user/phasegate-{project}.service, then:
#   systemctl --user daemon-reload && systemctl --user enable --now phasegate-{project}
[Unit]
Description=phasegate daemon for {project}

[Service]
Type=simple
WorkingDirectory={root}
ExecStart=\"{exe}\" --config \"{roadmap}\" daemon run
# SIGTERM ends the running gates and closes the run; give them their grace.
KillSignal=SIGTERM
TimeoutStopSec=60
Restart=on-failure

[Install]
WantedBy=default.target
",
        project = session.roadmap().project.name,
        root = session.root.display(),
        exe = exe.display(),
        roadmap = session.loaded.path.display(),
    );
    Ok(exit::OK)
}

/// The daemon itself, in the foreground: holds the lock, logs every cycle, keeps its
/// state for `status`, and exits when SIGTERM or SIGINT ends the loop.
fn run(global: &Global, session: &Session, args: &WatchArgs) -> Result<u8, Error> {
    let _lock = session.lock_daemon()?;
    let daemon = session.daemon();
    let mut log = LogFile::new(daemon.log_file(), LOG_MAX_BYTES, LOGS_KEPT);
    let mut state = DaemonState::new(session.loaded.path.clone());
    let options = super::options(global)?;
    let watch = super::watch::watch_options(args, true)?;
    let note = |log: &mut LogFile, line: &str| {
        if let Err(e) = log.line(line) {
            eprintln!("{e}");
        }
    };
    note(
        &mut log,
        &format!("daemon started (pid {})", std::process::id()),
    );
    daemon.save_state(&state)?;
    let _supervisor = phasegate_engine::Supervisor::install();
    let result = super::runtime()?.block_on(async {
        let cancel = super::run::cancel_on_signals()?;
        phasegate_engine::watch(
            &options,
            &watch,
            |ev| {
                let line = match &ev {
                    WatchEvent::Run(Event::Finished(r)) => format!(
                        "  {} {}{}",
                        r.gate,
                        r.verdict,
                        r.reason
                            .as_deref()
                            .map(|w| format!(": {w}"))
                            .unwrap_or_default()
                    ),
                    WatchEvent::Run(_) => String::new(),
                    other => super::watch::line(other),
                };
                if !line.is_empty() {
                    note(&mut log, &line);
                }
                if state.observe(&ev)
                    && let Err(e) = daemon.save_state(&state)
                {
                    note(&mut log, &format!("cannot save the state: {e}"));
                }
            },
            cancel,
        )
        .await
    });
    state.next.clear();
    let _ = daemon.save_state(&state);
    match &result {
        Ok(()) => note(&mut log, "daemon stopped"),
        Err(e) => note(&mut log, &format!("daemon stopped: {e}")),
    }
    result.map(|()| exit::OK)
}
