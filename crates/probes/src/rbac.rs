//! `rbac`: a role × request matrix of expected statuses, every cell requested.
//!
//! ```toml
//! [gates.admin-rbac]
//! probe = "rbac"
//! roles.member = { sign_in = { path = "/api/v1/auth/sign-in", json = { email = "m@x", password = "p" } } }
//! roles.platform_admin = { token = { env = "ADMIN_TOKEN" } }
//! roles.auditor = { sign_in = { path = "/api/v1/auth/sign-in", json = { email = "a@x", password = "p" } } }
//! inherit = { auditor = "member" }   # what a row does not say of auditor, member's cell says
//! default = 403                      # what no row, inheritance or row default says
//! repeat = 5                         # each denied cell is requested this many times
//! rows = [
//!   { path = "/api/v1/admin/users", expect = { anonymous = 401, platform_admin = 200 } },
//!   { method = "POST", path = "/api/v1/admin/users/3/role", json = { role = "support_admin" },
//!     expect = { anonymous = 401, platform_admin = 200 } },
//! ]
//! ```
//!
//! Roles are those declared (credentials as in the `access` module: a token from an
//! environment variable, or a sign-in with a capture) plus `anonymous`, which sends none.
//! A cell's expected status (one or a list) is, first found: the row's `expect` for the role,
//! the role's `inherit` parent's (recursively), the row's `default`, the matrix's `default`;
//! a cell with none is a parameter error, so every cell is requested.
//!
//! A denied cell (every expected status a 4xx) is requested `repeat` times: an access check
//! that holds once but not always (a race in a role cache) is as open as one that never holds.
//! Each differing cell is one finding, so that the findings read as a table: role, request,
//! expected, got ("200 in 2 of 5"). Write rows are sent for real: make them idempotent (set a
//! user's role to the one it has) so the matrix does not change the service for other gates.
//!
//! Budget: one sign-in per role that signs in, one request per cell (`repeat` per denied
//! cell) and `max_retries` 429s waited out (at most `max_wait` each).
//! Measurements: `cells`, `cells_differing`, `rate_limited_waits`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::Value;

use crate::access::{self, ANONYMOUS, Credentials, Keyring};
use crate::http::StatusSet;
use crate::net::{Client, ProbeError, Request};
use crate::params::{self, Dur, err};
use crate::patience::{self, Patience};
use crate::probe::Probe;
use crate::report::Report;
use crate::{Context, ParamError};

/// The most times a denied cell may be requested.
const MAX_REPEAT: u32 = 50;

/// The `rbac` probe's parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    #[serde(default)]
    roles: BTreeMap<String, Credentials>,
    #[serde(default)]
    inherit: BTreeMap<String, String>,
    default: Option<StatusSet>,
    rows: Vec<Row>,
    #[serde(default = "repeat")]
    repeat: u32,
    #[serde(default = "patience::max_wait")]
    max_wait: Dur,
    #[serde(default = "patience::max_retries")]
    max_retries: u32,
    /// The expanded matrix, filled by `validate`.
    #[serde(skip)]
    cells: Vec<Cell>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    #[serde(default = "params::get")]
    method: String,
    path: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    body: Option<String>,
    json: Option<Value>,
    #[serde(default)]
    expect: BTreeMap<String, StatusSet>,
    default: Option<StatusSet>,
}

fn repeat() -> u32 {
    5
}

/// One role on one row, with what it must answer and how many times it is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cell {
    row: usize,
    role: String,
    expected: Vec<u16>,
    times: u32,
}

/// The roles of the matrix: `anonymous` first, then the declared ones.
fn role_names(cfg: &Config) -> Vec<&str> {
    std::iter::once(ANONYMOUS)
        .chain(cfg.roles.keys().map(String::as_str))
        .collect()
}

/// Every cell of the matrix, or the parameter errors that keep it from being complete.
fn expand(cfg: &Config) -> Result<Vec<Cell>, Vec<ParamError>> {
    let roles = role_names(cfg);
    let mut errors = Vec::new();
    for (child, parent) in &cfg.inherit {
        for (name, what) in [(child, "inheriting"), (parent, "inherited")] {
            if !roles.contains(&name.as_str()) {
                errors.push(err(
                    format!("inherit.{child}"),
                    format!("{what} role `{name}` is not declared in `roles`"),
                ));
            }
        }
    }
    for role in &roles {
        let mut seen = vec![*role];
        let mut at = *role;
        while let Some(parent) = cfg.inherit.get(at) {
            if seen.contains(&parent.as_str()) {
                seen.push(parent);
                errors.push(err(
                    format!("inherit.{role}"),
                    format!("inheritance goes round in a circle: {}", seen.join(" -> ")),
                ));
                break;
            }
            seen.push(parent);
            at = parent;
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut cells = Vec::new();
    for (i, row) in cfg.rows.iter().enumerate() {
        for name in row.expect.keys() {
            if !roles.contains(&name.as_str()) {
                errors.push(err(
                    format!("rows[{i}].expect.{name}"),
                    format!("role `{name}` is not declared in `roles`"),
                ));
            }
        }
        for role in &roles {
            match expectation(cfg, row, role) {
                Some(StatusSet(expected)) => {
                    let denied = expected.iter().all(|s| (400..500).contains(s));
                    cells.push(Cell {
                        row: i,
                        role: (*role).to_owned(),
                        expected: expected.clone(),
                        times: if denied { cfg.repeat } else { 1 },
                    });
                }
                None => errors.push(err(
                    format!("rows[{i}].expect"),
                    format!(
                        "no status for role `{role}`: list it, give it an `inherit` parent that is listed, or set a `default`"
                    ),
                )),
            }
        }
    }
    if errors.is_empty() {
        Ok(cells)
    } else {
        Err(errors)
    }
}

/// The status `role` must answer on `row` (inheritance is known to be acyclic here).
fn expectation<'a>(cfg: &'a Config, row: &'a Row, role: &str) -> Option<&'a StatusSet> {
    let mut at = role;
    loop {
        if let Some(set) = row.expect.get(at) {
            return Some(set);
        }
        match cfg.inherit.get(at) {
            Some(parent) => at = parent,
            None => break,
        }
    }
    row.default.as_ref().or(cfg.default.as_ref())
}

/// The `rbac` probe.
pub(crate) struct Rbac;

impl Probe for Rbac {
    const KIND: &'static str = "rbac";
    const RULES: &'static [&'static str] = &["matrix", "repeat"];
    type Config = Config;

    fn validate(cfg: &mut Config, errors: &mut Vec<ParamError>) {
        access::validate(&cfg.roles, cfg.max_wait, cfg.max_retries, errors);
        if cfg.rows.is_empty() {
            errors.push(err("rows", "expected at least one row"));
        }
        params::check_count("repeat", cfg.repeat, MAX_REPEAT, "", errors);
        for (i, row) in cfg.rows.iter().enumerate() {
            let key = |k: &str| format!("rows[{i}].{k}");
            params::check_method(&key("method"), &row.method, errors);
            params::check_path(&key("path"), &row.path, errors);
            params::check_body(&key("body"), &row.body, &row.json, errors);
            params::check_header_names(&key("headers"), row.headers.keys(), errors);
        }
        match expand(cfg) {
            Ok(cells) => cfg.cells = cells,
            Err(more) => errors.extend(more),
        }
    }

    fn budget(cfg: &Config) -> u32 {
        let cells: u32 = cfg.cells.iter().map(|c| c.times).sum();
        cells.saturating_add(access::budget(&cfg.roles, cfg.max_retries))
    }

    /// Obtains every role's credentials, then requests every cell.
    async fn check(
        cfg: &Config,
        ctx: &Context,
        http: &mut Client,
        report: &mut Report,
    ) -> Result<(), ProbeError> {
        let mut patience = Patience::new(cfg.max_wait.0, cfg.max_retries);
        let ring = Keyring::obtain(
            &cfg.roles,
            cfg.roles.keys().map(String::as_str),
            ctx,
            http,
            &mut patience,
            report,
        )
        .await?;
        let mut differing = 0;
        let mut checked = 0;
        let mut unsigned = BTreeSet::new();
        for cell in &cfg.cells {
            let row = &cfg.rows[cell.row];
            let Some(req) = ring.authorize(&cell.role, request(row)) else {
                unsigned.insert(cell.role.as_str());
                continue;
            };
            let mut got = Vec::new();
            for n in 1..=cell.times {
                let note = if cell.times > 1 {
                    format!("as {}, {n} of {}", cell.role, cell.times)
                } else {
                    format!("as {}", cell.role)
                };
                got.push(patience.send(http, &req.clone().note(note)).await?.status);
            }
            checked += 1;
            if let Some((code, message)) = judge(cell, &got) {
                differing += 1;
                report.finding(
                    code,
                    message,
                    format!("{} {} as {}", row.method, row.path, cell.role),
                );
            }
        }
        report.measure("cells", f64::from(checked));
        report.measure("cells_differing", f64::from(differing));
        let roles: Vec<&str> = unsigned.into_iter().collect();
        report.covered(
            "matrix",
            roles.is_empty(),
            format!(
                "no credentials for role {}, so its cells were not requested; fix its `roles` entry",
                roles.join(", ")
            ),
        );
        let denied = cfg.cells.iter().any(|c| c.times > 1);
        report.covered(
            "repeat",
            denied,
            "no denied cell was requested more than once; set `repeat` to 2 or more",
        );
        report.measure("rate_limited_waits", f64::from(patience.waits));
        Ok(())
    }
}

fn request(row: &Row) -> Request {
    let mut req = Request::new(&row.method, &row.path)
        // A redirect to a login page is how many services deny: judge it, do not follow it.
        .no_follow()
        .body(params::body(&row.body, &row.json));
    for (name, value) in &row.headers {
        req = req.header(name, value);
    }
    req
}

/// The finding a cell owes when some answer in `got` is not expected: a denied cell that let
/// the role in is the worst, all the time or only some of it; anything else is a mismatch.
fn judge(cell: &Cell, got: &[u16]) -> Option<(&'static str, String)> {
    if got.iter().all(|s| cell.expected.contains(s)) {
        return None;
    }
    let expected = cell
        .expected
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(" or ");
    let denied = cell.expected.iter().all(|s| (400..500).contains(s));
    let let_in = got.iter().filter(|s| (200..300).contains(*s)).count();
    let role = &cell.role;
    let answered = answers(got);
    Some(if denied && let_in == got.len() {
        (
            "rbac-access-granted",
            format!(
                "role {role} must be refused (expected {expected}), yet it was let in: {answered}"
            ),
        )
    } else if denied && let_in > 0 {
        (
            "rbac-deny-unstable",
            format!(
                "role {role} must be refused (expected {expected}), yet it was let in some of the time: {answered}"
            ),
        )
    } else {
        (
            "rbac-status-mismatch",
            format!("role {role}: expected {expected}, got {answered}"),
        )
    })
}

/// `403`, or `200 in 2 of 5, 403 in 3 of 5` when the cell was asked several times.
fn answers(got: &[u16]) -> String {
    if got.len() == 1 {
        return got[0].to_string();
    }
    let distinct: BTreeSet<u16> = got.iter().copied().collect();
    distinct
        .iter()
        .map(|s| {
            let n = got.iter().filter(|g| *g == s).count();
            format!("{s} in {n} of {}", got.len())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(v: serde_json::Value) -> Result<Config, Vec<ParamError>> {
        let params = v.as_object().unwrap().clone().into_iter().collect();
        let mut cfg: Config = params::from_params(&params)?;
        let mut errors = Vec::new();
        Rbac::validate(&mut cfg, &mut errors);
        if errors.is_empty() {
            Ok(cfg)
        } else {
            Err(errors)
        }
    }

    fn sign_in() -> serde_json::Value {
        serde_json::json!({ "sign_in": { "path": "/login", "json": {} } })
    }

    #[test]
    fn the_matrix_expands_through_rows_inheritance_and_defaults() {
        let cfg = config(serde_json::json!({
            "roles": { "member": sign_in(), "auditor": sign_in(), "admin": sign_in() },
            "inherit": { "auditor": "member" },
            "default": 403,
            "repeat": 3,
            "rows": [
                { "path": "/a", "expect": { "anonymous": 401, "member": 404, "admin": [200, 204] } },
                { "path": "/b", "expect": { "anonymous": 401 }, "default": 200 },
            ],
        }))
        .unwrap();
        let cells: Vec<(usize, &str, Vec<u16>, u32)> = cfg
            .cells
            .iter()
            .map(|c| (c.row, c.role.as_str(), c.expected.clone(), c.times))
            .collect();
        assert_eq!(
            cells,
            [
                (0, "anonymous", vec![401], 3),
                (0, "admin", vec![200, 204], 1),
                (0, "auditor", vec![404], 3), // inherited from member
                (0, "member", vec![404], 3),
                (1, "anonymous", vec![401], 3),
                (1, "admin", vec![200], 1), // the row's default before the matrix's
                (1, "auditor", vec![200], 1),
                (1, "member", vec![200], 1),
            ]
        );
    }

    #[test]
    fn an_incomplete_or_circular_matrix_is_refused_with_every_problem() {
        let errors = config(serde_json::json!({
            "roles": { "member": sign_in(), "auditor": sign_in() },
            "rows": [{ "path": "/a", "expect": { "anonymous": 401, "ghost": 200 } }],
            "repeat": 0,
        }))
        .unwrap_err();
        let keys: Vec<&str> = errors.iter().filter_map(|e| e.key.as_deref()).collect();
        assert_eq!(
            keys,
            [
                "repeat",
                "rows[0].expect.ghost",
                "rows[0].expect",
                "rows[0].expect"
            ],
            "{errors:?}"
        );
        let errors = config(serde_json::json!({
            "roles": { "member": sign_in(), "auditor": sign_in() },
            "inherit": { "auditor": "member", "member": "auditor" },
            "rows": [{ "path": "/a", "default": 403 }],
        }))
        .unwrap_err();
        assert!(
            errors[0]
                .message
                .contains("circle: auditor -> member -> auditor"),
            "{errors:?}"
        );
    }

    #[test]
    fn cells_are_judged_as_granted_unstable_or_mismatched() {
        let cell = |expected: Vec<u16>| Cell {
            row: 0,
            role: "member".into(),
            expected,
            times: 5,
        };
        assert_eq!(judge(&cell(vec![403]), &[403; 5]), None);
        let (code, message) = judge(&cell(vec![403]), &[200; 5]).unwrap();
        assert_eq!(code, "rbac-access-granted");
        assert_eq!(
            message,
            "role member must be refused (expected 403), yet it was let in: 200 in 5 of 5"
        );
        let (code, message) = judge(&cell(vec![403]), &[403, 403, 200, 403, 403]).unwrap();
        assert_eq!(code, "rbac-deny-unstable");
        assert!(
            message.ends_with("200 in 1 of 5, 403 in 4 of 5"),
            "{message}"
        );
        let (code, message) = judge(&cell(vec![401]), &[403; 5]).unwrap();
        assert_eq!(code, "rbac-status-mismatch");
        assert!(
            message.ends_with("expected 401, got 403 in 5 of 5"),
            "{message}"
        );
        let (code, _) = judge(&cell(vec![200, 204]), &[403]).unwrap();
        assert_eq!(code, "rbac-status-mismatch");
    }
}
