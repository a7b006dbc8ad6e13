//! The SMS channel of `cnam` (SPEC §4.1, seed 000): commands sent to the short code, their
//! replies, and the alerts made from the feed's events, all leaving through one durable outbox.
//!
//! ```text
//! POST /sms/africastalking ─► africastalking (wire) ─► command (pure) ─► subscriptions
//!                                                          └─► texts ─► outbox ─► sender ─► provider
//! store (event_seqs, up to the watermark) ─► alerts ─► texts ─► outbox
//! POST /sms/africastalking/delivery ─► africastalking ─► outbox (state by the provider's id)
//! ```
//!
//! - `command`: what a text asks; `texts`: the words per locale (`menus/sms.<locale>.toml`);
//! - `outbox`: the messages and their states in sled; `sender`: the supervised task that posts
//!   them; `africastalking`: the provider's wire; `alerts`: the task that turns events into
//!   messages.
//!
//! The callback is answered 200 once the SMS is kept (flushed) in the `sms_inbox` tree; the
//! command is then handled in a task, and its reply queued in the outbox in the same writer job
//! that takes it out of the inbox (SPEC §4.1). A crash in between leaves it in the inbox, and
//! it is handled at the next start; its reply's id was fixed when it was kept, so it is never
//! queued twice. With no `[sms] provider`, commands are still answered and alerts made into the
//! outbox, and nothing is sent. What it must never do: log an MSISDN, a matricule or a CIN, or
//! a message's text (a log line names a message by its outbox id, a phone by its keyed tag).

pub(crate) mod africastalking;
pub(crate) mod alerts;
pub(crate) mod command;
pub(crate) mod outbox;
pub(crate) mod sender;
pub(crate) mod texts;

use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::audit::KeyedHasher;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::session_store::memory::durable_locale;
use crate::session_store::CallerKey;
use crate::store::Store;
use crate::subscriptions::{Subscribed, SubscriptionError, Subscriptions};
use crate::writer::Writer;
use africastalking::{DeliveryOutcome, DeliveryReport, Inbound};
use command::Command;
use outbox::{Delivery, Kind, Message, Outbox, OutboxError};
use texts::SmsTexts;

/// The service whose SMS channel this is: its subscriptions, its remembered locales.
pub(crate) const SERVICE: &str = "cnam";

/// The tree of inbound SMS acknowledged and not yet answered, by their reply's id.
const INBOX: &str = "sms_inbox";

/// An inbound SMS as the inbox keeps it until its reply is queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Received {
    /// The outbox id its reply will have: from the provider's id of the SMS, so that a
    /// callback delivered twice is answered once.
    reply_id: String,
    from: String,
    text: String,
}

/// Unix time in milliseconds.
pub(crate) fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// The counters of the channel, in the server's metrics.
#[derive(Clone)]
pub(crate) struct SmsMetrics(Arc<Metrics>);

impl SmsMetrics {
    /// A message entered `state` (`queued`, `sent`, `delivered`, `failed`, `given_up`).
    pub(crate) fn entered(&self, state: &str) {
        self.0.sms_messages.get_or_create(&label(state)).inc();
    }

    /// A send attempt ended `outcome` (`accepted`, `retry`, `given_up`).
    pub(crate) fn attempt(&self, outcome: &str) {
        self.0.sms_attempts.get_or_create(&label(outcome)).inc();
    }

    /// An inbound SMS was answered `outcome`.
    pub(crate) fn inbound(&self, outcome: &str) {
        self.0.sms_inbound.get_or_create(&label(outcome)).inc();
    }

    /// An event was read: its kind when an alert was made, else why not.
    pub(crate) fn alert(&self, outcome: &str) {
        self.0.sms_alerts.get_or_create(&label(outcome)).inc();
    }

    /// A delivery report came, and what it did.
    pub(crate) fn report(&self, outcome: &str) {
        self.0.sms_reports.get_or_create(&label(outcome)).inc();
    }
}

fn label(outcome: &str) -> crate::metrics::OutcomeLabel {
    crate::metrics::OutcomeLabel {
        outcome: outcome.to_string(),
    }
}

/// Who gets a person's messages, and in which locale.
#[derive(Clone)]
pub(crate) struct Recipients {
    subscriptions: Subscriptions,
    prefs: sled::Tree,
    hasher: KeyedHasher,
}

impl Recipients {
    fn msisdn_of(&self, person_id: &str) -> Result<Option<String>, SubscriptionError> {
        self.subscriptions.msisdn_of(SERVICE, person_id)
    }

    /// The locale `msisdn` chose in the `cnam` menu (SPEC §2), else the default.
    fn locale_of(&self, msisdn: &str) -> &'static str {
        let caller = CallerKey::new(SERVICE, &self.hasher.hash(msisdn));
        let remembered = durable_locale(&self.prefs, &caller).ok().flatten();
        SmsTexts::locale_for(remembered.as_ref().map(|c| c.locale.as_str()))
    }
}

/// The channel: what the HTTP routes and the tasks share.
pub(crate) struct SmsChannel {
    store: Store,
    recipients: Recipients,
    outbox: Outbox,
    inbox: sled::Tree,
    texts: Arc<SmsTexts>,
    hasher: KeyedHasher,
    /// The only `to` an inbound SMS may name (`[sms] sender`); `None`: any.
    short_code: Option<String>,
    wake: Arc<Notify>,
    metrics: SmsMetrics,
    /// The commands being handled, so that shutdown waits for their replies to be queued.
    handling: TaskTracker,
}

/// The words of a reply, from what a command did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Subscribed,
    Already,
    NotFound,
    SchemeMismatch(&'static str),
    KeyIncluded,
    Stopped,
    NotSubscribed,
    Help,
    Unavailable,
}

impl Answer {
    fn key(self) -> &'static str {
        match self {
            Answer::Subscribed => "reply.subscribed",
            Answer::Already => "reply.already",
            Answer::NotFound => "reply.not_found",
            Answer::SchemeMismatch(_) => "reply.scheme_mismatch",
            Answer::KeyIncluded => "reply.key_included",
            Answer::Stopped => "reply.stopped",
            Answer::NotSubscribed => "reply.not_subscribed",
            Answer::Help => "reply.help",
            Answer::Unavailable => "reply.unavailable",
        }
    }
}

impl SmsChannel {
    /// The channel over the node's store, with the words of `config`'s menus directory;
    /// `None` when that directory has no SMS words (`sms.<locale>.toml`).
    pub(crate) fn open(
        config: &Config,
        store: &Store,
        writer: Arc<Writer>,
        subscriptions: Subscriptions,
        hasher: KeyedHasher,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Option<SmsChannel>> {
        let Some(texts) = SmsTexts::load(&config.menus.dir)? else {
            return Ok(None);
        };
        Ok(Some(SmsChannel {
            store: store.clone(),
            recipients: Recipients {
                subscriptions,
                prefs: store.tree("prefs")?,
                hasher: hasher.clone(),
            },
            outbox: Outbox::open(store, writer)?,
            inbox: store.tree(INBOX)?,
            texts: Arc::new(texts),
            hasher,
            short_code: config
                .sms
                .sender
                .as_deref()
                .map(short_code)
                .filter(|s| !s.is_empty()),
            wake: Arc::new(Notify::new()),
            metrics: SmsMetrics(metrics),
            handling: TaskTracker::new(),
        }))
    }

    /// Whether an inbound SMS sent to `to` is ours.
    pub(crate) fn accepts(&self, to: &str) -> bool {
        self.short_code
            .as_deref()
            .is_none_or(|ours| short_code(to) == ours)
    }

    pub(crate) fn metrics(&self) -> &SmsMetrics {
        &self.metrics
    }

    /// Keeps `inbound` in the inbox (durable when it returns), then handles it in a task of
    /// its own: the callback that brought it can be answered now (SPEC §4.1).
    pub(crate) async fn receive(self: &Arc<Self>, inbound: Inbound) -> Result<(), OutboxError> {
        let received = self.keep(inbound).await?;
        self.handle(received);
        Ok(())
    }

    async fn keep(&self, inbound: Inbound) -> Result<Received, OutboxError> {
        let reply_id = match &inbound.id {
            Some(id) => format!("reply/{}", self.hasher.hash(id)),
            None => format!(
                "reply/{}/{}",
                self.hasher.hash(&inbound.from),
                jiff::Timestamp::now().as_nanosecond()
            ),
        };
        let received = Received {
            reply_id,
            from: inbound.from,
            text: inbound.text,
        };
        let (inbox, kept) = (self.inbox.clone(), received.clone());
        let bytes = postcard::to_allocvec(&kept).unwrap_or_default();
        self.outbox
            .writer()
            .run(move || {
                inbox.insert(kept.reply_id.as_bytes(), bytes)?;
                inbox.flush().map(drop)
            })
            .await??;
        Ok(received)
    }

    /// Handles, in tasks, the inbound SMS a crash left unanswered; how many. Called at start.
    pub(crate) fn answer_left_over(self: &Arc<Self>) -> usize {
        let mut count = 0;
        for entry in self.inbox.iter().values() {
            match entry
                .ok()
                .and_then(|v| postcard::from_bytes::<Received>(&v).ok())
            {
                Some(received) => {
                    self.handle(received);
                    count += 1;
                }
                None => tracing::error!("an inbound sms in the inbox cannot be read"),
            }
        }
        count
    }

    /// Handles `received` in a task of its own; shutdown waits for it
    /// ([`SmsChannel::finish_handling`]).
    fn handle(self: &Arc<Self>, received: Received) {
        let channel = self.clone();
        self.handling
            .spawn(async move { channel.answer(received).await });
    }

    /// Waits for `stop`, then for the commands still being handled: their replies are queued
    /// before the store is closed. Run by the supervisor.
    pub(crate) async fn finish_handling(self: Arc<Self>, stop: CancellationToken) {
        stop.cancelled().await;
        self.handling.close();
        self.handling.wait().await;
    }

    /// Handles a command and queues its reply, taking the SMS out of the inbox in the same
    /// writer job. A callback delivered twice (same provider id) gets one reply: both have the
    /// same reply id.
    async fn answer(&self, received: Received) {
        let answer = self.act(&received.from, &received.text).await;
        let outcome = answer.key().trim_start_matches("reply.");
        self.metrics.inbound(outcome);
        tracing::info!(phone = %self.hasher.tag(&received.from), %outcome, "sms command answered");
        let locale = self.recipients.locale_of(&received.from);
        let vars = match answer {
            Answer::SchemeMismatch(scheme) => vec![("scheme", scheme.to_string())],
            _ => Vec::new(),
        };
        let text = self.texts.render(locale, answer.key(), &vars);
        let message = Message::new(Kind::Reply, &received.from, text, now_ms());
        let (outbox, inbox) = (self.outbox.clone(), self.inbox.clone());
        let queued = self
            .outbox
            .writer()
            .run(move || -> Result<bool, OutboxError> {
                let new = outbox.put_now(&received.reply_id, &message)?;
                inbox.remove(received.reply_id.as_bytes())?;
                inbox.flush()?;
                Ok(new)
            })
            .await
            .map_err(OutboxError::from)
            .and_then(|queued| queued);
        match queued {
            Ok(true) => {
                self.metrics.entered("queued");
                self.wake.notify_one();
            }
            Ok(false) => tracing::debug!("a callback delivered again: its reply is queued already"),
            Err(error) => tracing::error!(%error, "a reply could not be queued"),
        }
    }

    async fn act(&self, from: &str, text: &str) -> Answer {
        let done = match command::parse(text) {
            Command::Help => Ok(Answer::Help),
            Command::KeyIncluded => Ok(Answer::KeyIncluded),
            Command::Stop => self.stop(from).await,
            Command::Subscribe {
                scheme,
                matricule,
                cin,
            } => {
                let person = match self.store.person_by_pair(SERVICE, &matricule, &cin) {
                    Ok(person) => person,
                    Err(error) => {
                        tracing::error!(%error, "the store cannot be read for an sms command");
                        return Answer::Unavailable;
                    }
                };
                match person {
                    None => Ok(Answer::NotFound),
                    Some(p) => match p.scheme.as_deref() {
                        Some(theirs) if theirs != scheme.as_str() => {
                            Ok(Answer::SchemeMismatch(other_scheme(scheme)))
                        }
                        _ => self.subscribe(&p.person_id, from).await,
                    },
                }
            }
        };
        done.unwrap_or_else(|error| {
            tracing::error!(%error, "a subscription could not be changed");
            Answer::Unavailable
        })
    }

    async fn subscribe(&self, person_id: &str, msisdn: &str) -> Result<Answer, SubscriptionError> {
        let subscriptions = &self.recipients.subscriptions;
        Ok(
            match subscriptions.subscribe(SERVICE, person_id, msisdn).await? {
                Subscribed::New | Subscribed::Moved => Answer::Subscribed,
                Subscribed::Already => Answer::Already,
            },
        )
    }

    async fn stop(&self, msisdn: &str) -> Result<Answer, SubscriptionError> {
        let subscriptions = &self.recipients.subscriptions;
        Ok(
            match subscriptions.unsubscribe_msisdn(SERVICE, msisdn).await? {
                0 => Answer::NotSubscribed,
                _ => Answer::Stopped,
            },
        )
    }

    /// Applies a delivery report; whether a message had that provider id.
    pub(crate) async fn delivery(&self, report: DeliveryReport) -> Result<bool, OutboxError> {
        let (delivery, outcome) = match report.outcome {
            DeliveryOutcome::Delivered => (Delivery::Delivered, "delivered"),
            DeliveryOutcome::Failed(why) => (Delivery::Failed { why }, "failed"),
            DeliveryOutcome::Pending => (Delivery::Noted, "pending"),
            DeliveryOutcome::Unknown => (Delivery::Noted, "unknown"),
        };
        let moved = self
            .outbox
            .report(report.provider_id, delivery, report.status)
            .await?;
        let Some((id, before, after)) = moved else {
            self.metrics.report("no_such_message");
            return Ok(false);
        };
        self.metrics.report(outcome);
        if before != after {
            self.metrics.entered(after.as_str());
            tracing::info!(message = %id, state = after.as_str(), "sms delivery report");
        }
        Ok(true)
    }

    /// The alert task over this channel's outbox.
    pub(crate) fn alerts(&self, meta: sled::Tree) -> alerts::Alerts {
        alerts::Alerts {
            store: self.store.clone(),
            recipients: self.recipients.clone(),
            outbox: self.outbox.clone(),
            texts: self.texts.clone(),
            meta,
            wake: self.wake.clone(),
            metrics: self.metrics.clone(),
        }
    }

    /// The sender task of `config`'s provider, or `None` when none is configured.
    pub(crate) fn sender(&self, config: &Config) -> Option<sender::Sender> {
        Some(sender::Sender {
            outbox: self.outbox.clone(),
            provider: sender::Provider::from_config(&config.sms)?,
            backoff: sender::Backoff::from_config(&config.sms),
            wake: self.wake.clone(),
            metrics: self.metrics.clone(),
        })
    }

    /// How many messages wait to be sent.
    pub(crate) fn pending(&self) -> usize {
        self.outbox.pending_count()
    }

    /// The outbox as the admin API shows it: each message's state, never its text; the phone
    /// as its keyed hash.
    pub(crate) fn outbox_view(&self, limit: usize) -> Result<Vec<MessageView>, OutboxError> {
        Ok(self
            .outbox
            .list(limit)?
            .into_iter()
            .map(|(id, m)| MessageView {
                id,
                kind: m.kind,
                to: self.hasher.hash(&m.to),
                state: m.state.as_str(),
                attempts: m.attempts,
                provider_id: m.provider_id,
                why: m.why,
                last_report: m.last_report,
            })
            .collect())
    }
}

/// A message as `GET /admin/sms` lists it.
#[derive(Debug, Serialize)]
pub(crate) struct MessageView {
    id: String,
    kind: Kind,
    /// The recipient's keyed hash (as the audit trail keeps callers).
    to: String,
    state: &'static str,
    attempts: u32,
    provider_id: Option<String>,
    why: Option<String>,
    last_report: Option<String>,
}

/// The scheme a record holds when it is not the one the command named.
fn other_scheme(named: command::Scheme) -> &'static str {
    match named {
        command::Scheme::Cnss => command::Scheme::Cnrps.as_str(),
        command::Scheme::Cnrps => command::Scheme::Cnss.as_str(),
    }
}

/// A short code or number as compared: without `+` and spaces.
fn short_code(raw: &str) -> String {
    raw.chars().filter(|c| !matches!(c, '+' | ' ')).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(store: &Store, writer: Arc<Writer>) -> Arc<SmsChannel> {
        let mut config = Config::default();
        config.menus.dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("menus");
        let subscriptions = Subscriptions::open(store, writer.clone()).expect("subscriptions");
        let metrics = Arc::new(Metrics::new());
        let hasher = KeyedHasher::new([5; 32]);
        let opened = SmsChannel::open(&config, store, writer, subscriptions, hasher, metrics);
        Arc::new(opened.expect("opens").expect("the shipped words"))
    }

    #[tokio::test]
    async fn an_sms_kept_but_not_answered_before_a_stop_is_answered_once_after_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let inbound = Inbound {
            from: "21620000001".into(),
            to: "85666".into(),
            text: "STOP".into(),
            id: Some("ATXid_in".into()),
        };
        {
            let store = Store::open(dir.path(), 1 << 20).expect("store");
            let sms = channel(&store, Arc::new(Writer::start().expect("writer")));
            // Kept and acknowledged; the process ends before the command is handled.
            sms.keep(inbound.clone()).await.expect("kept");
            assert!(sms.outbox.list(10).expect("list").is_empty());
        }
        let store = Store::open(dir.path(), 1 << 20).expect("store again");
        let sms = channel(&store, Arc::new(Writer::start().expect("writer")));
        assert_eq!(sms.answer_left_over(), 1);
        // The same callback delivered again meanwhile: still one reply.
        sms.receive(inbound).await.expect("received");
        let stop = CancellationToken::new();
        stop.cancel();
        sms.clone().finish_handling(stop).await;
        let replies = sms.outbox.list(10).expect("list");
        assert_eq!(replies.len(), 1, "{replies:?}");
        assert_eq!(replies[0].1.to, "21620000001");
        assert_eq!(sms.inbox.len(), 0);
        assert_eq!(sms.answer_left_over(), 0);
    }
    use crate::session_store::memory::MemoryStore;
    use crate::session_store::{
        CallerWrite, LocaleChoice, SessionKey, SessionStore, SessionWrite, Write,
    };
    use std::time::Duration;

    #[tokio::test]
    async fn a_phone_gets_its_sms_in_the_locale_it_chose_in_the_cnam_menu_else_arabic() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path(), 1 << 20).expect("store");
        let writer = Arc::new(Writer::start().expect("writer"));
        let hasher = KeyedHasher::new([3; 32]);
        let prefs = store.tree("prefs").expect("prefs");
        let sessions = MemoryStore::with_durable_locales(10, prefs.clone(), writer.clone());
        let chose = |msisdn: &str, service: &str, locale: &str| Write {
            key: SessionKey::new("africastalking", msisdn),
            session: SessionWrite::Remove { expected: None },
            caller: Some((
                CallerKey::new(service, &hasher.hash(msisdn)),
                CallerWrite {
                    locale: Some((
                        LocaleChoice {
                            locale: locale.into(),
                            chosen_by: SessionKey::new("africastalking", msisdn),
                            started_in: "ar".into(),
                        },
                        Duration::from_secs(3_600),
                    )),
                    ..CallerWrite::default()
                },
            )),
        };
        sessions
            .save(chose("21620000001", SERVICE, "fr"))
            .await
            .expect("saved");
        // A choice made in another service is not this one's.
        sessions
            .save(chose("21620000002", "tamin", "fr"))
            .await
            .expect("saved");
        let recipients = Recipients {
            subscriptions: Subscriptions::open(&store, writer).expect("subscriptions"),
            prefs,
            hasher: hasher.clone(),
        };
        assert_eq!(recipients.locale_of("21620000001"), "fr");
        assert_eq!(recipients.locale_of("21620000002"), "ar");
        assert_eq!(recipients.locale_of("21620000003"), "ar");
    }
}
