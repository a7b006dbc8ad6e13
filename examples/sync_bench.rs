//! Times `sync_once` of a generated feed into a fresh store and of a 1 % delta onto the full
//! store, each beside sled's own insert rate for the same keys and values in the same run;
//! reports the store's size on disk per person and the time to open it again.
//!
//! `cargo run --release --example sync_bench -- [PEOPLE] [CACHE_MIB] [DIR] [RAW]`
//! (defaults: 1000000 people, a 256 MiB sled cache, a temporary directory removed at the end;
//! RAW `no` skips sled's own rates, which hold every key and value of the store in memory).
//!
//! sled's own rate is measured on a fresh database holding the same trees: every key and value
//! the sync wrote (people, both indexes), inserted with plain `insert`s in a shuffled order (the
//! feed's identifiers come in no order), flushed every `CHECKPOINT_EVERY` people; then the
//! same in batches of that many people sorted by key; then, onto that full database, the keys
//! and values of 1 % of the people again, shuffled.

use daftar::feed::FeedSource;
use daftar::store::Store;
use daftar::sync::{sync_once, CHECKPOINT_EVERY};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let people: usize = args.first().map_or(Ok(1_000_000), |s| s.parse())?;
    let cache_mib: u64 = args.get(1).map_or(Ok(256), |s| s.parse())?;
    let tmp = tempfile::tempdir()?;
    let dir = args.get(2).map_or(tmp.path(), Path::new);
    let raw = args.get(3).is_none_or(|s| s != "no");
    std::fs::create_dir_all(dir)?;
    let cache = cache_mib << 20;

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
    let delta_path = dir.join("delta.ndjson");
    let delta = write_delta(&feed_path, &delta_path, last)?;

    let db = dir.join("db");
    let source = FeedSource::parse(&feed_path.to_string_lossy())?;
    let store = Store::open(&db, cache)?;
    let (report, took) = timed(|| sync_once(&store, &source))?;
    println!(
        "cold sync_once: {} in {:.2} s: {:.0} people/s",
        first_line(&report),
        took.as_secs_f64(),
        report.applied as f64 / took.as_secs_f64()
    );
    let on_disk = dir_bytes(&db);
    println!(
        "store: {} people, size_on_disk {:.1} MB, files {:.1} MB, {:.0} bytes/person",
        store.person_count(),
        store.size_on_disk() as f64 / 1e6,
        on_disk as f64 / 1e6,
        on_disk as f64 / people as f64
    );

    let (again, took) = timed(|| sync_once(&store, &source))?;
    println!(
        "second sync_once (all skipped): skipped {} in {:.2} s",
        again.skipped,
        took.as_secs_f64()
    );

    let delta_source = FeedSource::parse(&delta_path.to_string_lossy())?;
    let (report, took) = timed(|| sync_once(&store, &delta_source))?;
    println!(
        "1 % delta sync_once ({delta} upserts onto the full store): {} in {:.3} s: {:.0} people/s",
        first_line(&report),
        took.as_secs_f64(),
        report.applied as f64 / took.as_secs_f64()
    );
    drop(store);

    let (store, took) = timed(|| Store::open(&db, cache))?;
    println!(
        "reopen: {:.2} s ({} people)",
        took.as_secs_f64(),
        store.person_count()
    );
    drop(store);

    if raw {
        raw_sled(&db, &dir.join("raw"), cache, people)?;
    }
    Ok(())
}

/// Every 100th person of the feed again, renamed, numbered after `last`: a 1 % delta.
fn write_delta(feed: &Path, delta: &Path, last: u64) -> anyhow::Result<usize> {
    let mut out = BufWriter::new(std::fs::File::create(delta)?);
    let mut seq = last;
    for line in BufReader::new(std::fs::File::open(feed)?)
        .lines()
        .step_by(100)
    {
        let mut change: serde_json::Value = serde_json::from_str(&line?)?;
        seq += 1;
        change["seq"] = seq.into();
        change["person"]["name"] = "D. Delta".into();
        serde_json::to_writer(&mut out, &change)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok((seq - last) as usize)
}

/// sled's own insert rates for the keys and values of the store in `db`, into a fresh
/// database in `raw` (removed at the end).
fn raw_sled(db: &Path, raw: &Path, cache: u64, people: usize) -> anyhow::Result<()> {
    let writes = store_writes(db, cache)?;
    let per_batch = writes.len() * CHECKPOINT_EVERY as usize / people.max(1);
    let mut shuffled = writes;
    shuffle(&mut shuffled);

    let fresh = |name: &str| -> anyhow::Result<sled::Db> {
        let path = raw.join(name);
        let _ = std::fs::remove_dir_all(&path);
        Ok(sled::Config::new()
            .path(path)
            .cache_capacity(cache)
            .open()?)
    };
    let db = fresh("shuffled")?;
    let took = insert_all(&db, shuffled.iter(), per_batch)?;
    println!(
        "raw sled, {} writes shuffled, flush every {per_batch}: {:.2} s: {:.0} writes/s, {:.0} people/s",
        shuffled.len(),
        took.as_secs_f64(),
        shuffled.len() as f64 / took.as_secs_f64(),
        people as f64 / took.as_secs_f64()
    );
    let delta: Vec<&Kv> = shuffled.iter().step_by(100).collect();
    let took = insert_all(&db, delta.iter().copied(), per_batch)?;
    println!(
        "raw sled, 1 % again onto the full database ({} writes): {:.3} s: {:.0} people/s",
        delta.len(),
        took.as_secs_f64(),
        people as f64 / 100.0 / took.as_secs_f64()
    );
    drop(db);

    let mut sorted = shuffled;
    for batch in sorted.chunks_mut(per_batch.max(1)) {
        batch.sort();
    }
    let db = fresh("sorted")?;
    let took = insert_all(&db, sorted.iter(), per_batch)?;
    println!(
        "raw sled, the same in batches of {per_batch} sorted by key: {:.2} s: {:.0} people/s",
        took.as_secs_f64(),
        people as f64 / took.as_secs_f64()
    );
    drop(db);
    std::fs::remove_dir_all(raw)?;
    Ok(())
}

/// A tree name, a key and a value.
type Kv = (u8, Vec<u8>, Vec<u8>);

/// Every key and value of the store's record and index trees.
fn store_writes(db: &Path, cache: u64) -> anyhow::Result<Vec<Kv>> {
    let db = open_waiting(db, cache)?;
    let mut out = Vec::new();
    for (n, name) in TREES.iter().enumerate() {
        for kv in db.open_tree(name)?.iter() {
            let (k, v) = kv?;
            out.push((n as u8, k.to_vec(), v.to_vec()));
        }
    }
    Ok(out)
}

const TREES: [&str; 3] = ["people", "msisdns", "dependents"];

/// sled's lock outlives a dropped `Db` a little (its flusher thread).
fn open_waiting(path: &Path, cache: u64) -> anyhow::Result<sled::Db> {
    let started = Instant::now();
    loop {
        match sled::Config::new().path(path).cache_capacity(cache).open() {
            Ok(db) => return Ok(db),
            Err(_) if started.elapsed() < Duration::from_secs(5) => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Inserts in the given order, flushing every `per_flush` writes and at the end.
fn insert_all<'a>(
    db: &sled::Db,
    writes: impl Iterator<Item = &'a Kv>,
    per_flush: usize,
) -> anyhow::Result<Duration> {
    let trees: Vec<sled::Tree> = TREES
        .iter()
        .map(|name| db.open_tree(name))
        .collect::<Result<_, _>>()?;
    let ((), took) = timed(|| -> anyhow::Result<()> {
        for (i, (tree, k, v)) in writes.enumerate() {
            trees[*tree as usize].insert(k.as_slice(), v.as_slice())?;
            if (i + 1) % per_flush.max(1) == 0 {
                db.flush()?;
            }
        }
        db.flush()?;
        Ok(())
    })?;
    Ok(took)
}

/// A fixed Fisher-Yates shuffle (xorshift), the same every run.
fn shuffle<T>(items: &mut [T]) {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in (1..items.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        items.swap(i, (x % (i as u64 + 1)) as usize);
    }
}

/// Runs `f`; prints the process's CPU seconds it took (all threads, sled's included), which
/// a busy machine disturbs less than wall time; returns the wall time.
fn timed<T, E>(f: impl FnOnce() -> Result<T, E>) -> Result<(T, Duration), E> {
    let (started, cpu) = (Instant::now(), cpu_secs());
    let out = f()?;
    let took = started.elapsed();
    println!(
        "  (cpu {:.2} s, wall {:.2} s)",
        cpu_secs() - cpu,
        took.as_secs_f64()
    );
    Ok((out, took))
}

/// User + system CPU seconds of this process so far, from `/proc/self/stat` (0 elsewhere).
fn cpu_secs() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // The fields after the command name (which may hold spaces) in its parentheses.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime: fields 14 and 15 of the line (11 and 12 after the name); 100 ticks/s.
    (ticks(11) + ticks(12)) / 100.0
}

fn first_line(report: &impl ToString) -> String {
    report
        .to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
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
