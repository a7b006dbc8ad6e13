//! How much one caller may ask (SPEC §8): GCRA rate limits (`governor`) per MSISDN (steps a
//! minute, inquiries an hour), per queried identifier (inquiries an hour, from all phones), and
//! per aggregator address (requests a second); the per-MSISDN share of the session table lives
//! in the session store, and the per-address connection cap in [`sources`].
//!
//! Where it sits: the server asks [`Limits::request`] before it reads a body, the engine asks
//! [`Limits::step`] before a turn does any work, and the actions ask [`Limits::inquiry`] before
//! a question reaches the store. A caller held back gets a polite END naming the wait; the
//! words are the locale files'.
//!
//! Keys are 64 bits of the keyed hash of an MSISDN or identifier, never the value in clear, so
//! a dump of the limiters names no one. A limiter keeps about 35 bytes per key it saw; the
//! owner runs [`Limits::forget`] on a timer, which drops every key whose state is back to fresh,
//! so memory follows the callers of the last minutes, not all callers ever.
//!
//! With sessions in Redis, the per-MSISDN and per-identifier limits are checked in Redis
//! ([`shared`]) so that they hold across nodes; the node's own limiters stand in while Redis
//! does not answer. The per-address limit stays the node's: it guards the node itself.

pub mod config;
pub(crate) mod shared;
pub(crate) mod sources;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use std::collections::HashSet;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use crate::audit::KeyedHasher;
use crate::locale::localize_digits;
use crate::menu::Words;

pub use config::LimitsConfig;

/// The label of `daftar_limited_total`: the limit, never an MSISDN or an identifier.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct LimitLabel {
    pub(crate) limit: String,
}

/// Which limit held a request back: the `limit` label of `daftar_limited_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limit {
    MsisdnSteps,
    /// A new session replaced the caller's oldest (the table share, `session_store`).
    MsisdnSessions,
    MsisdnInquiries,
    Identifier,
    SourceRequests,
    SourceConnections,
    /// A general inquiry from a phone that is not a registered provider's.
    ProvidersOnly,
}

impl Limit {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Limit::MsisdnSteps => "msisdn_steps",
            Limit::MsisdnSessions => "msisdn_sessions",
            Limit::MsisdnInquiries => "msisdn_inquiries",
            Limit::Identifier => "identifier",
            Limit::SourceRequests => "source_requests",
            Limit::SourceConnections => "source_connections",
            Limit::ProvidersOnly => "providers_only",
        }
    }
}

/// A request held back by `limit`, and how long until the same request would pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limited {
    pub(crate) limit: Limit,
    pub(crate) wait: Duration,
}

impl Limited {
    /// What the caller reads, from `words` in `locale`: the wait in minutes, in the locale's
    /// digits, after the message of the limit (`limit.phone` or `limit.number`).
    pub(crate) fn told(&self, words: &Words, locale: &str, vars: &[(String, String)]) -> String {
        let key = match self.limit {
            Limit::Identifier => "limit.number",
            Limit::ProvidersOnly => "limit.providers",
            _ => "limit.phone",
        };
        let minutes = localize_digits(&self.minutes().to_string(), locale);
        let mut all = vars.to_vec();
        all.push(("minutes".to_string(), minutes));
        words.fill(key, &all)
    }

    /// The wait in whole minutes, rounded up, at least one: what a caller is told.
    pub(crate) fn minutes(&self) -> u64 {
        self.wait.as_secs().div_ceil(60).max(1)
    }

    /// The wait in whole seconds, rounded up, at least one: `Retry-After`.
    pub(crate) fn seconds(&self) -> u64 {
        (self.wait.as_millis().div_ceil(1_000) as u64).max(1)
    }
}

/// governor's clock over tokio's, so that a test that pauses tokio's clock moves the limits too
/// (as it moves the session store's expiry).
#[derive(Debug, Clone)]
struct TokioClock {
    origin: tokio::time::Instant,
}

impl Clock for TokioClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        Nanos::from(self.origin.elapsed())
    }
}

/// One keyed GCRA limiter.
struct Keyed<K: Hash + Eq + Clone> {
    limiter: RateLimiter<K, DashMapStateStore<K>, TokioClock, NoOpMiddleware<Nanos>>,
    clock: TokioClock,
    limit: Limit,
    /// The quota: `per` cells every `period` (what the shared GCRA is told).
    per: u32,
    period: Duration,
}

impl<K: Hash + Eq + Clone> Keyed<K> {
    /// `per` cells every `period`, all of them at once if they come at once; `None` when 0.
    fn new(per: u32, period: Duration, limit: Limit, clock: &TokioClock) -> Option<Keyed<K>> {
        let burst = NonZeroU32::new(per)?;
        let quota = Quota::with_period(period / per)?.allow_burst(burst);
        Some(Keyed {
            limiter: RateLimiter::dashmap_with_clock(quota, clock.clone()),
            clock: clock.clone(),
            limit,
            per,
            period,
        })
    }

    fn check(&self, key: &K) -> Result<(), Limited> {
        self.limiter.check_key(key).map_err(|not_until| Limited {
            limit: self.limit,
            wait: not_until.wait_time_from(self.clock.now()),
        })
    }

    fn forget(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3_600);
const SECOND: Duration = Duration::from_secs(1);

/// Every rate limit of the node; share it behind an `Arc`.
pub(crate) struct Limits {
    msisdn_steps: Option<Keyed<u64>>,
    msisdn_inquiries: Option<Keyed<u64>>,
    identifiers: Option<Keyed<u64>>,
    sources: Option<Keyed<IpAddr>>,
    /// With `providers_only`: the keyed hashes of the providers' MSISDNs.
    providers: Option<HashSet<u64>>,
    hasher: KeyedHasher,
    /// The limits shared through Redis, with sessions in Redis (`shared`); `None`: this node's.
    shared: Option<shared::SharedGcra>,
    counted: Family<LimitLabel, Counter>,
    /// How often [`Limits::forget`] should run.
    pub(crate) forget_every: Duration,
}

impl Limits {
    pub(crate) fn new(config: &LimitsConfig, hasher: KeyedHasher) -> Limits {
        let clock = TokioClock {
            origin: tokio::time::Instant::now(),
        };
        Limits {
            msisdn_steps: Keyed::new(
                config.msisdn_steps_per_minute,
                MINUTE,
                Limit::MsisdnSteps,
                &clock,
            ),
            msisdn_inquiries: Keyed::new(
                config.msisdn_inquiries_per_hour,
                HOUR,
                Limit::MsisdnInquiries,
                &clock,
            ),
            identifiers: Keyed::new(
                config.identifier_inquiries_per_hour,
                HOUR,
                Limit::Identifier,
                &clock,
            ),
            sources: Keyed::new(
                config.source_requests_per_second,
                SECOND,
                Limit::SourceRequests,
                &clock,
            ),
            providers: config.providers_only.then(|| {
                let keys = config.providers.iter().map(|m| key_of(&hasher, m));
                keys.collect()
            }),
            hasher,
            shared: None,
            counted: Family::default(),
            forget_every: Duration::from_secs(config.forget_every_s.max(1)),
        }
    }

    /// No limit at all (tests of something else).
    pub(crate) fn off(hasher: KeyedHasher) -> Limits {
        Limits::new(&LimitsConfig::off(), hasher)
    }

    /// These limits, with the per-MSISDN and per-identifier ones kept in the Redis at `url`
    /// (the sessions' Redis), each check bounded by `timeout`.
    pub(crate) fn shared_in(mut self, url: &str, timeout: Duration) -> anyhow::Result<Limits> {
        let shared = shared::SharedGcra::open(url, timeout)
            .map_err(|e| anyhow::anyhow!("the Redis of the shared rate limits: {e}"))?;
        self.shared = Some(shared);
        Ok(self)
    }

    /// One step of the caller `msisdn`.
    pub(crate) async fn step(&self, msisdn: &str) -> Result<(), Limited> {
        self.checked_caller(&self.msisdn_steps, self.key_of(msisdn))
            .await
    }

    /// One inquiry of the caller `msisdn` about `identifier` (none: about the caller's own
    /// record, as `tamin` 3 asks).
    pub(crate) async fn inquiry(
        &self,
        msisdn: &str,
        identifier: Option<&str>,
    ) -> Result<(), Limited> {
        self.checked_caller(&self.msisdn_inquiries, self.key_of(msisdn))
            .await?;
        match identifier {
            Some(identifier) => {
                self.checked_caller(&self.identifiers, self.key_of(identifier))
                    .await
            }
            None => Ok(()),
        }
    }

    /// A per-caller or per-identifier limit: in Redis when shared and Redis answers, else by
    /// this node's limiter.
    async fn checked_caller(&self, keyed: &Option<Keyed<u64>>, key: u64) -> Result<(), Limited> {
        let Some(keyed) = keyed else {
            return Ok(());
        };
        let verdict = match &self.shared {
            Some(shared) => shared
                .check(keyed.limit, key, keyed.per, keyed.period)
                .await
                .map(|verdict| {
                    verdict.map_err(|wait| Limited {
                        limit: keyed.limit,
                        wait,
                    })
                }),
            None => None,
        };
        verdict
            .unwrap_or_else(|| keyed.check(&key))
            .inspect_err(|limited| self.count(limited.limit))
    }

    /// Whether `msisdn` may make a general inquiry: a registered provider's, or anyone's
    /// when `providers_only` is off.
    pub(crate) fn provider(&self, msisdn: &str) -> Result<(), Limited> {
        match &self.providers {
            Some(providers) if !providers.contains(&self.key_of(msisdn)) => {
                self.count(Limit::ProvidersOnly);
                Err(Limited {
                    limit: Limit::ProvidersOnly,
                    wait: Duration::ZERO,
                })
            }
            _ => Ok(()),
        }
    }

    /// One request from the address `source`.
    pub(crate) fn request(&self, source: IpAddr) -> Result<(), Limited> {
        self.checked(&self.sources, &source.to_canonical())
    }

    /// Counts a limit that bit elsewhere (the connection cap).
    pub(crate) fn count(&self, limit: Limit) {
        self.counter(limit).inc();
    }

    /// The counter of `limit`, for a limit kept elsewhere (the table share).
    pub(crate) fn counter(&self, limit: Limit) -> Counter {
        let label = LimitLabel {
            limit: limit.label().to_string(),
        };
        self.counted.get_or_create(&label).clone()
    }

    /// The counter family of `daftar_limited_total`, for the metrics registry.
    pub(crate) fn counted(&self) -> Family<LimitLabel, Counter> {
        self.counted.clone()
    }

    /// Forgets every key whose limiter state is back to fresh, and gives the memory back.
    pub(crate) fn forget(&self) {
        for keyed in [
            &self.msisdn_steps,
            &self.msisdn_inquiries,
            &self.identifiers,
        ]
        .into_iter()
        .flatten()
        {
            keyed.forget();
        }
        if let Some(sources) = &self.sources {
            sources.forget();
        }
    }

    /// How many keys the limiters hold (memory is about 35 bytes each).
    #[cfg(test)]
    pub(crate) fn keys(&self) -> usize {
        let keyed = [
            &self.msisdn_steps,
            &self.msisdn_inquiries,
            &self.identifiers,
        ]
        .into_iter()
        .flatten()
        .map(|k| k.limiter.len())
        .sum::<usize>();
        keyed + self.sources.as_ref().map_or(0, |s| s.limiter.len())
    }

    fn checked<K: Hash + Eq + Clone>(
        &self,
        keyed: &Option<Keyed<K>>,
        key: &K,
    ) -> Result<(), Limited> {
        let Some(keyed) = keyed else {
            return Ok(());
        };
        keyed
            .check(key)
            .inspect_err(|limited| self.count(limited.limit))
    }

    fn key_of(&self, value: &str) -> u64 {
        key_of(&self.hasher, value)
    }
}

/// 64 bits of the keyed hash of `value`: the hasher's hex, read as a number.
fn key_of(hasher: &KeyedHasher, value: &str) -> u64 {
    let hash = hasher.hash(value);
    let head = hash.get(..16).unwrap_or(&hash);
    u64::from_str_radix(head, 16).unwrap_or_default()
}

#[cfg(test)]
mod tests;
