//! Reads a `CoverageEligibilityRequest` (FHIR R4, JSON): its purposes, the patient's identifier
//! (in a contained `Patient` the `patient` reference points at, or on the reference itself),
//! the phone in `Patient.telecom`, and checks the identifier against its system's rules. Only
//! the fields daftar uses are read; a request that lacks one of them is refused with the reason.

use serde_json::Value;

use crate::ids::{IdError, Iin, IranId};

/// The identifier systems daftar answers for, each with the service whose records it names.
pub(crate) const SYSTEM_IR_NATIONAL_CODE: &str = "https://daftar.example/id/ir-national-code";
pub(crate) const SYSTEM_KZ_IIN: &str = "https://daftar.example/id/kz-iin";

/// A patient identifier daftar knows, checked (length, check digit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PatientId {
    /// An Iranian national code (or a foreign national's number): `tamin`.
    Iran(IranId),
    /// A Kazakh IIN: `osms`.
    Kazakh(Iin),
}

impl PatientId {
    /// The service whose records the identifier names.
    pub(crate) fn service(&self) -> &'static str {
        match self {
            PatientId::Iran(_) => "tamin",
            PatientId::Kazakh(_) => "osms",
        }
    }

    pub(crate) fn system(&self) -> &'static str {
        match self {
            PatientId::Iran(_) => SYSTEM_IR_NATIONAL_CODE,
            PatientId::Kazakh(_) => SYSTEM_KZ_IIN,
        }
    }

    pub(crate) fn value(&self) -> &str {
        match self {
            PatientId::Iran(id) => id.as_str(),
            PatientId::Kazakh(iin) => iin.as_str(),
        }
    }
}

/// What daftar takes from a request.
#[derive(Debug, Clone)]
pub(crate) struct Eligibility {
    /// `validation` and/or `benefits`, as sent (echoed in the response).
    pub(crate) purpose: Vec<String>,
    pub(crate) patient: PatientId,
    /// The request's own `id`, for the response's `request` reference.
    pub(crate) request_id: Option<String>,
    /// The first phone in the patient's `telecom` (digits only), if any.
    pub(crate) msisdn: Option<String>,
}

/// Why a request is refused (400). The messages name fields, never values.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum RequestError {
    #[error("the body is not JSON")]
    NotJson,
    #[error("resourceType must be CoverageEligibilityRequest")]
    WrongResource,
    #[error("purpose is required: validation and/or benefits")]
    NoPurpose,
    #[error("purpose may hold only validation, benefits, auth-requirements, discovery")]
    BadPurpose,
    #[error("the patient's identifier (system and value) is required")]
    NoIdentifier,
    #[error("the patient's identifier system is not one daftar answers for")]
    UnknownSystem,
    #[error("the patient's identifier is invalid: {0}")]
    BadIdentifier(IdError),
}

const PURPOSES: [&str; 4] = ["auth-requirements", "benefits", "discovery", "validation"];

/// Reads and checks `body`.
pub(crate) fn parse(body: &[u8]) -> Result<Eligibility, RequestError> {
    let request: Value = serde_json::from_slice(body).map_err(|_| RequestError::NotJson)?;
    if request.get("resourceType").and_then(Value::as_str) != Some("CoverageEligibilityRequest") {
        return Err(RequestError::WrongResource);
    }
    let purpose = purposes(&request)?;
    let patient = patient_resource(&request);
    let (system, value) = identifier(&request, patient).ok_or(RequestError::NoIdentifier)?;
    Ok(Eligibility {
        purpose,
        patient: checked(system, value)?,
        request_id: request
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_string),
        msisdn: patient.and_then(phone),
    })
}

fn purposes(request: &Value) -> Result<Vec<String>, RequestError> {
    let list = request
        .get("purpose")
        .and_then(Value::as_array)
        .filter(|l| !l.is_empty())
        .ok_or(RequestError::NoPurpose)?;
    list.iter()
        .map(|p| match p.as_str() {
            Some(p) if PURPOSES.contains(&p) => Ok(p.to_string()),
            _ => Err(RequestError::BadPurpose),
        })
        .collect()
}

/// The contained `Patient` that `patient.reference` (`#id`) points at.
fn patient_resource(request: &Value) -> Option<&Value> {
    let reference = request.pointer("/patient/reference")?.as_str()?;
    let id = reference.strip_prefix('#')?;
    request.get("contained")?.as_array()?.iter().find(|r| {
        r.get("resourceType").and_then(Value::as_str) == Some("Patient")
            && r.get("id").and_then(Value::as_str) == Some(id)
    })
}

/// The identifier's system and value: the contained patient's first complete one, else the
/// one on the `patient` reference.
fn identifier<'a>(request: &'a Value, patient: Option<&'a Value>) -> Option<(&'a str, &'a str)> {
    let pair = |id: &'a Value| Some((id.get("system")?.as_str()?, id.get("value")?.as_str()?));
    let contained = patient
        .and_then(|p| p.get("identifier")?.as_array())
        .and_then(|ids| ids.iter().find_map(pair));
    contained.or_else(|| request.pointer("/patient/identifier").and_then(pair))
}

/// The identifier checked by its system's rules.
fn checked(system: &str, value: &str) -> Result<PatientId, RequestError> {
    match system {
        SYSTEM_IR_NATIONAL_CODE => IranId::parse(value, None)
            .map(PatientId::Iran)
            .map_err(RequestError::BadIdentifier),
        SYSTEM_KZ_IIN => Iin::parse(value)
            .map(PatientId::Kazakh)
            .map_err(RequestError::BadIdentifier),
        _ => Err(RequestError::UnknownSystem),
    }
}

/// The patient's first phone, digits only (`+98 912…` → `98912…`).
fn phone(patient: &Value) -> Option<String> {
    patient
        .get("telecom")?
        .as_array()?
        .iter()
        .filter(|t| t.get("system").and_then(Value::as_str) == Some("phone"))
        .find_map(|t| t.get("value")?.as_str())
        .map(|v| v.chars().filter(char::is_ascii_digit).collect::<String>())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CODE: &str = "0012345679";

    fn contained(system: &str, value: &str) -> Value {
        json!({
            "resourceType": "CoverageEligibilityRequest",
            "id": "q1",
            "purpose": ["validation"],
            "contained": [{
                "resourceType": "Patient", "id": "p",
                "identifier": [{"system": system, "value": value}],
                "telecom": [{"system": "phone", "value": "+98 912 123 4567"}]
            }],
            "patient": {"reference": "#p"}
        })
    }

    fn parsed(value: &Value) -> Result<Eligibility, RequestError> {
        parse(value.to_string().as_bytes())
    }

    #[test]
    fn a_contained_patient_gives_the_identifier_and_the_phone() {
        let asked = parsed(&contained(SYSTEM_IR_NATIONAL_CODE, CODE)).expect("valid");
        assert_eq!(asked.patient.value(), CODE);
        assert_eq!(asked.patient.service(), "tamin");
        assert_eq!(asked.msisdn.as_deref(), Some("989121234567"));
        assert_eq!(asked.request_id.as_deref(), Some("q1"));
        assert_eq!(asked.purpose, ["validation"]);
    }

    #[test]
    fn the_identifier_may_be_on_the_reference() {
        let request = json!({
            "resourceType": "CoverageEligibilityRequest",
            "purpose": ["benefits"],
            "patient": {"identifier": {"system": SYSTEM_IR_NATIONAL_CODE, "value": CODE}}
        });
        let asked = parsed(&request).expect("valid");
        assert_eq!(asked.patient.value(), CODE);
        assert_eq!(asked.msisdn, None);
    }

    #[test]
    fn each_fault_has_its_reason() {
        let mut no_purpose = contained(SYSTEM_IR_NATIONAL_CODE, CODE);
        no_purpose.as_object_mut().unwrap().remove("purpose");
        let mut bad_purpose = contained(SYSTEM_IR_NATIONAL_CODE, CODE);
        bad_purpose["purpose"] = json!(["everything"]);
        let mut wrong = contained(SYSTEM_IR_NATIONAL_CODE, CODE);
        wrong["resourceType"] = json!("Coverage");
        let mut dangling = contained(SYSTEM_IR_NATIONAL_CODE, CODE);
        dangling["patient"]["reference"] = json!("#other");
        let cases = [
            (no_purpose, RequestError::NoPurpose),
            (bad_purpose, RequestError::BadPurpose),
            (wrong, RequestError::WrongResource),
            (dangling, RequestError::NoIdentifier),
            (
                contained("urn:oid:1.2.3", CODE),
                RequestError::UnknownSystem,
            ),
            (
                contained(SYSTEM_IR_NATIONAL_CODE, "0012345678"),
                RequestError::BadIdentifier(IdError::CheckDigit),
            ),
        ];
        for (request, want) in cases {
            assert_eq!(parsed(&request).expect_err("refused"), want);
        }
        assert_eq!(parse(b"{").expect_err("refused"), RequestError::NotJson);
    }
}
