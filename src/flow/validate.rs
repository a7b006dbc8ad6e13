//! Validators by the names menu files give them: each turns what the caller typed into the
//! value an action reads (a national code padded to ten digits, say), or names the message
//! key that explains what was wrong. Pure; the identifier rules themselves live in `ids`.

use crate::ids::{parse_foreign_number, IdError, Iin, NationalCode};
use crate::menu::ServiceSpec;

/// The validators menu files may name.
const KNOWN: &[&str] = &["ir_national_code", "ir_national_code_or_foreign", "kz_iin"];

/// Every message key a validator's errors can lead to.
const ERROR_KEYS: &[&str] = &[
    "error.empty",
    "error.not_digits",
    "error.length",
    "error.repeated",
    "error.check_digit",
    "error.bad_date",
];

pub fn is_known(name: &str) -> bool {
    KNOWN.contains(&name)
}

/// The message keys that the errors of `name` use (all validators share them).
pub fn error_keys(name: &str) -> &'static [&'static str] {
    if is_known(name) {
        ERROR_KEYS
    } else {
        &[]
    }
}

/// Checks `input` with validator `name`: the value to keep, or the message key to explain.
pub fn validate(name: &str, input: &str, spec: &ServiceSpec) -> Result<String, &'static str> {
    let result = match name {
        "ir_national_code" => NationalCode::parse(input).map(|c| c.as_str().to_string()),
        "ir_national_code_or_foreign" => national_or_foreign(input, spec.foreign_number_length),
        "kz_iin" => Iin::parse(input).map(|c| c.as_str().to_string()),
        _ => Err(IdError::NotDigits),
    };
    result.map_err(error_key)
}

/// A foreign national's number when it has exactly the configured length, else a national code.
fn national_or_foreign(input: &str, foreign_len: Option<usize>) -> Result<String, IdError> {
    if let Some(len) = foreign_len {
        let digits = crate::ids::normalize_digits(input);
        if digits.len() == len && len != 10 {
            return parse_foreign_number(input, len);
        }
    }
    NationalCode::parse(input).map(|c| c.as_str().to_string())
}

fn error_key(error: IdError) -> &'static str {
    match error {
        IdError::Empty => "error.empty",
        IdError::NotDigits => "error.not_digits",
        IdError::WrongLength => "error.length",
        IdError::RepeatedDigits => "error.repeated",
        IdError::CheckDigit => "error.check_digit",
        IdError::BadDate => "error.bad_date",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ServiceSpec {
        ServiceSpec {
            id: "tamin".into(),
            insurer: "tamin".into(),
            codes: vec![],
            locales: vec!["fa".into()],
            time_zone: "Asia/Tehran".into(),
            complaints: None,
            start: "main".into(),
            foreign_number_length: Some(12),
        }
    }

    #[test]
    fn each_input_gets_its_value_or_its_message() {
        let cases: &[(&str, &str, Result<&str, &str>)] = &[
            ("ir_national_code", "0012345679", Ok("0012345679")),
            ("ir_national_code", "12345679", Ok("0012345679")),
            ("ir_national_code", "۰۰۱۲۳۴۵۶۷۹", Ok("0012345679")),
            ("ir_national_code", "0012345678", Err("error.check_digit")),
            ("ir_national_code", "1111111111", Err("error.repeated")),
            ("ir_national_code", "", Err("error.empty")),
            ("ir_national_code", "abc", Err("error.not_digits")),
            ("ir_national_code", "123", Err("error.length")),
            (
                "ir_national_code_or_foreign",
                "123456789012",
                Ok("123456789012"),
            ),
            (
                "ir_national_code_or_foreign",
                "0012345679",
                Ok("0012345679"),
            ),
            (
                "ir_national_code_or_foreign",
                "12345678901",
                Err("error.length"),
            ),
            ("kz_iin", "900515300127", Ok("900515300127")),
            ("kz_iin", "900515300120", Err("error.check_digit")),
            ("kz_iin", "90051530012", Err("error.length")),
            ("kz_iin", "ИИН", Err("error.not_digits")),
        ];
        for (validator, input, want) in cases {
            let got = validate(validator, input, &spec());
            assert_eq!(
                got.as_deref().map_err(|e| *e),
                *want,
                "{validator} {input:?}"
            );
        }
    }

    #[test]
    fn every_error_has_a_key_the_checker_knows() {
        for e in IdError::ALL {
            assert!(ERROR_KEYS.contains(&error_key(e)));
        }
    }
}
