//! Advisories in the OSV schema (<https://ossf.github.io/osv-schema/>), read from a mirror:
//! a folder of `<ID>.json` files (nested folders allowed) and `.zip` archives of them, the
//! way OSV publishes each ecosystem (`<ecosystem>/all.zip`). Version ranges are evaluated in
//! the ecosystem's own order, severities computed from CVSS vectors.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use phasegate_model::Severity;
use serde::Deserialize;

use super::lockfile::Ecosystem;

/// One OSV advisory, the fields this probe uses (others are ignored, as the schema allows).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Advisory {
    pub id: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub summary: Option<String>,
    pub published: Option<jiff::Timestamp>,
    pub withdrawn: Option<jiff::Timestamp>,
    #[serde(default)]
    pub severity: Vec<SeverityScore>,
    #[serde(default)]
    pub affected: Vec<Affected>,
    #[serde(default)]
    pub database_specific: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct SeverityScore {
    #[serde(rename = "type")]
    pub kind: String,
    pub score: String,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Affected {
    pub package: Option<PackageRef>,
    #[serde(default)]
    pub severity: Vec<SeverityScore>,
    #[serde(default)]
    pub ranges: Vec<Range>,
    #[serde(default)]
    pub versions: Vec<String>,
    #[serde(default)]
    pub database_specific: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct PackageRef {
    pub ecosystem: String,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Range {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub events: Vec<Event>,
}

/// One event; the schema says exactly one of its fields is set.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Event {
    pub introduced: Option<String>,
    pub fixed: Option<String>,
    pub last_affected: Option<String>,
    pub limit: Option<String>,
}

/// A file of the mirror that could not be read, and why.
#[derive(Debug)]
pub(crate) struct BadFile {
    pub path: String,
    pub message: String,
}

/// What was read from the mirror.
#[derive(Debug, Default)]
pub(crate) struct Database {
    pub advisories: Vec<Advisory>,
    /// Files (or archive members) that are not OSV JSON.
    pub bad: Vec<BadFile>,
    /// Files read: JSON files and archives.
    pub files: u32,
}

/// Reads the mirror at `root`: a folder or one `.zip` archive. `check` is called between
/// files, so that a stopped probe ends.
pub(crate) fn load(
    root: &Path,
    check: &dyn Fn() -> Result<(), crate::net::ProbeError>,
) -> Result<Database, crate::net::ProbeError> {
    let mut db = Database::default();
    let mut files = Vec::new();
    if root.is_dir() {
        walk(root, &mut files).map_err(|e| io_error(root, &e))?;
    } else if root.is_file() {
        files.push(root.to_owned());
    } else {
        return Err(crate::net::ProbeError::Other(format!(
            "the advisory database `{}` does not exist: mirror OSV there (`phasegate advisories update`)",
            root.display()
        )));
    }
    files.sort();
    for path in files {
        check()?;
        let shown = path.display().to_string();
        let is_zip = path.extension().is_some_and(|e| e == "zip");
        db.files += 1;
        let bytes = std::fs::read(&path).map_err(|e| io_error(&path, &e))?;
        if is_zip {
            read_zip(&shown, &bytes, &mut db);
        } else {
            add(&shown, &bytes, &mut db);
        }
    }
    Ok(db)
}

fn io_error(path: &Path, e: &std::io::Error) -> crate::net::ProbeError {
    crate::net::ProbeError::Other(format!("cannot read `{}`: {e}", path.display()))
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json" || e == "zip") {
            out.push(path);
        }
    }
    Ok(())
}

fn add(path: &str, bytes: &[u8], db: &mut Database) {
    match serde_json::from_slice::<Advisory>(bytes) {
        Ok(a) => db.advisories.push(a),
        Err(e) => db.bad.push(BadFile {
            path: path.to_owned(),
            message: e.to_string(),
        }),
    }
}

fn read_zip(path: &str, bytes: &[u8], db: &mut Database) {
    let mut archive = match zip::ZipArchive::new(std::io::Cursor::new(bytes)) {
        Ok(a) => a,
        Err(e) => {
            db.bad.push(BadFile {
                path: path.to_owned(),
                message: format!("not a zip archive: {e}"),
            });
            return;
        }
    };
    for i in 0..archive.len() {
        let mut member = match archive.by_index(i) {
            Ok(m) => m,
            Err(e) => {
                db.bad.push(BadFile {
                    path: format!("{path}#{i}"),
                    message: e.to_string(),
                });
                continue;
            }
        };
        let Ok(member_name) = member.name().map(|n| n.into_owned()) else {
            db.bad.push(BadFile {
                path: format!("{path}#{i}"),
                message: "a member name that is not UTF-8".to_owned(),
            });
            continue;
        };
        if !member.is_file() || !member_name.ends_with(".json") {
            continue;
        }
        let name = format!("{path}!{member_name}");
        let mut content = Vec::new();
        match member.read_to_end(&mut content) {
            Ok(_) => add(&name, &content, db),
            Err(e) => db.bad.push(BadFile {
                path: name,
                message: e.to_string(),
            }),
        }
    }
}

/// A version in one ecosystem's order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Version {
    /// SemVer 2.0 (crates.io, npm, Go without its `v`).
    Semver(semver::Version),
    /// PEP 440 (PyPI): epochs, pre-, post- and dev releases, local versions.
    Pep440(pep440_rs::Version),
}

impl Version {
    /// Parses `text` as `ecosystem` orders its versions.
    pub fn parse(ecosystem: Ecosystem, text: &str) -> Option<Version> {
        match ecosystem {
            Ecosystem::PyPI => pep440_rs::Version::from_str(text).ok().map(Version::Pep440),
            Ecosystem::Go => semver::Version::parse(text.strip_prefix('v').unwrap_or(text))
                .ok()
                .map(Version::Semver),
            Ecosystem::Cargo | Ecosystem::Npm => {
                semver::Version::parse(text).ok().map(Version::Semver)
            }
        }
    }
}

/// Whether a locked version is affected by one `affected` entry, and what fixes it.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub affected: bool,
    /// The lowest `fixed` above the version in a range that affects it.
    pub fixed: Option<String>,
    /// Bounds that could not be read as versions of the ecosystem: such a range is not
    /// evaluated, and the probe says so.
    pub unreadable: Vec<String>,
}

/// Evaluates `affected` for `version` (as the OSV schema's evaluation says: per range, the
/// events in version order, `introduced` opening, `fixed` and past `last_affected` closing;
/// `limit` bounds the range from above; `versions` lists affected versions outright).
/// `GIT` ranges name commits, not releases, and are left out.
pub(crate) fn evaluate(
    ecosystem: Ecosystem,
    affected: &Affected,
    version: &str,
    parsed: Option<&Version>,
) -> Verdict {
    let mut verdict = Verdict::default();
    let same = |v: &String| match (parsed, Version::parse(ecosystem, v)) {
        (Some(a), Some(b)) => *a == b,
        _ => v == version,
    };
    if affected.versions.iter().any(same) {
        verdict.affected = true;
    }
    let Some(v) = parsed else {
        return verdict;
    };
    for range in &affected.ranges {
        let ordered = match range.kind.as_str() {
            // SEMVER ranges are SemVer whatever the ecosystem; ECOSYSTEM ranges are the
            // ecosystem's order, which is SemVer for crates.io, npm and Go too.
            "SEMVER" => Ecosystem::Cargo,
            "ECOSYSTEM" => ecosystem,
            _ => continue,
        };
        match in_range(ordered, range, v) {
            Ok((true, fixed)) => {
                verdict.affected = true;
                verdict.fixed = match (verdict.fixed.take(), fixed) {
                    (Some(a), Some(b)) => Some(lowest(ordered, a, b)),
                    (a, b) => a.or(b),
                };
            }
            Ok((false, _)) => {}
            Err(bound) => verdict.unreadable.push(bound),
        }
    }
    verdict
}

fn lowest(ecosystem: Ecosystem, a: String, b: String) -> String {
    match (Version::parse(ecosystem, &a), Version::parse(ecosystem, &b)) {
        (Some(x), Some(y)) if y < x => b,
        _ => a,
    }
}

enum Kind {
    Introduced,
    Fixed,
    LastAffected,
}

/// `Ok((affected, lowest fixed above v))`, or `Err(bound)` naming an unreadable bound.
/// A version given to a `SEMVER` range of Go carries no `v`; a PEP 440 version in a
/// `SEMVER` range (unusual) is compared as written.
fn in_range(
    ecosystem: Ecosystem,
    range: &Range,
    v: &Version,
) -> Result<(bool, Option<String>), String> {
    let parse = |s: &str| {
        let s = s.strip_prefix('v').unwrap_or(s);
        match v {
            Version::Pep440(_) => Version::parse(Ecosystem::PyPI, s),
            Version::Semver(_) => {
                Version::parse(ecosystem, s).or_else(|| Version::parse(Ecosystem::Cargo, s))
            }
        }
        .ok_or_else(|| s.to_owned())
    };
    let mut events: Vec<(Option<Version>, Kind, &str)> = Vec::new();
    let mut limits = Vec::new();
    for e in &range.events {
        if let Some(i) = &e.introduced {
            // "0" is the schema's "from the first version", below every version.
            let at = if i == "0" { None } else { Some(parse(i)?) };
            events.push((at, Kind::Introduced, i));
        } else if let Some(f) = &e.fixed {
            events.push((Some(parse(f)?), Kind::Fixed, f));
        } else if let Some(l) = &e.last_affected {
            events.push((Some(parse(l)?), Kind::LastAffected, l));
        } else if let Some(l) = &e.limit
            && l != "*"
        {
            limits.push(parse(l)?);
        }
    }
    // `None` (version 0) sorts first; events at one version keep their written order.
    events.sort_by(|a, b| a.0.cmp(&b.0));
    let mut affected = false;
    for (at, kind, _) in &events {
        match kind {
            Kind::Introduced if at.as_ref().is_none_or(|at| v >= at) => affected = true,
            Kind::Fixed if at.as_ref().is_some_and(|at| v >= at) => affected = false,
            Kind::LastAffected if at.as_ref().is_some_and(|at| v > at) => affected = false,
            _ => {}
        }
    }
    if !limits.is_empty() && !limits.iter().any(|l| v < l) {
        affected = false;
    }
    let fixed = events
        .iter()
        .filter(|(at, kind, _)| matches!(kind, Kind::Fixed) && at.as_ref().is_some_and(|at| at > v))
        .map(|(_, _, text)| (*text).to_owned())
        .next();
    Ok((affected, fixed.filter(|_| affected)))
}

/// An advisory's severity and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rated {
    pub severity: Severity,
    /// "CVSS 3.1 base score 7.5 (CVSS:3.1/AV:N/...)", "database_specific.severity MODERATE
    /// (no CVSS vector)", or why none was found.
    pub source: String,
    pub score: Option<f64>,
}

/// The severity of `advisory` for `affected`: the base score of its CVSS vector (the
/// newest CVSS version given, the entry's own before the advisory's), mapped by the CVSS
/// qualitative scale; else `database_specific.severity`; else high, said.
pub(crate) fn rate(advisory: &Advisory, affected: &Affected) -> Rated {
    let scores = affected.severity.iter().chain(&advisory.severity);
    let mut best: Option<(u8, &SeverityScore)> = None;
    for s in scores {
        let rank = match s.kind.as_str() {
            "CVSS_V4" => 4,
            "CVSS_V3" => 3,
            "CVSS_V2" => 2,
            _ => continue,
        };
        if best.is_none_or(|(r, _)| rank > r) {
            best = Some((rank, s));
        }
    }
    let mut unreadable = None;
    if let Some((_, s)) = best {
        // cvss parses CVSS 2.0, 3.0, 3.1 and 4.0 vectors and computes their base scores.
        match cvss::Cvss::from_str(&s.score) {
            Ok(vector) => {
                let score = vector.score();
                return Rated {
                    severity: qualitative(score),
                    source: format!("CVSS base score {score:.1} ({})", s.score),
                    score: Some(score),
                };
            }
            Err(e) => unreadable = Some(format!("unreadable CVSS vector {:?} ({e})", s.score)),
        }
    }
    let named = [&affected.database_specific, &advisory.database_specific]
        .into_iter()
        .flatten()
        .find_map(|d| d.get("severity").and_then(|s| s.as_str()));
    let why = unreadable.unwrap_or_else(|| "no CVSS vector".to_owned());
    match named.and_then(|n| named_severity(n).map(|s| (n, s))) {
        Some((name, severity)) => Rated {
            severity,
            source: format!("database_specific.severity {name} ({why})"),
            score: None,
        },
        None => Rated {
            severity: Severity::High,
            source: format!("no severity given ({why}): treated as high"),
            score: None,
        },
    }
}

/// The CVSS v3/v4 qualitative scale: 0.1-3.9 low, 4.0-6.9 medium, 7.0-8.9 high,
/// 9.0-10.0 critical (0.0, "none", is kept as low: a matched advisory is worth showing).
fn qualitative(score: f64) -> Severity {
    if score >= 9.0 {
        Severity::Critical
    } else if score >= 7.0 {
        Severity::High
    } else if score >= 4.0 {
        Severity::Medium
    } else {
        Severity::Low
    }
}

fn named_severity(name: &str) -> Option<Severity> {
    match name.to_ascii_lowercase().as_str() {
        "critical" => Some(Severity::Critical),
        "high" | "important" => Some(Severity::High),
        "moderate" | "medium" => Some(Severity::Medium),
        "low" => Some(Severity::Low),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(kind: &str, events: &[(&str, &str)]) -> Affected {
        let events = events
            .iter()
            .map(|(k, v)| serde_json::json!({ *k: v }))
            .collect::<Vec<_>>();
        serde_json::from_value(serde_json::json!({
            "package": {"ecosystem": "npm", "name": "x"},
            "ranges": [{"type": kind, "events": events}],
        }))
        .unwrap()
    }

    fn hit(eco: Ecosystem, a: &Affected, v: &str) -> bool {
        evaluate(eco, a, v, Version::parse(eco, v).as_ref()).affected
    }

    #[test]
    fn several_introduced_and_fixed_events_in_one_range() {
        let a = range(
            "SEMVER",
            &[
                ("introduced", "0"),
                ("fixed", "1.0.5"),
                ("introduced", "2.0.0"),
                ("fixed", "2.1.1"),
            ],
        );
        let npm = Ecosystem::Npm;
        assert!(hit(npm, &a, "0.9.0"));
        assert!(!hit(npm, &a, "1.0.5"));
        assert!(!hit(npm, &a, "1.9.9"));
        assert!(hit(npm, &a, "2.0.0"));
        assert!(
            hit(npm, &a, "2.1.1-rc.1"),
            "a pre-release is below its release"
        );
        assert!(!hit(npm, &a, "2.1.1"));
        let v = Version::parse(npm, "2.0.3");
        assert_eq!(
            evaluate(npm, &a, "2.0.3", v.as_ref()).fixed.as_deref(),
            Some("2.1.1")
        );
    }

    #[test]
    fn a_versions_list_names_versions_outright() {
        let a: Affected = serde_json::from_value(serde_json::json!({
            "package": {"ecosystem": "PyPI", "name": "x"},
            "versions": ["1.0", "1.1"],
        }))
        .unwrap();
        assert!(hit(Ecosystem::PyPI, &a, "1.0.0"), "PEP 440: 1.0 == 1.0.0");
        assert!(hit(Ecosystem::PyPI, &a, "1.1"));
        assert!(!hit(Ecosystem::PyPI, &a, "1.2"));
    }

    #[test]
    fn last_affected_and_limit() {
        let a = range(
            "ECOSYSTEM",
            &[("introduced", "1.0.0"), ("last_affected", "1.4.0")],
        );
        assert!(hit(Ecosystem::Cargo, &a, "1.4.0"));
        assert!(!hit(Ecosystem::Cargo, &a, "1.4.1"));
        let a = range("ECOSYSTEM", &[("introduced", "0"), ("limit", "3.0.0")]);
        assert!(hit(Ecosystem::Cargo, &a, "2.9.0"));
        assert!(!hit(Ecosystem::Cargo, &a, "3.0.0"));
    }

    #[test]
    fn pep440_pre_releases_epochs_and_post_releases() {
        let a = range("ECOSYSTEM", &[("introduced", "0"), ("fixed", "2.0.0")]);
        let py = Ecosystem::PyPI;
        assert!(hit(py, &a, "2.0.0rc1"), "rc1 comes before 2.0.0");
        assert!(hit(py, &a, "2.0.0.dev3"));
        assert!(!hit(py, &a, "2.0.0.post1"));
        assert!(
            !hit(py, &a, "1!1.0"),
            "epoch 1 is after every epoch-0 version"
        );
        assert!(hit(py, &a, "1.10"), "numeric, not lexical: 1.10 < 2.0.0");
        let a = range("ECOSYSTEM", &[("introduced", "1!0"), ("fixed", "1!2.0")]);
        assert!(hit(py, &a, "1!1.5"));
        assert!(!hit(py, &a, "1.5"));
    }

    #[test]
    fn go_versions_carry_a_v() {
        let a = range("SEMVER", &[("introduced", "0"), ("fixed", "0.3.8")]);
        assert!(hit(Ecosystem::Go, &a, "v0.3.7"));
        assert!(hit(Ecosystem::Go, &a, "v0.0.0-20210101000000-abcdefabcdef"));
        assert!(!hit(Ecosystem::Go, &a, "v0.3.8"));
    }

    #[test]
    fn unreadable_bounds_are_said_not_guessed() {
        let a = range(
            "ECOSYSTEM",
            &[("introduced", "0"), ("fixed", "not-a-version")],
        );
        let v = Version::parse(Ecosystem::Npm, "1.0.0");
        let verdict = evaluate(Ecosystem::Npm, &a, "1.0.0", v.as_ref());
        assert!(!verdict.affected);
        assert_eq!(verdict.unreadable, ["not-a-version"]);
    }

    #[test]
    fn cvss_base_scores_decide_the_severity() {
        let adv: Advisory = serde_json::from_value(serde_json::json!({
            "id": "X-1",
            "severity": [
                {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}
            ],
            "database_specific": {"severity": "LOW"},
        }))
        .unwrap();
        let a = range("SEMVER", &[("introduced", "0")]);
        let r = rate(&adv, &a);
        assert_eq!(r.severity, Severity::Critical);
        assert_eq!(r.score, Some(9.8));
        let v4: Advisory = serde_json::from_value(serde_json::json!({
            "id": "X-2",
            "severity": [
                {"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N"}
            ],
        }))
        .unwrap();
        assert_eq!(rate(&v4, &a).severity, Severity::Medium);
        let named: Advisory = serde_json::from_value(serde_json::json!({
            "id": "X-3", "database_specific": {"severity": "MODERATE"},
        }))
        .unwrap();
        let r = rate(&named, &a);
        assert_eq!(r.severity, Severity::Medium);
        assert!(r.source.contains("no CVSS vector"), "{}", r.source);
    }
}
