//! A dialect declared in configuration (SPEC §4, issue 9) over real servers. The README's
//! Arkesel declaration (`tests/fixtures/declared/arkesel-like.toml`) answers exactly as the
//! built-in `/ussd/arkesel` — status, content type and body, byte for byte, tracking codes and
//! all, on twin servers over copies of one store — on the same requests: a whole `tamin`
//! session, an `osms` session read to its last page, a dialled shortcut, a repeated start, a
//! lost session and malformed bodies. The README's plain-text example (`textline.toml`) walks
//! sessions with an abort, a timeout and the resume offer, serves its default service, keeps
//! its gate, and refuses garbage with a 4xx. A cumulative dialect read from the query string
//! walks a session by its whole path, with a retry. A broken declaration stops the server.

mod common;

use common::dialects::{self, Hop};
use common::people::*;
use common::{Answer, TestServer};
use daftar::config::Config;
use jiff::ToSpan;
use serde_json::{json, Value};

const ARKESEL_LIKE: &str = include_str!("fixtures/declared/arkesel-like.toml");
const TEXTLINE: &str = include_str!("fixtures/declared/textline.toml");

const PHONE: &str = "233507387216";
const OTHER: &str = "233507387217";
const KZ_PHONE: &str = "77019990101";

/// Adds the dialects `text` declares to `config`.
fn declare(config: &mut Config, text: &str) {
    let declared: Config = toml::from_str(text).expect("the example reads");
    config.dialects.extend(declared.dialects);
}

/// A covered `tamin` holder and an insured `osms` person with fourteen months of
/// contributions (a result long enough to page): the holder's code, the person's IIN, the feed.
fn feed() -> (String, String, Vec<String>) {
    let (code, mut lines) = dialects::world();
    let iin = kz_iin("90051530012").expect("an IIN");
    let mut months = serde_json::Map::new();
    let mut month = today_almaty().first_of_month();
    for i in 0..14 {
        month = month.checked_sub(1.month()).expect("a month");
        let key = format!("{:04}-{:02}", month.year(), month.month());
        months.insert(key, json!(i != 2));
    }
    lines.push(upsert(
        2,
        json!({"insurer": "osms", "person_id": iin, "birth_date": "1990-05-15", "sex": "m",
        "msisdns": [KZ_PHONE], "coverage": {"status": "active", "from": "2020-01-01"},
        "contributions": months, "attachment": {"provider": "Emhana 5", "since": "2023-09-01"}}),
    ));
    (code, iin, lines)
}

fn arkesel_body(session: &str, phone: &str, new: bool, data: &str) -> Vec<u8> {
    json!({
        "sessionID": session, "userID": "CNAMAPP", "newSession": new, "msisdn": phone,
        "userData": data, "network": "MTN"
    })
    .to_string()
    .into_bytes()
}

/// The built-in Arkesel on one twin, the declared one on the other.
struct Pair {
    built_in: TestServer,
    declared: TestServer,
}

impl Pair {
    fn start(lines: &[String]) -> Pair {
        let (built_in, declared) = TestServer::twins(lines, |c| declare(c, ARKESEL_LIKE));
        Pair { built_in, declared }
    }

    /// The same request to both: their answers must be the same bytes.
    fn both(&self, content_type: &str, body: &[u8]) -> Answer {
        let want = self
            .built_in
            .exchange("POST", "/ussd/arkesel", content_type, body);
        let got = self
            .declared
            .exchange("POST", "/ussd/arkesel-like", content_type, body);
        assert_eq!(got, want, "for {:?}", String::from_utf8_lossy(body));
        want
    }

    /// One hop of an Arkesel session, on both: the reply as JSON.
    fn hop(&self, session: &str, phone: &str, new: bool, data: &str) -> Value {
        let answer = self.both("application/json", &arkesel_body(session, phone, new, data));
        assert_eq!(
            (answer.status, answer.content_type.as_str()),
            (200, "application/json")
        );
        serde_json::from_str(&answer.body).expect("a JSON reply")
    }
}

#[test]
fn the_declared_arkesel_answers_byte_for_byte_as_the_built_in_one() {
    let (code, iin, lines) = feed();
    let pair = Pair::start(&lines);

    // A whole tamin session: the first screen, the question, the coverage.
    let first = pair.hop("t1", PHONE, true, "*4*1420#");
    assert_eq!(first["continueSession"], true, "{first}");
    assert_eq!(first["userID"], "CNAMAPP");
    assert!(pair.hop("t1", PHONE, false, "2")["continueSession"] == true);
    let end = pair.hop("t1", PHONE, false, &code);
    assert_eq!(end["continueSession"], false, "{end}");
    assert!(
        end["message"]
            .as_str()
            .is_some_and(|m| m.contains("حمایت درمانی")),
        "{end}"
    );

    // An osms session read page by page to its end (its tracking code the same on both).
    let mut reply = pair.hop("o1", KZ_PHONE, true, "*1406#");
    let mut pages = 0;
    for input in ["1", iin.as_str()]
        .into_iter()
        .chain(std::iter::repeat("98"))
    {
        if reply["continueSession"] == false || pages > 8 {
            break;
        }
        reply = pair.hop("o1", KZ_PHONE, false, input);
        pages += 1;
    }
    assert_eq!(
        reply["continueSession"], false,
        "the osms session ends: {reply}"
    );
    assert!(pages >= 3, "the result took pages: {pages}");

    // A dialled shortcut, a start sent twice, a session this server never held.
    let shortcut = pair.hop("d1", OTHER, true, &format!("*4*1420*2*{code}#"));
    assert_eq!(shortcut["continueSession"], false, "{shortcut}");
    let again = pair.hop("r1", OTHER, true, "*4*1420#");
    assert_eq!(pair.hop("r1", OTHER, true, "*4*1420#"), again);
    assert_eq!(
        pair.hop("lost", OTHER, false, "1")["continueSession"],
        false
    );
}

#[test]
fn the_declared_arkesel_refuses_malformed_bodies_as_the_built_in_one() {
    let (_, _, lines) = feed();
    let pair = Pair::start(&lines);
    let mut cases = dialects::unreadable_arkesel_bodies();
    let user_id = br#"{"sessionID":"m","userID":[],"newSession":true,"msisdn":"233507387216"}"#;
    let input = br#"{"sessionID":"m","newSession":false,"msisdn":"233507387216"}"#;
    cases.extend([
        ("application/json", user_id.to_vec()),
        ("application/json", input.to_vec()),
    ]);
    for (content_type, body) in cases {
        let answer = pair.both(content_type, &body);
        assert_eq!(answer.status, 400, "{answer:?}");
    }
    // A wrong method and a path beyond the dialect's: the same refusal from both.
    let get = |server: &TestServer, path: &str| server.exchange("GET", path, "", b"");
    assert_eq!(
        get(&pair.declared, "/ussd/arkesel-like"),
        get(&pair.built_in, "/ussd/arkesel")
    );
    let deeper = |server: &TestServer, path: &str| {
        server.exchange(
            "POST",
            path,
            "application/json",
            &arkesel_body("p", PHONE, true, ""),
        )
    };
    let want = deeper(&pair.built_in, "/ussd/arkesel/x");
    assert_eq!(want.status, 404);
    assert_eq!(deeper(&pair.declared, "/ussd/arkesel-like/x"), want);
}

#[test]
fn the_readme_shows_the_examples_these_tests_run() {
    let readme = include_str!("../README.md");
    for example in [ARKESEL_LIKE, TEXTLINE] {
        assert!(readme.contains(example), "README lacks:\n{example}");
    }
}

/// Posts one `textline` form and reads its `CON `/`END ` reply.
fn textline(server: &TestServer, path: &str, fields: &[(&str, &str)]) -> Hop {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let answer = server.exchange(
        "POST",
        path,
        "application/x-www-form-urlencoded",
        body.as_bytes(),
    );
    assert_eq!(
        answer.content_type, "text/plain; charset=utf-8",
        "{answer:?}"
    );
    let (prefix, text) = answer.body.split_at_checked(4).unwrap_or(("", ""));
    assert!(matches!(prefix, "CON " | "END "), "{answer:?}");
    Hop::new(
        server,
        answer.status,
        prefix == "CON ",
        text.to_string(),
        answer.body.clone(),
    )
}

/// Hop `n` of a `textline` session: `BEGIN` with the dialled string, then `CONTINUE`.
fn text_hop(server: &TestServer) -> impl Fn(&str, &str, u32, &str) -> Hop + '_ {
    move |session, phone, n, data| {
        let (kind, code, input) = if n == 1 {
            ("BEGIN", data, "")
        } else {
            ("CONTINUE", "*4*1420#", data)
        };
        let fields = [
            ("SESSION_ID", session),
            ("MSISDN", phone),
            ("SERVICE_CODE", code),
            ("USSD_STRING", input),
            ("TYPE", kind),
            ("OPERATOR", "vodafone"),
        ];
        textline(server, "/ussd/textline", &fields)
    }
}

fn textline_server(lines: &[String]) -> TestServer {
    TestServer::start_with(lines, |c| declare(c, TEXTLINE))
}

#[test]
fn a_plain_text_dialect_walks_whole_sessions() {
    let (code, _, lines) = feed();
    let server = textline_server(&lines);
    let send = text_hop(&server);
    let first = dialects::whole_session(&send, "w1", PHONE, &code);
    assert!(first.body.starts_with("CON "), "{first:?}");
    dialects::repeated_start(&send, "w2", PHONE, &code);
    dialects::dialled_shortcut(&send, "w3", PHONE, &code);
    // No service code: the declared default service.
    let home = textline(
        &server,
        "/ussd/textline",
        &[("SESSION_ID", "w4"), ("MSISDN", PHONE), ("TYPE", "BEGIN")],
    );
    assert_eq!(home.text, first.text);
}

#[test]
fn an_abort_or_a_timeout_with_a_question_open_leaves_the_resume_offer() {
    let (code, _, lines) = feed();
    let server = textline_server(&lines);
    let send = text_hop(&server);
    for (phone, kind) in [(PHONE, "RELEASE"), (OTHER, "TIMEOUT")] {
        let session = format!("{kind}-1");
        let asked = dialects::open_question(&send, &session, phone);
        let ended = textline(
            &server,
            "/ussd/textline",
            &[("SESSION_ID", &session), ("MSISDN", phone), ("TYPE", kind)],
        );
        assert_eq!((ended.status, ended.goes_on), (200, false), "{ended:?}");
        if kind == "RELEASE" {
            dialects::resume_accepted(&send, &format!("{kind}-2"), phone, &asked, &code);
        } else {
            dialects::resume_declined(&send, &format!("{kind}-2"), phone);
        }
    }
    let (_, metrics) = server.get("/metrics");
    for kind in ["abort", "timeout"] {
        let line =
            format!("daftar_ussd_session_ends_total{{dialect=\"textline\",kind=\"{kind}\"}} 1");
        assert!(metrics.contains(&line), "{line} in {metrics}");
    }
}

#[test]
fn a_plain_text_dialect_refuses_garbage_with_a_4xx() {
    let (_, _, lines) = feed();
    let server = textline_server(&lines);
    let huge = format!(
        "SESSION_ID=g&MSISDN={PHONE}&TYPE=CONTINUE&USSD_STRING={}",
        "1".repeat(3000)
    );
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("application/x-www-form-urlencoded", Vec::new()),
        (
            "application/x-www-form-urlencoded",
            b"SESSION_ID=g&TYPE=BEGIN".to_vec(),
        ),
        (
            "application/x-www-form-urlencoded",
            b"SESSION_ID=g&MSISDN=abc&TYPE=BEGIN".to_vec(),
        ),
        (
            "application/x-www-form-urlencoded",
            format!("SESSION_ID=g&MSISDN={PHONE}&TYPE=CONTINUE").into_bytes(),
        ),
        (
            "application/x-www-form-urlencoded",
            b"SESSION_ID=\xff\xfe&MSISDN=1".to_vec(),
        ),
        (
            "application/json",
            format!(r#"{{"SESSION_ID":"g","MSISDN":"{PHONE}"}}"#).into_bytes(),
        ),
        ("application/x-www-form-urlencoded", huge.into_bytes()),
    ];
    dialects::all_refused(&server, "/ussd/textline", cases);
}

#[test]
fn a_declared_dialect_keeps_its_gate() {
    let (_, _, lines) = feed();
    let server = TestServer::start_with(&lines, |c| {
        declare(c, TEXTLINE);
        let section = c.dialects.get_mut("textline").expect("declared");
        section.secret = Some("s3cret".into());
        section.secret_in_path = true;
    });
    let start = [("SESSION_ID", "g1"), ("MSISDN", PHONE), ("TYPE", "BEGIN")];
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(start)
        .finish();
    let form = "application/x-www-form-urlencoded";
    for path in ["/ussd/textline", "/ussd/textline/wrong"] {
        let refused = server.exchange("POST", path, form, body.as_bytes());
        assert!(matches!(refused.status, 401 | 403), "{path}: {refused:?}");
    }
    let admitted = textline(&server, "/ussd/textline/s3cret", &start);
    assert!(admitted.goes_on, "{admitted:?}");
}

#[test]
fn a_broken_declaration_stops_the_server_naming_the_key() {
    let (_, _, lines) = feed();
    let broken = TEXTLINE.replace("msisdn = \"MSISDN\"\n", "");
    let error = TestServer::refused_with(&lines, |c| declare(c, &broken));
    assert!(
        error.contains("dialects.textline.request.msisdn is required"),
        "{error}"
    );
}

/// `tests/fixtures/dialects/declared.toml`: real-shaped requests and the replies they must get.
#[test]
fn the_fixture_replays_as_recorded() {
    common::dialects::replay_fixture("declared");
}

/// A cumulative dialect read from the query string, as Safaricom's and Africa's Talking's are.
const CUMULATIVE_GET: &str = include_str!("fixtures/declared/pathway.toml");

#[test]
fn a_cumulative_query_dialect_walks_a_session_by_its_whole_path() {
    let (code, _, lines) = feed();
    let server = TestServer::start_with(&lines, |c| declare(c, CUMULATIVE_GET));
    let paths = std::cell::RefCell::new(std::collections::HashMap::<String, String>::new());
    // Hop `n` sends the whole path so far: empty first, then each answer joined by `*`.
    let send = |session: &str, phone: &str, n: u32, input: &str| {
        let mut paths = paths.borrow_mut();
        let path = paths.entry(session.to_string()).or_default();
        let dialled = if n == 1 {
            path.clear();
            input.to_string()
        } else {
            if !path.is_empty() {
                path.push('*');
            }
            path.push_str(input);
            "*4*1420#".to_string()
        };
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("sid", session),
                ("from", phone),
                ("code", &dialled),
                ("path", path),
            ])
            .finish();
        let answer = server.exchange("GET", &format!("/ussd/pathway?{query}"), "", b"");
        let reply: Value = serde_json::from_str(&answer.body).expect("JSON");
        assert_eq!(
            (&reply["sid"], &reply["version"]),
            (&json!(session), &json!(1)),
            "{reply}"
        );
        let more = match reply["state"].as_str() {
            Some("more") => true,
            Some("done") => false,
            other => panic!("state {other:?}"),
        };
        let text = reply["say"].as_str().expect("say").to_string();
        Hop::new(&server, answer.status, more, text, answer.body)
    };
    dialects::whole_session(&send, "p1", PHONE, &code);
    dialects::dialled_shortcut(&send, "p2", PHONE, &code);
    // The same whole path again is a retry: the same reply, the action run once.
    let first = send("p3", OTHER, 1, "*4*1420#");
    let asked = send("p3", OTHER, 2, "2");
    paths.borrow_mut().insert("p3".into(), String::new());
    assert_eq!(send("p3", OTHER, 2, "2"), asked);
    assert_ne!(first.text, asked.text);
}
