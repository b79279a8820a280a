//! The ed25519 key that signs run heads.

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signer, SigningKey};
use sha2::{Digest, Sha256};

use crate::LedgerError;

/// An ed25519 signing key. The secret seed never leaves it except through
/// [`Key::load_or_create`]'s file: `Debug` shows only the key id and public key, and the
/// inner key is wiped on drop.
#[derive(Clone)]
pub struct Key {
    signing: SigningKey,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("key_id", &self.key_id())
            .field("public_key", &self.public_hex())
            .finish_non_exhaustive()
    }
}

impl Key {
    /// A new key from the operating system's random source.
    pub fn generate() -> Result<Key, LedgerError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| LedgerError::Random {
            reason: e.to_string(),
        })?;
        let key = Key {
            signing: SigningKey::from_bytes(&seed),
        };
        seed.fill(0);
        Ok(key)
    }

    /// A key from its 32-byte seed as 64 hex digits (surrounding whitespace ignored), e.g.
    /// the value of `PHASEGATE_SIGNING_KEY`. The error never repeats the text.
    pub fn from_hex(seed_hex: &str) -> Result<Key, LedgerError> {
        parse_seed(seed_hex).map_err(|reason| LedgerError::InvalidKey { reason })
    }

    /// Loads the key stored at `path`, or creates one there if there is none.
    ///
    /// A new file holds the seed as hex and is only readable by its owner (0600). It is
    /// written to a temporary file created with that mode and then hard-linked into place,
    /// so a concurrent loader sees either no file or the whole key, and two processes that
    /// race end up sharing one key.
    pub fn load_or_create(path: &Path) -> Result<Key, LedgerError> {
        let file_error = |source: io::Error| LedgerError::KeyFile {
            path: path.to_owned(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => return Self::from_file_text(path, &text),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(file_error(e)),
        }
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&dir).map_err(file_error)?;
        let key = Key::generate()?;
        // Unique per attempt (not just per process): threads of one process may race too.
        let nonce = getrandom::u64().map_err(|e| LedgerError::Random {
            reason: e.to_string(),
        })?;
        let tmp = dir.join(format!(
            ".{}.{}.{nonce:016x}.tmp",
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "key".to_owned()),
            std::process::id()
        ));
        let write = || -> io::Result<()> {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&tmp)?;
            file.write_all(hex::encode(key.signing.to_bytes()).as_bytes())?;
            file.write_all(b"\n")?;
            file.sync_all()
        };
        let written = write();
        let linked = written.and_then(|()| std::fs::hard_link(&tmp, path));
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                // Make the new name durable; a failure here only risks a new key after a crash.
                if let Ok(d) = std::fs::File::open(&dir) {
                    let _ = d.sync_all();
                }
                Ok(key)
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let text = std::fs::read_to_string(path).map_err(file_error)?;
                Self::from_file_text(path, &text)
            }
            Err(e) => Err(file_error(e)),
        }
    }

    /// Loads the key stored at `path`; it must exist.
    pub fn load(path: &Path) -> Result<Key, LedgerError> {
        let text = std::fs::read_to_string(path).map_err(|source| LedgerError::KeyFile {
            path: path.to_owned(),
            source,
        })?;
        Self::from_file_text(path, &text)
    }

    /// A new key stored in `dir` as `<key id>.key`: the directory is created only readable
    /// by its owner (0700) when missing, the file with 0600 permissions. Returns the key and
    /// its file.
    pub fn create_in(dir: &Path) -> Result<(Key, PathBuf), LedgerError> {
        let key = Key::generate()?;
        let path = dir.join(format!("{}.key", key.key_id()));
        let file_error = |source: io::Error| LedgerError::KeyFile {
            path: path.clone(),
            source,
        };
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(file_error)?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path).map_err(file_error)?;
        file.write_all(format!("{}\n", hex::encode(key.signing.to_bytes())).as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(file_error)?;
        Ok((key, path))
    }

    fn from_file_text(path: &Path, text: &str) -> Result<Key, LedgerError> {
        parse_seed(text).map_err(|reason| LedgerError::InvalidKeyFile {
            path: path.to_owned(),
            reason,
        })
    }

    /// The key's id: the first 16 hex digits of SHA-256 over the public key bytes.
    pub fn key_id(&self) -> String {
        key_id_of(self.signing.verifying_key().as_bytes())
    }

    /// The secret seed as 64 lowercase hex digits: only for redacting it from what gates
    /// print (a gate may read the key file), never for showing.
    pub fn seed_hex(&self) -> String {
        hex::encode(self.signing.to_bytes())
    }

    /// The public key as 64 hex digits.
    pub fn public_hex(&self) -> String {
        hex::encode(self.signing.verifying_key().as_bytes())
    }

    /// Signs `message`; the signature as hex.
    pub(crate) fn sign_hex(&self, message: &[u8]) -> String {
        hex::encode(self.signing.sign(message).to_bytes())
    }
}

/// The key id of the public key `public`: first 16 hex digits of its SHA-256.
pub fn key_id_of(public: &[u8]) -> String {
    let mut id = hex::encode(Sha256::digest(public));
    id.truncate(16);
    id
}

fn parse_seed(text: &str) -> Result<Key, String> {
    let text = text.trim();
    if text.len() != 64 {
        return Err(format!(
            "expected 64 hex digits (a 32-byte ed25519 seed), found {} characters",
            text.len()
        ));
    }
    let mut seed = [0u8; 32];
    hex::decode_to_slice(text, &mut seed)
        .map_err(|_| "expected 64 hex digits (a 32-byte ed25519 seed)".to_owned())?;
    let key = Key {
        signing: SigningKey::from_bytes(&seed),
    };
    seed.fill(0);
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_seed() {
        let key = Key::generate().unwrap();
        let seed = hex::encode(key.signing.to_bytes());
        let shown = format!("{key:?} {key:#?}");
        assert!(!shown.contains(&seed), "{shown}");
        assert!(shown.contains(&key.key_id()));
    }

    #[test]
    fn from_hex_round_trips_and_rejects_junk() {
        let key = Key::generate().unwrap();
        let again = Key::from_hex(&format!(" {}\n", hex::encode(key.signing.to_bytes()))).unwrap();
        assert_eq!(again.key_id(), key.key_id());
        assert_eq!(key.key_id().len(), 16);
        for bad in ["", "zz", &"g".repeat(64)] {
            let err = Key::from_hex(bad).unwrap_err().to_string();
            assert!(err.starts_with("invalid signing key"), "{err}");
        }
    }
}
