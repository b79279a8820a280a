//! People's statements about gates: approvals of `signoff` gates and waivers. Each is one
//! record appended in a run of its own that is closed at once, so that the run's signed
//! head covers it like any other evidence.

use jiff::Timestamp;
use phasegate_ledger::{Head, RunOpened, RunStatus};
use std::path::{Path, PathBuf};

use phasegate_model::{
    Approval, Gate, GateKind, GateStatus, PersonalSignature, Record, Verdict, Waiver,
    phase_evidence_digest,
};

use crate::identity::{KeySource, Signer};
use crate::session::as_evidence;
use crate::{Error, Session};

/// An approval asked for.
#[derive(Debug, Clone)]
pub struct SignoffRequest {
    /// The `signoff` gate.
    pub gate: String,
    /// The role approved in.
    pub role: String,
    /// A note kept with the approval.
    pub note: Option<String>,
    /// Who approves; `None`: `git config user.email`, else the session's user. Refused when
    /// the roadmap pins keys: the approver is then the key's principal.
    pub by: Option<String>,
    /// The personal key to sign with when the roadmap pins keys; `None`: ssh-agent.
    pub key: Option<PathBuf>,
}

/// A waiver asked for.
#[derive(Debug, Clone)]
pub struct WaiveRequest {
    /// The gate.
    pub gate: String,
    /// Why it may be waived.
    pub reason: String,
    /// When the waiver ends: `2026-12-31` (the end of that day, UTC) or RFC 3339.
    pub until: String,
    /// The role granting it.
    pub role: String,
    /// Who grants it; `None`: `git config user.email`, else the session's user. Refused when
    /// the roadmap pins keys: the granter is then the key's principal.
    pub by: Option<String>,
    /// The personal key to sign with when the roadmap pins keys; `None`: ssh-agent.
    pub key: Option<PathBuf>,
}

/// A statement recorded in the ledger.
#[derive(Debug)]
pub struct Statement {
    /// The record appended (its `approval` or `waiver` says what was stated).
    pub record: Record,
    /// The head that signs it.
    pub head: Head,
    /// Where the ledger is.
    pub location: String,
    /// The gate's state now.
    pub status: GateStatus,
}

impl Session {
    /// Records an approval of a `signoff` gate over the current evidence of its phases.
    pub fn signoff(&self, request: &SignoffRequest) -> Result<Statement, Error> {
        let roadmap = self.roadmap();
        let gate = self.gate(&request.gate)?;
        let GateKind::Signoff { roles, .. } = &gate.kind else {
            return Err(not_signoff(gate));
        };
        let role = request.role.trim();
        if !roles.iter().any(|r| r == role) {
            return Err(Error::usage(
                format!("role `{role}` may not approve gate `{}`", gate.id),
                format!("allowed roles: {}", roles.join(", ")),
            ));
        }
        let author = self.author(request.by.as_deref(), request.key.as_deref(), role)?;
        // What the approval covers is read just before it is appended: evidence arriving in
        // between makes it stale at once, never the other way round.
        let entries = self.evidence(&self.ledger()?)?;
        let covers = phase_evidence_digest(roadmap, &gate.id, as_evidence(&entries));
        let mut record = self.statement(gate, Verdict::Pass, None)?;
        record.approval = Some(Approval {
            signed: None,
            by: author.by.clone(),
            role: role.to_owned(),
            note: request
                .note
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned),
            phases: roadmap.phases_of(&gate.id),
            covers_sha256: covers,
        });
        author.seal(&mut record)?;
        self.record_alone(record)
    }

    /// Records a signed, expiring exception for a gate, when a `[[waiver]]` rule of the
    /// roadmap lets `role` grant it for that long. Under a rule needing several granters,
    /// the gate is `waived` only once enough distinct people have recorded one.
    pub fn waive(&self, request: &WaiveRequest) -> Result<Statement, Error> {
        let gate = self.gate(&request.gate)?;
        let role = non_empty(
            &request.role,
            "--as",
            "name the role you grant the waiver in, e.g. `--as cto`",
        )?;
        let reason = non_empty(
            &request.reason,
            "--reason",
            "say why the gate may be waived: it is shown wherever the waiver is",
        )?;
        let until = parse_until(&request.until).map_err(|e| {
            Error::usage(
                format!("`--until {}` is not a date: {e}", request.until),
                "write a date (`2026-12-31`, until the end of that day UTC) or an RFC 3339 time \
                 (`2026-12-31T12:00:00Z`)",
            )
        })?;
        let now = Timestamp::now();
        if until <= now {
            return Err(Error::usage(
                format!("`--until {}` is in the past ({until})", request.until),
                "a waiver must end in the future",
            ));
        }
        crate::policy::check_waiver(self.roadmap(), gate, role, until, now)?;
        let author = self.author(request.by.as_deref(), request.key.as_deref(), role)?;
        let by = &author.by;
        let mut record = self.statement(
            gate,
            Verdict::Skipped,
            Some(format!("waived by {by} ({role}) until {until}: {reason}")),
        )?;
        record.waiver = Some(Waiver {
            signed: None,
            by: by.clone(),
            role: role.to_owned(),
            reason: reason.to_owned(),
            until,
        });
        author.seal(&mut record)?;
        self.record_alone(record)
    }

    /// Who is making a statement in `role`: with `[trust]`, the principal of the personal
    /// key (`key`, else the first suitable ssh-agent key), who must hold the role; without,
    /// [`Session::identity`].
    fn author(&self, by: Option<&str>, key: Option<&Path>, role: &str) -> Result<Author, Error> {
        let Some(pins) = self.pins()? else {
            if key.is_some() {
                return Err(Error::usage(
                    "`--key` needs `[trust]` in the roadmap",
                    "without `[trust]` nothing checks keys: add it (docs/trust.md), or leave `--key` out",
                ));
            }
            return Ok(Author {
                by: self.identity(by)?,
                signer: None,
            });
        };
        if by.is_some() {
            return Err(Error::usage(
                "`--by` is refused: the roadmap pins keys (`[trust]`)",
                "who you are is the principal of the key you sign with: leave `--by` out",
            ));
        }
        let source = match (key, &self.options.ssh_auth_sock) {
            (Some(path), _) => KeySource::File(path.to_path_buf()),
            (None, Some(socket)) => KeySource::Agent(socket.clone()),
            (None, None) => {
                return Err(Error::usage(
                    "no personal key to sign with",
                    "name your OpenSSH private key with `--key PATH`, or run ssh-agent with it",
                ));
            }
        };
        let signer = Signer::open(&source, |k| {
            pins.signers
                .principals_of(k)
                .iter()
                .any(|p| pins.holds(p, role))
        })?;
        Ok(Author {
            by: pins.principal_for(signer.public(), role)?,
            signer: Some(signer),
        })
    }

    /// Who is making the statement: `by`, else `git config user.email` in the roadmap's
    /// directory, else the session's user, else `unknown`.
    fn identity(&self, by: Option<&str>) -> Result<String, Error> {
        if let Some(by) = by {
            return non_empty(
                by,
                "--by",
                "name who this is, or leave `--by` out to use `git config user.email`",
            )
            .map(str::to_owned);
        }
        let git = std::process::Command::new("git")
            .args(["config", "user.email"])
            .current_dir(&self.root)
            .output()
            .ok()
            .filter(|o| o.status.success());
        if let Some(out) = git {
            let email = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            if !email.is_empty() {
                return Ok(email);
            }
        }
        Ok(self
            .options
            .user
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .unwrap_or("unknown")
            .to_owned())
    }

    /// A record of `gate` stating something rather than attempting it: the gate's rule as
    /// it is now, no process, and the facts of where it was made.
    fn statement(
        &self,
        gate: &Gate,
        verdict: Verdict,
        reason: Option<String>,
    ) -> Result<Record, Error> {
        let project = &self.roadmap().project;
        // As the runner does: a secret value never reaches the ledger, even inside a command.
        let secrets = phasegate_runner::gate_secrets(gate, project, &self.secret_values());
        let mut rule = phasegate_runner::rule(gate, project, &secrets);
        // A statement runs nothing: the gate's environment is not part of it.
        rule.env.clear();
        Ok(Record::new(
            gate,
            self.roadmap().phases_of(&gate.id),
            rule,
            verdict,
            reason,
            &self.provenance()?,
        ))
    }

    /// Appends `record` in a run of its own and closes the run, so its head signs it.
    fn record_alone(&self, record: Record) -> Result<Statement, Error> {
        // The key first: a missing or bad key must not leave a run open behind.
        let key = self.signing_key()?;
        let mut ledger = self.ledger()?;
        ledger.open_run(&RunOpened {
            selection: vec![record.gate.to_string()],
            ..RunOpened::new(&record.provenance(), record.started_at, Vec::new())
        })?;
        if let Err(e) = ledger.append_record(&record) {
            // Close what was opened, so the ledger holds no dangling run; the first error
            // is the one worth reporting.
            let _ = ledger.close_run(&record.run_id, RunStatus::Interrupted, &key);
            return Err(e.into());
        }
        let head = ledger.close_run(&record.run_id, RunStatus::Completed, &key)?;
        let status = self
            .scorecard()?
            .gate(record.gate.as_str())
            .expect("every roadmap gate is on the scorecard")
            .clone();
        Ok(Statement {
            location: ledger.location(),
            record,
            head,
            status,
        })
    }
}

/// The author of a statement, and the key that signs it when the roadmap pins keys.
struct Author {
    by: String,
    signer: Option<Signer>,
}

impl Author {
    /// Signs the statement `record` is, when there is a key to sign with.
    fn seal(&self, record: &mut Record) -> Result<(), Error> {
        let Some(signer) = &self.signer else {
            return Ok(());
        };
        let message = record
            .statement_message()
            .expect("the record is an approval or a waiver");
        let signed = PersonalSignature {
            key: signer.fingerprint(),
            signature: signer.sign(&message)?,
        };
        match (&mut record.approval, &mut record.waiver) {
            (Some(a), _) => a.signed = Some(signed),
            (None, Some(w)) => w.signed = Some(signed),
            (None, None) => unreachable!("a statement is an approval or a waiver"),
        }
        Ok(())
    }
}

fn not_signoff(gate: &Gate) -> Error {
    Error::usage(
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
    )
}

/// `value` trimmed, or a usage error naming the empty `flag`.
fn non_empty<'a>(value: &'a str, flag: &str, help: &str) -> Result<&'a str, Error> {
    let value = value.trim();
    if value.is_empty() {
        return Err(Error::usage(format!("`{flag}` is empty"), help));
    }
    Ok(value)
}

/// `2026-12-31` (until the end of that day, UTC) or an RFC 3339 time.
pub fn parse_until(text: &str) -> Result<Timestamp, String> {
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
