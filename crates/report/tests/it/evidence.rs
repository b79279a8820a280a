//! `entry_list` and `verification`.

use phasegate_model::Verdict;
use phasegate_report::{EntryRow, VerifySummary, entry_list, verification};

use crate::fixture::ago;

#[test]
fn entry_list_of_a_run() {
    let row = |seq, kind, gate, verdict| EntryRow {
        seq,
        kind,
        at: ago(5),
        run_id: "20261122T115500Z-0a1b2c3d",
        gate,
        verdict,
    };
    snapshot!(entry_list(&[
        row(1, "run_opened", None, None),
        row(2, "record", Some("build"), Some(Verdict::Pass)),
        row(3, "record", Some("smoke"), Some(Verdict::Fail)),
        row(4, "head", None, None),
    ]));
}

#[test]
fn entry_list_of_an_empty_ledger_says_how_to_fill_it() {
    let text = entry_list(&[]);
    assert!(
        text.starts_with("the ledger is empty; `phasegate run` adds evidence\n"),
        "{text}"
    );
}

fn summary<'a>(
    broken: Option<&'a str>,
    keys: &'a [String],
    incomplete: &'a [String],
) -> VerifySummary<'a> {
    VerifySummary {
        broken,
        entries: 12,
        records: 7,
        runs_closed: 2,
        key_ids: keys,
        last: Some((
            12,
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        )),
        incomplete,
    }
}

#[test]
fn verification_ok_names_keys_the_chain_head_and_incomplete_runs() {
    let keys = ["ed25519:4f2a".to_owned()];
    let incomplete = ["20261122T115900Z-deadbeef".to_owned()];
    snapshot!(verification(&summary(None, &keys, &incomplete)));
}

#[test]
fn verification_broken_names_the_entry_and_says_nothing_after_it_counts() {
    let text = verification(&summary(
        Some("entry 8 (gate `smoke`): hash mismatch"),
        &[],
        &[],
    ));
    snapshot!(text);
    assert!(!text.contains("ok:"));
}
