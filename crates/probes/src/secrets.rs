//! `secrets`: no secret in the project's files (or their git history). A thin wrapper over
//! the `phasegate-secrets` scanner; see docs/secrets.md for the rules and the noise filters.
//!
//! ```toml
//! [gates.no-secrets]
//! probe = "secrets"
//! path = "."                     # under the gate's directory (default ".")
//! history = false                # every blob of the git history instead of the tree
//! baseline = ".secrets-baseline.json"  # accepted findings (written by `phasegate scan secrets --write-baseline`)
//! config = ".gitleaks.toml"      # a gitleaks-style rule file (default: that file when present)
//! allow = ["tests/fixtures/**"]  # path globs never scanned
//! ```
//!
//! One finding `secret-found` (or `secret-in-history`, with the commit) per secret, located
//! at `file:line:column`, with the rule and the redacted excerpt, never the secret.
//! Measurements: `files` and `bytes` read, `skipped_binary`, `skipped_large`,
//! `skipped_fixture`, and the candidates set aside (`noise`, `inline_ignored`, `allowlisted`,
//! `baselined`), so that what was not examined is in the evidence.

use std::path::PathBuf;

use phasegate_secrets::{Baseline, Mode, Options};
use serde::Deserialize;

use crate::files::{Cancel, FileProbe};
use crate::net::ProbeError;
use crate::report::Report;
use crate::{Context, ParamError};

/// The `secrets` probe's parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    #[serde(default = "dot")]
    path: String,
    #[serde(default)]
    history: bool,
    baseline: Option<String>,
    config: Option<String>,
    #[serde(default)]
    allow: Vec<String>,
}

fn dot() -> String {
    ".".to_owned()
}

pub(crate) struct Secrets;

impl FileProbe for Secrets {
    const KIND: &'static str = "secrets";
    type Config = Config;
    /// `tree`: the files as they are now; `history`: every blob committed before.
    const RULES: &'static [&'static str] = &["tree", "history"];

    fn validate(cfg: &mut Config, errors: &mut Vec<ParamError>) {
        if let Err(e) = phasegate_secrets::glob_allowlist(&cfg.allow) {
            errors.push(ParamError {
                key: Some("allow".into()),
                message: e.to_string(),
            });
        }
        for (key, value) in [
            ("path", Some(&cfg.path)),
            ("baseline", cfg.baseline.as_ref()),
        ] {
            if value.is_some_and(|v| v.is_empty()) {
                errors.push(ParamError {
                    key: Some(key.into()),
                    message: "expected a path, saw an empty string".into(),
                });
            }
        }
    }

    fn check(
        cfg: &Config,
        ctx: &Context,
        cancel: &Cancel,
        report: &mut Report,
    ) -> Result<(), ProbeError> {
        cancel.check()?;
        let at = |p: &str| -> PathBuf { ctx.workdir.join(p) };
        let fail = |e: phasegate_secrets::Error| ProbeError::Other(e.to_string());
        let root = at(&cfg.path);
        let config = cfg.config.as_deref().map(at);
        let scanner =
            phasegate_secrets::scanner_for(&root, config.as_deref(), &cfg.allow).map_err(fail)?;
        let baseline = cfg
            .baseline
            .as_deref()
            .map(|b| Baseline::read(&at(b)))
            .transpose()
            .map_err(fail)?;
        let mode = if cfg.history {
            Mode::History
        } else {
            Mode::Tree
        };
        let options = Options {
            stop: Some(cancel.flag()),
            ..Options::default()
        };
        let scan = phasegate_secrets::scan(&scanner, &root, mode, baseline.as_ref(), &options)
            .map_err(fail)?;
        report.covered(
            "tree",
            !cfg.history,
            "history mode reads committed blobs: files not committed are not scanned",
        );
        report.covered(
            "history",
            cfg.history,
            "history not scanned: set history = true to find secrets removed by a later commit",
        );
        let s = &scan.stats;
        report.files = u32::try_from(s.files).unwrap_or(u32::MAX);
        for (name, value) in [
            ("bytes", s.bytes),
            ("skipped_binary", s.skipped_binary),
            ("skipped_large", s.skipped_large),
            ("skipped_fixture", s.skipped_fixture),
            ("unreadable", s.unreadable),
            ("noise", s.noise),
            ("inline_ignored", s.inline_ignored),
            ("allowlisted", s.allowlisted),
            ("baselined", s.baselined),
        ] {
            report.measure(name, value as f64);
        }
        for f in &scan.findings {
            let (code, commit) = match &f.commit {
                Some(c) => ("secret-in-history", format!(" (first in commit {c})")),
                None => ("secret-found", String::new()),
            };
            report.finding(
                code,
                format!(
                    "{} {}{commit}: {} [fingerprint {}]",
                    f.description, f.redacted, f.excerpt, f.fingerprint
                ),
                format!("{}:{}:{}", f.file, f.line, f.column),
            );
        }
        Ok(())
    }
}
