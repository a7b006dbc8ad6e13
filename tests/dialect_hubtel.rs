//! Hubtel (DIALECTS.md §2) over a real server: a whole `tamin` session, a release while a
//! question is open and the resume offer after it, a resent sequence, a dialled shortcut,
//! a timeout, and malformed bodies.

mod common;

use common::dialects::{self, world, Hop};
use common::TestServer;
use serde_json::{json, Value};

const PHONE: &str = "233244567890";
const OTHER: &str = "233244567891";

/// Posts a Hubtel body and reads `Type` (`Response` goes on, `Release` ends) and `Message`.
fn send(server: &TestServer, body: &Value) -> Hop {
    let (status, text, reply) = dialects::post_json(server, "/ussd/hubtel", body);
    let kind = reply["Type"].as_str().expect("Type");
    assert!(kind == "Response" || kind == "Release", "{text}");
    let message = reply["Message"].as_str().expect("Message").to_string();
    Hop::new(server, status, kind == "Response", message, text)
}

fn request(session: &str, phone: &str, kind: &str, message: &str, sequence: u32) -> Value {
    json!({
        "Mobile": phone, "SessionId": session, "ServiceCode": "4*1420", "Type": kind,
        "Message": message, "Operator": "mtn", "Sequence": sequence, "ClientState": ""
    })
}

/// Hop `n` of a session: `Initiation` first, then `Response`, with `Sequence` `n`.
fn hop(server: &TestServer) -> impl Fn(&str, &str, u32, &str) -> Hop + '_ {
    move |session, phone, n, message| {
        let kind = if n == 1 { "Initiation" } else { "Response" };
        send(server, &request(session, phone, kind, message, n))
    }
}

#[test]
fn a_whole_tamin_session() {
    let (code, lines) = world();
    let server = TestServer::start(&lines);
    dialects::whole_session(&hop(&server), "h1", PHONE, &code);
}

#[test]
fn a_release_with_a_question_open_leaves_the_resume_offer() {
    let (code, lines) = world();
    let server = TestServer::start(&lines);
    let hop = hop(&server);
    let asked = dialects::open_question(&hop, "r1", PHONE);
    let answer = send(&server, &request("r1", PHONE, "Release", "", 3));
    assert!(!answer.goes_on && answer.text.is_empty(), "{answer:?}");
    dialects::resume_accepted(&hop, "r2", PHONE, &asked, &code);

    // Start again: the offer declined shows the first screen.
    dialects::open_question(&hop, "r3", OTHER);
    send(&server, &request("r3", OTHER, "Release", "", 3));
    dialects::resume_declined(&hop, "r4", OTHER);
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
    assert!(!answer.goes_on && answer.text.is_empty(), "{answer:?}");
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
    assert!(!end.goes_on && end.text.contains("حمایت درمانی"), "{end:?}");
    let resent = send(&server, &request("q1", PHONE, "Response", &code, 3));
    assert_eq!(
        resent.text, end.text,
        "the same end, the same tracking code"
    );
    assert!(!resent.goes_on);
}

#[test]
fn a_dialled_shortcut_pre_answers_the_menus() {
    let (code, lines) = world();
    let server = TestServer::start(&lines);
    dialects::dialled_shortcut(&hop(&server), "d1", PHONE, &code);
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
    dialects::all_refused(&server, "/ussd/hubtel", cases);
    // An unknown code parses: a polite end, not an error.
    let unknown = send(&server, &request("m2", PHONE, "Initiation", "*999#", 1));
    assert!(!unknown.goes_on, "{unknown:?}");
}

/// `tests/fixtures/dialects/hubtel.toml`: real-shaped requests and the replies they must get.
#[test]
fn the_fixture_replays_as_recorded() {
    common::dialects::replay_fixture("hubtel");
}
