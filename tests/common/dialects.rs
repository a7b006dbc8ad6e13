//! What the dialect tests (`tests/dialect_*.rs`) share: a reply as a test reads it, with its
//! screen checked against the budget; the feed with one covered `tamin` holder; the malformed
//! request loop; and the session walks that are the same in every dialect, each driven by a
//! closure that sends one hop in the dialect's own format.

use std::time::Duration;

use daftar::text::gsm7::fits;
use jiff::ToSpan;
use serde_json::Value;

use super::people::*;
use super::TestServer;

/// A reply as a dialect test reads it: the HTTP status, whether the session goes on, the
/// screen, and the raw body (for a dialect's own checks of echoed fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    pub status: u16,
    pub goes_on: bool,
    pub text: String,
    pub body: String,
}

impl Hop {
    /// A reply whose screen is checked against the server's screen budget.
    pub fn new(server: &TestServer, status: u16, goes_on: bool, text: String, body: String) -> Hop {
        assert_fits(server, &text);
        Hop {
            status,
            goes_on,
            text,
            body,
        }
    }

    /// The screen with Persian and Arabic-Indic digits read as ASCII.
    pub fn latin(&self) -> String {
        super::latin_digits(&self.text)
    }
}

/// Asserts that `screen` fits the server's screen budget.
pub fn assert_fits(server: &TestServer, screen: &str) {
    assert!(
        fits(screen, server.config.screen),
        "screen over its budget: {screen:?}"
    );
}

/// A feed with one `tamin` holder covered for two more years, reachable at `phones`: the
/// holder's code and the feed lines.
pub fn covered(phones: &[&str]) -> (String, Vec<String>) {
    let until = today_tehran().checked_add(2.years()).unwrap();
    let holder_code = ir_code("005123457");
    let lines = vec![upsert(1, holder(&holder_code, phones, until))];
    (holder_code, lines)
}

/// [`covered`] with the holder's phone that is not one the tests dial from.
pub fn world() -> (String, Vec<String>) {
    covered(&["989121110001"])
}

/// A server that drops a session idle for a second (swept every 100 ms): how a caller who
/// hung up is seen in a dialect that sends no abort.
pub fn idle_expiring(lines: &[String]) -> TestServer {
    TestServer::start_with(lines, |c| {
        c.sessions.idle_s = 1;
        c.sessions.sweep_ms = 100;
    })
}

/// Posts a JSON `body` to `path`: a 200 with a JSON reply, returned with its text.
pub fn post_json(server: &TestServer, path: &str, body: &Value) -> (u16, String, Value) {
    let (status, text) = server.post(path, "application/json", body.to_string().as_bytes());
    assert_eq!(status, 200, "{text}");
    let reply: Value = serde_json::from_str(&text).expect("a JSON reply");
    (status, text, reply)
}

/// Every malformed request posted to `path` gets a 4xx, never a 5xx.
pub fn all_refused(server: &TestServer, path: &str, cases: Vec<(&str, Vec<u8>)>) {
    for (content_type, body) in cases {
        let (status, answer) = server.post(path, content_type, &body);
        assert!(
            (400..500).contains(&status),
            "{status} {answer:?} for {:?}",
            String::from_utf8_lossy(&body)
        );
    }
}

/// Arkesel bodies that cannot be read (DIALECTS.md §3): empty, not JSON, not an object, not
/// UTF-8, a form, a missing or mistyped field, a huge input. The built-in and the declared
/// Arkesel refuse them alike.
pub fn unreadable_arkesel_bodies() -> Vec<(&'static str, Vec<u8>)> {
    let huge = serde_json::json!({
        "sessionID": "m", "newSession": false, "msisdn": "233507387216",
        "userData": "1".repeat(5000),
    });
    let json = |body: &[u8]| ("application/json", body.to_vec());
    vec![
        json(b""),
        json(b"{"),
        json(b"\"text\""),
        json(b"\xff\xfe\xfd"),
        (
            "application/x-www-form-urlencoded",
            b"sessionID=m&newSession=true".to_vec(),
        ),
        json(br#"{"newSession":true,"msisdn":"233507387216"}"#),
        json(br#"{"sessionID":"m","msisdn":"233507387216"}"#),
        json(br#"{"sessionID":"m","newSession":"yes","msisdn":"233507387216"}"#),
        json(br#"{"sessionID":"m","newSession":true,"msisdn":["233507387216"]}"#),
        json(huge.to_string().as_bytes()),
    ]
}

/// Sends one hop of a session: `(session, phone, n, input)`, where `n` counts the session's
/// hops from 1 (hop 1 is the start) and `input` is the dialled string or the caller's answer.
pub type Send<'a> = &'a dyn Fn(&str, &str, u32, &str) -> Hop;

/// A whole `tamin` session: the first screen, the question, the coverage. The first hop is
/// returned for a dialect's own checks.
pub fn whole_session(send: Send, session: &str, phone: &str, code: &str) -> Hop {
    let first = send(session, phone, 1, "*4*1420#");
    assert_eq!((first.status, first.goes_on), (200, true), "{first:?}");
    assert!(
        first.text.contains("۲.") && first.text.contains("۹."),
        "{first:?}"
    );
    let question = send(session, phone, 2, "2");
    assert!(question.goes_on, "{question:?}");
    let end = send(session, phone, 3, code);
    assert_eq!((end.status, end.goes_on), (200, false), "{end:?}");
    assert!(end.text.contains("حمایت درمانی"), "{end:?}");
    first
}

/// Opens the question of `tamin` in `session` (the caller is then dropped by the dialect).
pub fn open_question(send: Send, session: &str, phone: &str) -> Hop {
    send(session, phone, 1, "*4*1420#");
    send(session, phone, 2, "2")
}

/// A new session after a drop with the question open (`asked`): the offer to continue, `1`
/// back at that question, and the coverage.
pub fn resume_accepted(send: Send, session: &str, phone: &str, asked: &Hop, code: &str) {
    let offer = send(session, phone, 1, "*4*1420#");
    assert!(offer.goes_on && offer.text.contains("ادامه"), "{offer:?}");
    assert!(
        offer.latin().contains("1.") && offer.latin().contains("2."),
        "{offer:?}"
    );
    let question = send(session, phone, 2, "1");
    assert!(question.goes_on, "{question:?}");
    assert_eq!(question.text, asked.text, "1 continues at the question");
    let end = send(session, phone, 3, code);
    assert!(!end.goes_on && end.text.contains("حمایت درمانی"), "{end:?}");
}

/// A new session after a drop with the question open: the offer, and `2` declines it for the
/// first screen.
pub fn resume_declined(send: Send, session: &str, phone: &str) {
    let offer = send(session, phone, 1, "*4*1420#");
    assert!(offer.text.contains("ادامه"), "{offer:?}");
    let home = send(session, phone, 2, "2");
    assert!(
        home.text.contains("۹.") && !home.text.contains("ادامه"),
        "{home:?}"
    );
}

/// On an [`idle_expiring`] server, `phone` and `other` each drop a session with the question
/// open (`x1`, `x3`); after the expiry `phone` accepts the offer (`x2`), `other` declines it
/// (`x4`).
pub fn dropped_by_expiry(send: Send, phone: &str, other: &str, code: &str) {
    let asked = open_question(send, "x1", phone);
    open_question(send, "x3", other);
    std::thread::sleep(Duration::from_millis(1_600));
    resume_accepted(send, "x2", phone, &asked, code);
    resume_declined(send, "x4", other);
}

/// A start sent twice gets the same reply; a start resent after the session moved on gets the
/// reply already given, not a new session.
pub fn repeated_start(send: Send, session: &str, phone: &str, code: &str) {
    let first = send(session, phone, 1, "*4*1420#");
    let again = send(session, phone, 1, "*4*1420#");
    assert_eq!((again.goes_on, &again.text), (first.goes_on, &first.text));
    let question = send(session, phone, 2, "2");
    assert!(question.goes_on);
    let resent = send(session, phone, 1, "*4*1420#");
    assert_eq!(resent.text, question.text);
    let end = send(session, phone, 3, code);
    assert!(end.text.contains("حمایت درمانی"), "{end:?}");
}

/// `*4*1420*2*<code>#` dialled at once: the coverage on the first screen. The hop is returned.
pub fn dialled_shortcut(send: Send, session: &str, phone: &str, code: &str) -> Hop {
    let end = send(session, phone, 1, &format!("*4*1420*2*{code}#"));
    assert_eq!(end.status, 200, "{end:?}");
    assert!(!end.goes_on, "{end:?}");
    assert!(end.text.contains("حمایت درمانی"), "{end:?}");
    end
}

/// The text of the first `<tag>…</tag>` in an XML `body`.
pub fn between<'a>(body: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let from = body.find(&open)? + open.len();
    let to = body[from..].find(&close)? + from;
    Some(&body[from..to])
}

/// XML text with its entities read.
pub fn unescape(text: &str) -> String {
    text.replace("&#10;", "\n")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// One dialect's fixture (`tests/fixtures/dialects/<dialect>.toml`): real-shaped requests in
/// order and the replies they must get, each citing the DIALECTS.md section it follows.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// The section of DIALECTS.md the whole fixture follows (`DIALECTS.md §3`).
    pub follows: String,
    /// Configuration the dialect needs, as TOML (`[dialects.beem] default_service = …`).
    #[serde(default)]
    pub configure: String,
    /// A file under `tests/fixtures/` holding more of it (a declared dialect).
    #[serde(default)]
    pub configure_file: Option<String>,
    pub exchange: Vec<Exchange>,
}

/// A request and the reply it must get. In `reply`, `{screen}` stands for the screen's text
/// (which the menus and today's date decide); everything else must match byte for byte.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exchange {
    /// The part of the section this exchange follows.
    pub cites: String,
    #[serde(default = "post")]
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub content_type: String,
    #[serde(default)]
    pub request: String,
    pub status: u16,
    pub reply_type: String,
    pub reply: String,
    /// Words the screen must hold.
    #[serde(default)]
    pub screen_has: Vec<String>,
}

fn post() -> String {
    "POST".into()
}

/// The fixture of `dialect`, read and checked for its citations.
pub fn fixture(dialect: &str) -> Fixture {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/fixtures/dialects/{dialect}.toml"));
    let text = std::fs::read_to_string(&path).expect("the fixture reads");
    let fixture: Fixture = toml::from_str(&text).expect("the fixture parses");
    assert!(
        fixture.follows.starts_with("DIALECTS.md §"),
        "{dialect}: {}",
        fixture.follows
    );
    for exchange in &fixture.exchange {
        assert!(
            exchange.cites.contains('§'),
            "{dialect}: {}",
            exchange.cites
        );
    }
    fixture
}

/// Replays the fixture of `dialect` against a real server over [`world`], configured as the
/// fixture says: every reply as the fixture expects it.
pub fn replay_fixture(dialect: &str) {
    let fixture = fixture(dialect);
    let (_, lines) = world();
    let server = TestServer::start_with(&lines, |config| {
        let mut text = fixture.configure.clone();
        if let Some(file) = &fixture.configure_file {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures")
                .join(file);
            text.push_str(&std::fs::read_to_string(path).expect("the configuration reads"));
        }
        let extra: daftar::config::Config =
            toml::from_str(&text).expect("the configuration parses");
        config.dialects.extend(extra.dialects);
    });
    for exchange in &fixture.exchange {
        let answer = server.exchange(
            &exchange.method,
            &exchange.path,
            &exchange.content_type,
            exchange.request.as_bytes(),
        );
        let seen = (answer.status, answer.content_type.as_str());
        assert_eq!(
            seen,
            (exchange.status, exchange.reply_type.as_str()),
            "{}: {answer:?}",
            exchange.cites
        );
        let screen = screen_in(&exchange.reply, &answer.body).unwrap_or_else(|| {
            panic!(
                "{}: {:?} is not {:?}",
                exchange.cites, answer.body, exchange.reply
            )
        });
        for word in &exchange.screen_has {
            assert!(
                screen.contains(word.as_str()),
                "{}: {word:?} not in {screen:?}",
                exchange.cites
            );
        }
    }
}

/// The screen in `body` where `pattern` has `{screen}` (non-empty), or `""` when the pattern
/// has none and is the body; `None` when the body is not of the pattern.
fn screen_in<'a>(pattern: &str, body: &'a str) -> Option<&'a str> {
    match pattern.split_once("{screen}") {
        None => (pattern == body).then_some(""),
        Some((before, after)) => body
            .strip_prefix(before)?
            .strip_suffix(after)
            .filter(|screen| !screen.is_empty()),
    }
}
