//! Closing phases: refused when not done, a snapshot whose entries match the ledger.

use phasegate_engine::Closed;
use phasegate_model::PhaseState;

use crate::support::{Project, one_phase, run};

#[test]
fn a_phase_that_is_not_done_is_not_closed() {
    let p = Project::new(&one_phase(&[("a", "run = \"false\"")]));
    let s = p.session();
    let Closed::NotDone { state, reasons, .. } = s.close("p", false).unwrap() else {
        panic!("closed a phase with no passing evidence")
    };
    assert_eq!(state, PhaseState::InProgress);
    assert!(!reasons.is_empty());
    run(&s, &[]);
    assert!(matches!(
        s.close("p", false).unwrap(),
        Closed::NotDone { .. }
    ));
    let e = s.close("nope", false).unwrap_err();
    assert!(
        e.is_usage() && e.to_string().contains("no phase named `nope`"),
        "{e}"
    );
}

#[test]
fn a_done_phase_snapshot_names_the_ledger_entries_its_gates_rest_on() {
    let p = Project::new(&one_phase(&[
        ("a", "run = \"true\""),
        ("b", "run = \"true\""),
    ]));
    let s = p.session();
    run(&s, &[]);
    let Closed::Snapshot { snapshot, dir, tag } = s.close("p", false).unwrap() else {
        panic!("the phase is done")
    };
    assert!(tag.is_none());
    assert!(dir.join("manifest.json").is_file() && dir.join("report.md").is_file());
    assert_eq!(snapshot.gates.len(), 2);
    for g in &snapshot.gates {
        let seq = g.seq.expect("the entry the state rests on is found");
        let doc = s.entry_json(seq).unwrap().unwrap();
        assert_eq!(doc["hash"].as_str(), g.hash.as_deref());
        assert_eq!(doc["entry"]["gate"].as_str(), Some(g.id.as_str()));
    }
    assert_eq!(snapshot.heads.len(), 1);
}

#[test]
fn tagging_outside_a_git_work_tree_is_refused() {
    let p = Project::new(&one_phase(&[("a", "run = \"true\"")]));
    let s = p.session();
    run(&s, &[]);
    let e = s.close("p", true).unwrap_err();
    assert!(e.is_usage() && e.to_string().contains("git"), "{e}");
}
