//! Approvals and waivers recorded through a session.

use phasegate_engine::{Error, SignoffRequest, WaiveRequest};
use phasegate_model::GateState;

use crate::support::{Project, run};

const ROADMAP: &str = r#"
[project]
name = "t"

[gates.build]
run = "true"

[gates.release]
signoff = { roles = ["sre", "security"], approvals = 2 }

[[phase]]
id = "launch"
gates = ["build", "release"]
"#;

fn approve(role: &str, by: &str) -> SignoffRequest {
    SignoffRequest {
        gate: "release".into(),
        role: role.into(),
        note: Some("  looks good ".into()),
        by: Some(by.into()),
        key: None,
    }
}

#[test]
fn two_distinct_approvers_pass_a_two_of_n_signoff() {
    let p = Project::new(ROADMAP);
    let s = p.session();
    run(&s, &[]);
    let first = s.signoff(&approve("sre", "alice")).unwrap();
    assert_eq!(
        first.status.state,
        GateState::Missing,
        "{}",
        first.status.reason
    );
    let approval = first.record.approval.as_ref().unwrap();
    assert_eq!(approval.note.as_deref(), Some("looks good"));
    assert_eq!(approval.phases.len(), 1);
    // The same person again does not count twice.
    let again = s.signoff(&approve("security", "alice")).unwrap();
    assert_ne!(again.status.state, GateState::Pass);
    let second = s.signoff(&approve("security", "bob")).unwrap();
    assert_eq!(
        second.status.state,
        GateState::Pass,
        "{}",
        second.status.reason
    );
    assert!(s.scorecard().unwrap().go);
    assert!(s.verify().unwrap().is_ok());
}

#[test]
fn a_wrong_role_or_a_run_gate_is_refused_and_nothing_is_recorded() {
    let p = Project::new(ROADMAP);
    let s = p.session();
    let e = s.signoff(&approve("intern", "x")).unwrap_err();
    assert!(
        e.is_usage() && e.to_string().contains("may not approve"),
        "{e}"
    );
    let e = s
        .signoff(&SignoffRequest {
            gate: "build".into(),
            ..approve("sre", "x")
        })
        .unwrap_err();
    assert!(e.to_string().contains("not a signoff gate"), "{e}");
    assert!(s.entries(None).unwrap().is_empty());
}

#[test]
fn the_approver_defaults_to_the_sessions_user_outside_git() {
    let p = Project::new(ROADMAP);
    let s = p.session();
    let st = s
        .signoff(&SignoffRequest {
            by: None,
            ..approve("sre", "-")
        })
        .unwrap();
    // The temp dir is no git work tree, and the test's environment may have no git email.
    let by = &st.record.approval.unwrap().by;
    assert!(by == "tester" || by.contains('@'), "{by}");
}

#[test]
fn a_waiver_shows_waived_and_a_past_date_is_refused() {
    let p = Project::new(ROADMAP);
    let s = p.session();
    let waive = |until: &str| WaiveRequest {
        gate: "build".into(),
        reason: "vendor outage".into(),
        until: until.into(),
        role: "cto".into(),
        by: Some("carol".into()),
        key: None,
    };
    let e = s.waive(&waive("2001-01-01")).unwrap_err();
    assert!(
        matches!(e, Error::Usage { .. }) && e.to_string().contains("in the past"),
        "{e}"
    );
    let e = s.waive(&waive("someday")).unwrap_err();
    assert!(e.to_string().contains("not a date"), "{e}");
    let st = s.waive(&waive("2999-12-31")).unwrap();
    assert_eq!(st.status.state, GateState::Waived);
    assert_eq!(st.record.waiver.unwrap().by, "carol");
}
