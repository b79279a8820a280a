//! Integration tests of `phasegate-markdown` (one binary: linking is the slow part).

mod markdown;
