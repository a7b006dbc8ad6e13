//! Hubtel (DIALECTS.md §2) over a real server: a whole `tamin` session, a release while a
//! question is open and the resume offer after it, a resent sequence, a dialled shortcut,
//! a timeout, and malformed bodies.

mod common;

use common::people::*;
use common::TestServer;
use daftar::text::gsm7::fits;
use jiff::ToSpan;
use serde_json::{json, Value};

const PHONE: &str = "233244567890";
const OTHER: &str = "233244567891";

/// A reply as the test reads it: the HTTP status, `Type` and `Message`.
#[derive(Debug)]
struct Hop {
    status: u16,
    kind: String,
    text: String,
}

impl Hop {
    fn goes_on(&self) -> bool {
        self.kind == "Response"
    }
    fn ends(&self) -> bool {
        self.kind == "Release"
    }
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
        "/ussd/hubtel",
        "application/json",
        body.to_string().as_bytes(),
    );
    assert_eq!(status, 200, "{text}");
    let reply: Value = serde_json::from_str(&text).expect("a JSON reply");
    let hop = Hop {
        status,
        kind: reply["Type"].as_str().expect("Type").to_string(),
        text: reply["Message"].as_str().expect("Message").to_string(),
    };
    assert!(
        fits(&hop.text, server.config.screen),
        "screen over its budget: {:?}",
        hop.text
    );
    hop
}

fn request(session: &str, phone: &str, kind: &str, message: &str, sequence: u32) -> Value {
    json!({
        "Mobile": phone, "SessionId": session, "ServiceCode": "4*1420", "Type": kind,
        "Message": message, "Operator": "mtn", "Sequence": sequence, "ClientState": ""
    })
}

#[test]
fn a_whole_tamin_session() {
    let (code, lines) = world();
    let server = TestServer::start(&lines);
    let first = send(&server, &request("h1", PHONE, "Initiation", "*4*1420#", 1));
    assert!(first.goes_on(), "{first:?}");
    assert!(
        first.text.contains("۲.") && first.text.contains("۹."),
        "{first:?}"
    );
    let question = send(&server, &request("h1", PHONE, "Response", "2", 2));
    assert!(question.goes_on(), "{question:?}");
    let end = send(&server, &request("h1", PHONE, "Response", &code, 3));
    assert!(end.ends(), "{end:?}");
    assert!(end.text.contains("حمایت درمانی"), "{end:?}");
}

#[test]
fn a_release_with_a_question_open_leaves_the_resume_offer() {
    let (code, lines) = world();
    let server = TestServer::start(&lines);
    send(&server, &request("r1", PHONE, "Initiation", "*4*1420#", 1));
    send(&server, &request("r1", PHONE, "Response", "2", 2));
    let answer = send(&server, &request("r1", PHONE, "Release", "", 3));
    assert!(answer.ends() && answer.text.is_empty(), "{answer:?}");

    let offer = send(&server, &request("r2", PHONE, "Initiation", "*4*1420#", 1));
    assert!(offer.goes_on() && offer.text.contains("ادامه"), "{offer:?}");
    assert!(
        offer.latin().contains("1.") && offer.latin().contains("2."),
        "{offer:?}"
    );
    let question = send(&server, &request("r2", PHONE, "Response", "1", 2));
    assert!(question.goes_on(), "{question:?}");
    let end = send(&server, &request("r2", PHONE, "Response", &code, 3));
    assert!(end.text.contains("حمایت درمانی"), "{end:?}");

    // Start again: the offer declined shows the first screen.
    send(&server, &request("r3", OTHER, "Initiation", "*4*1420#", 1));
    send(&server, &request("r3", OTHER, "Response", "2", 2));
    send(&server, &request("r3", OTHER, "Release", "", 3));
    let offer = send(&server, &request("r4", OTHER, "Initiation", "*4*1420#", 1));
    assert!(offer.text.contains("ادامه"), "{offer:?}");
    let home = send(&server, &request("r4", OTHER, "Response", "2", 2));
    assert!(
        home.text.contains("۹.") && !home.text.contains("ادامه"),
        "{home:?}"
    );
}

#[test]
fn a_timeout_with_a_question_open_is_answered_simply_and_leaves_the_offer() {
    let (_code, lines) = world();
    let server = TestServer::start(&lines);
    send(&server, &request("t1", PHONE, "Initiation", "*4*1420#", 1));
    send(&server, &request("t1", PHONE, "Response", "2", 2));
    let answer = send(
        &server,
        &json!({"SessionId": "t1", "Type": "Timeout", "Message": "", "Sequence": 3}),
    );
    assert!(answer.ends() && answer.text.is_empty(), "{answer:?}");
    let offer = send(&server, &request("t2", PHONE, "Initiation", "*4*1420#", 1));
    assert!(offer.text.contains("ادامه"), "{offer:?}");
}

#[test]
fn a_resent_sequence_gets_the_same_reply() {
    let (code, lines) = world();
    let server = TestServer::start(&lines);
    let first = send(&server, &request("q1", PHONE, "Initiation", "*4*1420#", 1));
    let again = send(&server, &request("q1", PHONE, "Initiation", "*4*1420#", 1));
    assert_eq!(again.text, first.text);
    let question = send(&server, &request("q1", PHONE, "Response", "2", 2));
    let resent = send(&server, &request("q1", PHONE, "Response", "2", 2));
    assert_eq!(
        resent.text, question.text,
        "the resend is not read as the answer"
    );
    let end = send(&server, &request("q1", PHONE, "Response", &code, 3));
    assert!(end.ends() && end.text.contains("حمایت درمانی"), "{end:?}");
    let resent = send(&server, &request("q1", PHONE, "Response", &code, 3));
    assert_eq!(
        resent.text, end.text,
        "the same end, the same tracking code"
    );
    assert!(resent.ends());
}

#[test]
fn a_dialled_shortcut_pre_answers_the_menus() {
    let (code, lines) = world();
    let server = TestServer::start(&lines);
    let end = send(
        &server,
        &request("d1", PHONE, "Initiation", &format!("*4*1420*2*{code}#"), 1),
    );
    assert!(end.ends(), "{end:?}");
    assert!(end.text.contains("حمایت درمانی"), "{end:?}");
    assert_eq!(end.status, 200);
}

#[test]
fn malformed_bodies_get_a_4xx_never_a_5xx() {
    let (_code, lines) = world();
    let server = TestServer::start(&lines);
    let huge =
        json!({"Mobile": PHONE, "SessionId": "m", "Type": "Response", "Message": "1".repeat(5000)})
            .to_string();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("application/json", Vec::new()),
        ("application/json", b"not json".to_vec()),
        ("application/json", b"[]".to_vec()),
        ("application/json", b"\xff\xfe\xfd".to_vec()),
        ("application/x-www-form-urlencoded", b"SessionId=m&Type=Initiation".to_vec()),
        ("application/json", br#"{"SessionId":"m","Type":"Initiation"}"#.to_vec()),
        ("application/json", br#"{"Mobile":"233244567890","SessionId":"m"}"#.to_vec()),
        ("application/json", br#"{"Mobile":"233244567890","SessionId":"m","Type":7}"#.to_vec()),
        ("application/json", br#"{"Mobile":"233244567890","SessionId":"m","Type":"Response","Message":"1","Sequence":"x"}"#.to_vec()),
        ("application/json", huge.into_bytes()),
    ];
    for (content_type, body) in cases {
        let (status, answer) = server.post("/ussd/hubtel", content_type, &body);
        assert!(
            (400..500).contains(&status),
            "{status} {answer:?} for {:?}",
            String::from_utf8_lossy(&body)
        );
    }
    // An unknown code parses: a polite end, not an error.
    let unknown = send(&server, &request("m2", PHONE, "Initiation", "*999#", 1));
    assert!(unknown.ends(), "{unknown:?}");
}
