//! Nalo (DIALECTS.md §4) over a real server: a whole `tamin` session (with and without
//! `SESSIONID`), a session dropped by idle expiry while a question is open and the resume offer
//! after it (Nalo sends no abort or timeout), a repeated start, a dialled shortcut, and
//! malformed bodies.

mod common;

use common::people::*;
use common::TestServer;
use daftar::text::gsm7::fits;
use jiff::ToSpan;
use serde_json::{json, Value};
use std::time::Duration;

const PHONE: &str = "233501234567";
const OTHER: &str = "233501234568";

/// A reply as the test reads it.
#[derive(Debug)]
struct Hop {
    more: bool,
    text: String,
    reply: Value,
}

impl Hop {
    fn latin(&self) -> String {
        common::latin_digits(&self.text)
    }
}

fn world() -> (String, Vec<String>) {
    let until = today_tehran().checked_add(2.years()).unwrap();
    let holder_code = ir_code("005123457");
    let lines = vec![upsert(1, holder(&holder_code, &["989121110001"], until))];
    (holder_code, lines)
}

fn send(server: &TestServer, body: &Value) -> Hop {
    let (status, text) = server.post(
        "/ussd/nalo",
        "application/json",
        body.to_string().as_bytes(),
    );
    assert_eq!(status, 200, "{text}");
    let reply: Value = serde_json::from_str(&text).expect("a JSON reply");
    let hop = Hop {
        more: reply["MSGTYPE"].as_bool().expect("MSGTYPE"),
        text: reply["MSG"].as_str().expect("MSG").to_string(),
        reply,
    };
    assert!(
        fits(&hop.text, server.config.screen),
        "screen over its budget: {:?}",
        hop.text
    );
    hop
}

fn request(session: &str, phone: &str, first: bool, data: &str) -> Value {
    json!({
        "USERID": "NALOTest", "MSISDN": phone, "USERDATA": data, "MSGTYPE": first,
        "NETWORK": "MTN", "SESSIONID": session
    })
}

#[test]
fn a_whole_tamin_session() {
    let (code, lines) = world();
    let server = TestServer::start(&lines);
    let first = send(&server, &request("n1", PHONE, true, "*4*1420#"));
    assert!(first.more, "{first:?}");
    assert!(
        first.text.contains("۲.") && first.text.contains("۹."),
        "{first:?}"
    );
    assert_eq!(first.reply["USERID"], "NALOTest");
    assert_eq!(first.reply["MSISDN"], PHONE);
    let question = send(&server, &request("n1", PHONE, false, "2"));
    assert!(question.more, "{question:?}");
    let end = send(&server, &request("n1", PHONE, false, &code));
    assert!(!end.more, "{end:?}");
    assert!(end.text.contains("حمایت درمانی"), "{end:?}");
}

#[test]
fn an_old_setup_without_session_ids_runs_a_whole_session() {
    let (code, lines) = world();
    let server = TestServer::start(&lines);
    let hop = |first: bool, data: &str| {
        send(
            &server,
            &json!({"USERID": "NALOTest", "MSISDN": OTHER, "USERDATA": data, "MSGTYPE": first, "NETWORK": "MTN"}),
        )
    };
    assert!(hop(true, "*4*1420#").more);
    assert!(hop(false, "2").more);
    let end = hop(false, &code);
    assert!(!end.more && end.text.contains("حمایت درمانی"), "{end:?}");
}

#[test]
fn a_session_dropped_with_a_question_open_is_offered_back() {
    let (code, lines) = world();
    let server = TestServer::start_with(&lines, |c| {
        c.sessions.idle_s = 1;
        c.sessions.sweep_ms = 100;
    });
    send(&server, &request("x1", PHONE, true, "*4*1420#"));
    send(&server, &request("x1", PHONE, false, "2"));
    send(&server, &request("x3", OTHER, true, "*4*1420#"));
    send(&server, &request("x3", OTHER, false, "2"));
    std::thread::sleep(Duration::from_millis(1_600));

    let offer = send(&server, &request("x2", PHONE, true, "*4*1420#"));
    assert!(offer.more && offer.text.contains("ادامه"), "{offer:?}");
    assert!(
        offer.latin().contains("1.") && offer.latin().contains("2."),
        "{offer:?}"
    );
    let question = send(&server, &request("x2", PHONE, false, "1"));
    assert!(question.more, "{question:?}");
    let end = send(&server, &request("x2", PHONE, false, &code));
    assert!(end.text.contains("حمایت درمانی"), "{end:?}");

    let offer = send(&server, &request("x4", OTHER, true, "*4*1420#"));
    assert!(offer.text.contains("ادامه"), "{offer:?}");
    let home = send(&server, &request("x4", OTHER, false, "2"));
    assert!(
        home.text.contains("۹.") && !home.text.contains("ادامه"),
        "{home:?}"
    );
}

#[test]
fn a_repeated_start_gets_the_same_reply() {
    let (code, lines) = world();
    let server = TestServer::start(&lines);
    let first = send(&server, &request("p1", PHONE, true, "*4*1420#"));
    let again = send(&server, &request("p1", PHONE, true, "*4*1420#"));
    assert_eq!((again.more, &again.text), (first.more, &first.text));
    let question = send(&server, &request("p1", PHONE, false, "2"));
    assert!(question.more);
    let resent = send(&server, &request("p1", PHONE, true, "*4*1420#"));
    assert_eq!(resent.text, question.text);
    let end = send(&server, &request("p1", PHONE, false, &code));
    assert!(end.text.contains("حمایت درمانی"), "{end:?}");
}

#[test]
fn a_dialled_shortcut_pre_answers_the_menus() {
    let (code, lines) = world();
    let server = TestServer::start(&lines);
    let end = send(
        &server,
        &request("d1", PHONE, true, &format!("*4*1420*2*{code}#")),
    );
    assert!(!end.more, "{end:?}");
    assert!(end.text.contains("حمایت درمانی"), "{end:?}");
}

#[test]
fn malformed_bodies_get_a_4xx_never_a_5xx() {
    let (_code, lines) = world();
    let server = TestServer::start(&lines);
    let huge = request("m", PHONE, false, &"1".repeat(5000)).to_string();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("application/json", Vec::new()),
        ("application/json", b"{]".to_vec()),
        ("application/json", b"true".to_vec()),
        ("application/json", b"\xff\xfe\xfd".to_vec()),
        (
            "text/plain",
            br#"{"MSISDN":"233501234567","MSGTYPE":true}"#.to_vec(),
        ),
        (
            "application/json",
            br#"{"MSGTYPE":true,"SESSIONID":"m"}"#.to_vec(),
        ),
        (
            "application/json",
            br#"{"MSISDN":"233501234567","SESSIONID":"m"}"#.to_vec(),
        ),
        (
            "application/json",
            br#"{"MSISDN":"233501234567","SESSIONID":"m","MSGTYPE":"sometimes"}"#.to_vec(),
        ),
        (
            "application/json",
            br#"{"MSISDN":{},"SESSIONID":"m","MSGTYPE":true}"#.to_vec(),
        ),
        ("application/json", huge.into_bytes()),
    ];
    for (content_type, body) in cases {
        let (status, answer) = server.post("/ussd/nalo", content_type, &body);
        assert!(
            (400..500).contains(&status),
            "{status} {answer:?} for {:?}",
            String::from_utf8_lossy(&body)
        );
    }
    let unknown = send(&server, &request("m2", PHONE, true, "*999#"));
    assert!(!unknown.more, "{unknown:?}");
}
