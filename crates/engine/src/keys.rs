//! The day-to-day steps of trust: show the runner's key, trust a key for a principal.

use std::path::{Path, PathBuf};

use ssh_key::PublicKey;

use crate::fsutil::write_atomically;
use crate::identity::fingerprint;
use crate::signers::AllowedSigners;
use crate::trust::ssh_public;
use crate::{Error, Session};

/// The key that signs this machine's run heads.
#[derive(Debug, Clone)]
pub struct RunnerKey {
    /// Its id in the ledger (as heads and `evidence verify` name it).
    pub key_id: String,
    /// Its public half as an OpenSSH public key line, for the allowed-signers file.
    pub openssh: String,
    /// Its SHA-256 fingerprint.
    pub fingerprint: String,
}

/// A key added to the allowed-signers file.
#[derive(Debug, Clone)]
pub struct Trusted {
    /// The file.
    pub file: PathBuf,
    /// The line added; `None` when the principal already had the key.
    pub line: Option<String>,
}

impl Session {
    /// The runner's head-signing key (created on first use, like a run does).
    pub fn runner_key(&self) -> Result<RunnerKey, Error> {
        let key = self.signing_key()?;
        let public = ssh_public(&key.public_hex(), "phasegate-runner");
        Ok(RunnerKey {
            key_id: key.key_id(),
            openssh: public.to_openssh().expect("an ed25519 key encodes"),
            fingerprint: fingerprint(&public),
        })
    }

    /// Lists `public` (an OpenSSH public key file; `None`: the runner's key) for
    /// `principal` in the roadmap's allowed-signers file, for phasegate's namespace only.
    pub fn trust_key(&self, principal: &str, public: Option<&Path>) -> Result<Trusted, Error> {
        let Some(trust) = &self.roadmap().trust else {
            return Err(Error::usage(
                "the roadmap has no `[trust]`",
                "add `[trust]` with `allowed_signers = \".phasegate-signers\"` first (docs/trust.md)",
            ));
        };
        let principal = principal.trim();
        if principal.is_empty() || principal.contains([' ', ',', '"', '!', '*', '?']) {
            return Err(Error::usage(
                format!("`{principal}` is not a principal"),
                "a principal is one name such as an email address: no spaces, commas or patterns",
            ));
        }
        let key = match public {
            Some(path) => read_public(path)?,
            None => ssh_public(&self.signing_key()?.public_hex(), "phasegate-runner"),
        };
        let file = self.root.join(&trust.allowed_signers);
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(Error::io(format!("cannot read `{}`", file.display()))(e)),
        };
        let known = AllowedSigners::parse(&text).map_err(|(line, why)| {
            Error::usage(
                format!("{}:{line}: {why}", file.display()),
                "fix the file first",
            )
        })?;
        if known.allows(principal, &key) {
            return Ok(Trusted { file, line: None });
        }
        let mut key = key;
        key.set_comment("");
        let line = format!(
            "{principal} namespaces=\"{}\" {}",
            phasegate_model::STATEMENT_NAMESPACE,
            key.to_openssh().expect("a public key encodes")
        );
        let sep = if text.is_empty() || text.ends_with('\n') {
            ""
        } else {
            "\n"
        };
        write_atomically(&file, &format!("{text}{sep}{line}\n"))?;
        Ok(Trusted {
            file,
            line: Some(line),
        })
    }
}

fn read_public(path: &Path) -> Result<PublicKey, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(Error::io(format!("cannot read `{}`", path.display())))?;
    PublicKey::from_openssh(text.trim()).map_err(|e| {
        Error::usage(
            format!("`{}` is not an OpenSSH public key: {e}", path.display()),
            "give the `.pub` file of the key, e.g. `~/.ssh/id_ed25519.pub`",
        )
    })
}
