//! Canonical encoding: decode(encode(e)) == e, and the bytes are stable.

use phasegate_ledger::{
    Entry, HEAD_VERSION, Head, RUN_OPENED_VERSION, RunOpened, RunStatus, decode, encode,
};
use phasegate_model::{
    CacheInfo, CachedFrom, Finding, GateId, GitInfo, MANIFEST_VERSION, Manifest, OutputEvidence,
    PhaseId, RECORD_VERSION, Record, Rule, Verdict,
};
use proptest::prelude::*;

use crate::support::record;

fn id() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9._-]{0,12}"
}

fn text() -> impl Strategy<Value = String> {
    any::<String>()
}

fn time() -> impl Strategy<Value = jiff::Timestamp> {
    (0i64..4_000_000_000, 0i32..1_000_000_000)
        .prop_map(|(s, ns)| jiff::Timestamp::new(s, ns).unwrap())
}

fn git() -> impl Strategy<Value = Option<GitInfo>> {
    proptest::option::of(
        (text(), text(), any::<bool>()).prop_map(|(commit, branch, dirty)| GitInfo {
            commit,
            branch,
            dirty,
        }),
    )
}

fn verdict() -> impl Strategy<Value = Verdict> {
    prop_oneof![
        Just(Verdict::Pass),
        Just(Verdict::Fail),
        Just(Verdict::Error),
        Just(Verdict::Skipped)
    ]
}

fn finite() -> impl Strategy<Value = f64> {
    any::<f64>().prop_filter("finite", |v| v.is_finite())
}

fn digests() -> impl Strategy<Value = std::collections::BTreeMap<String, String>> {
    prop::collection::btree_map(text(), "[0-9a-f]{64}", 0..3)
}

/// A record's cache field: a ran attempt's manifest, or a cached record's pointer.
fn cache_strategy() -> impl Strategy<Value = CacheInfo> {
    let manifest = (
        digests(),
        digests(),
        prop::collection::btree_map(text(), proptest::option::of("[0-9a-f]{64}"), 0..3),
        prop::collection::btree_map(id(), "[0-9a-f]{64}", 0..3),
    )
        .prop_map(|(definition, files, env, needs)| Manifest {
            v: MANIFEST_VERSION,
            tool_version: "0.1.0".into(),
            definition,
            files,
            env,
            needs: needs
                .into_iter()
                .map(|(k, v)| (GateId::new(k).unwrap(), v))
                .collect(),
        });
    let from = (any::<u64>(), text(), time(), any::<u64>()).prop_map(
        |(seq, run_id, started_at, duration_ms)| CachedFrom {
            seq,
            entry_hash: "66".repeat(32),
            run_id,
            started_at,
            duration_ms,
        },
    );
    (
        "[0-9a-f]{64}",
        proptest::option::of(manifest),
        prop::collection::vec(text(), 0..2),
        proptest::option::of(from),
    )
        .prop_map(|(key, manifest, modified, from)| CacheInfo {
            key,
            manifest,
            modified,
            from,
        })
}

fn record_strategy() -> impl Strategy<Value = Record> {
    let head = (
        id(),
        id(),
        prop::collection::vec(id(), 0..3),
        any::<u32>(),
        verdict(),
        proptest::option::of(text()),
        (text(), any::<u64>(), proptest::option::of(text())),
        prop::collection::btree_map(text(), text(), 0..3),
        time(),
    );
    let tail = (
        any::<u64>(),
        proptest::option::of(any::<i32>()),
        proptest::option::of(any::<i32>()),
        any::<bool>(),
        prop::collection::btree_map(text(), finite(), 0..4),
        prop::collection::vec((text(), text(), proptest::option::of(text())), 0..3),
        proptest::option::of((text(), any::<u64>(), text(), any::<bool>())),
        git(),
        text(),
        proptest::option::of(cache_strategy()),
    );
    (head, tail).prop_map(
        |(
            (
                run_id,
                gate,
                phases,
                attempt,
                verdict,
                reason,
                (rule_text, timeout_ms, cwd),
                env,
                started_at,
            ),
            (
                duration_ms,
                exit_code,
                signal,
                timed_out,
                measurements,
                findings,
                output,
                git,
                host,
                cache,
            ),
        )| Record {
            v: RECORD_VERSION,
            run_id,
            gate: GateId::new(gate).unwrap(),
            phases: phases
                .into_iter()
                .map(|p| PhaseId::new(p).unwrap())
                .collect(),
            attempt,
            max_attempts: attempt.saturating_add(1),
            verdict,
            reason,
            rule: Rule {
                kind: "run".to_owned(),
                text: rule_text,
                timeout_ms,
                cwd,
                env,
            },
            started_at,
            duration_ms,
            exit_code,
            signal,
            timed_out,
            measurements,
            findings: findings
                .into_iter()
                .map(|(code, message, location)| Finding {
                    severity: None,
                    code,
                    message,
                    location,
                })
                .collect(),
            output: output.map(|(excerpt, bytes, log, truncated)| OutputEvidence {
                sha256: "00".repeat(32),
                bytes,
                log,
                excerpt,
                truncated,
            }),
            inputs_sha256: None,
            roadmap_sha256: "11".repeat(32),
            gate_sha256: "22".repeat(32),
            git,
            host,
            tool_version: "0.1.0".to_owned(),
            approval: None,
            waiver: None,
            cache,
            coverage: None,
        },
    )
}

fn entry_strategy() -> impl Strategy<Value = Entry> {
    let opened = (
        id(),
        time(),
        prop::collection::vec(text(), 0..3),
        git(),
        text(),
        text(),
    )
        .prop_map(|(run_id, started_at, selection, git, host, tool_version)| {
            Entry::RunOpened(RunOpened {
                v: RUN_OPENED_VERSION,
                run_id,
                started_at,
                roadmap_sha256: "33".repeat(32),
                selection,
                git,
                host,
                tool_version,
            })
        });
    let head = (
        id(),
        any::<bool>(),
        time(),
        any::<u64>(),
        proptest::option::of(any::<u64>()),
        proptest::option::of(any::<u64>()),
        text(),
    )
        .prop_map(
            |(run_id, done, closed_at, records, first_seq, last_seq, sig)| {
                Entry::Head(Head {
                    v: HEAD_VERSION,
                    run_id,
                    status: if done {
                        RunStatus::Completed
                    } else {
                        RunStatus::Interrupted
                    },
                    closed_at,
                    records,
                    first_seq,
                    last_seq,
                    root: "44".repeat(32),
                    key_id: "0123456789abcdef".to_owned(),
                    public_key: "55".repeat(32),
                    signature: sig,
                })
            },
        );
    prop_oneof![opened, record_strategy().prop_map(Entry::Record), head]
}

proptest! {
    #[test]
    fn decode_inverts_encode(entry in entry_strategy()) {
        let bytes = encode(&entry).unwrap();
        let back = decode(&bytes).unwrap();
        prop_assert_eq!(&back, &entry);
        // Canonical: encoding the decoded entry gives the same bytes.
        prop_assert_eq!(encode(&back).unwrap(), bytes);
    }
}

#[test]
fn encoding_starts_with_the_type_and_keeps_field_order() {
    let bytes = encode(&Entry::Record(record("r", "test", Verdict::Fail, 0))).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert!(
        text.starts_with(r#"{"type":"record","v":1,"run_id":"r","gate":"test","#),
        "{text}"
    );
    assert!(
        text.contains(r#""started_at":"2025-06-15T15:06:40Z""#),
        "{text}"
    );
}

#[test]
fn decode_rejects_what_encode_never_writes() {
    for bad in [
        &b""[..],
        br#"{"v":1,"type":"record"}"#,
        br#"{"type":"nope","v":1}"#,
        br#"{"type":"record"}"#,
        br#"{"type":"record","v":1}"#,
    ] {
        assert!(decode(bad).is_err(), "{}", String::from_utf8_lossy(bad));
    }
}

#[test]
fn a_record_from_before_the_cache_decodes_and_keeps_its_bytes() {
    // Records written before the `cache` field existed have no such key: they must decode,
    // and encode back to the very bytes their hash was computed over.
    let old = encode(&Entry::Record(record("r", "test", Verdict::Pass, 0))).unwrap();
    let text = String::from_utf8(old.clone()).unwrap();
    assert!(!text.contains("\"cache\""), "{text}");
    let back = decode(&old).unwrap();
    assert_eq!(encode(&back).unwrap(), old);
}

#[test]
fn a_record_from_before_coverage_keeps_its_bytes_and_one_with_it_round_trips() {
    // The exact bytes of a version 1 record written before `coverage` existed: its hash was
    // computed over them, so decoding and encoding again must give them back unchanged.
    let old = br#"{"type":"record","v":1,"run_id":"20261101T000000Z-0a1b2c3d","gate":"ready","phases":["p"],"attempt":1,"max_attempts":1,"verdict":"pass","reason":null,"rule":{"kind":"probe","text":"probe health","timeout_ms":600000,"cwd":null,"env":{}},"started_at":"2026-11-01T00:00:00Z","duration_ms":12,"exit_code":null,"signal":null,"timed_out":false,"measurements":{"requests":2.0},"findings":[],"output":null,"inputs_sha256":null,"roadmap_sha256":"1111111111111111111111111111111111111111111111111111111111111111","gate_sha256":"2222222222222222222222222222222222222222222222222222222222222222","git":null,"host":"h","tool_version":"0.1.0"}"#;
    let back = decode(old).unwrap();
    let Entry::Record(r) = &back else {
        panic!("{back:?}")
    };
    assert_eq!(r.coverage, None);
    assert_eq!(encode(&back).unwrap(), old.to_vec());
    let mut with = r.clone();
    with.coverage = Some(phasegate_model::Coverage {
        exercised: vec!["live".into(), "ready".into()],
        skipped: vec![phasegate_model::SkippedRule {
            rule: "dependency".into(),
            reason: "no fault hook: add `fault` and `restore`".into(),
        }],
    });
    let bytes = encode(&Entry::Record(with.clone())).unwrap();
    assert!(bytes.ends_with(br#""coverage":{"exercised":["live","ready"],"skipped":[{"rule":"dependency","reason":"no fault hook: add `fault` and `restore`"}]}}"#));
    assert_eq!(decode(&bytes).unwrap(), Entry::Record(with));
}
