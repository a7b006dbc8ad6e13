//! Why a feed line is not a change, in words that never repeat the line's values (SPEC §8).
//!
//! serde and serde_json quote the value they choke on (`invalid type: integer `12345679`,
//! expected a string`), and a feed's values are national identifiers, MSISDNs and names. A
//! reject message names the field (its path in the change: `person.msisdns[0]`), the rule the
//! value broke (`invalid type: integer, expected a string`) and nothing of the value, so the
//! real error stays readable and no value reaches a log, the admin API or `sync`'s report.
//!
//! Only the error path pays for this: a line that parses is parsed once, as before; one that
//! does not is parsed again with its path tracked (serde_path_to_error).

use serde_path_to_error::Segment;

use crate::record::{Change, Person};
use crate::value_free::{is_field_name, plain};

/// Why `text` (a line known not to parse as a [`Change`]) is not one: where, and what rule.
///
/// serde reads a change's `op` variant from a buffer (the tag may come last), which loses the
/// path: a person is read again on its own to find the field, and a top-level field is named by
/// the kind of value the rule names when one field alone holds that kind.
pub(crate) fn reason(text: &str) -> String {
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(error) => return rule(&error),
    };
    if let Some(person) = value.get("person") {
        if let Err(error) = serde_path_to_error::deserialize::<_, Person>(person) {
            let at = path(error.path().iter());
            return placed(&format!("person.{at}"), rule(error.inner()));
        }
    }
    match serde_path_to_error::deserialize::<_, Change>(&value) {
        Ok(_) => "not a change".to_string(),
        Err(error) => {
            let rule = rule(error.inner());
            let at = path(error.path().iter());
            let at = if at.is_empty() {
                top_field_of_kind(&value, &rule).unwrap_or_default()
            } else {
                at
            };
            placed(&at, rule)
        }
    }
}

/// `at: rule`, or the rule alone when there is no place to name.
fn placed(at: &str, rule: String) -> String {
    let at = at.trim_end_matches('.');
    if at.is_empty() {
        rule
    } else {
        format!("{at}: {rule}")
    }
}

/// The one top-level field (`seq` aside, when it is a whole number) whose value is of the kind an `invalid type: <kind>` rule names.
fn top_field_of_kind(value: &serde_json::Value, rule: &str) -> Option<String> {
    let kind = rule.strip_prefix("invalid type: ")?.split(',').next()?;
    let of_kind = |v: &serde_json::Value| match kind {
        "integer" | "floating point" => v.is_number(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "map" => v.is_object(),
        "sequence" => v.is_array(),
        "null" => v.is_null(),
        _ => false,
    };
    let mut fields = value
        .as_object()?
        .iter()
        // A whole-number `seq` is what it must be: never the field at fault.
        .filter(|(key, v)| !(key.as_str() == "seq" && v.is_u64()))
        .filter(|(key, v)| is_field_name(key) && of_kind(v))
        .map(|(key, _)| key.clone());
    let field = fields.next()?;
    fields.next().is_none().then_some(field)
}

/// A path of field names and indices; a map key that is not a field name (a month of
/// `contributions`, or whatever a line put there) is written `*`.
fn path<'a>(segments: impl Iterator<Item = &'a Segment>) -> String {
    let mut out = String::new();
    for segment in segments {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(if is_field_name(key) { key } else { "*" });
            }
            Segment::Unknown => {}
        }
    }
    out
}

/// The rule the value broke, without the value. A syntax error quotes no value (only where
/// it is: `expected `,` or `}` at line 1 column 20`); a data error is rewritten from serde's
/// standard forms.
fn rule(error: &serde_json::Error) -> String {
    let text = error.to_string();
    if !error.is_data() {
        return text;
    }
    // A data error ends in " at line L column C" (serde_json's addition): the path says where.
    let text = text
        .rsplit_once(" at line ")
        .map_or(text.as_str(), |(t, _)| t);
    plain(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line, and what its reject message must say; none of its values may appear.
    #[test]
    fn a_reason_names_the_field_and_the_rule_never_the_value() {
        let cases = [
            (
                r#"{"seq": 4, "op": "delete", "insurer": "tamin", "person_id": 12345679}"#,
                "person_id: invalid type: integer, expected a string",
                "12345679",
            ),
            (
                r#"{"seq": 5, "op": "upsert", "person": {"insurer": "tamin", "person_id": "0012-345-679", "name": "Z. Ahmadi", "msisdns": [989121234567]}}"#,
                "person.msisdns[0]: invalid type: integer, expected a string",
                "989121234567",
            ),
            (
                r#"{"seq": 6, "op": "upsert", "person": {"insurer": "tamin", "person_id": "0012345679", "birth_date": "Z. Ahmadi"}}"#,
                "person.birth_date: not a YYYY-MM-DD date",
                "Ahmadi",
            ),
            (
                r#"{"seq": 7, "op": "0012-345-679"}"#,
                "unknown value, expected one of",
                "0012-345-679",
            ),
            (
                r#"{"seq": 8, "op": "upsert", "person": {"insurer": "osms", "person_id": "0012345679", "contributions": {"Z. Ahmadi": true}}}"#,
                "person.contributions",
                "Ahmadi",
            ),
        ];
        for (line, want, value) in cases {
            let message = reason(line);
            assert!(message.contains(want), "{line}\n{message}");
            assert!(!message.contains(value), "{message}");
        }
    }

    #[test]
    fn serde_forms_lose_their_values() {
        let cases = [
            ("missing field `person_id`", "missing field `person_id`"),
            (
                "unknown field `0012345679`, expected `seq`",
                "unknown field, expected `seq`",
            ),
            (
                "invalid value: string \"0012, expected 345\", expected a date",
                "invalid value: string, expected a date",
            ),
            (
                "invalid length 3, expected 2",
                "invalid length 3, expected 2",
            ),
            ("no month \"0012345679\" here", "no month \"…\" here"),
            ("open `0012345679", "open `…"),
        ];
        for (text, want) in cases {
            assert_eq!(plain(text), want);
        }
    }
}
