//! `phasegate demo`: the bundled membership roadmap against the bundled sample service.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use phasegate_engine::{Error, Options, Session};
use phasegate_sample_service::{DEFAULT_WEBHOOK_SECRET, Flaw};

use crate::cli::{DemoArgs, Format, Global, RunArgs};
use crate::exit;

/// The bundled roadmap, so `phasegate demo` works from any directory.
const ROADMAP: &str = include_str!("../../demo/membership.toml");

/// Files the roadmap's file probes read, written beside it: the sample service's lockfile
/// (this workspace's), a small OSV mirror and a migrations folder.
const FILES: &[(&str, &str)] = &[
    // A copy of the workspace's lockfile (the sample service's crates), kept in the crate so that
    // it packages on its own; a test keeps it in step.
    ("Cargo.lock", include_str!("../../demo/sample-service.lock")),
    (
        "advisories/RUSTSEC-2021-0003.json",
        include_str!("../../demo/advisories/RUSTSEC-2021-0003.json"),
    ),
    (
        "advisories/RUSTSEC-2021-0124.json",
        include_str!("../../demo/advisories/RUSTSEC-2021-0124.json"),
    ),
    (
        "advisories/RUSTSEC-2022-0013.json",
        include_str!("../../demo/advisories/RUSTSEC-2022-0013.json"),
    ),
    (
        "advisories/GHSA-f3fg-5j9p-vchc.json",
        include_str!("../../demo/advisories/GHSA-f3fg-5j9p-vchc.json"),
    ),
    (
        "advisories/GHSA-0000-wdrn-demo.json",
        include_str!("../../demo/advisories/GHSA-0000-wdrn-demo.json"),
    ),
    (
        "migrations/0001_members.sql",
        include_str!("../../demo/migrations/0001_members.sql"),
    ),
    (
        "migrations/0002_payments.sql",
        include_str!("../../demo/migrations/0002_payments.sql"),
    ),
];

/// The variable the sample service reads its payment-callback secret from.
const WEBHOOK_SECRET_VAR: &str = "SAMPLE_SERVICE_WEBHOOK_SECRET";

/// Files of the sample service's database: removed so each demo starts afresh, also after
/// a previous demo was interrupted mid-fault.
const STALE: [&str; 4] = [
    "membership.db",
    "membership.db.away",
    "membership.db-wal",
    "membership.db-shm",
];

/// A new directory for the demo under the temporary directory, kept after the demo. Its
/// name is random and it is created here (0700), never found: a predictable name in a shared
/// `/tmp` could be a symlink another user planted, and the demo would write through it.
fn fresh_dir() -> Result<std::path::PathBuf, Error> {
    use std::os::unix::fs::PermissionsExt;
    tempfile::Builder::new()
        .prefix("phasegate-demo-")
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir()
        .map(tempfile::TempDir::keep)
        .map_err(Error::io("cannot create the demo's directory"))
}

/// How the repository gates of the roadmap name phasegate's source tree, relative to the
/// roadmap's own place in it (crates/phasegate/demo).
const SOURCE_CWD: &str = "cwd = \"../../..\"";

/// The roadmap with its repository gates pointed at the source tree this binary was built
/// from, since the demo's roadmap is written elsewhere. Unchanged when that tree is gone
/// (an installed binary): the gates then report that they found nothing to read.
fn with_source_tree(roadmap: &str) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    match std::fs::canonicalize(&root) {
        // A TOML literal string: no escapes, so any path without `'` or a line break fits.
        Ok(root) if root.join(".ci/run").is_file() => match root.to_str() {
            Some(path) if !path.contains(['\'', '\n', '\r']) => {
                roadmap.replace(SOURCE_CWD, &format!("cwd = '{path}'"))
            }
            _ => roadmap.to_owned(),
        },
        _ => roadmap.to_owned(),
    }
}

pub fn demo(global: &Global, args: &DemoArgs) -> Result<u8, Error> {
    for f in &args.flaws {
        if Flaw::from_str(f).is_err() {
            let names: Vec<&str> = Flaw::all().iter().map(|f| f.name()).collect();
            return Err(Error::usage(
                format!("the sample service has no flaw `{f}`"),
                format!("flaws: {}", names.join(", ")),
            ));
        }
    }
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => fresh_dir()?,
    };
    let roadmap = phasegate_engine::write_roadmap(&dir, &with_source_tree(ROADMAP), &STALE)?;
    for (name, text) in FILES {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(Error::io(format!("cannot create `{}`", parent.display())))?;
        }
        std::fs::write(&path, text)
            .map_err(Error::io(format!("cannot write `{}`", path.display())))?;
    }
    let flaws = if args.flaws.is_empty() {
        "none".to_owned()
    } else {
        args.flaws.join(", ")
    };
    eprintln!("phasegate demo: membership roadmap against the sample service (flaws: {flaws})");
    eprintln!("roadmap, database and evidence in {}", dir.display());

    let mut options = super::options(global)?;
    // The payment callbacks' secret: the caller's, else the sample service's well-known demo
    // value. Set explicitly for the service (which signs nothing but verifies) and the
    // `payment-webhook` gate (which signs, and declares it in `secret_env`), and known to the
    // session as a value, so that it is redacted from everything the run leaves.
    let secret = options
        .vars
        .get(WEBHOOK_SECRET_VAR)
        .cloned()
        .unwrap_or_else(|| DEFAULT_WEBHOOK_SECRET.to_owned());
    options
        .vars
        .insert(WEBHOOK_SECRET_VAR.to_owned(), secret.clone());
    let session = Session::open(Options {
        config: Some(roadmap.clone()),
        ..options
    })?;
    let flags: Vec<String> = args.flaws.iter().map(|f| format!("--flaw {f}")).collect();
    let env = BTreeMap::from([
        ("SAMPLE_SERVICE_FLAGS".to_owned(), flags.join(" ")),
        (WEBHOOK_SECRET_VAR.to_owned(), secret),
    ]);
    // Default parallelism: the roadmap marks its disruptive gates `exclusive`.
    let run = RunArgs {
        names: Vec::new(),
        execution: crate::cli::Execution {
            jobs: None,
            grace: Duration::from_secs(5),
        },
        no_cache: false,
        changed: false,
        explain: false,
    };
    let code = super::run::execute(&session, &run, env)?;
    if code == exit::INTERRUPTED {
        return Ok(code);
    }
    println!();
    let code = super::status::show(&session, Format::Table)?;
    println!(
        "\nexplain any gate: phasegate -c {} why GATE",
        std::path::absolute(&roadmap).unwrap_or(roadmap).display()
    );
    Ok(code)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn each_demo_gets_a_new_private_directory() {
        let (a, b) = (super::fresh_dir().unwrap(), super::fresh_dir().unwrap());
        assert_ne!(a, b);
        for dir in [&a, &b] {
            let meta = std::fs::symlink_metadata(dir).unwrap();
            assert!(meta.is_dir(), "a real directory, not a link");
            assert_eq!(meta.permissions().mode() & 0o777, 0o700);
            std::fs::remove_dir(dir).unwrap();
        }
    }
}
