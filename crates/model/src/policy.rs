//! The waiver policy: `[[waiver]]` rules saying which gates may be waived, by whom, for how
//! long and with how many granters. Nothing may be waived that no rule covers.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::{Gate, GateId, GateKind, Roadmap};

/// One `[[waiver]]` rule of the roadmap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WaiverRule {
    /// `"*"` was listed: every gate except sign-off gates.
    pub every_gate: bool,
    /// The gates named; a sign-off gate is waivable only when named here.
    pub gates: Vec<GateId>,
    /// Roles that may grant the waiver.
    pub roles: Vec<String>,
    /// The longest waiver allowed, from when it is granted to its end.
    #[serde(rename = "max_ms", serialize_with = "crate::roadmap::ser_ms")]
    pub max: Duration,
    /// Distinct granters needed before the waiver takes effect.
    pub approvals: u32,
}

impl WaiverRule {
    /// Whether the rule lets `gate` be waived.
    pub fn covers(&self, gate: &Gate) -> bool {
        self.gates.contains(&gate.id)
            || (self.every_gate && !matches!(gate.kind, GateKind::Signoff { .. }))
    }
}

impl fmt::Display for WaiverRule {
    /// `perf, load by cto for at most 14days (1 granter)`, for messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut gates: Vec<String> = self.gates.iter().map(|g| format!("`{g}`")).collect();
        if self.every_gate {
            gates.insert(0, "every gate but sign-off gates".to_owned());
        }
        write!(
            f,
            "{} by {} for at most {} ({} granter{})",
            gates.join(", "),
            self.roles.join(", "),
            humantime::format_duration(self.max),
            self.approvals,
            if self.approvals == 1 { "" } else { "s" }
        )
    }
}

impl Roadmap {
    /// The `[[waiver]]` rules that let `gate` be waived, in file order.
    pub fn waiver_rules<'a>(&'a self, gate: &'a Gate) -> impl Iterator<Item = &'a WaiverRule> {
        self.waivers.iter().filter(move |r| r.covers(gate))
    }
}
