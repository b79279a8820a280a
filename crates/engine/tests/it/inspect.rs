//! Reading evidence back: why, the entry list, one entry, verify, export.

use crate::support::{Project, one_phase, run};

#[test]
fn why_explains_from_the_latest_records() {
    let p = Project::new(&one_phase(&[("a", "run = \"echo out; exit 2\"")]));
    let s = p.session();
    run(&s, &[]);
    run(&s, &[]);
    let why = s.why("a").unwrap();
    assert_eq!(why.history.len(), 2);
    assert_eq!(why.history[0].exit_code, Some(2));
    assert!(why.status.reason.contains("exit"), "{}", why.status.reason);
    let e = s.why("b").unwrap_err();
    assert!(e.is_usage(), "{e}");
}

#[test]
fn entries_show_export_and_verify_agree() {
    let p = Project::new(&one_phase(&[("a", "run = \"true\"")]));
    let s = p.session();
    assert!(s.entries(None).unwrap().is_empty());
    assert!(s.entry_json(1).unwrap().is_none());
    run(&s, &[]);
    let rows = s.entries(None).unwrap();
    // run opened, the record, the head
    assert_eq!(rows.len(), 3);
    assert_eq!(s.entries(Some(1)).unwrap().len(), 1);
    let mut out = Vec::new();
    assert_eq!(s.export_jsonl(&mut out).unwrap(), 3);
    assert_eq!(String::from_utf8(out).unwrap().lines().count(), 3);
    let v = s.verify().unwrap();
    assert!(v.is_ok() && v.entries == 3, "{v:?}");
}
