//! Signed tokens: `base64url(JSON claims).base64url(HMAC-SHA256)`.
//!
//! Each purpose (session, download) gets its own key derived from the token secret, so a token
//! minted for one purpose never verifies as another.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Signs and verifies tokens for one purpose.
#[derive(Clone)]
pub(crate) struct Signer {
    key: [u8; 32],
}

impl Signer {
    /// A signer whose key is `HMAC(secret, purpose label)`.
    pub(crate) fn new(secret: &str, purpose: &str) -> Self {
        let mut mac =
            HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
        mac.update(format!("phasegate-sample-service/{purpose}/v1").as_bytes());
        Signer {
            key: mac.finalize().into_bytes().into(),
        }
    }

    fn mac(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(&self.key).expect("HMAC accepts keys of any length")
    }

    /// The signed token for `claims`.
    pub(crate) fn sign<T: Serialize>(&self, claims: &T) -> String {
        let json = serde_json::to_vec(claims).expect("claims are plain data and serialize");
        let payload = URL_SAFE_NO_PAD.encode(json);
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{payload}.{signature}")
    }

    /// The claims of `token` when its signature is ours; `None` for anything tampered or
    /// malformed. Expiry is the caller's business: claims differ in how they carry it.
    pub(crate) fn verify<T: DeserializeOwned>(&self, token: &str) -> Option<T> {
        let (payload, signature) = token.split_once('.')?;
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        // verify_slice compares in constant time.
        mac.verify_slice(&signature).ok()?;
        let json = URL_SAFE_NO_PAD.decode(payload).ok()?;
        serde_json::from_slice(&json).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Claims {
        sub: i64,
    }

    #[test]
    fn round_trips_and_rejects_tampering_and_other_purposes() {
        let signer = Signer::new("secret", "session");
        let token = signer.sign(&Claims { sub: 7 });
        assert_eq!(signer.verify::<Claims>(&token), Some(Claims { sub: 7 }));

        let forged_payload = URL_SAFE_NO_PAD.encode(br#"{"sub":1}"#);
        let (_, signature) = token.split_once('.').unwrap();
        assert_eq!(
            signer.verify::<Claims>(&format!("{forged_payload}.{signature}")),
            None
        );
        assert_eq!(signer.verify::<Claims>("garbage"), None);
        assert_eq!(
            Signer::new("secret", "download").verify::<Claims>(&token),
            None
        );
        assert_eq!(
            Signer::new("other", "session").verify::<Claims>(&token),
            None
        );
    }
}
