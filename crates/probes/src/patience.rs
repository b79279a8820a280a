//! [`Patience`]: how every probe waits out a 429 it is not there to judge.
//!
//! A sign-in, a setup request or a callback behind a rate limit answers 429 whatever the probe
//! sends, and gates run in parallel from one address; only the `rate-limit` probe judges 429s
//! (with [`crate::rate_limit::retry_after`], which this reads too). Everything else waits what
//! the 429 asks and sends again, within a bound on each wait and on the number of waits.

use std::time::Duration;

use crate::ParamError;
use crate::net::{Client, ProbeError, Request, Response};
use crate::params::{Dur, err};

/// Added to each wait: limiters refill on their own clock, and coming back a hair early would
/// be refused again.
const SLACK: Duration = Duration::from_millis(100);

/// Waits out 429s. A 429 asking (by `Retry-After`, or [`Patience::or_wait`] when it has none)
/// for at most `max_wait` is waited for, at most `retries` times in the life of the value; any
/// other 429 is handed back for the caller to judge or report.
#[derive(Debug)]
pub(crate) struct Patience {
    max_wait: Duration,
    retries_left: u32,
    /// What a 429 without a usable `Retry-After` is taken to ask; `None`: it is not waited out.
    unstated: Option<Duration>,
    /// 429s waited out so far (the access probes measure it as `rate_limited_waits`).
    pub waits: u32,
}

/// Default cap on one `Retry-After` wait (the `max_wait` parameter of the access probes).
pub(crate) fn max_wait() -> Dur {
    Dur(Duration::from_secs(5))
}

/// Default number of 429s a probe run waits out (the `max_retries` parameter).
pub(crate) fn max_retries() -> u32 {
    5
}

/// Checks the `max_wait` and `max_retries` parameters.
pub(crate) fn validate(max_wait: Dur, max_retries: u32, errors: &mut Vec<ParamError>) {
    if max_wait.0 > Duration::from_secs(60) {
        errors.push(err("max_wait", "expected at most 60s"));
    }
    if max_retries > 50 {
        errors.push(err(
            "max_retries",
            format!("expected at most 50, saw {max_retries}"),
        ));
    }
}

impl Patience {
    /// Waits of at most `max_wait`, `retries` of them; a 429 without `Retry-After` is not
    /// waited out.
    pub fn new(max_wait: Duration, retries: u32) -> Patience {
        Patience {
            max_wait,
            retries_left: retries,
            unstated: None,
            waits: 0,
        }
    }

    /// Takes a 429 without a usable `Retry-After` to ask for `wait`.
    pub fn or_wait(mut self, wait: Duration) -> Patience {
        self.unstated = Some(wait);
        self
    }

    /// What `limited` asks a client to wait, if it says (or [`Patience::or_wait`] assumes).
    pub fn asked(&self, limited: &Response) -> Option<Duration> {
        limited
            .header("retry-after")
            .and_then(|v| crate::rate_limit::retry_after(v, limited.header("date")))
            .or(self.unstated)
    }

    /// When `resp` is a 429 this may wait out, waits and returns `true`; else `false` at once.
    pub async fn wait_out(&mut self, resp: &Response) -> bool {
        if resp.status != 429 || self.retries_left == 0 {
            return false;
        }
        match self.asked(resp) {
            Some(wait) if wait <= self.max_wait => {
                self.retries_left -= 1;
                self.waits += 1;
                tokio::time::sleep(wait + SLACK).await;
                true
            }
            _ => false,
        }
    }

    /// Sends `req`, sending it again after each 429 it may wait out.
    pub async fn send(&mut self, http: &mut Client, req: &Request) -> Result<Response, ProbeError> {
        loop {
            let resp = http.send(req).await?;
            if !self.wait_out(&resp).await {
                return Ok(resp);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, retry_after: Option<&str>) -> Response {
        Response {
            status,
            headers: retry_after
                .map(|v| ("retry-after".to_owned(), v.to_owned()))
                .into_iter()
                .collect(),
            body: Vec::new(),
            latency: Duration::ZERO,
            location: "POST /sign-in".to_owned(),
            redirects: Vec::new(),
        }
    }

    #[tokio::test]
    async fn waits_out_what_it_may_and_hands_back_the_rest() {
        let mut patience = Patience::new(Duration::from_secs(5), 2);
        assert!(
            !patience.wait_out(&answer(200, Some("0"))).await,
            "not a 429"
        );
        assert!(!patience.wait_out(&answer(429, None)).await, "says no wait");
        assert!(
            !patience.wait_out(&answer(429, Some("6"))).await,
            "asks more than max_wait"
        );
        assert_eq!(patience.waits, 0);
        assert!(patience.wait_out(&answer(429, Some("0"))).await);
        assert!(patience.wait_out(&answer(429, Some("0"))).await);
        assert!(
            !patience.wait_out(&answer(429, Some("0"))).await,
            "retries spent"
        );
        assert_eq!(patience.waits, 2);
    }

    #[tokio::test]
    async fn an_unstated_wait_is_assumed_only_when_told() {
        let limited = answer(429, None);
        let patience = Patience::new(Duration::from_secs(5), 1);
        assert_eq!(patience.asked(&limited), None);
        let mut patience = patience.or_wait(Duration::ZERO);
        assert_eq!(patience.asked(&limited), Some(Duration::ZERO));
        assert_eq!(
            patience.asked(&answer(429, Some("3"))),
            Some(Duration::from_secs(3)),
            "Retry-After wins"
        );
        assert!(patience.wait_out(&limited).await);
    }
}
