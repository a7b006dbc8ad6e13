//! Beem Africa (DIALECTS.md §5) over the real server: JSON `initiate` / `continue` /
//! `terminate` at `POST /ussd/beem`, no dialled string (the `[dialects.beem]` default service,
//! `tamin`), the echoed fields and `request_id`, a resent step, a terminate with a question
//! open and the resume offer, and malformed requests answered 4xx.

mod common;

use common::dialects::{self, assert_fits, covered};
use common::TestServer;
use serde_json::{json, Value};

const PHONE: &str = "255762089337";
const STRANGER: &str = "255762089999";

fn server() -> (TestServer, String) {
    let (holder_id, lines) = covered(&[PHONE]);
    let server = TestServer::start_with(&lines, |config| {
        config.dialects.insert(
            "beem".into(),
            daftar::config::DialectConfig {
                default_service: Some("tamin".into()),
                ..Default::default()
            },
        );
    });
    (server, holder_id)
}

/// One Beem hop: the status and the JSON answer, whose screen is checked against its budget.
fn hop(
    server: &TestServer,
    command: &str,
    session: &str,
    msisdn: &str,
    request_id: u32,
    response: &str,
) -> (u16, Value) {
    let body = json!({
        "command": command, "msisdn": msisdn, "session_id": session, "operator": "vodacom",
        "payload": {"request_id": request_id, "response": response},
    });
    let (status, text) = server.post(
        "/ussd/beem",
        "application/json",
        body.to_string().as_bytes(),
    );
    let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if let Some(screen) = value["payload"]["request"].as_str() {
        assert_fits(server, screen);
    }
    (status, value)
}

fn screen(value: &Value) -> &str {
    value["payload"]["request"].as_str().unwrap_or("")
}

#[test]
fn a_whole_tamin_session_ends_with_the_general_inquiry_answer() {
    let (server, holder_id) = server();
    let (status, first) = hop(&server, "initiate", "b1", STRANGER, 0, "0");
    assert_eq!(status, 200);
    assert_eq!(first["command"], "continue", "{first}");
    assert_eq!(first["msisdn"], STRANGER);
    assert_eq!(first["session_id"], "b1");
    assert_eq!(first["operator"], "vodacom");
    assert_eq!(first["payload"]["request_id"], 1);
    assert!(screen(&first).contains("۲."), "{first}");
    let (_, question) = hop(&server, "continue", "b1", STRANGER, 1, "2");
    assert_eq!(question["command"], "continue", "{question}");
    assert_eq!(question["payload"]["request_id"], 2);
    let (_, end) = hop(&server, "continue", "b1", STRANGER, 2, &holder_id);
    assert_eq!(end["command"], "terminate", "{end}");
    assert_eq!(end["payload"]["request_id"], 0);
    assert!(screen(&end).contains("حمایت درمانی دارد"), "{end}");
    // The last step resent: the same reply, the same tracking code.
    let (_, again) = hop(&server, "continue", "b1", STRANGER, 2, &holder_id);
    assert_eq!(again, end, "a resent step gets the same reply");
    // A resent middle step of another session gets its reply again, not the next screen.
    hop(&server, "initiate", "b2", STRANGER, 0, "0");
    let (_, q1) = hop(&server, "continue", "b2", STRANGER, 1, "2");
    let (_, q2) = hop(&server, "continue", "b2", STRANGER, 1, "2");
    assert_eq!(q1, q2);
    let (_, done) = hop(&server, "continue", "b2", STRANGER, 2, &holder_id);
    assert!(screen(&done).contains("حمایت درمانی دارد"), "{done}");
}

#[test]
fn a_terminate_with_a_question_open_leaves_the_resume_offer() {
    let (server, _) = server();
    hop(&server, "initiate", "r1", PHONE, 0, "0");
    let (_, question) = hop(&server, "continue", "r1", PHONE, 1, "1");
    assert_eq!(question["command"], "continue", "{question}");
    let (status, ack) = hop(&server, "terminate", "r1", PHONE, 2, "0");
    assert_eq!(status, 200);
    assert_eq!(ack["command"], "terminate", "{ack}");
    let (_, offer) = hop(&server, "initiate", "r2", PHONE, 0, "0");
    assert!(
        screen(&offer).contains("ادامه"),
        "the offer on the next session: {offer}"
    );
    let (_, back) = hop(&server, "continue", "r2", PHONE, 1, "1");
    assert_eq!(
        screen(&back),
        screen(&question),
        "1 continues at the question"
    );
    // Start again: dropped again with the question open, then declined.
    hop(&server, "terminate", "r2", PHONE, 2, "0");
    let (_, offer) = hop(&server, "initiate", "r3", PHONE, 0, "0");
    assert!(screen(&offer).contains("ادامه"), "{offer}");
    let (_, home) = hop(&server, "continue", "r3", PHONE, 1, "2");
    assert!(
        screen(&home).contains("۱.") && !screen(&home).contains("ادامه"),
        "2 starts again at the first screen: {home}"
    );
}

#[test]
fn malformed_requests_are_refused_with_a_4xx() {
    let (server, _) = server();
    let huge = format!(
        r#"{{"command":"continue","msisdn":"{PHONE}","session_id":"x","payload":{{"request_id":1,"response":"{}"}}}}"#,
        "1".repeat(4000)
    );
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("application/json", vec![]),
        ("application/json", b"{".to_vec()),
        ("application/json", b"\xff\xfe\xfd".to_vec()),
        ("application/json", b"[]".to_vec()),
        ("application/json", br#"{"command":"initiate"}"#.to_vec()),
        (
            "application/json",
            br#"{"command":"continue","msisdn":[1],"session_id":"x"}"#.to_vec(),
        ),
        (
            "application/json",
            br#"{"command":"dance","msisdn":"255762089337","session_id":"x"}"#.to_vec(),
        ),
        ("text/plain", br#"{"command":"initiate"}"#.to_vec()),
        ("application/json", huge.into_bytes()),
    ];
    dialects::all_refused(&server, "/ussd/beem", cases);
    assert!((400..500).contains(&server.get("/ussd/beem").0));
}

/// `tests/fixtures/dialects/beem.toml`: real-shaped requests and the replies they must get.
#[test]
fn the_fixture_replays_as_recorded() {
    common::dialects::replay_fixture("beem");
}
