//! The multi-node test of issue 13, from the outside: a real `redis-server`, three real daftar
//! nodes and a real HAProxy, each run from a copy of its file in `deploy/` (only ports and dirs
//! written over). Whole Hubtel sessions walk through HAProxy with their steps on different
//! nodes; a node is killed with SIGKILL in a load run and rejoins; Redis is killed and comes
//! back. Skipped, with a printed message, when `redis-server` or `haproxy` is not installed.

mod common;
#[path = "cluster_support/mod.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::bin::{latin_digits, luhn_ok, tracking_codes};
use common::people::{holder, ir_code, today_tehran, upsert};
use jiff::ToSpan;
use support::{hubtel, Cluster, Hop};

/// The callers of the test: each a holder with a phone of their own, covered until a date of
/// their own, so that the screen a caller's own inquiry ends on is theirs alone.
const CALLERS: usize = 48;

/// Caller `i`: their MSISDN and national code.
fn caller(i: usize) -> (String, String) {
    (format!("98912555{i:04}"), ir_code(&format!("0071{i:05}")))
}

fn feed() -> Vec<String> {
    let today = today_tehran();
    (0..CALLERS)
        .map(|i| {
            let (phone, code) = caller(i);
            let until = today.checked_add((40 + i as i64).days()).expect("date");
            upsert(i as u64 + 1, holder(&code, &[phone.as_str()], until))
        })
        .collect()
}

/// A whole session of caller `i` (menu 1, "my coverage": latest input only): every hop, in
/// order, until one does not go on.
fn session(agent: &ureq::Agent, base: &str, id: &str, i: usize) -> Vec<Hop> {
    let (phone, code) = caller(i);
    let mut hops = Vec::new();
    for (sequence, input) in [(1, "*4*1420#"), (2, "1"), (3, code.as_str())] {
        let hop = hubtel(agent, base, id, &phone, sequence, input);
        let goes_on = hop.goes_on;
        hops.push(hop);
        if !goes_on {
            break;
        }
    }
    hops
}

/// The final screen with its tracking code taken out: what identifies whose answer it is.
fn answer_without_code(message: &str) -> String {
    let latin = latin_digits(message);
    tracking_codes(message)
        .iter()
        .fold(latin, |text, code| text.replace(code.as_str(), "#"))
}

/// The end of a completed session: three hops, the last an END with one valid tracking code.
fn completed(hops: &[Hop]) -> Option<(String, String)> {
    let last = hops.last()?;
    let codes = tracking_codes(&last.message);
    let whole = hops.len() == 3 && last.status == 200 && !last.goes_on && codes.len() == 1;
    whole.then(|| (answer_without_code(&last.message), codes[0].clone()))
}

/// Each caller's answer, asked once through HAProxy with nothing else going on.
fn reference_answers(cluster: &Cluster, agent: &ureq::Agent) -> Vec<String> {
    let base = cluster.balancer.base();
    let answers: Vec<String> = (0..CALLERS)
        .map(|i| {
            let hops = session(agent, &base, &format!("ref-{i}"), i);
            completed(&hops)
                .unwrap_or_else(|| panic!("caller {i}: {hops:?}"))
                .0
        })
        .collect();
    let distinct: BTreeSet<&String> = answers.iter().collect();
    assert_eq!(
        distinct.len(),
        CALLERS,
        "every caller's answer is their own: {answers:?}"
    );
    answers
}

/// What the load run saw of one session.
struct Outcome {
    caller: usize,
    hops: Vec<Hop>,
}

/// `threads` callers, each walking `rounds` whole sessions through HAProxy one after another;
/// `during` runs once `started` sessions have completed, while the load goes on.
fn load_run(
    base: &str,
    threads: usize,
    rounds: usize,
    started: usize,
    during: impl FnOnce(),
) -> Vec<Outcome> {
    let done = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let done = &done;
                scope.spawn(move || {
                    let agent = common::bin::agent();
                    (0..rounds)
                        .map(|r| {
                            let i = (t * rounds + r) % CALLERS;
                            let hops = session(&agent, base, &format!("load-{t}-{r}"), i);
                            done.fetch_add(1, Ordering::SeqCst);
                            Outcome { caller: i, hops }
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(120);
        while done.load(Ordering::SeqCst) < started {
            assert!(Instant::now() < deadline, "the load run never got going");
            std::thread::sleep(Duration::from_millis(10));
        }
        during();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("caller thread"))
            .collect()
    })
}

/// A raw POST through HAProxy: the status (0 when the connection failed).
fn post_raw(agent: &ureq::Agent, url: &str, content_type: &str, body: &[u8]) -> u16 {
    agent
        .post(url)
        .header("Content-Type", content_type)
        .send(body)
        .map_or(0, |response| response.status().as_u16())
}

/// Garbage, empty and huge bodies get the node's 4xx through HAProxy (never its 502 or 503,
/// never a retry that turns them into one); input in the wrong script gets a screen.
fn bad_input_gets_the_nodes_own_answer_through_haproxy(agent: &ureq::Agent, base: &str) {
    let url = format!("{base}/ussd/hubtel");
    let huge = serde_json::json!({
        "Mobile": caller(0).0, "SessionId": "huge", "ServiceCode": "4*1420",
        "Type": "Initiation", "Message": "1".repeat(64 << 10), "Operator": "mtn",
        "Sequence": 1, "ClientState": ""
    })
    .to_string();
    for (name, body) in [
        ("garbage", b"\x00\xff{{not json".to_vec()),
        ("empty", Vec::new()),
        ("huge", huge.into_bytes()),
    ] {
        let status = post_raw(agent, &url, "application/json", &body);
        assert!(
            (400..500).contains(&status),
            "{name}: {status}, not the node's 4xx"
        );
    }
    let (phone, _) = caller(1);
    assert!(hubtel(agent, base, "script", &phone, 1, "*4*1420#").goes_on);
    assert!(hubtel(agent, base, "script", &phone, 2, "1").goes_on);
    let wrong = hubtel(agent, base, "script", &phone, 3, "пять семь");
    assert_eq!(wrong.status, 200, "{wrong:?}");
    assert!(!wrong.message.is_empty(), "{wrong:?}");
}

#[test]
fn three_nodes_behind_haproxy_share_sessions_survive_a_node_killed_and_redis_restarted() {
    let Some(mut cluster) = Cluster::start(3, &feed()) else {
        return;
    };
    let agent = common::bin::agent();
    let base = cluster.balancer.base();
    assert_eq!(
        cluster.redis.setting("maxmemory-policy"),
        "noeviction",
        "the shipped redis.conf never evicts a live session"
    );

    // Whole sessions through HAProxy: round robin puts the three steps of a session, sent one
    // after another, on three different nodes, and each ends on its caller's own answer.
    let answers = reference_answers(&cluster, &agent);
    let mut codes = BTreeSet::new();
    for (i, own) in answers.iter().enumerate().take(6) {
        let hops = session(&agent, &base, &format!("hop-{i}"), i);
        let (answer, code) = completed(&hops).unwrap_or_else(|| panic!("{hops:?}"));
        assert_eq!(&answer, own, "caller {i} got their own answer");
        assert!(luhn_ok(&code) && codes.insert(code), "{hops:?}");
        let nodes: BTreeSet<&str> = hops.iter().map(|h| h.node.as_str()).collect();
        assert_eq!(nodes.len(), 3, "each step on another node: {hops:?}");
    }

    bad_input_gets_the_nodes_own_answer_through_haproxy(&agent, &base);

    // Node 2 killed with SIGKILL in a load run.
    let (threads, rounds) = (6, 16);
    let outcomes = load_run(&base, threads, rounds, 12, || cluster.nodes[1].kill());
    let mut unfinished = 0;
    for outcome in &outcomes {
        match completed(&outcome.hops) {
            Some((answer, code)) => {
                assert_eq!(
                    answer, answers[outcome.caller],
                    "caller {} got another caller's data: {:?}",
                    outcome.caller, outcome.hops
                );
                assert!(luhn_ok(&code), "{code}");
                assert!(codes.insert(code.clone()), "tracking code {code} repeated");
            }
            None => {
                // Only a step in flight on the killed node may fail: HAProxy's 502, never a
                // wrong screen.
                let last = outcome.hops.last().expect("a hop");
                assert!(
                    last.status == 502 || last.status == 0,
                    "a session that did not finish for another reason: {:?}",
                    outcome.hops
                );
                unfinished += 1;
            }
        }
    }
    assert!(
        unfinished <= threads,
        "{unfinished} sessions lost, more than the {threads} that can be in flight at the kill"
    );
    eprintln!(
        "load run: {} sessions, {unfinished} lost in flight on the killed node",
        outcomes.len()
    );

    // The node rejoins: started again on the same config, HAProxy's check sees it ready, and
    // it takes steps of sessions begun elsewhere.
    cluster.balancer.wait_until(2, "DOWN");
    cluster.node(2).up();
    cluster.balancer.wait_until(2, "UP");
    let mut served_by = BTreeMap::new();
    for (i, own) in answers.iter().enumerate().take(6) {
        let hops = session(&agent, &base, &format!("back-{i}"), i);
        let (answer, code) = completed(&hops).unwrap_or_else(|| panic!("{hops:?}"));
        assert_eq!(&answer, own, "caller {i}");
        assert!(codes.insert(code), "{hops:?}");
        for hop in &hops {
            *served_by.entry(hop.node.clone()).or_insert(0) += 1;
        }
    }
    assert!(
        served_by.contains_key("node2"),
        "node2 takes steps again: {served_by:?}"
    );

    // Redis killed: every step gets a polite END (never HAProxy's 503, never a hang), then
    // service resumes by itself once Redis is back.
    cluster.redis.kill();
    for i in 0..12 {
        let (phone, _) = caller(i);
        let hop = hubtel(&agent, &base, &format!("down-{i}"), &phone, 1, "*4*1420#");
        assert!(hop.is_polite_end(), "a polite END with Redis down: {hop:?}");
    }
    for number in 1..=3 {
        cluster.balancer.wait_until(number, "DOWN");
    }
    let hop = hubtel(&agent, &base, "down-all", &caller(0).0, 1, "*4*1420#");
    assert!(
        hop.is_polite_end(),
        "no node ready: still a node's polite END: {hop:?}"
    );
    cluster.redis.up();
    for number in 1..=3 {
        cluster.balancer.wait_until(number, "UP");
    }
    for (i, own) in answers.iter().enumerate().take(6) {
        let hops = session(&agent, &base, &format!("again-{i}"), i);
        let (answer, code) = completed(&hops).unwrap_or_else(|| panic!("{hops:?}"));
        assert_eq!(&answer, own, "caller {i}");
        assert!(codes.insert(code), "{hops:?}");
    }

    for node in &cluster.nodes {
        let log = node.log();
        for i in 0..CALLERS {
            let (phone, code) = caller(i);
            assert!(
                !log.contains(&phone) && !log.contains(&code),
                "node {} logged a caller in clear",
                node.number
            );
        }
    }
}

/// A final step sent to two nodes at once (an aggregator's retry racing its first try): one
/// reply, one tracking code, one inquiry over the whole cluster.
#[test]
fn a_step_sent_to_two_nodes_at_once_runs_its_action_once() {
    let Some(mut cluster) = Cluster::start(3, &feed()) else {
        return;
    };
    let agent = common::bin::agent();
    let rounds = 10;
    for round in 0..rounds {
        let id = format!("race-{round}");
        let (phone, code) = caller(round);
        let on = |n: usize| cluster.nodes[n].base();
        assert!(hubtel(&agent, &on(0), &id, &phone, 1, "*4*1420#").goes_on);
        assert!(hubtel(&agent, &on(1), &id, &phone, 2, "1").goes_on);
        let barrier = std::sync::Barrier::new(2);
        let (first, second) = std::thread::scope(|scope| {
            let send = |n: usize| {
                let (agent, id, phone, code, barrier) = (&agent, &id, &phone, &code, &barrier);
                let base = on(n);
                scope.spawn(move || {
                    barrier.wait();
                    hubtel(agent, &base, id, phone, 3, code)
                })
            };
            let (a, b) = (send(1), send(2));
            (a.join().expect("node 2"), b.join().expect("node 3"))
        });
        assert!(first.status == 200 && !first.goes_on, "{first:?}");
        assert_eq!(first.message, second.message, "one reply on both nodes");
        assert_eq!(tracking_codes(&first.message).len(), 1, "{first:?}");
    }
    let entries: usize = cluster.nodes.iter_mut().map(|n| n.audit_entries()).sum();
    assert_eq!(entries, rounds, "one inquiry per round over the cluster");
}
