//! `[gates.<id>]`: kinds, probe parameters, sign-off rules, and every common gate key.

use super::*;

impl Checker<'_> {
    pub(super) fn gates(&mut self, val: &Val<'_>) -> Vec<GateDraft> {
        let Some(table) = self.table("gates", val, || {
            "define each gate as a `[gates.<id>]` section".to_owned()
        }) else {
            return Vec::new();
        };
        in_file_order(table)
            .into_iter()
            .filter_map(|(key, val)| self.gate(key, val))
            .collect()
    }

    pub(super) fn gate(&mut self, key: &Key<'_>, val: &Val<'_>) -> Option<GateDraft> {
        let id = self.id_from_key::<GateId>(key, Noun::Gate);
        let name = key.get_ref().as_ref();
        let body = self.table(&format!("gates.{name}"), val, || {
            format!("write `[gates.{name}]` followed by `run = \"...\"`")
        })?;
        let place = format!("in gate `{name}`");
        let mut g = GateBody::default();
        let mut kinds = Vec::new();
        let mut others = Vec::new();
        let mut service_key = None;
        let mut services_key = None;
        let mut schedule_key = None;
        let mut require_key = None;
        let mut schedule = super::schedule::ScheduleDraft::default();
        for (k, v) in in_file_order(body) {
            let kname = k.get_ref().as_ref();
            match kname {
                "run" | "probe" | "signoff" => kinds.push((k, v)),
                "title" => g.title = self.string("title", v).map(str::to_owned),
                "needs" => g.needs = self.ids("needs", v, Noun::Gate),
                "inputs" => {
                    let items = self.strings(
                        "inputs",
                        v,
                        "an array of globs and `$VARIABLE`s",
                        "a glob or `$VARIABLE` (a string)",
                    );
                    g.inputs = self.inputs(items);
                }
                "timeout" => g.timeout = self.duration("timeout", v),
                "retries" => g.retries = self.retries(v),
                "fresh_for" => g.fresh_for = self.duration("fresh_for", v),
                "service" => {
                    service_key = Some(k.span());
                    if let Some(s) = self.string("service", v) {
                        g.services.extend(self.id(s, v.span(), Noun::Service));
                    }
                }
                "services" => {
                    services_key = Some(k.span());
                    g.services = self.ids("services", v, Noun::Service);
                }
                "blocking" => g.blocking = self.boolean("blocking", v),
                "env" => g.env = self.env_table(v),
                "cwd" => g.cwd = self.string("cwd", v).map(str::to_owned),
                "secret_env" => g.secret_env = self.env_names("secret_env", v),
                "base_url" => g.base_url = self.string("base_url", v).map(str::to_owned),
                "exclusive" => g.exclusive = self.boolean("exclusive", v),
                "item" => g.item = self.string("item", v).map(str::to_owned),
                "fail_on" => g.fail_on = self.severity(v).map(|s| (s, k.span())),
                "cache" => g.cache = self.boolean("cache", v).map(|c| (c, k.span())),
                "require" => {
                    let items = self.strings(
                        "require",
                        v,
                        "an array of the probe's rule names",
                        "a rule name (a string)",
                    );
                    let items = self.dedup("require", items);
                    g.require = items.into_iter().map(|(r, s)| (r.to_owned(), s)).collect();
                    require_key = Some(k.span());
                }
                "partial" => g.partial = self.partial(v).map(|p| (p, k.span())),
                "todo" => g.todo = self.non_empty("todo", v, "fill in: fault, restore"),
                "every" | "cron" | "timezone" | "cooldown" => {
                    self.schedule_key(&mut schedule, k, v);
                    schedule_key.get_or_insert((kname, k.span()));
                }
                _ => others.push((k, v)),
            }
        }
        if let (Some(one), Some(many)) = (service_key, services_key) {
            self.push(
                Problem::new(
                    format!("gate `{name}` has both `service` and `services`"),
                    many,
                    "and `services`",
                )
                .label(one, "`service`")
                .help("use one: `services = [\"a\", \"b\"]` lists them all"),
            );
        }
        g.kind = self.kind(key, &kinds, &others, &place, g.todo.is_some());
        g.schedule = self.schedule(schedule, &place);
        if let Some((_, span)) = &g.fail_on
            && !matches!(g.kind, Some(GateKind::Probe { .. }) | None)
        {
            self.push(
                Problem::new(
                    format!("`fail_on` on gate `{name}`, which is not a probe gate"),
                    span.clone(),
                    "only probe gates",
                )
                .help("findings with severities come from probes: remove `fail_on` here"),
            );
        }
        let coverage_keys = [
            require_key.map(|s| ("require", s)),
            g.partial.as_ref().map(|(_, s)| ("partial", s.clone())),
        ];
        for (kname, span) in coverage_keys.into_iter().flatten() {
            if !matches!(g.kind, Some(GateKind::Probe { .. }) | None) {
                self.push(
                    Problem::new(
                        format!("`{kname}` on gate `{name}`, which is not a probe gate"),
                        span,
                        "only probe gates",
                    )
                    .help(format!(
                        "rules exercised or skipped are a probe's: remove `{kname}` here"
                    )),
                );
            }
        }
        if let Some(GateKind::Probe { probe, .. }) = &g.kind {
            self.judge_require(probe, &g.require);
        }
        if let Some((true, span)) = &g.cache
            && matches!(g.kind, Some(GateKind::Signoff { .. }))
        {
            self.push(
                Problem::new(
                    format!("`cache = true` on gate `{name}`, a sign-off gate"),
                    span.clone(),
                    "never cached",
                )
                .help("a sign-off gate is approved by people, never run, so there is no result to reuse: remove `cache`"),
            );
        }
        if let Some((kname, span)) = schedule_key
            && matches!(g.kind, Some(GateKind::Signoff { .. }))
        {
            self.push(
                Problem::new(
                    format!("`{kname}` on gate `{name}`, a sign-off gate"),
                    span,
                    "never scheduled",
                )
                .help("a sign-off gate is approved by people, never run: remove its schedule here"),
            );
        }
        let reads_files = match (&g.kind, self.probe_rules) {
            (Some(GateKind::Probe { probe, .. }), Some(rules)) => (rules.reads_files)(probe),
            _ => false,
        };
        if matches!(g.kind, Some(GateKind::Probe { .. }))
            && !reads_files
            && g.services.is_empty()
            && g.base_url.is_none()
        {
            self.push(
                Problem::new(format!("probe gate `{name}` has no target"), key.span(), "this gate")
                    .help("add `service = \"<id>\"` (a service the run starts) or `base_url = \"https://...\"` (a running deployment)"),
            );
        }
        Some(GateDraft { id: id?, body: g })
    }

    /// The `inputs` of a gate: globs (checked by the runner when it matches them) and
    /// `$NAME` variables, each once.
    fn inputs(&mut self, items: Vec<(&str, Range<usize>)>) -> Vec<String> {
        let mut out = Vec::new();
        for (item, span) in self.dedup("inputs", items) {
            if let Some(name) = item.strip_prefix('$')
                && !is_env_name(name)
            {
                self.push(
                    Problem::new(
                        format!("invalid variable `{item}` in `inputs`"),
                        span,
                        "not a variable name",
                    )
                    .help(format!("`$NAME` declares an environment variable whose value is part of the cache key; {ENV_HELP}")),
                );
                continue;
            }
            if item.is_empty() || item == "!" {
                self.push(
                    Problem::new("empty glob in `inputs`", span, "matches nothing")
                        .help("write a glob such as `src/**/*.rs`, or `!glob` to leave files out"),
                );
                continue;
            }
            let glob = item.strip_prefix('!').unwrap_or(item);
            if glob.starts_with('/') || glob.split('/').any(|part| part == "..") {
                self.push(
                    Problem::new(
                        format!("`{item}` in `inputs` leaves the roadmap's directory"),
                        span,
                        "outside the project",
                    )
                    .help("inputs are matched below the roadmap's directory: write the path relative to it, without `..`"),
                );
                continue;
            }
            if let Err(e) = globset::Glob::new(glob) {
                self.push(
                    Problem::new(format!("invalid glob `{item}` in `inputs`"), span, "here")
                        .help(format!("{}; e.g. `src/**/*.rs`", e.kind())),
                );
                continue;
            }
            out.push(item.to_owned());
        }
        out
    }

    /// Resolves the gate's kind from its kind keys, and judges its other keys by it. The
    /// parameters of a probe gate with a `todo` (a draft still to be filled in, which never
    /// runs) are not judged by the probe yet: they are incomplete by definition.
    pub(super) fn kind(
        &mut self,
        gate: &Key<'_>,
        kinds: &[(&Key<'_>, &Val<'_>)],
        others: &[(&Key<'_>, &Val<'_>)],
        place: &str,
        draft: bool,
    ) -> Option<GateKind> {
        let name = gate.get_ref().as_ref();
        let all: Vec<&str> = GATE_KEYS.iter().chain(KIND_KEYS).copied().collect();
        match kinds {
            [] => {
                let mut typo_of_kind = false;
                for (k, _) in others {
                    let s = self.unknown_key(k, &all, place, None);
                    typo_of_kind |= s.is_some_and(|s| KIND_KEYS.contains(&s));
                }
                // A misspelt `run` is already reported; "no kind" would be the same mistake.
                if !typo_of_kind {
                    self.push(
                        Problem::new(format!("gate `{name}` has no kind"), gate.span(), "this gate")
                            .help("add `run = \"...\"`, `probe = \"...\"` or `signoff = { roles = [...] }`"),
                    );
                }
                None
            }
            [(k, v)] => match k.get_ref().as_ref() {
                "run" => {
                    for (k, _) in others {
                        self.unknown_key(k, &all, place, None);
                    }
                    let command = self.non_empty("run", v, "cargo test")?;
                    Some(GateKind::Run { command })
                }
                "probe" => {
                    let params = self.probe_params(others, place);
                    let probe = self.non_empty("probe", v, "headers")?;
                    let params = params?;
                    if !draft {
                        self.judge_probe(&probe, &params, v, others);
                    }
                    Some(GateKind::Probe { probe, params })
                }
                _ => {
                    for (k, _) in others {
                        self.unknown_key(k, &all, place, None);
                    }
                    self.signoff(v)
                }
            },
            [(first, _), rest @ ..] => {
                let names: Vec<&str> = kinds.iter().map(|(k, _)| k.get_ref().as_ref()).collect();
                let mut p = Problem::new(
                    format!(
                        "gate `{name}` has {} kinds: {}",
                        kinds.len(),
                        quoted_list(&names, "and")
                    ),
                    first.span(),
                    "one kind",
                );
                for (k, _) in rest {
                    p = p.label(k.span(), "another kind");
                }
                self.push(p.help("a gate is exactly one of `run`, `probe` or `signoff`: split it into separate gates"));
                if names.contains(&"probe") {
                    self.probe_params(others, place);
                } else {
                    for (k, _) in others {
                        self.unknown_key(k, &all, place, None);
                    }
                }
                None
            }
        }
    }

    /// Reports what the probe itself finds wrong with its parameters, at the parameter's key
    /// when the probe names one, else at the probe's name.
    pub(super) fn judge_probe(
        &mut self,
        probe: &str,
        params: &BTreeMap<String, serde_json::Value>,
        probe_val: &Val<'_>,
        others: &[(&Key<'_>, &Val<'_>)],
    ) {
        let Some(ProbeRules { validate, .. }) = self.probe_rules else {
            return;
        };
        for (key, message) in validate(probe, params) {
            let at = key
                .as_deref()
                .and_then(|k| others.iter().find(|(o, _)| o.get_ref().as_ref() == k));
            let problem = match at {
                Some((k, v)) => Problem::new(
                    format!(
                        "invalid parameter `{}` for probe `{probe}`",
                        k.get_ref().as_ref()
                    ),
                    k.span().start..v.span().end,
                    &message,
                ),
                None => Problem::new(
                    format!("invalid parameters for probe `{probe}`"),
                    probe_val.span(),
                    &message,
                ),
            };
            self.push(problem);
        }
    }

    /// Every key of a probe gate that is not a gate key is a parameter for the probe, unless
    /// it looks like a misspelt gate key: `timout = "1m"` silently becoming a parameter would
    /// leave the gate with the default timeout.
    pub(super) fn probe_params(
        &mut self,
        others: &[(&Key<'_>, &Val<'_>)],
        place: &str,
    ) -> Option<BTreeMap<String, serde_json::Value>> {
        let mut params = BTreeMap::new();
        let mut ok = true;
        for (k, v) in others {
            let kname = k.get_ref().as_ref();
            if let Some(meant) = typo_of(kname, GATE_KEYS.iter().copied()) {
                self.push(
                    Problem::new(format!("unknown key `{kname}` {place}"), k.span(), "unknown key")
                        .help(format!(
                            "did you mean `{meant}`? (other keys of a probe gate are parameters of the probe, but this one looks like a misspelt gate key)"
                        )),
                );
                ok = false;
            } else if let Some(json) = self.json(kname, v) {
                params.insert(kname.to_owned(), json);
            } else {
                ok = false;
            }
        }
        ok.then_some(params)
    }

    /// A probe parameter as JSON, the form probes validate.
    pub(super) fn json(&mut self, key: &str, val: &Val<'_>) -> Option<serde_json::Value> {
        use serde_json::Value;
        Some(match val.get_ref() {
            DeValue::String(s) => Value::String(s.to_string()),
            DeValue::Boolean(b) => Value::Bool(*b),
            DeValue::Datetime(d) => Value::String(d.to_string()),
            DeValue::Integer(i) => {
                let n = integer(i);
                if let Some(n) = n.and_then(|n| i64::try_from(n).ok()) {
                    Value::from(n)
                } else if let Some(n) = n.and_then(|n| u64::try_from(n).ok()) {
                    Value::from(n)
                } else {
                    self.push(
                        Problem::new(format!("`{key}` is too large"), val.span(), "too large")
                            .help("probe parameters are at most 64-bit integers"),
                    );
                    return None;
                }
            }
            DeValue::Float(f) => {
                let number = f
                    .as_str()
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64);
                let Some(number) = number else {
                    self.push(
                        Problem::new(
                            format!("`{key}` is not a finite number"),
                            val.span(),
                            "not finite",
                        )
                        .help("probe parameters cannot be `inf` or `nan`"),
                    );
                    return None;
                };
                Value::Number(number)
            }
            DeValue::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items.iter() {
                    out.push(self.json(key, item)?);
                }
                Value::Array(out)
            }
            DeValue::Table(t) => {
                let mut out = serde_json::Map::new();
                for (k, v) in in_file_order(t) {
                    let kname = k.get_ref().as_ref();
                    out.insert(kname.to_owned(), self.json(&format!("{key}.{kname}"), v)?);
                }
                Value::Object(out)
            }
        })
    }

    pub(super) fn retries(&mut self, val: &Val<'_>) -> Option<u32> {
        let what = "`retries` counts extra attempts after a failed one: 0 (the default), 1, 2, ...";
        let n = self.integer("retries", val, what)?;
        if n < 0 {
            self.push(
                Problem::new("`retries` cannot be negative", val.span(), "negative").help(what),
            );
            return None;
        }
        match u32::try_from(n) {
            Ok(n) => Some(n),
            Err(_) => {
                self.push(
                    Problem::new("`retries` is too large", val.span(), "too large").help(what),
                );
                None
            }
        }
    }

    pub(super) fn signoff(&mut self, val: &Val<'_>) -> Option<GateKind> {
        let table = self.table("signoff", val, || {
            "write `signoff = { roles = [\"sre\"], approvals = 1 }`".to_owned()
        })?;
        let mut roles = None;
        let mut approvals = None;
        let mut ok = true;
        for (k, v) in in_file_order(table) {
            match k.get_ref().as_ref() {
                "roles" => {
                    let (items, valid) = self.signoff_roles(v);
                    ok &= valid;
                    roles = Some(items);
                }
                "approvals" => {
                    approvals = self
                        .integer(
                            "signoff.approvals",
                            v,
                            "the number of distinct approvers needed",
                        )
                        .map(|n| (n, v.span()));
                    ok &= approvals.is_some();
                }
                _ => {
                    self.unknown_key(k, SIGNOFF_KEYS, "in `signoff`", None);
                    ok = false;
                }
            }
        }
        let Some(roles) = roles else {
            self.push(
                Problem::new("`signoff` has no `roles`", val.span(), "no roles")
                    .help("add `roles = [\"...\"]`: the roles that may approve"),
            );
            return None;
        };
        // With `[trust]`, the bound is the number of people holding the roles, checked once
        // `[roles]` is read (`trust_references`).
        let most = if self.pins_keys {
            usize::MAX
        } else {
            roles.len().max(1)
        };
        let approvals = match approvals {
            None => 1,
            Some((n, span)) => match u32::try_from(n) {
                Ok(n) if n >= 1 && n as usize <= most => n,
                _ => {
                    self.push(
                        Problem::new(
                            format!("`signoff.approvals` must be between 1 and {most}"),
                            span,
                            &format!("{n} approvals"),
                        )
                        .help(format!(
                            "approvals counts distinct approvers, each holding one of the {} listed role{}",
                            roles.len(),
                            if roles.len() == 1 { "" } else { "s" }
                        )),
                    );
                    return None;
                }
            },
        };
        ok.then_some(GateKind::Signoff { roles, approvals })
    }

    /// The roles of a `signoff` table, and whether every one of them is valid.
    fn signoff_roles(&mut self, v: &Val<'_>) -> (Vec<String>, bool) {
        let mut valid = true;
        let items = self.strings(
            "signoff.roles",
            v,
            "an array of role names",
            "a role name (a string)",
        );
        let items = self.dedup("signoff.roles", items);
        for (role, span) in &items {
            if role.trim().is_empty() {
                self.push(
                    Problem::new("a role name cannot be empty", span.clone(), "empty")
                        .help("name the role that may approve, e.g. `\"sre\"`"),
                );
                valid = false;
            }
        }
        if items.is_empty() && matches!(v.get_ref(), DeValue::Array(a) if a.is_empty()) {
            self.push(
                Problem::new("`signoff.roles` is empty", v.span(), "no roles")
                    .help("name at least one role that may approve, e.g. `roles = [\"sre\"]`"),
            );
            valid = false;
        }
        let roles = items.iter().map(|(r, _)| (*r).to_owned()).collect();
        (roles, valid)
    }

    /// A severity name: `critical`, `high`, `medium` or `low`.
    /// Each name in `require` must be one of the probe's rules.
    fn judge_require(&mut self, probe: &str, require: &[(String, Range<usize>)]) {
        let Some(rules) = self.probe_rules.and_then(|r| (r.coverage)(probe)) else {
            return;
        };
        for (rule, span) in require {
            if rules.contains(&rule.as_str()) {
                continue;
            }
            let help = match (rules, did_you_mean(rule, rules.iter().copied())) {
                ([], _) => format!(
                    "probe `{probe}` records no rules, so `require` cannot name any: remove it"
                ),
                (_, Some(s)) => format!(
                    "did you mean `{s}`? the rules of `{probe}` are {}",
                    quoted_list(rules, "and")
                ),
                _ => format!("the rules of `{probe}` are {}", quoted_list(rules, "and")),
            };
            // `require` used to be where `headers` took its opt-in finding codes.
            let help = if rule.contains('-') && probe == "headers" {
                format!("{help}; opt-in finding codes go in `opt_in`")
            } else {
                help
            };
            self.push(
                Problem::new(
                    format!("unknown rule `{rule}` in `require` of probe `{probe}`"),
                    span.clone(),
                    "not a rule of this probe",
                )
                .help(help),
            );
        }
    }

    fn severity(&mut self, v: &Val<'_>) -> Option<phasegate_model::Severity> {
        let name = self.string("fail_on", v)?;
        let found = phasegate_model::Severity::from_name(name.trim());
        if found.is_none() {
            self.push(
                Problem::new(
                    format!("unknown severity `{name}` for `fail_on`"),
                    v.span(),
                    "not a severity",
                )
                .help("expected `critical`, `high`, `medium` or `low`: the least severe finding that fails the gate"),
            );
        }
        found
    }
}
