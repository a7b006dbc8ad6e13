//! Thousands of random sessions through the real engine over the sample store: random keys,
//! identifiers right and wrong, Persian digits, garbage, navigation, hops skipped and repeated.
//! Every reply must be a screen within its budget, never empty, never a panic.

mod common;

use daftar::app::{build_core, open_parts};
use daftar::config::Config;
use daftar::text::gsm7::fits;
use daftar::turn::{Reply, Turn, TurnKind};
use std::sync::Arc;

/// A small deterministic generator (xorshift64*), so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const INPUTS: &[&str] = &[
    "1",
    "2",
    "3",
    "9",
    "0",
    "00",
    "98",
    "4",
    "",
    " ",
    "*",
    "#",
    "abc",
    "۱",
    "۲",
    "٣",
    "0012345679",
    "0012345678",
    "12345679",
    "۰۰۱۲۳۴۵۶۷۹",
    "0010000119",
    "0030000017",
    "1111111111",
    "123456789012",
    "850714300018",
    "900220400020",
    "850714300019",
    "92010130099",
    "😀",
    "ДА",
    "99999999999999999999",
    "-",
    "0\u{0}1",
];
const PHONES: &[&str] = &[
    "989120000001",
    "989120000007",
    "77010000001",
    "989129999999",
];
const CODES: &[&str] = &[
    "*4*1420#",
    "*1406#",
    "*4*1420*1#",
    "*1406*1*850714300018#",
    "*1#",
];

#[test]
fn random_sessions_always_get_a_screen_within_budget() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::default();
    config.store.db = dir.path().join("db");
    config.store.cache_mb = 16;
    config.menus.dir = common::menus_dir();
    // Four phones step 3,000 sessions in seconds: far beyond what one person does, and what
    // the limits hold back (tests/limits.rs); this test is of the walk alone.
    config.limits = daftar::limits::LimitsConfig::off();
    let parts = open_parts(&config).expect("store");
    let feed = daftar::feed::FeedSource::parse(common::bin::sample_feed().to_str().expect("path"))
        .expect("feed");
    daftar::sync::sync_once(&parts.store, &feed).expect("sample feed syncs");
    let menus = daftar::app::load_checked_menus(&config).expect("menus");
    let engine = build_core(&config, &parts, menus).expect("engine").engine;
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let dialect: Arc<str> = Arc::from("africastalking");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut ends, mut continues) = (0, 0);
    for session in 0..3_000 {
        let phone = rng.pick(PHONES);
        let code = rng.pick(CODES);
        let mut path = String::new();
        for hop in 0..(rng.next() % 9) {
            if hop > 0 || rng.next().is_multiple_of(2) {
                let input = rng.pick(INPUTS);
                path = if path.is_empty() && hop == 0 {
                    input.to_string()
                } else {
                    format!("{path}*{input}")
                };
            }
            let id = format!("r{session}");
            let turn = Turn::new(&dialect, &id, phone, TurnKind::Path(path.clone())).dialled(code);
            let reply = runtime.block_on(engine.step(&turn));
            assert!(
                !reply.text().is_empty(),
                "{code} {phone} {path:?}: empty reply"
            );
            assert!(
                fits(reply.text(), config.screen),
                "{code} {phone} {path:?}: over budget: {:?}",
                reply.text()
            );
            match reply {
                Reply::End(_) | Reply::Ack => {
                    ends += 1;
                    break;
                }
                Reply::Continue(_) => continues += 1,
            }
        }
    }
    assert!(
        ends > 500 && continues > 500,
        "{ends} ends, {continues} continues"
    );
}
