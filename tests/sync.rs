//! Feed sync on a real sled store in a temporary directory: counts, idempotence, rejects,
//! ordering, directories, index upkeep, following a growing file, crash safety, and the sample
//! feed in `data/`.

use daftar::feed::FeedSource;
use daftar::record::{Change, ChangeOp, Person};
use daftar::store::Store;
use daftar::sync::{sync_once, Follower, SyncError, SyncReport};
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};

const CACHE: u64 = 16 << 20;

fn open(dir: &Path) -> Store {
    Store::open(&dir.join("db"), CACHE).expect("open store")
}

fn upsert(seq: u64, person: serde_json::Value) -> String {
    json!({"seq": seq, "op": "upsert", "person": person}).to_string() + "\n"
}

fn holder(seq: u64, id: &str, msisdns: &[&str]) -> String {
    upsert(
        seq,
        json!({"insurer": "tamin", "person_id": id, "msisdns": msisdns,
               "coverage": {"status": "active", "from": "2020-01-01", "until": "2030-12-31"}}),
    )
}

fn child(seq: u64, id: &str, holder_id: &str) -> String {
    upsert(
        seq,
        json!({"insurer": "tamin", "person_id": id, "birth_date": "2015-06-10",
               "holder": {"person_id": holder_id, "relation": "son"}}),
    )
}

fn delete(seq: u64, id: &str) -> String {
    json!({"seq": seq, "op": "delete", "insurer": "tamin", "person_id": id}).to_string() + "\n"
}

fn write(path: &Path, text: &str) -> FeedSource {
    std::fs::write(path, text).expect("write feed");
    FeedSource::parse(&path.to_string_lossy()).expect("source")
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .expect("open for append");
    f.write_all(text.as_bytes()).expect("append");
}

fn sync(store: &Store, source: &FeedSource) -> SyncReport {
    sync_once(store, source).expect("sync")
}

fn ids(people: &[Person]) -> Vec<&str> {
    people.iter().map(|p| p.person_id.as_str()).collect()
}

/// A small household feed: a holder, two children, another holder; 4 changes.
fn household() -> String {
    [
        holder(1, "0012345679", &["989120000001"]),
        child(2, "0010000119", "0012345679"),
        child(3, "0010000127", "0012345679"),
        holder(4, "0020000014", &["989120000002", "989120000001"]),
    ]
    .concat()
}

#[test]
fn a_clean_sync_applies_every_change_and_a_second_skips_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let source = write(&dir.path().join("feed.ndjson"), &household());

    let first = sync(&store, &source);
    assert_eq!(
        (first.applied, first.skipped, first.rejected_count()),
        (4, 0, 0)
    );
    assert_eq!(first.watermark, 4);
    assert_eq!(store.watermark().expect("wm"), 4);
    assert_eq!(store.person_count(), 4);
    let kids = store.dependents("tamin", "0012345679").expect("deps");
    assert_eq!(ids(&kids), ["0010000119", "0010000127"]);
    let family = store
        .people_by_msisdn("tamin", "989120000001")
        .expect("by msisdn");
    assert_eq!(ids(&family), ["0012345679", "0020000014"]);

    let second = sync(&store, &source);
    assert_eq!(
        (second.applied, second.skipped, second.rejected_count()),
        (0, 4, 0)
    );
    assert_eq!(second.watermark, 4);
}

#[test]
fn a_bad_line_is_reported_with_its_seq_and_line_and_the_rest_applied() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let bad =
        r#"{"seq": 2, "op": "upsert", "person": {"insurer": "tamin", "birth_date": "1988-02-30"}}"#;
    let feed = [
        holder(1, "0012345679", &[]),
        format!("{bad}\n"),
        holder(3, "0020000014", &[]),
    ];
    let source = write(&dir.path().join("feed.ndjson"), &feed.concat());

    let report = sync(&store, &source);
    assert_eq!(report.applied, 2);
    assert_eq!(report.rejected.len(), 1);
    let r = &report.rejected[0];
    assert_eq!((r.seq, r.line_no), (Some(2), 2));
    assert!(r.file.ends_with("feed.ndjson"));
    assert_eq!(
        report.watermark, 3,
        "seq 2 is covered once seq 3 is applied"
    );
    let printed = report.to_string();
    assert!(printed.contains("feed.ndjson:2 (seq 2)"), "{printed}");
}

#[test]
fn an_out_of_order_seq_is_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let feed = [
        holder(1, "0012345679", &[]),
        holder(5, "0020000014", &[]),
        holder(3, "0030000017", &[]),
        holder(5, "0040000011", &[]),
        holder(6, "0050000012", &[]),
    ];
    let source = write(&dir.path().join("feed.ndjson"), &feed.concat());

    let report = sync(&store, &source);
    assert_eq!(report.applied, 3);
    let rejected: Vec<_> = report.rejected.iter().map(|r| (r.line_no, r.seq)).collect();
    assert_eq!(rejected, [(3, Some(3)), (4, Some(5))]);
    assert!(store.person("tamin", "0030000017").expect("get").is_none());
    assert!(store.person("tamin", "0040000011").expect("get").is_none());
    assert_eq!(report.watermark, 6);
}

#[test]
fn a_directory_is_read_in_name_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let feed_dir = dir.path().join("feed");
    std::fs::create_dir(&feed_dir).expect("mkdir");
    std::fs::write(
        feed_dir.join("002.ndjson"),
        holder(3, "0012345679", &["989120000002"]),
    )
    .expect("write");
    std::fs::write(
        feed_dir.join("001.ndjson"),
        holder(1, "0012345679", &["989120000001"]),
    )
    .expect("write");
    std::fs::write(feed_dir.join("003.ndjson"), delete(4, "0012345679")).expect("write");
    std::fs::write(feed_dir.join("notes.txt"), "not a feed").expect("write");
    std::fs::write(feed_dir.join(".004.ndjson"), holder(5, "0020000014", &[])).expect("write");
    let source = FeedSource::parse(&feed_dir.to_string_lossy()).expect("source");
    assert!(matches!(source, FeedSource::Dir(_)));

    let report = sync(&store, &source);
    assert_eq!((report.applied, report.rejected_count()), (3, 0));
    assert_eq!(report.watermark, 4);
    assert!(store.person("tamin", "0012345679").expect("get").is_none());
    assert!(store.person("tamin", "0020000014").expect("get").is_none());
}

#[test]
fn an_upsert_replaces_the_record_and_its_index_entries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let path = dir.path().join("feed.ndjson");
    let source = write(
        &path,
        &[
            holder(1, "0012345679", &["989120000001", "989120000002"]),
            holder(2, "0020000014", &[]),
            child(3, "0010000119", "0012345679"),
        ]
        .concat(),
    );
    sync(&store, &source);
    append(
        &path,
        &[
            holder(4, "0012345679", &["989120000002", "989120000003"]),
            child(5, "0010000119", "0020000014"),
        ]
        .concat(),
    );
    sync(&store, &source);

    let by = |m: &str| store.people_by_msisdn("tamin", m).expect("by msisdn");
    assert!(
        by("989120000001").is_empty(),
        "the old MSISDN no longer finds anyone"
    );
    assert_eq!(ids(&by("989120000002")), ["0012345679"]);
    assert_eq!(ids(&by("989120000003")), ["0012345679"]);
    let deps = |h: &str| store.dependents("tamin", h).expect("deps");
    assert!(
        deps("0012345679").is_empty(),
        "the old holder no longer lists the child"
    );
    assert_eq!(ids(&deps("0020000014")), ["0010000119"]);
    assert_eq!(store.person_count(), 3);
}

#[test]
fn a_delete_removes_the_record_and_its_index_entries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let feed = [
        household(),
        delete(5, "0010000119"),
        delete(6, "0020000014"),
        delete(7, "0099999999"),
    ];
    let source = write(&dir.path().join("feed.ndjson"), &feed.concat());

    let report = sync(&store, &source);
    assert_eq!((report.applied, report.rejected_count()), (7, 0));
    assert!(store.person("tamin", "0010000119").expect("get").is_none());
    assert_eq!(
        ids(&store.dependents("tamin", "0012345679").expect("deps")),
        ["0010000127"]
    );
    assert_eq!(
        ids(&store.people_by_msisdn("tamin", "989120000001").expect("by")),
        ["0012345679"]
    );
    assert!(store
        .people_by_msisdn("tamin", "989120000002")
        .expect("by")
        .is_empty());
    assert_eq!(store.person_count(), 2);
}

#[test]
fn a_follower_holds_a_partial_last_line_until_it_is_complete() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let path = dir.path().join("feed.ndjson");
    let third = holder(3, "0030000017", &[]);
    let (head, tail) = third.split_at(30);
    let source = write(
        &path,
        &[
            holder(1, "0012345679", &[]),
            holder(2, "0020000014", &[]),
            head.to_string(),
        ]
        .concat(),
    );
    let mut follower = Follower::new(&store, source.clone()).expect("follower");

    let first = follower.poll(&store).expect("poll");
    assert_eq!((first.applied, first.rejected_count()), (2, 0));
    assert!(store.person("tamin", "0030000017").expect("get").is_none());
    let idle = follower.poll(&store).expect("poll");
    assert_eq!(
        (idle.applied, idle.skipped, idle.rejected_count()),
        (0, 0, 0)
    );

    append(&path, tail);
    let second = follower.poll(&store).expect("poll");
    assert_eq!((second.applied, second.rejected_count()), (1, 0));
    assert!(store.person("tamin", "0030000017").expect("get").is_some());
    assert_eq!(store.watermark().expect("wm"), 3);
}

#[test]
fn a_one_shot_sync_applies_a_last_line_without_its_newline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let last = holder(2, "0020000014", &[]);
    let feed = holder(1, "0012345679", &[]) + last.trim_end();
    let source = write(&dir.path().join("feed.ndjson"), &feed);
    let report = sync(&store, &source);
    assert_eq!((report.applied, report.watermark), (2, 2));
}

#[test]
fn a_follower_picks_up_new_files_in_a_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let feed_dir = dir.path().join("feed");
    std::fs::create_dir(&feed_dir).expect("mkdir");
    std::fs::write(feed_dir.join("001.ndjson"), holder(1, "0012345679", &[])).expect("write");
    let source = FeedSource::parse(&feed_dir.to_string_lossy()).expect("source");
    let mut follower = Follower::new(&store, source).expect("follower");
    assert_eq!(follower.poll(&store).expect("poll").applied, 1);

    append(&feed_dir.join("001.ndjson"), &holder(2, "0020000014", &[]));
    std::fs::write(feed_dir.join("002.ndjson"), holder(3, "0030000017", &[])).expect("write");
    let report = follower.poll(&store).expect("poll");
    assert_eq!(
        (report.applied, report.skipped, report.watermark),
        (2, 0, 3)
    );
}

#[test]
fn another_feed_file_continues_the_seq_numbering() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let one = write(
        &dir.path().join("one.ndjson"),
        &holder(1, "0012345679", &[]),
    );
    let two = write(
        &dir.path().join("two.ndjson"),
        &(holder(1, "0012345679", &[]) + &holder(2, "0020000014", &[])),
    );
    let three = write(
        &dir.path().join("three.ndjson"),
        &holder(3, "0030000017", &[]),
    );
    sync(&store, &one);
    let report = sync_once(&store, &two).expect("another file of the same feed");
    assert_eq!(
        (report.skipped, report.applied, report.watermark),
        (1, 1, 2)
    );
    assert!(store
        .person("tamin", "0020000014")
        .expect("reads")
        .is_some());
    let report = sync_once(&store, &three).expect("the next file, after the watermark");
    assert_eq!((report.applied, report.watermark), (1, 3));
}

/// SPEC §5: a store's watermark belongs to the feed that filled it; a feed that starts again
/// at seq 1 with other lines is another feed, whatever its path.
#[test]
fn another_feed_is_refused_on_a_store_it_did_not_fill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let path = dir.path().join("feed.ndjson");
    let one = write(
        &path,
        &(holder(1, "0012345679", &[]) + &holder(2, "0020000014", &[])),
    );
    sync(&store, &one);
    let other = write(
        &dir.path().join("other.ndjson"),
        &holder(1, "0030000017", &[]),
    );
    let refused = sync_once(&store, &other);
    assert!(
        matches!(refused, Err(SyncError::OtherFeed { .. })),
        "{refused:?}"
    );
    // The same path, rewritten from seq 1 with other lines: another feed too.
    let rewritten = write(&path, &holder(1, "0030000017", &[]));
    assert!(sync_once(&store, &rewritten).is_err());
    assert!(Follower::new(&store, rewritten).is_err());
    assert_eq!(store.watermark().expect("watermark"), 2);
}

/// Every person of a store, for comparing two stores: by the ids a feed names, plus the
/// indexes seen from every MSISDN and holder.
fn state(store: &Store, feed: &str) -> Vec<String> {
    let mut out = vec![format!("count {}", store.person_count())];
    for line in feed.lines() {
        let Ok(change) = serde_json::from_str::<Change>(line) else {
            continue;
        };
        let (insurer, id, msisdns) = match &change.op {
            ChangeOp::Upsert { person } => (
                person.insurer.clone(),
                person.person_id.clone(),
                person.msisdns.clone(),
            ),
            ChangeOp::Delete { insurer, person_id } => {
                (insurer.clone(), person_id.clone(), Vec::new())
            }
            ChangeOp::Event { .. } => continue,
        };
        let person = store.person(&insurer, &id).expect("get");
        out.push(format!("{id}: {person:?}"));
        let deps = store.dependents(&insurer, &id).expect("deps");
        out.push(format!("{id} deps {:?}", ids(&deps)));
        for m in msisdns {
            let by = store.people_by_msisdn(&insurer, &m).expect("by");
            out.push(format!("{m} -> {:?}", ids(&by)));
        }
    }
    out.sort();
    out.dedup();
    out
}

#[test]
fn a_sync_killed_at_any_point_resumes_to_the_state_of_a_clean_sync() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut feed = Vec::new();
    daftar::feedgen::write_feed(&mut feed, 400, 3, jiff::civil::date(2026, 11, 25)).expect("gen");
    let mut feed = String::from_utf8(feed).expect("utf8");
    // Changes that move people between indexes and remove them, late in the feed.
    let lines: Vec<String> = feed.lines().map(str::to_string).collect();
    let mut seq = lines.len() as u64;
    for line in lines.iter().step_by(7) {
        let change: Change = serde_json::from_str(line).expect("change");
        let ChangeOp::Upsert { person } = change.op else {
            continue;
        };
        seq += 1;
        let mut moved = serde_json::to_value(&person).expect("json");
        moved["msisdns"] = json!([format!("98912{:07}", seq)]);
        moved["holder"] = json!({"person_id": "0012345679", "relation": "son"});
        feed += &upsert(seq, moved);
        if seq.is_multiple_of(3) {
            seq += 1;
            feed += &json!({"seq": seq, "op": "delete", "insurer": person.insurer,
                            "person_id": person.person_id})
            .to_string();
            feed.push('\n');
        }
    }
    let changes: Vec<Change> = feed
        .lines()
        .map(|l| serde_json::from_str(l).expect("change"))
        .collect();
    let source = write(&dir.path().join("feed.ndjson"), &feed);

    let clean_dir = dir.path().join("clean");
    let clean = {
        let store = open(&clean_dir);
        sync(&store, &source);
        state(&store, &feed)
    };

    for (i, cut) in [0, 1, 57, 399, 400, changes.len() - 1]
        .into_iter()
        .enumerate()
    {
        let crash_dir = dir.path().join(format!("crash{i}"));
        {
            // A sync that made half its work durable under a watermark, applied more without
            // one, then died.
            let store = open(&crash_dir);
            let wm = cut / 2;
            for c in &changes[..wm] {
                store.apply(c).expect("apply");
            }
            store.flush().expect("flush");
            if let Some(c) = wm.checked_sub(1).and_then(|i| changes.get(i)) {
                store.set_watermark(c.seq).expect("watermark");
            }
            for c in &changes[wm..cut] {
                store.apply(c).expect("apply");
            }
        }
        let store = open(&crash_dir);
        let report = sync(&store, &source);
        assert_eq!(report.rejected_count(), 0);
        assert_eq!(report.watermark, changes.last().map_or(0, |c| c.seq));
        assert_eq!(state(&store, &feed), clean, "crash after {cut} changes");
    }
}

#[test]
fn garbage_lines_are_each_rejected_without_stopping_the_rest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let huge = format!(
        "{{\"seq\": 9, \"op\": \"upsert\", \"person\": {{\"insurer\": \"tamin\", \"person_id\": \"1\", \"name\": \"{}\"}}}}\n",
        "x".repeat(2 << 20)
    );
    let mut feed: Vec<u8> = Vec::new();
    feed.extend(holder(1, "0012345679", &[]).as_bytes());
    feed.extend(b"\x00\xff\xfe binary \x89PNG\r\n");
    feed.extend(b"{}\n");
    feed.extend(b"\n   \n");
    feed.extend(b"{\"seq\": 4, \"op\": \"upsert\", \"person\": {\"insurer\": \"tamin\", \"person_id\": \"\xff\xfe\"}}\n");
    feed.extend(holder(5, "0020000014", &[]).as_bytes());
    feed.extend(br#"{"seq": "6", "op": "delete", "insurer": "tamin", "person_id": "1"}"#);
    feed.push(b'\n');
    feed.extend(br#"{"seq": 7, "op": "upsert", "person": {"insurer": "tamin", "person_id": 7}}"#);
    feed.push(b'\n');
    feed.extend(br#"{"seq": 8"#);
    feed.push(b'\n');
    feed.extend(huge.as_bytes());
    feed.extend(
        br#"{"seq": 10, "op": "upsert", "person": {"insurer": "tamin", "person_id": "a\u0000b"}}"#,
    );
    feed.push(b'\n');
    feed.extend(holder(11, "0030000017", &[]).as_bytes());
    let path = dir.path().join("feed.ndjson");
    std::fs::write(&path, &feed).expect("write");
    let source = FeedSource::parse(&path.to_string_lossy()).expect("source");

    let report = sync(&store, &source);
    assert_eq!(report.applied, 3, "{report}");
    let rejected: Vec<_> = report.rejected.iter().map(|r| (r.line_no, r.seq)).collect();
    assert_eq!(
        rejected,
        [
            (2, None),
            (3, None),
            (6, Some(4)),
            (8, None),
            (9, Some(7)),
            (10, Some(8)),
            (11, Some(9)),
            (12, Some(10)),
        ],
        "{report}"
    );
    assert!(
        report.rejected[6].message.contains("longer than"),
        "{report}"
    );
    assert!(report.rejected[2].message.contains("UTF-8"), "{report}");
    assert_eq!(report.watermark, 11);
    assert_eq!(store.person_count(), 3);
}

#[test]
fn the_count_survives_a_crash_between_flushes() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = open(dir.path());
        let source = write(&dir.path().join("feed.ndjson"), &household());
        sync(&store, &source);
        for seq in 5..8 {
            let c: Change = serde_json::from_str(&holder(seq, &format!("00{seq}0000000"), &[]))
                .expect("change");
            store.apply(&c).expect("apply");
        }
        let c: Change = serde_json::from_str(&delete(8, "0012345679")).expect("change");
        store.apply(&c).expect("apply");
    }
    let store = open(dir.path());
    assert_eq!(store.person_count(), 6);
}

// ---- the sample feed in data/ ----

fn sample_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/feed.ndjson")
}

fn valid_national_code(id: &str) -> bool {
    let d: Vec<u32> = id.chars().filter_map(|c| c.to_digit(10)).collect();
    if id.len() != 10 || d.len() != 10 || d.iter().all(|x| *x == d[0]) {
        return false;
    }
    let s: u32 = (0..9).map(|i| d[i] * (10 - i as u32)).sum();
    let r = s % 11;
    d[9] == if r < 2 { r } else { 11 - r }
}

fn valid_iin(id: &str, person: &Person) -> bool {
    let d: Vec<u32> = id.chars().filter_map(|c| c.to_digit(10)).collect();
    if id.len() != 12 || d.len() != 12 || !(1..=6).contains(&d[6]) {
        return false;
    }
    let weigh = |w: &[u32]| (0..11).map(|i| d[i] * w[i]).sum::<u32>() % 11;
    let mut c = weigh(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    if c == 10 {
        c = weigh(&[3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2]);
    }
    let Some(born) = person.birth_date else {
        return false;
    };
    let century = match d[6] {
        1 | 2 => 18,
        3 | 4 => 19,
        _ => 20,
    };
    let sex_ok = match person.sex {
        Some(daftar::record::Sex::M) => d[6] % 2 == 1,
        Some(daftar::record::Sex::F) => d[6].is_multiple_of(2),
        None => true,
    };
    c != 10
        && c == d[11]
        && born.strftime("%y%m%d").to_string() == id[..6]
        && born.year() / 100 == century
        && sex_ok
}

#[test]
fn the_sample_feed_parses_and_every_identifier_is_valid() {
    let text = std::fs::read_to_string(sample_path()).expect("data/feed.ndjson");
    let mut seen = std::collections::HashSet::new();
    let mut last_seq = 0;
    for (n, line) in text.lines().enumerate() {
        let change: Change = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("data/feed.ndjson:{}: {e}", n + 1));
        assert!(change.seq > last_seq, "line {}: seq not increasing", n + 1);
        last_seq = change.seq;
        let ChangeOp::Upsert { person } = change.op else {
            continue;
        };
        let id = person.person_id.as_str();
        let insurer = person.insurer.as_str();
        let ok = match insurer {
            "tamin" => valid_national_code(id),
            "osms" => valid_iin(id, &person),
            // A Tunisian CIN: eight digits; the matricule is written without its key.
            "cnam" | "mutual" => {
                let digits = |s: &str, n: std::ops::RangeInclusive<usize>| {
                    n.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
                };
                let raw: serde_json::Value = serde_json::from_str(line).expect("json");
                let member = raw["person"]["member_no"]
                    .as_str()
                    .is_some_and(|m| digits(m, 4..=8));
                digits(id, 8..=8) && (person.holder.is_some() || member)
            }
            _ => false,
        };
        assert!(ok, "line {}: {insurer} {id} is not valid", n + 1);
        let key = (insurer.to_string(), id.to_string());
        assert!(seen.insert(key), "line {}: {id} twice", n + 1);
        if let Some(h) = &person.holder {
            assert!(
                seen.contains(&(insurer.to_string(), h.person_id.clone())),
                "line {}: holder comes later",
                n + 1
            );
        }
    }
    assert!(seen.len() >= 300, "a few hundred people");
}

#[test]
fn the_sample_feed_syncs_cleanly_and_holds_the_documented_people() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let source = FeedSource::parse(&sample_path().to_string_lossy()).expect("source");
    let report = sync(&store, &source);
    assert_eq!(report.rejected_count(), 0, "{report}");
    let text = std::fs::read_to_string(sample_path()).expect("data/feed.ndjson");
    let upserts = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Change>(l).ok())
        .filter(|c| matches!(c.op, ChangeOp::Upsert { .. }))
        .count();
    assert_eq!(
        report.applied,
        text.lines().count() as u64,
        "every change applied"
    );
    assert_eq!(store.person_count(), upserts, "one record per upsert");
    let trabelsi = store.dependents("cnam", "08123456").expect("deps");
    assert_eq!(trabelsi.len(), 9);
    let family_phone = store
        .people_by_msisdn("cnam", "21620000009")
        .expect("by msisdn");
    assert_eq!(ids(&family_phone), ["05111333", "06111222"]);
    let rezaei = store.dependents("tamin", "0012345679").expect("deps");
    assert_eq!(rezaei.len(), 8);
    let family_phone = store
        .people_by_msisdn("tamin", "989120000007")
        .expect("by msisdn");
    assert_eq!(ids(&family_phone), ["0070000018", "0070000026"]);
    let nurlanov = store.person("osms", "850714300018").expect("get");
    assert!(nurlanov.is_some_and(|p| p.attachment.is_some()));
}

/// A record with an insurer daftar does not know, or an identifier whose check digit is wrong,
/// is rejected with its seq and line (and the identifier is not quoted); the rest applies.
#[test]
fn unknown_insurers_and_wrong_check_digits_are_rejected_with_their_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let lines = [
        holder(1, "0012345679", &[]),
        r#"{"seq": 2, "op": "upsert", "person": {"insurer": "tamn", "person_id": "0012345679"}}"#
            .to_string()
            + "\n",
        holder(3, "0012345678", &[]),
        r#"{"seq": 4, "op": "upsert", "person": {"insurer": "osms", "person_id": "850714300019"}}"#
            .to_string()
            + "\n",
        r#"{"seq": 5, "op": "upsert", "person": {"insurer": "tamin", "person_id": "123456789012"}}"#
            .to_string() + "\n",
    ];
    let source = write(&dir.path().join("feed.ndjson"), &lines.concat());
    let report = sync(&store, &source);
    let rejected: Vec<(Option<u64>, usize)> =
        report.rejected.iter().map(|r| (r.seq, r.line_no)).collect();
    assert_eq!(rejected, [(Some(2), 2), (Some(3), 3), (Some(4), 4)]);
    assert_eq!(
        report.applied, 2,
        "a foreign national's number has no check digit"
    );
    let printed = report.to_string();
    // What is wrong, not the value (issue 11): the rule names the insurers a feed may use.
    assert!(printed.contains("insurer is none of tamin"), "{printed}");
    assert!(!printed.contains("tamn"), "{printed}");
    assert!(!printed.contains("0012345678"), "{printed}");
}

/// Issue 11: one mistyped `seq` (9999999999) must not move the watermark past every later
/// change. It is rejected with its line, the good lines after it are applied, and the
/// watermark stays with them.
#[test]
fn a_seq_that_jumps_beyond_the_gap_is_rejected_and_the_rest_applied() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let feed = [
        holder(1, "0012345679", &[]),
        holder(9_999_999_999, "0020000014", &[]),
        holder(2, "0030000017", &[]),
        holder(3, "0040000011", &[]),
    ];
    let source = write(&dir.path().join("feed.ndjson"), &feed.concat());
    let report = daftar::sync::sync_once_gapped(&store, &source, 1_000).expect("sync");
    assert_eq!(
        (report.applied, report.rejected_count()),
        (3, 1),
        "{report}"
    );
    let r = &report.rejected[0];
    assert_eq!((r.seq, r.line_no), (Some(9_999_999_999), 2));
    assert!(r.message.contains("max_seq_gap"), "{report}");
    assert_eq!(report.watermark, 3);
    assert!(store.person("tamin", "0020000014").expect("read").is_none());
    assert!(store.person("tamin", "0040000011").expect("read").is_some());

    // Fixed in place (the insurer corrects the typo), the line is applied after the others.
    let fixed = [
        holder(1, "0012345679", &[]),
        holder(4, "0020000014", &[]),
        holder(2, "0030000017", &[]),
        holder(3, "0040000011", &[]),
        holder(5, "0050000012", &[]),
    ];
    std::fs::write(dir.path().join("feed.ndjson"), fixed.concat()).expect("rewrite");
    let again = daftar::sync::sync_once_gapped(&store, &source, 1_000).expect("sync");
    assert_eq!(again.watermark, 5, "{again}");
    assert!(store.person("tamin", "0050000012").expect("read").is_some());
}

/// A gap within the limit is applied, and a limit of 0 lets any gap through.
#[test]
fn a_gap_within_the_limit_or_with_no_limit_is_applied() {
    for (limit, next) in [(1_000, 1_001), (0, 9_999_999_999)] {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open(dir.path());
        let feed = [
            holder(1, "0012345679", &[]),
            holder(next, "0020000014", &[]),
        ];
        let source = write(&dir.path().join("feed.ndjson"), &feed.concat());
        let report = daftar::sync::sync_once_gapped(&store, &source, limit).expect("sync");
        assert_eq!(
            (report.applied, report.watermark),
            (2, next),
            "{limit}: {report}"
        );
    }
}

/// The follower (the server's path) holds the same limit.
#[test]
fn the_follower_rejects_a_jump_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let path = dir.path().join("feed.ndjson");
    let source = write(&path, &holder(1, "0012345679", &[]));
    let mut follower = Follower::new(&store, source)
        .expect("follower")
        .with_max_seq_gap(10);
    assert_eq!(follower.poll(&store).expect("poll").applied, 1);
    append(
        &path,
        &[holder(12, "0020000014", &[]), holder(2, "0030000017", &[])].concat(),
    );
    let report = follower.poll(&store).expect("poll");
    assert_eq!(
        (report.applied, report.rejected_count()),
        (1, 1),
        "{report}"
    );
    assert_eq!(report.watermark, 2);
}

/// A sync writes each batch in the order of its records' keys, not the feed's: it must end in
/// the state of the same changes applied one by one in feed order, however one person's
/// changes (moved phones and holders, a delete, an upsert after it, events) lie in the batch.
#[test]
fn a_sync_ends_as_its_changes_applied_one_by_one_in_feed_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut generated = Vec::new();
    daftar::feedgen::write_feed(&mut generated, 300, 5, jiff::civil::date(2026, 11, 25))
        .expect("gen");
    let generated = String::from_utf8(generated).expect("utf8");
    let lines: Vec<&str> = generated.lines().collect();
    let mut feed = String::new();
    let mut seq = 0;
    // Each generated person, then at once again with a new phone and holder; every third one
    // then deleted and upserted again as generated.
    for (k, line) in lines.iter().enumerate() {
        let change: Change = serde_json::from_str(line).expect("change");
        let ChangeOp::Upsert { person } = change.op else {
            continue;
        };
        seq += 1;
        feed += &upsert(seq, serde_json::to_value(&person).expect("json"));
        seq += 1;
        let mut moved = serde_json::to_value(&person).expect("json");
        moved["msisdns"] = json!([format!("98912{:07}", k % 50)]);
        moved["holder"] = json!({"person_id": "0012345679", "relation": "son"});
        feed += &upsert(seq, moved);
        if k % 3 == 0 {
            seq += 1;
            feed += &json!({"seq": seq, "op": "delete", "insurer": person.insurer,
                            "person_id": person.person_id})
            .to_string();
            feed.push('\n');
            seq += 1;
            feed += &upsert(seq, serde_json::to_value(&person).expect("json"));
        }
    }
    let changes: Vec<Change> = feed
        .lines()
        .map(|l| serde_json::from_str(l).expect("change"))
        .collect();
    let one_by_one = {
        let store = open(&dir.path().join("one_by_one"));
        for change in &changes {
            store.apply(change).expect("apply");
        }
        state(&store, &feed)
    };
    let store = open(&dir.path().join("synced"));
    let report = sync(&store, &write(&dir.path().join("feed.ndjson"), &feed));
    assert_eq!(
        (report.applied, report.rejected_count(), report.watermark),
        (changes.len() as u64, 0, seq)
    );
    assert_eq!(state(&store, &feed), one_by_one);
    assert!(
        one_by_one.iter().any(|l| l.contains("deps [\"")),
        "the feed moves children under a holder"
    );
}
