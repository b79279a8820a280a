//! Integration tests: the real `phasegate` binary on temporary roadmaps.

mod config;
mod harness;
mod ledger;
mod process;
mod run;
mod status;
