//! The gate cache inside a run: a gate's manifest taken when it could start, the
//! decision to reuse its evidence or run it, the cached record, and the check that a gate
//! did not change its own inputs.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use phasegate_model::{
    CacheDecision, CacheInfo, CachedFrom, Finding, Gate, GateId, Manifest, Record, Sha256Hex,
    Verdict,
};

use crate::RunContext;
use crate::attempt::{GateJob, base_record};
use crate::inputs::Inputs;

/// The gate cache as a run sees it. The runner reads no evidence: the caller says what
/// each gate's latest evidence was ([`Prior`]); the runner hashes the inputs at the moment
/// a gate could start (after what it needs has run) and reuses the evidence when the key
/// matches and the evidence may be reused.
#[derive(Debug, Clone, Default)]
pub struct CacheContext {
    /// Reuse evidence at all (`false`: `--no-cache`; keys are still computed and stored).
    pub enabled: bool,
    /// Each gate's latest decisive evidence that carries a cache key.
    pub priors: BTreeMap<GateId, Prior>,
    /// Values of the variables the gates' keys declare ([`phasegate_model::Gate::cache_vars`]).
    pub vars: BTreeMap<String, String>,
    /// The stat cache file (a hint that spares reading unchanged files); `None`: none.
    pub stat_file: Option<PathBuf>,
}

/// A gate's latest decisive evidence, as far as the cache is concerned.
#[derive(Debug, Clone)]
pub struct Prior {
    /// Its cache key.
    pub key: Sha256Hex,
    /// What the key was made of (from the attempt that ran, for a cached record), to say
    /// what changed.
    pub manifest: Option<Manifest>,
    /// Input files the gate changed while it ran then: never reused.
    pub modified: Vec<String>,
    /// The attempt a cached record would point at, when the evidence passes now (fresh,
    /// trusted, under the current definition); otherwise why it does not.
    pub reusable: Result<CachedFrom, String>,
    /// The coverage of that evidence: a cached record says what the attempt it reuses
    /// exercised, so a partial pass stays partial.
    pub coverage: Option<phasegate_model::Coverage>,
}

/// The gate's manifest now, and whether its evidence can stand in for running it.
pub(crate) async fn decide(
    job: &GateJob,
    ctx: &Arc<RunContext>,
    inputs: &Arc<Inputs>,
    need_keys: BTreeMap<GateId, Sha256Hex>,
) -> (Option<Manifest>, CacheDecision) {
    let (gate, ctx2, inputs2) = (job.gate.clone(), ctx.clone(), inputs.clone());
    let made = tokio::task::spawn_blocking(move || {
        crate::inputs::manifest(
            &gate,
            &ctx2.project,
            &ctx2.provenance.tool_version,
            &inputs2,
            &ctx2.cache.vars,
            |n| need_keys.get(n).cloned(),
        )
    })
    .await;
    let manifest = match made {
        Ok(Ok(m)) => m,
        Ok(Err(e)) => return (None, CacheDecision::Unhashable(e.to_string())),
        Err(e) => return (None, CacheDecision::Unhashable(e.to_string())),
    };
    let decision = judge_cache(&job.gate, &ctx.cache, &manifest);
    (Some(manifest), decision)
}

/// What the cache makes of `gate` with `manifest` now. The key is compared before the
/// verdict, so that a change is named even when the evidence would not have been reused
/// anyway.
pub fn judge_cache(gate: &Gate, cache: &CacheContext, manifest: &Manifest) -> CacheDecision {
    if let Some(why) = gate.not_cacheable_because() {
        return CacheDecision::NotCacheable(why.to_owned());
    }
    if !cache.enabled {
        return CacheDecision::Forced;
    }
    let Some(prior) = cache.priors.get(&gate.id) else {
        return CacheDecision::NoEvidence;
    };
    // Before the key: the key of such evidence was taken before the gate changed its
    // inputs, so it differs anyway, and this is what to fix.
    if !prior.modified.is_empty() {
        return CacheDecision::ModifiedItself(prior.modified.clone());
    }
    if prior.key != manifest.key() {
        let changes = prior
            .manifest
            .as_ref()
            .map(|before| manifest.changes_since(before))
            .unwrap_or_default();
        return CacheDecision::Changed(changes);
    }
    match &prior.reusable {
        Ok(from) => CacheDecision::Hit(from.clone()),
        Err(why) => CacheDecision::NotPassing(why.clone()),
    }
}

/// The record of a gate whose evidence `from` is reused: a pass that took no time.
pub(crate) fn cached(job: &GateJob, ctx: &RunContext, key: Sha256Hex, from: CachedFrom) -> Record {
    let mut r = base_record(
        job,
        ctx,
        1,
        job.gate.retries.saturating_add(1),
        Verdict::Pass,
        None,
    );
    r.cache = Some(CacheInfo {
        key,
        manifest: None,
        modified: Vec::new(),
        from: Some(from),
    });
    r.coverage = ctx
        .cache
        .priors
        .get(&job.gate.id)
        .and_then(|p| p.coverage.clone());
    r
}

/// Hashes the gate's inputs again after an attempt: a gate that changed them (a formatter
/// rewriting what it checks, a generator writing into its own inputs) has a result no key
/// describes, so it is never reused, and a finding names the files.
pub(crate) async fn check_own_inputs(
    job: &GateJob,
    inputs: &Arc<Inputs>,
    mut record: Record,
) -> Record {
    let Some(before) = &job.manifest else {
        return record;
    };
    let globs: Vec<String> = job.gate.input_globs().map(str::to_owned).collect();
    if globs.is_empty() {
        return record;
    }
    let inputs = inputs.clone();
    let after = tokio::task::spawn_blocking(move || {
        inputs.invalidate();
        let globs: Vec<&str> = globs.iter().map(String::as_str).collect();
        inputs.files(&globs)
    })
    .await;
    let changed: Vec<String> = match after {
        Ok(Ok(after)) => {
            let mut changed: Vec<String> = after
                .iter()
                .filter(|(p, d)| before.files.get(*p) != Some(*d))
                .map(|(p, _)| p.clone())
                .chain(
                    before
                        .files
                        .keys()
                        .filter(|p| !after.contains_key(*p))
                        .cloned(),
                )
                .collect();
            changed.sort();
            changed
        }
        // Unreadable now: whatever it holds, it is not what was hashed.
        Ok(Err(e)) => vec![e.to_string()],
        Err(e) => vec![e.to_string()],
    };
    if changed.is_empty() {
        return record;
    }
    record.findings.push(Finding {
        code: "inputs-modified".into(),
        message: format!(
            "its inputs changed while it ran (`{}`), by the gate itself or by something running beside it: its result is not cached",
            changed.join("`, `")
        ),
        location: changed.first().cloned(),
        // The verdict stands; only the reuse of the result is refused.
        severity: Some(phasegate_model::Severity::Low),
    });
    if let Some(c) = &mut record.cache {
        c.modified = changed;
    }
    record
}
