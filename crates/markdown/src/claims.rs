//! What an imported probe gate needs before it tests its item's claim: the parameters the
//! claim depends on (a fault hook for "reflects the DB dependency", `https = "yes"` for "in
//! production"), written as a `todo` so the gate stays `missing` until they are given, and
//! the probe's rules the claim rests on, written as `require` so that a gate completed only
//! with a target never passes without testing them.

use crate::classify::mentions;

/// What a probe gate drafted from an item needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Needs {
    /// Parameters to fill in (each a key and, after `=`, what to put there), in order.
    pub fill: Vec<&'static str>,
    /// The probe's rules the claim rests on.
    pub require: Vec<&'static str>,
    /// Parameters written as they are: the one value that fits every project.
    pub preset: Vec<&'static str>,
}

/// Words saying an item is about a dependency of the service, which only a fault hook that
/// takes it down tests.
const DEPENDENCY: &[&str] = &[
    "db",
    "database*",
    "dependenc*",
    "depends",
    "redis",
    "postgres*",
    "queue*",
    "downstream",
    "reflect*",
    "پایگاه داده",
    "وابستگی",
];

/// Words saying an item is about production, where TLS ends in front of the service.
const PRODUCTION: &[&str] = &[
    "production",
    "prod",
    "https",
    "tls",
    "hsts",
    "secure cookie*",
    "cookie flag*",
    "پروداکشن",
];

/// Words saying a load item is about latency or about throughput.
const LATENCY: &[&str] = &["p50", "p90", "p95", "p99", "latency", "تاخیر"];
const THROUGHPUT: &[&str] = &["req/s", "rps", "throughput"];

/// What the gate of `probe`, drafted from the item whose folded text is `text`, needs. The
/// probe's required parameters come first: without them it cannot run at all.
pub(crate) fn needs(probe: &str, text: &str) -> Needs {
    let any = |words: &[&str]| words.iter().any(|w| mentions(text, w));
    let mut n = Needs::default();
    match probe {
        "health" if any(DEPENDENCY) => {
            n.fill = vec![
                "fault = <a command taking the dependency down>",
                "restore = <the command bringing it back>",
            ];
            n.require = vec!["dependency", "recovery"];
        }
        "headers" if any(PRODUCTION) => {
            n.fill = vec!["https = \"yes\" (TLS ends at a proxy in front of the service)"];
            n.require = vec!["hsts", "cookie_secure"];
        }
        "cors" => {
            n.fill = vec!["allowed = [the exact origins your clients use]"];
            n.require = vec!["allowed", "foreign", "look_alikes"];
        }
        "rate-limit" => n.fill = vec!["path = <the limited route>"],
        "http" => n.fill = vec!["requests = [the requests and what each must answer]"],
        "rbac" => {
            n.fill = vec![
                "roles = {credentials}",
                "rows = [requests × expected statuses]",
            ]
        }
        "strict-input" => n.fill = vec!["routes = [a route and its valid example body]"],
        "webhook" => {
            n.fill = vec!["path, secret, scheme, payment, event, effect (see docs/probes.md)"];
            n.require = vec!["unsigned", "forged", "applied", "replay"];
        }
        "idempotency" => {
            n.fill = vec![
                "request = <the request to repeat>",
                "different = <a change of its body>",
                "effect = <a request reading what it changes>",
            ];
            n.require = vec!["repeat", "effect", "key_reuse"];
        }
        "token" => {
            n.fill = vec![
                "owner, other, resource, other_resource, mint, download, expiring (see docs/probes.md)",
            ];
        }
        "shutdown" => {
            n.fill = vec![
                "command = <how to start the service on {port}>",
                "slow_path = <a request slower than the drain>",
            ]
        }
        "load" => {
            n.fill = vec![
                "duration = <how long>",
                "thresholds = {the limits the item states}",
            ];
            if any(LATENCY) {
                n.require.push("latency");
            }
            if any(THROUGHPUT) {
                n.require.push("throughput");
            }
        }
        "advisories" => {
            n.fill = vec![
                "db = <the directory of your OSV mirror; `phasegate advisories update` fills it>",
            ];
        }
        "migrations" => n.preset = vec!["baseline = \"last-pass\""],
        _ => {}
    }
    n
}

/// Items about a workflow (what a deployment pipeline does on a failure), which no probe of
/// a running service tests: a person signs them off.
pub(crate) const WORKFLOW: &[&str] = &[
    "rollback*",
    "roll back",
    "rolls back",
    "rolled back",
    "roll-back",
    "promotion*",
    "promote*",
    "blocks deploy*",
    "blocks release*",
    "blocked by",
    "canary",
    "بازگشت نسخه",
];
