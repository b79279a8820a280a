//! Wall time of `phasegate run` on 40 gates of `true` versus a plain `sh` script running the
//! same 40 commands, measured interleaved in one run. Prints figures; asserts nothing.
//!
//! `cargo bench -p phasegate --bench run40` (PHASEGATE_BENCH_RUNS overrides the 15 rounds).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const GATES: usize = 40;

fn main() {
    let rounds: usize = std::env::var("PHASEGATE_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    let dir = tempfile::tempdir().expect("temp dir");
    write_workspace(dir.path());
    let phasegate = env!("CARGO_BIN_EXE_phasegate");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    let mut columns: Vec<(&str, Vec<String>, Vec<Duration>)> = vec![
        (
            "sh script (sequential)",
            vec!["sh".into(), "run.sh".into()],
            Vec::new(),
        ),
        (
            "phasegate run --jobs 1",
            vec![phasegate.into(), "run".into(), "--jobs".into(), "1".into()],
            Vec::new(),
        ),
        (
            "phasegate run (default jobs)",
            vec![phasegate.into(), "run".into()],
            Vec::new(),
        ),
    ];
    // Warm-up: page cache, ledger and key creation.
    for (_, argv, _) in &columns {
        time(dir.path(), argv);
    }
    // Interleaved rounds, so machine noise hits every column alike.
    for _ in 0..rounds {
        for (_, argv, times) in columns.iter_mut() {
            times.push(time(dir.path(), argv));
        }
    }
    println!("{GATES} gates of `true`, {rounds} interleaved rounds, {cores} cores");
    println!(
        "{:<32} {:>10} {:>10} {:>10}",
        "column", "median ms", "min ms", "x sh"
    );
    let sh_median = median(&mut columns[0].2.clone());
    for (name, _, times) in &mut columns {
        let med = median(times);
        let min = times.iter().min().copied().unwrap_or_default();
        println!(
            "{name:<32} {:>10.1} {:>10.1} {:>10.2}",
            ms(med),
            ms(min),
            med.as_secs_f64() / sh_median.as_secs_f64()
        );
    }
    let records = Command::new(phasegate)
        .args(["evidence", "verify"])
        .current_dir(dir.path())
        .output()
        .expect("verify runs");
    print!(
        "ledger after the benchmark: {}",
        String::from_utf8_lossy(&records.stdout)
    );
}

fn write_workspace(dir: &Path) {
    let mut toml = String::from("[project]\nname = \"bench\"\n\n");
    let mut sh = String::from("#!/bin/sh\nset -e\n");
    let mut ids = Vec::new();
    for i in 0..GATES {
        toml.push_str(&format!("[gates.g{i:02}]\nrun = \"true\"\n\n"));
        sh.push_str("sh -c true\n");
        ids.push(format!("\"g{i:02}\""));
    }
    toml.push_str(&format!(
        "[[phase]]\nid = \"all\"\ngates = [{}]\n",
        ids.join(", ")
    ));
    std::fs::write(dir.join("phasegate.toml"), toml).expect("write roadmap");
    std::fs::write(dir.join("run.sh"), sh).expect("write script");
}

fn time(dir: &Path, argv: &[String]) -> Duration {
    let start = Instant::now();
    let status = Command::new(&argv[0])
        .args(&argv[1..])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("command runs");
    let elapsed = start.elapsed();
    assert!(status.success(), "{argv:?} failed");
    elapsed
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
