//! The vocabulary of phasegate: ids, the validated [`Roadmap`], [`Verdict`]s, the evidence
//! [`Record`] and the pure status evaluation that turns a roadmap plus records into a
//! [`Scorecard`].
//!
//! This crate does no I/O. Reading files is `phasegate-roadmap`'s job, storing records is
//! `phasegate-ledger`'s and running gates is `phasegate-runner`'s.

mod cache;
mod digest;
mod id;
mod policy;
mod record;
mod roadmap;
mod status;
mod verdict;

pub use cache::{
    CacheDecision, CacheInfo, CachedFrom, Change, How, MANIFEST_VERSION, Manifest,
    definition_fields,
};
pub use digest::{Sha256Hex, sha256_hex};

/// The longest duration a roadmap may give (a timeout, a wait): 100 years. Far longer than
/// anything a gate needs, and far below where adding it to a clock reading would overflow
/// (which panics), so every duration that passed `check` is safe to wait for.
pub const MAX_DURATION: std::time::Duration = std::time::Duration::from_secs(100 * 365 * 24 * 3600);
pub use id::{GateId, InvalidId, PhaseId, ServiceId};
pub use policy::WaiverRule;
pub use record::{
    Approval, Coverage, Finding, GitInfo, OutputEvidence, PersonalSignature, Provenance,
    RECORD_VERSION, Record, Rule, STATEMENT_NAMESPACE, Severity, SkippedRule, Waiver,
};
pub use roadmap::{
    Cron, Gate, GateKind, Partial, Phase, Project, Ready, Roadmap, Schedule, Service, Trust,
};
pub use status::{
    ApprovalStatus, Distrust, Evidence, GateState, GateStatus, PhaseState, PhaseStatus, Scorecard,
    evaluate, evaluate_evidence, evaluate_trusting, phase_evidence_digest,
};
pub use verdict::Verdict;
