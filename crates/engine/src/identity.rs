//! A person's own key: an OpenSSH key file or a key held by `ssh-agent`, signing statements
//! as SSHSIG (namespace `phasegate`), so that `ssh-keygen -Y verify` can check them.

use std::path::{Path, PathBuf};

use phasegate_model::STATEMENT_NAMESPACE;
use ssh_key::{HashAlg, LineEnding, PrivateKey, PublicKey, SshSig};

use crate::Error;

/// Where the signing key comes from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// An unencrypted OpenSSH private key file (an encrypted one is used through the agent).
    File(PathBuf),
    /// The `ssh-agent` listening on this socket (`SSH_AUTH_SOCK`).
    Agent(PathBuf),
}

/// A key able to sign, with its public half.
pub(crate) struct Signer {
    public: PublicKey,
    with: SignWith,
}

enum SignWith {
    Private(Box<PrivateKey>),
    Agent(PathBuf),
}

impl Signer {
    /// The key of `source`; from an agent, the first of its keys `wanted` accepts.
    pub(crate) fn open(
        source: &KeySource,
        wanted: impl Fn(&PublicKey) -> bool,
    ) -> Result<Signer, Error> {
        match source {
            KeySource::File(path) => Self::from_file(path),
            KeySource::Agent(socket) => Self::from_agent(socket, wanted),
        }
    }

    fn from_file(path: &Path) -> Result<Signer, Error> {
        let key = PrivateKey::read_openssh_file(path).map_err(|e| {
            Error::usage(
                format!("cannot read the private key `{}`: {e}", path.display()),
                "give an OpenSSH private key (`ssh-keygen -t ed25519`), or load it into ssh-agent",
            )
        })?;
        if key.is_encrypted() {
            return Err(Error::usage(
                format!("the private key `{}` is encrypted", path.display()),
                "add it to ssh-agent (`ssh-add PATH`) and leave `--key` out: phasegate then \
                 signs through the agent",
            ));
        }
        Ok(Signer {
            public: key.public_key().clone(),
            with: SignWith::Private(Box::new(key)),
        })
    }

    fn from_agent(socket: &Path, wanted: impl Fn(&PublicKey) -> bool) -> Result<Signer, Error> {
        let agent_error = |e: ssh_agent_client_rs::Error| {
            Error::usage(
                format!("cannot use ssh-agent at `{}`: {e}", socket.display()),
                "start ssh-agent and `ssh-add` your key, or name a key file with `--key PATH`",
            )
        };
        let mut client = ssh_agent_client_rs::Client::connect(socket).map_err(agent_error)?;
        let keys = client.list_all_identities().map_err(agent_error)?;
        // Certificates are not in the allowed-signers file: plain keys only.
        let public = keys
            .into_iter()
            .filter_map(|i| match i {
                ssh_agent_client_rs::Identity::PublicKey(k) => Some(k.into_owned()),
                ssh_agent_client_rs::Identity::Certificate(_) => None,
            })
            .find(|k| wanted(k))
            .ok_or_else(|| {
            Error::usage(
                "none of ssh-agent's keys is in the allowed-signers file",
                "`ssh-add` the key the allowed-signers file lists for you, or name it with `--key PATH`",
            )
        })?;
        Ok(Signer {
            public,
            with: SignWith::Agent(socket.to_path_buf()),
        })
    }

    /// The public key.
    pub(crate) fn public(&self) -> &PublicKey {
        &self.public
    }

    /// The key's fingerprint, `SHA256:...`.
    pub(crate) fn fingerprint(&self) -> String {
        fingerprint(&self.public)
    }

    /// An armored SSHSIG signature of `message` in phasegate's namespace.
    pub(crate) fn sign(&self, message: &[u8]) -> Result<String, Error> {
        let failed =
            |e: String| Error::usage(format!("cannot sign: {e}"), "check the key and try again");
        let sig = match &self.with {
            SignWith::Private(key) => key
                .sign(STATEMENT_NAMESPACE, HashAlg::Sha512, message)
                .map_err(|e| failed(e.to_string()))?,
            SignWith::Agent(socket) => {
                let data = SshSig::signed_data(STATEMENT_NAMESPACE, HashAlg::Sha512, message)
                    .map_err(|e| failed(e.to_string()))?;
                let mut client = ssh_agent_client_rs::Client::connect(socket)
                    .map_err(|e| failed(e.to_string()))?;
                let signature = client
                    .sign(&self.public, &data)
                    .map_err(|e| failed(e.to_string()))?;
                SshSig::new(
                    self.public.key_data().clone(),
                    STATEMENT_NAMESPACE,
                    HashAlg::Sha512,
                    signature,
                )
                .map_err(|e| failed(e.to_string()))?
            }
        };
        sig.to_pem(LineEnding::LF)
            .map_err(|e| failed(e.to_string()))
    }
}

/// `SHA256:...`, as `ssh-keygen -l` prints it.
pub(crate) fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// Whether `signature` (armored SSHSIG) is `key`'s signature of `message` in phasegate's
/// namespace; `Err` says why not.
pub(crate) fn verify(key: &PublicKey, message: &[u8], signature: &str) -> Result<(), String> {
    let sig = SshSig::from_pem(signature).map_err(|e| format!("unreadable signature: {e}"))?;
    if sig.public_key() != key.key_data() {
        return Err("signed by another key than the one it names".to_owned());
    }
    key.verify(STATEMENT_NAMESPACE, message, &sig)
        .map_err(|e| format!("signature does not verify: {e}"))
}

/// Writes a new unencrypted OpenSSH ed25519 key pair: `path` (0600) and `path.pub`.
pub fn new_key(path: &Path, comment: &str) -> Result<PublicKey, Error> {
    if path.exists() {
        return Err(Error::usage(
            format!("`{}` already exists", path.display()),
            "choose another path: an existing key is never replaced",
        ));
    }
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| Error::Io {
        what: "cannot read random bytes".into(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let pair = ssh_key::private::Ed25519Keypair::from_seed(&seed);
    let mut key = PrivateKey::from(pair);
    key.set_comment(comment);
    let what = |p: &Path| format!("cannot write `{}`", p.display());
    // ssh-key writes private keys with 0600 permissions.
    key.write_openssh_file(path, LineEnding::LF)
        .map_err(|e| Error::io(what(path))(std::io::Error::other(e.to_string())))?;
    let public = key.public_key().clone();
    let pub_path = PathBuf::from(format!("{}.pub", path.display()));
    let line = public
        .to_openssh()
        .map_err(|e| Error::io(what(&pub_path))(std::io::Error::other(e.to_string())))?;
    std::fs::write(&pub_path, format!("{line}\n")).map_err(Error::io(what(&pub_path)))?;
    Ok(public)
}
