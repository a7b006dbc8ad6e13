//! Writes a synthetic change feed to stdout (see `daftar::feedgen`).
//!
//! `cargo run --example gen_feed -- PEOPLE [SEED] [TODAY] [AFTER_SEQ] > feed.ndjson`
//! (defaults: seed 1, today 2026-11-25, after_seq 0). `data/feed.ndjson` appends the output of
//! `gen_feed 300 20261125 2026-11-25 <last hand-picked seq>` to its hand-picked people.

use std::io::{BufWriter, Write};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or(default.to_string());
    let people: usize = arg(0, "1000").parse()?;
    let seed: u64 = arg(1, "1").parse()?;
    let today: jiff::civil::Date = arg(2, "2026-11-25").parse()?;
    let after: u64 = arg(3, "0").parse()?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let last = daftar::feedgen::write_feed_after(&mut out, people, seed, today, after)?;
    out.flush()?;
    eprintln!("wrote {people} people, seq {} to {last}", after + 1);
    Ok(())
}
