//! Derives the load harness's callers from a generated feed (`daftar gen-feed`): which code to
//! ask about, which MSISDN may ask for its own code, which holder has dependents, which IIN to
//! look up. Reading the feed is what makes the pairs valid: `feedgen` decides who holds which
//! phone, and this reads it back instead of re-deriving the generator's draws.
//!
//! `cargo run --release --example load_sample -- FEED.ndjson OUT_DIR [PER_KIND]`
//!
//! Writes two files into OUT_DIR:
//! - `callers.txt`, for `bench/load/sessions.lua`: one caller a line, `KIND ARGS...`:
//!   `general CODE` (a tamin code held by the store, or `absent` codes with a valid check digit
//!   that no generated person has), `own CODE MSISDN` (a tamin person and a phone registered
//!   for them alone), `deps MSISDN` (a holder with at least one dependent whose phone no one
//!   else has, so the list comes without asking for a code), `osms IIN MSISDN|-`.
//! - `tamin_codes.tsv`, for the peer (`bench/peer/server.js`): every tamin code and its
//!   coverage status, the same people the daftar store holds.
//!
//! At most PER_KIND callers of each kind (default 5000), taken evenly across the feed, so the
//! same feed always gives the same files.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use serde_json::Value;

/// The fields of a feed line the harness needs.
struct Entry {
    insurer: String,
    person_id: String,
    msisdns: Vec<String>,
    holder: Option<String>,
    status: String,
}

fn entry(line: &str) -> Option<Entry> {
    let value: Value = serde_json::from_str(line).ok()?;
    let person = value.get("person")?;
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
    Some(Entry {
        insurer: text(person.get("insurer")),
        person_id: text(person.get("person_id")),
        msisdns: person
            .get("msisdns")
            .and_then(Value::as_array)
            .map(|all| {
                all.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default(),
        holder: person
            .get("holder")
            .and_then(|h| h.get("person_id"))
            .and_then(Value::as_str)
            .map(String::from),
        status: text(person.get("coverage").and_then(|c| c.get("status"))),
    })
}

/// Every `step`-th item of `items`, at most `limit`: spread evenly over the feed.
fn spread<T: Clone>(items: &[T], limit: usize) -> Vec<T> {
    let step = items.len().div_ceil(limit.max(1)).max(1);
    items.iter().step_by(step).take(limit).cloned().collect()
}

/// Valid national codes (check digit right) starting `99`, which `feedgen` may draw but, among
/// 990 million, almost never does: the harness counts the replies, so a rare hit shows.
fn absent_codes(count: usize) -> Vec<String> {
    (0..count as u64)
        .map(|i| {
            let body = format!("99{:07}", i * 7919 % 10_000_000);
            let mut digits = [0u8; 9];
            for (d, b) in digits.iter_mut().zip(body.bytes()) {
                *d = b - b'0';
            }
            format!("{body}{}", national_check_digit(&digits))
        })
        .collect()
}

/// SPEC's check digit of an Iranian national code over its first nine digits (the same rule as
/// `daftar`'s crate-private `ids::national_check_digit`, which this example cannot reach).
fn national_check_digit(first_nine: &[u8; 9]) -> u8 {
    let sum: u32 = first_nine
        .iter()
        .zip((2..=10u32).rev())
        .map(|(d, w)| u32::from(*d) * w)
        .sum();
    let r = (sum % 11) as u8;
    if r < 2 {
        r
    } else {
        11 - r
    }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(feed), Some(out)) = (args.first(), args.get(1)) else {
        anyhow::bail!("usage: load_sample FEED.ndjson OUT_DIR [PER_KIND]");
    };
    let per_kind: usize = args.get(2).map(|n| n.parse()).transpose()?.unwrap_or(5000);
    let out = Path::new(out);
    std::fs::create_dir_all(out)?;

    let mut tamin_codes = BufWriter::new(File::create(out.join("tamin_codes.tsv"))?);
    let mut phone_owners: HashMap<String, u32> = HashMap::new();
    let mut with_dependents: HashMap<String, ()> = HashMap::new();
    let mut general = Vec::new();
    let mut own = Vec::new();
    let mut osms = Vec::new();
    let mut lines = 0usize;
    for line in BufReader::new(File::open(feed)?).lines() {
        let Some(e) = entry(&line?) else { continue };
        lines += 1;
        for phone in &e.msisdns {
            *phone_owners.entry(phone.clone()).or_default() += 1;
        }
        if let Some(holder) = &e.holder {
            with_dependents.insert(holder.clone(), ());
        }
        match e.insurer.as_str() {
            "tamin" => {
                writeln!(tamin_codes, "{}\t{}", e.person_id, e.status)?;
                general.push(e.person_id.clone());
                if let Some(phone) = e.msisdns.first() {
                    own.push((e.person_id.clone(), phone.clone()));
                }
            }
            "osms" => osms.push((e.person_id.clone(), e.msisdns.first().cloned())),
            _ => {}
        }
    }
    tamin_codes.flush()?;

    let alone = |phone: &String| phone_owners.get(phone) == Some(&1);
    let own: Vec<_> = own.into_iter().filter(|(_, p)| alone(p)).collect();
    let deps: Vec<_> = own
        .iter()
        .filter(|(code, _)| with_dependents.contains_key(code))
        .map(|(_, phone)| phone.clone())
        .collect();

    let mut callers = BufWriter::new(File::create(out.join("callers.txt"))?);
    let held = spread(&general, per_kind * 9 / 10);
    let absent = absent_codes(per_kind - held.len().min(per_kind));
    for code in held.iter().chain(&absent) {
        writeln!(callers, "general {code}")?;
    }
    for (code, phone) in spread(&own, per_kind) {
        writeln!(callers, "own {code} {phone}")?;
    }
    for phone in spread(&deps, per_kind) {
        writeln!(callers, "deps {phone}")?;
    }
    for (iin, phone) in spread(&osms, per_kind) {
        writeln!(callers, "osms {iin} {}", phone.as_deref().unwrap_or("-"))?;
    }
    callers.flush()?;
    eprintln!(
        "{lines} feed lines: {} tamin codes ({} absent added), {} own pairs, {} holders with dependents, {} osms",
        general.len(),
        absent.len(),
        own.len(),
        deps.len(),
        osms.len()
    );
    Ok(())
}
