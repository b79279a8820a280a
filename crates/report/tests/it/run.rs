//! `run_table`.

use phasegate_report::run_table;

use crate::fixture::{roadmap, run};

#[test]
fn run_table_of_each_verdict() {
    let rm = roadmap();
    snapshot!(run_table(&run(&rm), Some(100)));
}
