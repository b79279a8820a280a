use phasegate_engine::{Error, Session};
use phasegate_model::GateState;

use crate::cli::{Format, Global};
use crate::exit;

pub fn status(global: &Global, format: Format) -> Result<u8, Error> {
    show(&super::open(global)?, format)
}

/// Prints the scorecard of `session`; the exit code says go or no-go.
pub fn show(session: &Session, format: Format) -> Result<u8, Error> {
    let card = session.scorecard()?;
    no_ledger_note(session);
    if let Some(notice) = session.trust_notice() {
        eprintln!("note: {notice}");
    }
    match format {
        Format::Table => print!("{}", phasegate_report::status_table(&card, super::width())),
        Format::Json => print!("{}", phasegate_report::status_json(&card)),
    }
    Ok(exit::ok_if(card.go))
}

pub fn why(global: &Global, gate: &str) -> Result<u8, Error> {
    let session = super::open(global)?;
    let why = session.why(gate)?;
    no_ledger_note(&session);
    print!(
        "{}",
        phasegate_report::why(why.gate, &why.status, &why.history, why.evaluated_at)
    );
    if let Some(decision) = &why.cache {
        print!(
            "{}",
            phasegate_report::why_cache(decision, why.evaluated_at)
        );
    }
    Ok(exit::ok_if(why.status.state == GateState::Pass))
}

/// Says so on stderr when the project has no ledger yet (read-only commands create none).
pub fn no_ledger_note(session: &Session) {
    if !session.has_ledger() {
        eprintln!(
            "note: no evidence yet (no ledger in `{}`): run `phasegate run`",
            session.ledger_dir.display()
        );
    }
}
