use std::fmt::Write;

use phasegate_model::Roadmap;

/// One screen on a valid roadmap: phases in order with their gates, and the gates.
pub fn check_summary(roadmap: &Roadmap, file: &str) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{file}: ok — project `{}`, {} phases, {} gates, {} services",
        roadmap.project.name,
        roadmap.phases.len(),
        roadmap.gates.len(),
        roadmap.services.len()
    );
    if !roadmap.project.base_gates.is_empty() {
        let base: Vec<&str> = roadmap
            .project
            .base_gates
            .iter()
            .map(|g| g.as_str())
            .collect();
        let _ = writeln!(o, "base gates (every phase): {}", base.join(", "));
    }
    let _ = writeln!(o, "\nphases, in order:");
    for (i, p) in roadmap.phase_order().iter().enumerate() {
        let after = if p.after.is_empty() {
            String::new()
        } else {
            let a: Vec<&str> = p.after.iter().map(|a| a.as_str()).collect();
            format!(" (after {})", a.join(", "))
        };
        let own: Vec<&str> = p.gates.iter().map(|g| g.as_str()).collect();
        let _ = writeln!(o, "  {}. {} — {}{after}", i + 1, p.id, p.title);
        let _ = writeln!(
            o,
            "       gates: {}",
            if own.is_empty() {
                "(base gates only)".to_owned()
            } else {
                own.join(", ")
            }
        );
    }
    let _ = writeln!(o, "\ngates:");
    let width = roadmap
        .gates
        .iter()
        .map(|g| g.id.as_str().len())
        .max()
        .unwrap_or(0);
    for g in &roadmap.gates {
        let mut extra = Vec::new();
        if !g.needs.is_empty() {
            let n: Vec<&str> = g.needs.iter().map(|n| n.as_str()).collect();
            extra.push(format!("needs {}", n.join(", ")));
        }
        if !g.blocking {
            extra.push("advisory".into());
        }
        let extra = if extra.is_empty() {
            String::new()
        } else {
            format!("  [{}]", extra.join("; "))
        };
        let _ = writeln!(
            o,
            "  {:width$}  {:7} {}{extra}",
            g.id.as_str(),
            g.kind.name(),
            g.kind.describe()
        );
    }
    o
}
