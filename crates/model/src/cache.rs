//! The gate cache's vocabulary: what a gate's result depends on (its [`Manifest`]), the
//! key derived from it, what a record says about the cache ([`CacheInfo`]), what changed
//! between two manifests ([`Change`]) and why a run did or did not reuse evidence
//! ([`CacheDecision`]). Pure: hashing files is the runner's job, finding evidence the
//! engine's.

use std::collections::BTreeMap;
use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{Gate, GateId, Sha256Hex, sha256_hex};

/// Version of the [`Manifest`] encoding. It is part of every key, so changing what goes
/// into a key makes every earlier key differ (and says so: [`Change::Format`]).
pub const MANIFEST_VERSION: u32 = 1;

/// Everything a gate's result depends on, piece by piece: kept whole in the evidence (not
/// only its digest) so that a miss can say what changed. Maps are sorted, so the same
/// manifest always encodes to the same bytes and the same key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Encoding version ([`MANIFEST_VERSION`]).
    pub v: u32,
    /// phasegate's version: a new phasegate may judge differently.
    pub tool_version: String,
    /// SHA-256 of each field of the gate's definition, by name (`command`, `probe`,
    /// `params.<name>`, `env.<NAME>`, `timeout_ms`, ...: [`definition_fields`]).
    pub definition: BTreeMap<String, Sha256Hex>,
    /// SHA-256 of the content of each file the `inputs` globs match, by path relative to
    /// the roadmap's directory, with `/` separators.
    pub files: BTreeMap<String, Sha256Hex>,
    /// SHA-256 of the value of each variable the key declares ([`Gate::cache_vars`]),
    /// `None` when it is unset. Never the value itself: some are secrets.
    pub env: BTreeMap<String, Option<Sha256Hex>>,
    /// The cache key of each gate this one needs.
    pub needs: BTreeMap<GateId, Sha256Hex>,
}

impl Manifest {
    /// The manifest of `gate` from what was observed: file digests, variable values
    /// (looked up by `var`, hashed here) and the keys of its needs.
    pub fn new(
        gate: &Gate,
        tool_version: &str,
        files: BTreeMap<String, Sha256Hex>,
        vars: impl IntoIterator<Item = (String, Option<String>)>,
        needs: BTreeMap<GateId, Sha256Hex>,
    ) -> Manifest {
        Manifest {
            v: MANIFEST_VERSION,
            tool_version: tool_version.to_owned(),
            definition: definition_fields(gate),
            files,
            env: vars
                .into_iter()
                .map(|(name, value)| {
                    let digest = value.map(|v| env_digest(&name, &v));
                    (name, digest)
                })
                .collect(),
            needs,
        }
    }

    /// The cache key: SHA-256 of the manifest's encoding.
    pub fn key(&self) -> Sha256Hex {
        sha256_hex(&serde_json::to_vec(self).expect("a manifest always serializes"))
    }

    /// SHA-256 over the input files alone (path and content digest of each, sorted): the
    /// record's `inputs_sha256`.
    pub fn files_sha256(&self) -> Sha256Hex {
        let mut text = String::new();
        for (path, digest) in &self.files {
            // Paths hold no newline (the runner skips such files), digests are hex.
            text.push_str(&format!("{digest}  {path}\n"));
        }
        sha256_hex(text.as_bytes())
    }

    /// What changed from `before` to `self`, in a stable order: format and tool version,
    /// definition fields, variables, needed gates, then files.
    pub fn changes_since(&self, before: &Manifest) -> Vec<Change> {
        let mut out = Vec::new();
        if self.v != before.v {
            out.push(Change::Format);
        }
        if self.tool_version != before.tool_version {
            out.push(Change::ToolVersion {
                from: before.tool_version.clone(),
                to: self.tool_version.clone(),
            });
        }
        for (name, how) in diff(&before.definition, &self.definition) {
            out.push(Change::Definition {
                field: name.clone(),
                how,
            });
        }
        for (name, how) in diff(&before.env, &self.env) {
            // A variable newly declared, or no longer declared, changed the key as much
            // as one whose value changed; set/unset says more than "declared".
            let how = match (before.env.get(name), self.env.get(name)) {
                (Some(None) | None, Some(Some(_))) => How::Added,
                (Some(Some(_)), Some(None) | None) => How::Removed,
                _ => how,
            };
            out.push(Change::Env {
                name: name.clone(),
                how,
            });
        }
        for (id, how) in diff(&before.needs, &self.needs) {
            out.push(Change::Need {
                gate: id.clone(),
                how,
            });
        }
        for (path, how) in diff(&before.files, &self.files) {
            out.push(Change::File {
                path: path.clone(),
                how,
            });
        }
        out
    }
}

/// Each key of `before` or `after` whose value differs, with how.
fn diff<'m, K: Ord, V: PartialEq>(
    before: &'m BTreeMap<K, V>,
    after: &'m BTreeMap<K, V>,
) -> Vec<(&'m K, How)> {
    let mut out: Vec<(&K, How)> = Vec::new();
    for (k, v) in after {
        match before.get(k) {
            None => out.push((k, How::Added)),
            Some(old) if old != v => out.push((k, How::Changed)),
            Some(_) => {}
        }
    }
    out.extend(
        before
            .keys()
            .filter(|k| !after.contains_key(*k))
            .map(|k| (k, How::Removed)),
    );
    out.sort_by(|a, b| a.0.cmp(b.0));
    out
}

/// The digest of a variable's value as a manifest keeps it: bound to the variable's name,
/// so equal values of two variables do not show as equal digests.
fn env_digest(name: &str, value: &str) -> Sha256Hex {
    sha256_hex(format!("phasegate-env-v1\0{name}\0{value}").as_bytes())
}

/// The fields of `gate`'s definition, each with the SHA-256 of its JSON encoding, named as
/// a person would look for them: `kind`, `command`, `probe`, `params.<name>`, `roles`,
/// `env.<NAME>` and the gate's other fields by their names (`timeout_ms`, `cwd`, ...).
/// The id is left out (it names the gate, it does not define it), and so is `needs`: the
/// needed gates are in the manifest with their keys.
pub fn definition_fields(gate: &Gate) -> BTreeMap<String, Sha256Hex> {
    let digest = |v: &serde_json::Value| {
        sha256_hex(&serde_json::to_vec(v).expect("a JSON value always serializes"))
    };
    let serde_json::Value::Object(fields) =
        serde_json::to_value(gate).expect("a gate always serializes")
    else {
        unreachable!("a gate serializes as an object");
    };
    let mut out = BTreeMap::new();
    for (name, value) in &fields {
        match (name.as_str(), value) {
            ("id" | "needs", _) => {}
            ("kind", serde_json::Value::Object(kind)) => {
                for (k, v) in kind {
                    match (k.as_str(), v) {
                        ("params", serde_json::Value::Object(params)) => {
                            for (p, v) in params {
                                out.insert(format!("params.{p}"), digest(v));
                            }
                        }
                        _ => {
                            out.insert(k.clone(), digest(v));
                        }
                    }
                }
            }
            ("env", serde_json::Value::Object(env)) => {
                for (k, v) in env {
                    out.insert(format!("env.{k}"), digest(v));
                }
            }
            _ => {
                out.insert(name.clone(), digest(value));
            }
        }
    }
    out
}

/// How one piece of a manifest changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum How {
    /// It is new (a file now matched, a variable now set, a field now given).
    Added,
    /// It is gone.
    Removed,
    /// It is there in both, with another content.
    Changed,
}

impl How {
    fn as_str(self) -> &'static str {
        match self {
            How::Added => "added",
            How::Removed => "removed",
            How::Changed => "changed",
        }
    }
}

/// One difference between a gate's manifest now and the one of its evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "what")]
pub enum Change {
    /// An input file was added, removed or changed.
    File {
        /// Relative to the roadmap's directory.
        path: String,
        /// How.
        how: How,
    },
    /// A declared variable was set, unset or changed.
    Env {
        /// The variable.
        name: String,
        /// How.
        how: How,
    },
    /// A field of the gate's definition ([`definition_fields`]).
    Definition {
        /// The field.
        field: String,
        /// How.
        how: How,
    },
    /// A needed gate's key changed (or a need was added or removed).
    Need {
        /// The needed gate.
        gate: GateId,
        /// How.
        how: How,
    },
    /// Another phasegate version.
    ToolVersion {
        /// The version of the evidence.
        from: String,
        /// This one.
        to: String,
    },
    /// The manifest format itself changed.
    Format,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::File { path, how } => write!(f, "file `{path}` {}", how.as_str()),
            Change::Env { name, how } => match how {
                How::Added => write!(f, "variable `{name}` set"),
                How::Removed => write!(f, "variable `{name}` unset"),
                How::Changed => write!(f, "variable `{name}` changed"),
            },
            Change::Definition { field, how } => {
                write!(f, "`{field}` {} in the gate's definition", how.as_str())
            }
            Change::Need {
                gate,
                how: How::Changed,
            } => write!(f, "needed gate `{gate}` changed"),
            Change::Need { gate, how } => write!(f, "need `{gate}` {}", how.as_str()),
            Change::ToolVersion { from, to } => write!(f, "phasegate {from} -> {to}"),
            Change::Format => f.write_str("the cache key format changed"),
        }
    }
}

/// What a record says about the cache: stored in [`crate::Record::cache`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheInfo {
    /// The gate's cache key when it ran ([`Manifest::key`]).
    pub key: Sha256Hex,
    /// What the key was made of; absent on a cached record (its evidence holds it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<Manifest>,
    /// Input files the gate itself changed while it ran (hashed before and after): such
    /// a result is never reused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub modified: Vec<String>,
    /// Set on a cached record: the evidence whose result it reuses. The gate did not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<CachedFrom>,
}

/// The evidence a cached record reuses: always the attempt that actually ran, never
/// another cached record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedFrom {
    /// Its ledger sequence number.
    pub seq: u64,
    /// Its ledger entry hash: what an approval covering the gate covers.
    pub entry_hash: String,
    /// Its run.
    pub run_id: String,
    /// When it started: freshness (`fresh_for`) is judged from here, not from the cached
    /// record, so reusing a result never makes it younger.
    pub started_at: Timestamp,
    /// How long it took.
    pub duration_ms: u64,
}

/// Why a run reused a gate's evidence or ran it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "decision")]
pub enum CacheDecision {
    /// Reused: the key matches passing, fresh, trusted evidence.
    Hit(CachedFrom),
    /// Not cacheable ([`Gate::not_cacheable_because`]).
    NotCacheable(String),
    /// The run was told not to use the cache (`--no-cache`).
    Forced,
    /// The gate has no evidence with a cache key yet.
    NoEvidence,
    /// Its evidence does not pass now (failed, stale, untrusted, ...): failures are never
    /// reused.
    NotPassing(String),
    /// The gate's inputs changed while it last ran (by the gate itself, most likely).
    ModifiedItself(Vec<String>),
    /// The key changed; what changed since the evidence (empty when the evidence keeps no
    /// manifest to compare with).
    Changed(Vec<Change>),
    /// Its inputs could not be hashed.
    Unhashable(String),
}

impl fmt::Display for CacheDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CacheDecision::Hit(from) => write!(f, "cached from evidence #{}", from.seq),
            CacheDecision::NotCacheable(why) => write!(f, "not cacheable: {why}"),
            CacheDecision::Forced => f.write_str("--no-cache"),
            CacheDecision::NoEvidence => f.write_str("no earlier evidence to reuse"),
            CacheDecision::NotPassing(why) => write!(f, "its evidence is not a pass ({why})"),
            CacheDecision::ModifiedItself(files) => write!(
                f,
                "its inputs changed while it last ran (`{}`)",
                files.join("`, `")
            ),
            CacheDecision::Changed(changes) if changes.is_empty() => {
                f.write_str("its cache key changed")
            }
            CacheDecision::Changed(changes) => {
                let list: Vec<String> = changes.iter().map(ToString::to_string).collect();
                write!(f, "changed: {}", list.join(", "))
            }
            CacheDecision::Unhashable(why) => write!(f, "its inputs could not be hashed: {why}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(files: &[(&str, &str)], env: &[(&str, Option<&str>)]) -> Manifest {
        Manifest {
            v: MANIFEST_VERSION,
            tool_version: "1".into(),
            definition: BTreeMap::from([("command".to_owned(), "c".to_owned())]),
            files: files
                .iter()
                .map(|(p, d)| (p.to_string(), d.to_string()))
                .collect(),
            env: env
                .iter()
                .map(|(n, v)| (n.to_string(), v.map(str::to_owned)))
                .collect(),
            needs: BTreeMap::new(),
        }
    }

    #[test]
    fn changes_name_each_file_and_variable_and_an_equal_manifest_has_the_same_key() {
        let before = manifest(&[("a", "1"), ("b", "2")], &[("X", Some("x")), ("Y", None)]);
        let after = manifest(&[("b", "3"), ("c", "4")], &[("X", None), ("Y", Some("y"))]);
        let changes: Vec<String> = after
            .changes_since(&before)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            changes,
            [
                "variable `X` unset",
                "variable `Y` set",
                "file `a` removed",
                "file `b` changed",
                "file `c` added"
            ]
        );
        assert_eq!(before.key(), before.clone().key());
        assert_ne!(before.key(), after.key());
        assert!(before.changes_since(&before).is_empty());
    }
}
