//! The `sample-service` command line: run the membership service, optionally with flaws.
//!
//! It lives in the library (not only in `main.rs`) so that phasegate can ship the service
//! inside its own binary (`phasegate sample-service ...`) for `phasegate demo`, with nothing
//! else to build or install.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use std::ffi::OsString;

use crate::{Config, DEFAULT_WEBHOOK_SECRET, Flaw, serve};

/// Exit code when serving failed at runtime (usage errors exit 2 through clap).
const EXIT_RUNTIME: u8 = 3;

/// A small membership service with switchable hardening flaws.
#[derive(Debug, Parser)]
#[command(name = "sample-service", version)]
struct Args {
    /// Port to listen on (0 picks a free one).
    #[arg(long, required_unless_present = "list_flaws")]
    port: Option<u16>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// SQLite database; created with the schema and seed users when missing.
    #[arg(long, default_value = "membership.db")]
    db: PathBuf,
    /// Switch one hardening off (repeatable); see --list-flaws.
    #[arg(long = "flaw", value_name = "NAME")]
    flaws: Vec<Flaw>,
    /// Sign-in and callback requests allowed per window per client.
    #[arg(long, default_value_t = 5)]
    rate_limit: u32,
    /// The rate-limit window, e.g. 2s or 500ms.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    rate_window: Duration,
    /// The secret payment callbacks are signed with.
    #[arg(long, env = "SAMPLE_SERVICE_WEBHOOK_SECRET", hide_env_values = true)]
    webhook_secret: Option<String>,
    /// Append one line per request to this file (time, method, path, status, duration).
    #[arg(long, value_name = "PATH")]
    access_log: Option<PathBuf>,
    /// On SIGTERM, how long readiness answers 503 while requests are still served, before the
    /// listener closes (load balancers need a moment to stop routing here).
    #[arg(long, default_value = "500ms", value_parser = humantime::parse_duration)]
    drain: Duration,
    /// After the listener closed, how long in-flight requests get to finish.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    grace: Duration,
    /// Print every flaw name and what it switches off, then exit.
    #[arg(long)]
    list_flaws: bool,
}

/// Runs the service with `args` (without the program name); returns the exit code.
/// Usage errors print clap's message and exit 2, as any command line does.
pub fn main(args: impl IntoIterator<Item = OsString>) -> u8 {
    let args = Args::parse_from(std::iter::once(OsString::from("sample-service")).chain(args));
    if args.list_flaws {
        for flaw in Flaw::all() {
            println!("{}\t{}", flaw.name(), flaw.description());
        }
        return 0;
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("sample-service: error: cannot start the runtime: {err}");
            return EXIT_RUNTIME;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => 0,
        Err(err) => {
            eprintln!("sample-service: error: {}", chain(err.as_ref()));
            EXIT_RUNTIME
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut config = Config::new(args.db);
    config.flaws = args.flaws.into_iter().collect();
    config.rate_limit = args.rate_limit;
    config.rate_window = args.rate_window;
    config.webhook_secret = args
        .webhook_secret
        .unwrap_or_else(|| DEFAULT_WEBHOOK_SECRET.to_owned());
    config.access_log = args.access_log;
    config.drain = args.drain;
    config.shutdown_grace = args.grace;
    let port = args.port.expect("clap requires --port unless --list-flaws");

    let listener = tokio::net::TcpListener::bind((args.host, port)).await?;
    let shutdown = shutdown_signal()?;
    eprintln!(
        "sample-service listening on http://{} (flaws: {})",
        listener.local_addr()?,
        config.flaw_list()
    );
    serve(listener, config, shutdown).await?;
    eprintln!("sample-service stopped");
    Ok(())
}

/// A future completing on SIGTERM (what process managers send) or SIGINT (Ctrl-C). The
/// handlers are installed here, before the startup line is printed: `serve` first polls its
/// shutdown future only once the database is open, and a SIGTERM sent in between (a test or
/// a supervisor that saw the line) would otherwise kill the process with the default action.
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}

fn chain(err: &dyn std::error::Error) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
