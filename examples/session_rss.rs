//! Bytes of memory per live session: opens N sessions in the embedded memory store through the
//! engine (as the server does) and reads the process's RSS (`VmRSS` of `/proc/self/status`)
//! before and after.
//!
//! ```text
//! cargo run --release --example session_rss -- [N] [PATH]
//! ```
//!
//! N: sessions to open (default 1,000,000). PATH: the cumulative path each one steps to, on
//! Africa's Talking and the `tamin` service: `` (default) holds the first screen, `2` a question
//! open (with its resume offer). Each session keeps its last reply, as the server keeps it for a
//! retry. The allocator is mimalloc, as in the binary. Linux only (`/proc`).

use std::path::Path;
use std::sync::Arc;

use daftar::app::{build_core, load_checked_menus, open_parts};
use daftar::config::Config;
use daftar::feed::FeedSource;
use daftar::limits::LimitsConfig;
use daftar::sync::sync_once;
use daftar::turn::{Turn, TurnKind};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The resident set of this process in bytes.
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kb = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .expect("VmRSS in kB");
    kb * 1024
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).map_or(1_000_000, |s| s.parse().expect("N"));
    let path = args.get(2).cloned().unwrap_or_default();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::default();
    config.menus.dir = root.join("menus");
    config.store.db = dir.path().to_path_buf();
    config.limits = LimitsConfig::off();
    config.sessions.max = n + 1;
    let menus = load_checked_menus(&config).expect("menus load and check");
    let parts = open_parts(&config).expect("store opens");
    let feed = root.join("data/feed.ndjson");
    let source = FeedSource::parse(&feed.to_string_lossy()).expect("feed path");
    sync_once(&parts.store, &source).expect("feed syncs");
    let core = build_core(&config, &parts, menus).expect("engine builds");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dialect: Arc<str> = Arc::from("africastalking");
    let step = |i: usize| {
        let id = format!("rss-{i}");
        // A distinct phone per session, as on a real short code.
        let msisdn = format!("98912{i:07}");
        let turn = Turn::new(&dialect, &id, &msisdn, TurnKind::Path(path.clone()));
        rt.block_on(core.engine.step(&turn.dialled("*4*1420#")))
    };
    // One session first, so that the runtime, the menus and the first table pages are in the
    // baseline.
    let first = step(n);
    let before = rss_bytes();
    for i in 0..n {
        step(i);
    }
    let after = rss_bytes();
    let held = rt.block_on(core.engine.session_count());
    assert_eq!(held, n + 1, "every session held");
    println!(
        "{n} sessions at path {path:?} ({} reply of {} bytes): RSS {} MiB -> {} MiB, {:.0} bytes per session",
        if first.is_end() { "END" } else { "CON" },
        first.text().len(),
        before >> 20,
        after >> 20,
        (after - before) as f64 / n as f64
    );
}
