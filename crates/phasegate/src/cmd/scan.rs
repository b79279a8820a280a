//! `phasegate scan secrets`: the secret scanner on a tree, the staged files or the history.

use phasegate_engine::Error;
use phasegate_secrets::{Baseline, Mode, Options, render};

use crate::cli::{ScanCommand, SecretsArgs, SecretsFormat};
use crate::exit;

pub fn scan(cmd: ScanCommand) -> Result<u8, Error> {
    match cmd {
        ScanCommand::Secrets(args) => secrets(&args),
    }
}

fn secrets(args: &SecretsArgs) -> Result<u8, Error> {
    let scanner = phasegate_secrets::scanner_for(&args.path, args.config.as_deref(), &args.allow)
        .map_err(to_error)?;
    let baseline = args
        .baseline
        .as_deref()
        .map(Baseline::read)
        .transpose()
        .map_err(to_error)?;
    let mode = match (args.history, args.staged) {
        (true, _) => Mode::History,
        (_, true) => Mode::Staged,
        _ => Mode::Tree,
    };
    let options = Options {
        max_file_size: args.max_size,
        ..Options::default()
    };
    let scan = phasegate_secrets::scan(&scanner, &args.path, mode, baseline.as_ref(), &options)
        .map_err(to_error)?;
    let text = match args.format {
        SecretsFormat::Table => render::table(&scan),
        SecretsFormat::Json => render::json(&scan),
        SecretsFormat::Sarif => render::sarif(&scan, &scanner.rules()),
    };
    match &args.output {
        Some(path) => std::fs::write(path, text)
            .map_err(Error::io(format!("cannot write {}", path.display())))?,
        None => print!("{text}"),
    }
    if let Some(path) = &args.write_baseline {
        std::fs::write(path, Baseline::render(&scan.findings))
            .map_err(Error::io(format!("cannot write {}", path.display())))?;
        return Ok(exit::OK);
    }
    Ok(exit::ok_if(scan.findings.is_empty()))
}

fn to_error(e: phasegate_secrets::Error) -> Error {
    match e {
        // A missing root, rule file or baseline is the user's to fix: a usage error.
        e @ phasegate_secrets::Error::Io { .. } => {
            Error::usage(e.to_string(), "name an existing file or directory")
        }
        e @ phasegate_secrets::Error::Git { .. } => Error::usage(
            e.to_string(),
            "--history and --staged need PATH inside a git repository with git on PATH",
        ),
        e => Error::usage(
            e.to_string(),
            "see docs/secrets.md for the rule file and baseline formats",
        ),
    }
}
