//! Amounts of money: [`Money`], a whole number of minor units (millimes: the feed's amounts are
//! dinars with three decimals, SPEC §5) in an `i64`, never a float (CRATES.md §6).
//!
//! This module owns the decimal form both ways: the feed's strings (`"120.500"`, `"450"`) are
//! read here, and written back here, exactly. How a screen shows an amount (the locale's digits)
//! is `locale`'s business, which starts from [`Money`]'s own decimal form. Pure: no IO.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a decimal string is not an amount. Amounts are no personal data, but the error does not
/// echo the input all the same: the feed reader adds the line it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum MoneyError {
    #[error("an amount has digits before its point")]
    Empty,
    #[error("an amount is digits and at most one point, without a sign")]
    NotDecimal,
    #[error("an amount has at most {} decimals", Money::DECIMALS)]
    TooPrecise,
    #[error("the amount is too large")]
    TooLarge,
}

/// An amount in minor units. Ordered and `Copy`; arithmetic stays in integers.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub(crate) struct Money(i64);

impl Money {
    /// Decimals of the major unit (dinars: 1 dinar = 1000 millimes).
    pub(crate) const DECIMALS: u32 = 3;
    const UNIT: i64 = 10_i64.pow(Money::DECIMALS);
    pub(crate) const fn from_minor(minor: i64) -> Money {
        Money(minor)
    }

    #[cfg(test)]
    pub(crate) const fn minor(self) -> i64 {
        self.0
    }

    /// Reads a decimal amount as the feed writes it: digits, then optionally a point and at most
    /// [`Money::DECIMALS`] digits (`"120.500"`, `"450"`, `"1.5"`). A sign, an exponent, a
    /// missing integer part or more decimals are refused.
    pub(crate) fn parse(s: &str) -> Result<Money, MoneyError> {
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        if int.is_empty() {
            return Err(MoneyError::Empty);
        }
        if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return Err(MoneyError::NotDecimal);
        }
        if frac.len() > Money::DECIMALS as usize {
            return Err(MoneyError::TooPrecise);
        }
        let whole: i64 = int.parse().map_err(|_| MoneyError::TooLarge)?;
        let mut minor: i64 = 0;
        for i in 0..Money::DECIMALS as usize {
            let d = frac.as_bytes().get(i).map_or(0, |b| i64::from(b - b'0'));
            minor = minor * 10 + d;
        }
        whole
            .checked_mul(Money::UNIT)
            .and_then(|w| w.checked_add(minor))
            .map(Money)
            .ok_or(MoneyError::TooLarge)
    }

    /// The amount in major units as the nearest `f64`, for a JSON number (FHIR's `decimal` is
    /// one). Below 2^53 minor units the nearest double of `minor / 1000` prints back in its
    /// shortest round-trip form as that exact decimal (`120.5`, `0.001`), so the wire carries the
    /// amount unaltered; the arithmetic stays in integers.
    pub(crate) fn as_major_f64(self) -> f64 {
        self.0 as f64 / Money::UNIT as f64
    }

    /// `self − other`, never below zero (a balance that is used up).
    pub(crate) fn remaining_after(self, used: Money) -> Money {
        Money(self.0.saturating_sub(used.0).max(0))
    }
}

/// The decimal form with all its decimals and no grouping: `120.500`, `0.005`, `-1.500`.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let unit = Money::UNIT.unsigned_abs();
        write!(
            f,
            "{sign}{}.{:0width$}",
            abs / unit,
            abs % unit,
            width = Money::DECIMALS as usize
        )
    }
}

impl TryFrom<String> for Money {
    type Error = MoneyError;
    fn try_from(s: String) -> Result<Money, MoneyError> {
        Money::parse(&s)
    }
}

impl From<Money> for String {
    fn from(m: Money) -> String {
        m.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_strings_parse_exactly() {
        let cases = [
            ("120.500", Ok(120_500)),
            ("450", Ok(450_000)),
            ("0.001", Ok(1)),
            ("1.5", Ok(1_500)),
            ("1.", Ok(1_000)),
            ("1.2345", Err(MoneyError::TooPrecise)),
            ("-1.000", Err(MoneyError::NotDecimal)),
            ("+1", Err(MoneyError::NotDecimal)),
            ("", Err(MoneyError::Empty)),
            (".5", Err(MoneyError::Empty)),
            ("1e3", Err(MoneyError::NotDecimal)),
            ("1.2.3", Err(MoneyError::NotDecimal)),
            ("١٢", Err(MoneyError::NotDecimal)),
            ("abc", Err(MoneyError::NotDecimal)),
            ("1,500", Err(MoneyError::NotDecimal)),
            (" 1.000", Err(MoneyError::NotDecimal)),
            ("1.000 D", Err(MoneyError::NotDecimal)),
            ("NaN", Err(MoneyError::NotDecimal)),
            ("0.1000", Err(MoneyError::TooPrecise)),
            ("99999999999999999999", Err(MoneyError::TooLarge)),
            ("9223372036854775.808", Err(MoneyError::TooLarge)),
            ("9223372036854775.807", Ok(i64::MAX)),
        ];
        for (s, want) in cases {
            assert_eq!(Money::parse(s).map(Money::minor), want, "{s:?}");
        }
    }

    #[test]
    fn the_decimal_form_has_every_decimal() {
        let cases = [
            (120_500, "120.500"),
            (0, "0.000"),
            (5, "0.005"),
            (1_000, "1.000"),
            (1_234_567_890, "1234567.890"),
            (-1_500, "-1.500"),
            (i64::MIN, "-9223372036854775.808"),
        ];
        for (minor, want) in cases {
            assert_eq!(Money::from_minor(minor).to_string(), want, "{minor}");
        }
    }

    #[test]
    fn the_written_form_reads_back() {
        for minor in [0, 1, 999, 120_500, i64::MAX] {
            let m = Money::from_minor(minor);
            assert_eq!(Money::parse(&m.to_string()), Ok(m));
            let json = serde_json::to_string(&m).expect("json");
            assert_eq!(serde_json::from_str::<Money>(&json).ok(), Some(m));
            let bytes = postcard::to_allocvec(&m).expect("postcard");
            assert_eq!(postcard::from_bytes::<Money>(&bytes).ok(), Some(m));
        }
        assert!(serde_json::from_str::<Money>("\"1.2345\"").is_err());
        assert!(serde_json::from_str::<Money>("1.5").is_err(), "a float");
    }

    #[test]
    fn a_balance_never_goes_below_zero() {
        let cases = [
            (450_000, 120_500, 329_500),
            (1_000, 1_000, 0),
            (1_000, 5_000, 0),
        ];
        for (limit, used, want) in cases {
            let left = Money::from_minor(limit).remaining_after(Money::from_minor(used));
            assert_eq!(left, Money::from_minor(want), "{limit} − {used}");
        }
    }

    /// Each amount, as a JSON number, reads back as itself: nothing is lost on the wire.
    #[test]
    fn a_json_number_carries_the_exact_amount() {
        let mut amounts = vec![
            0,
            1,
            5,
            10,
            999,
            1_000,
            120_500,
            450_000,
            500_250,
            9_999_999_999,
        ];
        amounts.extend((0..2_000_000).step_by(997));
        amounts.extend((999_999_000_000..999_999_000_000 + 5_000).step_by(7));
        for minor in amounts {
            let amount = Money::from_minor(minor);
            let wire = serde_json::to_string(&amount.as_major_f64()).expect("a number");
            assert_eq!(Money::parse(&wire), Ok(amount), "{minor} as {wire}");
        }
        assert_eq!(
            serde_json::to_string(&Money::from_minor(120_500).as_major_f64()).unwrap(),
            "120.5"
        );
    }
}
