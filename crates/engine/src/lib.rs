//! phasegate's engine: one project session that every front end (the command line, a
//! daemon, a server, the tests) calls instead of spawning the CLI.
//!
//! [`Session::open`] reads and validates the roadmap and works out where its evidence lives;
//! the session then runs a selection ([`Session::plan`], [`Session::run`]), evaluates the
//! scorecard ([`Session::scorecard`]), explains a gate ([`Session::why`]), records approvals
//! and waivers ([`Session::signoff`], [`Session::waive`]), closes a phase
//! ([`Session::close`]), syncs the markdown roadmap ([`Session::sync`]) and reads or verifies
//! the ledger. Free functions cover what needs no roadmap: [`init`], [`import`], [`probe`];
//! [`watch`] is the loop of `phasegate watch` and the daemon (it opens sessions itself, one
//! per cycle), whose files (lock, pid, state, log) [`Session::daemon`] names.
//!
//! Typed requests in, typed results out: the engine never prints, never exits and never
//! reads the environment (what it needs of it comes in [`Options`]). Progress of a run is
//! reported as [`Event`]s the caller renders. An expected failure (a failing gate, a phase
//! that is not done, a broken chain) is a result, not an [`Error`].
//!
//! What it asks of the process: a run ends every process its gates started through their
//! process groups; to also catch descendants that left the group and were orphaned, the
//! process holds a [`phasegate_runner::Supervisor`] while running (the binary does).
//! Signals are the caller's too: it turns Ctrl-C into the `cancel` of [`Session::run`].

mod advisories;
mod anchor;
mod cache;
mod close;
mod daemon;
mod error;
mod fsutil;
mod identity;
mod init;
mod inspect;
mod keys;
pub mod load;
mod markdown;
mod policy;
mod probe;
mod run;
mod session;
mod signers;
mod signoff;
mod state;
mod trust;
mod verified;
mod watch;

pub use advisories::AdvisoriesUpdate;
pub use anchor::{Anchor, DEFAULT_ANCHOR_REF};
pub use cache::STAT_CACHE_FILE;
pub use close::Closed;
pub use daemon::{Cycle, DAEMON_DIR, Daemon, DaemonLock, DaemonState, Liveness, LogFile};
pub use error::{Error, suggest};
pub use identity::{KeySource, new_key};
pub use init::{init, starter, write_roadmap};
pub use inspect::Why;
pub use keys::{RunnerKey, Trusted};
pub use load::{LoadRequest, load, merge_load};
pub use markdown::{SyncReport, import};
pub use phasegate_probes::OSV_BUCKET;
pub use phasegate_runner::{Event, Supervisor};
pub use probe::{ProbeRequest, parse_params, probe};
pub use run::{Plan, RunOptions, RunReport};
pub use session::{
    ALLOW_KEY_IN_TREE_VAR, LEDGER_VAR, Options, SIGNING_KEY_FILE_VAR, SIGNING_KEY_VAR, Session,
};
pub use signers::AllowedSigners;
pub use signoff::{SignoffRequest, Statement, WaiveRequest, parse_until};
pub use state::{GITIGNORE, KEY_ID_FILE, LEGACY_KEY_FILE};
pub use trust::UNPINNED;
pub use verified::CHECKPOINT_FILE;
pub use watch::{Trigger, WatchEvent, WatchOptions, watch};

/// phasegate's version, recorded with every piece of evidence.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
