//! Integration tests: every probe against in-process fixture servers on 127.0.0.1:0 (a good
//! variant that passes and one bad variant per rule) and the headers probe against a real nginx.

mod conformance_headers;
mod cors;
mod headers;
mod health;
mod http;
mod metrics;
mod nginx;
mod rate_limit;
mod request_id;
mod support;
mod validate;
