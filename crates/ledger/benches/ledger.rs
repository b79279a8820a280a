//! Ledger throughput: bulk append, verify, per-gate query and durable single appends.
//! Prints figures; never asserts a time. `PHASEGATE_BENCH_RECORDS` overrides the count.

use std::collections::BTreeMap;
use std::time::Instant;

use jiff::Timestamp;
use phasegate_ledger::{Entry, Key, Ledger, RUN_OPENED_VERSION, RunOpened, RunStatus};
use phasegate_model::{
    Finding, GateId, GitInfo, OutputEvidence, PhaseId, RECORD_VERSION, Record, Rule, Verdict,
};

const CHUNK: u64 = 10_000;
const GATES: u64 = 40;
const SINGLE: u64 = 2_000;

fn main() {
    let total: u64 = std::env::var("PHASEGATE_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let gates: Vec<GateId> = (0..GATES)
        .map(|g| GateId::new(format!("gate-{g:02}")).expect("valid id"))
        .collect();
    let key = Key::generate().expect("random key");

    let dir = tempfile::tempdir().expect("temp dir");
    let mut ledger = Ledger::open(dir.path()).expect("open ledger");
    // One run per chunk: each chunk is one append_batch transaction, then a signed head.
    let start = Instant::now();
    let mut written = 0;
    let mut run_no = 0;
    while written < total {
        let n = CHUNK.min(total - written);
        let run_id = format!("run-{run_no:05}");
        let mut batch = Vec::with_capacity(n as usize + 1);
        batch.push(Entry::RunOpened(run_opened(&run_id)));
        for i in written..written + n {
            batch.push(Entry::Record(sample(&run_id, &gates, i)));
        }
        ledger.append_batch(&batch).expect("append batch");
        ledger
            .close_run(&run_id, RunStatus::Completed, &key)
            .expect("close run");
        written += n;
        run_no += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "append: {total} records in {secs:.2} s = {:.0} records/s ({run_no} runs, batches of {CHUNK})",
        total as f64 / secs
    );
    let size = std::fs::metadata(dir.path().join(phasegate_ledger::LEDGER_FILE))
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "size: {:.1} MiB ({:.0} bytes/record, WAL excluded)",
        size as f64 / 1_048_576.0,
        size as f64 / total.max(1) as f64
    );

    let start = Instant::now();
    let v = ledger.verify().expect("verify");
    let secs = start.elapsed().as_secs_f64();
    assert!(
        v.is_ok(),
        "the benchmark ledger must verify: {:?}",
        v.broken
    );
    println!(
        "verify: {} records ({} entries, {} heads) in {secs:.2} s = {:.0} records/s",
        v.records,
        v.entries,
        v.runs_closed,
        v.records as f64 / secs
    );

    // The `status` path: verify_from with no checkpoint (the first status), then with the
    // checkpoint at the end (every later status with nothing new), then with 10 new records.
    let start = Instant::now();
    let (cold, checkpoint) = ledger.verify_from(None).expect("verify_from");
    let cold_secs = start.elapsed().as_secs_f64();
    assert!(cold.is_ok(), "{:?}", cold.broken);
    let checkpoint = checkpoint.expect("a checkpoint after a clean verify");
    let size = serde_json::to_vec(&checkpoint).map_or(0, |v| v.len());
    let start = Instant::now();
    let (warm, _) = ledger.verify_from(Some(&checkpoint)).expect("verify_from");
    let warm_secs = start.elapsed().as_secs_f64();
    assert!(warm.is_ok(), "{:?}", warm.broken);
    let run_id = "status-tail";
    let mut tail = vec![Entry::RunOpened(run_opened(run_id))];
    tail.extend((0..10).map(|i| Entry::Record(sample(run_id, &gates, i))));
    ledger.append_batch(&tail).expect("append tail");
    ledger
        .close_run(run_id, RunStatus::Completed, &key)
        .expect("close run");
    let start = Instant::now();
    let (tail_v, _) = ledger.verify_from(Some(&checkpoint)).expect("verify_from");
    let tail_secs = start.elapsed().as_secs_f64();
    assert!(tail_v.is_ok(), "{:?}", tail_v.broken);
    println!(
        "status verify: cold (no checkpoint) {cold_secs:.2} s; warm (checkpoint at the end) \
         {:.3} ms; 12 new entries after it {:.3} ms; checkpoint {size} bytes",
        warm_secs * 1000.0,
        tail_secs * 1000.0
    );

    let start = Instant::now();
    let latest = ledger.latest_per_gate().expect("latest per gate");
    println!(
        "latest_per_gate: {} records in {:.2} ms",
        latest.len(),
        start.elapsed().as_secs_f64() * 1000.0
    );
    drop(ledger);

    let dir = tempfile::tempdir().expect("temp dir");
    let mut ledger = Ledger::open(dir.path()).expect("open ledger");
    ledger.open_run(&run_opened("single")).expect("open run");
    let start = Instant::now();
    for i in 0..SINGLE {
        ledger
            .append_record(&sample("single", &gates, i))
            .expect("append record");
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "append_record: {SINGLE} records, one fsync'd transaction each, in {secs:.2} s = {:.0} records/s",
        SINGLE as f64 / secs
    );
}

fn run_opened(run_id: &str) -> RunOpened {
    RunOpened {
        v: RUN_OPENED_VERSION,
        run_id: run_id.to_owned(),
        started_at: Timestamp::now(),
        roadmap_sha256: "ab".repeat(32),
        selection: Vec::new(),
        git: Some(git()),
        host: "bench-host".to_owned(),
        tool_version: "0.1.0".to_owned(),
    }
}

fn git() -> GitInfo {
    GitInfo {
        commit: "3f2a9c0d1e4b5a6978877665544332211000ffee".to_owned(),
        branch: "main".to_owned(),
        dirty: false,
    }
}

/// A realistic record: a cargo-test-like gate with a ~300-byte excerpt and two measurements.
fn sample(run_id: &str, gates: &[GateId], i: u64) -> Record {
    let gate = gates[(i % gates.len() as u64) as usize].clone();
    let verdict = match i % 50 {
        0 => Verdict::Fail,
        1 => Verdict::Skipped,
        _ => Verdict::Pass,
    };
    let excerpt = format!(
        "   Compiling membership v0.3.1 (/srv/app)\n    Finished `test` profile in 41.2s\n     \
         Running unittests src/lib.rs (target/debug/deps/membership-{i:016x})\n\nrunning 128 \
         tests\ntest payments::callback_replay_is_idempotent ... ok\ntest auth::expired_token_refused \
         ... ok\n\ntest result: ok. 128 passed; 0 failed; 0 ignored; finished in 3.{:02}s\n",
        i % 100
    );
    Record {
        v: RECORD_VERSION,
        run_id: run_id.to_owned(),
        gate: gate.clone(),
        phases: vec![PhaseId::new("baseline").expect("valid id")],
        attempt: 1,
        max_attempts: 2,
        verdict,
        reason: (verdict != Verdict::Pass).then(|| "exited with status 101".to_owned()),
        rule: Rule {
            kind: "run".to_owned(),
            text: "cargo test --workspace --locked".to_owned(),
            timeout_ms: 600_000,
            cwd: None,
            env: BTreeMap::from([("RUST_BACKTRACE".to_owned(), "1".to_owned())]),
        },
        started_at: Timestamp::now(),
        duration_ms: 41_200 + i % 1000,
        exit_code: Some(if verdict == Verdict::Fail { 101 } else { 0 }),
        signal: None,
        timed_out: false,
        measurements: BTreeMap::from([
            ("duration_ms".to_owned(), (41_200 + i % 1000) as f64),
            ("tests".to_owned(), 128.0),
        ]),
        findings: if verdict == Verdict::Fail {
            vec![Finding {
                severity: None,
                code: "test-failed".to_owned(),
                message: "payments::callback_replay_is_idempotent failed".to_owned(),
                location: Some("src/payments.rs:212".to_owned()),
            }]
        } else {
            Vec::new()
        },
        output: Some(OutputEvidence {
            sha256: format!("{:064x}", i),
            bytes: 18_000 + i % 4096,
            log: format!("logs/{run_id}/{gate}.log"),
            excerpt,
            truncated: false,
        }),
        inputs_sha256: Some("cd".repeat(32)),
        roadmap_sha256: "ab".repeat(32),
        gate_sha256: "ef".repeat(32),
        git: Some(git()),
        host: "bench-host".to_owned(),
        tool_version: "0.1.0".to_owned(),
        approval: None,
        waiver: None,
        cache: None,
        coverage: None,
    }
}
