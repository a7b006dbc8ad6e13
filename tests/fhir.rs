//! The FHIR R4 eligibility API over a real server and a real HTTP client: a `provider` client
//! learns in force or not and nothing more (an identifier no record holds reads as not in
//! force), a `member` client with the phone the record binds learns the benefit period too,
//! every refusal is an `OperationOutcome` with its status, every tracking code is in the audit
//! trail under the client's name — and every response validates against HL7's R4 schema.

mod common;
mod fhir_support;

use common::people::{holder, ir_code, kz_iin, today_tehran, upsert, wrong_check};
use common::TestServer;
use daftar::fhir::config::{ClientScope, FhirClient};
use fhir_support::api::{self, post, post_raw, refused, tracking_code, Answer};
use jiff::ToSpan;
use serde_json::{json, Value};

const PROVIDER_TOKEN: &str = "provider-token-0123456789";
const MEMBER_TOKEN: &str = "member-token-0123456789";
const ADMIN_TOKEN: &str = "admin-token-0123456789";
/// The server's default `[server] body_limit_bytes` (8 KiB): a body over it is refused.
const BODY_LIMIT: usize = 8 * 1024;
const PHONE: &str = "989121234567";
const IR: &str = "https://daftar.example/id/ir-national-code";
const KZ: &str = "https://daftar.example/id/kz-iin";

fn covered() -> String {
    ir_code("001234567")
}
fn lapsed() -> String {
    ir_code("001234568")
}
fn stranger() -> String {
    ir_code("001234569")
}
fn insured_iin() -> String {
    kz_iin("90051530000").expect("an IIN")
}
fn suspended_iin() -> String {
    kz_iin("85010240000")
        .or_else(|| kz_iin("85010240001"))
        .expect("an IIN")
}
fn unknown_iin() -> String {
    kz_iin("77030330000")
        .or_else(|| kz_iin("77030330001"))
        .expect("an IIN")
}

fn until() -> jiff::civil::Date {
    today_tehran().checked_add(2.years()).expect("date")
}

fn feed() -> Vec<String> {
    let past = today_tehran().checked_sub(1.years()).expect("date");
    vec![
        upsert(1, holder(&covered(), &[PHONE], until())),
        upsert(2, holder(&lapsed(), &[PHONE], past)),
        upsert(
            3,
            json!({"insurer": "osms", "person_id": insured_iin(), "birth_date": "1990-05-15",
                "sex": "m", "msisdns": [PHONE], "coverage": {"status": "active", "from": "2020-01-01"}}),
        ),
        upsert(
            4,
            json!({"insurer": "osms", "person_id": suspended_iin(), "birth_date": "1985-01-02",
                "sex": "f", "coverage": {"status": "suspended", "from": "2020-01-01"}}),
        ),
    ]
}

fn server() -> TestServer {
    server_with(|_| {})
}

/// The server with its two clients and the admin token, and the configuration adjusted.
fn server_with(adjust: impl FnOnce(&mut daftar::config::Config)) -> TestServer {
    let provider = ("clinic-7", PROVIDER_TOKEN);
    api::start(
        &feed(),
        ADMIN_TOKEN,
        provider,
        ("member-app", MEMBER_TOKEN),
        adjust,
    )
}

/// A request for the patient (`system`, `value`), with `phone` in the contained patient.
fn request(system: &str, value: &str, phone: Option<&str>) -> Value {
    api::request(&[(system, value)], phone, &["validation", "benefits"])
}

/// A refusal to provoke: token, content type, body, and the status and issue code expected.
type Refusal<'a> = (Option<&'a str>, &'a str, &'a [u8], u16, &'a str);

/// An eligibility response: 200, `application/fhir+json`, and its `insurance[0]` without the
/// `coverage` reference (checked to name the insurer only).
fn eligible(answer: &Answer) -> Value {
    assert_eq!(answer.status, 200, "{:#}", answer.body);
    assert!(answer.content_type.starts_with("application/fhir+json"));
    assert_eq!(answer.body["resourceType"], "CoverageEligibilityResponse");
    assert_eq!(answer.body["outcome"], "complete");
    assert_eq!(answer.body["purpose"], json!(["validation", "benefits"]));
    assert_eq!(
        answer.body["request"]["reference"],
        "CoverageEligibilityRequest/req-1"
    );
    let mut insurance = answer.body["insurance"][0].clone();
    let insurer = answer.body["insurer"]["display"].clone();
    let coverage = insurance
        .as_object_mut()
        .expect("object")
        .remove("coverage");
    assert_eq!(
        coverage,
        Some(json!({"type": "Coverage", "display": insurer}))
    );
    insurance
}

/// What the audit trail keeps under `code`.
fn trail(server: &TestServer, code: &str) -> Value {
    api::trail(server, ADMIN_TOKEN, code)
}

#[test]
fn a_provider_learns_in_force_and_nothing_more() {
    let server = server();
    let cases = [
        (IR, covered(), true),
        (IR, lapsed(), false),
        (IR, stranger(), false),
        (KZ, insured_iin(), true),
        (KZ, suspended_iin(), false),
        (KZ, unknown_iin(), false),
    ];
    let mut answers = Vec::new();
    for (system, id, inforce) in &cases {
        // The phone the record binds changes nothing for a provider.
        let answer = post(&server, PROVIDER_TOKEN, &request(system, id, Some(PHONE)));
        let insurance = eligible(&answer);
        assert_eq!(insurance, json!({"inforce": inforce}), "{system} {id}");
        assert_eq!(
            answer.body["patient"],
            json!({"identifier": {"system": system, "value": id}})
        );
        let entry = trail(&server, &tracking_code(&answer));
        assert_eq!(entry["caller"], "client:clinic-7", "{entry}");
        assert_eq!(entry["channel"], "fhir");
        assert!(
            !entry.to_string().contains(id.as_str()),
            "no identifier in clear"
        );
        answers.push(answer.body);
    }
    // An identifier no record holds reads exactly as one not in force, tracking code and
    // identifier aside.
    let blind = |mut body: Value| {
        body["identifier"] = Value::Null;
        body["patient"] = Value::Null;
        body
    };
    assert_eq!(blind(answers[2].clone()), blind(answers[1].clone()));
    assert_eq!(blind(answers[5].clone()), blind(answers[4].clone()));
}

#[test]
fn a_member_with_the_bound_phone_learns_the_period() {
    let server = server();
    let answer = post(&server, MEMBER_TOKEN, &request(IR, &covered(), Some(PHONE)));
    let insurance = eligible(&answer);
    assert_eq!(
        insurance,
        json!({"inforce": true, "benefitPeriod": {"end": until().to_string()}})
    );
    assert_eq!(answer.body["created"], today_tehran().to_string());
    let entry = trail(&server, &tracking_code(&answer));
    assert_eq!(entry["caller"], "client:member-app");
    assert_eq!(entry["kind"], "specific");
    assert!(!entry.to_string().contains(PHONE), "no MSISDN in clear");

    let lapsed = post(&server, MEMBER_TOKEN, &request(IR, &lapsed(), Some(PHONE)));
    assert_eq!(eligible(&lapsed), json!({"inforce": false}));
}

#[test]
fn a_member_asking_validation_only_learns_in_force_only_even_with_the_bound_phone() {
    let server = server();
    let validation = api::request(&[(IR, &covered())], Some(PHONE), &["validation"]);
    let answer = post(&server, MEMBER_TOKEN, &validation);
    assert_eq!(answer.status, 200, "{:#}", answer.body);
    assert_eq!(answer.body["purpose"], json!(["validation"]));
    let mut insurance = answer.body["insurance"][0].clone();
    insurance
        .as_object_mut()
        .expect("object")
        .remove("coverage");
    assert_eq!(insurance, json!({"inforce": true}), "no benefit period");
    let entry = trail(&server, &tracking_code(&answer));
    assert_eq!(entry["kind"], "general");
}

#[test]
fn a_member_without_the_bound_phone_learns_in_force_only() {
    let server = server();
    for phone in [Some("989120000000"), None] {
        let answer = post(&server, MEMBER_TOKEN, &request(IR, &covered(), phone));
        assert_eq!(eligible(&answer), json!({"inforce": true}), "{phone:?}");
        let entry = trail(&server, &tracking_code(&answer));
        assert_eq!(entry["kind"], "general");
        assert_eq!(entry["caller"], "client:member-app");
    }
}

#[test]
fn each_refusal_is_an_operation_outcome_with_its_status() {
    let server = server();
    let good = request(IR, &covered(), None).to_string();
    let fhir = "application/fhir+json";
    let huge = format!("{{\"pad\":\"{}\"}}", "x".repeat(BODY_LIMIT));
    let cases: [Refusal; 5] = [
        (None, fhir, good.as_bytes(), 401, "security"),
        (Some("nope"), fhir, good.as_bytes(), 401, "security"),
        (
            Some(PROVIDER_TOKEN),
            "text/plain",
            good.as_bytes(),
            415,
            "not-supported",
        ),
        (
            Some(PROVIDER_TOKEN),
            fhir,
            b"{\"resourceType\":",
            400,
            "structure",
        ),
        (
            Some(PROVIDER_TOKEN),
            fhir,
            huge.as_bytes(),
            413,
            "too-costly",
        ),
    ];
    for (token, content_type, body, status, code) in cases {
        refused(&post_raw(&server, token, content_type, body), status, code);
    }
    // Plain JSON is taken as well.
    eligible(&post_raw(
        &server,
        Some(PROVIDER_TOKEN),
        "application/json",
        good.as_bytes(),
    ));

    let good = request(IR, &covered(), None);
    let mut wrong_type = good.clone();
    wrong_type["resourceType"] = json!("Coverage");
    let mut no_purpose = good.clone();
    no_purpose
        .as_object_mut()
        .expect("object")
        .remove("purpose");
    let cases = [
        (wrong_type, "invalid"),
        (no_purpose, "invalid"),
        (request("urn:oid:1.2.3", &covered(), None), "not-supported"),
        (request(IR, &wrong_check(&covered()), None), "invalid"),
    ];
    for (body, code) in &cases {
        refused(&post(&server, PROVIDER_TOKEN, body), 400, code);
    }
}

#[test]
fn an_address_over_its_rate_gets_429_as_an_operation_outcome() {
    let server = server_with(|c| c.limits.source_requests_per_second = 2);
    let body = request(IR, &covered(), None);
    let statuses: Vec<u16> = (0..30)
        .map(|_| {
            let answer = post(&server, PROVIDER_TOKEN, &body);
            if answer.status == 429 {
                refused(&answer, 429, "throttled");
            }
            answer.status
        })
        .collect();
    assert!(statuses.contains(&200), "{statuses:?}");
    assert!(statuses.contains(&429), "{statuses:?}");
}

#[test]
fn a_client_without_a_token_is_refused_at_start() {
    let error = TestServer::refused_with(&feed(), |c| {
        let nameless = FhirClient {
            token: None,
            token_env: Some("DAFTAR_TEST_FHIR_TOKEN_NEVER_SET".into()),
            scope: ClientScope::Provider,
        };
        c.fhir.clients.insert("lost".into(), nameless);
    });
    assert!(error.contains("fhir.clients.lost"), "{error}");
}
