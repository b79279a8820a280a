//! `advisories`: the project's locked dependencies against an OSV advisory mirror, each
//! vulnerable package due within its severity's SLA unless an acceptance covers it.
//!
//! ```toml
//! [gates.advisories]
//! probe = "advisories"
//! db = "osv"                                   # a folder of OSV JSON / all.zip, or one .zip
//! lockfiles = ["Cargo.lock"]                   # default: every lockfile under the gate's dir
//! sla = { critical = "24h", high = "7d" }      # from the advisory's `published`
//! accept = [{ id = "GHSA-xxxx-xxxx-xxxx", reason = "not reachable", until = "2027-01-01" }]
//! ```
//!
//! Lockfiles: Cargo.lock, package-lock.json and npm-shrinkwrap.json (lockfile versions 1 to
//! 3), pnpm-lock.yaml, yarn.lock (1 and berry), poetry.lock, uv.lock, requirements*.txt
//! (`==` pins) and go.sum. Each locked (ecosystem, name, version) is matched against the
//! advisories naming that package (module `osv`); withdrawn advisories are not held against
//! anyone but counted.
//!
//! A vulnerable package is a finding whose code carries its severity (`advisory-critical`,
//! `advisory-high`, `advisory-medium`, `advisory-low`) once its SLA has passed: a severity
//! without an SLA is due at once, so the gate's `fail_on` decides which severities block.
//! Before that, `advisory-within-sla` (low) says when it falls due; an acceptance naming the
//! advisory (or an alias) turns it into `advisory-accepted` (low) until the start of its
//! `until` day (UTC), after which `advisory-acceptance-expired` (high) says so and the
//! advisory counts again. An acceptance that matches nothing is `advisory-acceptance-unused`
//! (low). What could not be evaluated is said: `lockfile-unreadable`,
//! `lockfile-unpinned`, `advisory-unreadable`, `advisory-range-unreadable`,
//! `advisory-version-unreadable`, and `advisory-db-missing-ecosystem` when the mirror holds
//! no advisory for an ecosystem the lockfiles use (an incomplete mirror passes nothing).
//!
//! Measurements: `lockfiles`, `packages`, `packages_skipped` (path, git and workspace
//! packages), `advisories`, `advisories_withdrawn`, `withdrawn_matches`, `vulnerable`,
//! `within_sla`, `accepted`. The attachment lists every match with its status (JSON).

mod lockfile;
mod osv;
pub(crate) mod update;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use phasegate_model::Severity;
use serde::{Deserialize, Serialize};

use crate::files::{Cancel, FileProbe};
use crate::net::ProbeError;
use crate::params::{Dur, err};
use crate::report::Report;
use crate::{Context, ParamError};

use lockfile::{Ecosystem, Package};

/// The `advisories` probe's parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    /// The OSV mirror, relative to the gate's directory.
    db: String,
    /// Lockfiles to read, relative to the gate's directory; empty: found by walking it.
    #[serde(default)]
    lockfiles: Vec<String>,
    #[serde(default)]
    sla: BTreeMap<Severity, Dur>,
    #[serde(default)]
    accept: Vec<Accept>,
}

/// An accepted advisory: known, judged, and not blocking until `until`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Accept {
    id: String,
    reason: String,
    until: jiff::civil::Date,
}

/// The `advisories` probe.
pub(crate) struct Advisories;

impl FileProbe for Advisories {
    const KIND: &'static str = "advisories";
    type Config = Config;

    fn validate(cfg: &mut Config, errors: &mut Vec<ParamError>) {
        if cfg.db.trim().is_empty() {
            errors.push(err("db", "expected the path of the OSV mirror"));
        }
        for (i, a) in cfg.accept.iter().enumerate() {
            if a.id.trim().is_empty() {
                errors.push(err(format!("accept[{i}].id"), "expected an advisory id"));
            }
            if a.reason.trim().is_empty() {
                errors.push(err(
                    format!("accept[{i}].reason"),
                    "expected why the advisory is accepted",
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
        let now = jiff::Timestamp::now();
        let db_path = ctx.workdir.join(&cfg.db);
        let db = osv::load(&db_path, &|| cancel.check())?;
        report.files += db.files;
        for bad in &db.bad {
            report.finding(
                "advisory-unreadable",
                format!("not an OSV advisory: {}", bad.message),
                bad.path.clone(),
            );
        }
        let index = Index::new(&db.advisories);
        report.measure("advisories", db.advisories.len() as f64);
        report.measure(
            "advisories_withdrawn",
            db.advisories
                .iter()
                .filter(|a| a.withdrawn.is_some())
                .count() as f64,
        );

        let lockfiles = find_lockfiles(cfg, &ctx.workdir, &db_path)?;
        let mut judge = Judge {
            cfg,
            now,
            matches: Vec::new(),
            used: BTreeSet::new(),
            counts: BTreeMap::new(),
        };
        let mut packages = 0;
        let mut skipped = 0;
        let mut ecosystems = BTreeSet::new();
        for path in &lockfiles {
            cancel.check()?;
            let shown = shown(path, &ctx.workdir);
            let text = std::fs::read_to_string(path)
                .map_err(|e| ProbeError::Other(format!("cannot read `{}`: {e}", path.display())))?;
            report.files += 1;
            let read = match lockfile::read(path, &text) {
                Ok(read) => read,
                Err(e) => {
                    let at = e.line.map_or(shown.clone(), |l| format!("{shown}:{l}"));
                    report.finding(
                        "lockfile-unreadable",
                        format!("cannot read the lockfile: {}", e.message),
                        at,
                    );
                    continue;
                }
            };
            for (line, spec) in &read.unpinned {
                report.finding(
                    "lockfile-unpinned",
                    format!(
                        "`{spec}` is not pinned with `==`: no version to match against advisories"
                    ),
                    format!("{shown}:{line}"),
                );
            }
            packages += read.packages.len();
            skipped += read.skipped;
            for p in &read.packages {
                ecosystems.insert(p.ecosystem);
                for (advisory, affected) in index.get(p) {
                    judge.one(&shown, p, advisory, affected, report);
                }
            }
        }
        for eco in ecosystems {
            if !index.ecosystems.contains(&eco) {
                report.finding(
                    "advisory-db-missing-ecosystem",
                    format!(
                        "the lockfiles hold {} packages but the mirror has no advisory for that ecosystem: mirror {}/all.zip",
                        eco.osv_name(),
                        eco.osv_name()
                    ),
                    db_path.display().to_string(),
                );
            }
        }
        judge.unused_acceptances(report);
        report.measure("lockfiles", lockfiles.len() as f64);
        report.measure("packages", packages as f64);
        report.measure("packages_skipped", skipped as f64);
        for (name, n) in &judge.counts {
            report.measure(name, f64::from(*n));
        }
        for name in ["withdrawn_matches", "vulnerable", "within_sla", "accepted"] {
            report.measurements.entry(name.to_owned()).or_insert(0.0);
        }
        let attachment = serde_json::json!({
            "version": 1,
            "kind": "advisories",
            "matches": judge.matches,
        });
        report.attachment = Some(attachment.to_string());
        Ok(())
    }
}

/// Advisories by (ecosystem, normalized name): each `affected` entry once.
struct Index<'a> {
    by_package: HashMap<(Ecosystem, String), Vec<(&'a osv::Advisory, &'a osv::Affected)>>,
    ecosystems: BTreeSet<Ecosystem>,
}

impl<'a> Index<'a> {
    fn new(advisories: &'a [osv::Advisory]) -> Index<'a> {
        let mut by_package: HashMap<_, Vec<_>> = HashMap::new();
        let mut ecosystems = BTreeSet::new();
        for a in advisories {
            for affected in &a.affected {
                let Some(p) = &affected.package else { continue };
                let Some(eco) = Ecosystem::from_osv(&p.ecosystem) else {
                    continue;
                };
                ecosystems.insert(eco);
                by_package
                    .entry((eco, eco.normalize(&p.name)))
                    .or_default()
                    .push((a, affected));
            }
        }
        Index {
            by_package,
            ecosystems,
        }
    }

    fn get(&self, p: &Package) -> &[(&'a osv::Advisory, &'a osv::Affected)] {
        self.by_package
            .get(&(p.ecosystem, p.ecosystem.normalize(&p.name)))
            .map_or(&[], Vec::as_slice)
    }
}

/// One vulnerable package as the attachment lists it.
#[derive(Debug, Serialize)]
struct Match {
    lockfile: String,
    line: usize,
    ecosystem: &'static str,
    name: String,
    version: String,
    id: String,
    aliases: Vec<String>,
    severity: Option<Severity>,
    score: Option<f64>,
    fixed: Option<String>,
    /// `open`, `within-sla`, `accepted` or `withdrawn`.
    status: &'static str,
}

/// Decides what each match is, given the SLAs and acceptances.
struct Judge<'a> {
    cfg: &'a Config,
    now: jiff::Timestamp,
    matches: Vec<Match>,
    /// Acceptance ids that matched an advisory found.
    used: BTreeSet<String>,
    counts: BTreeMap<&'static str, u32>,
}

impl Judge<'_> {
    fn one(
        &mut self,
        lockfile: &str,
        p: &Package,
        advisory: &osv::Advisory,
        affected: &osv::Affected,
        report: &mut Report,
    ) {
        let at = format!("{lockfile}:{}", p.line);
        let pkg = format!("{}@{}", p.name, p.version);
        let parsed = osv::Version::parse(p.ecosystem, &p.version);
        let verdict = osv::evaluate(p.ecosystem, affected, &p.version, parsed.as_ref());
        let mut m = Match {
            lockfile: lockfile.to_owned(),
            line: p.line,
            ecosystem: p.ecosystem.osv_name(),
            name: p.name.clone(),
            version: p.version.clone(),
            id: advisory.id.clone(),
            aliases: advisory.aliases.clone(),
            severity: None,
            score: None,
            fixed: verdict.fixed.clone(),
            status: "withdrawn",
        };
        // A withdrawn advisory is held against nobody, not even for its unreadable ranges.
        if advisory.withdrawn.is_some() {
            if verdict.affected {
                self.count("withdrawn_matches");
                self.matches.push(m);
            }
            return;
        }
        if parsed.is_none() && !affected.ranges.is_empty() && !verdict.affected {
            report.finding(
                "advisory-version-unreadable",
                format!(
                    "{pkg}: `{}` is not a {} version, so {}'s ranges cannot be evaluated",
                    p.version,
                    p.ecosystem.osv_name(),
                    advisory.id
                ),
                at.clone(),
            );
        }
        for bound in &verdict.unreadable {
            report.finding(
                "advisory-range-unreadable",
                format!(
                    "{pkg}: {} has a range bound `{bound}` that is not a {} version; that range was not evaluated",
                    advisory.id,
                    p.ecosystem.osv_name()
                ),
                at.clone(),
            );
        }
        if !verdict.affected {
            return;
        }
        let rated = osv::rate(advisory, affected);
        m.severity = Some(rated.severity);
        m.score = rated.score;
        let aliases = if advisory.aliases.is_empty() {
            String::new()
        } else {
            format!(" ({})", advisory.aliases.join(", "))
        };
        let summary = advisory
            .summary
            .as_deref()
            .map(|s| format!(": {s}"))
            .unwrap_or_default();
        let fixed = verdict
            .fixed
            .as_deref()
            .map_or("no fixed version".to_owned(), |f| format!("fixed in {f}"));
        let what = format!(
            "{pkg} is affected by {}{aliases}{summary}; {} from {}; {fixed}",
            advisory.id, rated.severity, rated.source
        );
        let ids: Vec<&String> = std::iter::once(&advisory.id)
            .chain(&advisory.aliases)
            .collect();
        let today = self.now.to_zoned(jiff::tz::TimeZone::UTC).date();
        let acceptance = self.cfg.accept.iter().find(|a| ids.contains(&&a.id));
        if let Some(a) = acceptance {
            self.used.insert(a.id.clone());
            if today < a.until {
                m.status = "accepted";
                self.count("accepted");
                report.finding(
                    "advisory-accepted",
                    format!("{what}; accepted until {}: {}", a.until, a.reason),
                    at,
                );
                self.matches.push(m);
                return;
            }
            report.finding(
                "advisory-acceptance-expired",
                format!(
                    "the acceptance of {} ended on {} ({}); {pkg} is still affected",
                    a.id, a.until, a.reason
                ),
                at.clone(),
            );
        }
        let sla = self.cfg.sla.get(&rated.severity).map(|d| d.0);
        let due = advisory.published.map(|p| match sla {
            Some(d) => p
                .checked_add(jiff::SignedDuration::try_from(d).unwrap_or(jiff::SignedDuration::MAX))
                .unwrap_or(jiff::Timestamp::MAX),
            None => p,
        });
        let sla_text = sla.map_or("no SLA".to_owned(), |d| {
            format!("SLA {}", humantime::format_duration(d))
        });
        match (advisory.published, due) {
            (Some(published), Some(due)) if self.now < due => {
                m.status = "within-sla";
                self.count("within_sla");
                report.finding(
                    "advisory-within-sla",
                    format!("{what}; published {published}, due {due} ({sla_text})"),
                    at,
                );
            }
            (published, _) => {
                m.status = "open";
                self.count("vulnerable");
                let when = match (published, due) {
                    (Some(p), Some(d)) => format!("published {p}, {sla_text} passed on {d}"),
                    _ => "no publication date, so its SLA is taken as passed".to_owned(),
                };
                report.finding(severity_code(rated.severity), format!("{what}; {when}"), at);
            }
        }
        self.matches.push(m);
    }

    fn count(&mut self, name: &'static str) {
        *self.counts.entry(name).or_default() += 1;
    }

    fn unused_acceptances(&self, report: &mut Report) {
        for a in &self.cfg.accept {
            if !self.used.contains(&a.id) {
                report.finding(
                    "advisory-acceptance-unused",
                    format!(
                        "the acceptance of {} ({}) matches no advisory of a locked package: remove it",
                        a.id, a.reason
                    ),
                    "accept".to_owned(),
                );
            }
        }
    }
}

fn severity_code(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "advisory-critical",
        Severity::High => "advisory-high",
        Severity::Medium => "advisory-medium",
        Severity::Low => "advisory-low",
    }
}

/// The configured lockfiles, or those found under `root` (as git sees the tree: ignored
/// files, hidden folders, `node_modules` and the mirror itself left out).
fn find_lockfiles(cfg: &Config, root: &Path, db: &Path) -> Result<Vec<PathBuf>, ProbeError> {
    if !cfg.lockfiles.is_empty() {
        return cfg
            .lockfiles
            .iter()
            .map(|l| {
                let path = root.join(l);
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if !lockfile::is_lockfile(name) {
                    Err(ProbeError::Other(format!(
                        "`{l}` is not a lockfile this probe reads ({})",
                        KNOWN
                    )))
                } else if !path.is_file() {
                    Err(ProbeError::Other(format!(
                        "the lockfile `{}` does not exist",
                        path.display()
                    )))
                } else {
                    Ok(path)
                }
            })
            .collect();
    }
    let db = db.to_owned();
    let mut found = Vec::new();
    let walker = ignore::WalkBuilder::new(root)
        .require_git(false)
        .filter_entry(move |e| e.file_name() != "node_modules" && e.path() != db)
        .build();
    for entry in walker {
        let entry = entry.map_err(|e| ProbeError::Other(format!("cannot walk: {e}")))?;
        let name = entry.file_name().to_str().unwrap_or("");
        if entry.file_type().is_some_and(|t| t.is_file()) && lockfile::is_lockfile(name) {
            found.push(entry.into_path());
        }
    }
    found.sort();
    if found.is_empty() {
        return Err(ProbeError::Other(format!(
            "no lockfile under {} ({KNOWN})",
            root.display()
        )));
    }
    Ok(found)
}

const KNOWN: &str = "looked for Cargo.lock, package-lock.json, npm-shrinkwrap.json, pnpm-lock.yaml, yarn.lock, poetry.lock, uv.lock, requirements*.txt, go.sum";

fn shown(path: &Path, root: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}
