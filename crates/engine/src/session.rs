//! One project session: the roadmap, where its evidence lives and the key that signs it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use phasegate_ledger::{Entry, Key, Ledger, StoredEntry};
use phasegate_model::{
    Evidence, GateKind, Provenance, Scorecard, evaluate_evidence, evaluate_trusting,
};
use phasegate_roadmap::Loaded;

use crate::Error;
use crate::fsutil::absolute;
use crate::trust::Judge;

/// Environment variable a front end reads the signing key's seed (hex) from, instead of
/// the key file.
pub const SIGNING_KEY_VAR: &str = "PHASEGATE_SIGNING_KEY";

/// Environment variable a front end reads the path of a file holding the signing key's
/// seed (hex) from, e.g. one a CI system mounts.
pub const SIGNING_KEY_FILE_VAR: &str = "PHASEGATE_SIGNING_KEY_FILE";

/// Environment variable that, set to `1`, lets a key file inside a git work tree be used.
pub const ALLOW_KEY_IN_TREE_VAR: &str = "PHASEGATE_ALLOW_KEY_IN_TREE";

/// Environment variable a front end reads the ledger's location (a directory or a
/// PostgreSQL URL, which may hold a password) from.
pub const LEDGER_VAR: &str = "PHASEGATE_LEDGER";

/// How to open a session. The engine never reads the environment itself: what it needs of
/// it (the signing key, declared secrets, the user's name) comes in here.
#[derive(Clone, Default)]
pub struct Options {
    /// The roadmap file (a relative path is taken from the process's current directory);
    /// `None` finds `phasegate.toml` in `cwd` or its parents.
    pub config: Option<PathBuf>,
    /// Where the roadmap is looked for when `config` is `None`.
    pub cwd: PathBuf,
    /// The ledger directory, or a PostgreSQL URL (`postgres://...`); `None` is
    /// `.phasegate/` beside the roadmap.
    pub ledger: Option<PathBuf>,
    /// The signing key's seed as hex ([`SIGNING_KEY_VAR`]); `None` uses
    /// [`Options::signing_key_file`], else the project's key in [`Options::key_dir`].
    pub signing_key_hex: Option<String>,
    /// A file holding the signing key's seed as hex ([`SIGNING_KEY_FILE_VAR`]), e.g. one a
    /// CI system mounts; never created.
    pub signing_key_file: Option<PathBuf>,
    /// The directory of this user's signing keys (`$XDG_STATE_HOME/phasegate/keys`): the
    /// project's key is `<key id>.key` there, its id in `.phasegate/key-id`. `None` keeps
    /// the key in the ledger directory as `signing.key` (for embedding; refused inside a
    /// git work tree like any key there).
    pub key_dir: Option<PathBuf>,
    /// Use a key file found inside a git work tree ([`ALLOW_KEY_IN_TREE_VAR`]) instead of
    /// refusing it.
    pub allow_key_in_tree: bool,
    /// Environment variables the session may read declared secrets from.
    pub vars: BTreeMap<String, String>,
    /// The user's login name, the last resort for who makes a statement.
    pub user: Option<String>,
    /// The `ssh-agent` socket (`SSH_AUTH_SOCK`), for signing statements with a key it holds.
    pub ssh_auth_sock: Option<PathBuf>,
    /// Further variables that are the front end's own secrets: no gate, service or hook
    /// inherits them. [`SIGNING_KEY_VAR`] and [`LEDGER_VAR`] are always withheld.
    pub withheld_vars: Vec<String>,
}

// The environment holds secrets: Debug shows names only.
impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("config", &self.config)
            .field("cwd", &self.cwd)
            .field(
                "ledger",
                &self
                    .ledger
                    .as_ref()
                    .map(|l| phasegate_ledger::redact_url(&l.to_string_lossy())),
            )
            .field(
                "signing_key_hex",
                &self.signing_key_hex.as_ref().map(|_| "[REDACTED]"),
            )
            .field("signing_key_file", &self.signing_key_file)
            .field("key_dir", &self.key_dir)
            .field("allow_key_in_tree", &self.allow_key_in_tree)
            .field("vars", &self.vars.keys().collect::<Vec<_>>())
            .field("user", &self.user)
            .field("ssh_auth_sock", &self.ssh_auth_sock)
            .field("withheld_vars", &self.withheld_vars)
            .finish()
    }
}

/// The roadmap a front end works on, and where its evidence lives.
pub struct Session {
    /// The roadmap as loaded and validated.
    pub loaded: Loaded,
    /// The roadmap's directory.
    pub root: PathBuf,
    /// The ledger directory; with a database URL it still holds the signing key, logs and
    /// snapshots (`.phasegate/` beside the roadmap).
    pub ledger_dir: PathBuf,
    /// The ledger's PostgreSQL URL, when its entries live there.
    pub ledger_url: Option<String>,
    pub(crate) options: Options,
}

// The ledger URL may hold a password: Debug shows it masked.
impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("loaded", &self.loaded)
            .field("root", &self.root)
            .field("ledger_dir", &self.ledger_dir)
            .field(
                "ledger_url",
                &self.ledger_url.as_deref().map(phasegate_ledger::redact_url),
            )
            .field("options", &self.options)
            .finish()
    }
}

impl Session {
    /// Finds, reads and validates the roadmap (every problem at once, with file:line:column)
    /// and works out where its evidence lives. Nothing is created yet.
    pub fn open(options: Options) -> Result<Session, Error> {
        // A path given is used as written, so diagnostics name the file as the user did.
        let path = match &options.config {
            Some(p) => p.clone(),
            None => phasegate_roadmap::discover(&options.cwd)
                .ok_or_else(|| Error::NoRoadmap(options.cwd.clone()))?,
        };
        let rules = phasegate_roadmap::ProbeRules {
            validate: &validate_probe,
            reads_files: &|kind| {
                phasegate_probes::target(kind) == Some(phasegate_probes::Target::Files)
            },
            coverage: &phasegate_probes::rules,
        };
        let loaded = phasegate_roadmap::load_with(&path, Some(rules))?;
        let parent = loaded.path.parent().filter(|p| !p.as_os_str().is_empty());
        let root = absolute(parent.unwrap_or(Path::new(".")));
        let ledger_url = options
            .ledger
            .as_ref()
            .and_then(|l| l.to_str())
            .filter(|l| phasegate_ledger::is_postgres_url(l))
            .map(str::to_owned);
        let ledger_dir = match &options.ledger {
            Some(dir) if ledger_url.is_none() => absolute(dir),
            _ => root.join(".phasegate"),
        };
        Ok(Session {
            loaded,
            root,
            ledger_dir,
            ledger_url,
            options,
        })
    }

    /// The validated roadmap.
    pub fn roadmap(&self) -> &phasegate_model::Roadmap {
        &self.loaded.roadmap
    }

    /// Opens (creating when needed) the ledger: the PostgreSQL database of the URL, else the
    /// SQLite file in the ledger directory (created with its `.gitignore`).
    pub fn ledger(&self) -> Result<Ledger, Error> {
        Ok(match &self.ledger_url {
            Some(url) => Ledger::open_url(url)?,
            None => {
                self.state_dir()?;
                Ledger::open(&self.ledger_dir)?
            }
        })
    }

    /// Whether the ledger exists: a database URL always counts; a directory ledger once its
    /// SQLite file has been created.
    pub fn has_ledger(&self) -> bool {
        self.ledger_url.is_some()
            || self
                .ledger_dir
                .join(phasegate_ledger::LEDGER_FILE)
                .is_file()
    }

    /// The ledger for reading: where none exists yet, an empty one in memory, so that
    /// read-only commands create nothing.
    pub(crate) fn read_ledger(&self) -> Result<Ledger, Error> {
        Ok(match &self.ledger_url {
            Some(url) => Ledger::open_url(url)?,
            None if self.has_ledger() => Ledger::open(&self.ledger_dir)?,
            None => Ledger::empty()?,
        })
    }

    /// The signing key: the seed given in [`Options::signing_key_hex`], else the file of
    /// [`Options::signing_key_file`], else the project's key in [`Options::key_dir`].
    pub fn signing_key(&self) -> Result<Key, Error> {
        if let Some(hex) = &self.options.signing_key_hex {
            return Key::from_hex(hex.trim()).map_err(|e| {
                Error::usage(
                    format!("{SIGNING_KEY_VAR} is not a valid key: {e}"),
                    "it must hold the 32-byte ed25519 seed as 64 hex characters",
                )
            });
        }
        if let Some(file) = &self.options.signing_key_file {
            let file = absolute(file);
            let key = Key::load(&file)?;
            self.refuse_in_tree(&file, &key)?;
            return Ok(key);
        }
        self.project_key()
    }

    /// The scorecard, evaluated now from the ledger.
    pub fn scorecard(&self) -> Result<Scorecard, Error> {
        Ok(self.evaluate()?.0)
    }

    /// The scorecard and the ledger entries it was evaluated on. The ledger is verified
    /// first (from the last checkpoint on): when it does not verify, the scorecard is
    /// no-go, naming the broken entry ([`Scorecard::broken`]), whatever the gates say.
    ///
    /// With `[trust]`, evidence the pins do not vouch for (a run signed by an unpinned key,
    /// an approval without a valid personal signature) is `untrusted`, never a pass.
    pub fn evaluate(&self) -> Result<(Scorecard, Vec<StoredEntry>), Error> {
        let ledger = self.read_ledger()?;
        let verification = self.verify_incrementally(&ledger)?;
        let entries = self.evidence(&ledger)?;
        let now = Timestamp::now();
        let mut card = match self.pins()? {
            None => evaluate_evidence(self.roadmap(), as_evidence(&entries), now),
            Some(pins) => {
                let judge = Judge::new(&pins, &ledger, &entries)?;
                let distrust = |r: &phasegate_model::Record| judge.distrust(r);
                evaluate_trusting(self.roadmap(), as_evidence(&entries), now, &distrust)
            }
        };
        // The entries judged are rechecked too: the checkpoint only vouches for what came
        // before it as it was then.
        if let Some(broken) = verification.broken.or_else(|| Ledger::recheck(&entries)) {
            card.set_broken(broken.to_string());
        }
        Ok((card, entries))
    }

    /// The ledger entries the scorecard is evaluated on: the latest records, the approvals
    /// of the `signoff` gates, every waiver of the gates a `[[waiver]]` rule covers and the
    /// latest waiver of the others.
    pub(crate) fn evidence(&self, ledger: &Ledger) -> Result<Vec<StoredEntry>, Error> {
        let roadmap = self.roadmap();
        let gates: Vec<&str> = roadmap.gates.iter().map(|g| g.id.as_str()).collect();
        let signoffs: Vec<&str> = roadmap
            .gates
            .iter()
            .filter(|g| matches!(g.kind, GateKind::Signoff { .. }))
            .map(|g| g.id.as_str())
            .collect();
        // Waivers count per granter under the policy: every waiver of a waivable gate.
        let waivable: Vec<&str> = roadmap
            .gates
            .iter()
            .filter(|g| roadmap.waiver_rules(g).next().is_some())
            .map(|g| g.id.as_str())
            .collect();
        Ok(ledger.status_evidence(&gates, &signoffs, &waivable)?)
    }

    /// Values of every declared secret variable present in the session's environment.
    pub(crate) fn secret_values(&self) -> BTreeMap<String, String> {
        phasegate_runner::secret_values(self.roadmap(), |n| self.options.vars.get(n).cloned())
    }

    /// The variables no gate, service or hook inherits: the front end's own secrets.
    pub(crate) fn withheld_vars(&self) -> BTreeSet<String> {
        [SIGNING_KEY_VAR, SIGNING_KEY_FILE_VAR, LEDGER_VAR]
            .into_iter()
            .map(str::to_owned)
            .chain(self.options.withheld_vars.iter().cloned())
            .collect()
    }

    /// Values of the front end's own secrets, redacted from everything a run stores: the
    /// signing key's seed (from the variable or the key file `key` was read from) and the
    /// ledger URL's password.
    pub(crate) fn own_secrets(&self, key: &phasegate_ledger::Key) -> Vec<String> {
        let given = self.options.signing_key_hex.as_deref().map(str::trim);
        // The seed is hex, which a gate may print in either case.
        let seeds = given
            .into_iter()
            .map(str::to_owned)
            .chain([key.seed_hex()])
            .flat_map(|s| [s.clone(), s.to_ascii_lowercase(), s.to_ascii_uppercase()]);
        let passwords = self
            .ledger_url
            .as_deref()
            .map(phasegate_ledger::url_secrets)
            .unwrap_or_default();
        let mut secrets: Vec<String> = seeds.chain(passwords).filter(|s| !s.is_empty()).collect();
        secrets.sort();
        secrets.dedup();
        secrets
    }

    /// The facts every record made now carries, under a new run id.
    pub(crate) fn provenance(&self) -> Result<Provenance, Error> {
        Ok(Provenance {
            run_id: new_run_id()?,
            roadmap_sha256: self.loaded.sha256.clone(),
            git: phasegate_runner::git_info(
                &self.root,
                Some(&self.ledger_dir.join(crate::cache::GIT_CACHE_FILE)),
            ),
            host: phasegate_runner::host_name(),
            tool_version: crate::VERSION.to_owned(),
        })
    }

    /// The gate named `name`, or a usage error with a did-you-mean.
    pub(crate) fn gate(&self, name: &str) -> Result<&phasegate_model::Gate, Error> {
        let roadmap = self.roadmap();
        roadmap.gate(name).ok_or_else(|| {
            Error::unknown("gate", name, roadmap.gates.iter().map(|g| g.id.as_str()))
        })
    }
}

/// The records of `entries` with their entry hashes, as the model evaluates them.
pub(crate) fn as_evidence(entries: &[StoredEntry]) -> impl Iterator<Item = Evidence<'_>> {
    entries.iter().filter_map(|e| match &e.entry {
        Entry::Record(record) => Some(Evidence {
            record,
            entry_hash: Some(&e.hash),
        }),
        _ => None,
    })
}

/// The probes' own judgement of their parameters, for the roadmap's diagnostics.
fn validate_probe(kind: &str, params: &phasegate_probes::Params) -> Vec<(Option<String>, String)> {
    match phasegate_probes::validate(kind, params) {
        Ok(()) => Vec::new(),
        Err(errors) => errors.into_iter().map(|e| (e.key, e.message)).collect(),
    }
}

/// Sortable and unique: UTC time to the second, then 8 random hex digits.
pub(crate) fn new_run_id() -> Result<String, Error> {
    let mut rand = [0u8; 4];
    getrandom::fill(&mut rand).map_err(|e| Error::Io {
        what: "cannot read random bytes".into(),
        source: std::io::Error::other(e.to_string()),
    })?;
    Ok(format!(
        "{}-{}",
        Timestamp::now().strftime("%Y%m%dT%H%M%SZ"),
        hex::encode(rand)
    ))
}
