//! Opening a session: discovery, errors, where the evidence lives.

use phasegate_engine::{Error, Options, Session};

use crate::support::{Project, one_phase};

#[test]
fn a_session_finds_the_roadmap_in_a_parent_and_keeps_evidence_beside_it() {
    let p = Project::new(&one_phase(&[("ok", "run = \"true\"")]));
    let sub = p.dir.path().join("a/b");
    std::fs::create_dir_all(&sub).unwrap();
    let s = Session::open(Options {
        cwd: sub,
        ..p.options()
    })
    .unwrap();
    let root = std::fs::canonicalize(p.dir.path()).unwrap();
    assert_eq!(std::fs::canonicalize(&s.root).unwrap(), root);
    assert!(s.ledger_dir.ends_with(".phasegate"));
    assert!(s.ledger_url.is_none());
}

#[test]
fn no_roadmap_and_an_invalid_one_are_usage_errors() {
    let empty = tempfile::tempdir().unwrap();
    let e = Session::open(Options {
        cwd: empty.path().to_path_buf(),
        ..Options::default()
    })
    .unwrap_err();
    assert!(matches!(e, Error::NoRoadmap(_)) && e.is_usage(), "{e}");

    let p = Project::new("[project]\nname = \"t\"\n[gates.x]\nrun = 3\n");
    let e = p_session_err(&p);
    assert!(matches!(e, Error::Roadmap(_)) && e.is_usage(), "{e}");
}

fn p_session_err(p: &Project) -> Error {
    Session::open(p.options()).unwrap_err()
}

#[test]
fn a_bad_signing_key_is_refused_before_anything_is_written() {
    let p = Project::new(&one_phase(&[("ok", "run = \"true\"")]));
    let s = Session::open(Options {
        signing_key_hex: Some("zz".into()),
        ..p.options()
    })
    .unwrap();
    let e = s.signing_key().unwrap_err();
    assert!(
        e.is_usage() && e.to_string().contains("PHASEGATE_SIGNING_KEY"),
        "{e}"
    );
}

#[test]
fn plan_separates_signoff_gates_and_names_unknown_ones() {
    let p = Project::new(&one_phase(&[
        ("build", "run = \"true\""),
        ("approve", "signoff = { roles = [\"cto\"] }"),
    ]));
    let s = p.session();
    let plan = s.plan(&[]).unwrap();
    assert_eq!(
        plan.gates.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        ["build"]
    );
    assert_eq!(
        plan.signoffs.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        ["approve"]
    );

    let e = s.plan(&["biuld".to_owned()]).unwrap_err();
    assert!(e.is_usage(), "{e}");
    let Error::Usage { message, help } = e else {
        panic!("a usage error")
    };
    assert!(
        message.contains("biuld") && help.contains("did you mean `build`"),
        "{message} / {help}"
    );
}

#[test]
fn the_scorecard_verifies_from_a_checkpoint_kept_beside_the_ledger() {
    let p = Project::new(&one_phase(&[("a", "run = \"true\"")]));
    let s = p.session();
    crate::support::run(&s, &[]);
    let card = s.scorecard().unwrap();
    assert!(card.go && card.broken.is_none());
    let file = s.ledger_dir.join(phasegate_engine::CHECKPOINT_FILE);
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let last = s.verify().unwrap().last_seq.unwrap();
    assert_eq!(saved["checkpoint"]["seq"], last);

    // A checkpoint whose entry is not the one in the ledger any more: broken there.
    let forged = std::fs::read_to_string(&file).unwrap().replace(
        saved["checkpoint"]["hash"].as_str().unwrap(),
        &"0".repeat(64),
    );
    std::fs::write(&file, forged).unwrap();
    let card = s.scorecard().unwrap();
    assert!(!card.go);
    assert!(
        card.broken
            .as_deref()
            .unwrap()
            .starts_with(&format!("entry {last}")),
        "{:?}",
        card.broken
    );
    assert!(card.reasons[0].starts_with("the evidence ledger does not verify"));
    // An unreadable checkpoint is only a cache miss.
    std::fs::write(&file, "not json").unwrap();
    assert!(s.scorecard().unwrap().go);
}
