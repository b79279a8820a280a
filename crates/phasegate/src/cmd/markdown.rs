//! `phasegate import` and `phasegate sync`: the markdown roadmap people read, and the
//! evidence, kept one truth.

use phasegate_engine::Error;
use phasegate_markdown::Change;

use crate::cli::{Global, ImportArgs, SyncArgs};
use crate::exit;

pub fn import(args: &ImportArgs) -> Result<u8, Error> {
    let summary = phasegate_engine::import(&args.markdown, &args.output, args.force)?;
    println!(
        "wrote {} from {}",
        args.output.display(),
        args.markdown.display()
    );
    println!("{summary}");
    println!("next: fill in the probes' targets and parameters, then `phasegate check`");
    Ok(exit::OK)
}

pub fn sync(global: &Global, args: &SyncArgs) -> Result<u8, Error> {
    let session = super::open(global)?;
    if args.add_boxes {
        let (path, lines) = session.add_boxes(args.markdown.as_deref())?;
        for line in &lines {
            println!("{}:{line}: added a checkbox", path.display());
        }
        if lines.is_empty() {
            println!(
                "{}: every linked item already has a checkbox",
                path.display()
            );
        }
    }
    let report = session.sync(args.markdown.as_deref(), args.check)?;
    let synced = &report.synced;
    let file = report.path.display();
    // A phase's status line is decided by its phase, an item by its gate.
    let who = |c: &Change, gate: &str| {
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
    if !report.written {
        println!(
            "{file}: {} checkbox(es) disagree with the evidence (nothing written: --check)",
            synced.changes.len()
        );
        return Ok(exit::FAILED);
    }
    println!("{file}: {} checkbox(es) updated", synced.changes.len());
    Ok(exit::OK)
}
