//! One home for per-caller state: the session, the resume offer and the remembered locale of a
//! caller, behind one async trait, [`SessionStore`], so that the embedded default (dashmap, in
//! [`memory`]) and a store shared by several nodes are interchangeable.
//!
//! The shape is what a networked store serves in one round trip each way: a step [`load`]s the
//! session with its caller's offer and locale in one read, and [`save`]s what changed in one
//! write. Writes of a session are versioned (compare-and-set): a write that expected another
//! version is refused with [`StoreError::Conflict`] and the engine steps again on what is
//! there. Expiry is a property of each entry (a TTL given with every write), so nothing depends
//! on a sweeper noticing that a session went quiet. The store holds no MSISDN in clear: callers
//! are keyed by the keyed hash of their MSISDN.
//!
//! A store that drops an open session at its deadline tells who asked ([`OnExpired`]): the
//! funnel counts it as idle expiry on the screen it was on. The memory store tells as it gives
//! an expired entry back (its sweep, or a write over it); a store whose entries vanish on
//! their own (a server's TTLs) tells when it learns of it, or leaves idle expiry uncounted.
//!
//! [`load`]: SessionStore::load
//! [`save`]: SessionStore::save

mod expiry;
pub(crate) mod memory;
mod packed;
pub(crate) mod probe;
pub(crate) mod redis;
mod seal;

#[cfg(test)]
pub(crate) mod conformance;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::session::{Place, Session};

/// A future a store returns; boxed so that the engine can hold any store behind `dyn`.
pub(crate) type StoreFuture<'a, T> =
    Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// The key of a session: its dialect and the aggregator's session id. One allocation shared
/// (`Arc<str>`) by every place that holds it: the memory store's table, its expiry queue and
/// its per-caller index, an offer's `left_by`. Written as the string it holds (the format a
/// `String` key had, so that values already in a shared store read back).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionKey(Arc<str>);

impl SessionKey {
    pub fn new(dialect: &str, session_id: &str) -> SessionKey {
        SessionKey(format!("{dialect}\u{0}{session_id}").into())
    }
}

// By hand rather than with serde's `rc` feature: switching that feature on rebuilds every
// crate that depends on serde, for two short impls.
impl Serialize for SessionKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_newtype_struct("SessionKey", &*self.0)
    }
}

impl<'de> Deserialize<'de> for SessionKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename = "SessionKey")]
        struct Written(String);
        let Written(key) = Written::deserialize(deserializer)?;
        Ok(SessionKey(key.into()))
    }
}

/// One caller of one service: the service and the keyed hash of the caller's MSISDN.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CallerKey(String);

impl CallerKey {
    pub(crate) fn new(service: &str, caller_hash: &str) -> CallerKey {
        CallerKey(format!("{service}\u{0}{caller_hash}"))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// A write counter per session: each accepted write of a session gives it a new version.
pub(crate) type Version = u64;

/// A session as the store holds it, with the version a write must expect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub(crate) session: Session,
    pub version: Version,
}

/// A dropped session's place, offered to the caller's next session of that service (SPEC §3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Offer {
    pub(crate) place: Place,
    /// The session that left it: replaying that session from its path is not offered its own
    /// place back.
    pub(crate) left_by: SessionKey,
    /// The session that was shown it, so that replaying that session shows it again.
    pub(crate) shown_to: Option<SessionKey>,
}

/// The locale a caller chose with `9` (SPEC §2), and the session that chose it, so that a
/// replay of that very session starts where it started and switches the same way again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LocaleChoice {
    pub(crate) locale: String,
    pub(crate) chosen_by: SessionKey,
    pub(crate) started_in: String,
}

/// What one read brings back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Loaded {
    pub session: Option<Held>,
    /// The caller's offer and locale, when the read named a caller.
    pub(crate) offer: Option<Offer>,
    pub(crate) locale: Option<LocaleChoice>,
    /// Whether a new session could be stored now (the size cap); a held one always can.
    pub(crate) room: bool,
}

/// What one step changes, written at once.
#[derive(Debug, Clone)]
pub struct Write {
    pub key: SessionKey,
    pub session: SessionWrite,
    /// The caller's offer and locale, when the step changed them.
    pub caller: Option<(CallerKey, CallerWrite)>,
}

/// What happens to the session. One is built per step and moved once: the size of the `Put`
/// variant costs nothing that boxing it would save.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum SessionWrite {
    /// Store it, if the session held is still at `expected` (`None`: if none is held).
    Put {
        session: Session,
        expected: Option<Version>,
        ttl: Duration,
    },
    /// Forget it, if the session held is still at `expected`.
    Remove { expected: Option<Version> },
}

/// What happens to a caller's offer and locale.
#[derive(Debug, Clone, Default)]
pub struct CallerWrite {
    pub(crate) offer: OfferWrite,
    pub(crate) locale: Option<(LocaleChoice, Duration)>,
}

#[derive(Debug, Clone, Default)]
pub(crate) enum OfferWrite {
    #[default]
    Keep,
    Put(Offer, Duration),
    Remove,
    /// Remove the offer only if this session left it (a session back at its first screen
    /// leaves nothing to resume, but must not erase another session's offer).
    RemoveIfLeftBy(SessionKey),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The session changed since it was read: step again on what is there now.
    #[error("the session changed since it was read")]
    Conflict,
    /// The store holds its maximum of sessions: the caller gets a polite END.
    #[error("the session store is full")]
    Full,
    /// The store cannot be reached or read.
    #[error("the session store is unavailable: {0}")]
    Unavailable(String),
}

/// An open session (no END reached) that the store dropped at its deadline: its service and
/// the menu screen it was on. Sessions that ended are kept only for retries: their expiry is
/// not an end and is not told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Expired {
    pub(crate) service: String,
    pub(crate) screen: String,
}

/// Told once of each open session a store drops at its deadline. It runs where the store gives
/// the entry back (possibly under a lock of the store's): it must be quick and must not call
/// the store.
pub(crate) type OnExpired = Arc<dyn Fn(Expired) + Send + Sync>;

/// Where sessions, offers and remembered locales live.
pub trait SessionStore: Send + Sync {
    /// The session of `key` and, when `caller` is given, that caller's offer and locale.
    fn load<'a>(
        &'a self,
        key: &'a SessionKey,
        caller: Option<&'a CallerKey>,
    ) -> StoreFuture<'a, Loaded>;

    /// Writes what one step changed; the session's new version when it was put.
    fn save(&self, write: Write) -> StoreFuture<'_, Option<Version>>;

    /// How many sessions are held (for metrics and the admin API).
    fn count(&self) -> StoreFuture<'_, usize>;

    /// How many open sessions (no END reached yet) each service holds, for the admin API.
    fn open_by_service(&self) -> StoreFuture<'_, BTreeMap<String, usize>>;
}

/// Where sessions live, as `[sessions] store` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Backend {
    /// This node's memory (the default).
    Memory,
    /// A Redis several nodes share, at this `redis://host:port/db`.
    Redis(String),
}

impl Backend {
    /// The backend `value` names: `memory`, or `redis://[user:password@]host:port[/db]` with
    /// the port written out. The reason it is refused never quotes the value (it may hold a
    /// password).
    pub(crate) fn parse(value: &str) -> Result<Backend, String> {
        const FORMS: &str = "must be \"memory\" or \"redis://host:port/db\"";
        if value == "memory" {
            return Ok(Backend::Memory);
        }
        let Some(rest) = value.strip_prefix("redis://") else {
            return Err(format!("{FORMS}; its scheme is neither"));
        };
        let (authority, db) = rest.split_once('/').unwrap_or((rest, ""));
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
        let Some((host, port)) = host_port.rsplit_once(':') else {
            return Err(format!("{FORMS}; it names no port"));
        };
        if host.is_empty() || port.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(format!("{FORMS}; its host or port is not one"));
        }
        if !db.is_empty() && db.parse::<u32>().is_err() {
            return Err(format!("{FORMS}; its database is not a number"));
        }
        ::redis::Client::open(value)
            .map_err(|_| format!("{FORMS}; the redis client cannot read it"))?;
        Ok(Backend::Redis(value.to_string()))
    }
}

#[cfg(test)]
mod backend_tests {
    use super::Backend;

    #[test]
    fn memory_and_redis_urls_are_read() {
        assert_eq!(Backend::parse("memory"), Ok(Backend::Memory));
        for url in [
            "redis://127.0.0.1:6379/0",
            "redis://localhost:7000",
            "redis://:secret@10.0.0.5:6379/2",
        ] {
            assert_eq!(Backend::parse(url), Ok(Backend::Redis(url.into())), "{url}");
        }
    }

    #[test]
    fn anything_else_is_refused_without_quoting_it() {
        let long = format!("redis://{}:6379/0", "h".repeat(100_000));
        for bad in [
            "",
            "Memory",
            "redis",
            "redis://",
            "redis://nonsense",
            "redis://:6379/0",
            "redis://host:0/0",
            "redis://host:99999/0",
            "redis://host:port/0",
            "redis://host:6379/db",
            "rediss://host:6379/0",
            "http://host:6379/0",
            "postgres://u:hunter2@host:5432/db",
            "رديس://میزبان:6379/0",
            long.as_str(),
        ] {
            match Backend::parse(bad) {
                Err(rule) => {
                    assert!(rule.starts_with("must be \"memory\""), "{rule}");
                    assert!(
                        !rule.contains("hunter2") && !rule.contains("nonsense"),
                        "{rule}"
                    );
                }
                Ok(backend) if bad.len() > 1000 => {
                    // A long host is a host: the connection, not the configuration, fails.
                    assert!(matches!(backend, Backend::Redis(_)));
                }
                Ok(backend) => panic!("{bad:?} read as {backend:?}"),
            }
        }
    }
}
