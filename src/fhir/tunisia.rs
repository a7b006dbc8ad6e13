//! `cnam` and `mutual` through the API. The pair (matricule and CIN) names the person, as on
//! USSD (`inquiry::caller`); a pair that does not belong to one person is tracked as a mismatch
//! and answered "not found", never saying which half was wrong. A `member` client asking for
//! `benefits` whose request's phone binds the person (their record's or their holder's phone,
//! or one subscribed to alerts for them) gets the fund's own answer, as the USSD option 1
//! gives it: `cnam`'s coverage with the ordinary-illness ceiling and the chronic coverages,
//! `mutual`'s balances per beneficiary and the dental balance. Any other asker gets the general
//! answer: in force or not, nothing else. This module only turns those answers into items.

use super::request::{Eligibility, Fund};
use super::response::{Category, Item};
use super::{Asked, Client, Found, CHANNEL};
use crate::audit::TrackingCode;
use crate::ids::{Cin, Matricule};
use crate::inquiry::{
    Asker, Claim, CnamCoverage, Desk, General, Inquiries, InquiryError, MutualBalances, Scope, Who,
};
use crate::record::{Person, Relation};
use crate::rules::Entitlement;

use super::config::ClientScope;

/// A pair as the request gave it.
pub(super) struct Pair<'a> {
    pub(super) fund: Fund,
    pub(super) matricule: &'a Matricule,
    pub(super) cin: &'a Cin,
}

/// The answer to `asked`, which names `pair`, for `client`.
pub(super) async fn ask(
    inquiries: &Inquiries,
    scope: Scope<'_>,
    client: &Client,
    asked: &Eligibility,
    pair: Pair<'_>,
) -> Result<Asked, InquiryError> {
    let asker = match (client.scope, asked.msisdn.as_deref()) {
        (ClientScope::Member, Some(msisdn)) => Asker::Member {
            name: &client.name,
            msisdn,
        },
        _ => Asker::Client { name: &client.name },
    };
    let desk = inquiries.desk(scope, asker, CHANNEL);
    let person = match desk.who(Claim::Pair(pair.matricule, pair.cin))? {
        Who::Found(person) => *person,
        Who::AskPair | Who::WrongPair => return Ok(Asked::NoSuchPair(desk.pair_refused().await?)),
    };
    let found = if asked.wants_benefits() && desk.phone_binds(&person)? {
        match pair.fund {
            Fund::Cnam => cnam(&desk, &person).await?,
            Fund::Mutual => mutual(&desk, &person).await?,
        }
    } else {
        general(&desk, &person).await?
    };
    Ok(Asked::Found(found))
}

/// In force or not, as the general inquiry answers a provider.
async fn general(desk: &Desk<'_>, person: &Person) -> Result<Found, InquiryError> {
    let tracked = desk.general_of(person).await?;
    Ok(Found {
        inforce: tracked.answer == General::Covered,
        until: None,
        code: tracked.code,
        created: desk.today(),
        items: Vec::new(),
    })
}

/// `cnam` option 1: the coverage, its end, the ordinary-illness ceiling, the chronic coverages.
async fn cnam(desk: &Desk<'_>, person: &Person) -> Result<Found, InquiryError> {
    let tracked = desk.cnam_coverage(person).await?;
    let items = cnam_items(&tracked.answer);
    Ok(with_benefits(
        desk,
        tracked.answer.entitlement,
        tracked.code,
        items,
    ))
}

fn cnam_items(coverage: &CnamCoverage) -> Vec<Item> {
    let ordinary = coverage.ceiling.map(|ceiling| Item {
        category: Category::Ordinary,
        name: None,
        ceiling: Some(ceiling),
        until: None,
        excluded: None,
    });
    let chronic = coverage.chronic.iter().map(|c| Item {
        category: Category::Chronic,
        name: Some(c.label.clone()),
        ceiling: None,
        until: c.until,
        excluded: None,
    });
    ordinary.into_iter().chain(chronic).collect()
}

/// `mutual` option 1: each beneficiary's own ceiling, and the member's dental balance.
async fn mutual(desk: &Desk<'_>, person: &Person) -> Result<Found, InquiryError> {
    let tracked = desk.mutual_balances(person).await?;
    let items = mutual_items(&tracked.answer);
    Ok(with_benefits(
        desk,
        tracked.answer.entitlement,
        tracked.code,
        items,
    ))
}

fn mutual_items(balances: &MutualBalances) -> Vec<Item> {
    let year = balances.year;
    let beneficiaries = balances.beneficiaries.iter().map(|b| Item {
        category: match b.status.relation {
            Relation::Spouse => Category::Spouse,
            _ => Category::Child,
        },
        name: Some(relation(b.status.relation).to_string()),
        ceiling: b.balance.map(|balance| (year, balance)),
        until: None,
        excluded: Some(!b.status.entitlement.is_covered()),
    });
    let dental = balances.dental.map(|balance| Item {
        category: Category::Dental,
        name: None,
        ceiling: Some((year, balance)),
        until: None,
        excluded: None,
    });
    beneficiaries.chain(dental).collect()
}

/// A member's answer: in force with the benefit period's end when covered, and `items`.
fn with_benefits(
    desk: &Desk<'_>,
    entitlement: Entitlement,
    code: TrackingCode,
    items: Vec<Item>,
) -> Found {
    let (inforce, until) = match entitlement {
        Entitlement::Covered { until } => (true, until),
        Entitlement::NotCovered(_) => (false, None),
    };
    Found {
        inforce,
        until,
        code,
        created: desk.today(),
        items,
    }
}

/// A beneficiary's relation, as the item's name (never their own name).
fn relation(relation: Relation) -> &'static str {
    match relation {
        Relation::Spouse => "spouse",
        Relation::Son => "son",
        Relation::Daughter => "daughter",
        Relation::Father => "father",
        Relation::Mother => "mother",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::benefits::Balance;
    use crate::inquiry::{BeneficiaryBalance, ChronicCover, DependentStatus};
    use crate::money::Money;
    use crate::rules::Reason;
    use jiff::civil::date;

    fn balance(limit: &str, used: &str) -> Balance {
        let (limit, used) = (Money::parse(limit).unwrap(), Money::parse(used).unwrap());
        Balance {
            limit,
            used,
            remaining: limit.remaining_after(used),
        }
    }

    #[test]
    fn cnam_gives_the_ceiling_then_each_chronic_coverage() {
        let coverage = CnamCoverage {
            entitlement: Entitlement::Covered { until: None },
            until: None,
            ceiling: Some((2026, balance("450", "120.5"))),
            chronic: vec![ChronicCover {
                label: "diabète".into(),
                until: Some(date(2027, 3, 31)),
            }],
        };
        let items = cnam_items(&coverage);
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].category, Category::Ordinary);
        assert_eq!(items[0].ceiling, Some((2026, balance("450", "120.5"))));
        assert_eq!(items[1].category, Category::Chronic);
        assert_eq!(items[1].name.as_deref(), Some("diabète"));
        assert_eq!(items[1].until, Some(date(2027, 3, 31)));
        let bare = CnamCoverage {
            ceiling: None,
            chronic: Vec::new(),
            ..coverage
        };
        assert!(cnam_items(&bare).is_empty());
    }

    #[test]
    fn mutual_names_beneficiaries_by_relation_and_marks_those_not_covered() {
        let line = |relation, entitlement, balance| BeneficiaryBalance {
            status: DependentStatus {
                name: Some("Never shown".into()),
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
                    Some(balance("150", "40.5")),
                ),
                line(
                    Relation::Daughter,
                    Entitlement::NotCovered(Reason::OtherCover),
                    None,
                ),
            ],
            dental: Some(balance("300", "320")),
        };
        let items = mutual_items(&balances);
        let summary: Vec<(Category, Option<&str>, Option<bool>, bool)> = items
            .iter()
            .map(|i| {
                let name = i.name.as_deref();
                (i.category, name, i.excluded, i.ceiling.is_some())
            })
            .collect();
        assert_eq!(
            summary,
            [
                (Category::Spouse, Some("spouse"), Some(false), true),
                (Category::Child, Some("daughter"), Some(true), false),
                (Category::Dental, None, None, true),
            ]
        );
    }
}
