//! Any text: parsing never panics, and every problem points inside the text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = phasegate_roadmap::parse(text, "fuzz.toml") {
        for p in e.iter() {
            for span in p.spans() {
                assert!(span.end <= text.len(), "a span past the end of the text");
            }
        }
    }
});
