//! Every reference resolves, ids are unique, and `needs` and `after` have no cycle.

use super::*;

impl Checker<'_> {
    /// Every reference resolves; ids are unique; `needs` and `after` have no cycle.
    pub(super) fn references(
        &mut self,
        project: &ProjectDraft,
        services: &[ServiceDraft],
        gates: &[GateDraft],
        phases: &[PhaseDraft],
    ) {
        let service_ids: Vec<&str> = services.iter().map(|s| s.id.id.as_str()).collect();
        let gate_ids: Vec<&str> = gates.iter().map(|g| g.id.id.as_str()).collect();

        // Duplicate phase ids; later graphs use the first definition.
        let mut phase_index: HashMap<&str, (usize, Range<usize>)> = HashMap::new();
        let mut phase_ids: Vec<&str> = Vec::new();
        let mut phase_of_draft: Vec<Option<usize>> = Vec::new();
        for p in phases {
            let Some(id) = &p.id else {
                phase_of_draft.push(None);
                continue;
            };
            if let Some((_, first)) = phase_index.get(id.id.as_str()) {
                self.push(
                    Problem::new(
                        format!("duplicate phase id `{}`", id.id),
                        id.span.clone(),
                        "defined again here",
                    )
                    .label(first.clone(), "first defined here")
                    .help("give each phase its own id"),
                );
                phase_of_draft.push(None);
            } else {
                phase_index.insert(id.id.as_str(), (phase_ids.len(), id.span.clone()));
                phase_of_draft.push(Some(phase_ids.len()));
                phase_ids.push(id.id.as_str());
            }
        }

        self.resolve("base_gates", &project.base_gates, &gate_ids, Noun::Gate);
        for g in gates {
            self.resolve("needs", &g.body.needs, &gate_ids, Noun::Gate);
            self.resolve("services", &g.body.services, &service_ids, Noun::Service);
        }
        for p in phases {
            self.resolve("gates", &p.gates, &gate_ids, Noun::Gate);
            self.resolve("after", &p.after, &phase_ids, Noun::Phase);
        }

        let gate_index: HashMap<&str, usize> =
            gate_ids.iter().enumerate().map(|(i, g)| (*g, i)).collect();
        let needs: Vec<Vec<Edge>> = gates
            .iter()
            .map(|g| edges(&g.body.needs, |id| gate_index.get(id.as_str()).copied()))
            .collect();
        for cycle in graph::cycles(&needs) {
            self.cycle("needs", &cycle, &gate_ids, "needs");
        }

        let mut after: Vec<Vec<Edge>> = vec![Vec::new(); phase_ids.len()];
        for (p, node) in phases.iter().zip(&phase_of_draft) {
            if let Some(node) = node {
                after[*node] = edges(&p.after, |id| phase_index.get(id.as_str()).map(|(i, _)| *i));
            }
        }
        for cycle in graph::cycles(&after) {
            self.cycle("after", &cycle, &phase_ids, "comes after");
        }
    }

    pub(super) fn resolve<T: std::fmt::Display>(
        &mut self,
        key: &str,
        refs: &[Ref<T>],
        defined: &[&str],
        noun: Noun,
    ) {
        for r in refs {
            let id = r.id.to_string();
            if defined.contains(&id.as_str()) {
                continue;
            }
            let help = suggest::help(did_you_mean(&id, defined.iter().copied()))
                .unwrap_or_else(|| noun.how_to_define(&id));
            self.push(
                Problem::new(
                    format!("undefined {} `{id}` in `{key}`", noun.name()),
                    r.span.clone(),
                    &format!("no {} `{id}` in this file", noun.name()),
                )
                .help(help),
            );
        }
    }

    pub(super) fn cycle(&mut self, key: &str, cycle: &[(usize, Edge)], names: &[&str], verb: &str) {
        let mut path: Vec<&str> = cycle.iter().map(|(from, _)| names[*from]).collect();
        path.extend(cycle.first().map(|(from, _)| names[*from]));
        let message = format!("cycle in `{key}`: {}", path.join(" → "));
        let mut labels = cycle.iter().map(|(from, e)| {
            (
                e.span.clone(),
                format!("`{}` {verb} `{}`", names[*from], names[e.to]),
            )
        });
        let Some((span, label)) = labels.next() else {
            return;
        };
        let mut p = Problem::new(message, span, &label);
        for (span, label) in labels {
            p = p.label(span, label);
        }
        let help = if cycle.len() == 1 {
            format!("remove `{}` from its own `{key}`", names[cycle[0].0])
        } else {
            format!("`{key}` must not loop back: remove one of these references")
        };
        self.push(p.help(help));
    }
}

/// Edges for the references that resolve (the others are reported already).
fn edges<T>(refs: &[Ref<T>], index: impl Fn(&T) -> Option<usize>) -> Vec<Edge> {
    refs.iter()
        .filter_map(|r| {
            index(&r.id).map(|to| Edge {
                to,
                span: r.span.clone(),
            })
        })
        .collect()
}
