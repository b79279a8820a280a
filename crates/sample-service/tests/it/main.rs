//! Integration tests: the real service on `127.0.0.1:0`, a real SQLite file in a temp dir, and
//! reqwest as the client. One binary, one module per concern.

mod auth;
mod cli;
mod content;
mod cors;
mod flaws;
mod headers;
mod health;
mod metrics;
mod payments;
mod rbac;
mod request_id;
mod shutdown;
mod support;
