//! The `daftar` commands as an operator types them (README "Commands", SPEC §7): `check` over
//! the shipped menus and over one-fault fixtures, `sync`'s exit codes, `simulate` on stdin,
//! `track` with Latin and Persian digits, `gen-feed`, and `serve` stopped by SIGTERM. Every
//! test runs the real binary in a temp dir and reads only its exit code and output.

mod daftar_bin;

use daftar_bin::{
    arg, luhn_digit, luhn_ok, persian_digits, run, run_until, sample_store, tracking_codes,
};
use std::path::Path;
use std::time::Duration;

#[test]
fn check_passes_on_the_shipped_menus() {
    let check = run(&["check", "--menus", "menus"], "");
    assert_eq!(check.code, Some(0), "{check}");
    assert!(check.stdout.contains("no fault"), "{check}");
}

/// Each fixture is the shipped tamin menu with one fault (tests/fixtures/README.md).
#[test]
fn check_names_the_file_and_the_screen_of_each_fault() {
    // (case, what the fault line names besides the file, what it says)
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "dangling",
            &["screen `main`"],
            "dangling link to `language`",
        ),
        (
            "missing_word",
            &["screen `own_code`"],
            "`ask.own_code` has no words in `en`",
        ),
        (
            "over_budget",
            &["screen `general_number`"],
            "over one page in `fa`",
        ),
        (
            "unreachable",
            &["screen `orphan`"],
            "no path from the start screen reaches it",
        ),
        (
            "unknown_action",
            &["screen `own_status`"],
            "unknown action `tamin.own_state`",
        ),
        (
            "paged_by_error",
            &["screen `main`"],
            "asked again after a wrong answer, over one page in `fa`",
        ),
        // A word's fault names the key; a screen would do as well.
        (
            "bidi_mark",
            &["`main.title`", "screen `main`"],
            "right-to-left mark (U+200F)",
        ),
    ];
    for (case, names, says) in cases {
        let dir = format!("tests/fixtures/{case}");
        let check = run(&["check", "--menus", &dir], "");
        assert_eq!(check.code, Some(1), "{case}: {check}");
        let file = format!("{dir}/tamin");
        let named = check.stdout.lines().any(|line| {
            line.contains(&file) && names.iter().any(|n| line.contains(n)) && line.contains(says)
        });
        assert!(
            named,
            "{case}: no line names {file}, {names:?}, {says:?}:\n{check}"
        );
        assert!(
            check.stdout.contains("\n1 fault(s)"),
            "{case}: the fixture should hold exactly one fault:\n{check}"
        );
    }
}

fn write_feed(path: &Path, lines: &[&str]) {
    std::fs::write(path, lines.join("\n") + "\n").expect("feed written");
}

const HOLDER_1: &str = r#"{"seq": 1, "op": "upsert", "person": {"insurer": "tamin", "person_id": "0012345679", "msisdns": ["989120000001"], "coverage": {"status": "active", "from": "2020-01-01", "until": "2030-12-31"}}}"#;
const HOLDER_3: &str = r#"{"seq": 3, "op": "upsert", "person": {"insurer": "tamin", "person_id": "0020000014", "msisdns": ["989120000002"], "coverage": {"status": "active", "from": "2020-01-01"}}}"#;

#[test]
fn sync_exits_0_when_clean_and_skips_everything_the_second_time() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (feed, db) = (dir.path().join("feed.ndjson"), dir.path().join("db"));
    write_feed(&feed, &[HOLDER_1, HOLDER_3]);
    let args = ["sync", "--db", arg(&db), "--feed", arg(&feed)];
    let first = run(&args, "");
    assert_eq!(first.code, Some(0), "{first}");
    assert!(
        first.stdout.contains("applied 2, skipped 0, rejected 0"),
        "{first}"
    );
    let second = run(&args, "");
    assert_eq!(second.code, Some(0), "{second}");
    assert!(
        second.stdout.contains("applied 0, skipped 2, rejected 0"),
        "{second}"
    );
}

#[test]
fn sync_exits_3_on_a_bad_line_naming_its_seq_and_line_and_applies_the_others() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (feed, db) = (dir.path().join("feed.ndjson"), dir.path().join("db"));
    let bad = r#"{"seq": 2, "op": "upsert", "person": {"insurer": "tamin", "person_id": 12}}"#;
    write_feed(&feed, &[HOLDER_1, bad, HOLDER_3]);
    let sync = run(&["sync", "--db", arg(&db), "--feed", arg(&feed)], "");
    assert_eq!(sync.code, Some(3), "{sync}");
    let named = sync
        .output()
        .lines()
        .any(|l| l.contains("feed.ndjson:2") && l.contains("seq 2"));
    assert!(named, "no line names line 2 and seq 2:\n{sync}");
    assert!(sync.stdout.contains("applied 2"), "{sync}");
    let store = daftar::store::Store::open(&db, 1 << 24).expect("store opens");
    assert!(store.person("tamin", "0012345679").expect("read").is_some());
    assert!(store.person("tamin", "0020000014").expect("read").is_some());
    assert_eq!(store.watermark().expect("watermark"), 3);
}

/// Issue 11: a mistyped `seq` is a rejected line (exit 3) naming its line; the lines after it
/// are applied and the watermark stays with them; `[feed] max_seq_gap` sets the limit.
#[test]
fn sync_exits_3_on_a_seq_that_jumps_and_applies_the_lines_after_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (feed, db) = (dir.path().join("feed.ndjson"), dir.path().join("db"));
    let config = dir.path().join("daftar.toml");
    std::fs::write(&config, "[feed]\nmax_seq_gap = 100\n").expect("config");
    let typo = HOLDER_3.replace("\"seq\": 3", "\"seq\": 9999999999");
    assert_ne!(typo, HOLDER_3);
    write_feed(&feed, &[HOLDER_1, &typo, HOLDER_3]);
    let args = [
        "sync",
        "--db",
        arg(&db),
        "--feed",
        arg(&feed),
        "--config",
        arg(&config),
    ];
    let sync = run(&args, "");
    assert_eq!(sync.code, Some(3), "{sync}");
    let output = sync.output();
    let reject = output.lines().find(|l| l.contains("feed.ndjson:2"));
    let says = |word: &str| reject.is_some_and(|l| l.contains(word));
    assert!(
        says("seq 9999999999") && says("max_seq_gap (100)"),
        "{sync}"
    );
    let watermark = daftar::store::Store::open(&db, 1 << 24)
        .and_then(|store| store.watermark())
        .expect("store opens");
    assert_eq!(watermark, 3, "the typo did not move the watermark");
}

#[test]
fn sync_exits_1_when_the_feed_does_not_exist() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (feed, db) = (dir.path().join("no-such.ndjson"), dir.path().join("db"));
    let sync = run(&["sync", "--db", arg(&db), "--feed", arg(&feed)], "");
    assert_eq!(sync.code, Some(1), "{sync}");
    assert!(sync.stderr.contains("no-such.ndjson"), "{sync}");
}

/// `daftar simulate --db DB --service SERVICE --msisdn MSISDN` with `typed` on stdin.
fn simulate(db: &Path, service: &str, msisdn: &str, typed: &str) -> daftar_bin::Run {
    run(
        &[
            "simulate",
            "--db",
            arg(db),
            "--service",
            service,
            "--msisdn",
            msisdn,
        ],
        typed,
    )
}

#[test]
fn simulate_answers_a_tamin_holder_in_persian() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = sample_store(dir.path());
    let sim = simulate(&db, "tamin", "989120000001", "1\n0012345679\n");
    assert_eq!(sim.code, Some(0), "{sim}");
    assert!(sim.stdout.contains("حمایت درمانی دارد"), "{sim}");
    let codes = tracking_codes(&sim.stdout);
    assert!(
        codes.len() == 1 && luhn_ok(&codes[0]),
        "one tracking code: {sim}"
    );
}

#[test]
fn simulate_answers_an_osms_person_in_russian() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = sample_store(dir.path());
    let sim = simulate(&db, "osms", "77010000001", "9\n1\n850714300018\n98\n98\n");
    assert_eq!(sim.code, Some(0), "{sim}");
    let insured = sim
        .stdout
        .lines()
        .any(|l| l.trim_start_matches("> ") == "Застрахован");
    assert!(insured, "{sim}");
    assert!(sim.stdout.contains("City polyclinic No. 5"), "{sim}");
    assert_eq!(tracking_codes(&sim.stdout).len(), 1, "{sim}");
}

#[test]
fn track_shows_the_entry_of_a_code_from_a_session() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = sample_store(dir.path());
    let sim = simulate(&db, "tamin", "989120000001", "1\n0012345679\n");
    let code = tracking_codes(&sim.stdout)
        .pop()
        .unwrap_or_else(|| panic!("no tracking code: {sim}"));

    for typed in [code.clone(), persian_digits(&code)] {
        let track = run(&["track", &typed, "--db", arg(&db)], "");
        assert_eq!(track.code, Some(0), "{typed}: {track}");
        let field = |name: &str| {
            track.stdout.lines().find_map(|line| {
                let (key, value) = line.split_once(' ')?;
                (key == name).then(|| value.trim().to_string())
            })
        };
        assert_eq!(field("service").as_deref(), Some("tamin"), "{track}");
        assert_eq!(field("inquiry").as_deref(), Some("specific"), "{track}");
        assert_eq!(field("result").as_deref(), Some("covered"), "{track}");
        for secret in ["989120000001", "0012345679"] {
            assert!(
                !track.output().contains(secret),
                "{secret} in clear: {track}"
            );
        }
    }

    let last = code
        .chars()
        .last()
        .and_then(|c| c.to_digit(10))
        .expect("digit");
    let wrong = format!("{}{}", &code[..9], (last + 1) % 10);
    let track = run(&["track", &wrong, "--db", arg(&db)], "");
    assert!(
        track.code.is_some_and(|c| c != 0),
        "a wrong check digit: {track}"
    );
    assert!(track.stderr.contains("not a tracking code"), "{track}");

    // Node 9 never issued anything in this store.
    let unknown = format!("900000001{}", luhn_digit("900000001"));
    let track = run(&["track", &unknown, "--db", arg(&db)], "");
    assert_eq!(track.code, Some(1), "{track}");
    assert!(track.stdout.contains("not in the audit trail"), "{track}");
}

#[test]
fn gen_feed_writes_a_feed_that_syncs_cleanly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (feed, db) = (dir.path().join("gen.ndjson"), dir.path().join("db"));
    let gen = run(&["gen-feed", "--people", "500", "--out", arg(&feed)], "");
    assert_eq!(gen.code, Some(0), "{gen}");
    let lines = std::fs::read_to_string(&feed)
        .expect("feed written")
        .lines()
        .count();
    assert!(
        (500..=1_500).contains(&lines),
        "{lines} lines for 500 people"
    );
    let sync = run(&["sync", "--db", arg(&db), "--feed", arg(&feed)], "");
    assert_eq!(sync.code, Some(0), "{sync}");
    assert!(
        sync.stdout
            .contains(&format!("applied {lines}, skipped 0, rejected 0")),
        "{lines} lines: {sync}"
    );
}

#[test]
fn serve_becomes_ready_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut served = daftar_bin::Served::start_sample(dir.path(), &[]);
    assert_eq!(served.get("/healthz").0, 200);
    let (status, took) = served.terminate(Duration::from_secs(10));
    assert_eq!(
        status.code(),
        Some(0),
        "{status} after {took:?}:\n{}",
        served.log()
    );
}

/// A feed that cannot be opened is an error at start, not a server that serves nothing new.
#[test]
fn serve_refuses_a_feed_that_does_not_exist_naming_its_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("db");
    let feed = "/no/such/file.ndjson";
    let args = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--feed",
        feed,
        "--db",
        arg(&db),
    ];
    let serve = run_until(&args, Duration::from_secs(60));
    assert!(serve.code.is_some_and(|code| code != 0), "{serve}");
    assert!(serve.stderr.contains(feed), "{serve}");
}

const OTHER_1: &str = r#"{"seq": 1, "op": "upsert", "person": {"insurer": "tamin", "person_id": "0030000017", "msisdns": ["989120000003"], "coverage": {"status": "active", "from": "2020-01-01"}}}"#;
const HOLDER_4: &str = r#"{"seq": 4, "op": "upsert", "person": {"insurer": "tamin", "person_id": "0040000011", "msisdns": ["989120000004"], "coverage": {"status": "active", "from": "2020-01-01"}}}"#;

/// SPEC §5: a store's watermark belongs to the feed that filled it. A next file that continues
/// the numbering, or the same feed again, is that feed; a feed that starts again at seq 1 with
/// other lines is another one, refused with what to do instead.
#[test]
fn sync_refuses_another_feed_on_a_store_and_accepts_its_continuation() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("db");
    let (first, next, other) = (
        dir.path().join("first.ndjson"),
        dir.path().join("next.ndjson"),
        dir.path().join("other.ndjson"),
    );
    write_feed(&first, &[HOLDER_1, HOLDER_3]);
    write_feed(&next, &[HOLDER_4]);
    write_feed(&other, &[OTHER_1]);
    let sync = |feed: &Path| run(&["sync", "--db", arg(&db), "--feed", arg(feed)], "");
    let run1 = sync(&first);
    assert_eq!(run1.code, Some(0), "{run1}");
    let again = sync(&first);
    assert_eq!(again.code, Some(0), "the same feed twice: {again}");
    let refused = sync(&other);
    assert_eq!(refused.code, Some(1), "another feed: {refused}");
    assert!(
        refused.stderr.contains("--db"),
        "says what to do: {refused}"
    );
    assert!(!refused.stdout.contains("skipped"), "{refused}");
    let continued = sync(&next);
    assert_eq!(continued.code, Some(0), "the next file: {continued}");
    assert!(continued.stdout.contains("applied 1"), "{continued}");
    // The first file again, after the next one: still the same feed.
    let first_again = sync(&first);
    assert_eq!(first_again.code, Some(0), "{first_again}");
}

/// `serve --feed` refuses another feed on a store at start, naming `--db`.
#[test]
fn serve_refuses_another_feed_on_a_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = sample_store(dir.path());
    let other = dir.path().join("other.ndjson");
    write_feed(&other, &[OTHER_1]);
    let args = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--feed",
        arg(&other),
        "--db",
        arg(&db),
    ];
    let serve = run_until(&args, Duration::from_secs(60));
    assert!(serve.code.is_some_and(|code| code != 0), "{serve}");
    assert!(serve.stderr.contains("--db"), "{serve}");
}

/// Readers never create a store: `track` and `simulate` refuse a directory without one, and
/// `sync` refuses a path that exists and is not a store.
#[test]
fn readers_refuse_a_directory_that_holds_no_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("no-store");
    let code = format!("900000001{}", luhn_digit("900000001"));
    let track = run(&["track", &code, "--db", arg(&missing)], "");
    assert_eq!(track.code, Some(1), "{track}");
    assert!(track.stderr.contains("no-store"), "{track}");
    assert!(!track.stdout.contains("not in the audit trail"), "{track}");
    assert!(!missing.exists(), "track created {}", missing.display());

    let sim = run(
        &["simulate", "--db", arg(&missing), "--service", "tamin"],
        "1\n",
    );
    assert_eq!(sim.code, Some(1), "{sim}");
    assert!(sim.stderr.contains("no-store"), "{sim}");
    assert!(!missing.exists(), "simulate created {}", missing.display());

    let (feed, not_a_store) = (dir.path().join("feed.ndjson"), dir.path().join("docs"));
    write_feed(&feed, &[HOLDER_1]);
    std::fs::create_dir(&not_a_store).expect("mkdir");
    std::fs::write(not_a_store.join("notes.txt"), "mine").expect("write");
    let sync = run(
        &["sync", "--db", arg(&not_a_store), "--feed", arg(&feed)],
        "",
    );
    assert_eq!(sync.code, Some(1), "{sync}");
    assert!(sync.stderr.contains("docs"), "{sync}");
    assert!(!not_a_store.join("db").exists(), "sync wrote a store");
}

/// `track --server` with the admin API off or refusing the token says so.
#[test]
fn track_server_reports_an_admin_api_that_is_off_unreachable_or_refusing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let code = format!("900000001{}", luhn_digit("900000001"));
    let off = daftar_bin::Served::start_sample(dir.path(), &[]);
    let track = daftar_bin::daftar()
        .args(["track", &code, "--server", &off.base])
        .env("DAFTAR_ADMIN_TOKEN", "t0ken")
        .output()
        .map(daftar_bin::Run::from)
        .expect("track runs");
    assert_eq!(track.code, Some(1), "{track}");
    assert!(!track.stdout.contains("not in the audit trail"), "{track}");
    assert!(track.stderr.contains("admin API is off"), "{track}");
    drop(off);

    let port = daftar_bin::free_port();
    let track = daftar_bin::daftar()
        .args(["track", &code, "--server", &format!("127.0.0.1:{port}")])
        .env("DAFTAR_ADMIN_TOKEN", "t0ken")
        .output()
        .map(daftar_bin::Run::from)
        .expect("track runs");
    assert_eq!(track.code, Some(1), "{track}");
    assert!(track.stderr.contains("cannot reach"), "{track}");

    // With the API on: a wrong token is reported as refused; the right one prints what
    // `track --db` prints.
    let dir = tempfile::tempdir().expect("temp dir");
    let mut on = daftar_bin::Served::start_sample(dir.path(), &[("DAFTAR_ADMIN_TOKEN", "right")]);
    let screen = on.at("s1", "*4*1420#", "+989120000001", "1*0012345679");
    let issued = tracking_codes(&screen)
        .pop()
        .unwrap_or_else(|| panic!("no tracking code: {screen}"));
    let remote = |token: &str| {
        daftar_bin::daftar()
            .args(["track", &issued, "--server", &on.base])
            .env("DAFTAR_ADMIN_TOKEN", token)
            .output()
            .map(daftar_bin::Run::from)
            .expect("track runs")
    };
    let wrong = remote("wrong");
    assert_eq!(wrong.code, Some(1), "{wrong}");
    assert!(wrong.stderr.contains("refused the token"), "{wrong}");
    let right = remote("right");
    assert_eq!(right.code, Some(0), "{right}");
    on.terminate(Duration::from_secs(10));
    let local = run(&["track", &issued, "--db", arg(&dir.path().join("db"))], "");
    assert_eq!(local.code, Some(0), "{local}");
    assert_eq!(right.stdout, local.stdout, "one format");
}

/// Item 9: a port in use names the address and the flag or key that changes it.
#[test]
fn serve_on_a_port_in_use_names_the_address_and_the_flag() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = taken.local_addr().expect("address").to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("db");
    let args = ["serve", "--listen", &address, "--db", arg(&db)];
    let serve = run_until(&args, Duration::from_secs(60));
    assert_eq!(serve.code, Some(1), "{serve}");
    assert!(serve.stderr.contains(&address), "{serve}");
    assert!(serve.stderr.contains("--listen"), "{serve}");
    assert!(serve.stderr.contains("[server] listen"), "{serve}");
}

/// An empty feed directory is not an error (the first export may not be there yet), but it
/// is said.
#[test]
fn an_empty_feed_directory_is_a_warning() {
    let dir = tempfile::tempdir().expect("temp dir");
    let feed = dir.path().join("exports");
    std::fs::create_dir(&feed).expect("dir");
    let db = dir.path().join("db");
    let done = run(&["sync", "--db", arg(&db), "--feed", arg(&feed)], "");
    assert_eq!(done.code, Some(0), "{done}");
    assert!(done.stderr.contains("WARN"), "{done}");
    assert!(done.stderr.contains("no *.ndjson"), "{done}");
}
