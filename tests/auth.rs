//! Aggregator authentication per dialect (SPEC §4): a source allowlist, a secret in a header or
//! in the path, basic auth, each configured under `[dialects.<name>]`, checked before the body
//! is read; with nothing configured a dialect stays open. Africa's Talking is the dialect here.

mod common;

use common::people::*;
use common::TestServer;
use daftar::config::{Config, DialectConfig};

const FORM: &str = "application/x-www-form-urlencoded";
const PHONE: &str = "989121110001";

fn feed() -> Vec<String> {
    let today = today_tehran();
    let until = today.checked_add(jiff::ToSpan::years(1)).unwrap();
    vec![upsert(1, holder(&ir_code("005123457"), &[PHONE], until))]
}

/// A server whose Africa's Talking section is `section`.
fn server(section: DialectConfig) -> TestServer {
    TestServer::start_with(&feed(), |config: &mut Config| {
        config.dialects.insert("africastalking".into(), section);
    })
}

/// The first hop of an Africa's Talking session.
fn first_hop(session: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("sessionId", session)
        .append_pair("serviceCode", "*4*1420#")
        .append_pair("phoneNumber", &format!("+{PHONE}"))
        .append_pair("networkCode", "43211")
        .append_pair("text", "")
        .finish()
}

/// Africa's Talking's end notification for `session`.
fn end_notice(session: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("sessionId", session)
        .append_pair("serviceCode", "*4*1420#")
        .append_pair("networkCode", "43211")
        .append_pair("phoneNumber", &format!("+{PHONE}"))
        .append_pair("status", "Success")
        .append_pair("input", "")
        .append_pair("hopsCount", "1")
        .append_pair("durationInMillis", "1200")
        .finish()
}

/// What a POST got back: the status, the body and the `WWW-Authenticate` header.
struct Answer {
    status: u16,
    body: String,
    challenge: Option<String>,
}

/// A form POST to `path` with extra `headers`.
fn post(server: &TestServer, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    let agent = common::bin::agent();
    let mut request = agent
        .post(&format!("{}{path}", server.base))
        .header("Content-Type", FORM);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut response = request.send(body.as_bytes()).expect("an answer");
    Answer {
        status: response.status().as_u16(),
        challenge: response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        body: response.body_mut().read_to_string().unwrap_or_default(),
    }
}

fn is_con(answer: &Answer) -> bool {
    answer.status == 200 && answer.body.starts_with("CON ")
}

#[test]
fn an_allowlist_with_loopback_lets_in_and_one_without_keeps_out() {
    let listed = server(DialectConfig {
        allow: Some(vec!["10.0.0.0/8".into(), "127.0.0.1".into(), "::1".into()]),
        ..DialectConfig::default()
    });
    let answer = post(&listed, "/ussd/africastalking", &[], &first_hop("a1"));
    assert!(is_con(&answer), "{} {}", answer.status, answer.body);
    let end = post(&listed, "/ussd/africastalking/end", &[], &end_notice("a1"));
    assert_eq!(end.status, 200, "{}", end.body);

    let unlisted = server(DialectConfig {
        allow: Some(vec!["196.201.214.0/24".into(), "2001:db8::/32".into()]),
        ..DialectConfig::default()
    });
    let answer = post(&unlisted, "/ussd/africastalking", &[], &first_hop("a2"));
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert!(!answer.body.contains(PHONE));
    let end = post(
        &unlisted,
        "/ussd/africastalking/end",
        &[],
        &end_notice("a2"),
    );
    assert_eq!(end.status, 403);
    let (_, metrics) = unlisted.get("/metrics");
    assert!(
        metrics.contains(
            "daftar_ussd_requests_total{dialect=\"africastalking\",outcome=\"refused\"} 2"
        ),
        "{metrics}"
    );
    // Another dialect, with nothing configured, stays open.
    let (status, _) = unlisted.post("/ussd/beem", "application/json", b"{}");
    assert_ne!(status, 403);
}

#[test]
fn a_header_secret_must_be_right() {
    let server = server(DialectConfig {
        secret: Some("h3ader-secret".into()),
        secret_header: Some("X-Daftar-Secret".into()),
        ..DialectConfig::default()
    });
    let right = [("X-Daftar-Secret", "h3ader-secret")];
    let answer = post(&server, "/ussd/africastalking", &right, &first_hop("h1"));
    assert!(is_con(&answer), "{} {}", answer.status, answer.body);
    let end = post(
        &server,
        "/ussd/africastalking/end",
        &right,
        &end_notice("h1"),
    );
    assert_eq!(end.status, 200, "{}", end.body);
    let wrong = [("X-Daftar-Secret", "h3ader-secreT")];
    let answer = post(&server, "/ussd/africastalking", &wrong, &first_hop("h2"));
    assert_eq!(answer.status, 401);
    let answer = post(&server, "/ussd/africastalking", &[], &first_hop("h3"));
    assert_eq!(answer.status, 401);
    assert_eq!(answer.challenge, None);
    let end = post(&server, "/ussd/africastalking/end", &[], &end_notice("h1"));
    assert_eq!(end.status, 401);
}

#[test]
fn a_path_secret_must_be_right_and_the_end_url_follows_it() {
    let server = server(DialectConfig {
        secret: Some("p4th-secret".into()),
        secret_in_path: true,
        ..DialectConfig::default()
    });
    let answer = post(
        &server,
        "/ussd/africastalking/p4th-secret",
        &[],
        &first_hop("p1"),
    );
    assert!(is_con(&answer), "{} {}", answer.status, answer.body);
    let end = post(
        &server,
        "/ussd/africastalking/p4th-secret/end",
        &[],
        &end_notice("p1"),
    );
    assert_eq!(end.status, 200, "{}", end.body);
    for path in [
        "/ussd/africastalking/p4th-secreT",
        "/ussd/africastalking",
        "/ussd/africastalking/end",
        "/ussd/africastalking/wrong/end",
    ] {
        let answer = post(&server, path, &[], &first_hop("p2"));
        assert!(
            matches!(answer.status, 401 | 404),
            "{path}: {}",
            answer.status
        );
    }
    // Past the secret, the dialect still refuses a path it does not serve.
    let answer = post(
        &server,
        "/ussd/africastalking/p4th-secret/extra",
        &[],
        &first_hop("p3"),
    );
    assert_eq!(answer.status, 404);
}

#[test]
fn basic_auth_must_be_right_and_a_refusal_challenges() {
    let server = server(DialectConfig {
        basic_auth: Some("aggregator:open sesame".into()),
        ..DialectConfig::default()
    });
    // base64("aggregator:open sesame")
    let right = [("Authorization", "Basic YWdncmVnYXRvcjpvcGVuIHNlc2FtZQ==")];
    let answer = post(&server, "/ussd/africastalking", &right, &first_hop("b1"));
    assert!(is_con(&answer), "{} {}", answer.status, answer.body);
    let end = post(
        &server,
        "/ussd/africastalking/end",
        &right,
        &end_notice("b1"),
    );
    assert_eq!(end.status, 200, "{}", end.body);
    // base64("aggregator:open sesamE")
    let wrong = [("Authorization", "Basic YWdncmVnYXRvcjpvcGVuIHNlc2FtRQ==")];
    for headers in [&wrong[..], &[]] {
        let answer = post(&server, "/ussd/africastalking", headers, &first_hop("b2"));
        assert_eq!(answer.status, 401);
        let challenge = answer.challenge.expect("a WWW-Authenticate header");
        assert!(challenge.starts_with("Basic"), "{challenge}");
    }
}

#[test]
fn a_bad_allow_entry_is_refused_at_start_naming_the_key() {
    let error = TestServer::refused_with(&feed(), |config| {
        config.dialects.insert(
            "africastalking".into(),
            DialectConfig {
                allow: Some(vec!["10.0.0.0/33".into()]),
                ..DialectConfig::default()
            },
        );
    });
    assert!(error.contains("dialects.africastalking.allow"), "{error}");
    assert!(error.contains("10.0.0.0/33"), "{error}");
}

#[test]
fn the_keys_read_from_a_file() {
    let text = r#"
[dialects.africastalking]
allow = ["196.201.214.0/24", "10.0.0.7", "2001:db8::/32"]
secret = "s"
secret_header = "X-Daftar-Secret"
basic_auth = "user:password"

[dialects.nalo]
secret = "t"
secret_in_path = true
"#;
    let config: Config = toml::from_str(text).expect("valid keys");
    let at = &config.dialects["africastalking"];
    assert_eq!(at.allow.as_ref().map(Vec::len), Some(3));
    assert!(config.dialects["nalo"].secret_in_path);
    assert!(toml::from_str::<Config>("[dialects.nalo]\nsecret_in_paht = true\n").is_err());
}
