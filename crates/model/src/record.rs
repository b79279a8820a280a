use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{GateId, PhaseId, Sha256Hex, Verdict};

/// Version of the [`Record`] encoding; bump on any change of its fields.
pub const RECORD_VERSION: u32 = 1;

/// One gate attempt, as stored in the ledger. Everything needed to explain the verdict
/// later ("why did the gate fail?") is here; nothing secret is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Encoding version ([`RECORD_VERSION`]).
    pub v: u32,
    /// The run this attempt belongs to.
    pub run_id: String,
    /// The gate.
    pub gate: GateId,
    /// Phases that require the gate at the time of the run.
    pub phases: Vec<PhaseId>,
    /// 1-based attempt number within the run.
    pub attempt: u32,
    /// Attempts the gate was allowed (1 + retries).
    pub max_attempts: u32,
    /// How the attempt ended.
    pub verdict: Verdict,
    /// Why, in one line, when the verdict is not a plain pass.
    pub reason: Option<String>,
    /// The rule the gate was checked against.
    pub rule: Rule,
    /// When the attempt started.
    pub started_at: Timestamp,
    /// How long it took.
    pub duration_ms: u64,
    /// Exit status of the gate's process, when it exited.
    pub exit_code: Option<i32>,
    /// Signal that ended the gate's process, when one did.
    pub signal: Option<i32>,
    /// Whether the attempt hit its timeout.
    pub timed_out: bool,
    /// Named measurements (e.g. `p95_ms`).
    pub measurements: BTreeMap<String, f64>,
    /// Individual problems the check found.
    pub findings: Vec<Finding>,
    /// The captured output, when the gate produced any process output.
    pub output: Option<OutputEvidence>,
    /// Content digest of the gate's inputs, when it declares some.
    pub inputs_sha256: Option<Sha256Hex>,
    /// SHA-256 of the roadmap file as it was when the gate ran.
    pub roadmap_sha256: Sha256Hex,
    /// SHA-256 of the gate's definition ([`crate::Gate::digest`]).
    pub gate_sha256: Sha256Hex,
    /// The repository state, when the roadmap is in a git work tree.
    pub git: Option<GitInfo>,
    /// Host name of the machine that ran the gate.
    pub host: String,
    /// phasegate's version.
    pub tool_version: String,
    /// The approval this record is, for a record of a `signoff` gate made by
    /// `phasegate signoff`.
    // Optional and left out when absent, like `waiver`: records written before sign-offs
    // existed keep their exact encoding (and so their hashes), and still decode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
    /// The exception this record is, for a record made by `phasegate waive`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<Waiver>,
    /// The gate's cache key and what it was made of; on a cached record, also the evidence
    /// it reuses ([`crate::CacheInfo::from`]). Absent on records made before the cache
    /// existed (which keep their encoding), on skips and on statements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<crate::CacheInfo>,
    /// For a probe gate: which of the probe's rules the attempt exercised and which it
    /// skipped, with why. Absent on command gates, sign-offs and records made before
    /// coverage existed (which keep their encoding and so their hashes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<Coverage>,
}

/// Which of a probe's rules an attempt exercised, and which it skipped and why: a pass
/// says only what it tested.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    /// The rules the probe tested, in the probe's order.
    pub exercised: Vec<String>,
    /// The rules it did not test, each with the reason and what to add to test it.
    pub skipped: Vec<SkippedRule>,
}

/// A rule a probe did not test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedRule {
    /// The rule's name, as `require = [...]` names it.
    pub rule: String,
    /// Why it was not tested and what the gate needs for it to be
    /// ("plain http; set https = \"yes\" when TLS ends at a proxy").
    pub reason: String,
}

impl Coverage {
    /// Whether some rule was skipped: a pass then is partial.
    pub fn is_partial(&self) -> bool {
        !self.skipped.is_empty()
    }

    /// The skip of `rule`, if it was skipped.
    pub fn skip_of(&self, rule: &str) -> Option<&SkippedRule> {
        self.skipped.iter().find(|s| s.rule == rule)
    }
}

impl std::fmt::Display for SkippedRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.rule, self.reason)
    }
}

/// A person's approval of a `signoff` gate, and what exactly it approves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// Who approved (an email or user name).
    pub by: String,
    /// The role they approved in; one of the gate's `roles` at the time.
    pub role: String,
    /// What they said, if anything.
    pub note: Option<String>,
    /// The phases requiring the gate when it was approved.
    pub phases: Vec<PhaseId>,
    /// The evidence approved: [`crate::phase_evidence_digest`] at the time. The approval
    /// counts only while the digest of the current evidence is the same.
    pub covers_sha256: Sha256Hex,
    /// The person's own signature, when the roadmap pins keys (`[trust]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed: Option<PersonalSignature>,
}

/// A statement signed with a person's own SSH key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonalSignature {
    /// The key's fingerprint (`SHA256:...`): distinct keys are distinct people.
    pub key: String,
    /// SSHSIG signature (armored, namespace [`STATEMENT_NAMESPACE`]) over
    /// [`Record::statement_message`], checkable with `ssh-keygen -Y verify`.
    pub signature: String,
}

/// The SSHSIG namespace of people's statements, so a signature made for phasegate is
/// never valid for anything else (git commits, files).
pub const STATEMENT_NAMESPACE: &str = "phasegate";

/// A recorded, expiring exception for a gate: shown as waived, never as a pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiver {
    /// Who granted it.
    pub by: String,
    /// The role they granted it in.
    pub role: String,
    /// Why the gate may be waived.
    pub reason: String,
    /// When it stops counting.
    pub until: Timestamp,
    /// The person's own signature, when the roadmap pins keys (`[trust]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed: Option<PersonalSignature>,
}

/// The rule a gate was checked against, as it was when it ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// `run`, `probe` or `signoff`.
    pub kind: String,
    /// The command, probe name or sign-off rule, in one line.
    pub text: String,
    /// Limit on one attempt.
    pub timeout_ms: u64,
    /// Working directory the command ran in (relative to the roadmap).
    pub cwd: Option<String>,
    /// Extra environment; secret values are `[REDACTED]`.
    pub env: BTreeMap<String, String>,
}

/// A problem found by a check: what was expected, what was seen, and where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Short machine-readable name.
    pub code: String,
    /// What was expected and what was seen.
    pub message: String,
    /// Where it was seen (a request, a file:line).
    pub location: Option<String>,
    /// How much it matters; `None` in records made before findings had severities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
}

/// How much a finding matters. A probe gate fails on findings at or above its `fail_on`
/// (default [`Severity::Medium`]); lower ones are kept and shown as warnings.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; rarely worth blocking on.
    Low,
    /// A real weakness (the default threshold).
    #[default]
    Medium,
    /// Directly exploitable, or a protection missing on every response.
    High,
    /// Exposes users or money now.
    Critical,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Severity; 4] = [
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The lowercase name used in roadmaps and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// The severity named `name`, if any.
    pub fn from_name(name: &str) -> Option<Severity> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether this is the default threshold (left out of a gate's digest, so that gates
    /// written before thresholds existed keep their evidence).
    pub fn is_default(&self) -> bool {
        *self == Severity::default()
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The output of a gate: digest of all of it, and a bounded excerpt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputEvidence {
    /// SHA-256 of the full (redacted) output as written to the log.
    pub sha256: Sha256Hex,
    /// Its length in bytes.
    pub bytes: u64,
    /// Log file, relative to the ledger directory.
    pub log: String,
    /// First and last part of the output (redacted); the middle is elided when long.
    pub excerpt: String,
    /// Whether the excerpt leaves out part of the output.
    pub truncated: bool,
}

/// The state of the git work tree a run happened in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitInfo {
    /// `HEAD` commit.
    pub commit: String,
    /// Current branch (`HEAD` when detached).
    pub branch: String,
    /// Whether there were uncommitted changes.
    pub dirty: bool,
}

/// The facts every record of a run shares: which run, under which roadmap, where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// The run.
    pub run_id: String,
    /// SHA-256 of the roadmap file.
    pub roadmap_sha256: Sha256Hex,
    /// The repository state.
    pub git: Option<GitInfo>,
    /// Host name.
    pub host: String,
    /// phasegate's version.
    pub tool_version: String,
}

impl Record {
    /// The bytes a person signs for the approval or waiver this record is (`None` for any
    /// other record): the statement without its signature, bound to the gate, its
    /// definition, the roadmap and the time it was made. Plain lines and a struct's JSON, so
    /// that the bytes never depend on how a JSON map orders its keys.
    pub fn statement_message(&self) -> Option<Vec<u8>> {
        let (kind, statement) = match (&self.approval, &self.waiver) {
            (Some(a), _) => (
                "approval",
                serde_json::to_string(&Approval {
                    signed: None,
                    ..a.clone()
                }),
            ),
            (None, Some(w)) => (
                "waiver",
                serde_json::to_string(&Waiver {
                    signed: None,
                    ..w.clone()
                }),
            ),
            (None, None) => return None,
        };
        let message = format!(
            "phasegate statement v1\nkind: {kind}\ngate: {}\ngate_sha256: {}\nroadmap_sha256: {}\nrun_id: {}\nstarted_at: {}\nstatement: {}\n",
            self.gate,
            self.gate_sha256,
            self.roadmap_sha256,
            self.run_id,
            self.started_at,
            statement.expect("a statement serializes"),
        );
        Some(message.into_bytes())
    }

    /// The person's signature of the approval or waiver this record is, if any.
    pub fn personal_signature(&self) -> Option<&PersonalSignature> {
        match (&self.approval, &self.waiver) {
            (Some(a), _) => a.signed.as_ref(),
            (None, Some(w)) => w.signed.as_ref(),
            (None, None) => None,
        }
    }

    /// The evidence this record reuses, when it is a cached record (the gate did not run).
    pub fn cached_from(&self) -> Option<&crate::CachedFrom> {
        self.cache.as_ref().and_then(|c| c.from.as_ref())
    }

    /// When the result this record carries was observed: the reused attempt's start for a
    /// cached record, else the record's own.
    pub fn observed_at(&self) -> Timestamp {
        self.cached_from().map_or(self.started_at, |f| f.started_at)
    }

    /// The facts of where and under what the record was made.
    pub fn provenance(&self) -> Provenance {
        Provenance {
            run_id: self.run_id.clone(),
            roadmap_sha256: self.roadmap_sha256.clone(),
            git: self.git.clone(),
            host: self.host.clone(),
            tool_version: self.tool_version.clone(),
        }
    }

    /// A record of `gate` with nothing observed yet (no process, no output, no findings):
    /// the caller fills in what it saw.
    pub fn new(
        gate: &crate::Gate,
        phases: Vec<PhaseId>,
        rule: Rule,
        verdict: Verdict,
        reason: Option<String>,
        provenance: &Provenance,
    ) -> Record {
        Record {
            v: RECORD_VERSION,
            run_id: provenance.run_id.clone(),
            gate: gate.id.clone(),
            phases,
            attempt: 1,
            max_attempts: 1,
            verdict,
            reason,
            rule,
            started_at: Timestamp::now(),
            duration_ms: 0,
            exit_code: None,
            signal: None,
            timed_out: false,
            measurements: BTreeMap::new(),
            findings: Vec::new(),
            output: None,
            inputs_sha256: None,
            roadmap_sha256: provenance.roadmap_sha256.clone(),
            gate_sha256: gate.digest(),
            git: provenance.git.clone(),
            host: provenance.host.clone(),
            tool_version: provenance.tool_version.clone(),
            approval: None,
            waiver: None,
            cache: None,
            coverage: None,
        }
    }
}
