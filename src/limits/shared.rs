//! The per-MSISDN and per-identifier limits held across nodes: the same GCRA as the node's
//! own limiters (`governor`), run in the Redis the sessions live in, as one Lua script per
//! check (`gcra.lua`: read the key's theoretical arrival time, decide, write it back with a
//! TTL of the limit's period), on Redis's clock. So a phone whose steps land on several nodes
//! has one budget, not one per node.
//!
//! Chosen by `[sessions] store` alone: sessions in Redis means limits in Redis (a deployment
//! with shared sessions and per-node limits would let a phone multiply its budget by the
//! nodes, and no setting should allow it).
//!
//! Redis down: each check falls back to the node-local limiter (the caller is still held to
//! a node's budget), logged once until Redis answers again. Failing closed would turn a Redis
//! outage into refusing every caller of a national service; failing wide open would drop the
//! limits exactly when the shared state is gone. (With sessions in the same Redis, steps get
//! the polite "unavailable" END anyway while it is down.)
//!
//! Keys are `daftar:lim:<limit>:<64-bit keyed hash>`: they name no one.

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Script};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::Limit;

/// A check's verdict from Redis: allowed, or the wait until it would be.
pub(crate) type Verdict = Result<(), Duration>;

/// The shared GCRA: a connection to the sessions' Redis and its script.
pub(crate) struct SharedGcra {
    connection: ConnectionManager,
    script: Script,
    timeout: Duration,
    /// Set while checks fall back to the node's own limiters (logged once per outage).
    falling_back: AtomicBool,
}

impl SharedGcra {
    /// The limits in the Redis at `url`, each check bounded by `timeout`. Connects lazily.
    pub(crate) fn open(url: &str, timeout: Duration) -> Result<SharedGcra, redis::RedisError> {
        let client = Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(timeout))
            .set_connection_timeout(Some(timeout))
            .set_max_delay(Duration::from_secs(1));
        Ok(SharedGcra {
            connection: ConnectionManager::new_lazy_with_config(client, config)?,
            script: Script::new(include_str!("gcra.lua")),
            timeout,
            falling_back: AtomicBool::new(false),
        })
    }

    /// One cell of `limit` for `key` (`per` every `period`); `None` when Redis did not answer
    /// (the caller falls back to the node's limiter).
    pub(crate) async fn check(
        &self,
        limit: Limit,
        key: u64,
        per: u32,
        period: Duration,
    ) -> Option<Verdict> {
        let name = format!("daftar:lim:{}:{key:016x}", limit.label());
        let interval_us = (period.as_micros() / u128::from(per.max(1))).max(1);
        let ttl_ms = period.as_millis().max(1);
        let mut invocation = self.script.key(name);
        invocation
            .arg(interval_us.to_string())
            .arg(per)
            .arg(ttl_ms.to_string());
        let mut connection = self.connection.clone();
        let answer = tokio::time::timeout(
            self.timeout,
            invocation.invoke_async::<(i64, i64)>(&mut connection),
        )
        .await;
        match answer {
            Ok(Ok((allowed, wait_us))) => {
                if self.falling_back.swap(false, Ordering::Relaxed) {
                    tracing::info!("rate limits are shared through Redis again");
                }
                Some(match allowed {
                    1 => Ok(()),
                    _ => Err(Duration::from_micros(wait_us.max(0) as u64)),
                })
            }
            Ok(Err(error)) => self.fell_back(&error.to_string()),
            Err(_) => self.fell_back("no answer within sessions.store_timeout_ms"),
        }
    }

    fn fell_back(&self, reason: &str) -> Option<Verdict> {
        if !self.falling_back.swap(true, Ordering::Relaxed) {
            tracing::warn!(%reason, "Redis does not answer the rate limits: each node holds callers to its own limits until it does");
        }
        None
    }
}
