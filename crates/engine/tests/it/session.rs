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
