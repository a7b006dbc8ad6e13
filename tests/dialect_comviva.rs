//! Comviva "Flares" HTTP-pull (DIALECTS.md §7a) over a real server: a whole `tamin` session,
//! a caller dropped with a question open (seen by idle expiry: the format has no abort) and
//! offered to resume, a repeated first request, a dialled shortcut, and malformed requests.

mod common;

use common::people::*;
use common::TestServer;
use jiff::ToSpan;

const T: &str = "*4*1420#";
const PHONE: &str = "989121110001";
const OTHER: &str = "989121110002";
const PATH: &str = "/ussd/comviva";

/// A Flares reply as the test reads it: the freeflow state and the screen.
#[derive(Debug)]
struct Flares {
    status: u16,
    state: String,
    text: String,
    body: String,
}

fn between<'a>(body: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let from = body.find(&open)? + open.len();
    let to = body[from..].find(&close)? + from;
    Some(&body[from..to])
}

fn unescape(text: &str) -> String {
    text.replace("&#10;", "\n")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// One hop: `new` is `newRequest`; `input` is `subscriberInput`.
fn hop(server: &TestServer, session: &str, phone: &str, new: bool, input: &str) -> Flares {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<request type=\"pull\">\n  <sessionId>{session}</sessionId>\n  \
         <transactionId>tx-{session}</transactionId>\n  <msisdn>{phone}</msisdn>\n  <newRequest>{}</newRequest>\n  \
         <flowState>{}</flowState>\n  <subscriberInput>{input}</subscriberInput>\n</request>\n",
        if new { 1 } else { 0 },
        if new { "FD" } else { "FE" },
    );
    let (status, body) = server.post(PATH, "text/xml; charset=UTF8", body.as_bytes());
    Flares {
        status,
        state: between(&body, "freeflowState").unwrap_or("").to_string(),
        text: unescape(between(&body, "applicationResponse").unwrap_or("")),
        body,
    }
}

fn world() -> (String, Vec<String>) {
    let until = today_tehran().checked_add(2.years()).unwrap();
    let holder_id = ir_code("005123457");
    let lines = vec![
        upsert(1, holder(&holder_id, &[PHONE], until)),
        upsert(2, holder(&ir_code("006234561"), &[OTHER], until)),
    ];
    (holder_id, lines)
}

#[test]
fn comviva_a_whole_tamin_session_ends_with_the_coverage() {
    let (holder_id, lines) = world();
    let server = TestServer::start(&lines);
    let first = hop(&server, "cv1", PHONE, true, T);
    assert_eq!(
        (first.status, first.state.as_str()),
        (200, "FC"),
        "{first:?}"
    );
    assert!(
        first.text.contains("۱.") && first.text.contains("۹."),
        "{first:?}"
    );
    assert!(first.body.starts_with("<response><msisdn>989121110001</msisdn><sessionId>cv1</sessionId><transactionId>tx-cv1</transactionId>"), "{}", first.body);
    let question = hop(&server, "cv1", PHONE, false, "2");
    assert_eq!(question.state, "FC", "{question:?}");
    let end = hop(&server, "cv1", PHONE, false, &holder_id);
    assert_eq!((end.status, end.state.as_str()), (200, "FB"), "{end:?}");
    assert!(end.text.contains("حمایت درمانی"), "{}", end.text);
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
    let server = TestServer::start_with(&lines, |c| {
        c.sessions.idle_s = 1;
        c.sessions.sweep_ms = 100;
    });
    hop(&server, "cv3", PHONE, true, T);
    let question = hop(&server, "cv3", PHONE, false, "2");
    assert_eq!(question.state, "FC");
    // Flares sends no abort: the caller who hung up is seen by idle expiry.
    std::thread::sleep(std::time::Duration::from_millis(1_600));
    let offer = hop(&server, "cv4", PHONE, true, T);
    assert_eq!(offer.state, "FC", "{offer:?}");
    assert!(offer.text.contains("ادامه"), "{}", offer.text);
    let back = hop(&server, "cv4", PHONE, false, "1");
    assert_eq!(
        back.text, question.text,
        "continue goes back to the question"
    );
    let end = hop(&server, "cv4", PHONE, false, &holder_id);
    assert!(
        end.state == "FB" && end.text.contains("حمایت درمانی"),
        "{end:?}"
    );

    // Declining starts again at the first screen.
    hop(&server, "cv5", OTHER, true, T);
    hop(&server, "cv5", OTHER, false, "2");
    std::thread::sleep(std::time::Duration::from_millis(1_600));
    assert!(hop(&server, "cv6", OTHER, true, T).text.contains("ادامه"));
    let home = hop(&server, "cv6", OTHER, false, "2");
    assert!(
        home.text.contains("۹.") && !home.text.contains("ادامه"),
        "{}",
        home.text
    );
}

#[test]
fn comviva_a_dialled_shortcut_pre_answers_the_menus() {
    let (holder_id, lines) = world();
    let server = TestServer::start(&lines);
    let end = hop(
        &server,
        "cv7",
        PHONE,
        true,
        &format!("*4*1420*2*{holder_id}#"),
    );
    assert_eq!((end.status, end.state.as_str()), (200, "FB"), "{end:?}");
    assert!(end.text.contains("حمایت درمانی"), "{}", end.text);
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
    for (ct, body) in cases {
        let (status, _) = server.post(PATH, ct, &body);
        assert!(
            (400..500).contains(&status),
            "{status} for {:?}",
            String::from_utf8_lossy(&body)
        );
    }
    let (status, _) = server.get(PATH);
    assert!((400..500).contains(&status), "GET: {status}");
    assert_eq!(
        server.post("/ussd/comviva/other", xml, b"<request/>").0,
        404
    );
}
