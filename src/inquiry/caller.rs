//! Who a `cnam` or `mutual` caller is (SPEC §2 *Who a caller is*): the one person of the
//! service whose record lists the caller's MSISDN, or whom the caller subscribed to SMS alerts
//! through daftar (a `cnam` subscription names a CIN, which is the person's identifier at the
//! mutual fund too); else the person whose matricule and CIN the caller typed, both halves
//! belonging to that one person.
//!
//! For an API client the pair names the person, and the phone its request carries only decides
//! whether the member's details may be shown ([`Desk::phone_binds`]).
//!
//! What it must never do: say which half of a wrong pair was wrong, or whether either half
//! belongs to anyone; pick one person of a family phone for the caller.

use super::{Asker, Desk, InquiryError, Kind, Recorded};
use crate::audit::TrackingCode;
use crate::ids::{Cin, Matricule};
use crate::record::Person;
use crate::subscriptions::ALERTS_INSURER;

/// How the caller says who they are.
#[derive(Clone, Copy)]
pub(crate) enum Claim<'a> {
    /// By the phone they call from.
    Phone,
    /// By the matricule and the CIN they typed.
    Pair(&'a Matricule, &'a Cin),
}

/// Who the caller is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Who {
    /// The one person the claim names.
    Found(Box<Person>),
    /// The phone names no one, or several people (a family phone): ask the pair.
    AskPair,
    /// The pair does not belong to one person.
    WrongPair,
}

impl Desk<'_> {
    /// The person `claim` names.
    pub(crate) fn who(&self, claim: Claim<'_>) -> Result<Who, InquiryError> {
        let found = match claim {
            Claim::Pair(matricule, cin) => {
                let person = self
                    .store()
                    .person_by_pair(self.scope.insurer, matricule, cin)?;
                return Ok(person.map_or(Who::WrongPair, |p| Who::Found(Box::new(p))));
            }
            Claim::Phone => self.people_of_phone()?,
        };
        Ok(match <[Person; 1]>::try_from(found) {
            Ok([person]) => Who::Found(Box::new(person)),
            Err(_) => Who::AskPair,
        })
    }

    /// The service's people whose record lists the asker's phone, and those it subscribed to
    /// alerts, each once.
    fn people_of_phone(&self) -> Result<Vec<Person>, InquiryError> {
        let Asker::Phone { msisdn } = self.asker else {
            return Ok(Vec::new());
        };
        let mut people = self.store().people_by_msisdn(self.scope.insurer, msisdn)?;
        let subscribed = self
            .inquiries
            .subscriptions
            .people_of(ALERTS_INSURER, msisdn)?;
        for person_id in subscribed {
            if people.iter().any(|p| p.person_id == person_id) {
                continue;
            }
            if let Some(person) = self.person(&person_id)? {
                people.push(person);
            }
        }
        Ok(people)
    }

    /// Whether the asker's phone binds `person` (SPEC §2 *Who a caller is*): it is on their
    /// record or their holder's, or it subscribed to SMS alerts for either through daftar. An
    /// asker without a phone binds no one.
    pub(crate) fn phone_binds(&self, person: &Person) -> Result<bool, InquiryError> {
        let holder = self.holder_of(person)?;
        if self.registered_for(person, holder.as_ref()) {
            return Ok(true);
        }
        let Some(msisdn) = self.asker.msisdn() else {
            return Ok(false);
        };
        let subscribed = self
            .inquiries
            .subscriptions
            .people_of(ALERTS_INSURER, msisdn)?;
        let named = |id: &String| {
            *id == person.person_id || holder.as_ref().is_some_and(|h| h.person_id == *id)
        };
        Ok(subscribed.iter().any(named))
    }

    /// The third wrong pair: the audit trail keeps it as a mismatch, under a tracking code.
    pub(crate) async fn pair_refused(&self) -> Result<TrackingCode, InquiryError> {
        self.audit(Kind::Identify, Recorded::Mismatch, None).await
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{expect_trail, Fixture};
    use super::*;
    use serde_json::json;

    const HOLDER: &str = "08123456";
    const SPOUSE: &str = "08123457";
    const PHONE: &str = "21698000001";
    const FAMILY: &str = "21698000009";
    const SUBSCRIBED: &str = "21698000005";
    const STRANGER: &str = "21698999999";

    fn people() -> Fixture {
        Fixture::with(&[
            json!({"insurer": "cnam", "person_id": HOLDER, "member_no": "11966433",
                "msisdns": [PHONE, FAMILY]}),
            json!({"insurer": "cnam", "person_id": SPOUSE, "member_no": "11966433",
                "msisdns": [FAMILY], "holder": {"person_id": HOLDER, "relation": "spouse"}}),
            json!({"insurer": "mutual", "person_id": HOLDER, "member_no": "55"}),
        ])
    }

    fn found(who: Who) -> Option<String> {
        match who {
            Who::Found(p) => Some(format!("{}:{}", p.insurer, p.person_id)),
            _ => None,
        }
    }

    #[tokio::test]
    async fn a_phone_names_its_one_person_and_a_family_phone_asks() {
        let fixture = people();
        fixture
            .inquiries
            .subscriptions
            .subscribe("cnam", HOLDER, SUBSCRIBED)
            .await
            .expect("subscribed");
        let cases = [
            ("cnam", PHONE, Some("cnam:08123456")),
            ("cnam", FAMILY, None),
            ("cnam", STRANGER, None),
            ("cnam", SUBSCRIBED, Some("cnam:08123456")),
            ("mutual", SUBSCRIBED, Some("mutual:08123456")),
            ("mutual", PHONE, None),
        ];
        for (service, msisdn, want) in cases {
            let desk = fixture.desk(service, Asker::Phone { msisdn });
            let who = desk.who(Claim::Phone).expect("who");
            assert_eq!(found(who.clone()).as_deref(), want, "{service} {msisdn}");
            if want.is_none() {
                assert_eq!(who, Who::AskPair);
            }
        }
        // A subscription of a phone the record lists too counts once.
        fixture
            .inquiries
            .subscriptions
            .subscribe("cnam", HOLDER, PHONE)
            .await
            .expect("moved");
        let desk = fixture.desk("cnam", Asker::Phone { msisdn: PHONE });
        assert!(found(desk.who(Claim::Phone).expect("who")).is_some());
        let client = fixture.desk("cnam", Asker::Client { name: "x" });
        assert_eq!(client.who(Claim::Phone).expect("who"), Who::AskPair);
    }

    #[tokio::test]
    async fn a_phone_binds_its_person_their_dependents_and_whom_it_subscribed() {
        let fixture = people();
        fixture
            .inquiries
            .subscriptions
            .subscribe("cnam", HOLDER, SUBSCRIBED)
            .await
            .expect("subscribed");
        let holder = fixture.record("cnam", HOLDER);
        let spouse = fixture.record("cnam", SPOUSE);
        let member = |msisdn| Asker::Member {
            name: "app",
            msisdn,
        };
        let cases = [
            (member(PHONE), &holder, true),
            (member(PHONE), &spouse, true),
            (member(FAMILY), &spouse, true),
            (member(SUBSCRIBED), &holder, true),
            (member(SUBSCRIBED), &spouse, true),
            (member(STRANGER), &holder, false),
            (Asker::Client { name: PHONE }, &holder, false),
        ];
        for (asker, person, want) in cases {
            let desk = fixture.desk("cnam", asker);
            let got = desk.phone_binds(person).expect("binds");
            assert_eq!(got, want, "{asker:?} {}", person.person_id);
        }
        let mutual = fixture.record("mutual", HOLDER);
        let desk = fixture.desk("mutual", member(SUBSCRIBED));
        assert!(
            desk.phone_binds(&mutual).expect("binds"),
            "the CIN's subscription"
        );
        let desk = fixture.desk("mutual", member(PHONE));
        assert!(
            !desk.phone_binds(&mutual).expect("binds"),
            "cnam's phone only"
        );
    }

    #[tokio::test]
    async fn a_pair_must_belong_to_one_person() {
        let fixture = people();
        let desk = fixture.desk("cnam", Asker::Phone { msisdn: STRANGER });
        let pair = |m: &str, c: &str| {
            let (m, c) = (Matricule::parse(m).unwrap(), Cin::parse(c).unwrap());
            found(desk.who(Claim::Pair(&m, &c)).expect("who"))
        };
        assert_eq!(pair("11966433", HOLDER).as_deref(), Some("cnam:08123456"));
        assert_eq!(pair("11966433", SPOUSE).as_deref(), Some("cnam:08123457"));
        assert_eq!(pair("11966434", HOLDER), None);
        assert_eq!(pair("11966433", "09999999"), None);
        let code = desk.pair_refused().await.expect("code");
        expect_trail(&fixture, code, ("identify", "mismatch"), STRANGER, None);
    }
}
