//! Sessions in Redis (`[sessions] store = "redis://…"`), from the outside: a real
//! `redis-server` of the test's own, daftar over it (the real binary, and servers in the test's
//! process), real HTTP. Skipped with a printed message when `redis-server` is not installed.

mod common;

use std::time::Duration;

use common::bin::{self, Served};
use common::people::{holder, ir_code, today_tehran, upsert};
use common::redis_server::TestRedis;
use common::TestServer;

const CODE: &str = "*4*1420#";
const PHONE: &str = "989121110009";
/// Every node sharing a Redis shares the hash key (it seals what Redis holds).
const HASH_KEY: &str = "a shared secret of the test deployment";

fn national_code() -> String {
    ir_code("005123457")
}

fn feed() -> Vec<String> {
    let until = today_tehran().checked_add(jiff::ToSpan::years(1)).unwrap();
    vec![upsert(
        1,
        holder(&national_code(), &["989121110001"], until),
    )]
}

fn over(redis: &TestRedis) -> TestServer {
    let url = redis.url();
    // One node: its own generated hash key seals what it stores.
    TestServer::start_with(&feed(), |c| c.sessions.store = url)
}

/// The real binary over `redis`, a config file naming it, and the test's feed.
fn served(dir: &std::path::Path, redis: &TestRedis) -> Served {
    served_as(dir, redis, 0)
}

/// [`served`] as node `node` (its digit in tracking codes).
fn served_as(dir: &std::path::Path, redis: &TestRedis, node: u8) -> Served {
    let config = dir.join("daftar.toml");
    let text = format!(
        "[sessions]\nstore = \"{}\"\nstore_timeout_ms = 300\nsweep_ms = 100\n[audit]\nnode = {node}\n",
        redis.url()
    );
    std::fs::write(&config, text).expect("config written");
    let feed_file = dir.join("feed.jsonl");
    std::fs::write(&feed_file, feed().join("\n") + "\n").expect("feed written");
    Served::start_configured(
        dir,
        Some(&config),
        &feed_file,
        &[("DAFTAR_HASH_KEY", HASH_KEY)],
    )
}

fn wait_readyz(server: &Served, status: u16) -> String {
    for _ in 0..300 {
        let (now, body) = server.get("/readyz");
        if now == status {
            return body;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("/readyz never answered {status}");
}

#[test]
fn the_binary_walks_a_session_in_redis_answers_politely_while_redis_is_down_and_resumes() {
    let Some(mut redis) = TestRedis::start() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let server = served(dir.path(), &redis);
    let first = server.at("w1", CODE, PHONE, "");
    assert!(first.starts_with("CON "), "{first}");
    let end = server.at("w1", CODE, PHONE, &format!("2*{}", national_code()));
    assert!(end.starts_with("END "), "{end}");
    assert_eq!(bin::tracking_codes(&end).len(), 1, "{end}");
    assert!(
        !redis.keys("daftar:s:*").is_empty(),
        "the session went to redis, not this node"
    );

    redis.kill();
    let down = server.at("w2", CODE, PHONE, "");
    assert!(
        down.starts_with("END ") && down.len() > 4,
        "a polite END: {down}"
    );
    let reasons = wait_readyz(&server, 503);
    assert!(
        reasons.contains("the session store is unreachable since"),
        "{reasons}"
    );
    let still = server.at("w1", CODE, PHONE, "");
    assert!(still.starts_with("END "), "{still}");

    redis.up();
    assert_eq!(wait_readyz(&server, 200), "ready\n");
    let again = server.at("w3", CODE, PHONE, "");
    assert!(again.starts_with("CON "), "served again: {again}");
    let end = server.at("w3", CODE, PHONE, &format!("2*{}", national_code()));
    assert_eq!(bin::tracking_codes(&end).len(), 1, "{end}");
    let log = server.log();
    assert!(
        !log.contains(PHONE) && !log.contains(&national_code()),
        "no MSISDN or national code in the log"
    );
}

/// SPEC §3 with the session in Redis: a final step sent at once on several connections gets
/// one reply and runs its inquiry once.
#[test]
fn identical_final_steps_sent_at_once_run_the_inquiry_once() {
    let Some(redis) = TestRedis::start() else {
        return;
    };
    let mut server = over(&redis);
    let code = national_code();
    let rounds = 10;
    for round in 0..rounds {
        let session = format!("race-{round}");
        server.at(&session, CODE, PHONE, "");
        server.at(&session, CODE, PHONE, "2");
        let path = format!("2*{code}");
        let barrier = std::sync::Barrier::new(4);
        let screens: Vec<_> = std::thread::scope(|scope| {
            let sent: Vec<_> = (0..4)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        server.at(&session, CODE, PHONE, &path)
                    })
                })
                .collect();
            sent.into_iter()
                .map(|s| s.join().expect("request"))
                .collect()
        });
        assert!(screens[0].is_end(), "{:?}", screens[0]);
        assert_eq!(screens[0].codes().len(), 1, "{:?}", screens[0]);
        assert!(screens.iter().all(|s| *s == screens[0]), "{screens:?}");
    }
    server.stop();
    let store = daftar::store::Store::open(&server.config.store.db, 1 << 20).expect("db");
    let entries = store
        .tree("audit")
        .expect("audit tree")
        .scan_prefix(b"c")
        .count();
    assert_eq!(entries, rounds, "one audit entry per round");
}

/// The audit entries of the store of the node served from `dir` (stopped first).
fn audit_entries(dir: &std::path::Path, server: &mut Served) -> usize {
    let (status, _) = server.terminate(Duration::from_secs(20));
    assert!(status.success(), "{status}");
    let store = daftar::store::Store::open(&dir.join("db"), 1 << 20).expect("db");
    let audit = store.tree("audit").expect("audit tree");
    audit.scan_prefix(b"c").count()
}

/// Two nodes over one Redis: a session goes on wherever its steps land, and each inquiry runs
/// on the node that got its step, once.
#[test]
fn two_nodes_share_sessions_wherever_their_steps_land() {
    let Some(redis) = TestRedis::start() else {
        return;
    };
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = served_as(dir_a.path(), &redis, 1);
    let mut b = served_as(dir_b.path(), &redis, 2);
    let code = national_code();
    let rounds = 6;
    for round in 0..rounds {
        let session = format!("hop-{round}");
        let (first, second) = if round % 2 == 0 { (&a, &b) } else { (&b, &a) };
        assert!(first.at(&session, CODE, PHONE, "").starts_with("CON "));
        let asked = second.at(&session, CODE, PHONE, "2");
        assert!(
            asked.starts_with("CON "),
            "the other node knows the session: {asked}"
        );
        let end = first.at(&session, CODE, PHONE, &format!("2*{code}"));
        assert!(end.starts_with("END "), "{end}");
        assert_eq!(bin::tracking_codes(&end).len(), 1, "{end}");
        // The final step retried on the other node: the same reply, no new inquiry.
        assert_eq!(second.at(&session, CODE, PHONE, &format!("2*{code}")), end);
    }
    let entries = audit_entries(dir_a.path(), &mut a) + audit_entries(dir_b.path(), &mut b);
    assert_eq!(entries, rounds, "one inquiry per session over both nodes");
}

/// A final step sent to two nodes at once: one reply, and its inquiry runs once (issue 13).
/// Before the engine claimed a step (a versioned write before the action), it ran on both: 17
/// and 20 audit entries for 10 rounds in two runs.
#[test]
fn a_step_sent_to_two_nodes_at_once_runs_its_inquiry_once() {
    let Some(redis) = TestRedis::start() else {
        return;
    };
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = served_as(dir_a.path(), &redis, 1);
    let mut b = served_as(dir_b.path(), &redis, 2);
    let code = national_code();
    let rounds = 10;
    for round in 0..rounds {
        let session = format!("two-{round}");
        assert!(a.at(&session, CODE, PHONE, "").starts_with("CON "));
        assert!(b.at(&session, CODE, PHONE, "2").starts_with("CON "));
        let path = format!("2*{code}");
        let barrier = std::sync::Barrier::new(2);
        let (on_a, on_b) = std::thread::scope(|scope| {
            let on_a = scope.spawn(|| {
                barrier.wait();
                a.at(&session, CODE, PHONE, &path)
            });
            let on_b = scope.spawn(|| {
                barrier.wait();
                b.at(&session, CODE, PHONE, &path)
            });
            (on_a.join().expect("a"), on_b.join().expect("b"))
        });
        assert!(on_a.starts_with("END "), "{on_a}");
        assert_eq!(on_a, on_b, "one reply, whichever node answered");
        assert_eq!(bin::tracking_codes(&on_a).len(), 1, "{on_a}");
    }
    let entries = audit_entries(dir_a.path(), &mut a) + audit_entries(dir_b.path(), &mut b);
    assert_eq!(entries, rounds, "one inquiry per round over both nodes");
}

#[test]
fn nothing_in_redis_names_a_caller_or_an_answer() {
    let Some(redis) = TestRedis::start() else {
        return;
    };
    let server = over(&redis);
    let code = national_code();
    // A question left open holds the answer in the session and in the resume offer; a locale
    // chosen with 9 is remembered for the caller.
    server.at("p1", CODE, PHONE, "");
    server.at("p1", CODE, PHONE, "2");
    server.at("p2", CODE, PHONE, "9");
    let asked = server.at("p3", CODE, "989121110001", "1");
    assert!(asked.is_con(), "{asked:?}");
    server.at("p4", CODE, "989121110002", &format!("2*{code}"));
    let everything = redis.everything();
    assert!(everything.len() >= 6, "sessions, the live set, the version");
    let needles = [
        PHONE,
        "9121110009",
        "989121110001",
        "989121110002",
        code.as_str(),
        "p1",
        "p4",
    ];
    for bytes in &everything {
        for needle in needles {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{needle} in clear in redis: {:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }
}

#[test]
fn a_store_that_cannot_be_named_is_refused_at_start_naming_its_key() {
    for bad in [
        "redis://nonsense",
        "redis://:6379/0",
        "redis://localhost:6379/zero",
        "mongodb://localhost:27017/0",
        "",
        "memcached",
    ] {
        let error = TestServer::refused_with(&feed(), |c| c.sessions.store = bad.into());
        assert!(error.contains("sessions.store"), "{bad}: {error}");
    }
    let error = TestServer::refused_with(&feed(), |c| {
        c.sessions.store = "redis://:hunter2@localhost/0".into();
    });
    assert!(
        error.contains("sessions.store") && !error.contains("hunter2"),
        "{error}"
    );
}
