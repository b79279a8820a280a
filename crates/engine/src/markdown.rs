//! The markdown roadmap people read, and the evidence, kept one truth: a draft roadmap
//! imported from it, its checkboxes synced from the scorecard.

use std::path::{Path, PathBuf};

use phasegate_markdown::{ImportSummary, Synced};

use crate::fsutil::{absolute, parent_dir, read, write_atomically};
use crate::{Error, Session};

/// Drafts a roadmap from the markdown roadmap at `markdown` and writes it to `output`
/// (refused when `output` exists, unless `force`).
pub fn import(markdown: &Path, output: &Path, force: bool) -> Result<ImportSummary, Error> {
    let text = read(markdown)?;
    if output.exists() && !force {
        return Err(Error::usage(
            format!("`{}` already exists", output.display()),
            "write the draft elsewhere with --output PATH, or pass --force to replace it",
        ));
    }
    // The roadmap names its markdown relative to its own directory.
    let out_dir = parent_dir(output);
    let md = absolute(markdown);
    let source = md
        .strip_prefix(&out_dir)
        .map_or_else(|_| md.display().to_string(), |p| p.display().to_string());
    let imported = phasegate_markdown::import(&text, &source);
    write_atomically(output, &imported.toml)?;
    Ok(imported.summary)
}

/// What syncing a markdown roadmap found and did.
#[derive(Debug)]
pub struct SyncReport {
    /// The document.
    pub path: PathBuf,
    /// The boxes that disagree with the evidence, the hand ticks, the vanished items.
    pub synced: Synced,
    /// Whether the document was rewritten.
    pub written: bool,
}

impl Session {
    /// Turns the markdown roadmap's linked plain items into checkbox items (`- text` →
    /// `- [ ] text`), every other byte kept, and writes it when any changed; `sync` ticks
    /// them from then on. Returns the document and the lines given a box.
    pub fn add_boxes(&self, markdown: Option<&Path>) -> Result<(PathBuf, Vec<usize>), Error> {
        let path = self.markdown_path(markdown)?;
        let boxed = phasegate_markdown::add_boxes(&read(&path)?, self.roadmap());
        if !boxed.lines.is_empty() {
            write_atomically(&path, &boxed.text)?;
        }
        Ok((path, boxed.lines))
    }

    /// The markdown roadmap: `markdown`, else the roadmap's `[project] markdown`.
    fn markdown_path(&self, markdown: Option<&Path>) -> Result<PathBuf, Error> {
        Ok(match (markdown, &self.roadmap().project.markdown) {
            (Some(p), _) => p.to_path_buf(),
            (None, Some(m)) => self.root.join(m),
            (None, None) => {
                return Err(Error::usage(
                    "no markdown roadmap to sync",
                    "name it: `phasegate sync docs/ROADMAP.md`, or set `markdown = \"...\"` in [project]",
                ));
            }
        })
    }

    /// Sets the checkboxes of the markdown roadmap (`markdown`, else the roadmap's
    /// `[project] markdown`) from the scorecard; with `check`, writes nothing.
    pub fn sync(&self, markdown: Option<&Path>, check: bool) -> Result<SyncReport, Error> {
        let path = self.markdown_path(markdown)?;
        let text = read(&path)?;
        let synced = phasegate_markdown::sync(&text, self.roadmap(), &self.scorecard()?);
        let written = !check && !synced.changes.is_empty();
        if written {
            write_atomically(&path, &synced.text)?;
        }
        Ok(SyncReport {
            path,
            synced,
            written,
        })
    }
}
