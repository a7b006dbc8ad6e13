//! One typed configuration, read from a TOML file, every key with a default.
//!
//! `daftar serve` starts with no file at all: the defaults give a working service on
//! `127.0.0.1:8080` over `./var/db`, following the sample feed in `data/`. Command-line flags
//! override the file; secrets come from the environment (`DAFTAR_HASH_KEY`,
//! `DAFTAR_ADMIN_TOKEN`, `DAFTAR_DIALECT_<NAME>_SECRET`, `DAFTAR_DIALECT_<NAME>_BASIC_AUTH`,
//! `DAFTAR_SMPP_<NAME>_PASSWORD`, `DAFTAR_SMS_API_KEY`) so that they need not sit in a file.
//! Unknown keys are refused, so a typo is an error at start, not a silently ignored setting.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::benefits::Benefits;
use crate::limits::LimitsConfig;
use crate::smpp::config::GatewayConfig;
use crate::text::gsm7::Budget;

/// The store directory that `serve` uses when none is given; only with it does the sample feed
/// become the default feed (SPEC §7).
pub const DEFAULT_DB: &str = "var/db";
/// The sample feed followed by default.
pub const DEFAULT_FEED: &str = "data/feed.ndjson";
/// `[feed] max_seq_gap` by default: far above any real day's changes of one insurer, far below
/// a `seq` mistyped with extra digits.
pub const DEFAULT_MAX_SEQ_GAP: u64 = 1_000_000;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub store: StoreConfig,
    pub feed: FeedConfig,
    pub sessions: SessionConfig,
    pub screen: Budget,
    pub(crate) audit: AuditConfig,
    pub menus: MenusConfig,
    pub admin: AdminConfig,
    /// Rate limits per MSISDN, per queried identifier and per source address, and each
    /// MSISDN's share of the session table (`limits::config` holds the section's keys).
    pub limits: LimitsConfig,
    /// Per-service overrides, by service id (`[services.tamin] codes = ["*4*1420#"]`).
    pub services: BTreeMap<String, ServiceOverride>,
    /// Per-dialect settings, by dialect name (`[dialects.beem] default_service = "tamin"`).
    pub dialects: BTreeMap<String, DialectConfig>,
    /// The operators' USSD gateways daftar binds to over SMPP, by name (`[smpp.mtn]`); none:
    /// no bind (`smpp::config` holds the section's keys).
    pub smpp: BTreeMap<String, GatewayConfig>,
    /// The SMS channel (`cnam`, SPEC §4.1): the provider replies and alerts are sent through.
    pub sms: SmsConfig,
    /// The FHIR eligibility API's clients (`[fhir.clients.<name>]`; `fhir::config`).
    pub fhir: crate::fhir::config::FhirConfig,
    /// The browser phone simulator at `/simulator` (on by default).
    pub simulator: SimulatorConfig,
    /// Several nodes: peers' admin URLs and the node-id claim (`cluster::config`).
    pub cluster: crate::cluster::ClusterConfig,
}

impl Config {
    /// This node's digit in its tracking codes (`[audit] node`).
    pub fn node(&self) -> u8 {
        self.audit.node
    }

    /// Sets this node's digit (`[audit] node`), as a multi-node test does per node.
    pub fn set_node(&mut self, node: u8) {
        self.audit.node = node;
    }
}

/// `[simulator]`: the phone simulator page (SPEC §7), served where the USSD endpoints are,
/// since its page calls them on the same origin.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimulatorConfig {
    /// `false`: `/simulator` answers 404 (an aggregators' port reachable from the internet
    /// may want the page off; the USSD endpoints it calls are open to the same callers anyway).
    pub enabled: bool,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        SimulatorConfig { enabled: true }
    }
}

/// `[sms]`: where SMS leave. With no `provider`, inbound commands are still answered and alerts
/// made, and every message waits in the outbox; nothing is sent.
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmsConfig {
    /// `"africastalking"`, the only one for now; `None`: no SMS is sent.
    pub provider: Option<String>,
    /// The provider's API base; the send path (`/version1/messaging`) is appended.
    pub base_url: Option<String>,
    /// The provider's application username.
    pub username: Option<String>,
    /// The `from` of every SMS (the short code), and the only `to` an inbound SMS may name;
    /// `None`: inbound SMS to any `to` are taken, and the provider's default sender is used.
    pub sender: Option<String>,
    /// The provider's API key; prefer `DAFTAR_SMS_API_KEY`.
    pub api_key: Option<String>,
    /// The wait before the first retry of a send that failed for a while (5xx, 429, network);
    /// doubled at each attempt up to `retry_max_ms`. Above 0.
    pub retry_base_ms: u64,
    /// The longest wait between two attempts. At least `retry_base_ms`.
    pub retry_max_ms: u64,
    /// Attempts before a message that keeps failing for a while is given up. Above 0.
    pub max_attempts: u32,
    /// How long one send request may take. Above 0.
    pub timeout_ms: u64,
}

impl Default for SmsConfig {
    fn default() -> Self {
        SmsConfig {
            provider: None,
            base_url: None,
            username: None,
            sender: None,
            api_key: None,
            retry_base_ms: 2_000,
            retry_max_ms: 600_000,
            max_attempts: 12,
            timeout_ms: 15_000,
        }
    }
}

/// Never shows the API key.
impl std::fmt::Debug for SmsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsConfig")
            .field("provider", &self.provider)
            .field("base_url", &self.base_url)
            .field("sender", &self.sender)
            .field("api_key", &self.api_key.as_ref().map(|_| ".."))
            .finish_non_exhaustive()
    }
}

/// The providers `[sms] provider` may name.
const SMS_PROVIDERS: [&str; 1] = ["africastalking"];

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Connections served at once; the accept loop waits beyond it. At least 1.
    pub max_connections: usize,
    /// Time allowed to read a request head (hyper's header timeout; slowloris guard). Above 0:
    /// a head cannot arrive in no time.
    pub header_timeout_ms: u64,
    /// Largest request body accepted; larger gets 413. At least [`MIN_BODY_LIMIT`].
    pub(crate) body_limit_bytes: usize,
    /// Time allowed for a body once the head is read; slower gets 408. Above 0.
    pub body_timeout_ms: u64,
    /// How long shutdown waits for in-flight requests.
    pub shutdown_grace_ms: u64,
    /// Connections one source address may hold at once (slow ones included), unless
    /// `source_allowance` names it; beyond it a connection gets 503 and is closed before its
    /// request is read. 0: no cap.
    pub per_source_connections: usize,
    /// Allowances by address or CIDR range, for the aggregators that carry many callers
    /// (`"196.201.214.0/24" = 1024`); the most specific range holds.
    pub source_allowance: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    pub db: PathBuf,
    /// sled's page cache; never left at sled's 1 GiB default (CRATES.md). Above 0.
    pub cache_mb: u64,
    /// Group commit (SPEC §8): each batch of the writer is flushed to disk before any of its
    /// steps replies, so a tracking code shown survives a crash. `false` only to measure what
    /// durability costs (BENCHMARKS.md): a crash then loses the last ~500 ms of codes.
    pub durable_writes: bool,
    /// Where `POST /admin/backup` writes its files; without one, that endpoint is off.
    pub backup_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeedConfig {
    /// A file, a directory of `*.ndjson`, or an `http://`/`https://` URL answering
    /// `GET <url>?since=<seq>`. `None`: follow nothing.
    pub source: Option<String>,
    /// How often a followed feed is polled for new changes. Above 0.
    pub poll_ms: u64,
    /// The largest step a `seq` may take above the last one applied; a line beyond it is
    /// rejected (reported, counted), so one mistyped `seq` cannot move the watermark past
    /// every later change. 0: no limit.
    pub max_seq_gap: u64,
    /// HTTP feed: how long one page request may take, connect to last byte. Above 0.
    pub timeout_ms: u64,
    /// HTTP feed: the longest wait between two failed polls (the wait doubles from `poll_ms`
    /// up to it, with jitter). Above 0.
    pub backoff_max_ms: u64,
    /// A followed feed not read to its end for more than this many seconds makes `/readyz`
    /// false (the node would answer from stale records; `readiness::feed_lag_reason`).
    /// 0: off. Above `poll_ms` when set, else the node would be unready between two polls.
    pub max_lag_s: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// Idle time after which a session is forgotten. Above 0.
    pub idle_s: u64,
    /// How long an ended session keeps its last reply for a retried final step (at most
    /// `idle_s`). Above 0: a retried final step must find its reply (SPEC §3).
    pub(crate) ended_s: u64,
    /// Most sessions held at once; a caller beyond it gets a polite END. Above 0.
    pub max: usize,
    /// How long a dropped session is offered for resumption. Above 0: 0 is not "off" (an
    /// offer kept 0 s would be made and never shown), so it is refused rather than guessed.
    pub(crate) resume_s: u64,
    /// How often the sweeper runs. Above 0: a timer cannot tick every 0 ms.
    pub sweep_ms: u64,
    /// Where sessions live: `"memory"` (this node) or `"redis://host:port/db"` (shared by
    /// several nodes; `session_store::redis`).
    pub store: String,
    /// The bound on each command to a Redis store (and each connection attempt), past which a
    /// step gets the polite "unavailable" END. Above 0.
    pub store_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct AuditConfig {
    /// This node's digit in every tracking code (0–9): unique per node of one short code.
    pub(crate) node: u8,
    /// Days an audit entry is kept. Above 0: the operations team looks a code up after the
    /// call (SPEC §6), and 0 days would purge it within the hour.
    pub(crate) retention_days: u32,
    /// Secret for the keyed hashes of MSISDNs and identifiers; prefer `DAFTAR_HASH_KEY`.
    pub(crate) hash_key: Option<String>,
    /// The file of the generated secrets (the hash key when none is given, the tracking-code
    /// key), owner-only, never inside the store. None: `<store.db>.key` beside the store.
    pub(crate) key_file: Option<PathBuf>,
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
    /// Never empty (refused): an empty token would be matched by an empty `Bearer `.
    pub token: Option<String>,
    /// An address of their own for `/metrics` and `/admin/` (`127.0.0.1:9090`): when set they
    /// are no longer served on `[server] listen`, the aggregators' port. None: one port.
    pub listen: Option<SocketAddr>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceOverride {
    /// Short codes routed to this service, replacing the menu file's.
    pub(crate) codes: Option<Vec<String>>,
    /// Disables the service without deleting its menu.
    pub(crate) disabled: bool,
    /// Ceilings' limits and rates laid over the menu file's `[benefits]`, key by key
    /// (`[services.mutual.benefits.ceilings] dental = "350.000"`).
    pub(crate) benefits: Option<Benefits>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DialectConfig {
    /// The service for requests that carry no service code.
    pub default_service: Option<String>,
    /// A smaller screen for this aggregator's gateways than `[screen]` (Nalo documents 120
    /// characters): `screen = { gsm7 = 120 }`. Pagination of its sessions and the check of the
    /// menus at start honour it.
    pub screen: Option<Budget>,
    /// Source addresses or CIDR ranges (IPv4, IPv6) allowed to call; none: any source.
    pub allow: Option<Vec<String>>,
    /// A shared secret the aggregator sends; prefer `DAFTAR_DIALECT_<NAME>_SECRET`.
    pub secret: Option<String>,
    /// The header carrying `secret` (default `X-Daftar-Secret`).
    pub secret_header: Option<String>,
    /// The secret is the last path segment (`/ussd/<name>/<secret>`) rather than a header.
    pub secret_in_path: bool,
    /// `user:password` for basic auth; prefer `DAFTAR_DIALECT_<NAME>_BASIC_AUTH`.
    pub basic_auth: Option<String>,
    /// A smaller screen for requests from one network, by the code the dialect carries
    /// (`[dialects.arkesel.networks.MTN] screen = { gsm7 = 120, ucs2 = 60 }`).
    pub networks: BTreeMap<String, NetworkConfig>,
    /// How a dialect declared here (a name not built in) reads its requests.
    pub request: Option<DeclaredRequest>,
    /// How a dialect declared here writes its replies.
    pub reply: Option<DeclaredReply>,
}

/// What configuration says of one network of a dialect.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkConfig {
    /// The screen of this network's gateways, never above the dialect's (so an unset key
    /// keeps the dialect's).
    pub screen: Option<Budget>,
}

/// `[dialects.<name>.request]` of a declared dialect, as written; `dialect::declared` checks
/// it at start and refuses what cannot work, naming the key.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeclaredRequest {
    /// Where the fields are: `"form"` (a form-encoded body), `"json"` or `"query"`.
    pub content: Option<String>,
    /// `"POST"` or `"GET"`: POST by default, GET for `content = "query"`.
    pub method: Option<String>,
    /// The field holding the aggregator's session id.
    pub session_id: Option<String>,
    /// The field holding the caller's MSISDN.
    pub msisdn: Option<String>,
    /// The field holding the dialled string, when the aggregator sends one.
    pub service_code: Option<String>,
    /// The field holding the caller's input.
    pub input: Option<String>,
    /// The input is the whole path joined by `*` (Africa's Talking), not the latest input.
    pub cumulative: bool,
    /// How a session's first request is told: `{ field, values }`, `"empty_input"` or
    /// `"first_sight"` (a session not held is a new one).
    pub start: Option<StartMark>,
    /// The caller hung up: `{ field, values }`.
    pub abort: Option<FieldMark>,
    /// The aggregator gave up waiting: `{ field, values }`.
    pub timeout: Option<FieldMark>,
    /// The field holding the network code, for `[dialects.<name>.networks.<code>]`.
    pub network: Option<String>,
}

/// A first request told by a field's value, or by a rule named in a string.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum StartMark {
    Rule(String),
    Field(FieldMark),
}

/// A request marked by `field` holding one of `values` (booleans make it a yes/no field).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldMark {
    pub field: String,
    pub values: Vec<serde_json::Value>,
}

/// `[dialects.<name>.reply]` of a declared dialect, as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeclaredReply {
    /// `"json"` (named fields) or `"text"` (continue/end prefixes).
    pub shape: Option<String>,
    /// The reply's content type; by default `application/json` or `text/plain; charset=utf-8`.
    pub content_type: Option<String>,
    /// JSON: the key of the screen's text.
    pub text: Option<String>,
    /// JSON: the key saying whether the session goes on, and its two values.
    pub more: Option<MoreMark>,
    /// JSON: request fields sent back under their own names, in this order, first.
    pub echo: Vec<String>,
    /// JSON: fields always sent, after the echoed ones.
    pub constants: BTreeMap<String, serde_json::Value>,
    /// Text: what begins a screen that waits for input (`"CON "`).
    pub continue_prefix: Option<String>,
    /// Text: what begins the last screen (`"END "`).
    pub end_prefix: Option<String>,
}

/// The reply field that says whether the session goes on.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoreMark {
    pub field: String,
    #[serde(rename = "continue")]
    pub goes_on: serde_json::Value,
    pub end: serde_json::Value,
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
            per_source_connections: 512,
            source_allowance: BTreeMap::new(),
        }
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            db: PathBuf::from(DEFAULT_DB),
            cache_mb: 256,
            durable_writes: true,
            backup_dir: None,
        }
    }
}

impl Default for FeedConfig {
    fn default() -> Self {
        FeedConfig {
            source: None,
            poll_ms: 1_000,
            max_seq_gap: DEFAULT_MAX_SEQ_GAP,
            timeout_ms: 10_000,
            backoff_max_ms: 60_000,
            max_lag_s: 300,
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
            store: "memory".to_string(),
            store_timeout_ms: 500,
        }
    }
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            node: 0,
            retention_days: 400,
            hash_key: None,
            key_file: None,
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

/// The least `server.body_limit_bytes` that lets every dialect's largest hop through: a whole
/// 182-character USSD string in 3-byte UTF-8, percent-encoded (9 bytes a character, 1,638
/// bytes), plus the other fields of the form.
pub(crate) const MIN_BODY_LIMIT: usize = 2048;

/// A value that cannot work, refused at start with the key it was read from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key} {rule}")]
pub(crate) struct Refused {
    /// The key as written in the file: `sessions.sweep_ms`.
    pub(crate) key: String,
    /// What the value must be, and why when it is not plain.
    pub(crate) rule: String,
}

impl Refused {
    pub(crate) fn new(key: impl Into<String>, rule: impl Into<String>) -> Refused {
        Refused {
            key: key.into(),
            rule: rule.into(),
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
        config.validate().map_err(|refused| ConfigError::Invalid {
            path: path.map(Path::to_path_buf).unwrap_or_default(),
            message: refused.to_string(),
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
        for (name, gateway) in &mut self.smpp {
            gateway.apply_env(name, |key| std::env::var(key).ok());
        }
        self.fhir.apply_env(|key| std::env::var(key).ok());
        if let Ok(key) = std::env::var("DAFTAR_SMS_API_KEY") {
            if !key.is_empty() {
                self.sms.api_key = Some(key);
            }
        }
    }

    /// The smallest screen any dialect is served on: what every menu must fit.
    pub(crate) fn tightest_screen(&self) -> Budget {
        self.dialects
            .values()
            .flat_map(|d| {
                let networks = d.networks.values().filter_map(|n| n.screen);
                d.screen.into_iter().chain(networks)
            })
            .fold(self.screen, |tightest, screen| tightest.min_each(screen))
    }

    /// Refuses a value that cannot work, naming its key. [`Config::load`] calls it, and so
    /// does `app::start` for a configuration built in code.
    pub(crate) fn validate(&self) -> Result<(), Refused> {
        if self.audit.node > 9 {
            let rule = format!("must be 0–9, not {}", self.audit.node);
            return Err(Refused::new("audit.node", rule));
        }
        if self
            .admin
            .token
            .as_ref()
            .is_some_and(|t| t.trim().is_empty())
        {
            return Err(Refused::new(
                "admin.token",
                "must not be empty: leave it out to keep the admin API off",
            ));
        }
        check_screen("screen", &self.screen)?;
        for (name, dialect) in &self.dialects {
            if let Some(screen) = &dialect.screen {
                check_screen(&format!("dialects.{name}.screen"), screen)?;
            }
            for (code, network) in &dialect.networks {
                if let Some(screen) = &network.screen {
                    check_screen(&format!("dialects.{name}.networks.{code}.screen"), screen)?;
                }
            }
        }
        for (name, gateway) in &self.smpp {
            crate::smpp::config::check(name, gateway)?;
        }
        check_sms(&self.sms)?;
        self.fhir.check()?;
        self.limits.check()?;
        self.cluster.check()?;
        crate::session_store::Backend::parse(&self.sessions.store)
            .map_err(|rule| Refused::new("sessions.store", rule))?;
        let above_zero: [(&'static str, u64); 19] = [
            ("sessions.store_timeout_ms", self.sessions.store_timeout_ms),
            ("sessions.max", self.sessions.max as u64),
            ("sessions.idle_s", self.sessions.idle_s),
            ("sessions.ended_s", self.sessions.ended_s),
            ("sessions.resume_s", self.sessions.resume_s),
            ("sessions.sweep_ms", self.sessions.sweep_ms),
            ("feed.poll_ms", self.feed.poll_ms),
            ("feed.timeout_ms", self.feed.timeout_ms),
            ("feed.backoff_max_ms", self.feed.backoff_max_ms),
            ("server.max_connections", self.server.max_connections as u64),
            ("server.header_timeout_ms", self.server.header_timeout_ms),
            ("server.body_timeout_ms", self.server.body_timeout_ms),
            ("store.cache_mb", self.store.cache_mb),
            ("audit.retention_days", u64::from(self.audit.retention_days)),
            ("sms.retry_base_ms", self.sms.retry_base_ms),
            ("sms.retry_max_ms", self.sms.retry_max_ms),
            ("sms.max_attempts", u64::from(self.sms.max_attempts)),
            ("sms.timeout_ms", self.sms.timeout_ms),
            (
                "server.body_limit_bytes",
                self.server.body_limit_bytes as u64,
            ),
        ];
        if let Some((key, _)) = above_zero.iter().find(|(_, value)| *value == 0) {
            return Err(Refused::new(*key, "must be above 0"));
        }
        if self.feed.max_lag_s != 0
            && self.feed.max_lag_s.saturating_mul(1_000) <= self.feed.poll_ms
        {
            let rule = "must be 0 (off) or longer than feed.poll_ms: else the node is unready \
                        between two polls";
            return Err(Refused::new("feed.max_lag_s", rule));
        }
        if self.server.body_limit_bytes < MIN_BODY_LIMIT {
            let rule = format!(
                "must be at least {MIN_BODY_LIMIT}, not {}: a dialect's largest request would be refused",
                self.server.body_limit_bytes
            );
            return Err(Refused::new("server.body_limit_bytes", rule));
        }
        Ok(())
    }
}

/// A provider that does not exist, or one without what it needs to send, is refused at start.
fn check_sms(sms: &SmsConfig) -> Result<(), Refused> {
    if sms.retry_max_ms < sms.retry_base_ms {
        return Err(Refused::new(
            "sms.retry_max_ms",
            "must be at least sms.retry_base_ms",
        ));
    }
    let Some(provider) = &sms.provider else {
        return Ok(());
    };
    if !SMS_PROVIDERS.contains(&provider.as_str()) {
        let rule = format!(
            "names no provider: {provider:?} is none of {}",
            SMS_PROVIDERS.join(", ")
        );
        return Err(Refused::new("sms.provider", rule));
    }
    let needed = [
        ("sms.base_url", &sms.base_url, "the provider's API base"),
        ("sms.username", &sms.username, "the provider's username"),
        (
            "sms.api_key",
            &sms.api_key,
            "the API key (DAFTAR_SMS_API_KEY)",
        ),
    ];
    for (key, value, what) in needed {
        if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
            return Err(Refused::new(
                key,
                format!("must be set when sms.provider is: {what}"),
            ));
        }
    }
    let base = sms.base_url.as_deref().unwrap_or_default();
    if !(base.starts_with("https://") || base.starts_with("http://")) {
        return Err(Refused::new(
            "sms.base_url",
            "must be an http:// or https:// URL",
        ));
    }
    Ok(())
}

/// A screen budget too small to hold a menu is refused, naming its key (`screen.ucs2`).
fn check_screen(key: &str, screen: &Budget) -> Result<(), Refused> {
    if screen.ucs2 < 40 {
        return Err(Refused::new(
            format!("{key}.ucs2"),
            "must be 40 or more: a smaller screen cannot hold a menu",
        ));
    }
    if screen.gsm7 < 80 {
        return Err(Refused::new(
            format!("{key}.gsm7"),
            "must be 80 or more: a smaller screen cannot hold a menu",
        ));
    }
    Ok(())
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

    /// A change that spoils a valid configuration.
    type Spoil = fn(&mut Config);

    /// Each value that cannot work, and the key its refusal must name.
    fn refused() -> Vec<(&'static str, Spoil)> {
        vec![
            ("sessions.sweep_ms", |c| c.sessions.sweep_ms = 0),
            ("sessions.max", |c| c.sessions.max = 0),
            ("sessions.idle_s", |c| c.sessions.idle_s = 0),
            ("sessions.resume_s", |c| c.sessions.resume_s = 0),
            ("sessions.ended_s", |c| c.sessions.ended_s = 0),
            ("sessions.store_timeout_ms", |c| {
                c.sessions.store_timeout_ms = 0
            }),
            ("sessions.store", |c| {
                c.sessions.store = "redis://nonsense".into()
            }),
            ("sessions.store", |c| {
                c.sessions.store = "mongodb://h:1/0".into()
            }),
            ("feed.poll_ms", |c| c.feed.poll_ms = 0),
            ("feed.timeout_ms", |c| c.feed.timeout_ms = 0),
            ("feed.backoff_max_ms", |c| c.feed.backoff_max_ms = 0),
            ("feed.max_lag_s", |c| {
                c.feed.poll_ms = 5_000;
                c.feed.max_lag_s = 5;
            }),
            ("server.max_connections", |c| c.server.max_connections = 0),
            ("server.header_timeout_ms", |c| {
                c.server.header_timeout_ms = 0
            }),
            ("server.body_timeout_ms", |c| c.server.body_timeout_ms = 0),
            ("server.body_limit_bytes", |c| c.server.body_limit_bytes = 0),
            ("server.body_limit_bytes", |c| {
                c.server.body_limit_bytes = MIN_BODY_LIMIT - 1
            }),
            ("store.cache_mb", |c| c.store.cache_mb = 0),
            ("audit.retention_days", |c| c.audit.retention_days = 0),
            ("audit.node", |c| c.audit.node = 10),
            ("limits.forget_every_s", |c| c.limits.forget_every_s = 0),
            ("limits.providers", |c| c.limits.providers_only = true),
            ("limits.providers[1]", |c| {
                c.limits.providers = vec!["989121234567".into(), "+98 912".into()]
            }),
            ("admin.token", |c| c.admin.token = Some(" ".into())),
            ("screen.ucs2", |c| c.screen.ucs2 = 39),
            ("screen.gsm7", |c| c.screen.gsm7 = 79),
            ("dialects.nalo.networks.MTN.screen.ucs2", |c| {
                let network = NetworkConfig {
                    screen: Some(Budget {
                        gsm7: 182,
                        ucs2: 39,
                    }),
                };
                let nalo = c.dialects.entry("nalo".into()).or_default();
                nalo.networks.insert("MTN".into(), network);
            }),
            ("sms.provider", |c| c.sms.provider = Some("twilio".into())),
            ("sms.base_url", |c| {
                c.sms.provider = Some("africastalking".into());
            }),
            ("sms.api_key", |c| {
                c.sms.provider = Some("africastalking".into());
                c.sms.base_url = Some("https://sms.invalid".into());
                c.sms.username = Some("cnam".into());
            }),
            ("sms.base_url", |c| {
                c.sms.provider = Some("africastalking".into());
                c.sms.base_url = Some("sms.invalid".into());
                c.sms.username = Some("cnam".into());
                c.sms.api_key = Some("k".into());
            }),
            ("sms.retry_base_ms", |c| c.sms.retry_base_ms = 0),
            ("sms.retry_max_ms", |c| c.sms.retry_max_ms = 1),
            ("sms.max_attempts", |c| c.sms.max_attempts = 0),
        ]
    }

    #[test]
    fn values_that_cannot_work_are_refused_naming_their_key() {
        for (key, spoil) in refused() {
            let mut config = Config::default();
            spoil(&mut config);
            let message = config.validate().expect_err(key).to_string();
            assert!(message.contains(key), "{key}: {message}");
        }
    }

    #[test]
    fn the_defaults_and_the_least_that_works_pass() {
        assert!(Config::default().validate().is_ok());
        let mut least = Config {
            sessions: SessionConfig {
                idle_s: 1,
                ended_s: 1,
                max: 1,
                resume_s: 1,
                sweep_ms: 1,
                store: "redis://127.0.0.1:1/0".into(),
                store_timeout_ms: 1,
            },
            ..Config::default()
        };
        least.feed.poll_ms = 1;
        least.feed.timeout_ms = 1;
        least.feed.backoff_max_ms = 1;
        least.feed.max_lag_s = 0;
        least.server.max_connections = 1;
        least.server.header_timeout_ms = 1;
        least.server.body_timeout_ms = 1;
        least.server.body_limit_bytes = MIN_BODY_LIMIT;
        least.store.cache_mb = 1;
        least.audit.retention_days = 1;
        least.audit.node = 9;
        assert!(least.validate().is_ok(), "{:?}", least.validate());
    }

    #[test]
    fn a_file_with_a_value_that_cannot_work_is_refused_naming_file_and_key() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("daftar.toml");
        std::fs::write(&path, "[sessions]\nsweep_ms = 0\n").expect("written");
        let message = Config::load(Some(&path)).expect_err("refused").to_string();
        assert!(message.contains("sessions.sweep_ms"), "{message}");
        assert!(message.contains("daftar.toml"), "{message}");
    }

    #[test]
    fn the_tightest_screen_counts_every_dialect_and_network() {
        let config: Config = toml::from_str(
            "[dialects.nalo]\nscreen = { gsm7 = 160 }\n\
             [dialects.arkesel.networks.MTN]\nscreen = { gsm7 = 140 }\n\
             [dialects.hubtel.networks.mtn]\nscreen = { ucs2 = 70 }\n",
        )
        .expect("valid");
        assert_eq!(
            config.tightest_screen(),
            Budget {
                gsm7: 140,
                ucs2: 70
            }
        );
        assert!(config.validate().is_ok());
        let stray = "[dialects.arkesel.networks.MTN]\nscren = { gsm7 = 140 }\n";
        assert!(toml::from_str::<Config>(stray).is_err());
    }

    #[test]
    fn the_sms_section_is_read_with_its_fixed_names() {
        let config: Config = toml::from_str(
            "[sms]\nprovider = \"africastalking\"\nbase_url = \"https://api.invalid\"\n\
             username = \"cnam\"\nsender = \"85666\"\napi_key = \"k-test\"\n",
        )
        .expect("valid");
        assert_eq!(config.sms.sender.as_deref(), Some("85666"));
        assert!(config.validate().is_ok(), "{:?}", config.validate());
        assert!(!format!("{:?}", config.sms).contains("k-test"));
        assert!(toml::from_str::<Config>("[sms]\napikey = \"k\"\n").is_err());
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
        let config: Config = toml::from_str(
            "[services.mutual.benefits.ceilings]\ndental = \"350.000\"\n\
             [services.mutual.benefits.rates.public]\nmedicines = 75\n",
        )
        .expect("valid");
        let benefits = config.services["mutual"].benefits.as_ref();
        assert_eq!(benefits.map(|b| b.ceilings.len()), Some(1));
        let refused = toml::from_str::<Config>("[services.mutual.benefits.rates.x]\ny = 101\n");
        assert!(refused.is_err(), "a rate over 100 %");
    }
}
