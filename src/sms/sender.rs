//! The sender: one supervised task that takes the outbox's due messages one at a time and posts
//! each to the provider, then records what came of it (SPEC §4.1).
//!
//! One at a time, and the outcome flushed before the next: so a crash can leave at most one
//! message whose acceptance was not recorded, and that one is sent again after the restart.
//! A send that failed for a while (5xx, 429, the network) is tried again after
//! `retry_base_ms · 2^(attempts−1)`, at most `retry_max_ms`, and given up after `max_attempts`;
//! a permanent refusal (a bad key, an invalid number, a blacklisted user, no recipient) is
//! given up at once with the provider's reason.
//!
//! The HTTP client is `ureq` 3 (already in the tree, blocking, small): each post runs on the
//! blocking pool, never on a tokio worker; rustls gives it HTTPS with the bundled web roots.

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::africastalking::{read_answer, send_form, Sent, SEND_PATH};
use super::outbox::{Attempt, Due, Message, Outbox};
use super::SmsMetrics;
use crate::config::SmsConfig;

/// The longest the sender sleeps without looking at the outbox (a wake-up is also sent by
/// every enqueue): a bound, so that a missed wake-up costs seconds, not a message.
const IDLE: Duration = Duration::from_secs(5);
/// The pause after the outbox could not be read.
const AFTER_ERROR: Duration = Duration::from_secs(1);
/// The most of an answer read.
const ANSWER_LIMIT: u64 = 64 * 1024;

/// The provider's send API, as configured.
#[derive(Clone)]
pub(crate) struct Provider {
    agent: ureq::Agent,
    url: String,
    username: String,
    api_key: String,
    from: Option<String>,
}

impl Provider {
    /// The provider of `[sms]`, or `None` when no provider is configured (nothing is sent).
    pub(crate) fn from_config(config: &SmsConfig) -> Option<Provider> {
        config.provider.as_ref()?;
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_millis(config.timeout_ms)))
            .build()
            .into();
        Some(Provider {
            agent,
            url: format!(
                "{}{SEND_PATH}",
                config.base_url.as_deref()?.trim_end_matches('/')
            ),
            username: config.username.clone()?,
            api_key: config.api_key.clone()?,
            from: config.sender.clone().filter(|s| !s.is_empty()),
        })
    }

    /// Posts one message (blocking) and reads the answer.
    fn post(&self, to: &str, text: &str) -> Sent {
        let form = send_form(&self.username, to, text, self.from.as_deref());
        let response = self
            .agent
            .post(&self.url)
            .header("apiKey", &self.api_key)
            .header("Accept", "application/json")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send(form);
        match response {
            Ok(mut response) => {
                let status = response.status().as_u16();
                let body = response
                    .body_mut()
                    .with_config()
                    .limit(ANSWER_LIMIT)
                    .read_to_string()
                    .unwrap_or_default();
                read_answer(status, &body)
            }
            Err(error) => Sent::Transient(format!("no answer: {error}")),
        }
    }
}

/// How long to wait before the next attempt.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Backoff {
    pub(crate) base_ms: u64,
    pub(crate) max_ms: u64,
    pub(crate) max_attempts: u32,
}

impl Backoff {
    pub(crate) fn from_config(config: &SmsConfig) -> Backoff {
        Backoff {
            base_ms: config.retry_base_ms,
            max_ms: config.retry_max_ms,
            max_attempts: config.max_attempts,
        }
    }

    /// The wait after the `attempts`-th attempt failed for a while.
    fn delay_ms(&self, attempts: u32) -> u64 {
        let doublings = attempts.saturating_sub(1).min(40);
        self.base_ms
            .saturating_mul(1u64 << doublings)
            .min(self.max_ms)
    }

    /// What an attempt's outcome does to the message.
    pub(crate) fn decide(&self, sent: Sent, attempts: u32, now_ms: i64) -> Attempt {
        match sent {
            Sent::Accepted { provider_id } => Attempt::Accepted { provider_id },
            Sent::Permanent(why) => Attempt::GiveUp { why },
            Sent::Transient(why) if attempts >= self.max_attempts => Attempt::GiveUp {
                why: format!("{why} (given up after {attempts} attempts)"),
            },
            Sent::Transient(why) => Attempt::Retry {
                why,
                at_ms: now_ms.saturating_add(self.delay_ms(attempts) as i64),
            },
        }
    }
}

/// The sender task's parts.
pub(crate) struct Sender {
    pub(crate) outbox: Outbox,
    pub(crate) provider: Provider,
    pub(crate) backoff: Backoff,
    pub(crate) wake: Arc<Notify>,
    pub(crate) metrics: SmsMetrics,
}

impl Sender {
    /// Sends what is due until `stop`; a post in flight when `stop` comes is left `sending`
    /// (it is sent again at the next start).
    pub(crate) async fn run(self, stop: CancellationToken) {
        while !stop.is_cancelled() {
            let wait = match self.outbox.claim_due(super::now_ms()).await {
                Ok(Due::Now { id, message }) => {
                    self.send(id, message, &stop).await;
                    continue;
                }
                Ok(Due::At(at)) => {
                    let ms = u64::try_from(at.saturating_sub(super::now_ms())).unwrap_or(0);
                    Duration::from_millis(ms).min(IDLE)
                }
                Ok(Due::Nothing) => IDLE,
                Err(error) => {
                    tracing::error!(%error, "the outbox cannot be read; trying again");
                    AFTER_ERROR
                }
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {},
                () = self.wake.notified() => {},
                () = stop.cancelled() => return,
            }
        }
    }

    async fn send(&self, id: String, message: Message, stop: &CancellationToken) {
        let provider = self.provider.clone();
        let (to, text) = (message.to.clone(), message.text.clone());
        let posting = tokio::task::spawn_blocking(move || provider.post(&to, &text));
        let sent = tokio::select! {
            posted = posting => posted,
            () = stop.cancelled() => return,
        };
        let sent = match sent {
            Ok(sent) => sent,
            Err(ended) if ended.is_panic() => std::panic::resume_unwind(ended.into_panic()),
            Err(_) => return,
        };
        let attempt = self.backoff.decide(sent, message.attempts, super::now_ms());
        let outcome = match &attempt {
            Attempt::Accepted { .. } => "accepted",
            Attempt::Retry { .. } => "retry",
            Attempt::GiveUp { .. } => "given_up",
        };
        self.metrics.attempt(outcome);
        match &attempt {
            Attempt::Accepted { .. } => {
                tracing::info!(message = %id, attempts = message.attempts, "sms sent");
                self.metrics.entered("sent");
            }
            // The provider's words may quote the number: masked as a feed reject is.
            Attempt::Retry { why, .. } => {
                let why = crate::sync::redact(why);
                tracing::warn!(message = %id, attempts = message.attempts, %why, "sms not sent; will retry");
            }
            Attempt::GiveUp { why } => {
                let why = crate::sync::redact(why);
                tracing::warn!(message = %id, attempts = message.attempts, %why, "sms given up");
                self.metrics.entered("given_up");
            }
        }
        if let Err(error) = self.outbox.record(id, attempt).await {
            tracing::error!(%error, "the outcome of a send could not be recorded");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_the_cap_then_give_up() {
        let backoff = Backoff {
            base_ms: 1_000,
            max_ms: 5_000,
            max_attempts: 4,
        };
        let retry = |attempts| backoff.decide(Sent::Transient("HTTP 500".into()), attempts, 0);
        let at = |attempt| match attempt {
            Attempt::Retry { at_ms, .. } => at_ms,
            other => panic!("{other:?}"),
        };
        assert_eq!(at(retry(1)), 1_000);
        assert_eq!(at(retry(2)), 2_000);
        assert_eq!(at(retry(3)), 4_000);
        assert!(matches!(retry(4), Attempt::GiveUp { .. }));
        let capped = Backoff {
            max_attempts: 100,
            ..backoff
        };
        assert_eq!(
            capped.decide(Sent::Transient("x".into()), 60, 10),
            Attempt::Retry {
                why: "x".into(),
                at_ms: 5_010
            }
        );
        assert!(matches!(
            backoff.decide(Sent::Permanent("HTTP 401".into()), 1, 0),
            Attempt::GiveUp { .. }
        ));
    }
}
