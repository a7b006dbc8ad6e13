//! Validators by the names menu files give them: each turns what the caller typed into a typed
//! [`Answer`] (a national code padded to ten digits, say), or names the message key that
//! explains what was wrong. Pure; the identifier rules themselves live in `ids`.
//!
//! [`Validator`] is the one declaration of what menu files may name: `daftar check` and the
//! walk both read it.

use crate::ids::{IdError, Iin, IranId, NationalCode};
use crate::menu::ServiceSpec;
use crate::session::Answer;

/// The validators menu files may name (`validator = "kz_iin"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Validator {
    /// An Iranian national code.
    IrNationalCode,
    /// An Iranian national code, or a foreign national's number of the configured length.
    IrNationalCodeOrForeign,
    /// A Kazakh IIN.
    KzIin,
}

impl Validator {
    pub const ALL: [Validator; 3] = [
        Validator::IrNationalCode,
        Validator::IrNationalCodeOrForeign,
        Validator::KzIin,
    ];

    /// The name menu files use.
    pub fn name(self) -> &'static str {
        match self {
            Validator::IrNationalCode => "ir_national_code",
            Validator::IrNationalCodeOrForeign => "ir_national_code_or_foreign",
            Validator::KzIin => "kz_iin",
        }
    }

    /// The validator a menu file names, or `None` for a name the code does not know.
    pub fn from_name(name: &str) -> Option<Validator> {
        Validator::ALL.into_iter().find(|v| v.name() == name)
    }

    /// The errors this validator can give.
    fn errors(self) -> &'static [IdError] {
        const NATIONAL: &[IdError] = &[
            IdError::Empty,
            IdError::NotDigits,
            IdError::WrongLength,
            IdError::RepeatedDigits,
            IdError::CheckDigit,
        ];
        const IIN: &[IdError] = &[
            IdError::Empty,
            IdError::NotDigits,
            IdError::WrongLength,
            IdError::CheckDigit,
            IdError::BadDate,
        ];
        match self {
            Validator::IrNationalCode | Validator::IrNationalCodeOrForeign => NATIONAL,
            Validator::KzIin => IIN,
        }
    }

    /// The message keys this validator's errors lead to (each needs words in every locale).
    pub fn error_keys(self) -> impl Iterator<Item = &'static str> {
        self.errors().iter().map(|e| error_key(*e))
    }

    /// Checks `input`: the answer to keep, or the message key that explains what was wrong.
    pub fn check(self, input: &str, spec: &ServiceSpec) -> Result<Answer, &'static str> {
        let answer = match self {
            Validator::IrNationalCode => NationalCode::parse(input).map(Answer::NationalCode),
            Validator::IrNationalCodeOrForeign => {
                IranId::parse(input, spec.foreign_number_length).map(Answer::from)
            }
            Validator::KzIin => Iin::parse(input).map(Answer::Iin),
        };
        answer.map_err(error_key)
    }
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

    /// What an answer holds, as text, to compare with the table.
    fn digits(answer: &Answer) -> (&'static str, String) {
        match answer {
            Answer::NationalCode(code) => ("national_code", code.to_string()),
            Answer::Iin(iin) => ("iin", iin.to_string()),
            Answer::Foreign(number) => ("foreign", number.to_string()),
        }
    }

    /// The kind of answer kept and its digits.
    type Kept = (&'static str, &'static str);

    #[test]
    fn each_input_gets_its_typed_answer_or_its_message() {
        use Validator::*;
        let cases: &[(Validator, &str, Result<Kept, &str>)] = &[
            (
                IrNationalCode,
                "0012345679",
                Ok(("national_code", "0012345679")),
            ),
            (
                IrNationalCode,
                "12345679",
                Ok(("national_code", "0012345679")),
            ),
            (
                IrNationalCode,
                "۰۰۱۲۳۴۵۶۷۹",
                Ok(("national_code", "0012345679")),
            ),
            (IrNationalCode, "0012345678", Err("error.check_digit")),
            (IrNationalCode, "1111111111", Err("error.repeated")),
            (IrNationalCode, "", Err("error.empty")),
            (IrNationalCode, "abc", Err("error.not_digits")),
            (IrNationalCode, "123", Err("error.length")),
            (IrNationalCode, "123456789012", Err("error.length")),
            (
                IrNationalCodeOrForeign,
                "123456789012",
                Ok(("foreign", "123456789012")),
            ),
            (
                IrNationalCodeOrForeign,
                "0012345679",
                Ok(("national_code", "0012345679")),
            ),
            (IrNationalCodeOrForeign, "12345678901", Err("error.length")),
            (
                IrNationalCodeOrForeign,
                "12345678901x",
                Err("error.not_digits"),
            ),
            (KzIin, "900515300127", Ok(("iin", "900515300127"))),
            (KzIin, "900515300120", Err("error.check_digit")),
            (KzIin, "90051530012", Err("error.length")),
            (KzIin, "901315300120", Err("error.bad_date")),
            (KzIin, "ИИН", Err("error.not_digits")),
        ];
        for (validator, input, want) in cases {
            let got = validator.check(input, &spec());
            let got = got.as_ref().map(digits);
            let want = want.map(|(kind, d)| (kind, d.to_string()));
            assert_eq!(got.map_err(|e| *e), want, "{validator:?} {input:?}");
        }
    }

    #[test]
    fn names_read_back_and_unknown_names_are_none() {
        for v in Validator::ALL {
            assert_eq!(Validator::from_name(v.name()), Some(v));
        }
        for unknown in ["", "psychic", "KZ_IIN", "kz_iin "] {
            assert_eq!(Validator::from_name(unknown), None, "{unknown:?}");
        }
    }

    #[test]
    fn every_error_a_validator_gives_is_declared_with_its_key() {
        let inputs = [
            "",
            "x",
            "12",
            "0012345678",
            "1111111111",
            "900515300120",
            "901315300120",
            "12345678901",
            "123456789012345",
        ];
        for v in Validator::ALL {
            let keys: Vec<&str> = v.error_keys().collect();
            for input in inputs {
                if let Err(key) = v.check(input, &spec()) {
                    assert!(keys.contains(&key), "{v:?} {input:?}: {key} undeclared");
                }
            }
        }
    }
}
