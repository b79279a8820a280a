//! Import honesty, over every mapping rule of the importer: each item maps to the probe that
//! tests its claim (or, for a workflow, to a sign-off), and the gate drafted from it,
//! completed only with a target, never passes against a sample service that violates the
//! claim: it stays `missing` while its `todo` lists what the claim still needs, and fails
//! on its `require` when the `todo` is deleted without giving them.

use crate::harness::{Project, flat};

/// One item per mapping rule: its text, the probe it must map to (`None`: a sign-off), and
/// the sample-service flaw that violates its claim.
const ITEMS: &[(&str, Option<&str>, &str)] = &[
    (
        "Readiness reflects the database dependency",
        Some("health"),
        "ready-ignores-db",
    ),
    (
        "Secure headers are present in production",
        Some("headers"),
        "no-hsts",
    ),
    (
        "CSP headers allow no inline script",
        Some("headers"),
        "csp-unsafe-inline",
    ),
    (
        "CORS allowlist rejects foreign origins",
        Some("cors"),
        "cors-any-origin",
    ),
    (
        "Every response carries an X-Request-Id",
        Some("request-id"),
        "no-request-id",
    ),
    (
        "Prometheus metrics are scrapeable",
        Some("metrics"),
        "metrics-missing",
    ),
    (
        "Sign-in is rate limited with 429",
        Some("rate-limit"),
        "no-rate-limit",
    ),
    (
        "Strict DTO rejects unknown fields",
        Some("strict-input"),
        "dto-accepts-unknown",
    ),
    (
        "Admin routes enforce access control",
        Some("rbac"),
        "rbac-admin-open",
    ),
    (
        "Webhook replay has no second effect",
        Some("webhook"),
        "webhook-replay",
    ),
    (
        "Idempotency key prevents duplicate payments",
        Some("idempotency"),
        "idempotency-ignored",
    ),
    (
        "Expired download tokens are refused",
        Some("token"),
        "token-never-expires",
    ),
    (
        "Graceful shutdown drains in-flight requests",
        Some("shutdown"),
        "shutdown-drops-requests",
    ),
    (
        "Landing page p95 under 50 ms",
        Some("load"),
        "slow-endpoint",
    ),
    (
        "`GET /api/v1/subscription` returns 200 for a member",
        Some("http"),
        "rbac-admin-open",
    ),
    // Workflows: no probe of the running service tests them.
    ("Failed readiness triggers rollback", None, ""),
    ("Smoke failures block promotion", None, ""),
];

/// One item per probe of the project's files: its text, the probe, and a file (path,
/// content) that violates its claim, written into the project the gate reads.
const FILE_ITEMS: &[(&str, &str, &str, &str)] = &[
    (
        "No secrets are committed to the repository",
        "secrets",
        "settings.py",
        "DATABASE_URL = \"postgres://app:Zq8vR2mX7pL4wT9k@db.internal:5432/app\"\n",
    ),
    (
        "Zero open critical vulnerabilities in dependencies",
        "advisories",
        "Cargo.lock",
        "version = 4\n\n[[package]]\nname = \"time\"\nversion = \"0.1.0\"\n",
    ),
    (
        "Migrations are forward-only",
        "migrations",
        "migrations/0001_init.sql",
        "CREATE TABLE t (id INTEGER);\n",
    ),
    (
        "CI scripts do not allow lint failure with || true",
        "ci-tolerance",
        ".github/workflows/ci.yml",
        "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: cargo clippy || true\n",
    ),
    (
        "Remove drift between docs, tasks and runtime status",
        "docs-drift",
        "README.md",
        "# App\n\nRun `make deploy`, then read [the guide](docs/missing.md).\n",
    ),
    (
        "Local-first: no mandatory external dependency",
        "local-first",
        ".env.example",
        "PAYMENTS_URL=https://api.stripe.com/v1\n",
    ),
];

fn document() -> String {
    let mut doc = String::from("# Honest import\n\n## M1 Launch\n\n");
    for (text, _, _) in ITEMS {
        doc.push_str(&format!("- [ ] {text}\n"));
    }
    for (text, _, _, _) in FILE_ITEMS {
        doc.push_str(&format!("- [ ] {text}\n"));
    }
    doc
}

/// The drafted roadmap with each probe gate's placeholder target replaced by the sample
/// service, and that service running with every flaw the items name.
fn completed_with_a_target(draft: &str) -> String {
    let flaws: Vec<String> = ITEMS
        .iter()
        .filter(|(_, _, f)| !f.is_empty())
        .map(|(_, _, f)| format!("--flaw {f}"))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let service = format!(
        "\n[services.api]\nrun = '\"$PHASEGATE_EXE\" sample-service --port {{port}} --db m.db {}'\nready = {{ http = \"http://127.0.0.1:{{port}}/health/live\", within = \"30s\" }}\n",
        flaws.join(" ")
    );
    let mut out = String::new();
    for line in draft.lines() {
        if line.starts_with("base_url = \"https://staging.example.invalid\"") {
            out.push_str("service = \"api\"\n");
        } else {
            out.push_str(line);
            out.push('\n');
            if line.starts_with("markdown = ") {
                out.push_str(&service);
            }
        }
    }
    out
}

#[test]
fn every_mapping_rule_drafts_a_gate_that_cannot_pass_on_a_violating_service() {
    let p = Project::new("");
    std::fs::remove_file(p.file("phasegate.toml")).unwrap();
    std::fs::write(p.file("ROADMAP.md"), document()).unwrap();
    let r = p.run(&["import", "ROADMAP.md"]);
    assert_eq!(r.code, 0, "{r:?}");
    let draft = std::fs::read_to_string(p.file("phasegate.toml")).unwrap();

    // Each item maps as the table says.
    let mapped: Vec<(String, Option<String>, String)> = draft
        .split("\n[gates.")
        .skip(1)
        .map(|g| {
            let field = |key: &str| {
                g.lines()
                    .find_map(|l| l.strip_prefix(key))
                    .map(|v| v.trim().trim_matches('"').to_owned())
            };
            let id = g.split(']').next().unwrap().to_owned();
            (field("item = ").unwrap(), field("probe = "), id)
        })
        .collect();
    for (text, probe, _) in ITEMS {
        let found = mapped.iter().find(|(item, _, _)| item == text).unwrap();
        assert_eq!(found.1.as_deref(), *probe, "{text}:\n{draft}");
    }
    for (text, probe, _, _) in FILE_ITEMS {
        let found = mapped.iter().find(|(item, _, _)| item == text).unwrap();
        assert_eq!(found.1.as_deref(), Some(*probe), "{text}:\n{draft}");
    }
    // The table covers every probe the binary knows (the list of an unknown kind's error).
    std::fs::write(
        p.file("phasegate.toml"),
        "[gates.x]\nprobe = \"nope\"\nbase_url = \"http://127.0.0.1:9\"\n[[phase]]\nid = \"p\"\ngates = [\"x\"]\n",
    )
    .unwrap();
    let kinds = flat(&p.run(&["check"]).all());
    let kinds = kinds
        .split("expected one of: ")
        .nth(1)
        .unwrap_or_else(|| panic!("{kinds}"));
    for kind in kinds
        .split(", ")
        .map(|k| k.split_whitespace().next().unwrap())
    {
        assert!(
            ITEMS.iter().any(|(_, p, _)| *p == Some(kind))
                || FILE_ITEMS.iter().any(|(_, p, _, _)| *p == kind),
            "no item maps to probe `{kind}`: add one to ITEMS or FILE_ITEMS"
        );
    }

    // Completed only with a target: every probe gate stays missing (its todo) or fails,
    // the probes of files reading a project that violates each claim.
    for (_, _, path, content) in FILE_ITEMS {
        let file = p.file(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, content).unwrap();
    }
    let completed = completed_with_a_target(&draft);
    std::fs::write(p.file("phasegate.toml"), &completed).unwrap();
    let check = p.run(&["check"]);
    assert_eq!(check.code, 0, "{check:?}\n{completed}");
    // Forward-only is judged against the last pass: the first run records the migrations,
    // then an applied one is edited.
    p.run(&["run"]);
    std::fs::write(
        p.file("migrations/0001_init.sql"),
        "CREATE TABLE t (id BIGINT);\n",
    )
    .unwrap();
    p.run(&["run"]);
    let json: serde_json::Value =
        serde_json::from_str(&p.run(&["status", "--format", "json"]).stdout).unwrap();
    for g in json["gates"].as_array().unwrap() {
        assert_ne!(g["state"], "pass", "{g:#}\n{completed}");
    }
    // The gates whose probe needs no other parameter, the todo deleted without giving what it
    // asks: `require` fails them on the skipped rules, naming what to add.
    let bare = completed
        .lines()
        .filter(|l| {
            !l.starts_with("todo = \"fill in: fault, restore\"")
                && !l.starts_with("todo = \"fill in: https\"")
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(p.file("phasegate.toml"), bare).unwrap();
    p.run(&["run"]);
    let json: serde_json::Value =
        serde_json::from_str(&p.run(&["status", "--format", "json"]).stdout).unwrap();
    let state = |text: &str| {
        let id = &mapped.iter().find(|(item, _, _)| item == text).unwrap().2;
        let g = json["gates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["id"] == id.as_str())
            .unwrap_or_else(|| panic!("no gate {id}: {json:#}"));
        (
            g["state"].as_str().unwrap().to_owned(),
            g["reason"].as_str().unwrap().to_owned(),
        )
    };
    let (s, why) = state("Readiness reflects the database dependency");
    assert_eq!(s, "fail", "{why}");
    assert!(
        why.contains("dependency: no fault hook: add `fault` and `restore`"),
        "{why}"
    );
    // The service has other header flaws too, which fail it first; HSTS itself was not
    // tested, and the evidence says so.
    let (s, why) = state("Secure headers are present in production");
    assert_eq!(s, "fail", "{why}");
    let headers = mapped
        .iter()
        .find(|(item, _, _)| item == "Secure headers are present in production")
        .unwrap();
    let g = json["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == headers.2.as_str())
        .unwrap();
    let skipped = g["coverage"]["skipped"].as_array().unwrap();
    assert!(
        skipped.iter().any(|s| s["rule"] == "hsts"
            && s["reason"] == "plain http; set https = \"yes\" when TLS ends at a proxy"),
        "{g:#}"
    );
    for (text, probe, _) in ITEMS.iter().filter(|(_, p, _)| p.is_none()) {
        assert!(
            !draft.contains(&format!("item = \"{text}\"\nprobe")),
            "{text} became a probe gate: {probe:?}"
        );
    }
}
