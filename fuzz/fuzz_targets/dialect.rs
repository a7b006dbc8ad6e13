//! Every dialect's parser (and its replies) on one request; the input's layout is
//! `daftar::fuzzing::Dialects::request`'s.
#![no_main]

use std::sync::OnceLock;

use daftar::fuzzing::Dialects;
use libfuzzer_sys::fuzz_target;

/// The dialects declared in the README and the tests, beside the built-in ones.
const DECLARED: [&str; 3] = [
    include_str!("../../tests/fixtures/declared/arkesel-like.toml"),
    include_str!("../../tests/fixtures/declared/textline.toml"),
    include_str!("../../tests/fixtures/declared/pathway.toml"),
];

fuzz_target!(|data: &[u8]| {
    static DIALECTS: OnceLock<Dialects> = OnceLock::new();
    DIALECTS
        .get_or_init(|| Dialects::new(&DECLARED))
        .request(data);
});
