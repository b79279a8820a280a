//! phasegate's exit codes: documented, stable (see README "Exit codes").

use phasegate_engine::Error;

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

/// The exit code an error ends the process with.
pub fn of_error(e: &Error) -> u8 {
    if e.is_usage() { CONFIG } else { RUNTIME }
}

/// Exit code of a yes/no answer: [`OK`] or [`FAILED`].
pub fn ok_if(yes: bool) -> u8 {
    if yes { OK } else { FAILED }
}
