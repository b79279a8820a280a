//! Password hashing: salted PBKDF2-HMAC-SHA256 and a constant-time comparison.
//!
//! A production service would pick Argon2id; PBKDF2 is built here from the HMAC and SHA-256 the
//! workspace already depends on, which is enough for a test target and still never stores or
//! compares plain passwords.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Iterations per hash: enough to make offline guessing cost something, few enough that the
/// debug-built test suite signs in quickly.
const ITERATIONS: u32 = 10_000;
const SCHEME: &str = "pbkdf2-sha256";

/// Hashes `password` with a fresh random salt, as `pbkdf2-sha256$iterations$salt$hash` (hex).
pub(crate) fn hash(password: &str) -> String {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).expect("the operating system's random source is available");
    let derived = pbkdf2(password.as_bytes(), &salt, ITERATIONS);
    format!(
        "{SCHEME}${ITERATIONS}${}${}",
        hex::encode(salt),
        hex::encode(derived)
    )
}

/// Whether `password` matches `stored`; a malformed stored hash never matches.
pub(crate) fn verify(password: &str, stored: &str) -> bool {
    let mut parts = stored.split('$');
    let (Some(SCHEME), Some(iterations), Some(salt), Some(expected), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let (Ok(iterations), Ok(salt), Ok(expected)) = (
        iterations.parse::<u32>(),
        hex::decode(salt),
        hex::decode(expected),
    ) else {
        return false;
    };
    constant_time_eq(&pbkdf2(password.as_bytes(), &salt, iterations), &expected)
}

/// Burns the same time as a real verification, so that an unknown email cannot be told from a
/// wrong password by timing.
pub(crate) fn verify_dummy(password: &str) {
    let _ = pbkdf2(password.as_bytes(), b"dummy-salt-value", ITERATIONS);
}

/// PBKDF2 (RFC 8018) with HMAC-SHA256, one output block (32 bytes).
fn pbkdf2(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    let prf = HmacSha256::new_from_slice(password).expect("HMAC accepts keys of any length");
    let mut mac = prf.clone();
    mac.update(salt);
    mac.update(&1u32.to_be_bytes());
    let mut u: [u8; 32] = mac.finalize().into_bytes().into();
    let mut out = u;
    for _ in 1..iterations {
        let mut mac = prf.clone();
        mac.update(&u);
        u = mac.finalize().into_bytes().into();
        for (o, b) in out.iter_mut().zip(u.iter()) {
            *o ^= b;
        }
    }
    out
}

/// Compares without an early exit, so the time taken does not reveal the matching prefix.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pbkdf2_matches_rfc_7914_vector() {
        // RFC 7914 section 11: PBKDF2-HMAC-SHA256 (P="passwd", S="salt", c=1), first 32 bytes.
        let out = pbkdf2(b"passwd", b"salt", 1);
        assert_eq!(
            hex::encode(out),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
        );
    }

    #[test]
    fn verifies_only_the_right_password() {
        let stored = hash("correct-horse");
        assert!(verify("correct-horse", &stored));
        assert!(!verify("correct-horsf", &stored));
        assert!(!verify("correct-horse", "garbage"));
        assert_ne!(stored, hash("correct-horse"), "salts differ");
    }
}
