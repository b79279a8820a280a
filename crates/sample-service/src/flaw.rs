//! The switchable flaws: each one turns exactly one hardening off.
//!
//! The list lives in one macro invocation so that adding a flaw is one line here plus one
//! `if config.has(Flaw::X)` at the place the hardening is enforced.

use std::fmt;
use std::str::FromStr;

macro_rules! flaws {
    ($( $(#[$meta:meta])* $variant:ident => $name:literal, $description:literal; )+) => {
        /// A hardening that can be switched off with `--flaw NAME`.
        ///
        /// The clean service has none; each flaw exists so that one phasegate probe can be
        /// shown to catch it.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum Flaw {
            $( $(#[$meta])* $variant, )+
        }

        impl Flaw {
            /// Every flaw, in the order `--list-flaws` prints them.
            pub fn all() -> &'static [Flaw] {
                &[$( Flaw::$variant, )+]
            }

            /// The kebab-case name used on the command line.
            pub fn name(self) -> &'static str {
                match self {
                    $( Flaw::$variant => $name, )+
                }
            }

            /// One line saying which hardening the flaw switches off.
            pub fn description(self) -> &'static str {
                match self {
                    $( Flaw::$variant => $description, )+
                }
            }
        }
    };
}

flaws! {
    /// `Strict-Transport-Security` is not sent.
    NoHsts => "no-hsts", "Strict-Transport-Security header is not sent";
    /// The CSP allows inline scripts.
    CspUnsafeInline => "csp-unsafe-inline", "Content-Security-Policy script-src allows 'unsafe-inline'";
    /// The framework is advertised in `X-Powered-By`.
    XPoweredBy => "x-powered-by", "responses advertise X-Powered-By: Express/4.17.1";
    /// The session cookie is readable from JavaScript.
    CookieNotHttponly => "cookie-not-httponly", "the sid session cookie is set without HttpOnly";
    /// Any origin is reflected with credentials allowed.
    CorsAnyOrigin => "cors-any-origin", "CORS reflects any Origin with Allow-Credentials: true and no Vary";
    /// No request id is echoed or generated.
    NoRequestId => "no-request-id", "X-Request-Id is neither echoed nor generated";
    /// Readiness does not look at the database.
    ReadyIgnoresDb => "ready-ignores-db", "/health/ready answers 200 without checking the database";
    /// The metrics endpoint is gone.
    MetricsMissing => "metrics-missing", "/metrics answers 404";
    /// Sign-in and the payment callback are never throttled.
    NoRateLimit => "no-rate-limit", "sign-in and the payment callback are never rate limited (no 429)";
    // access: caught by the `rbac` and `strict-input` probes
    /// The auditor may change roles, a write it must never do.
    RbacAuditorCanWrite => "rbac-auditor-can-write", "the auditor role may change users' roles";
    /// The admin read routes answer without a token.
    RbacAdminOpen => "rbac-admin-open", "GET /api/v1/admin/* answers without a token, as a platform admin";
    /// A race in the role cache lets some denied requests through.
    RbacFlakyDeny => "rbac-flaky-deny", "every third request a role is denied answers 200 instead (a role-cache race)";
    /// Strict JSON bodies ignore unknown fields instead of refusing them.
    DtoAcceptsUnknown => "dto-accepts-unknown", "JSON bodies with unknown fields are accepted (the fields are ignored)";
    // payments: the webhook and idempotency probes
    /// A callback without a signature header is not verified at all.
    WebhookNoSignature => "webhook-no-signature", "a payment callback without X-Signature is accepted unverified";
    /// A replayed callback event activates (and extends) the subscription again.
    WebhookReplay => "webhook-replay", "a replayed payment callback event activates and extends the subscription again";
    /// The callback's timestamp is not checked for freshness.
    WebhookStaleOk => "webhook-stale-ok", "payment callbacks with old timestamps are accepted";
    /// The callback's amount and currency are not checked against the payment.
    AmountMismatchOk => "amount-mismatch-ok", "a payment callback whose amount or currency differs from the payment is accepted";
    /// Checkout ignores the Idempotency-Key header.
    IdempotencyIgnored => "idempotency-ignored", "checkout ignores Idempotency-Key: a repeated request creates a second payment";
    // content and lifecycle: the `token` and `shutdown` probes
    /// Download tokens are accepted after their expiry.
    TokenNeverExpires => "token-never-expires", "download tokens are accepted after they expired";
    /// A download token works for another user or another file.
    TokenNotBound => "token-not-bound", "a download token works for another user's session and for another file";
    /// The access log records the full URI, download tokens included.
    TokenInUrlLogged => "token-in-url-logged", "the access log writes the full URI with its query, download tokens included";
    /// SIGTERM ends the process at once.
    ShutdownDropsRequests => "shutdown-drops-requests", "SIGTERM exits at once: no drain, in-flight requests have their connections cut";
    /// The landing page takes 100 ms (a query without its index, say).
    SlowEndpoint => "slow-endpoint", "GET / waits 100 ms before answering";
}

impl fmt::Display for Flaw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A flaw name that is not in [`Flaw::all`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown flaw `{name}`; valid flaws: {}", valid_names())]
pub struct UnknownFlaw {
    /// The name as given.
    pub name: String,
}

fn valid_names() -> String {
    Flaw::all()
        .iter()
        .map(|flaw| flaw.name())
        .collect::<Vec<_>>()
        .join(", ")
}

impl FromStr for Flaw {
    type Err = UnknownFlaw;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Flaw::all()
            .iter()
            .copied()
            .find(|flaw| flaw.name() == name)
            .ok_or_else(|| UnknownFlaw {
                name: name.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for &flaw in Flaw::all() {
            assert_eq!(flaw.name().parse::<Flaw>().unwrap(), flaw);
            assert!(seen.insert(flaw.name()), "duplicate name {flaw}");
            assert!(!flaw.description().is_empty());
        }
        assert!(Flaw::all().len() >= 9);
    }

    #[test]
    fn unknown_name_lists_the_valid_ones() {
        let err = "no-such".parse::<Flaw>().unwrap_err();
        let message = err.to_string();
        assert!(message.contains("`no-such`"), "{message}");
        assert!(message.contains("no-hsts, csp-unsafe-inline"), "{message}");
    }
}
