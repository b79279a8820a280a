//! One module per subcommand; each returns the exit code.

mod check;
mod close;
mod demo;
mod evidence;
mod init;
mod markdown;
mod probe;
pub(crate) mod run;
mod signoff;
pub(crate) mod status;

use crate::Error;
use crate::cli::{Cli, Command};

/// Runs the parsed command line.
pub fn dispatch(cli: Cli) -> Result<u8, Error> {
    match cli.command {
        Command::Init { force } => init::init(&cli.global, force),
        Command::Check => check::check(&cli.global),
        Command::Run(args) => run::run(&cli.global, &args),
        Command::Status { format } => status::status(&cli.global, format),
        Command::Why { gate } => status::why(&cli.global, &gate),
        Command::Evidence(cmd) => evidence::evidence(&cli.global, cmd),
        Command::Import(args) => markdown::import(&args),
        Command::Sync(args) => markdown::sync(&cli.global, &args),
        Command::Close(args) => close::close(&cli.global, &args),
        Command::Signoff(args) => signoff::signoff(&cli.global, &args),
        Command::Waive(args) => signoff::waive(&cli.global, &args),
        Command::Probe(args) => probe::probe(&args),
        Command::Demo(args) => demo::demo(&cli.global, &args),
        Command::SampleService { args } => Ok(phasegate_sample_service::cli::main(args)),
    }
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
