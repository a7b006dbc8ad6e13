//! Alerts: each `event` change of the feed (SPEC §5) for a subscribed `cnam` person becomes one
//! SMS in the outbox, in the subscriber's remembered locale (else `ar`).
//!
//! Where it sits: a task beside the feed follower, not inside it. The store lists its events in
//! feed order (`event_seqs`); this task reads them up to the store's watermark (so only events
//! that are durable, whoever applied them: the server's follower or `daftar sync`), queues the
//! alerts, and then records how far it went (`sms_meta`/`alerted`) in the same writer job, flushed.
//! The sync path and the store stay free of SMS, and a slow outbox never slows the feed.
//!
//! Exactly one SMS per event: its outbox id is `alert/<insurer>/<seq>` and is inserted only when
//! absent, so a crash between the queueing and the mark, or the same feed applied again (its
//! `seq`s are at or below the watermark and skipped), queues nothing twice. An event whose JSON
//! is not a known kind (the feed refuses those; only an older store could hold one) is logged
//! with its `seq` and sends nothing; a person with no subscription gets nothing.

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::outbox::{Kind, Message, Outbox, OutboxError};
use super::texts::SmsTexts;
use super::{Recipients, SmsMetrics, SERVICE};
use crate::locale::{format_date, format_money};
use crate::record::{Decision, Event, SummonsReason};
use crate::store::{Store, StoreError, StoredEvent};
use crate::subscriptions::SubscriptionError;

/// The meta key of the last event `seq` turned into alerts (u64 BE).
const ALERTED: &[u8] = b"alerted";
/// Events read in one round.
const ROUND: usize = 256;

#[derive(Debug, thiserror::Error)]
pub(crate) enum AlertError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Subscriptions(#[from] SubscriptionError),
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    #[error("alerts: {0}")]
    Sled(#[from] sled::Error),
    #[error("alerts: the mark of the last event alerted is malformed")]
    BadMark,
}

/// The alert task's parts.
#[derive(Clone)]
pub(crate) struct Alerts {
    pub(crate) store: Store,
    pub(crate) recipients: Recipients,
    pub(crate) outbox: Outbox,
    pub(crate) texts: Arc<SmsTexts>,
    pub(crate) meta: sled::Tree,
    pub(crate) wake: Arc<Notify>,
    pub(crate) metrics: SmsMetrics,
}

/// One round's work: the last `seq` read and the messages to queue.
struct Round {
    through: u64,
    messages: Vec<(String, Message)>,
    read: usize,
}

impl Alerts {
    /// Turns new events into alerts every `every` until `stop`.
    pub(crate) async fn run(self, every: Duration, stop: CancellationToken) {
        loop {
            match self.round().await {
                // A full round: more may wait.
                Ok(read) if read == ROUND => continue,
                Ok(_) => {}
                Err(error) => tracing::error!(%error, "alerts could not be queued; trying again"),
            }
            tokio::select! {
                () = tokio::time::sleep(every) => {},
                () = stop.cancelled() => return,
            }
        }
    }

    /// Queues the alerts of the events after the mark; how many events were read.
    pub(crate) async fn round(&self) -> Result<usize, AlertError> {
        let this = self.clone();
        let round = match tokio::task::spawn_blocking(move || this.prepare()).await {
            Ok(round) => round?,
            Err(ended) if ended.is_panic() => std::panic::resume_unwind(ended.into_panic()),
            Err(_) => return Ok(0),
        };
        if round.read == 0 {
            return Ok(0);
        }
        let queued = round.messages.len();
        let (outbox, meta) = (self.outbox.clone(), self.meta.clone());
        self.outbox
            .writer()
            .run(move || -> Result<(), AlertError> {
                for (id, message) in &round.messages {
                    outbox.put_now(id, message)?;
                }
                meta.insert(ALERTED, &round.through.to_be_bytes())?;
                meta.flush()?;
                Ok(())
            })
            .await
            .map_err(OutboxError::from)??;
        for _ in 0..queued {
            self.metrics.entered("queued");
        }
        if queued > 0 {
            self.wake.notify_one();
        }
        Ok(round.read)
    }

    /// Reads the events after the mark (blocking reads) and writes their alerts.
    fn prepare(&self) -> Result<Round, AlertError> {
        let after = self.alerted()?;
        let events = self
            .store
            .events_between(after, self.store.watermark()?, ROUND)?;
        let mut round = Round {
            through: events.last().map_or(after, |e| e.seq),
            messages: Vec::new(),
            read: events.len(),
        };
        for stored in &events {
            if let Some(message) = self.alert_of(stored)? {
                round.messages.push((alert_id(stored), message));
            }
        }
        Ok(round)
    }

    fn alert_of(&self, stored: &StoredEvent) -> Result<Option<Message>, AlertError> {
        if stored.insurer != SERVICE {
            return Ok(None);
        }
        let event = match Event::read(&stored.event) {
            Ok(event) => event,
            Err(why) => {
                tracing::warn!(seq = stored.seq, %why, "event not alerted");
                self.metrics.alert("malformed");
                return Ok(None);
            }
        };
        let Some(msisdn) = self.recipients.msisdn_of(&stored.person_id)? else {
            self.metrics.alert("not_subscribed");
            return Ok(None);
        };
        let locale = self.recipients.locale_of(&msisdn);
        let text = render(&self.texts, locale, &event);
        self.metrics.alert(event.kind());
        Ok(Some(Message::new(
            Kind::Alert,
            &msisdn,
            text,
            super::now_ms(),
        )))
    }

    fn alerted(&self) -> Result<u64, AlertError> {
        match self.meta.get(ALERTED)? {
            None => Ok(0),
            Some(v) => <[u8; 8]>::try_from(v.as_ref())
                .map(u64::from_be_bytes)
                .map_err(|_| AlertError::BadMark),
        }
    }
}

/// The outbox id of an event's alert: its feed `seq` is its identity.
fn alert_id(stored: &StoredEvent) -> String {
    format!("alert/{}/{:020}", stored.insurer, stored.seq)
}

/// The SMS of `event` in `locale`: its words are `alert.<kind>`, or `alert.<kind>_<variant>` for
/// a decision and a summons.
pub(crate) fn render(texts: &SmsTexts, locale: &str, event: &Event) -> String {
    let date = |d| format_date(d, locale);
    let key = match event {
        Event::CoverageDecision {
            decision: Decision::Accepted,
            ..
        } => "alert.coverage_accepted".to_string(),
        Event::CoverageDecision {
            decision: Decision::Refused,
            ..
        } => "alert.coverage_refused".to_string(),
        Event::Summons {
            reason: SummonsReason::MedicalCheck,
            ..
        } => "alert.summons_medical_check".to_string(),
        Event::Summons {
            reason: SummonsReason::CompleteFile,
            ..
        } => "alert.summons_complete_file".to_string(),
        _ => format!("alert.{}", event.kind()),
    };
    let vars: Vec<(&str, String)> = match event {
        Event::TransferPaid { amount, date: d } | Event::MoneyOrder { amount, date: d } => {
            vec![
                ("amount", format_money(*amount, locale)),
                ("date", date(*d)),
            ]
        }
        Event::CoverageDecision { what, .. } => vec![("what", what.trim().to_string())],
        Event::Summons { date: d, .. } => vec![("date", date(*d))],
        Event::ChronicEnding { label, until } => {
            vec![("label", label.trim().to_string()), ("until", date(*until))]
        }
        Event::CeilingReached { year } => vec![("year", year.to_string())],
    };
    texts.render(locale, &key, &vars)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn texts() -> SmsTexts {
        SmsTexts::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("menus"))
            .expect("texts")
            .expect("shipped")
    }

    #[test]
    fn every_kind_renders_in_both_locales_with_its_values() {
        let texts = texts();
        let cases = [
            (
                json!({"kind": "transfer_paid", "amount": "120.5", "date": "2026-11-30"}),
                ["120.500 D", "30/11/2026"],
            ),
            (
                json!({"kind": "money_order", "amount": "75", "date": "2026-12-01"}),
                ["75.000 D", "01/12/2026"],
            ),
            (
                json!({"kind": "coverage_decision", "decision": "accepted", "what": "IRM"}),
                ["accordée", "IRM"],
            ),
            (
                json!({"kind": "coverage_decision", "decision": "refused", "what": "lunettes"}),
                ["refusée", "lunettes"],
            ),
            (
                json!({"kind": "summons", "reason": "medical_check", "date": "2027-01-05"}),
                ["médicale", "05/01/2027"],
            ),
            (
                json!({"kind": "summons", "reason": "complete_file", "date": "2027-01-05"}),
                ["dossier", "05/01/2027"],
            ),
            (
                json!({"kind": "chronic_ending", "label": "diabète", "until": "2027-03-31"}),
                ["diabète", "31/03/2027"],
            ),
            (
                json!({"kind": "ceiling_reached", "year": 2026}),
                ["2026", "plafond"],
            ),
        ];
        for (json, fr_words) in cases {
            let event = Event::read(&json).expect("a known event");
            let fr = render(&texts, "fr", &event);
            for word in fr_words {
                assert!(fr.contains(word), "{fr:?} lacks {word:?}");
            }
            let ar = render(&texts, "ar", &event);
            assert!(ar.starts_with("CNAM"), "{ar:?}");
            for value in fr_words
                .iter()
                .filter(|w| w.chars().any(|c| c.is_ascii_digit()))
            {
                let digits = value.trim_end_matches(" D");
                assert!(ar.contains(digits), "{ar:?} lacks {digits:?}");
            }
            assert!(super::super::texts::parts(&ar) <= 1, "{ar:?}");
        }
    }

    /// A store with a subscribed person, one who is not, and their events up to seq 4.
    async fn alerts_over_events() -> (tempfile::TempDir, Alerts) {
        use crate::record::{Change, ChangeOp};
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path(), 1 << 20).expect("store");
        let writer = Arc::new(crate::writer::Writer::start().expect("writer"));
        let subscriptions =
            crate::subscriptions::Subscriptions::open(&store, writer.clone()).expect("subs");
        subscriptions
            .subscribe(SERVICE, "01234567", "21620000001")
            .await
            .expect("subscribed");
        let events = [
            (
                1,
                "01234567",
                json!({"kind": "ceiling_reached", "year": 2025}),
            ),
            (
                2,
                "02000001",
                json!({"kind": "ceiling_reached", "year": 2025}),
            ),
            (3, "01234567", json!({"kind": "lottery_won"})),
            (
                4,
                "01234567",
                json!({"kind": "ceiling_reached", "year": 2026}),
            ),
        ];
        for (seq, person, event) in events {
            let op = ChangeOp::Event {
                insurer: SERVICE.into(),
                person_id: person.into(),
                event,
            };
            store.apply(&Change { seq, op }).expect("applied");
        }
        store.set_watermark(4).expect("watermark");
        let alerts = Alerts {
            recipients: Recipients {
                subscriptions,
                prefs: store.tree("prefs").expect("prefs"),
                hasher: crate::audit::KeyedHasher::new([7; 32]),
            },
            outbox: Outbox::open(&store, writer).expect("outbox"),
            texts: Arc::new(texts()),
            meta: store.tree("sms_meta").expect("meta"),
            wake: Arc::new(Notify::new()),
            metrics: SmsMetrics(Arc::new(crate::metrics::Metrics::new())),
            store,
        };
        (dir, alerts)
    }

    #[tokio::test]
    async fn one_sms_per_event_of_a_subscriber_even_when_the_events_are_read_again() {
        let (_dir, alerts) = alerts_over_events().await;
        assert_eq!(alerts.round().await.expect("round"), 4);
        assert_eq!(alerts.round().await.expect("round"), 0);
        // As after a crash between the queueing and the mark: the same events read again.
        alerts.meta.remove(ALERTED).expect("mark removed");
        assert_eq!(alerts.round().await.expect("round"), 4);
        let queued = alerts.outbox.list(100).expect("list");
        let ids: Vec<&str> = queued.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "alert/cnam/00000000000000000001",
                "alert/cnam/00000000000000000004"
            ]
        );
        assert!(queued.iter().all(|(_, m)| m.to == "21620000001"));
        assert!(queued[1].1.text.contains("2026"), "{:?}", queued[1].1.text);
        // Only what the watermark covers is read.
        let later = crate::record::Change {
            seq: 5,
            op: crate::record::ChangeOp::Event {
                insurer: SERVICE.into(),
                person_id: "01234567".into(),
                event: json!({"kind": "ceiling_reached", "year": 2027}),
            },
        };
        alerts.store.apply(&later).expect("applied");
        assert_eq!(alerts.round().await.expect("round"), 0);
        alerts.store.set_watermark(5).expect("watermark");
        assert_eq!(alerts.round().await.expect("round"), 1);
        assert_eq!(alerts.outbox.list(100).expect("list").len(), 3);
    }

    #[test]
    fn unknown_kinds_and_missing_fields_are_refused() {
        for json in [
            json!({"kind": "lottery_won", "amount": "1"}),
            json!({"kind": "transfer_paid", "amount": "1"}),
            json!({"kind": "transfer_paid", "amount": 1.5, "date": "2026-11-30"}),
            json!({"kind": "transfer_paid", "amount": "-1", "date": "2026-11-30"}),
            json!({"kind": "summons", "reason": "party", "date": "2026-11-30"}),
            json!({"kind": "summons", "reason": "medical_check", "date": "30/11/2026"}),
            json!({"kind": "coverage_decision", "decision": "maybe", "what": "x"}),
            json!({"kind": "coverage_decision", "decision": "accepted", "what": " "}),
            json!({"kind": "chronic_ending", "label": "x".repeat(500), "until": "2027-03-31"}),
            json!({"amount": "1", "date": "2026-11-30"}),
            json!("transfer_paid"),
            json!(null),
        ] {
            assert!(Event::read(&json).is_err(), "{json}");
        }
        // Unknown fields are ignored, as in a person.
        assert!(
            Event::read(&json!({"kind": "ceiling_reached", "year": 2026, "note": "x"})).is_ok()
        );
    }
}
