//! phasegate's exit codes: documented, stable (see README "Exit codes").

/// Everything run passed; the scorecard is go.
pub const OK: u8 = 0;
/// A gate failed; the scorecard is no-go; the document disagrees with the evidence.
pub const FAILED: u8 = 1;
/// Usage or roadmap (configuration) error.
pub const CONFIG: u8 = 2;
/// phasegate itself could not do its job (I/O, ledger storage).
pub const RUNTIME: u8 = 3;
/// The ledger failed verification.
pub const VERIFY: u8 = 4;
/// Interrupted (Ctrl-C / SIGTERM).
pub const INTERRUPTED: u8 = 130;
