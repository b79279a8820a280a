//! `check_summary`.

use phasegate_report::check_summary;

use crate::fixture::roadmap;

#[test]
fn check_summary_of_the_fixture() {
    snapshot!(check_summary(&roadmap(), "phasegate.toml"));
}
