//! What the roadmap trusts (`[trust]`, `[roles]`): which keys may sign runs, and which
//! people hold which role. Judges each record before the scorecard counts it.

use std::collections::{BTreeMap, BTreeSet};

use phasegate_ledger::{Entry, Ledger, StoredEntry};
use phasegate_model::Record;
use ssh_key::PublicKey;
use ssh_key::public::{Ed25519PublicKey, KeyData};

use crate::identity::{fingerprint, verify};
use crate::signers::AllowedSigners;
use crate::{Error, Session};

/// The notice shown while nothing is pinned.
pub const UNPINNED: &str = "nothing is pinned yet: approvals are not signed with personal keys \
     and runs signed by any key count; add `[trust]` to the roadmap (docs/trust.md)";

/// The roadmap's pins, with the allowed-signers file read.
#[derive(Debug)]
pub(crate) struct Pins {
    pub signers: AllowedSigners,
    roles: BTreeMap<String, Vec<String>>,
    run_signers: Vec<String>,
    /// Ledger key ids of the ed25519 keys `run_signers` hold.
    run_key_ids: BTreeSet<String>,
}

impl Session {
    /// The roadmap's pins; `None` while it has no `[trust]`.
    pub(crate) fn pins(&self) -> Result<Option<Pins>, Error> {
        let Some(trust) = &self.roadmap().trust else {
            return Ok(None);
        };
        let signers = AllowedSigners::read(&self.root.join(&trust.allowed_signers))?;
        let run_key_ids = trust
            .run_signers
            .iter()
            .flat_map(|p| signers.keys_of(p))
            .filter_map(ledger_key_id)
            .collect();
        Ok(Some(Pins {
            signers,
            roles: self.roadmap().roles.clone(),
            run_signers: trust.run_signers.clone(),
            run_key_ids,
        }))
    }

    /// A notice for people while the roadmap pins nothing, so that nobody mistakes an
    /// unpinned scorecard for one that holds against its authors.
    pub fn trust_notice(&self) -> Option<&'static str> {
        self.roadmap().trust.is_none().then_some(UNPINNED)
    }

    /// The key ids heads must be signed with, when the roadmap pins run signers.
    pub(crate) fn pinned_run_keys(&self) -> Result<Option<Vec<String>>, Error> {
        Ok(self
            .pins()?
            .filter(|p| !p.run_signers.is_empty())
            .map(|p| p.run_key_ids.into_iter().collect()))
    }
}

/// The id the ledger gives an ed25519 key (see `phasegate_ledger::key_id_of`); other key
/// types never sign heads.
fn ledger_key_id(key: &PublicKey) -> Option<String> {
    match key.key_data() {
        KeyData::Ed25519(k) => Some(phasegate_ledger::key_id_of(k.as_ref())),
        _ => None,
    }
}

/// The runner's head-signing key as an OpenSSH public key, for the allowed-signers file.
pub(crate) fn ssh_public(public_hex: &str, comment: &str) -> PublicKey {
    let bytes: [u8; 32] = hex::decode(public_hex)
        .ok()
        .and_then(|b| b.try_into().ok())
        .expect("a ledger key's public half is 32 bytes");
    PublicKey::new(KeyData::Ed25519(Ed25519PublicKey(bytes)), comment)
}

/// Judges records against the pins: the head of each record's run, and the personal
/// signature of each statement.
pub(crate) struct Judge<'p> {
    pins: &'p Pins,
    /// Each run's head key id (`None`: the run has no head).
    heads: BTreeMap<String, Option<String>>,
}

impl<'p> Judge<'p> {
    /// Reads the head of every run `entries` come from.
    pub(crate) fn new(
        pins: &'p Pins,
        ledger: &Ledger,
        entries: &[StoredEntry],
    ) -> Result<Self, Error> {
        let mut heads = BTreeMap::new();
        if !pins.run_signers.is_empty() {
            // A cached record is only as trusted as the run of the attempt it reuses too.
            let runs: BTreeSet<&str> = entries
                .iter()
                .filter_map(|e| match &e.entry {
                    Entry::Record(r) => Some(r),
                    _ => None,
                })
                .flat_map(|r| {
                    std::iter::once(r.run_id.as_str())
                        .chain(r.cached_from().map(|f| f.run_id.as_str()))
                })
                .collect();
            for run in runs {
                heads.insert(run.to_owned(), ledger.head(run)?.map(|h| h.key_id));
            }
        }
        Ok(Judge { pins, heads })
    }

    /// Why `r` is not to be trusted, or `None`.
    pub(crate) fn distrust(&self, r: &Record) -> Option<String> {
        self.run(&r.run_id)
            .or_else(|| {
                let from = r.cached_from()?;
                let why = self.run(&from.run_id)?;
                Some(format!("the evidence it reuses (#{}): {why}", from.seq))
            })
            .or_else(|| self.statement(r))
    }

    fn run(&self, run_id: &str) -> Option<String> {
        if self.pins.run_signers.is_empty() {
            return None;
        }
        match self.heads.get(run_id)? {
            None => Some(format!("run {run_id} has no signed head (it never closed)")),
            Some(k) if self.pins.run_key_ids.contains(k) => None,
            Some(k) => Some(format!(
                "run {run_id} is signed by key {k}, which no run signer ({}) holds",
                self.pins.run_signers.join(", ")
            )),
        }
    }

    /// An approval or waiver counts only when signed by a key the allowed-signers file
    /// gives to its author, who holds the role it was made in.
    fn statement(&self, r: &Record) -> Option<String> {
        let (by, role) = match (&r.approval, &r.waiver) {
            (Some(a), _) => (&a.by, &a.role),
            (None, Some(w)) => (&w.by, &w.role),
            (None, None) => return None,
        };
        let Some(signed) = r.personal_signature() else {
            return Some(format!("{by} did not sign it with a personal key"));
        };
        let Some(key) = self.pins.signers.key(&signed.key) else {
            return Some(format!(
                "key {} is not in the allowed-signers file",
                signed.key
            ));
        };
        if !self.pins.signers.allows(by, key) {
            return Some(format!("key {} is not {by}'s", signed.key));
        }
        let message = r.statement_message().expect("a statement has a message");
        if let Err(why) = verify(key, &message, &signed.signature) {
            return Some(format!("{by}'s {why}"));
        }
        if !self.pins.holds(by, role) {
            return Some(format!("{by} does not hold role `{role}` in [roles]"));
        }
        None
    }
}

impl Pins {
    /// Whether `principal` is listed under `role` in `[roles]`.
    pub(crate) fn holds(&self, principal: &str, role: &str) -> bool {
        self.roles
            .get(role)
            .is_some_and(|members| members.iter().any(|m| m == principal))
    }

    /// Who holds `role`, for messages.
    pub(crate) fn members(&self, role: &str) -> String {
        self.roles
            .get(role)
            .map(|m| m.join(", "))
            .unwrap_or_else(|| "nobody".to_owned())
    }

    /// The principal `key` signs as in `role`, or an error saying who may.
    pub(crate) fn principal_for(&self, key: &PublicKey, role: &str) -> Result<String, Error> {
        let principals = self.signers.principals_of(key);
        if principals.is_empty() {
            return Err(Error::usage(
                format!(
                    "key {} is not in the allowed-signers file",
                    fingerprint(key)
                ),
                format!(
                    "ask for it to be added (`phasegate key trust PRINCIPAL --pub KEY.pub`); role `{role}` is held by {}",
                    self.members(role)
                ),
            ));
        }
        principals
            .iter()
            .find(|p| self.holds(p, role))
            .map(|p| (*p).to_owned())
            .ok_or_else(|| {
                Error::usage(
                    format!(
                        "{} (key {}) does not hold role `{role}`",
                        principals.join(", "),
                        fingerprint(key)
                    ),
                    format!("role `{role}` is held by {}", self.members(role)),
                )
            })
    }
}
