//! Validators by the names menu files give them: each turns what the caller typed into a typed
//! [`Answer`] (a national code padded to ten digits, say), or names the message key that
//! explains what was wrong. Pure; the identifier rules themselves live in `ids`.
//!
//! [`Validator`] (declared in `catalog`, with its names and error keys) is the one declaration
//! of what menu files may name: `daftar check` and the walk both read it.

use crate::catalog::error_key;
use crate::catalog::Validator;
use crate::ids::{Cin, Iin, IranId, Matricule, NationalCode};
use crate::menu::ServiceSpec;
use crate::session::Answer;

impl Validator {
    /// Checks `input`: the answer to keep, or the message key that explains what was wrong.
    pub(crate) fn check(self, input: &str, spec: &ServiceSpec) -> Result<Answer, &'static str> {
        let answer = match self {
            Validator::IrNationalCode => NationalCode::parse(input).map(Answer::NationalCode),
            Validator::IrNationalCodeOrForeign => {
                IranId::parse(input, spec.foreign_number_length).map(Answer::from)
            }
            Validator::KzIin => Iin::parse(input).map(Answer::Iin),
            Validator::TnMatricule => Matricule::parse(input).map(Answer::Matricule),
            Validator::TnCin => Cin::parse(input).map(Answer::Cin),
        };
        answer.map_err(error_key)
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
            Answer::Matricule(m) => ("matricule", m.to_string()),
            Answer::Cin(cin) => ("cin", cin.to_string()),
            Answer::Count(n) => ("count", n.to_string()),
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
            (TnMatricule, "11966433", Ok(("matricule", "11966433"))),
            (TnMatricule, "966433", Ok(("matricule", "00966433"))),
            (TnMatricule, "١١٩٦٦٤٣٣", Ok(("matricule", "11966433"))),
            (TnMatricule, "00/11966433", Err("error.key_included")),
            (TnMatricule, "0011966433", Err("error.key_included")),
            (TnMatricule, "", Err("error.empty")),
            (TnMatricule, "12", Err("error.length")),
            (TnMatricule, "matricule", Err("error.not_digits")),
            (TnCin, "08123456", Ok(("cin", "08123456"))),
            (TnCin, "٠٨١٢٣٤٥٦", Ok(("cin", "08123456"))),
            (TnCin, "0812 3456", Ok(("cin", "08123456"))),
            (TnCin, "0812345", Err("error.length")),
            (TnCin, "081234567", Err("error.length")),
            (TnCin, "0812345x", Err("error.not_digits")),
            (TnCin, "", Err("error.empty")),
        ];
        for (validator, input, want) in cases {
            let got = validator.check(input, &spec());
            let got = got.as_ref().map(digits);
            let want = want.map(|(kind, d)| (kind, d.to_string()));
            assert_eq!(got.map_err(|e| *e), want, "{validator:?} {input:?}");
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
            "00/11966433",
            "0011966433",
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
