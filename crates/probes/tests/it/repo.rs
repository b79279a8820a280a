//! The repository probes (`ci-tolerance`, `docs-drift`, `local-first`) on fixture
//! repositories written to temp dirs: each flaw flagged with its file:line, each clean twin
//! passing, missing inputs an error.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use phasegate_model::Verdict;
use phasegate_probes::Outcome;
use serde_json::json;

use crate::support::{codes, params, run_files};

/// Writes `files` under a new temp dir; names ending in `.sh` or under `scripts/` are
/// made executable.
fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        if path.ends_with(".sh") || path.starts_with("scripts/") || *path == ".ci/run" {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    dir
}

async fn run(kind: &str, dir: &Path, p: serde_json::Value) -> Outcome {
    run_files(kind, dir, p).await
}

/// The findings as `code @ location`, for exact comparisons.
fn places(o: &Outcome) -> Vec<String> {
    let mut v: Vec<String> = o
        .findings
        .iter()
        .map(|f| format!("{} @ {}", f.code, f.location.as_deref().unwrap_or("")))
        .collect();
    v.sort();
    v
}

#[track_caller]
fn assert_clean(o: &Outcome) {
    assert_eq!(o.verdict, Verdict::Pass, "expected a pass, got {o:#?}");
    assert!(o.findings.is_empty(), "{o:#?}");
    assert!(o.measurements["files"] > 0.0);
}

// ------------------------------------------------------------------------- ci-tolerance

const WORKFLOW: &str = "\
name: ci
on: [push]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: lint
        run: |
          npm ci
          npm run lint
      - name: tests
        run: ./scripts/ci.sh
      - name: words
        run: echo \"a || true is fine in quotes\" # and || true in a comment
";

fn github_repo(lint: &str, recipe: &str, workflow: &str) -> tempfile::TempDir {
    let package =
        format!("{{\n  \"name\": \"x\",\n  \"scripts\": {{\n    \"lint\": \"{lint}\"\n  }}\n}}\n");
    repo(&[
        (".github/workflows/ci.yml", workflow),
        ("package.json", &package),
        ("scripts/ci.sh", "#!/bin/sh\nset -eu\nmake test\n"),
        (
            "Makefile",
            &format!(".PHONY: test\ntest: build\n\t{recipe}\nbuild:\n\tcargo build\n"),
        ),
        // Not called by CI: its `|| true` weakens nothing.
        ("scripts/unused.sh", "#!/bin/sh\nrm -rf out || true\n"),
    ])
}

#[tokio::test]
async fn ci_tolerance_follows_workflow_npm_script_shell_script_and_makefile() {
    let bad = github_repo("eslint . || true", "-cargo test", WORKFLOW);
    let o = run("ci-tolerance", bad.path(), json!({})).await;
    assert_eq!(o.verdict, Verdict::Fail, "{o:#?}");
    assert_eq!(
        places(&o),
        [
            "ci-ignore-errors @ Makefile:3",
            "ci-or-true @ package.json:4"
        ]
    );
    let npm = o.findings.iter().find(|f| f.code == "ci-or-true").unwrap();
    assert!(
        npm.message
            .contains("`|| true` swallows the failure of `eslint .`"),
        "{}",
        npm.message
    );
    assert!(
        npm.message.contains("weakens .github/workflows/ci.yml:8 job test step `lint`, via .github/workflows/ci.yml:11"),
        "{}",
        npm.message
    );
    let make = o
        .findings
        .iter()
        .find(|f| f.code == "ci-ignore-errors")
        .unwrap();
    assert!(
        make.message
            .contains("job test step `tests`, via scripts/ci.sh:3"),
        "{}",
        make.message
    );
    assert_eq!(
        o.measurements["ci_units_followed"], 4.0,
        "npm lint, ci.sh, make test, make build"
    );

    let good = github_repo("eslint .", "cargo test", WORKFLOW);
    assert_clean(&run("ci-tolerance", good.path(), json!({})).await);
}

#[tokio::test]
async fn ci_tolerance_reads_continue_on_error_and_run_lines() {
    let workflow = WORKFLOW
        .replace(
            "    runs-on: ubuntu-latest\n",
            "    runs-on: ubuntu-latest\n    continue-on-error: true\n",
        )
        .replace(
            "        run: ./scripts/ci.sh\n",
            "        run: ./scripts/ci.sh\n        continue-on-error: true\n",
        )
        .replace(
            "          npm ci\n",
            "          npm ci\n          set +e\n          npx jest --passWithNoTests; true\n",
        );
    let bad = github_repo("eslint .", "cargo test", &workflow);
    let o = run("ci-tolerance", bad.path(), json!({})).await;
    assert_eq!(
        places(&o),
        [
            "ci-continue-on-error @ .github/workflows/ci.yml:17",
            "ci-continue-on-error @ .github/workflows/ci.yml:6",
            "ci-or-true @ .github/workflows/ci.yml:13",
            "ci-pass-with-no-tests @ .github/workflows/ci.yml:13",
            "ci-set-plus-e @ .github/workflows/ci.yml:12",
        ]
    );
}

#[tokio::test]
async fn ci_tolerance_reads_gitlab_ci_and_justfiles() {
    let gitlab = "\
stages: [test]
lint:
  stage: test
  script:
    - just check
  allow_failure: true
unit:
  script: cargo test --all || exit 0
";
    let bad = repo(&[
        (".gitlab-ci.yml", gitlab),
        (
            "justfile",
            "default: check\n\n# lint\ncheck: fmt\n    -cargo clippy\nfmt:\n    cargo fmt --check\n",
        ),
    ]);
    let o = run("ci-tolerance", bad.path(), json!({})).await;
    assert_eq!(
        places(&o),
        [
            "ci-allow-failure @ .gitlab-ci.yml:6",
            "ci-ignore-errors @ justfile:5",
            "ci-or-true @ .gitlab-ci.yml:8"
        ]
    );
    let good = repo(&[
        (
            ".gitlab-ci.yml",
            "lint:\n  script:\n    - just check\nunit:\n  script: cargo test --all\n",
        ),
        (
            "justfile",
            "check: fmt\n    cargo clippy\nfmt:\n    cargo fmt --check\n",
        ),
    ]);
    let o = run("ci-tolerance", good.path(), json!({})).await;
    assert_clean(&o);
    assert_eq!(o.measurements["ci_units_followed"], 2.0);
}

#[tokio::test]
async fn ci_tolerance_allowlist_needs_a_reason_and_unused_entries_are_named() {
    let dir = repo(&[(
        ".ci/run",
        "#!/usr/bin/env bash\nset -euo pipefail\nrustup component add clippy || true\ncargo test\n",
    )]);
    let o = run("ci-tolerance", dir.path(), json!({})).await;
    assert_eq!(places(&o), ["ci-or-true @ .ci/run:3"]);
    let allowed =
        json!({ "allow": [{ "path": ".ci/run", "line": 3, "reason": "rustup may be absent" }] });
    let o = run("ci-tolerance", dir.path(), allowed).await;
    assert_clean(&o);
    assert_eq!(o.measurements["ci_allowed"], 1.0);
    let by_pattern = json!({ "allow": [{ "pattern": "rustup component add", "reason": "rustup may be absent" }] });
    assert_clean(&run("ci-tolerance", dir.path(), by_pattern).await);

    let no_reason = json!({ "allow": [{ "path": ".ci/run", "line": 3 }] });
    let o = run("ci-tolerance", dir.path(), no_reason.clone()).await;
    assert_eq!(o.verdict, Verdict::Error);
    assert!(
        o.reason
            .as_deref()
            .unwrap()
            .contains("`allow[0].reason`: an allowlist entry needs a reason"),
        "{o:#?}"
    );
    assert!(phasegate_probes::validate("ci-tolerance", &params(no_reason)).is_err());

    let stale = json!({ "allow": [
        { "path": ".ci/run", "line": 3, "reason": "rustup may be absent" },
        { "path": ".ci/run", "line": 9, "reason": "gone" },
    ] });
    let o = run("ci-tolerance", dir.path(), stale).await;
    assert_eq!(codes(&o), ["ci-allow-unused"]);
    assert_eq!(
        o.verdict,
        Verdict::Pass,
        "low: a warning at the default threshold"
    );
}

#[tokio::test]
async fn ci_tolerance_without_a_ci_definition_is_an_error() {
    let dir = repo(&[("Makefile", "test:\n\t-cargo test\n")]);
    let o = run("ci-tolerance", dir.path(), json!({})).await;
    assert_eq!(o.verdict, Verdict::Error);
    assert!(o.reason.unwrap().contains("no CI definition found"));
}

#[tokio::test]
async fn ci_tolerance_names_a_workflow_that_does_not_parse() {
    let dir = repo(&[(".github/workflows/ci.yml", "jobs:\n  test:\n    steps: [\n")]);
    let o = run("ci-tolerance", dir.path(), json!({})).await;
    assert_eq!(codes(&o), ["ci-definition-invalid"]);
    assert_eq!(o.verdict, Verdict::Fail);
}

// ---------------------------------------------------------------------------- docs-drift

fn docs_repo(readme: &str, runbook: &str) -> tempfile::TempDir {
    repo(&[
        ("README.md", readme),
        ("docs/runbook.md", runbook),
        (
            "package.json",
            "{\"scripts\": {\"lint\": \"eslint .\", \"test\": \"jest\"}}",
        ),
        (
            "Makefile",
            "build:\n\tcargo build\n%.pdf: %.md\n\tpandoc $< -o $@\n",
        ),
        ("justfile", "alias t := test\ntest:\n    cargo test\n"),
        (
            ".cargo/config.toml",
            "[alias]\nxtask = \"run --package xtask --\"\n",
        ),
        (
            "xtask/src/main.rs",
            "fn main() { match std::env::args().nth(1).as_deref() { Some(\"dist\") => {}, _ => {} } }\n",
        ),
        ("scripts/setup.sh", "#!/bin/sh\n"),
        ("CHANGELOG.md", "# Changelog\n\n## 1.0\n\nFirst release.\n"),
    ])
}

const README: &str = "\
# Project

Run `npm run lint`, then `make build` and `just t`.

```sh
$ ./scripts/setup.sh
cargo xtask dist
cargo nextest run
make report.pdf
```

See [the runbook](docs/runbook.md#on-call-rota) and [usage](#usage).

## Usage

Nothing to it. `git status` and `cargo <subcommand>` are not checked.
";

const RUNBOOK: &str = "\
# Runbook

## On-call rota

Alice, then Bob.
";

fn docs_params() -> serde_json::Value {
    json!({ "must_exist": ["CHANGELOG.md"], "critical": ["docs/runbook.md"] })
}

#[tokio::test]
async fn docs_drift_passes_when_commands_links_and_documents_hold() {
    let dir = docs_repo(README, RUNBOOK);
    let o = run("docs-drift", dir.path(), docs_params()).await;
    assert_clean(&o);
    assert_eq!(o.measurements["docs_commands_checked"], 7.0, "{o:#?}");
    assert_eq!(o.measurements["docs_anchors_checked"], 2.0);
}

#[tokio::test]
async fn docs_drift_flags_each_drift_with_file_and_line() {
    let readme = README
        .replace("`npm run lint`", "`npm run lint:fix`")
        .replace("`just t`", "`just deploy`")
        .replace("cargo xtask dist", "cargo xtask release")
        .replace("make report.pdf", "make install")
        .replace("docs/runbook.md#on-call-rota", "docs/runbook.md#escalation")
        .replace(
            "[usage](#usage)",
            "[usage](#usage) and [setup](docs/setup.md)",
        )
        .replace(
            "cargo nextest run",
            "./scripts/missing.sh\ncargo frobnicate",
        );
    let runbook = "# Runbook\n\n## On-call rota\n\n## Paging\n\nTODO: ask Bob. Lorem ipsum.\n";
    let dir = docs_repo(&readme, runbook);
    std::fs::remove_file(dir.path().join("CHANGELOG.md")).unwrap();
    let o = run("docs-drift", dir.path(), docs_params()).await;
    assert_eq!(o.verdict, Verdict::Fail);
    assert_eq!(
        places(&o),
        [
            "docs-anchor-broken @ README.md:13",
            "docs-command-missing @ README.md:10",
            "docs-command-missing @ README.md:3",
            "docs-command-missing @ README.md:3",
            "docs-command-missing @ README.md:7",
            "docs-command-missing @ README.md:8",
            "docs-command-missing @ README.md:9",
            "docs-empty-section @ docs/runbook.md:3",
            "docs-link-broken @ README.md:13",
            "docs-placeholder @ docs/runbook.md:7",
            "docs-placeholder @ docs/runbook.md:7",
            "docs-required-missing @ must_exist[0]",
        ]
    );
    let messages: Vec<&str> = o.findings.iter().map(|f| f.message.as_str()).collect();
    for want in [
        "package.json has no script `lint:fix`",
        "justfile has no recipe `deploy`",
        "the xtask crate names no task `release`",
        "`frobnicate` is not a cargo command",
        "Makefile has no target `install`",
        "docs/runbook.md has no heading with anchor `escalation`",
        "docs/setup.md does not exist",
        "`./scripts/missing.sh`: there is no such script",
    ] {
        assert!(
            messages.iter().any(|m| m.contains(want)),
            "{want} not in {messages:#?}"
        );
    }
}

#[tokio::test]
async fn docs_drift_flags_a_script_that_is_not_executable_and_an_empty_required_doc() {
    let dir = docs_repo(README, RUNBOOK);
    std::fs::set_permissions(
        dir.path().join("scripts/setup.sh"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    std::fs::write(dir.path().join("CHANGELOG.md"), "# Changelog\n\n").unwrap();
    let o = run("docs-drift", dir.path(), docs_params()).await;
    assert_eq!(
        places(&o),
        [
            "docs-required-empty @ CHANGELOG.md:1",
            "docs-script-not-executable @ README.md:6"
        ]
    );
}

#[tokio::test]
async fn docs_drift_with_no_document_is_an_error_and_bad_globs_are_param_errors() {
    let dir = repo(&[("src/main.rs", "fn main() {}\n")]);
    let o = run("docs-drift", dir.path(), json!({})).await;
    assert_eq!(o.verdict, Verdict::Error, "{o:#?}");
    let errors =
        phasegate_probes::validate("docs-drift", &params(json!({ "docs": ["a/[b"] }))).unwrap_err();
    assert_eq!(errors[0].key.as_deref(), Some("docs[0]"));
}

// --------------------------------------------------------------------------- local-first

#[tokio::test]
async fn local_first_flags_hard_coded_outside_hosts_and_passes_local_defaults() {
    let bad = repo(&[
        (
            ".env.example",
            "# payments\nSTRIPE_API=https://api.stripe.com/v1\nDATABASE_URL=postgres://app@db:5432/app\n",
        ),
        (
            "config/app.toml",
            "[mail]\nsmtp_host = \"smtp.sendgrid.net\"\nport = 587\n",
        ),
        (
            "docker-compose.yml",
            "services:\n  app:\n    environment:\n      SENTRY_DSN: ${SENTRY_DSN:-https://key@o1.ingest.sentry.io/1}\n",
        ),
    ]);
    let o = run("local-first", bad.path(), json!({})).await;
    assert_eq!(o.verdict, Verdict::Fail);
    assert_eq!(
        places(&o),
        [
            "local-first-external-host @ .env.example:2",
            "local-first-external-host @ config/app.toml:2",
            "local-first-external-host @ docker-compose.yml:4",
        ]
    );
    assert!(
        o.findings
            .iter()
            .any(|f| f.message.contains("outside host `api.stripe.com`"))
    );
    let allowed = run(
        "local-first",
        bad.path(),
        json!({ "allow_hosts": ["api.stripe.com", "*.sentry.io", "smtp.sendgrid.net"] }),
    )
    .await;
    assert_clean(&allowed);
    assert_eq!(allowed.measurements["local_first_hosts_allowed"], 3.0);

    let good = repo(&[
        (
            ".env.example",
            "# STRIPE_API=https://api.stripe.com/v1\nSTRIPE_API=${STRIPE_API:-http://localhost:12111}\nDATABASE_URL=postgres://app@db:5432/app\nSENTRY_DSN=${SENTRY_DSN}\n",
        ),
        (
            "config/app.toml",
            "[mail]\nsmtp_host = \"mailpit.internal\"\nweb = \"http://127.0.0.1:8080\"\n",
        ),
    ]);
    let o = run("local-first", good.path(), json!({})).await;
    assert_clean(&o);
    assert_eq!(o.measurements["local_first_hosts_checked"], 4.0);
}

#[tokio::test]
async fn local_first_without_config_files_is_an_error() {
    let dir = repo(&[("src/main.rs", "fn main() {}\n")]);
    let o = run("local-first", dir.path(), json!({})).await;
    assert_eq!(o.verdict, Verdict::Error);
    assert!(o.reason.unwrap().contains("found no file to examine"));
}
