//! Whether this node should be given callers, and if not, why: what `/readyz` answers.
//!
//! Readiness is a set of named conditions, each held by the part of the house that knows it
//! (the feed follower holds "not yet applied" and "failing"; the supervisor in `tasks` holds
//! "task died") and cleared by the same part when it no longer holds. The node is ready when
//! no condition is held. Liveness is another question (`/healthz`): a node that is not ready
//! still answers the callers that reach it.
//!
//! What it must never do: put an identifier, an MSISDN or an error's text in a reason. A reason
//! is read by anyone who can reach `/readyz`; it says what is wrong, and the logs say the rest.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

/// A reason for a node not to be given callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Unready {
    /// The feed has not yet been applied once since start (SPEC §5: applied before ready).
    FeedNotApplied,
    /// The last poll of the feed failed: the records may be going stale.
    FeedFailing,
    /// A supervised task whose failure leaves the node unready has ended.
    TaskDied(&'static str),
    /// The shared session store (Redis) does not answer: every step would get a polite END.
    SessionStoreDown,
    /// This node's digit is not confirmed as its own in Redis (`cluster::claim`): another
    /// node may give the same tracking codes.
    NodeUnclaimed(u8),
}

/// The conditions held now, each with the time it began.
#[derive(Debug, Default)]
pub(crate) struct Readiness {
    held: Mutex<BTreeMap<Unready, jiff::Timestamp>>,
}

impl Readiness {
    /// Ready: no condition held.
    pub(crate) fn new() -> Readiness {
        Readiness::default()
    }

    /// Holds `condition` from now on; a condition already held keeps its first time. True when
    /// it was not held before.
    pub(crate) fn hold(&self, condition: Unready) -> bool {
        let now = jiff::Timestamp::now();
        // Whole seconds: a reason is read by people.
        self.hold_at(
            condition,
            jiff::Timestamp::from_second(now.as_second()).unwrap_or(now),
        )
    }

    fn hold_at(&self, condition: Unready, since: jiff::Timestamp) -> bool {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        let new = !held.contains_key(&condition);
        held.entry(condition).or_insert(since);
        new
    }

    /// Stops holding `condition`. True when it was held.
    pub(crate) fn clear(&self, condition: Unready) -> bool {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        held.remove(&condition).is_some()
    }

    #[cfg(test)]
    pub(crate) fn is_held(&self, condition: Unready) -> bool {
        let held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        held.contains_key(&condition)
    }

    /// The reasons held, one line each, in a stable order; empty when ready.
    pub(crate) fn reasons(&self) -> Vec<String> {
        let held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        held.iter()
            .map(|(condition, since)| match condition {
                Unready::FeedNotApplied => "applying the feed".to_string(),
                Unready::FeedFailing => format!("the feed is failing since {since}"),
                Unready::TaskDied(task) => format!("the task `{task}` died at {since}"),
                Unready::SessionStoreDown => {
                    format!("the session store is unreachable since {since}")
                }
                Unready::NodeUnclaimed(node) => {
                    format!("node id {node} is not confirmed as this node's since {since}")
                }
            })
            .collect()
    }
}

/// The reason a replica is not to be given callers because its records are stale: the
/// followed feed was last read to its end `caught_up_secs_ago` seconds ago, more than
/// `max_lag_s` (`[feed] max_lag_s`). Measured when `/readyz` is asked, not by a timer, so a
/// follower stuck in a slow page or in a run of full pages is seen at once. `None`: fresh
/// enough, no limit set, or the feed not yet applied once (that is `FeedNotApplied`'s to say).
pub(crate) fn feed_lag_reason(
    caught_up_secs_ago: Option<u64>,
    max_lag_s: Option<u64>,
) -> Option<String> {
    let (lag, max) = (caught_up_secs_ago?, max_lag_s?);
    (lag > max).then(|| {
        format!("the feed was last read to its end {lag} s ago, over [feed] max_lag_s = {max}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replica_lagging_past_the_limit_says_so() {
        assert_eq!(feed_lag_reason(Some(30), Some(30)), None, "at the limit");
        assert_eq!(
            feed_lag_reason(Some(31), Some(30)).as_deref(),
            Some("the feed was last read to its end 31 s ago, over [feed] max_lag_s = 30")
        );
        assert_eq!(feed_lag_reason(Some(10_000), None), None, "no limit");
        assert_eq!(feed_lag_reason(None, Some(30)), None, "not yet applied");
    }

    #[test]
    fn ready_only_when_nothing_is_held() {
        let readiness = Readiness::new();
        assert!(readiness.reasons().is_empty());
        assert!(readiness.hold(Unready::FeedNotApplied));
        assert!(!readiness.hold(Unready::FeedNotApplied), "held once");
        assert!(readiness.hold(Unready::TaskDied("audit-purge")));
        assert!(readiness.hold(Unready::FeedFailing));
        let reasons = readiness.reasons();
        assert_eq!(reasons.len(), 3, "{reasons:?}");
        assert_eq!(reasons[0], "applying the feed");
        assert!(
            reasons[1].starts_with("the feed is failing since 20") && reasons[1].ends_with('Z'),
            "{reasons:?}"
        );
        assert!(
            reasons[2].starts_with("the task `audit-purge` died at 20"),
            "{reasons:?}"
        );
        assert!(readiness.clear(Unready::FeedNotApplied));
        assert!(!readiness.clear(Unready::FeedNotApplied), "cleared once");
        assert!(readiness.clear(Unready::FeedFailing));
        assert!(readiness.clear(Unready::TaskDied("audit-purge")));
        assert!(readiness.reasons().is_empty());
    }

    #[test]
    fn a_session_store_that_does_not_answer_is_a_reason_of_its_own() {
        let readiness = Readiness::new();
        assert!(readiness.hold_at(Unready::SessionStoreDown, jiff::Timestamp::UNIX_EPOCH));
        assert_eq!(
            readiness.reasons(),
            ["the session store is unreachable since 1970-01-01T00:00:00Z"]
        );
        assert!(readiness.clear(Unready::SessionStoreDown));
        assert!(readiness.reasons().is_empty());
    }

    #[test]
    fn a_condition_held_again_keeps_its_first_time() {
        let readiness = Readiness::new();
        let at = |s: i64| jiff::Timestamp::from_second(s).expect("a time");
        assert!(readiness.hold_at(Unready::FeedFailing, at(1_780_000_000)));
        assert!(!readiness.hold_at(Unready::FeedFailing, at(1_780_000_060)));
        assert_eq!(
            readiness.reasons(),
            ["the feed is failing since 2026-05-28T20:26:40Z"]
        );
    }
}
