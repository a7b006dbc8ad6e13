//! Writes the API's answers as FHIR R4 JSON: a `CoverageEligibilityResponse` (in force or not,
//! the benefit period for a member, the tracking code as its identifier) and an
//! `OperationOutcome` for a refusal. The patient is named by identifier only, never by name.

use jiff::civil::Date;
use serde_json::{json, Value};

use super::request::Eligibility;
use crate::audit::TrackingCode;

/// The system of the tracking code in a response's `identifier`.
pub(crate) const SYSTEM_TRACKING_CODE: &str = "https://daftar.example/id/tracking-code";

/// The answer to put in a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer<'a> {
    pub(crate) insurer: &'a str,
    pub(crate) inforce: bool,
    /// The last day of cover, for a member whose phone the record binds; `None` otherwise
    /// (and for cover without an end).
    pub(crate) until: Option<Date>,
    pub(crate) code: TrackingCode,
    /// Today in the service's time zone.
    pub(crate) created: Date,
}

/// The `CoverageEligibilityResponse` to `asked`.
pub(crate) fn eligibility(asked: &Eligibility, answer: &Answer<'_>) -> Value {
    // `coverage` is required (1..1): the insurer's cover, by type and insurer, never by an id.
    let coverage = json!({ "type": "Coverage", "display": answer.insurer });
    let mut insurance = json!({ "coverage": coverage, "inforce": answer.inforce });
    if let Some(until) = answer.until {
        insurance["benefitPeriod"] = json!({ "end": until.to_string() });
    }
    json!({
        "resourceType": "CoverageEligibilityResponse",
        "identifier": [{ "system": SYSTEM_TRACKING_CODE, "value": answer.code.to_string() }],
        "status": "active",
        "purpose": asked.purpose,
        "patient": { "identifier": {
            "system": asked.patient.system(),
            "value": asked.patient.value(),
        }},
        "created": answer.created.to_string(),
        "request": request_reference(asked.request_id.as_deref()),
        "outcome": "complete",
        "insurer": { "display": answer.insurer },
        "insurance": [insurance],
    })
}

/// The request's reference: by its `id` when it has a valid one (FHIR's `id` rule), else by
/// type alone.
fn request_reference(id: Option<&str>) -> Value {
    let valid = |id: &&str| {
        (1..=64).contains(&id.len())
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    };
    match id.filter(valid) {
        Some(id) => json!({ "reference": format!("CoverageEligibilityRequest/{id}") }),
        None => json!({ "type": "CoverageEligibilityRequest" }),
    }
}

/// An `OperationOutcome` with one error: its FHIR issue type (`invalid`, `security`, ...) and
/// what went wrong, without any value from the request.
pub(crate) fn outcome(code: &str, diagnostics: &str) -> Value {
    json!({
        "resourceType": "OperationOutcome",
        "issue": [{ "severity": "error", "code": code, "diagnostics": diagnostics }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_id_outside_the_id_rule_is_not_echoed() {
        assert_eq!(
            request_reference(Some("q-1.a")),
            json!({ "reference": "CoverageEligibilityRequest/q-1.a" })
        );
        for bad in [Some("a/b"), Some(""), Some("x\"y"), None] {
            assert_eq!(
                request_reference(bad),
                json!({ "type": "CoverageEligibilityRequest" })
            );
        }
        let long = "a".repeat(65);
        assert_eq!(
            request_reference(Some(&long)),
            json!({ "type": "CoverageEligibilityRequest" })
        );
    }
}
