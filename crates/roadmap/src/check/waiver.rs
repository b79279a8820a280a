//! `[[waiver]]`: the waiver policy. Each rule names the gates it covers (`"*"` for every
//! gate but sign-off gates), the roles that may grant, the longest waiver and how many
//! distinct granters it takes.

use phasegate_model::WaiverRule;

use super::*;

const WAIVER_KEYS: &[&str] = &["gates", "roles", "max", "approvals"];

/// A `[[waiver]]` rule as read, its gate references still to resolve.
pub(super) struct WaiverDraft {
    every_gate: bool,
    gates: Vec<Ref<GateId>>,
    roles: Vec<String>,
    max: Option<Duration>,
    approvals: u32,
}

impl WaiverDraft {
    /// The rule; `None` when it was incomplete (reported already).
    pub(super) fn build(self) -> Option<WaiverRule> {
        Some(WaiverRule {
            every_gate: self.every_gate,
            gates: self.gates.into_iter().map(|r| r.id).collect(),
            roles: self.roles,
            max: self.max?,
            approvals: self.approvals,
        })
    }
}

impl Checker<'_> {
    /// The rules of `waiver`, which must be an array of tables.
    pub(super) fn waivers(&mut self, val: &Val<'_>) -> Vec<WaiverDraft> {
        let DeValue::Array(items) = val.get_ref() else {
            self.push(
                Problem::new(
                    "expected an array of tables for `waiver`",
                    val.span(),
                    &format!("found {}", a_type(val.get_ref())),
                )
                .help("write each rule as a `[[waiver]]` section (double brackets)"),
            );
            return Vec::new();
        };
        items
            .iter()
            .filter_map(|item| {
                let table = self.table("waiver", item, || {
                    "write each rule as a `[[waiver]]` section".to_owned()
                })?;
                Some(self.waiver(item, table))
            })
            .collect()
    }

    fn waiver(&mut self, item: &Val<'_>, table: &DeTable<'_>) -> WaiverDraft {
        let mut w = WaiverDraft {
            every_gate: false,
            gates: Vec::new(),
            roles: Vec::new(),
            max: None,
            approvals: 1,
        };
        let (mut has_gates, mut has_roles, mut has_max) = (false, false, false);
        for (k, v) in in_file_order(table) {
            match k.get_ref().as_ref() {
                "gates" => {
                    has_gates = true;
                    self.waiver_gates(v, &mut w);
                }
                "roles" => {
                    has_roles = true;
                    w.roles = self.waiver_roles(v);
                }
                "max" => {
                    has_max = true;
                    w.max = self.duration("max", v);
                }
                "approvals" => {
                    let help = "the number of distinct people who must grant the waiver";
                    if let Some(n) = self.integer("approvals", v, help) {
                        match u32::try_from(n) {
                            Ok(n) if n >= 1 => w.approvals = n,
                            _ => self.push(
                                Problem::new(
                                    "`approvals` must be at least 1",
                                    v.span(),
                                    &format!("{n} approvals"),
                                )
                                .help(format!("{help}; leave it out for 1")),
                            ),
                        }
                    }
                }
                _ => {
                    self.unknown_key(k, WAIVER_KEYS, "in `[[waiver]]`", None);
                }
            }
        }
        for (present, key, help) in [
            (
                has_gates,
                "gates",
                "add `gates = [\"...\"]`: the gates this rule lets be waived, or `[\"*\"]` for \
                 every gate but sign-off gates",
            ),
            (
                has_roles,
                "roles",
                "add `roles = [\"...\"]`: the roles that may grant the waiver",
            ),
            (
                has_max,
                "max",
                "add `max = \"14d\"`: the longest a waiver may last, from when it is granted",
            ),
        ] {
            if !present {
                self.push(
                    Problem::new(
                        format!("`[[waiver]]` has no `{key}`"),
                        item.span(),
                        "this rule",
                    )
                    .help(help),
                );
            }
        }
        w
    }

    fn waiver_gates(&mut self, v: &Val<'_>, w: &mut WaiverDraft) {
        let expected = "an array of gate ids, or `[\"*\"]`";
        let items = self.strings("gates", v, expected, "a gate id (a string)");
        let items = self.dedup("gates", items);
        if items.is_empty() && matches!(v.get_ref(), DeValue::Array(a) if a.is_empty()) {
            self.push(Problem::new("`gates` is empty", v.span(), "no gates").help(
                "name the gates this rule lets be waived, or `[\"*\"]` for every gate but \
                     sign-off gates",
            ));
        }
        for (text, span) in items {
            if text == "*" {
                w.every_gate = true;
            } else if let Some(r) = self.id(text, span, Noun::Gate) {
                w.gates.push(r);
            }
        }
    }

    fn waiver_roles(&mut self, v: &Val<'_>) -> Vec<String> {
        let items = self.strings(
            "roles",
            v,
            "an array of role names",
            "a role name (a string)",
        );
        let items = self.dedup("roles", items);
        if items.is_empty() && matches!(v.get_ref(), DeValue::Array(a) if a.is_empty()) {
            self.push(
                Problem::new("`roles` is empty", v.span(), "no roles")
                    .help("name at least one role that may grant the waiver, e.g. `[\"cto\"]`"),
            );
        }
        let mut roles = Vec::with_capacity(items.len());
        for (role, span) in items {
            if role.trim().is_empty() {
                self.push(
                    Problem::new("a role name cannot be empty", span, "empty")
                        .help("name the role that may grant the waiver, e.g. `\"cto\"`"),
                );
            } else {
                roles.push(role.to_owned());
            }
        }
        roles
    }

    /// Every gate a rule names is defined.
    pub(super) fn waiver_references(&mut self, waivers: &[WaiverDraft], gates: &[GateDraft]) {
        let gate_ids: Vec<&str> = gates.iter().map(|g| g.id.id.as_str()).collect();
        for w in waivers {
            self.resolve("gates", &w.gates, &gate_ids, Noun::Gate);
        }
    }
}
