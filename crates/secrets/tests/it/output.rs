//! The renderers: SARIF validated against the official 2.1.0 schema, JSON and the table.

use crate::fixture_set;

#[test]
fn sarif_is_valid_against_the_2_1_0_schema() {
    let dir = tempfile::tempdir().unwrap();
    fixture_set::write(dir.path(), 7);
    std::fs::write(dir.path().join("a dir ü.env"), "x = 1\n").unwrap();
    let scanner = phasegate_secrets::Scanner::new(phasegate_secrets::Config::builtin()).unwrap();
    let scan = scanner
        .scan_tree(dir.path(), &phasegate_secrets::Options::default())
        .unwrap();
    let sarif: serde_json::Value =
        serde_json::from_str(&phasegate_secrets::render::sarif(&scan, &scanner.rules())).unwrap();
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../sarif-schema-2.1.0.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), scan.findings.len());
    let first = &results[0]["locations"][0]["physicalLocation"];
    assert_eq!(
        first["artifactLocation"]["uri"],
        scan.findings[0].file.as_str()
    );
    assert_eq!(first["region"]["startLine"], scan.findings[0].line);
    // An empty scan is a valid log too.
    let empty = phasegate_secrets::render::sarif(&phasegate_secrets::Scan::default(), &[]);
    assert!(validator.is_valid(&serde_json::from_str(&empty).unwrap()));
}

#[test]
fn json_and_table_name_file_line_and_rule() {
    let dir = tempfile::tempdir().unwrap();
    let (planted, _) = fixture_set::write(dir.path(), 7);
    let scan = crate::scan(dir.path());
    let json: serde_json::Value =
        serde_json::from_str(&phasegate_secrets::render::json(&scan)).unwrap();
    assert_eq!(json["version"], 1);
    assert_eq!(json["findings"].as_array().unwrap().len(), planted.len());
    let table = phasegate_secrets::render::table(&scan);
    let p = &planted[0];
    assert!(
        table.contains(&format!("{}:{}:", p.file, p.line)),
        "{table}"
    );
    assert!(
        table.contains(&format!("{} secrets in", planted.len())),
        "{table}"
    );
}
