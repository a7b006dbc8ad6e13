//! What one engine step costs in-process, per step kind: heap allocations (a counting global
//! allocator over mimalloc, the binary's allocator) and, under callgrind, instructions.
//!
//! ```text
//! cargo run --release --example step_cost -- KIND STEPS [DB]
//! valgrind --tool=callgrind cargo-built-example KIND STEPS [DB]
//! ```
//!
//! KIND: `first` (the first screen of a fresh session), `inquiry` (a general inquiry
//! `2*<code>` replayed on a fresh session), `steps` (one session step by step: ``, `2`,
//! `2*<code>`; the figure is per step), `retry` (the same whole path again). DB: a store
//! already synced (`daftar sync`); without it, a temp-dir store synced from the sample feed.
//! `STEP_CODES=a,b,c` asks for those national codes (a generated store's) instead of the
//! sample feed's.
//! Instructions per step are the difference of two callgrind runs with different STEPS
//! divided by the difference of STEPS: the set-up cancels out. The per-caller limits are off,
//! so one phone can take every step.

use std::alloc::{GlobalAlloc, Layout};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use daftar::app::{build_core, load_checked_menus, open_parts, Core, Parts};
use daftar::config::Config;
use daftar::feed::FeedSource;
use daftar::limits::LimitsConfig;
use daftar::sync::sync_once;
use daftar::turn::{Turn, TurnKind};

/// mimalloc, counted: each allocation (and reallocation) adds one.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static ALLOCATED_BYTES: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        ALLOCATED_BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        unsafe { mimalloc::MiMalloc.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        ALLOCATED_BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
        unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const DIALECT: &str = "africastalking";
const TAMIN: &str = "*4*1420#";
/// A provider's phone that holds no record (the general inquiry's asker).
const PROVIDER: &str = "989129999999";
/// The sample feed's codes (covered, expired, suspended, ended, not yet started, dependent,
/// disabled son, no record): on a generated store most are absent, a lookup all the same.
const CODES: &[&str] = &[
    "0012345679",
    "0030000017",
    "0040000011",
    "0050000012",
    "0060000015",
    "0010000119",
    "0020000111",
    "0099999994",
];

fn turn(session_id: &str, path: &str) -> Turn {
    Turn::new(
        &Arc::from(DIALECT),
        session_id,
        PROVIDER,
        TurnKind::Path(path.to_string()),
    )
    .dialled(TAMIN)
}

/// The codes asked for: `STEP_CODES` (comma-separated, a generated store's), else [`CODES`].
fn codes() -> Vec<String> {
    match std::env::var("STEP_CODES") {
        Ok(list) => list.split(',').map(str::to_string).collect(),
        Err(_) => CODES.iter().map(|c| c.to_string()).collect(),
    }
}

/// The turns of `n` steps of `kind`.
fn turns(kind: &str, n: usize) -> Vec<Turn> {
    let codes = codes();
    let code = |i: usize| codes[i % codes.len()].as_str();
    match kind {
        "first" => (0..n).map(|i| turn(&format!("s{i}"), "")).collect(),
        "inquiry" => (0..n)
            .map(|i| turn(&format!("s{i}"), &format!("2*{}", code(i))))
            .collect(),
        "steps" => (0..n)
            .map(|i| {
                let path = match i % 3 {
                    0 => String::new(),
                    1 => "2".to_string(),
                    _ => format!("2*{}", code(i / 3)),
                };
                turn(&format!("s{}", i / 3), &path)
            })
            .collect(),
        "retry" => (0..n).map(|_| turn("s", "2*0012345679")).collect(),
        other => panic!("unknown kind {other:?}: first, inquiry, steps or retry"),
    }
}

fn core(db: Option<PathBuf>) -> (Core, Parts, Option<tempfile::TempDir>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut config = Config::default();
    config.menus.dir = root.join("menus");
    config.limits = LimitsConfig::off();
    config.sessions.max = 2_000_000;
    let temp = db.is_none().then(|| tempfile::tempdir().expect("temp dir"));
    config.store.db = db.unwrap_or_else(|| temp.as_ref().expect("temp").path().to_path_buf());
    let menus = load_checked_menus(&config).expect("menus load and check");
    let parts = open_parts(&config).expect("store opens");
    if temp.is_some() {
        let feed = root.join("data/feed.ndjson");
        let source = FeedSource::parse(&feed.to_string_lossy()).expect("feed path");
        sync_once(&parts.store, &source).expect("feed syncs");
    }
    let core = build_core(&config, &parts, menus).expect("engine builds");
    (core, parts, temp)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let kind = args.get(1).map_or("inquiry", String::as_str).to_string();
    let n: usize = args.get(2).map_or(1000, |s| s.parse().expect("STEPS"));
    let (core, _parts, _temp) = core(args.get(3).map(PathBuf::from));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    // One step first, so that lazy set-up (the runtime, sled's first reads) is not counted.
    let warm = turn("warm", "2*0012345679");
    rt.block_on(core.engine.step(&warm));
    let turns = turns(&kind, n);
    let (allocs0, bytes0) = (
        ALLOCATIONS.load(Ordering::Relaxed),
        ALLOCATED_BYTES.load(Ordering::Relaxed),
    );
    let ends = rt.block_on(async {
        let mut ends = 0;
        for t in &turns {
            ends += usize::from(core.engine.step(t).await.is_end());
        }
        ends
    });
    let allocs = ALLOCATIONS.load(Ordering::Relaxed) - allocs0;
    let bytes = ALLOCATED_BYTES.load(Ordering::Relaxed) - bytes0;
    let per = n.max(1) as f64;
    println!(
        "{kind}: {n} steps, {ends} ended; {:.1} allocations and {:.0} bytes allocated per step",
        allocs as f64 / per,
        bytes as f64 / per
    );
}
