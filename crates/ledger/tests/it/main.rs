//! Integration tests of the ledger: the `Store` conformance suite on SQLite and PostgreSQL,
//! and the SQLite store's own behaviours.

mod support;

mod conformance;
mod encoding;
mod keys;
mod queries;
mod tamper;
