//! Whether a shared session store answers, as `/readyz` says it: a task asks the store for its
//! count every tick, holds [`Unready::SessionStoreDown`] while it fails and clears it once it
//! answers again, so a balancer sends no caller to a node that could only answer "unavailable"
//! and sends them back by itself when the store returns.

use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use super::SessionStore;
use crate::readiness::{Readiness, Unready};

/// Probes `store` every `every` until `stop`.
pub(crate) async fn watch(
    store: Arc<dyn SessionStore>,
    readiness: Arc<Readiness>,
    every: Duration,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => check(store.as_ref(), &readiness).await,
            _ = stop.cancelled() => return,
        }
    }
}

/// One probe: holds or clears the condition, logging each change once.
async fn check(store: &dyn SessionStore, readiness: &Readiness) {
    match store.count().await {
        Ok(_) => {
            if readiness.clear(Unready::SessionStoreDown) {
                tracing::info!("the session store answers again");
            }
        }
        Err(error) => {
            if readiness.hold(Unready::SessionStoreDown) {
                tracing::error!(%error, "the session store does not answer");
            }
        }
    }
}
