//! phasegate's evidence ledger: an append-only chain of [`Entry`]s — runs opened, gate
//! attempts ([`phasegate_model::Record`]) and signed run [`Head`]s — that anyone can
//! [`Ledger::verify`].
//!
//! Each entry is stored in its canonical encoding ([`encode`]) with a SHA-256 hash over its
//! position, the previous entry's hash and its bytes ([`entry_hash`]); each run closes with
//! a head holding an RFC 6962 Merkle root over the run's records, signed with an ed25519
//! [`Key`]. Verify recomputes all of it and names the first entry that does not match.
//!
//! The entry point is [`Ledger`] ([`Ledger::open`] for the SQLite file in a directory,
//! [`Ledger::open_url`] for a directory or a `postgres://` URL). The raw table sits behind
//! the [`Store`] trait, implemented by [`SqliteStore`] and, with the default `postgres`
//! feature, `PostgresStore`; hashing, signing and verifying stay above the trait.
//!
//! This crate does not decide what a record means (that is `phasegate-model`), does not
//! run gates, never prints and never reads the environment: the caller passes keys and
//! paths. It is synchronous; async callers use `spawn_blocking`. See `docs/ledger.md`.

mod entry;
mod error;
mod hash;
mod key;
mod ledger;
#[cfg(feature = "postgres")]
mod postgres;
mod sqlite;
mod store;
#[cfg(feature = "postgres")]
mod tls;
mod url;
mod verify;

pub use entry::{
    Entry, EntryKind, HEAD_VERSION, Head, RUN_OPENED_VERSION, RunOpened, RunStatus, decode, encode,
};
pub use error::LedgerError;
pub use hash::{CHAIN_DOMAIN, MerkleBuilder, ZERO_HASH, entry_hash, merkle_root};
pub use key::{Key, key_id_of};
pub use ledger::{LEDGER_FILE, Ledger, RunSummary, StoredEntry, Summary, is_postgres_url};
#[cfg(feature = "postgres")]
pub use postgres::{DEFAULT_SCHEMA, PG_SCHEMA_VERSION, PostgresStore};
pub use sqlite::{SCHEMA_VERSION, SqliteStore};
pub use store::{BuildRows, Row, Store, Tip, Visit};
pub use url::{redact_url, url_secrets};
pub use verify::{Broken, CHECKPOINT_VERSION, Checkpoint, Verification};
