//! Identifier validators: the Iranian national code (code-melli), the Kazakh IIN, the bare
//! number a foreign national holds in Iran, and Tunisia's CIN and CNAM matricule.
//!
//! A caller types an identifier on a phone keypad, in Persian or Arabic-Indic digits, with spaces
//! or dashes (SPEC §3 "Bad input"); [`normalize_digits`] reads that, and each parser turns it into
//! a newtype that can only hold a valid value, or an [`IdError`] that the flow maps to a localized
//! explanation. Pure: no IO, no store, no clock. Never logs, and never echoes the input in an
//! error or a `Debug` (SPEC §8: no identifier in clear in a log).
//!
//! A validated identifier keeps its type all the way down (session, inquiry, store key). Each
//! serialises as its digits and deserialises through its parser, so a session read back from a
//! store (another node's, say) can only hold a valid identifier.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Why a typed identifier was refused. The flow shows a localized message per variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum IdError {
    #[error("no identifier was entered")]
    Empty,
    #[error("the identifier must contain digits only")]
    NotDigits,
    #[error("the identifier has the wrong number of digits")]
    WrongLength,
    #[error("an identifier of identical digits is not issued")]
    RepeatedDigits,
    #[error("the check digit does not match")]
    CheckDigit,
    #[error("the identifier does not hold a real birth date")]
    BadDate,
    /// A CNAM matricule typed with its key (`00/11966433`, or ten digits): the notice asks for
    /// it without (seed 000).
    #[error("the matricule must be written without its key")]
    KeyIncluded,
}

impl IdError {
    /// Every error, for tables that must have a message for each.
    #[cfg(test)]
    pub(crate) const ALL: [IdError; 7] = [
        IdError::Empty,
        IdError::NotDigits,
        IdError::WrongLength,
        IdError::RepeatedDigits,
        IdError::CheckDigit,
        IdError::BadDate,
        IdError::KeyIncluded,
    ];
}

/// Longest input, in bytes, that is worth reading: an identifier of 12 digits typed in Persian
/// digits with a mark between each pair stays far below it. Anything longer is refused before any
/// work, so a hostile or broken aggregator cannot make a validator slow.
const MAX_INPUT_BYTES: usize = 256;

/// Reads digits as a phone may send them: Persian (U+06F0–06F9) and Arabic-Indic (U+0660–0669)
/// digits become ASCII; spaces (ASCII space, tab, no-break spaces U+00A0 and U+202F, the
/// zero-width non-joiner U+200C and the direction marks U+200E, U+200F, U+061C that RTL keyboards
/// slip in) and dashes (`-`, U+2010–U+2015, U+2212) are removed wherever they are; the result is
/// trimmed. Every other character is left in place so that the parser can refuse it.
pub(crate) fn normalize_digits(input: &str) -> String {
    input
        .chars()
        .filter(|c| !is_ignored(*c))
        .map(ascii_digit)
        .collect::<String>()
        .trim()
        .to_owned()
}

fn is_ignored(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t'
            | '\u{00A0}'
            | '\u{202F}'
            | '\u{200C}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{061C}'
            | '-'
            | '\u{2010}'..='\u{2015}' | '\u{2212}'
    )
}

fn ascii_digit(c: char) -> char {
    let zero = match c {
        '\u{06F0}'..='\u{06F9}' => '\u{06F0}',
        '\u{0660}'..='\u{0669}' => '\u{0660}',
        _ => return c,
    };
    let value = c as u32 - zero as u32;
    char::from_digit(value, 10).unwrap_or(c)
}

/// Normalizes and checks that only ASCII digits are left (lengths are the caller's business).
fn digits_of(input: &str) -> Result<String, IdError> {
    if input.len() > MAX_INPUT_BYTES {
        return Err(IdError::WrongLength);
    }
    let digits = normalize_digits(input);
    if digits.is_empty() {
        return Err(IdError::Empty);
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(IdError::NotDigits);
    }
    Ok(digits)
}

/// The values of the first `N` digits of a string already known to hold at least `N` ASCII
/// digits (`None` when it is shorter).
fn leading<const N: usize>(digits: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    let bytes = digits.as_bytes().get(..N)?;
    for (d, b) in out.iter_mut().zip(bytes) {
        *d = b.wrapping_sub(b'0');
    }
    Some(out)
}

/// An Iranian national code (code-melli): ten digits, the last a check digit.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub(crate) struct NationalCode(String);

impl NationalCode {
    /// Reads a typed national code. Eight or nine digits are a code typed without its leading
    /// zeros and are padded (SPEC §3). Ten equal digits are refused although their checksum
    /// holds (CRATES.md §3: `1111111111` passes it).
    pub(crate) fn parse(input: &str) -> Result<NationalCode, IdError> {
        let digits = digits_of(input)?;
        let code = match digits.len() {
            8 | 9 => format!("{digits:0>10}"),
            10 => digits,
            _ => return Err(IdError::WrongLength),
        };
        let d: [u8; 10] = leading(&code).ok_or(IdError::WrongLength)?;
        if d.iter().all(|x| *x == d[0]) {
            return Err(IdError::RepeatedDigits);
        }
        let first_nine: [u8; 9] = leading(&code).ok_or(IdError::WrongLength)?;
        if national_check_digit(&first_nine) != d[9] {
            return Err(IdError::CheckDigit);
        }
        Ok(NationalCode(code))
    }

    /// The ten ASCII digits.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// The check digit of a national code: `s = Σ dᵢ·(10−i)` over the first nine digits,
/// `r = s mod 11`; the digit is `r` when `r < 2`, else `11 − r`. The feed generator makes its
/// codes with it too.
pub(crate) fn national_check_digit(first_nine: &[u8; 9]) -> u8 {
    let s: u32 = first_nine
        .iter()
        .zip((2..=10).rev())
        .map(|(d, w)| u32::from(*d) * w)
        .sum();
    let r = (s % 11) as u8;
    if r < 2 {
        r
    } else {
        11 - r
    }
}

impl fmt::Display for NationalCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Kept out of logs: `{:?}` never shows the digits.
impl fmt::Debug for NationalCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NationalCode(..)")
    }
}

impl FromStr for NationalCode {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NationalCode::parse(s)
    }
}

impl TryFrom<String> for NationalCode {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        NationalCode::parse(&s)
    }
}

impl From<NationalCode> for String {
    fn from(code: NationalCode) -> String {
        code.0
    }
}

/// A Kazakh individual identification number: `YYMMDD`, a century/sex digit, a serial of four
/// digits and a control digit.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub(crate) struct Iin {
    digits: String,
    birth: Date,
}

const IIN_WEIGHTS: [u32; 11] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const IIN_WEIGHTS_AGAIN: [u32; 11] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2];

impl Iin {
    /// Reads a typed IIN: twelve digits, a real birth date in the first seven, a matching control
    /// digit. A number whose control sum is 10 under both sets of weights is never issued.
    pub(crate) fn parse(input: &str) -> Result<Iin, IdError> {
        let digits = digits_of(input)?;
        if digits.len() != 12 {
            return Err(IdError::WrongLength);
        }
        let d: [u8; 12] = leading(&digits).ok_or(IdError::WrongLength)?;
        let birth = iin_birth_date(&d).ok_or(IdError::BadDate)?;
        let first_eleven: [u8; 11] = leading(&digits).ok_or(IdError::WrongLength)?;
        if iin_control_digit(&first_eleven) != Some(d[11]) {
            return Err(IdError::CheckDigit);
        }
        Ok(Iin { digits, birth })
    }

    /// The twelve ASCII digits.
    pub(crate) fn as_str(&self) -> &str {
        &self.digits
    }

    /// The birth date the number carries.
    #[cfg(test)]
    pub(crate) fn birth_date(&self) -> Date {
        self.birth
    }
}

/// `YYMMDD` with the century from the seventh digit: 1–2 the 1800s, 3–4 the 1900s, 5–6 the
/// 2000s (odd for men, even for women); 0 and 7–9 are not issued.
fn iin_birth_date(d: &[u8; 12]) -> Option<Date> {
    let century: u32 = match d[6] {
        1 | 2 => 1800,
        3 | 4 => 1900,
        5 | 6 => 2000,
        _ => return None,
    };
    let two = |i: usize| Some(u32::from(*d.get(i)?) * 10 + u32::from(*d.get(i + 1)?));
    let year = i16::try_from(century + two(0)?).ok()?;
    let month = i8::try_from(two(2)?).ok()?;
    let day = i8::try_from(two(4)?).ok()?;
    Date::new(year, month, day).ok()
}

/// The control digit of an IIN: `c = Σ dᵢ·wᵢ mod 11` with weights 1…11; when it is 10, again
/// with weights 3…11, 1, 2; when that is 10 too there is no valid control digit (`None`). The
/// feed generator makes its IINs with it too.
pub(crate) fn iin_control_digit(first_eleven: &[u8; 11]) -> Option<u8> {
    let sum = |w: &[u32; 11]| -> u32 {
        first_eleven
            .iter()
            .zip(w)
            .map(|(d, w)| u32::from(*d) * w)
            .sum::<u32>()
            % 11
    };
    [sum(&IIN_WEIGHTS), sum(&IIN_WEIGHTS_AGAIN)]
        .into_iter()
        .find(|c| *c != 10)
        .map(|c| c as u8)
}

impl fmt::Display for Iin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.digits)
    }
}

/// Kept out of logs: `{:?}` never shows the digits.
impl fmt::Debug for Iin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Iin(..)")
    }
}

impl FromStr for Iin {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Iin::parse(s)
    }
}

impl TryFrom<String> for Iin {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        Iin::parse(&s)
    }
}

impl From<Iin> for String {
    fn from(iin: Iin) -> String {
        iin.digits
    }
}

/// A foreign national's number in Iran (SPEC §2.1 option 2): digits only, no check digit; how
/// many is configuration (`foreign_number_length`), at most [`ForeignNumber::MAX_DIGITS`].
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub(crate) struct ForeignNumber(String);

impl ForeignNumber {
    /// The longest number a configuration may ask for (and a stored one may hold).
    pub(crate) const MAX_DIGITS: usize = 20;

    /// Reads a typed number of exactly `len` digits.
    pub(crate) fn parse(input: &str, len: usize) -> Result<ForeignNumber, IdError> {
        let number = ForeignNumber::parse_any(input)?;
        if number.0.len() != len {
            return Err(IdError::WrongLength);
        }
        Ok(number)
    }

    /// Digits of any length up to [`ForeignNumber::MAX_DIGITS`]: a stored number, whose
    /// configured length is not known where it is read back.
    fn parse_any(input: &str) -> Result<ForeignNumber, IdError> {
        let digits = digits_of(input)?;
        if digits.len() > ForeignNumber::MAX_DIGITS {
            return Err(IdError::WrongLength);
        }
        Ok(ForeignNumber(digits))
    }

    /// The ASCII digits.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ForeignNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Kept out of logs: `{:?}` never shows the digits.
impl fmt::Debug for ForeignNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ForeignNumber(..)")
    }
}

impl TryFrom<String> for ForeignNumber {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        ForeignNumber::parse_any(&s)
    }
}

impl From<ForeignNumber> for String {
    fn from(number: ForeignNumber) -> String {
        number.0
    }
}

/// Whom a provider's general inquiry names in Iran (SPEC §2.1 option 2): a national code, or a
/// foreign national's number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) enum IranId {
    National(NationalCode),
    Foreign(ForeignNumber),
}

impl IranId {
    /// A foreign national's number when the service takes them (`foreign_len`) and exactly that
    /// many digits were typed; else a national code (a length of 10 is always a national code).
    pub(crate) fn parse(input: &str, foreign_len: Option<usize>) -> Result<IranId, IdError> {
        if input.len() > MAX_INPUT_BYTES {
            return Err(IdError::WrongLength);
        }
        if let Some(len) = foreign_len.filter(|len| *len != 10) {
            if normalize_digits(input).len() == len {
                return ForeignNumber::parse(input, len).map(IranId::Foreign);
            }
        }
        NationalCode::parse(input).map(IranId::National)
    }

    /// The digits, as the insurer's records key the person.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            IranId::National(code) => code.as_str(),
            IranId::Foreign(number) => number.as_str(),
        }
    }
}

/// A Tunisian national identity card number (CIN): eight digits, no check digit (seed 000).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub(crate) struct Cin(String);

impl Cin {
    /// How many digits a CIN has.
    pub(crate) const DIGITS: usize = 8;

    /// Reads a typed CIN: exactly eight digits once spaces and dashes are gone.
    pub(crate) fn parse(input: &str) -> Result<Cin, IdError> {
        let digits = digits_of(input)?;
        if digits.len() != Cin::DIGITS {
            return Err(IdError::WrongLength);
        }
        Ok(Cin(digits))
    }

    /// The ASCII digits, as the insurer's records key the person.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// A CNAM affiliation number (matricule) written without its key, as the CNAM notice asks
/// (`11966433`, not `00/11966433`; seed 000). Held as eight digits: a shorter entry is read
/// with its leading zeros restored, so `966433` and `00966433` are one matricule.
///
/// The key is two digits written before the number with a slash (`00/11966433`), or run into
/// it (ten digits): both are refused with [`IdError::KeyIncluded`], so the caller is told to
/// leave the key out rather than that the length is wrong.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub(crate) struct Matricule(String);

impl Matricule {
    /// How many digits a matricule has without its key.
    pub(crate) const DIGITS: usize = 8;
    /// The fewest digits read as a matricule (leading zeros dropped by the caller).
    const MIN_DIGITS: usize = 4;
    /// How many digits the key adds.
    const KEY_DIGITS: usize = 2;

    /// Reads a typed matricule.
    pub(crate) fn parse(input: &str) -> Result<Matricule, IdError> {
        if input.len() > MAX_INPUT_BYTES {
            return Err(IdError::WrongLength);
        }
        if Matricule::carries_key_separator(input) {
            return Err(IdError::KeyIncluded);
        }
        let digits = digits_of(input)?;
        match digits.len() {
            n if n == Matricule::DIGITS + Matricule::KEY_DIGITS => Err(IdError::KeyIncluded),
            n if (Matricule::MIN_DIGITS..=Matricule::DIGITS).contains(&n) => Ok(Matricule(
                format!("{digits:0>width$}", width = Matricule::DIGITS),
            )),
            _ => Err(IdError::WrongLength),
        }
    }

    /// Whether the entry writes a key before the number (`00/11966433`, `00 / 11966433`).
    fn carries_key_separator(input: &str) -> bool {
        let normalized = normalize_digits(input);
        match normalized.split_once('/') {
            Some((key, number)) => {
                !key.is_empty()
                    && key.bytes().all(|b| b.is_ascii_digit())
                    && !number.is_empty()
                    && number.bytes().all(|b| b.is_ascii_digit())
            }
            None => false,
        }
    }

    /// The eight ASCII digits (what `Display` writes; the FHIR API echoes it).
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether a record's `member_no` (as the feed writes it, leading zeros or not) is this
    /// matricule.
    pub(crate) fn matches(&self, member_no: &str) -> bool {
        Matricule::parse(member_no).is_ok_and(|m| m == *self)
    }
}

macro_rules! digits_newtype_traits {
    ($ty:ident, $parse:path) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        /// Kept out of logs: `{:?}` never shows the digits.
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}(..)", stringify!($ty))
            }
        }

        impl TryFrom<String> for $ty {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                $parse(&s)
            }
        }

        impl From<$ty> for String {
            fn from(id: $ty) -> String {
                id.0
            }
        }
    };
}

digits_newtype_traits!(Cin, Cin::parse);
digits_newtype_traits!(Matricule, Matricule::parse);

#[cfg(test)]
mod props;

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    /// A valid national code from its first nine digits (the rule computed independently).
    fn ir_code(nine: &str) -> String {
        let d: Vec<u32> = nine.chars().filter_map(|c| c.to_digit(10)).collect();
        assert_eq!(d.len(), 9, "{nine}");
        let s: u32 = (0..9).map(|i| d[i] * (10 - i as u32)).sum();
        let r = s % 11;
        let check = if r < 2 { r } else { 11 - r };
        format!("{nine}{check}")
    }

    /// A valid IIN from its first eleven digits, or `None` when no control digit exists.
    fn kz_iin(head: &str) -> Option<String> {
        let d: Vec<u32> = head.chars().filter_map(|c| c.to_digit(10)).collect();
        assert_eq!(d.len(), 11, "{head}");
        let pass = |w: [u32; 11]| (0..11).map(|i| d[i] * w[i]).sum::<u32>() % 11;
        let mut c = pass([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        if c == 10 {
            c = pass([3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2]);
        }
        (c != 10).then(|| format!("{head}{c}"))
    }

    fn persian(ascii: &str) -> String {
        ascii
            .chars()
            .map(|c| match c.to_digit(10) {
                Some(v) => char::from_u32(0x06F0 + v).unwrap_or(c),
                None => c,
            })
            .collect()
    }

    fn arabic_indic(ascii: &str) -> String {
        ascii
            .chars()
            .map(|c| match c.to_digit(10) {
                Some(v) => char::from_u32(0x0660 + v).unwrap_or(c),
                None => c,
            })
            .collect()
    }

    const PREFIXES: [&str; 12] = [
        "001234567",
        "005123457",
        "006234561",
        "008765432",
        "012345678",
        "123456789",
        "987654321",
        "000000001",
        "999999998",
        "442211003",
        "270981234",
        "111111112",
    ];

    #[test]
    fn normalize_reads_phone_digits() {
        let cases = [
            ("0012345679", "0012345679"),
            ("۰۰۱۲۳۴۵۶۷۹", "0012345679"),
            ("٠٠١٢٣٤٥٦٧٩", "0012345679"),
            ("۰۰۱-۲۳۴۵۶۷-۹", "0012345679"),
            ("001 234 5679", "0012345679"),
            ("001\t234\u{00A0}567\u{202F}9", "0012345679"),
            ("\u{200F}001\u{200E}234\u{200C}5679\u{061C}", "0012345679"),
            (
                "001\u{2010}234\u{2011}5\u{2012}6\u{2013}7\u{2014}9\u{2015}\u{2212}",
                "0012345679",
            ),
            ("  0012345679\r\n", "0012345679"),
            ("12a4", "12a4"),
            ("١٢x۳", "12x3"),
            ("", ""),
            (" - ", ""),
            ("１２", "１２"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_digits(input), want, "{input:?}");
        }
    }

    #[test]
    fn valid_national_codes_parse() {
        for nine in PREFIXES {
            let code = ir_code(nine);
            let parsed = NationalCode::parse(&code);
            assert_eq!(
                parsed.as_ref().map(|c| c.as_str()),
                Ok(code.as_str()),
                "{code}"
            );
            assert_eq!(parsed.map(|c| c.to_string()), Ok(code.clone()));
        }
        // Worked examples checked by hand against the rule.
        for code in ["0012345679", "1234567891", "0499370899"] {
            assert!(NationalCode::parse(code).is_ok(), "{code}");
        }
    }

    #[test]
    fn every_wrong_check_digit_is_refused() {
        for nine in PREFIXES {
            let good = ir_code(nine);
            let mut refused = 0;
            for last in '0'..='9' {
                let code = format!("{nine}{last}");
                if code == good {
                    continue;
                }
                assert_eq!(
                    NationalCode::parse(&code),
                    Err(IdError::CheckDigit),
                    "{code}"
                );
                refused += 1;
            }
            assert_eq!(refused, 9, "{nine}");
        }
    }

    #[test]
    fn repeated_digits_are_refused_although_their_checksum_holds() {
        for d in '0'..='9' {
            let code: String = std::iter::repeat_n(d, 10).collect();
            assert_eq!(ir_code(&code[..9]), code, "the checksum holds for {code}");
            assert_eq!(NationalCode::parse(&code), Err(IdError::RepeatedDigits));
        }
        // Eight or nine zeros pad to ten.
        assert_eq!(
            NationalCode::parse("00000000"),
            Err(IdError::RepeatedDigits)
        );
        assert_eq!(
            NationalCode::parse("۰۰۰۰۰۰۰۰۰"),
            Err(IdError::RepeatedDigits)
        );
    }

    #[test]
    fn short_codes_are_padded_with_leading_zeros() {
        let cases = [
            ("001234567", 2),
            ("005123457", 2),
            ("000000001", 2),
            ("012345678", 1),
            ("098765432", 1),
        ];
        for (nine, zeros) in cases {
            let code = ir_code(nine);
            for cut in 1..=zeros {
                let typed = &code[cut..];
                let parsed = NationalCode::parse(typed).map(|c| c.to_string());
                assert_eq!(parsed, Ok(code.clone()), "{typed}");
            }
        }
        // A nine-digit code whose padding is not its real start fails the checksum.
        let code = ir_code("123456789");
        assert_eq!(NationalCode::parse(&code[1..]), Err(IdError::CheckDigit));
    }

    #[test]
    fn national_code_table() {
        let good = ir_code("001234567");
        let cases: Vec<(String, Result<&str, IdError>)> = vec![
            (good.clone(), Ok(good.as_str())),
            (persian(&good), Ok(good.as_str())),
            (arabic_indic(&good), Ok(good.as_str())),
            (
                format!("{}-{}-{}", &good[..3], &good[3..9], &good[9..]),
                Ok(good.as_str()),
            ),
            (
                format!(" {} {} ", &good[..5], &good[5..]),
                Ok(good.as_str()),
            ),
            (
                persian(&format!("{}‐{}", &good[..3], &good[3..])),
                Ok(good.as_str()),
            ),
            (persian(&good[2..]), Ok(good.as_str())),
            (String::new(), Err(IdError::Empty)),
            ("   ".into(), Err(IdError::Empty)),
            ("- -".into(), Err(IdError::Empty)),
            ("00123a5679".into(), Err(IdError::NotDigits)),
            ("abcdefghij".into(), Err(IdError::NotDigits)),
            ("ОО12345679".into(), Err(IdError::NotDigits)), // Cyrillic O
            ("001234567٩x".into(), Err(IdError::NotDigits)),
            ("0012345679😀".into(), Err(IdError::NotDigits)),
            ("0\u{FE0F}\u{20E3}012345679".into(), Err(IdError::NotDigits)), // keycap emoji
            ("００１２３４５６７９".into(), Err(IdError::NotDigits)),       // fullwidth
            ("+980012345679".into(), Err(IdError::NotDigits)),
            ("0012345.679".into(), Err(IdError::NotDigits)),
            ("0012\n345679".into(), Err(IdError::NotDigits)),
            ("1234567".into(), Err(IdError::WrongLength)),
            ("1".into(), Err(IdError::WrongLength)),
            ("00123456790".into(), Err(IdError::WrongLength)),
            ("001234567900".into(), Err(IdError::WrongLength)),
        ];
        for (input, want) in cases {
            let got = NationalCode::parse(&input);
            assert_eq!(
                got.as_ref().map(|c| c.as_str()).map_err(|e| *e),
                want,
                "{input:?}"
            );
        }
    }

    #[test]
    fn huge_input_is_refused_quickly() {
        let started = std::time::Instant::now();
        for unit in ["1", "a", "۱", " ", "😀"] {
            let huge = unit.repeat(100_000);
            assert!(NationalCode::parse(&huge).is_err(), "{unit:?}");
            assert!(Iin::parse(&huge).is_err(), "{unit:?}");
            assert!(ForeignNumber::parse(&huge, 10).is_err(), "{unit:?}");
            assert!(IranId::parse(&huge, Some(12)).is_err(), "{unit:?}");
        }
        assert!(started.elapsed() < std::time::Duration::from_millis(500));
    }

    #[test]
    fn debug_hides_the_digits() {
        let code = ir_code("005123457");
        let parsed = NationalCode::parse(&code).map(|c| format!("{c:?}"));
        assert_eq!(parsed, Ok("NationalCode(..)".to_owned()));
        let foreign = IranId::parse("123456789012", Some(12)).map(|n| format!("{n:?}"));
        assert_eq!(foreign, Ok("Foreign(ForeignNumber(..))".to_owned()));
        let iin = kz_iin("90051530012").unwrap_or_default();
        assert_eq!(
            Iin::parse(&iin).map(|i| format!("{i:?}")),
            Ok("Iin(..)".to_owned())
        );
    }

    #[test]
    fn valid_iins_parse_with_their_birth_date() {
        let heads = [
            ("90051530012", date(1990, 5, 15)),
            ("85010140034", date(1985, 1, 1)),
            ("02030450011", date(2002, 3, 4)),
            ("00022950096", date(2000, 2, 29)),
            ("99123130041", date(1999, 12, 31)),
            ("60010120093", date(1860, 1, 1)),
            ("77070760123", date(2077, 7, 7)),
            ("55111140987", date(1955, 11, 11)),
        ];
        let mut checked = 0;
        for (head, birth) in heads {
            for serial_end in 0..10 {
                let head = format!("{}{serial_end}", &head[..10]);
                let Some(iin) = kz_iin(&head) else { continue };
                let parsed = Iin::parse(&iin);
                assert_eq!(parsed.as_ref().map(|i| i.as_str()), Ok(iin.as_str()));
                assert_eq!(parsed.as_ref().map(|i| i.birth_date()), Ok(birth), "{iin}");
                assert_eq!(parsed.map(|i| i.to_string()), Ok(iin.clone()));
                assert_eq!(
                    Iin::parse(&persian(&iin)).map(|i| i.to_string()),
                    Ok(iin.clone())
                );
                assert_eq!(
                    Iin::parse(&arabic_indic(&iin)).map(|i| i.to_string()),
                    Ok(iin)
                );
                checked += 1;
            }
        }
        assert!(checked > 60, "{checked}");
    }

    #[test]
    fn every_wrong_control_digit_is_refused() {
        for head in ["90051530012", "85010140034", "02030450011", "90051530090"] {
            let Some(good) = kz_iin(head) else {
                panic!("{head} has a control digit")
            };
            for last in '0'..='9' {
                let iin = format!("{head}{last}");
                if iin != good {
                    assert_eq!(
                        Iin::parse(&iin).map(|i| i.to_string()),
                        Err(IdError::CheckDigit)
                    );
                }
            }
        }
    }

    #[test]
    fn iin_second_weight_pass() {
        // Heads whose first pass gives 10 (worked out independently of this module).
        for iin in [
            "900515300908",
            "900515300921",
            "900515300933",
            "900515300982",
        ] {
            let d: Vec<u32> = iin.chars().filter_map(|c| c.to_digit(10)).collect();
            let first: u32 = (0..11).map(|i| d[i] * (i as u32 + 1)).sum::<u32>() % 11;
            assert_eq!(first, 10, "{iin} needs the second pass");
            assert_eq!(kz_iin(&iin[..11]).as_deref(), Some(iin));
            assert_eq!(Iin::parse(iin).map(|i| i.to_string()), Ok(iin.to_owned()));
        }
    }

    #[test]
    fn iin_with_no_control_digit_is_never_valid() {
        for head in [
            "90051530091",
            "85010140021",
            "99123130041",
            "00022950096",
            "60010120093",
        ] {
            assert_eq!(kz_iin(head), None, "{head}: both passes give 10");
            for last in '0'..='9' {
                let iin = format!("{head}{last}");
                assert_eq!(
                    Iin::parse(&iin).map(|i| i.to_string()),
                    Err(IdError::CheckDigit),
                    "{iin}"
                );
            }
        }
    }

    #[test]
    fn iin_bad_dates_and_shapes() {
        let valid = |head: &str| {
            (0..10)
                .find_map(|s| kz_iin(&format!("{head}{s}")))
                .unwrap_or_default()
        };
        let cases: Vec<(String, IdError)> = vec![
            (valid("9013153001"), IdError::BadDate), // month 13
            (valid("9000153001"), IdError::BadDate), // month 0
            (valid("9002303001"), IdError::BadDate), // 30 February
            (valid("9002293001"), IdError::BadDate), // 1990 is not leap
            (valid("9004313001"), IdError::BadDate), // 31 April
            (valid("9005000001"), IdError::BadDate), // day 0
            (valid("9005150001"), IdError::BadDate), // century digit 0
            (valid("9005157001"), IdError::BadDate), // century digit 7
            (valid("9005158001"), IdError::BadDate), // century digit 8
            (valid("9005159001"), IdError::BadDate), // century digit 9
            (valid("0002291001"), IdError::BadDate), // 1800 is not leap
            ("90051530012".into(), IdError::WrongLength),
            ("9005153001234".into(), IdError::WrongLength),
            ("".into(), IdError::Empty),
            ("90051530012x".into(), IdError::NotDigits),
            ("9005153001２3".into(), IdError::NotDigits),
            ("ИИН900515300".into(), IdError::NotDigits),
        ];
        for (iin, want) in cases {
            let got = Iin::parse(&iin).map(|i| i.to_string());
            assert_eq!(got, Err(want), "{iin:?}");
        }
        // A repdigit IIN is a real date (1811-11-11) with a wrong control digit.
        assert_eq!(
            Iin::parse("111111111111").map(|i| i.to_string()),
            Err(IdError::CheckDigit)
        );
    }

    #[test]
    fn foreign_numbers_are_digits_of_a_configured_length() {
        let cases = [
            ("123456789012", 12, Ok("123456789012")),
            ("۱۲۳۴۵۶۷۸۹۰۱۲", 12, Ok("123456789012")),
            ("1234-5678-9012", 12, Ok("123456789012")),
            ("0000000000", 10, Ok("0000000000")),
            ("12345678901", 12, Err(IdError::WrongLength)),
            ("1234567890123", 12, Err(IdError::WrongLength)),
            ("12345678901a", 12, Err(IdError::NotDigits)),
            ("", 12, Err(IdError::Empty)),
            ("   ", 12, Err(IdError::Empty)),
            ("123456789012345678901", 21, Err(IdError::WrongLength)),
        ];
        for (input, len, want) in cases {
            let got = ForeignNumber::parse(input, len).map(|n| n.to_string());
            assert_eq!(got.as_deref().map_err(|e| *e), want, "{input:?}");
        }
    }

    #[test]
    fn check_digit_functions_on_digit_arrays() {
        let national: [([u8; 9], u8); 4] = [
            ([0, 0, 1, 2, 3, 4, 5, 6, 7], 9),
            ([0, 0, 8, 7, 6, 5, 4, 3, 2], 6),
            ([1, 1, 1, 1, 1, 1, 1, 1, 1], 1),
            ([1, 2, 3, 4, 5, 6, 7, 8, 9], 1),
        ];
        for (first_nine, want) in national {
            assert_eq!(national_check_digit(&first_nine), want, "{first_nine:?}");
        }
        let iin: [([u8; 11], Option<u8>); 4] = [
            // 11 ones: Σ 1..11 = 66 ≡ 0.
            ([1; 11], Some(0)),
            // 9 then zeros: 9·1 ≡ 9 on the first pass.
            ([9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], Some(9)),
            // 10 on the first pass (digit 1 at weight 10), 1·1 = 1 on the second.
            ([0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0], Some(1)),
            // 10 on both passes: never issued.
            ([9, 0, 0, 5, 1, 5, 3, 0, 0, 9, 1], None),
        ];
        for (first_eleven, want) in iin {
            assert_eq!(iin_control_digit(&first_eleven), want, "{first_eleven:?}");
        }
    }

    #[test]
    fn a_general_inquiry_reads_a_national_code_or_a_foreign_number() {
        let national = |s: &str| NationalCode::parse(s).map(IranId::National);
        let foreign = |s: &str| ForeignNumber::parse(s, 12).map(IranId::Foreign);
        let cases: [(&str, Option<usize>, Result<IranId, IdError>); 8] = [
            ("0012345679", Some(12), national("0012345679")),
            ("12345679", Some(12), national("0012345679")),
            ("123456789012", Some(12), foreign("123456789012")),
            ("۱۲۳۴ ۵۶۷۸ ۹۰۱۲", Some(12), foreign("123456789012")),
            ("123456789012", None, Err(IdError::WrongLength)),
            ("12345678901", Some(12), Err(IdError::WrongLength)),
            ("0012345678", Some(10), Err(IdError::CheckDigit)),
            ("", Some(12), Err(IdError::Empty)),
        ];
        for (input, len, want) in cases {
            assert_eq!(IranId::parse(input, len), want, "{input:?} {len:?}");
        }
        assert!(national("0012345679").is_ok() && foreign("123456789012").is_ok());
    }

    #[test]
    fn identifiers_serialise_as_digits_and_read_back_only_when_valid() {
        let code = ir_code("001234567");
        let iin = kz_iin("90051530012").unwrap_or_default();
        let json = |s: &str| format!("\"{s}\"");
        let read = serde_json::from_str::<NationalCode>(&json(&code)).map(|c| c.to_string());
        assert_eq!(read.ok(), Some(code.clone()));
        let read = serde_json::from_str::<Iin>(&json(&iin)).map(|i| i.birth_date());
        assert_eq!(read.ok(), Some(date(1990, 5, 15)));
        let wrong_check = format!("{}{}", &code[..9], (code.as_bytes()[9] - b'0' + 1) % 10);
        for bad in [
            json(&wrong_check),
            json("1111111111"),
            json("x"),
            "12".into(),
        ] {
            assert!(serde_json::from_str::<NationalCode>(&bad).is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<Iin>(&json("900515300120")).is_err());
        assert!(serde_json::from_str::<ForeignNumber>(&json("12a")).is_err());
        assert!(serde_json::from_str::<ForeignNumber>(&json(&"1".repeat(21))).is_err());
        let ids = [
            IranId::parse(&code, Some(12)),
            IranId::parse("123456789012", Some(12)),
        ];
        for id in ids.into_iter().flatten() {
            let bytes = postcard::to_allocvec(&id).expect("postcard");
            assert_eq!(
                postcard::from_bytes::<IranId>(&bytes).ok(),
                Some(id.clone())
            );
            assert_eq!(String::from_utf8_lossy(&bytes[2..]), id.as_str());
        }
        let mut forged = postcard::to_allocvec(&IranId::National(
            NationalCode::parse(&code).expect("valid"),
        ))
        .expect("postcard");
        if let Some(last) = forged.last_mut() {
            *last = if *last == b'9' { b'0' } else { *last + 1 };
        }
        assert!(
            postcard::from_bytes::<IranId>(&forged).is_err(),
            "a forged check digit"
        );
    }

    #[test]
    fn errors_read_as_short_english() {
        for e in IdError::ALL {
            let text = e.to_string();
            assert!(!text.is_empty() && text.len() < 60, "{e:?}: {text}");
        }
    }

    #[test]
    fn cins_are_eight_digits() {
        assert_eq!(Cin::parse("08123456").unwrap().as_str(), "08123456");
        assert_eq!(Cin::parse(" 0812-3456 ").unwrap().as_str(), "08123456");
        assert_eq!(
            Cin::parse(&arabic_indic("08123456")).unwrap().as_str(),
            "08123456"
        );
        assert_eq!(Cin::parse(""), Err(IdError::Empty));
        assert_eq!(Cin::parse("0812345"), Err(IdError::WrongLength));
        assert_eq!(Cin::parse("081234567"), Err(IdError::WrongLength));
        assert_eq!(Cin::parse("0812345a"), Err(IdError::NotDigits));
        assert_eq!(Cin::parse("بطاقة"), Err(IdError::NotDigits));
        assert_eq!(Cin::parse(&"1".repeat(10_000)), Err(IdError::WrongLength));
        assert_eq!(format!("{:?}", Cin::parse("08123456").unwrap()), "Cin(..)");
    }

    #[test]
    fn matricules_are_read_without_their_key() {
        assert_eq!(Matricule::parse("11966433").unwrap().as_str(), "11966433");
        assert_eq!(Matricule::parse("966433").unwrap().as_str(), "00966433");
        assert_eq!(Matricule::parse(" 1196 6433").unwrap().as_str(), "11966433");
        assert_eq!(
            Matricule::parse(&arabic_indic("11966433"))
                .unwrap()
                .as_str(),
            "11966433"
        );
        for keyed in ["00/11966433", "00 / 11966433", "0011966433", "12/966433"] {
            assert_eq!(
                Matricule::parse(keyed),
                Err(IdError::KeyIncluded),
                "{keyed}"
            );
        }
        assert_eq!(Matricule::parse(""), Err(IdError::Empty));
        assert_eq!(Matricule::parse("/"), Err(IdError::NotDigits));
        assert_eq!(Matricule::parse("119/"), Err(IdError::NotDigits));
        assert_eq!(Matricule::parse("123"), Err(IdError::WrongLength));
        assert_eq!(Matricule::parse("119664331"), Err(IdError::WrongLength));
        assert_eq!(Matricule::parse("11966433111"), Err(IdError::WrongLength));
        assert_eq!(Matricule::parse("1196643x"), Err(IdError::NotDigits));
        assert_eq!(
            Matricule::parse(&"9".repeat(100_000)),
            Err(IdError::WrongLength)
        );
        assert_eq!(
            format!("{:?}", Matricule::parse("11966433").unwrap()),
            "Matricule(..)"
        );
    }

    #[test]
    fn a_matricule_matches_a_member_number_with_or_without_leading_zeros() {
        let m = Matricule::parse("966433").unwrap();
        assert!(m.matches("00966433"));
        assert!(m.matches("966433"));
        assert!(!m.matches("00966434"));
        assert!(!m.matches(""));
        assert!(!m.matches("00/00966433"));
    }

    #[test]
    fn tunisian_identifiers_serialise_as_digits_and_read_back_only_when_valid() {
        let m: Matricule = serde_json::from_str("\"11966433\"").unwrap();
        assert_eq!(serde_json::to_string(&m).unwrap(), "\"11966433\"");
        assert!(serde_json::from_str::<Matricule>("\"00/11966433\"").is_err());
        let c: Cin = serde_json::from_str("\"08123456\"").unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"08123456\"");
        assert!(serde_json::from_str::<Cin>("\"0812\"").is_err());
    }
}
