//! The operators' surface (issue 11, item 9) over real servers: with `[admin] listen`,
//! `/metrics` and the admin API leave the aggregators' port for their own, and USSD is not
//! served there; without a token the admin API is off on every port; an empty token is refused
//! at start; a token that is not exactly the configured one, in any shape, gets nothing.

mod common;

use common::people::*;
use common::TestServer;

const TOKEN: &str = "an-operators-token";

fn feed() -> Vec<String> {
    let until = today_tehran()
        .checked_add(jiff::ToSpan::years(1))
        .expect("a date");
    vec![upsert(
        1,
        holder(&ir_code("005123457"), &["989121110001"], until),
    )]
}

fn loopback_port() -> std::net::SocketAddr {
    "127.0.0.1:0".parse().expect("an address")
}

/// `GET url` with `authorization` (when given): status and body.
fn get(url: &str, authorization: Option<&str>) -> (u16, String) {
    common::bin::get_authorized(&common::bin::agent(), url, authorization)
}

#[test]
fn metrics_and_the_admin_api_move_to_their_own_port() {
    let server = TestServer::start_with(&feed(), |c| {
        c.admin.token = Some(TOKEN.into());
        c.admin.listen = Some(loopback_port());
    });
    let admin = server.admin_base().expect("an admin port");
    assert_ne!(admin, server.base);
    let bearer = format!("Bearer {TOKEN}");

    // The aggregators' port: USSD and health, no operators' routes even with the token.
    assert!(server.at("m1", "*4*1420#", "989121110001", "").is_con());
    assert_eq!(server.get("/healthz").0, 200);
    for path in ["/metrics", "/admin/feed", "/admin/sessions"] {
        let url = format!("{}{path}", server.base);
        assert_eq!(get(&url, Some(&bearer)).0, 404, "{path} on the public port");
    }

    // The operators' port: metrics, the admin API with its token, health; no USSD.
    let (status, metrics) = get(&format!("{admin}/metrics"), None);
    assert_eq!(status, 200);
    assert!(metrics.contains("feed_rejected"), "{metrics}");
    assert_eq!(get(&format!("{admin}/admin/feed"), None).0, 401);
    let (status, feed) = get(&format!("{admin}/admin/feed"), Some(&bearer));
    assert_eq!(status, 200, "{feed}");
    assert!(feed.contains("\"watermark\": 1"), "{feed}");
    assert_eq!(get(&format!("{admin}/readyz"), None).0, 200);
    let ussd = format!("{admin}/ussd/africastalking");
    assert_eq!(get(&ussd, None).0, 404);
}

#[test]
fn without_a_token_the_admin_api_is_off_on_every_port() {
    let server = TestServer::start_with(&feed(), |c| {
        c.admin.listen = Some(loopback_port());
    });
    let admin = server.admin_base().expect("an admin port");
    for authorization in [None, Some("Bearer "), Some("Bearer"), Some("Bearer x")] {
        let (status, body) = get(&format!("{admin}/admin/feed"), authorization);
        assert_eq!(status, 404, "{authorization:?}");
        assert!(body.contains("the admin API is off"), "{body}");
    }
    assert_eq!(get(&format!("{admin}/metrics"), None).0, 200);
}

#[test]
fn an_empty_admin_token_is_refused_at_start() {
    for token in ["", "   "] {
        let error = TestServer::refused_with(&feed(), |c| c.admin.token = Some(token.into()));
        assert!(error.contains("admin.token"), "{error}");
    }
}

/// Every way around the token that a probe tries: other schemes, case, spacing, a prefix or
/// an extension of the token, and paths that reach `/admin/` in another spelling. (Trailing
/// whitespace is not among them: HTTP strips it from every header value.)
#[test]
fn no_shape_of_a_wrong_token_or_path_gets_in() {
    let server = TestServer::start_with(&feed(), |c| c.admin.token = Some(TOKEN.into()));
    let feed_url = format!("{}/admin/feed", server.base);
    let wrong = [
        format!("bearer {TOKEN}"),
        format!("Bearer  {TOKEN}"),
        format!("Bearer {}", &TOKEN[..TOKEN.len() - 1]),
        format!("Bearer {TOKEN}x"),
        format!("Basic {TOKEN}"),
        TOKEN.to_string(),
        "Bearer ".to_string(),
    ];
    for authorization in &wrong {
        let (status, _) = get(&feed_url, Some(authorization));
        assert_eq!(status, 401, "{authorization:?}");
    }
    let bearer = format!("Bearer {TOKEN}");
    for path in [
        "//admin/feed",
        "/admin/../admin/feed",
        "/ADMIN/feed",
        "/admin%2ffeed",
    ] {
        let (status, body) = get(&format!("{}{path}", server.base), None);
        assert_ne!(status, 200, "{path}: {body}");
    }
    assert_eq!(get(&feed_url, Some(&bearer)).0, 200);
}

/// The real binary says at start what the operators' routes are open to: with the operators'
/// port beyond loopback and a token, that the token is all that guards the admin API; without
/// a token, that the admin API is off (and it is).
#[test]
fn serving_the_admin_api_beyond_loopback_is_said_at_start() {
    use common::bin::{arg, free_port, Served};
    for (token, said) in [
        (Some(TOKEN), "its bearer token is all that guards it"),
        (None, "the admin API is off"),
    ] {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let config = dir.path().join("daftar.toml");
        let text = format!("[admin]\nlisten = \"0.0.0.0:{port}\"\n");
        std::fs::write(&config, text).expect("config written");
        let db = dir.path().join("db");
        let args = ["--config", arg(&config), "--db", arg(&db)];
        let env: Vec<(&str, &str)> = token
            .map(|t| ("DAFTAR_ADMIN_TOKEN", t))
            .into_iter()
            .collect();
        let mut served = Served::start(dir.path(), &args, &env);
        let feed = format!("http://127.0.0.1:{port}/admin/feed");
        let bearer = format!("Bearer {TOKEN}");
        let (status, _) = get(&feed, Some(&bearer));
        assert_eq!(status, if token.is_some() { 200 } else { 404 });
        served.terminate(std::time::Duration::from_secs(10));
        let log = served.log();
        assert!(log.contains(said), "{said}:\n{log}");
    }
}

/// A mistyped `seq` in the feed the server follows is counted where operators look: the
/// `feed_rejected` metric and `/admin/feed`, with its line; the watermark stays with the good
/// lines after it.
#[test]
fn a_seq_that_jumps_is_counted_in_the_metrics_and_the_feed_status() {
    let until = today_tehran()
        .checked_add(jiff::ToSpan::years(1))
        .expect("a date");
    let lines = [
        feed()[0].clone(),
        delete(9_999_999_999, "tamin", &ir_code("005123457")),
        upsert(2, holder(&ir_code("001234567"), &[], until)),
    ];
    let server = TestServer::start_with(&lines, |c| {
        c.admin.token = Some(TOKEN.into());
        c.feed.max_seq_gap = 1_000;
    });
    let bearer = format!("Bearer {TOKEN}");
    let (status, feed) = get(&format!("{}/admin/feed", server.base), Some(&bearer));
    assert_eq!(status, 200);
    assert!(feed.contains("\"watermark\": 2"), "{feed}");
    assert!(feed.contains("\"rejected\": 1"), "{feed}");
    assert!(
        feed.contains(":2 (seq 9999999999)") && feed.contains("max_seq_gap"),
        "{feed}"
    );
    let metrics = server.get("/metrics").1;
    let rejected = metrics
        .lines()
        .find(|l| l.starts_with("daftar_feed_rejected_total "))
        .unwrap_or_default();
    assert!(rejected.ends_with(" 1"), "{metrics}");
}
