//! Any bytes: decoding a ledger entry never panics, and what decodes re-encodes to bytes
//! that decode to the same entry.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(entry) = phasegate_ledger::decode(data) {
        let bytes = phasegate_ledger::encode(&entry).expect("a decoded entry encodes");
        let again = phasegate_ledger::decode(&bytes).expect("an encoded entry decodes");
        assert_eq!(phasegate_ledger::encode(&again).expect("encodes"), bytes);
    }
});
