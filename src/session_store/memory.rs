//! The embedded session store: sessions and resume offers in `DashMap`s on this node, each
//! entry with its own deadline, and remembered locales either beside them or, in `serve`, in
//! the node's sled store (written through the [`Writer`]) so that a choice survives a restart.
//!
//! An entry past its deadline is absent to every read at once; [`MemoryStore::sweep`] only
//! gives its memory back, so a late sweep changes no answer. A sweep takes what is due from an
//! expiry queue ([`ExpiryQueue`]) rather than walking the table: its cost is the entries that
//! expired, not the entries held. Each entry is queued once, for a deadline not after its own
//! (`Entry::queued`); a popped key whose entry lives on is queued again for its new deadline.
//! Where an open session's entry is given back past its deadline (the sweep, or a write that
//! lands on it first), the store tells its [`MemoryStore::on_expired`] hook once: the funnel's
//! idle expiry.
//!
//! Each caller (keyed hash of the MSISDN) may hold a share of the table
//! ([`MemoryStore::with_share`]): a session written beyond it replaces that caller's least
//! recently stepped one. A phone runs one USSD session at a time, so the older ones of the same
//! MSISDN are sessions its aggregator never closed: dropping them keeps a caller who redials
//! served, where refusing the new one would turn them away, and either way one MSISDN cannot
//! fill the table for everyone else. Time is tokio's clock, so tests
//! pause it and expire entries in microseconds.

use dashmap::DashMap;
use prometheus_client::metrics::counter::Counter;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

use super::expiry::ExpiryQueue;
use super::packed::Packed;
use super::{
    CallerKey, CallerWrite, Expired, Held, Loaded, LocaleChoice, Offer, OfferWrite, OnExpired,
    SessionKey, SessionStore, SessionWrite, StoreError, StoreFuture, Version, Write,
};
use crate::session::Session;
use crate::writer::Writer;

/// A value and the moment it stops being there.
struct Entry<T> {
    value: T,
    version: Version,
    expires: Instant,
    /// The deadline the entry's key is queued for: never after `expires`, so the sweep that
    /// pops it either removes the entry or queues it again for `expires`.
    queued: Instant,
}

impl<T> Entry<T> {
    fn live(&self, now: Instant) -> bool {
        now < self.expires
    }
}

/// Sessions, offers and locales of this node; share it behind an `Arc`.
pub struct MemoryStore {
    /// Sessions as their bytes (`Packed`): a narrow slot and one allocation each.
    sessions: DashMap<SessionKey, Entry<Packed>>,
    offers: DashMap<CallerKey, Entry<Offer>>,
    locales: Locales,
    max: usize,
    /// The places of the table taken: reserved before a session is inserted, given back after
    /// one is removed, so that it is never below the sessions held and never above `max`,
    /// however many writes race (a count of the map itself could be passed by each of them).
    taken: AtomicUsize,
    versions: AtomicU64,
    /// The sessions each caller holds, least recently written first (with a share set).
    by_caller: DashMap<String, VecDeque<SessionKey>>,
    /// How many sessions one caller may hold; 0: no share.
    share: usize,
    /// Counts the sessions a caller's newer one replaced.
    replaced: Counter,
    /// Told of each open session given back past its deadline (`funnel`: idle expiry).
    on_expired: Option<OnExpired>,
    /// The session keys by the deadline they are queued for.
    session_expiry: ExpiryQueue<SessionKey>,
    /// The callers of offers by the deadline they are queued for.
    offer_expiry: ExpiryQueue<CallerKey>,
}

/// The deadline `key` is queued for once its entry expires at `expires`, given the deadline it
/// was queued for before (`None`: not queued): queued again only when the new deadline is
/// earlier, so that a session stepped many times stays queued once.
fn queue_for<K: Clone>(
    queue: &ExpiryQueue<K>,
    key: &K,
    queued: Option<Instant>,
    expires: Instant,
) -> Instant {
    match queued {
        Some(queued) if queued <= expires => queued,
        _ => {
            queue.push(expires, key.clone());
            expires
        }
    }
}

/// Queues `key` again for its entry's deadline, when the entry popped at `due` lives on past
/// it (stepped since it was queued); a key whose entry went, or that is queued for another
/// deadline too, is dropped.
fn requeue<K, T>(table: &DashMap<K, Entry<T>>, queue: &ExpiryQueue<K>, key: K, due: Instant)
where
    K: Eq + std::hash::Hash,
{
    if let Some(mut entry) = table.get_mut(&key) {
        if entry.queued == due {
            entry.queued = entry.expires;
            queue.push(entry.expires, key);
        }
    }
}

/// Where remembered locales are kept.
enum Locales {
    #[cfg(test)]
    InMemory(DashMap<CallerKey, Entry<LocaleChoice>>),
    Durable {
        tree: sled::Tree,
        writer: Arc<Writer>,
    },
}

/// A locale choice as the sled tree keeps it: with its deadline in Unix seconds.
#[derive(Serialize, Deserialize)]
struct StoredChoice {
    choice: LocaleChoice,
    until_unix: i64,
}

/// The locale `caller` chose, as the durable `prefs` tree keeps it, if the choice is still
/// remembered. The SMS channel reads it too: a caller's SMS are in the locale of their menus
/// (SPEC §2).
pub(crate) fn durable_locale(
    tree: &sled::Tree,
    caller: &CallerKey,
) -> Result<Option<LocaleChoice>, StoreError> {
    let bytes = tree
        .get(caller.as_str())
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
    // A value nobody can read any more is a choice nobody made: the default.
    let stored = bytes.and_then(|b| postcard::from_bytes::<StoredChoice>(&b).ok());
    let today = jiff::Timestamp::now().as_second();
    Ok(stored.filter(|s| s.until_unix > today).map(|s| s.choice))
}

impl MemoryStore {
    /// A store of at most `max` sessions, locales kept in memory too.
    #[cfg(test)]
    pub(crate) fn new(max: usize) -> MemoryStore {
        MemoryStore::with_locales(max, Locales::InMemory(DashMap::new()))
    }

    /// A store of at most `max` sessions whose locales live in `tree`, written by `writer`.
    pub(crate) fn with_durable_locales(
        max: usize,
        tree: sled::Tree,
        writer: Arc<Writer>,
    ) -> MemoryStore {
        MemoryStore::with_locales(max, Locales::Durable { tree, writer })
    }

    fn with_locales(max: usize, locales: Locales) -> MemoryStore {
        MemoryStore {
            sessions: DashMap::new(),
            offers: DashMap::new(),
            locales,
            max,
            taken: AtomicUsize::new(0),
            versions: AtomicU64::new(0),
            by_caller: DashMap::new(),
            share: 0,
            replaced: Counter::default(),
            on_expired: None,
            session_expiry: ExpiryQueue::default(),
            offer_expiry: ExpiryQueue::default(),
        }
    }

    /// The store telling `hook` of each open session it gives back past its deadline: in
    /// [`sweep`](MemoryStore::sweep), or when a write lands on the expired entry first.
    pub(crate) fn on_expired(mut self, hook: OnExpired) -> MemoryStore {
        self.on_expired = Some(hook);
        self
    }

    /// Tells the hook of `entry` when it is an open session past its deadline.
    fn tell_if_expired(&self, entry: &Entry<Packed>, now: Instant) {
        if entry.live(now) {
            return;
        }
        let Some(hook) = &self.on_expired else {
            return;
        };
        match entry.value.head() {
            Some(head) if !head.is_ended() => hook(Expired {
                service: head.service.to_string(),
                screen: head.screen.to_string(),
            }),
            _ => {}
        }
    }

    /// The store with each caller's sessions held to `share` (0: no share); `replaced` counts
    /// the sessions a caller's newer one replaced.
    pub(crate) fn with_share(mut self, share: usize, replaced: Counter) -> MemoryStore {
        self.share = share;
        self.replaced = replaced;
        self
    }

    /// Gives back the memory of entries past their deadline; returns how many sessions went.
    pub fn sweep(&self, now: Instant) -> usize {
        self.expire(now, |_| {})
    }

    /// [`sweep`](Self::sweep), showing each expired session to `expired` as it goes (its
    /// service and screen say where a caller left off).
    pub(crate) fn expire(&self, now: Instant, mut expired: impl FnMut(&Session)) -> usize {
        let mut gone = 0;
        while let Some((due, key)) = self.session_expiry.pop_due(now) {
            let removed = self
                .sessions
                .remove_if(&key, |_, entry| entry.queued == due && !entry.live(now));
            match removed {
                Some((key, entry)) => {
                    gone += 1;
                    if let Some(head) = entry.value.head() {
                        self.forget_share(head.caller, &key);
                    }
                    self.tell_if_expired(&entry, now);
                    if let Ok(session) = entry.value.unpack() {
                        expired(&session);
                    }
                }
                None => requeue(&self.sessions, &self.session_expiry, key, due),
            }
        }
        self.give_back(gone);
        while let Some((due, caller)) = self.offer_expiry.pop_due(now) {
            let removed = self
                .offers
                .remove_if(&caller, |_, entry| entry.queued == due && !entry.live(now));
            if removed.is_none() {
                requeue(&self.offers, &self.offer_expiry, caller, due);
            }
        }
        #[cfg(test)]
        if let Locales::InMemory(map) = &self.locales {
            map.retain(|_, entry| entry.live(now));
        }
        gone
    }

    /// Takes `key` out of its caller's list of sessions (with a share set), and the list once
    /// empty.
    fn forget_share(&self, caller: &str, key: &SessionKey) {
        if self.share == 0 {
            return;
        }
        if let dashmap::Entry::Occupied(mut keys) = self.by_caller.entry(caller.to_string()) {
            keys.get_mut().retain(|held| held != key);
            if keys.get().is_empty() {
                keys.remove();
            }
        }
    }

    /// Takes a place in the table for a new session, unless all `max` are taken.
    fn take_place(&self) -> bool {
        self.taken
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |taken| {
                (taken < self.max).then_some(taken + 1)
            })
            .is_ok()
    }

    /// Gives back the places of `n` sessions removed.
    fn give_back(&self, n: usize) {
        if n > 0 {
            self.taken.fetch_sub(n, Ordering::AcqRel);
        }
    }

    fn read(&self, key: &SessionKey, caller: Option<&CallerKey>) -> Result<Loaded, StoreError> {
        let now = Instant::now();
        let session = match self.sessions.get(key).filter(|entry| entry.live(now)) {
            Some(entry) => Some(Held {
                session: entry.value.unpack()?,
                version: entry.version,
            }),
            None => None,
        };
        let room = session.is_some() || self.taken.load(Ordering::Acquire) < self.max;
        let Some(caller) = caller else {
            return Ok(Loaded {
                session,
                room,
                ..Loaded::default()
            });
        };
        let offer = self
            .offers
            .get(caller)
            .filter(|entry| entry.live(now))
            .map(|entry| entry.value.clone());
        Ok(Loaded {
            session,
            offer,
            locale: self.read_locale(caller, now)?,
            room,
        })
    }

    #[cfg_attr(not(test), allow(unused_variables))]
    fn read_locale(
        &self,
        caller: &CallerKey,
        now: Instant,
    ) -> Result<Option<LocaleChoice>, StoreError> {
        match &self.locales {
            #[cfg(test)]
            Locales::InMemory(map) => Ok(map
                .get(caller)
                .filter(|entry| entry.live(now))
                .map(|entry| entry.value.clone())),
            Locales::Durable { tree, .. } => durable_locale(tree, caller),
        }
    }

    /// Applies the session part of a write: refused unless the held version is the expected one.
    fn write_session(
        &self,
        key: SessionKey,
        write: SessionWrite,
    ) -> Result<Option<Version>, StoreError> {
        let now = Instant::now();
        match write {
            SessionWrite::Remove { expected } => {
                let held = self
                    .sessions
                    .get(&key)
                    .filter(|entry| entry.live(now))
                    .map(|entry| entry.version);
                if held != expected {
                    return Err(StoreError::Conflict);
                }
                if let Some((key, gone)) = self.sessions.remove(&key) {
                    self.tell_if_expired(&gone, now);
                    self.give_back(1);
                    if let Some(head) = gone.value.head() {
                        self.forget_share(head.caller, &key);
                    }
                }
                Ok(None)
            }
            SessionWrite::Put {
                session,
                ttl,
                expected,
            } => {
                let version = self.versions.fetch_add(1, Ordering::Relaxed) + 1;
                let caller = session.caller.clone();
                let expires = now + ttl;
                let mut entry = Entry {
                    value: Packed::pack(&session)?,
                    version,
                    expires,
                    queued: expires,
                };
                let mut other_caller = None;
                let stored = match self.sessions.entry(key.clone()) {
                    dashmap::Entry::Occupied(mut slot) => {
                        // Checked under the entry's lock: no other write of it comes between.
                        let current = slot.get().live(now).then_some(slot.get().version);
                        if current != expected {
                            return Err(StoreError::Conflict);
                        }
                        self.tell_if_expired(slot.get(), now);
                        let queued = Some(slot.get().queued);
                        entry.queued = queue_for(&self.session_expiry, &key, queued, expires);
                        let old = slot.insert(entry);
                        other_caller = old
                            .value
                            .head()
                            .filter(|head| head.caller != caller)
                            .map(|head| head.caller.to_string());
                        true
                    }
                    dashmap::Entry::Vacant(slot) => {
                        if expected.is_some() {
                            return Err(StoreError::Conflict);
                        }
                        let placed = self.take_place();
                        if placed {
                            queue_for(&self.session_expiry, &key, None, expires);
                            slot.insert(entry);
                        }
                        placed
                    }
                };
                if let Some(other) = other_caller {
                    // The key held another caller's session (an aggregator reusing ids).
                    self.forget_share(&other, &key);
                }
                if stored {
                    self.keep_share(&caller, &key, now);
                    Ok(Some(version))
                } else {
                    Err(StoreError::Full)
                }
            }
        }
    }

    /// Moves `key` to the back of `caller`'s sessions and drops the ones beyond the share,
    /// least recently written first. Runs after the session's own entry lock is let go: the
    /// caller's list is locked first, then the sessions (as in `sweep`).
    fn keep_share(&self, caller: &str, key: &SessionKey, now: Instant) {
        if self.share == 0 {
            return;
        }
        let mut beyond = Vec::new();
        {
            let mut keys = self.by_caller.entry(caller.to_string()).or_default();
            keys.retain(|held| held != key && self.holds(held, caller, now));
            keys.push_back(key.clone());
            while keys.len() > self.share {
                beyond.extend(keys.pop_front());
            }
        }
        for oldest in beyond {
            if self
                .sessions
                .remove_if(&oldest, |_, entry| entry.value.is_of(caller))
                .is_some()
            {
                self.give_back(1);
                self.replaced.inc();
            }
        }
    }

    /// Whether `key` holds a live session of `caller`.
    fn holds(&self, key: &SessionKey, caller: &str, now: Instant) -> bool {
        self.sessions
            .get(key)
            .is_some_and(|entry| entry.live(now) && entry.value.is_of(caller))
    }

    async fn write_caller(&self, caller: CallerKey, write: CallerWrite) -> Result<(), StoreError> {
        let now = Instant::now();
        match write.offer {
            OfferWrite::Keep => {}
            OfferWrite::Put(offer, ttl) => {
                let expires = now + ttl;
                let mut entry = Entry {
                    value: offer,
                    version: 0,
                    expires,
                    queued: expires,
                };
                match self.offers.entry(caller.clone()) {
                    dashmap::Entry::Occupied(mut slot) => {
                        let queued = Some(slot.get().queued);
                        entry.queued = queue_for(&self.offer_expiry, &caller, queued, expires);
                        slot.insert(entry);
                    }
                    dashmap::Entry::Vacant(slot) => {
                        queue_for(&self.offer_expiry, &caller, None, expires);
                        slot.insert(entry);
                    }
                }
            }
            OfferWrite::Remove => {
                self.offers.remove(&caller);
            }
            OfferWrite::RemoveIfLeftBy(session) => {
                self.offers
                    .remove_if(&caller, |_, entry| entry.value.left_by == session);
            }
        }
        if let Some((choice, ttl)) = write.locale {
            self.write_locale(caller, choice, ttl, now).await?;
        }
        Ok(())
    }

    #[cfg_attr(not(test), allow(unused_variables))]
    async fn write_locale(
        &self,
        caller: CallerKey,
        choice: LocaleChoice,
        ttl: Duration,
        now: Instant,
    ) -> Result<(), StoreError> {
        match &self.locales {
            #[cfg(test)]
            Locales::InMemory(map) => {
                map.insert(
                    caller,
                    Entry {
                        value: choice,
                        version: 0,
                        expires: now + ttl,
                        queued: now + ttl,
                    },
                );
                Ok(())
            }
            Locales::Durable { tree, writer } => {
                let ttl_s = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
                let stored = StoredChoice {
                    choice,
                    until_unix: jiff::Timestamp::now().as_second().saturating_add(ttl_s),
                };
                let bytes = postcard::to_allocvec(&stored)
                    .map_err(|e| StoreError::Unavailable(e.to_string()))?;
                let tree = tree.clone();
                writer
                    .run(move || tree.insert(caller.as_str(), bytes).map(drop))
                    .await
                    .map_err(|e| StoreError::Unavailable(e.to_string()))?
                    .map_err(|e| StoreError::Unavailable(e.to_string()))
            }
        }
    }
}

impl SessionStore for MemoryStore {
    fn load<'a>(
        &'a self,
        key: &'a SessionKey,
        caller: Option<&'a CallerKey>,
    ) -> StoreFuture<'a, Loaded> {
        Box::pin(std::future::ready(self.read(key, caller)))
    }

    fn save(&self, write: Write) -> StoreFuture<'_, Option<Version>> {
        let stored = self.write_session(write.key, write.session);
        Box::pin(async move {
            let version = stored?;
            if let Some((caller, changes)) = write.caller {
                self.write_caller(caller, changes).await?;
            }
            Ok(version)
        })
    }

    fn count(&self) -> StoreFuture<'_, usize> {
        Box::pin(std::future::ready(Ok(self.sessions.len())))
    }

    fn open_by_service(&self) -> StoreFuture<'_, std::collections::BTreeMap<String, usize>> {
        let now = Instant::now();
        let mut open = std::collections::BTreeMap::new();
        for entry in self.sessions.iter() {
            match entry.value.head() {
                Some(head) if entry.live(now) && !head.is_ended() => {
                    *open.entry(head.service.to_string()).or_default() += 1;
                }
                _ => {}
            }
        }
        Box::pin(std::future::ready(Ok(open)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_memory_store_passes_the_conformance_suite() {
        super::super::conformance::run(|max| Box::new(MemoryStore::new(max))).await;
    }

    #[tokio::test(start_paused = true)]
    async fn the_memory_store_tells_its_expiries_as_the_suite_asks() {
        super::super::conformance::expiry_told(|hook| {
            let store = Arc::new(MemoryStore::new(10).on_expired(hook));
            let swept = store.clone();
            let give_back = Box::new(move || {
                swept.sweep(Instant::now());
            });
            (store as Arc<dyn SessionStore>, give_back as Box<dyn Fn()>)
        })
        .await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_sweep_gives_back_what_expired_and_nothing_else() {
        let store = MemoryStore::new(10);
        let put = |id: &str, ttl: u64| Write {
            key: SessionKey::new("d", id),
            session: SessionWrite::Put {
                session: Session::new("s", "c", "main", "en"),
                expected: None,
                ttl: Duration::from_secs(ttl),
            },
            caller: None,
        };
        store.save(put("short", 5)).await.expect("stored");
        store.save(put("long", 60)).await.expect("stored");
        tokio::time::advance(Duration::from_secs(6)).await;
        assert_eq!(store.sweep(Instant::now()), 1);
        assert_eq!(store.count().await, Ok(1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_session_stepped_past_its_first_deadline_outlives_a_sweep_there() {
        let store = MemoryStore::new(10);
        let key = SessionKey::new("d", "s1");
        let mut version = store.save(put("s1", "c")).await.expect("stored");
        // Stepped every 30 s for five minutes: each step moves its deadline 60 s on.
        for _ in 0..10 {
            tokio::time::advance(Duration::from_secs(30)).await;
            assert_eq!(store.sweep(Instant::now()), 0, "stepped, not idle");
            let mut again = put("s1", "c");
            if let SessionWrite::Put { expected, .. } = &mut again.session {
                *expected = version;
            }
            version = store.save(again).await.expect("stepped");
        }
        assert!(store.session_expiry.len() <= 2, "queued once, not per step");
        assert!(store.read(&key, None).unwrap().session.is_some());
        tokio::time::advance(Duration::from_secs(61)).await;
        let mut seen = Vec::new();
        let gone = store.expire(Instant::now(), |s| {
            seen.push((s.service.clone(), s.place.screen.clone()))
        });
        assert_eq!(gone, 1);
        assert_eq!(
            seen,
            [("s".to_string(), "main".to_string())],
            "where it was left"
        );
        assert_eq!(store.count().await, Ok(0));
        assert_eq!(store.taken.load(Ordering::Acquire), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_shorter_deadline_is_queued_and_kept() {
        let store = MemoryStore::new(10);
        let version = store.save(put("s1", "c")).await.expect("stored");
        // An ended session keeps its reply for less time than an open one waits.
        let end = Write {
            key: SessionKey::new("d", "s1"),
            session: SessionWrite::Put {
                session: Session::new("s", "c", "main", "en"),
                expected: version,
                ttl: Duration::from_secs(5),
            },
            caller: None,
        };
        store.save(end).await.expect("ended");
        tokio::time::advance(Duration::from_secs(6)).await;
        assert_eq!(
            store.sweep(Instant::now()),
            1,
            "gone at the shorter deadline"
        );
        tokio::time::advance(Duration::from_secs(60)).await;
        assert_eq!(store.sweep(Instant::now()), 0, "and not counted twice");
        assert_eq!(store.taken.load(Ordering::Acquire), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_removed_session_leaves_no_share_behind() {
        let store = MemoryStore::new(100).with_share(2, Counter::default());
        let version = store.save(put("a1", "a")).await.expect("stored");
        let remove = Write {
            key: SessionKey::new("d", "a1"),
            session: SessionWrite::Remove { expected: version },
            caller: None,
        };
        store.save(remove).await.expect("removed");
        assert!(store.by_caller.is_empty());
        tokio::time::advance(Duration::from_secs(61)).await;
        assert_eq!(store.sweep(Instant::now()), 0, "nothing left to expire");
    }

    fn put(id: &str, caller: &str) -> Write {
        Write {
            key: SessionKey::new("d", id),
            session: SessionWrite::Put {
                session: Session::new("s", caller, "main", "en"),
                expected: None,
                ttl: Duration::from_secs(60),
            },
            caller: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn one_caller_holds_its_share_and_the_oldest_goes_first() {
        let replaced = Counter::default();
        let store = MemoryStore::new(100).with_share(2, replaced.clone());
        for id in ["a1", "a2", "a3", "a4"] {
            store.save(put(id, "a")).await.expect("stored");
        }
        store.save(put("b1", "b")).await.expect("stored");
        assert_eq!(store.count().await, Ok(3), "a holds two, b one");
        assert_eq!(replaced.get(), 2);
        let held = |id: &str| store.read(&SessionKey::new("d", id), None).unwrap().session;
        assert!(held("a1").is_none() && held("a2").is_none());
        assert!(held("a3").is_some() && held("a4").is_some() && held("b1").is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn a_step_makes_a_session_the_callers_newest() {
        let store = MemoryStore::new(100).with_share(2, Counter::default());
        store.save(put("a1", "a")).await.expect("stored");
        store.save(put("a2", "a")).await.expect("stored");
        let version = store.read(&SessionKey::new("d", "a1"), None).unwrap();
        let mut again = put("a1", "a");
        if let SessionWrite::Put { expected, .. } = &mut again.session {
            *expected = version.session.map(|h| h.version);
        }
        store.save(again).await.expect("stepped");
        store.save(put("a3", "a")).await.expect("stored");
        let held = |id: &str| store.read(&SessionKey::new("d", id), None).unwrap().session;
        assert!(held("a1").is_some(), "stepped last, kept");
        assert!(held("a2").is_none(), "the least recently stepped went");
    }

    #[tokio::test(start_paused = true)]
    async fn the_share_index_is_swept_with_the_sessions() {
        let store = MemoryStore::new(100).with_share(2, Counter::default());
        store.save(put("a1", "a")).await.expect("stored");
        tokio::time::advance(Duration::from_secs(61)).await;
        store.sweep(Instant::now());
        assert!(store.by_caller.is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn racing_writers_never_pass_the_cap() {
        let store = Arc::new(MemoryStore::new(50));
        let writers: Vec<_> = (0..8)
            .map(|w| {
                let store = store.clone();
                tokio::spawn(async move {
                    for n in 0..100 {
                        let _ = store
                            .save(put(&format!("{w}-{n}"), &format!("{w}-{n}")))
                            .await;
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.await.expect("writer");
        }
        assert_eq!(store.count().await, Ok(50));
        assert_eq!(store.taken.load(Ordering::Acquire), 50);
        store.sweep(Instant::now() + Duration::from_secs(61));
        assert_eq!(
            store.taken.load(Ordering::Acquire),
            0,
            "every place given back"
        );
    }

    use crate::store::Store;

    #[tokio::test]
    async fn durable_locales_survive_a_new_store_over_the_same_tree() {
        let dir = tempfile::tempdir().expect("temp dir");
        let caller = CallerKey::new("tamin", "c1");
        let choice = LocaleChoice {
            locale: "en".into(),
            chosen_by: SessionKey::new("d", "s1"),
            started_in: "fa".into(),
        };
        {
            let db = sled::open(dir.path()).expect("db");
            let writer = Arc::new(Writer::start().expect("writer"));
            let store =
                MemoryStore::with_durable_locales(10, db.open_tree("prefs").unwrap(), writer);
            let write = Write {
                key: SessionKey::new("d", "s1"),
                session: SessionWrite::Remove { expected: None },
                caller: Some((
                    caller.clone(),
                    CallerWrite {
                        offer: OfferWrite::Keep,
                        locale: Some((choice.clone(), Duration::from_secs(3600))),
                    },
                )),
            };
            store.save(write).await.expect("saved");
            db.flush().expect("flushed");
        }
        // `Store::open` waits out sled's flusher, which holds the lock a moment after a close.
        let db = Store::open(dir.path(), 1 << 20).expect("db again");
        let writer = Arc::new(Writer::start().expect("writer"));
        let tree = db.tree("prefs").unwrap();
        tree.insert(CallerKey::new("tamin", "c2").as_str(), &b"garbage"[..])
            .unwrap();
        let store = MemoryStore::with_durable_locales(10, tree, writer);
        let key = SessionKey::new("d", "s2");
        let loaded = store.load(&key, Some(&caller)).await.expect("loads");
        assert_eq!(loaded.locale, Some(choice));
        let garbage = CallerKey::new("tamin", "c2");
        let loaded = store.load(&key, Some(&garbage)).await.expect("loads");
        assert_eq!(loaded.locale, None, "an unreadable choice is no choice");
    }

    /// The memory one live session costs the store, from the sizes of what holds it: its slot
    /// in the table (key and entry, and a control byte) at the table's worst load after it
    /// grows (7/16 of its slots full: hashbrown doubles at 7/8), the bytes of the session, the
    /// key's one allocation (shared by table, queue and share index), and its place in the
    /// expiry queue at the heap's worst load (half full after it doubles). Allocator rounding
    /// is not counted: `examples/session_rss.rs` measures the whole.
    fn bytes_per_session(session: &Session, key: &SessionKey) -> usize {
        let slot = std::mem::size_of::<(SessionKey, Entry<Packed>)>() + 1;
        let table = slot * 16 / 7;
        let packed = Packed::pack(session).expect("packs").len();
        let key_heap = 2 * std::mem::size_of::<usize>() + key.0.len();
        let queued = 2 * std::mem::size_of::<(Instant, SessionKey)>();
        table + packed + key_heap + queued
    }

    /// Pins the size of a live session: fails if the entry, the key or the session's bytes grow
    /// past 576 bytes per session at the table's worst load, for the session that keeps the
    /// longest reply of a usual walk (a result with its tracking code) and for a first screen.
    /// The target is 512: this worst case misses it by the ended session's 567 (its
    /// average-load figure is under it); the bound is what the packed value holds today.
    #[test]
    fn a_live_session_costs_at_most_576_bytes() {
        let key = SessionKey::new("africastalking", "ATUid_0f1e2d3c4b5a69788796a5b4c3d2e1f0");
        let mut ended = Session::new("tamin", "0123456789abcdef01234567", "inquiry_result", "fa");
        ended.place.history = vec!["main".into(), "ask_code".into()];
        ended.place.answers.push((
            "national_code".into(),
            crate::session::Answer::NationalCode(
                crate::ids::NationalCode::parse("0012345679").expect("valid"),
            ),
        ));
        ended.phase = crate::session::Phase::Ended { result: true };
        ended.path = "2*0012345679".into();
        ended.last = Some(crate::turn::Reply::End(
            "بیمه شده دارای حمایت درمانی است.\nاعتبار دفترچه تا ۱۴۰۵/۰۶/۳۱\nکد پیگیری: ۱۲۳۴۵۶۷۸۹۰"
                .into(),
        ));
        let mut first = Session::new("tamin", "0123456789abcdef01234567", "main", "fa");
        first.last = Some(crate::turn::Reply::Continue(
            "خوش آمدید\n۱. استعلام بیمه\n۲. استعلام عمومی\n۳. افراد تحت تکفل\n۹. English".into(),
        ));
        for session in [ended, first] {
            let bytes = bytes_per_session(&session, &key);
            assert!(bytes <= 576, "{bytes} bytes for {:?}", session.place.screen);
        }
    }
}
