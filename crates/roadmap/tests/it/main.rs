//! Integration tests of `phasegate-roadmap` (one binary: linking is the slow part).

mod diagnostics;
mod load;
mod roundtrip;
mod rules;
