//! `phasegate demo`: the bundled membership roadmap against the bundled sample service.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use phasegate_engine::{Error, Options, Session};
use phasegate_sample_service::Flaw;

use crate::cli::{DemoArgs, Format, Global, RunArgs};
use crate::exit;

/// The bundled roadmap, so `phasegate demo` works from any directory.
const ROADMAP: &str = include_str!("../../demo/membership.toml");

/// Files of the sample service's database: removed so each demo starts afresh, also after
/// a previous demo was interrupted mid-fault.
const STALE: [&str; 4] = [
    "membership.db",
    "membership.db.away",
    "membership.db-wal",
    "membership.db-shm",
];

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
        None => std::env::temp_dir().join(format!(
            "phasegate-demo-{}",
            jiff::Timestamp::now().strftime("%Y%m%dT%H%M%S")
        )),
    };
    let roadmap = phasegate_engine::write_roadmap(&dir, ROADMAP, &STALE)?;
    let flaws = if args.flaws.is_empty() {
        "none".to_owned()
    } else {
        args.flaws.join(", ")
    };
    eprintln!("phasegate demo: membership roadmap against the sample service (flaws: {flaws})");
    eprintln!("roadmap, database and evidence in {}", dir.display());

    let session = Session::open(Options {
        config: Some(roadmap.clone()),
        ..super::options(global)?
    })?;
    let flags: Vec<String> = args.flaws.iter().map(|f| format!("--flaw {f}")).collect();
    let env = BTreeMap::from([("SAMPLE_SERVICE_FLAGS".to_owned(), flags.join(" "))]);
    // Default parallelism: the roadmap marks its disruptive gates `exclusive`.
    let run = RunArgs {
        names: Vec::new(),
        jobs: None,
        grace: Duration::from_secs(5),
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
