//! Cycles in `needs` and `after`.

use std::collections::VecDeque;
use std::ops::Range;

/// An edge to node `to`, with the span of the reference that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Edge {
    pub to: usize,
    pub span: Range<usize>,
}

/// One cycle per strongly connected component that has one, as the edges walked from its
/// first node (in file order) back to it. `edges[n]` are node `n`'s outgoing edges; nodes are
/// numbered in file order, so cycles come out in file order too.
///
/// Reporting one cycle per component (the shortest through its first node) names every
/// loop the user has to break without listing the exponentially many cycles a dense
/// component can hold.
pub(crate) fn cycles(edges: &[Vec<Edge>]) -> Vec<Vec<(usize, Edge)>> {
    let n = edges.len();
    let reach: Vec<Vec<bool>> = (0..n).map(|s| reachable(edges, s)).collect();
    let mut assigned = vec![false; n];
    let mut out = Vec::new();
    for s in 0..n {
        if assigned[s] {
            continue;
        }
        // The component of `s`: nodes reachable from `s` that reach `s` back.
        let members: Vec<bool> = (0..n).map(|v| reach[s][v] && reach[v][s]).collect();
        for (v, m) in members.iter().enumerate() {
            if *m {
                assigned[v] = true;
            }
        }
        if let Some(cycle) = shortest_cycle(edges, s, &members) {
            out.push(cycle);
        }
    }
    out
}

/// Nodes reachable from `s` by at least one edge (so `s` itself only when on a cycle).
fn reachable(edges: &[Vec<Edge>], s: usize) -> Vec<bool> {
    let mut seen = vec![false; edges.len()];
    let mut queue: VecDeque<usize> = edges[s].iter().map(|e| e.to).collect();
    while let Some(v) = queue.pop_front() {
        if !seen[v] {
            seen[v] = true;
            queue.extend(edges[v].iter().map(|e| e.to));
        }
    }
    seen
}

/// Breadth-first from `s` inside the component back to `s`.
fn shortest_cycle(edges: &[Vec<Edge>], s: usize, members: &[bool]) -> Option<Vec<(usize, Edge)>> {
    // `via[v]` = the edge (and its source) by which `v` was first reached.
    let mut via: Vec<Option<(usize, Edge)>> = vec![None; edges.len()];
    let mut queue = VecDeque::from([s]);
    while let Some(v) = queue.pop_front() {
        for e in &edges[v] {
            if !members[e.to] {
                continue;
            }
            if e.to == s {
                let mut path = vec![(v, e.clone())];
                let mut at = v;
                while at != s {
                    let (from, edge) = via[at]
                        .clone()
                        .expect("every queued node but `s` has a via");
                    path.push((from, edge));
                    at = from;
                }
                path.reverse();
                return Some(path);
            }
            if via[e.to].is_none() {
                via[e.to] = Some((v, e.clone()));
                queue.push_back(e.to);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(adj: &[&[usize]]) -> Vec<Vec<Edge>> {
        adj.iter()
            .enumerate()
            .map(|(from, tos)| {
                tos.iter()
                    .map(|&to| Edge {
                        to,
                        span: from * 10 + to..from * 10 + to + 1,
                    })
                    .collect()
            })
            .collect()
    }

    fn nodes(cycle: &[(usize, Edge)]) -> Vec<usize> {
        let mut v: Vec<usize> = cycle.iter().map(|(from, _)| *from).collect();
        v.push(cycle.last().map(|(_, e)| e.to).unwrap());
        v
    }

    #[test]
    fn a_dag_has_no_cycle() {
        assert!(cycles(&graph(&[&[1, 2], &[2], &[]])).is_empty());
    }

    #[test]
    fn finds_a_self_loop() {
        let c = cycles(&graph(&[&[], &[1]]));
        assert_eq!(c.len(), 1);
        assert_eq!(nodes(&c[0]), [1, 1]);
    }

    #[test]
    fn finds_each_component_once_starting_at_its_first_node() {
        // 0 -> 1 -> 2 -> 0, and separately 3 <-> 4; 5 hangs off the first cycle.
        let c = cycles(&graph(&[&[1], &[2, 5], &[0], &[4], &[3], &[]]));
        assert_eq!(c.len(), 2);
        assert_eq!(nodes(&c[0]), [0, 1, 2, 0]);
        assert_eq!(nodes(&c[1]), [3, 4, 3]);
        assert_eq!(c[0][1].1.span, 12..13);
    }

    #[test]
    fn prefers_the_shortest_cycle_through_the_first_node() {
        // 0 -> 1 -> 2 -> 3 -> 0 and 0 -> 3 -> 0.
        let c = cycles(&graph(&[&[1, 3], &[2], &[3], &[0]]));
        assert_eq!(c.len(), 1);
        assert_eq!(nodes(&c[0]), [0, 3, 0]);
    }
}
