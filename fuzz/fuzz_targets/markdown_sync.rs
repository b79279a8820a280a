//! Any markdown: import gives a roadmap that parses, and syncing with no evidence changes
//! only single bytes right after a `[`, keeping the length.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(md) = std::str::from_utf8(data) else {
        return;
    };
    let imported = phasegate_markdown::import(md, "ROADMAP.md");
    let roadmap = phasegate_roadmap::parse(&imported.toml, "draft.toml")
        .expect("an imported draft always parses");
    let card = phasegate_model::evaluate(&roadmap, [], jiff::Timestamp::UNIX_EPOCH);
    let synced = phasegate_markdown::sync(md, &roadmap, &card);
    assert_eq!(synced.text.len(), md.len());
    for (i, (a, b)) in md.bytes().zip(synced.text.bytes()).enumerate() {
        if a != b {
            assert!(
                i > 0 && md.as_bytes()[i - 1] == b'[',
                "a changed byte not inside a box at {i}"
            );
        }
    }
});
