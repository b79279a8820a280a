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

[[waiver]]
gates = ["*"]
roles = ["cto", "cfo"]
max = "30d"
"#;

/// A time `days` from now, as `--until` takes it.
fn in_days(days: i64) -> String {
    jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_hours(24 * days))
        .unwrap()
        .to_string()
}

fn waiver(gate: &str, role: &str, by: &str, until: &str) -> WaiveRequest {
    WaiveRequest {
        gate: gate.into(),
        reason: "vendor outage".into(),
        until: until.into(),
        role: role.into(),
        by: Some(by.into()),
        key: None,
    }
}

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
    let e = s
        .waive(&waiver("build", "cto", "carol", "2001-01-01"))
        .unwrap_err();
    assert!(
        matches!(e, Error::Usage { .. }) && e.to_string().contains("in the past"),
        "{e}"
    );
    let e = s
        .waive(&waiver("build", "cto", "carol", "someday"))
        .unwrap_err();
    assert!(e.to_string().contains("not a date"), "{e}");
    let st = s
        .waive(&waiver("build", "cto", "carol", &in_days(7)))
        .unwrap();
    assert_eq!(st.status.state, GateState::Waived);
    assert_eq!(st.record.waiver.unwrap().by, "carol");
}

fn usage(e: Error) -> (String, String) {
    match e {
        Error::Usage { message, help } => (message, help),
        other => panic!("expected a usage error, got {other}"),
    }
}

#[test]
fn a_waiver_the_roadmap_does_not_allow_is_refused_saying_what_it_allows() {
    // Regression (issue 8): any role could waive any gate, a sign-off gate included, for
    // as long as it liked.
    let p = Project::new(ROADMAP);
    let s = p.session();
    let week = in_days(7);
    let (message, help) = usage(
        s.waive(&waiver("release", "cto", "carol", &week))
            .unwrap_err(),
    );
    assert_eq!(
        message,
        "no `[[waiver]]` rule of the roadmap lets gate `release` be waived"
    );
    assert_eq!(
        help,
        "the roadmap allows waivers of:\n  - every gate but sign-off gates by cto, cfo for at \
         most 30days (1 granter)"
    );
    let (message, help) = usage(
        s.waive(&waiver("build", "intern", "ivan", &week))
            .unwrap_err(),
    );
    assert_eq!(message, "role `intern` may not waive gate `build`");
    assert_eq!(help, "roles that may: cfo, cto");
    let (message, help) = usage(
        s.waive(&waiver("build", "cto", "carol", &in_days(31)))
            .unwrap_err(),
    );
    assert!(
        message.starts_with("a waiver of gate `build` by cto may last at most 30days"),
        "{message}"
    );
    assert!(help.starts_with("end it by "), "{help}");
    // Nothing was recorded.
    assert!(s.ledger().unwrap().waivers("build").unwrap().is_empty());

    let none = Project::new(&ROADMAP.replace("[[waiver]]", "[[unused]]").replace(
        "[[unused]]\ngates = [\"*\"]\nroles = [\"cto\", \"cfo\"]\nmax = \"30d\"\n",
        "",
    ));
    let (_, help) = usage(
        none.session()
            .waive(&waiver("build", "cto", "carol", &week))
            .unwrap_err(),
    );
    assert!(help.starts_with("the roadmap allows no waivers"), "{help}");
}

#[test]
fn a_rule_needing_two_granters_waives_only_once_two_people_have() {
    let p = Project::new(&ROADMAP.replace("max = \"30d\"", "max = \"30d\"\napprovals = 2"));
    let s = p.session();
    let first = s
        .waive(&waiver("build", "cto", "carol", &in_days(7)))
        .unwrap();
    assert_eq!(first.status.state, GateState::Missing);
    assert!(
        first
            .status
            .reason
            .ends_with("waiver by carol (cto) waits for 2 granters under its rule, has 1"),
        "{}",
        first.status.reason
    );
    // The same person again, in another role, is still one granter.
    let again = s
        .waive(&waiver("build", "cfo", "carol", &in_days(7)))
        .unwrap();
    assert_eq!(again.status.state, GateState::Missing);
    let second = s
        .waive(&waiver("build", "cfo", "frank", &in_days(3)))
        .unwrap();
    assert_eq!(
        second.status.state,
        GateState::Waived,
        "{}",
        second.status.reason
    );
    // Until the earlier of the two ends.
    assert_eq!(
        second.status.waiver.as_ref().unwrap().by,
        "frank",
        "{}",
        second.status.reason
    );
}
