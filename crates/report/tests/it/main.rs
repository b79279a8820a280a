//! Integration tests of `phasegate-report` (one binary: linking is the slow part). Every
//! renderer is snapshot-tested on one hand-made project ([`fixture`]) whose gates are in
//! each state, at a fixed time, so that a change of output is a reviewed diff.

/// Snapshots live in `tests/snapshots`, beside the test binary's folder.
macro_rules! snapshot {
    ($value:expr) => {
        insta::with_settings!({ snapshot_path => "../snapshots" }, {
            insta::assert_snapshot!($value);
        })
    };
}

mod cache;
mod check;
mod evidence;
mod fixture;
mod probe;
mod run;
mod status;
mod why;
