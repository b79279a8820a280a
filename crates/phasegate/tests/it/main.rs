//! Integration tests: the real `phasegate` binary on temporary roadmaps.

mod cache;
mod close;
mod config;
mod coverage;
mod daemon;
mod files;
mod flaws;
mod harness;
mod import_honesty;
mod leaks;
mod ledger;
mod load;
mod markdown;
mod pg;
mod probe;
mod process;
mod run;
mod secrets;
mod services;
mod signoff;
mod state;
mod status;
mod trust;
mod watch;
