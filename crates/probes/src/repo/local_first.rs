//! `local-first`: the default configuration runs without any outside host. Reads the
//! default config files and env examples line by line (their formats differ, a finding
//! needs its line, and a URL is a URL in all of them) and flags every hard-coded host that is
//! not this machine, a reserved name, or a service of the compose network.
//!
//! Decisions: a commented line is not configuration. `${VAR:-default}` is read for its
//! default (a local one is fine, an outside one is flagged: it is what runs when nobody sets
//! the variable). `${VAR}` with no default is required but names no host: not a finding.

use std::net::IpAddr;
use std::path::Path;
use std::sync::LazyLock;

use globset::GlobSet;
use regex::Regex;
use serde::Deserialize;

use super::{at, glob_set, read, walk};
use crate::files::{Cancel, FileProbe};
use crate::net::ProbeError;
use crate::report::Report;
use crate::{Context, ParamError};

pub(crate) struct LocalFirst;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    /// The default configuration files (globs).
    #[serde(default = "default_files")]
    files: Vec<String>,
    /// Outside hosts the default configuration may name (globs: `*.sentry.io`).
    #[serde(default)]
    allow_hosts: Vec<String>,
    #[serde(skip)]
    files_set: GlobSet,
    #[serde(skip)]
    allow_set: Vec<globset::GlobMatcher>,
}

fn default_files() -> Vec<String> {
    [
        "config/**/*.{toml,yaml,yml,json,ini}",
        "**/.env.example",
        "**/.env.sample",
        "**/.env.dist",
        "**/.env.defaults",
        "**/docker-compose*.{yml,yaml}",
        "**/compose.{yml,yaml}",
        "**/application*.{properties,yml,yaml}",
        "**/appsettings*.json",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// `scheme://...`, stopping where quoting, `${...}` or a list would end it.
static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[a-z][a-z0-9+.-]*://[^\s'\x22<>(){},;`]+").expect("a valid pattern")
});

/// `db_host = "db.example-corp.net"`: a host without a scheme under a key that says so.
static HOST_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)^\s*["']?[\w.-]*(?:host|hostname|server|endpoint|domain|addr|address)["']?\s*[:=]\s*["']?([a-z0-9][a-z0-9.-]*\.[a-z0-9-]*[a-z0-9])(?::\d+)?["']?\s*,?\s*$"#)
        .expect("a valid pattern")
});

impl FileProbe for LocalFirst {
    const KIND: &'static str = "local-first";
    type Config = Config;

    fn validate(cfg: &mut Config, errors: &mut Vec<ParamError>) {
        cfg.files_set = glob_set("files", &cfg.files, errors);
        cfg.allow_set = cfg
            .allow_hosts
            .iter()
            .enumerate()
            .filter_map(|(i, h)| {
                super::glob(
                    &format!("allow_hosts[{i}]"),
                    &h.to_ascii_lowercase(),
                    errors,
                )
            })
            .collect();
    }

    fn check(
        cfg: &Config,
        ctx: &Context,
        cancel: &Cancel,
        report: &mut Report,
    ) -> Result<(), ProbeError> {
        let files = walk(&ctx.workdir, &cfg.files_set, cancel)?;
        let (mut checked, mut allowed) = (0usize, 0usize);
        let mut used = vec![false; cfg.allow_set.len()];
        for file in &files {
            let Some(text) = read(&ctx.workdir, file, cancel, report)? else {
                continue;
            };
            for (n, line) in text.lines().enumerate() {
                for (value, host) in hosts(file, line) {
                    checked += 1;
                    if is_local(&host) {
                        continue;
                    }
                    if let Some(i) = cfg.allow_set.iter().position(|g| g.is_match(&host)) {
                        used[i] = true;
                        allowed += 1;
                        continue;
                    }
                    report.finding(
                        "local-first-external-host",
                        format!(
                            "`{value}` makes the default configuration need the outside host `{host}`: give it a local default, make it optional, or list it in `allow_hosts`"
                        ),
                        at(file, n + 1),
                    );
                }
            }
        }
        for (i, h) in cfg.allow_hosts.iter().enumerate() {
            if !used[i] {
                report.finding(
                    "local-first-allow-unused",
                    format!("`{h}` in `allow_hosts` matches no host: remove it"),
                    format!("allow_hosts[{i}]"),
                );
            }
        }
        report.measure("local_first_files", files.len() as f64);
        report.measure("local_first_hosts_checked", checked as f64);
        report.measure("local_first_hosts_allowed", allowed as f64);
        Ok(())
    }
}

/// The hosts a configuration line names: `(what was written, host)`.
fn hosts(file: &Path, line: &str) -> Vec<(String, String)> {
    let trimmed = line.trim_start();
    if trimmed.starts_with(['#', ';']) || trimmed.starts_with("//") || trimmed.starts_with("<!--") {
        return Vec::new();
    }
    // JSON has no comments; elsewhere ` #` starts one (a URL's fragment has no space before).
    let json = file.extension().is_some_and(|e| e == "json");
    let line = if json {
        line
    } else {
        line.split(" #").next().unwrap_or(line)
    };
    let key = line.trim_start().trim_start_matches(['"', '\'']);
    if key.starts_with("$schema") || key.starts_with("xmlns") {
        return Vec::new();
    }
    let mut out: Vec<(String, String)> = URL
        .find_iter(line)
        .filter_map(|m| url_host(m.as_str()).map(|h| (m.as_str().to_owned(), h)))
        .collect();
    if out.is_empty()
        && let Some(c) = HOST_KEY.captures(line)
    {
        let host = c[1].to_ascii_lowercase();
        // A version or a number (`1.2.3`) is not a host: a name ends in letters.
        if host
            .rsplit('.')
            .next()
            .is_some_and(|tld| tld.chars().any(|c| c.is_ascii_alphabetic()))
            || host.parse::<IpAddr>().is_ok()
        {
            out.push((c[1].to_owned(), host));
        }
    }
    out
}

/// The host of a URL; `None` when it is filled in from a variable.
fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    if host.is_empty() || host.contains(['$', '%']) {
        return None;
    }
    Some(host.trim_end_matches('.').to_ascii_lowercase())
}

/// This machine, a name reserved for tests and examples (RFC 2606, 6761, 6762, 8375, and
/// ICANN's `.internal`), or a single-label name (a service on the compose network, a hosts
/// entry): nothing outside is needed.
fn is_local(host: &str) -> bool {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return ip.is_loopback() || ip.is_unspecified();
    }
    const SUFFIXES: &[&str] = &[
        ".localhost",
        ".local",
        ".internal",
        ".test",
        ".example",
        ".invalid",
        ".home.arpa",
    ];
    const EXAMPLES: &[&str] = &["example.com", "example.org", "example.net"];
    !host.contains('.')
        || SUFFIXES.iter().any(|s| host.ends_with(s))
        || EXAMPLES
            .iter()
            .any(|e| host == *e || host.ends_with(&format!(".{e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(file: &str, line: &str) -> Vec<String> {
        hosts(Path::new(file), line)
            .into_iter()
            .map(|(_, h)| h)
            .collect()
    }

    #[test]
    fn urls_and_host_keys() {
        assert_eq!(
            found(".env.example", "API_URL=https://api.stripe.com/v1"),
            ["api.stripe.com"]
        );
        assert_eq!(
            found(".env.example", "DB=postgres://u:p@[::1]:5432/db"),
            ["::1"]
        );
        assert_eq!(
            found(".env.example", "API=${API_URL:-http://localhost:8080}"),
            ["localhost"]
        );
        assert!(found(".env.example", "API=${API_URL}").is_empty());
        assert!(found(".env.example", "# API=https://api.stripe.com").is_empty());
        assert_eq!(
            found("config/a.toml", "smtp_host = \"smtp.sendgrid.net\""),
            ["smtp.sendgrid.net"]
        );
        assert!(found("config/a.toml", "version = \"1.2.3\"").is_empty());
        assert!(
            found(
                "config/a.json",
                "\"$schema\": \"https://json.schemastore.org/x\""
            )
            .is_empty()
        );
    }

    #[test]
    fn local_names() {
        for h in [
            "localhost",
            "127.0.0.1",
            "::1",
            "0.0.0.0",
            "db",
            "api.internal",
            "x.local",
            "example.com",
            "a.example.org",
            "svc.test",
        ] {
            assert!(is_local(h), "{h}");
        }
        for h in [
            "api.stripe.com",
            "10.0.0.5",
            "example.com.evil.io",
            "sentry.io",
        ] {
            assert!(!is_local(h), "{h}");
        }
    }
}
