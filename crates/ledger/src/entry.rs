//! The entries of the chain and their canonical encoding.

use jiff::Timestamp;
use phasegate_model::{GitInfo, Provenance, Record, Sha256Hex};
use serde::{Deserialize, Serialize};

use crate::LedgerError;

/// Version of the [`RunOpened`] encoding; bump on any change of its fields.
pub const RUN_OPENED_VERSION: u32 = 1;

/// Version of the [`Head`] encoding; bump on any change of its fields.
pub const HEAD_VERSION: u32 = 1;

/// One entry of the ledger's chain.
#[derive(Debug, Clone, PartialEq)]
#[expect(
    clippy::large_enum_variant,
    reason = "entries are mostly records; boxing them would cost an allocation each and noise at every construction"
)]
pub enum Entry {
    /// A run started.
    RunOpened(RunOpened),
    /// One gate attempt.
    Record(Record),
    /// A run ended: the signed summary of its records.
    Head(Head),
}

/// The kind of an [`Entry`], as stored in the `type` field and the `kind` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// [`Entry::RunOpened`].
    RunOpened,
    /// [`Entry::Record`].
    Record,
    /// [`Entry::Head`].
    Head,
}

impl EntryKind {
    /// The name used in the encoding and in storage: `run_opened`, `record` or `head`.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::RunOpened => "run_opened",
            EntryKind::Record => "record",
            EntryKind::Head => "head",
        }
    }

    /// The kind named `name`, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "run_opened" => Some(EntryKind::RunOpened),
            "record" => Some(EntryKind::Record),
            "head" => Some(EntryKind::Head),
            _ => None,
        }
    }
}

impl std::fmt::Display for EntryKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The start of a run: what was asked for, against which roadmap, where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunOpened {
    /// Encoding version ([`RUN_OPENED_VERSION`]).
    pub v: u32,
    /// The run's id, unique in the ledger.
    pub run_id: String,
    /// When the run started.
    pub started_at: Timestamp,
    /// SHA-256 of the roadmap file the run used.
    pub roadmap_sha256: Sha256Hex,
    /// The phases and gates named on the command line (empty: everything).
    pub selection: Vec<String>,
    /// The repository state, when the roadmap is in a git work tree.
    pub git: Option<GitInfo>,
    /// Host name of the machine running it.
    pub host: String,
    /// phasegate's version.
    pub tool_version: String,
}

impl RunOpened {
    /// The opening of a run made under `provenance`, asked to run `selection`.
    pub fn new(provenance: &Provenance, started_at: Timestamp, selection: Vec<String>) -> Self {
        RunOpened {
            v: RUN_OPENED_VERSION,
            run_id: provenance.run_id.clone(),
            started_at,
            roadmap_sha256: provenance.roadmap_sha256.clone(),
            selection,
            git: provenance.git.clone(),
            host: provenance.host.clone(),
            tool_version: provenance.tool_version.clone(),
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Every selected gate was attempted.
    Completed,
    /// The run was stopped early (Ctrl-C, a fatal error); its records up to then are kept.
    Interrupted,
}

impl RunStatus {
    /// The lowercase name used in output and storage.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Completed => "completed",
            RunStatus::Interrupted => "interrupted",
        }
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The signed end of a run: a Merkle root over exactly the records carrying its run id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// Encoding version ([`HEAD_VERSION`]).
    pub v: u32,
    /// The run it closes.
    pub run_id: String,
    /// How the run ended.
    pub status: RunStatus,
    /// When the run was closed.
    pub closed_at: Timestamp,
    /// Number of records of the run.
    pub records: u64,
    /// Sequence number of the run's first record, if it has any.
    pub first_seq: Option<u64>,
    /// Sequence number of the run's last record, if it has any.
    pub last_seq: Option<u64>,
    /// Hex RFC 6962 Merkle root over the entry hashes of the run's records, in seq order.
    pub root: String,
    /// Id of the signing key ([`crate::Key::key_id`]).
    pub key_id: String,
    /// Hex ed25519 public key.
    pub public_key: String,
    /// Hex ed25519 signature over the canonical encoding of this head with `signature` empty.
    pub signature: String,
}

impl Head {
    /// The bytes the signature covers: the canonical encoding with `signature` empty.
    pub fn signed_bytes(&self) -> Result<Vec<u8>, LedgerError> {
        let unsigned = Head {
            signature: String::new(),
            ..self.clone()
        };
        encode(&Entry::Head(unsigned))
    }
}

impl Entry {
    /// The entry's kind.
    pub fn kind(&self) -> EntryKind {
        match self {
            Entry::RunOpened(_) => EntryKind::RunOpened,
            Entry::Record(_) => EntryKind::Record,
            Entry::Head(_) => EntryKind::Head,
        }
    }

    /// The run the entry belongs to.
    pub fn run_id(&self) -> &str {
        match self {
            Entry::RunOpened(r) => &r.run_id,
            Entry::Record(r) => &r.run_id,
            Entry::Head(h) => &h.run_id,
        }
    }

    /// The entry's own time: when the run or attempt started, or when the run closed.
    pub fn at(&self) -> Timestamp {
        match self {
            Entry::RunOpened(r) => r.started_at,
            Entry::Record(r) => r.started_at,
            Entry::Head(h) => h.closed_at,
        }
    }

    /// The encoding version the entry carries.
    pub fn version(&self) -> u32 {
        match self {
            Entry::RunOpened(r) => r.v,
            Entry::Record(r) => r.v,
            Entry::Head(h) => h.v,
        }
    }
}

/// The canonical encoding of `entry`: `{"type":"<kind>",<the struct's fields in declaration
/// order>}` as compact JSON. Structs have a fixed field order and maps are `BTreeMap`s, so the
/// same entry always gives the same bytes.
pub fn encode(entry: &Entry) -> Result<Vec<u8>, LedgerError> {
    let inner = match entry {
        Entry::RunOpened(r) => serde_json::to_vec(r),
        Entry::Record(r) => {
            // serde_json writes NaN and infinities as `null`, which would not decode again:
            // refuse them here rather than store a record that verify must call broken.
            if let Some((name, _)) = r.measurements.iter().find(|(_, v)| !v.is_finite()) {
                return Err(LedgerError::NonFiniteMeasurement {
                    gate: r.gate.to_string(),
                    name: name.clone(),
                });
            }
            serde_json::to_vec(r)
        }
        Entry::Head(h) => serde_json::to_vec(h),
    }
    .map_err(|source| LedgerError::Encode { source })?;
    // Every entry struct has fields, so `inner` is `{...}` with something after the brace.
    debug_assert!(inner.len() > 2 && inner[0] == b'{');
    let kind = entry.kind().as_str();
    let mut out = Vec::with_capacity(inner.len() + kind.len() + 11);
    out.extend_from_slice(b"{\"type\":\"");
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(b"\",");
    out.extend_from_slice(&inner[1..]);
    Ok(out)
}

/// Decodes a canonical encoding made by [`encode`]. The `type` field must come first, as
/// `encode` writes it; this lets the body be parsed straight into its struct, without the
/// buffering serde needs for internally tagged enums (verify decodes every entry).
pub fn decode(body: &[u8]) -> Result<Entry, String> {
    let rest = body
        .strip_prefix(b"{\"type\":\"")
        .ok_or_else(|| "body does not start with `{\"type\":\"`".to_owned())?;
    let end = rest
        .iter()
        .position(|&b| b == b'"')
        .ok_or_else(|| "unterminated `type`".to_owned())?;
    let name = std::str::from_utf8(&rest[..end]).map_err(|_| "`type` is not UTF-8".to_owned())?;
    let kind = EntryKind::from_name(name).ok_or_else(|| format!("unknown entry type `{name}`"))?;
    let fields = rest[end + 1..]
        .strip_prefix(b",")
        .ok_or_else(|| "no fields after `type`".to_owned())?;
    let mut object = Vec::with_capacity(fields.len() + 1);
    object.push(b'{');
    object.extend_from_slice(fields);
    let entry = match kind {
        EntryKind::RunOpened => serde_json::from_slice(&object).map(Entry::RunOpened),
        EntryKind::Record => serde_json::from_slice(&object).map(Entry::Record),
        EntryKind::Head => serde_json::from_slice(&object).map(Entry::Head),
    };
    entry.map_err(|e| format!("invalid `{name}` entry: {e}"))
}
