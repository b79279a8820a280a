//! `phasegate advisories update`: refreshes the OSV mirror that each `advisories` gate of
//! the roadmap names (`db = "..."`, relative to the gate's `cwd`, else the roadmap's
//! directory).

use std::path::PathBuf;
use std::time::Duration;

use phasegate_model::GateKind;

use crate::Error;

/// What to download, and from where.
#[derive(Debug, Clone)]
pub struct AdvisoriesUpdate {
    /// Where the archives are published: `<source>/<ecosystem>/all.zip`.
    pub source: String,
    /// OSV ecosystem names; empty: every one the probe reads.
    pub ecosystems: Vec<String>,
    /// Limit on each download.
    pub timeout: Duration,
}

impl crate::Session {
    /// The mirrors the roadmap's `advisories` gates name, each once, in gate order.
    pub fn advisory_mirrors(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = Vec::new();
        for gate in &self.roadmap().gates {
            if let GateKind::Probe { probe, params } = &gate.kind
                && probe == "advisories"
                && let Some(db) = params.get("db").and_then(|d| d.as_str())
            {
                let dir = match &gate.cwd {
                    Some(c) => self.root.join(c),
                    None => self.root.clone(),
                };
                let path = dir.join(db);
                if !out.contains(&path) {
                    out.push(path);
                }
            }
        }
        out
    }

    /// Downloads each ecosystem's archive into every mirror the roadmap names.
    pub async fn update_advisories(
        &self,
        request: &AdvisoriesUpdate,
    ) -> Result<Vec<phasegate_probes::Updated>, Error> {
        let mirrors = self.advisory_mirrors();
        if mirrors.is_empty() {
            return Err(Error::usage(
                "no `advisories` gate names a mirror in this roadmap",
                "add a gate with `probe = \"advisories\"` and `db = \"PATH\"`",
            ));
        }
        let ecosystems: Vec<String> = if request.ecosystems.is_empty() {
            phasegate_probes::ECOSYSTEMS
                .iter()
                .map(|e| (*e).to_owned())
                .collect()
        } else {
            for e in &request.ecosystems {
                if !phasegate_probes::ECOSYSTEMS.contains(&e.as_str()) {
                    return Err(Error::usage(
                        format!("`{e}` is not an ecosystem the advisories probe reads"),
                        format!("one of: {}", phasegate_probes::ECOSYSTEMS.join(", ")),
                    ));
                }
            }
            request.ecosystems.clone()
        };
        let mut done = Vec::new();
        for db in mirrors {
            done.extend(
                phasegate_probes::update_mirror(&db, &ecosystems, &request.source, request.timeout)
                    .await?,
            );
        }
        Ok(done)
    }
}
