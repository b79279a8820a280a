//! From TOML text to a validated [`Roadmap`], collecting every problem on the way.
//!
//! The document is parsed into spanned values (`toml::de::DeTable`) and walked by hand
//! rather than deserialized with serde: serde stops at the first error and loses the spans of
//! keys, while a roadmap author wants every mistake at once, each pointing at its text. The
//! walk builds drafts that still carry spans; references and cycles are checked on the
//! drafts, and only a roadmap without problems is turned into model types.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::time::Duration;

use phasegate_model::{
    Gate, GateId, GateKind, InvalidId, Partial, Phase, PhaseId, Project, Roadmap, Schedule,
    ServiceId,
};
use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

use crate::ProbeRules;
use crate::error::Problem;

mod gate;
mod references;
mod schedule;
mod service;
mod trust;
mod waiver;
use crate::graph::{self, Edge};
use crate::suggest::{self, did_you_mean, typo_of};
use trust::RolesDraft;

type Val<'i> = Spanned<DeValue<'i>>;
type Key<'i> = Spanned<DeString<'i>>;

/// The roadmap format version this crate reads.
pub const VERSION: i64 = 1;

const TOP_KEYS: &[&str] = &[
    "version", "project", "services", "gates", "phase", "trust", "roles", "waiver",
];
const PROJECT_KEYS: &[&str] = &["name", "base_gates", "secret_env", "markdown", "partial"];
/// Keys every kind of gate accepts.
pub(crate) const GATE_KEYS: &[&str] = &[
    "title",
    "needs",
    "inputs",
    "timeout",
    "retries",
    "fresh_for",
    "service",
    "services",
    "blocking",
    "env",
    "cwd",
    "secret_env",
    "base_url",
    "exclusive",
    "item",
    "fail_on",
    "cache",
    "every",
    "cron",
    "timezone",
    "cooldown",
    "require",
    "partial",
    "todo",
];
const KIND_KEYS: &[&str] = &["run", "probe", "signoff"];
const SIGNOFF_KEYS: &[&str] = &["roles", "approvals"];
const PHASE_KEYS: &[&str] = &[
    "id", "title", "after", "gates", "every", "cron", "timezone", "cooldown", "partial",
];

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10 * 60);

const ID_HELP: &str =
    "ids start with an ASCII letter or digit and contain only letters, digits, `-`, `_` and `.`";
const DURATION_HELP: &str = "expected a number with a unit, e.g. `30s`, `10m`, `2h`, `30d`";
const ENV_HELP: &str = "environment variable names contain only ASCII letters, digits and `_`, and do not start with a digit";

/// Checks `source` and builds the roadmap, or returns every problem found.
pub(crate) fn check<'s>(
    source: &'s str,
    probe_rules: Option<ProbeRules<'s>>,
) -> Result<Roadmap, Vec<Problem>> {
    let doc = match DeTable::parse(source) {
        Ok(doc) => doc,
        // Nothing after a syntax error can be trusted, so it is the only problem reported.
        Err(e) => return Err(vec![syntax(source, &e)]),
    };
    let mut c = Checker {
        src: source,
        problems: Vec::new(),
        probe_rules,
        // Known before the gates are walked: it changes how many approvals may be asked.
        pins_keys: doc.get_ref().get("trust").is_some(),
    };
    let mut project = ProjectDraft::default();
    let mut services = Vec::new();
    let mut gates = Vec::new();
    let mut phases = None;
    let mut trust = None;
    let mut roles = RolesDraft::default();
    let mut waivers = Vec::new();
    for (key, val) in in_file_order(doc.get_ref()) {
        match key.get_ref().as_ref() {
            "version" => c.version(val),
            "project" => project = c.project(val),
            "services" => services = c.services(val),
            "gates" => gates = c.gates(val),
            "phase" => phases = Some((val.span(), c.phases(val))),
            "trust" => trust = Some(c.trust(val)),
            "roles" => roles = c.roles(val),
            "waiver" => waivers = c.waivers(val),
            _ => {
                c.unknown_key(key, TOP_KEYS, "at the top level", None);
            }
        }
    }
    let phases = match phases {
        Some((_, Some(phases))) if !phases.is_empty() => phases,
        // Not an array: reported as such already.
        Some((_, None)) => Vec::new(),
        Some((span, _)) => {
            c.no_phases(span);
            Vec::new()
        }
        None => {
            c.no_phases(0..0);
            Vec::new()
        }
    };
    c.references(&project, &services, &gates, &phases);
    c.trust_references(trust.as_ref(), &roles, &gates);
    c.waiver_references(&waivers, &gates);
    if !c.problems.is_empty() {
        return Err(c.problems);
    }
    let mut roadmap = build(project, services, gates, phases);
    roadmap.trust = trust.map(|t| phasegate_model::Trust {
        allowed_signers: t.allowed_signers.unwrap_or_default(),
        run_signers: t.run_signers,
    });
    roadmap.roles = roles.roles.into_iter().map(|(n, _, m)| (n, m)).collect();
    roadmap.waivers = waivers
        .into_iter()
        .filter_map(waiver::WaiverDraft::build)
        .collect();
    Ok(roadmap)
}

fn syntax(source: &str, e: &toml::de::Error) -> Problem {
    let end = source.len();
    let mut span = e.span().unwrap_or(end..end);
    // miette draws nothing under an empty span at the very end of the text: point at the
    // last character instead, where the text stopped too early.
    if span.is_empty() && span.start >= end {
        let last = source.char_indices().next_back().map_or(0, |(i, _)| i);
        span = last..end;
    }
    Problem::new(format!("invalid TOML: {}", e.message()), span, "here")
        .help("fix the TOML syntax first: the rest of the roadmap is checked once the file parses")
}

/// A reference to an id, with the span of its text.
#[derive(Debug, Clone)]
struct Ref<T> {
    id: T,
    span: Range<usize>,
}

#[derive(Default)]
struct ProjectDraft {
    name: Option<String>,
    base_gates: Vec<Ref<GateId>>,
    secret_env: Vec<String>,
    markdown: Option<String>,
    partial: Option<Partial>,
}

use service::ServiceDraft;

struct GateDraft {
    id: Ref<GateId>,
    body: GateBody,
}

#[derive(Default)]
struct GateBody {
    title: Option<String>,
    kind: Option<GateKind>,
    needs: Vec<Ref<GateId>>,
    inputs: Vec<String>,
    timeout: Option<Duration>,
    retries: Option<u32>,
    fresh_for: Option<Duration>,
    services: Vec<Ref<ServiceId>>,
    blocking: Option<bool>,
    env: BTreeMap<String, String>,
    cwd: Option<String>,
    secret_env: Vec<String>,
    base_url: Option<String>,
    exclusive: Option<bool>,
    item: Option<String>,
    fail_on: Option<(phasegate_model::Severity, Range<usize>)>,
    cache: Option<(bool, Range<usize>)>,
    require: Vec<(String, Range<usize>)>,
    partial: Option<(Partial, Range<usize>)>,
    todo: Option<String>,
    schedule: Schedule,
}

struct PhaseDraft {
    id: Option<Ref<PhaseId>>,
    title: Option<String>,
    after: Vec<Ref<PhaseId>>,
    gates: Vec<Ref<GateId>>,
    schedule: Schedule,
    partial: Option<Partial>,
}

/// What a kind of id is called in messages.
#[derive(Clone, Copy)]
enum Noun {
    Gate,
    Phase,
    Service,
}

impl Noun {
    fn name(self) -> &'static str {
        match self {
            Noun::Gate => "gate",
            Noun::Phase => "phase",
            Noun::Service => "service",
        }
    }

    /// How to define an id of this kind, for the help of an undefined reference.
    fn how_to_define(self, id: &str) -> String {
        match self {
            Noun::Gate => format!("define it with a `[gates.{id}]` section"),
            Noun::Phase => format!("define it with a `[[phase]]` section with `id = \"{id}\"`"),
            Noun::Service => format!("define it with a `[services.{id}]` section"),
        }
    }
}

struct Checker<'s> {
    src: &'s str,
    problems: Vec<Problem>,
    /// Judges probe gates (the probes crate's own rules); `None` accepts any parameters
    /// and takes every probe for one of a service.
    probe_rules: Option<ProbeRules<'s>>,
    /// Whether the roadmap has `[trust]`: sign-off approvers are then the members of
    /// `[roles]`, not one per role.
    pins_keys: bool,
}

/// Table entries sorted by position: `DeTable` iterates in key order, and both problems and
/// the roadmap's gates follow the file.
fn in_file_order<'a, 'i>(table: &'a DeTable<'i>) -> Vec<(&'a Key<'i>, &'a Val<'i>)> {
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    entries
}

fn find<'a, 'i>(table: &'a DeTable<'i>, name: &str) -> Option<&'a Val<'i>> {
    table.get(name)
}

/// "an integer", "a string", ...
fn a_type(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// "`a`, `b` or `c`" (with `conjunction` "or").
fn quoted_list(words: &[&str], conjunction: &str) -> String {
    let words: Vec<String> = words.iter().map(|w| format!("`{w}`")).collect();
    match words.split_last() {
        Some((last, rest)) if !rest.is_empty() => {
            format!("{} {conjunction} {last}", rest.join(", "))
        }
        _ => words.concat(),
    }
}

fn is_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn integer(i: &toml::de::DeInteger<'_>) -> Option<i128> {
    i128::from_str_radix(i.as_str(), i.radix()).ok()
}

impl Checker<'_> {
    fn push(&mut self, p: Problem) {
        self.problems.push(p);
    }

    fn text(&self, span: Range<usize>) -> &str {
        self.src.get(span).unwrap_or("")
    }

    /// Reports an unknown key; returns the suggestion made, if any.
    fn unknown_key<'k>(
        &mut self,
        key: &Key<'_>,
        known: &[&'k str],
        place: &str,
        note: Option<&str>,
    ) -> Option<&'k str> {
        let name = key.get_ref().as_ref();
        let suggestion = did_you_mean(name, known.iter().copied());
        let mut help = match suggestion {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("expected {}", quoted_list(known, "or")),
        };
        if let Some(note) = note {
            help = format!("{help} ({note})");
        }
        self.push(
            Problem::new(
                format!("unknown key `{name}` {place}"),
                key.span(),
                "unknown key",
            )
            .help(help),
        );
        suggestion
    }

    fn wrong_type(&mut self, key: &str, val: &Val<'_>, expected: &str) {
        self.push(
            Problem::new(
                format!("expected {expected} for `{key}`"),
                val.span(),
                &format!("found {}", a_type(val.get_ref())),
            )
            .help(format!("`{key}` takes {expected}")),
        );
    }

    fn string<'a>(&mut self, key: &str, val: &'a Val<'_>) -> Option<&'a str> {
        match val.get_ref() {
            DeValue::String(s) => Some(s.as_ref()),
            _ => {
                self.wrong_type(key, val, "a string");
                None
            }
        }
    }

    /// A string that must not be empty (a command, a probe name).
    fn non_empty(&mut self, key: &str, val: &Val<'_>, example: &str) -> Option<String> {
        let s = self.string(key, val)?;
        if s.trim().is_empty() {
            self.push(
                Problem::new(format!("`{key}` is empty"), val.span(), "empty")
                    .help(format!("for example `{key} = \"{example}\"`")),
            );
            return None;
        }
        Some(s.to_owned())
    }

    fn boolean(&mut self, key: &str, val: &Val<'_>) -> Option<bool> {
        match val.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                self.wrong_type(key, val, "`true` or `false`");
                None
            }
        }
    }

    /// The string items of an array, each with its span; reports everything else.
    fn strings<'a>(
        &mut self,
        key: &str,
        val: &'a Val<'_>,
        expected: &str,
        item: &str,
    ) -> Vec<(&'a str, Range<usize>)> {
        let DeValue::Array(items) = val.get_ref() else {
            self.wrong_type(key, val, expected);
            return Vec::new();
        };
        let mut out = Vec::new();
        for v in items.iter() {
            match v.get_ref() {
                DeValue::String(s) => out.push((s.as_ref(), v.span())),
                other => self.push(
                    Problem::new(
                        format!("expected {item} in `{key}`"),
                        v.span(),
                        &format!("found {}", a_type(other)),
                    )
                    .help(format!("`{key}` takes {expected}")),
                ),
            }
        }
        out
    }

    /// Drops (and reports) repeated entries of a list.
    fn dedup<'a>(
        &mut self,
        key: &str,
        items: Vec<(&'a str, Range<usize>)>,
    ) -> Vec<(&'a str, Range<usize>)> {
        let mut first: HashMap<&str, Range<usize>> = HashMap::new();
        let mut out = Vec::with_capacity(items.len());
        for (s, span) in items {
            if let Some(prev) = first.get(s) {
                self.push(
                    Problem::new(
                        format!("`{s}` is listed twice in `{key}`"),
                        span,
                        "listed again here",
                    )
                    .label(prev.clone(), "first listed here")
                    .help(format!("remove one of the two `{s}`")),
                );
            } else {
                first.insert(s, span.clone());
                out.push((s, span));
            }
        }
        out
    }

    /// A list of ids: each valid, none twice.
    fn ids<T>(&mut self, key: &str, val: &Val<'_>, noun: Noun) -> Vec<Ref<T>>
    where
        T: TryFrom<String, Error = InvalidId>,
    {
        let n = noun.name();
        let items = self.strings(
            key,
            val,
            &format!("an array of {n} ids"),
            &format!("a {n} id (a string)"),
        );
        let items = self.dedup(key, items);
        items
            .into_iter()
            .filter_map(|(s, span)| self.id(s, span, noun))
            .collect()
    }

    fn id<T>(&mut self, text: &str, span: Range<usize>, noun: Noun) -> Option<Ref<T>>
    where
        T: TryFrom<String, Error = InvalidId>,
    {
        match T::try_from(text.to_owned()) {
            Ok(id) => Some(Ref { id, span }),
            Err(_) => {
                self.push(
                    Problem::new(
                        format!("invalid {} id `{text}`", noun.name()),
                        span,
                        "not a valid id",
                    )
                    .help(ID_HELP),
                );
                None
            }
        }
    }

    fn id_from_key<T>(&mut self, key: &Key<'_>, noun: Noun) -> Option<Ref<T>>
    where
        T: TryFrom<String, Error = InvalidId>,
    {
        self.id(key.get_ref().as_ref(), key.span(), noun)
    }

    fn env_names(&mut self, key: &str, val: &Val<'_>) -> Vec<String> {
        let items = self.strings(
            key,
            val,
            "an array of environment variable names",
            "a variable name (a string)",
        );
        let items = self.dedup(key, items);
        let mut out = Vec::with_capacity(items.len());
        for (name, span) in items {
            if is_env_name(name) {
                out.push(name.to_owned());
            } else {
                self.push(
                    Problem::new(
                        format!("invalid environment variable name `{name}` in `{key}`"),
                        span,
                        "not a variable name",
                    )
                    .help(ENV_HELP),
                );
            }
        }
        out
    }

    fn duration(&mut self, key: &str, val: &Val<'_>) -> Option<Duration> {
        let DeValue::String(text) = val.get_ref() else {
            self.push(
                Problem::new(
                    format!("expected a duration for `{key}`"),
                    val.span(),
                    &format!("found {}", a_type(val.get_ref())),
                )
                .help(format!("{DURATION_HELP}, as a string: `{key} = \"10m\"`")),
            );
            return None;
        };
        match humantime::parse_duration(text) {
            Ok(d) if d.is_zero() => {
                self.push(
                    Problem::new(
                        format!("`{key}` must be longer than zero"),
                        val.span(),
                        "zero",
                    )
                    .help(DURATION_HELP),
                );
                None
            }
            Ok(d) if d > phasegate_model::MAX_DURATION => {
                self.push(
                    Problem::new(
                        format!("`{key}` is too long"),
                        val.span(),
                        "above 100 years",
                    )
                    .help(DURATION_HELP),
                );
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                // humantime's own messages carry byte offsets, which mean nothing here.
                let label = match e {
                    humantime::DurationError::UnknownUnit { unit, .. } => {
                        format!("unknown unit `{unit}`")
                    }
                    humantime::DurationError::NumberOverflow => "too long".to_owned(),
                    humantime::DurationError::Empty => "empty".to_owned(),
                    _ => "not a duration".to_owned(),
                };
                self.push(
                    Problem::new(
                        format!("invalid duration `{text}` for `{key}`"),
                        val.span(),
                        &label,
                    )
                    .help(DURATION_HELP),
                );
                None
            }
        }
    }

    /// A whole number; `what` names what it counts, for the help.
    fn integer(&mut self, key: &str, val: &Val<'_>, what: &str) -> Option<i128> {
        match val.get_ref() {
            DeValue::Integer(i) => {
                let n = integer(i);
                if n.is_none() {
                    self.push(
                        Problem::new(format!("`{key}` is too large"), val.span(), "too large")
                            .help(what.to_owned()),
                    );
                }
                n
            }
            other => {
                self.push(
                    Problem::new(
                        format!("expected a whole number for `{key}`"),
                        val.span(),
                        &format!("found {}", a_type(other)),
                    )
                    .help(what.to_owned()),
                );
                None
            }
        }
    }

    fn version(&mut self, val: &Val<'_>) {
        let help = "this phasegate reads roadmap format version 1";
        if let Some(v) = self.integer("version", val, help)
            && v != i128::from(VERSION)
        {
            self.push(
                Problem::new(
                    format!("unsupported roadmap format version {v}"),
                    val.span(),
                    "unsupported version",
                )
                .help(format!(
                    "{help}; set `version = 1` or use a newer phasegate"
                )),
            );
        }
    }

    fn table<'a, 'i>(
        &mut self,
        key: &str,
        val: &'a Val<'i>,
        help: impl FnOnce() -> String,
    ) -> Option<&'a DeTable<'i>> {
        match val.get_ref() {
            DeValue::Table(t) => Some(t),
            other => {
                self.push(
                    Problem::new(
                        format!("expected a table for `{key}`"),
                        val.span(),
                        &format!("found {}", a_type(other)),
                    )
                    .help(help()),
                );
                None
            }
        }
    }

    fn project(&mut self, val: &Val<'_>) -> ProjectDraft {
        let mut p = ProjectDraft::default();
        let Some(table) = self.table("project", val, || {
            "write `[project]` followed by `name = \"...\"`".to_owned()
        }) else {
            return p;
        };
        for (key, val) in in_file_order(table) {
            match key.get_ref().as_ref() {
                "name" => p.name = self.string("name", val).map(str::to_owned),
                "base_gates" => p.base_gates = self.ids("base_gates", val, Noun::Gate),
                "secret_env" => p.secret_env = self.env_names("secret_env", val),
                "markdown" => p.markdown = self.string("markdown", val).map(str::to_owned),
                "partial" => p.partial = self.partial(val),
                _ => {
                    self.unknown_key(key, PROJECT_KEYS, "in `[project]`", None);
                }
            }
        }
        p
    }

    /// `partial = "pass" | "fail"`: what a probe's pass that skipped rules counts as.
    fn partial(&mut self, val: &Val<'_>) -> Option<Partial> {
        let name = self.string("partial", val)?;
        let found = Partial::from_name(name.trim());
        if found.is_none() {
            self.push(
                Problem::new(
                    format!("unknown value `{name}` for `partial`"),
                    val.span(),
                    "not `pass` or `fail`",
                )
                .help("expected `\"pass\"` (a partial pass counts, shown as partial) or `\"fail\"` (a probe that skipped a rule fails)"),
            );
        }
        found
    }

    fn env_table(&mut self, val: &Val<'_>) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        let Some(table) = self.table("env", val, || {
            "write `env = { NAME = \"value\" }`".to_owned()
        }) else {
            return env;
        };
        for (k, v) in in_file_order(table) {
            let name = k.get_ref().as_ref();
            if !is_env_name(name) {
                self.push(
                    Problem::new(
                        format!("invalid environment variable name `{name}`"),
                        k.span(),
                        "not a variable name",
                    )
                    .help(ENV_HELP),
                );
            }
            match v.get_ref() {
                DeValue::String(s) => {
                    env.insert(name.to_owned(), s.to_string());
                }
                other => {
                    let text = self.text(v.span()).to_owned();
                    self.push(
                        Problem::new(
                            format!("expected a string for `env.{name}`"),
                            v.span(),
                            &format!("found {}", a_type(other)),
                        )
                        .help(format!(
                            "environment values are strings: quote it, `{name} = \"{}\"`",
                            text.replace('"', "\\\"")
                        )),
                    );
                }
            }
        }
        env
    }

    /// `None` when `phase` is not an array.
    fn phases(&mut self, val: &Val<'_>) -> Option<Vec<PhaseDraft>> {
        let items = match val.get_ref() {
            DeValue::Array(items) => items,
            other => {
                self.push(
                    Problem::new(
                        "expected an array of tables for `phase`",
                        val.span(),
                        &format!("found {}", a_type(other)),
                    )
                    .help("write each phase as a `[[phase]]` section (double brackets)"),
                );
                return None;
            }
        };
        let mut out = Vec::new();
        for item in items.iter() {
            let Some(table) = self.table("phase", item, || {
                "write each phase as a `[[phase]]` section".to_owned()
            }) else {
                continue;
            };
            let id_val = find(table, "id");
            let id_text = id_val.and_then(|v| match v.get_ref() {
                DeValue::String(s) => Some(s.as_ref()),
                _ => None,
            });
            let place = match id_text {
                Some(id) => format!("in phase `{id}`"),
                None => "in `[[phase]]`".to_owned(),
            };
            let mut p = PhaseDraft {
                id: None,
                title: None,
                after: Vec::new(),
                gates: Vec::new(),
                schedule: Schedule::default(),
                partial: None,
            };
            let mut schedule = schedule::ScheduleDraft::default();
            for (k, v) in in_file_order(table) {
                match k.get_ref().as_ref() {
                    "id" => {
                        if let Some(s) = self.string("id", v) {
                            p.id = self.id(s, v.span(), Noun::Phase);
                        }
                    }
                    "title" => p.title = self.string("title", v).map(str::to_owned),
                    "after" => p.after = self.ids("after", v, Noun::Phase),
                    "gates" => p.gates = self.ids("gates", v, Noun::Gate),
                    "partial" => p.partial = self.partial(v),
                    "every" | "cron" | "timezone" | "cooldown" => {
                        self.schedule_key(&mut schedule, k, v);
                    }
                    _ => {
                        self.unknown_key(k, PHASE_KEYS, &place, None);
                    }
                }
            }
            p.schedule = self.schedule(schedule, &place);
            if id_val.is_none() {
                self.push(
                    Problem::new("phase has no `id`", item.span(), "this phase")
                        .help("add `id = \"...\"`, e.g. `id = \"baseline\"`"),
                );
            }
            out.push(p);
        }
        Some(out)
    }

    fn no_phases(&mut self, span: Range<usize>) {
        self.push(
            Problem::new("the roadmap has no phases", span, "no `[[phase]]` here").help(
                "add at least one phase, e.g.\n\n[[phase]]\nid = \"baseline\"\ntitle = \"Baseline\"\ngates = [\"test\"]",
            ),
        );
    }
}

/// Turns checked drafts into the model. Only called when no problem was found, so every
/// draft is complete; incomplete ones are skipped rather than trusted.
fn build(
    project: ProjectDraft,
    services: Vec<ServiceDraft>,
    gates: Vec<GateDraft>,
    phases: Vec<PhaseDraft>,
) -> Roadmap {
    let own_partial: BTreeMap<GateId, bool> = gates
        .iter()
        .map(|g| (g.id.id.clone(), g.body.partial.is_some()))
        .collect();
    let phase_partial: BTreeMap<PhaseId, Option<Partial>> = phases
        .iter()
        .filter_map(|p| Some((p.id.as_ref()?.id.clone(), p.partial)))
        .collect();
    let project_partial = project.partial;
    let mut roadmap = Roadmap {
        project: Project {
            name: project.name.unwrap_or_else(|| "project".to_owned()),
            base_gates: project.base_gates.into_iter().map(|r| r.id).collect(),
            secret_env: project.secret_env,
            markdown: project.markdown,
        },
        services: services
            .into_iter()
            .filter_map(ServiceDraft::build)
            .map(|s| (s.id.clone(), s))
            .collect(),
        gates: gates
            .into_iter()
            .filter_map(|GateDraft { id, body: g }| {
                Some(Gate {
                    id: id.id,
                    title: g.title,
                    kind: g.kind?,
                    needs: g.needs.into_iter().map(|r| r.id).collect(),
                    inputs: g.inputs,
                    timeout: g.timeout.unwrap_or(DEFAULT_TIMEOUT),
                    retries: g.retries.unwrap_or(0),
                    fresh_for: g.fresh_for,
                    services: g.services.into_iter().map(|r| r.id).collect(),
                    base_url: g.base_url,
                    exclusive: g.exclusive.unwrap_or(false),
                    fail_on: g.fail_on.map(|(s, _)| s).unwrap_or_default(),
                    cache: g.cache.map(|(c, _)| c),
                    require: g.require.into_iter().map(|(r, _)| r).collect(),
                    partial: g.partial.map(|(p, _)| p).unwrap_or_default(),
                    todo: g.todo,
                    schedule: g.schedule,
                    blocking: g.blocking.unwrap_or(true),
                    env: g.env,
                    cwd: g.cwd,
                    secret_env: g.secret_env,
                    item: g.item,
                })
            })
            .collect(),
        trust: None,
        roles: BTreeMap::new(),
        phases: phases
            .into_iter()
            .filter_map(|p| {
                let id = p.id?.id;
                Some(Phase {
                    title: p.title.unwrap_or_else(|| id.to_string()),
                    id,
                    after: p.after.into_iter().map(|r| r.id).collect(),
                    gates: p.gates.into_iter().map(|r| r.id).collect(),
                    schedule: p.schedule,
                })
            })
            .collect(),
        // Filled in by `check`, from the `[[waiver]]` drafts.
        waivers: Vec::new(),
    };
    inherit_schedules(&mut roadmap);
    inherit_partial(&mut roadmap, &own_partial, project_partial, &phase_partial);
    roadmap
}

/// A gate's `partial` is its own, else the strictest of the phases requiring it (a base
/// gate: of every phase), else the project's.
fn inherit_partial(
    roadmap: &mut Roadmap,
    own: &BTreeMap<GateId, bool>,
    project: Option<Partial>,
    phases: &BTreeMap<PhaseId, Option<Partial>>,
) {
    let base = &roadmap.project.base_gates;
    for g in &mut roadmap.gates {
        // Only a probe records coverage; a command gate's digest must not change with it.
        if own.get(&g.id).copied().unwrap_or(false) || !matches!(g.kind, GateKind::Probe { .. }) {
            continue;
        }
        let from_phases = roadmap
            .phases
            .iter()
            .filter(|p| base.contains(&g.id) || p.gates.contains(&g.id))
            .filter_map(|p| phases.get(&p.id).copied().flatten())
            .max();
        g.partial = from_phases.or(project).unwrap_or_default();
    }
}

/// A gate's `every` and `cooldown` are its own, else those of the first phase (in file
/// order) listing it among its own gates.
fn inherit_schedules(roadmap: &mut Roadmap) {
    for phase in &roadmap.phases {
        for id in &phase.gates {
            if let Some(g) = roadmap.gates.iter_mut().find(|g| &g.id == id) {
                g.schedule = g.schedule.clone().or(&phase.schedule);
            }
        }
    }
}
