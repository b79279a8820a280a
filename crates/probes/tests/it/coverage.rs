//! Coverage: every probe says which of its rules it exercised and which it skipped, and why;
//! a pass that skipped rules is partial, and a gate requiring a skipped rule fails. Against
//! the sample service, on its clean build and on the flaw each rule exists to catch.

use phasegate_model::{Partial, Verdict};
use phasegate_probes::{Outcome, Target};
use phasegate_sample_service::Flaw;
use serde_json::json;

use crate::support::*;

fn exercised(o: &Outcome) -> Vec<&str> {
    o.coverage
        .iter()
        .flat_map(|c| &c.exercised)
        .map(String::as_str)
        .collect()
}

fn skipped(o: &Outcome) -> Vec<(&str, &str)> {
    o.coverage
        .iter()
        .flat_map(|c| &c.skipped)
        .map(|s| (s.rule.as_str(), s.reason.as_str()))
        .collect()
}

/// Every rule of `kind` is either exercised or skipped, each once, in the probe's order.
#[track_caller]
fn closed(kind: &str, o: &Outcome) {
    let rules = phasegate_probes::rules(kind).unwrap();
    let mut seen: Vec<&str> = exercised(o);
    seen.extend(skipped(o).iter().map(|(r, _)| *r));
    seen.sort_unstable();
    let mut all = rules.to_vec();
    all.sort_unstable();
    assert_eq!(seen, all, "{o:#?}");
}

#[test]
fn every_service_probe_declares_its_rules() {
    for kind in phasegate_probes::KINDS {
        if phasegate_probes::target(kind) == Some(Target::Service) {
            let rules = phasegate_probes::rules(kind).unwrap();
            assert!(!rules.is_empty(), "probe `{kind}` declares no rules");
        }
    }
    assert_eq!(phasegate_probes::rules("no-such-probe"), None);
}

#[tokio::test]
async fn health_without_a_fault_hook_is_a_partial_pass_that_a_requirement_fails() {
    // The flaw: ready never looks at the database. Without a fault hook the probe cannot see
    // it, so the pass must say the dependency was not exercised.
    let s = sample_with_flaws(&[Flaw::ReadyIgnoresDb], false).await;
    let o = run("health", &s.url, json!({})).await;
    assert_pass(&o);
    closed("health", &o);
    assert_eq!(exercised(&o), ["live", "ready"]);
    let why = "no fault hook: add `fault` and `restore` (commands that take a dependency down and bring it back)";
    assert_eq!(skipped(&o), [("dependency", why), ("recovery", why)]);
    let required = o
        .clone()
        .covering(&["dependency".to_owned()], Partial::Pass);
    assert_eq!(required.verdict, Verdict::Fail);
    assert_eq!(
        required.reason.as_deref(),
        Some(
            format!("rule not exercised, which `require` does not allow: dependency: {why}")
                .as_str()
        )
    );
    let strict = o.clone().covering(&[], Partial::Fail);
    assert_eq!(strict.verdict, Verdict::Fail);
    assert!(
        strict.reason.unwrap().starts_with(
            "rules not exercised, which partial = \"fail\" does not allow: dependency: "
        )
    );
    // Requiring only what was exercised keeps the pass.
    assert_eq!(
        o.covering(&["live".to_owned()], Partial::Pass).verdict,
        Verdict::Pass
    );
}

/// The sample service in `dir`, and a health gate's fault and restore hooks taking its
/// database away there, as the demo roadmap does.
async fn health_with_fault(flaws: &[Flaw]) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let flaws = flaws.to_vec();
    let url = sample_service_in(dir.path(), |c| c.flaws.extend(flaws)).await;
    let p = json!({
        "fault": "mv membership.db membership.db.away",
        "restore": "mv membership.db.away membership.db",
        "within": "3s",
        "poll": "50ms",
    });
    phasegate_probes::run("health", &params(p), &ctx_in(&url, dir.path())).await
}

#[tokio::test]
async fn health_with_a_fault_hook_exercises_every_rule_and_catches_ready_ignoring_the_db() {
    let clean = health_with_fault(&[]).await;
    assert_pass(&clean);
    assert_eq!(
        exercised(&clean),
        ["live", "ready", "dependency", "recovery"]
    );
    assert!(skipped(&clean).is_empty(), "{clean:#?}");
    let flawed = health_with_fault(&[Flaw::ReadyIgnoresDb]).await;
    assert_fails_with(&flawed, "ready-ignores-dependency");
    assert!(exercised(&flawed).contains(&"dependency"));
}

#[tokio::test]
async fn headers_on_plain_http_skip_hsts_and_secure_cookies_with_the_reason() {
    let s = sample_with_flaws(&[Flaw::NoHsts], false).await;
    let login = json!({ "path": "/api/v1/auth/sign-in",
        "json": { "email": "member@example.com", "password": phasegate_sample_service::SEED_PASSWORD } });
    let o = run(
        "headers",
        &s.url,
        json!({ "session_cookies": ["sid"], "login": login }),
    )
    .await;
    // The flaw is invisible on plain http with https = "auto": a partial pass, never plain.
    assert_eq!(o.verdict, Verdict::Pass, "{o:#?}");
    closed("headers", &o);
    let plain = "plain http; set https = \"yes\" when TLS ends at a proxy";
    let skips = skipped(&o);
    assert!(skips.contains(&("hsts", plain)), "{skips:?}");
    assert!(skips.contains(&("cookie_secure", plain)), "{skips:?}");
    assert!(exercised(&o).contains(&"cookies"));
    // Told that TLS ends at a proxy, the probe tests HSTS and catches the flaw.
    let o = run(
        "headers",
        &s.url,
        json!({ "session_cookies": ["sid"], "login": login, "https": "yes" }),
    )
    .await;
    assert_fails_with(&o, "hsts-missing");
    assert!(exercised(&o).contains(&"hsts"));
    assert!(!skipped(&o).iter().any(|(r, _)| *r == "hsts"));
}

#[tokio::test]
async fn cors_without_a_max_age_skips_it_and_a_simple_request_skips_the_preflight() {
    let s = sample_with_flaws(&[], false).await;
    let o = run(
        "cors",
        &s.url,
        json!({ "path": "/api/v1/subscription", "allowed": ["https://app.example.com"], "request_headers": [] }),
    )
    .await;
    closed("cors", &o);
    let rules: Vec<&str> = skipped(&o).iter().map(|(r, _)| *r).collect();
    assert_eq!(rules, ["preflight", "max_age"], "{o:#?}");
}
