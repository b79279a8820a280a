//! Property: any generated valid roadmap parses, and what comes out is what went in.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::Duration;

use proptest::prelude::*;
use proptest::sample::subsequence;

/// A generated roadmap: gates whose `needs` only point to gates earlier in a random
/// topological order (so they form a DAG, in any file order), and phases likewise.
#[derive(Debug, Clone)]
struct Plan {
    gates: Vec<GatePlan>,
    phases: Vec<PhasePlan>,
}

#[derive(Debug, Clone)]
struct GatePlan {
    id: String,
    needs: Vec<String>,
    timeout_s: Option<u64>,
    retries: Option<u32>,
}

#[derive(Debug, Clone)]
struct PhasePlan {
    id: String,
    after: Vec<String>,
    gates: Vec<String>,
}

fn ids(max: usize) -> impl Strategy<Value = Vec<String>> {
    prop::collection::btree_set("[a-z0-9][a-z0-9_.-]{0,10}", 1..max)
        .prop_map(|s: BTreeSet<String>| s.into_iter().collect())
        .prop_shuffle()
}

/// For each node of `order` (a topological order), a subset of the nodes before it.
fn dag(order: Vec<String>) -> impl Strategy<Value = Vec<(String, Vec<String>)>> {
    let per_node: Vec<_> = (0..order.len())
        .map(|i| {
            let earlier = order[..i].to_vec();
            let n = earlier.len();
            (
                Just(order[i].clone()),
                subsequence(earlier, 0..=n).prop_shuffle(),
            )
        })
        .collect();
    per_node
}

fn plan() -> impl Strategy<Value = Plan> {
    (ids(12), ids(5))
        .prop_flat_map(|(gate_ids, phase_ids)| {
            let all_gates = gate_ids.clone();
            let n = all_gates.len();
            (
                dag(gate_ids),
                prop::collection::vec(
                    (
                        prop::option::of(1u64..1_000_000),
                        prop::option::of(0u32..10),
                    ),
                    n,
                ),
                dag(phase_ids.clone()),
                prop::collection::vec(subsequence(all_gates, 0..=n), phase_ids.len()),
                // The file order of gates, independent of the topological order.
                Just((0..n).collect::<Vec<usize>>()).prop_shuffle(),
            )
        })
        .prop_map(|(gates, settings, phases, phase_gates, file_order)| {
            let gates: Vec<GatePlan> = file_order
                .iter()
                .map(|&i| GatePlan {
                    id: gates[i].0.clone(),
                    needs: gates[i].1.clone(),
                    timeout_s: settings[i].0,
                    retries: settings[i].1,
                })
                .collect();
            let phases = phases
                .into_iter()
                .zip(phase_gates)
                .map(|((id, after), gates)| PhasePlan { id, after, gates })
                .collect();
            Plan { gates, phases }
        })
}

fn list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("\"{s}\"")).collect();
    format!("[{}]", quoted.join(", "))
}

fn to_toml(plan: &Plan) -> String {
    let mut out = String::from("[project]\nname = \"generated\"\n");
    for g in &plan.gates {
        writeln!(out, "\n[gates.\"{}\"]\nrun = \"true\"", g.id).unwrap();
        if !g.needs.is_empty() {
            writeln!(out, "needs = {}", list(&g.needs)).unwrap();
        }
        if let Some(t) = g.timeout_s {
            writeln!(out, "timeout = \"{t}s\"").unwrap();
        }
        if let Some(r) = g.retries {
            writeln!(out, "retries = {r}").unwrap();
        }
    }
    for p in &plan.phases {
        writeln!(out, "\n[[phase]]\nid = \"{}\"", p.id).unwrap();
        writeln!(out, "after = {}", list(&p.after)).unwrap();
        writeln!(out, "gates = {}", list(&p.gates)).unwrap();
    }
    out
}

fn strs<T: std::fmt::Display>(ids: &[T]) -> Vec<String> {
    ids.iter().map(ToString::to_string).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn generated_roadmaps_round_trip(plan in plan()) {
        let src = to_toml(&plan);
        let r = match phasegate_roadmap::parse(&src, "gen.toml") {
            Ok(r) => r,
            Err(e) => panic!("{src}\n{}", phasegate_roadmap::render_plain(&e)),
        };
        prop_assert_eq!(r.gates.len(), plan.gates.len());
        for (got, want) in r.gates.iter().zip(&plan.gates) {
            prop_assert_eq!(got.id.as_str(), want.id.as_str());
            prop_assert_eq!(strs(&got.needs), want.needs.clone());
            prop_assert_eq!(
                got.timeout,
                Duration::from_secs(want.timeout_s.unwrap_or(600))
            );
            prop_assert_eq!(got.retries, want.retries.unwrap_or(0));
        }
        prop_assert_eq!(r.phases.len(), plan.phases.len());
        for (got, want) in r.phases.iter().zip(&plan.phases) {
            prop_assert_eq!(got.id.as_str(), want.id.as_str());
            prop_assert_eq!(strs(&got.after), want.after.clone());
            prop_assert_eq!(strs(&got.gates), want.gates.clone());
        }
        // The model's own ordering agrees that `after` is acyclic.
        prop_assert_eq!(r.phase_order().len(), r.phases.len());
    }

    #[test]
    fn closing_a_loop_is_always_reported(plan in plan()) {
        // Make the first gate that needs another one needed by it in return: the one edge
        // added closes every new loop, so exactly one cycle must be reported.
        let mut plan = plan;
        let Some(i) = plan.gates.iter().position(|g| !g.needs.is_empty()) else {
            return Ok(());
        };
        let (from, to) = (plan.gates[i].id.clone(), plan.gates[i].needs[0].clone());
        let j = plan.gates.iter().position(|g| g.id == to).unwrap();
        plan.gates[j].needs.push(from);
        let src = to_toml(&plan);
        let err = phasegate_roadmap::parse(&src, "gen.toml").unwrap_err();
        prop_assert_eq!(err.problems(), 1);
        let message = err.iter().next().unwrap().message().to_owned();
        prop_assert!(message.starts_with("cycle in `needs`: "), "{}", message);
    }
}
