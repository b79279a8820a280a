//! How much each finding code matters: one table, so that docs/probes.md, the gates'
//! `fail_on` thresholds and the reasons shown agree. A code a probe reports must be listed
//! here (debug builds, hence the tests, panic on an unlisted one).

use phasegate_model::Severity::{self, Critical, High, Low, Medium};

/// Every finding code of the built-in probes with its severity.
pub const SEVERITIES: &[(&str, Severity)] = &[
    // headers
    ("csp-missing", High),
    ("csp-invalid", Medium),
    ("csp-report-only", High),
    ("csp-unsafe-inline", High),
    ("csp-unsafe-eval", Medium),
    ("csp-script-unrestricted", High),
    ("csp-object-unrestricted", Medium),
    ("csp-broad-source", High),
    ("hsts-missing", High),
    ("hsts-invalid", High),
    ("hsts-max-age-too-short", Medium),
    ("framing-missing", Medium),
    ("framing-frame-ancestors-open", Medium),
    ("xfo-invalid", Medium),
    ("xfo-allow-from", Medium),
    ("nosniff-missing", Medium),
    ("nosniff-invalid", Medium),
    ("referrer-policy-missing", Low),
    ("referrer-policy-invalid", Low),
    ("referrer-policy-unsafe", Medium),
    ("x-powered-by", Low),
    ("server-version", Low),
    ("cookie-not-secure", High),
    ("cookie-session-not-httponly", High),
    ("cookie-samesite-missing", Medium),
    ("cookie-samesite-invalid", Medium),
    ("cookie-prefix-invalid", Medium),
    ("cookie-session-not-seen", High),
    ("unknown-path-status", Low),
    ("unknown-method-status", Low),
    // cors
    ("cors-origin-reflected", Critical),
    ("cors-wildcard-with-credentials", Medium),
    ("cors-foreign-origin-allowed", High),
    ("cors-allowed-origin-refused", High),
    ("cors-allowed-origin-mismatch", High),
    ("cors-vary-missing", Medium),
    ("cors-credentials-missing", High),
    ("cors-preflight-method-missing", High),
    // http: the roadmap's own assertions, so each one that breaks fails the gate
    ("status-mismatch", High),
    ("header-mismatch", High),
    ("header-missing", High),
    ("body-mismatch", High),
    ("body-not-json", High),
    ("json-mismatch", High),
    ("json-missing", High),
    ("json-type-mismatch", High),
    ("capture-failed", High),
    ("capture-unavailable", High),
    ("latency-exceeded", High),
    // health
    ("live-not-ok", High),
    ("ready-not-ok", High),
    ("live-fails-during-fault", Critical),
    ("ready-ignores-dependency", High),
    ("ready-not-restored", High),
    ("restored-after-cut", Low),
    // metrics
    ("metrics-status", Critical),
    ("metrics-parse-error", Critical),
    ("metrics-family-missing", Medium),
    ("metrics-family-type", Medium),
    ("metrics-family-labels", Medium),
    ("metrics-histogram-inconsistent", High),
    ("metrics-no-histogram", Medium),
    ("metrics-no-request-counter", Medium),
    ("metrics-counter-not-increased", Medium),
    // rate-limit
    ("rate-limit-not-enforced", High),
    ("retry-after-missing", Medium),
    ("retry-after-invalid", Medium),
    ("rate-limit-not-recovered", Medium),
    // request-id
    ("request-id-missing", Medium),
    ("request-id-not-echoed", Medium),
    ("request-id-unsafe-echoed", High),
    ("request-id-oversized-echoed", Medium),
    ("request-id-pattern", Medium),
    ("request-id-duplicate", Medium),
    ("cors-preflight-not-ok", High),
    ("cors-preflight-headers-missing", High),
    ("cors-max-age-too-short", Low),
    ("redirect-off-origin", Medium),
    ("redirect-limit-exceeded", Medium),
    ("http-not-redirected-to-https", High),
    ("metrics-content-type", Critical),
    ("metrics-counter-decreased", High),
    ("ready-up-during-fault", High),
    ("request-id-multiple", Low),
    ("csp-insecure-source", High),
    ("csp-base-uri-missing", Medium),
    ("csp-base-uri-unsafe", Medium),
    ("csp-form-action-missing", Low),
    ("csp-form-action-unsafe", Low),
    ("coop-missing", Low),
    ("coop-unsafe", Low),
    ("coop-invalid", Low),
    ("corp-missing", Low),
    ("corp-invalid", Low),
    ("permissions-policy-missing", Low),
    ("permissions-policy-invalid", Low),
    ("cache-no-store-missing", Medium),
    ("cookie-session-samesite-none", Medium),
    ("cookie-session-host-prefix-missing", Low),
    // access: rbac, strict-input (and the credentials both obtain)
    ("credentials-unavailable", High),
    ("rbac-access-granted", Critical),
    ("rbac-deny-unstable", Critical),
    ("rbac-status-mismatch", High),
    ("input-valid-refused", High),
    ("input-unknown-field-accepted", High),
    ("input-wrong-type-accepted", High),
    ("input-missing-field-accepted", High),
    ("input-oversized-accepted", Medium),
    ("input-malformed-accepted", High),
    ("input-server-error", High),
    ("input-refusal-inconclusive", Medium),
    ("input-effect", Critical),
    ("input-effect-unreadable", High),
    // payments: webhook
    ("webhook-unsigned-accepted", Critical),
    ("webhook-bad-signature-accepted", Critical),
    ("webhook-stale-accepted", High),
    ("webhook-mismatch-accepted", Critical),
    ("webhook-refusal-status", Medium),
    ("webhook-refused-with-effect", Critical),
    ("webhook-valid-refused", High),
    ("webhook-no-effect", High),
    ("webhook-replay-effect", Critical),
    ("webhook-replay-refused", Medium),
    ("webhook-concurrent-effect", Critical),
    // payments: idempotency
    ("idempotency-request-failed", High),
    ("idempotency-repeat-refused", High),
    ("idempotency-different-answer", Critical),
    ("idempotency-second-effect", Critical),
    ("idempotency-key-reuse-not-refused", High),
    // content and lifecycle: token
    ("token-valid-refused", High),
    ("token-expired-accepted", High),
    ("token-tampered-accepted", Critical),
    ("token-other-user-accepted", High),
    ("token-other-resource-accepted", High),
    ("token-path-traversal-accepted", Critical),
    ("token-refusal-not-4xx", Medium),
    ("token-in-logs", High),
    ("token-logs-not-checked", Low),
    // content and lifecycle: shutdown
    ("shutdown-request-dropped", Critical),
    ("shutdown-ready-not-dropped", High),
    ("shutdown-still-accepting", Medium),
    ("shutdown-new-connections-dropped", High),
    ("shutdown-exit-status", High),
    ("shutdown-deadline-exceeded", High),
    // performance: load
    ("load-latency-exceeded", High),
    ("load-error-rate-exceeded", High),
    ("load-throughput-low", High),
    ("load-regression", High),
    ("load-missed-starts", Low),
    ("load-no-baseline", Low),
    ("load-not-http2", High),
    // the repository: ci-tolerance
    ("ci-or-true", High),
    ("ci-set-plus-e", High),
    ("ci-continue-on-error", High),
    ("ci-allow-failure", High),
    ("ci-ignore-errors", High),
    ("ci-exit-zero", High),
    ("ci-pass-with-no-tests", Medium),
    ("ci-keep-going", Medium),
    ("ci-definition-invalid", High),
    ("ci-allow-unused", Low),
    // the repository: docs-drift
    ("docs-command-missing", High),
    ("docs-script-not-executable", Medium),
    ("docs-link-broken", Medium),
    ("docs-anchor-broken", Medium),
    ("docs-required-missing", High),
    ("docs-required-empty", High),
    ("docs-placeholder", Medium),
    ("docs-empty-section", Medium),
    // the repository: local-first
    ("local-first-external-host", High),
    ("local-first-allow-unused", Low),
    // the project's files: advisories (an open advisory's code carries its own severity;
    // the gate's `fail_on` decides which of them block)
    ("advisory-critical", Critical),
    ("advisory-high", High),
    ("advisory-medium", Medium),
    ("advisory-low", Low),
    ("advisory-within-sla", Low),
    ("advisory-accepted", Low),
    ("advisory-acceptance-expired", High),
    ("advisory-acceptance-unused", Low),
    ("advisory-unreadable", High),
    ("advisory-range-unreadable", Medium),
    ("advisory-version-unreadable", Medium),
    ("advisory-db-missing-ecosystem", High),
    ("lockfile-unreadable", High),
    ("lockfile-unpinned", Low),
    // migrations
    ("migration-changed", Critical),
    ("migration-removed", Critical),
    ("migrations-no-baseline", Low),
    // secrets
    ("secret-found", Critical),
    ("secret-in-history", High),
];

/// The severity of `code`: from [`SEVERITIES`], else medium (and a panic in debug builds,
/// where the tests run, so that no code goes out unlisted).
pub fn of(code: &str) -> Severity {
    let found = SEVERITIES.iter().find(|(c, _)| *c == code).map(|(_, s)| *s);
    debug_assert!(
        found.is_some() || cfg!(test),
        "finding code `{code}` has no severity in severity.rs"
    );
    found.unwrap_or(Medium)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_code_is_listed_once() {
        let mut codes: Vec<&str> = SEVERITIES.iter().map(|(c, _)| *c).collect();
        codes.sort_unstable();
        let before = codes.len();
        codes.dedup();
        assert_eq!(before, codes.len(), "a code is listed twice");
    }
}
