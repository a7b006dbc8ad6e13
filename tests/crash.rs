//! SPEC §5, with real processes: "a sync killed at any point resumes where it stopped and ends
//! in exactly the state that a clean sync of the same feed gives". A generated feed (plus a tail
//! of re-upserts that move phones and holders, and deletes) is synced once cleanly into a
//! reference store; a second store gets `daftar sync` runs killed by SIGKILL after pseudo-random
//! delays spread over a clean run's duration, then one run to the end. The two stores are then
//! compared person by person, index by index, and by watermark and count.

mod daftar_bin;

use daftar::record::Person;
use daftar::store::Store;
use daftar::sync::CHECKPOINT_EVERY;
use daftar_bin::{arg, daftar, run};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Sized so that a clean debug-build sync takes a few seconds on two cores and crosses more
/// than one watermark checkpoint (`daftar::sync::CHECKPOINT_EVERY`).
const PEOPLE: usize = 30_000;
const ROUNDS: u64 = 8;

fn xorshift(mut x: u64) -> u64 {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x
}

/// The generated feed, then a tail that rewrites every 10th person: a new phone and a new
/// name, no holder any more, or a delete. Re-applying such changes after a crash is where a
/// stale index entry would show.
fn write_feed(dir: &Path) -> std::path::PathBuf {
    let generated = dir.join("generated.ndjson");
    let gen = run(
        &[
            "gen-feed",
            "--people",
            &PEOPLE.to_string(),
            "--out",
            arg(&generated),
        ],
        "",
    );
    assert_eq!(gen.code, Some(0), "{gen}");
    let text = std::fs::read_to_string(&generated).expect("feed read");
    let changes: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a generated line parses"))
        .collect();
    let mut seq = changes
        .iter()
        .filter_map(|c| c["seq"].as_u64())
        .max()
        .expect("a seq");
    let mut tail = String::new();
    for (k, change) in changes.iter().enumerate().filter(|(k, _)| k % 10 == 0) {
        let Some(person) = change.get("person") else {
            continue;
        };
        seq += 1;
        let next = match k / 10 % 3 {
            0 => {
                let mut moved = person.clone();
                moved["msisdns"] = json!([format!("98919{:07}", k)]);
                moved["name"] = json!(format!("Moved {k}"));
                json!({"seq": seq, "op": "upsert", "person": moved})
            }
            1 => {
                let mut alone = person.clone();
                if let Some(p) = alone.as_object_mut() {
                    p.remove("holder");
                }
                alone["msisdns"] = json!([]);
                json!({"seq": seq, "op": "upsert", "person": alone})
            }
            _ => json!({
                "seq": seq,
                "op": "delete",
                "insurer": person["insurer"],
                "person_id": person["person_id"],
            }),
        };
        tail.push_str(&next.to_string());
        tail.push('\n');
    }
    let feed = dir.join("feed.ndjson");
    std::fs::write(&feed, text + &tail).expect("feed written");
    feed
}

/// Every key the comparison reads: (insurer, person_id), (insurer, msisdn), and the last seq.
struct Keys {
    people: BTreeSet<(String, String)>,
    msisdns: BTreeSet<(String, String)>,
    last_seq: u64,
}

fn keys(feed: &Path) -> Keys {
    let mut keys = Keys {
        people: BTreeSet::new(),
        msisdns: BTreeSet::new(),
        last_seq: 0,
    };
    let text = std::fs::read_to_string(feed).expect("feed read");
    for line in text.lines() {
        let change: Value = serde_json::from_str(line).expect("parses");
        keys.last_seq = keys.last_seq.max(change["seq"].as_u64().expect("seq"));
        let person = change.get("person").unwrap_or(&change);
        let insurer = person["insurer"].as_str().expect("insurer").to_string();
        let id = person["person_id"].as_str().expect("person_id");
        keys.people.insert((insurer.clone(), id.to_string()));
        if let Some(holder) = person["holder"]["person_id"].as_str() {
            keys.people.insert((insurer.clone(), holder.to_string()));
        }
        for msisdn in person["msisdns"].as_array().into_iter().flatten() {
            let msisdn = msisdn.as_str().expect("msisdn").to_string();
            keys.msisdns.insert((insurer.clone(), msisdn));
        }
    }
    keys
}

fn sync_args<'a>(db: &'a Path, feed: &'a Path) -> [&'a str; 5] {
    ["sync", "--db", arg(db), "--feed", arg(feed)]
}

/// Differences between the two stores, at most a few, described.
fn differences(reference: &Store, resumed: &Store, keys: &Keys) -> Vec<String> {
    let mut out = Vec::new();
    let mut note = |what: String| {
        if out.len() < 10 {
            out.push(what);
        }
    };
    let names =
        |people: &[Person]| -> Vec<String> { people.iter().map(|p| p.person_id.clone()).collect() };
    for (insurer, id) in &keys.people {
        let (a, b) = (
            reference.person(insurer, id).expect("reference read"),
            resumed.person(insurer, id).expect("resumed read"),
        );
        if a != b {
            note(format!("person {insurer}/{id}: {a:?} != {b:?}"));
        }
        let (a, b) = (
            reference.dependents(insurer, id).expect("reference read"),
            resumed.dependents(insurer, id).expect("resumed read"),
        );
        if a != b {
            note(format!(
                "dependents of {insurer}/{id}: {:?} != {:?}",
                names(&a),
                names(&b)
            ));
        }
    }
    for (insurer, msisdn) in &keys.msisdns {
        let (a, b) = (
            reference
                .people_by_msisdn(insurer, msisdn)
                .expect("reference read"),
            resumed
                .people_by_msisdn(insurer, msisdn)
                .expect("resumed read"),
        );
        if a != b {
            note(format!(
                "msisdn {insurer}/{msisdn}: {:?} != {:?}",
                names(&a),
                names(&b)
            ));
        }
    }
    let (a, b) = (
        reference.watermark().expect("watermark"),
        resumed.watermark().expect("watermark"),
    );
    if a != b || a != keys.last_seq {
        note(format!("watermark {a} != {b} (last seq {})", keys.last_seq));
    }
    if reference.person_count() != resumed.person_count() {
        note(format!(
            "person count {} != {}",
            reference.person_count(),
            resumed.person_count()
        ));
    }
    out
}

/// How long `run` took; it must exit 0.
fn timed(run: impl FnOnce() -> daftar_bin::Run) -> Duration {
    let started = Instant::now();
    let done = run();
    assert_eq!(done.code, Some(0), "{done}");
    started.elapsed()
}

#[test]
fn a_sync_killed_at_random_points_resumes_to_the_state_of_a_clean_sync() {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("temp dir");
    let feed = write_feed(dir.path());
    let keys = keys(&feed);
    let (reference_db, resumed_db) = (dir.path().join("reference"), dir.path().join("resumed"));

    let clean_took = timed(|| run(&sync_args(&reference_db, &feed), ""));
    // How long a run takes: start-up, then per change a cost to pass over it when the
    // watermark covers it and a larger one to apply it.
    let empty = dir.path().join("empty.ndjson");
    std::fs::write(&empty, "").expect("empty feed");
    let startup = timed(|| run(&sync_args(&dir.path().join("scratch"), &empty), ""));
    let idle = timed(|| run(&sync_args(&reference_db, &feed), ""));
    let mut per_change = clean_took.saturating_sub(startup).as_secs_f64() / keys.last_seq as f64;
    let mut per_skip = idle.saturating_sub(startup).as_secs_f64() / keys.last_seq as f64;

    // Round r aims its kill at a point of the feed drawn in the r-th of ROUNDS equal shares of it, so the kills
    // cover the first lines, every watermark checkpoint and the tail of deletes. A resumed run
    // re-applies from the last durable watermark, which the test estimates as it goes; an
    // estimate that is off only makes a kill land a little earlier or a run end, both fine.
    let mut watermark_guess = 0;
    let mut killed = 0;
    for round in 1..=ROUNDS {
        let r = xorshift(round.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let share = keys.last_seq / ROUNDS;
        let target = (round - 1) * share + r % share;
        let from = watermark_guess;
        let left = keys.last_seq - from;
        let ahead = target.saturating_sub(from);
        let delay =
            startup + Duration::from_secs_f64(from as f64 * per_skip + ahead as f64 * per_change);
        let mut child = daftar()
            .args(sync_args(&resumed_db, &feed))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sync starts");
        let spawned = Instant::now();
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL; fails only if the run already ended
        let status = child.wait().expect("sync reaped");
        if status.signal() == Some(9) {
            killed += 1;
            let busy = delay.saturating_sub(startup).as_secs_f64() - from as f64 * per_skip;
            let done = (busy.max(0.0) / per_change) as u64;
            let checkpoints = done.min(left) / CHECKPOINT_EVERY * CHECKPOINT_EVERY;
            watermark_guess += checkpoints;
        } else {
            // The run was faster than the calibration (a machine that got less busy): it
            // reached the end, so the rounds left would find nothing to kill. Aim faster and
            // begin the resumed store again, so the later rounds still cut runs short.
            assert_eq!(status.code(), Some(0), "round {round}: {status}");
            let took = spawned.elapsed().min(delay).as_secs_f64();
            let predicted =
                startup.as_secs_f64() + from as f64 * per_skip + left as f64 * per_change;
            let ratio = (took / predicted).clamp(0.2, 1.0) * 0.8;
            per_change *= ratio;
            per_skip *= ratio;
            std::fs::remove_dir_all(&resumed_db).expect("resumed store removed");
            watermark_guess = 0;
        }
        eprintln!("round {round}: aimed at change {target} from ~{from}, {delay:?}: {status}");
    }
    assert!(
        killed >= ROUNDS / 2,
        "only {killed} of {ROUNDS} runs were killed before their end"
    );

    let last = run(&sync_args(&resumed_db, &feed), "");
    assert_eq!(last.code, Some(0), "{last}");

    let reference = Store::open(&reference_db, 1 << 24).expect("reference opens");
    let resumed = Store::open(&resumed_db, 1 << 24).expect("resumed opens");
    let diff = differences(&reference, &resumed, &keys);
    assert!(
        diff.is_empty(),
        "after {killed} kills the stores differ:\n{}",
        diff.join("\n")
    );
    assert!(reference.person_count() > PEOPLE / 2);
    eprintln!(
        "clean sync {clean_took:?}; {killed}/{ROUNDS} killed; {} people, {} msisdns compared; {:?} in all",
        keys.people.len(),
        keys.msisdns.len(),
        started.elapsed()
    );
}
