use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::Serialize;

use crate::{GateId, PhaseId, ServiceId, Sha256Hex, sha256_hex};

/// A validated roadmap: every id is unique, every reference resolves, `needs` and `after`
/// are acyclic. Built by `phasegate-roadmap`; everything downstream may rely on that.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Roadmap {
    /// `[project]`.
    pub project: Project,
    /// `[services.*]`, by id.
    pub services: BTreeMap<ServiceId, Service>,
    /// `[gates.*]` in file order.
    pub gates: Vec<Gate>,
    /// `[[phase]]` in file order.
    pub phases: Vec<Phase>,
    /// `[trust]`: whose keys count; `None` until the roadmap pins any.
    pub trust: Option<Trust>,
    /// `[roles]`: the principals (as named in the allowed-signers file) holding each role.
    pub roles: BTreeMap<String, Vec<String>>,
    /// `[[waiver]]` in file order: what may be waived, by whom, for how long.
    pub waivers: Vec<crate::WaiverRule>,
}

/// `[trust]`: who may sign what, written in the repository and reviewed like code.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trust {
    /// The allowed-signers file (OpenSSH's format: principals, options, public key),
    /// relative to the roadmap's directory.
    pub allowed_signers: String,
    /// The principals whose keys may sign runs (a CI machine is a principal too).
    pub run_signers: Vec<String>,
}

/// `[project]`: metadata and settings that apply to every gate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Project {
    /// Human name of the project.
    pub name: String,
    /// Gates every phase requires in addition to its own.
    pub base_gates: Vec<GateId>,
    /// Environment variables whose values must never be stored or printed.
    pub secret_env: Vec<String>,
    /// Markdown roadmap kept in sync with the evidence, relative to the roadmap file.
    pub markdown: Option<String>,
}

/// A process gates need running: started before the first gate that needs it, shared by
/// every gate of the run, stopped at the end of the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Service {
    /// Its id.
    pub id: ServiceId,
    /// The command that starts it (`sh -c`); `{port}` is replaced by a free loopback port.
    pub run: String,
    /// Extra environment (`{port}` replaced too).
    pub env: BTreeMap<String, String>,
    /// Working directory relative to the roadmap's directory.
    pub cwd: Option<String>,
    /// How to tell it is ready; without it, the service counts as ready once started.
    pub ready: Option<Ready>,
    /// How long it may take to become ready.
    #[serde(rename = "ready_within_ms", serialize_with = "ser_ms")]
    pub ready_within: Duration,
    /// A command that stops it; by default SIGTERM to its process group, then SIGKILL.
    pub stop: Option<String>,
    /// Its base URL as handed to the gates (`{port}` replaced).
    pub url: String,
}

/// A readiness check of a [`Service`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Ready {
    /// This URL answers 2xx (`{port}` replaced).
    Http(String),
    /// This loopback port accepts connections (`{port}` replaced).
    Tcp(String),
}

/// One checkable thing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gate {
    /// Its id.
    pub id: GateId,
    /// Optional human title.
    pub title: Option<String>,
    /// What the gate checks and how.
    pub kind: GateKind,
    /// Gates that must pass before this one runs.
    pub needs: Vec<GateId>,
    /// What the gate's result depends on besides its definition: globs of files (relative
    /// to the roadmap's directory; `!glob` excludes) and `$NAME` environment variables.
    /// Their content is part of the cache key ([`crate::Manifest`]).
    pub inputs: Vec<String>,
    /// Hard limit on one attempt.
    #[serde(rename = "timeout_ms", serialize_with = "ser_ms")]
    pub timeout: Duration,
    /// Extra attempts after a failing one.
    pub retries: u32,
    /// Evidence older than this is stale.
    #[serde(rename = "fresh_for_ms", serialize_with = "ser_opt_ms")]
    pub fresh_for: Option<Duration>,
    /// Services that must be up.
    pub services: Vec<ServiceId>,
    /// Base URL a probe targets when it names no service (an external deployment).
    pub base_url: Option<String>,
    /// `false` makes the gate advisory: reported, never blocking a phase.
    pub blocking: bool,
    /// Extra environment for the gate's process.
    pub env: BTreeMap<String, String>,
    /// Working directory relative to the roadmap's directory.
    pub cwd: Option<String>,
    /// Environment variables (in addition to the project's) whose values are secret.
    pub secret_env: Vec<String>,
    /// The markdown item this gate is linked to: its text, exactly as in the document.
    // Left out of the serialized form when absent, so that the digest of a gate without a
    // link (and the evidence produced under it) stays what it was before links existed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// Runs alone: no other gate of the run runs at the same time (a burst of load, a
    /// dependency taken down). Left out of the digest when false, like `item`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub exclusive: bool,
    /// For a probe gate: the least severe finding that fails it; less severe ones are
    /// warnings. Left out of the digest at its default, so older evidence stays current.
    #[serde(skip_serializing_if = "crate::Severity::is_default")]
    pub fail_on: crate::Severity,
    /// `cache = true` / `false`: whether a run may reuse the gate's passing evidence when
    /// its cache key is unchanged; `None` is the default of [`Gate::is_cacheable`]. Left
    /// out of the digest when absent, so older evidence stays current.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache: Option<bool>,
    /// For a probe gate: `require = [...]`, rules of the probe a pass must have exercised;
    /// a skipped one is a fail saying what to add. Left out of the digest when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub require: Vec<String>,
    /// For a probe gate: what a pass that skipped rules counts as (`partial`, from the
    /// gate, else the strictest of its phases, else `[project]`). Left out of the digest at
    /// its default.
    #[serde(skip_serializing_if = "Partial::is_default")]
    pub partial: Partial,
    /// `todo = "fill in: fault, restore"`: what the gate still needs before it can test
    /// its claim (written by `import`). Such a gate never runs and stays `missing` with
    /// this text. Left out of the digest when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub todo: Option<String>,
    /// When the daemon runs the gate on its own (`every`) and how often at most
    /// (`cooldown`); its own keys, else its phase's. Not part of the digest: when a gate
    /// runs does not change what its evidence says.
    #[serde(skip)]
    pub schedule: Schedule,
}

/// What a probe gate's pass that skipped some of the probe's rules counts as.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Partial {
    /// A pass, shown as `pass (partial)` everywhere (the default).
    #[default]
    Pass,
    /// A fail whose reason names the skipped rules and what to add.
    Fail,
}

impl Partial {
    /// The policy named `name` (`pass` or `fail`), if any.
    pub fn from_name(name: &str) -> Option<Partial> {
        match name {
            "pass" => Some(Partial::Pass),
            "fail" => Some(Partial::Fail),
            _ => None,
        }
    }

    /// Whether this is the default, left out of a gate's digest.
    pub fn is_default(&self) -> bool {
        *self == Partial::default()
    }
}

/// When a gate runs without being asked (`phasegate daemon`, `phasegate watch`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schedule {
    /// `every = "24h"`: the daemon runs the gate this long after it last ran, whatever
    /// changed (a perf gate, a probe of a deployment).
    pub every: Option<Duration>,
    /// `cron = "0 3 * * *"`: the daemon runs the gate at these times (one of `every` and
    /// `cron`).
    pub cron: Option<Cron>,
    /// `cooldown = "10m"`: a change of its inputs does not run the gate again sooner
    /// than this after it last ran; the run waits until the cooldown is over.
    pub cooldown: Option<Duration>,
}

/// A cron expression and the time zone it is read in (checked by the roadmap crate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    /// Five fields (minute hour day-of-month month day-of-week), or six with seconds first.
    pub expr: String,
    /// An IANA time zone name (`timezone`), `UTC` by default.
    pub zone: String,
}

impl Schedule {
    /// Whether neither key is set.
    pub fn is_empty(&self) -> bool {
        self.every.is_none() && self.cron.is_none() && self.cooldown.is_none()
    }

    /// This schedule's keys where set, else `fallback`'s (a gate's own over its phase's).
    pub fn or(self, fallback: &Schedule) -> Schedule {
        // `every` and `cron` are one choice: a gate's own replaces its phase's whole.
        let (every, cron) = if self.every.is_some() || self.cron.is_some() {
            (self.every, self.cron)
        } else {
            (fallback.every, fallback.cron.clone())
        };
        Schedule {
            every,
            cron,
            cooldown: self.cooldown.or(fallback.cooldown),
        }
    }
}

/// The kinds of gate.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum GateKind {
    /// A shell command; pass is exit status 0.
    Run {
        /// Run with `sh -c`.
        command: String,
    },
    /// A built-in probe with its parameters (validated by the probes, a later version).
    Probe {
        /// Probe name, e.g. `headers`.
        probe: String,
        /// Parameters as given.
        params: BTreeMap<String, serde_json::Value>,
    },
    /// A human approval.
    Signoff {
        /// Roles allowed to approve.
        roles: Vec<String>,
        /// Distinct approvers needed.
        approvals: u32,
    },
}

impl GateKind {
    /// `run`, `probe` or `signoff`.
    pub fn name(&self) -> &'static str {
        match self {
            GateKind::Run { .. } => "run",
            GateKind::Probe { .. } => "probe",
            GateKind::Signoff { .. } => "signoff",
        }
    }

    /// One line saying what the gate checks.
    pub fn describe(&self) -> String {
        match self {
            GateKind::Run { command } => command.clone(),
            GateKind::Probe { probe, .. } => format!("probe {probe}"),
            GateKind::Signoff { roles, approvals } => {
                format!("sign-off by {approvals} of {}", roles.join(", "))
            }
        }
    }
}

/// A phase (milestone) of the roadmap.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Phase {
    /// Its id.
    pub id: PhaseId,
    /// Human title.
    pub title: String,
    /// Phases that must be done before this one can be.
    pub after: Vec<PhaseId>,
    /// The phase's own gates (base gates come on top).
    pub gates: Vec<GateId>,
    /// The schedule of its gates that have none of their own (`every`, `cooldown`).
    #[serde(skip)]
    pub schedule: Schedule,
}

pub(crate) fn ser_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn ser_opt_ms<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => ser_ms(d, s),
        None => s.serialize_none(),
    }
}

impl Gate {
    /// SHA-256 of the gate's definition, so evidence can tell when the rule it was produced
    /// under has changed since (a threshold loosened, a command replaced).
    pub fn digest(&self) -> Sha256Hex {
        sha256_hex(&serde_json::to_vec(self).expect("a gate always serializes"))
    }

    /// The file globs of `inputs` (its entries that are not `$NAME` variables).
    pub fn input_globs(&self) -> impl Iterator<Item = &str> {
        self.inputs
            .iter()
            .map(String::as_str)
            .filter(|i| !i.starts_with('$'))
    }

    /// The environment variables whose values are part of the gate's cache key: the
    /// `$NAME` entries of `inputs` and every secret variable the gate is given (it may
    /// depend on them), each once, sorted.
    pub fn cache_vars<'a>(&'a self, project: &'a Project) -> BTreeSet<&'a str> {
        self.inputs
            .iter()
            .filter_map(|i| i.strip_prefix('$'))
            .chain(self.secret_names(project))
            .collect()
    }

    /// Whether a run may take the gate's result from its earlier passing evidence when
    /// nothing it depends on changed. `cache = true` or `false` says so; by default a gate
    /// is cached only when it declares `inputs` (without them nothing tells when its result
    /// would change) and targets no running service (`services`, `base_url`: the service
    /// can change under an unchanged key). Sign-off gates are never run, so never cached.
    pub fn is_cacheable(&self) -> bool {
        if matches!(self.kind, GateKind::Signoff { .. }) {
            return false;
        }
        self.cache.unwrap_or_else(|| {
            !self.inputs.is_empty() && self.services.is_empty() && self.base_url.is_none()
        })
    }

    /// Why the gate is not cacheable ([`Gate::is_cacheable`]), in a few words; `None`
    /// when it is.
    pub fn not_cacheable_because(&self) -> Option<&'static str> {
        if self.is_cacheable() {
            return None;
        }
        Some(match (&self.kind, self.cache) {
            (GateKind::Signoff { .. }, _) => "a sign-off gate is approved, not run",
            (_, Some(false)) => "`cache = false`",
            _ if self.inputs.is_empty() => "it declares no `inputs`",
            _ => "it targets a running service",
        })
    }

    /// Every secret variable name that applies to this gate.
    pub fn secret_names<'a>(&'a self, project: &'a Project) -> impl Iterator<Item = &'a str> {
        project
            .secret_env
            .iter()
            .chain(&self.secret_env)
            .map(String::as_str)
    }
}

impl Roadmap {
    /// The gate with this id.
    pub fn gate(&self, id: &str) -> Option<&Gate> {
        self.gates.iter().find(|g| g.id.as_str() == id)
    }

    /// The phase with this id.
    pub fn phase(&self, id: &str) -> Option<&Phase> {
        self.phases.iter().find(|p| p.id.as_str() == id)
    }

    /// The gates a phase requires: base gates first, then its own, each once.
    pub fn phase_gates(&self, phase: &Phase) -> Vec<GateId> {
        let mut seen = BTreeSet::new();
        self.project
            .base_gates
            .iter()
            .chain(&phase.gates)
            .filter(|g| seen.insert(*g))
            .cloned()
            .collect()
    }

    /// The phases that require `gate` (directly or as a base gate), in file order.
    pub fn phases_of(&self, gate: &GateId) -> Vec<PhaseId> {
        self.phases
            .iter()
            .filter(|p| self.project.base_gates.contains(gate) || p.gates.contains(gate))
            .map(|p| p.id.clone())
            .collect()
    }

    /// Phases ordered so that every phase comes after the phases it names in `after`
    /// (file order among independent phases). Validation guarantees there is no cycle.
    pub fn phase_order(&self) -> Vec<&Phase> {
        let mut done: BTreeSet<&PhaseId> = BTreeSet::new();
        let mut order = Vec::with_capacity(self.phases.len());
        while order.len() < self.phases.len() {
            let before = order.len();
            for p in &self.phases {
                if !done.contains(&p.id) && p.after.iter().all(|a| done.contains(a)) {
                    done.insert(&p.id);
                    order.push(p);
                }
            }
            if order.len() == before {
                // A cycle slipped through validation: append the rest rather than loop forever.
                order.extend(self.phases.iter().filter(|p| !done.contains(&p.id)));
            }
        }
        order
    }

    /// The gates to run for a selection of phase and gate ids (all phases when empty), with
    /// everything they `need`, each once, in file order. Returns the unknown ids as `Err`.
    pub fn select(&self, names: &[String]) -> Result<Vec<&Gate>, Vec<String>> {
        let mut wanted: BTreeSet<&GateId> = BTreeSet::new();
        let mut unknown = Vec::new();
        if names.is_empty() {
            for p in &self.phases {
                for g in self.phase_gates(p) {
                    if let Some(gate) = self.gate(g.as_str()) {
                        wanted.insert(&gate.id);
                    }
                }
            }
        }
        for name in names {
            if let Some(p) = self.phase(name) {
                for g in self.phase_gates(p) {
                    if let Some(gate) = self.gate(g.as_str()) {
                        wanted.insert(&gate.id);
                    }
                }
            } else if let Some(g) = self.gate(name) {
                wanted.insert(&g.id);
            } else {
                unknown.push(name.clone());
            }
        }
        if !unknown.is_empty() {
            return Err(unknown);
        }
        let mut stack: Vec<&GateId> = wanted.iter().copied().collect();
        while let Some(id) = stack.pop() {
            if let Some(g) = self.gate(id.as_str()) {
                for n in &g.needs {
                    if wanted.insert(n) {
                        stack.push(n);
                    }
                }
            }
        }
        Ok(self
            .gates
            .iter()
            .filter(|g| wanted.contains(&g.id))
            .collect())
    }
}
