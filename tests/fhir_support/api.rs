//! The API as a client sees it: a POST to `/fhir/CoverageEligibilityRequest` over a real HTTP
//! client, its answer validated (`super::assert_valid`) before a test reads it, the
//! `OperationOutcome` of a refusal, the tracking code of an answer and what the audit trail
//! keeps under it (`/admin/track`).

use serde_json::Value;

use crate::common::TestServer;

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
