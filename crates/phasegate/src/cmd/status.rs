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
    print!(
        "{}",
        phasegate_report::why(why.gate, &why.status, &why.history, why.evaluated_at)
    );
    Ok(exit::ok_if(why.status.state == GateState::Pass))
}
