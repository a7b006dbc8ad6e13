//! Nalo (DIALECTS.md §4) over a real server: a whole `tamin` session (with and without
//! `SESSIONID`), a session dropped by idle expiry while a question is open and the resume offer
//! after it (Nalo sends no abort or timeout), a repeated start, a dialled shortcut, and
//! malformed bodies.

mod common;

use common::dialects::{self, world, Hop};
use common::TestServer;
use serde_json::{json, Value};

const PHONE: &str = "233501234567";
const OTHER: &str = "233501234568";

/// Posts a body and reads `MSGTYPE` and `MSG`.
fn send(server: &TestServer, body: &Value) -> Hop {
    let (status, text, reply) = dialects::post_json(server, "/ussd/nalo", body);
    let more = reply["MSGTYPE"].as_bool().expect("MSGTYPE");
    let message = reply["MSG"].as_str().expect("MSG").to_string();
    Hop::new(server, status, more, message, text)
}

fn request(session: &str, phone: &str, first: bool, data: &str) -> Value {
    json!({
        "USERID": "NALOTest", "MSISDN": phone, "USERDATA": data, "MSGTYPE": first,
        "NETWORK": "MTN", "SESSIONID": session
    })
}

/// Hop `n` of a session: the first one is the new session.
fn hop(server: &TestServer) -> impl Fn(&str, &str, u32, &str) -> Hop + '_ {
    move |session, phone, n, data| send(server, &request(session, phone, n == 1, data))
}

#[test]
fn a_whole_tamin_session() {
    let (code, lines) = world();
    let server = TestServer::start(&lines);
    let first = dialects::whole_session(&hop(&server), "n1", PHONE, &code);
    let first: Value = serde_json::from_str(&first.body).unwrap();
    assert_eq!(first["USERID"], "NALOTest");
    assert_eq!(first["MSISDN"], PHONE);
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
    assert!(hop(true, "*4*1420#").goes_on);
    assert!(hop(false, "2").goes_on);
    let end = hop(false, &code);
    assert!(!end.goes_on && end.text.contains("حمایت درمانی"), "{end:?}");
}

#[test]
fn a_session_dropped_with_a_question_open_is_offered_back() {
    let (code, lines) = world();
    let server = dialects::idle_expiring(&lines);
    dialects::dropped_by_expiry(&hop(&server), PHONE, OTHER, &code);
}

#[test]
fn a_repeated_start_gets_the_same_reply() {
    let (code, lines) = world();
    let server = TestServer::start(&lines);
    dialects::repeated_start(&hop(&server), "p1", PHONE, &code);
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
    dialects::all_refused(&server, "/ussd/nalo", cases);
    let unknown = send(&server, &request("m2", PHONE, true, "*999#"));
    assert!(!unknown.goes_on, "{unknown:?}");
}

/// `tests/fixtures/dialects/nalo.toml`: real-shaped requests and the replies they must get.
#[test]
fn the_fixture_replays_as_recorded() {
    common::dialects::replay_fixture("nalo");
}
