//! Safaricom direct (DIALECTS.md §7b) over the real server: `GET /ussd/safaricom` with `ORIG`,
//! `DEST`, `SESSION_ID` and the cumulative `USSD_PARAMS`; `CON `/`END ` replies; a repeated
//! request (Safaricom sends its start twice) getting the same reply; a dialled shortcut
//! carried as the first hop's `USSD_PARAMS`; the resume offer after idle expiry with a question
//! open (Safaricom sends no abort); malformed requests answered 4xx.

mod common;

use common::dialects::{assert_fits, covered};
use common::TestServer;

const PHONE: &str = "254711000111";
const STRANGER: &str = "254711000999";
const DEST: &str = "4*1420";

fn world() -> (Vec<String>, String) {
    let (holder_id, lines) = covered(&[PHONE]);
    (lines, holder_id)
}

/// One Safaricom hop: status, `CON`/`END`, screen (checked against its budget).
fn hop(server: &TestServer, session: &str, msisdn: &str, params: &str) -> (u16, String, String) {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("ORIG", msisdn)
        .append_pair("DEST", DEST)
        .append_pair("SESSION_ID", session)
        .append_pair("USSD_PARAMS", params)
        .finish();
    let (status, body) = server.get(&format!("/ussd/safaricom?{query}"));
    let (kind, text) = body.split_at_checked(4).unwrap_or(("", ""));
    assert_fits(server, text);
    (status, kind.trim().to_string(), text.to_string())
}

#[test]
fn a_whole_tamin_session_and_a_repeated_request() {
    let (lines, holder_id) = world();
    let server = TestServer::start(&lines);
    let first = hop(&server, "s1", STRANGER, "");
    assert_eq!((first.0, first.1.as_str()), (200, "CON"), "{first:?}");
    assert!(first.2.contains("۲."), "{first:?}");
    // Safaricom sends the start twice: the same reply.
    assert_eq!(hop(&server, "s1", STRANGER, ""), first);
    let question = hop(&server, "s1", STRANGER, "2");
    assert_eq!(question.1, "CON", "{question:?}");
    let path = format!("2*{holder_id}");
    let end = hop(&server, "s1", STRANGER, &path);
    assert_eq!(end.1, "END", "{end:?}");
    assert!(end.2.contains("حمایت درمانی دارد"), "{end:?}");
    // The final step retried: the same reply, the same tracking code.
    assert_eq!(hop(&server, "s1", STRANGER, &path), end);
}

#[test]
fn a_dialled_shortcut_pre_answers_the_menus() {
    let (lines, holder_id) = world();
    let server = TestServer::start(&lines);
    // `*4*1420*2*<code>#`: DEST is the short code, USSD_PARAMS the extension.
    let end = hop(&server, "d1", STRANGER, &format!("2*{holder_id}"));
    assert_eq!(end.1, "END", "{end:?}");
    assert!(end.2.contains("حمایت درمانی دارد"), "{end:?}");
}

#[test]
fn an_idle_expiry_with_a_question_open_leaves_the_resume_offer() {
    let (lines, _) = world();
    let server = TestServer::start_with(&lines, |config| config.sessions.idle_s = 1);
    hop(&server, "r1", PHONE, "");
    let question = hop(&server, "r1", PHONE, "1");
    assert_eq!(question.1, "CON", "{question:?}");
    std::thread::sleep(std::time::Duration::from_millis(2_500));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let offer = loop {
        let offer = hop(&server, "r2", PHONE, "");
        if offer.2.contains("ادامه") || std::time::Instant::now() > deadline {
            break offer;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert!(
        offer.2.contains("ادامه"),
        "the offer after expiry: {offer:?}"
    );
    // For a cumulative dialect the answer to the offer is the first element of the path.
    let back = hop(&server, "r2", PHONE, "1");
    assert_eq!(back.2, question.2, "1 continues at the question");
}

#[test]
fn malformed_requests_are_refused_with_a_4xx() {
    let (lines, _) = world();
    let server = TestServer::start(&lines);
    let huge = format!(
        "/ussd/safaricom?ORIG={PHONE}&DEST=167&SESSION_ID=x&USSD_PARAMS={}",
        "1*".repeat(2000)
    );
    for path in [
        "/ussd/safaricom".to_string(),
        "/ussd/safaricom?ORIG=254711000111".to_string(),
        "/ussd/safaricom?ORIG=abc&DEST=167&SESSION_ID=x".to_string(),
        "/ussd/safaricom?ORIG=254711000111&DEST=167&SESSION_ID=x&USSD_PARAMS=%FF".to_string(),
        "/ussd/safaricom/other?ORIG=254711000111&DEST=167&SESSION_ID=x".to_string(),
        huge,
    ] {
        let (status, body) = server.get(&path);
        assert!((400..500).contains(&status), "{status} {body:?} for {path}");
    }
    let (status, body) = server.get("/ussd/safaricom?DEST=167&SESSION_ID=x");
    assert_eq!(
        (status, body.as_str()),
        (400, r#"{"missing_parameter":["ORIG"]}"#)
    );
    let (status, _) = server.post("/ussd/safaricom", "text/plain", b"ORIG=1");
    assert!((400..500).contains(&status), "{status}");
}

/// `tests/fixtures/dialects/safaricom.toml`: real-shaped requests and the replies they must get.
#[test]
fn the_fixture_replays_as_recorded() {
    common::dialects::replay_fixture("safaricom");
}
