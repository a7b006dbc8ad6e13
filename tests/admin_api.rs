//! The admin API's support parts (issue 12, items 6 and 7) over a real server on a loopback
//! port, a real HTTP client and a real sled store: where callers give up (`GET /admin/funnel`
//! and `daftar_sessions_ended_total`), the open sessions by service, and a person's
//! entitlement for the support staff (`POST /admin/entitlement`), audited and looked up again
//! by its tracking code.

mod common;

use std::time::{Duration, Instant};

use common::people::*;
use common::TestServer;
use jiff::ToSpan;
use serde_json::{json, Value};

const TOKEN: &str = "a-support-token";
const BEARER: &str = "Bearer a-support-token";

fn bearer() -> [(&'static str, &'static str); 1] {
    [("Authorization", BEARER)]
}

/// `GET path` with the admin token: status and body.
fn admin_get(server: &TestServer, path: &str) -> (u16, String) {
    let url = format!("{}{path}", server.base);
    common::bin::get_authorized(&common::bin::agent(), &url, Some(BEARER))
}

fn admin_json(server: &TestServer, path: &str) -> Value {
    let (status, body) = admin_get(server, path);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).expect("JSON")
}

/// `POST /admin/entitlement` with `body` and the admin token: status and JSON answer.
fn lookup(server: &TestServer, body: &[u8]) -> (u16, Value) {
    let answer = server.post_with("/admin/entitlement", "application/json", &bearer(), body);
    let value =
        serde_json::from_str(&answer.body).unwrap_or_else(|_| Value::String(answer.body.clone()));
    (answer.status, value)
}

fn lookup_json(server: &TestServer, body: Value) -> (u16, Value) {
    lookup(server, body.to_string().as_bytes())
}

// --- where callers give up --------------------------------------------------------------

const CODE: &str = "*4*1420#";

fn funnel_people() -> (String, Vec<String>) {
    let until = today_tehran().checked_add(1.years()).expect("date");
    let holder_code = ir_code("005123457");
    let lines = vec![upsert(1, holder(&holder_code, &["989121110001"], until))];
    (holder_code, lines)
}

/// The funnel's row of `service`/`screen`.
fn row<'a>(funnel: &'a Value, screen: &str) -> &'a Value {
    funnel["screens"]
        .as_array()
        .expect("screens")
        .iter()
        .find(|r| r["service"] == "tamin" && r["screen"] == screen)
        .unwrap_or_else(|| panic!("no row for {screen} in {funnel:#}"))
}

#[test]
fn the_funnel_counts_each_way_a_session_ends_and_ranks_the_abandoned_screen_first() {
    let (holder_code, lines) = funnel_people();
    let server = TestServer::start_with(&lines, |c| {
        c.admin.token = Some(TOKEN.into());
        c.sessions.idle_s = 2;
        c.sessions.sweep_ms = 100;
    });
    let empty = admin_json(&server, "/admin/funnel");
    assert_eq!(empty["screens"], json!([]), "nothing ended yet");

    // A result: the holder's own entitlement, an END screen with an answer.
    assert!(server.at("r", CODE, "989121110001", "").is_con());
    assert!(server.at("r", CODE, "989121110001", "1").is_con());
    let answer = server.at("r", CODE, "989121110001", &format!("1*{holder_code}"));
    assert!(answer.is_end(), "{answer:?}");
    // A retried final step is the same end, not a second one.
    let again = server.at("r", CODE, "989121110001", &format!("1*{holder_code}"));
    assert_eq!(again, answer);

    // The caller hangs up on the general inquiry's question.
    assert!(server.at("a", CODE, "989121110002", "").is_con());
    assert!(server.at("a", CODE, "989121110002", "2").is_con());
    assert_eq!(
        server.at_end("a", CODE, "989121110002", "Incomplete").0,
        200
    );
    // A second end notice for the same session counts nothing more.
    server.at_end("a", CODE, "989121110002", "Incomplete");

    // The network gives up waiting on the national code question.
    assert!(server.at("t", CODE, "989121110003", "").is_con());
    assert!(server.at("t", CODE, "989121110003", "1").is_con());
    server.at_end("t", CODE, "989121110003", "Failed");

    // Three wrong answers to the national code question.
    assert!(server.at("w", CODE, "989121110004", "").is_con());
    assert!(server.at("w", CODE, "989121110004", "1").is_con());
    assert!(server.at("w", CODE, "989121110004", "1*12").is_con());
    assert!(server.at("w", CODE, "989121110004", "1*12*34").is_con());
    assert!(server.at("w", CODE, "989121110004", "1*12*34*56").is_end());

    // A caller who goes quiet on the national code question: the store drops it at idle_s.
    assert!(server.at("i", CODE, "989121110005", "").is_con());
    assert!(server.at("i", CODE, "989121110005", "1").is_con());
    let sessions = admin_json(&server, "/admin/sessions");
    assert_eq!(sessions["open_by_service"]["tamin"], 1, "{sessions:#}");

    // Waiting for the sweeper (a bound against a hang, not a measure of speed).
    let deadline = Instant::now() + Duration::from_secs(30);
    let funnel = loop {
        let funnel = admin_json(&server, "/admin/funnel");
        let idle = funnel["screens"]
            .as_array()
            .and_then(|rows| rows.iter().find(|r| r["screen"] == "own_code"))
            .map(|r| r["reasons"]["idle"].clone());
        if idle == Some(json!(1)) {
            break funnel;
        }
        assert!(
            Instant::now() < deadline,
            "no idle expiry counted: {funnel:#}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };

    let own_code = row(&funnel, "own_code");
    assert_eq!(own_code["ended"], 3, "{own_code:#}");
    assert_eq!(own_code["abandoned"], 2, "timeout and idle");
    assert_eq!(own_code["abandon_share"], 0.667);
    for (reason, count) in [
        ("timeout", 1),
        ("idle", 1),
        ("wrong_answers", 1),
        ("abort", 0),
    ] {
        assert_eq!(own_code["reasons"][reason], count, "{reason}: {own_code:#}");
    }
    let general = row(&funnel, "general_number");
    assert_eq!(general["reasons"]["abort"], 1, "{general:#}");
    assert_eq!(
        (general["ended"].clone(), general["abandon_share"].clone()),
        (json!(1), json!(1.0))
    );
    let covered = row(&funnel, "own_covered");
    assert_eq!(covered["reasons"]["result"], 1, "{covered:#}");
    assert_eq!(covered["ended"], 1, "the retry counted nothing");
    assert_eq!(covered["abandoned"], 0);
    let order: Vec<&str> = funnel["screens"]
        .as_array()
        .expect("screens")
        .iter()
        .map(|r| r["screen"].as_str().expect("screen"))
        .collect();
    assert_eq!(
        order,
        ["own_code", "general_number", "own_covered"],
        "at a glance"
    );

    // The ended sessions expire too, kept only for retries: no more counts.
    std::thread::sleep(Duration::from_millis(2_500));
    assert_eq!(
        admin_json(&server, "/admin/funnel")["screens"],
        funnel["screens"]
    );
    let sessions = admin_json(&server, "/admin/sessions");
    assert_eq!(sessions["open_by_service"], json!({}), "{sessions:#}");

    let (status, metrics) = server.get("/metrics");
    assert_eq!(status, 200);
    for line in [
        "daftar_sessions_ended_total{service=\"tamin\",screen=\"own_code\",reason=\"idle\"} 1",
        "daftar_sessions_ended_total{service=\"tamin\",screen=\"own_code\",reason=\"timeout\"} 1",
        "daftar_sessions_ended_total{service=\"tamin\",screen=\"own_code\",reason=\"wrong_answers\"} 1",
        "daftar_sessions_ended_total{service=\"tamin\",screen=\"general_number\",reason=\"abort\"} 1",
        "daftar_sessions_ended_total{service=\"tamin\",screen=\"own_covered\",reason=\"result\"} 1",
        "# TYPE daftar_sessions_ended counter",
    ] {
        assert!(metrics.contains(line), "{line} missing in\n{metrics}");
    }
    for phone in ["989121110001", "989121110005", &holder_code] {
        assert!(
            !metrics.contains(phone),
            "no MSISDN or identifier in the metrics"
        );
    }
}

#[test]
fn the_funnel_and_sessions_need_the_token() {
    let (_, lines) = funnel_people();
    let server = TestServer::start_with(&lines, |c| c.admin.token = Some(TOKEN.into()));
    let agent = common::bin::agent();
    for path in ["/admin/funnel", "/admin/sessions"] {
        let url = format!("{}{path}", server.base);
        for auth in [None, Some("Bearer wrong"), Some("a-support-token")] {
            let (status, _) = common::bin::get_authorized(&agent, &url, auth);
            assert_eq!(status, 401, "{path} with {auth:?}");
        }
    }
}

// --- a person's entitlement for the support staff ---------------------------------------

struct People {
    holder: String,
    son: String,
    expired: String,
    nobody: String,
    iin: String,
    lines: Vec<String>,
}

fn people() -> People {
    let today = today_tehran();
    let until = today.checked_add(1.years()).expect("date");
    let holder_code = ir_code("001234567");
    let son = ir_code("008765432");
    let expired = ir_code("123456789");
    let nobody = ir_code("005555555");
    let iin = kz_iin("90051530012").expect("an IIN");
    let tunis_year = today_tunis().year();
    let mut lines = vec![
        upsert(1, holder(&holder_code, &["989121230001"], until)),
        upsert(
            2,
            dependent(&son, &holder_code, "son", years_ago(today, 20), json!({})),
        ),
        upsert(3, holder(&expired, &["989121230003"], years_ago(today, 1))),
    ];
    lines.push(upsert(
        4,
        json!({"insurer": "osms", "person_id": iin, "msisdns": ["77011112233"],
            "coverage": {"status": "active", "from": "2020-01-01"}}),
    ));
    let mut cnam = tn_holder(
        "cnam",
        "08123456",
        "11966433",
        "public",
        &["21698000001"],
        json!({"status": "active", "from": "2020-01-01", "until": "2099-12-31"}),
    );
    cnam["ceilings"] = json!([{"kind": "ordinary", "year": tunis_year, "limit": "450.000",
        "used": "120.500"}]);
    lines.push(upsert(5, cnam));
    People {
        holder: holder_code,
        son,
        expired,
        nobody,
        iin,
        lines,
    }
}

fn support_server(people: &People) -> TestServer {
    TestServer::start_with(&people.lines, |c| c.admin.token = Some(TOKEN.into()))
}

/// The audit entry of `code`, through the admin API.
fn tracked(server: &TestServer, code: &Value) -> String {
    let code = code.as_str().expect("a tracking code");
    assert_eq!(code.len(), 10, "{code}");
    let (status, entry) = admin_get(server, &format!("/admin/track/{code}"));
    assert_eq!(status, 200, "{entry}");
    entry
}

#[test]
fn a_covered_holder_with_a_dependent_not_covered_by_a_rule() {
    let p = people();
    let server = support_server(&p);
    let (status, answer) =
        lookup_json(&server, json!({"service": "tamin", "identifier": p.holder}));
    assert_eq!(status, 200, "{answer:#}");
    assert_eq!(answer["found"], true);
    let person = &answer["person"];
    assert_eq!(person["status"], "covered", "{answer:#}");
    assert_eq!(person["rule"], "in_force");
    let until = today_tehran().checked_add(1.years()).expect("date");
    assert_eq!(person["until"], until.to_string());
    assert_eq!(person["relation"], Value::Null);
    let son = &person["dependents"][0];
    assert_eq!(son["relation"], "son", "{answer:#}");
    assert_eq!(son["status"], "not_covered");
    assert_eq!(son["rule"], "no_university_certificate");
    assert_eq!(person["ceilings"], json!([]), "tamin keeps no ceilings");
    assert_eq!(
        answer["today"],
        today_tehran().to_string(),
        "today in Tehran"
    );

    let entry = tracked(&server, &answer["tracking_code"]);
    for expected in ["support", "covered", "client:admin", "admin"] {
        assert!(entry.contains(expected), "{expected} in {entry}");
    }
    assert!(
        !entry.contains(&p.holder),
        "no identifier in clear: {entry}"
    );

    // The son himself: a dependent, not covered, with the rule that decided.
    let (_, answer) = lookup_json(&server, json!({"service": "tamin", "identifier": p.son}));
    assert_eq!(answer["person"]["relation"], "son");
    assert_eq!(answer["person"]["rule"], "no_university_certificate");
    assert!(tracked(&server, &answer["tracking_code"]).contains("not_covered"));
}

#[test]
fn not_covered_unknown_osms_and_cnam_with_its_ceiling() {
    let p = people();
    let server = support_server(&p);
    let (status, expired) = lookup_json(
        &server,
        json!({"service": "tamin", "identifier": p.expired}),
    );
    assert_eq!(status, 200);
    assert_eq!(expired["person"]["status"], "not_covered", "{expired:#}");
    assert_eq!(expired["person"]["rule"], "expired");
    assert_eq!(
        expired["person"]["until"],
        years_ago(today_tehran(), 1).to_string(),
        "the end that passed"
    );

    // Persian digits are digits, as on a phone.
    let persian: String = p
        .nobody
        .chars()
        .map(|c| char::from_u32('۰' as u32 + c.to_digit(10).expect("digit")).expect("digit"))
        .collect();
    let (status, unknown) =
        lookup_json(&server, json!({"service": "tamin", "identifier": persian}));
    assert_eq!(status, 200, "{unknown:#}");
    assert_eq!(unknown["found"], false);
    assert_eq!(unknown["person"], Value::Null);
    assert!(tracked(&server, &unknown["tracking_code"]).contains("unknown"));

    let (status, osms) = lookup_json(&server, json!({"service": "osms", "identifier": p.iin}));
    assert_eq!(status, 200, "{osms:#}");
    assert_eq!(osms["person"]["status"], "covered");
    assert_eq!(osms["today"], today_almaty().to_string());

    let body = json!({"service": "cnam", "matricule": "11966433", "cin": "08123456"});
    let (status, cnam) = lookup_json(&server, body);
    assert_eq!(status, 200, "{cnam:#}");
    assert_eq!(cnam["person"]["status"], "covered", "{cnam:#}");
    let ceiling = &cnam["person"]["ceilings"][0];
    assert_eq!(ceiling["kind"], "ordinary", "{cnam:#}");
    assert_eq!(ceiling["used"], "120.500");
    assert_eq!(ceiling["remaining"], "329.500");
    let wrong_pair = json!({"service": "cnam", "matricule": "11966433", "cin": "08123457"});
    let (status, refused) = lookup_json(&server, wrong_pair);
    assert_eq!(status, 200);
    assert_eq!(refused["found"], false, "a CIN the matricule does not name");
}

#[test]
fn bad_bodies_get_a_clear_400_that_echoes_no_identifier() {
    let p = people();
    let server = support_server(&p);
    let wrong = wrong_check(&p.holder);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("garbage", b"\x00\xff{{not json".to_vec()),
        ("an array", b"[1,2,3]".to_vec()),
        (
            "no service",
            json!({"identifier": p.holder}).to_string().into_bytes(),
        ),
        (
            "no identifier",
            json!({"service": "tamin"}).to_string().into_bytes(),
        ),
        (
            "a wrong check digit",
            json!({"service": "tamin", "identifier": wrong})
                .to_string()
                .into_bytes(),
        ),
        (
            "Cyrillic letters",
            json!({"service": "osms", "identifier": "ИИН900515300127"})
                .to_string()
                .into_bytes(),
        ),
        (
            "an unknown field",
            json!({"service": "tamin", "identifier": p.holder, "msisdn": "989121230001"})
                .to_string()
                .into_bytes(),
        ),
        (
            "a number for a string",
            json!({"service": "tamin", "identifier": 12345})
                .to_string()
                .into_bytes(),
        ),
        (
            "a pair for tamin",
            json!({"service": "tamin", "matricule": "11966433", "cin": "08123456"})
                .to_string()
                .into_bytes(),
        ),
        (
            "half a pair",
            json!({"service": "cnam", "cin": "08123456"})
                .to_string()
                .into_bytes(),
        ),
    ];
    for (what, body) in cases {
        let (status, answer) = lookup(&server, &body);
        assert_eq!(status, 400, "{what}: {answer:#}");
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(!error.is_empty(), "{what}: a clear error, {answer:#}");
        for secret in [
            p.holder.as_str(),
            wrong.as_str(),
            "989121230001",
            "08123456",
            "12345",
        ] {
            assert!(!error.contains(secret), "{what} echoes a value: {error}");
        }
    }
    let (status, answer) = lookup_json(&server, json!({"service": "nhs", "identifier": "1"}));
    assert_eq!(status, 404, "{answer:#}");
    assert!(answer["services"]
        .as_array()
        .expect("services")
        .contains(&json!("tamin")));

    let huge = vec![b' '; 16 * 1024];
    let answer = server.post_with("/admin/entitlement", "application/json", &bearer(), &huge);
    assert_eq!(answer.status, 413, "{}", answer.body);
}

#[test]
fn the_person_is_never_named_in_the_url_and_the_token_is_needed() {
    let p = people();
    let server = support_server(&p);
    let body = json!({"service": "tamin", "identifier": p.holder}).to_string();
    for path in [
        format!("/admin/entitlement?identifier={}", p.holder),
        format!("/admin/entitlement/{}", p.holder),
        "/admin/entitlement?service=tamin".to_string(),
    ] {
        let answer = server.post_with(&path, "application/json", &bearer(), body.as_bytes());
        assert_eq!(answer.status, 400, "{path}: {}", answer.body);
        assert!(answer.body.contains("never in the URL"), "{}", answer.body);
        assert!(!answer.body.contains(&p.holder));
    }
    let url = format!("{}/admin/entitlement", server.base);
    let (status, _) = common::bin::get_authorized(&common::bin::agent(), &url, Some(BEARER));
    assert_eq!(status, 405, "POST only");
    for headers in [
        vec![],
        vec![("Authorization", "Bearer wrong-token")],
        vec![("Authorization", TOKEN)],
    ] {
        let answer = server.post_with(
            "/admin/entitlement",
            "application/json",
            &headers,
            body.as_bytes(),
        );
        assert_eq!(answer.status, 401, "{headers:?}");
        assert!(!answer.body.contains("covered"), "{}", answer.body);
    }
    let (status, answer) = lookup(&server, body.as_bytes());
    assert_eq!(
        status, 200,
        "the same body in the body, with the token: {answer:#}"
    );
}
