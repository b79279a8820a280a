//! A small membership service, hardened the way production-readiness roadmaps ask, where every
//! hardening can be switched off with a [`Flaw`].
//!
//! It is the target phasegate's probes are proven against: each probe must pass against the
//! clean service and fail against the flaw it exists to catch. It is not a dependency of the
//! probes, and not a service to run in production.
//!
//! Members sign in (HMAC-signed bearer tokens and an `sid` cookie), check out, get their
//! subscription activated by a signed payment-provider callback, and download content through
//! expiring tokens; administrators with roles `platform_admin`, `support_admin` and `auditor`
//! see users, roles, the audit log and an ops summary. State lives in SQLite. Every response
//! carries security headers and a request id; CORS is an exact allowlist; sign-in and the
//! callback are rate limited; `/health/ready` checks the database for real; `/metrics` speaks
//! Prometheus.
//!
//! Entry points: [`serve`] on a bound listener (tests bind `127.0.0.1:0`), or [`app`] for the
//! bare router.

mod access_log;
mod admin;
mod api_error;
mod auth;
pub mod cli;
mod config;
mod content;
mod cors;
mod db;
mod error;
mod flaw;
mod headers;
mod health;
mod input;
mod metrics;
mod password;
mod payments;
mod rate_limit;
mod rbac;
mod request_id;
mod routes;
mod state;
mod token;

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;

pub use crate::auth::Principal;
pub use crate::config::{Config, DEFAULT_WEBHOOK_SECRET, SEED_PASSWORD};
pub use crate::db::{SEED_SUBSCRIBERS, SEED_USERS};
pub use crate::error::Error;
pub use crate::flaw::{Flaw, UnknownFlaw};
pub use crate::headers::{CSP, HSTS, SERVER};
pub use crate::metrics::Metrics;
pub use crate::payments::{
    IDEMPOTENCY_HEADER, PLAN_AMOUNT_CENTS, PLAN_CURRENCY, PLAN_PERIOD, PLANS, Plan,
    SIGNATURE_HEADER, TIMESTAMP_HEADER, TIMESTAMP_TOLERANCE_SECONDS, sign_callback,
};
pub use crate::rbac::Role;
pub use crate::request_id::X_REQUEST_ID;
pub use crate::routes::{SLOW_MAX_MS, app};
pub use crate::state::AppState;

/// Serves the service on `listener` until `shutdown` completes, then shuts down gracefully:
/// readiness answers 503 for [`Config::drain`] while every request is still served (load
/// balancers stop routing here), then the listener closes and in-flight requests get
/// [`Config::shutdown_grace`] to finish; it returns `Ok` once they have.
///
/// Opens (creating, migrating and seeding if missing) the database first.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let drops_requests = config.has(Flaw::ShutdownDropsRequests);
    let (drain, grace) = (config.drain, config.shutdown_grace);
    let state = tokio::task::spawn_blocking(move || AppState::new(config))
        .await
        .map_err(Error::Task)??;
    // Connect info gives the rate limiter the peer address.
    let service = app(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    if drops_requests {
        // The flaw: the signal ends serving at once. In a process, returning from `main`
        // then cuts every open connection, in-flight requests included.
        return tokio::select! {
            served = axum::serve(listener, service) => served.map_err(Error::Serve),
            () = shutdown => Ok(()),
        };
    }
    let (close, closed) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, service)
        .with_graceful_shutdown(async move {
            let _ = closed.await;
        })
        .into_future();
    tokio::pin!(server);
    tokio::select! {
        served = &mut server => return served.map_err(Error::Serve),
        () = shutdown => {}
    }
    state.start_draining();
    tokio::select! {
        served = &mut server => return served.map_err(Error::Serve),
        () = tokio::time::sleep(drain) => {}
    }
    let _ = close.send(());
    match tokio::time::timeout(grace, server).await {
        Ok(served) => served.map_err(Error::Serve),
        Err(_) => Err(Error::ShutdownGrace { grace }),
    }
}
