//! The outbox: every SMS daftar sends, written before it is sent and kept after, with its state
//! (SPEC §4.1). Replies to commands and alerts both go through it; the sender (`sender`) takes
//! the due messages one at a time.
//!
//! | tree               | key                    | value                   |
//! |--------------------|------------------------|-------------------------|
//! | `sms_outbox`       | message id (UTF-8)     | postcard([`Message`])   |
//! | `sms_pending`      | next attempt (ms, BE) · created (ms, BE) · message id | empty |
//! | `sms_provider_ids` | the provider's id      | message id              |
//!
//! A message's id is its identity: an alert's is derived from its feed `seq`, a reply's from
//! the provider's id of the SMS it answers, and a message is inserted only when its id is
//! absent, so an event applied twice or a callback delivered twice queues one SMS.
//!
//! `sms_pending` holds the messages not yet settled, ordered by when they are due then how old
//! they are, so the sender's next message is the first key, however many wait (an outage of
//! the provider piles them up). A key whose times no longer match its message (a crash between
//! the two writes of a move) is mended when the sender meets it.
//!
//! The life of a message: `queued` → `sending` (claimed, attempts + 1) → `sent` (the provider
//! accepted it and gave its id) → `delivered` or `failed` (delivery reports); or back to
//! `queued` with a later attempt (5xx, 429, network), or `given_up` (a permanent refusal, or
//! too many attempts). Every change runs on the writer thread, one at a time, so the sender,
//! the replies, the alerts and the delivery reports never race; the ones that matter for "at
//! most one resent, none lost" are flushed before they return. A crash between the provider's
//! acceptance and the flush of `sent` leaves the message `sending`, and it is sent again: that
//! is the one message a crash can resend.
//!
//! What it must never do: log an MSISDN or a text (the outbox keeps the MSISDN in clear because
//! an SMS must be sent to it; the logs name a message by its id).

use serde::{Deserialize, Serialize};
use std::sync::Arc;

use crate::store::{Store, StoreError};
use crate::writer::{WriteError, Writer};

const OUTBOX: &str = "sms_outbox";
const PENDING: &str = "sms_pending";
const PROVIDER_IDS: &str = "sms_provider_ids";

/// Why the outbox could not be read or written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OutboxError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("outbox: {0}")]
    Sled(#[from] sled::Error),
    #[error("outbox: {0}")]
    Writer(#[from] WriteError),
    #[error("outbox: message {0} cannot be decoded")]
    Corrupt(String),
}

/// Where a message is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum State {
    Queued,
    Sending,
    Sent,
    Delivered,
    Failed,
    GivenUp,
}

impl State {
    /// The state's name, as metrics and the admin API show it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            State::Queued => "queued",
            State::Sending => "sending",
            State::Sent => "sent",
            State::Delivered => "delivered",
            State::Failed => "failed",
            State::GivenUp => "given_up",
        }
    }

    /// Whether the sender is done with it (delivery reports may still move it).
    fn is_settled(self) -> bool {
        !matches!(self, State::Queued | State::Sending)
    }
}

/// Why a message was written: a reply to a command, or an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Kind {
    Reply,
    Alert,
}

/// One SMS and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Message {
    pub(crate) kind: Kind,
    /// The recipient, international digits without `+`.
    pub(crate) to: String,
    pub(crate) text: String,
    pub(crate) state: State,
    /// Send attempts made so far.
    pub(crate) attempts: u32,
    /// Unix milliseconds: when it was written, and when it may next be tried.
    pub(crate) created_ms: i64,
    pub(crate) next_attempt_ms: i64,
    /// The provider's id once it accepted the message.
    pub(crate) provider_id: Option<String>,
    /// Why the last attempt failed, or why it was given up or failed.
    pub(crate) why: Option<String>,
    /// The provider's last delivery status word (`Success`, `Buffered`, ...).
    pub(crate) last_report: Option<String>,
}

impl Message {
    /// A message to send now.
    pub(crate) fn new(kind: Kind, to: &str, text: String, now_ms: i64) -> Message {
        Message {
            kind,
            to: to.to_string(),
            text,
            state: State::Queued,
            attempts: 0,
            created_ms: now_ms,
            next_attempt_ms: now_ms,
            provider_id: None,
            why: None,
            last_report: None,
        }
    }
}

/// What a send attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// The provider took it, under its id.
    Accepted { provider_id: String },
    /// Try again at `at_ms`.
    Retry { why: String, at_ms: i64 },
    /// Never again.
    GiveUp { why: String },
}

/// What a delivery report says of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Delivery {
    Delivered,
    Failed {
        why: String,
    },
    /// On its way (`Sent`, `Submitted`, `Buffered`) or a word we do not know: noted only.
    Noted,
}

/// The next message due, or when the next one will be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Due {
    Now { id: String, message: Message },
    At(i64),
    Nothing,
}

/// The outbox over the node's store; clones share it.
#[derive(Clone)]
pub(crate) struct Outbox {
    outbox: sled::Tree,
    pending: sled::Tree,
    provider_ids: sled::Tree,
    writer: Arc<Writer>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox").finish_non_exhaustive()
    }
}

impl Outbox {
    pub(crate) fn open(store: &Store, writer: Arc<Writer>) -> Result<Outbox, OutboxError> {
        Ok(Outbox {
            outbox: store.tree(OUTBOX)?,
            pending: store.tree(PENDING)?,
            provider_ids: store.tree(PROVIDER_IDS)?,
            writer,
        })
    }

    /// The writer thread every change runs on (the alerts add their own watermark to a job).
    pub(crate) fn writer(&self) -> &Arc<Writer> {
        &self.writer
    }

    /// [`Outbox::put_now`] in a job of its own, flushed: durable when it returns.
    #[cfg(test)]
    pub(crate) async fn enqueue(&self, id: String, message: Message) -> Result<bool, OutboxError> {
        let this = self.clone();
        self.writer
            .run(move || {
                let new = this.put_now(&id, &message)?;
                this.outbox.flush()?;
                Ok(new)
            })
            .await?
    }

    /// Queues `message` under `id` unless a message of that id exists; whether it was new.
    /// Runs in a job on the writer thread, which flushes it with its other writes (the reply
    /// with the removal from the inbox, the alerts with their mark). The message first, then
    /// its pending entry: a crash between the two leaves a message that the next put of the
    /// same id (an event read again) puts back in line.
    pub(crate) fn put_now(&self, id: &str, message: &Message) -> Result<bool, OutboxError> {
        let value = encode(message);
        let swapped =
            self.outbox
                .compare_and_swap(id.as_bytes(), None as Option<&[u8]>, Some(value))?;
        let (new, in_line) = match swapped {
            Ok(()) => (true, message.clone()),
            Err(held) => match held.current.map(|v| decode(id, &v)).transpose()? {
                Some(held) if !held.state.is_settled() => (false, held),
                _ => return Ok(false),
            },
        };
        self.pending.insert(pending_key(id, &in_line), &[])?;
        Ok(new)
    }

    /// Claims the message due first at `now_ms` (oldest attempt time, then oldest message):
    /// marks it `sending` and counts the attempt. A message left `sending` by a crash is due
    /// like a queued one. Pending entries of settled messages are dropped on the way.
    pub(crate) async fn claim_due(&self, now_ms: i64) -> Result<Due, OutboxError> {
        let this = self.clone();
        self.writer.run(move || this.claim_now(now_ms)).await?
    }

    fn claim_now(&self, now_ms: i64) -> Result<Due, OutboxError> {
        while let Some((key, _)) = self.pending.first()? {
            let id =
                String::from_utf8_lossy(key.get(PENDING_TIMES..).unwrap_or_default()).into_owned();
            let message = self.get(&id)?.filter(|m| !m.state.is_settled());
            let Some(mut message) = message else {
                self.pending.remove(&key)?;
                continue;
            };
            let due = pending_key(&id, &message);
            if key != due.as_slice() {
                self.pending.insert(due, &[])?;
                self.pending.remove(&key)?;
                continue;
            }
            if message.next_attempt_ms > now_ms {
                return Ok(Due::At(message.next_attempt_ms));
            }
            // It keeps its place in line: a crash now leaves it first, due, `sending`.
            message.state = State::Sending;
            message.attempts += 1;
            self.outbox.insert(id.as_bytes(), encode(&message))?;
            return Ok(Due::Now { id, message });
        }
        Ok(Due::Nothing)
    }

    /// Records what an attempt on `id` came to; durable when it returns (so that the next
    /// message is sent only once this one is marked). The message as it now is.
    pub(crate) async fn record(
        &self,
        id: String,
        attempt: Attempt,
    ) -> Result<Option<Message>, OutboxError> {
        let this = self.clone();
        self.writer
            .run(move || {
                let recorded = this.record_now(&id, attempt)?;
                this.outbox.flush()?;
                Ok(recorded)
            })
            .await?
    }

    fn record_now(&self, id: &str, attempt: Attempt) -> Result<Option<Message>, OutboxError> {
        let Some(mut message) = self.get(id)? else {
            return Ok(None);
        };
        let was_in_line = pending_key(id, &message);
        match attempt {
            Attempt::Accepted { provider_id } => {
                message.state = State::Sent;
                message.why = None;
                self.provider_ids
                    .insert(provider_id.as_bytes(), id.as_bytes())?;
                message.provider_id = Some(provider_id);
            }
            Attempt::Retry { why, at_ms } => {
                message.state = State::Queued;
                message.why = Some(why);
                message.next_attempt_ms = at_ms;
            }
            Attempt::GiveUp { why } => {
                message.state = State::GivenUp;
                message.why = Some(why);
            }
        }
        // The new place in line before the message, the old one after: a crash between them
        // leaves an entry that `claim_now` mends, never a message out of line.
        if !message.state.is_settled() {
            self.pending.insert(pending_key(id, &message), &[])?;
        }
        self.outbox.insert(id.as_bytes(), encode(&message))?;
        if was_in_line != pending_key(id, &message) || message.state.is_settled() {
            self.pending.remove(was_in_line)?;
        }
        Ok(Some(message))
    }

    /// Applies a delivery report to the message the provider knows as `provider_id`; the
    /// message's id and its state before and after, or `None` when no message has that id. A
    /// delivered message stays delivered whatever report comes late.
    pub(crate) async fn report(
        &self,
        provider_id: String,
        delivery: Delivery,
        status: String,
    ) -> Result<Option<(String, State, State)>, OutboxError> {
        let this = self.clone();
        self.writer
            .run(move || this.report_now(&provider_id, delivery, status))
            .await?
    }

    fn report_now(
        &self,
        provider_id: &str,
        delivery: Delivery,
        status: String,
    ) -> Result<Option<(String, State, State)>, OutboxError> {
        let Some(id) = self.provider_ids.get(provider_id.as_bytes())? else {
            return Ok(None);
        };
        let id = String::from_utf8_lossy(&id).into_owned();
        let Some(mut message) = self.get(&id)? else {
            return Ok(None);
        };
        let before = message.state;
        message.last_report = Some(status);
        match delivery {
            _ if before == State::Delivered => {}
            Delivery::Delivered => message.state = State::Delivered,
            Delivery::Failed { why } => {
                message.state = State::Failed;
                message.why = Some(why);
            }
            Delivery::Noted => {}
        }
        self.outbox.insert(id.as_bytes(), encode(&message))?;
        Ok(Some((id, before, message.state)))
    }

    /// The message of `id`.
    pub(crate) fn get(&self, id: &str) -> Result<Option<Message>, OutboxError> {
        self.outbox
            .get(id.as_bytes())?
            .map(|v| decode(id, &v))
            .transpose()
    }

    /// Every message, in id order, at most `limit` (the admin API, tests).
    pub(crate) fn list(&self, limit: usize) -> Result<Vec<(String, Message)>, OutboxError> {
        let mut out = Vec::new();
        for entry in self.outbox.iter().take(limit) {
            let (key, value) = entry?;
            let id = String::from_utf8_lossy(&key).into_owned();
            let message = decode(&id, &value)?;
            out.push((id, message));
        }
        Ok(out)
    }

    /// How many messages wait to be sent.
    pub(crate) fn pending_count(&self) -> usize {
        self.pending.len()
    }
}

/// The bytes of a pending key before the message id: two big-endian times.
const PENDING_TIMES: usize = 16;

/// A message's place in line: when it is due, then when it was made, then its id.
fn pending_key(id: &str, message: &Message) -> Vec<u8> {
    let time = |ms: i64| u64::try_from(ms).unwrap_or(0).to_be_bytes();
    let mut key = Vec::with_capacity(PENDING_TIMES + id.len());
    key.extend_from_slice(&time(message.next_attempt_ms));
    key.extend_from_slice(&time(message.created_ms));
    key.extend_from_slice(id.as_bytes());
    key
}

fn encode(message: &Message) -> Vec<u8> {
    // A struct of strings and integers always encodes.
    postcard::to_allocvec(message).unwrap_or_default()
}

fn decode(id: &str, bytes: &[u8]) -> Result<Message, OutboxError> {
    postcard::from_bytes(bytes).map_err(|_| OutboxError::Corrupt(id.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open() -> (tempfile::TempDir, Outbox) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path(), 1 << 20).expect("store");
        let outbox =
            Outbox::open(&store, Arc::new(Writer::start().expect("writer"))).expect("outbox");
        (dir, outbox)
    }

    fn msg(text: &str, now: i64) -> Message {
        Message::new(Kind::Alert, "21620000001", text.into(), now)
    }

    /// Records the provider's acceptance of `id` under `provider_id`.
    async fn accept(outbox: &Outbox, id: &str, provider_id: &str) {
        let accepted = Attempt::Accepted {
            provider_id: provider_id.into(),
        };
        outbox.record(id.into(), accepted).await.unwrap();
    }

    #[tokio::test]
    async fn an_id_is_queued_once() {
        let (_dir, outbox) = open();
        assert!(outbox.enqueue("a/1".into(), msg("one", 10)).await.unwrap());
        assert!(!outbox
            .enqueue("a/1".into(), msg("again", 20))
            .await
            .unwrap());
        assert_eq!(outbox.get("a/1").unwrap().unwrap().text, "one");
        assert_eq!(outbox.pending_count(), 1);
    }

    #[tokio::test]
    async fn due_messages_come_oldest_first_and_each_once() {
        let (_dir, outbox) = open();
        outbox.enqueue("b".into(), msg("second", 20)).await.unwrap();
        outbox.enqueue("a".into(), msg("first", 10)).await.unwrap();
        outbox.enqueue("c".into(), msg("later", 500)).await.unwrap();
        let Due::Now { id, message } = outbox.claim_due(100).await.unwrap() else {
            panic!("one is due")
        };
        assert_eq!((id.as_str(), message.attempts), ("a", 1));
        assert_eq!(message.state, State::Sending);
        accept(&outbox, "a", "AT-1").await;
        let Due::Now { id, .. } = outbox.claim_due(100).await.unwrap() else {
            panic!("one is due")
        };
        assert_eq!(id, "b");
        outbox
            .record(
                "b".into(),
                Attempt::Retry {
                    why: "HTTP 500".into(),
                    at_ms: 300,
                },
            )
            .await
            .unwrap();
        assert_eq!(outbox.claim_due(100).await.unwrap(), Due::At(300));
        let Due::Now { id, message } = outbox.claim_due(300).await.unwrap() else {
            panic!("the retry is due")
        };
        assert_eq!((id.as_str(), message.attempts), ("b", 2));
        outbox
            .record(
                "b".into(),
                Attempt::GiveUp {
                    why: "HTTP 401".into(),
                },
            )
            .await
            .unwrap();
        assert_eq!(outbox.claim_due(400).await.unwrap(), Due::At(500));
        let given_up = outbox.get("b").unwrap().unwrap();
        assert_eq!(given_up.state, State::GivenUp);
        assert_eq!(given_up.why.as_deref(), Some("HTTP 401"));
        // A settled message is not queued again by a second put of its id.
        assert!(!outbox.enqueue("a".into(), msg("first", 10)).await.unwrap());
        assert_eq!(outbox.pending_count(), 1);
    }

    #[tokio::test]
    async fn a_place_in_line_left_stale_by_a_crash_is_mended() {
        let (_dir, outbox) = open();
        outbox.enqueue("a".into(), msg("one", 10)).await.unwrap();
        let message = outbox.get("a").unwrap().unwrap();
        // As if a move had written its new key and then crashed: an old one left too early.
        let mut early = message.clone();
        early.next_attempt_ms = 1;
        outbox
            .pending
            .insert(pending_key("a", &early), &[])
            .unwrap();
        outbox
            .pending
            .insert(pending_key("gone", &early), &[])
            .unwrap();
        assert_eq!(outbox.claim_due(5).await.unwrap(), Due::At(10));
        assert_eq!(outbox.pending_count(), 1);
        assert!(matches!(
            outbox.claim_due(10).await.unwrap(),
            Due::Now { .. }
        ));
    }

    #[tokio::test]
    async fn a_message_left_sending_by_a_crash_is_due_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = Store::open(dir.path(), 1 << 20).unwrap();
            let outbox = Outbox::open(&store, Arc::new(Writer::start().unwrap())).unwrap();
            outbox.enqueue("a".into(), msg("one", 10)).await.unwrap();
            assert!(matches!(
                outbox.claim_due(10).await.unwrap(),
                Due::Now { .. }
            ));
            store.flush().unwrap();
        }
        let store = Store::open(dir.path(), 1 << 20).unwrap();
        let outbox = Outbox::open(&store, Arc::new(Writer::start().unwrap())).unwrap();
        let Due::Now { message, .. } = outbox.claim_due(10).await.unwrap() else {
            panic!("due again")
        };
        assert_eq!(message.attempts, 2);
    }

    #[tokio::test]
    async fn delivery_reports_move_a_sent_message_and_never_undo_a_delivery() {
        let (_dir, outbox) = open();
        outbox.enqueue("a".into(), msg("one", 10)).await.unwrap();
        outbox.claim_due(10).await.unwrap();
        accept(&outbox, "a", "AT-1").await;
        let report = |delivery, status: &str| outbox.report("AT-1".into(), delivery, status.into());
        assert_eq!(
            report(Delivery::Noted, "Buffered").await.unwrap(),
            Some(("a".into(), State::Sent, State::Sent))
        );
        assert_eq!(
            report(
                Delivery::Failed {
                    why: "AbsentSubscriber".into()
                },
                "AbsentSubscriber"
            )
            .await
            .unwrap(),
            Some(("a".into(), State::Sent, State::Failed))
        );
        assert_eq!(
            report(Delivery::Delivered, "Success").await.unwrap(),
            Some(("a".into(), State::Failed, State::Delivered))
        );
        assert_eq!(
            report(Delivery::Failed { why: "late".into() }, "Failed")
                .await
                .unwrap(),
            Some(("a".into(), State::Delivered, State::Delivered))
        );
        assert_eq!(
            outbox
                .report("AT-unknown".into(), Delivery::Delivered, "Success".into())
                .await
                .unwrap(),
            None
        );
    }
}
