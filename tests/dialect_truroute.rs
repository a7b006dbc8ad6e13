//! TruRoute-USSD XML (DIALECTS.md §7c) over a real server: a whole `tamin` session, a cancel
//! and a timeout with a question open followed by a new session that is offered to resume, a
//! repeated first request, a dialled shortcut, and malformed requests.

mod common;

use common::people::*;
use common::TestServer;
use jiff::ToSpan;

const T: &str = "*4*1420#";
const PHONE: &str = "989121110001";
const OTHER: &str = "989121110002";
const PATH: &str = "/ussd/truroute";

/// A TruRoute reply as the test reads it: its `type` and the screen.
#[derive(Debug)]
struct Answer {
    status: u16,
    kind: String,
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

/// One request of `kind` (`1` new, `2` input, `3` cancel, `4` timeout).
fn hop(server: &TestServer, session: &str, phone: &str, kind: u32, msg: &str) -> Answer {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ussd>\n  <msisdn>{phone}</msisdn>\n  \
         <sessionid>{session}</sessionid>\n  <type>{kind}</type>\n  <msg>{msg}</msg>\n</ussd>\n"
    );
    let (status, body) = server.post(PATH, "text/xml", body.as_bytes());
    Answer {
        status,
        kind: between(&body, "type").unwrap_or("").to_string(),
        text: unescape(between(&body, "msg").unwrap_or("")),
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
fn truroute_a_whole_tamin_session_ends_with_the_coverage() {
    let (holder_id, lines) = world();
    let server = TestServer::start(&lines);
    let first = hop(&server, "tr1", PHONE, 1, T);
    assert_eq!((first.status, first.kind.as_str()), (200, "2"), "{first:?}");
    assert!(
        first.text.contains("۱.") && first.text.contains("۹."),
        "{first:?}"
    );
    assert!(
        first
            .body
            .ends_with("<premium><cost>0</cost><ref></ref></premium></ussd>"),
        "{}",
        first.body
    );
    let question = hop(&server, "tr1", PHONE, 2, "2");
    assert_eq!(question.kind, "2", "{question:?}");
    let end = hop(&server, "tr1", PHONE, 2, &holder_id);
    assert_eq!((end.status, end.kind.as_str()), (200, "3"), "{end:?}");
    assert!(end.text.contains("حمایت درمانی"), "{}", end.text);
}

#[test]
fn truroute_a_cancel_or_timeout_with_a_question_open_is_offered_back() {
    let (holder_id, lines) = world();
    let server = TestServer::start(&lines);
    hop(&server, "tr2", PHONE, 1, T);
    let question = hop(&server, "tr2", PHONE, 2, "2");
    assert_eq!(question.kind, "2");
    // The caller cancels: acknowledged with a release, nothing shown.
    let cancel = hop(&server, "tr2", PHONE, 3, "");
    assert_eq!(
        (cancel.status, cancel.kind.as_str()),
        (200, "3"),
        "{cancel:?}"
    );
    assert_eq!(cancel.text, "");
    // Redialled at once: offered to continue or start again.
    let offer = hop(&server, "tr3", PHONE, 1, T);
    assert_eq!(offer.kind, "2", "{offer:?}");
    assert!(offer.text.contains("ادامه"), "{}", offer.text);
    let back = hop(&server, "tr3", PHONE, 2, "1");
    assert_eq!(
        back.text, question.text,
        "continue goes back to the question"
    );
    let end = hop(&server, "tr3", PHONE, 2, &holder_id);
    assert!(
        end.kind == "3" && end.text.contains("حمایت درمانی"),
        "{end:?}"
    );
    // A result was reached: no offer any more.
    let fresh = hop(&server, "tr4", PHONE, 1, T);
    assert!(!fresh.text.contains("ادامه"), "{}", fresh.text);

    // A timeout leaves the offer too; declining starts again at the first screen.
    hop(&server, "tr5", OTHER, 1, T);
    hop(&server, "tr5", OTHER, 2, "2");
    let timeout = hop(&server, "tr5", OTHER, 4, "");
    assert_eq!((timeout.status, timeout.kind.as_str()), (200, "3"));
    assert!(hop(&server, "tr6", OTHER, 1, T).text.contains("ادامه"));
    let home = hop(&server, "tr6", OTHER, 2, "2");
    assert!(
        home.text.contains("۹.") && !home.text.contains("ادامه"),
        "{}",
        home.text
    );
    // A cancel for a session the server does not hold is acknowledged all the same.
    assert_eq!(hop(&server, "unknown", OTHER, 3, "").kind, "3");
}

#[test]
fn truroute_a_repeated_first_request_gets_the_same_reply() {
    let (_, lines) = world();
    let server = TestServer::start(&lines);
    hop(&server, "tr7", PHONE, 1, T);
    let question = hop(&server, "tr7", PHONE, 2, "2");
    let again = hop(&server, "tr7", PHONE, 1, T);
    assert_eq!(again.body, question.body);
}

#[test]
fn truroute_a_dialled_shortcut_pre_answers_the_menus() {
    let (holder_id, lines) = world();
    let server = TestServer::start(&lines);
    let end = hop(&server, "tr8", PHONE, 1, &format!("*4*1420*2*{holder_id}#"));
    assert_eq!((end.status, end.kind.as_str()), (200, "3"), "{end:?}");
    assert!(end.text.contains("حمایت درمانی"), "{}", end.text);
}

#[test]
fn truroute_malformed_requests_get_a_4xx() {
    let (_, lines) = world();
    let server = TestServer::start(&lines);
    let xml = "text/xml";
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (xml, b"".to_vec()),
        (xml, b"\xff\xfe<\x00".to_vec()),
        ("application/json", b"{\"type\":1}".to_vec()),
        (xml, b"<ussd><type>1</ussd>".to_vec()),
        (
            xml,
            b"<!DOCTYPE ussd [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><ussd><msg>&x;</msg></ussd>"
                .to_vec(),
        ),
        (xml, b"<ussd><sessionid>1</sessionid><type>2</type></ussd>".to_vec()),
        (
            xml,
            format!(
                "<ussd><msisdn>{PHONE}</msisdn><sessionid>s</sessionid><type>9</type><msg>1</msg></ussd>"
            )
            .into_bytes(),
        ),
        (
            xml,
            format!(
                "<ussd><msisdn>{PHONE}</msisdn><sessionid>s</sessionid><type>2</type><msg>{}</msg></ussd>",
                "1".repeat(5_000)
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
}
