use jiff::Timestamp;
use phasegate_ledger::{Entry, Ledger, StoredEntry};
use phasegate_model::{Evidence, GateKind, Roadmap, Scorecard, evaluate_evidence};

use crate::cli::{Format, Global};
use crate::error::suggest;
use crate::project::Project;
use crate::{Error, exit};

/// How many past records `why` reads for a gate's history.
const WHY_HISTORY: usize = 20;

pub(crate) fn scorecard(project: &Project) -> Result<Scorecard, Error> {
    let entries = evidence(&project.ledger()?, &project.loaded.roadmap)?;
    Ok(evaluate_evidence(
        &project.loaded.roadmap,
        as_evidence(&entries),
        Timestamp::now(),
    ))
}

/// The ledger entries the scorecard of `roadmap` is evaluated on: the latest records, the
/// approvals of its `signoff` gates and the latest waiver of each gate.
pub(crate) fn evidence(ledger: &Ledger, roadmap: &Roadmap) -> Result<Vec<StoredEntry>, Error> {
    let gates: Vec<&str> = roadmap.gates.iter().map(|g| g.id.as_str()).collect();
    let signoffs: Vec<&str> = roadmap
        .gates
        .iter()
        .filter(|g| matches!(g.kind, GateKind::Signoff { .. }))
        .map(|g| g.id.as_str())
        .collect();
    Ok(ledger.status_evidence(&gates, &signoffs)?)
}

/// The records of `entries` with their entry hashes, as the model evaluates them.
pub(crate) fn as_evidence(entries: &[StoredEntry]) -> impl Iterator<Item = Evidence<'_>> {
    entries.iter().filter_map(|e| match &e.entry {
        Entry::Record(record) => Some(Evidence {
            record,
            entry_hash: Some(&e.hash),
        }),
        _ => None,
    })
}

pub fn status(global: &Global, format: Format) -> Result<u8, Error> {
    show(&Project::load(global)?, format)
}

/// Prints the scorecard of `project`; the exit code says go or no-go.
pub fn show(project: &Project, format: Format) -> Result<u8, Error> {
    let card = scorecard(project)?;
    match format {
        Format::Table => print!("{}", phasegate_report::status_table(&card, super::width())),
        Format::Json => print!("{}", phasegate_report::status_json(&card)),
    }
    Ok(if card.go { exit::OK } else { exit::FAILED })
}

pub fn why(global: &Global, gate: &str) -> Result<u8, Error> {
    let project = Project::load(global)?;
    let roadmap = &project.loaded.roadmap;
    let Some(g) = roadmap.gate(gate) else {
        return Err(Error::usage(
            format!("no gate named `{gate}`"),
            suggest(gate, roadmap.gates.iter().map(|g| g.id.as_str())),
        ));
    };
    let card = scorecard(&project)?;
    let status = card
        .gate(gate)
        .expect("every roadmap gate is on the scorecard");
    let history: Vec<_> = project
        .ledger()?
        .history(gate, WHY_HISTORY)?
        .into_iter()
        .filter_map(|e| match e.entry {
            phasegate_ledger::Entry::Record(r) => Some(r),
            _ => None,
        })
        .collect();
    print!(
        "{}",
        phasegate_report::why(g, status, &history, card.evaluated_at)
    );
    Ok(if status.state == phasegate_model::GateState::Pass {
        exit::OK
    } else {
        exit::FAILED
    })
}
