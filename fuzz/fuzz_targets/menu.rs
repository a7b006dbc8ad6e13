//! A service file and its words through the menu loader and the checker.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| daftar::fuzzing::menu(data));
