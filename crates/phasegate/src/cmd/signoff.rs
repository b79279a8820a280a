//! `phasegate signoff` and `phasegate waive`: people's statements about gates. Each is one
//! record appended in a run of its own that is closed at once, so that the run's signed
//! head covers it like any other evidence.

use std::collections::BTreeMap;
use std::process::Command;

use jiff::Timestamp;
use phasegate_ledger::{Head, RUN_OPENED_VERSION, RunOpened, RunStatus};
use phasegate_model::{
    Approval, Gate, GateKind, Provenance, Record, Rule, Verdict, Waiver, phase_evidence_digest,
};

use super::status::{as_evidence, evidence, scorecard};
use crate::cli::{Global, SignoffArgs, WaiveArgs};
use crate::error::suggest;
use crate::project::Project;
use crate::{Error, exit};

pub fn signoff(global: &Global, args: &SignoffArgs) -> Result<u8, Error> {
    let project = Project::load(global)?;
    let roadmap = &project.loaded.roadmap;
    let gate = find_gate(&project, &args.gate)?;
    let GateKind::Signoff { roles, .. } = &gate.kind else {
        return Err(Error::usage(
            format!(
                "gate `{}` is a {} gate, not a signoff gate: only sign-off gates take approvals",
                gate.id,
                gate.kind.name()
            ),
            format!(
                "run it with `phasegate run {0}`; for an exception, use `phasegate waive {0} \
                 --reason \"...\" --until DATE --as ROLE`",
                gate.id
            ),
        ));
    };
    let role = args.role.trim();
    if !roles.iter().any(|r| r == role) {
        return Err(Error::usage(
            format!("role `{role}` may not approve gate `{}`", gate.id),
            format!("allowed roles: {}", roles.join(", ")),
        ));
    }
    let by = identity(&project, args.by.as_deref())?;

    // What the approval covers is read just before it is appended: evidence arriving in
    // between makes it stale at once, never the other way round.
    let entries = evidence(&project.ledger()?, roadmap)?;
    let covers = phase_evidence_digest(roadmap, &gate.id, as_evidence(&entries));
    let phases = roadmap.phases_of(&gate.id);
    let mut record = statement(&project, gate, Verdict::Pass, None)?;
    record.approval = Some(Approval {
        by: by.clone(),
        role: role.to_owned(),
        note: args
            .note
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned),
        phases: phases.clone(),
        covers_sha256: covers.clone(),
    });
    let head = record_alone(&project, &record)?;

    let phases: Vec<&str> = phases.iter().map(|p| p.as_str()).collect();
    println!(
        "approved `{}` as {role} by {by}, covering {} (evidence sha256 {})",
        gate.id,
        if phases.is_empty() {
            "no phase (no phase requires the gate)".to_owned()
        } else {
            format!("phase `{}`", phases.join("`, `"))
        },
        &covers[..covers.len().min(16)]
    );
    report(&project, &record, &head)
}

pub fn waive(global: &Global, args: &WaiveArgs) -> Result<u8, Error> {
    let project = Project::load(global)?;
    let gate = find_gate(&project, &args.gate)?;
    let role = args.role.trim();
    if role.is_empty() {
        return Err(Error::usage(
            "`--as` is empty",
            "name the role you grant the waiver in, e.g. `--as cto`",
        ));
    }
    let reason = args.reason.trim();
    if reason.is_empty() {
        return Err(Error::usage(
            "`--reason` is empty",
            "say why the gate may be waived: it is shown wherever the waiver is",
        ));
    }
    let until = parse_until(&args.until).map_err(|e| {
        Error::usage(
            format!("`--until {}` is not a date: {e}", args.until),
            "write a date (`2026-12-31`, until the end of that day UTC) or an RFC 3339 time \
             (`2026-12-31T12:00:00Z`)",
        )
    })?;
    let now = Timestamp::now();
    if until <= now {
        return Err(Error::usage(
            format!("`--until {}` is in the past ({until})", args.until),
            "a waiver must end in the future",
        ));
    }
    let by = identity(&project, args.by.as_deref())?;
    let mut record = statement(
        &project,
        gate,
        Verdict::Skipped,
        Some(format!("waived by {by} ({role}) until {until}: {reason}")),
    )?;
    record.waiver = Some(Waiver {
        by: by.clone(),
        role: role.to_owned(),
        reason: reason.to_owned(),
        until,
    });
    let head = record_alone(&project, &record)?;
    println!(
        "waived `{}` until {until} by {by} as {role}: {reason}",
        gate.id
    );
    report(&project, &record, &head)
}

fn find_gate<'p>(project: &'p Project, name: &str) -> Result<&'p Gate, Error> {
    let roadmap = &project.loaded.roadmap;
    roadmap.gate(name).ok_or_else(|| {
        Error::usage(
            format!("no gate named `{name}`"),
            suggest(name, roadmap.gates.iter().map(|g| g.id.as_str())),
        )
    })
}

/// Who is making the statement: `--by`, else `git config user.email` in the roadmap's
/// directory, else $USER, else `unknown`.
fn identity(project: &Project, by: Option<&str>) -> Result<String, Error> {
    if let Some(by) = by {
        let by = by.trim();
        if by.is_empty() {
            return Err(Error::usage(
                "`--by` is empty",
                "name who this is, or leave `--by` out to use `git config user.email`",
            ));
        }
        return Ok(by.to_owned());
    }
    let git = Command::new("git")
        .args(["config", "user.email"])
        .current_dir(&project.root)
        .output()
        .ok()
        .filter(|o| o.status.success());
    if let Some(out) = git {
        let email = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if !email.is_empty() {
            return Ok(email);
        }
    }
    Ok(std::env::var("USER")
        .ok()
        .map(|u| u.trim().to_owned())
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "unknown".to_owned()))
}

/// `2026-12-31` (until the end of that day, UTC) or an RFC 3339 time.
fn parse_until(text: &str) -> Result<Timestamp, String> {
    let text = text.trim();
    // A bare date has no `T`; anything longer must carry its own time and offset.
    if !text.contains(['T', 't', ' ']) {
        let date: jiff::civil::Date = text.parse().map_err(|e| format!("{e}"))?;
        return date
            .at(23, 59, 59, 0)
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp())
            .map_err(|e| format!("{e}"));
    }
    text.parse::<Timestamp>().map_err(|e| format!("{e}"))
}

/// A record of `gate` stating something rather than attempting it: the gate's rule as it is
/// now, no process, and the facts of where it was made.
fn statement(
    project: &Project,
    gate: &Gate,
    verdict: Verdict,
    reason: Option<String>,
) -> Result<Record, Error> {
    let roadmap = &project.loaded.roadmap;
    // As the runner does: a secret value never reaches the ledger, even inside a command.
    let secrets: Vec<String> = gate
        .secret_names(&roadmap.project)
        .filter_map(|n| std::env::var(n).ok())
        .collect();
    let rule = Rule {
        kind: gate.kind.name().to_owned(),
        text: phasegate_runner::capture::redact_str(&gate.kind.describe(), &secrets),
        timeout_ms: u64::try_from(gate.timeout.as_millis()).unwrap_or(u64::MAX),
        cwd: gate.cwd.clone(),
        env: BTreeMap::new(),
    };
    let provenance = Provenance {
        run_id: super::run::new_run_id()?,
        roadmap_sha256: project.loaded.sha256.clone(),
        git: phasegate_runner::git_info(&project.root),
        host: phasegate_runner::host_name(),
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
    };
    Ok(Record::new(
        gate,
        roadmap.phases_of(&gate.id),
        rule,
        verdict,
        reason,
        &provenance,
    ))
}

/// Appends `record` in a run of its own and closes the run, so its head signs the record.
fn record_alone(project: &Project, record: &Record) -> Result<Head, Error> {
    // The key first: a missing or bad key must not leave a run open behind.
    let key = project.signing_key()?;
    let mut ledger = project.ledger()?;
    ledger.open_run(&RunOpened {
        v: RUN_OPENED_VERSION,
        run_id: record.run_id.clone(),
        started_at: record.started_at,
        roadmap_sha256: record.roadmap_sha256.clone(),
        selection: vec![record.gate.to_string()],
        git: record.git.clone(),
        host: record.host.clone(),
        tool_version: record.tool_version.clone(),
    })?;
    if let Err(e) = ledger.append_record(record) {
        // Close what was opened, so the ledger holds no dangling run; the first error is
        // the one worth reporting.
        let _ = ledger.close_run(&record.run_id, RunStatus::Interrupted, &key);
        return Err(e.into());
    }
    Ok(ledger.close_run(&record.run_id, RunStatus::Completed, &key)?)
}

/// Where the statement went and what the gate's state is now.
fn report(project: &Project, record: &Record, head: &Head) -> Result<u8, Error> {
    println!(
        "recorded in run {}, head signed by key {} in {}",
        record.run_id,
        head.key_id,
        project.ledger()?.location()
    );
    let card = scorecard(project)?;
    let status = card
        .gate(record.gate.as_str())
        .expect("every roadmap gate is on the scorecard");
    println!(
        "gate `{}` is now {}: {}",
        status.id, status.state, status.reason
    );
    Ok(exit::OK)
}
