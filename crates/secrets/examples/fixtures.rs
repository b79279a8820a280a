//! Writes the labelled fixture set the tests use, with EXPECTED.tsv and DECOYS.tsv, for
//! `bench/secrets/run.sh` (and `secrets-bench.sh`'s recall and precision table):
//!
//!     cargo run -p phasegate-secrets --example fixtures -- DIR [SEED]

#[path = "../tests/it/fixture_set.rs"]
mod fixture_set;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next() else {
        eprintln!("usage: fixtures DIR [SEED]");
        std::process::exit(2);
    };
    let seed = args.next().and_then(|s| s.parse().ok()).unwrap_or(7);
    let dir = std::path::Path::new(&dir);
    let (planted, decoys) = fixture_set::write(dir, seed);
    let (expected, decoy) = fixture_set::labels(&planted, &decoys);
    std::fs::write(dir.join("EXPECTED.tsv"), expected).expect("writable DIR");
    std::fs::write(dir.join("DECOYS.tsv"), decoy).expect("writable DIR");
    println!(
        "{} planted, {} decoys in {}",
        planted.len(),
        decoys.len(),
        dir.display()
    );
}
