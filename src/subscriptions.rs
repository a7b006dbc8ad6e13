//! Subscriptions to SMS alerts (SPEC §2.2 option 3, §4.1): which phone gets a person's alerts,
//! and which people a phone subscribed, so that a subscribed MSISDN identifies its caller
//! (SPEC §2 *Who a caller is*).
//!
//! Where it sits: the `cnam` USSD menu and the SMS commands write it, the alert sender and the
//! caller identification of `cnam` and `mutual` read it. It keeps its own two sled trees beside
//! the records, so a feed upsert, which replaces a person's record, never erases a subscription
//! made through daftar.
//!
//! | tree                 | key                                 | value               |
//! |----------------------|-------------------------------------|---------------------|
//! | `subscribers`        | `insurer \0 person_id`              | the MSISDN (digits) |
//! | `subscribed_msisdns` | `insurer \0 msisdn \0 person_id`    | empty               |
//!
//! One phone per person (a new subscription from another phone moves the alerts there); one
//! phone may subscribe several people (a family phone). Writes go through the writer thread and
//! are flushed before they answer: a caller told "subscribed" stays subscribed through a crash.
//!
//! What it must never do: log an MSISDN or an identifier (the MSISDN is kept in clear in the
//! store because an SMS must be sent to it; the store is the insurer's, the logs are not).

use std::sync::Arc;

use crate::store::{Store, StoreError};
use crate::writer::{WriteError, Writer};

/// The insurer subscriptions are kept under: SMS alerts are CNAM's (seed 000); a `mutual`
/// caller is identified by a CNAM subscription of the same CIN.
pub(crate) const ALERTS_INSURER: &str = "cnam";

const SUBSCRIBERS: &str = "subscribers";
const SUBSCRIBED_MSISDNS: &str = "subscribed_msisdns";

/// Why a subscription could not be read or written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SubscriptionError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sled(#[from] sled::Error),
    #[error(transparent)]
    Writer(#[from] WriteError),
    #[error("a key part is empty or holds a NUL")]
    BadKey,
}

/// What a subscription request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Subscribed {
    /// The person had no subscription; this phone now gets their alerts.
    New,
    /// This phone already got the person's alerts; nothing changed.
    Already,
    /// The person's alerts went to another phone; they now come to this one.
    Moved,
}

/// The subscriptions, over the node's store.
#[derive(Clone)]
pub(crate) struct Subscriptions {
    subscribers: sled::Tree,
    by_msisdn: sled::Tree,
    writer: Arc<Writer>,
}

impl std::fmt::Debug for Subscriptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriptions").finish_non_exhaustive()
    }
}

impl Subscriptions {
    /// Opens the subscription trees of `store`.
    pub(crate) fn open(
        store: &Store,
        writer: Arc<Writer>,
    ) -> Result<Subscriptions, SubscriptionError> {
        Ok(Subscriptions {
            subscribers: store.tree(SUBSCRIBERS)?,
            by_msisdn: store.tree(SUBSCRIBED_MSISDNS)?,
            writer,
        })
    }

    /// Sends `person_id`'s alerts to `msisdn` from now on; durable when it returns.
    pub(crate) async fn subscribe(
        &self,
        insurer: &str,
        person_id: &str,
        msisdn: &str,
    ) -> Result<Subscribed, SubscriptionError> {
        check_parts(&[insurer, person_id, msisdn])?;
        let this = self.clone();
        let (insurer, person_id, msisdn) =
            (insurer.to_owned(), person_id.to_owned(), msisdn.to_owned());
        self.writer
            .run(move || this.subscribe_now(&insurer, &person_id, &msisdn))
            .await?
    }

    /// Ends every subscription `msisdn` holds for `insurer` (SMS `STOP`, USSD option 3 → 2);
    /// durable when it returns. Returns how many people it unsubscribed.
    pub(crate) async fn unsubscribe_msisdn(
        &self,
        insurer: &str,
        msisdn: &str,
    ) -> Result<usize, SubscriptionError> {
        check_parts(&[insurer, msisdn])?;
        let this = self.clone();
        let (insurer, msisdn) = (insurer.to_owned(), msisdn.to_owned());
        self.writer
            .run(move || this.unsubscribe_now(&insurer, &msisdn))
            .await?
    }

    /// The phone that gets `person_id`'s alerts, if any.
    pub(crate) fn msisdn_of(
        &self,
        insurer: &str,
        person_id: &str,
    ) -> Result<Option<String>, SubscriptionError> {
        check_parts(&[insurer, person_id])?;
        let Some(value) = self.subscribers.get(key(&[insurer, person_id]))? else {
            return Ok(None);
        };
        Ok(String::from_utf8(value.to_vec()).ok())
    }

    /// The identifiers of the people `msisdn` subscribed for `insurer`, in identifier order.
    pub(crate) fn people_of(
        &self,
        insurer: &str,
        msisdn: &str,
    ) -> Result<Vec<String>, SubscriptionError> {
        check_parts(&[insurer, msisdn])?;
        let mut prefix = key(&[insurer, msisdn]);
        prefix.push(0);
        let mut people = Vec::new();
        for entry in self.by_msisdn.scan_prefix(&prefix).keys() {
            let entry = entry?;
            let person_id = String::from_utf8_lossy(&entry[prefix.len()..]).into_owned();
            // The forward entry is the truth; a reverse entry left by a crash is skipped.
            if self.msisdn_of(insurer, &person_id)?.as_deref() == Some(msisdn) {
                people.push(person_id);
            }
        }
        Ok(people)
    }

    fn subscribe_now(
        &self,
        insurer: &str,
        person_id: &str,
        msisdn: &str,
    ) -> Result<Subscribed, SubscriptionError> {
        let previous = self.msisdn_of(insurer, person_id)?;
        let outcome = match previous.as_deref() {
            Some(old) if old == msisdn => return Ok(Subscribed::Already),
            Some(old) => {
                self.by_msisdn.remove(key(&[insurer, old, person_id]))?;
                Subscribed::Moved
            }
            None => Subscribed::New,
        };
        // The reverse entry first: a crash between the two leaves an entry that `people_of`
        // skips, never a subscriber that no phone lookup finds.
        self.by_msisdn
            .insert(key(&[insurer, msisdn, person_id]), &[])?;
        self.subscribers
            .insert(key(&[insurer, person_id]), msisdn.as_bytes())?;
        self.subscribers.flush()?;
        Ok(outcome)
    }

    fn unsubscribe_now(&self, insurer: &str, msisdn: &str) -> Result<usize, SubscriptionError> {
        let people = self.people_of(insurer, msisdn)?;
        for person_id in &people {
            self.subscribers.remove(key(&[insurer, person_id]))?;
            self.by_msisdn.remove(key(&[insurer, msisdn, person_id]))?;
        }
        self.subscribers.flush()?;
        Ok(people.len())
    }
}

fn check_parts(parts: &[&str]) -> Result<(), SubscriptionError> {
    if parts.iter().all(|p| !p.is_empty() && !p.contains('\0')) {
        Ok(())
    } else {
        Err(SubscriptionError::BadKey)
    }
}

fn key(parts: &[&str]) -> Vec<u8> {
    parts.join("\0").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open() -> (tempfile::TempDir, Store, Subscriptions) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 1 << 20).unwrap();
        let writer = Arc::new(Writer::start().unwrap());
        let subs = Subscriptions::open(&store, writer).unwrap();
        (dir, store, subs)
    }

    #[tokio::test]
    async fn a_subscription_is_found_both_ways_and_a_repeat_changes_nothing() {
        let (_dir, _store, subs) = open();
        assert_eq!(
            subs.subscribe("cnam", "08123456", "21620000001")
                .await
                .unwrap(),
            Subscribed::New
        );
        assert_eq!(
            subs.subscribe("cnam", "08123456", "21620000001")
                .await
                .unwrap(),
            Subscribed::Already
        );
        assert_eq!(
            subs.msisdn_of("cnam", "08123456").unwrap().as_deref(),
            Some("21620000001")
        );
        assert_eq!(subs.people_of("cnam", "21620000001").unwrap(), ["08123456"]);
        assert!(subs.people_of("mutual", "21620000001").unwrap().is_empty());
        assert!(subs.msisdn_of("cnam", "08123457").unwrap().is_none());
    }

    #[tokio::test]
    async fn a_family_phone_subscribes_several_people_and_stop_ends_them_all() {
        let (_dir, _store, subs) = open();
        subs.subscribe("cnam", "08123456", "21620000001")
            .await
            .unwrap();
        subs.subscribe("cnam", "07000001", "21620000001")
            .await
            .unwrap();
        subs.subscribe("cnam", "09999999", "21620000002")
            .await
            .unwrap();
        assert_eq!(
            subs.people_of("cnam", "21620000001").unwrap(),
            ["07000001", "08123456"]
        );
        assert_eq!(
            subs.unsubscribe_msisdn("cnam", "21620000001")
                .await
                .unwrap(),
            2
        );
        assert!(subs.people_of("cnam", "21620000001").unwrap().is_empty());
        assert!(subs.msisdn_of("cnam", "08123456").unwrap().is_none());
        assert_eq!(
            subs.msisdn_of("cnam", "09999999").unwrap().as_deref(),
            Some("21620000002")
        );
        assert_eq!(
            subs.unsubscribe_msisdn("cnam", "21620000001")
                .await
                .unwrap(),
            0
        );
    }

    #[tokio::test]
    async fn a_new_phone_takes_the_alerts_and_the_old_one_no_longer_identifies_the_person() {
        let (_dir, _store, subs) = open();
        subs.subscribe("cnam", "08123456", "21620000001")
            .await
            .unwrap();
        assert_eq!(
            subs.subscribe("cnam", "08123456", "21620000002")
                .await
                .unwrap(),
            Subscribed::Moved
        );
        assert!(subs.people_of("cnam", "21620000001").unwrap().is_empty());
        assert_eq!(subs.people_of("cnam", "21620000002").unwrap(), ["08123456"]);
        // Unsubscribing the old phone leaves the new one's subscription alone.
        assert_eq!(
            subs.unsubscribe_msisdn("cnam", "21620000001")
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            subs.msisdn_of("cnam", "08123456").unwrap().as_deref(),
            Some("21620000002")
        );
    }

    #[tokio::test]
    async fn subscriptions_survive_reopening_the_store() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path(), 1 << 20).unwrap();
            let subs = Subscriptions::open(&store, Arc::new(Writer::start().unwrap())).unwrap();
            subs.subscribe("cnam", "08123456", "21620000001")
                .await
                .unwrap();
        }
        let store = Store::open(dir.path(), 1 << 20).unwrap();
        let subs = Subscriptions::open(&store, Arc::new(Writer::start().unwrap())).unwrap();
        assert_eq!(subs.people_of("cnam", "21620000001").unwrap(), ["08123456"]);
    }

    #[tokio::test]
    async fn impossible_keys_are_refused_not_stored() {
        let (_dir, _store, subs) = open();
        for (insurer, person, msisdn) in [
            ("", "1", "2"),
            ("cnam", "", "2"),
            ("cnam", "1", ""),
            ("cnam", "a\0b", "2"),
        ] {
            assert!(matches!(
                subs.subscribe(insurer, person, msisdn).await,
                Err(SubscriptionError::BadKey)
            ));
        }
        assert!(matches!(
            subs.people_of("cnam", "x\0y"),
            Err(SubscriptionError::BadKey)
        ));
    }
}
