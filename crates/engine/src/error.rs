//! Why the engine could not do what it was asked.

use std::path::PathBuf;

/// Why a session operation could not do its job. An expected failure (a failing gate, a
/// broken chain, a phase that is not done) is an outcome, never an `Error`.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[non_exhaustive]
pub enum Error {
    /// The roadmap could not be read or is invalid.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Roadmap(#[from] phasegate_roadmap::LoadError),
    /// No roadmap was found.
    #[error("no {} in `{}` or any of its parents", phasegate_roadmap::FILE_NAME, .0.display())]
    #[diagnostic(help("create one with `phasegate init`, or name one with `--config PATH`"))]
    NoRoadmap(PathBuf),
    /// The request names something that does not exist or is not allowed.
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
    /// A load run could not be made (a worker failed, a result file is unreadable).
    #[error(transparent)]
    Load(phasegate_probes::load::LoadError),
    /// The OSV mirror of an `advisories` gate could not be refreshed.
    #[error(transparent)]
    #[diagnostic(help(
        "without network here, copy {}/<ECOSYSTEM>/all.zip (gs://osv-vulnerabilities) into the mirror by other means",
        phasegate_probes::OSV_BUCKET
    ))]
    Mirror(#[from] phasegate_probes::MirrorError),
}

impl Error {
    /// Whether the error is the user's to fix (a roadmap or request problem) rather than a
    /// failure of the machine (I/O, storage).
    pub fn is_usage(&self) -> bool {
        match self {
            Error::Roadmap(phasegate_roadmap::LoadError::Io { .. })
            | Error::Ledger(_)
            | Error::Io { .. }
            | Error::Load(_)
            | Error::Mirror(_) => false,
            Error::Roadmap(_) | Error::NoRoadmap(_) | Error::Usage { .. } => true,
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

    /// "no phase / gate named `x`" with a did-you-mean among `known`.
    pub(crate) fn unknown<'a>(
        what: &str,
        name: &str,
        known: impl IntoIterator<Item = &'a str> + Clone,
    ) -> Self {
        Error::usage(format!("no {what} named `{name}`"), suggest(name, known))
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
