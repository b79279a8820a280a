//! Integration tests of the ledger: the `Store` conformance suite on SQLite and PostgreSQL,
//! the SQLite store's own behaviours, and the PostgreSQL store over TLS.

mod support;

mod conformance;
mod encoding;
mod keys;
mod queries;
mod tamper;
#[cfg(feature = "postgres")]
mod tls;
