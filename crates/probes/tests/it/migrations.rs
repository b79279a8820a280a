//! `migrations` on real folders: each run's record (its attachment) is the next run's
//! baseline, as the engine hands over the gate's last passing output.

use std::path::Path;

use phasegate_model::Verdict;
use phasegate_probes::Outcome;
use serde_json::{Value, json};

use crate::support::{codes, params, run_files, write};

async fn run(dir: &Path, p: Value) -> Outcome {
    run_files("migrations", dir, p).await
}

/// A project with sqlx migrations, run once without history; returns the record kept as
/// `record.json` (where the engine would keep the last passing output).
async fn first_run() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "migrations/0001_users.sql",
        "CREATE TABLE users (id INT);\n",
    );
    write(
        dir.path(),
        "migrations/0002_orders.sql",
        "CREATE TABLE orders (id INT);\n",
    );
    write(dir.path(), "migrations/README.md", "how to add one\n");
    let o = run(dir.path(), json!({"baseline": "last-pass"})).await;
    assert_eq!(o.verdict, Verdict::Pass, "{o:#?}");
    assert_eq!(codes(&o), ["migrations-no-baseline"]);
    assert!(o.findings[0].message.contains("recorded 2 migrations"));
    assert_eq!(o.measurements["files_ignored"], 1.0);
    std::fs::write(dir.path().join("record.json"), o.attachment.unwrap()).unwrap();
    dir
}

#[tokio::test]
async fn unchanged_migrations_pass_and_a_new_one_is_fine() {
    let dir = first_run().await;
    let o = run(dir.path(), json!({"baseline": "record.json"})).await;
    assert_eq!(o.verdict, Verdict::Pass, "{o:#?}");
    assert!(o.findings.is_empty());
    write(
        dir.path(),
        "migrations/0003_items.sql",
        "CREATE TABLE items (id INT);\n",
    );
    let o = run(dir.path(), json!({"baseline": "record.json"})).await;
    assert_eq!(o.verdict, Verdict::Pass, "{o:#?}");
    assert_eq!(o.measurements["migrations"], 3.0);
    assert_eq!(o.measurements["migrations_new"], 1.0);
}

#[tokio::test]
async fn an_edited_applied_migration_fails_naming_it() {
    let dir = first_run().await;
    write(
        dir.path(),
        "migrations/0001_users.sql",
        "CREATE TABLE users (id INT, email TEXT);\n",
    );
    let o = run(dir.path(), json!({"baseline": "record.json"})).await;
    assert_eq!(o.verdict, Verdict::Fail, "{o:#?}");
    assert_eq!(codes(&o), ["migration-changed"]);
    assert_eq!(
        o.findings[0].location.as_deref(),
        Some("migrations/0001_users.sql")
    );
    assert!(
        o.findings[0]
            .message
            .contains("add a new migration instead")
    );
}

#[tokio::test]
async fn a_deleted_applied_migration_fails_naming_it() {
    let dir = first_run().await;
    std::fs::remove_file(dir.path().join("migrations/0002_orders.sql")).unwrap();
    let o = run(dir.path(), json!({"baseline": "record.json"})).await;
    assert_eq!(o.verdict, Verdict::Fail, "{o:#?}");
    assert_eq!(codes(&o), ["migration-removed"]);
    assert_eq!(
        o.findings[0].location.as_deref(),
        Some("migrations/0002_orders.sql")
    );
}

#[tokio::test]
async fn flyway_repeatables_may_change_and_diesel_folders_are_versioned() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "db/V1__init.sql", "CREATE TABLE a (id INT);\n");
    write(
        dir.path(),
        "db/R__views.sql",
        "CREATE VIEW v AS SELECT 1;\n",
    );
    write(
        dir.path(),
        "db/2024-01-01-000000_init/up.sql",
        "CREATE TABLE b (id INT);\n",
    );
    let o = run(dir.path(), json!({"baseline": "last-pass", "dirs": ["db"]})).await;
    assert_eq!(o.measurements["migrations"], 2.0);
    assert_eq!(o.measurements["repeatable"], 1.0);
    std::fs::write(dir.path().join("record.json"), o.attachment.unwrap()).unwrap();
    write(
        dir.path(),
        "db/R__views.sql",
        "CREATE VIEW v AS SELECT 2;\n",
    );
    let o = run(
        dir.path(),
        json!({"baseline": "record.json", "dirs": ["db"]}),
    )
    .await;
    assert_eq!(o.verdict, Verdict::Pass, "{o:#?}");
    write(
        dir.path(),
        "db/2024-01-01-000000_init/up.sql",
        "DROP TABLE b;\n",
    );
    let o = run(
        dir.path(),
        json!({"baseline": "record.json", "dirs": ["db"]}),
    )
    .await;
    assert_eq!(o.verdict, Verdict::Fail, "{o:#?}");
    assert_eq!(
        o.findings[0].location.as_deref(),
        Some("db/2024-01-01-000000_init/up.sql")
    );
}

#[tokio::test]
async fn no_migrations_or_a_bad_baseline_is_an_error_not_a_pass() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(dir.path(), json!({"baseline": "last-pass"})).await;
    assert_eq!(o.verdict, Verdict::Error);
    assert!(o.reason.unwrap().contains("no migrations folder under"));
    write(dir.path(), "migrations/notes.txt", "x");
    let o = run(dir.path(), json!({"baseline": "last-pass"})).await;
    assert_eq!(o.verdict, Verdict::Error);
    assert!(o.reason.unwrap().contains("no migration file in"));
    write(dir.path(), "migrations/0001_a.sql", "x");
    write(
        dir.path(),
        "other.json",
        r#"{"version": 1, "kind": "load", "migrations": {}}"#,
    );
    let o = run(dir.path(), json!({"baseline": "other.json"})).await;
    assert_eq!(o.verdict, Verdict::Error);
    assert!(o.reason.unwrap().contains("expected a `migrations` record"));
    let e = phasegate_probes::validate(
        "migrations",
        &params(json!({"dirs": ["../x"], "baseline": "last-pass"})),
    )
    .unwrap_err();
    assert_eq!(e[0].key.as_deref(), Some("dirs[0]"));
}
