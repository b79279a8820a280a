//! Reading `phasegate.toml`: TOML text with spans into a validated
//! [`phasegate_model::Roadmap`], with diagnostics that name file, line and column, underline
//! the offending text and say what was expected — every problem at once.
//!
//! Entry points: [`discover`] finds the file, [`load`] reads and validates it, [`parse`]
//! validates text. [`starter::starter`] writes the starter roadmap `phasegate init` offers,
//! from a [`starter::Repository`] the caller has read.
//! This crate does not run anything and never prints; rendering a [`RoadmapError`] is the
//! caller's job (miette's report handler, or [`render_plain`] in tests).
//!
//! The file format is described in `docs/roadmap-format.md`.

mod check;
mod error;
mod graph;
pub mod starter;
mod suggest;

use std::path::{Path, PathBuf};

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme};
use phasegate_model::{Roadmap, sha256_hex};

pub use check::VERSION;
pub use error::{LoadError, Problem, RoadmapError};
pub use suggest::did_you_mean;

/// Parses a cron expression as the roadmap reads `cron`: five fields, or six with seconds
/// first.
pub fn cron(expr: &str) -> Result<croner::Cron, croner::errors::CronError> {
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Optional)
        .build()
        .parse(expr)
}

/// The roadmap's file name.
pub const FILE_NAME: &str = "phasegate.toml";

/// A roadmap read from a file, with what evidence needs to know about the file.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The validated roadmap.
    pub roadmap: Roadmap,
    /// The file it was read from, as given to [`load`].
    pub path: PathBuf,
    /// The file's text.
    pub source: String,
    /// SHA-256 of the file's bytes (lowercase hex), recorded with every piece of evidence.
    pub sha256: String,
}

/// Finds [`FILE_NAME`] in `start` or its parents: the nearest one wins.
///
/// A relative `start` is taken relative to the current directory, so that its parents are
/// searched too; the returned path is then absolute.
pub fn discover(start: &Path) -> Option<PathBuf> {
    let start = std::path::absolute(start).unwrap_or_else(|_| start.to_path_buf());
    start
        .ancestors()
        .map(|dir| dir.join(FILE_NAME))
        .find(|candidate| candidate.is_file())
}

/// Judges a probe's parameters: `(probe, params)` to `(parameter key, what is wrong)` for
/// each problem. The probes crate provides it; the roadmap crate does not know the probes.
pub type ProbeValidator<'a> = &'a dyn Fn(
    &str,
    &std::collections::BTreeMap<String, serde_json::Value>,
) -> Vec<(Option<String>, String)>;

/// Whether probe `kind` reads the project's files (under the gate's `cwd`) rather than a
/// service: such a gate needs no `service` or `base_url`. The probes crate provides it.
pub type ProbeReadsFiles<'a> = &'a dyn Fn(&str) -> bool;

/// What the roadmap checks of the probes, given by the crate that knows them.
#[derive(Clone, Copy)]
pub struct ProbeRules<'a> {
    /// Judges each probe gate's parameters.
    pub validate: ProbeValidator<'a>,
    /// Tells the probes of the project's files, which have no target to name.
    pub reads_files: ProbeReadsFiles<'a>,
    /// The rules each probe records coverage of, for a gate's `require`.
    pub coverage: ProbeCoverage<'a>,
}

/// The rules probe `kind` records coverage of (what a gate's `require = [...]` may name);
/// `None` for a kind it does not know. The probes crate provides it.
pub type ProbeCoverage<'a> = &'a dyn Fn(&str) -> Option<&'static [&'static str]>;

/// Reads and validates the roadmap file at `path`; diagnostics name the file as `path`.
pub fn load(path: &Path) -> Result<Loaded, LoadError> {
    load_with(path, None)
}

/// [`load`], with probe gates judged by the probes' own `rules`.
pub fn load_with(path: &Path, rules: Option<ProbeRules<'_>>) -> Result<Loaded, LoadError> {
    let io = |source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let bytes = std::fs::read(path).map_err(io)?;
    let sha256 = sha256_hex(&bytes);
    let source = String::from_utf8(bytes).map_err(|e| {
        io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not valid UTF-8 (at byte {})", e.utf8_error().valid_up_to()),
        ))
    })?;
    let roadmap = parse_with(&source, &path.display().to_string(), rules)?;
    Ok(Loaded {
        roadmap,
        path: path.to_path_buf(),
        source,
        sha256,
    })
}

/// Validates roadmap text; `name` is the file name shown in diagnostics.
pub fn parse(source: &str, name: &str) -> Result<Roadmap, RoadmapError> {
    parse_with(source, name, None)
}

/// [`parse`], with probe gates judged by the probes' own `rules`.
pub fn parse_with(
    source: &str,
    name: &str,
    rules: Option<ProbeRules<'_>>,
) -> Result<Roadmap, RoadmapError> {
    check::check(source, rules).map_err(|problems| RoadmapError::new(name, source, problems))
}

/// Renders a diagnostic the way miette's terminal handler does, without colour and at a
/// fixed width of 100 columns, so that the output is stable for snapshots.
pub fn render_plain(diag: &dyn Diagnostic) -> String {
    let mut out = String::new();
    GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .render_report(&mut out, diag)
        .expect("rendering into a String cannot fail");
    out
}
