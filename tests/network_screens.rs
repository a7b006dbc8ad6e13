//! A smaller screen for one network of a dialect (issue 9 item 6) over a real server:
//! `[dialects.arkesel.networks.MTN] screen = { gsm7 = 140 }` pages the English list of a
//! holder's dependents within 140 characters for callers on MTN, while the same list on another
//! network is paged at the default 182; a network screen too small for the menus stops the
//! server at start, and so does a network screen on a dialect whose requests carry no network.

mod common;

use common::people::*;
use common::TestServer;
use daftar::config::{Config, DialectConfig};
use daftar::text::gsm7::fits;
use jiff::ToSpan;
use serde_json::{json, Value};

const MTN_PHONE: &str = "233507387216";
const OTHER_PHONE: &str = "233507387217";

/// A holder reachable at both phones, with six dependents: a list that takes pages.
fn feed() -> Vec<String> {
    let today = today_tehran();
    let until = today.checked_add(2.years()).expect("a date");
    let holder_code = ir_code("005123457");
    let mut people = vec![holder(&holder_code, &[MTN_PHONE, OTHER_PHONE], until)];
    for (i, relation) in ["son", "son", "daughter", "daughter", "spouse", "son"]
        .into_iter()
        .enumerate()
    {
        let code = ir_code(&format!("00700000{}", i + 1));
        let born = years_ago(today, 10 + i as i64);
        people.push(dependent(&code, &holder_code, relation, born, json!({})));
    }
    people
        .into_iter()
        .enumerate()
        .map(|(i, p)| upsert(i as u64 + 1, p))
        .collect()
}

/// `[dialects.arkesel.networks.<code>] screen = <screen>`.
fn network_screen(config: &mut Config, dialect: &str, code: &str, screen: &str) {
    let section: DialectConfig =
        toml::from_str(&format!("[networks.{code}]\nscreen = {screen}\n")).expect("a section");
    config.dialects.insert(dialect.into(), section);
}

/// One Arkesel hop from `network`: whether the session goes on, and the screen.
fn hop(
    server: &TestServer,
    session: &str,
    phone: &str,
    network: &str,
    new: bool,
    data: &str,
) -> (bool, String) {
    let body = json!({
        "sessionID": session, "userID": "CNAMAPP", "newSession": new, "msisdn": phone,
        "userData": data, "network": network
    });
    let (status, text) = server.post(
        "/ussd/arkesel",
        "application/json",
        body.to_string().as_bytes(),
    );
    assert_eq!(status, 200, "{text}");
    let reply: Value = serde_json::from_str(&text).expect("JSON");
    let more = reply["continueSession"].as_bool().expect("continueSession");
    (
        more,
        reply["message"].as_str().expect("message").to_string(),
    )
}

/// Every page of the English dependents list, as a caller on `network` reads it.
fn dependents_pages(server: &TestServer, session: &str, phone: &str, network: &str) -> Vec<String> {
    hop(server, session, phone, network, true, "*4*1420#");
    let (_, english) = hop(server, session, phone, network, false, "9");
    assert!(english.contains("3."), "{english}");
    let (mut more, first) = hop(server, session, phone, network, false, "3");
    let mut pages = vec![first];
    while more && pages.len() < 20 {
        let (goes_on, page) = hop(server, session, phone, network, false, "98");
        more = goes_on;
        pages.push(page);
    }
    assert!(!more, "the list ends: {pages:?}");
    pages
}

#[test]
fn a_network_with_a_smaller_screen_is_paged_within_it_and_no_other_is() {
    let server = TestServer::start_with(&feed(), |c| {
        network_screen(c, "arkesel", "MTN", "{ gsm7 = 140 }");
    });
    let small = toml::from_str("gsm7 = 140").expect("a budget");
    // Network codes are matched ignoring case.
    let narrow = dependents_pages(&server, "n1", MTN_PHONE, "mtn");
    let wide = dependents_pages(&server, "w1", OTHER_PHONE, "VODAFONE");
    for page in &narrow {
        assert!(fits(page, small), "over 140 on MTN: {page:?}");
    }
    assert!(
        wide.iter().any(|page| !fits(page, small)),
        "another network keeps the wider screen: {wide:?}"
    );
    assert!(
        narrow.len() > wide.len(),
        "{} pages, not more than {}",
        narrow.len(),
        wide.len()
    );
    assert_eq!(
        narrow.concat().matches(": ").count(),
        wide.concat().matches(": ").count()
    );
}

#[test]
fn a_network_screen_too_small_for_the_menus_stops_the_server() {
    let error = TestServer::refused_with(&feed(), |c| {
        network_screen(c, "arkesel", "MTN", "{ gsm7 = 120 }");
    });
    assert!(error.contains("fault"), "{error}");
    let error = TestServer::refused_with(&feed(), |c| {
        network_screen(c, "nalo", "MTN", "{ ucs2 = 20 }");
    });
    assert!(
        error.contains("dialects.nalo.networks.MTN.screen.ucs2"),
        "{error}"
    );
    let error = TestServer::refused_with(&feed(), |c| {
        network_screen(c, "safaricom", "63902", "{ gsm7 = 160 }");
    });
    assert!(
        error.contains("dialects.safaricom.networks is set"),
        "{error}"
    );
}
