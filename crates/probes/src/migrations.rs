//! `migrations`: applied migrations never change (forward-only). Each run records the hash
//! of every migration file in its evidence; a later run fails when one recorded then has
//! changed or disappeared, naming it. A new migration is fine.
//!
//! ```toml
//! [gates.migrations]
//! probe = "migrations"
//! baseline = "last-pass"        # or the path of a record kept in the repository
//! dirs = ["migrations"]         # default: the common tools' folders that exist
//! ```
//!
//! Where the previous record comes from: `baseline = "last-pass"` is the gate's own latest
//! passing output, found in the ledger by the engine as for `load` (its digest checked
//! against the record that sealed it), so nothing extra is committed and a changed
//! migration cannot pass by rewriting a file next to it. A path instead names a record
//! (this probe's output, kept in the repository) for teams whose ledger is not shared.
//!
//! Layouts: SQL files named by version in a folder (sqlx `0001_init.sql`, golang-migrate
//! and dbmate `1_init.up.sql`/`.down.sql`, Flyway `V1__init.sql` and `U1__...`, Rails
//! timestamps `20240101120000_create_users.rb`) or a folder per migration (diesel
//! `2024-01-01-000000_init/up.sql`, Prisma `20240101120000_init/migration.sql`). Flyway's
//! repeatable `R__name.sql` are re-applied when they change, so they are recorded but may
//! change. Other files (READMEs, `migration_lock.toml`) are counted in `files_ignored`.
//!
//! Findings: `migration-changed` and `migration-removed` (critical), `migrations-no-baseline`
//! (low: the first run, which records what it found). Measurements: `migrations`,
//! `migrations_new`, `migrations_recorded`, `repeatable`, `files_ignored`. The attachment is
//! the record (JSON, `version` 1): every migration's path and SHA-256.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::files::{Cancel, FileProbe};
use crate::net::ProbeError;
use crate::params::err;
use crate::report::Report;
use crate::{Context, ParamError};

/// Where the common tools keep their migrations, relative to the project.
const DEFAULT_DIRS: &[&str] = &[
    "migrations",
    "db/migrations",
    "db/migrate",
    "prisma/migrations",
    "src/main/resources/db/migration",
    "database/migrations",
    "sql/migrations",
];

/// A migration's version prefix: digits (sqlx, golang-migrate, Rails, diesel's dated
/// folders) or Flyway's `V1__` / `U1.2__`.
static VERSIONED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:\d[\d\-]*_|[VU]\d+(?:[._]\d+)*__)").expect("a valid pattern")
});

/// The `migrations` probe's parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    baseline: String,
    #[serde(default)]
    dirs: Vec<String>,
}

/// The record a run leaves as its attachment, and reads back as its baseline.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Record {
    version: u32,
    kind: String,
    /// Path (relative to the gate's directory, `/`-separated) → SHA-256 hex.
    migrations: BTreeMap<String, String>,
    #[serde(default)]
    repeatable: BTreeMap<String, String>,
}

/// The `migrations` probe.
pub(crate) struct Migrations;

impl FileProbe for Migrations {
    const KIND: &'static str = "migrations";
    type Config = Config;
    /// `unchanged`: the applied migrations were compared with an earlier record.
    const RULES: &'static [&'static str] = &["unchanged"];

    fn validate(cfg: &mut Config, errors: &mut Vec<ParamError>) {
        if cfg.baseline.trim().is_empty() {
            errors.push(err(
                "baseline",
                "expected \"last-pass\" or the path of an earlier record",
            ));
        }
        for (i, d) in cfg.dirs.iter().enumerate() {
            if Path::new(d).is_absolute() || d.split('/').any(|c| c == "..") {
                errors.push(err(
                    format!("dirs[{i}]"),
                    format!("expected a folder inside the project, saw {d:?}"),
                ));
            }
        }
    }

    fn check(
        cfg: &Config,
        ctx: &Context,
        cancel: &Cancel,
        report: &mut Report,
    ) -> Result<(), ProbeError> {
        let dirs: Vec<PathBuf> = if cfg.dirs.is_empty() {
            DEFAULT_DIRS
                .iter()
                .map(|d| ctx.workdir.join(d))
                .filter(|d| d.is_dir())
                .collect()
        } else {
            let dirs: Vec<PathBuf> = cfg.dirs.iter().map(|d| ctx.workdir.join(d)).collect();
            if let Some(missing) = dirs.iter().find(|d| !d.is_dir()) {
                return Err(ProbeError::Other(format!(
                    "the migrations folder `{}` does not exist",
                    missing.display()
                )));
            }
            dirs
        };
        if dirs.is_empty() {
            return Err(ProbeError::Other(format!(
                "no migrations folder under {} (looked for {}); name it with `dirs`",
                ctx.workdir.display(),
                DEFAULT_DIRS.join(", ")
            )));
        }
        let mut now = Record {
            version: 1,
            kind: Self::KIND.to_owned(),
            ..Record::default()
        };
        let mut ignored = 0u32;
        for dir in &dirs {
            let mut files = Vec::new();
            walk(dir, &mut files).map_err(|e| io_error(dir, &e))?;
            files.sort();
            for path in files {
                cancel.check()?;
                let kind = classify(&path);
                let Some(repeatable) = kind else {
                    ignored += 1;
                    continue;
                };
                let bytes = std::fs::read(&path).map_err(|e| io_error(&path, &e))?;
                report.files += 1;
                let key = relative(&path, &ctx.workdir);
                let map = if repeatable {
                    &mut now.repeatable
                } else {
                    &mut now.migrations
                };
                map.insert(key, digest(&bytes));
            }
        }
        report.measure("migrations", now.migrations.len() as f64);
        report.measure("repeatable", now.repeatable.len() as f64);
        report.measure("files_ignored", f64::from(ignored));
        if now.migrations.is_empty() && now.repeatable.is_empty() {
            return Err(ProbeError::Other(format!(
                "no migration file in {} ({ignored} other files): expected SQL files named by version (`0001_init.sql`, `V1__init.sql`, `20240101120000_init/migration.sql`)",
                dirs.iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let earlier = if cfg.baseline == crate::load::LAST_PASS {
            report.finding(
                "migrations-no-baseline",
                format!(
                    "no earlier passing run of this gate: recorded {} migrations; from the next run each must stay as it is",
                    now.migrations.len()
                ),
                dirs.iter()
                    .map(|d| relative(d, &ctx.workdir))
                    .collect::<Vec<_>>()
                    .join(", "),
            );
            None
        } else {
            Some(read_record(&ctx.workdir.join(&cfg.baseline))?)
        };
        report.covered(
            "unchanged",
            earlier.is_some(),
            "no earlier record to compare with: this run records the migrations",
        );
        if let Some(earlier) = earlier {
            compare(&earlier, &now, report);
        }
        report.attachment = Some(serde_json::to_string(&now).expect("a record serializes"));
        Ok(())
    }
}

fn compare(earlier: &Record, now: &Record, report: &mut Report) {
    report.measure("migrations_recorded", earlier.migrations.len() as f64);
    for (path, hash) in &earlier.migrations {
        match now.migrations.get(path) {
            Some(h) if h == hash => {}
            Some(h) => report.finding(
                "migration-changed",
                format!(
                    "applied migration `{path}` changed (sha256 {} when recorded, {} now): add a new migration instead",
                    short(hash),
                    short(h)
                ),
                path.clone(),
            ),
            None => report.finding(
                "migration-removed",
                format!(
                    "applied migration `{path}` (sha256 {}) is gone: migrations only go forward",
                    short(hash)
                ),
                path.clone(),
            ),
        }
    }
    let new = now
        .migrations
        .keys()
        .filter(|p| !earlier.migrations.contains_key(*p))
        .count();
    report.measure("migrations_new", new as f64);
}

fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}

fn read_record(path: &Path) -> Result<Record, ProbeError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ProbeError::Other(format!(
            "cannot read the baseline `{}`: {e}",
            path.display()
        ))
    })?;
    match serde_json::from_str::<Record>(&text) {
        Ok(r) if r.version == 1 && r.kind == Migrations::KIND => Ok(r),
        Ok(r) => Err(ProbeError::Other(format!(
            "the baseline `{}` is a `{}` record of version {}, expected a `migrations` record of version 1",
            path.display(),
            r.kind,
            r.version
        ))),
        Err(e) => Err(ProbeError::Other(format!(
            "the baseline `{}` is not a migrations record: {e}",
            path.display()
        ))),
    }
}

/// `Some(false)` for a versioned migration, `Some(true)` for a repeatable one, `None` for
/// a file that is not a migration.
fn classify(path: &Path) -> Option<bool> {
    let name = path.file_name()?.to_str()?;
    let ext = path.extension()?.to_str()?;
    if ext != "sql" && ext != "rb" {
        return None;
    }
    // diesel (`up.sql`, `down.sql`) and Prisma (`migration.sql`): the folder is versioned.
    let named_by = if matches!(name, "up.sql" | "down.sql" | "migration.sql") {
        path.parent()?.file_name()?.to_str()?
    } else {
        name
    };
    if named_by.starts_with("R__") {
        Some(true)
    } else if VERSIONED.is_match(named_by) {
        Some(false)
    } else {
        None
    }
}

/// SHA-256 of the content with CRLF read as LF: a checkout with `core.autocrlf` is the same
/// migration (Flyway's checksums ignore line endings for the same reason).
fn digest(bytes: &[u8]) -> String {
    let mut h = Sha256::new();
    let mut rest = bytes;
    while let Some(at) = rest.windows(2).position(|w| w == b"\r\n") {
        h.update(&rest[..at]);
        h.update(b"\n");
        rest = &rest[at + 2..];
    }
    h.update(rest);
    hex::encode(h.finalize())
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if entry.file_type()?.is_dir() {
            walk(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

fn relative(path: &Path, root: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

fn io_error(path: &Path, e: &std::io::Error) -> ProbeError {
    ProbeError::Other(format!("cannot read `{}`: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_of_the_common_tools() {
        let c = |p: &str| classify(Path::new(p));
        assert_eq!(c("migrations/0001_init.sql"), Some(false));
        assert_eq!(c("migrations/1_init.up.sql"), Some(false));
        assert_eq!(c("migrations/1_init.down.sql"), Some(false));
        assert_eq!(c("db/migration/V1__init.sql"), Some(false));
        assert_eq!(c("db/migration/V1.2__more.sql"), Some(false));
        assert_eq!(c("db/migration/R__views.sql"), Some(true));
        assert_eq!(c("db/migrate/20240101120000_create_users.rb"), Some(false));
        assert_eq!(c("migrations/2024-01-01-000000_init/up.sql"), Some(false));
        assert_eq!(
            c("prisma/migrations/20240101120000_init/migration.sql"),
            Some(false)
        );
        assert_eq!(c("migrations/README.md"), None);
        assert_eq!(c("migrations/seed.sql"), None);
        assert_eq!(c("prisma/migrations/migration_lock.toml"), None);
    }

    #[test]
    fn line_endings_do_not_change_the_digest() {
        assert_eq!(digest(b"a\r\nb\r\n"), digest(b"a\nb\n"));
        assert_ne!(digest(b"a\nb\n"), digest(b"a\nc\n"));
    }
}
