//! The `phasegate` binary: argument parsing, wiring of the library crates, terminal output
//! and exit codes. No domain logic lives here; each subcommand calls into a library crate.

mod cli;
mod cmd;
mod error;
pub mod exit;
mod progress;
mod project;

use std::process::ExitCode;

use clap::Parser;

pub use error::Error;

/// Parses the command line, runs the command and returns its exit code.
pub fn main() -> ExitCode {
    // One TLS crypto provider for every HTTP client of the process (probes, readiness).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = cli::Cli::parse();
    match cmd::dispatch(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let code = e.exit_code();
            eprintln!("{:?}", miette::Report::new(e));
            ExitCode::from(code)
        }
    }
}
