//! Comviva "Flares" HTTP-pull (DIALECTS.md §7a) over a real server: a whole `tamin` session,
//! a caller dropped with a question open (seen by idle expiry: the format has no abort) and
//! offered to resume, a repeated first request, a dialled shortcut, and malformed requests.

mod common;

use common::dialects::{self, between, covered, unescape, Hop};
use common::people::*;
use common::TestServer;
use jiff::ToSpan;

const T: &str = "*4*1420#";
const PHONE: &str = "989121110001";
const OTHER: &str = "989121110002";
const PATH: &str = "/ussd/comviva";

/// One hop: `new` is `newRequest`; `input` is `subscriberInput`. The reply's `freeflowState`
/// is `FC` (goes on) or `FB` (ends); its screen is `applicationResponse`.
fn hop(server: &TestServer, session: &str, phone: &str, new: bool, input: &str) -> Hop {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<request type=\"pull\">\n  <sessionId>{session}</sessionId>\n  \
         <transactionId>tx-{session}</transactionId>\n  <msisdn>{phone}</msisdn>\n  <newRequest>{}</newRequest>\n  \
         <flowState>{}</flowState>\n  <subscriberInput>{input}</subscriberInput>\n</request>\n",
        if new { 1 } else { 0 },
        if new { "FD" } else { "FE" },
    );
    let (status, body) = server.post(PATH, "text/xml; charset=UTF8", body.as_bytes());
    let state = between(&body, "freeflowState").unwrap_or("");
    assert!(state == "FC" || state == "FB", "{status} {body}");
    let text = unescape(between(&body, "applicationResponse").unwrap_or(""));
    Hop::new(server, status, state == "FC", text, body.clone())
}

/// Hop `n` of a session: the first one is the new request.
fn step(server: &TestServer) -> impl Fn(&str, &str, u32, &str) -> Hop + '_ {
    move |session, phone, n, input| hop(server, session, phone, n == 1, input)
}

/// The holder reachable at `PHONE`, and a second covered person at `OTHER`.
fn world() -> (String, Vec<String>) {
    let until = today_tehran().checked_add(2.years()).unwrap();
    let (holder_id, mut lines) = covered(&[PHONE]);
    lines.push(upsert(2, holder(&ir_code("006234561"), &[OTHER], until)));
    (holder_id, lines)
}

#[test]
fn comviva_a_whole_tamin_session_ends_with_the_coverage() {
    let (holder_id, lines) = world();
    let server = TestServer::start(&lines);
    let first = dialects::whole_session(&step(&server), "cv1", PHONE, &holder_id);
    assert!(
        first.text.contains("۱.") && first.text.contains("۹."),
        "{first:?}"
    );
    assert!(first.body.starts_with("<response><msisdn>989121110001</msisdn><sessionId>cv1</sessionId><transactionId>tx-cv1</transactionId>"), "{}", first.body);
}

#[test]
fn comviva_a_repeated_first_request_gets_the_same_reply() {
    let (_, lines) = world();
    let server = TestServer::start(&lines);
    let first = hop(&server, "cv2", PHONE, true, T);
    let question = hop(&server, "cv2", PHONE, false, "2");
    // The gateway resends the session's first request: the reply already given, no reset.
    let again = hop(&server, "cv2", PHONE, true, T);
    assert_eq!(again.body, question.body, "{first:?}");
    let again = hop(&server, "cv2", PHONE, true, T);
    assert_eq!(again.body, question.body);
}

#[test]
fn comviva_a_dropped_session_is_offered_back_to_the_same_phone() {
    let (holder_id, lines) = world();
    let server = dialects::idle_expiring(&lines);
    let step = step(&server);
    let question = dialects::open_question(&step, "cv3", PHONE);
    assert!(question.goes_on, "{question:?}");
    // Flares sends no abort: the caller who hung up is seen by idle expiry.
    std::thread::sleep(std::time::Duration::from_millis(1_600));
    dialects::resume_accepted(&step, "cv4", PHONE, &question, &holder_id);

    // Declining starts again at the first screen.
    dialects::open_question(&step, "cv5", OTHER);
    std::thread::sleep(std::time::Duration::from_millis(1_600));
    dialects::resume_declined(&step, "cv6", OTHER);
}

#[test]
fn comviva_a_dialled_shortcut_pre_answers_the_menus() {
    let (holder_id, lines) = world();
    let server = TestServer::start(&lines);
    dialects::dialled_shortcut(&step(&server), "cv7", PHONE, &holder_id);
}

#[test]
fn comviva_malformed_requests_get_a_4xx() {
    let (_, lines) = world();
    let server = TestServer::start(&lines);
    let xml = "text/xml";
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (xml, b"".to_vec()),
        (xml, b"\xff\xfe<\x00".to_vec()),
        ("application/json", b"{\"sessionId\":\"1\"}".to_vec()),
        (xml, b"<request><sessionId>1</request>".to_vec()),
        (
            xml,
            b"<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><request><sessionId>&x;</sessionId></request>".to_vec(),
        ),
        (xml, b"<request><sessionId>1</sessionId></request>".to_vec()),
        (
            xml,
            format!(
                "<request><sessionId>{}</sessionId><msisdn>{PHONE}</msisdn><newRequest>1</newRequest></request>",
                "7".repeat(5_000)
            )
            .into_bytes(),
        ),
    ];
    dialects::all_refused(&server, PATH, cases);
    let (status, _) = server.get(PATH);
    assert!((400..500).contains(&status), "GET: {status}");
    assert_eq!(
        server.post("/ussd/comviva/other", xml, b"<request/>").0,
        404
    );
}

/// `tests/fixtures/dialects/comviva.toml`: real-shaped requests and the replies they must get.
#[test]
fn the_fixture_replays_as_recorded() {
    common::dialects::replay_fixture("comviva");
}
