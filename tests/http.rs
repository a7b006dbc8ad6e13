//! The server's edges: health, readiness, metrics, malformed and oversized requests (4xx,
//! never 5xx, never a hang), an unknown service code, a full session table, the admin API.

mod common;

use common::people::*;
use common::TestServer;

fn feed() -> Vec<String> {
    let today = today_tehran();
    let until = today.checked_add(jiff::ToSpan::years(1)).unwrap();
    vec![upsert(
        1,
        holder(&ir_code("005123457"), &["989121110001"], until),
    )]
}

#[test]
fn health_readiness_and_metrics_answer() {
    let server = TestServer::start(&feed());
    assert_eq!(server.get("/healthz").0, 200);
    assert_eq!(server.get("/readyz").0, 200);
    server.at("m1", "*4*1420#", "989121110001", "");
    let (status, metrics) = server.get("/metrics");
    assert_eq!(status, 200);
    assert!(
        metrics.contains(
            "daftar_ussd_requests_total{dialect=\"africastalking\",outcome=\"continue\"} 1"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("daftar_ussd_step_seconds_bucket"),
        "{metrics}"
    );
    assert!(metrics.contains("daftar_feed_watermark 1"), "{metrics}");
    assert_eq!(server.get("/nothing").0, 404);
}

#[test]
fn malformed_requests_get_a_4xx_and_the_server_lives_on() {
    let server = TestServer::start(&feed());
    let form = "application/x-www-form-urlencoded";
    let long = format!(
        "sessionId=x&phoneNumber=%2B989121110001&text={}",
        "1*".repeat(5000)
    );
    let cases: Vec<(&str, &str, Vec<u8>, u16)> = vec![
        ("/ussd/africastalking", form, b"".to_vec(), 400),
        ("/ussd/africastalking", form, b"\xff\xfe\x00".to_vec(), 400),
        (
            "/ussd/africastalking",
            "application/json",
            br#"{"text": 1}"#.to_vec(),
            400,
        ),
        (
            "/ussd/africastalking",
            form,
            b"sessionId=x&text=1".to_vec(),
            400,
        ),
        (
            "/ussd/africastalking",
            form,
            b"sessionId=x&phoneNumber=letters".to_vec(),
            400,
        ),
        ("/ussd/africastalking", form, long.into_bytes(), 413),
        ("/ussd/africastalking", form, vec![b'a'; 64 * 1024], 413), // or a reset mid-write
        ("/ussd/nobody", form, b"sessionId=x".to_vec(), 404),
    ];
    for (path, content_type, body, want) in cases {
        let (status, _) = server.post(path, content_type, &body);
        let refused_early = want == 413 && body.len() > 32 * 1024 && status == 0;
        assert!(
            status == want || refused_early,
            "{status} for {path} {content_type} {:?}",
            String::from_utf8_lossy(&body[..body.len().min(40)])
        );
    }
    assert_eq!(
        server.get("/ussd/africastalking").0,
        400,
        "GET is not the dialect's method"
    );
    assert_eq!(server.get("/healthz").0, 200);
}

#[test]
fn an_unknown_service_code_gets_an_end_not_an_error() {
    let server = TestServer::start(&feed());
    let end = server.at("u1", "*999#", "989121110001", "");
    assert_eq!(end.status, 200);
    assert!(end.is_end() && !end.text.is_empty(), "{end:?}");
}

#[test]
fn a_full_session_table_answers_a_polite_end() {
    let server = TestServer::start_with(&feed(), |c| c.sessions.max = 2);
    assert!(server.at("a", "*4*1420#", "989121110001", "").is_con());
    assert!(server.at("b", "*4*1420#", "989121110001", "").is_con());
    let full = server.at("c", "*4*1420#", "989121110001", "");
    assert!(full.is_end() && !full.text.is_empty(), "{full:?}");
    assert!(
        server.at("a", "*4*1420#", "989121110001", "1").is_con(),
        "known sessions go on"
    );
}

#[test]
fn the_admin_api_needs_its_token_and_finds_a_tracking_code() {
    let server = TestServer::start_with(&feed(), |c| c.admin.token = Some("s3cret".into()));
    let end = server.at(
        "t1",
        "*4*1420#",
        "989121110009",
        &format!("2*{}", ir_code("005123457")),
    );
    let code = end.codes()[0].clone();
    assert_eq!(server.get(&format!("/admin/track/{code}")).0, 401);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent
        .get(&format!("{}/admin/track/{code}", server.base))
        .header("Authorization", "Bearer s3cret")
        .call()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body = response.body_mut().read_to_string().unwrap();
    assert!(
        body.contains("\"kind\": \"general\"") && body.contains("\"result\": \"covered\""),
        "{body}"
    );
    assert!(
        !body.contains("989121110009") && !body.contains(&ir_code("005123457")),
        "hashed: {body}"
    );
}

#[test]
fn slow_heads_and_slow_bodies_are_cut_off() {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};
    let server = TestServer::start_with(&feed(), |c| {
        c.server.header_timeout_ms = 300;
        c.server.body_timeout_ms = 300;
    });
    let address = server.base.trim_start_matches("http://").to_string();

    let mut slow_head = std::net::TcpStream::connect(&address).unwrap();
    slow_head
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    slow_head
        .write_all(b"POST /ussd/africastalking HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let _ = slow_head.read_to_end(&mut answer);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the connection was closed by the server"
    );

    let mut slow_body = std::net::TcpStream::connect(&address).unwrap();
    slow_body
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    slow_body
        .write_all(b"POST /ussd/africastalking HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nsessionId=")
        .unwrap();
    let mut answer = [0u8; 64];
    let read = slow_body.read(&mut answer).unwrap_or(0);
    let head = String::from_utf8_lossy(&answer[..read]);
    assert!(head.starts_with("HTTP/1.1 408"), "{head:?}");
    assert_eq!(server.get("/healthz").0, 200);
}

/// Sends `request` as raw bytes on a connection of its own and reads the answer to its end
/// (the server closes the connection after it), as text.
fn raw_exchange(server: &TestServer, request: &[u8]) -> String {
    use std::io::{Read, Write};
    let address = server.base.trim_start_matches("http://").to_string();
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    let hang_guard = std::time::Duration::from_secs(10);
    stream.set_read_timeout(Some(hang_guard)).unwrap();
    stream.write_all(request).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

/// A body refused before it was read (too large, too slow) leaves unread bytes on the
/// connection: the answer says the connection closes, so a pooling client opens a new one.
#[test]
fn a_refused_body_closes_its_connection_and_says_so() {
    let server = TestServer::start(&feed());
    let head = raw_exchange(
        &server,
        b"POST /ussd/africastalking HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000000\r\n\r\nsessionId=",
    )
    .to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 413"), "{head:?}");
    assert!(head.contains("\r\nconnection: close\r\n"), "{head:?}");
    assert_eq!(server.get("/healthz").0, 200);
}

/// A chunked body whose chunk size is not hexadecimal is a request that does not read: 400,
/// not 413 (it is not too large).
#[test]
fn a_malformed_chunked_body_gets_400() {
    let server = TestServer::start(&feed());
    let head = raw_exchange(
        &server,
        b"POST /ussd/africastalking HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nsessionId=x\r\n0\r\n\r\n",
    );
    assert!(head.starts_with("HTTP/1.1 400"), "{head:?}");
    assert_eq!(server.get("/healthz").0, 200);
}

#[test]
fn a_caller_refused_for_a_full_table_runs_no_inquiry() {
    let mut server = TestServer::start_with(&feed(), |c| c.sessions.max = 1);
    let code = ir_code("005123457");
    assert!(server.at("a", "*4*1420#", "989121110001", "").is_con());
    let refused = server.at("b", "*4*1420#", "989121110002", &format!("2*{code}"));
    assert!(
        refused.is_end() && refused.codes().is_empty(),
        "{refused:?}"
    );
    // Had the refused inquiry run, the audit trail would hold its tracking code too: the
    // answered inquiry's entry must be the only one.
    let answered = server.at("a", "*4*1420#", "989121110001", &format!("2*{code}"));
    assert_eq!(answered.codes().len(), 1, "{answered:?}");
    server.stop();
    let store = daftar::store::Store::open(&server.config.store.db, 1 << 24).expect("store");
    let audit = store.tree("audit").expect("audit tree");
    let entries = audit.scan_prefix(b"c").count();
    assert_eq!(entries, 1, "one audit entry: the answered inquiry's");
}

#[test]
fn a_sweeper_that_cannot_be_timed_is_refused_at_start_naming_its_key() {
    let error = TestServer::refused_with(&feed(), |c| c.sessions.sweep_ms = 0);
    assert!(error.contains("sessions.sweep_ms"), "{error}");
}

#[test]
fn a_missing_feed_is_refused_at_start_naming_its_path() {
    let mut path = String::new();
    let error = TestServer::refused_with(&feed(), |c| {
        path = c
            .store
            .db
            .with_file_name("gone.ndjson")
            .display()
            .to_string();
        c.feed.source = Some(path.clone());
    });
    assert!(error.contains(&path), "{error}");
}

/// SPEC §7: `/readyz` says whether this node should be given callers. A feed that can no longer
/// be read (removed, or replaced by something that is not a file) means records going stale:
/// 503 with the reason until a poll succeeds again.
#[test]
fn a_feed_that_fails_after_start_turns_readiness_off_until_it_reads_again() {
    use std::time::Duration;
    let server = TestServer::start(&feed());
    let path = server.config.feed.source.clone().expect("a feed");
    let kept = format!("{path}.kept");
    let limit = Duration::from_secs(20);

    std::fs::rename(&path, &kept).expect("feed moved away");
    let reasons = server.wait_readyz(503, limit);
    assert!(reasons.contains("the feed is failing since"), "{reasons}");
    assert_eq!(server.get("/healthz").0, 200, "alive all the same");
    std::fs::rename(&kept, &path).expect("feed back");
    assert_eq!(server.wait_readyz(200, limit), "ready\n");

    std::fs::rename(&path, &kept).expect("feed moved away");
    std::fs::create_dir(&path).expect("a directory where the feed was");
    let reasons = server.wait_readyz(503, limit);
    assert!(reasons.contains("the feed is failing since"), "{reasons}");
    std::fs::remove_dir(&path).expect("directory removed");
    std::fs::rename(&kept, &path).expect("feed back");
    assert_eq!(server.wait_readyz(200, limit), "ready\n");
}

/// SPEC §3: a retry gets the same reply and runs no action twice, also when the retries
/// arrive together while the first is still being answered.
#[test]
fn identical_final_steps_sent_at_once_get_one_reply_and_one_audit_entry() {
    let mut server = TestServer::start(&feed());
    let code = ir_code("005123457");
    let rounds = 25;
    for round in 0..rounds {
        let session = format!("race-{round}");
        server.at(&session, "*4*1420#", "989129999999", "");
        server.at(&session, "*4*1420#", "989129999999", "2");
        let path = format!("2*{code}");
        let barrier = std::sync::Barrier::new(8);
        let screens: Vec<_> = std::thread::scope(|scope| {
            let sent: Vec<_> = (0..8)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        server.at(&session, "*4*1420#", "989129999999", &path)
                    })
                })
                .collect();
            sent.into_iter()
                .map(|s| s.join().expect("request"))
                .collect()
        });
        assert!(screens[0].is_end(), "{:?}", screens[0]);
        assert_eq!(screens[0].codes().len(), 1, "{:?}", screens[0]);
        assert!(
            screens.iter().all(|s| *s == screens[0]),
            "round {round}: one reply for all: {screens:?}"
        );
    }
    server.stop();
    let store = daftar::store::Store::open(&server.dir.path().join("db"), 1 << 20).expect("db");
    let entries = store
        .tree("audit")
        .expect("audit tree")
        .scan_prefix(b"c")
        .count();
    assert_eq!(entries, rounds, "one audit entry per round");
}

/// SPEC §7: a section naming a service or dialect that does not exist is refused at start.
#[test]
fn sections_naming_no_service_or_dialect_are_refused_at_start() {
    let error = TestServer::refused_with(&feed(), |c| {
        c.dialects.insert("nobody".into(), Default::default());
    });
    assert!(error.contains("[dialects.nobody]"), "{error}");
    let error = TestServer::refused_with(&feed(), |c| {
        c.services.insert("nothing".into(), Default::default());
    });
    assert!(error.contains("[services.nothing]"), "{error}");
    let error = TestServer::refused_with(&feed(), |c| {
        let at = daftar::config::DialectConfig {
            default_service: Some("nothing".into()),
            ..Default::default()
        };
        c.dialects.insert("africastalking".into(), at);
    });
    assert!(error.contains("default_service"), "{error}");
}

/// The dialect sees the whole path: Africa's Talking serves `/ussd/africastalking` alone.
#[test]
fn a_path_beyond_a_dialects_endpoint_is_not_found() {
    let server = TestServer::start(&feed());
    let body = b"sessionId=x&serviceCode=*4*1420%23&phoneNumber=%2B989121110001&text=";
    let form = "application/x-www-form-urlencoded";
    let (status, _) = server.post("/ussd/africastalking/extra", form, body);
    assert_eq!(status, 404);
    let (status, text) = server.post("/ussd/africastalking", form, body);
    assert_eq!((status, &text[..4]), (200, "CON "));
}

/// Sessions that end are counted by dialect and how they ended: the server's END, the
/// aggregator's abort, its timeout.
#[test]
fn session_ends_are_counted_by_dialect_and_kind() {
    let server = TestServer::start(&feed());
    let code = ir_code("005123457");
    server.at("e1", "*4*1420#", "989129999999", "");
    assert!(server
        .at("e1", "*4*1420#", "989129999999", &format!("2*{code}"))
        .is_end());
    server.at("e2", "*4*1420#", "989129999999", "1");
    assert_eq!(
        server
            .at_end("e2", "*4*1420#", "989129999999", "Incomplete")
            .0,
        200
    );
    server.at("e3", "*4*1420#", "989129999999", "1");
    assert_eq!(
        server.at_end("e3", "*4*1420#", "989129999999", "Failed").0,
        200
    );
    let (_, metrics) = server.get("/metrics");
    for kind in ["end", "abort", "timeout"] {
        let line = format!(
            "daftar_ussd_session_ends_total{{dialect=\"africastalking\",kind=\"{kind}\"}} 1"
        );
        assert!(metrics.contains(&line), "{line} in {metrics}");
    }
}

/// A dialect's smaller screen is held against the menus at start: a menu that would not fit
/// its gateways is refused, not cut on a caller's phone.
#[test]
fn a_dialect_screen_too_small_for_the_menus_is_refused_at_start() {
    let error = TestServer::refused_with(&feed(), |c| {
        let small = toml::from_str("ucs2 = 50").expect("a budget");
        let at = daftar::config::DialectConfig {
            screen: Some(small),
            ..Default::default()
        };
        c.dialects.insert("africastalking".into(), at);
    });
    assert!(error.contains("fault"), "{error}");
    let error = TestServer::refused_with(&feed(), |c| {
        let tiny = toml::from_str("ucs2 = 20").expect("a budget");
        let at = daftar::config::DialectConfig {
            screen: Some(tiny),
            ..Default::default()
        };
        c.dialects.insert("africastalking".into(), at);
    });
    assert!(
        error.contains("dialects.africastalking.screen.ucs2"),
        "{error}"
    );
}
