//! The roadmap's waiver policy applied when a waiver is asked for: nothing may be waived
//! that a `[[waiver]]` rule does not allow, so a refusal says what the policy does allow.
//! (The scorecard applies the same rules again when judging; see `phasegate_model`.)

use jiff::Timestamp;
use phasegate_model::{Gate, Roadmap, WaiverRule};

use crate::Error;

/// Refuses a waiver of `gate` granted now in `role` until `until` that no rule allows.
pub(crate) fn check_waiver(
    roadmap: &Roadmap,
    gate: &Gate,
    role: &str,
    until: Timestamp,
    now: Timestamp,
) -> Result<(), Error> {
    let rules: Vec<&WaiverRule> = roadmap.waiver_rules(gate).collect();
    if rules.is_empty() {
        return Err(Error::usage(
            format!(
                "no `[[waiver]]` rule of the roadmap lets gate `{}` be waived",
                gate.id
            ),
            allowed(roadmap),
        ));
    }
    let by_role: Vec<&&WaiverRule> = rules
        .iter()
        .filter(|r| r.roles.iter().any(|x| x == role))
        .collect();
    if by_role.is_empty() {
        let mut roles: Vec<&str> = rules
            .iter()
            .flat_map(|r| r.roles.iter().map(String::as_str))
            .collect();
        roles.sort_unstable();
        roles.dedup();
        return Err(Error::usage(
            format!("role `{role}` may not waive gate `{}`", gate.id),
            format!("roles that may: {}", roles.join(", ")),
        ));
    }
    let longest = by_role.iter().map(|r| r.max).max().expect("not empty");
    let length = until.duration_since(now);
    if length > jiff::SignedDuration::try_from(longest).unwrap_or(jiff::SignedDuration::MAX) {
        let latest = jiff::SignedDuration::try_from(longest)
            .ok()
            .and_then(|d| now.checked_add(d).ok());
        return Err(Error::usage(
            format!(
                "a waiver of gate `{}` by {role} may last at most {}; `--until {until}` is further",
                gate.id,
                humantime::format_duration(longest)
            ),
            match latest {
                Some(t) => format!("end it by {}", t.round(jiff::Unit::Second).unwrap_or(t)),
                None => "end it sooner".to_owned(),
            },
        ));
    }
    Ok(())
}

/// What the policy allows, one rule a line, for the help of a refusal.
fn allowed(roadmap: &Roadmap) -> String {
    if roadmap.waivers.is_empty() {
        return "the roadmap allows no waivers: add a `[[waiver]]` rule naming the gate, the \
                roles that may grant it and the longest waiver (`max`), see \
                docs/roadmap-format.md"
            .to_owned();
    }
    let rules: Vec<String> = roadmap.waivers.iter().map(|r| format!("  - {r}")).collect();
    format!("the roadmap allows waivers of:\n{}", rules.join("\n"))
}
