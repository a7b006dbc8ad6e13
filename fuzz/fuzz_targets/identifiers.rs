//! Every identifier validator on one text (and the round trip of what it accepts).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| daftar::fuzzing::identifiers(data));
