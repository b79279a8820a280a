use std::fmt;

use serde::{Deserialize, Serialize};

/// How one gate attempt ended. Exactly one of these; `Error` never counts as a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The check ran and said yes.
    Pass,
    /// The check ran and said no.
    Fail,
    /// The check could not run (command not found, timed out, interrupted, bad parameters).
    Error,
    /// The check was not attempted; the record's reason says why.
    Skipped,
}

impl Verdict {
    /// The lowercase name used in output and storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Error => "error",
            Verdict::Skipped => "skipped",
        }
    }

    /// Whether this verdict says something about the gate (pass, fail or error).
    pub fn is_decisive(self) -> bool {
        !matches!(self, Verdict::Skipped)
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
