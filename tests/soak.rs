//! Bounded under load (issue 11, item 7): callers open sessions faster than they end against a
//! table of 200. The table never holds more than its cap, every caller over it gets the polite
//! busy END (never a timeout or an error), and once the load stops and the sessions expire (a
//! one-second idle time) new callers are served again.
//!
//! It runs 4 s under `cargo test`; `DAFTAR_SOAK_SECS=600 cargo test --release --test soak --
//! --nocapture` runs it longer and prints the process's resident memory (the server is in this
//! process) every 10 s, to see that it stays flat at the cap; `DAFTAR_SOAK_CAP` (200) and
//! `DAFTAR_SOAK_IDLE_S` (1) set the table's cap and idle time.

mod common;

use common::TestServer;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const T: &str = "*4*1420#";
const CALLERS: u64 = 6;

/// What the load saw.
#[derive(Default)]
struct Tally {
    served: AtomicU64,
    busy: AtomicU64,
    /// The most sessions `/metrics` ever showed.
    most: AtomicU64,
}

/// A setting of the run from the environment, else its default.
fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// This process's resident memory in kB (`VmRSS`), or 0 where `/proc` has none.
fn rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The busy END's words in Persian (`tamin`'s default locale).
fn busy_words() -> String {
    let path = common::menus_dir().join("common.fa.toml");
    let table: toml::Table =
        toml::from_str(&std::fs::read_to_string(path).expect("words")).expect("toml");
    table["error"]["busy"].as_str().expect("busy").to_string()
}

/// `daftar_sessions_live` from `/metrics`.
fn live(server: &TestServer) -> u64 {
    let (_, metrics) = server.get("/metrics");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("daftar_sessions_live "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// One caller after another, each opening a session it never finishes, until `stop`.
fn open_sessions(server: &TestServer, caller: u64, stop: &AtomicBool, tally: &Tally) {
    let busy = busy_words();
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let phone = format!("9891{caller}{n:07}");
        let screen = server.at(&format!("{caller}-{n}"), T, &phone, "");
        assert_eq!(screen.status, 200, "{screen:?}");
        if screen.is_con() {
            tally.served.fetch_add(1, Ordering::Relaxed);
        } else {
            assert_eq!(
                (screen.kind.as_str(), screen.text.as_str()),
                ("END", busy.as_str())
            );
            tally.busy.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Watches the table's size until `stop`, and the memory when the run is long.
fn watch(server: &TestServer, stop: &AtomicBool, tally: &Tally) {
    let started = Instant::now();
    let mut printed = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        tally.most.fetch_max(live(server), Ordering::Relaxed);
        if printed.elapsed() >= Duration::from_secs(10) {
            printed = Instant::now();
            eprintln!(
                "soak {:>4} s: VmRSS {} kB, served {}, busy {}, table {}",
                started.elapsed().as_secs(),
                rss_kb(),
                tally.served.load(Ordering::Relaxed),
                tally.busy.load(Ordering::Relaxed),
                live(server)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn sessions_opened_faster_than_they_end_stay_within_the_cap_and_recover() {
    let cap = setting("DAFTAR_SOAK_CAP", 200);
    let server = TestServer::start_with(&[], |c| {
        c.sessions.max = cap as usize;
        c.sessions.idle_s = setting("DAFTAR_SOAK_IDLE_S", 1);
        c.sessions.sweep_ms = 100;
        // Every caller comes from 127.0.0.1 and is new: the table's cap is what is tested.
        c.limits = daftar::limits::LimitsConfig::off();
    });
    let (stop, tally) = (AtomicBool::new(false), Tally::default());
    let before = rss_kb();
    std::thread::scope(|scope| {
        for caller in 0..CALLERS {
            let (server, stop, tally) = (&server, &stop, &tally);
            scope.spawn(move || open_sessions(server, caller, stop, tally));
        }
        scope.spawn(|| watch(&server, &stop, &tally));
        std::thread::sleep(Duration::from_secs(setting("DAFTAR_SOAK_SECS", 4)));
        stop.store(true, Ordering::Relaxed);
    });
    let (served, busy) = (tally.served.into_inner(), tally.busy.into_inner());
    eprintln!(
        "soak: {served} served, {busy} busy, table at most {}, VmRSS {before} kB before, {} kB after",
        tally.most.load(Ordering::Relaxed),
        rss_kb()
    );
    assert!(busy > 0, "the load never reached the cap ({served} served)");
    assert!(served >= cap, "{served} served");
    let most = tally.most.into_inner();
    assert!(most <= cap, "the table held {most}, over its cap of {cap}");
    // Once the load is gone and the sessions have expired, a new caller is served.
    let deadline = Instant::now() + Duration::from_secs(30 + setting("DAFTAR_SOAK_IDLE_S", 1));
    let mut n = 0;
    loop {
        n += 1;
        let screen = server.at(&format!("after-{n}"), T, "989129990000", "");
        if screen.is_con() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still busy 30 s after the load: {screen:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
