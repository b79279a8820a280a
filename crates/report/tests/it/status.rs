//! `status_table` and `status_json`.

use phasegate_report::{STATUS_JSON_VERSION, status_json, status_table};

use crate::fixture::{ledger, now, roadmap};

#[test]
fn status_table_no_go() {
    let rm = roadmap();
    let card = ledger(&rm).card(&rm);
    snapshot!(status_table(&card, Some(100)));
}

#[test]
fn status_table_go() {
    let rm = phasegate_roadmap::parse(
        "[gates.build]\nrun = \"make\"\n\n[[phase]]\nid = \"only\"\ntitle = \"The only phase\"\ngates = [\"build\"]\n",
        "phasegate.toml",
    )
    .unwrap();
    let mut r = crate::fixture::record(
        &rm,
        "build",
        "r-1",
        phasegate_model::Verdict::Pass,
        crate::fixture::ago(5),
        900,
    );
    r.exit_code = Some(0);
    let card = phasegate_model::evaluate(&rm, [&r], now());
    assert!(card.go);
    snapshot!(status_table(&card, Some(100)));
}

#[test]
fn status_json_document() {
    let rm = roadmap();
    let card = ledger(&rm).card(&rm);
    let json = status_json(&card);
    let doc: serde_json::Value = serde_json::from_str(&json).expect("status JSON parses");
    assert_eq!(doc["version"], STATUS_JSON_VERSION);
    assert_eq!(doc["go"], false);
    assert_eq!(
        doc["gates"].as_array().unwrap().len(),
        rm.gates.len(),
        "every gate is in the document"
    );
    snapshot!(json);
}
