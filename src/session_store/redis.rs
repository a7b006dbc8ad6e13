//! The session store shared by several nodes: sessions, resume offers and remembered locales
//! in Redis, chosen by `[sessions] store = "redis://host:port/db"`.
//!
//! A step costs one round trip each way: [`load`] is one Lua script (the session, whether a new
//! one would fit, the caller's offer and locale) and [`save`] another, which applies the whole
//! write or none of it: the version compare-and-set, the session with its TTL (`PEXPIRE`), the
//! cap, the caller's share, the offer and the locale. Expiry is Redis's own key TTLs.
//!
//! The cap is a global count kept right as keys expire: a sorted set (`live`) holds each
//! session's member scored by its expiry (Redis's clock, `TIME`); a read counts the members
//! still to come (`ZCOUNT`), and a write of a new session first drops the ones past
//! (`ZREMRANGEBYSCORE`), so a session that expired without a word stops counting at once.
//!
//! Nothing in Redis names a caller: every key is a keyed hash (of the session key, of the
//! caller key), and every value is sealed ([`seal`](super::seal)) with a key derived from the
//! deployment's hash key, bound to its key name. Nodes sharing a Redis share that hash key.
//!
//! Redis is reached through the `redis` crate's `ConnectionManager`, which reconnects by itself
//! after Redis comes back; each command is bounded by `sessions.store_timeout_ms`, past which the
//! step gets [`StoreError::Unavailable`] (the engine answers a polite END) rather than a hang.
//!
//! [`load`]: SessionStore::load
//! [`save`]: SessionStore::save

use prometheus_client::metrics::counter::Counter;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Script};
use std::collections::BTreeMap;
use std::time::Duration;

use super::seal::Sealer;
use super::{
    CallerKey, CallerWrite, Held, Loaded, LocaleChoice, Offer, OfferWrite, SessionKey,
    SessionStore, SessionWrite, StoreError, StoreFuture, Version, Write,
};
use crate::audit::KeyedHasher;
use crate::session::Session;

/// Every key this store writes starts with it.
const PREFIX: &str = "daftar:";

/// How the names of keys and the sealing key are derived from the deployment's hash key.
const NAMES_CONTEXT: &str = "daftar 2026-11 redis session store key names";
const SEAL_CONTEXT: &str = "daftar 2026-11 redis session store sealing";

/// Sessions, offers and locales in one Redis; cheap to share behind an `Arc`.
pub(crate) struct RedisStore {
    connection: ConnectionManager,
    names: KeyedHasher,
    sealer: Sealer,
    max: usize,
    share: usize,
    replaced: Counter,
    timeout: Duration,
    load_script: Script,
    save_script: Script,
    count_script: Script,
    live_script: Script,
}

/// What makes a Redis store.
pub(crate) struct RedisSettings<'a> {
    /// `redis://host:port/db`, as `Backend::parse` checked it.
    pub(crate) url: &'a str,
    /// Most sessions held at once, over every node.
    pub(crate) max: usize,
    /// The bound on each command (and each connection attempt).
    pub(crate) timeout: Duration,
    /// The deployment's hasher, from which key names and the sealing key are derived.
    pub(crate) hasher: &'a KeyedHasher,
}

impl RedisStore {
    /// A store over the Redis at `settings.url`; it connects on first use, so a node starts
    /// while Redis is down and serves once it is up.
    pub(crate) fn open(settings: RedisSettings<'_>) -> Result<RedisStore, StoreError> {
        let client = Client::open(settings.url).map_err(unavailable)?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(settings.timeout))
            .set_connection_timeout(Some(settings.timeout))
            .set_max_delay(Duration::from_secs(1));
        let connection =
            ConnectionManager::new_lazy_with_config(client, config).map_err(unavailable)?;
        Ok(RedisStore {
            connection,
            names: KeyedHasher::new(settings.hasher.derive(NAMES_CONTEXT)),
            sealer: Sealer::new(settings.hasher.derive(SEAL_CONTEXT)),
            max: settings.max,
            share: 0,
            replaced: Counter::default(),
            timeout: settings.timeout,
            load_script: Script::new(include_str!("redis_load.lua")),
            save_script: Script::new(include_str!("redis_save.lua")),
            count_script: Script::new(include_str!("redis_count.lua")),
            live_script: Script::new(include_str!("redis_live.lua")),
        })
    }

    /// The store with each caller's sessions held to `share` (0: no share); `replaced` counts
    /// the sessions a caller's newer one replaced (as [`MemoryStore::with_share`]).
    ///
    /// [`MemoryStore::with_share`]: super::memory::MemoryStore::with_share
    pub(crate) fn with_share(mut self, share: usize, replaced: Counter) -> RedisStore {
        self.share = share;
        self.replaced = replaced;
        self
    }

    fn session_member(&self, key: &SessionKey) -> String {
        self.names.hash(&key.0)
    }

    fn session_name(member: &str) -> String {
        format!("{PREFIX}s:{member}")
    }

    fn caller_names(&self, caller: Option<&CallerKey>) -> (String, String) {
        match caller {
            Some(caller) => {
                let tag = self.names.hash(caller.as_str());
                (format!("{PREFIX}o:{tag}"), format!("{PREFIX}l:{tag}"))
            }
            // Keys no write names: read as nothing, written never.
            None => (format!("{PREFIX}o:-"), format!("{PREFIX}l:-")),
        }
    }

    /// Runs `invocation` within the command bound.
    async fn run<T: redis::FromRedisValue>(
        &self,
        invocation: redis::ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        let mut connection = self.connection.clone();
        match tokio::time::timeout(self.timeout, invocation.invoke_async(&mut connection)).await {
            Ok(answer) => answer.map_err(unavailable),
            Err(_) => Err(StoreError::Unavailable(format!(
                "redis did not answer within {} ms",
                self.timeout.as_millis()
            ))),
        }
    }

    async fn read(
        &self,
        key: &SessionKey,
        caller: Option<&CallerKey>,
    ) -> Result<Loaded, StoreError> {
        let member = self.session_member(key);
        let session_name = Self::session_name(&member);
        let (offer_name, locale_name) = self.caller_names(caller);
        let mut invocation = self.load_script.prepare_invoke();
        invocation
            .key(&session_name)
            .key(format!("{PREFIX}live"))
            .key(&offer_name)
            .key(&locale_name)
            .arg(self.max);
        let [version, sealed, room, offer, locale]: [Vec<u8>; 5] = self
            .run::<Vec<Vec<u8>>>(invocation)
            .await?
            .try_into()
            .map_err(|_| StoreError::Unavailable("the load script answered oddly".into()))?;
        let session = if version.is_empty() {
            None
        } else {
            Some(Held {
                session: self.open_session(&sealed, &session_name)?,
                version: parse_version(&version)?,
            })
        };
        Ok(Loaded {
            session,
            // An offer or locale that does not open is one nobody made (as in `memory`).
            offer: self.open_optional::<Offer>(&offer, &offer_name),
            locale: self.open_optional::<LocaleChoice>(&locale, &locale_name),
            room: room == b"1",
        })
    }

    /// A held session that does not open is an error, not an absence: a new session over it
    /// would be refused by its version for as long as it lives.
    fn open_session(&self, sealed: &[u8], name: &str) -> Result<Session, StoreError> {
        self.sealer
            .open(sealed, name.as_bytes())
            .map_err(|error| StoreError::Unavailable(error.to_string()))
    }

    fn open_optional<T: serde::de::DeserializeOwned>(
        &self,
        sealed: &[u8],
        name: &str,
    ) -> Option<T> {
        if sealed.is_empty() {
            return None;
        }
        match self.sealer.open(sealed, name.as_bytes()) {
            Ok(value) => Some(value),
            Err(error) => {
                tracing::warn!(%error, "a stored offer or locale was ignored");
                None
            }
        }
    }

    async fn write(&self, write: Write) -> Result<Option<Version>, StoreError> {
        let member = self.session_member(&write.key);
        let session_name = Self::session_name(&member);
        let (offer_name, locale_name) = self.caller_names(write.caller.as_ref().map(|(c, _)| c));
        let mut invocation = self.save_script.prepare_invoke();
        invocation
            .key(&session_name)
            .key(format!("{PREFIX}live"))
            .key(format!("{PREFIX}version"));
        invocation.key(&offer_name).key(&locale_name);
        let (op, expected, ttl, sealed, caller_tag) = match &write.session {
            SessionWrite::Put {
                session,
                expected,
                ttl,
            } => {
                let sealed = self
                    .sealer
                    .seal(session, session_name.as_bytes())
                    .map_err(|error| StoreError::Unavailable(error.to_string()))?;
                let tag = self.names.hash(&session.caller);
                ("put", *expected, millis(*ttl), sealed, tag)
            }
            SessionWrite::Remove { expected } => {
                ("remove", *expected, 0, Vec::new(), String::new())
            }
        };
        invocation
            .key(format!("{PREFIX}c:{caller_tag}"))
            .arg(op)
            .arg(expected.map(|v| v.to_string()).unwrap_or_default())
            .arg(ttl)
            .arg(sealed)
            .arg(&member)
            .arg(self.max)
            .arg(self.share)
            .arg(&caller_tag);
        let caller = write.caller.map(|(_, changes)| changes).unwrap_or_default();
        self.caller_args(&mut invocation, caller, &offer_name, &locale_name)?;
        let [outcome, version, replaced]: [Vec<u8>; 3] = self
            .run::<Vec<Vec<u8>>>(invocation)
            .await?
            .try_into()
            .map_err(|_| StoreError::Unavailable("the save script answered oddly".into()))?;
        match outcome.as_slice() {
            b"conflict" => Err(StoreError::Conflict),
            b"full" => Err(StoreError::Full),
            b"ok" => {
                let replaced = std::str::from_utf8(&replaced)
                    .ok()
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or(0);
                self.replaced.inc_by(replaced);
                if version.is_empty() {
                    Ok(None)
                } else {
                    parse_version(&version).map(Some)
                }
            }
            _ => Err(StoreError::Unavailable(
                "the save script answered oddly".into(),
            )),
        }
    }

    /// The arguments of the caller's part of a write: the offer's change and the locale.
    fn caller_args(
        &self,
        invocation: &mut redis::ScriptInvocation<'_>,
        caller: CallerWrite,
        offer_name: &str,
        locale_name: &str,
    ) -> Result<(), StoreError> {
        let seal_error = |error: super::seal::SealError| StoreError::Unavailable(error.to_string());
        let (op, sealed, ttl, by) = match caller.offer {
            OfferWrite::Keep => ("keep", Vec::new(), 0, String::new()),
            OfferWrite::Put(offer, ttl) => {
                let by = self.session_member(&offer.left_by);
                let sealed = self
                    .sealer
                    .seal(&offer, offer_name.as_bytes())
                    .map_err(seal_error)?;
                ("put", sealed, millis(ttl), by)
            }
            OfferWrite::Remove => ("remove", Vec::new(), 0, String::new()),
            OfferWrite::RemoveIfLeftBy(session) => {
                ("remove_if", Vec::new(), 0, self.session_member(&session))
            }
        };
        invocation.arg(op).arg(sealed).arg(ttl).arg(by);
        match caller.locale {
            Some((choice, ttl)) => {
                let sealed = self
                    .sealer
                    .seal(&choice, locale_name.as_bytes())
                    .map_err(seal_error)?;
                invocation.arg(sealed).arg(millis(ttl));
            }
            None => {
                invocation.arg("").arg(0);
            }
        }
        Ok(())
    }
}

impl RedisStore {
    /// How many live sessions one page of `open_by_service` reads.
    const LIVE_PAGE: usize = 1_000;

    /// The open sessions alive now, by service: every live session is read a page at a time
    /// and opened (an admin's question, `GET /admin/sessions`: its cost grows with the table).
    async fn tally_open(&self) -> Result<BTreeMap<String, usize>, StoreError> {
        let mut open = BTreeMap::new();
        let mut offset = 0;
        loop {
            let mut invocation = self.live_script.prepare_invoke();
            invocation
                .key(format!("{PREFIX}live"))
                .arg(PREFIX)
                .arg(offset)
                .arg(Self::LIVE_PAGE);
            let page: Vec<Vec<u8>> = self.run(invocation).await?;
            for pair in page.chunks(2) {
                let [member, sealed] = pair else { break };
                let (Ok(member), false) = (std::str::from_utf8(member), sealed.is_empty()) else {
                    continue;
                };
                let session = self.open_session(sealed, &Self::session_name(member))?;
                if !session.is_ended() {
                    *open.entry(session.service).or_default() += 1;
                }
            }
            if page.len() < 2 * Self::LIVE_PAGE {
                return Ok(open);
            }
            offset += Self::LIVE_PAGE;
        }
    }
}

impl SessionStore for RedisStore {
    fn load<'a>(
        &'a self,
        key: &'a SessionKey,
        caller: Option<&'a CallerKey>,
    ) -> StoreFuture<'a, Loaded> {
        Box::pin(self.read(key, caller))
    }

    fn save(&self, write: Write) -> StoreFuture<'_, Option<Version>> {
        Box::pin(self.write(write))
    }

    fn count(&self) -> StoreFuture<'_, usize> {
        Box::pin(async move {
            let mut invocation = self.count_script.prepare_invoke();
            invocation.key(format!("{PREFIX}live"));
            self.run::<usize>(invocation).await
        })
    }

    fn open_by_service(&self) -> StoreFuture<'_, BTreeMap<String, usize>> {
        Box::pin(self.tally_open())
    }
}

/// A TTL in whole milliseconds, at least 1 (Redis refuses a `PEXPIRE` of 0 as "expire now").
fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

fn parse_version(bytes: &[u8]) -> Result<Version, StoreError> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| StoreError::Unavailable("a stored version is not a number".into()))
}

/// A Redis error as the store's: its text names no key or value of ours (they are hashes).
fn unavailable(error: redis::RedisError) -> StoreError {
    StoreError::Unavailable(format!("redis: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session_store::conformance::{self, Time};
    use std::io::{Read, Write as _};
    use std::net::{TcpListener, TcpStream};
    use std::process::{Child, Command, Stdio};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A `redis-server` of the test's own on a free loopback port, with nothing saved.
    struct TestRedis {
        child: Child,
        port: u16,
        _dir: tempfile::TempDir,
    }

    impl TestRedis {
        /// None, saying so, when `redis-server` is not installed.
        fn start() -> Option<TestRedis> {
            if Command::new("redis-server")
                .arg("--version")
                .output()
                .is_err()
            {
                eprintln!("SKIPPED: redis-server is not installed (apt-get install redis-server)");
                return None;
            }
            let port = free_port();
            let dir = tempfile::tempdir().expect("temp dir");
            let child = spawn(port, dir.path());
            let server = TestRedis {
                child,
                port,
                _dir: dir,
            };
            server.wait_up();
            Some(server)
        }

        fn url(&self, db: usize) -> String {
            format!("redis://127.0.0.1:{}/{db}", self.port)
        }

        fn wait_up(&self) {
            for _ in 0..500 {
                if ping(self.port) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            panic!("redis-server never answered on {}", self.port);
        }

        fn kill(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }

        fn restart(&mut self) {
            self.kill();
            self.child = spawn(self.port, self._dir.path());
            self.wait_up();
        }
    }

    impl Drop for TestRedis {
        fn drop(&mut self) {
            self.kill();
        }
    }

    /// A loopback port for a redis-server: below Linux's ephemeral range (where the tests'
    /// client connections take their ports), apart from the integration tests' ports.
    fn free_port() -> u16 {
        static NEXT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);
        loop {
            let next = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 4_000;
            let port = 16_000 + next;
            if TcpListener::bind(("127.0.0.1", port)).is_ok() {
                return port;
            }
        }
    }

    fn spawn(port: u16, dir: &std::path::Path) -> Child {
        Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server starts")
    }

    fn ping(port: u16) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
            return false;
        };
        let mut answer = [0u8; 7];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut answer).is_ok()
            && &answer == b"+PONG\r\n"
    }

    fn store(url: &str, max: usize) -> RedisStore {
        RedisStore::open(RedisSettings {
            url,
            max,
            timeout: Duration::from_millis(500),
            hasher: &KeyedHasher::new([3; 32]),
        })
        .expect("a store")
    }

    #[tokio::test]
    async fn the_redis_store_passes_the_conformance_suite() {
        let Some(redis) = TestRedis::start() else {
            return;
        };
        // A database of its own for each case: every case starts on an empty store.
        let next_db = AtomicUsize::new(0);
        let make = |max| {
            let db = next_db.fetch_add(1, Ordering::Relaxed);
            Box::new(store(&redis.url(db), max)) as Box<dyn SessionStore>
        };
        let unit = Duration::from_millis(100);
        conformance::run_in(Time::Real { unit }, make).await;
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

    #[tokio::test]
    async fn one_caller_holds_its_share_across_the_shared_store() {
        let Some(redis) = TestRedis::start() else {
            return;
        };
        let replaced = Counter::default();
        let store = store(&redis.url(0), 100).with_share(2, replaced.clone());
        for id in ["a1", "a2", "a3", "a4"] {
            store.save(put(id, "a")).await.expect("stored");
        }
        store.save(put("b1", "b")).await.expect("stored");
        assert_eq!(store.count().await, Ok(3), "a holds two, b one");
        assert_eq!(replaced.get(), 2);
        for (id, held) in [
            ("a1", false),
            ("a2", false),
            ("a3", true),
            ("a4", true),
            ("b1", true),
        ] {
            let loaded = store
                .load(&SessionKey::new("d", id), None)
                .await
                .expect("loads");
            assert_eq!(loaded.session.is_some(), held, "{id}");
        }
    }

    #[tokio::test]
    async fn redis_down_is_unavailable_at_once_and_it_recovers_by_itself() {
        let Some(mut redis) = TestRedis::start() else {
            return;
        };
        let store = store(&redis.url(0), 100);
        let key = SessionKey::new("d", "down");
        store.save(put("down", "a")).await.expect("stored");
        redis.kill();
        for _ in 0..3 {
            let loaded = store.load(&key, None).await;
            assert!(
                matches!(loaded, Err(StoreError::Unavailable(_))),
                "{loaded:?}"
            );
            let saved = store.save(put("other", "a")).await;
            assert!(
                matches!(saved, Err(StoreError::Unavailable(_))),
                "{saved:?}"
            );
            assert!(store.count().await.is_err());
        }
        redis.restart();
        // The new server is empty (nothing saved); the store reaches it with no help.
        let mut answered = false;
        for _ in 0..100 {
            if let Ok(loaded) = store.load(&key, None).await {
                assert_eq!(loaded.session, None, "a fresh redis");
                answered = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(answered, "the store never reached redis again");
        store.save(put("again", "a")).await.expect("stored again");
    }

    #[tokio::test]
    async fn a_session_sealed_by_another_key_is_an_error_and_nothing_is_in_clear() {
        let Some(redis) = TestRedis::start() else {
            return;
        };
        let mine = store(&redis.url(0), 100);
        let theirs = RedisStore::open(RedisSettings {
            url: &redis.url(0),
            max: 100,
            timeout: Duration::from_millis(500),
            hasher: &KeyedHasher::new([4; 32]),
        })
        .expect("a store");
        let key = SessionKey::new("d", "sealed");
        mine.save(put("sealed", "a")).await.expect("stored");
        // Another key names other keys: the session is simply not there for it.
        let loaded = theirs.load(&key, None).await.expect("loads");
        assert_eq!(loaded.session, None);
        // A value moved under another name does not open.
        let mut connection = mine.connection.clone();
        let from = RedisStore::session_name(&mine.session_member(&key));
        let to = RedisStore::session_name(&mine.session_member(&SessionKey::new("d", "moved")));
        let _: () = redis::cmd("COPY")
            .arg(&from)
            .arg(&to)
            .query_async(&mut connection)
            .await
            .expect("copied");
        let moved = mine.load(&SessionKey::new("d", "moved"), None).await;
        assert!(
            matches!(moved, Err(StoreError::Unavailable(_))),
            "{moved:?}"
        );
        let names: Vec<String> = redis::cmd("KEYS")
            .arg("*")
            .query_async(&mut connection)
            .await
            .expect("keys");
        assert!(names
            .iter()
            .all(|n| !n.contains("sealed") && !n.contains("moved")));
    }

    #[tokio::test]
    async fn sessions_that_expired_leave_the_cap_without_a_word() {
        let Some(redis) = TestRedis::start() else {
            return;
        };
        let store = store(&redis.url(0), 2);
        for id in ["e1", "e2"] {
            let mut write = put(id, id);
            if let SessionWrite::Put { ttl, .. } = &mut write.session {
                *ttl = Duration::from_millis(200);
            }
            store.save(write).await.expect("stored");
        }
        let third = SessionKey::new("d", "e3");
        assert!(!store.load(&third, None).await.expect("loads").room, "full");
        assert_eq!(store.save(put("e3", "e3")).await, Err(StoreError::Full));
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(store.count().await, Ok(0), "nothing alive");
        assert!(store.load(&third, None).await.expect("loads").room);
        store
            .save(put("e3", "e3"))
            .await
            .expect("room again, nothing removed by hand");
        store.save(put("e4", "e4")).await.expect("and for another");
        assert_eq!(store.count().await, Ok(2));
    }
}
