//! `why`: one snapshot per state, each from the same ledger and scorecard.

use phasegate_report::why;

use crate::fixture::{ledger, now, roadmap};

/// `why` for `gate` as `phasegate why` would call it.
fn why_of(gate: &str) -> String {
    let rm = roadmap();
    let l = ledger(&rm);
    let card = l.card(&rm);
    why(
        rm.gate(gate).unwrap(),
        card.gate(gate).unwrap(),
        &l.history(gate),
        now(),
    )
}

#[test]
fn why_pass_with_output() {
    snapshot!(why_of("build"));
}

#[test]
fn why_fail_with_findings_measurements_and_a_long_excerpt() {
    snapshot!(why_of("test"));
}

#[test]
fn why_stale_under_an_older_rule() {
    snapshot!(why_of("docs"));
}

#[test]
fn why_missing_probe() {
    snapshot!(why_of("headers"));
}

#[test]
fn why_skipped_advisory() {
    snapshot!(why_of("lint"));
}

#[test]
fn why_waived_after_a_timeout() {
    snapshot!(why_of("audit"));
}

#[test]
fn why_signoff_approved() {
    snapshot!(why_of("review"));
}

#[test]
fn why_signoff_short_of_approvals() {
    snapshot!(why_of("go-live"));
}
