//! `load` and `discover` on real files.

use std::fs;

use phasegate_model::sha256_hex;
use phasegate_roadmap::{FILE_NAME, LoadError, discover, load, render_plain};

const VALID: &str =
    "[gates.test]\nrun = \"cargo test\"\n[[phase]]\nid = \"p\"\ngates = [\"test\"]\n";

#[test]
fn loads_a_valid_file_with_its_digest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    fs::write(&path, VALID).unwrap();
    let loaded = load(&path).unwrap();
    assert_eq!(loaded.path, path);
    assert_eq!(loaded.source, VALID);
    assert_eq!(loaded.sha256, sha256_hex(VALID.as_bytes()));
    assert_eq!(loaded.roadmap.gates[0].id.as_str(), "test");
}

#[test]
fn a_missing_file_is_an_io_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.toml");
    let err = load(&path).unwrap_err();
    assert!(matches!(err, LoadError::Io { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("cannot read roadmap `{}`: ", path.display())),
        "{message}"
    );
    // The OS error is in the message once, not repeated as a cause.
    let rendered = render_plain(&err);
    assert_eq!(rendered.matches("No such file").count(), 1, "{rendered}");
}

#[test]
fn a_non_utf8_file_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    fs::write(&path, b"name = \"\xff\"\n").unwrap();
    let err = load(&path).unwrap_err();
    assert!(err.to_string().contains("not valid UTF-8"), "{err}");
}

#[test]
fn an_invalid_file_names_the_path_in_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    fs::write(&path, "[gates.test]\nrun = 1\n[[phase]]\nid = \"p\"\n").unwrap();
    let err = load(&path).unwrap_err();
    let LoadError::Invalid(invalid) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(invalid.problems(), 1);
    let rendered = render_plain(&err);
    assert!(
        rendered.contains(&format!("[{}:2:7]", path.display())),
        "{rendered}"
    );
}

#[test]
fn discover_finds_the_nearest_file_upwards() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a/b/c");
    fs::create_dir_all(&nested).unwrap();
    assert_eq!(discover(&nested), None);
    fs::write(dir.path().join(FILE_NAME), VALID).unwrap();
    assert_eq!(discover(&nested), Some(dir.path().join(FILE_NAME)));
    fs::write(dir.path().join("a").join(FILE_NAME), VALID).unwrap();
    assert_eq!(
        discover(&nested),
        Some(dir.path().join("a").join(FILE_NAME))
    );
    // A directory with the name is not a roadmap.
    fs::create_dir(nested.join(FILE_NAME)).unwrap();
    assert_eq!(
        discover(&nested),
        Some(dir.path().join("a").join(FILE_NAME))
    );
}
