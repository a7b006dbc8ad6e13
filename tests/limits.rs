//! The limits of SPEC §8 over a real server on loopback: one phone hammering is held back
//! while another is served; one phone walking national codes is held back; one national code
//! asked from many phones is held back; the general inquiry for providers alone when so
//! configured; one phone cannot fill the session table; an
//! aggregator's address over its rate gets 429; slow connections from one address (a
//! slowloris from 127.0.0.2) leave a caller from 127.0.0.1 served.

mod common;

use common::people::*;
use common::{Screen, TestServer};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const T: &str = "*4*1420#";
const HAMMER: &str = "989121110001";
const OTHER: &str = "989121110002";

/// The words of `key` (`limit.phone`) in `locale`, up to their `{minutes}`: what an END of that
/// limit begins with.
fn limit_words(locale: &str, key: &str) -> String {
    let file = match key {
        "limit.providers" => format!("tamin.{locale}.toml"),
        _ => format!("common.{locale}.toml"),
    };
    let path = common::menus_dir().join(file);
    let text = std::fs::read_to_string(path).expect("common words");
    let table: toml::Table = toml::from_str(&text).expect("toml");
    let (section, name) = key.split_once('.').expect("dotted key");
    let words = table[section][name].as_str().expect("words").to_string();
    words.split('{').next().unwrap_or_default().to_string()
}

/// Whether `screen` is the END of `key` in Persian (`tamin`'s default), naming a wait.
fn held_back(screen: &Screen, key: &str) -> bool {
    held_back_in(screen, "fa", key)
}

/// Whether `screen` is the END of `key` in `locale`, naming a wait in the locale's digits.
fn held_back_in(screen: &Screen, locale: &str, key: &str) -> bool {
    let words = limit_words(locale, key);
    let rest = screen.text.strip_prefix(&words).unwrap_or_default();
    let digit = |c: char| match locale {
        "fa" => ('۰'..='۹').contains(&c),
        _ => c.is_ascii_digit(),
    };
    screen.is_end() && !words.is_empty() && rest.chars().any(digit)
}

/// A general inquiry (`tamin` 2) about `code` from `phone`, in one request.
fn general(server: &TestServer, session: &str, phone: &str, code: &str) -> Screen {
    server.at(session, T, phone, &format!("2*{code}"))
}

/// Whether `screen` is an answer with its tracking code: the question was put.
fn answered(screen: &Screen) -> bool {
    screen.is_end() && screen.codes().len() == 1
}

fn feed() -> (String, Vec<String>) {
    let until = today_tehran().checked_add(jiff::ToSpan::years(2)).unwrap();
    let code = ir_code("005123457");
    (
        code.clone(),
        vec![upsert(1, holder(&code, &[HAMMER], until))],
    )
}

/// The counter of `limit` in `/metrics`.
fn limited(server: &TestServer, limit: &str) -> u64 {
    let (_, metrics) = server.get("/metrics");
    let series = format!("daftar_limited_total{{limit=\"{limit}\"}} ");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(&series))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn one_phone_hammering_is_held_back_while_another_is_served() {
    let (_, lines) = feed();
    let server = TestServer::start_with(&lines, |c| c.limits.msisdn_steps_per_minute = 10);
    let screens: Vec<Screen> = (0..30)
        .map(|i| server.at(&format!("h{i}"), T, HAMMER, ""))
        .collect();
    assert!(
        screens[..10].iter().all(Screen::is_con),
        "the burst is served"
    );
    let held = screens
        .iter()
        .filter(|s| held_back(s, "limit.phone"))
        .count();
    assert!(held >= 10, "only {held} of 30 held back: {:?}", screens[29]);
    assert!(
        server.at("o1", T, OTHER, "").is_con(),
        "another phone is served"
    );
    assert_eq!(limited(&server, "msisdn_steps"), held as u64);
    let (_, metrics) = server.get("/metrics");
    assert!(!metrics.contains(&HAMMER[2..]), "no MSISDN in the metrics");
}

#[test]
fn a_caller_held_back_is_told_in_the_language_they_chose() {
    let (_, lines) = feed();
    let server = TestServer::start_with(&lines, |c| c.limits.msisdn_steps_per_minute = 3);
    assert!(server.at("l1", T, HAMMER, "").is_con());
    assert!(server.at("l1", T, HAMMER, "9").is_con(), "English now");
    let english = server.at("l2", T, HAMMER, "");
    assert!(english.is_con() && english.text.is_ascii(), "{english:?}");
    let held = server.at("l2", T, HAMMER, "1");
    assert!(held_back_in(&held, "en", "limit.phone"), "{held:?}");
}

#[test]
fn a_retried_final_step_keeps_its_reply_past_the_limit() {
    let (holder, lines) = feed();
    let server = TestServer::start_with(&lines, |c| c.limits.msisdn_steps_per_minute = 3);
    assert!(server.at("r1", T, OTHER, "").is_con());
    assert!(server.at("r1", T, OTHER, "2").is_con());
    let answer = server.at("r1", T, OTHER, &format!("2*{holder}"));
    assert!(answered(&answer), "{answer:?}");
    for _ in 0..5 {
        let retried = server.at("r1", T, OTHER, &format!("2*{holder}"));
        assert_eq!(
            retried, answer,
            "a retry costs nothing and gets the same reply"
        );
    }
    let next = server.at("r2", T, OTHER, "");
    assert!(
        held_back(&next, "limit.phone"),
        "new work is held back: {next:?}"
    );
}

#[test]
fn walking_national_codes_from_one_phone_is_held_back() {
    let (_, lines) = feed();
    let server = TestServer::start_with(&lines, |c| c.limits.msisdn_inquiries_per_hour = 5);
    let answers: Vec<Screen> = (0..20)
        .map(|i| {
            general(
                &server,
                &format!("w{i}"),
                OTHER,
                &ir_code(&format!("1{i:08}")),
            )
        })
        .collect();
    assert!(answers[..5].iter().all(answered), "{:?}", answers[4]);
    for answer in &answers[5..] {
        assert!(held_back(answer, "limit.phone"), "{answer:?}");
        assert!(
            answer.codes().is_empty(),
            "no tracking code: nothing was asked"
        );
    }
    assert_eq!(limited(&server, "msisdn_inquiries"), 15);
    let other = general(&server, "w-other", HAMMER, &ir_code("100000001"));
    assert!(answered(&other), "another phone still asks: {other:?}");
}

#[test]
fn one_national_code_asked_from_many_phones_is_held_back() {
    let (holder, lines) = feed();
    let server = TestServer::start_with(&lines, |c| {
        c.limits.identifier_inquiries_per_hour = 4;
    });
    let answers: Vec<Screen> = (0..10)
        .map(|i| {
            let phone = format!("98912200{i:04}");
            general(&server, &format!("i{i}"), &phone, &holder)
        })
        .collect();
    assert!(answers[..4].iter().all(answered), "{:?}", answers[3]);
    for answer in &answers[4..] {
        assert!(held_back(answer, "limit.number"), "{answer:?}");
    }
    assert_eq!(limited(&server, "identifier"), 6);
    let another = general(&server, "i-x", "989122009999", &ir_code("100000002"));
    assert!(answered(&another), "another code is answered: {another:?}");
}

#[test]
fn with_providers_only_the_general_inquiry_answers_the_providers_alone() {
    let (holder, lines) = feed();
    let server = TestServer::start_with(&lines, |c| {
        c.limits.providers_only = true;
        c.limits.providers = vec![OTHER.to_string()];
    });
    let provider = general(&server, "p1", OTHER, &holder);
    assert!(answered(&provider), "{provider:?}");
    let stranger = general(&server, "p2", HAMMER, &holder);
    let words = limit_words("fa", "limit.providers");
    assert!(stranger.is_end() && stranger.text.starts_with(&words) && words.len() > 20);
    assert!(
        stranger.codes().is_empty(),
        "nothing was asked: {stranger:?}"
    );
    let own = server.at("p3", T, HAMMER, &format!("1*{holder}"));
    assert!(
        answered(&own),
        "the caller's own inquiry is theirs: {own:?}"
    );
    assert_eq!(limited(&server, "providers_only"), 1);
}

#[test]
fn one_phone_cannot_fill_the_session_table() {
    let (_, lines) = feed();
    let server = TestServer::start_with(&lines, |c| {
        c.sessions.max = 20;
        c.limits.msisdn_sessions = 3;
    });
    for i in 0..60 {
        let screen = server.at(&format!("f{i}"), T, HAMMER, "");
        assert!(
            screen.is_con(),
            "the phone's newest session is served: {screen:?}"
        );
    }
    assert_eq!(limited(&server, "msisdn_sessions"), 57);
    for i in 0..17 {
        let phone = format!("98912300{i:04}");
        let screen = server.at(&format!("g{i}"), T, &phone, "");
        assert!(screen.is_con(), "caller {i} is served: {screen:?}");
    }
    let (_, metrics) = server.get("/metrics");
    assert!(metrics.contains("daftar_sessions_live 20"), "{metrics}");
}

#[test]
fn an_aggregator_address_over_its_rate_gets_429_with_the_wait() {
    let (_, lines) = feed();
    let server = TestServer::start_with(&lines, |c| c.limits.source_requests_per_second = 2);
    let body = "sessionId=s&serviceCode=%2A4%2A1420%23&phoneNumber=%2B989121110001&text=";
    let answers: Vec<_> = (0..50)
        .map(|_| {
            server.exchange(
                "POST",
                "/ussd/africastalking",
                "application/x-www-form-urlencoded",
                body.as_bytes(),
            )
        })
        .collect();
    let refused = answers.iter().filter(|a| a.status == 429).count();
    assert!(refused >= 25, "{refused} of 50 refused");
    assert!(answers.iter().all(|a| a.status == 200 || a.status == 429));
    assert_eq!(limited(&server, "source_requests"), refused as u64);
}

/// Connections from 127.0.0.2 that send half a request head and wait: a slowloris.
async fn slow_connections(port: u16, n: usize) -> Vec<tokio::net::TcpStream> {
    let mut held = Vec::with_capacity(n);
    for _ in 0..n {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind("127.0.0.2:0".parse().unwrap())
            .expect("127.0.0.2 is loopback");
        let target = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let mut stream = socket.connect(target).await.expect("connects");
        // Refused connections may be closed before this arrives; the rest hold it.
        let _ = stream
            .write_all(b"POST /ussd/africastalking HTTP/1.1\r\nHost: x\r\n")
            .await;
        held.push(stream);
    }
    held
}

/// The first hop of a session, on a new connection from 127.0.0.1: the whole answer, or what
/// came before a close (a hang guard of 10 s, not a measure of speed).
async fn fresh_hop(port: u16) -> String {
    let body = "sessionId=real&serviceCode=%2A4%2A1420%23&phoneNumber=%2B989121110002&text=";
    let request = format!(
        "POST /ussd/africastalking HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        stream.write_all(request.as_bytes()).await?;
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&answer).into_owned())
    };
    match tokio::time::timeout(Duration::from_secs(10), exchange).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(error)) => format!("failed: {error}"),
        Err(_) => "no answer in 10 s".to_string(),
    }
}

#[test]
fn slow_connections_from_one_address_leave_the_others_served() {
    let (_, lines) = feed();
    let server = TestServer::start_with(&lines, |c| {
        c.server.max_connections = 64;
        c.server.per_source_connections = 16;
        // Slow heads are kept for a minute: only the cap protects the other callers.
        c.server.header_timeout_ms = 60_000;
    });
    let port: u16 = server.base.rsplit(':').next().unwrap().parse().unwrap();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut slow = runtime.block_on(slow_connections(port, 100));
    // The last slow connection is one too many: it reads 503 or a close, not silence. The
    // accept loop takes connections in order, so by then it has seen all of them.
    let last = slow.last_mut().expect("connections");
    let mut answer = Vec::new();
    let read = runtime.block_on(async {
        tokio::time::timeout(Duration::from_secs(10), last.read_to_end(&mut answer)).await
    });
    assert!(read.is_ok(), "an excess connection is not left hanging");
    if !answer.is_empty() {
        assert!(answer.starts_with(b"HTTP/1.1 503"), "{answer:?}");
    }
    // On a new connection: the test client's pooled one was let in before the slow ones.
    let answer = runtime.block_on(fresh_hop(port));
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.contains("\r\n\r\nCON "),
        "a caller from 127.0.0.1 is answered: {answer:?}"
    );
    assert_eq!(limited(&server, "source_connections"), 84);
    drop(slow);
}
