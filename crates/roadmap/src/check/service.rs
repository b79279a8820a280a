//! `[services.<id>]`: how to start a process the gates need, know it is ready, and stop it.

use std::collections::BTreeMap;
use std::time::Duration;

use phasegate_model::{Ready, Service, ServiceId};
use toml::de::DeValue;

use super::{Checker, Key, Noun, Ref, Val, find, in_file_order, integer};
use crate::error::Problem;

const SERVICE_KEYS: &[&str] = &["run", "ready", "env", "stop", "cwd", "url"];
const READY_KEYS: &[&str] = &["http", "tcp", "within"];
const DEFAULT_READY_WITHIN: Duration = Duration::from_secs(30);
const DEFAULT_URL: &str = "http://127.0.0.1:{port}";

/// A service as written, before references are checked.
pub(super) struct ServiceDraft {
    pub(super) id: Ref<ServiceId>,
    run: Option<String>,
    env: BTreeMap<String, String>,
    cwd: Option<String>,
    ready: Option<Ready>,
    ready_within: Option<Duration>,
    stop: Option<String>,
    url: Option<String>,
}

impl ServiceDraft {
    /// The model service, when the draft is complete.
    pub(super) fn build(self) -> Option<Service> {
        Some(Service {
            id: self.id.id,
            run: self.run?,
            env: self.env,
            cwd: self.cwd,
            ready: self.ready,
            ready_within: self.ready_within.unwrap_or(DEFAULT_READY_WITHIN),
            stop: self.stop,
            url: self.url.unwrap_or_else(|| DEFAULT_URL.to_owned()),
        })
    }
}

impl Checker<'_> {
    pub(super) fn services(&mut self, val: &Val<'_>) -> Vec<ServiceDraft> {
        let Some(table) = self.table("services", val, || {
            "define each service as a `[services.<id>]` section".to_owned()
        }) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (key, val) in in_file_order(table) {
            if let Some(s) = self.service(key, val) {
                out.push(s);
            }
        }
        out
    }

    fn service(&mut self, key: &Key<'_>, val: &Val<'_>) -> Option<ServiceDraft> {
        let id = self.id_from_key::<ServiceId>(key, Noun::Service);
        let name = key.get_ref().as_ref();
        let body = self.table(&format!("services.{name}"), val, || {
            format!("write `[services.{name}]` followed by `run = \"...\"`")
        })?;
        let (mut run, mut env, mut cwd, mut stop, mut url) =
            (None, BTreeMap::new(), None, None, None);
        let (mut ready, mut ready_within) = (None, None);
        for (k, v) in in_file_order(body) {
            match k.get_ref().as_ref() {
                "run" => run = self.non_empty("run", v, "./target/release/api --port {port}"),
                "env" => env = self.env_table(v),
                "cwd" => cwd = self.string("cwd", v).map(str::to_owned),
                "stop" => stop = self.non_empty("stop", v, "./scripts/stop-api.sh"),
                "url" => url = self.non_empty("url", v, "http://127.0.0.1:{port}/api"),
                "ready" => (ready, ready_within) = self.ready(name, v),
                _ => {
                    self.unknown_key(k, SERVICE_KEYS, &format!("in service `{name}`"), None);
                }
            }
        }
        if find(body, "run").is_none() {
            self.push(
                Problem::new(
                    format!("service `{name}` has no `run`"),
                    key.span(),
                    "this service",
                )
                .help("add `run = \"...\"`: the command that starts the service"),
            );
        }
        Some(ServiceDraft {
            id: id?,
            run,
            env,
            cwd,
            ready,
            ready_within,
            stop,
            url,
        })
    }

    /// `ready = { http = "http://127.0.0.1:{port}/health", within = "30s" }` or
    /// `ready = { tcp = "{port}" }`.
    fn ready(&mut self, service: &str, val: &Val<'_>) -> (Option<Ready>, Option<Duration>) {
        let help = || {
            "write `ready = { http = \"http://127.0.0.1:{port}/health\", within = \"30s\" }` or `ready = { tcp = \"{port}\" }`".to_owned()
        };
        let Some(table) = self.table("ready", val, help) else {
            return (None, None);
        };
        let mut checks = Vec::new();
        let mut within = None;
        let mut unknown = false;
        for (k, v) in in_file_order(table) {
            match k.get_ref().as_ref() {
                "http" => {
                    if let Some(u) =
                        self.non_empty("http", v, "http://127.0.0.1:{port}/health/ready")
                    {
                        checks.push((k.span(), Ready::Http(u)));
                    }
                }
                "tcp" => {
                    let port = match v.get_ref() {
                        DeValue::Integer(i) => integer(i).map(|n| n.to_string()),
                        _ => self.non_empty("tcp", v, "{port}"),
                    };
                    checks.extend(port.map(|p| (k.span(), Ready::Tcp(p))));
                }
                "within" => within = self.duration("within", v),
                _ => {
                    unknown = true;
                    self.unknown_key(
                        k,
                        READY_KEYS,
                        &format!("in `ready` of service `{service}`"),
                        None,
                    );
                }
            }
        }
        match checks.len() {
            // A misspelt `http` is already reported; "nothing to check" would repeat it.
            0 if unknown => (None, within),
            0 => {
                self.push(
                    Problem::new(
                        format!("`ready` of service `{service}` says nothing to check"),
                        val.span(),
                        "no `http` or `tcp`",
                    )
                    .help(help()),
                );
                (None, within)
            }
            1 => (checks.pop().map(|(_, r)| r), within),
            _ => {
                let mut p = Problem::new(
                    format!("`ready` of service `{service}` has both `http` and `tcp`"),
                    checks[0].0.clone(),
                    "one check",
                );
                p = p
                    .label(checks[1].0.clone(), "another")
                    .help("keep one: an HTTP URL that answers 2xx, or a TCP port");
                self.push(p);
                (None, within)
            }
        }
    }
}
