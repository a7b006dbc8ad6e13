//! A node's claim on its digit (`[audit] node`) in the shared Redis: taken at start, renewed
//! while the node runs, given back at a clean stop.
//!
//! The claim is the key `daftar:node:<digit>` holding the instance token, with a TTL of
//! `[cluster] claim_ttl_s`, set by one Lua script (absent or already ours: set it; another
//! token: refused), so two nodes racing for a digit cannot both win. The token is kept in a
//! file beside the store (`<store.db>.instance`): sled lets one process own a store, so the
//! token names the node, and a node restarted on its own store after a crash takes its claim
//! back at once; another node with the same digit waits out the TTL or is refused.
//!
//! What it must never do: let a node that lost its claim look ready (it would hand out codes
//! another node may also give).

use anyhow::Context;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Script};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use crate::readiness::{Readiness, Unready};

/// The prefix of every claim key.
const PREFIX: &str = "daftar:node:";

/// Why a claim was not taken.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    #[error(
        "node id {node} is already claimed by another running node (Redis key {key}): give \
         this node another [audit] node digit, or stop the other node; a node that crashed \
         lets go of its claim after [cluster] claim_ttl_s"
    )]
    Taken { node: u8, key: String },
    #[error("redis did not confirm the claim of node id {node}: {reason}")]
    Unreachable { node: u8, reason: String },
}

/// This node's claim: where it lives, the token it holds, how long it lasts.
#[derive(Clone)]
pub struct NodeClaim {
    connection: ConnectionManager,
    node: u8,
    key: String,
    token: String,
    ttl: Duration,
    claim_script: Arc<Script>,
    release_script: Arc<Script>,
}

impl std::fmt::Debug for NodeClaim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeClaim")
            .field("node", &self.node)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl NodeClaim {
    /// The claim of `node` in the Redis at `url`, with the instance token kept at
    /// `token_file` (made on first use). Connects lazily: nothing is asked yet.
    pub fn new(url: &str, node: u8, token_file: &Path, ttl: Duration) -> anyhow::Result<Self> {
        let client = Client::open(url).context("the Redis URL of the node claim")?;
        let bound = ttl
            .min(Duration::from_secs(2))
            .max(Duration::from_millis(200));
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(bound))
            .set_connection_timeout(Some(bound))
            .set_max_delay(Duration::from_secs(1));
        let connection = ConnectionManager::new_lazy_with_config(client, config)
            .context("the Redis connection of the node claim")?;
        Ok(NodeClaim {
            connection,
            node,
            key: format!("{PREFIX}{node}"),
            token: instance_token(token_file)?,
            ttl,
            claim_script: Arc::new(Script::new(include_str!("claim.lua"))),
            release_script: Arc::new(Script::new(include_str!("release.lua"))),
        })
    }

    /// The file of the instance token beside the store `db`.
    pub fn token_file(db: &Path) -> PathBuf {
        let mut name = db.as_os_str().to_owned();
        name.push(".instance");
        PathBuf::from(name)
    }

    /// Takes the claim, or renews it: refused when another instance holds it.
    pub async fn take(&self) -> Result<(), ClaimError> {
        let ttl_ms = self.ttl.as_millis().to_string();
        let mut invocation = self.claim_script.key(&self.key);
        invocation.arg(&self.token).arg(ttl_ms);
        let mut connection = self.connection.clone();
        // Within a third of the claim's life, so a renewal that gets no answer is over before
        // the next one; and never long enough to hold up a start.
        let bound = (self.ttl / 3).clamp(Duration::from_millis(200), Duration::from_secs(2));
        let answer: Result<i64, String> =
            match tokio::time::timeout(bound, invocation.invoke_async(&mut connection)).await {
                Ok(answer) => answer.map_err(|e| e.to_string()),
                Err(_) => Err("no answer in time".to_string()),
            };
        match answer {
            Ok(1) => Ok(()),
            Ok(_) => Err(ClaimError::Taken {
                node: self.node,
                key: self.key.clone(),
            }),
            Err(reason) => Err(ClaimError::Unreachable {
                node: self.node,
                reason,
            }),
        }
    }

    /// Gives the claim back, if this instance still holds it (a clean stop).
    pub async fn release(&self) {
        let mut invocation = self.release_script.key(&self.key);
        invocation.arg(&self.token);
        let mut connection = self.connection.clone();
        let released = tokio::time::timeout(
            Duration::from_secs(1),
            invocation.invoke_async::<i64>(&mut connection),
        )
        .await;
        if !matches!(released, Ok(Ok(1))) {
            tracing::debug!(
                node = self.node,
                "the node claim was not given back; it expires"
            );
        }
    }

    /// Renews the claim a third of its life apart until `stop`, holding
    /// [`Unready::NodeUnclaimed`] while it is not confirmed; gives it back at the end.
    pub(crate) async fn keep(self, readiness: Arc<Readiness>, stop: CancellationToken) {
        let mut tick = tokio::time::interval(self.ttl / 3);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => self.renew(&readiness).await,
                _ = stop.cancelled() => break,
            }
        }
        self.release().await;
    }

    async fn renew(&self, readiness: &Readiness) {
        match self.take().await {
            Ok(()) => {
                if readiness.clear(Unready::NodeUnclaimed(self.node)) {
                    tracing::info!(node = self.node, "the node id is claimed again");
                }
            }
            Err(error) => {
                if readiness.hold(Unready::NodeUnclaimed(self.node)) {
                    tracing::error!(%error, "the node id claim is not confirmed; not ready");
                }
            }
        }
    }
}

/// The token of this node's instance: read from `file`, or made (128 random bits) and
/// written there owner-only on first use.
fn instance_token(file: &Path) -> anyhow::Result<String> {
    if let Ok(held) = std::fs::read_to_string(file) {
        let held = held.trim();
        if held.len() == 32 && held.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(held.to_string());
        }
    }
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no random token: {e}"))?;
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot make {}", dir.display()))?;
    }
    write_owner_only(file, &token)
        .with_context(|| format!("cannot write the instance token {}", file.display()))?;
    Ok(token)
}

fn write_owner_only(file: &Path, token: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut out = options.open(file)?;
    out.write_all(token.as_bytes())?;
    out.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_instance_token_is_made_once_and_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = NodeClaim::token_file(&dir.path().join("db"));
        assert!(file.to_string_lossy().ends_with("db.instance"));
        let first = instance_token(&file).expect("made");
        assert_eq!(first.len(), 32);
        assert_eq!(instance_token(&file).expect("read"), first);
        std::fs::write(&file, "garbage\n").expect("spoil");
        let remade = instance_token(&file).expect("remade");
        assert_ne!(remade, first);
        assert_eq!(remade.len(), 32);
    }
}
