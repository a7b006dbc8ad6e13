//! The memory store's expiry queue: the keys of its entries ordered by deadline, so that a
//! sweep takes only what is due (a pop per expired entry) instead of walking the whole table.
//!
//! A `BinaryHeap` under a mutex rather than `tokio_util`'s `DelayQueue` or a timer wheel: a
//! sweep is asked "what is due at `now`" for any `now` (tests sweep at a later instant without
//! waiting), which a heap answers and a queue driven by tokio's timer does not; a push or a
//! pop is O(log n) on a few words per entry, and nothing else in the store needs a timer.
//! The queue may hold a key more than once or a key whose entry went: the store checks each
//! popped key against the entry it holds (see `memory.rs`).

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::Mutex;
use tokio::time::Instant;

/// Keys by deadline, earliest first.
pub(super) struct ExpiryQueue<K>(Mutex<BinaryHeap<Reverse<Due<K>>>>);

/// A key and the deadline it was queued for; ordered by the deadline alone.
struct Due<K> {
    at: Instant,
    key: K,
}

impl<K> PartialEq for Due<K> {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at
    }
}

impl<K> Eq for Due<K> {}

impl<K> PartialOrd for Due<K> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<K> Ord for Due<K> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.at.cmp(&other.at)
    }
}

impl<K> Default for ExpiryQueue<K> {
    fn default() -> Self {
        ExpiryQueue(Mutex::new(BinaryHeap::new()))
    }
}

impl<K> ExpiryQueue<K> {
    fn heap(&self) -> std::sync::MutexGuard<'_, BinaryHeap<Reverse<Due<K>>>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues `key` for `at`.
    pub(super) fn push(&self, at: Instant, key: K) {
        self.heap().push(Reverse(Due { at, key }));
    }

    /// The earliest key due at `now` (its deadline not after `now`), taken off the queue.
    pub(super) fn pop_due(&self, now: Instant) -> Option<(Instant, K)> {
        let mut heap = self.heap();
        if heap.peek().is_some_and(|Reverse(due)| due.at <= now) {
            heap.pop().map(|Reverse(due)| (due.at, due.key))
        } else {
            None
        }
    }

    /// How many keys are queued (duplicates and stale ones included).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.heap().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn keys_come_out_by_deadline_and_only_when_due() {
        let queue = ExpiryQueue::default();
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        queue.push(at(30), "c");
        queue.push(at(10), "a");
        queue.push(at(20), "b");
        queue.push(at(10), "a again");
        assert_eq!(queue.pop_due(at(5)), None, "nothing due yet");
        let mut due = Vec::new();
        while let Some((when, key)) = queue.pop_due(at(20)) {
            due.push((when, key));
        }
        assert_eq!(due.len(), 3);
        assert!(due.windows(2).all(|w| w[0].0 <= w[1].0), "{due:?}");
        assert_eq!(due[2], (at(20), "b"));
        assert_eq!(queue.len(), 1, "c is not due");
        assert_eq!(queue.pop_due(at(30)), Some((at(30), "c")));
        assert_eq!(queue.pop_due(at(1000)), None, "empty");
    }
}
