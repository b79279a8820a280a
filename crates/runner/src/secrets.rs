//! Secret variables: their values, and a gate's rule as records store it, without them.

use std::collections::{BTreeMap, BTreeSet};

use phasegate_model::{Gate, Project, Roadmap, Rule};

use crate::capture::{REDACTED, redact_str};

/// Every secret variable any gate of `roadmap` declares (its own or the project's), mapped to
/// its value from `lookup`; names `lookup` has no value for are left out. The library never
/// reads the environment: a program passes `|name| std::env::var(name).ok()`.
pub fn secret_values(
    roadmap: &Roadmap,
    lookup: impl Fn(&str) -> Option<String>,
) -> BTreeMap<String, String> {
    roadmap
        .gates
        .iter()
        .flat_map(|g| g.secret_names(&roadmap.project))
        .filter_map(|name| Some((name.to_owned(), lookup(name)?)))
        .collect()
}

/// The values to redact from everything `gate` leaves behind: for each of its secret
/// variables, the gate's own `env` value if it sets one (that is what its processes see),
/// else the value in `values` (see [`secret_values`]).
pub fn gate_secrets(
    gate: &Gate,
    project: &Project,
    values: &BTreeMap<String, String>,
) -> Vec<String> {
    gate.secret_names(project)
        .filter_map(|n| gate.env.get(n).or_else(|| values.get(n)).cloned())
        .collect()
}

/// The variables the processes of `gate` (its command or its hooks), or with `None` of a
/// service, must not inherit: `own` (the caller's secrets) and every secret variable of the
/// roadmap that is not the gate's own. A secret goes only where it is declared.
pub(crate) fn withheld(
    roadmap: &Roadmap,
    gate: Option<&Gate>,
    own: &BTreeSet<String>,
) -> BTreeSet<String> {
    let mine: BTreeSet<&str> = gate
        .map(|g| g.secret_names(&roadmap.project).collect())
        .unwrap_or_default();
    let declared = roadmap
        .gates
        .iter()
        .flat_map(|g| g.secret_names(&roadmap.project))
        .chain(roadmap.project.secret_env.iter().map(String::as_str));
    own.iter()
        .cloned()
        .chain(declared.filter(|n| !mine.contains(n)).map(str::to_owned))
        .collect()
}

/// The gate's rule as a record stores it: the `env` value of every secret variable is
/// replaced by `[REDACTED]`, and `secrets` (see [`gate_secrets`]) are redacted from the other
/// values and from the rule's text.
pub fn rule(gate: &Gate, project: &Project, secrets: &[String]) -> Rule {
    let secret_names: Vec<&str> = gate.secret_names(project).collect();
    let env = gate
        .env
        .iter()
        .map(|(k, v)| {
            let v = if secret_names.contains(&k.as_str()) {
                REDACTED.to_owned()
            } else {
                redact_str(v, secrets)
            };
            (k.clone(), v)
        })
        .collect();
    Rule {
        kind: gate.kind.name().to_owned(),
        text: redact_str(&gate.kind.describe(), secrets),
        timeout_ms: u64::try_from(gate.timeout.as_millis()).unwrap_or(u64::MAX),
        cwd: gate.cwd.clone(),
        env,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_looked_up_preferring_the_gates_own_value_and_kept_out_of_the_rule() {
        let roadmap = phasegate_roadmap::parse(
            r#"
[project]
name = "t"
secret_env = ["API_KEY"]

[gates.a]
run = "curl -H 'key: sk-123' db://u:hunter2@h"
secret_env = ["DB_PASS"]
env = { DB_PASS = "hunter2", URL = "db://u:hunter2@h" }

[[phase]]
id = "p"
gates = ["a"]
"#,
            "phasegate.toml",
        )
        .unwrap();
        let values = secret_values(&roadmap, |name| match name {
            "API_KEY" => Some("sk-123".into()),
            "DB_PASS" => Some("from-the-environment".into()),
            _ => None,
        });
        assert_eq!(
            values,
            BTreeMap::from([
                ("API_KEY".into(), "sk-123".into()),
                ("DB_PASS".into(), "from-the-environment".into()),
            ])
        );
        let gate = &roadmap.gates[0];
        let secrets = gate_secrets(gate, &roadmap.project, &values);
        assert_eq!(secrets, ["sk-123", "hunter2"]);

        let own = BTreeSet::from(["PHASEGATE_SIGNING_KEY".to_owned()]);
        assert_eq!(
            withheld(&roadmap, Some(gate), &own),
            BTreeSet::from(["PHASEGATE_SIGNING_KEY".to_owned()]),
            "the gate gets its own secrets and the project's"
        );
        assert_eq!(
            withheld(&roadmap, None, &own),
            BTreeSet::from([
                "API_KEY".to_owned(),
                "DB_PASS".to_owned(),
                "PHASEGATE_SIGNING_KEY".to_owned()
            ]),
            "a service gets no declared secret"
        );

        let rule = rule(gate, &roadmap.project, &secrets);
        assert_eq!(rule.env["DB_PASS"], REDACTED);
        assert_eq!(rule.env["URL"], "db://u:[REDACTED]@h");
        assert!(!rule.text.contains("sk-123") && !rule.text.contains("hunter2"));
        assert!(rule.text.contains("[REDACTED]"), "{}", rule.text);
    }
}
