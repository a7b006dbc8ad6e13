//! Reads a `CoverageEligibilityRequest` (FHIR R4, JSON): its purposes, the patient's identifiers
//! (in a contained `Patient` the `patient` reference points at, or on the reference itself),
//! the phone in `Patient.telecom`, and checks each identifier against its system's rules. Only
//! the fields daftar uses are read; a request that lacks one of them is refused with the reason.
//! The systems are `systems`'; a `cnam` or `mutual` person is named by a pair of them (the CIN
//! and the fund's matricule), both required.

use serde_json::Value;

use super::systems;
use crate::ids::{Cin, IdError, Iin, IranId, Matricule};

/// A Tunisian fund, named by the system of the matricule in a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fund {
    /// CNAM: `cnam`.
    Cnam,
    /// The complementary mutual fund: `mutual`.
    Mutual,
}

/// A patient identifier daftar knows, checked (length, check digit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PatientId {
    /// An Iranian national code (or a foreign national's number): `tamin`.
    Iran(IranId),
    /// A Kazakh IIN: `osms`.
    Kazakh(Iin),
    /// A fund's matricule and a CIN, which must belong to one person: `cnam`, `mutual`.
    Tunisia {
        fund: Fund,
        matricule: Matricule,
        cin: Cin,
    },
}

impl PatientId {
    /// The service whose records the identifier names.
    pub(crate) fn service(&self) -> &'static str {
        match self {
            PatientId::Iran(_) => "tamin",
            PatientId::Kazakh(_) => "osms",
            PatientId::Tunisia {
                fund: Fund::Cnam, ..
            } => "cnam",
            PatientId::Tunisia {
                fund: Fund::Mutual, ..
            } => "mutual",
        }
    }

    /// Each identifier as (system, value), as a response echoes them.
    pub(crate) fn identifiers(&self) -> Vec<(&'static str, &str)> {
        match self {
            PatientId::Iran(id) => vec![(systems::IR_NATIONAL_CODE, id.as_str())],
            PatientId::Kazakh(iin) => vec![(systems::KZ_IIN, iin.as_str())],
            PatientId::Tunisia {
                fund,
                matricule,
                cin,
            } => {
                let matricule_system = match fund {
                    Fund::Cnam => systems::TN_CNAM_MATRICULE,
                    Fund::Mutual => systems::TN_MUTUAL_MEMBER,
                };
                vec![
                    (matricule_system, matricule.as_str()),
                    (systems::TN_CIN, cin.as_str()),
                ]
            }
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

impl Eligibility {
    /// Whether the request asks for benefits (the member's own answer), not only validation.
    pub(crate) fn wants_benefits(&self) -> bool {
        self.purpose.iter().any(|p| p == "benefits")
    }
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
    /// A Tunisian identifier without its other half, or with two of one kind.
    #[error(
        "a cnam or mutual patient is named by two identifiers: one CIN and one matricule \
         (CNAM's or the mutual fund's)"
    )]
    IncompletePair,
    /// One half of a pair does not read as its kind (which half is said: it tells nothing of
    /// the records).
    #[error("the patient's {0} is invalid: {1}")]
    BadHalf(&'static str, IdError),
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
    let identifiers = identifiers(&request, patient);
    Ok(Eligibility {
        purpose,
        patient: patient_id(&identifiers)?,
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

/// The complete identifiers (system and value): the contained patient's, else the one on the
/// `patient` reference.
fn identifiers<'a>(request: &'a Value, patient: Option<&'a Value>) -> Vec<(&'a str, &'a str)> {
    let pair = |id: &'a Value| Some((id.get("system")?.as_str()?, id.get("value")?.as_str()?));
    let contained: Vec<(&str, &str)> = patient
        .and_then(|p| p.get("identifier")?.as_array())
        .map(|ids| ids.iter().filter_map(pair).collect())
        .unwrap_or_default();
    if !contained.is_empty() {
        return contained;
    }
    request
        .pointer("/patient/identifier")
        .and_then(pair)
        .into_iter()
        .collect()
}

/// The systems of a Tunisian pair.
const TUNISIAN: [&str; 3] = [
    systems::TN_CIN,
    systems::TN_CNAM_MATRICULE,
    systems::TN_MUTUAL_MEMBER,
];

/// The patient the identifiers name: a Tunisian pair when one of them is Tunisian, else the
/// first identifier of a system daftar knows (others, a hospital's record number say, are
/// passed over).
fn patient_id(identifiers: &[(&str, &str)]) -> Result<PatientId, RequestError> {
    if identifiers.is_empty() {
        return Err(RequestError::NoIdentifier);
    }
    if identifiers.iter().any(|(s, _)| TUNISIAN.contains(s)) {
        return tunisian_pair(identifiers);
    }
    let known = [systems::IR_NATIONAL_CODE, systems::KZ_IIN];
    let (system, value) = identifiers
        .iter()
        .find(|(s, _)| known.contains(s))
        .ok_or(RequestError::UnknownSystem)?;
    checked(system, value)
}

/// One CIN and one matricule (CNAM's or the mutual fund's, which names the fund), each read.
fn tunisian_pair(identifiers: &[(&str, &str)]) -> Result<PatientId, RequestError> {
    let of = |system: &str| -> Vec<&str> {
        identifiers
            .iter()
            .filter(|(s, _)| *s == system)
            .map(|(_, v)| *v)
            .collect()
    };
    let cins = of(systems::TN_CIN);
    let (cnam, mutual) = (
        of(systems::TN_CNAM_MATRICULE),
        of(systems::TN_MUTUAL_MEMBER),
    );
    let (fund, matricule) = match (cnam.as_slice(), mutual.as_slice()) {
        ([matricule], []) => (Fund::Cnam, *matricule),
        ([], [matricule]) => (Fund::Mutual, *matricule),
        _ => return Err(RequestError::IncompletePair),
    };
    let [cin] = cins.as_slice() else {
        return Err(RequestError::IncompletePair);
    };
    Ok(PatientId::Tunisia {
        fund,
        matricule: Matricule::parse(matricule)
            .map_err(|e| RequestError::BadHalf("matricule", e))?,
        cin: Cin::parse(cin).map_err(|e| RequestError::BadHalf("CIN", e))?,
    })
}

/// An Iranian or Kazakh identifier checked by its system's rules.
fn checked(system: &str, value: &str) -> Result<PatientId, RequestError> {
    match system {
        systems::IR_NATIONAL_CODE => IranId::parse(value, None)
            .map(PatientId::Iran)
            .map_err(RequestError::BadIdentifier),
        systems::KZ_IIN => Iin::parse(value)
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
    use systems::{IR_NATIONAL_CODE as SYSTEM_IR, TN_CIN, TN_CNAM_MATRICULE, TN_MUTUAL_MEMBER};

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
        let asked = parsed(&contained(SYSTEM_IR, CODE)).expect("valid");
        assert_eq!(asked.patient.identifiers(), [(SYSTEM_IR, CODE)]);
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
            "patient": {"identifier": {"system": SYSTEM_IR, "value": CODE}}
        });
        let asked = parsed(&request).expect("valid");
        assert_eq!(asked.patient.identifiers(), [(SYSTEM_IR, CODE)]);
        assert_eq!(asked.msisdn, None);
    }

    #[test]
    fn each_fault_has_its_reason() {
        let mut no_purpose = contained(SYSTEM_IR, CODE);
        no_purpose.as_object_mut().unwrap().remove("purpose");
        let mut bad_purpose = contained(SYSTEM_IR, CODE);
        bad_purpose["purpose"] = json!(["everything"]);
        let mut wrong = contained(SYSTEM_IR, CODE);
        wrong["resourceType"] = json!("Coverage");
        let mut dangling = contained(SYSTEM_IR, CODE);
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
                contained(SYSTEM_IR, "0012345678"),
                RequestError::BadIdentifier(IdError::CheckDigit),
            ),
        ];
        for (request, want) in cases {
            assert_eq!(parsed(&request).expect_err("refused"), want);
        }
        assert_eq!(parse(b"{").expect_err("refused"), RequestError::NotJson);
    }

    /// A request whose contained patient carries `identifiers` (system, value).
    fn with_identifiers(identifiers: &[(&str, &str)]) -> Value {
        let mut request = contained(SYSTEM_IR, CODE);
        request["contained"][0]["identifier"] = identifiers
            .iter()
            .map(|(system, value)| json!({"system": system, "value": value}))
            .collect();
        request
    }

    #[test]
    fn a_tunisian_pair_names_its_fund_by_the_matricules_system() {
        let cnam = parsed(&with_identifiers(&[
            ("urn:oid:2.16.788.1", "MRN-1"),
            (TN_CIN, "08 123 456"),
            (TN_CNAM_MATRICULE, "966433"),
        ]))
        .expect("valid");
        assert_eq!(cnam.patient.service(), "cnam");
        assert_eq!(
            cnam.patient.identifiers(),
            [(TN_CNAM_MATRICULE, "00966433"), (TN_CIN, "08123456")]
        );
        let mutual = parsed(&with_identifiers(&[
            (TN_MUTUAL_MEMBER, "55000001"),
            (TN_CIN, "07100001"),
        ]))
        .expect("valid");
        assert_eq!(mutual.patient.service(), "mutual");
    }

    #[test]
    fn a_pair_needs_both_halves_once_each_read_by_its_kind() {
        let cases = [
            (vec![(TN_CIN, "08123456")], RequestError::IncompletePair),
            (
                vec![(TN_CNAM_MATRICULE, "11966433")],
                RequestError::IncompletePair,
            ),
            (
                vec![
                    (TN_CNAM_MATRICULE, "11966433"),
                    (TN_MUTUAL_MEMBER, "55000001"),
                    (TN_CIN, "08123456"),
                ],
                RequestError::IncompletePair,
            ),
            (
                vec![
                    (TN_CNAM_MATRICULE, "11966433"),
                    (TN_CIN, "08123456"),
                    (TN_CIN, "08123457"),
                ],
                RequestError::IncompletePair,
            ),
            (
                vec![(TN_CNAM_MATRICULE, "00/11966433"), (TN_CIN, "08123456")],
                RequestError::BadHalf("matricule", IdError::KeyIncluded),
            ),
            (
                vec![(TN_CNAM_MATRICULE, "11966433"), (TN_CIN, "0812345")],
                RequestError::BadHalf("CIN", IdError::WrongLength),
            ),
            (
                vec![(TN_CNAM_MATRICULE, "11966433"), (TN_CIN, "٠٨١٢٣٤٥x")],
                RequestError::BadHalf("CIN", IdError::NotDigits),
            ),
            (
                vec![(TN_MUTUAL_MEMBER, ""), (TN_CIN, "08123456")],
                RequestError::BadHalf("matricule", IdError::Empty),
            ),
            (
                vec![("urn:oid:1.2.3", "08123456")],
                RequestError::UnknownSystem,
            ),
            (vec![], RequestError::NoIdentifier),
        ];
        for (identifiers, want) in cases {
            let got = parsed(&with_identifiers(&identifiers)).expect_err("refused");
            assert_eq!(got, want, "{identifiers:?}");
            let said = got.to_string();
            for (_, value) in &identifiers {
                assert!(value.is_empty() || !said.contains(value), "{said}");
            }
        }
    }
}
