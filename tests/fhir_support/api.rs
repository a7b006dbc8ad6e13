//! The API as a client sees it: a server with a `provider` and a `member` client, a request
//! naming a patient by its identifiers, a POST to `/fhir/CoverageEligibilityRequest` over a real HTTP
//! client, its answer validated (`super::assert_valid`) before a test reads it, the
//! `OperationOutcome` of a refusal, the tracking code of an answer and what the audit trail
//! keeps under it (`/admin/track`).

use daftar::config::Config;
use daftar::fhir::config::{ClientScope, FhirClient};
use serde_json::{json, Value};

use crate::common::TestServer;

/// A server over `feed` with the admin token `admin`, a `provider` and a `member` client
/// (name and token each), and the configuration adjusted by `adjust`.
pub fn start(
    feed: &[String],
    admin: &str,
    provider: (&str, &str),
    member: (&str, &str),
    adjust: impl FnOnce(&mut Config),
) -> TestServer {
    let client = |token: &str, scope| FhirClient {
        token: Some(token.into()),
        token_env: None,
        scope,
    };
    TestServer::start_with(feed, |c| {
        c.admin.token = Some(admin.into());
        let clients = &mut c.fhir.clients;
        clients.insert(provider.0.into(), client(provider.1, ClientScope::Provider));
        clients.insert(member.0.into(), client(member.1, ClientScope::Member));
        adjust(c);
    })
}

/// A request (`id` `req-1`) for `purpose` naming the patient by `identifiers` (system, value)
/// in a contained `Patient`, with `phone` in its `telecom`.
pub fn request(identifiers: &[(&str, &str)], phone: Option<&str>, purpose: &[&str]) -> Value {
    let identifier: Vec<Value> = identifiers
        .iter()
        .map(|(system, value)| json!({"system": system, "value": value}))
        .collect();
    let mut patient = json!({"resourceType": "Patient", "id": "p1", "identifier": identifier});
    if let Some(phone) = phone {
        patient["telecom"] = json!([{"system": "phone", "value": format!("+{phone}")}]);
    }
    json!({
        "resourceType": "CoverageEligibilityRequest",
        "id": "req-1",
        "status": "active",
        "purpose": purpose,
        "contained": [patient],
        "patient": {"reference": "#p1"},
        "created": "2026-01-01",
        "insurer": {"display": "any"}
    })
}

/// An answer of the API: its status, content type and FHIR resource (validated).
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: Value,
}

/// POSTs `body` with `token` and `content_type`; the answer's JSON, validated.
pub fn post_raw(
    server: &TestServer,
    token: Option<&str>,
    content_type: &str,
    body: &[u8],
) -> Answer {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = bearer
        .iter()
        .map(|b| ("Authorization", b.as_str()))
        .collect();
    let path = "/fhir/CoverageEligibilityRequest";
    let answer = server.post_with(path, content_type, &headers, body);
    let resource: Value = serde_json::from_str(&answer.body).expect("a JSON answer");
    super::assert_valid(&resource);
    Answer {
        status: answer.status,
        content_type: answer.content_type,
        body: resource,
    }
}

/// POSTs `request` as `application/fhir+json` with `token`.
pub fn post(server: &TestServer, token: &str, request: &Value) -> Answer {
    post_raw(
        server,
        Some(token),
        "application/fhir+json",
        request.to_string().as_bytes(),
    )
}

/// The `OperationOutcome` of a refusal, with `status` and its issue `code`.
pub fn refused(answer: &Answer, status: u16, code: &str) {
    assert_eq!(answer.status, status, "{:#}", answer.body);
    assert_eq!(answer.body["resourceType"], "OperationOutcome");
    assert_eq!(answer.body["issue"][0]["severity"], "error");
    assert_eq!(answer.body["issue"][0]["code"], code, "{:#}", answer.body);
}

/// The tracking code a response carries as its identifier.
pub fn tracking_code(answer: &Answer) -> String {
    assert_eq!(
        answer.body["identifier"][0]["system"],
        "https://daftar.example/id/tracking-code"
    );
    answer.body["identifier"][0]["value"]
        .as_str()
        .expect("a tracking code")
        .to_string()
}

/// What the audit trail keeps under `code`, asked with the admin token `admin`.
pub fn trail(server: &TestServer, admin: &str, code: &str) -> Value {
    let url = format!("{}/admin/track/{code}", server.base);
    let mut response = crate::common::bin::agent()
        .get(&url)
        .header("Authorization", &format!("Bearer {admin}"))
        .call()
        .expect("the admin API answers");
    assert_eq!(response.status().as_u16(), 200, "{code}");
    serde_json::from_str(&response.body_mut().read_to_string().expect("body")).expect("JSON")
}
