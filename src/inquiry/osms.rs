//! The question of `osms` (Kazakhstan, compulsory social health insurance; SPEC §2.4): whether a
//! person is insured, and, for the phone registered for them, the details.
//!
//! The privacy rule lives here: the status is no secret (fms.kz shows it to anyone), but the
//! 12-month contribution row and the polyclinic go only to a phone registered for that person
//! or for the holder whose dependent they are. To any other asker the status alone; and an IIN
//! that no record holds is answered exactly as a stranger's query of a person not insured, so
//! the answer never tells whether a record exists.

use super::{Desk, InquiryError, Kind, Recorded, Tracked};
use crate::ids::Iin;
use crate::record::MonthKey;
use crate::rules::{contribution_months, osms_insured};

/// The answer of the status inquiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OsmsStatus {
    pub(crate) insured: bool,
    /// The details, for a phone registered for the person; `None` for anyone else.
    pub(crate) details: Option<OsmsDetails>,
}

/// What only the person's registered phone learns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OsmsDetails {
    /// The 12 full calendar months before today's, oldest first, each with whether a
    /// contribution arrived.
    pub(crate) months: Vec<(MonthKey, bool)>,
    /// The primary-care provider the person is attached to (trimmed), if any.
    pub(crate) provider: Option<String>,
}

impl Desk<'_> {
    /// Option 1: insured or not, with the details for a registered phone.
    pub(crate) async fn osms_status(&self, iin: &Iin) -> Result<Tracked<OsmsStatus>, InquiryError> {
        let subject = Some(iin.as_str());
        let Some(person) = self.person(iin.as_str())? else {
            let stranger = OsmsStatus {
                insured: false,
                details: None,
            };
            return self
                .tracked(stranger, Kind::Status, Recorded::NotCovered, subject)
                .await;
        };
        let holder = self.holder_of(&person)?;
        let insured = osms_insured(&person);
        let details = self
            .registered_for(&person, holder.as_ref())
            .then(|| OsmsDetails {
                months: contribution_months(&person, self.today),
                provider: person
                    .attachment
                    .as_ref()
                    .map(|a| a.provider.trim())
                    .filter(|p| !p.is_empty())
                    .map(str::to_string),
            });
        let status = OsmsStatus { insured, details };
        self.tracked(status, Kind::Status, Recorded::of(insured), subject)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{expect_trail, Fixture};
    use super::super::Asker;
    use super::*;
    use serde_json::json;

    const INSURED: &str = "900515300127";
    const SUSPENDED: &str = "850102400156";
    const CHILD: &str = "150601500014";
    const NOBODY: &str = "951231300779";
    /// A record with nothing but its identifier and a phone.
    const BARE: &str = "020304500118";
    const BARE_PHONE: &str = "77010000003";
    const INSURED_PHONE: &str = "77010000001";
    const SUSPENDED_PHONE: &str = "77010000002";
    const STRANGER: &str = "77019999999";

    fn iin(digits: &str) -> Iin {
        Iin::parse(digits).unwrap_or_else(|e| panic!("{digits}: {e}"))
    }

    fn month(year: i16, month: i8) -> MonthKey {
        MonthKey { year, month }
    }

    /// The fixture's TODAY is 2026-03-15: the row runs from 2025-03 to 2026-02.
    fn twelve_months() -> Vec<MonthKey> {
        (3..=12)
            .map(|m| month(2025, m))
            .chain((1..=2).map(|m| month(2026, m)))
            .collect()
    }

    fn row(unpaid: &[MonthKey]) -> Vec<(MonthKey, bool)> {
        twelve_months()
            .into_iter()
            .map(|m| (m, !unpaid.contains(&m)))
            .collect()
    }

    /// An insured person with one gap and a polyclinic, a suspended one with no contributions
    /// and no polyclinic, and a child on the insured person's record (no phone of its own).
    fn people() -> Fixture {
        let mut paid = serde_json::Map::new();
        for (m, p) in row(&[month(2025, 7)]) {
            paid.insert(m.to_string(), json!(p));
        }
        paid.insert("2026-03".into(), json!(false));
        Fixture::with(&[
            json!({"insurer": "osms", "person_id": INSURED, "msisdns": [INSURED_PHONE],
                "coverage": {"status": "active", "from": "2020-01-01"}, "contributions": paid,
                "attachment": {"provider": " Emhana 5 ", "since": "2023-09-01"}}),
            json!({"insurer": "osms", "person_id": SUSPENDED, "msisdns": [SUSPENDED_PHONE],
                "coverage": {"status": "suspended", "from": "2020-01-01"},
                "attachment": {"provider": "  "}}),
            json!({"insurer": "osms", "person_id": BARE, "msisdns": [BARE_PHONE]}),
            json!({"insurer": "osms", "person_id": CHILD,
                "holder": {"person_id": INSURED, "relation": "son"},
                "coverage": {"status": "active", "from": "2015-06-01"}}),
        ])
    }

    #[tokio::test]
    async fn details_go_only_to_the_registered_phone() {
        let f = people();
        let shown = |unpaid: &[MonthKey], provider: Option<&str>| {
            Some(OsmsDetails {
                months: row(unpaid),
                provider: provider.map(str::to_string),
            })
        };
        let none_paid = twelve_months();
        let cases = [
            (
                INSURED_PHONE,
                INSURED,
                true,
                shown(&[month(2025, 7)], Some("Emhana 5")),
            ),
            (STRANGER, INSURED, true, None),
            (SUSPENDED_PHONE, INSURED, true, None),
            (SUSPENDED_PHONE, SUSPENDED, false, shown(&none_paid, None)),
            (STRANGER, SUSPENDED, false, None),
            // The holder's phone sees a dependent's details; no one else does.
            (INSURED_PHONE, CHILD, true, shown(&none_paid, None)),
            (STRANGER, CHILD, true, None),
            (SUSPENDED_PHONE, CHILD, true, None),
            (BARE_PHONE, BARE, false, shown(&none_paid, None)),
            (STRANGER, BARE, false, None),
        ];
        for (msisdn, id, insured, details) in cases {
            let got = f
                .desk("osms", Asker::Phone { msisdn })
                .osms_status(&iin(id))
                .await
                .expect("answered");
            assert_eq!(
                got.answer,
                OsmsStatus { insured, details },
                "{msisdn} asks {id}"
            );
            let result = if insured { "covered" } else { "not_covered" };
            expect_trail(&f, got.code, ("status", result), msisdn, Some(id));
        }
    }

    #[tokio::test]
    async fn an_unknown_iin_reads_as_a_stranger_asking_of_someone_not_insured() {
        let f = people();
        let stranger_of_suspended = f
            .desk("osms", Asker::Phone { msisdn: STRANGER })
            .osms_status(&iin(SUSPENDED))
            .await
            .expect("answered");
        for msisdn in [STRANGER, INSURED_PHONE, SUSPENDED_PHONE] {
            let unknown = f
                .desk("osms", Asker::Phone { msisdn })
                .osms_status(&iin(NOBODY))
                .await
                .expect("answered");
            assert_eq!(unknown.answer, stranger_of_suspended.answer, "{msisdn}");
            assert_ne!(unknown.code, stranger_of_suspended.code);
            expect_trail(
                &f,
                unknown.code,
                ("status", "not_covered"),
                msisdn,
                Some(NOBODY),
            );
        }
        let client = Asker::Client { name: "fhir" };
        let got = f.desk("osms", client).osms_status(&iin(INSURED)).await;
        let status = got.map(|t| t.answer).ok();
        assert_eq!(
            status,
            Some(OsmsStatus {
                insured: true,
                details: None
            }),
            "a client sees the status alone"
        );
    }
}
