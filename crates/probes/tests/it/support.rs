use std::path::Path;
use std::time::Duration;

use phasegate_model::Verdict;
use phasegate_probes::{Context, Outcome, Params};

/// Serves `app` on a fresh loopback port for the rest of the test.
pub async fn serve(app: axum::Router) -> url::Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url::Url::parse(&format!("http://{addr}/")).unwrap()
}

pub fn ctx(url: &url::Url) -> Context {
    ctx_in(url, Path::new("."))
}

pub fn ctx_in(url: &url::Url, workdir: &Path) -> Context {
    Context {
        base_url: Some(url.clone()),
        timeout: Duration::from_secs(5),
        workdir: workdir.to_path_buf(),
        env: phasegate_probes::ChildEnv::default(),
    }
}

/// The context of a probe of the project's files reading `dir`.
pub fn files_ctx(dir: &Path) -> Context {
    Context {
        base_url: None,
        timeout: Duration::from_secs(5),
        workdir: dir.to_path_buf(),
        env: phasegate_probes::ChildEnv::default(),
    }
}

/// Runs the file probe `kind` on `dir`.
pub async fn run_files(kind: &str, dir: &Path, p: serde_json::Value) -> Outcome {
    phasegate_probes::run(kind, &params(p), &files_ctx(dir)).await
}

/// Writes `text` to `dir/rel`, creating its directories.
pub fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

pub fn params(v: serde_json::Value) -> Params {
    v.as_object().unwrap().clone().into_iter().collect()
}

pub async fn run(kind: &str, url: &url::Url, p: serde_json::Value) -> Outcome {
    phasegate_probes::run(kind, &params(p), &ctx(url)).await
}

pub fn codes(o: &Outcome) -> Vec<&str> {
    o.findings.iter().map(|f| f.code.as_str()).collect()
}

#[track_caller]
pub fn assert_pass(o: &Outcome) {
    assert_eq!(o.verdict, Verdict::Pass, "expected a pass, got {o:#?}");
    assert!(o.requests > 0);
}

/// The outcome failed, and `code` is among its findings.
#[track_caller]
pub fn assert_fails_with(o: &Outcome, code: &str) {
    assert_eq!(o.verdict, Verdict::Fail, "expected a fail, got {o:#?}");
    assert!(
        codes(o).contains(&code),
        "expected finding {code}, got {o:#?}"
    );
}

/// A URL where nothing listens.
pub async fn dead_url() -> url::Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    url::Url::parse(&format!("http://{addr}/")).unwrap()
}

/// The verdict a probe owes `codes` at the default threshold: a fail when one of them is
/// at least medium, else a pass (lower findings are warnings).
pub fn expected_verdict(codes: &[&str]) -> phasegate_model::Verdict {
    let fails = codes
        .iter()
        .any(|c| phasegate_probes::severity::of(c) >= phasegate_model::Severity::Medium);
    if fails {
        phasegate_model::Verdict::Fail
    } else {
        phasegate_model::Verdict::Pass
    }
}

/// Whether a conformance row's outcome is the expected one: exactly the distinct codes of
/// `expect` (given sorted), and the verdict they owe ([`expected_verdict`]).
pub fn row_holds(o: &Outcome, expect: &[&str]) -> bool {
    let mut seen = codes(o);
    seen.sort_unstable();
    seen.dedup();
    o.verdict == expected_verdict(expect) && seen == expect
}

/// The sample service with `flaws`, for as long as the value lives. Its sign-in rate limit is
/// raised out of the way unless `rate_limited`: probes sign in often, and only some tests are
/// about that.
pub struct Sample {
    pub url: url::Url,
    _dir: tempfile::TempDir,
}

pub async fn sample_with_flaws(
    flaws: &[phasegate_sample_service::Flaw],
    rate_limited: bool,
) -> Sample {
    let (url, dir) = sample_service(|config| {
        config.flaws.extend(flaws.iter().copied());
        if !rate_limited {
            config.rate_limit = 1000;
        }
    })
    .await;
    Sample { url, _dir: dir }
}

/// How a sample-service seed user signs in, as a role's credentials.
pub fn seed_sign_in(email: &str) -> serde_json::Value {
    serde_json::json!({ "sign_in": {
        "path": "/api/v1/auth/sign-in",
        "json": { "email": email, "password": phasegate_sample_service::SEED_PASSWORD },
    } })
}

/// The sample service, in process on a fresh loopback port, with `adjust` applied to its
/// configuration (flaws, limits, secrets); it stops when the returned directory's test ends.
pub async fn sample_service(
    adjust: impl FnOnce(&mut phasegate_sample_service::Config),
) -> (url::Url, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = sample_service_in(dir.path(), adjust).await;
    (url, dir)
}

/// [`sample_service`] with its database in `dir`, which the caller keeps (and may put the
/// service's other files in: an access log a probe reads).
pub async fn sample_service_in(
    dir: &Path,
    adjust: impl FnOnce(&mut phasegate_sample_service::Config),
) -> url::Url {
    let mut config = phasegate_sample_service::Config::new(dir.join("membership.db"));
    adjust(&mut config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = url::Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(phasegate_sample_service::serve(
        listener,
        config,
        std::future::pending(),
    ));
    // serve() opens the database before it accepts; connections wait in the backlog.
    url
}
