//! Infobip's legacy per-session API (DIALECTS.md §6) over the real server:
//! `POST /ussd/infobip/session/<id>/start` and `…/response` with JSON `msisdn` and `text`,
//! `PUT …/end`; `{"ussdMenu","shouldClose",…}` replies; a repeated start getting the same
//! reply; an end with a question open and the resume offer; a dialled shortcut in the start's
//! `text`; `GET …/status` saying whether a session is open; malformed requests answered 4xx in
//! Infobip's error form.

mod common;

use std::time::Duration;

use common::dialects::{assert_fits, covered};
use common::TestServer;
use serde_json::{json, Value};

const PHONE: &str = "385955363443";
const STRANGER: &str = "385955369999";
const CODE: &str = "*4*1420#";

fn world() -> (TestServer, String) {
    let (holder_id, lines) = covered(&[PHONE]);
    let server = TestServer::start(&lines);
    (server, holder_id)
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

fn parsed(status: u16, text: &str, server: &TestServer) -> (u16, Value) {
    let value: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    if let Some(screen) = value["ussdMenu"].as_str() {
        assert_fits(server, screen);
    }
    (status, value)
}

fn start(server: &TestServer, session: &str, msisdn: &str, text: &str) -> (u16, Value) {
    let body = json!({"msisdn": msisdn, "imsi": "429011234567890", "text": text,
        "shortCode": CODE, "language": null, "optional": "", "ussdGwId": "live2"});
    let (status, text) = server.post(
        &format!("/ussd/infobip/session/{session}/start"),
        "application/json",
        body.to_string().as_bytes(),
    );
    parsed(status, &text, server)
}

fn respond(server: &TestServer, session: &str, msisdn: &str, text: &str) -> (u16, Value) {
    let body = json!({"msisdn": msisdn, "text": text});
    let (status, text) = server.post(
        &format!("/ussd/infobip/session/{session}/response"),
        "application/json",
        body.to_string().as_bytes(),
    );
    parsed(status, &text, server)
}

fn end(server: &TestServer, session: &str, reason: &str) -> (u16, Value) {
    let url = format!("{}/ussd/infobip/session/{session}/end", server.base);
    let body = json!({"reason": reason, "exitCode": 0}).to_string();
    let mut response = agent()
        .put(&url)
        .header("Content-Type", "application/json")
        .send(body.as_bytes())
        .expect("an answer");
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    parsed(status, &text, server)
}

fn menu(value: &Value) -> &str {
    value["ussdMenu"].as_str().unwrap_or("")
}

#[test]
fn a_whole_tamin_session_and_a_repeated_start() {
    let (server, holder_id) = world();
    let (status, first) = start(&server, "i1", STRANGER, CODE);
    assert_eq!(status, 200);
    assert_eq!(first["shouldClose"], false, "{first}");
    assert_eq!(first["responseExitCode"], 200);
    assert!(menu(&first).contains("۲."), "{first}");
    assert_eq!(
        start(&server, "i1", STRANGER, CODE),
        (200, first),
        "a repeated start"
    );
    let (_, question) = respond(&server, "i1", STRANGER, "2");
    assert_eq!(question["shouldClose"], false, "{question}");
    let (_, last) = respond(&server, "i1", STRANGER, &holder_id);
    assert_eq!(last["shouldClose"], true, "{last}");
    assert!(menu(&last).contains("حمایت درمانی دارد"), "{last}");
    let (status, ack) = end(&server, "i1", "ok");
    assert_eq!(
        (status, ack),
        (200, json!({"responseExitCode": 200, "responseMessage": ""}))
    );
}

#[test]
fn a_dialled_shortcut_pre_answers_the_menus() {
    let (server, holder_id) = world();
    let (_, last) = start(&server, "d1", STRANGER, &format!("*4*1420*2*{holder_id}#"));
    assert_eq!(last["shouldClose"], true, "{last}");
    assert!(menu(&last).contains("حمایت درمانی دارد"), "{last}");
}

#[test]
fn an_end_with_a_question_open_leaves_the_resume_offer() {
    let (server, _) = world();
    start(&server, "r1", PHONE, CODE);
    let (_, question) = respond(&server, "r1", PHONE, "1");
    assert_eq!(question["shouldClose"], false, "{question}");
    assert_eq!(end(&server, "r1", "Session timeout").0, 200);
    let (_, offer) = start(&server, "r2", PHONE, CODE);
    assert!(menu(&offer).contains("ادامه"), "the offer: {offer}");
    let (_, back) = respond(&server, "r2", PHONE, "1");
    assert_eq!(menu(&back), menu(&question), "1 continues at the question");
    assert_eq!(end(&server, "r2", "user abort").0, 200);
    let (_, offer) = start(&server, "r3", PHONE, CODE);
    assert!(menu(&offer).contains("ادامه"), "{offer}");
    let (_, home) = respond(&server, "r3", PHONE, "2");
    assert!(
        menu(&home).contains("۱.") && !menu(&home).contains("ادامه"),
        "2 starts again: {home}"
    );
    // An end for a session the server does not hold is acknowledged all the same.
    assert_eq!(end(&server, "unknown", "ok").0, 200);
}

#[test]
fn malformed_requests_are_refused_with_a_4xx() {
    let (server, _) = world();
    let huge = format!(r#"{{"msisdn":"{PHONE}","text":"{}"}}"#, "1".repeat(4000));
    let cases: Vec<(&str, &str, Vec<u8>)> = vec![
        ("/ussd/infobip/session/x/start", "application/json", vec![]),
        (
            "/ussd/infobip/session/x/start",
            "application/json",
            b"{".to_vec(),
        ),
        (
            "/ussd/infobip/session/x/start",
            "application/json",
            b"\xff\xfe".to_vec(),
        ),
        (
            "/ussd/infobip/session/x/start",
            "application/json",
            br#"{"text":"1"}"#.to_vec(),
        ),
        (
            "/ussd/infobip/session/x/response",
            "application/json",
            br#"{"msisdn":"385955363443","text":[1]}"#.to_vec(),
        ),
        (
            "/ussd/infobip/session/x/start",
            "text/plain",
            br#"{"msisdn":"385955363443","text":"1"}"#.to_vec(),
        ),
        (
            "/ussd/infobip/session/x/response",
            "application/json",
            huge.into_bytes(),
        ),
        (
            "/ussd/infobip",
            "application/json",
            br#"{"msisdn":"385955363443","text":"1"}"#.to_vec(),
        ),
        (
            "/ussd/infobip/session/x/other",
            "application/json",
            br#"{"msisdn":"385955363443","text":"1"}"#.to_vec(),
        ),
    ];
    for (path, ct, body) in cases {
        let (status, text) = server.post(path, ct, &body);
        assert!((400..500).contains(&status), "{status} {text:?} for {path}");
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        assert_eq!(
            value["responseExitCode"], status,
            "Infobip's error form: {text:?}"
        );
    }
    let (status, _) = server.get("/ussd/infobip/session/x/stat");
    assert_eq!(status, 404, "no such action");
    let (status, _) = server.get("/ussd/infobip/session/x/start");
    assert!((400..500).contains(&status));
}

/// `GET …/status` (DIALECTS.md §6): whether the gateway's session is still open here.
fn status(server: &TestServer, session: &str) -> common::Answer {
    server.exchange(
        "GET",
        &format!("/ussd/infobip/session/{session}/status"),
        "",
        b"",
    )
}

#[test]
fn the_status_url_says_whether_a_session_is_open_and_changes_nothing() {
    let (server, holder_id) = world();
    let active = |session: &str| {
        let answer = status(&server, session);
        assert_eq!(
            (answer.status, answer.content_type.as_str()),
            (200, "application/json"),
            "{answer:?}"
        );
        let value: Value = serde_json::from_str(&answer.body).expect("JSON");
        assert_eq!(value["responseExitCode"], 200, "{value}");
        assert_eq!(value["responseMessage"], "", "{value}");
        value["sessionActive"].as_bool().expect("sessionActive")
    };
    assert!(!active("never"), "a session never started is not active");
    start(&server, "st1", PHONE, CODE);
    assert!(active("st1"));
    // Asking twice moves nothing: the next answer is still the question's.
    assert!(active("st1"));
    let (_, question) = respond(&server, "st1", PHONE, "2");
    assert_eq!(question["shouldClose"], false, "{question}");
    let (_, result) = respond(&server, "st1", PHONE, &holder_id);
    assert_eq!(result["shouldClose"], true, "{result}");
    assert!(!active("st1"), "an ended session is not active");
    start(&server, "st2", PHONE, CODE);
    end(&server, "st2", "ok");
    assert!(!active("st2"), "a session the gateway ended is not active");
    let (_, metrics) = server.get("/metrics");
    assert!(
        metrics.contains("daftar_ussd_requests_total{dialect=\"infobip\",outcome=\"status\"} 5"),
        "{metrics}"
    );
    let wrong = server.exchange(
        "POST",
        "/ussd/infobip/session/st1/status",
        "application/json",
        b"{}",
    );
    assert_eq!(wrong.status, 400, "{wrong:?}");
}

/// `tests/fixtures/dialects/infobip.toml`: real-shaped requests and the replies they must get.
#[test]
fn the_fixture_replays_as_recorded() {
    common::dialects::replay_fixture("infobip");
}
