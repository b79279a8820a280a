//! Webhook signature schemes: how a sender signs an event, so that the `webhook` probe can
//! play the payment provider.
//!
//! Every scheme here is an HMAC-SHA256 over a signed payload built from the raw body, and
//! possibly a timestamp and a message id, sent in one header whose value may carry the
//! timestamp too. A scheme is a preset named after the provider (see [`PRESETS`]) or a table
//! (`Custom`) with the same parts, so that a service with its own scheme needs no code.

use std::fmt;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use serde_json::Value;
use sha2::Sha256;

use crate::ParamError;
use crate::params::{Dur, err};

/// A webhook secret: its bytes never reach Debug, a finding or a measurement.
#[derive(Clone)]
pub(crate) struct Secret(Vec<u8>);

impl Secret {
    /// The secret from the text of its environment variable, decoded as the scheme says.
    pub fn decode(text: &str, encoding: SecretEncoding) -> Result<Secret, String> {
        match encoding {
            SecretEncoding::Raw => Ok(Secret(text.as_bytes().to_vec())),
            // Standard Webhooks prints secrets as `whsec_` + base64 of the key bytes.
            SecretEncoding::Base64 => STANDARD
                .decode(text.trim().strip_prefix("whsec_").unwrap_or(text.trim()))
                .map(Secret)
                .map_err(|e| format!("the secret is not base64 ({e})")),
        }
    }

    /// A different key of the same kind, for a signature that is well-formed but wrong.
    pub fn wrong(&self) -> Secret {
        let mut other = self.0.clone();
        other.push(b'!');
        Secret(other)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// How the signature bytes are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Encoding {
    #[default]
    Hex,
    Base64,
}

/// How the secret's text becomes the HMAC key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum SecretEncoding {
    /// The text's bytes (Stripe, Paddle, Shopify, Razorpay, Lemon Squeezy, GitHub).
    #[default]
    Raw,
    /// Base64, after an optional `whsec_` prefix (Standard Webhooks, Svix).
    Base64,
}

/// One signature scheme.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Scheme {
    /// The header carrying the signature.
    pub signature_header: String,
    /// Its value, with `{signature}` and optionally `{timestamp}` (`t={timestamp},v1={signature}`).
    #[serde(default = "signature_only")]
    pub signature: String,
    /// A header carrying the timestamp alone, when the scheme has one.
    pub timestamp_header: Option<String>,
    /// A header carrying the event id (`{id}`), when the scheme signs one.
    pub id_header: Option<String>,
    /// What is signed, with `{body}` and optionally `{timestamp}` and `{id}`.
    #[serde(default = "body_only")]
    pub payload: String,
    #[serde(default)]
    pub encoding: Encoding,
    #[serde(default)]
    pub secret_encoding: SecretEncoding,
    /// How old a timestamp the receiver accepts; the probe's stale event is older.
    pub tolerance: Option<Dur>,
}

fn signature_only() -> String {
    "{signature}".to_owned()
}

fn body_only() -> String {
    "{body}".to_owned()
}

/// The placeholders a template may use.
const PLACEHOLDERS: &[&str] = &["{timestamp}", "{id}", "{body}", "{signature}"];

/// The tolerance assumed when a timestamped scheme gives none: Stripe's and Standard
/// Webhooks' five minutes.
const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// A preset's name and its scheme.
type Preset = (&'static str, fn() -> Scheme);

/// The presets, by name as written in `scheme = "..."`.
pub(crate) const PRESETS: &[Preset] = &[
    ("stripe", stripe),
    ("standard-webhooks", standard_webhooks),
    ("svix", svix),
    ("paddle", paddle),
    ("shopify", shopify),
    ("razorpay", razorpay),
    ("lemon-squeezy", lemon_squeezy),
    ("github", github),
];

fn scheme(header: &str, signature: &str, payload: &str, encoding: Encoding) -> Scheme {
    Scheme {
        signature_header: header.to_owned(),
        signature: signature.to_owned(),
        timestamp_header: None,
        id_header: None,
        payload: payload.to_owned(),
        encoding,
        secret_encoding: SecretEncoding::Raw,
        tolerance: None,
    }
}

/// Stripe: `Stripe-Signature: t=<unix>,v1=<hex HMAC of "<t>.<body>">`, 300 s tolerance
/// (docs.stripe.com/webhooks "Verify signatures manually").
fn stripe() -> Scheme {
    Scheme {
        tolerance: Some(Dur(Duration::from_secs(300))),
        ..scheme(
            "Stripe-Signature",
            "t={timestamp},v1={signature}",
            "{timestamp}.{body}",
            Encoding::Hex,
        )
    }
}

/// Standard Webhooks (standardwebhooks.com): `webhook-id`, `webhook-timestamp`,
/// `webhook-signature: v1,<base64 HMAC of "<id>.<timestamp>.<body>">`, the key being the
/// base64 after `whsec_`; five minutes of tolerance.
fn standard_webhooks() -> Scheme {
    Scheme {
        timestamp_header: Some("webhook-timestamp".to_owned()),
        id_header: Some("webhook-id".to_owned()),
        secret_encoding: SecretEncoding::Base64,
        tolerance: Some(Dur(Duration::from_secs(300))),
        ..scheme(
            "webhook-signature",
            "v1,{signature}",
            "{id}.{timestamp}.{body}",
            Encoding::Base64,
        )
    }
}

/// Svix: Standard Webhooks under `svix-` header names (docs.svix.com, "Verifying Webhooks
/// Manually").
fn svix() -> Scheme {
    Scheme {
        signature_header: "svix-signature".to_owned(),
        timestamp_header: Some("svix-timestamp".to_owned()),
        id_header: Some("svix-id".to_owned()),
        ..standard_webhooks()
    }
}

/// Paddle Billing: `Paddle-Signature: ts=<unix>;h1=<hex HMAC of "<ts>:<body>">`; its SDKs
/// allow five seconds (developer.paddle.com/webhooks/signature-verification).
fn paddle() -> Scheme {
    Scheme {
        tolerance: Some(Dur(Duration::from_secs(5))),
        ..scheme(
            "Paddle-Signature",
            "ts={timestamp};h1={signature}",
            "{timestamp}:{body}",
            Encoding::Hex,
        )
    }
}

/// Shopify: `X-Shopify-Hmac-Sha256: <base64 HMAC of the body>`, no timestamp.
fn shopify() -> Scheme {
    scheme(
        "X-Shopify-Hmac-Sha256",
        "{signature}",
        "{body}",
        Encoding::Base64,
    )
}

/// Razorpay: `X-Razorpay-Signature: <hex HMAC of the body>`, no timestamp.
fn razorpay() -> Scheme {
    scheme(
        "X-Razorpay-Signature",
        "{signature}",
        "{body}",
        Encoding::Hex,
    )
}

/// Lemon Squeezy: `X-Signature: <hex HMAC of the body>`, no timestamp.
fn lemon_squeezy() -> Scheme {
    scheme("X-Signature", "{signature}", "{body}", Encoding::Hex)
}

/// GitHub: `X-Hub-Signature-256: sha256=<hex HMAC of the body>`, no timestamp.
fn github() -> Scheme {
    scheme(
        "X-Hub-Signature-256",
        "sha256={signature}",
        "{body}",
        Encoding::Hex,
    )
}

/// `scheme = "stripe"` or `scheme = { signature_header = "...", ... }`.
#[derive(Debug)]
pub(crate) struct SchemeParam(pub Scheme);

impl<'de> Deserialize<'de> for SchemeParam {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let names = || {
            PRESETS
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", ")
        };
        match Value::deserialize(d)? {
            Value::String(name) => PRESETS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, make)| SchemeParam(make()))
                .ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "unknown scheme {name:?}, expected one of {} or a table",
                        names()
                    ))
                }),
            table @ Value::Object(_) => serde_json::from_value(table)
                .map(SchemeParam)
                .map_err(serde::de::Error::custom),
            other => Err(serde::de::Error::custom(format!(
                "expected a preset ({}) or a table, saw {other}",
                names()
            ))),
        }
    }
}

impl Scheme {
    /// Checks what serde cannot, pushing problems under `key`.
    pub fn validate(&self, key: &str, errors: &mut Vec<ParamError>) {
        let headers = [
            Some(&self.signature_header),
            self.timestamp_header.as_ref(),
            self.id_header.as_ref(),
        ];
        for header in headers.into_iter().flatten() {
            if reqwest::header::HeaderName::from_bytes(header.as_bytes()).is_err() {
                errors.push(err(key, format!("invalid header name {header:?}")));
            }
        }
        if !self.signature.contains("{signature}") {
            errors.push(err(
                format!("{key}.signature"),
                format!("expected `{{signature}}` in {:?}", self.signature),
            ));
        }
        if !self.payload.contains("{body}") {
            errors.push(err(
                format!("{key}.payload"),
                format!("expected `{{body}}` in {:?}", self.payload),
            ));
        }
        for (field, text) in [("signature", &self.signature), ("payload", &self.payload)] {
            let mut rest = text.as_str();
            while let Some(open) = rest.find('{') {
                let tail = &rest[open..];
                let known = PLACEHOLDERS.iter().find(|p| tail.starts_with(*p));
                match known {
                    Some(p) => rest = &tail[p.len()..],
                    None => {
                        errors.push(err(
                            format!("{key}.{field}"),
                            format!(
                                "unknown placeholder in {text:?}, expected {}",
                                PLACEHOLDERS.join(", ")
                            ),
                        ));
                        break;
                    }
                }
            }
        }
        if self.payload.contains("{signature}") {
            errors.push(err(
                format!("{key}.payload"),
                "the signed payload cannot contain its own `{signature}`",
            ));
        }
        let sent = self.timestamp_header.is_some() || self.signature.contains("{timestamp}");
        if self.payload.contains("{timestamp}") && !sent {
            errors.push(err(
                key,
                "the payload signs `{timestamp}` but neither `timestamp_header` nor `signature` sends it",
            ));
        }
        if self.payload.contains("{id}") && self.id_header.is_none() {
            errors.push(err(
                key,
                "the payload signs `{id}` but no `id_header` sends it",
            ));
        }
        if self.tolerance.is_some() && !self.has_timestamp() {
            errors.push(err(
                format!("{key}.tolerance"),
                "a tolerance needs a timestamp in the scheme",
            ));
        }
    }

    /// Whether the scheme carries a timestamp, so that a stale event can be made.
    pub fn has_timestamp(&self) -> bool {
        self.timestamp_header.is_some()
            || self.signature.contains("{timestamp}")
            || self.payload.contains("{timestamp}")
    }

    /// How old a timestamp the receiver should still accept.
    pub fn tolerance(&self) -> Duration {
        self.tolerance.map_or(DEFAULT_TOLERANCE, |d| d.0)
    }

    /// The headers that deliver `body` signed with `secret`, as sent at `timestamp` (unix
    /// seconds) under event id `id`; the signature header comes first.
    pub fn headers(
        &self,
        secret: &Secret,
        id: &str,
        timestamp: i64,
        body: &str,
    ) -> Vec<(String, String)> {
        let fill = |template: &str, signature: &str| {
            template
                .replace("{timestamp}", &timestamp.to_string())
                .replace("{id}", id)
                .replace("{signature}", signature)
        };
        // The body last: a body containing `{id}` must be signed as it is.
        let payload = fill(&self.payload, "").replace("{body}", body);
        let mut mac = Hmac::<Sha256>::new_from_slice(&secret.0).expect("HMAC takes any key");
        mac.update(payload.as_bytes());
        let digest = mac.finalize().into_bytes();
        let signature = match self.encoding {
            Encoding::Hex => hex::encode(digest),
            Encoding::Base64 => STANDARD.encode(digest),
        };
        let mut headers = vec![(
            self.signature_header.clone(),
            fill(&self.signature, &signature),
        )];
        if let Some(h) = &self.timestamp_header {
            headers.push((h.clone(), timestamp.to_string()));
        }
        if let Some(h) = &self.id_header {
            headers.push((h.clone(), id.to_owned()));
        }
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preset(name: &str) -> Scheme {
        PRESETS.iter().find(|(n, _)| *n == name).unwrap().1()
    }

    fn signature(scheme: &Scheme, secret: &str, id: &str, ts: i64, body: &str) -> String {
        let secret = Secret::decode(secret, scheme.secret_encoding).unwrap();
        scheme.headers(&secret, id, ts, body)[0].1.clone()
    }

    /// The example of the Standard Webhooks specification and Svix's "Verifying Webhooks
    /// Manually" page: this secret, id, timestamp and body give exactly this signature.
    #[test]
    fn standard_webhooks_and_svix_match_the_specification_example() {
        let body = r#"{"test": 2432232314}"#;
        for name in ["standard-webhooks", "svix"] {
            let scheme = preset(name);
            let headers = scheme.headers(
                &Secret::decode(
                    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                    scheme.secret_encoding,
                )
                .unwrap(),
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                body,
            );
            assert_eq!(
                headers[0].1, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
                "{name}"
            );
            assert_eq!(headers[1].1, "1614265330");
            assert_eq!(headers[2].1, "msg_p5jXN8AQM9LWM0D4loKWxJek");
        }
        assert_eq!(preset("svix").signature_header, "svix-signature");
    }

    /// GitHub's "Validating webhook deliveries" test values: secret "It's a Secret to
    /// Everybody", payload "Hello, World!".
    #[test]
    fn github_matches_its_documented_test_values() {
        assert_eq!(
            signature(
                &preset("github"),
                "It's a Secret to Everybody",
                "",
                0,
                "Hello, World!"
            ),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
    }

    // The providers below publish the layout but no test vector: each expected value was
    // computed apart from this code, with Python's `hmac.new(key, msg, hashlib.sha256)`, on
    // the signed payload exactly as the provider's documentation builds it.
    const BODY: &str = r#"{"event_id":"evt_1","amount_cents":990}"#;

    /// Stripe: `"<t>.<body>"`, hex, in `t=..,v1=..`.
    #[test]
    fn stripe_signs_timestamp_dot_body() {
        assert_eq!(
            signature(
                &preset("stripe"),
                "whsec_test_secret",
                "",
                1_700_000_000,
                BODY
            ),
            "t=1700000000,v1=304293fbd747bfe74737941dddad24e6463e6e3b2368a618e610512ed8de306f"
        );
    }

    /// Paddle Billing: `"<ts>:<body>"`, hex, in `ts=..;h1=..`.
    #[test]
    fn paddle_signs_timestamp_colon_body() {
        assert_eq!(
            signature(
                &preset("paddle"),
                "pdl_ntfset_01_test",
                "",
                1_671_552_777,
                BODY
            ),
            "ts=1671552777;h1=801c910a8663d1b4975200e9deb50d73da393f34c05269c74a52cb3e5d804937"
        );
    }

    /// Shopify (base64), Razorpay and Lemon Squeezy (hex): the raw body alone.
    #[test]
    fn body_only_presets_sign_the_raw_body() {
        for (name, secret, expected) in [
            (
                "shopify",
                "shpss_test_secret",
                "kR1mvKEDTQLqeDjbrHXAdSaaga65wLEmtD8oNL7mU5s=",
            ),
            (
                "razorpay",
                "razorpay_test_secret",
                "0617f8874a593416f1679934b3a86fded144edca1dace3ad5471f6c1549c9279",
            ),
            (
                "lemon-squeezy",
                "lemon_test_secret",
                "dd4d8616c5882fb84a9bf8b0dff7df625ff651c3c45b7b9cb5e312aad41b6b91",
            ),
        ] {
            let scheme = preset(name);
            assert!(!scheme.has_timestamp(), "{name}");
            assert_eq!(signature(&scheme, secret, "", 1, BODY), expected, "{name}");
            assert_eq!(scheme.headers(&Secret(vec![1]), "x", 1, BODY).len(), 1);
        }
    }

    #[test]
    fn every_preset_is_valid_and_the_wrong_secret_signs_differently() {
        for (name, make) in PRESETS {
            let scheme = make();
            let mut errors = Vec::new();
            scheme.validate("scheme", &mut errors);
            assert!(errors.is_empty(), "{name}: {errors:?}");
            let secret = Secret::decode("whsec_c2VjcmV0", scheme.secret_encoding).unwrap();
            assert_ne!(
                scheme.headers(&secret, "id", 1, BODY)[0],
                scheme.headers(&secret.wrong(), "id", 1, BODY)[0],
                "{name}"
            );
        }
    }

    #[test]
    fn custom_schemes_are_checked() {
        let mut errors = Vec::new();
        let bad = Scheme {
            signature: "v1={sig}".to_owned(),
            payload: "{timestamp}.{id}.{body}".to_owned(),
            ..scheme("X Sig", "", "", Encoding::Hex)
        };
        bad.validate("scheme", &mut errors);
        let text = format!("{errors:?}");
        for part in [
            "invalid header name",
            "expected `{signature}`",
            "unknown placeholder",
            "neither `timestamp_header`",
            "no `id_header`",
        ] {
            assert!(text.contains(part), "{part} in {text}");
        }
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let secret = Secret::decode("hunter2-secret", SecretEncoding::Raw).unwrap();
        assert!(!format!("{secret:?}").contains("hunter2"));
        assert!(Secret::decode("whsec_!!", SecretEncoding::Base64).is_err());
    }
}
