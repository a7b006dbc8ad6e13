//! The HTTP feed (SPEC §5) against a feed server started by the test that misbehaves on
//! purpose, one way per request: a 500, a reset mid-body, a last line cut short, a hang past
//! the timeout, a page served twice, an empty body, a 404. The store must end in exactly the
//! state of a clean sync of the same feed, each change applied once, none lost; `daftar sync
//! --feed http://…` exits 0 or 3 as for a file; a server following an URL shows its lag.

mod common;

use common::bin as daftar_bin;
use common::TestServer;
use daftar::feed::FeedSource;
use daftar::store::Store;
use daftar::sync::{sync_once, Follower};
use serde_json::json;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CACHE: u64 = 16 << 20;
const PAGE: usize = 4;
const TIMEOUT: Duration = Duration::from_millis(300);

/// How the feed server answers one request.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Answer {
    Page,
    Status(u16),
    /// Headers promise the whole page, half of it is sent, then the connection closes.
    ResetMidBody,
    /// The page with its last line cut in the middle (a body complete as sent).
    Truncated,
    /// Nothing at all until well past the client's timeout.
    Hang,
    /// The page of the request before this one (`since` ignored).
    Repeat,
    Empty,
    /// A full page of changes past the feed's last line, slowly (the insurer writes faster
    /// than this node reads): the node is never caught up while these last.
    Ahead,
}

/// A feed server over `lines`: each request takes the next scripted answer (then `Page`).
struct FeedServer {
    url: String,
    script: Arc<Mutex<VecDeque<Answer>>>,
    requests: Arc<Mutex<Vec<u64>>>,
}

impl FeedServer {
    fn start(lines: Vec<String>, script: &[Answer]) -> FeedServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!(
            "http://{}/feed?key=k1",
            listener.local_addr().expect("addr")
        );
        let script = Arc::new(Mutex::new(script.iter().copied().collect::<VecDeque<_>>()));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (s, r) = (script.clone(), requests.clone());
        let lines = Arc::new(lines);
        std::thread::spawn(move || {
            // One thread per request, so a hung answer holds up only its own client.
            for stream in listener.incoming().flatten() {
                let answer = s
                    .lock()
                    .expect("script")
                    .pop_front()
                    .unwrap_or(Answer::Page);
                let (lines, r) = (lines.clone(), r.clone());
                std::thread::spawn(move || serve(stream, &lines, answer, &r));
            }
        });
        FeedServer {
            url,
            script,
            requests,
        }
    }

    fn script_left(&self) -> usize {
        self.script.lock().expect("script").len()
    }
}

/// Answers one request and records the `since` it asked for.
fn serve(mut stream: TcpStream, lines: &[String], answer: Answer, asked: &Mutex<Vec<u64>>) {
    let mut request_line = String::new();
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    reader.read_line(&mut request_line).expect("request line");
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
            break;
        }
    }
    assert!(request_line.contains("key=k1&since="), "{request_line}");
    let since: u64 = request_line
        .split("since=")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("since");
    let last_since = {
        let mut asked = asked.lock().expect("requests");
        let last = asked.last().copied().unwrap_or(0);
        asked.push(since);
        last
    };
    let page_after = |since: u64| -> String {
        lines
            .iter()
            .filter(|l| seq_of(l) > since)
            .take(PAGE)
            .cloned()
            .collect()
    };
    let (status, body, declared) = match answer {
        Answer::Page => (200, page_after(since), None),
        Answer::Status(code) => (code, "no\n".to_string(), None),
        Answer::Empty => (200, String::new(), None),
        Answer::Ahead => {
            std::thread::sleep(TIMEOUT / 6);
            (200, pages_ahead(since), None)
        }
        Answer::Repeat => (200, page_after(last_since), None),
        Answer::Truncated => {
            let page = page_after(since);
            let cut = page.len() - 15;
            (200, page[..cut].to_string(), None)
        }
        Answer::ResetMidBody => {
            let page = page_after(since);
            let len = page.len();
            (200, page[..len / 2].to_string(), Some(len))
        }
        Answer::Hang => {
            std::thread::sleep(TIMEOUT * 4);
            return;
        }
    };
    let head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/x-ndjson\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        declared.unwrap_or(body.len())
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

/// `PAGE` changes after `since`, made up: each re-states one of the 20 people as active.
fn pages_ahead(since: u64) -> String {
    (since + 1..=since + PAGE as u64)
        .map(|seq| {
            let person = json!({"insurer": "tamin", "person_id": id(seq % 20 + 1),
                "coverage": {"status": "active", "from": "2020-01-01", "until": "2030-12-31"}});
            json!({"seq": seq, "op": "upsert", "person": person}).to_string() + "\n"
        })
        .collect()
}

fn seq_of(line: &str) -> u64 {
    serde_json::from_str::<serde_json::Value>(line).expect("json")["seq"]
        .as_u64()
        .expect("seq")
}

/// A valid Iranian national code (tamin's identifier): nine digits and their check digit.
fn id(n: u64) -> String {
    let nine = format!("00{n:07}");
    let sum: u32 = nine
        .chars()
        .zip((2..=10).rev())
        .map(|(c, w)| c.to_digit(10).expect("digit") * w)
        .sum();
    let r = sum % 11;
    format!("{nine}{}", if r < 2 { r } else { 11 - r })
}

/// 30 changes: people added, then changed (a later line must win), two deleted.
fn feed() -> Vec<String> {
    let mut lines = Vec::new();
    for n in 1..=20u64 {
        lines.push(
            json!({"seq": n, "op": "upsert", "person": {"insurer": "tamin",
            "person_id": id(n), "msisdns": [format!("98912{n:07}")],
            "coverage": {"status": "active", "from": "2020-01-01", "until": "2030-12-31"}}}),
        );
    }
    for n in 21..=28u64 {
        lines.push(
            json!({"seq": n, "op": "upsert", "person": {"insurer": "tamin",
            "person_id": id(n - 20), "msisdns": [format!("98913{n:07}")],
            "coverage": {"status": "suspended", "from": "2020-01-01", "until": "2030-12-31"}}}),
        );
    }
    lines.push(json!({"seq": 29, "op": "delete", "insurer": "tamin", "person_id": id(19)}));
    lines.push(json!({"seq": 30, "op": "delete", "insurer": "tamin", "person_id": id(20)}));
    lines.into_iter().map(|l| l.to_string() + "\n").collect()
}

fn people(store: &Store) -> Vec<String> {
    (1..=20)
        .map(|n| format!("{:?}", store.person("tamin", &id(n)).expect("read")))
        .collect()
}

/// The store a clean sync of the same feed from a file gives.
fn clean(dir: &Path, lines: &[String]) -> Vec<String> {
    let file = dir.join("clean.ndjson");
    std::fs::write(&file, lines.concat()).expect("write");
    let store = Store::open(&dir.join("clean-db"), CACHE).expect("open");
    let source = FeedSource::parse(&file.to_string_lossy()).expect("source");
    assert_eq!(sync_once(&store, &source).expect("sync").applied, 30);
    people(&store)
}

#[test]
fn a_misbehaving_feed_server_ends_in_the_state_of_a_clean_sync() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lines = feed();
    let want = clean(dir.path(), &lines);
    let script = [
        Answer::Status(500),
        Answer::Page,
        Answer::ResetMidBody,
        Answer::Truncated,
        Answer::Hang,
        Answer::Page,
        Answer::Repeat,
        Answer::Empty,
        Answer::Status(404),
        Answer::Truncated,
        Answer::Page,
        Answer::Status(503),
        Answer::Repeat,
    ];
    let server = FeedServer::start(lines, &script);
    let store = Store::open(&dir.path().join("db"), CACHE).expect("open");
    let source = FeedSource::parse(&server.url).expect("an URL");
    let mut follower = Follower::new(&store, source)
        .expect("follower")
        .with_timeout(TIMEOUT);
    let (mut applied, mut failures, mut rejected) = (0, 0, 0);
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.script_left() > 0 || store.watermark().expect("watermark") < 30 {
        assert!(
            Instant::now() < deadline,
            "not caught up; {applied} applied"
        );
        match follower.poll(&store) {
            Ok(report) => {
                applied += report.applied;
                rejected += report.rejected_count();
            }
            Err(e) => {
                assert!(!e.to_string().contains("98912"), "a value in {e}");
                failures += 1;
            }
        }
    }
    assert_eq!(follower.poll(&store).expect("caught up").applied, 0);
    assert_eq!(applied, 30, "each change applied exactly once");
    assert_eq!(
        rejected, 0,
        "a cut line is not a reject: it is asked for again"
    );
    assert_eq!(
        failures, 5,
        "the 500, reset, hang, 404 and 503 fail their poll"
    );
    assert_eq!(people(&store), want);
    let asked = server.requests.lock().expect("requests").clone();
    assert!(
        asked.windows(2).all(|w| w[0] <= w[1]),
        "since went back: {asked:?}"
    );
}

#[test]
fn daftar_sync_reads_an_url_and_exits_0_or_3() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = FeedServer::start(feed(), &[Answer::Status(500)]);
    let db = dir.path().join("db");
    let run = daftar_bin::run(
        &["sync", "--db", daftar_bin::arg(&db), "--feed", &server.url],
        "",
    );
    assert_eq!(
        run.code,
        Some(1),
        "a 500 stops a one-shot sync: {}",
        run.output()
    );
    let run = daftar_bin::run(
        &["sync", "--db", daftar_bin::arg(&db), "--feed", &server.url],
        "",
    );
    assert_eq!(run.code, Some(0), "{}", run.output());
    assert!(run.output().contains("applied 30"), "{}", run.output());

    let mut bad = feed();
    bad.push("{\"seq\": 31, \"op\": \"upsert\"}\n".to_string());
    let server = FeedServer::start(bad, &[]);
    let run = daftar_bin::run(
        &["sync", "--db", daftar_bin::arg(&db), "--feed", &server.url],
        "",
    );
    assert_eq!(run.code, Some(3), "{}", run.output());
    assert!(run.output().contains("rejected 1"), "{}", run.output());
}

#[test]
fn a_server_follows_an_url_through_failures_and_shows_its_lag() {
    const TOKEN: &str = "feed-http-admin-token-0123456789";
    let feed_server = FeedServer::start(
        feed(),
        &[Answer::Status(503), Answer::ResetMidBody, Answer::Page],
    );
    let server = TestServer::start_with(&[], |c| {
        c.feed.source = Some(feed_server.url.clone());
        c.feed.poll_ms = 20;
        c.feed.backoff_max_ms = 50;
        c.admin.token = Some(TOKEN.into());
    });
    // Ready means the feed was read to its end once: all 30 changes, the failures retried.
    let bearer = format!("Bearer {TOKEN}");
    let agent = daftar_bin::agent();
    let (status, body) = daftar_bin::get_authorized(
        &agent,
        &format!("{}/admin/feed", server.base),
        Some(&bearer),
    );
    assert_eq!(status, 200, "{body}");
    let status: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(status["watermark"], 30, "{body}");
    assert_eq!(status["applied"], 30, "{body}");
    assert!(status["caught_up_secs_ago"].is_u64(), "{body}");
    assert!(status["last_error"].is_null(), "{body}");
    let (_, metrics) = server.get("/metrics");
    let lag = metrics
        .lines()
        .find(|l| l.starts_with("daftar_feed_lag_seconds "))
        .unwrap_or_else(|| panic!("no lag in {metrics}"));
    assert!(!lag.ends_with(" -1"), "{lag}");
    assert!(feed_server.script_left() == 0);
}

#[test]
fn a_replica_that_lags_the_feed_is_not_ready_until_it_catches_up() {
    // A node that joins late: ready only once the whole feed is applied (30 changes, 8 pages).
    let feed_server = FeedServer::start(feed(), &[]);
    let server = TestServer::start_with(&[], |c| {
        c.feed.source = Some(feed_server.url.clone());
        c.feed.poll_ms = 20;
        c.feed.backoff_max_ms = 50;
        c.feed.max_lag_s = 1;
    });
    let (_, metrics) = server.get("/metrics");
    assert!(
        metrics.contains("daftar_feed_watermark 30"),
        "ready before the feed was applied: {metrics}"
    );
    // Then the feed runs ahead: every poll brings a full page and more waits. The follower
    // never reads to the end, so past `max_lag_s` the node is taken out of rotation.
    let pages = 60;
    feed_server
        .script
        .lock()
        .expect("script")
        .extend(std::iter::repeat_n(Answer::Ahead, pages));
    let reason = server.wait_readyz(503, Duration::from_secs(60));
    assert!(
        reason.contains("last read to its end") && reason.contains("max_lag_s = 1"),
        "{reason}"
    );
    assert!(
        !reason.contains("failing"),
        "a lag is not a failure: {reason}"
    );
    // The feed stops running ahead: the node reads to the end and is ready again.
    server.wait_readyz(200, Duration::from_secs(120));
    assert_eq!(
        feed_server.script_left(),
        0,
        "ready again before catching up"
    );
    let (_, metrics) = server.get("/metrics");
    let want = format!("daftar_feed_watermark {}", 30 + pages * PAGE);
    assert!(metrics.contains(&want), "{want} not in {metrics}");
}
