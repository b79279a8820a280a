//! Per-client rate limiting for the endpoints attackers hammer: sign-in and the payment callback.
//!
//! A sliding-window log: each client keeps the instants of its accepted attempts within the
//! window. Refused attempts are not logged, so a client that waits out `Retry-After` gets in.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::api_error::ApiError;
use crate::config::Config;
use crate::flaw::Flaw;

/// Above this many tracked clients, idle ones are dropped on the next check, bounding memory
/// against address churn.
const PRUNE_ABOVE: usize = 4096;

/// The verdict on one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    Allowed,
    Limited { retry_after: Duration },
}

/// One limiter per protected endpoint group.
pub(crate) struct RateLimiter {
    limit: u32,
    window: Duration,
    clients: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl RateLimiter {
    pub(crate) fn new(limit: u32, window: Duration) -> Self {
        RateLimiter {
            limit,
            window,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Records an attempt by `client` at `now` unless it is over the limit.
    pub(crate) fn check(&self, client: IpAddr, now: Instant) -> Decision {
        // The map holds plain timestamps; a panic elsewhere cannot leave it inconsistent.
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        if clients.len() > PRUNE_ABOVE {
            clients.retain(|_, log| {
                log.back()
                    .is_some_and(|&last| now.duration_since(last) < self.window)
            });
        }
        let log = clients.entry(client).or_default();
        while log
            .front()
            .is_some_and(|&first| now.duration_since(first) >= self.window)
        {
            log.pop_front();
        }
        if log.len() < self.limit as usize {
            log.push_back(now);
            return Decision::Allowed;
        }
        let retry_after = log
            .front()
            .map(|&first| self.window.saturating_sub(now.duration_since(first)))
            .unwrap_or(self.window);
        Decision::Limited { retry_after }
    }
}

/// The state of the rate-limiting middleware on one route group.
#[derive(Clone)]
pub(crate) struct Limited {
    pub(crate) limiter: Arc<RateLimiter>,
    pub(crate) config: Arc<Config>,
}

/// Middleware: 429 with `Retry-After` once a client is over the limit.
pub(crate) async fn middleware(
    State(limited): State<Limited>,
    req: Request,
    next: Next,
) -> Response {
    if limited.config.has(Flaw::NoRateLimit) {
        return next.run(req).await;
    }
    // Keyed on the peer address: X-Forwarded-For is client-controlled and would let anyone
    // pick a fresh identity per request.
    let client = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    match limited.limiter.check(client, Instant::now()) {
        Decision::Allowed => next.run(req).await,
        Decision::Limited { retry_after } => too_many_requests(retry_after),
    }
}

fn too_many_requests(retry_after: Duration) -> Response {
    // Whole seconds, rounded up, at least one: waiting that long always suffices.
    let seconds = retry_after.as_millis().div_ceil(1000).max(1);
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("too many requests; retry after {seconds}s"),
    )
    .into_response();
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_str(&seconds.to_string()).expect("digits are a valid header value"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_within_the_window_and_recovers_after_it() {
        let limiter = RateLimiter::new(2, Duration::from_secs(2));
        let client = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let other = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let t0 = Instant::now();
        assert_eq!(limiter.check(client, t0), Decision::Allowed);
        assert_eq!(
            limiter.check(client, t0 + Duration::from_millis(500)),
            Decision::Allowed
        );
        assert_eq!(
            limiter.check(client, t0 + Duration::from_millis(1500)),
            Decision::Limited {
                retry_after: Duration::from_millis(500)
            }
        );
        assert_eq!(limiter.check(other, t0), Decision::Allowed, "per client");
        assert_eq!(
            limiter.check(client, t0 + Duration::from_secs(2)),
            Decision::Allowed
        );
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let response = too_many_requests(Duration::from_millis(1));
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        let response = too_many_requests(Duration::from_millis(1001));
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
    }
}
