use std::path::PathBuf;

use crate::exit;

/// Why a command could not do its job, mapped to an exit code.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Error {
    /// The roadmap could not be read or is invalid.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Roadmap(#[from] phasegate_roadmap::LoadError),
    /// No roadmap was found.
    #[error("no {} in `{}` or any of its parents", phasegate_roadmap::FILE_NAME, .0.display())]
    #[diagnostic(help("create one with `phasegate init`, or name one with `--config PATH`"))]
    NoRoadmap(PathBuf),
    /// The command line names something that does not exist.
    #[error("{message}")]
    #[diagnostic(help("{help}"))]
    Usage {
        /// What is wrong.
        message: String,
        /// What would be right.
        help: String,
    },
    /// The ledger could not be read or written.
    #[error(transparent)]
    Ledger(#[from] phasegate_ledger::LedgerError),
    /// Any other I/O failure.
    #[error("{what}: {source}")]
    Io {
        /// What phasegate was doing.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl Error {
    /// The exit code this error ends the process with.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Roadmap(phasegate_roadmap::LoadError::Io { .. })
            | Error::Ledger(_)
            | Error::Io { .. } => exit::RUNTIME,
            Error::Roadmap(_) | Error::NoRoadmap(_) | Error::Usage { .. } => exit::CONFIG,
        }
    }

    /// A usage error with a help line.
    pub fn usage(message: impl Into<String>, help: impl Into<String>) -> Self {
        Error::Usage {
            message: message.into(),
            help: help.into(),
        }
    }

    /// An I/O error with what phasegate was doing.
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let what = what.into();
        move |source| Error::Io { what, source }
    }
}

/// `did you mean `x`?` for a name among `known`, or a list of what exists.
pub fn suggest<'a>(name: &str, known: impl IntoIterator<Item = &'a str> + Clone) -> String {
    match phasegate_roadmap::did_you_mean(name, known.clone()) {
        Some(k) => format!("did you mean `{k}`?"),
        None => {
            let all: Vec<&str> = known.into_iter().collect();
            if all.is_empty() {
                "the roadmap defines none".to_owned()
            } else {
                format!("defined: {}", all.join(", "))
            }
        }
    }
}
