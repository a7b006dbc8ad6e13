//! Property tests of the validators (issue 11): no string makes one panic; a valid identifier
//! reads back the same through its display, with dashes and spaces anywhere, and in Persian or
//! Arabic-Indic digits.

use proptest::prelude::*;

use super::*;
use crate::fuzzing::in_script;

/// `digits` with a dash, a space or nothing after each digit, as `marks` says.
fn marked(digits: &str, marks: &[u8]) -> String {
    let mut out = String::new();
    for (c, mark) in digits.chars().zip(marks.iter().cycle()) {
        out.push(c);
        match mark % 4 {
            0 => out.push('-'),
            1 => out.push(' '),
            _ => {}
        }
    }
    out
}

/// Each form a caller may type `digits` in must parse to `value`.
fn reads_back<T: PartialEq + fmt::Display>(
    value: &T,
    marks: &[u8],
    parse: impl Fn(&str) -> Result<T, IdError>,
) -> Result<(), TestCaseError> {
    let shown = value.to_string();
    for form in [
        shown.clone(),
        marked(&shown, marks),
        in_script(&shown, '۰'),
        in_script(&marked(&shown, marks), '٠'),
    ] {
        let again = parse(&form);
        prop_assert!(again.as_ref().is_ok_and(|v| v == value), "{form}");
    }
    Ok(())
}

fn digit_array<const N: usize>() -> impl Strategy<Value = [u8; N]> {
    proptest::array::uniform::<_, N>(0u8..10)
}

fn as_digits(values: &[u8]) -> String {
    values.iter().map(|d| char::from(b'0' + d)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_string_makes_a_validator_panic(text in "\\PC{0,40}", len in 0usize..25) {
        let _ = NationalCode::parse(&text);
        let _ = Iin::parse(&text);
        let _ = Cin::parse(&text);
        let _ = Matricule::parse(&text);
        let _ = ForeignNumber::parse(&text, len);
        let _ = IranId::parse(&text, Some(len));
        let _ = normalize_digits(&text);
    }

    #[test]
    fn digit_like_strings_never_panic(text in "[0-9۰-۹٠-٩ /\\-]{0,30}") {
        let _ = NationalCode::parse(&text);
        let _ = Iin::parse(&text);
        let _ = Matricule::parse(&text);
    }

    #[test]
    fn a_valid_national_code_reads_back(nine in digit_array::<9>(), marks in prop::collection::vec(any::<u8>(), 10)) {
        let mut digits = as_digits(&nine);
        digits.push(char::from(b'0' + national_check_digit(&nine)));
        prop_assume!(!digits.chars().all(|c| digits.starts_with(c)));
        let code = NationalCode::parse(&digits).expect("valid by construction");
        reads_back(&code, &marks, NationalCode::parse)?;
    }

    #[test]
    fn a_valid_iin_reads_back(
        date in (0u8..100, 1u8..13, 1u8..29),
        century in 1u8..7,
        serial in digit_array::<4>(),
        marks in prop::collection::vec(any::<u8>(), 12),
    ) {
        let (year, month, day) = date;
        let mut eleven = [0u8; 11];
        eleven[..6].copy_from_slice(&[year / 10, year % 10, month / 10, month % 10, day / 10, day % 10]);
        eleven[6] = century;
        eleven[7..].copy_from_slice(&serial);
        let control = iin_control_digit(&eleven);
        prop_assume!(control.is_some());
        let mut digits = as_digits(&eleven);
        digits.push(char::from(b'0' + control.unwrap_or_default()));
        let iin = Iin::parse(&digits).expect("valid by construction");
        reads_back(&iin, &marks, Iin::parse)?;
    }

    #[test]
    fn a_cin_a_matricule_and_a_foreign_number_read_back(
        eight in digit_array::<8>(),
        short in 4usize..9,
        len in 1usize..=ForeignNumber::MAX_DIGITS,
        marks in prop::collection::vec(any::<u8>(), 20),
    ) {
        let digits = as_digits(&eight);
        reads_back(&Cin::parse(&digits).expect("eight digits"), &marks, Cin::parse)?;
        let matricule = Matricule::parse(&digits[..short]).expect("four to eight digits");
        reads_back(&matricule, &marks, Matricule::parse)?;
        let long: String = digits.chars().cycle().take(len).collect();
        let number = ForeignNumber::parse(&long, len).expect("len digits");
        reads_back(&number, &marks, |s| ForeignNumber::parse(s, len))?;
    }
}
