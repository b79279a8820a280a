//! The errors of this crate: [`LoadError`] for reading a file, [`RoadmapError`] for what is
//! wrong inside it, one [`Problem`] per mistake.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceCode};

/// Why [`load`](crate::load) could not produce a roadmap.
#[derive(Debug)]
#[non_exhaustive]
pub enum LoadError {
    /// The file could not be read (or is not UTF-8).
    Io {
        /// The path as given.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The file was read but is not a valid roadmap.
    Invalid(RoadmapError),
}

// Written by hand rather than with thiserror: the I/O error is already part of the message,
// and also returning it from `source()` would make miette print it a second time.
impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Io { path, source } => {
                write!(f, "cannot read roadmap `{}`: {source}", path.display())
            }
            LoadError::Invalid(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LoadError::Io { .. } => None,
            LoadError::Invalid(e) => std::error::Error::source(e),
        }
    }
}

impl Diagnostic for LoadError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        match self {
            LoadError::Io { .. } => None,
            LoadError::Invalid(e) => e.code(),
        }
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        match self {
            LoadError::Io { .. } => None,
            LoadError::Invalid(e) => e.help(),
        }
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        match self {
            LoadError::Io { .. } => None,
            LoadError::Invalid(e) => e.source_code(),
        }
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        match self {
            LoadError::Io { .. } => None,
            LoadError::Invalid(e) => e.labels(),
        }
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        match self {
            LoadError::Io { .. } => None,
            LoadError::Invalid(e) => e.related(),
        }
    }
}

impl From<RoadmapError> for LoadError {
    fn from(e: RoadmapError) -> Self {
        LoadError::Invalid(e)
    }
}

/// Everything wrong with a roadmap file, all at once: one [`Problem`] per mistake, each
/// pointing at the offending text.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("`{name}` has {}", count(.problems.len()))]
pub struct RoadmapError {
    name: String,
    #[source_code]
    text: NamedSource<String>,
    #[related]
    problems: Vec<Problem>,
}

fn count(n: usize) -> String {
    if n == 1 {
        "1 error".to_owned()
    } else {
        format!("{n} errors")
    }
}

impl RoadmapError {
    /// Problems are shown in file order.
    pub(crate) fn new(name: &str, source: &str, mut problems: Vec<Problem>) -> Self {
        problems.sort_by_key(Problem::offset);
        RoadmapError {
            name: name.to_owned(),
            text: NamedSource::new(name, source.to_owned()).with_language("TOML"),
            problems,
        }
    }

    /// How many problems were found (at least one).
    pub fn problems(&self) -> usize {
        self.problems.len()
    }

    /// The problems, in file order.
    pub fn iter(&self) -> impl Iterator<Item = &Problem> {
        self.problems.iter()
    }

    /// The file name shown in diagnostics.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// One mistake in a roadmap file: a message, the text it is about and how to fix it.
#[derive(Debug, Clone, thiserror::Error, Diagnostic)]
#[error("{message}")]
pub struct Problem {
    message: String,
    #[label(collection)]
    labels: Vec<LabeledSpan>,
    #[help]
    help: Option<String>,
}

impl Problem {
    /// A problem about the text at `span` (byte offsets), the first and primary label.
    pub(crate) fn new(message: impl Into<String>, span: Range<usize>, label: &str) -> Self {
        Problem {
            message: message.into(),
            labels: vec![LabeledSpan::new_primary_with_span(
                Some(label.to_owned()),
                span,
            )],
            help: None,
        }
    }

    /// Adds a secondary label.
    pub(crate) fn label(mut self, span: Range<usize>, label: impl Into<String>) -> Self {
        self.labels
            .push(LabeledSpan::new_with_span(Some(label.into()), span));
        self
    }

    /// Sets the help line.
    pub(crate) fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// What is wrong.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// How to fix it, when there is something to say.
    pub fn help_text(&self) -> Option<&str> {
        self.help.as_deref()
    }

    /// The byte ranges of the labelled text, the primary one first.
    pub fn spans(&self) -> Vec<Range<usize>> {
        self.labels
            .iter()
            .map(|l| l.offset()..l.offset() + l.len())
            .collect()
    }

    /// Byte offset of the primary label: problems are ordered by it.
    pub fn offset(&self) -> usize {
        self.labels.first().map_or(0, LabeledSpan::offset)
    }
}
