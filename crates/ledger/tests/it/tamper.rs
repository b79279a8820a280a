//! Every kind of tampering is reported at the right entry.

use phasegate_ledger::{
    Entry, Head, Key, Ledger, Row, RunStatus, SqliteStore, Store, entry_hash, merkle_root,
};
use phasegate_model::Verdict;
use proptest::prelude::*;
use rusqlite::params;

use crate::support::{Fixture, open_run_entries, record, sql};

/// Two runs, one closed and one open: 1 + 4 + 1 + 1 + 2 = 9 entries.
fn populated() -> Fixture {
    let mut f = Fixture::new();
    let key = Key::from_hex(&"07".repeat(32)).unwrap();
    f.ledger.append_batch(&open_run_entries("a", 4)).unwrap();
    f.ledger.close_run("a", RunStatus::Completed, &key).unwrap();
    f.ledger.append_batch(&open_run_entries("b", 2)).unwrap();
    assert!(f.ledger.verify().unwrap().is_ok());
    f
}

fn body(f: &Fixture, seq: u64) -> Vec<u8> {
    f.sql()
        .query_row(
            "SELECT body FROM entries WHERE seq = ?1",
            [seq as i64],
            |r| r.get(0),
        )
        .unwrap()
}

fn broken_at(f: &Fixture) -> (u64, String) {
    let v = f.ledger.verify().unwrap();
    let b = v.broken.expect("verify must report the tampering");
    (b.seq, b.reason)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn any_flipped_body_byte_breaks_exactly_that_entry(
        seq in 1u64..=9,
        position in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let f = populated();
        let mut b = body(&f, seq);
        let i = position.index(b.len());
        b[i] ^= flip;
        f.sql().execute("UPDATE entries SET body = ?1 WHERE seq = ?2", params![b, seq as i64]).unwrap();
        let (at, reason) = broken_at(&f);
        prop_assert_eq!(at, seq, "{}", reason);
    }
}

#[test]
fn a_rewritten_entry_with_a_recomputed_hash_breaks_the_next_link() {
    let f = populated();
    let conn = f.sql();
    let (prev, mut b): (Vec<u8>, Vec<u8>) = conn
        .query_row(
            "SELECT prev_hash, body FROM entries WHERE seq = 3",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let text = String::from_utf8(b.clone())
        .unwrap()
        .replace("\"pass\"", "\"fail\"");
    b = text.into_bytes();
    let hash = entry_hash(3, &prev.try_into().unwrap(), &b);
    conn.execute(
        "UPDATE entries SET body = ?1, hash = ?2, verdict = 'fail' WHERE seq = 3",
        params![b, hash.to_vec()],
    )
    .unwrap();
    let (at, reason) = broken_at(&f);
    assert_eq!(at, 4, "{reason}");
    assert_eq!(reason, "prev_hash does not link to entry 3");
}

/// Rewrites the whole table from `entries`' bodies with a freshly computed, valid chain:
/// what someone with write access and this crate's source could do.
fn rechain(f: &Fixture, keep: impl Fn(u64) -> bool) {
    let rows: Vec<Row> = SqliteStore::open(&f.db_path())
        .unwrap()
        .tail(usize::MAX)
        .unwrap()
        .into_iter()
        .filter(|row| keep(row.seq))
        .collect();
    let conn = f.sql();
    conn.execute("DELETE FROM entries", []).unwrap();
    let mut prev = [0u8; 32];
    for (i, row) in rows.into_iter().enumerate() {
        let seq = i as u64 + 1;
        let hash = entry_hash(seq, &prev, &row.body);
        conn.execute(
            "INSERT INTO entries (seq, kind, run_id, gate, verdict, at, body, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                seq as i64,
                row.kind,
                row.run_id,
                row.gate,
                row.verdict,
                row.at,
                row.body,
                prev.to_vec(),
                hash.to_vec()
            ],
        )
        .unwrap();
        prev = hash;
    }
}

#[test]
fn a_removed_record_with_a_rebuilt_chain_breaks_the_head_root() {
    let f = populated();
    rechain(&f, |seq| seq != 3);
    let (at, reason) = broken_at(&f);
    assert_eq!(at, 5, "the head moved from 6 to 5: {reason}");
    assert!(
        reason.starts_with("head does not match the run's records: it covers 4"),
        "{reason}"
    );
}

#[test]
fn an_added_record_with_a_rebuilt_chain_breaks_the_head_root() {
    let mut f = populated();
    // Append a fifth record of run `a` after its head through the raw API path: reopen it by
    // removing the head, add a record, and put the old head back on top.
    let head = f.ledger.get(6).unwrap().unwrap().entry;
    rechain(&f, |seq| seq != 6);
    f.ledger = Ledger::open(f.dir.path()).unwrap();
    f.ledger
        .append_batch(&[Entry::Record(record("a", "extra", Verdict::Pass, 9)), head])
        .unwrap();
    let (at, reason) = broken_at(&f);
    assert_eq!(at, 10, "{reason}");
    assert!(reason.contains("the ledger holds 5"), "{reason}");
}

/// A ledger with run `r` opened and 3 records, no head; and the head `key` would sign.
fn unsigned_run(key: &Key) -> (Fixture, Head) {
    let mut f = Fixture::new();
    f.ledger.append_batch(&open_run_entries("r", 3)).unwrap();
    // Close the same content in a twin ledger to obtain a head with the right root.
    let mut twin = Fixture::new();
    twin.ledger.append_batch(&open_run_entries("r", 3)).unwrap();
    let head = twin
        .ledger
        .close_run("r", RunStatus::Completed, key)
        .unwrap();
    let hashes: Vec<Vec<u8>> = (2..=4)
        .map(|s| hex::decode(f.ledger.get(s).unwrap().unwrap().hash).unwrap())
        .collect();
    assert_eq!(head.root, hex::encode(merkle_root(&hashes)));
    (f, head)
}

#[test]
fn a_head_claiming_another_key_is_a_bad_signature() {
    let owner = Key::generate().unwrap();
    let forger = Key::generate().unwrap();
    let (mut f, mut head) = unsigned_run(&forger);
    head.key_id = owner.key_id();
    head.public_key = owner.public_hex();
    f.ledger.append_batch(&[Entry::Head(head)]).unwrap();
    let (at, reason) = broken_at(&f);
    assert_eq!(at, 5);
    assert_eq!(
        reason,
        format!("bad signature on head (key `{}`)", owner.key_id())
    );
}

#[test]
fn a_head_signed_by_an_untrusted_key_is_reported_when_keys_are_pinned() {
    let owner = Key::generate().unwrap();
    let forger = Key::generate().unwrap();
    let (mut f, head) = unsigned_run(&forger);
    f.ledger.append_batch(&[Entry::Head(head)]).unwrap();
    // Self-consistent: plain verify passes but names the key it saw.
    let v = f.ledger.verify().unwrap();
    assert!(v.is_ok(), "{:?}", v.broken);
    assert_eq!(v.key_ids, [forger.key_id()]);
    let v = f.ledger.verify_trusting(&[owner.key_id()]).unwrap();
    let b = v.broken.unwrap();
    assert_eq!(b.seq, 5);
    assert_eq!(
        b.reason,
        format!("head signed by untrusted key `{}`", forger.key_id())
    );
}

#[test]
fn a_head_with_a_changed_field_fails_its_signature() {
    let key = Key::generate().unwrap();
    let (mut f, mut head) = unsigned_run(&key);
    head.status = RunStatus::Interrupted;
    f.ledger.append_batch(&[Entry::Head(head)]).unwrap();
    let (at, reason) = broken_at(&f);
    assert_eq!(at, 5);
    assert!(reason.starts_with("bad signature"), "{reason}");
}

#[test]
fn a_head_for_an_unknown_run_is_reported() {
    let key = Key::generate().unwrap();
    let (f, mut head) = unsigned_run(&key);
    head.run_id = "ghost".to_owned();
    let closed_at = head.closed_at.to_string();
    let body = phasegate_ledger::encode(&Entry::Head(head)).unwrap();
    let conn = sql(&f.db_path());
    let prev: Vec<u8> = conn
        .query_row("SELECT hash FROM entries WHERE seq = 4", [], |r| r.get(0))
        .unwrap();
    let hash = entry_hash(5, &prev.clone().try_into().unwrap(), &body);
    conn.execute(
        "INSERT INTO entries VALUES (5, 'head', 'ghost', NULL, NULL, ?1, ?2, ?3, ?4)",
        params![closed_at, body, prev, hash.to_vec()],
    )
    .unwrap();
    let (at, reason) = broken_at(&f);
    assert_eq!((at, reason.as_str()), (5, "head for unknown run `ghost`"));
}

#[test]
fn a_ledger_of_records_without_coverage_still_verifies_next_to_records_with_it() {
    // Records written before coverage existed have no `coverage` key; their hashes were
    // computed over those bytes. A run after them adds records with coverage: the whole chain,
    // old part included, must verify, and tampering with a coverage reason must be caught.
    let mut f = Fixture::new();
    let key = Key::from_hex(&"07".repeat(32)).unwrap();
    f.ledger.append_batch(&open_run_entries("old", 2)).unwrap();
    f.ledger
        .close_run("old", RunStatus::Completed, &key)
        .unwrap();
    let old_bodies: Vec<Vec<u8>> = (2..=3).map(|s| body(&f, s)).collect();
    assert!(
        old_bodies
            .iter()
            .all(|b| !String::from_utf8_lossy(b).contains("coverage"))
    );
    let mut entries = open_run_entries("new", 1);
    let Entry::Record(r) = &mut entries[1] else {
        panic!("the second entry of a run is a record")
    };
    r.coverage = Some(phasegate_model::Coverage {
        exercised: vec!["live".into()],
        skipped: vec![phasegate_model::SkippedRule {
            rule: "dependency".into(),
            reason: "no fault hook".into(),
        }],
    });
    f.ledger.append_batch(&entries).unwrap();
    f.ledger
        .close_run("new", RunStatus::Completed, &key)
        .unwrap();
    assert!(f.ledger.verify().unwrap().is_ok());
    assert_eq!((2..=3).map(|s| body(&f, s)).collect::<Vec<_>>(), old_bodies);
    let seq = 6;
    let text = String::from_utf8(body(&f, seq)).unwrap();
    assert!(text.contains("no fault hook"), "{text}");
    let forged = text.replace("no fault hook", "all rules tested");
    f.sql()
        .execute(
            "UPDATE entries SET body = ?1 WHERE seq = ?2",
            params![forged.into_bytes(), seq as i64],
        )
        .unwrap();
    assert_eq!(broken_at(&f).0, seq);
}
