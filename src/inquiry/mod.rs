//! Inquiries: the questions daftar answers about a person's cover, below any channel. A USSD
//! action, and later the FHIR API or an SMS command, asks here and gets a typed answer with its
//! tracking code; what a screen, a FHIR resource or an SMS makes of it is theirs.
//!
//! Where it sits: `actions ─► inquiry ─► rules / store`, and the audit trail. A [`Desk`] takes
//! the questions of one [`Asker`] to one service ([`Scope`]) on one day; each question reads the
//! store on the caller's worker (sled's cache), applies `rules`, and writes its answer to the
//! audit trail through the writer thread (never a sled write on a tokio worker), as a kind, a
//! result, the asker's keyed hash and the queried identifier's keyed hash.
//!
//! What it must never do: know of menus, outcomes, locales or words; show one person's details
//! to an asker not entitled to them (SPEC §2.1, §2.4); tell whether an identifier that no
//! record holds exists; write or log an MSISDN or an identifier in clear.

mod caller;
mod clock;
mod cnam;
mod mutual;
mod osms;
mod support;
mod tamin;

use std::fmt;
use std::sync::Arc;

use jiff::civil::Date;

use crate::audit::{AuditEntry, AuditError, KeyedHasher, Tracker, TrackingCode};
use crate::benefits::Benefits;
use crate::record::Person;
use crate::rules::RuleConfig;
use crate::store::{Store, StoreError};
use crate::subscriptions::{SubscriptionError, Subscriptions};
use crate::writer::{WriteError, Writer};

pub(crate) use caller::{Claim, Who};
pub(crate) use clock::Clock;
pub(crate) use cnam::ChronicCover;
pub(crate) use cnam::CnamCoverage;
pub(crate) use mutual::BeneficiaryBalance;
pub(crate) use mutual::MutualBalances;
pub(crate) use support::{PersonView, Ruling, Subject};
pub(crate) use tamin::{DependentStatus, General, HolderDependents, Household, Own};

/// Who asks.
#[derive(Clone, Copy)]
pub(crate) enum Asker<'a> {
    /// A caller on a phone. The MSISDN is used to check registration only; the audit trail and
    /// the logs get its keyed hash.
    Phone { msisdn: &'a str },
    /// A client of an API, by the name configuration gives it. It is registered for no one.
    Client { name: &'a str },
    /// A client of an API asking for a member, with the phone its request names: registered
    /// where that phone is, named in the audit trail and the logs by the client's name only.
    Member { name: &'a str, msisdn: &'a str },
}

/// Kept out of logs: a phone's `{:?}` never shows its MSISDN.
impl fmt::Debug for Asker<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Asker::Phone { .. } => f.write_str("Phone { .. }"),
            Asker::Client { name } => f.debug_struct("Client").field("name", name).finish(),
            Asker::Member { name, .. } => write!(f, "Member {{ name: {name:?}, .. }}"),
        }
    }
}

impl Asker<'_> {
    /// The asker's phone, if it has one.
    fn msisdn(&self) -> Option<&str> {
        match self {
            Asker::Phone { msisdn } | Asker::Member { msisdn, .. } => Some(msisdn),
            Asker::Client { .. } => None,
        }
    }

    /// Whether the asker's phone is registered on `person`'s record (SPEC §2: a caller's MSISDN
    /// identifies a person when it is in that person's `msisdns`).
    fn is_registered_on(&self, person: &Person) -> bool {
        match self {
            Asker::Phone { msisdn } | Asker::Member { msisdn, .. } => {
                person.msisdns.iter().any(|m| m == msisdn)
            }
            Asker::Client { .. } => false,
        }
    }
}

/// The service an inquiry is put to: whose records it reads, which rules apply, where "today"
/// is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scope<'a> {
    /// The service id, for the audit trail (`tamin`).
    pub(crate) service: &'a str,
    /// The insurer whose records the service reads.
    pub(crate) insurer: &'a str,
    /// The service's IANA time zone.
    pub(crate) time_zone: &'a str,
    pub(crate) rules: &'a RuleConfig,
    /// Ceilings' default limits and rates (`cnam`, `mutual`).
    pub(crate) benefits: &'a Benefits,
}

/// An answer, and the tracking code the audit trail keeps it under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tracked<T> {
    pub(crate) answer: T,
    pub(crate) code: TrackingCode,
}

/// An inquiry could not be answered: the store or the audit trail failed. Never carries an
/// MSISDN or an identifier.
#[derive(Debug, thiserror::Error)]
pub(crate) enum InquiryError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("audit: {0}")]
    Audit(#[from] AuditError),
    #[error("audit: {0}")]
    Writer(#[from] WriteError),
    #[error("subscriptions: {0}")]
    Subscriptions(#[from] SubscriptionError),
    /// Subscribing is done from a phone, for that phone; an API client has none.
    #[error("only a phone subscribes to SMS alerts")]
    NotAPhone,
}

/// What inquiries work with: the store, the audit trail and its writer, the keyed hasher, the
/// clock. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Inquiries {
    pub(crate) store: Store,
    pub(crate) tracker: Arc<Tracker>,
    pub(crate) writer: Arc<Writer>,
    pub(crate) hasher: KeyedHasher,
    pub(crate) clock: Clock,
    /// Who subscribed to SMS alerts: a subscribed phone identifies its caller (`cnam`,
    /// `mutual`), and `cnam` option 3 writes here.
    pub(crate) subscriptions: Subscriptions,
}

impl Inquiries {
    /// The desk that answers `asker`'s questions to `scope`, arrived through `channel` (for the
    /// audit trail: `ussd:africastalking`), on today's date in the service's time zone.
    pub(crate) fn desk<'a>(
        &'a self,
        scope: Scope<'a>,
        asker: Asker<'a>,
        channel: &'a str,
    ) -> Desk<'a> {
        Desk {
            inquiries: self,
            today: self.clock.today(scope.time_zone),
            scope,
            asker,
            channel,
        }
    }
}

/// The questions of one asker to one service on one day. The questions themselves are in
/// `tamin.rs` and `osms.rs`.
pub(crate) struct Desk<'a> {
    inquiries: &'a Inquiries,
    scope: Scope<'a>,
    asker: Asker<'a>,
    channel: &'a str,
    today: Date,
}

/// The kinds of inquiry the audit trail names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `tamin` 1: one's own entitlement.
    Specific,
    /// `tamin` 2: a provider's general inquiry.
    General,
    /// `tamin` 3: the dependents on a holder's record.
    Dependents,
    /// `osms` 1: insurance status.
    Status,
    /// `cnam`, `mutual`: the third matricule and CIN that belong to no one person.
    Identify,
    /// `cnam` 1: one's coverage, ceiling and chronic coverages.
    Coverage,
    /// `cnam` 2: the care booklet.
    Booklet,
    /// `cnam` 3: a subscription to SMS alerts, or its end.
    Alerts,
    /// `mutual` 1: the balances.
    Balances,
    /// `mutual` 2: the rates of a scheme.
    Rates,
    /// The support staff's lookup of a person's whole entitlement (the admin API).
    Support,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Specific => "specific",
            Kind::General => "general",
            Kind::Dependents => "dependents",
            Kind::Status => "status",
            Kind::Identify => "identify",
            Kind::Coverage => "coverage",
            Kind::Booklet => "booklet",
            Kind::Alerts => "alerts",
            Kind::Balances => "balances",
            Kind::Rates => "rates",
            Kind::Support => "support",
        }
    }
}

/// The results the audit trail names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Recorded {
    Covered,
    NotCovered,
    /// The identifier and the asker's phone do not belong together (or no record holds it).
    Mismatch,
    /// A list of dependents, with at least one.
    Listed,
    /// A list of dependents, empty.
    NoDependents,
    /// A subscription made, already there, or moved to this phone.
    Subscribed,
    AlreadySubscribed,
    Moved,
    /// The phone's subscriptions ended (or there was none to end).
    Unsubscribed,
    /// An answer that is neither covered nor not (the rates of a scheme).
    Answered,
    /// No record holds the person (said to the support staff only).
    Unknown,
}

impl Recorded {
    fn as_str(self) -> &'static str {
        match self {
            Recorded::Covered => "covered",
            Recorded::NotCovered => "not_covered",
            Recorded::Mismatch => "mismatch",
            Recorded::Listed => "listed",
            Recorded::NoDependents => "none",
            Recorded::Subscribed => "subscribed",
            Recorded::AlreadySubscribed => "already_subscribed",
            Recorded::Moved => "moved",
            Recorded::Unsubscribed => "unsubscribed",
            Recorded::Answered => "answered",
            Recorded::Unknown => "unknown",
        }
    }

    fn of(covered: bool) -> Recorded {
        if covered {
            Recorded::Covered
        } else {
            Recorded::NotCovered
        }
    }
}

impl Desk<'_> {
    fn store(&self) -> &Store {
        &self.inquiries.store
    }

    /// The desk's day: today in the service's time zone.
    pub(crate) fn today(&self) -> Date {
        self.today
    }

    /// The record of `person_id` at the service's insurer.
    fn person(&self, person_id: &str) -> Result<Option<Person>, InquiryError> {
        Ok(self.store().person(self.scope.insurer, person_id)?)
    }

    /// The record of the holder on whose record `person` is a dependent, if it is one.
    fn holder_of(&self, person: &Person) -> Result<Option<Person>, InquiryError> {
        match &person.holder {
            Some(link) => self.person(&link.person_id),
            None => Ok(None),
        }
    }

    /// Whether the asker's phone is registered for `person`, or for the holder whose dependent
    /// `person` is (SPEC §2.1 option 1, §2.4).
    fn registered_for(&self, person: &Person, holder: Option<&Person>) -> bool {
        self.asker.is_registered_on(person)
            || holder.is_some_and(|h| self.asker.is_registered_on(h))
    }

    /// How the audit trail and the logs name the asker: a phone by its keyed hash (tag), a
    /// client by its configured name.
    fn asker_in_trail(&self) -> (String, String) {
        let hasher = &self.inquiries.hasher;
        match self.asker {
            Asker::Phone { msisdn } => (hasher.hash(msisdn), hasher.tag(msisdn)),
            Asker::Client { name } | Asker::Member { name, .. } => {
                (format!("client:{name}"), format!("client:{name}"))
            }
        }
    }

    /// Issues a tracking code and writes the audit entry of an answer, on the writer thread.
    async fn audit(
        &self,
        kind: Kind,
        result: Recorded,
        subject: Option<&str>,
    ) -> Result<TrackingCode, InquiryError> {
        let (caller, tag) = self.asker_in_trail();
        let entry = AuditEntry {
            at_unix: jiff::Timestamp::now().as_second(),
            channel: self.channel.to_string(),
            service: self.scope.service.to_string(),
            kind: kind.as_str().to_string(),
            result: result.as_str().to_string(),
            caller,
            subject: subject.map(|s| self.inquiries.hasher.hash(s)),
        };
        let tracker = self.inquiries.tracker.clone();
        let code = self
            .inquiries
            .writer
            .run(move || -> Result<TrackingCode, AuditError> {
                let code = tracker.issue()?;
                tracker.record(code, &entry)?;
                Ok(code)
            })
            .await??;
        // Debug, not info: the audit trail is the record of each inquiry, and a line per
        // inquiry at the default level cost 5 % of the inquiry's CPU (issue 10). Its fields
        // name no one: the asker by the keyed tag of their phone, the subject not at all.
        tracing::debug!(
            %code,
            service = self.scope.service,
            kind = kind.as_str(),
            result = result.as_str(),
            caller = %tag,
            "inquiry answered"
        );
        Ok(code)
    }

    /// Writes `answer` to the audit trail and returns it with its tracking code.
    async fn tracked<T>(
        &self,
        answer: T,
        kind: Kind,
        result: Recorded,
        subject: Option<&str>,
    ) -> Result<Tracked<T>, InquiryError> {
        let code = self.audit(kind, result, subject).await?;
        Ok(Tracked { answer, code })
    }
}

/// The people of the inquiry tests: a sled store in a temp dir filled with records, the audit
/// trail beside it, and desks over them on a fixed day.
#[cfg(test)]
mod fixture {
    use super::*;
    use crate::record::{Change, ChangeOp};
    use crate::rules::RuleSet;

    pub(super) const TODAY: Date = jiff::civil::date(2026, 3, 15);
    pub(super) const HASH_KEY: [u8; 32] = [7; 32];

    pub(super) struct Fixture {
        pub(crate) inquiries: Inquiries,
        pub(crate) rules: RuleConfig,
        pub(crate) benefits: Benefits,
        _dir: tempfile::TempDir,
    }

    impl Fixture {
        /// A store holding `people` (JSON records as the feed has them).
        pub(crate) fn with(people: &[serde_json::Value]) -> Fixture {
            let dir = tempfile::tempdir().expect("temp dir");
            let store = Store::open(&dir.path().join("db"), 4 * 1024 * 1024).expect("store");
            for (seq, person) in (1..).zip(people) {
                let person: Person = serde_json::from_value(person.clone()).expect("a person");
                let change = Change {
                    seq,
                    op: ChangeOp::Upsert {
                        person: Box::new(person),
                    },
                };
                store.apply(&change).expect("applied");
            }
            let tracker = Tracker::open(
                store.tree("audit").expect("tree"),
                store.tree("audit_meta").expect("tree"),
                0,
                400,
                &[1; 32],
            )
            .expect("tracker");
            let writer = Arc::new(Writer::start().expect("writer"));
            let subscriptions = Subscriptions::open(&store, writer.clone()).expect("subs");
            Fixture {
                inquiries: Inquiries {
                    store,
                    tracker: Arc::new(tracker),
                    writer,
                    hasher: KeyedHasher::new(HASH_KEY),
                    clock: Clock::Fixed(TODAY),
                    subscriptions,
                },
                rules: RuleConfig::for_set(RuleSet::Tamin),
                benefits: Benefits::default(),
                _dir: dir,
            }
        }

        /// A desk of `service` (whose insurer has the same name) for `asker`.
        pub(crate) fn desk<'a>(&'a self, service: &'a str, asker: Asker<'a>) -> Desk<'a> {
            let scope = Scope {
                service,
                insurer: service,
                time_zone: "UTC",
                rules: &self.rules,
                benefits: &self.benefits,
            };
            self.inquiries.desk(scope, asker, "test")
        }

        /// What the audit trail keeps under `code`.
        pub(crate) fn trail(&self, code: TrackingCode) -> AuditEntry {
            self.inquiries
                .tracker
                .lookup(code)
                .expect("lookup")
                .expect("an entry for every code")
        }

        /// The record of `person_id` at `insurer`, which the fixture holds.
        pub(crate) fn record(&self, insurer: &str, person_id: &str) -> Person {
            self.inquiries
                .store
                .person(insurer, person_id)
                .expect("store")
                .expect("a record")
        }

        pub(crate) fn hash(&self, value: &str) -> String {
            self.inquiries.hasher.hash(value)
        }
    }

    /// The audit entry expected for an answer: kind, result, caller hash and subject hash.
    pub(super) fn expect_trail(
        fixture: &Fixture,
        code: TrackingCode,
        (kind, result): (&str, &str),
        caller: &str,
        subject: Option<&str>,
    ) {
        let entry = fixture.trail(code);
        assert_eq!(
            (entry.kind.as_str(), entry.result.as_str()),
            (kind, result),
            "{entry}"
        );
        assert_eq!(entry.caller, fixture.hash(caller));
        assert_eq!(entry.subject, subject.map(|s| fixture.hash(s)));
        assert_eq!(entry.channel, "test");
        assert!(!entry.to_string().contains(caller), "no MSISDN in clear");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_phone_asker_never_shows_its_msisdn() {
        let phone = Asker::Phone {
            msisdn: "989121234567",
        };
        assert_eq!(format!("{phone:?}"), "Phone { .. }");
        let client = Asker::Client { name: "clinic-7" };
        assert_eq!(format!("{client:?}"), "Client { name: \"clinic-7\" }");
        let member = Asker::Member {
            name: "app",
            msisdn: "989121234567",
        };
        assert_eq!(format!("{member:?}"), "Member { name: \"app\", .. }");
    }

    #[test]
    fn registration_is_a_phone_on_the_record() {
        let person = Person {
            msisdns: vec!["989121234567".into(), "989121234568".into()],
            ..Person::default()
        };
        let cases = [
            (
                Asker::Phone {
                    msisdn: "989121234567",
                },
                true,
            ),
            (
                Asker::Phone {
                    msisdn: "989121234568",
                },
                true,
            ),
            (
                Asker::Phone {
                    msisdn: "98912123456",
                },
                false,
            ),
            (Asker::Phone { msisdn: "" }, false),
            (
                Asker::Client {
                    name: "989121234567",
                },
                false,
            ),
            (
                Asker::Member {
                    name: "app",
                    msisdn: "989121234568",
                },
                true,
            ),
            (
                Asker::Member {
                    name: "989121234567",
                    msisdn: "98912",
                },
                false,
            ),
        ];
        for (asker, want) in cases {
            assert_eq!(asker.is_registered_on(&person), want, "{asker:?}");
        }
        assert!(!Asker::Phone { msisdn: "" }.is_registered_on(&Person::default()));
    }
}
