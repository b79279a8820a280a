//! `phasegate load`: the load probe's generator run ad hoc against a URL, with a progress
//! callback, and the exact merge of shard results (`phasegate load merge`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use phasegate_model::{GateId, GateKind, OutputEvidence, Verdict};

use phasegate_probes::Params;
pub use phasegate_probes::load::{
    ErrorCounts, Histogram, LATE_START, LoadResult, PERCENTILES, Progress, Shard,
};
use phasegate_probes::load::{LoadError, Spec};

use crate::Error;

/// A load run asked for on the command line.
#[derive(Debug, Clone)]
pub struct LoadRequest {
    /// The target: base URL and path (`http://127.0.0.1:8080/api/v1/items`).
    pub url: String,
    /// The load probe's parameters (`rate`, `connections`, `duration`, ...), without `path`:
    /// the URL's path and query are the path.
    pub params: Params,
    /// Limit on each request.
    pub timeout: Duration,
    /// Which share of the run this process makes.
    pub shard: Shard,
}

/// Runs the load of `request`; `progress` is called about once a second.
pub async fn load(
    request: &LoadRequest,
    progress: impl FnMut(&Progress) + Send + 'static,
) -> Result<LoadResult, Error> {
    let mut url = url::Url::parse(&request.url).map_err(|e| {
        Error::usage(
            format!("invalid URL `{}`: {e}", request.url),
            "give a URL such as http://127.0.0.1:8080/",
        )
    })?;
    let mut params = request.params.clone();
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    params.insert("path".to_owned(), serde_json::Value::String(path));
    url.set_path("/");
    url.set_query(None);
    let spec = Spec::from_params(&params, &url, request.timeout, request.shard).map_err(usage)?;
    phasegate_probes::load::run_blocking_with(spec, progress)
        .await
        .map_err(Error::Load)
}

/// Merges shard result files (`(name, content)`), exactly: the histograms add bucket by
/// bucket.
pub fn merge_load(files: &[(String, String)]) -> Result<LoadResult, Error> {
    let mut merged: Option<LoadResult> = None;
    for (name, text) in files {
        let r = LoadResult::from_json(text).map_err(|e| {
            Error::usage(
                format!("`{name}`: {e}"),
                "give files written by `phasegate load --save`",
            )
        })?;
        match &mut merged {
            Some(m) => m.merge(&r).map_err(|e| {
                Error::usage(format!("`{name}`: {e}"), "merge the shards of one run")
            })?,
            None => merged = Some(r),
        }
    }
    merged.ok_or_else(|| Error::usage("nothing to merge", "give the shard files to merge"))
}

fn usage(e: LoadError) -> Error {
    match e {
        LoadError::Params(_) => Error::usage(
            format!("invalid load: {e}"),
            "see `phasegate load --help`; a host other than loopback needs --allow-remote",
        ),
        // The file the user named: a usage error like any other bad argument.
        LoadError::CaFile { .. } => Error::usage(
            e.to_string(),
            "give --ca-file a PEM file of CA certificates (-----BEGIN CERTIFICATE-----)",
        ),
        other => Error::Load(other),
    }
}

/// How many of a gate's latest records are searched for its last passing run.
const BASELINE_LOOKBACK: usize = 1000;

impl crate::Session {
    /// For each probe gate with `baseline = "last-pass"`: the output log of its latest
    /// passing attempt, checked against the digest its record sealed (a log changed since is
    /// refused, not compared with).
    pub(crate) fn load_baselines(
        &self,
        ledger: &phasegate_ledger::Ledger,
    ) -> Result<BTreeMap<GateId, Result<PathBuf, String>>, Error> {
        let wants = self.roadmap().gates.iter().filter(|g| match &g.kind {
            GateKind::Probe { params, .. } => {
                params.get("baseline").and_then(|v| v.as_str())
                    == Some(phasegate_probes::load::LAST_PASS)
            }
            _ => false,
        });
        let mut latest: BTreeMap<GateId, OutputEvidence> = BTreeMap::new();
        for gate in wants {
            // Newest first, not only the latest record: that may be a failure. A pass further
            // back than this many attempts is too old to be the comparison anyone expects.
            for e in ledger.history(gate.id.as_str(), BASELINE_LOOKBACK)? {
                if let phasegate_ledger::Entry::Record(r) = e.entry
                    && r.verdict == Verdict::Pass
                    && r.approval.is_none()
                    && r.waiver.is_none()
                    && r.cache.as_ref().is_none_or(|c| c.from.is_none())
                    && let Some(output) = r.output
                {
                    latest.insert(r.gate, output);
                    break;
                }
            }
        }
        Ok(latest
            .into_iter()
            .map(|(gate, output)| {
                let path = self.ledger_dir.join(&output.log);
                let checked = match std::fs::read(&path) {
                    Ok(bytes) if phasegate_model::sha256_hex(&bytes) == output.sha256 => Ok(path),
                    Ok(_) => Err(format!(
                        "the baseline `{}` no longer matches the digest its record sealed",
                        path.display()
                    )),
                    Err(e) => Err(format!(
                        "cannot read the baseline `{}`: {e}",
                        path.display()
                    )),
                };
                (gate, checked)
            })
            .collect())
    }
}
