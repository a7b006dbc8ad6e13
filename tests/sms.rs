//! The CNAM SMS channel over a real server (SPEC §4.1, issue 8): commands sent to the short
//! code, each answered by exactly one SMS posted to a real local HTTP server playing Africa's
//! Talking's send API; alerts made from feed events, in order, once each; retries and
//! permanent refusals; delivery reports.

mod common;
#[path = "sms_support/mod.rs"]
mod sms_support;

use common::TestServer;
use serde_json::{json, Value};
use sms_support::{eventually, inbound_form, words, Answer, FakeAt, Received};
use std::time::Duration;

const SHORT_CODE: &str = "85666";
const API_KEY: &str = "k-test";
const USERNAME: &str = "cnam-test";
const ADMIN: &str = "admin-test";
const WAIT: Duration = Duration::from_secs(15);

const PHONE_A: &str = "21620000001";
const PHONE_B: &str = "21620000002";

/// A `cnss` holder and a `cnrps` one, with their matricules and CINs.
fn people() -> Vec<String> {
    let person = |seq: u64, cin: &str, member: &str, scheme: &str| {
        json!({"seq": seq, "op": "upsert", "person": {
            "insurer": "cnam", "person_id": cin, "member_no": member, "scheme": scheme,
            "name": "Test", "birth_date": "1980-01-01", "sex": "f",
            "coverage": {"status": "active", "from": "2020-01-01", "until": "2030-12-31"}
        }})
        .to_string()
    };
    vec![
        person(1, "01234567", "11966433", "cnss"),
        person(2, "02000001", "22000001", "cnrps"),
    ]
}

fn event(seq: u64, person_id: &str, event: Value) -> String {
    json!({"seq": seq, "op": "event", "insurer": "cnam", "person_id": person_id, "event": event})
        .to_string()
}

fn server(fake: &FakeAt) -> TestServer {
    let base = fake.base.clone();
    TestServer::start_with(&people(), move |config| {
        config.sms.provider = Some("africastalking".into());
        config.sms.base_url = Some(base);
        config.sms.username = Some(USERNAME.into());
        config.sms.sender = Some(SHORT_CODE.into());
        config.sms.api_key = Some(API_KEY.into());
        config.sms.retry_base_ms = 50;
        config.sms.retry_max_ms = 200;
        config.sms.max_attempts = 4;
        config.admin.token = Some(ADMIN.into());
    })
}

/// One inbound SMS callback; its HTTP status.
fn sms_in(server: &TestServer, from: &str, to: &str, text: &str, id: &str) -> u16 {
    let body = inbound_form(from, to, text, id);
    let (status, _) = server.post(
        "/sms/africastalking",
        "application/x-www-form-urlencoded",
        body.as_bytes(),
    );
    status
}

/// The outbox as `GET /admin/sms` shows it.
fn outbox(server: &TestServer) -> Value {
    let response = ureq::get(&format!("{}/admin/sms", server.base))
        .header("Authorization", &format!("Bearer {ADMIN}"))
        .call()
        .expect("admin answers")
        .body_mut()
        .read_to_string()
        .expect("a body");
    serde_json::from_str(&response).expect("json")
}

/// Waits until an outbox message satisfies `found`, and returns it.
fn wait_message(server: &TestServer, what: &str, found: impl Fn(&Value) -> bool) -> Value {
    eventually(WAIT, || {
        let view = outbox(server);
        let messages = view["messages"].as_array().expect("messages");
        match messages.iter().find(|m| found(m)) {
            Some(m) => Ok(m.clone()),
            None => Err(format!("no message {what}: {view:#}")),
        }
    })
}

/// Waits until a message whose id starts with `id_prefix` is in `state`, and returns it.
fn wait_state(server: &TestServer, id_prefix: &str, state: &str) -> Value {
    wait_message(server, &format!("{id_prefix}… {state}"), |m| {
        m["id"].as_str().is_some_and(|id| id.starts_with(id_prefix)) && m["state"] == state
    })
}

/// A sent SMS as daftar must post it: to the phone, from the short code, our credentials.
fn assert_posted(sms: &Received, to: &str, text: &str) {
    assert_eq!(sms.path, "/version1/messaging");
    assert_eq!(sms.field("to"), format!("+{to}"));
    assert_eq!(sms.field("from"), SHORT_CODE);
    assert_eq!(sms.field("username"), USERNAME);
    assert_eq!(sms.header("apiKey"), API_KEY);
    assert_eq!(sms.header("Accept"), "application/json");
    assert_eq!(sms.field("message"), text);
}

#[test]
fn every_command_is_answered_by_exactly_one_sms() {
    let fake = FakeAt::start();
    let server = server(&fake);
    let ar = |key: &str| words("ar", key);
    let mismatch = ar("reply.scheme_mismatch").replace("{scheme}", "cnss");
    let cases: Vec<(&str, &str, String)> = vec![
        (
            PHONE_A,
            "cnam*cnss*11966433*01234567",
            ar("reply.subscribed"),
        ),
        (
            PHONE_A,
            " CNAM+CNSS+11966433+01234567# ",
            ar("reply.already"),
        ),
        (
            PHONE_B,
            "cnam*cnrps*22000001*02000001",
            ar("reply.subscribed"),
        ),
        (PHONE_B, "cnam*cnss*123", ar("reply.help")),
        (PHONE_B, "", ar("reply.help")),
        (
            PHONE_B,
            "cnam*cnss*33333333*03333333",
            ar("reply.not_found"),
        ),
        (
            PHONE_B,
            "cnam*cnss*11966433*02000001",
            ar("reply.not_found"),
        ),
        (PHONE_B, "cnam*cnrps*11966433*01234567", mismatch),
        (
            PHONE_B,
            "cnam*cnss*00/11966433*01234567",
            ar("reply.key_included"),
        ),
        (
            PHONE_B,
            "cnam*cnss*0011966433*01234567",
            ar("reply.key_included"),
        ),
        (PHONE_A, "stop", ar("reply.stopped")),
        (PHONE_A, "STOP", ar("reply.not_subscribed")),
    ];
    for (n, (phone, text, want)) in cases.iter().enumerate() {
        assert_eq!(
            sms_in(&server, phone, SHORT_CODE, text, &format!("in-{n}")),
            200
        );
        let received = fake.wait_for(n + 1, WAIT);
        assert_eq!(received.len(), n + 1, "{text:?} answered more than once");
        assert_posted(&received[n], phone, want);
    }
    // A callback delivered again (same provider id) is answered once; one to another short
    // code is acknowledged and left alone; one without a sender is refused.
    assert_eq!(sms_in(&server, PHONE_B, SHORT_CODE, "STOP", "in-0"), 200);
    assert_eq!(sms_in(&server, PHONE_B, "12345", "STOP", "in-other"), 200);
    let (status, _) = server.post(
        "/sms/africastalking",
        "application/x-www-form-urlencoded",
        b"to=85666&text=STOP",
    );
    assert_eq!(status, 400);
    assert_eq!(
        sms_in(&server, PHONE_B, SHORT_CODE, "hello", "in-last"),
        200
    );
    let received = fake.wait_for(cases.len() + 1, WAIT);
    assert_posted(&received[cases.len()], PHONE_B, &ar("reply.help"));
    let view = outbox(&server);
    assert_eq!(
        view["messages"].as_array().map(Vec::len),
        Some(cases.len() + 1)
    );
    assert_eq!(fake.received().len(), cases.len() + 1);
    // The admin view names the phone by its keyed hash only.
    assert!(!view.to_string().contains(PHONE_A), "{view}");
}

#[test]
fn alerts_follow_the_feed_in_order_once_per_event() {
    let fake = FakeAt::start();
    let mut server = server(&fake);
    assert_eq!(
        sms_in(
            &server,
            PHONE_A,
            SHORT_CODE,
            "cnam*cnss*11966433*01234567",
            "s1"
        ),
        200
    );
    fake.wait_for(1, WAIT);
    let events = [
        json!({"kind": "transfer_paid", "amount": "120.500", "date": "2026-11-30"}),
        json!({"kind": "money_order", "amount": "75", "date": "2026-12-01"}),
        json!({"kind": "coverage_decision", "decision": "accepted", "what": "IRM"}),
        json!({"kind": "coverage_decision", "decision": "refused", "what": "lunettes"}),
        json!({"kind": "summons", "reason": "medical_check", "date": "2027-01-05"}),
        json!({"kind": "summons", "reason": "complete_file", "date": "2027-01-06"}),
        json!({"kind": "chronic_ending", "label": "diabete", "until": "2027-03-31"}),
        json!({"kind": "ceiling_reached", "year": 2026}),
    ];
    let mut lines: Vec<String> = Vec::new();
    let mut seq = 10;
    for e in &events {
        lines.push(event(seq, "01234567", e.clone()));
        seq += 1;
        // The unsubscribed person's events, between them: nothing for them.
        lines.push(event(seq, "02000001", e.clone()));
        seq += 1;
    }
    // An unknown kind and a malformed event are rejected as feed lines and send nothing.
    lines.push(event(
        seq,
        "01234567",
        json!({"kind": "lottery_won", "amount": "1"}),
    ));
    lines.push(event(seq + 1, "01234567", json!({"kind": "transfer_paid"})));
    server.append_feed(&lines);
    let received = fake.wait_for(1 + events.len(), WAIT);
    let ar = |key: &str| words("ar", key);
    let expected = [
        ar("alert.transfer_paid")
            .replace("{amount}", "120.500")
            .replace("{date}", "30/11/2026"),
        ar("alert.money_order")
            .replace("{amount}", "75.000")
            .replace("{date}", "01/12/2026"),
        ar("alert.coverage_accepted").replace("{what}", "IRM"),
        ar("alert.coverage_refused").replace("{what}", "lunettes"),
        ar("alert.summons_medical_check").replace("{date}", "05/01/2027"),
        ar("alert.summons_complete_file").replace("{date}", "06/01/2027"),
        ar("alert.chronic_ending")
            .replace("{label}", "diabete")
            .replace("{until}", "31/03/2027"),
        ar("alert.ceiling_reached").replace("{year}", "2026"),
    ];
    for (sms, want) in received[1..].iter().zip(&expected) {
        assert_posted(sms, PHONE_A, want);
    }
    let status = ureq::get(&format!("{}/admin/feed", server.base))
        .header("Authorization", &format!("Bearer {ADMIN}"))
        .call()
        .expect("admin")
        .body_mut()
        .read_to_string()
        .expect("body");
    let status: Value = serde_json::from_str(&status).expect("json");
    assert_eq!(status["rejected"], 2, "{status:#}");

    // The same feed after a restart sends nothing again: the next SMS is the next event's.
    server.restart();
    server.append_feed(&[event(
        seq + 2,
        "01234567",
        json!({"kind": "ceiling_reached", "year": 2027}),
    )]);
    let received = fake.wait_for(2 + events.len(), WAIT);
    assert_eq!(received.len(), 2 + events.len(), "{received:#?}");
    assert_posted(
        &received[1 + events.len()],
        PHONE_A,
        &ar("alert.ceiling_reached").replace("{year}", "2027"),
    );
}

#[test]
fn a_transient_failure_is_retried_and_permanent_ones_are_given_up() {
    let fake = FakeAt::start();
    let server = server(&fake);
    // 500 then the acceptance: sent once, on the second attempt.
    fake.script(vec![Answer::Raw(500, "text/plain", "oops".into())]);
    assert_eq!(sms_in(&server, PHONE_A, SHORT_CODE, "STOP", "r1"), 200);
    let sent = wait_state(&server, "reply/", "sent");
    assert_eq!(sent["attempts"], 2, "{sent:#}");
    assert_eq!(fake.received().len(), 2);
    let id_of_first = sent["id"].as_str().expect("id").to_string();

    // 401 text/plain (a bad key) and 201 with no recipient: given up at once, with why.
    let refusals = [
        (
            Answer::Raw(
                401,
                "text/plain",
                "The supplied authentication is invalid".into(),
            ),
            "401",
        ),
        (
            Answer::Raw(
                201,
                "application/json",
                r#"{"SMSMessageData":{"Message":"InvalidSenderId","Recipients":[]}}"#.into(),
            ),
            "InvalidSenderId",
        ),
    ];
    for (n, (answer, why)) in refusals.into_iter().enumerate() {
        fake.script(vec![answer]);
        let before = fake.received().len();
        assert_eq!(
            sms_in(&server, PHONE_B, SHORT_CODE, "STOP", &format!("p{n}")),
            200
        );
        fake.wait_for(before + 1, WAIT);
        let given_up = wait_message(&server, &format!("given up for {why}"), |m| {
            m["id"] != id_of_first.as_str()
                && m["state"] == "given_up"
                && m["why"].as_str().is_some_and(|w| w.contains(why))
        });
        assert_eq!(given_up["attempts"], 1, "{given_up:#}");
        assert_eq!(
            fake.received().len(),
            before + 1,
            "a permanent refusal is not retried"
        );
    }
    // Still serving, and still sending.
    assert_eq!(server.get("/healthz").0, 200);
    let before = fake.received().len();
    assert_eq!(sms_in(&server, PHONE_A, SHORT_CODE, "hello", "after"), 200);
    fake.wait_for(before + 1, WAIT);
    let metrics = server.get("/metrics").1;
    for line in [
        "daftar_sms_send_attempts_total{outcome=\"retry\"} 1",
        "daftar_sms_send_attempts_total{outcome=\"given_up\"} 2",
        "daftar_sms_messages_total{outcome=\"given_up\"} 2",
    ] {
        assert!(metrics.contains(line), "{line} missing in\n{metrics}");
    }
}

#[test]
fn delivery_reports_update_the_state_by_the_providers_id() {
    let fake = FakeAt::start();
    let server = server(&fake);
    assert_eq!(sms_in(&server, PHONE_A, SHORT_CODE, "STOP", "d1"), 200);
    let sent = wait_state(&server, "reply/", "sent");
    let provider_id = sent["provider_id"]
        .as_str()
        .expect("a provider id")
        .to_string();
    let report = |body: String| {
        server.post(
            "/sms/africastalking/delivery",
            "application/x-www-form-urlencoded",
            body.as_bytes(),
        )
    };
    assert_eq!(report(format!("id={provider_id}&status=Buffered")).0, 200);
    let buffered = wait_state(&server, "reply/", "sent");
    assert_eq!(buffered["last_report"], "Buffered");
    assert_eq!(
        report(format!(
            "id={provider_id}&status=Success&phoneNumber=%2B{PHONE_A}"
        ))
        .0,
        200
    );
    wait_state(&server, "reply/", "delivered");
    // A late failure does not undo a delivery; an unknown id is acknowledged; no id is refused.
    assert_eq!(
        report(format!(
            "id={provider_id}&status=Failed&failureReason=DeliveryFailure"
        ))
        .0,
        200
    );
    wait_state(&server, "reply/", "delivered");
    assert_eq!(report("id=ATXid_nobody&status=Success".into()).0, 200);
    assert_eq!(report("status=Success".into()).0, 400);

    assert_eq!(sms_in(&server, PHONE_B, SHORT_CODE, "STOP", "d2"), 200);
    fake.wait_for(2, WAIT);
    let second = wait_message(&server, "sent second", |m| {
        m["provider_id"].is_string() && m["provider_id"] != provider_id.as_str()
    });
    let second_id = second["provider_id"].as_str().expect("id").to_string();
    let body = format!(
        "id={second_id}&status=Failed&phoneNumber=%2B{PHONE_B}&networkCode=60502&failureReason=UserInBlackList&retryCount=0"
    );
    assert_eq!(report(body).0, 200);
    let view = outbox(&server);
    let failed = view["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .find(|m| m["provider_id"] == second_id.as_str())
        .cloned()
        .expect("the second message");
    assert_eq!(failed["state"], "failed", "{failed:#}");
    assert_eq!(failed["why"], "UserInBlackList");
}

#[test]
fn without_a_provider_commands_are_answered_into_the_outbox_and_nothing_is_sent() {
    let server = TestServer::start_with(&people(), |config| {
        config.admin.token = Some(ADMIN.into());
    });
    assert_eq!(
        sms_in(
            &server,
            PHONE_A,
            "anything",
            "cnam*cnss*11966433*01234567",
            "n1"
        ),
        200
    );
    let queued = wait_state(&server, "reply/", "queued");
    assert_eq!(queued["attempts"], 0);
    // The subscription was made all the same: a second command finds it.
    assert_eq!(sms_in(&server, PHONE_A, "anything", "STOP", "n2"), 200);
    eventually(WAIT, || match outbox(&server) {
        view if view["pending"] == 2 => Ok(()),
        view => Err(format!("not 2 pending: {view:#}")),
    });
    let metrics = server.get("/metrics").1;
    assert!(
        metrics.contains("daftar_sms_inbound_total{outcome=\"stopped\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("daftar_sms_outbox_pending 2"), "{metrics}");
}

#[test]
fn the_callbacks_are_closed_by_the_africastalking_dialects_secret() {
    let fake = FakeAt::start();
    let base = fake.base.clone();
    let server = TestServer::start_with(&people(), move |config| {
        config.sms.provider = Some("africastalking".into());
        config.sms.base_url = Some(base);
        config.sms.username = Some(USERNAME.into());
        config.sms.api_key = Some(API_KEY.into());
        let gate = config.dialects.entry("africastalking".into()).or_default();
        gate.secret = Some("s3cret".into());
        gate.secret_in_path = true;
    });
    let body = inbound_form(PHONE_A, SHORT_CODE, "STOP", "g1");
    let post = |path: &str, body: &str| {
        server
            .post(path, "application/x-www-form-urlencoded", body.as_bytes())
            .0
    };
    assert_eq!(post("/sms/africastalking", &body), 401);
    assert_eq!(post("/sms/africastalking/wrong", &body), 401);
    assert_eq!(
        post("/sms/africastalking/delivery", "id=x&status=Success"),
        401
    );
    assert_eq!(post("/sms/africastalking/s3cret", &body), 200);
    let received = fake.wait_for(1, WAIT);
    // No sender configured: the provider's default `from`, and any `to` is taken.
    assert_eq!(received[0].field("to"), format!("+{PHONE_A}"));
    assert!(received[0].form.iter().all(|(k, _)| k != "from"));
    assert_eq!(
        post(
            "/sms/africastalking/s3cret/delivery",
            "id=ATXid_1&status=Success"
        ),
        200
    );
}
