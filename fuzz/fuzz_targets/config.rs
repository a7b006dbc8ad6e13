//! A configuration file through the loader, its checks and the dialect sections.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| daftar::fuzzing::config(data));
