//! The support staff's question (issue 12, item 7): a person's entitlement as the engine sees
//! it today, whole — status, the end date, the rule that decided, the dependents' statuses and,
//! for `cnam` and `mutual`, the ceilings — for an operator answering a complaint. It is put by
//! the admin API as an API client (`client:admin` in the audit trail) and asks no phone: the
//! staff are trusted with every detail, and each lookup is audited under a tracking code like
//! any inquiry, the person named by the keyed hash of their identifier.
//!
//! It is the same path as the callers' questions: `rules::entitlement` (or `osms_insured`), the
//! store's records, the benefits' balances, `dependent_status` — no second reading of the rules.

use jiff::civil::Date;

use super::{DependentStatus, Desk, InquiryError, Kind, Recorded, Tracked};
use crate::benefits::{kind, Balance};
use crate::ids::{Cin, Matricule};
use crate::record::{CoverageStatus, Person, Relation};
use crate::rules::{ended_on, entitlement, osms_insured, Entitlement, Reason, RuleSet};

/// Whom the staff ask about.
#[derive(Clone, Copy)]
pub(crate) enum Subject<'a> {
    /// The person's identifier at the insurer (a national code, an IIN).
    Id(&'a str),
    /// A CNAM matricule and CIN that must belong to one person (`cnam`, `mutual`).
    Pair(&'a Matricule, &'a Cin),
}

/// Which rules decide: SPEC §5.1's table (`tamin`, `cnam`, `mutual`) or `osms`'s (insured
/// while the coverage is active).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ruling {
    Entitlement,
    Osms,
}

/// The person as the engine sees them today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PersonView {
    /// Their relation to the holder whose record they are on; `None` for a holder.
    pub(crate) relation: Option<Relation>,
    /// Covered through a date, or not, with the rule's reason.
    pub(crate) entitlement: Entitlement,
    /// Covered: the end of the cover (`None`: open-ended). Not covered: the end that passed,
    /// where a record holds one.
    pub(crate) until: Option<Date>,
    /// A holder's dependents (a dependent's list is empty).
    pub(crate) dependents: Vec<DependentStatus>,
    /// The ceilings of the year that apply (`cnam`: the ordinary-illness ceiling of the
    /// booklet; `mutual`: the dental balance and each spouse's and child's ceiling).
    pub(crate) ceilings: Vec<CeilingView>,
}

/// One ceiling, and whose it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CeilingView {
    /// `ordinary`, `dental`, `spouse`, `child` (`benefits::kind`).
    pub(crate) kind: &'static str,
    /// Whose record holds it: `None` the person's own (or, for `cnam`, their booklet's
    /// holder), else the dependent's relation.
    pub(crate) of: Option<Relation>,
    pub(crate) year: i16,
    pub(crate) balance: Balance,
}

impl Desk<'_> {
    /// The whole entitlement of `subject`, or `None` when no record holds them (audited as
    /// `unknown`: the staff may know that a person is not on record).
    pub(crate) async fn support_view(
        &self,
        subject: Subject<'_>,
        ruling: Ruling,
    ) -> Result<Tracked<Option<PersonView>>, InquiryError> {
        let (person, named) = match subject {
            Subject::Id(id) => (self.person(id)?, id),
            Subject::Pair(matricule, cin) => (
                self.store()
                    .person_by_pair(self.scope.insurer, matricule, cin)?,
                cin.as_str(),
            ),
        };
        let Some(person) = person else {
            return self
                .tracked(None, Kind::Support, Recorded::Unknown, Some(named))
                .await;
        };
        let view = self.person_view(&person, ruling)?;
        let result = Recorded::of(view.entitlement.is_covered());
        self.tracked(Some(view), Kind::Support, result, Some(&person.person_id))
            .await
    }

    fn person_view(&self, person: &Person, ruling: Ruling) -> Result<PersonView, InquiryError> {
        let holder = self.holder_of(person)?;
        let verdict = self.verdict(person, holder.as_ref(), ruling);
        let until = match verdict {
            Entitlement::Covered { until } => until,
            Entitlement::NotCovered(_) => ended_on(person, holder.as_ref(), self.today),
        };
        let records = match person.holder {
            Some(_) => Vec::new(),
            None => self
                .store()
                .dependents(self.scope.insurer, &person.person_id)?,
        };
        let dependents = records
            .iter()
            .filter_map(|d| {
                let mut line = self.dependent_status(d, Some(person))?;
                line.entitlement = self.verdict(d, Some(person), ruling);
                Some(line)
            })
            .collect();
        let ceilings = self.ceilings(person, holder.as_ref(), &records);
        Ok(PersonView {
            relation: person.holder.as_ref().map(|h| h.relation),
            entitlement: verdict,
            until,
            dependents,
            ceilings,
        })
    }

    /// The entitlement of `person` under `ruling`.
    fn verdict(&self, person: &Person, holder: Option<&Person>, ruling: Ruling) -> Entitlement {
        match ruling {
            Ruling::Entitlement => entitlement(person, holder, self.scope.rules, self.today),
            Ruling::Osms if osms_insured(person) => Entitlement::Covered {
                until: person.coverage.as_ref().and_then(|c| c.until),
            },
            Ruling::Osms => Entitlement::NotCovered(match person.coverage.as_ref() {
                Some(c) if c.status == CoverageStatus::Ended => Reason::Ended,
                Some(_) => Reason::Suspended,
                None => Reason::NoCoverage,
            }),
        }
    }

    /// The ceilings of the year for `person`, by the service's rule set.
    fn ceilings(
        &self,
        person: &Person,
        holder: Option<&Person>,
        dependents: &[Person],
    ) -> Vec<CeilingView> {
        let year = self.today.year();
        let benefits = self.scope.benefits;
        let ceiling = |record: &Person, kind: &'static str, of: Option<Relation>| {
            benefits
                .balance(&record.ceilings, kind, year)
                .map(|balance| CeilingView {
                    kind,
                    of,
                    year,
                    balance,
                })
        };
        let own_kind = |record: &Person| match record.holder.as_ref().map(|h| h.relation) {
            Some(Relation::Spouse) => Some(kind::SPOUSE),
            Some(Relation::Son | Relation::Daughter) => Some(kind::CHILD),
            _ => None,
        };
        match self.scope.rules.rule_set {
            RuleSet::Cnam => ceiling(holder.unwrap_or(person), kind::ORDINARY, None)
                .into_iter()
                .collect(),
            RuleSet::Mutual if person.holder.is_some() => own_kind(person)
                .and_then(|k| ceiling(person, k, None))
                .into_iter()
                .collect(),
            RuleSet::Mutual => {
                let mut all: Vec<CeilingView> =
                    ceiling(person, kind::DENTAL, None).into_iter().collect();
                for dependent in dependents {
                    let relation = dependent.holder.as_ref().map(|h| h.relation);
                    if let Some(k) = own_kind(dependent) {
                        all.extend(ceiling(dependent, k, relation));
                    }
                }
                all
            }
            RuleSet::Tamin => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{Fixture, TODAY};
    use super::super::{Asker, Scope};
    use super::*;
    use crate::benefits::Benefits;
    use crate::rules::RuleConfig;
    use serde_json::json;

    const HOLDER: &str = "08123456";
    const SPOUSE: &str = "08123457";
    const SUSPENDED: &str = "07000001";

    fn people() -> Fixture {
        Fixture::with(&[
            json!({"insurer": "cnam", "person_id": HOLDER, "member_no": "11966433",
                "coverage": {"status": "active", "from": "2020-01-01", "until": "2027-12-31"},
                "ceilings": [{"kind": "ordinary", "year": 2026, "limit": "500.000",
                    "used": "120.500"}]}),
            json!({"insurer": "cnam", "person_id": SPOUSE, "member_no": "11966433",
                "birth_date": "1980-01-01", "sex": "f",
                "holder": {"person_id": HOLDER, "relation": "spouse"}}),
            json!({"insurer": "cnam", "person_id": SUSPENDED, "member_no": "22",
                "coverage": {"status": "suspended"}}),
            json!({"insurer": "osms", "person_id": "900515300127",
                "coverage": {"status": "ended"}}),
        ])
    }

    async fn view(
        fixture: &Fixture,
        service: &str,
        subject: Subject<'_>,
        ruling: Ruling,
    ) -> Tracked<Option<PersonView>> {
        let rules = RuleConfig::for_set(if service == "cnam" {
            RuleSet::Cnam
        } else {
            RuleSet::Tamin
        });
        let benefits = Benefits::default();
        let scope = Scope {
            service,
            insurer: service,
            time_zone: "UTC",
            rules: &rules,
            benefits: &benefits,
        };
        let desk = fixture
            .inquiries
            .desk(scope, Asker::Client { name: "admin" }, "test");
        desk.support_view(subject, ruling).await.expect("answered")
    }

    #[tokio::test]
    async fn a_holder_whole_with_dependents_and_ceiling() {
        let fixture = people();
        let tracked = view(&fixture, "cnam", Subject::Id(HOLDER), Ruling::Entitlement).await;
        let person = tracked.answer.expect("on record");
        assert_eq!(person.relation, None);
        let until = jiff::civil::date(2027, 12, 31);
        assert_eq!(
            person.entitlement,
            Entitlement::Covered { until: Some(until) }
        );
        assert_eq!(person.until, Some(until));
        assert_eq!(person.dependents.len(), 1);
        assert_eq!(person.dependents[0].relation, Relation::Spouse);
        assert!(person.dependents[0].entitlement.is_covered());
        assert_eq!(person.ceilings.len(), 1);
        assert_eq!(person.ceilings[0].kind, "ordinary");
        assert_eq!(person.ceilings[0].year, TODAY.year());
        assert_eq!(person.ceilings[0].balance.remaining.to_string(), "379.500");
        let entry = fixture.trail(tracked.code);
        assert_eq!(
            (entry.kind.as_str(), entry.result.as_str()),
            ("support", "covered")
        );
        assert_eq!(entry.caller, "client:admin");
        assert_eq!(entry.subject, Some(fixture.hash(HOLDER)));
    }

    #[tokio::test]
    async fn not_covered_names_the_rule_and_a_stranger_is_unknown() {
        let fixture = people();
        let suspended = view(
            &fixture,
            "cnam",
            Subject::Id(SUSPENDED),
            Ruling::Entitlement,
        )
        .await;
        let person = suspended.answer.expect("on record");
        assert_eq!(
            person.entitlement,
            Entitlement::NotCovered(Reason::Suspended)
        );
        let nobody = view(
            &fixture,
            "cnam",
            Subject::Id("01234567"),
            Ruling::Entitlement,
        )
        .await;
        assert_eq!(nobody.answer, None);
        let entry = fixture.trail(nobody.code);
        assert_eq!(entry.result, "unknown");
        assert_eq!(entry.subject, Some(fixture.hash("01234567")));
        let osms = view(&fixture, "osms", Subject::Id("900515300127"), Ruling::Osms).await;
        let person = osms.answer.expect("on record");
        assert_eq!(person.entitlement, Entitlement::NotCovered(Reason::Ended));
        assert!(
            !entry.to_string().contains("01234567"),
            "no identifier in clear"
        );
    }

    #[tokio::test]
    async fn a_pair_must_belong_to_one_person() {
        let fixture = people();
        let matricule = Matricule::parse("11966433").expect("valid");
        let right = Cin::parse(HOLDER).expect("valid");
        let wrong = Cin::parse(SUSPENDED).expect("valid");
        let found = view(
            &fixture,
            "cnam",
            Subject::Pair(&matricule, &right),
            Ruling::Entitlement,
        )
        .await;
        assert!(found.answer.is_some());
        let refused = view(
            &fixture,
            "cnam",
            Subject::Pair(&matricule, &wrong),
            Ruling::Entitlement,
        )
        .await;
        assert_eq!(refused.answer, None);
    }
}
