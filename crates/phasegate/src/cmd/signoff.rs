//! `phasegate signoff` and `phasegate waive`: people's statements about gates.

use phasegate_engine::{Error, SignoffRequest, Statement, WaiveRequest};

use crate::cli::{Global, SignoffArgs, WaiveArgs};
use crate::exit;

pub fn signoff(global: &Global, args: &SignoffArgs) -> Result<u8, Error> {
    let session = super::open(global)?;
    let statement = session.signoff(&SignoffRequest {
        gate: args.gate.clone(),
        role: args.role.clone(),
        note: args.note.clone(),
        by: args.by.clone(),
        key: args.key.clone(),
    })?;
    let approval = statement
        .record
        .approval
        .as_ref()
        .expect("an approval's record carries it");
    let phases: Vec<&str> = approval.phases.iter().map(|p| p.as_str()).collect();
    let covers = &approval.covers_sha256;
    println!(
        "approved `{}` as {} by {}, covering {} (evidence sha256 {})",
        statement.record.gate,
        approval.role,
        approval.by,
        if phases.is_empty() {
            "no phase (no phase requires the gate)".to_owned()
        } else {
            format!("phase `{}`", phases.join("`, `"))
        },
        &covers[..covers.len().min(16)]
    );
    Ok(report(&statement))
}

pub fn waive(global: &Global, args: &WaiveArgs) -> Result<u8, Error> {
    let session = super::open(global)?;
    let statement = session.waive(&WaiveRequest {
        gate: args.gate.clone(),
        reason: args.reason.clone(),
        until: args.until.clone(),
        role: args.role.clone(),
        by: args.by.clone(),
        key: args.key.clone(),
    })?;
    let w = statement
        .record
        .waiver
        .as_ref()
        .expect("a waiver's record carries it");
    println!(
        "waived `{}` until {} by {} as {}: {}",
        statement.record.gate, w.until, w.by, w.role, w.reason
    );
    Ok(report(&statement))
}

/// Where the statement went and what the gate's state is now.
fn report(statement: &Statement) -> u8 {
    println!(
        "recorded in run {}, head signed by key {} in {}",
        statement.record.run_id, statement.head.key_id, statement.location
    );
    println!(
        "gate `{}` is now {}: {}",
        statement.status.id, statement.status.state, statement.status.reason
    );
    exit::OK
}
