//! Signing keys on disk.

use phasegate_ledger::{Key, LedgerError};

#[test]
fn key_file_is_private_and_reloads_to_the_same_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/keys/signing.key");
    let key = Key::load_or_create(&path).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = Key::load_or_create(&path).unwrap();
    assert_eq!(again.key_id(), key.key_id());
    assert_eq!(again.public_hex(), key.public_hex());
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(Key::from_hex(&text).unwrap().key_id(), key.key_id());
    // Nothing but the key file is left behind.
    let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["signing.key"]);
}

#[test]
fn concurrent_creators_share_one_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signing.key");
    let ids: Vec<String> = (0..4)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || Key::load_or_create(&path).unwrap().key_id())
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
}

#[test]
fn a_malformed_key_file_is_reported_without_its_content() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signing.key");
    std::fs::write(&path, "secret-but-not-hex").unwrap();
    let err = Key::load_or_create(&path).unwrap_err();
    assert!(matches!(err, LedgerError::InvalidKeyFile { .. }));
    let msg = err.to_string();
    assert!(msg.starts_with("invalid signing key file `"), "{msg}");
    assert!(!msg.contains("secret-but-not-hex"), "{msg}");
}
