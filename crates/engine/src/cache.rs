//! The gate cache from the session's side: each gate's latest evidence as the runner's
//! cache needs it, the gates' keys now (for `why` and `run --changed`), and the stat cache's
//! place in the state directory.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use phasegate_ledger::{Entry, Ledger, StoredEntry};
use phasegate_model::{
    CacheDecision, CachedFrom, Gate, GateId, GateKind, GateState, Manifest, Record, Scorecard,
    Sha256Hex, Verdict,
};
use phasegate_runner::{CacheContext, Inputs, Prior};

use crate::{Error, Plan, Session};

/// The stat cache (file metadata and content digests of input files, a hint that spares
/// reading unchanged files), in the state directory.
pub const STAT_CACHE_FILE: &str = "cache/inputs.stat";

/// Whether git's index differs from `HEAD`, keyed on both, so that a run in an unchanged
/// work tree learns its git state without starting `git`, in the state directory.
pub const GIT_CACHE_FILE: &str = "cache/git.state";

impl Session {
    /// What a run's cache needs: each gate's latest evidence, the declared variables'
    /// values, the stat cache; reuse `enabled` or not.
    pub(crate) fn cache_context(
        &self,
        ledger: &Ledger,
        card: &Scorecard,
        entries: &[StoredEntry],
        enabled: bool,
    ) -> Result<CacheContext, Error> {
        Ok(CacheContext {
            enabled,
            priors: self.priors(ledger, card, entries)?,
            vars: self.cache_vars(),
            stat_file: Some(self.stat_file()),
        })
    }

    fn stat_file(&self) -> PathBuf {
        self.ledger_dir.join(STAT_CACHE_FILE)
    }

    /// Values of the variables any gate's key declares, from the session's environment.
    fn cache_vars(&self) -> BTreeMap<String, String> {
        let roadmap = self.roadmap();
        let names: BTreeSet<&str> = roadmap
            .gates
            .iter()
            .flat_map(|g| g.cache_vars(&roadmap.project))
            .collect();
        names
            .into_iter()
            .filter_map(|n| Some((n.to_owned(), self.options.vars.get(n)?.clone())))
            .collect()
    }

    /// Each gate's latest decisive attempt that carries a cache key, judged by `card`: it
    /// may be reused only while the gate passes on it (fresh, trusted, under the current
    /// definition). A cached record stands for the attempt it reuses, whose manifest is
    /// read from the ledger.
    fn priors(
        &self,
        ledger: &Ledger,
        card: &Scorecard,
        entries: &[StoredEntry],
    ) -> Result<BTreeMap<GateId, Prior>, Error> {
        let mut latest: BTreeMap<&str, (&StoredEntry, &Record)> = BTreeMap::new();
        for e in entries {
            if let Entry::Record(r) = &e.entry
                && r.verdict.is_decisive()
                && r.approval.is_none()
                && r.waiver.is_none()
            {
                latest.insert(r.gate.as_str(), (e, r));
            }
        }
        let mut priors = BTreeMap::new();
        for (gate, (e, r)) in latest {
            let Some(cache) = &r.cache else {
                continue;
            };
            let (from, manifest) = match &cache.from {
                Some(from) => (from.clone(), self.manifest_of(ledger, from)?),
                None => (
                    CachedFrom {
                        seq: e.seq,
                        entry_hash: e.hash.clone(),
                        run_id: r.run_id.clone(),
                        started_at: r.started_at,
                        duration_ms: r.duration_ms,
                    },
                    cache.manifest.clone(),
                ),
            };
            let status = card.gate(gate);
            let reusable = match status {
                Some(s) if s.state == GateState::Pass && r.verdict == Verdict::Pass => Ok(from),
                Some(s) => Err(format!("{}: {}", s.state, s.reason)),
                None => Err("not on the scorecard".to_owned()),
            };
            priors.insert(
                r.gate.clone(),
                Prior {
                    key: cache.key.clone(),
                    manifest,
                    modified: cache.modified.clone(),
                    reusable,
                    coverage: r.coverage.clone(),
                },
            );
        }
        Ok(priors)
    }

    /// The manifest of the attempt a cached record reuses.
    fn manifest_of(&self, ledger: &Ledger, from: &CachedFrom) -> Result<Option<Manifest>, Error> {
        Ok(match ledger.get(from.seq)? {
            Some(StoredEntry {
                entry: Entry::Record(r),
                ..
            }) => r.cache.and_then(|c| c.manifest),
            _ => None,
        })
    }

    /// The manifests of `gates` and of every gate they need, now (each need before what
    /// needs it, so that its key goes into theirs). Reads the stat cache, never writes it.
    fn manifests_now(&self, gates: &[&Gate]) -> BTreeMap<GateId, Result<Manifest, String>> {
        let inputs = Inputs::new(&self.root, self.state_dirs(), Some(self.stat_file()));
        let vars = self.cache_vars();
        let mut done = BTreeMap::new();
        for g in gates {
            self.manifest_into(g, &inputs, &vars, &mut done);
        }
        done
    }

    fn manifest_into(
        &self,
        gate: &Gate,
        inputs: &Inputs,
        vars: &BTreeMap<String, String>,
        done: &mut BTreeMap<GateId, Result<Manifest, String>>,
    ) {
        if done.contains_key(&gate.id) {
            return;
        }
        let roadmap = self.roadmap();
        let mut need_keys: BTreeMap<GateId, Sha256Hex> = BTreeMap::new();
        for n in &gate.needs {
            let Some(need) = roadmap.gate(n.as_str()) else {
                continue;
            };
            if matches!(need.kind, GateKind::Signoff { .. }) {
                need_keys.insert(n.clone(), need.digest());
                continue;
            }
            self.manifest_into(need, inputs, vars, done);
            if let Some(Ok(m)) = done.get(n) {
                need_keys.insert(n.clone(), m.key());
            }
        }
        let made =
            phasegate_runner::manifest(gate, &roadmap.project, crate::VERSION, inputs, vars, |n| {
                need_keys.get(n).cloned()
            })
            .map_err(|e| e.to_string());
        done.insert(gate.id.clone(), made);
    }

    /// phasegate's own state directories: never inputs.
    fn state_dirs(&self) -> Vec<PathBuf> {
        let mut dirs = vec![self.ledger_dir.clone(), self.root.join(".phasegate")];
        dirs.dedup();
        dirs
    }

    /// What a change in never concerns a gate: phasegate's own state and git's.
    pub(crate) fn state_dirs_and_git(&self) -> Vec<PathBuf> {
        let mut dirs = self.state_dirs();
        dirs.push(self.root.join(".git"));
        dirs
    }

    /// What a run would make of `gate`'s evidence now: reuse it, or run the gate and why
    /// (naming what changed since the evidence). `None` for a sign-off gate.
    pub(crate) fn cache_decision(
        &self,
        gate: &Gate,
        ledger: &Ledger,
        card: &Scorecard,
        entries: &[StoredEntry],
    ) -> Result<Option<CacheDecision>, Error> {
        if matches!(gate.kind, GateKind::Signoff { .. }) {
            return Ok(None);
        }
        let context = self.cache_context(ledger, card, entries, true)?;
        let manifests = self.manifests_now(&[gate]);
        Ok(Some(match &manifests[&gate.id] {
            Ok(m) => phasegate_runner::judge_cache(gate, &context, m),
            Err(why) => CacheDecision::Unhashable(why.clone()),
        }))
    }

    /// `plan` narrowed to the gates whose cache key differs from their latest evidence's
    /// (or that have none, or whose evidence changed its own inputs), the gates of the plan
    /// that need them, directly or not, and what those need that does not pass now. The
    /// second list is what is left out.
    pub fn changed(&self, plan: &Plan) -> Result<(Plan, Vec<GateId>), Error> {
        let (card, entries) = self.evaluate()?;
        let ledger = self.read_ledger()?;
        let priors = self.priors(&ledger, &card, &entries)?;
        let roadmap = self.roadmap();
        let gates: Vec<&Gate> = plan
            .gates
            .iter()
            .filter_map(|g| roadmap.gate(g.as_str()))
            .collect();
        let manifests = self.manifests_now(&gates);
        let mut changed: BTreeSet<&GateId> = gates
            .iter()
            .filter(|g| match (priors.get(&g.id), manifests.get(&g.id)) {
                (Some(p), Some(Ok(m))) => p.key != m.key() || !p.modified.is_empty(),
                _ => true,
            })
            .map(|g| &g.id)
            .collect();
        // What needs a changed gate runs too; and so does a need of a gate that runs when
        // its evidence does not pass now, or the gate would run without its need met (a
        // need left out of a run is not waited for).
        let in_plan: BTreeSet<&GateId> = gates.iter().map(|g| &g.id).collect();
        let passing = |id: &GateId| priors.get(id).is_some_and(|p| p.reusable.is_ok());
        loop {
            let before = changed.len();
            for g in &gates {
                if g.needs.iter().any(|n| changed.contains(n)) {
                    changed.insert(&g.id);
                }
                if changed.contains(&g.id) {
                    for n in &g.needs {
                        if in_plan.contains(n) && !passing(n) {
                            changed.insert(n);
                        }
                    }
                }
            }
            if changed.len() == before {
                break;
            }
        }
        let (run, left): (Vec<GateId>, Vec<GateId>) = plan
            .gates
            .iter()
            .cloned()
            .partition(|g| changed.contains(g));
        Ok((
            Plan {
                names: plan.names.clone(),
                gates: run,
                signoffs: plan.signoffs.clone(),
            },
            left,
        ))
    }
}
