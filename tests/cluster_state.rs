//! What several nodes over one Redis must agree on beyond sessions (issue 13, item 4), from the
//! outside: a real `redis-server` of the test's own, daftar servers on loopback ports, real
//! HTTP. A node digit (`[audit] node`) is claimed once across nodes; a tracking code given by
//! one node is answered by the admin API of any node. Skipped with a printed message when
//! `redis-server` is not installed.

mod common;

use std::net::TcpListener;
use std::process::Command;

use common::bin::{agent, get_authorized, latin_digits, luhn_ok};
use common::people::{holder, ir_code, today_tehran, upsert};
use common::redis_server::TestRedis;
use common::TestServer;
use daftar::config::Config;

const CODE: &str = "*4*1420#";
const PHONE: &str = "989121110009";
const TOKEN: &str = "cluster-state-admin-token-0123456789";

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

/// Node `node` over `redis`, with the admin API on.
fn as_node(c: &mut Config, redis: &TestRedis, node: u8) {
    c.sessions.store = redis.url();
    c.set_node(node);
    c.admin.token = Some(TOKEN.into());
}

/// A loopback port free now, for a node its peers must know before it starts.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A redis-cli command against the test's Redis, its output.
fn redis_cli(redis: &TestRedis, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-p", &redis.port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli runs");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// One whole inquiry on `server`: its tracking code.
fn inquiry(server: &TestServer, session: &str) -> String {
    assert!(server.at(session, CODE, PHONE, "").is_con());
    assert!(server.at(session, CODE, PHONE, "2").is_con());
    let end = server.at(session, CODE, PHONE, &format!("2*{}", national_code()));
    assert!(end.is_end(), "{end:?}");
    let codes = end.codes();
    assert_eq!(codes.len(), 1, "{end:?}");
    codes[0].clone()
}

fn track(base: &str, code: &str) -> (u16, String) {
    get_authorized(
        &agent(),
        &format!("{base}/admin/track/{code}"),
        Some(&format!("Bearer {TOKEN}")),
    )
}

/// A well-formed code of node `node` that no node gave.
fn unknown_code_of(node: u8) -> String {
    let nine = format!("{node}00000007");
    (0..10)
        .map(|d| format!("{nine}{d}"))
        .find(|code| luhn_ok(code))
        .expect("a check digit")
}

#[test]
fn a_node_id_is_claimed_by_one_running_node_at_a_time() {
    let Some(redis) = TestRedis::start() else {
        return;
    };
    let mut first = TestServer::start_with(&feed(), |c| as_node(c, &redis, 1));
    let holder_token = redis_cli(&redis, &["GET", "daftar:node:1"]);
    assert_eq!(holder_token.len(), 32, "the claim holds the instance token");
    let ttl: i64 = redis_cli(&redis, &["PTTL", "daftar:node:1"])
        .parse()
        .expect("pttl");
    assert!(ttl > 0, "the claim expires unless kept alive: {ttl}");

    let refused = TestServer::refused_with(&feed(), |c| as_node(c, &redis, 1));
    assert!(
        refused.contains("node id 1 is already claimed by another running node"),
        "{refused}"
    );
    let other = TestServer::start_with(&feed(), |c| as_node(c, &redis, 2));
    drop(other);

    // A clean stop gives the digit back: another node may take it at once.
    first.stop();
    assert_eq!(redis_cli(&redis, &["EXISTS", "daftar:node:1"]), "0");
    let _successor = TestServer::start_with(&feed(), |c| as_node(c, &redis, 1));
}

#[test]
fn a_node_restarted_after_a_crash_takes_its_own_claim_back() {
    let Some(redis) = TestRedis::start() else {
        return;
    };
    // A crash leaves the claim behind, holding the crashed instance's token for a while.
    let token = "0123456789abcdef0123456789abcdef";
    let set = redis_cli(&redis, &["SET", "daftar:node:3", token, "PX", "600000"]);
    assert_eq!(set, "OK");
    // Another store (another node) with the same digit is refused...
    let refused = TestServer::refused_with(&feed(), |c| as_node(c, &redis, 3));
    assert!(
        refused.contains("node id 3 is already claimed"),
        "{refused}"
    );
    // ...the crashed node, on its own store (its token beside it), starts at once.
    let restarted = TestServer::start_with(&feed(), |c| {
        as_node(c, &redis, 3);
        let mut file = c.store.db.clone().into_os_string();
        file.push(".instance");
        std::fs::write(file, token).expect("token written");
    });
    assert_eq!(restarted.get("/readyz").0, 200);
    assert_eq!(redis_cli(&redis, &["GET", "daftar:node:3"]), token);
    let ttl: i64 = redis_cli(&redis, &["PTTL", "daftar:node:3"])
        .parse()
        .expect("pttl");
    assert!(ttl <= 15_000, "renewed with [cluster] claim_ttl_s: {ttl}");
}

#[test]
fn any_node_answers_for_a_code_another_node_gave() {
    let Some(redis) = TestRedis::start() else {
        return;
    };
    let (port_a, port_b) = (free_port(), free_port());
    let peers = |c: &mut Config| {
        c.cluster
            .nodes
            .insert("1".into(), format!("http://127.0.0.1:{port_a}"));
        c.cluster
            .nodes
            .insert("2".into(), format!("http://127.0.0.1:{port_b}/"));
    };
    let a = TestServer::start_with(&feed(), |c| {
        as_node(c, &redis, 1);
        c.server.listen = format!("127.0.0.1:{port_a}").parse().unwrap();
        peers(c);
    });
    let mut b = TestServer::start_with(&feed(), |c| {
        as_node(c, &redis, 2);
        c.server.listen = format!("127.0.0.1:{port_b}").parse().unwrap();
        peers(c);
    });
    let on_a = inquiry(&a, "track-a");
    let on_b = inquiry(&b, "track-b");
    assert!(
        on_a.starts_with('1') && on_b.starts_with('2'),
        "{on_a} {on_b}"
    );

    for code in [&on_a, &on_b] {
        let (home, away) = if code.starts_with('1') {
            (&a, &b)
        } else {
            (&b, &a)
        };
        let (status, here) = track(&home.base, code);
        assert_eq!(status, 200, "{here}");
        let (status, there) = track(&away.base, code);
        assert_eq!(status, 200, "asked on the other node: {there}");
        assert_eq!(there, here, "the same entry from either node");
        assert!(
            !there.contains(PHONE) && !there.contains(&national_code()),
            "{there}"
        );
    }
    // Typed in Persian digits, percent-encoded, on the node that did not give it.
    let persian: String = on_b
        .chars()
        .map(|c| char::from_u32(0x06F0 + c.to_digit(10).unwrap()).unwrap())
        .collect();
    assert_eq!(latin_digits(&persian), on_b);
    let encoded: String = form_urlencoded::byte_serialize(persian.as_bytes()).collect();
    assert_eq!(track(&a.base, &encoded).0, 200);

    // A code of node 2 that node 2 never gave; a code of a node no one configured; garbage.
    let (status, body) = track(&a.base, &unknown_code_of(2));
    assert_eq!(status, 404, "{body}");
    let (status, body) = track(&a.base, &unknown_code_of(5));
    assert_eq!(status, 404, "{body}");
    for garbage in ["", "12345", "abcdefghij", "%FF%FE", &"9".repeat(5_000)] {
        let (status, body) = track(&a.base, garbage);
        assert!(
            status == 400 || status == 404,
            "{garbage:.20}: {status} {body}"
        );
    }

    // `daftar track CODE --server URL` against the node that did not give the code.
    let remote = |code: &str, base: &str| {
        common::bin::daftar()
            .args(["track", code, "--server", base])
            .env("DAFTAR_ADMIN_TOKEN", TOKEN)
            .output()
            .map(common::bin::Run::from)
            .expect("track runs")
    };
    let via_a = remote(&on_b, &a.base);
    assert_eq!(via_a.code, Some(0), "{via_a}");
    let via_b = remote(&on_b, &b.base);
    assert_eq!(
        via_a.stdout, via_b.stdout,
        "the same answer from either node"
    );

    // The node that gave a code is down: the other says so, and does not pretend it is unknown.
    b.stop();
    let (status, body) = track(&a.base, &on_b);
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("node 2"), "{body}");
    assert_eq!(track(&a.base, &on_a).0, 200, "its own codes still answer");
}

/// One phone whose steps alternate between two nodes over one Redis is held back at the same
/// total as on one node (per-node limits would give it twice as many), and the wait it is
/// told is the limit's.
#[test]
fn a_phone_alternating_between_nodes_has_one_budget() {
    let Some(redis) = TestRedis::start() else {
        return;
    };
    const PER_MINUTE: u32 = 6;
    let limited = |c: &mut Config, node: u8| {
        as_node(c, &redis, node);
        c.limits.msisdn_steps_per_minute = PER_MINUTE;
        c.limits.msisdn_sessions = 0;
    };
    let a = TestServer::start_with(&feed(), |c| limited(c, 1));
    // Every node of one deployment shares the hash key: the limits' keys are its hashes.
    let key_file = |db: &std::path::Path| db.with_file_name("db.key");
    let b = TestServer::start_with(&feed(), |c| {
        limited(c, 2);
        std::fs::copy(key_file(&a.config.store.db), key_file(&c.store.db)).expect("key copied");
    });
    let mut served = 0;
    let mut held = None;
    for n in 0..(PER_MINUTE * 3) {
        let node = if n % 2 == 0 { &a } else { &b };
        let screen = node.at(&format!("alt-{n}"), CODE, PHONE, "");
        if screen.is_con() {
            assert!(
                held.is_none(),
                "served again after being held back: {screen:?}"
            );
            served += 1;
        } else {
            held.get_or_insert(screen);
        }
    }
    assert_eq!(served, PER_MINUTE, "one budget across both nodes");
    let held = held.expect("held back");
    assert!(held.is_end(), "{held:?}");
    // Another phone is served on either node.
    assert!(a.at("other-a", CODE, "989121110002", "").is_con());
    assert!(b.at("other-b", CODE, "989121110002", "").is_con());
    // What Redis holds names no one: keyed hashes only.
    let keys = redis_cli(&redis, &["KEYS", "daftar:lim:*"]);
    assert!(keys.contains("daftar:lim:msisdn_steps:"), "{keys}");
    assert!(
        !keys.contains(PHONE) && !keys.contains("121110002"),
        "{keys}"
    );
    let ttl: i64 = redis_cli(&redis, &["PTTL", keys.lines().next().unwrap_or("")])
        .parse()
        .expect("pttl");
    assert!(
        ttl > 0 && ttl <= 60_000,
        "a limit key lives at most its period: {ttl}"
    );
}

/// A node whose claim is not confirmed is not ready: Redis restarted empty and another
/// instance took the digit meanwhile. Once the digit is free again, the node takes it back and
/// is ready by itself.
#[test]
fn a_node_that_lost_its_claim_is_not_ready_until_it_has_it_again() {
    let Some(mut redis) = TestRedis::start() else {
        return;
    };
    let server = TestServer::start_with(&feed(), |c| {
        as_node(c, &redis, 4);
        c.cluster.claim_ttl_s = 3;
    });
    let own = redis_cli(&redis, &["GET", "daftar:node:4"]);
    redis.kill();
    redis.up();
    let other = "ffffffffffffffffffffffffffffffff";
    assert_eq!(redis_cli(&redis, &["SET", "daftar:node:4", other]), "OK");
    let reasons = server.wait_readyz(503, std::time::Duration::from_secs(60));
    assert!(
        reasons.contains("node id 4 is not confirmed as this node's"),
        "{reasons}"
    );
    assert_eq!(
        redis_cli(&redis, &["GET", "daftar:node:4"]),
        other,
        "not taken over"
    );
    assert_eq!(redis_cli(&redis, &["DEL", "daftar:node:4"]), "1");
    server.wait_readyz(200, std::time::Duration::from_secs(60));
    assert_eq!(redis_cli(&redis, &["GET", "daftar:node:4"]), own);
}
