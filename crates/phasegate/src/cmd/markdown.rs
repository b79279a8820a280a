//! `phasegate import` and `phasegate sync`: the markdown roadmap people read, and the
//! evidence, kept one truth.

use std::path::{Path, PathBuf};

use phasegate_markdown as markdown;

use crate::cli::{Global, ImportArgs, SyncArgs};
use crate::project::Project;
use crate::{Error, exit};

pub fn import(args: &ImportArgs) -> Result<u8, Error> {
    let text = read(&args.markdown)?;
    if args.output.exists() && !args.force {
        return Err(Error::usage(
            format!("`{}` already exists", args.output.display()),
            "write the draft elsewhere with --output PATH, or pass --force to replace it",
        ));
    }
    // The roadmap names its markdown relative to its own directory.
    let out_dir = absolute(
        args.output
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new(".")),
    );
    let md = absolute(&args.markdown);
    let source = md
        .strip_prefix(&out_dir)
        .map_or_else(|_| md.display().to_string(), |p| p.display().to_string());
    let imported = markdown::import(&text, &source);
    write_atomically(&args.output, &imported.toml)?;
    println!(
        "wrote {} from {}",
        args.output.display(),
        args.markdown.display()
    );
    println!("{}", imported.summary);
    println!("next: fill in the probes' targets and parameters, then `phasegate check`");
    Ok(exit::OK)
}

pub fn sync(global: &Global, args: &SyncArgs) -> Result<u8, Error> {
    let project = Project::load(global)?;
    let path = match (&args.markdown, &project.loaded.roadmap.project.markdown) {
        (Some(p), _) => p.clone(),
        (None, Some(m)) => project.root.join(m),
        (None, None) => {
            return Err(Error::usage(
                "no markdown roadmap to sync",
                "name it: `phasegate sync docs/ROADMAP.md`, or set `markdown = \"...\"` in [project]",
            ));
        }
    };
    let text = read(&path)?;
    let card = super::status::scorecard(&project)?;
    let synced = markdown::sync(&text, &project.loaded.roadmap, &card);
    let file = path.display();
    // A phase's status line is decided by its phase, an item by its gate.
    let who = |c: &markdown::Change, gate: &str| {
        c.phase
            .as_ref()
            .map_or_else(|| format!("{gate}`{}`", c.gate), |p| format!("phase `{p}`"))
    };
    for c in &synced.changes {
        println!(
            "{file}:{}: [{}] → [{}] {}: {}",
            c.line,
            c.from,
            c.to,
            who(c, ""),
            c.reason
        );
    }
    for c in &synced.unticked_without_evidence {
        eprintln!(
            "warning: {file}:{}: \"{}\" was ticked by hand with no passing evidence behind it ({})",
            c.line,
            c.item,
            who(c, "gate ")
        );
    }
    for g in &synced.not_found {
        eprintln!(
            "warning: gate `{g}` is linked to an item no longer found in {file} (its text changed or it was removed): update `item` in the roadmap"
        );
    }
    if synced.changes.is_empty() {
        println!("{file}: every linked checkbox agrees with the evidence");
        return Ok(exit::OK);
    }
    if args.check {
        println!(
            "{file}: {} checkbox(es) disagree with the evidence (nothing written: --check)",
            synced.changes.len()
        );
        return Ok(exit::FAILED);
    }
    write_atomically(&path, &synced.text)?;
    println!("{file}: {} checkbox(es) updated", synced.changes.len());
    Ok(exit::OK)
}

fn read(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(Error::io(format!("cannot read `{}`", path.display())))
}

/// Writes through a temporary file and a rename: a crash leaves the old or the new file,
/// never half of one.
fn write_atomically(path: &Path, text: &str) -> Result<(), Error> {
    let dir = absolute(
        path.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new(".")),
    );
    let what = || format!("cannot write `{}`", path.display());
    let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(Error::io(what()))?;
    std::io::Write::write_all(&mut tmp, text.as_bytes()).map_err(Error::io(what()))?;
    tmp.persist(path).map_err(|e| Error::io(what())(e.error))?;
    Ok(())
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}
