//! How an inquiry's answer reads on a screen: the one place where typed values (tracking codes,
//! entitlements, dates, reasons, relations, month rows, providers, amounts) become the
//! variables of a screen's words, in the caller's locale.
//!
//! The words come from the locale files (keys declared in `catalog::words`, so `daftar check` can hold every
//! locale to them); the way a date, an amount or a digit is written per locale is `locale`'s.
//! Pure: no store, no clock, no IO. The adapters beside it only choose the outcome.

use jiff::civil::Date;

use crate::audit::TrackingCode;
use crate::benefits::{Balance, Benefits, Rate};
use crate::catalog::words::{
    reason_key, relation_key, AMOUNT, BALANCE, CEILING, CHRONIC, DENTAL, DEPENDENT_COVERED,
    DEPENDENT_NOT_COVERED, DEPENDENT_WHO, ENDED_ON, MONTH_PAID, MONTH_UNPAID, NO_CHRONIC,
    NO_PROVIDER, OPEN_ENDED, PROVIDER, RATE_LINES, UNTIL,
};
use crate::inquiry::{ChronicCover, DependentStatus, MutualBalances};
use crate::locale::{format_date, format_money};
use crate::menu::Words;
use crate::money::Money;
use crate::record::MonthKey;
use crate::rules::{Entitlement, RuleConfig};

/// A variable of a screen's words: `{name}` → value.
pub(crate) type Var = (String, String);

/// The words of one caller's locale, and how that locale writes values.
pub(crate) struct Render<'a> {
    pub(crate) words: &'a Words,
    pub(crate) locale: &'a str,
}

impl Render<'_> {
    /// `{code}`: the tracking code (its digits follow the locale when the screen is shown).
    pub(crate) fn code(&self, code: TrackingCode) -> Var {
        var("code", code.to_string())
    }

    /// `{until}` for a covered person (until a date, or open-ended), `{reason}` for one who
    /// is not.
    pub(crate) fn entitlement(&self, entitlement: &Entitlement) -> Var {
        self.entitlement_ended(entitlement, None)
    }

    /// As [`Render::entitlement`], with the end date that passed beside the reason of a person
    /// not covered, where there is one (option 1, SPEC §2.1).
    pub(crate) fn entitlement_ended(&self, entitlement: &Entitlement, ended: Option<Date>) -> Var {
        match entitlement {
            Entitlement::Covered { until } => var("until", self.until(*until)),
            Entitlement::NotCovered(reason) => {
                let reason = self.words.get(&reason_key(*reason)).to_string();
                let text = match ended {
                    Some(date) => self.words.fill(
                        ENDED_ON,
                        &[var("reason", reason), var("date", self.date(date))],
                    ),
                    None => reason,
                };
                var("reason", text)
            }
        }
    }

    /// `{list}`: one line per dependent, `who: covered until …` or `who: not covered, why`.
    pub(crate) fn dependents(&self, dependents: &[DependentStatus]) -> Var {
        let lines: Vec<String> = dependents.iter().map(|d| self.dependent(d)).collect();
        var("list", lines.join("\n"))
    }

    /// Until a date, or the open-ended words (SPEC §5.1: never "until no end date").
    pub(crate) fn until(&self, until: Option<Date>) -> String {
        match until {
            Some(date) => self.words.fill(UNTIL, &[var("date", self.date(date))]),
            None => self.words.get(OPEN_ENDED).to_string(),
        }
    }

    /// An end date as such (a date, or the open-ended words), for a line that names it
    /// ("end of rights: …") rather than saying "until".
    pub(crate) fn end_date(&self, end: Option<Date>) -> String {
        match end {
            Some(date) => self.date(date),
            None => self.words.get(OPEN_ENDED).to_string(),
        }
    }

    /// Who a dependent's line is about: the relation, with the name where the record has one.
    fn who(&self, dependent: &DependentStatus) -> String {
        let relation = self
            .words
            .get(&relation_key(dependent.relation))
            .to_string();
        match &dependent.name {
            Some(name) => self.words.fill(
                DEPENDENT_WHO,
                &[var("relation", relation), var("name", name)],
            ),
            None => relation,
        }
    }

    fn dependent(&self, dependent: &DependentStatus) -> String {
        let vars = [
            var("who", self.who(dependent)),
            self.entitlement(&dependent.entitlement),
        ];
        let key = if dependent.entitlement.is_covered() {
            DEPENDENT_COVERED
        } else {
            DEPENDENT_NOT_COVERED
        };
        self.words.fill(key, &vars)
    }

    /// `{months}`: the compact month row, `01✓02✓03✗…` (the marks are the locale's words).
    pub(crate) fn months(&self, months: &[(MonthKey, bool)]) -> Var {
        let row: String = months
            .iter()
            .map(|(month, paid)| {
                let mark = self
                    .words
                    .get(if *paid { MONTH_PAID } else { MONTH_UNPAID });
                format!("{:02}{mark}", month.month)
            })
            .collect();
        var("months", row)
    }

    /// `{provider}`: the polyclinic line, or the line for a person attached to none.
    pub(crate) fn provider(&self, provider: Option<&str>) -> Var {
        let line = match provider {
            Some(name) => self.words.fill(PROVIDER, &[var("provider", name)]),
            None => self.words.get(NO_PROVIDER).to_string(),
        };
        var("provider", line)
    }

    /// A date as the locale writes it (SPEC §7.1).
    pub(crate) fn date(&self, date: Date) -> String {
        format_date(date, self.locale)
    }

    /// An amount as the locale writes it, with the locale's unit (`120.500 D`).
    pub(crate) fn amount(&self, amount: Money) -> String {
        let digits = format_money(amount, self.locale);
        self.words.fill(AMOUNT, &[var("amount", digits)])
    }

    /// The variables of a balance: `{limit}`, `{used}`, `{remaining}`.
    fn balance_vars(&self, balance: &Balance) -> [Var; 3] {
        [
            var("limit", self.amount(balance.limit)),
            var("used", self.amount(balance.used)),
            var("remaining", self.amount(balance.remaining)),
        ]
    }

    /// `{ceiling}`: the year's ceiling line, empty when no limit is known.
    pub(crate) fn ceiling(&self, ceiling: Option<(i16, Balance)>) -> Var {
        let line = match ceiling {
            Some((year, balance)) => {
                let mut vars = self.balance_vars(&balance).to_vec();
                vars.push(var("year", year.to_string()));
                self.words.fill(CEILING, &vars)
            }
            None => String::new(),
        };
        var("ceiling", line)
    }

    /// `{chronic}`: one line per chronic coverage, or the line for none.
    pub(crate) fn chronic(&self, chronic: &[ChronicCover]) -> Var {
        if chronic.is_empty() {
            return var("chronic", self.words.get(NO_CHRONIC));
        }
        let lines: Vec<String> = chronic
            .iter()
            .map(|c| {
                let vars = [var("label", &c.label), var("until", self.until(c.until))];
                self.words.fill(CHRONIC, &vars)
            })
            .collect();
        var("chronic", lines.join("\n"))
    }

    /// `{list}` and `{year}` of the mutual balances: a line per beneficiary (their balance,
    /// or why they are not covered), then the dental line.
    pub(crate) fn balances(&self, balances: &MutualBalances) -> [Var; 2] {
        let mut lines: Vec<String> = balances
            .beneficiaries
            .iter()
            .map(|b| match (&b.balance, b.status.entitlement.is_covered()) {
                (Some(balance), true) => {
                    let mut vars = self.balance_vars(balance).to_vec();
                    vars.push(var("who", self.who(&b.status)));
                    self.words.fill(BALANCE, &vars)
                }
                _ => self.dependent(&b.status),
            })
            .collect();
        if let Some(dental) = &balances.dental {
            lines.push(self.words.fill(DENTAL, &self.balance_vars(dental)));
        }
        [
            var("list", lines.join("\n")),
            var("year", balances.year.to_string()),
        ]
    }

    /// The rates of every configured group as `{group.name}` (a percentage's digits, or an
    /// amount with its unit), the age limits of the rules (`{child_age_limit}`,
    /// `{student_age_limit}`) that the rates' words name, and the lines every scheme shows
    /// (`{after_cnam}`, `{special}`, `{dental}`) filled with them.
    pub(crate) fn rates(&self, benefits: &Benefits, rules: &RuleConfig) -> Vec<Var> {
        let mut vars: Vec<Var> = benefits
            .rates
            .iter()
            .flat_map(|(group, rates)| {
                rates.iter().map(move |(name, rate)| {
                    let value = match rate {
                        Rate::Percent(p) => p.to_string(),
                        Rate::Amount(m) => self.amount(*m),
                    };
                    var(&format!("{group}.{name}"), value)
                })
            })
            .collect();
        vars.push(var("child_age_limit", rules.child_age_limit.to_string()));
        if let Some(limit) = rules.student_age_limit {
            vars.push(var("student_age_limit", limit.to_string()));
        }
        let lines: Vec<Var> = RATE_LINES
            .iter()
            .map(|(name, key)| var(name, self.words.fill(key, &vars)))
            .collect();
        vars.extend(lines);
        vars
    }
}

fn var(name: &str, value: impl Into<String>) -> Var {
    (name.to_string(), value.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::words::{dependents_keys, entitlement_keys, osms_details_keys, RELATIONS};
    use crate::inquiry::BeneficiaryBalance;
    use crate::record::Relation;
    use crate::rules::Reason;
    use jiff::civil::date;
    use std::collections::HashMap;

    fn words(entries: &[(&str, &str)]) -> Words {
        Words {
            entries: entries
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            files: HashMap::new(),
            lines: HashMap::new(),
        }
    }

    fn english() -> Words {
        words(&[
            ("until", "until {date}"),
            ("open_ended", "with no end date (open-ended)"),
            ("ended_on", "{reason}, ended {date}"),
            ("reason.expired", "expired"),
            (
                "reason.no_birth_certificate",
                "no birth certificate on file",
            ),
            ("relation.son", "son"),
            ("relation.daughter", "daughter"),
            ("dependent.covered", "{who}: covered {until}"),
            ("dependent.who", "{name} ({relation})"),
            ("dependent.not_covered", "{who}: not covered, {reason}"),
            ("month.paid", "+"),
            ("month.unpaid", "-"),
            ("provider", "Clinic: {provider}"),
            ("no_provider", "No clinic"),
        ])
    }

    #[test]
    fn entitlements_read_as_a_date_the_open_ended_word_or_a_reason() {
        let en = english();
        let fa = words(&[
            ("until", "تا {date}"),
            ("open_ended", "بدون تاریخ پایان"),
            ("reason.expired", "منقضی"),
            ("ended_on", "{reason}، پایان {date}"),
        ]);
        let cases = [
            (
                &en,
                "en",
                Entitlement::Covered {
                    until: Some(date(2026, 12, 31)),
                },
                ("until", "until 2026-12-31"),
            ),
            (
                &fa,
                "fa",
                Entitlement::Covered {
                    until: Some(date(2025, 3, 21)),
                },
                ("until", "تا ۱۴۰۴/۰۱/۰۱"),
            ),
            (
                &en,
                "en",
                Entitlement::Covered { until: None },
                ("until", "with no end date (open-ended)"),
            ),
            (
                &fa,
                "fa",
                Entitlement::Covered { until: None },
                ("until", "بدون تاریخ پایان"),
            ),
            (
                &en,
                "en",
                Entitlement::NotCovered(Reason::Expired),
                ("reason", "expired"),
            ),
        ];
        for (words, locale, entitlement, (name, value)) in cases {
            let render = Render { words, locale };
            assert_eq!(
                render.entitlement(&entitlement),
                var(name, value),
                "{entitlement:?}"
            );
            assert!(!value.contains("until with"), "never 'until no end date'");
        }
        // Option 1 shows the end date that passed beside the reason.
        let expired = Entitlement::NotCovered(Reason::Expired);
        let passed = Some(date(2025, 3, 20));
        let cases = [
            (&en, "en", passed, "expired, ended 2025-03-20"),
            (&en, "en", None, "expired"),
            (&fa, "fa", passed, "منقضی، پایان ۱۴۰۳/۱۲/۳۰"),
        ];
        for (words, locale, ended, want) in cases {
            let render = Render { words, locale };
            assert_eq!(
                render.entitlement_ended(&expired, ended),
                var("reason", want)
            );
        }
    }

    #[test]
    fn a_dependents_list_is_one_line_each() {
        let en = english();
        let render = Render {
            words: &en,
            locale: "en",
        };
        let dependents = [
            DependentStatus {
                name: Some("R. Ahmadi".into()),
                relation: Relation::Son,
                entitlement: Entitlement::Covered {
                    until: Some(date(2026, 3, 15)),
                },
            },
            DependentStatus {
                name: None,
                relation: Relation::Daughter,
                entitlement: Entitlement::NotCovered(Reason::NoBirthCertificate),
            },
        ];
        let cases: [(&[DependentStatus], &str); 3] = [
            (
                &dependents,
                "R. Ahmadi (son): covered until 2026-03-15\ndaughter: not covered, no birth certificate on file",
            ),
            (&dependents[1..], "daughter: not covered, no birth certificate on file"),
            (&[], ""),
        ];
        for (list, want) in cases {
            assert_eq!(render.dependents(list), var("list", want));
        }
    }

    #[test]
    fn the_month_row_and_the_provider_line() {
        let en = english();
        let render = Render {
            words: &en,
            locale: "en",
        };
        let m = |year, month| MonthKey { year, month };
        let row = [
            (m(2025, 11), true),
            (m(2025, 12), false),
            (m(2026, 1), true),
        ];
        assert_eq!(render.months(&row), var("months", "11+12-01+"));
        assert_eq!(render.months(&[]), var("months", ""));
        let cases = [(Some("Emhana 5"), "Clinic: Emhana 5"), (None, "No clinic")];
        for (provider, want) in cases {
            assert_eq!(render.provider(provider), var("provider", want));
        }
    }

    #[test]
    fn amounts_and_codes_follow_the_locale_when_shown() {
        let fa = words(&[("amount", "{amount}")]);
        let render = Render {
            words: &fa,
            locale: "fa",
        };
        assert_eq!(render.amount(Money::from_minor(120_500)), "۱۲۰.۵۰۰");
        let fr = words(&[("amount", "{amount} D")]);
        let ar = words(&[("amount", "{amount} د")]);
        let cases = [
            (&fr, "fr", 120_500, "120.500 D"),
            (&fr, "fr", 0, "0.000 D"),
            (&fr, "fr", 5, "0.005 D"),
            (&ar, "ar", 120_500, "120.500 د"),
            (&ar, "ar", 1_234_567_890, "1234567.890 د"),
        ];
        for (words, locale, minor, want) in cases {
            let render = Render { words, locale };
            assert_eq!(render.amount(Money::from_minor(minor)), want);
        }
        let code = TrackingCode::parse("0618033997").map(|c| render.code(c));
        assert_eq!(
            code,
            Some(var("code", "0618033997")),
            "digits are localised on display"
        );
    }

    fn french() -> Words {
        words(&[
            ("until", "jusqu'au {date}"),
            ("open_ended", "sans date de fin"),
            ("amount", "{amount} D"),
            (
                "ceiling",
                "Plafond {year}: utilisé {used}, reste {remaining} sur {limit}",
            ),
            ("chronic.line", "APCI {label} {until}"),
            ("chronic.none", "Aucune APCI"),
            ("balance.line", "{who}: reste {remaining}"),
            ("balance.dental", "Dentaire: reste {remaining}"),
            ("dependent.not_covered", "{who}: non, {reason}"),
            ("relation.spouse", "conjoint"),
            ("relation.son", "fils"),
            ("reason.other_cover", "autre couverture"),
            ("rates.after_cnam", "CNAM épuisé: {after_cnam.medicines}%"),
            (
                "rates.special",
                "{child_age_limit}-{student_age_limit} ans: {special.tests}%",
            ),
            ("rates.dental", "Dentaire {dental.share}%"),
        ])
    }

    fn money(s: &str) -> Money {
        Money::parse(s).expect("amount")
    }

    #[test]
    fn a_ceiling_chronic_coverages_and_balances_read_in_dinars() {
        let fr = french();
        let render = Render {
            words: &fr,
            locale: "fr",
        };
        let balance = Balance {
            limit: money("450"),
            used: money("500.250"),
            remaining: money("0"),
        };
        assert_eq!(
            render.ceiling(Some((2026, balance))),
            var(
                "ceiling",
                "Plafond 2026: utilisé 500.250 D, reste 0.000 D sur 450.000 D"
            )
        );
        assert_eq!(render.ceiling(None), var("ceiling", ""));
        let chronic = [
            ChronicCover {
                label: "diabète".into(),
                until: Some(date(2027, 3, 31)),
            },
            ChronicCover {
                label: "APCI-12".into(),
                until: None,
            },
        ];
        assert_eq!(
            render.chronic(&chronic),
            var(
                "chronic",
                "APCI diabète jusqu'au 31/03/2027\nAPCI APCI-12 sans date de fin"
            )
        );
        assert_eq!(render.chronic(&[]), var("chronic", "Aucune APCI"));
        assert_eq!(render.end_date(Some(date(2027, 3, 31))), "31/03/2027");
        assert_eq!(render.end_date(None), "sans date de fin");
        let line = |relation, entitlement, balance| BeneficiaryBalance {
            status: DependentStatus {
                name: None,
                relation,
                entitlement,
            },
            balance,
        };
        let balances = MutualBalances {
            entitlement: Entitlement::Covered { until: None },
            year: 2026,
            beneficiaries: vec![
                line(
                    Relation::Spouse,
                    Entitlement::Covered { until: None },
                    Some(balance),
                ),
                line(
                    Relation::Son,
                    Entitlement::NotCovered(Reason::OtherCover),
                    Some(balance),
                ),
            ],
            dental: Some(Balance {
                limit: money("300"),
                used: money("12"),
                remaining: money("288"),
            }),
        };
        assert_eq!(
            render.balances(&balances),
            [
                var(
                    "list",
                    "conjoint: reste 0.000 D\nfils: non, autre couverture\nDentaire: reste 288.000 D"
                ),
                var("year", "2026"),
            ]
        );
    }

    #[test]
    fn rates_are_filled_from_the_configuration_and_the_rules() {
        let fr = french();
        let render = Render {
            words: &fr,
            locale: "fr",
        };
        let benefits: Benefits = toml::from_str(
            "[rates.private]\nmedicines = 90\nconsultation_general = \"4.000\"\n\
             [rates.after_cnam]\nmedicines = 70\n[rates.special]\ntests = 80\n\
             [rates.dental]\nshare = 30\n",
        )
        .expect("benefits");
        let rules = RuleConfig::for_set(crate::rules::RuleSet::Mutual);
        let vars = render.rates(&benefits, &rules);
        let get = |name: &str| {
            vars.iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        let cases = [
            ("private.medicines", "90"),
            ("private.consultation_general", "4.000 D"),
            ("after_cnam", "CNAM épuisé: 70%"),
            ("special", "20-25 ans: 80%"),
            ("dental", "Dentaire 30%"),
            ("child_age_limit", "20"),
            ("student_age_limit", "25"),
        ];
        for (name, want) in cases {
            assert_eq!(get(name), Some(want), "{name}");
        }
    }

    #[test]
    fn the_declared_keys_cover_every_reason_and_relation() {
        let keys = dependents_keys();
        for reason in Reason::ALL {
            assert!(keys.contains(&reason_key(reason)), "{reason:?}");
        }
        for relation in RELATIONS {
            assert!(keys.contains(&relation_key(relation)), "{relation:?}");
        }
        assert!(entitlement_keys().iter().all(|k| keys.contains(k)));
        assert_eq!(osms_details_keys().len(), 4);
    }
}
