//! Writes the API's answers as FHIR R4 JSON: a `CoverageEligibilityResponse` (in force or not,
//! the benefit period for a member, the `cnam`/`mutual` ceilings as `item[].benefit` allowed /
//! used in TND, the tracking code as its identifier) and an `OperationOutcome` for a refusal.
//! The patient is named by identifier only, never by name; a beneficiary by relation only.

use jiff::civil::Date;
use serde_json::{json, Value};

use super::request::Eligibility;
use super::systems;
use crate::audit::TrackingCode;
use crate::benefits::Balance;

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
    /// The benefits a member whose phone the record binds learns (`cnam`, `mutual`); empty
    /// for any other asker.
    pub(crate) items: Vec<Item>,
}

/// What a benefit item is about (daftar's code system, `systems::BENEFIT_CATEGORY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Category {
    /// `cnam`: the annual ceiling for ordinary illnesses (the holder's).
    Ordinary,
    /// `cnam`: a chronic or serious illness coverage (APCI).
    Chronic,
    /// `mutual`: a spouse's own ceiling.
    Spouse,
    /// `mutual`: a child's own ceiling.
    Child,
    /// `mutual`: the member's dental balance.
    Dental,
}

impl Category {
    fn code(self) -> (&'static str, &'static str) {
        match self {
            Category::Ordinary => ("ordinary", "Ordinary illnesses, annual ceiling"),
            Category::Chronic => ("chronic", "Chronic or serious illness coverage (APCI)"),
            Category::Spouse => ("spouse", "Spouse's ceiling"),
            Category::Child => ("child", "Child's ceiling"),
            Category::Dental => ("dental", "Dental balance"),
        }
    }
}

/// One benefit item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Item {
    pub(crate) category: Category,
    /// A chronic coverage's label, a beneficiary's relation.
    pub(crate) name: Option<String>,
    /// A ceiling of the year: its balance (`allowedMoney` the limit, `usedMoney` the used).
    pub(crate) ceiling: Option<(i16, Balance)>,
    /// The end of a coverage the item is (a chronic coverage's `until`).
    pub(crate) until: Option<Date>,
    /// A beneficiary not covered today (`excluded`); `None`: not a beneficiary's line.
    pub(crate) excluded: Option<bool>,
}

/// The `CoverageEligibilityResponse` to `asked`.
pub(crate) fn eligibility(asked: &Eligibility, answer: &Answer<'_>) -> Value {
    // `coverage` is required (1..1): the insurer's cover, by type and insurer, never by an id.
    let coverage = json!({ "type": "Coverage", "display": answer.insurer });
    let mut insurance = json!({ "coverage": coverage, "inforce": answer.inforce });
    if let Some(until) = answer.until {
        insurance["benefitPeriod"] = json!({ "end": until.to_string() });
    }
    if !answer.items.is_empty() {
        insurance["item"] = answer.items.iter().map(item).collect();
    }
    let mut response = json!({
        "resourceType": "CoverageEligibilityResponse",
        "identifier": [{ "system": systems::TRACKING_CODE, "value": answer.code.to_string() }],
        "status": "active",
        "purpose": asked.purpose,
        "created": answer.created.to_string(),
        "request": request_reference(asked.request_id.as_deref()),
        "outcome": "complete",
        "insurer": { "display": answer.insurer },
        "insurance": [insurance],
    });
    let identifiers = asked.patient.identifiers();
    match identifiers.as_slice() {
        [(system, value)] => {
            response["patient"] = json!({ "identifier": { "system": system, "value": value } });
        }
        // A pair: a reference holds one identifier, so the patient is contained with both.
        pair => {
            let identifier: Vec<Value> = pair
                .iter()
                .map(|(system, value)| json!({ "system": system, "value": value }))
                .collect();
            response["contained"] = json!([{
                "resourceType": "Patient", "id": "patient", "identifier": identifier,
            }]);
            response["patient"] = json!({ "reference": "#patient" });
        }
    }
    response
}

/// One `insurance[].item`.
fn item(item: &Item) -> Value {
    let (code, display) = item.category.code();
    let mut out = json!({
        "category": { "coding": [{
            "system": systems::BENEFIT_CATEGORY, "code": code, "display": display,
        }]},
    });
    if let Some(name) = &item.name {
        out["name"] = json!(name);
    }
    if let Some(excluded) = item.excluded {
        out["excluded"] = json!(excluded);
    }
    let period = match (&item.ceiling, item.until) {
        (Some((year, balance)), _) => {
            out["term"] =
                json!({ "coding": [{ "system": systems::HL7_BENEFIT_TERM, "code": "annual" }] });
            out["benefit"] = json!([{
                "type": { "coding": [{ "system": systems::HL7_BENEFIT_TYPE, "code": "benefit" }] },
                "allowedMoney": money(balance.limit),
                "usedMoney": money(balance.used),
            }]);
            Some(json!({ "start": format!("{year:04}-01-01"), "end": format!("{year:04}-12-31") }))
        }
        (None, Some(until)) => Some(json!({ "end": until.to_string() })),
        (None, None) => None,
    };
    if let Some(period) = period {
        out["extension"] = json!([{ "url": systems::ITEM_PERIOD, "valuePeriod": period }]);
    }
    out
}

/// A `Money` in dinars.
fn money(amount: crate::money::Money) -> Value {
    json!({ "value": amount.as_major_f64(), "currency": systems::TND })
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
