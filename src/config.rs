//! One typed configuration, read from a TOML file, every key with a default.
//!
//! `daftar serve` starts with no file at all: the defaults give a working service on
//! `127.0.0.1:8080` over `./var/db`, following the sample feed in `data/`. Command-line flags
//! override the file; secrets come from the environment (`DAFTAR_HASH_KEY`,
//! `DAFTAR_ADMIN_TOKEN`) so that they need not sit in a file. Unknown keys are refused, so a
//! typo is an error at start, not a silently ignored setting.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::text::gsm7::Budget;

/// The store directory that `serve` uses when none is given; only with it does the sample feed
/// become the default feed (SPEC §7).
pub const DEFAULT_DB: &str = "var/db";
/// The sample feed followed by default.
pub const DEFAULT_FEED: &str = "data/feed.ndjson";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub store: StoreConfig,
    pub feed: FeedConfig,
    pub sessions: SessionConfig,
    pub screen: Budget,
    pub audit: AuditConfig,
    pub menus: MenusConfig,
    pub admin: AdminConfig,
    /// Per-service overrides, by service id (`[services.tamin] codes = ["*4*1420#"]`).
    pub services: BTreeMap<String, ServiceOverride>,
    /// Per-dialect settings, by dialect name (`[dialects.beem] default_service = "tamin"`).
    pub dialects: BTreeMap<String, DialectConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Connections served at once; the accept loop waits beyond it.
    pub max_connections: usize,
    /// Time allowed to read a request head (hyper's header timeout; slowloris guard).
    pub header_timeout_ms: u64,
    /// Largest request body accepted; larger gets 413.
    pub body_limit_bytes: usize,
    /// Time allowed for a body once the head is read; slower gets 408.
    pub body_timeout_ms: u64,
    /// How long shutdown waits for in-flight requests.
    pub shutdown_grace_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    pub db: PathBuf,
    /// sled's page cache; never left at sled's 1 GiB default (CRATES.md).
    pub cache_mb: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeedConfig {
    /// A file, a directory of `*.ndjson`, or (later) an URL. `None`: follow nothing.
    pub source: Option<String>,
    /// How often a followed feed is polled for new changes.
    pub poll_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// Idle time after which a session is forgotten.
    pub idle_s: u64,
    /// How long an ended session keeps its last reply for a retried final step.
    pub ended_s: u64,
    /// Most sessions held at once; a caller beyond it gets a polite END.
    pub max: usize,
    /// How long a dropped session is offered for resumption.
    pub resume_s: u64,
    /// How often the sweeper runs.
    pub sweep_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// This node's digit in every tracking code (0–9): unique per node of one short code.
    pub node: u8,
    pub retention_days: u32,
    /// Secret for the keyed hashes of MSISDNs and identifiers; prefer `DAFTAR_HASH_KEY`.
    pub hash_key: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MenusConfig {
    pub dir: PathBuf,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    /// Bearer token of the admin API; prefer `DAFTAR_ADMIN_TOKEN`. None: the admin API is off.
    pub token: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceOverride {
    /// Short codes routed to this service, replacing the menu file's.
    pub codes: Option<Vec<String>>,
    /// Disables the service without deleting its menu.
    pub disabled: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DialectConfig {
    /// The service for requests that carry no service code.
    pub default_service: Option<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_connections: 2048,
            header_timeout_ms: 5_000,
            body_limit_bytes: 8 * 1024,
            body_timeout_ms: 10_000,
            shutdown_grace_ms: 8_000,
        }
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            db: PathBuf::from(DEFAULT_DB),
            cache_mb: 256,
        }
    }
}

impl Default for FeedConfig {
    fn default() -> Self {
        FeedConfig {
            source: None,
            poll_ms: 1_000,
        }
    }
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            idle_s: 180,
            ended_s: 30,
            max: 200_000,
            resume_s: 300,
            sweep_ms: 1_000,
        }
    }
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            node: 0,
            retention_days: 400,
            hash_key: None,
        }
    }
}

impl Default for MenusConfig {
    fn default() -> Self {
        MenusConfig {
            dir: PathBuf::from("menus"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("configuration {path} is not valid: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl Config {
    /// Reads `path` when given, else the defaults; then applies the environment's secrets.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let mut config = match path {
            Some(path) => Self::from_file(path)?,
            None => Config::default(),
        };
        config.apply_env();
        config.validate().map_err(|message| ConfigError::Invalid {
            path: path.map(Path::to_path_buf).unwrap_or_default(),
            message,
        })?;
        Ok(config)
    }

    fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Invalid {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    fn apply_env(&mut self) {
        if let Ok(key) = std::env::var("DAFTAR_HASH_KEY") {
            if !key.is_empty() {
                self.audit.hash_key = Some(key);
            }
        }
        if let Ok(token) = std::env::var("DAFTAR_ADMIN_TOKEN") {
            if !token.is_empty() {
                self.admin.token = Some(token);
            }
        }
    }

    fn validate(&self) -> Result<(), String> {
        if self.audit.node > 9 {
            return Err(format!("audit.node must be 0–9, not {}", self.audit.node));
        }
        if self.screen.ucs2 < 40 || self.screen.gsm7 < 80 {
            return Err(
                "screen budgets below 40 UCS-2 / 80 GSM-7 characters cannot hold a menu".into(),
            );
        }
        if self.sessions.max == 0 || self.sessions.idle_s == 0 {
            return Err("sessions.max and sessions.idle_s must be above 0".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_gives_the_defaults() {
        let config: Config = toml::from_str("").expect("empty is valid");
        assert_eq!(config.server.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.sessions.idle_s, 180);
        assert_eq!(config.screen.gsm7, 182);
        assert_eq!(config.screen.ucs2, 80);
        assert_eq!(config.audit.retention_days, 400);
    }

    #[test]
    fn unknown_and_mistyped_keys_are_refused() {
        for text in [
            "[server]\nlisen = \"127.0.0.1:1\"",
            "[sessions]\nidle_s = \"soon\"",
            "[nothing]\n",
        ] {
            assert!(toml::from_str::<Config>(text).is_err(), "{text}");
        }
    }

    #[test]
    fn overrides_are_read() {
        let config: Config = toml::from_str(
            "[services.tamin]\ncodes = [\"*4*1420#\", \"*1420#\"]\n[screen]\nucs2 = 70\n",
        )
        .expect("valid");
        assert_eq!(
            config.services["tamin"].codes.as_ref().map(Vec::len),
            Some(2)
        );
        assert_eq!(config.screen.ucs2, 70);
        assert_eq!(config.screen.gsm7, 182);
    }
}
