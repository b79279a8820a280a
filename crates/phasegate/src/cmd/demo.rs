use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use phasegate_sample_service::Flaw;

use crate::cli::{DemoArgs, Format, Global, RunArgs};
use crate::project::Project;
use crate::{Error, exit};

/// The bundled roadmap, so `phasegate demo` works from any directory.
const ROADMAP: &str = include_str!("../../../../examples/membership/phasegate.toml");

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
    std::fs::create_dir_all(&dir)
        .map_err(Error::io(format!("cannot create `{}`", dir.display())))?;
    let roadmap = dir.join("phasegate.toml");
    std::fs::write(&roadmap, ROADMAP)
        .map_err(Error::io(format!("cannot write `{}`", roadmap.display())))?;
    // A fresh database each time, also when a previous demo was interrupted mid-fault.
    for stale in [
        "membership.db",
        "membership.db.away",
        "membership.db-wal",
        "membership.db-shm",
    ] {
        let _ = std::fs::remove_file(dir.join(stale));
    }
    let flaws = if args.flaws.is_empty() {
        "none".to_owned()
    } else {
        args.flaws.join(", ")
    };
    eprintln!("phasegate demo: membership roadmap against the sample service (flaws: {flaws})");
    eprintln!("roadmap, database and evidence in {}", dir.display());

    let project = Project::load_from(&roadmap, global)?;
    let flags: Vec<String> = args.flaws.iter().map(|f| format!("--flaw {f}")).collect();
    let env = BTreeMap::from([("SAMPLE_SERVICE_FLAGS".to_owned(), flags.join(" "))]);
    // Default parallelism: the roadmap marks its disruptive gates `exclusive`.
    let run = RunArgs {
        names: Vec::new(),
        jobs: None,
        grace: Duration::from_secs(5),
    };
    let code = super::run::execute(&project, &run, env)?;
    if code == exit::INTERRUPTED {
        return Ok(code);
    }
    println!();
    let code = super::status::show(&project, Format::Table)?;
    println!(
        "\nexplain any gate: phasegate -c {} why GATE",
        project_path(&roadmap).display()
    );
    Ok(code)
}

fn project_path(p: &std::path::Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}
