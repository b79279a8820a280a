//! The engine's integration tests: sessions on temporary projects, real processes, a real
//! ledger, real sockets on 127.0.0.1.

mod anchor;
mod architecture;
mod cache;
mod close;
mod inspect;
mod markdown;
mod probe;
mod run;
mod session;
mod starter;
mod statements;
mod support;
mod trust;
