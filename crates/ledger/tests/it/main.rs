//! Integration tests of the ledger on real SQLite files.

mod support;

mod chain;
mod encoding;
mod keys;
mod queries;
mod tamper;
