//! A cached pass as each renderer shows it, and `run --explain` / `why`'s cache line.

use std::collections::BTreeMap;

use phasegate_model::{CacheDecision, CacheInfo, CachedFrom, Change, GateId, How, Verdict};
use phasegate_report::{run_explain, run_table, status_table, why, why_cache};

use crate::fixture::{ago, ledger, now, record, roadmap};

fn from() -> CachedFrom {
    CachedFrom {
        seq: 3,
        entry_hash: format!("{:064x}", 3),
        run_id: "r-2".into(),
        started_at: ago(60),
        duration_ms: 125_400,
    }
}

/// The fixture's ledger, then a run that reused `build`'s evidence.
fn cached_ledger() -> (phasegate_model::Roadmap, crate::fixture::Ledger) {
    let rm = roadmap();
    let mut l = ledger(&rm);
    let mut r = record(&rm, "build", "r-3", Verdict::Pass, ago(1), 0);
    r.cache = Some(CacheInfo {
        key: "k1".repeat(32),
        manifest: None,
        modified: vec![],
        from: Some(from()),
    });
    l.push(r);
    (rm, l)
}

#[test]
fn a_cached_pass_in_the_run_table_the_status_table_and_why() {
    let (rm, l) = cached_ledger();
    let run = run_table(&[l.0.last().unwrap().0.clone()], Some(100));
    assert!(
        run.contains("cached") && run.contains("cached from evidence #3"),
        "{run}"
    );
    assert!(run.contains("gates: 1 pass (1 cached), 0 fail"), "{run}");
    let card = l.card(&rm);
    let status = status_table(&card, Some(160));
    assert!(
        status.contains("pass (cached from evidence #3, 1h ago)"),
        "{status}"
    );
    let text = why(
        rm.gate("build").unwrap(),
        card.gate("build").unwrap(),
        &l.history("build"),
        now(),
    );
    assert!(
        text.contains(
            "  cached:   the gate did not run; its result is evidence #3 (run r-2, 1h ago)"
        ),
        "{text}"
    );
}

#[test]
fn explain_and_why_say_what_the_cache_did_and_why() {
    let build = GateId::new("build").unwrap();
    let test = GateId::new("test").unwrap();
    let docs = GateId::new("docs").unwrap();
    let decisions = BTreeMap::from([
        (build.clone(), CacheDecision::Hit(from())),
        (
            test.clone(),
            CacheDecision::Changed(vec![
                Change::Env {
                    name: "MODE".into(),
                    how: How::Added,
                },
                Change::Need {
                    gate: build,
                    how: How::Changed,
                },
                Change::File {
                    path: "src/a.rs".into(),
                    how: How::Removed,
                },
            ]),
        ),
        (
            docs,
            CacheDecision::NotCacheable("it declares no `inputs`".into()),
        ),
    ]);
    snapshot!(run_explain(&decisions, now()));
    assert_eq!(
        why_cache(&CacheDecision::Hit(from()), now()),
        "  cache:    unchanged since evidence #3 (1h ago): a run reuses it\n"
    );
    assert_eq!(
        why_cache(&CacheDecision::Forced, now()),
        "  cache:    a run would run it: --no-cache\n"
    );
}
