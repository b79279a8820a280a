//! Integration tests: every probe against in-process fixture servers on 127.0.0.1:0 (a good
//! variant that passes and one bad variant per rule) and the headers probe against a real nginx.

mod conformance_cors;
mod conformance_headers;
mod conformance_health;
mod conformance_metrics;
mod conformance_rate_limit;
mod conformance_request_id;
mod cors;
mod headers;
mod health;
mod http;
mod metrics;
mod nginx;
mod rate_limit;
mod rbac;
mod request_id;
mod severity;
mod strict_input;
mod support;
mod validate;
// payments
mod idempotency;
mod load;
mod load_tls;
mod webhook;
// content and lifecycle
mod coverage;
mod secrets;
mod shutdown;
mod token;
// the repository's own files: ci-tolerance, docs-drift, local-first
mod repo;
// the project's files
mod advisories;
mod migrations;
