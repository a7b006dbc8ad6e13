//! The questions of `mutual` (Tunisia, the complementary mutual fund; SPEC §2.3, seed 001)
//! about a person already identified (`caller`): the balances of the year (each beneficiary's
//! own ceiling, spouse or child, and the member's dental balance) and the member's scheme,
//! whose rates the configuration holds.
//!
//! A member sees every spouse and child on their record; a beneficiary identified by their own
//! phone or pair sees their own balance only.

use super::{DependentStatus, Desk, InquiryError, Kind, Recorded, Tracked};
use crate::benefits::{kind, Balance, Scheme};
use crate::record::{Person, Relation};
use crate::rules::{entitlement, Entitlement};

/// The answer of "my balances".
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MutualBalances {
    /// The entitlement today of the person asked about (SPEC §5.1, the fund's rules): the FHIR
    /// API's `inforce` and benefit period; the USSD screen does not show it.
    pub(crate) entitlement: Entitlement,
    /// The year the balances are of (today's, in the service's time zone).
    pub(crate) year: i16,
    pub(crate) beneficiaries: Vec<BeneficiaryBalance>,
    /// The member's dental balance; `None` for a beneficiary asking, or with no limit known.
    pub(crate) dental: Option<Balance>,
}

/// One spouse or child: their entitlement under the fund's rules and their own ceiling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BeneficiaryBalance {
    pub(crate) status: DependentStatus,
    /// `None` when neither the record nor the configuration gives a limit.
    pub(crate) balance: Option<Balance>,
}

impl Desk<'_> {
    /// Option 1: the balances of `person`'s family (their own, for a beneficiary).
    pub(crate) async fn mutual_balances(
        &self,
        person: &Person,
    ) -> Result<Tracked<MutualBalances>, InquiryError> {
        let year = self.today.year();
        let records: Vec<Person> = match &person.holder {
            Some(_) => vec![person.clone()],
            None => self
                .store()
                .dependents(self.scope.insurer, &person.person_id)?,
        };
        let mut beneficiaries = Vec::new();
        for record in &records {
            if let Some(line) = self.beneficiary_balance(record, year)? {
                beneficiaries.push(line);
            }
        }
        let dental = match person.holder {
            Some(_) => None,
            None => self
                .scope
                .benefits
                .balance(&person.ceilings, kind::DENTAL, year),
        };
        let own_holder = self.holder_of(person)?;
        let answer = MutualBalances {
            entitlement: entitlement(person, own_holder.as_ref(), self.scope.rules, self.today),
            year,
            beneficiaries,
            dental,
        };
        self.tracked(
            answer,
            Kind::Balances,
            Recorded::Listed,
            Some(&person.person_id),
        )
        .await
    }

    /// A spouse's or child's line; `None` for a parent (the fund keeps no ceiling for them).
    fn beneficiary_balance(
        &self,
        record: &Person,
        year: i16,
    ) -> Result<Option<BeneficiaryBalance>, InquiryError> {
        let ceiling = match record.holder.as_ref().map(|h| h.relation) {
            Some(Relation::Spouse) => kind::SPOUSE,
            Some(Relation::Son | Relation::Daughter) => kind::CHILD,
            _ => return Ok(None),
        };
        let holder = self.holder_of(record)?;
        let Some(status) = self.dependent_status(record, holder.as_ref()) else {
            return Ok(None);
        };
        let balance = self.scope.benefits.balance(&record.ceilings, ceiling, year);
        Ok(Some(BeneficiaryBalance { status, balance }))
    }

    /// Option 2: the scheme of `person`'s member (theirs, or their holder's), whose rates
    /// apply; `None` when the record names none the fund knows.
    pub(crate) async fn mutual_scheme(
        &self,
        person: &Person,
    ) -> Result<Tracked<Option<Scheme>>, InquiryError> {
        let holder = self.holder_of(person)?;
        let member = holder.as_ref().unwrap_or(person);
        let scheme = member.scheme.as_deref().and_then(Scheme::parse);
        let result = if scheme.is_some() {
            Recorded::Answered
        } else {
            Recorded::NotCovered
        };
        self.tracked(scheme, Kind::Rates, result, Some(&person.person_id))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{expect_trail, Fixture, TODAY};
    use super::super::Asker;
    use super::*;
    use crate::money::Money;
    use crate::rules::{Entitlement, Reason, RuleConfig, RuleSet};
    use serde_json::json;

    const MEMBER: &str = "09000001";
    const SPOUSE: &str = "09000002";
    const STUDENT: &str = "09000003";
    const FATHER: &str = "09000004";
    const BARE: &str = "09000005";
    const PHONE: &str = "21698000011";

    fn money(s: &str) -> Money {
        Money::parse(s).expect("amount")
    }

    fn balance(limit: &str, used: &str, remaining: &str) -> Option<Balance> {
        Some(Balance {
            limit: money(limit),
            used: money(used),
            remaining: money(remaining),
        })
    }

    /// TODAY is 2026-03-15: a private-scheme member with an over-used dental balance, a spouse
    /// with a partly used ceiling, a student of 22 with no entry this year, a father.
    fn people() -> Fixture {
        let mut f = Fixture::with(&[
            json!({"insurer": "mutual", "person_id": MEMBER, "scheme": "private",
                "msisdns": [PHONE], "coverage": {"status": "active", "from": "2020-01-01"},
                "ceilings": [{"kind": "dental", "year": 2026, "used": "310.000"}]}),
            json!({"insurer": "mutual", "person_id": SPOUSE,
                "holder": {"person_id": MEMBER, "relation": "spouse"},
                "ceilings": [{"kind": "spouse", "year": 2026, "limit": "150.000", "used": "40.500"}]}),
            json!({"insurer": "mutual", "person_id": STUDENT, "birth_date": "2003-06-10",
                "facts": {"student_until": "2026-06-30"},
                "holder": {"person_id": MEMBER, "relation": "son"},
                "ceilings": [{"kind": "child", "year": 2025, "used": "150.000"}]}),
            json!({"insurer": "mutual", "person_id": FATHER,
                "holder": {"person_id": MEMBER, "relation": "father"}}),
            json!({"insurer": "mutual", "person_id": BARE, "scheme": "cnss"}),
        ]);
        f.rules = RuleConfig::for_set(RuleSet::Mutual);
        f.benefits = toml::from_str(
            "[ceilings]\nspouse = \"150.000\"\nchild = \"150.000\"\ndental = \"300.000\"",
        )
        .expect("benefits");
        f
    }

    #[tokio::test]
    async fn balances_per_beneficiary_and_dental_never_below_zero() {
        let f = people();
        let desk = f.desk("mutual", Asker::Phone { msisdn: PHONE });
        let tracked = desk
            .mutual_balances(&f.record("mutual", MEMBER))
            .await
            .expect("ok");
        let got = &tracked.answer;
        assert_eq!(got.year, TODAY.year());
        assert_eq!(got.entitlement, Entitlement::Covered { until: None });
        assert_eq!(got.dental, balance("300", "310", "0"));
        let lines: Vec<(Relation, Entitlement, Option<Balance>)> = got
            .beneficiaries
            .iter()
            .map(|b| (b.status.relation, b.status.entitlement, b.balance))
            .collect();
        let student_until = jiff::civil::date(2026, 6, 30);
        assert_eq!(
            lines,
            [
                (
                    Relation::Spouse,
                    Entitlement::Covered { until: None },
                    balance("150", "40.500", "109.500")
                ),
                (
                    Relation::Son,
                    Entitlement::Covered {
                        until: Some(student_until)
                    },
                    balance("150", "0", "150")
                ),
            ],
            "the father has no mutual ceiling"
        );
        expect_trail(
            &f,
            tracked.code,
            ("balances", "listed"),
            PHONE,
            Some(MEMBER),
        );
        let own = desk
            .mutual_balances(&f.record("mutual", SPOUSE))
            .await
            .expect("ok");
        assert_eq!(own.answer.beneficiaries.len(), 1);
        assert_eq!(own.answer.dental, None, "dental is the member's");
    }

    #[tokio::test]
    async fn the_scheme_is_the_members() {
        let f = people();
        let desk = f.desk("mutual", Asker::Phone { msisdn: PHONE });
        for (id, want) in [
            (MEMBER, Some(Scheme::Private)),
            (SPOUSE, Some(Scheme::Private)),
            (BARE, None),
        ] {
            let tracked = desk
                .mutual_scheme(&f.record("mutual", id))
                .await
                .expect("ok");
            assert_eq!(tracked.answer, want, "{id}");
        }
        let dead = f.record("mutual", STUDENT);
        let mut orphan = dead.clone();
        orphan.holder = None;
        assert_eq!(desk.mutual_scheme(&orphan).await.expect("ok").answer, None);
        let status = desk.mutual_balances(&dead).await.expect("ok");
        assert_ne!(
            status.answer.beneficiaries[0].status.entitlement,
            Entitlement::NotCovered(Reason::NoHolderRecord)
        );
    }
}
