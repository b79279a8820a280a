//! The `needs` DAG of one run's gates: which gate may start next, and which become ready or
//! are skipped when one ends. No I/O; [`schedule`](crate::schedule) drives it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use phasegate_model::{Gate, GateId, Verdict};

pub(crate) struct Dag<'a> {
    by_id: BTreeMap<&'a GateId, &'a Gate>,
    /// Gates not ready yet, with how many of their needs have still to pass.
    waiting: BTreeMap<&'a GateId, usize>,
    dependents: BTreeMap<&'a GateId, Vec<&'a GateId>>,
    ready: VecDeque<&'a Gate>,
}

impl<'a> Dag<'a> {
    /// The DAG of `gates`; a need outside `gates` is not a constraint, except on a gate of
    /// `held` (sign-off gates: never run, settled by the caller with [`Dag::settle`] or
    /// [`Dag::hold`]).
    pub(crate) fn new(gates: &[&'a Gate], held: &BTreeSet<&GateId>) -> Self {
        let selected: BTreeSet<&GateId> = gates
            .iter()
            .map(|g| &g.id)
            .chain(held.iter().copied())
            .collect();
        let mut dag = Dag {
            by_id: gates.iter().map(|g| (&g.id, *g)).collect(),
            waiting: BTreeMap::new(),
            dependents: BTreeMap::new(),
            ready: VecDeque::new(),
        };
        for g in gates {
            let needs: BTreeSet<&GateId> =
                g.needs.iter().filter(|n| selected.contains(n)).collect();
            for n in &needs {
                dag.dependents.entry(n).or_default().push(&g.id);
            }
            if needs.is_empty() {
                dag.ready.push_back(g);
            } else {
                dag.waiting.insert(&g.id, needs.len());
            }
        }
        dag
    }

    /// The next gate to start, if one is ready. `idle` says nothing is running: an exclusive
    /// gate waits for the running ones to finish, then runs alone.
    pub(crate) fn take_ready(&mut self, idle: bool) -> Option<&'a Gate> {
        let g = *self.ready.front()?;
        if g.exclusive && !idle {
            return None;
        }
        self.ready.pop_front()
    }

    /// Settles the dependents of `id`, which ended with `verdict`: a pass brings them closer
    /// to ready; anything else skips them, and the skip cascades to their own dependents.
    /// Returns the skipped gates in the order they were skipped, each with why.
    pub(crate) fn settle(&mut self, id: &GateId, verdict: Verdict) -> Vec<(&'a Gate, String)> {
        self.cascade(id, verdict, None)
    }

    /// Skips the dependents of `id`, a gate outside the run whose need is not met, giving
    /// `why` as their reason; the skip cascades as in [`Dag::settle`].
    pub(crate) fn hold(&mut self, id: &GateId, why: &str) -> Vec<(&'a Gate, String)> {
        self.cascade(id, Verdict::Skipped, Some(why.to_owned()))
    }

    fn cascade(
        &mut self,
        id: &GateId,
        verdict: Verdict,
        why: Option<String>,
    ) -> Vec<(&'a Gate, String)> {
        let mut skipped = Vec::new();
        let mut ended = vec![(id.clone(), verdict, why)];
        while let Some((id, verdict, held)) = ended.pop() {
            for &dep in self.dependents.get(&id).into_iter().flatten() {
                let Some(left) = self.waiting.get_mut(dep) else {
                    continue;
                };
                if verdict == Verdict::Pass {
                    *left -= 1;
                    if *left == 0 {
                        self.waiting.remove(dep);
                        self.ready.push_back(self.by_id[dep]);
                    }
                } else {
                    self.waiting.remove(dep);
                    let why = match (&held, verdict) {
                        (Some(why), _) => why.clone(),
                        (None, Verdict::Skipped) => format!("needs `{id}`, which was skipped"),
                        (None, v) => format!("needs `{id}`, which ended with {v}"),
                    };
                    skipped.push((self.by_id[dep], why));
                    ended.push((dep.clone(), Verdict::Skipped, None));
                }
            }
        }
        skipped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(gates: &[(&Gate, String)]) -> Vec<String> {
        gates.iter().map(|(g, _)| g.id.to_string()).collect()
    }

    #[test]
    fn a_failure_skips_its_dependents_transitively_and_a_pass_readies_them() {
        let roadmap = phasegate_roadmap::parse(
            r#"
[project]
name = "t"

[gates.a]
run = "true"

[gates.b]
run = "true"
needs = ["a"]

[gates.c]
run = "true"
needs = ["b"]

[gates.d]
run = "true"
exclusive = true

[[phase]]
id = "p"
gates = ["a", "b", "c", "d"]
"#,
            "phasegate.toml",
        )
        .unwrap();
        let gates: Vec<&Gate> = roadmap.gates.iter().collect();

        let mut dag = Dag::new(&gates, &BTreeSet::new());
        assert_eq!(dag.take_ready(true).unwrap().id.as_str(), "a");
        assert!(dag.take_ready(false).is_none(), "`d` runs alone");
        assert_eq!(dag.take_ready(true).unwrap().id.as_str(), "d");
        let a = gates[0].id.clone();
        let skipped = dag.settle(&a, Verdict::Fail);
        assert_eq!(ids(&skipped), ["b", "c"]);
        assert_eq!(skipped[0].1, "needs `a`, which ended with fail");
        assert_eq!(skipped[1].1, "needs `b`, which was skipped");

        let mut dag = Dag::new(&gates, &BTreeSet::new());
        assert!(dag.settle(&a, Verdict::Pass).is_empty());
        assert_eq!(dag.take_ready(true).unwrap().id.as_str(), "a");
        assert_eq!(dag.take_ready(true).unwrap().id.as_str(), "d");
        assert_eq!(dag.take_ready(true).unwrap().id.as_str(), "b");
    }
}
