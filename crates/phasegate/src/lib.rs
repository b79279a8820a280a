//! The `phasegate` binary: argument parsing, wiring to [`phasegate_engine`], terminal output
//! and exit codes. No domain logic lives here; each subcommand is a call into the engine
//! whose result is rendered by `phasegate_report`.

mod cli;
mod cmd;
pub mod exit;
mod progress;

use std::process::ExitCode;

use clap::Parser;

/// Parses the command line, runs the command and returns its exit code.
pub fn main() -> ExitCode {
    // One TLS crypto provider for every HTTP client of the process (probes, readiness).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = cli::Cli::parse();
    match cmd::dispatch(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let code = exit::of_error(&e);
            eprintln!("{:?}", miette::Report::new(e));
            ExitCode::from(code)
        }
    }
}
