//! What a Tunisian fund pays, as configuration: the yearly ceilings' default limits (CNAM's
//! ordinary-illness ceiling; the mutual fund's spouse, child and dental balances) and the
//! reimbursement rates of seed 001, read from the `[benefits]` table of a service's menu file.
//! And the one pure computation over them: a ceiling's balance for a year (used, remaining).
//!
//! Pure: no IO, no clock (the year is an argument), no text a caller reads. Every amount is
//! [`Money`] (integer millimes), every rate a whole percentage; nothing here is a float, and no
//! limit or rate is written in the code: a service without a `[benefits]` table has none.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::money::Money;
use crate::record::Ceiling;

/// The `[benefits]` table of a service file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Benefits {
    /// The limit of each kind of ceiling (`ordinary`, `spouse`, `child`, `dental`) when the
    /// feed's entry gives none, or when there is no entry for the year.
    pub(crate) ceilings: BTreeMap<String, Money>,
    /// Rates by group: a scheme (`public`, `private`, `reimbursement`), `after_cnam`,
    /// `special` (students to 25, divorced with custody), `dental`.
    pub(crate) rates: BTreeMap<String, Rates>,
}

/// One group of rates, by name (`medicines = 90`, `consultation_general = "4.000"`).
pub(crate) type Rates = BTreeMap<String, Rate>;

/// A rate: a share of what was paid, or a fixed amount added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub(crate) enum Rate {
    /// A whole percentage (0–100), written as a TOML integer.
    Percent(Percent),
    /// An amount in dinars, written as a decimal string (`"4.000"`).
    Amount(Money),
}

/// A whole percentage, 0 to 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "i64")]
pub(crate) struct Percent(u8);

impl TryFrom<i64> for Percent {
    type Error = String;
    fn try_from(n: i64) -> Result<Percent, String> {
        u8::try_from(n)
            .ok()
            .filter(|p| *p <= 100)
            .map(Percent)
            .ok_or_else(|| format!("a rate of {n} % is outside 0–100"))
    }
}

impl std::fmt::Display for Percent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A mutual fund member's scheme (SPEC §5 `scheme`; seed 001): the name of its group of rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Public,
    Private,
    Reimbursement,
}

impl Scheme {
    /// The scheme a record names, or `None` for none the fund knows.
    pub(crate) fn parse(name: &str) -> Option<Scheme> {
        match name.trim() {
            "public" => Some(Scheme::Public),
            "private" => Some(Scheme::Private),
            "reimbursement" => Some(Scheme::Reimbursement),
            _ => None,
        }
    }
}

/// The kinds of ceiling the feed names (SPEC §5).
pub(crate) mod kind {
    /// CNAM's annual ceiling for ordinary illnesses (on the holder's record).
    pub(crate) const ORDINARY: &str = "ordinary";
    /// The mutual fund's ceiling of a spouse, on the spouse's own record.
    pub(crate) const SPOUSE: &str = "spouse";
    /// The mutual fund's ceiling of a child, on the child's own record.
    pub(crate) const CHILD: &str = "child";
    /// The mutual fund's dental balance, on the member's record.
    pub(crate) const DENTAL: &str = "dental";
}

/// A ceiling for one year: its limit, what was used, what remains (never below zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Balance {
    pub(crate) limit: Money,
    pub(crate) used: Money,
    pub(crate) remaining: Money,
}

impl Benefits {
    /// Lays `over` (an operator's `[services.<id>.benefits]`) over these: each limit and each
    /// rate it names replaces the one of the same name; the others stay.
    pub(crate) fn overlay(&mut self, over: &Benefits) {
        self.ceilings
            .extend(over.ceilings.iter().map(|(k, v)| (k.clone(), *v)));
        for (group, rates) in &over.rates {
            self.rates
                .entry(group.clone())
                .or_default()
                .extend(rates.iter().map(|(k, v)| (k.clone(), *v)));
        }
    }

    /// The balance of the ceiling of `kind` in `year` among `ceilings` (a record's): the
    /// entry's limit, else the configured one; a year with no entry is the whole limit unused.
    /// `None` when neither the entry nor the configuration gives a limit.
    pub(crate) fn balance(&self, ceilings: &[Ceiling], kind: &str, year: i16) -> Option<Balance> {
        let entry = ceilings
            .iter()
            .find(|c| c.kind == kind && c.year == i32::from(year));
        let limit = entry
            .and_then(|c| c.limit)
            .or_else(|| self.ceilings.get(kind).copied())?;
        let used = entry.map(|c| c.used).unwrap_or_default();
        Some(Balance {
            limit,
            used,
            remaining: limit.remaining_after(used),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(s: &str) -> Money {
        Money::parse(s).expect("an amount")
    }

    fn ceiling(kind: &str, year: i32, limit: Option<&str>, used: &str) -> Ceiling {
        Ceiling {
            kind: kind.into(),
            year,
            limit: limit.map(money),
            used: money(used),
        }
    }

    fn configured() -> Benefits {
        toml::from_str(
            "[ceilings]\nspouse = \"150.000\"\ndental = \"300\"\n\
             [rates.private]\nmedicines = 90\nconsultation_general = \"4.000\"\n",
        )
        .expect("benefits")
    }

    #[test]
    fn a_balance_is_the_entry_of_the_year_else_the_default_unused() {
        let b = configured();
        let record = [
            ceiling("spouse", 2026, None, "40.250"),
            ceiling("dental", 2026, Some("250.000"), "300.500"),
            ceiling("spouse", 2025, Some("150.000"), "150.000"),
            ceiling("child", 2026, Some("150.000"), "12.000"),
        ];
        let bal = |limit: &str, used: &str, remaining: &str| Balance {
            limit: money(limit),
            used: money(used),
            remaining: money(remaining),
        };
        let cases = [
            ("spouse", 2026, Some(bal("150", "40.250", "109.750"))),
            ("dental", 2026, Some(bal("250", "300.500", "0"))),
            ("spouse", 2027, Some(bal("150", "0", "150"))),
            ("dental", 2027, Some(bal("300", "0", "300"))),
            ("child", 2026, Some(bal("150", "12", "138"))),
            ("child", 2027, None),
            ("ordinary", 2026, None),
        ];
        for (kind, year, want) in cases {
            assert_eq!(b.balance(&record, kind, year), want, "{kind} {year}");
        }
        assert_eq!(b.balance(&[], "spouse", 2026), Some(bal("150", "0", "150")));
    }

    #[test]
    fn an_override_replaces_only_what_it_names() {
        let mut b = configured();
        let over: Benefits = toml::from_str(
            "[ceilings]\ndental = \"350\"\nchild = \"100\"\n\
             [rates.private]\nmedicines = 85\n[rates.public]\ntests = 75\n",
        )
        .expect("override");
        b.overlay(&over);
        let want: Benefits = toml::from_str(
            "[ceilings]\nspouse = \"150.000\"\ndental = \"350\"\nchild = \"100\"\n\
             [rates.private]\nmedicines = 85\nconsultation_general = \"4.000\"\n\
             [rates.public]\ntests = 75\n",
        )
        .expect("benefits");
        assert_eq!(b, want);
        let before = b.clone();
        b.overlay(&Benefits::default());
        assert_eq!(b, before, "an empty override changes nothing");
    }

    #[test]
    fn rates_are_percentages_or_amounts_and_nothing_else() {
        let b = configured();
        let private = &b.rates["private"];
        assert_eq!(private["medicines"], Rate::Percent(Percent(90)));
        assert_eq!(
            private["consultation_general"],
            Rate::Amount(money("4.000"))
        );
        assert!(!b.rates.contains_key("public"));
        let schemes = [
            ("public", Scheme::Public),
            ("private", Scheme::Private),
            (" reimbursement ", Scheme::Reimbursement),
        ];
        for (name, scheme) in schemes {
            assert_eq!(Scheme::parse(name), Some(scheme));
        }
        for unknown in ["", "cnss", "Public", "privé"] {
            assert_eq!(Scheme::parse(unknown), None, "{unknown:?}");
        }
        for bad in [
            "[rates.x]\nmedicines = 101",
            "[rates.x]\nmedicines = -1",
            "[rates.x]\nmedicines = 0.9",
            "[rates.x]\nfee = \"4.0001\"",
            "[ceilings]\nspouse = 150.0",
            "[ceilings]\nspouse = \"-150\"",
            "[celings]\nspouse = \"150\"",
        ] {
            assert!(toml::from_str::<Benefits>(bad).is_err(), "{bad}");
        }
        assert_eq!(
            toml::from_str::<Benefits>("").expect("empty"),
            Benefits::default()
        );
    }
}
