//! The questions of `cnam` (Tunisia, CNAM; SPEC §2.2) about a person already identified
//! (`caller`): their coverage with the ordinary-illness ceiling of the year and their chronic
//! coverages, the people of their care booklet under law 2004-71, and the SMS alerts of the
//! calling phone (subscribe, unsubscribe).
//!
//! A holder sees their booklet; a dependent identified by their own phone or pair sees their
//! own line only (SPEC §2.2: beneficiaries go only to the member).

use jiff::civil::Date;

use super::{Asker, DependentStatus, Desk, InquiryError, Kind, Recorded, Tracked};
use crate::benefits::{kind, Balance};
use crate::record::Person;
use crate::rules::{entitlement, Entitlement};
use crate::subscriptions::Subscribed;

/// The answer of "my coverage".
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CnamCoverage {
    /// Covered under SPEC §5.1 (« droits ouverts »), or why not (« droits fermés »).
    pub(crate) entitlement: Entitlement,
    /// The end of the coverage on record (`coverage.until`; the holder's for a dependent
    /// without its own); `None`: open-ended.
    pub(crate) until: Option<Date>,
    /// The year of the ceiling and its balance (the holder's); `None` when neither the record
    /// nor the configuration gives a limit.
    pub(crate) ceiling: Option<(i16, Balance)>,
    /// Each chronic or serious illness coverage on the person's own record.
    pub(crate) chronic: Vec<ChronicCover>,
}

/// One chronic or serious illness coverage (APCI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChronicCover {
    /// The record's label, else its code.
    pub(crate) label: String,
    pub(crate) until: Option<Date>,
}

impl Desk<'_> {
    /// Option 1: `person`'s coverage.
    pub(crate) async fn cnam_coverage(
        &self,
        person: &Person,
    ) -> Result<Tracked<CnamCoverage>, InquiryError> {
        let holder = self.holder_of(person)?;
        let verdict = entitlement(person, holder.as_ref(), self.scope.rules, self.today);
        let book_holder = holder.as_ref().unwrap_or(person);
        let until = person
            .coverage
            .as_ref()
            .or(book_holder.coverage.as_ref())
            .and_then(|c| c.until);
        let year = self.today.year();
        let ceiling = self
            .scope
            .benefits
            .balance(&book_holder.ceilings, kind::ORDINARY, year)
            .map(|balance| (year, balance));
        let chronic = person
            .chronic
            .iter()
            .map(|c| ChronicCover {
                label: if c.label.trim().is_empty() {
                    c.code.clone()
                } else {
                    c.label.trim().to_string()
                },
                until: c.until,
            })
            .collect();
        let answer = CnamCoverage {
            entitlement: verdict,
            until,
            ceiling,
            chronic,
        };
        let result = Recorded::of(verdict.is_covered());
        self.tracked(answer, Kind::Coverage, result, Some(&person.person_id))
            .await
    }

    /// Option 2: the people of `person`'s care booklet (their own line for a dependent).
    pub(crate) async fn cnam_booklet(
        &self,
        person: &Person,
    ) -> Result<Tracked<Vec<DependentStatus>>, InquiryError> {
        let lines = self.booklet(person)?;
        let result = if lines.is_empty() {
            Recorded::NoDependents
        } else {
            Recorded::Listed
        };
        self.tracked(lines, Kind::Booklet, result, Some(&person.person_id))
            .await
    }

    /// The dependents of a holder, or a dependent's own line, each with its entitlement.
    pub(super) fn booklet(&self, person: &Person) -> Result<Vec<DependentStatus>, InquiryError> {
        if person.holder.is_some() {
            let holder = self.holder_of(person)?;
            return Ok(self
                .dependent_status(person, holder.as_ref())
                .into_iter()
                .collect());
        }
        let records = self
            .store()
            .dependents(self.scope.insurer, &person.person_id)?;
        Ok(records
            .iter()
            .filter_map(|d| self.dependent_status(d, Some(person)))
            .collect())
    }

    /// Option 3 → 1: the asker's phone gets `person`'s SMS alerts from now on.
    pub(crate) async fn cnam_subscribe(
        &self,
        person: &Person,
    ) -> Result<Tracked<Subscribed>, InquiryError> {
        let Asker::Phone { msisdn } = self.asker else {
            return Err(InquiryError::NotAPhone);
        };
        let done = self
            .inquiries
            .subscriptions
            .subscribe(self.scope.insurer, &person.person_id, msisdn)
            .await?;
        let result = match done {
            Subscribed::New => Recorded::Subscribed,
            Subscribed::Already => Recorded::AlreadySubscribed,
            Subscribed::Moved => Recorded::Moved,
        };
        self.tracked(done, Kind::Alerts, result, Some(&person.person_id))
            .await
    }

    /// Option 3 → 2: the asker's phone gets no more alerts; how many people it had.
    pub(crate) async fn cnam_unsubscribe(&self) -> Result<Tracked<usize>, InquiryError> {
        let Asker::Phone { msisdn } = self.asker else {
            return Err(InquiryError::NotAPhone);
        };
        let ended = self
            .inquiries
            .subscriptions
            .unsubscribe_msisdn(self.scope.insurer, msisdn)
            .await?;
        self.tracked(ended, Kind::Alerts, Recorded::Unsubscribed, None)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{expect_trail, Fixture, TODAY};
    use super::*;
    use crate::benefits::Benefits;
    use crate::money::Money;
    use crate::record::Relation;
    use crate::rules::{Reason, RuleConfig, RuleSet};
    use jiff::civil::date;
    use serde_json::json;

    const HOLDER: &str = "08123456";
    const SPOUSE: &str = "08123457";
    const SON: &str = "08123458";
    const SUSPENDED: &str = "07000001";
    const PHONE: &str = "21698000001";

    fn money(s: &str) -> Money {
        Money::parse(s).expect("amount")
    }

    /// TODAY is 2026-03-15: a holder with an over-used ceiling, a spouse with other cover, a
    /// son of 17; a suspended holder with no ceiling entry this year.
    fn people() -> Fixture {
        let mut f = Fixture::with(&[
            json!({"insurer": "cnam", "person_id": HOLDER, "member_no": "11966433",
                "msisdns": [PHONE],
                "coverage": {"status": "active", "from": "2020-01-01", "until": "2027-06-30"},
                "ceilings": [{"kind": "ordinary", "year": 2026, "limit": "450.000", "used": "500.250"},
                             {"kind": "ordinary", "year": 2025, "used": "10.000"}],
                "chronic": [{"code": "APCI-08", "label": "diabète", "until": "2027-03-31"},
                            {"code": "APCI-12", "label": " "}]}),
            json!({"insurer": "cnam", "person_id": SPOUSE, "facts": {"other_cover": true},
                "holder": {"person_id": HOLDER, "relation": "spouse"}}),
            json!({"insurer": "cnam", "person_id": SON, "birth_date": "2008-06-10",
                "holder": {"person_id": HOLDER, "relation": "son"}}),
            json!({"insurer": "cnam", "person_id": SUSPENDED,
                "coverage": {"status": "suspended", "from": "2020-01-01"},
                "ceilings": [{"kind": "ordinary", "year": 2025, "used": "99.000"}]}),
        ]);
        f.rules = RuleConfig::for_set(RuleSet::Cnam);
        f.benefits = toml::from_str("[ceilings]\nordinary = \"300.000\"").expect("benefits");
        f
    }

    #[tokio::test]
    async fn coverage_shows_the_ceiling_of_the_year_and_the_chronic_coverages() {
        let f = people();
        let desk = f.desk("cnam", Asker::Phone { msisdn: PHONE });
        let tracked = desk
            .cnam_coverage(&f.record("cnam", HOLDER))
            .await
            .expect("ok");
        let want = CnamCoverage {
            entitlement: Entitlement::Covered {
                until: Some(date(2027, 6, 30)),
            },
            until: Some(date(2027, 6, 30)),
            ceiling: Some((
                2026,
                Balance {
                    limit: money("450"),
                    used: money("500.250"),
                    remaining: money("0"),
                },
            )),
            chronic: vec![
                ChronicCover {
                    label: "diabète".into(),
                    until: Some(date(2027, 3, 31)),
                },
                ChronicCover {
                    label: "APCI-12".into(),
                    until: None,
                },
            ],
        };
        assert_eq!(tracked.answer, want);
        expect_trail(
            &f,
            tracked.code,
            ("coverage", "covered"),
            PHONE,
            Some(HOLDER),
        );

        let suspended = desk
            .cnam_coverage(&f.record("cnam", SUSPENDED))
            .await
            .expect("ok");
        assert_eq!(
            suspended.answer.entitlement,
            Entitlement::NotCovered(Reason::Suspended)
        );
        assert_eq!(suspended.answer.until, None);
        let unused = Balance {
            limit: money("300"),
            used: money("0"),
            remaining: money("300"),
        };
        assert_eq!(suspended.answer.ceiling, Some((TODAY.year(), unused)));
        assert_eq!(
            desk.cnam_coverage(&f.record("cnam", SON))
                .await
                .expect("ok")
                .answer
                .until,
            Some(date(2027, 6, 30)),
            "a dependent's end is the holder's coverage"
        );
        let mut nothing = f;
        nothing.benefits = Benefits::default();
        let desk = nothing.desk("cnam", Asker::Phone { msisdn: PHONE });
        let bare = desk.cnam_coverage(&nothing.record("cnam", SUSPENDED)).await;
        assert_eq!(bare.expect("ok").answer.ceiling, None);
    }

    #[tokio::test]
    async fn the_booklet_is_the_holders_and_a_dependent_sees_their_own_line() {
        let f = people();
        let desk = f.desk("cnam", Asker::Phone { msisdn: PHONE });
        let booklet = desk
            .cnam_booklet(&f.record("cnam", HOLDER))
            .await
            .expect("ok");
        let lines: Vec<(Relation, Entitlement)> = booklet
            .answer
            .iter()
            .map(|d| (d.relation, d.entitlement))
            .collect();
        assert_eq!(
            lines,
            [
                (
                    Relation::Spouse,
                    Entitlement::NotCovered(Reason::OtherCover)
                ),
                (
                    Relation::Son,
                    Entitlement::Covered {
                        until: Some(date(2027, 6, 30))
                    }
                ),
            ]
        );
        expect_trail(&f, booklet.code, ("booklet", "listed"), PHONE, Some(HOLDER));
        let own = desk.cnam_booklet(&f.record("cnam", SON)).await.expect("ok");
        assert_eq!(own.answer.len(), 1);
        let none = desk
            .cnam_booklet(&f.record("cnam", SUSPENDED))
            .await
            .expect("ok");
        assert!(none.answer.is_empty());
        expect_trail(&f, none.code, ("booklet", "none"), PHONE, Some(SUSPENDED));
    }

    #[tokio::test]
    async fn subscribe_then_again_then_unsubscribe() {
        let f = people();
        let desk = f.desk("cnam", Asker::Phone { msisdn: PHONE });
        let holder = f.record("cnam", HOLDER);
        let first = desk.cnam_subscribe(&holder).await.expect("ok");
        assert_eq!(first.answer, Subscribed::New);
        expect_trail(
            &f,
            first.code,
            ("alerts", "subscribed"),
            PHONE,
            Some(HOLDER),
        );
        let again = desk.cnam_subscribe(&holder).await.expect("ok");
        assert_eq!(again.answer, Subscribed::Already);
        let ended = desk.cnam_unsubscribe().await.expect("ok");
        assert_eq!(ended.answer, 1);
        expect_trail(&f, ended.code, ("alerts", "unsubscribed"), PHONE, None);
        assert_eq!(desk.cnam_unsubscribe().await.expect("ok").answer, 0);
        let client = f.desk("cnam", Asker::Client { name: "api" });
        assert!(client.cnam_subscribe(&holder).await.is_err());
    }
}
