//! One module per subcommand; each calls the engine, renders its result and returns the
//! exit code.

mod advisories;
mod check;
mod close;
mod daemon;
#[cfg(feature = "demo")]
mod demo;
mod evidence;
mod init;
mod key;
mod load;
mod markdown;
mod probe;
mod run;
mod scan;
mod signoff;
mod status;
mod watch;

use std::path::PathBuf;

use phasegate_engine::{
    ALLOW_KEY_IN_TREE_VAR, Error, Options, SIGNING_KEY_FILE_VAR, SIGNING_KEY_VAR, Session,
};

use crate::cli::{Cli, Command, Global};

/// Runs the parsed command line.
pub fn dispatch(cli: Cli) -> Result<u8, Error> {
    #[cfg(feature = "demo")]
    if let Command::SampleService { args } = cli.command {
        return Ok(phasegate_sample_service::cli::main(args));
    }
    hide_environment();
    match cli.command {
        Command::Init { force } => init::init(&cli.global, force),
        Command::Check => check::check(&cli.global),
        Command::Run(args) => run::run(&cli.global, &args),
        Command::Status { format } => status::status(&cli.global, format),
        Command::Why { gate } => status::why(&cli.global, &gate),
        Command::Evidence(cmd) => evidence::evidence(&cli.global, cmd),
        Command::Key(cmd) => key::key(&cli.global, cmd),
        Command::Import(args) => markdown::import(&args),
        Command::Sync(args) => markdown::sync(&cli.global, &args),
        Command::Close(args) => close::close(&cli.global, &args),
        Command::Signoff(args) => signoff::signoff(&cli.global, &args),
        Command::Waive(args) => signoff::waive(&cli.global, &args),
        Command::Probe(args) => probe::probe(&args),
        Command::Load(args) => load::load(&args),
        #[cfg(feature = "demo")]
        Command::Demo(args) => demo::demo(&cli.global, &args),
        #[cfg(feature = "demo")]
        Command::SampleService { .. } => unreachable!("served above"),
        Command::Watch(args) => watch::watch(&cli.global, &args),
        Command::Daemon(cmd) => daemon::daemon(&cli.global, cmd),
        Command::Advisories(cmd) => advisories::advisories(&cli.global, cmd),
        Command::Scan(cmd) => scan::scan(cmd),
    }
}

/// Keeps this process's environment and memory from the processes it starts.
///
/// Gates, services and hooks run as the same user, so without this they could read
/// phasegate's secrets (the signing key, the ledger password) from `/proc/$PPID/environ`
/// whatever is withheld from their own environment. A process that is not dumpable has its
/// `/proc` files owned by root and cannot be traced by its peers; children are dumpable
/// again after `exec`. The sample service is left as it is: it holds no secret of ours, and
/// the runner finds its processes by the marker in their environment.
fn hide_environment() {
    // Only on a kernel without prctl could this fail; the run is still correct, less guarded.
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
}

/// The session's options from the global flags and this process's environment.
fn options(global: &Global) -> Result<Options, Error> {
    let cwd = match &global.config {
        // Only discovery needs the current directory.
        Some(_) => std::env::current_dir().unwrap_or_default(),
        None => std::env::current_dir().map_err(Error::io("cannot read the current directory"))?,
    };
    Ok(Options {
        config: global.config.clone(),
        cwd,
        ledger: global.ledger.clone(),
        signing_key_hex: std::env::var(SIGNING_KEY_VAR).ok(),
        signing_key_file: std::env::var_os(SIGNING_KEY_FILE_VAR)
            .filter(|v| !v.is_empty())
            .map(Into::into),
        key_dir: key_dir(),
        allow_key_in_tree: std::env::var(ALLOW_KEY_IN_TREE_VAR).is_ok_and(|v| v == "1"),
        vars: std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect(),
        user: std::env::var("USER").ok(),
        ssh_auth_sock: std::env::var_os("SSH_AUTH_SOCK").map(Into::into),
        // The engine withholds SIGNING_KEY_VAR and LEDGER_VAR; this front end has no others.
        withheld_vars: Vec::new(),
    })
}

/// This user's key directory: `$XDG_STATE_HOME/phasegate/keys`, else
/// `$HOME/.local/state/phasegate/keys` (relative values are ignored, as XDG says).
pub(crate) fn key_dir() -> Option<PathBuf> {
    let absolute = |v: std::ffi::OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    let state = std::env::var_os("XDG_STATE_HOME")
        .and_then(absolute)
        .or_else(|| Some(absolute(std::env::var_os("HOME")?)?.join(".local/state")))?;
    Some(state.join("phasegate").join("keys"))
}

/// Opens the session the global flags name.
fn open(global: &Global) -> Result<Session, Error> {
    Session::open(options(global)?)
}

/// A multi-threaded runtime for the commands that do network or process I/O.
fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::io("cannot start the async runtime"))
}

/// The terminal width for tables, when stdout is a terminal.
fn width() -> Option<u16> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        // Files and pipes get a stable, generous width so output does not depend on them.
        return Some(120);
    }
    None
}
