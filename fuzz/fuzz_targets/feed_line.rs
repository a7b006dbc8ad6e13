//! One feed line through the feed's line parser.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| daftar::fuzzing::feed_line(data));
