//! TruRoute-USSD XML (DIALECTS.md §7c) over a real server: a whole `tamin` session, a cancel
//! and a timeout with a question open followed by a new session that is offered to resume, a
//! repeated first request, a dialled shortcut, and malformed requests.

mod common;

use common::dialects::{self, between, covered, unescape, Hop};
use common::people::*;
use common::TestServer;
use jiff::ToSpan;

const T: &str = "*4*1420#";
const PHONE: &str = "989121110001";
const OTHER: &str = "989121110002";
const PATH: &str = "/ussd/truroute";

/// One request of `kind` (`1` new, `2` input, `3` cancel, `4` timeout). The reply's `type` is
/// `2` (goes on) or `3` (release); its screen is `msg`.
fn hop(server: &TestServer, session: &str, phone: &str, kind: u32, msg: &str) -> Hop {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ussd>\n  <msisdn>{phone}</msisdn>\n  \
         <sessionid>{session}</sessionid>\n  <type>{kind}</type>\n  <msg>{msg}</msg>\n</ussd>\n"
    );
    let (status, body) = server.post(PATH, "text/xml", body.as_bytes());
    let kind = between(&body, "type").unwrap_or("");
    assert!(kind == "2" || kind == "3", "{status} {body}");
    let text = unescape(between(&body, "msg").unwrap_or(""));
    Hop::new(server, status, kind == "2", text, body.clone())
}

/// Hop `n` of a session: the first one is new (`1`), the others input (`2`).
fn step(server: &TestServer) -> impl Fn(&str, &str, u32, &str) -> Hop + '_ {
    move |session, phone, n, msg| hop(server, session, phone, if n == 1 { 1 } else { 2 }, msg)
}

/// The holder reachable at `PHONE`, and a second covered person at `OTHER`.
fn world() -> (String, Vec<String>) {
    let until = today_tehran().checked_add(2.years()).unwrap();
    let (holder_id, mut lines) = covered(&[PHONE]);
    lines.push(upsert(2, holder(&ir_code("006234561"), &[OTHER], until)));
    (holder_id, lines)
}

#[test]
fn truroute_a_whole_tamin_session_ends_with_the_coverage() {
    let (holder_id, lines) = world();
    let server = TestServer::start(&lines);
    let first = dialects::whole_session(&step(&server), "tr1", PHONE, &holder_id);
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
}

#[test]
fn truroute_a_cancel_or_timeout_with_a_question_open_is_offered_back() {
    let (holder_id, lines) = world();
    let server = TestServer::start(&lines);
    let step = step(&server);
    let question = dialects::open_question(&step, "tr2", PHONE);
    assert!(question.goes_on, "{question:?}");
    // The caller cancels: acknowledged with a release, nothing shown.
    let cancel = hop(&server, "tr2", PHONE, 3, "");
    assert_eq!((cancel.status, cancel.goes_on), (200, false), "{cancel:?}");
    assert_eq!(cancel.text, "");
    // Redialled at once: offered to continue or start again.
    dialects::resume_accepted(&step, "tr3", PHONE, &question, &holder_id);
    // A result was reached: no offer any more.
    let fresh = hop(&server, "tr4", PHONE, 1, T);
    assert!(!fresh.text.contains("ادامه"), "{}", fresh.text);

    // A timeout leaves the offer too; declining starts again at the first screen.
    dialects::open_question(&step, "tr5", OTHER);
    let timeout = hop(&server, "tr5", OTHER, 4, "");
    assert_eq!((timeout.status, timeout.goes_on), (200, false));
    dialects::resume_declined(&step, "tr6", OTHER);
    // A cancel for a session the server does not hold is acknowledged all the same.
    assert!(!hop(&server, "unknown", OTHER, 3, "").goes_on);
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
    dialects::dialled_shortcut(&step(&server), "tr8", PHONE, &holder_id);
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
    dialects::all_refused(&server, PATH, cases);
    let (status, _) = server.get(PATH);
    assert!((400..500).contains(&status), "GET: {status}");
}

/// `tests/fixtures/dialects/truroute.toml`: real-shaped requests and the replies they must get.
#[test]
fn the_fixture_replays_as_recorded() {
    common::dialects::replay_fixture("truroute");
}
