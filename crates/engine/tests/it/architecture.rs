//! The dependency rules of docs/architecture.md, checked on the resolved graph.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::sync::OnceLock;

/// Crates that do I/O: the pure crates must not reach them.
const IO: &[&str] = &["tokio", "rusqlite", "postgres", "reqwest", "hyper", "axum"];

type Graph = BTreeMap<String, BTreeSet<String>>;

/// Every package's normal (non-dev, non-build) dependencies on this platform, by name.
fn graph() -> &'static Graph {
    static GRAPH: OnceLock<Graph> = OnceLock::new();
    GRAPH.get_or_init(read_graph)
}

/// The host's target triple, as rustc names it.
fn host() -> String {
    let out = Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("rustc runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV names the host")
        .to_owned()
}

fn read_graph() -> Graph {
    // This platform only: the packages of others are not downloaded, and offline is enough.
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--filter-platform",
        ])
        .arg(host())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let name_of: BTreeMap<&str, &str> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for node in meta["resolve"]["nodes"].as_array().unwrap() {
        let name = name_of[node["id"].as_str().unwrap()].to_owned();
        let deps = node["deps"].as_array().unwrap().iter().filter(|d| {
            d["dep_kinds"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kind"].is_null())
        });
        let entry = graph.entry(name).or_default();
        for d in deps {
            entry.insert(name_of[d["pkg"].as_str().unwrap()].to_owned());
        }
    }
    graph
}

/// Everything `krate` depends on, directly or not.
fn reach(graph: &Graph, krate: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![krate.to_owned()];
    while let Some(k) = stack.pop() {
        for d in graph.get(&k).into_iter().flatten() {
            if seen.insert(d.clone()) {
                stack.push(d.clone());
            }
        }
    }
    seen
}

fn ours(name: &str) -> String {
    if name == "phasegate" {
        name.to_owned()
    } else {
        format!("phasegate-{name}")
    }
}

/// `krate` reaches none of `forbidden` (phasegate crates by short name, others as named).
fn assert_free_of(graph: &Graph, krate: &str, forbidden: &[&str]) {
    let reached = reach(graph, &ours(krate));
    let bad: Vec<&str> = forbidden
        .iter()
        .copied()
        .filter(|f| reached.contains(&ours(f)) || reached.contains(*f))
        .collect();
    assert!(
        bad.is_empty(),
        "`{krate}` must not depend on {bad:?} (docs/architecture.md)"
    );
}

#[test]
fn dependencies_point_one_way() {
    let g = graph();
    let front_ends = ["engine", "phasegate"];
    assert_free_of(
        g,
        "model",
        &[
            &front_ends[..],
            IO,
            &[
                "roadmap", "ledger", "runner", "probes", "report", "markdown",
            ],
        ]
        .concat(),
    );
    assert_free_of(
        g,
        "markdown",
        &[
            &front_ends[..],
            IO,
            &["runner", "ledger", "probes", "report"],
        ]
        .concat(),
    );
    assert_free_of(
        g,
        "roadmap",
        &[
            &front_ends[..],
            &[
                "runner",
                "ledger",
                "probes",
                "report",
                "markdown",
                "pulldown-cmark",
            ],
        ]
        .concat(),
    );
    assert_free_of(
        g,
        "probes",
        &[
            &front_ends[..],
            &["ledger", "runner", "report", "sample-service"],
        ]
        .concat(),
    );
    assert_free_of(
        g,
        "runner",
        &[&front_ends[..], &["ledger", "report"]].concat(),
    );
    assert_free_of(
        g,
        "ledger",
        &[&front_ends[..], &["runner", "probes", "report"]].concat(),
    );
    assert_free_of(
        g,
        "report",
        &[
            &front_ends[..],
            IO,
            &["roadmap", "markdown", "runner", "ledger", "probes"],
        ]
        .concat(),
    );
    assert_free_of(g, "engine", &["phasegate", "sample-service"]);
    assert_free_of(
        g,
        "testkit",
        &["model", "ledger", "runner", "engine", "phasegate"],
    );
    assert_free_of(
        g,
        "sample-service",
        &[
            "model",
            "roadmap",
            "markdown",
            "runner",
            "probes",
            "ledger",
            "report",
            "engine",
            "phasegate",
        ],
    );
}

#[test]
fn the_binary_goes_through_the_engine() {
    let g = graph();
    let direct = &g["phasegate"];
    for lower in ["phasegate-ledger", "phasegate-runner", "phasegate-probes"] {
        assert!(
            !direct.contains(lower),
            "the binary depends on `{lower}` directly: call it through the engine"
        );
    }
}

#[test]
fn only_the_ledger_writes_sql() {
    let g = graph();
    let sql = ["rusqlite", "postgres", "tokio-postgres"];
    for (krate, deps) in g.iter().filter(|(k, _)| k.starts_with("phasegate")) {
        if krate == "phasegate-ledger" || krate == "phasegate-sample-service" {
            continue;
        }
        for s in sql {
            assert!(
                !deps.contains(s),
                "`{krate}` depends on `{s}` directly: only the ledger writes SQL"
            );
        }
    }
}

#[test]
fn the_rules_can_fail() {
    // The checks see real edges: the engine reaches the ledger and tokio.
    let reached = reach(graph(), "phasegate-engine");
    assert!(reached.contains("phasegate-ledger") && reached.contains("tokio"));
}
