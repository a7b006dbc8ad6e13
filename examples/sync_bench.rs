//! Times `sync_once` of a generated feed into a fresh store, and reports the store's size.
//!
//! `cargo run --release --example sync_bench -- [PEOPLE] [CACHE_MIB] [DIR]`
//! (defaults: 1000000 people, a 256 MiB sled cache, a temporary directory removed at the end).

use daftar::feed::FeedSource;
use daftar::store::Store;
use daftar::sync::sync_once;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let people: usize = args.first().map_or(Ok(1_000_000), |s| s.parse())?;
    let cache_mib: u64 = args.get(1).map_or(Ok(256), |s| s.parse())?;
    let tmp = tempfile::tempdir()?;
    let dir = args.get(2).map_or(tmp.path(), Path::new);
    std::fs::create_dir_all(dir)?;

    let feed_path = dir.join("feed.ndjson");
    let t = Instant::now();
    let mut out = BufWriter::new(std::fs::File::create(&feed_path)?);
    let today = jiff::civil::date(2026, 11, 25);
    let last = daftar::feedgen::write_feed(&mut out, people, 1, today)?;
    out.flush()?;
    let feed_bytes = std::fs::metadata(&feed_path)?.len();
    println!(
        "generated {people} people (seq 1..{last}), {:.1} MB, in {:.2} s",
        feed_bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );

    let db = dir.join("db");
    let source = FeedSource::parse(&feed_path.to_string_lossy())?;
    let store = Store::open(&db, cache_mib << 20)?;
    let t = Instant::now();
    let report = sync_once(&store, &source)?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "sync_once: {} in {secs:.2} s ({:.0} changes/s), cache {cache_mib} MiB",
        report.to_string().lines().next().unwrap_or_default(),
        report.applied as f64 / secs
    );
    println!(
        "store: {} people, size_on_disk {:.1} MB, files {:.1} MB",
        store.person_count(),
        store.size_on_disk() as f64 / 1e6,
        dir_bytes(&db) as f64 / 1e6
    );

    let t = Instant::now();
    let again = sync_once(&store, &source)?;
    println!(
        "second sync_once (all skipped): skipped {} in {:.2} s",
        again.skipped,
        t.elapsed().as_secs_f64()
    );
    drop(store);
    let t = Instant::now();
    let store = Store::open(&db, cache_mib << 20)?;
    println!(
        "reopen: {:.2} s, {} people",
        t.elapsed().as_secs_f64(),
        store.person_count()
    );
    Ok(())
}

fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}
