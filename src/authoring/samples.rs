//! Sample values for measuring screens (`daftar check`'s table): a screen is filled as the
//! actions that lead to it fill it, by the actions' own renderer (`actions::render`), with
//! answers about as long as real ones get, so the length shown is honest:
//!
//! - `{code}` `1234567890` (a tracking code is always 10 digits); `{complaints}` the service's line;
//! - dates 2026-12-31 (every locale writes a date at a fixed width); `{until}` the longer of a
//!   dated end and the open-ended words; `{reason}` the longest reason, with its end date;
//! - names of 28 letters (`Mohammad-Hossein Tabatabaei`, longer than any in the sample feed);
//! - lists of 8 dependents or beneficiaries (the sample feed's largest household), every other one
//!   not covered for the longest reason;
//! - 12 months, every other one unpaid; a 41-letter polyclinic name;
//! - amounts in the thousands of dinars (`1500.000`, `1234.567`, `265.433`); two chronic
//!   coverages with long labels; the service's own rates and age limits.

use jiff::civil::{date, Date};

use crate::actions::render::{Render, Var};
use crate::benefits::Balance;
use crate::catalog::Action;
use crate::inquiry::{BeneficiaryBalance, ChronicCover, DependentStatus, MutualBalances};
use crate::menu::{Screen, Service};
use crate::money::Money;
use crate::record::{MonthKey, Relation};
use crate::rules::{Entitlement, Reason};

/// A tracking code's length.
pub(crate) const CODE: &str = "1234567890";
/// A long name, as the feed gives it.
pub(crate) const NAME: &str = "Mohammad-Hossein Tabatabaei";
/// A long polyclinic name.
pub(crate) const PROVIDER: &str = "City polyclinic No. 11 of Almaly district";
/// The people of a long list: the sample feed's largest household.
const LIST_LENGTH: usize = 8;
const CHRONIC: [&str; 2] = [
    "diabète insulino-dépendant",
    "hypertension artérielle sévère",
];

fn sample_date() -> Date {
    date(2026, 12, 31)
}

/// The variables of `screen` (the screen `id` of `service`) in `locale`: the base ones, and
/// those of every action that leads to it.
pub(crate) fn vars_for(service: &Service, id: &str, locale: &str) -> Vec<Var> {
    let render = Render {
        words: service.words(locale),
        locale,
    };
    let mut vars = base(service, &render);
    for action in actions_leading_to(service, id) {
        vars.extend(of_action(service, &render, action));
    }
    vars
}

fn base(service: &Service, render: &Render<'_>) -> Vec<Var> {
    let dated = render.until(Some(sample_date()));
    let open = render.until(None);
    vec![
        var("code", CODE),
        var(
            "complaints",
            service.spec.complaints.as_deref().unwrap_or(""),
        ),
        var("until", &longest(vec![dated, open])),
        var("end", &render.end_date(Some(sample_date()))),
        longest_reason(render),
    ]
}

/// `{reason}` of the longest reason in this locale, with the end date that passed.
fn longest_reason(render: &Render<'_>) -> Var {
    let reasons = Reason::ALL.iter().map(|reason| {
        let not_covered = Entitlement::NotCovered(*reason);
        render
            .entitlement_ended(&not_covered, Some(sample_date()))
            .1
    });
    var("reason", &longest(reasons.collect()))
}

/// The longest reason as an entitlement, for list lines.
fn longest_not_covered(render: &Render<'_>) -> Entitlement {
    let reason = Reason::ALL
        .iter()
        .copied()
        .max_by_key(|reason| {
            let not_covered = Entitlement::NotCovered(*reason);
            render.entitlement(&not_covered).1.chars().count()
        })
        .unwrap_or(Reason::NoCoverage);
    Entitlement::NotCovered(reason)
}

fn of_action(service: &Service, render: &Render<'_>, action: Action) -> Vec<Var> {
    match action {
        Action::TaminMyDependents | Action::TaminDependentsOf | Action::CnamBooklet => {
            vec![render.dependents(&dependents(render))]
        }
        Action::OsmsStatus => {
            let months: Vec<(MonthKey, bool)> = (1..=12)
                .map(|month| (MonthKey { year: 2026, month }, month % 2 == 0))
                .collect();
            vec![render.months(&months), render.provider(Some(PROVIDER))]
        }
        Action::CnamCoverage => {
            let chronic: Vec<ChronicCover> = CHRONIC
                .iter()
                .map(|label| ChronicCover {
                    label: label.to_string(),
                    until: Some(sample_date()),
                })
                .collect();
            vec![
                render.ceiling(Some((2026, balance()))),
                render.chronic(&chronic),
            ]
        }
        Action::MutualBalances => {
            let beneficiaries = dependents(render)
                .into_iter()
                .map(|status| BeneficiaryBalance {
                    status,
                    balance: Some(balance()),
                })
                .collect();
            let balances = MutualBalances {
                // Not on the screen (the FHIR API's `inforce`).
                entitlement: Entitlement::Covered {
                    until: Some(sample_date()),
                },
                year: 2026,
                beneficiaries,
                dental: Some(balance()),
            };
            render.balances(&balances).to_vec()
        }
        Action::MutualRates => render.rates(&service.benefits, &service.rules),
        Action::TaminOwnStatus
        | Action::TaminGeneral
        | Action::CnamSubscriptionPair
        | Action::CnamSubscribe
        | Action::CnamUnsubscribe => Vec::new(),
    }
}

/// A long household: every relation, named, every other one not covered.
fn dependents(render: &Render<'_>) -> Vec<DependentStatus> {
    let relations = [
        Relation::Spouse,
        Relation::Son,
        Relation::Daughter,
        Relation::Father,
        Relation::Mother,
    ];
    (0..LIST_LENGTH)
        .map(|i| DependentStatus {
            name: Some(NAME.to_string()),
            relation: relations[i % relations.len()],
            entitlement: if i % 2 == 0 {
                Entitlement::Covered {
                    until: Some(sample_date()),
                }
            } else {
                longest_not_covered(render)
            },
        })
        .collect()
}

fn balance() -> Balance {
    Balance {
        limit: Money::from_minor(1_500_000),
        used: Money::from_minor(1_234_567),
        remaining: Money::from_minor(265_433),
    }
}

/// The actions whose outcomes name the screen `id`.
fn actions_leading_to(service: &Service, id: &str) -> Vec<Action> {
    service
        .screens
        .values()
        .filter_map(|screen| match screen {
            Screen::Action { action, outcomes } if outcomes.values().any(|next| next == id) => {
                Action::from_name(action)
            }
            _ => None,
        })
        .collect()
}

fn longest(texts: Vec<String>) -> String {
    texts
        .into_iter()
        .max_by_key(|text| text.chars().count())
        .unwrap_or_default()
}

fn var(name: &str, value: &str) -> Var {
    (name.to_string(), value.to_string())
}
