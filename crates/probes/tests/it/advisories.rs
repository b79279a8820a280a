//! `advisories` on lockfiles and OSV advisories written here (no network): what must be
//! found, what the version ranges exclude, SLAs, acceptances, withdrawn advisories.

use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use phasegate_model::{Severity, Verdict};
use phasegate_probes::Outcome;
use serde_json::{Value, json};

use crate::support::{codes, params, run_files, write};

async fn run(dir: &Path, p: Value) -> Outcome {
    run_files("advisories", dir, p).await
}

/// An RFC 3339 time `hours` from now (negative: in the past).
fn hours_from_now(hours: i64) -> String {
    (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(hours)).to_string()
}

const CRITICAL: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"; // 9.8
const HIGH: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"; // 7.5

fn advisory(
    id: &str,
    eco: &str,
    name: &str,
    events: Value,
    vector: &str,
    published: &str,
) -> Value {
    json!({
        "schema_version": "1.6.0",
        "id": id,
        "modified": published,
        "published": published,
        "aliases": [format!("CVE-2026-{}", id.len())],
        "summary": format!("{name} is broken"),
        "affected": [{
            "package": {"ecosystem": eco, "name": name},
            "ranges": [{"type": "ECOSYSTEM", "events": events}],
        }],
        "severity": [{"type": "CVSS_V3", "score": vector}],
    })
}

fn add(dir: &Path, a: &Value) {
    let id = a["id"].as_str().unwrap();
    write(dir, &format!("osv/{id}.json"), &a.to_string());
}

const CARGO_LOCK: &str = r#"version = 4

[[package]]
name = "app"
version = "0.1.0"

[[package]]
name = "smallvec"
version = "1.6.0"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "time"
version = "0.3.5"
source = "registry+https://github.com/rust-lang/crates.io-index"
"#;

fn cargo_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "Cargo.lock", CARGO_LOCK);
    dir
}

#[tokio::test]
async fn a_locked_vulnerable_crate_fails_naming_the_lockfile_the_package_the_advisory_and_the_fix()
{
    let dir = cargo_project();
    add(
        dir.path(),
        &advisory(
            "RUSTSEC-2021-0003",
            "crates.io",
            "smallvec",
            json!([{"introduced": "0.6.3"}, {"fixed": "0.6.14"}, {"introduced": "1.0.0"}, {"fixed": "1.6.1"}]),
            CRITICAL,
            "2021-02-05T00:00:00Z",
        ),
    );
    let o = run(dir.path(), json!({"db": "osv", "sla": {"critical": "24h"}})).await;
    assert_eq!(o.verdict, Verdict::Fail, "{o:#?}");
    let f = &o.findings[0];
    assert_eq!(f.code, "advisory-critical");
    assert_eq!(f.severity, Some(Severity::Critical));
    assert_eq!(f.location.as_deref(), Some("Cargo.lock:8"));
    for part in [
        "smallvec@1.6.0",
        "RUSTSEC-2021-0003",
        "fixed in 1.6.1",
        "CVSS base score 9.8",
        "SLA 1day passed",
    ] {
        assert!(f.message.contains(part), "{part} in {}", f.message);
    }
    assert_eq!(o.measurements["vulnerable"], 1.0);
    assert_eq!(o.measurements["packages"], 2.0);
    assert_eq!(o.measurements["packages_skipped"], 1.0, "the path package");
    let attachment: Value = serde_json::from_str(o.attachment.as_deref().unwrap()).unwrap();
    assert_eq!(attachment["matches"][0]["status"], "open");
}

#[tokio::test]
async fn a_locked_version_the_ranges_exclude_is_not_found() {
    let dir = cargo_project();
    // smallvec 1.6.0 sits between two affected ranges, time 0.3.5 past a last_affected.
    add(
        dir.path(),
        &advisory(
            "RUSTSEC-2000-0001",
            "crates.io",
            "smallvec",
            json!([{"introduced": "0"}, {"fixed": "1.0.0"}, {"introduced": "1.7.0"}, {"fixed": "1.8.1"}]),
            CRITICAL,
            "2020-01-01T00:00:00Z",
        ),
    );
    add(
        dir.path(),
        &advisory(
            "RUSTSEC-2000-0002",
            "crates.io",
            "time",
            json!([{"introduced": "0.2.0"}, {"last_affected": "0.3.4"}]),
            CRITICAL,
            "2020-01-01T00:00:00Z",
        ),
    );
    let o = run(dir.path(), json!({"db": "osv"})).await;
    assert_eq!(o.verdict, Verdict::Pass, "{o:#?}");
    assert!(o.findings.is_empty(), "{o:#?}");
    assert_eq!(o.measurements["advisories"], 2.0);
    assert_eq!(o.measurements["vulnerable"], 0.0);
    assert_eq!(
        o.measurements["files"], 3.0,
        "two advisories and the lockfile"
    );
}

#[tokio::test]
async fn a_withdrawn_advisory_is_ignored_and_counted() {
    let dir = cargo_project();
    let mut a = advisory(
        "GHSA-wwww-wwww-wwww",
        "crates.io",
        "smallvec",
        json!([{"introduced": "0"}]),
        CRITICAL,
        "2020-01-01T00:00:00Z",
    );
    a["withdrawn"] = json!("2020-02-01T00:00:00Z");
    add(dir.path(), &a);
    let o = run(dir.path(), json!({"db": "osv"})).await;
    assert_eq!(o.verdict, Verdict::Pass, "{o:#?}");
    assert_eq!(o.measurements["advisories_withdrawn"], 1.0);
    assert_eq!(o.measurements["withdrawn_matches"], 1.0);
    let attachment: Value = serde_json::from_str(o.attachment.as_deref().unwrap()).unwrap();
    assert_eq!(attachment["matches"][0]["status"], "withdrawn");
}

#[tokio::test]
async fn within_its_sla_a_high_advisory_warns_and_past_it_fails() {
    let dir = cargo_project();
    let events = json!([{"introduced": "0"}, {"fixed": "2.0.0"}]);
    add(
        dir.path(),
        &advisory(
            "GHSA-aaaa-aaaa-aaaa",
            "crates.io",
            "smallvec",
            events.clone(),
            HIGH,
            &hours_from_now(-24),
        ),
    );
    let p = json!({"db": "osv", "sla": {"critical": "24h", "high": "7d"}});
    let o = run(dir.path(), p.clone()).await;
    assert_eq!(o.verdict, Verdict::Pass, "{o:#?}");
    assert_eq!(codes(&o), ["advisory-within-sla"]);
    assert!(o.findings[0].message.contains("SLA 7days"), "{o:#?}");
    assert_eq!(o.measurements["within_sla"], 1.0);

    add(
        dir.path(),
        &advisory(
            "GHSA-aaaa-aaaa-aaaa",
            "crates.io",
            "smallvec",
            events,
            HIGH,
            &hours_from_now(-8 * 24),
        ),
    );
    let o = run(dir.path(), p).await;
    assert_eq!(o.verdict, Verdict::Fail, "{o:#?}");
    assert_eq!(codes(&o), ["advisory-high"]);
    // The gate's threshold decides what blocks: a high finding at fail_on critical warns.
    assert_eq!(o.clone().judged(Severity::Critical).verdict, Verdict::Pass);
}

#[tokio::test]
async fn an_acceptance_covers_an_advisory_by_id_or_alias_until_it_expires() {
    let dir = cargo_project();
    let a = advisory(
        "GHSA-bbbb-bbbb-bbbb",
        "crates.io",
        "smallvec",
        json!([{"introduced": "0"}]),
        CRITICAL,
        "2020-01-01T00:00:00Z",
    );
    let alias = a["aliases"][0].as_str().unwrap().to_owned();
    add(dir.path(), &a);
    let o = run(
        dir.path(),
        json!({"db": "osv", "accept": [{"id": alias, "reason": "not reachable from our code", "until": "2999-01-01"}]}),
    )
    .await;
    assert_eq!(o.verdict, Verdict::Pass, "{o:#?}");
    assert_eq!(codes(&o), ["advisory-accepted"]);
    assert!(
        o.findings[0]
            .message
            .contains("not reachable from our code")
    );

    let o = run(
        dir.path(),
        json!({"db": "osv", "accept": [
            {"id": "GHSA-bbbb-bbbb-bbbb", "reason": "waiting for upstream", "until": "2021-01-01"},
            {"id": "GHSA-none-none-none", "reason": "old", "until": "2999-01-01"},
        ]}),
    )
    .await;
    assert_eq!(o.verdict, Verdict::Fail, "{o:#?}");
    assert_eq!(
        codes(&o),
        [
            "advisory-critical",
            "advisory-acceptance-expired",
            "advisory-acceptance-unused"
        ]
    );
    assert!(o.findings[1].message.contains("ended on 2021-01-01"));
}

#[tokio::test]
async fn npm_lockfile_v3_nested_packages_are_each_matched() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "package-lock.json",
        &json!({
            "name": "web", "lockfileVersion": 3, "requires": true,
            "packages": {
                "": {"name": "web", "version": "1.0.0"},
                "node_modules/minimist": {"version": "1.2.6"},
                "node_modules/mkdirp/node_modules/minimist": {"version": "0.0.8"},
                "node_modules/@scope/tool": {"version": "2.0.0"},
                "node_modules/local": {"resolved": "packages/local", "link": true},
                "packages/local": {"version": "0.0.1"},
            }
        })
        .to_string(),
    );
    add(
        dir.path(),
        &advisory(
            "GHSA-vh95-rmgr-6w4m",
            "npm",
            "minimist",
            json!([{"introduced": "0"}, {"fixed": "0.2.1"}, {"introduced": "1.0.0"}, {"fixed": "1.2.3"}]),
            CRITICAL,
            "2020-03-11T00:00:00Z",
        ),
    );
    add(
        dir.path(),
        &advisory(
            "GHSA-scop-scop-scop",
            "npm",
            "@scope/tool",
            json!([{"introduced": "2.0.0"}, {"fixed": "2.0.1"}]),
            HIGH,
            "2020-01-01T00:00:00Z",
        ),
    );
    let o = run(dir.path(), json!({"db": "osv"})).await;
    assert_eq!(o.verdict, Verdict::Fail, "{o:#?}");
    let found: Vec<&str> = o
        .findings
        .iter()
        .map(|f| f.message.split(' ').next().unwrap())
        .collect();
    assert_eq!(
        found,
        ["minimist@0.0.8", "@scope/tool@2.0.0"],
        "the nested copy only; {o:#?}"
    );
    assert_eq!(
        o.findings[0].location.as_deref(),
        Some("package-lock.json:1")
    );
    assert_eq!(o.measurements["packages"], 3.0);
}

#[tokio::test]
async fn python_locks_use_pep440_order_and_normalized_names() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "requirements.txt",
        "Django==4.2.0rc1\nPyYAML==5.3.1 \\\n    --hash=sha256:0\nrequests>=2.0\n",
    );
    write(
        dir.path(),
        "poetry.lock",
        "[[package]]\nname = \"jinja2\"\nversion = \"1!2.0\"\n\n[[package]]\nname = \"mine\"\nversion = \"0.1.0\"\n[package.source]\ntype = \"directory\"\nurl = \".\"\n",
    );
    write(
        dir.path(),
        "uv.lock",
        "version = 1\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\nsource = { editable = \".\" }\n\n[[package]]\nname = \"urllib3\"\nversion = \"2.0.6\"\nsource = { registry = \"https://pypi.org/simple\" }\n",
    );
    let fixed_in_4_2 = json!([{"introduced": "0"}, {"fixed": "4.2.0"}]);
    add(
        dir.path(),
        &advisory(
            "PYSEC-2023-1",
            "PyPI",
            "django",
            fixed_in_4_2,
            HIGH,
            "2020-01-01T00:00:00Z",
        ),
    );
    add(
        dir.path(),
        &advisory(
            "PYSEC-2023-2",
            "PyPI",
            "pyyaml",
            json!([{"introduced": "5.1"}, {"fixed": "5.4"}]),
            HIGH,
            "2020-01-01T00:00:00Z",
        ),
    );
    // Epoch 0 only: Jinja2 1!2.0 is outside.
    add(
        dir.path(),
        &advisory(
            "PYSEC-2023-3",
            "PyPI",
            "Jinja2",
            json!([{"introduced": "0"}, {"fixed": "3.0"}]),
            HIGH,
            "2020-01-01T00:00:00Z",
        ),
    );
    add(
        dir.path(),
        &advisory(
            "PYSEC-2023-4",
            "PyPI",
            "urllib3",
            json!([{"introduced": "2.0.0"}, {"fixed": "2.0.7"}]),
            HIGH,
            "2020-01-01T00:00:00Z",
        ),
    );
    let o = run(dir.path(), json!({"db": "osv"})).await;
    assert_eq!(o.verdict, Verdict::Fail, "{o:#?}");
    let mut found: Vec<String> = o
        .findings
        .iter()
        .map(|f| format!("{} {}", f.code, f.location.as_deref().unwrap()))
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            "advisory-high requirements.txt:1",
            "advisory-high requirements.txt:2",
            "advisory-high uv.lock:9",
            "lockfile-unpinned requirements.txt:4",
        ],
        "{o:#?}"
    );
}

#[tokio::test]
async fn pnpm_yarn_and_go_locks_are_read() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "pnpm-lock.yaml",
        "lockfileVersion: '9.0'\n\npackages:\n\n  lodash@4.17.20:\n    resolution: {integrity: sha512-x}\n\n  '@babel/core@7.1.0':\n    resolution: {integrity: sha512-y}\n",
    );
    write(
        dir.path(),
        "web/yarn.lock",
        "# yarn lockfile v1\n\n\nlodash@^4.17.0:\n  version \"4.17.15\"\n  resolved \"https://r/lodash.tgz\"\n",
    );
    write(
        dir.path(),
        "berry/yarn.lock",
        "__metadata:\n  version: 8\n\n\"lodash@npm:^4.17.0\":\n  version: 4.17.21\n  resolution: \"lodash@npm:4.17.21\"\n\n\"berry@workspace:.\":\n  version: 0.0.0-use.local\n  resolution: \"berry@workspace:.\"\n",
    );
    write(
        dir.path(),
        "go.sum",
        "golang.org/x/text v0.3.7 h1:a=\ngolang.org/x/text v0.3.7/go.mod h1:b=\ngolang.org/x/net v0.1.0/go.mod h1:c=\n",
    );
    add(
        dir.path(),
        &advisory(
            "GHSA-lodash",
            "npm",
            "lodash",
            json!([{"introduced": "0"}, {"fixed": "4.17.21"}]),
            HIGH,
            "2020-01-01T00:00:00Z",
        ),
    );
    add(
        dir.path(),
        &advisory(
            "GO-2022-1059",
            "Go",
            "golang.org/x/text",
            json!([{"introduced": "0"}, {"fixed": "0.3.8"}]),
            HIGH,
            "2020-01-01T00:00:00Z",
        ),
    );
    add(
        dir.path(),
        &advisory(
            "GO-2022-0001",
            "Go",
            "golang.org/x/net",
            json!([{"introduced": "0"}]),
            HIGH,
            "2020-01-01T00:00:00Z",
        ),
    );
    let o = run(dir.path(), json!({"db": "osv"})).await;
    let mut found: Vec<String> = o
        .findings
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f.location.as_deref().unwrap(),
                f.message.split(' ').next().unwrap()
            )
        })
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            "go.sum:1 golang.org/x/text@v0.3.7",
            "pnpm-lock.yaml:5 lodash@4.17.20",
            "web/yarn.lock:5 lodash@4.17.15",
        ],
        "the berry lodash is fixed, x/net only in the module graph; {o:#?}"
    );
}

#[tokio::test]
async fn a_zip_archive_as_osv_publishes_it_is_read() {
    let dir = cargo_project();
    let a = advisory(
        "RUSTSEC-2022-0001",
        "crates.io",
        "time",
        json!([{"introduced": "0"}, {"fixed": "0.3.6"}]),
        HIGH,
        "2020-01-01T00:00:00Z",
    );
    std::fs::create_dir_all(dir.path().join("mirror/crates.io")).unwrap();
    let file = std::fs::File::create(dir.path().join("mirror/crates.io/all.zip")).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("RUSTSEC-2022-0001.json", options).unwrap();
    zip.write_all(a.to_string().as_bytes()).unwrap();
    zip.start_file("broken.json", options).unwrap();
    zip.write_all(b"{not json").unwrap();
    zip.finish().unwrap();
    let o = run(
        dir.path(),
        json!({"db": "mirror", "lockfiles": ["Cargo.lock"]}),
    )
    .await;
    assert_eq!(o.verdict, Verdict::Fail, "{o:#?}");
    let mut found = codes(&o);
    found.sort_unstable();
    assert_eq!(found, ["advisory-high", "advisory-unreadable"]);
    assert!(o.findings.iter().any(|f| {
        f.location
            .as_deref()
            .unwrap()
            .ends_with("all.zip!broken.json")
    }));
}

#[tokio::test]
async fn missing_data_is_said_never_a_silent_pass() {
    let dir = cargo_project();
    add(
        dir.path(),
        &advisory(
            "GHSA-npm-only",
            "npm",
            "lodash",
            json!([{"introduced": "0"}]),
            HIGH,
            "2020-01-01T00:00:00Z",
        ),
    );
    let o = run(dir.path(), json!({"db": "osv"})).await;
    assert_eq!(o.verdict, Verdict::Fail, "{o:#?}");
    assert_eq!(codes(&o), ["advisory-db-missing-ecosystem"]);
    assert!(o.findings[0].message.contains("crates.io"));

    let o = run(dir.path(), json!({"db": "nowhere"})).await;
    assert_eq!(o.verdict, Verdict::Error);
    assert!(o.reason.unwrap().contains("phasegate advisories update"));

    let empty = tempfile::tempdir().unwrap();
    write(empty.path(), "osv/x.json", &json!({"id": "X"}).to_string());
    let o = run(empty.path(), json!({"db": "osv"})).await;
    assert_eq!(o.verdict, Verdict::Error);
    assert!(o.reason.unwrap().contains("no lockfile under"));

    write(
        dir.path(),
        "Cargo.lock",
        "[[package]]\nname = \"x\"\nversion = 3\n",
    );
    let o = run(dir.path(), json!({"db": "osv"})).await;
    assert_eq!(codes(&o), ["lockfile-unreadable"]);
    assert_eq!(o.findings[0].location.as_deref(), Some("Cargo.lock:3"));
}

#[tokio::test]
async fn severity_falls_back_to_the_database_s_own_only_without_a_vector() {
    let dir = cargo_project();
    let mut a = advisory(
        "GHSA-mod",
        "crates.io",
        "time",
        json!([{"introduced": "0"}]),
        HIGH,
        "2020-01-01T00:00:00Z",
    );
    a.as_object_mut().unwrap().remove("severity");
    a["database_specific"] = json!({"severity": "MODERATE"});
    add(dir.path(), &a);
    let o = run(dir.path(), json!({"db": "osv"})).await;
    assert_eq!(codes(&o), ["advisory-medium"]);
    assert!(
        o.findings[0]
            .message
            .contains("database_specific.severity MODERATE (no CVSS vector)")
    );
}

#[test]
fn bad_parameters_name_the_key() {
    let e = phasegate_probes::validate(
        "advisories",
        &params(json!({"db": "osv", "accept": [{"id": "", "reason": "x", "until": "2027-01-01"}]})),
    )
    .unwrap_err();
    assert_eq!(e[0].key.as_deref(), Some("accept[0].id"));
    let e = phasegate_probes::validate(
        "advisories",
        &params(json!({"db": "osv", "sla": {"urgent": "1d"}})),
    )
    .unwrap_err();
    assert!(e[0].key.as_deref().unwrap().starts_with("sla"), "{e:?}");
    let e = phasegate_probes::validate(
        "advisories",
        &params(json!({"db": "osv", "accept": [{"id": "X", "reason": "x", "until": "soon"}]})),
    )
    .unwrap_err();
    assert!(
        e[0].key.as_deref().unwrap().starts_with("accept[0]"),
        "{e:?}"
    );
}

#[tokio::test]
async fn update_downloads_each_ecosystem_archive_and_the_probe_reads_it() {
    let a = advisory(
        "RUSTSEC-2022-0002",
        "crates.io",
        "time",
        json!([{"introduced": "0"}, {"fixed": "0.4.0"}]),
        HIGH,
        "2020-01-01T00:00:00Z",
    );
    let mut bytes = Vec::new();
    {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(&mut bytes));
        zip.start_file(
            "RUSTSEC-2022-0002.json",
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        zip.write_all(a.to_string().as_bytes()).unwrap();
        zip.finish().unwrap();
    }
    let app = axum::Router::new().route(
        "/osv/crates.io/all.zip",
        axum::routing::get(move || async move { bytes.clone() }),
    );
    let base = crate::support::serve(app).await;
    let source = format!("{base}osv");
    let dir = cargo_project();
    let done = phasegate_probes::update_mirror(
        &dir.path().join("mirror"),
        &["crates.io".to_owned()],
        &source,
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert_eq!(done[0].advisories, 1);
    assert!(dir.path().join("mirror/crates.io/all.zip").is_file());
    let o = run(dir.path(), json!({"db": "mirror"})).await;
    assert_eq!(codes(&o), ["advisory-high"], "{o:#?}");

    // An ecosystem the source does not have: the error names the URL and the status, and
    // what was there stays.
    let e = phasegate_probes::update_mirror(
        &dir.path().join("mirror"),
        &["npm".to_owned()],
        &source,
        Duration::from_secs(5),
    )
    .await
    .unwrap_err();
    assert!(
        e.to_string().contains("osv/npm/all.zip`: status 404"),
        "{e}"
    );
    assert!(dir.path().join("mirror/crates.io/all.zip").is_file());
}
