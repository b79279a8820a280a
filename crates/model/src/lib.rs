//! The vocabulary of phasegate: ids, the validated [`Roadmap`], [`Verdict`]s, the evidence
//! [`Record`] and the pure status evaluation that turns a roadmap plus records into a
//! [`Scorecard`].
//!
//! This crate does no I/O. Reading files is `phasegate-roadmap`'s job, storing records is
//! `phasegate-ledger`'s and running gates is `phasegate-runner`'s.

mod digest;
mod id;
mod policy;
mod record;
mod roadmap;
mod status;
mod verdict;

pub use digest::{Sha256Hex, sha256_hex};
pub use id::{GateId, InvalidId, PhaseId, ServiceId};
pub use policy::WaiverRule;
pub use record::{
    Approval, Finding, GitInfo, OutputEvidence, Provenance, RECORD_VERSION, Record, Rule, Waiver,
};
pub use roadmap::{Gate, GateKind, Phase, Project, Ready, Roadmap, Service};
pub use status::{
    ApprovalStatus, Evidence, GateState, GateStatus, PhaseState, PhaseStatus, Scorecard, evaluate,
    evaluate_evidence, phase_evidence_digest,
};
pub use verdict::Verdict;
