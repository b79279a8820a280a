//! One test (or a few) per validation rule, checking the message, the help and the exact
//! text each label points at.

use std::time::Duration;

use phasegate_model::GateKind;
use phasegate_roadmap::{Problem, RoadmapError, parse};

/// A problem as the tests look at it.
#[derive(Debug)]
struct Found {
    message: String,
    help: Option<String>,
    /// The source text under each label, the primary one first.
    labelled: Vec<String>,
}

fn problems(src: &str) -> Vec<Found> {
    let err: RoadmapError = match parse(src, "phasegate.toml") {
        Ok(r) => panic!("expected problems, got {r:#?}"),
        Err(e) => e,
    };
    assert_eq!(err.problems(), err.iter().count());
    err.iter().map(|p: &Problem| found(src, p)).collect()
}

fn found(src: &str, p: &Problem) -> Found {
    Found {
        message: p.message().to_owned(),
        help: p.help_text().map(str::to_owned),
        labelled: p.spans().into_iter().map(|s| src[s].to_owned()).collect(),
    }
}

/// The single problem of `src`.
fn one(src: &str) -> Found {
    let mut all = problems(src);
    assert_eq!(all.len(), 1, "{all:#?}");
    all.remove(0)
}

/// `gates` plus a phase requiring nothing, so that only the gates can be wrong.
fn with_phase(gates: &str) -> String {
    format!("{gates}\n[[phase]]\nid = \"p\"\n")
}

fn help(f: &Found) -> &str {
    f.help.as_deref().unwrap_or("")
}

#[test]
fn a_minimal_roadmap_parses_with_defaults() {
    let r = parse(
        "[gates.test]\nrun = \"cargo test\"\n[[phase]]\nid = \"base\"\ngates = [\"test\"]\n",
        "x",
    )
    .unwrap();
    assert_eq!(r.project.name, "project");
    assert!(r.project.base_gates.is_empty());
    let g = &r.gates[0];
    assert_eq!(g.timeout, Duration::from_secs(600));
    assert_eq!(g.retries, 0);
    assert!(g.blocking);
    assert_eq!(g.fresh_for, None);
    assert_eq!(
        g.kind,
        GateKind::Run {
            command: "cargo test".into()
        }
    );
    assert_eq!(r.phases[0].title, "base");
}

#[test]
fn gates_keep_file_order_not_key_order() {
    let r = parse(
        &with_phase(
            "[gates.zeta]\nrun = \"z\"\n[gates.alpha]\nrun = \"a\"\n[gates.mid]\nrun = \"m\"\n",
        ),
        "x",
    )
    .unwrap();
    let ids: Vec<&str> = r.gates.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(ids, ["zeta", "alpha", "mid"]);
}

#[test]
fn every_field_is_read() {
    let src = r#"
version = 1
[project]
name = "shop"
base_gates = ["lint"]
secret_env = ["DEPLOY_TOKEN"]
markdown = "docs/ROADMAP.md"

[services.api]
run = "target/release/api --port {port}"
ready = { http = "http://127.0.0.1:{port}/health", within = "30s" }

[gates.fmt]
run = "cargo fmt --check"

[gates.lint]
title = "Clippy clean"
run = "cargo clippy -- -D warnings"
needs = ["fmt"]
inputs = ["**/*.rs", "Cargo.lock"]
timeout = "2m"
retries = 2
fresh_for = "30d"
service = "api"
blocking = false
env = { RUST_LOG = "info" }
cwd = "backend"
secret_env = ["X"]

[gates.headers]
probe = "headers"
services = ["api"]
path = "/"
expect = { status = 200, hsts = true, ratio = 0.5, list = [1, -2] }

[gates.go-live]
signoff = { roles = ["sre", "security"], approvals = 2 }

[[phase]]
id = "baseline"
title = "Baseline"
gates = ["fmt"]

[[phase]]
id = "launch"
after = ["baseline"]
gates = ["headers", "go-live"]
"#;
    let r = parse(src, "x").unwrap();
    assert_eq!(r.project.name, "shop");
    assert_eq!(r.project.base_gates[0].as_str(), "lint");
    assert_eq!(r.project.secret_env, ["DEPLOY_TOKEN"]);
    assert_eq!(r.project.markdown.as_deref(), Some("docs/ROADMAP.md"));
    let api = r.services.values().next().unwrap();
    assert_eq!(api.run, "target/release/api --port {port}");

    let lint = r.gate("lint").unwrap();
    assert_eq!(lint.title.as_deref(), Some("Clippy clean"));
    assert_eq!(lint.needs[0].as_str(), "fmt");
    assert_eq!(lint.inputs, ["**/*.rs", "Cargo.lock"]);
    assert_eq!(lint.timeout, Duration::from_secs(120));
    assert_eq!(lint.retries, 2);
    assert_eq!(lint.fresh_for, Some(Duration::from_secs(30 * 86400)));
    assert_eq!(lint.services[0].as_str(), "api");
    assert!(!lint.blocking);
    assert_eq!(lint.env["RUST_LOG"], "info");
    assert_eq!(lint.cwd.as_deref(), Some("backend"));
    assert_eq!(lint.secret_env, ["X"]);

    let GateKind::Probe { probe, params } = &r.gate("headers").unwrap().kind else {
        panic!("not a probe");
    };
    assert_eq!(probe, "headers");
    assert_eq!(
        serde_json::to_value(params).unwrap(),
        serde_json::json!({
            "path": "/",
            "expect": { "status": 200, "hsts": true, "ratio": 0.5, "list": [1, -2] }
        })
    );
    assert_eq!(r.gate("headers").unwrap().services[0].as_str(), "api");
    assert_eq!(
        r.gate("go-live").unwrap().kind,
        GateKind::Signoff {
            roles: vec!["sre".into(), "security".into()],
            approvals: 2
        }
    );
    assert_eq!(r.phases[1].after[0].as_str(), "baseline");
    assert_eq!(r.phases[1].title, "launch");
}

#[test]
fn a_syntax_error_is_the_only_problem() {
    let f = one("[gates.a]\nrun = \"x\nunknown = 1\n");
    assert!(f.message.starts_with("invalid TOML:"), "{f:?}");
}

#[test]
fn duplicate_table_keys_are_a_syntax_error() {
    let f = one("[gates.a]\nrun = \"x\"\n[gates.a]\nrun = \"y\"\n");
    assert!(f.message.contains("duplicate key"), "{f:?}");
}

#[test]
fn unknown_top_level_key_suggests() {
    let f = one("[[phases]]\nid = \"x\"\n[[phase]]\nid = \"p\"\n");
    assert_eq!(f.message, "unknown key `phases` at the top level");
    assert_eq!(help(&f), "did you mean `phase`?");
    assert_eq!(f.labelled, ["phases"]);
}

#[test]
fn unknown_keys_at_every_level() {
    let src = r#"
[project]
nmae = "x"
[services.api]
run = "x"
redy = "y"
[gates.a]
run = "x"
timout = "5m"
[gates.b]
signoff = { roles = ["sre"], aprovals = 1 }
[[phase]]
id = "p"
gate = ["a"]
"#;
    let all = problems(src);
    let got: Vec<(&str, &str)> = all.iter().map(|f| (f.message.as_str(), help(f))).collect();
    assert_eq!(
        got,
        [
            ("unknown key `nmae` in `[project]`", "did you mean `name`?"),
            (
                "unknown key `redy` in service `api`",
                "did you mean `ready`?"
            ),
            (
                "unknown key `timout` in gate `a`",
                "did you mean `timeout`?"
            ),
            (
                "unknown key `aprovals` in `signoff`",
                "did you mean `approvals`?"
            ),
            ("unknown key `gate` in phase `p`", "did you mean `gates`?"),
        ]
    );
}

#[test]
fn unknown_key_without_a_close_match_lists_the_keys() {
    let f = one("[project]\nzzz = 1\n[[phase]]\nid = \"p\"\n");
    assert_eq!(
        help(&f),
        "expected `name`, `base_gates`, `secret_env`, `markdown` or `partial`"
    );
}

#[test]
fn probe_gates_take_parameters_but_catch_misspelt_gate_keys() {
    let all = problems(&with_phase(
        "[gates.h]\nprobe = \"headers\"\npath = \"/\"\ntimout = \"1m\"\nneds = [\"x\"]\n",
    ));
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_eq!(all[0].message, "unknown key `timout` in gate `h`");
    assert!(help(&all[0]).starts_with("did you mean `timeout`?"));
    assert_eq!(all[1].labelled, ["neds"]);
    assert!(help(&all[1]).starts_with("did you mean `needs`?"));
}

#[test]
fn wrong_types_say_what_was_expected() {
    let src = r#"
[project]
name = 1
base_gates = "lint"
[gates.a]
run = "x"
title = ["t"]
blocking = "yes"
needs = ["b", 3]
env = { PORT = 8080 }
[gates.b]
run = "y"
[[phase]]
id = "p"
"#;
    let got: Vec<(String, String, String)> = problems(src)
        .into_iter()
        .map(|f| {
            let h = help(&f).to_owned();
            (f.message, f.labelled[0].clone(), h)
        })
        .collect();
    assert_eq!(got[0].0, "expected a string for `name`");
    assert_eq!(got[0].1, "1");
    assert_eq!(got[1].0, "expected an array of gate ids for `base_gates`");
    assert_eq!(got[2].0, "expected a string for `title`");
    assert_eq!(got[3].0, "expected `true` or `false` for `blocking`");
    assert_eq!(got[4].0, "expected a gate id (a string) in `needs`");
    assert_eq!(got[4].1, "3");
    assert_eq!(got[5].0, "expected a string for `env.PORT`");
    assert_eq!(
        got[5].2,
        "environment values are strings: quote it, `PORT = \"8080\"`"
    );
    assert_eq!(got.len(), 6);
}

#[test]
fn sections_must_be_tables() {
    let all = problems("gates = 1\nproject = \"x\"\n[[phase]]\nid = \"p\"\n");
    assert_eq!(all[0].message, "expected a table for `gates`");
    assert_eq!(all[1].message, "expected a table for `project`");
    let f = one("[gates]\nlint = \"cargo clippy\"\n[[phase]]\nid = \"p\"\n");
    assert_eq!(f.message, "expected a table for `gates.lint`");
    assert_eq!(help(&f), "write `[gates.lint]` followed by `run = \"...\"`");
}

#[test]
fn invalid_ids_are_labelled() {
    let src = r#"
[gates."has space"]
run = "x"
[gates.ok]
run = "y"
needs = ["-x"]
[[phase]]
id = "a/b"
"#;
    let all = problems(src);
    let got: Vec<(&str, &str)> = all
        .iter()
        .map(|f| (f.message.as_str(), f.labelled[0].as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("invalid gate id `has space`", "\"has space\""),
            ("invalid gate id `-x`", "\"-x\""),
            ("invalid phase id `a/b`", "\"a/b\""),
        ]
    );
    assert!(help(&all[0]).starts_with("ids start with"));
}

#[test]
fn a_gate_needs_exactly_one_kind() {
    let f = one(&with_phase("[gates.x]\ntitle = \"t\"\n"));
    assert_eq!(f.message, "gate `x` has no kind");
    assert_eq!(f.labelled, ["x"]);
    assert_eq!(
        help(&f),
        "add `run = \"...\"`, `probe = \"...\"` or `signoff = { roles = [...] }`"
    );

    let f = one(&with_phase("[gates.x]\nrun = \"a\"\nprobe = \"b\"\n"));
    assert_eq!(f.message, "gate `x` has 2 kinds: `run` and `probe`");
    assert_eq!(f.labelled, ["run", "probe"]);
}

#[test]
fn a_misspelt_kind_is_one_problem_not_two() {
    let f = one(&with_phase("[gates.x]\nrnu = \"cargo test\"\n"));
    assert_eq!(f.message, "unknown key `rnu` in gate `x`");
    assert_eq!(help(&f), "did you mean `run`?");
}

#[test]
fn empty_commands_are_refused() {
    let f = one(&with_phase("[gates.x]\nrun = \"  \"\n"));
    assert_eq!(f.message, "`run` is empty");
}

#[test]
fn undefined_references_suggest_a_defined_id() {
    let src = r#"
[project]
base_gates = ["lnt"]
[services.api]
run = "x"
[gates.lint]
run = "x"
needs = ["zzz"]
service = "apj"
[gates.test]
run = "y"
services = ["db"]
[[phase]]
id = "baseline"
gates = ["tset"]
[[phase]]
id = "launch"
after = ["baselin", "nothing-like-it"]
"#;
    let got: Vec<(String, String, String)> = problems(src)
        .into_iter()
        .map(|f| {
            let h = help(&f).to_owned();
            (f.message, f.labelled[0].clone(), h)
        })
        .collect();
    let expect = [
        (
            "undefined gate `lnt` in `base_gates`",
            "\"lnt\"",
            "did you mean `lint`?",
        ),
        (
            "undefined gate `zzz` in `needs`",
            "\"zzz\"",
            "define it with a `[gates.zzz]` section",
        ),
        (
            "undefined service `apj` in `services`",
            "\"apj\"",
            "did you mean `api`?",
        ),
        (
            "undefined service `db` in `services`",
            "\"db\"",
            "define it with a `[services.db]` section",
        ),
        (
            "undefined gate `tset` in `gates`",
            "\"tset\"",
            "did you mean `test`?",
        ),
        (
            "undefined phase `baselin` in `after`",
            "\"baselin\"",
            "did you mean `baseline`?",
        ),
        (
            "undefined phase `nothing-like-it` in `after`",
            "\"nothing-like-it\"",
            "define it with a `[[phase]]` section with `id = \"nothing-like-it\"`",
        ),
    ];
    let got: Vec<(&str, &str, &str)> = got
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
        .collect();
    assert_eq!(got, expect);
}

#[test]
fn service_and_services_are_exclusive() {
    let f = one(&with_phase(
        "[services.a]\nrun = \"x\"\n[gates.g]\nrun = \"x\"\nservice = \"a\"\nservices = [\"a\"]\n",
    ));
    assert_eq!(f.message, "gate `g` has both `service` and `services`");
    assert_eq!(f.labelled, ["services", "service"]);
}

#[test]
fn a_service_needs_run() {
    let f = one(&with_phase("[services.db]\nready = { tcp = 5432 }\n"));
    assert_eq!(f.message, "service `db` has no `run`");
    assert_eq!(f.labelled, ["db"]);
}

#[test]
fn duplicate_phase_ids_label_both() {
    let f = one("[[phase]]\nid = \"a\"\n[[phase]]\nid = \"a\"\n");
    assert_eq!(f.message, "duplicate phase id `a`");
    assert_eq!(f.labelled, ["\"a\"", "\"a\""]);
}

#[test]
fn duplicate_phase_ids_point_at_the_second_then_the_first() {
    let src = "[[phase]]\nid = \"a\"\ntitle = \"one\"\n[[phase]]\nid = \"a\"\n";
    let err = parse(src, "x").unwrap_err();
    let p = err.iter().next().unwrap();
    let spans = p.spans();
    assert!(spans[0].start > spans[1].start, "{spans:?}");
    assert_eq!(p.help_text(), Some("give each phase its own id"));
}

#[test]
fn duplicates_within_a_list() {
    let f = one(&with_phase(
        "[gates.a]\nrun = \"x\"\n[gates.b]\nrun = \"x\"\nneeds = [\"a\", \"a\"]\n",
    ));
    assert_eq!(f.message, "`a` is listed twice in `needs`");
    assert_eq!(f.labelled, ["\"a\"", "\"a\""]);
}

#[test]
fn a_needs_cycle_is_reported_once_naming_every_member() {
    let src = with_phase(
        "[gates.a]\nrun = \"x\"\nneeds = [\"b\"]\n[gates.b]\nrun = \"x\"\nneeds = [\"c\"]\n[gates.c]\nrun = \"x\"\nneeds = [\"a\"]\n",
    );
    let f = one(&src);
    assert_eq!(f.message, "cycle in `needs`: a → b → c → a");
    assert_eq!(f.labelled, ["\"b\"", "\"c\"", "\"a\""]);
}

#[test]
fn a_gate_needing_itself_is_a_cycle() {
    let f = one(&with_phase("[gates.a]\nrun = \"x\"\nneeds = [\"a\"]\n"));
    assert_eq!(f.message, "cycle in `needs`: a → a");
    assert_eq!(help(&f), "remove `a` from its own `needs`");
}

#[test]
fn two_separate_cycles_are_two_problems() {
    let all = problems(&with_phase(
        "[gates.a]\nrun = \"x\"\nneeds = [\"b\"]\n[gates.b]\nrun = \"x\"\nneeds = [\"a\"]\n\
         [gates.c]\nrun = \"x\"\nneeds = [\"d\"]\n[gates.d]\nrun = \"x\"\nneeds = [\"c\"]\n",
    ));
    let got: Vec<&str> = all.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(
        got,
        ["cycle in `needs`: a → b → a", "cycle in `needs`: c → d → c"]
    );
}

#[test]
fn an_after_cycle_is_reported() {
    let f = one(
        "[[phase]]\nid = \"x\"\nafter = [\"z\"]\n[[phase]]\nid = \"y\"\nafter = [\"x\"]\n[[phase]]\nid = \"z\"\nafter = [\"y\"]\n",
    );
    assert_eq!(f.message, "cycle in `after`: x → z → y → x");
    assert_eq!(f.labelled, ["\"z\"", "\"y\"", "\"x\""]);
}

#[test]
fn durations_are_checked() {
    let all = problems(&with_phase(
        "[gates.a]\nrun = \"x\"\ntimeout = \"5 lightyears\"\nfresh_for = \"soon\"\n\
         [gates.b]\nrun = \"x\"\ntimeout = \"0s\"\n[gates.c]\nrun = \"x\"\ntimeout = 600\n",
    ));
    let got: Vec<(&str, &str)> = all
        .iter()
        .map(|f| (f.message.as_str(), f.labelled[0].as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "invalid duration `5 lightyears` for `timeout`",
                "\"5 lightyears\""
            ),
            ("invalid duration `soon` for `fresh_for`", "\"soon\""),
            ("`timeout` must be longer than zero", "\"0s\""),
            ("expected a duration for `timeout`", "600"),
        ]
    );
    assert_eq!(
        help(&all[0]),
        "expected a number with a unit, e.g. `30s`, `10m`, `2h`, `30d`"
    );
}

#[test]
fn retries_are_non_negative_integers() {
    let all = problems(&with_phase(
        "[gates.a]\nrun = \"x\"\nretries = -1\n[gates.b]\nrun = \"x\"\nretries = 1.5\n\
         [gates.c]\nrun = \"x\"\nretries = 99999999999\n[gates.d]\nrun = \"x\"\nretries = \"2\"\n",
    ));
    let got: Vec<&str> = all.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(
        got,
        [
            "`retries` cannot be negative",
            "expected a whole number for `retries`",
            "`retries` is too large",
            "expected a whole number for `retries`",
        ]
    );
}

#[test]
fn signoff_rules() {
    let r = parse(
        &with_phase("[gates.s]\nsignoff = { roles = [\"sre\"] }\n"),
        "x",
    )
    .unwrap();
    assert_eq!(
        r.gates[0].kind,
        GateKind::Signoff {
            roles: vec!["sre".into()],
            approvals: 1
        }
    );
    let f = one(&with_phase(
        "[gates.s]\nsignoff = { roles = [\"sre\", \"security\"], approvals = 3 }\n",
    ));
    assert_eq!(f.message, "`signoff.approvals` must be between 1 and 2");
    assert_eq!(f.labelled, ["3"]);
    let f = one(&with_phase(
        "[gates.s]\nsignoff = { roles = [\"sre\"], approvals = 0 }\n",
    ));
    assert_eq!(f.message, "`signoff.approvals` must be between 1 and 1");
    let f = one(&with_phase("[gates.s]\nsignoff = { approvals = 1 }\n"));
    assert_eq!(f.message, "`signoff` has no `roles`");
    let f = one(&with_phase("[gates.s]\nsignoff = { roles = [] }\n"));
    assert_eq!(f.message, "`signoff.roles` is empty");
    let f = one(&with_phase("[gates.s]\nsignoff = \"sre\"\n"));
    assert_eq!(f.message, "expected a table for `signoff`");
}

#[test]
fn a_roadmap_needs_a_phase() {
    let f = one("[gates.a]\nrun = \"x\"\n");
    assert_eq!(f.message, "the roadmap has no phases");
    assert!(help(&f).contains("[[phase]]\nid = \"baseline\""));
    let f = one("phase = []\n");
    assert_eq!(f.labelled, ["[]"]);
    let f = one("[phase]\nid = \"x\"\n");
    assert_eq!(f.message, "expected an array of tables for `phase`");
    let f = one("[[phase]]\ntitle = \"t\"\n");
    assert_eq!(f.message, "phase has no `id`");
    assert_eq!(f.labelled, ["[[phase]]"]);
}

#[test]
fn env_names_are_checked() {
    let all = problems(&with_phase(
        "[project]\nsecret_env = [\"OK_1\", \"1BAD\"]\n[gates.a]\nrun = \"x\"\nenv = { \"A-B\" = \"x\" }\n",
    ));
    let got: Vec<&str> = all.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(
        got,
        [
            "invalid environment variable name `1BAD` in `secret_env`",
            "invalid environment variable name `A-B`",
        ]
    );
}

#[test]
fn the_version_is_checked() {
    assert!(parse("version = 1\n[[phase]]\nid = \"p\"\n", "x").is_ok());
    let f = one("version = 2\n[[phase]]\nid = \"p\"\n");
    assert_eq!(f.message, "unsupported roadmap format version 2");
}

#[test]
fn problems_come_in_file_order() {
    // The cycle is found last but its first reference is early in the file.
    let src = "[gates.a]\nrun = \"x\"\nneeds = [\"b\"]\n[gates.b]\nrun = \"x\"\nneeds = [\"a\"]\ntimeout = \"x\"\n[[phase]]\nid = \"p\"\nbad = 1\n";
    let err = parse(src, "x").unwrap_err();
    let offsets: Vec<usize> = err.iter().map(Problem::offset).collect();
    let mut sorted = offsets.clone();
    sorted.sort_unstable();
    assert_eq!(offsets, sorted);
    assert_eq!(err.problems(), 3);
}

#[test]
fn the_summary_counts_problems() {
    let err = parse("[gates.a]\nrun = 1\n", "road.toml").unwrap_err();
    assert_eq!(err.to_string(), "`road.toml` has 2 errors");
    let err = parse("x = 1\n[[phase]]\nid = \"p\"\n", "road.toml").unwrap_err();
    assert_eq!(err.to_string(), "`road.toml` has 1 error");
}

#[test]
fn the_documented_example_parses() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/roadmap-format.md"
    ))
    .unwrap();
    let start = doc.find("```toml\n").unwrap() + "```toml\n".len();
    let example = &doc[start..start + doc[start..].find("```").unwrap()];
    let r = match parse(example, "roadmap-format.md") {
        Ok(r) => r,
        Err(e) => panic!("{}", phasegate_roadmap::render_plain(&e)),
    };
    assert_eq!(r.gates.len(), 6);
    assert_eq!(
        r.gate("perf").unwrap().schedule.every,
        Some(Duration::from_secs(24 * 3600))
    );
    assert_eq!(r.phases.len(), 2);
    assert_eq!(r.services.len(), 2);
}

#[test]
fn the_quickstart_roadmap_parses() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/quickstart/phasegate.toml"
    );
    if let Err(e) = phasegate_roadmap::load(std::path::Path::new(path)) {
        panic!("{}", phasegate_roadmap::render_plain(&e));
    }
}

#[test]
fn services_carry_readiness_environment_and_url() {
    let r = parse(
        r#"[services.api]
run = "./api --port {port}"
env = { MODE = "test" }
ready = { http = "http://127.0.0.1:{port}/ready", within = "5s" }
stop = "./api-stop"

[services.db]
run = "postgres -p {port}"
ready = { tcp = "{port}" }
url = "postgres://127.0.0.1:{port}/app"

[gates.smoke]
probe = "http"
service = "api"

[gates.staging]
probe = "headers"
base_url = "https://staging.example.com"

[[phase]]
id = "p"
gates = ["smoke", "staging"]
"#,
        "x",
    )
    .unwrap();
    let api = &r.services.values().next().unwrap();
    assert_eq!(
        api.ready,
        Some(phasegate_model::Ready::Http(
            "http://127.0.0.1:{port}/ready".into()
        ))
    );
    assert_eq!(api.ready_within, Duration::from_secs(5));
    assert_eq!(api.env["MODE"], "test");
    assert_eq!(api.stop.as_deref(), Some("./api-stop"));
    assert_eq!(api.url, "http://127.0.0.1:{port}");
    let db = r.services.values().nth(1).unwrap();
    assert_eq!(db.ready, Some(phasegate_model::Ready::Tcp("{port}".into())));
    assert_eq!(db.ready_within, Duration::from_secs(30));
    assert_eq!(db.url, "postgres://127.0.0.1:{port}/app");
    assert_eq!(
        r.gate("staging").unwrap().base_url.as_deref(),
        Some("https://staging.example.com")
    );
}

#[test]
fn readiness_mistakes_are_reported() {
    let f = one(&with_phase(
        "[services.api]\nrun = \"x\"\nready = { htp = \"http://x\" }\n",
    ));
    assert!(f.message.contains("unknown key `htp`"), "{f:#?}");
    let all = problems(&with_phase(
        "[services.api]\nrun = \"x\"\nready = { http = \"http://x\", tcp = 1, within = \"soon\" }\n",
    ));
    let messages: Vec<&str> = all.iter().map(|f| f.message.as_str()).collect();
    assert!(
        messages.iter().any(|m| m.contains("both `http` and `tcp`")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("invalid duration `soon`")),
        "{messages:?}"
    );
}

#[test]
fn a_probe_gate_needs_a_target() {
    let f = one(&with_phase("[gates.h]\nprobe = \"headers\"\n"));
    assert_eq!(f.message, "probe gate `h` has no target");
    assert!(help(&f).contains("base_url"));
}

#[test]
fn the_probe_validator_reports_at_the_parameter() {
    let src = with_phase("[gates.h]\nprobe = \"headers\"\nbase_url = \"http://x\"\npaths = 3\n");
    let validate = |_: &str, params: &std::collections::BTreeMap<String, serde_json::Value>| {
        params
            .get("paths")
            .filter(|v| !v.is_array())
            .map(|_| {
                (
                    Some("paths".to_owned()),
                    "expected an array of paths".to_owned(),
                )
            })
            .into_iter()
            .collect()
    };
    let rules = phasegate_roadmap::ProbeRules {
        validate: &validate,
        reads_files: &|_| false,
        coverage: &|_| None,
    };
    let err = phasegate_roadmap::parse_with(&src, "x", Some(rules)).unwrap_err();
    let f = found(&src, err.iter().next().unwrap());
    assert_eq!(f.message, "invalid parameter `paths` for probe `headers`");
    assert_eq!(f.labelled, ["paths = 3"]);
}

#[test]
fn trust_and_roles_are_read() {
    let r = parse(
        &with_phase(
            "[trust]\nallowed_signers = \".signers\"\nrun_signers = [\"ci@x\"]\n[roles]\nsre = [\"a@x\", \"b@x\"]\n[gates.s]\nsignoff = { roles = [\"sre\"], approvals = 2 }\n",
        ),
        "x",
    )
    .unwrap();
    let trust = r.trust.expect("[trust]");
    assert_eq!(trust.allowed_signers, ".signers");
    assert_eq!(trust.run_signers, ["ci@x"]);
    assert_eq!(r.roles["sre"], ["a@x", "b@x"]);
    assert!(
        parse(&with_phase("[gates.a]\nrun = \"x\"\n"), "x")
            .unwrap()
            .trust
            .is_none()
    );
}

#[test]
fn trust_rules() {
    let f = one(&with_phase("[trust]\nrun_signers = [\"ci@x\"]\n"));
    assert_eq!(f.message, "`[trust]` has no `allowed_signers`");
    let f = one(&with_phase(
        "[trust]\nallowed_signers = \"s\"\nrun_signers = []\n",
    ));
    assert_eq!(f.message, "`run_signers` is empty");
    assert_eq!(f.labelled, ["[]"]);
    let f = one(&with_phase(
        "[trust]\nallowed_signers = \"s\"\nrunsigners = [\"a\"]\n",
    ));
    assert_eq!(f.message, "unknown key `runsigners` in `[trust]`");
    assert!(help(&f).contains("did you mean `run_signers`"));
    let f = one(&with_phase("[roles]\nsre = [\"a@x\"]\n"));
    assert_eq!(f.message, "`[roles]` without `[trust]`");
    let f = one(&with_phase(
        "[trust]\nallowed_signers = \"s\"\n[gates.s]\nsignoff = { roles = [\"sre\"] }\n",
    ));
    assert_eq!(
        f.message,
        "gate `s` may be approved by role `sre`, which `[roles]` does not define"
    );
    assert_eq!(f.labelled, ["s"]);
    let f = one(&with_phase(
        "[trust]\nallowed_signers = \"s\"\n[roles]\nsre = [\"a@x\"]\n[gates.s]\nsignoff = { roles = [\"sre\"], approvals = 2 }\n",
    ));
    assert_eq!(
        f.message,
        "gate `s` needs 2 approvals, but only 1 person holds its roles"
    );
}

const WAIVABLE: &str = r#"
[gates.perf]
run = "true"

[gates.load]
run = "true"

[gates.release]
signoff = { roles = ["cto"] }
"#;

#[test]
fn waiver_rules_are_read_with_their_defaults() {
    let r = parse(
        &with_phase(&format!(
            "{WAIVABLE}\n[[waiver]]\ngates = [\"perf\", \"load\"]\nroles = [\"cto\"]\nmax = \
             \"14d\"\n\n[[waiver]]\ngates = [\"*\"]\nroles = [\"cto\", \"cfo\"]\nmax = \
             \"1h\"\napprovals = 2\n"
        )),
        "x",
    )
    .unwrap();
    assert_eq!(r.waivers.len(), 2);
    let (first, every) = (&r.waivers[0], &r.waivers[1]);
    assert!(!first.every_gate);
    let named: Vec<&str> = first.gates.iter().map(|g| g.as_str()).collect();
    assert_eq!(named, ["perf", "load"]);
    assert_eq!(first.max, Duration::from_secs(14 * 24 * 3600));
    assert_eq!(first.approvals, 1);
    assert!(every.every_gate && every.gates.is_empty());
    assert_eq!(every.approvals, 2);
    // `"*"` leaves sign-off gates out.
    let release = r.gate("release").unwrap();
    assert_eq!(r.waiver_rules(release).count(), 0);
    assert_eq!(r.waiver_rules(r.gate("perf").unwrap()).count(), 2);
}

#[test]
fn a_waiver_rule_with_an_unknown_gate_a_bad_duration_or_zero_approvals_is_refused() {
    let found = problems(&with_phase(&format!(
        "{WAIVABLE}\n[[waiver]]\ngates = [\"pref\"]\nroles = [\"cto\"]\nmax = \"2 \
         fortnights\"\napprovals = 0\nrole = \"x\"\n\n[[waiver]]\ngates = [\"perf\"]\n"
    )));
    let messages: Vec<&str> = found.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "undefined gate `pref` in `gates`",
            "invalid duration `2 fortnights` for `max`",
            "`approvals` must be at least 1",
            "unknown key `role` in `[[waiver]]`",
            "`[[waiver]]` has no `roles`",
            "`[[waiver]]` has no `max`",
        ]
    );
    assert_eq!(found[0].labelled, ["\"pref\""]);
    assert_eq!(help(&found[0]), "did you mean `perf`?");
    assert_eq!(found[2].labelled, ["0"]);
    assert_eq!(help(&found[3]), "did you mean `roles`?");
}

#[test]
fn fail_on_is_a_severity_of_probe_gates() {
    let r = parse(
        &with_phase(
            "[gates.h]\nprobe = \"headers\"\nbase_url = \"http://x\"\nfail_on = \"high\"\n",
        ),
        "x",
    )
    .unwrap();
    assert_eq!(r.gates[0].fail_on, phasegate_model::Severity::High);
    let f = one(&with_phase(
        "[gates.h]\nprobe = \"headers\"\nbase_url = \"http://x\"\nfail_on = \"severe\"\n",
    ));
    assert_eq!(f.message, "unknown severity `severe` for `fail_on`");
    assert_eq!(f.labelled, ["\"severe\""]);
    let f = one(&with_phase(
        "[gates.r]\nrun = \"true\"\nfail_on = \"low\"\n",
    ));
    assert_eq!(
        f.message,
        "`fail_on` on gate `r`, which is not a probe gate"
    );
}

#[test]
fn cache_is_a_boolean_inputs_hold_globs_and_variables_and_sign_offs_are_never_cached() {
    let r = parse(
        &with_phase(
            "[gates.t]\nrun = \"true\"\ninputs = [\"src/**\", \"!src/gen/**\", \"$MODE\"]\ncache = false\n",
        ),
        "x",
    )
    .unwrap();
    let t = &r.gates[0];
    assert_eq!(t.cache, Some(false));
    assert_eq!(
        t.input_globs().collect::<Vec<_>>(),
        ["src/**", "!src/gen/**"]
    );
    assert_eq!(
        t.cache_vars(&r.project).into_iter().collect::<Vec<_>>(),
        ["MODE"]
    );
    assert!(!t.is_cacheable());

    let f = one(&with_phase(
        "[gates.s]\nsignoff = { roles = [\"sre\"] }\ncache = true\n",
    ));
    assert_eq!(f.message, "`cache = true` on gate `s`, a sign-off gate");
    assert_eq!(f.labelled, ["cache"]);
    let f = one(&with_phase("[gates.t]\nrun = \"true\"\ncache = \"yes\"\n"));
    assert!(f.message.contains("`cache`"), "{}", f.message);
    let f = one(&with_phase(
        "[gates.t]\nrun = \"true\"\ninputs = [\"$1BAD\"]\n",
    ));
    assert_eq!(f.message, "invalid variable `$1BAD` in `inputs`");
    let f = one(&with_phase(
        "[gates.t]\nrun = \"true\"\ninputs = [\"src/[\"]\n",
    ));
    assert_eq!(f.message, "invalid glob `src/[` in `inputs`");
    let f = one(&with_phase(
        "[gates.t]\nrun = \"true\"\ninputs = [\"../shared/**\"]\n",
    ));
    assert_eq!(
        f.message,
        "`../shared/**` in `inputs` leaves the roadmap's directory"
    );
    let f = one(&with_phase("[gates.t]\nrun = \"true\"\ncahce = true\n"));
    assert_eq!(help(&f), "did you mean `cache`?");
}

#[test]
fn schedules_are_durations_and_a_phase_gives_its_own_to_its_gates() {
    let src = "[gates.a]\nrun = \"x\"\nevery = \"24h\"\n[gates.b]\nrun = \"x\"\n[gates.c]\nrun = \"x\"\n\
               [[phase]]\nid = \"p\"\ngates = [\"a\", \"b\"]\nevery = \"1h\"\ncooldown = \"10m\"\n\
               [[phase]]\nid = \"q\"\ngates = [\"c\"]\n";
    let r = parse(src, "phasegate.toml").unwrap();
    let s = |id: &str| r.gate(id).unwrap().schedule.clone();
    let h = |n: u64| Some(Duration::from_secs(n * 3600));
    assert_eq!(
        (s("a").every, s("a").cooldown),
        (h(24), Some(Duration::from_secs(600)))
    );
    assert_eq!(
        (s("b").every, s("b").cooldown),
        (h(1), Some(Duration::from_secs(600)))
    );
    assert!(s("c").is_empty());
    // When a gate runs is not what it checks: its evidence stays current.
    let plain = parse(&src.replace("every = \"24h\"\n", ""), "phasegate.toml").unwrap();
    assert_eq!(
        r.gate("a").unwrap().digest(),
        plain.gate("a").unwrap().digest()
    );
}

#[test]
fn schedule_keys_are_checked() {
    let all = problems(
        "[gates.a]\nrun = \"x\"\nevery = \"nightly\"\n[gates.s]\nsignoff = { roles = [\"sre\"] }\ncooldown = \"1h\"\n\
         [gates.c]\nrun = \"x\"\ncron = \"0 25 * * *\"\n[gates.d]\nrun = \"x\"\ncron = \"0 3 * * *\"\ntimezone = \"Mars/Olympus\"\n\
         [gates.e]\nrun = \"x\"\nevery = \"1h\"\ncron = \"0 3 * * *\"\n[gates.f]\nrun = \"x\"\ntimezone = \"UTC\"\n\
         [[phase]]\nid = \"p\"\ngates = [\"a\", \"s\", \"c\", \"d\", \"e\", \"f\"]\ncooldown = 5\n",
    );
    let got: Vec<(&str, &str)> = all
        .iter()
        .map(|f| (f.message.as_str(), f.labelled[0].as_str()))
        .collect();
    assert_eq!(got.len(), 7, "{all:#?}");
    assert_eq!(
        got[0],
        ("invalid duration `nightly` for `every`", "\"nightly\"")
    );
    assert_eq!(
        got[1],
        ("`cooldown` on gate `s`, a sign-off gate", "cooldown")
    );
    assert!(
        got[2]
            .0
            .starts_with("invalid cron expression `0 25 * * *`: "),
        "{got:?}"
    );
    assert_eq!(got[2].1, "\"0 25 * * *\"");
    assert_eq!(
        got[3],
        ("unknown time zone `Mars/Olympus`", "\"Mars/Olympus\"")
    );
    assert_eq!(got[4], ("both `every` and `cron` in gate `e`", "cron"));
    assert_eq!(all[4].labelled[1], "every");
    assert_eq!(
        got[5],
        ("`timezone` without `cron` in gate `f`", "timezone")
    );
    assert_eq!(got[6], ("expected a duration for `cooldown`", "5"));
}

#[test]
fn a_cron_schedule_is_read_in_its_time_zone_utc_by_default() {
    let r = parse(
        &with_phase(
            "[gates.a]\nrun = \"x\"\ncron = \"0 3 * * *\"\ntimezone = \"Europe/Paris\"\n\
             [gates.b]\nrun = \"x\"\ncron = \"*/10 * * * * *\"\n",
        ),
        "phasegate.toml",
    )
    .unwrap();
    let cron = |id: &str| r.gate(id).unwrap().schedule.cron.clone().unwrap();
    assert_eq!(
        (cron("a").expr.as_str(), cron("a").zone.as_str()),
        ("0 3 * * *", "Europe/Paris")
    );
    assert_eq!(
        (cron("b").expr.as_str(), cron("b").zone.as_str()),
        ("*/10 * * * * *", "UTC")
    );
}

/// The roadmap checked with `health` knowing its rules, as the engine checks it.
fn with_rules(src: &str) -> Result<phasegate_model::Roadmap, RoadmapError> {
    let coverage = |kind: &str| -> Option<&'static [&'static str]> {
        (kind == "health").then_some(&["live", "ready", "dependency", "recovery"][..])
    };
    let rules = phasegate_roadmap::ProbeRules {
        validate: &|_, _| Vec::new(),
        reads_files: &|_| false,
        coverage: &coverage,
    };
    phasegate_roadmap::parse_with(src, "x", Some(rules))
}

#[test]
fn require_names_rules_of_the_probe_and_an_unknown_one_is_located() {
    let gate = "[gates.h]\nprobe = \"health\"\nbase_url = \"http://x\"\n";
    let r = with_rules(&with_phase(&format!("{gate}require = [\"dependency\"]\n"))).unwrap();
    assert_eq!(r.gates[0].require, ["dependency"]);
    let src = with_phase(&format!("{gate}require = [\"live\", \"dependancy\"]\n"));
    let err = with_rules(&src).unwrap_err();
    assert_eq!(err.problems(), 1);
    let f = found(&src, err.iter().next().unwrap());
    assert_eq!(
        f.message,
        "unknown rule `dependancy` in `require` of probe `health`"
    );
    assert_eq!(f.labelled, ["\"dependancy\""]);
    assert_eq!(
        help(&f),
        "did you mean `dependency`? the rules of `health` are `live`, `ready`, `dependency` and `recovery`"
    );
}

#[test]
fn require_and_partial_belong_to_probe_gates_only() {
    let f = one(&with_phase("[gates.a]\nrun = \"x\"\nrequire = [\"y\"]\n"));
    assert_eq!(
        f.message,
        "`require` on gate `a`, which is not a probe gate"
    );
    assert_eq!(f.labelled, ["require"]);
    let f = one(&with_phase("[gates.a]\nrun = \"x\"\npartial = \"fail\"\n"));
    assert_eq!(
        f.message,
        "`partial` on gate `a`, which is not a probe gate"
    );
    let f = one(&with_phase(
        "[gates.h]\nprobe = \"health\"\nbase_url = \"http://x\"\npartial = \"strict\"\n",
    ));
    assert_eq!(f.message, "unknown value `strict` for `partial`");
    assert_eq!(f.labelled, ["\"strict\""]);
}

#[test]
fn partial_comes_from_the_gate_else_its_strictest_phase_else_the_project() {
    use phasegate_model::Partial;
    let src = "[project]\npartial = \"fail\"\n\
        [gates.own]\nprobe = \"health\"\nbase_url = \"http://x\"\npartial = \"pass\"\n\
        [gates.phased]\nprobe = \"health\"\nbase_url = \"http://x\"\n\
        [gates.free]\nprobe = \"health\"\nbase_url = \"http://x\"\n\
        [gates.cmd]\nrun = \"true\"\n\
        [[phase]]\nid = \"a\"\ngates = [\"phased\"]\npartial = \"pass\"\n\
        [[phase]]\nid = \"b\"\ngates = [\"phased\", \"own\", \"cmd\"]\npartial = \"fail\"\n\
        [[phase]]\nid = \"c\"\ngates = [\"free\"]\n";
    let r = parse(src, "x").unwrap();
    let of = |id: &str| r.gate(id).unwrap().partial;
    assert_eq!(of("own"), Partial::Pass);
    assert_eq!(of("phased"), Partial::Fail);
    assert_eq!(of("free"), Partial::Fail);
    // A command gate records no coverage: its definition (and digest) stays as it was.
    assert_eq!(of("cmd"), Partial::Pass);
    let relaxed = parse(&src.replace("[project]\npartial = \"fail\"\n", ""), "x").unwrap();
    assert_eq!(relaxed.gate("free").unwrap().partial, Partial::Pass);
}

#[test]
fn todo_is_kept_and_an_empty_one_is_refused() {
    let r = parse(
        &with_phase("[gates.a]\nrun = \"x\"\ntodo = \"fill in: fault, restore\"\n"),
        "x",
    )
    .unwrap();
    assert_eq!(r.gates[0].todo.as_deref(), Some("fill in: fault, restore"));
    let f = one(&with_phase("[gates.a]\nrun = \"x\"\ntodo = \" \"\n"));
    assert_eq!(f.message, "`todo` is empty");
}
