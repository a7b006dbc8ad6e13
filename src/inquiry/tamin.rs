//! The questions of `tamin` (Iran, Social Security Organization; SPEC §2.1): one's own
//! entitlement (the national code and the asker's phone must belong together), a provider's
//! general inquiry (covered or not, nothing else; asked of a person a `cnam` or `mutual` pair
//! named too, by the FHIR API), and the dependents on a holder's record.

use super::{Asker, Desk, InquiryError, Kind, Recorded, Tracked};
use crate::ids::{IranId, NationalCode};
use crate::record::{Person, Relation};
use crate::rules::{ended_on, entitlement, Entitlement};
use jiff::civil::Date;

/// The answer of the specific inquiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Own {
    /// The person's entitlement today and, for a person not covered, the end date that passed
    /// where a record holds one (SPEC §2.1: status, eligibility end date).
    Entitlement(Entitlement, Option<Date>),
    /// The national code does not match the asker's phone: the phone is registered neither for
    /// that person nor for their holder, or no record holds the code (the same answer, so it
    /// never tells whether a person exists).
    Mismatch,
}

/// The answer of the general inquiry: covered or not, and nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum General {
    Covered,
    NotCovered,
}

/// One dependent on a holder's record, as the dependents list shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DependentStatus {
    /// The name on the record, trimmed; `None` when there is none.
    pub(crate) name: Option<String>,
    pub(crate) relation: Relation,
    pub(crate) entitlement: Entitlement,
}

/// The answer of "my dependents", for the asker's phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Household {
    /// No record lists the asker's phone (tracked as a mismatch).
    UnknownCaller(Tracked<()>),
    /// The dependents of the one holder the phone is registered for; empty when that holder
    /// has none, or when the phone is registered only on dependents' records.
    Dependents(Tracked<Vec<DependentStatus>>),
    /// A family phone, registered for several holders: which holder is to be asked
    /// ([`Desk::dependents_of`]). Not an answer yet, so no tracking code.
    SeveralHolders,
}

/// The answer of "the dependents of this holder", on a family phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HolderDependents {
    /// The holder's dependents (empty when there are none).
    Listed(Vec<DependentStatus>),
    /// The phone is not registered for that holder, or no record holds the code.
    Mismatch,
}

impl Desk<'_> {
    /// Option 1: the asker's own entitlement, or that of a dependent on the asker's record.
    pub(crate) async fn own_entitlement(
        &self,
        code: &NationalCode,
    ) -> Result<Tracked<Own>, InquiryError> {
        let subject = Some(code.as_str());
        let Some(person) = self.person(code.as_str())? else {
            return self
                .tracked(Own::Mismatch, Kind::Specific, Recorded::Mismatch, subject)
                .await;
        };
        let holder = self.holder_of(&person)?;
        if !self.registered_for(&person, holder.as_ref()) {
            return self
                .tracked(Own::Mismatch, Kind::Specific, Recorded::Mismatch, subject)
                .await;
        }
        let verdict = entitlement(&person, holder.as_ref(), self.scope.rules, self.today);
        let result = Recorded::of(verdict.is_covered());
        let ended = match verdict {
            Entitlement::Covered { .. } => None,
            Entitlement::NotCovered(_) => ended_on(&person, holder.as_ref(), self.today),
        };
        self.tracked(
            Own::Entitlement(verdict, ended),
            Kind::Specific,
            result,
            subject,
        )
        .await
    }

    /// Option 2: a provider's general inquiry. A number no record holds is "not covered".
    pub(crate) async fn general(&self, id: &IranId) -> Result<Tracked<General>, InquiryError> {
        let person = self.person(id.as_str())?;
        self.general_answer(person.as_ref(), id.as_str()).await
    }

    /// The general answer about a person already identified (a `cnam` or `mutual` pair put to
    /// the FHIR API): covered or not, and nothing else.
    pub(crate) async fn general_of(
        &self,
        person: &Person,
    ) -> Result<Tracked<General>, InquiryError> {
        self.general_answer(Some(person), &person.person_id).await
    }

    /// Covered or not today (no record: not), tracked under `subject`.
    async fn general_answer(
        &self,
        person: Option<&Person>,
        subject: &str,
    ) -> Result<Tracked<General>, InquiryError> {
        let covered = match person {
            Some(person) => {
                let holder = self.holder_of(person)?;
                entitlement(person, holder.as_ref(), self.scope.rules, self.today).is_covered()
            }
            None => false,
        };
        let answer = if covered {
            General::Covered
        } else {
            General::NotCovered
        };
        self.tracked(answer, Kind::General, Recorded::of(covered), Some(subject))
            .await
    }

    /// Option 3: the dependents on the record of the asker's phone.
    pub(crate) async fn my_dependents(&self) -> Result<Household, InquiryError> {
        let people = match self.asker {
            Asker::Phone { msisdn } => self.store().people_by_msisdn(self.scope.insurer, msisdn)?,
            Asker::Client { .. } | Asker::Member { .. } => Vec::new(),
        };
        let holders: Vec<&Person> = people.iter().filter(|p| p.holder.is_none()).collect();
        match holders.as_slice() {
            [] if people.is_empty() => {
                let tracked = self
                    .tracked((), Kind::Dependents, Recorded::Mismatch, None)
                    .await?;
                Ok(Household::UnknownCaller(tracked))
            }
            [] => Ok(Household::Dependents(self.listed(None).await?)),
            [holder] => Ok(Household::Dependents(self.listed(Some(holder)).await?)),
            _ => Ok(Household::SeveralHolders),
        }
    }

    /// Option 3 on a family phone: the dependents of the holder whose code was given, if the
    /// asker's phone is registered for that holder.
    pub(crate) async fn dependents_of(
        &self,
        holder: &NationalCode,
    ) -> Result<Tracked<HolderDependents>, InquiryError> {
        match self.person(holder.as_str())? {
            Some(person) if self.asker.is_registered_on(&person) => {
                let listed = self.listed(Some(&person)).await?;
                Ok(Tracked {
                    answer: HolderDependents::Listed(listed.answer),
                    code: listed.code,
                })
            }
            _ => {
                let subject = Some(holder.as_str());
                self.tracked(
                    HolderDependents::Mismatch,
                    Kind::Dependents,
                    Recorded::Mismatch,
                    subject,
                )
                .await
            }
        }
    }

    /// The dependents of `holder`, each with their entitlement, tracked as listed or none.
    async fn listed(
        &self,
        holder: Option<&Person>,
    ) -> Result<Tracked<Vec<DependentStatus>>, InquiryError> {
        let records = match holder {
            Some(h) => self.store().dependents(self.scope.insurer, &h.person_id)?,
            None => Vec::new(),
        };
        let dependents: Vec<DependentStatus> = records
            .iter()
            .filter_map(|d| self.dependent_status(d, holder))
            .collect();
        let result = if dependents.is_empty() {
            Recorded::NoDependents
        } else {
            Recorded::Listed
        };
        let subject = holder.map(|h| h.person_id.as_str());
        self.tracked(dependents, Kind::Dependents, result, subject)
            .await
    }

    /// A dependent's line; `None` for a record that names no holder (the index said it does:
    /// the store checks that, so this is only a guard).
    pub(super) fn dependent_status(
        &self,
        dependent: &Person,
        holder: Option<&Person>,
    ) -> Option<DependentStatus> {
        let relation = dependent.holder.as_ref()?.relation;
        let name = dependent
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string);
        Some(DependentStatus {
            name,
            relation,
            entitlement: entitlement(dependent, holder, self.scope.rules, self.today),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{expect_trail, Fixture, TODAY};
    use super::*;
    use crate::ids::ForeignNumber;
    use crate::rules::Reason;
    use jiff::civil::{date, Date};
    use serde_json::json;

    const HOLDER: &str = "0012345679";
    const SON: &str = "0087654326";
    const DAUGHTER: &str = "0499370899";
    const EXPIRED: &str = "1234567891";
    const NOBODY: &str = "0051234572";
    /// A dependent whose holder no record holds, and a record with no coverage at all.
    const ORPHAN: &str = "4422110039";
    const BARE: &str = "2709812347";
    const ORPHAN_PHONE: &str = "989120000004";
    const HOLDER_PHONE: &str = "989120000001";
    const SON_PHONE: &str = "989120000002";
    const EXPIRED_PHONE: &str = "989120000003";
    const FAMILY_PHONE: &str = "989120000009";
    const STRANGER: &str = "989129999999";
    const FOREIGN: &str = "123456789012";
    const UNTIL: Date = date(2027, 12, 31);
    const EXPIRED_UNTIL: Date = date(2025, 1, 31);

    fn code(digits: &str) -> NationalCode {
        NationalCode::parse(digits).expect("a valid code")
    }

    /// A holder with a covered son (19 on the day after TODAY) and a daughter with no birth
    /// certificate on file; an expired holder; a foreign national; a phone on both holders.
    fn household() -> Fixture {
        Fixture::with(&[
            json!({"insurer": "tamin", "person_id": HOLDER, "name": " Z. Ahmadi ",
                "msisdns": [HOLDER_PHONE, FAMILY_PHONE],
                "coverage": {"status": "active", "from": "2020-01-01", "until": "2027-12-31"}}),
            json!({"insurer": "tamin", "person_id": SON, "name": "R. Ahmadi", "msisdns": [SON_PHONE],
                "birth_date": "2007-03-16", "holder": {"person_id": HOLDER, "relation": "son"}}),
            json!({"insurer": "tamin", "person_id": DAUGHTER, "name": "  ",
                "birth_date": "2010-01-01", "holder": {"person_id": HOLDER, "relation": "daughter"}}),
            json!({"insurer": "tamin", "person_id": EXPIRED, "msisdns": [EXPIRED_PHONE, FAMILY_PHONE],
                "coverage": {"status": "active", "from": "2010-01-01", "until": "2025-01-31"}}),
            json!({"insurer": "tamin", "person_id": FOREIGN,
                "coverage": {"status": "active", "from": "2020-01-01"}}),
            json!({"insurer": "tamin", "person_id": ORPHAN, "msisdns": [ORPHAN_PHONE],
                "holder": {"person_id": NOBODY, "relation": "spouse"}}),
            json!({"insurer": "tamin", "person_id": BARE, "msisdns": [ORPHAN_PHONE]}),
        ])
    }

    #[tokio::test]
    async fn no_code_leaves_when_its_audit_entry_cannot_be_made_durable() {
        let mut f = household();
        let failing: crate::writer::Commit =
            Box::new(|| Err(std::io::Error::other("the disk is gone")));
        f.inquiries.writer =
            std::sync::Arc::new(crate::writer::Writer::with_commit(failing).expect("writer"));
        let desk = f.desk("tamin", phone(STRANGER));
        let answered = desk.general(&IranId::National(code(HOLDER))).await;
        assert!(
            matches!(
                answered,
                Err(InquiryError::Writer(crate::writer::WriteError::NotDurable))
            ),
            "{answered:?}"
        );
    }

    const SON_UNTIL: Date = date(2026, 3, 15);

    fn phone(msisdn: &str) -> Asker<'_> {
        Asker::Phone { msisdn }
    }

    #[tokio::test]
    async fn own_entitlement_for_the_registered_phone_else_a_mismatch() {
        let f = household();
        let covered = |until| Own::Entitlement(Entitlement::Covered { until: Some(until) }, None);
        let cases = [
            (HOLDER_PHONE, HOLDER, covered(UNTIL), "covered"),
            (HOLDER_PHONE, SON, covered(SON_UNTIL), "covered"),
            (SON_PHONE, SON, covered(SON_UNTIL), "covered"),
            (
                HOLDER_PHONE,
                DAUGHTER,
                Own::Entitlement(Entitlement::NotCovered(Reason::NoBirthCertificate), None),
                "not_covered",
            ),
            (
                EXPIRED_PHONE,
                EXPIRED,
                Own::Entitlement(
                    Entitlement::NotCovered(Reason::Expired),
                    Some(EXPIRED_UNTIL),
                ),
                "not_covered",
            ),
            (
                ORPHAN_PHONE,
                ORPHAN,
                Own::Entitlement(Entitlement::NotCovered(Reason::NoHolderRecord), None),
                "not_covered",
            ),
            (
                ORPHAN_PHONE,
                BARE,
                Own::Entitlement(Entitlement::NotCovered(Reason::NoCoverage), None),
                "not_covered",
            ),
            (SON_PHONE, HOLDER, Own::Mismatch, "mismatch"),
            (STRANGER, HOLDER, Own::Mismatch, "mismatch"),
            (HOLDER_PHONE, EXPIRED, Own::Mismatch, "mismatch"),
            (HOLDER_PHONE, NOBODY, Own::Mismatch, "mismatch"),
            (STRANGER, NOBODY, Own::Mismatch, "mismatch"),
        ];
        for (msisdn, id, want, result) in cases {
            let got = f
                .desk("tamin", phone(msisdn))
                .own_entitlement(&code(id))
                .await
                .expect("answered");
            assert_eq!(got.answer, want, "{msisdn} asks {id}");
            expect_trail(&f, got.code, ("specific", result), msisdn, Some(id));
        }
        let client = Asker::Client { name: "clinic" };
        let got = f.desk("tamin", client).own_entitlement(&code(HOLDER)).await;
        assert_eq!(
            got.map(|t| t.answer).ok(),
            Some(Own::Mismatch),
            "a client has no phone"
        );
    }

    #[tokio::test]
    async fn the_general_inquiry_says_covered_or_not_and_nothing_more() {
        let f = household();
        let foreign = ForeignNumber::parse(FOREIGN, 12).expect("valid");
        let cases = [
            (IranId::National(code(HOLDER)), General::Covered),
            (IranId::National(code(SON)), General::Covered),
            (IranId::National(code(DAUGHTER)), General::NotCovered),
            (IranId::National(code(EXPIRED)), General::NotCovered),
            (IranId::National(code(NOBODY)), General::NotCovered),
            (IranId::National(code(ORPHAN)), General::NotCovered),
            (IranId::National(code(BARE)), General::NotCovered),
            (IranId::Foreign(foreign.clone()), General::Covered),
            (
                IranId::Foreign(ForeignNumber::parse("999999999999", 12).expect("valid")),
                General::NotCovered,
            ),
        ];
        for (id, want) in cases {
            for msisdn in [STRANGER, HOLDER_PHONE] {
                let got = f
                    .desk("tamin", phone(msisdn))
                    .general(&id)
                    .await
                    .expect("answered");
                assert_eq!(got.answer, want, "{msisdn} asks {}", id.as_str());
                let result = if want == General::Covered {
                    "covered"
                } else {
                    "not_covered"
                };
                expect_trail(&f, got.code, ("general", result), msisdn, Some(id.as_str()));
            }
        }
        // Another insurer's desk sees none of these people.
        let got = f
            .desk("osms", phone(STRANGER))
            .general(&IranId::Foreign(foreign))
            .await;
        assert_eq!(got.map(|t| t.answer).ok(), Some(General::NotCovered));
    }

    fn son() -> DependentStatus {
        DependentStatus {
            name: Some("R. Ahmadi".into()),
            relation: Relation::Son,
            entitlement: Entitlement::Covered {
                until: Some(SON_UNTIL),
            },
        }
    }

    fn daughter() -> DependentStatus {
        DependentStatus {
            name: None,
            relation: Relation::Daughter,
            entitlement: Entitlement::NotCovered(Reason::NoBirthCertificate),
        }
    }

    /// A list expected, with its audit result and subject.
    type Listing = (Vec<DependentStatus>, &'static str, Option<&'static str>);

    #[tokio::test]
    async fn my_dependents_by_the_phone_on_the_record() {
        let f = household();
        let cases: [(&str, Option<Listing>); 6] = [
            (
                HOLDER_PHONE,
                Some((vec![son(), daughter()], "listed", Some(HOLDER))),
            ),
            (EXPIRED_PHONE, Some((vec![], "none", Some(EXPIRED)))),
            // A phone registered only on a dependent's record lists nobody.
            (SON_PHONE, Some((vec![], "none", None))),
            // A phone on a record with no coverage, which is a holder all the same.
            (ORPHAN_PHONE, Some((vec![], "none", Some(BARE)))),
            (STRANGER, None),
            (FAMILY_PHONE, None),
        ];
        for (msisdn, want) in cases {
            let got = f
                .desk("tamin", phone(msisdn))
                .my_dependents()
                .await
                .expect("answered");
            match (got, want) {
                (Household::Dependents(listed), Some((dependents, result, subject))) => {
                    assert_eq!(listed.answer, dependents, "{msisdn}");
                    expect_trail(&f, listed.code, ("dependents", result), msisdn, subject);
                }
                (Household::UnknownCaller(tracked), None) if msisdn == STRANGER => {
                    expect_trail(&f, tracked.code, ("dependents", "mismatch"), msisdn, None);
                }
                (Household::SeveralHolders, None) if msisdn == FAMILY_PHONE => {}
                (got, _) => panic!("{msisdn}: {got:?}"),
            }
        }
    }

    #[tokio::test]
    async fn the_dependents_of_a_holder_the_family_phone_names() {
        let f = household();
        let cases = [
            (
                FAMILY_PHONE,
                HOLDER,
                HolderDependents::Listed(vec![son(), daughter()]),
                "listed",
            ),
            (
                FAMILY_PHONE,
                EXPIRED,
                HolderDependents::Listed(vec![]),
                "none",
            ),
            (FAMILY_PHONE, SON, HolderDependents::Mismatch, "mismatch"),
            (FAMILY_PHONE, NOBODY, HolderDependents::Mismatch, "mismatch"),
            (STRANGER, HOLDER, HolderDependents::Mismatch, "mismatch"),
            (SON_PHONE, HOLDER, HolderDependents::Mismatch, "mismatch"),
        ];
        for (msisdn, holder, want, result) in cases {
            let got = f
                .desk("tamin", phone(msisdn))
                .dependents_of(&code(holder))
                .await
                .expect("answered");
            assert_eq!(got.answer, want, "{msisdn} asks {holder}");
            expect_trail(&f, got.code, ("dependents", result), msisdn, Some(holder));
        }
    }

    #[tokio::test]
    async fn today_is_the_desk_clock_day() {
        let f = household();
        let desk = f.desk("tamin", phone(SON_PHONE));
        assert_eq!(desk.today, TODAY);
        // The son turns 19 tomorrow: covered through today, by the age ground.
        let got = desk.own_entitlement(&code(SON)).await.expect("answered");
        assert_eq!(
            got.answer,
            Own::Entitlement(Entitlement::Covered { until: Some(TODAY) }, None)
        );
    }
}
