//! `[trust]` and `[roles]`: whose keys count, and who holds which role.

use std::ops::Range;

use toml::de::DeValue;

use super::{Checker, GateDraft, Val, in_file_order};
use crate::error::Problem;

const TRUST_KEYS: &[&str] = &["allowed_signers", "run_signers"];

/// `[trust]` as written, with spans for later checks.
#[derive(Default)]
pub(super) struct TrustDraft {
    pub allowed_signers: Option<String>,
    pub run_signers: Vec<String>,
    /// The table's span, for problems about it as a whole.
    pub span: Range<usize>,
}

/// `[roles]` as written: each role's name (with its span) and its members.
#[derive(Default)]
pub(super) struct RolesDraft {
    pub roles: Vec<(String, Range<usize>, Vec<String>)>,
    pub span: Option<Range<usize>>,
}

impl Checker<'_> {
    pub(super) fn trust(&mut self, val: &Val<'_>) -> TrustDraft {
        let mut t = TrustDraft {
            span: val.span(),
            ..TrustDraft::default()
        };
        let Some(table) = self.table("trust", val, || {
            "write `[trust]` followed by `allowed_signers = \"...\"`".to_owned()
        }) else {
            return t;
        };
        for (key, val) in in_file_order(table) {
            match key.get_ref().as_ref() {
                "allowed_signers" => {
                    t.allowed_signers = self.non_empty("allowed_signers", val, ".phasegate-signers")
                }
                "run_signers" => t.run_signers = self.principals("run_signers", val),
                _ => {
                    self.unknown_key(key, TRUST_KEYS, "in `[trust]`", None);
                }
            }
        }
        if t.allowed_signers.is_none() {
            self.push(
                Problem::new("`[trust]` has no `allowed_signers`", t.span.clone(), "here").help(
                    "name the allowed-signers file (OpenSSH's format), e.g. \
                     `allowed_signers = \".phasegate-signers\"`",
                ),
            );
        }
        t
    }

    pub(super) fn roles(&mut self, val: &Val<'_>) -> RolesDraft {
        let mut r = RolesDraft {
            span: Some(val.span()),
            ..RolesDraft::default()
        };
        let Some(table) = self.table("roles", val, || {
            "write `[roles]` followed by `release = [\"alice@example.com\"]`".to_owned()
        }) else {
            return r;
        };
        for (key, val) in in_file_order(table) {
            let name = key.get_ref().as_ref().to_owned();
            let members = self.principals(&format!("roles.{name}"), val);
            r.roles.push((name, key.span(), members));
        }
        r
    }

    /// A non-empty array of distinct principals.
    fn principals(&mut self, key: &str, val: &Val<'_>) -> Vec<String> {
        let items = self.strings(key, val, "an array of principals", "a principal (a string)");
        let items = self.dedup(key, items);
        if items.is_empty() && matches!(val.get_ref(), DeValue::Array(a) if a.is_empty()) {
            self.push(
                Problem::new(format!("`{key}` is empty"), val.span(), "nobody").help(
                    "name at least one principal as the allowed-signers file does, e.g. \
                     `[\"alice@example.com\"]`",
                ),
            );
        }
        items
            .into_iter()
            .map(|(p, _)| p.trim().to_owned())
            .collect()
    }

    /// With `[trust]`, every role a sign-off gate allows must have members in `[roles]`;
    /// `[roles]` alone means nothing, since only keys prove who holds a role.
    pub(super) fn trust_references(
        &mut self,
        trust: Option<&TrustDraft>,
        roles: &RolesDraft,
        gates: &[GateDraft],
    ) {
        let Some(_) = trust else {
            if let Some(span) = &roles.span {
                self.push(
                    Problem::new("`[roles]` without `[trust]`", span.clone(), "here").help(
                        "who holds a role is proven by their key: add `[trust]` with \
                         `allowed_signers = \"...\"`",
                    ),
                );
            }
            return;
        };
        let defined: Vec<&str> = roles.roles.iter().map(|(n, _, _)| n.as_str()).collect();
        for g in gates {
            let Some(phasegate_model::GateKind::Signoff { roles: wanted, .. }) = &g.body.kind
            else {
                continue;
            };
            let Some(phasegate_model::GateKind::Signoff { approvals, .. }) = &g.body.kind else {
                continue;
            };
            let people: std::collections::BTreeSet<&str> = roles
                .roles
                .iter()
                .filter(|(n, _, _)| wanted.contains(n))
                .flat_map(|(_, _, members)| members.iter().map(String::as_str))
                .collect();
            if (*approvals as usize) > people.len()
                && wanted.iter().all(|r| defined.contains(&r.as_str()))
            {
                self.push(
                    Problem::new(
                        format!(
                            "gate `{}` needs {approvals} approvals, but only {} {} its roles",
                            g.id.id,
                            people.len(),
                            if people.len() == 1 {
                                "person holds"
                            } else {
                                "people hold"
                            }
                        ),
                        g.id.span.clone(),
                        "this gate",
                    )
                    .help("add people to the roles in `[roles]`, or ask for fewer approvals"),
                );
            }
            for role in wanted.iter().filter(|r| !defined.contains(&r.as_str())) {
                self.push(
                    Problem::new(
                        format!(
                            "gate `{}` may be approved by role `{role}`, which `[roles]` does not define",
                            g.id.id
                        ),
                        g.id.span.clone(),
                        "this gate",
                    )
                    .help(format!(
                        "add `{role} = [\"...\"]` to `[roles]`: with `[trust]`, only the principals listed there hold a role"
                    )),
                );
            }
        }
    }
}
