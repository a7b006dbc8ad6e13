//! Arkesel (DIALECTS.md §3) over a real server: a whole `tamin` session, a session dropped by
//! idle expiry while a question is open and the resume offer after it (Arkesel sends no abort
//! or timeout), a repeated start, a dialled shortcut, and malformed bodies.

mod common;

use common::dialects::{self, world, Hop};
use common::TestServer;
use serde_json::{json, Value};

const PHONE: &str = "233507387216";
const OTHER: &str = "233507387217";

/// Posts a body and reads `continueSession` and `message`.
fn send(server: &TestServer, body: &Value) -> Hop {
    let (status, text, reply) = dialects::post_json(server, "/ussd/arkesel", body);
    let more = reply["continueSession"].as_bool().expect("continueSession");
    let message = reply["message"].as_str().expect("message").to_string();
    Hop::new(server, status, more, message, text)
}

fn request(session: &str, phone: &str, new: bool, data: &str) -> Value {
    json!({
        "sessionID": session, "userID": "CNAMAPP", "newSession": new, "msisdn": phone,
        "userData": data, "network": "MTN"
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
    let first = dialects::whole_session(&hop(&server), "a1", PHONE, &code);
    let first: Value = serde_json::from_str(&first.body).unwrap();
    for (key, want) in [
        ("sessionID", "a1"),
        ("userID", "CNAMAPP"),
        ("msisdn", PHONE),
    ] {
        assert_eq!(first[key], want, "{key} echoed");
    }
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
    let cases = dialects::unreadable_arkesel_bodies();
    dialects::all_refused(&server, "/ussd/arkesel", cases);
    // A continuing request for a session never seen, with no default service: a polite end.
    let lost = send(&server, &request("m2", PHONE, false, "1"));
    assert!(!lost.goes_on, "{lost:?}");
}

/// `tests/fixtures/dialects/arkesel.toml`: real-shaped requests and the replies they must get.
#[test]
fn the_fixture_replays_as_recorded() {
    common::dialects::replay_fixture("arkesel");
}
