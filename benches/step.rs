//! The engine's CPU per step, in-process, over a real sled store filled from the sample feed.
//!
//! `cargo bench --bench step` (BENCHMARKS.md records the numbers). The engine is built as
//! `src/app.rs` builds it; no HTTP is involved. Steps on a fresh session id remove their session
//! from the table after each timed batch (outside the timing), so the table neither fills up nor
//! grows across the run.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use daftar::app::{build_engine, load_checked_menus, open_parts};
use daftar::audit::KeyedHasher;
use daftar::config::Config;
use daftar::engine::Engine;
use daftar::feed::FeedSource;
use daftar::session::Sessions;
use daftar::sync::sync_once;
use daftar::text::gsm7::Budget;
use daftar::turn::{Reply, Turn, TurnInput};

const DIALECT: &str = "africastalking";
const TAMIN: &str = "*4*1420#";
/// A provider's phone that holds no record (general inquiry).
const PROVIDER: &str = "989129999999";
/// A. Rezaei, holder of 8 dependents (data/README.md).
const HOLDER: &str = "989120000001";

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

fn turn(session_id: String, msisdn: &str, path: &str) -> Turn {
    Turn {
        dialect: DIALECT,
        session_id,
        msisdn: msisdn.to_string(),
        service_code: Some(TAMIN.to_string()),
        input: TurnInput::Path(path.to_string()),
    }
}

fn fresh_id() -> String {
    format!("bench-{}", NEXT_ID.fetch_add(1, Ordering::Relaxed))
}

/// The engine over a temp-dir store synced from `data/feed.ndjson`, as `src/app.rs` builds it.
fn engine(dir: &Path) -> Engine {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut config = Config::default();
    config.store.db = dir.to_path_buf();
    config.menus.dir = root.join("menus");
    let menus = load_checked_menus(&config).expect("menus load and check");
    let parts = open_parts(&config).expect("store opens");
    let feed = root.join("data/feed.ndjson");
    let source = FeedSource::parse(&feed.to_string_lossy()).expect("feed path");
    let report = sync_once(&parts.store, &source).expect("feed syncs");
    assert_eq!(report.rejected_count(), 0, "the sample feed syncs clean");
    build_engine(&config, &parts, menus).expect("engine builds")
}

/// Times `iters` steps, each on a fresh session id; removes the sessions untimed.
fn fresh_sessions(engine: &Engine, msisdn: &str, path: &str, iters: u64) -> Duration {
    let turns: Vec<Turn> = (0..iters).map(|_| turn(fresh_id(), msisdn, path)).collect();
    let start = Instant::now();
    for t in &turns {
        black_box(engine.step(black_box(t)));
    }
    let elapsed = start.elapsed();
    for t in &turns {
        engine
            .sessions()
            .remove(&Sessions::key(t.dialect, &t.session_id));
    }
    elapsed
}

/// One step on a fresh session, checked once so that the bench times the reply it claims to.
fn check(engine: &Engine, msisdn: &str, path: &str, end: bool, needle: &str) {
    let t = turn(fresh_id(), msisdn, path);
    let reply = engine.step(&t);
    engine
        .sessions()
        .remove(&Sessions::key(t.dialect, &t.session_id));
    assert_eq!(reply.is_end(), end, "{path:?}: {reply:?}");
    assert!(reply.text().contains(needle), "{path:?}: {reply:?}");
}

fn steps(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = engine(dir.path());

    // What each bench times: the first screen (Persian menu), a covered general inquiry with a
    // tracking code, and the holder's list of 8 dependents (the first page, then 98).
    check(&engine, HOLDER, "", false, "تامین اجتماعی");
    check(&engine, PROVIDER, "2*0012345679", true, "حمایت درمانی دارد");
    check(&engine, HOLDER, "3", false, "۹۸");

    let mut g = c.benchmark_group("engine_step");
    g.sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    g.bench_function("first_screen", |b| {
        b.iter_custom(|iters| fresh_sessions(&engine, HOLDER, "", iters))
    });
    g.bench_function("general_inquiry_replayed_fresh_session", |b| {
        b.iter_custom(|iters| fresh_sessions(&engine, PROVIDER, "2*0012345679", iters))
    });
    let retry = turn(fresh_id(), PROVIDER, "2*0012345679");
    let first: Reply = engine.step(&retry);
    g.bench_function("retried_step_same_path", |b| {
        b.iter(|| {
            let again = engine.step(black_box(&retry));
            debug_assert_eq!(again, first);
            again
        })
    });
    g.bench_function("dependents_list_fa", |b| {
        b.iter_custom(|iters| fresh_sessions(&engine, HOLDER, "3", iters))
    });
    g.finish();

    // The sweeper's pass over a full table (the default cap, 200,000 held first screens),
    // none of them idle long enough to expire: what `app.rs` runs every `sweep_ms` on a
    // runtime worker.
    let room = 200_000 - engine.sessions().len();
    let held: Vec<Turn> = (0..room).map(|_| turn(fresh_id(), HOLDER, "")).collect();
    for t in &held {
        engine.step(t);
    }
    assert_eq!(
        engine.sessions().len(),
        held.len() + 1,
        "the table holds them all"
    );
    let mut g = c.benchmark_group("engine_sweep");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    g.bench_function("sweep_200k_held_none_expired", |b| {
        b.iter(|| engine.sweep(Instant::now()))
    });
    g.finish();
    for t in &held {
        engine
            .sessions()
            .remove(&Sessions::key(t.dialect, &t.session_id));
    }
}

fn text(c: &mut Criterion) {
    let line = "پسر K. Rezaei: تا ۱۴۰۹/۱۰/۱۰، دختر F. Rezaei: ندارد، بدون اصل شناسنامه\n";
    let date = jiff::civil::date(2030, 12, 31);
    let hasher = KeyedHasher::new([7; 32]);

    let mut g = c.benchmark_group("text");
    g.sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    // Three lengths, to show how the cost grows with the text.
    for lines in [3, 12, 48] {
        let long = line.repeat(lines);
        let pages = daftar::text::page::paginate(&long, "۹۸. بیشتر", Budget::default());
        assert!(pages.len() >= lines, "a long text makes many pages");
        let name = format!(
            "paginate_fa_{}_chars_{}_pages",
            long.chars().count(),
            pages.len()
        );
        g.bench_function(name, |b| {
            b.iter(|| {
                daftar::text::page::paginate(black_box(&long), "۹۸. بیشتر", Budget::default())
            })
        });
    }
    g.bench_function("format_date_fa", |b| {
        b.iter(|| daftar::locale::format_date(black_box(date), "fa"))
    });
    // The keyed hash of an MSISDN (blake3 + hex), taken for resume offers, the locale
    // preference and the audit trail.
    g.bench_function("keyed_hash_msisdn", |b| {
        b.iter(|| hasher.hash(black_box(HOLDER)))
    });
    g.finish();
}

criterion_group!(benches, steps, text);
criterion_main!(benches);
