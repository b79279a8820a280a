//! docs/probes.md lists every finding code with the severity the probes give it.

#[test]
fn the_docs_list_every_code_with_its_severity() {
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/probes.md"))
            .expect("docs/probes.md");
    let missing: Vec<String> = phasegate_probes::severity::SEVERITIES
        .iter()
        .map(|(code, s)| format!("| `{code}` | {s} |"))
        .filter(|row| !docs.contains(row.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/probes.md lacks:\n{}",
        missing.join("\n")
    );
}
