//! `probe_text` and `probe_json`.

use std::collections::BTreeMap;

use phasegate_model::{Finding, Verdict};
use phasegate_report::{ProbeView, probe_json, probe_text};

fn findings() -> Vec<Finding> {
    vec![Finding {
        severity: Some(phasegate_model::Severity::High),
        code: "hsts-missing".into(),
        message: "no Strict-Transport-Security header".into(),
        location: Some("GET /login".into()),
    }]
}

#[test]
fn a_failing_probe_lists_its_findings_and_measurements() {
    let findings = findings();
    let measurements = BTreeMap::from([("latency_max_ms".to_owned(), 12.345)]);
    let view = ProbeView {
        kind: "headers",
        url: "http://127.0.0.1:8080",
        verdict: Verdict::Fail,
        reason: Some("1 finding"),
        findings: &findings,
        measurements: &measurements,
        requests: 4,
    };
    snapshot!(probe_text(&view));
    let doc: serde_json::Value = serde_json::from_str(&probe_json(&view)).unwrap();
    assert_eq!(doc["verdict"], "fail");
    assert_eq!(doc["findings"][0]["code"], "hsts-missing");
    assert_eq!(doc["requests"], 4);
}

#[test]
fn a_passing_probe_is_one_line_and_its_request_count() {
    let view = ProbeView {
        kind: "http",
        url: "http://127.0.0.1:8080",
        verdict: Verdict::Pass,
        reason: None,
        findings: &[],
        measurements: &BTreeMap::new(),
        requests: 1,
    };
    assert_eq!(
        probe_text(&view),
        "probe http on http://127.0.0.1:8080: pass\n  1 requests\n"
    );
}
