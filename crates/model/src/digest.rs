use sha2::{Digest, Sha256};

/// A lowercase hex SHA-256 digest, as stored in evidence.
pub type Sha256Hex = String;

/// SHA-256 of `bytes` as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> Sha256Hex {
    hex::encode(Sha256::digest(bytes))
}
