//! Executes a roadmap's gates: the `needs` DAG with bounded parallelism, each `run` gate in
//! its own process group with a timeout, bounded interleaved output capture, redaction of
//! secrets, retries, and a clean stop on interruption.
//!
//! The runner produces [`Record`]s and reports them as [`Event`]s as they happen; it knows
//! nothing of the ledger: the caller stores them. Entry point: [`run`]. Sign-off gates are
//! never run: people approve them, and the caller says which are satisfied
//! ([`RunContext::signoffs`]).
//!
//! # What it needs from the process
//!
//! - A tokio runtime with the `process`, `time` and I/O drivers (`enable_all`); gate output
//!   is read on plain threads of its own.
//! - Linux: processes are found through `/proc`, gates run under `sh`.
//! - It never reads the environment (the caller passes [`RunContext::env`] and the
//!   [`secret_values`]), never prints, and changes no process-wide setting by itself beyond
//!   what tokio's process support does (its `SIGCHLD` handler).
//! - For the guarantee that *no* process outlives its gate, the program installs a
//!   [`Supervisor`] for the length of the run: the process becomes the child subreaper, and
//!   at the end of each run whatever was reparented to it and not accounted for is ended.
//!   Without it (a library embedding the runner), every process that stays in its gate's
//!   process group, descends from one that does, or is reparented to this process with the
//!   gate's marker is still ended; an orphan that left the group (`setsid`, then its parent
//!   exited) is reparented to init instead and may survive the run.

mod attempt;
mod cache;
pub mod capture;
mod dag;
mod facts;
mod gitindex;
pub mod inputs;
mod probe;
pub mod process;
mod schedule;
mod secrets;
pub mod service;
mod supervisor;
pub mod tree;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use phasegate_model::{GateId, Project, Provenance, Record};

pub use cache::{CacheContext, Prior, judge_cache};
pub use facts::{git_info, git_status, host_name};
pub use inputs::{Inputs, InputsError, manifest};
pub use schedule::{RunOutcome, run};
pub use secrets::{gate_secrets, rule, secret_values};
pub use supervisor::Supervisor;

/// Everything a run needs besides the roadmap.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// The facts every record of this run carries; its run id is also used in log paths.
    pub provenance: Provenance,
    /// The roadmap's directory: gates run there (or in their `cwd` below it).
    pub root: PathBuf,
    /// The ledger directory; logs go to `logs/<run>/` below it.
    pub ledger_dir: PathBuf,
    /// Gates running at once.
    pub jobs: usize,
    /// Time between SIGTERM and SIGKILL when a gate is ended.
    pub grace: Duration,
    /// The roadmap's project settings.
    pub project: Project,
    /// Environment given to every gate and service (e.g. `PHASEGATE_EXE`).
    pub env: BTreeMap<String, String>,
    /// Values of the declared secret variables, as the caller's environment has them
    /// (the library does not read the environment itself). Each is passed only to the gates
    /// declaring it (its own or the project's `secret_env`): no other gate, no service and
    /// no hook of another gate inherits it.
    pub secret_values: BTreeMap<String, String>,
    /// The caller's own secret variables (the signing key, the ledger URL): no gate,
    /// service or hook inherits them (a gate's own `env` may still set one).
    pub withheld_vars: BTreeSet<String>,
    /// Values of the caller's own secrets (the signing key's seed, the ledger's password):
    /// redacted, as declared secrets are, from everything every gate and service leaves.
    pub own_secrets: Vec<String>,
    /// Where each sign-off gate stands as the run starts, from the caller's scorecard: a
    /// gate needing a sign-off gate runs only once it is [`Signoff::Satisfied`]. A sign-off
    /// gate missing here is waiting, so that forgetting to fill this in never lets a
    /// dependant through.
    pub signoffs: BTreeMap<GateId, Signoff>,
    /// What the cache needs: the gates' earlier evidence, and whether to use it.
    pub cache: CacheContext,
    /// For probe gates whose `baseline` is [`LAST_PASS`]: the output log of the gate's
    /// latest passing attempt (a path to read), or why it cannot serve (its content no
    /// longer matches the digest its record sealed). A gate missing here has no passing run
    /// yet. The runner reads no evidence: the caller finds these.
    pub baselines: BTreeMap<GateId, Result<PathBuf, String>>,
}

/// The `baseline` value of a probe gate that asks for its own latest passing run (the `load`
/// probe's `regression` threshold compares with it).
pub const LAST_PASS: &str = phasegate_probes::load::LAST_PASS;

/// Whether a need on a sign-off gate is met, as the caller judged it before the run (the
/// runner reads no evidence).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signoff {
    /// Approved by enough people, or waived: gates needing it may run.
    Satisfied,
    /// Not yet: gates needing it are skipped with this reason (e.g. "waiting for approval
    /// of `release`: needs 2 approvals by sre, cto; has 0").
    Waiting(String),
}

impl RunContext {
    /// This run's id.
    pub fn run_id(&self) -> &str {
        &self.provenance.run_id
    }
}

/// Progress of a run, in the order it happens.
#[derive(Debug, Clone)]
pub enum Event {
    /// An attempt of a gate started.
    Started {
        /// The gate.
        gate: GateId,
        /// 1-based attempt.
        attempt: u32,
        /// Attempts allowed.
        max_attempts: u32,
    },
    /// An attempt ended, or a gate was skipped: the record to store.
    Finished(Box<Record>),
}
