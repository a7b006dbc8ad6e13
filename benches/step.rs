//! The engine's CPU per step, in-process, over a real sled store filled from the sample feed.
//!
//! `cargo bench --bench step` (BENCHMARKS.md records the numbers). Beside the engine's steps:
//! the dialect parse (`dialect`), the session store's read (`session_store`), a person lookup
//! on a store of 1,000,000 generated people (`lookup_1m`, built once by
//! `bench/load/sessions.sh`; set `DAFTAR_BENCH_STORE` to its directory, default
//! `/work/perfdata-loadharness/people-1000000`; skipped with a message when absent) and
//! paging (`text`). The engine is built as
//! `src/app.rs` builds it; no HTTP is involved. The engine is async: each timed batch runs as
//! one future on a 2-worker tokio runtime, so the audit writes go through the writer thread as
//! in the server. Steps on a fresh session id remove their session from the store after each
//! timed batch (outside the timing), so the table neither fills up nor grows across the run.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use daftar::app::{build_core, load_checked_menus, open_parts, Core, Parts};
use daftar::audit::KeyedHasher;
use daftar::config::Config;
use daftar::feed::FeedSource;
use daftar::session_store::{SessionKey, SessionWrite, Write};
use daftar::sync::sync_once;
use daftar::text::gsm7::Budget;
use daftar::turn::{Reply, Turn, TurnKind};
use tokio::runtime::Runtime;

const DIALECT: &str = "africastalking";
const TAMIN: &str = "*4*1420#";
/// A provider's phone that holds no record (general inquiry).
const PROVIDER: &str = "989129999999";
/// A. Rezaei, holder of 8 dependents (data/README.md).
const HOLDER: &str = "989120000001";

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

fn turn(session_id: String, msisdn: &str, path: &str) -> Turn {
    Turn::new(
        &Arc::from(DIALECT),
        &session_id,
        msisdn,
        TurnKind::Path(path.to_string()),
    )
    .dialled(TAMIN)
}

fn fresh_id() -> String {
    format!("bench-{}", NEXT_ID.fetch_add(1, Ordering::Relaxed))
}

/// The engine over a temp-dir store synced from `data/feed.ndjson`, as `src/app.rs` builds it.
fn core(dir: &Path) -> (Core, Parts) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut config = Config::default();
    config.store.db = dir.to_path_buf();
    config.menus.dir = root.join("menus");
    // The benches step one phone and one code thousands of times: with the default `[limits]`
    // (120 steps a minute per MSISDN, 4 sessions per MSISDN, 30 inquiries an hour per code)
    // they would time the limiter's refusal after the first few, not the step.
    config.limits = daftar::limits::LimitsConfig::off();
    let menus = load_checked_menus(&config).expect("menus load and check");
    let parts = open_parts(&config).expect("store opens");
    let feed = root.join("data/feed.ndjson");
    let source = FeedSource::parse(&feed.to_string_lossy()).expect("feed path");
    let report = sync_once(&parts.store, &source).expect("feed syncs");
    assert_eq!(report.rejected_count(), 0, "the sample feed syncs clean");
    let core = build_core(&config, &parts, menus).expect("engine builds");
    (core, parts)
}

/// Removes the sessions of `turns` from the store, through the store's own trait.
async fn forget(core: &Core, turns: &[Turn]) {
    for t in turns {
        let key = SessionKey::new(&t.dialect, &t.session_id);
        let held = core.sessions.load(&key, None).await.expect("loads").session;
        let remove = Write {
            key,
            session: SessionWrite::Remove {
                expected: held.map(|h| h.version),
            },
            caller: None,
        };
        core.sessions.save(remove).await.expect("removed");
    }
}

/// Times `iters` steps, each on a fresh session id; removes the sessions untimed.
fn fresh_sessions(rt: &Runtime, core: &Core, msisdn: &str, path: &str, iters: u64) -> Duration {
    let turns: Vec<Turn> = (0..iters).map(|_| turn(fresh_id(), msisdn, path)).collect();
    let elapsed = rt.block_on(async {
        let start = Instant::now();
        for t in &turns {
            black_box(core.engine.step(black_box(t)).await);
        }
        start.elapsed()
    });
    rt.block_on(forget(core, &turns));
    elapsed
}

/// One step on a fresh session, checked once so that the bench times the reply it claims to.
fn check(rt: &Runtime, core: &Core, msisdn: &str, path: &str, end: bool, needle: &str) {
    let t = turn(fresh_id(), msisdn, path);
    let reply = rt.block_on(core.engine.step(&t));
    rt.block_on(forget(core, std::slice::from_ref(&t)));
    assert_eq!(reply.is_end(), end, "{path:?}: {reply:?}");
    assert!(reply.text().contains(needle), "{path:?}: {reply:?}");
}

fn steps(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (core, _parts) = core(dir.path());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");

    // What each bench times: the first screen (Persian menu), a covered general inquiry with a
    // tracking code, and the holder's list of 8 dependents (the first page, then 98).
    check(&rt, &core, HOLDER, "", false, "تامین اجتماعی");
    check(
        &rt,
        &core,
        PROVIDER,
        "2*0012345679",
        true,
        "حمایت درمانی دارد",
    );
    check(&rt, &core, HOLDER, "3", false, "۹۸");

    let mut g = c.benchmark_group("engine_step");
    g.sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    g.bench_function("first_screen", |b| {
        b.iter_custom(|iters| fresh_sessions(&rt, &core, HOLDER, "", iters))
    });
    g.bench_function("general_inquiry_replayed_fresh_session", |b| {
        b.iter_custom(|iters| fresh_sessions(&rt, &core, PROVIDER, "2*0012345679", iters))
    });
    let retry = turn(fresh_id(), PROVIDER, "2*0012345679");
    let first: Reply = rt.block_on(core.engine.step(&retry));
    g.bench_function("retried_step_same_path", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    let again = core.engine.step(black_box(&retry)).await;
                    debug_assert_eq!(again, first);
                    black_box(again);
                }
                start.elapsed()
            })
        })
    });
    g.bench_function("dependents_list_fa", |b| {
        b.iter_custom(|iters| fresh_sessions(&rt, &core, HOLDER, "3", iters))
    });
    g.finish();

    // The sweeper's pass over a full table (the default cap, 200,000 held first screens),
    // none of them idle long enough to expire: what `app.rs` runs every `sweep_ms`.
    let held: Vec<Turn> = (0..199_000).map(|_| turn(fresh_id(), HOLDER, "")).collect();
    rt.block_on(async {
        for t in &held {
            core.engine.step(t).await;
        }
    });
    assert!(rt.block_on(core.engine.session_count()) >= held.len());
    let mut g = c.benchmark_group("engine_sweep");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    g.bench_function("sweep_200k_held_none_expired", |b| {
        let memory = core.memory.clone().expect("the embedded store");
        b.iter(|| memory.sweep(tokio::time::Instant::now()))
    });
    g.finish();
    rt.block_on(forget(&core, &held));
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

/// The dialect boundary, through the public seam the fuzz targets use (`daftar::fuzzing`): a
/// request read off its bytes into a turn, then answered both ways (continue and end) in the
/// aggregator's format. Both bodies are the aggregators' documented first hops of a general
/// inquiry (the dialect tests post the same); a body no dialect reads is timed beside them.
fn dialects(c: &mut Criterion) {
    let dialects = daftar::fuzzing::Dialects::new(&[]);
    let africastalking = b"africastalking\nPOST\napplication/x-www-form-urlencoded\n\n\n\
sessionId=ATUid_1&serviceCode=%2A4%2A1420%23&phoneNumber=%2B989129999999&networkCode=63902&text=2%2A0012345679";
    let hubtel = br#"hubtel
POST
application/json


{"Mobile":"233241234567","SessionId":"3c0b2c3e","ServiceCode":"4*1420","Type":"Response","Message":"0012345679","Operator":"mtn","Sequence":3,"ClientState":""}"#;
    let garbage = b"africastalking\nPOST\napplication/x-www-form-urlencoded\n\n\n%%%\xff\xfe=&&&";

    let mut g = c.benchmark_group("dialect");
    g.sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for (name, request) in [
        ("africastalking_form_parse_and_reply", &africastalking[..]),
        ("hubtel_json_parse_and_reply", &hubtel[..]),
        ("garbage_form_rejected", &garbage[..]),
    ] {
        g.bench_function(name, |b| b.iter(|| dialects.request(black_box(request))));
    }
    g.finish();
}

/// The session store's read of a held session, through the `SessionStore` trait, as each step
/// of a session after the first makes it (the write half has no public seam: the session value
/// is crate-private; `bench/callgrind.sh` counts `MemoryStore::save` per step instead).
fn session_store(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (core, _parts) = core(dir.path());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let held = turn(fresh_id(), PROVIDER, "");
    rt.block_on(core.engine.step(&held));
    let key = SessionKey::new(&held.dialect, &held.session_id);
    let loaded = rt.block_on(core.sessions.load(&key, None)).expect("loads");
    assert!(
        loaded.session.is_some(),
        "the first screen left a held session"
    );

    let mut g = c.benchmark_group("session_store");
    g.sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    g.bench_function("memory_load_held", |b| {
        b.iter(|| rt.block_on(core.sessions.load(black_box(&key), None)))
    });
    g.finish();
}

/// Where the 1M-person store lives, when it was built (`bench/load/sessions.sh 1000000`).
fn store_1m() -> Option<std::path::PathBuf> {
    let dir = std::env::var_os("DAFTAR_BENCH_STORE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/work/perfdata-loadharness/people-1000000".into());
    if dir.join("ready").exists() {
        Some(dir)
    } else {
        eprintln!(
            "lookup_1m skipped: no store at {} (build it with bench/load/sessions.sh 1000000, \
             or set DAFTAR_BENCH_STORE)",
            dir.display()
        );
        None
    }
}

/// A person looked up by code in the 1M store (sled get + decode), the codes spread over the
/// whole feed so that the cache sees the lookups a national short code makes; and a code no
/// one holds. The store is opened read-only in spirit (nothing is written) with the default
/// cache of `Config`.
fn lookup_1m(c: &mut Criterion) {
    let Some(dir) = store_1m() else { return };
    let callers = std::fs::read_to_string(dir.join("callers.txt")).expect("callers.txt");
    let held: Vec<String> = callers
        .lines()
        .filter_map(|l| l.strip_prefix("general "))
        .filter(|code| !code.starts_with("99"))
        .map(String::from)
        .collect();
    assert!(!held.is_empty(), "callers.txt names held codes");
    let cache = Config::default().store.cache_mb * 1024 * 1024;
    let store = daftar::store::Store::open_existing(&dir.join("db"), cache).expect("store opens");
    for code in held.iter().take(20) {
        let person = store.person("tamin", code).expect("reads");
        assert!(person.is_some(), "{code} is in the store");
    }
    assert!(store
        .person("tamin", "9900000003")
        .expect("reads")
        .is_none());

    let mut g = c.benchmark_group("lookup_1m");
    g.sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let mut next = 0usize;
    g.bench_function("person_by_code_spread", |b| {
        b.iter(|| {
            next = (next + 1) % held.len();
            store.person("tamin", black_box(&held[next]))
        })
    });
    g.bench_function("person_absent", |b| {
        b.iter(|| store.person("tamin", black_box("9900000003")))
    });
    g.finish();
}

criterion_group!(benches, steps, text, dialects, session_store, lookup_1m);
criterion_main!(benches);
