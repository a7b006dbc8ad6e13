//! Putting the house together: from a configuration to a running server. Checks the
//! configuration, opens the store, loads and checks the menus, opens the feed, builds the
//! engine, and starts every task under one [`Supervisor`] (`tasks`): the accept loop, the
//! session sweeper, the limiters' forgetter, the audit purge, a bind per SMPP gateway, and the feed follower, which applies the feed before
//! `/readyz` turns ready and then follows it. SIGTERM, SIGINT and [`Running::stop`] all stop
//! the server the same way: the supervisor signals every task once and joins them, then the
//! store is flushed.

use anyhow::Context;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::actions::Actions;
use crate::audit::{KeyedHasher, Tracker};
use crate::backup::Backups;
use crate::config::Config;
use crate::dialect::Registry;
use crate::engine::{Engine, EngineSettings, PerDialect};
use crate::feed::FeedSource;
use crate::fhir::Fhir;
use crate::funnel::{EndReason, Funnel};
use crate::inquiry::{Clock, Inquiries};
use crate::keys::{self, Keys, Origin};
use crate::limits::sources::SourceCap;
use crate::limits::{Limit, Limits};
use crate::menu::{load_menus, Menus};
use crate::metrics::Metrics;
use crate::readiness::{Readiness, Unready};
use crate::server::{serve, App, Routes};
use crate::session_store::memory::MemoryStore;
use crate::session_store::redis::{RedisSettings, RedisStore};
use crate::session_store::{Backend, SessionStore};
use crate::smpp;
use crate::sms::SmsChannel;
use crate::store::Store;
use crate::subscriptions::Subscriptions;
use crate::sync::SyncError;
use crate::sync::{FeedStatus, Follower};
use crate::tasks::{OnFailure, Supervisor};
use crate::writer::Writer;

/// The parts every command that touches the store shares.
pub struct Parts {
    pub store: Store,
    pub(crate) tracker: Arc<Tracker>,
    pub(crate) hasher: KeyedHasher,
    /// The thread every write of the request path goes through.
    pub(crate) writer: Arc<Writer>,
    /// Who gets which person's SMS alerts (`cnam`), and which people a phone subscribed.
    pub(crate) subscriptions: Subscriptions,
}

/// Opens the store of `config` with its audit trail and keyed hasher.
pub fn open_parts(config: &Config) -> anyhow::Result<Parts> {
    let store = Store::open(&config.store.db, config.store.cache_mb * 1024 * 1024)?;
    let meta = store.tree("audit_meta")?;
    let keys = open_keys(config, &meta)?;
    let tracker = Tracker::open(
        store.tree("audit")?,
        meta,
        config.audit.node,
        config.audit.retention_days,
        &keys.code,
    )?;
    let hasher = KeyedHasher::of_deployment(&keys.hash, config.audit.hash_key.as_deref());
    let writer = Arc::new(start_writer(config, &store)?);
    let subscriptions = Subscriptions::open(&store, writer.clone())?;
    Ok(Parts {
        store,
        tracker: Arc::new(tracker),
        hasher,
        writer,
        subscriptions,
    })
}

/// The writer of the request path: with `store.durable_writes` (the default), each batch is
/// flushed before its steps reply (group commit; `writer`), so a tracking code shown survives a
/// crash (SPEC §8).
fn start_writer(config: &Config, store: &Store) -> std::io::Result<Writer> {
    if !config.store.durable_writes {
        tracing::warn!("store.durable_writes = false: a crash loses the tracking codes of the last moments; for measurements only");
        return Writer::start();
    }
    let store = store.clone();
    Writer::with_commit(Box::new(move || {
        store.flush().map_err(std::io::Error::other)
    }))
}

/// The deployment's secrets, from their own file (`keys`), and a line saying where they are
/// (never what they are).
fn open_keys(config: &Config, meta: &sled::Tree) -> anyhow::Result<Keys> {
    let path = match &config.audit.key_file {
        Some(path) => path.clone(),
        None => keys::default_path(&config.store.db)?,
    };
    let (keys, origin) = Keys::open(&path, meta)?;
    let file = path.display();
    let configured = config.audit.hash_key.as_ref();
    let hashes = match configured.filter(|k| !k.trim().is_empty()) {
        Some(_) => "the configured hash key",
        None => "the key file's hash key",
    };
    match origin {
        Origin::MovedFromStore => {
            tracing::warn!(%file, "the store held its secrets: moved to the key file (owner-only) and removed from the store; keep the file apart from copies of the store")
        }
        Origin::Generated => {
            tracing::info!(%file, "secrets generated into the key file (owner-only); keep it apart from copies of the store")
        }
        Origin::File => {}
    }
    tracing::info!(%file, "keyed hashes use {hashes}; tracking codes are spread by the key file's code key");
    Ok(keys)
}

/// Loads the menus of `config`, applies its service overrides, and refuses faulty ones.
pub fn load_checked_menus(config: &Config) -> anyhow::Result<Menus> {
    match load_and_check_menus(config)? {
        Ok(menus) => Ok(menus),
        Err(faults) => anyhow::bail!(
            "the menus have {} fault(s); `daftar check` lists them; the first: {}",
            faults.len(),
            faults[0]
        ),
    }
}

/// The menus of `config` with its `[services]` overrides, or the faults `check` finds in them
/// (each as `daftar check` prints it); `Err` when they cannot be read at all.
pub(crate) fn load_and_check_menus(config: &Config) -> anyhow::Result<Result<Menus, Vec<String>>> {
    let mut menus = load_menus(&config.menus.dir)?;
    if let Some(id) = config
        .services
        .keys()
        .find(|id| menus.service(id).is_none())
    {
        let known: Vec<&str> = menus.services.keys().map(String::as_str).collect();
        anyhow::bail!(
            "[services.{id}] names no service of {}; known: {}",
            config.menus.dir.display(),
            known.join(", ")
        );
    }
    for (id, overrides) in &config.services {
        if overrides.disabled {
            menus.services.remove(id);
            continue;
        }
        let Some(service) = menus.services.get_mut(id) else {
            continue;
        };
        if let Some(codes) = &overrides.codes {
            service.spec.codes = codes.clone();
        }
        if let Some(benefits) = &overrides.benefits {
            service.benefits.overlay(benefits);
        }
    }
    let faults = crate::authoring::faults(&menus, config.tightest_screen());
    if faults.is_empty() {
        return Ok(Ok(menus));
    }
    Ok(Err(faults.iter().map(ToString::to_string).collect()))
}

/// What answers a turn: the engine, the session store it steps on, and the dialects.
pub struct Core {
    pub engine: Arc<Engine>,
    /// The rate limits the engine, the actions and the server share.
    pub(crate) limits: Arc<Limits>,
    /// The session store the engine steps on (`[sessions] store`).
    pub sessions: Arc<dyn SessionStore>,
    /// The embedded session store, which the sweeper tidies; None when sessions are in Redis.
    pub memory: Option<Arc<MemoryStore>>,
    pub(crate) dialects: Registry,
    /// The FHIR eligibility API, over the same inquiries and menus as the engine.
    pub(crate) fhir: Arc<Fhir>,
    /// Where sessions end, and why (`GET /admin/funnel`, `daftar_sessions_ended_total`).
    pub(crate) funnel: Arc<Funnel>,
    /// The inquiries, for the support staff's entitlement lookup (`POST /admin/entitlement`).
    pub(crate) inquiries: Inquiries,
}

/// How long a caller's choice of locale is remembered.
const LOCALE_KEPT: Duration = Duration::from_secs(400 * 24 * 3_600);

/// The session store `[sessions] store` names, and the embedded one when it is that.
#[allow(clippy::type_complexity)]
fn session_store(
    config: &Config,
    parts: &Parts,
    limits: &Limits,
    funnel: &Arc<Funnel>,
) -> anyhow::Result<(Arc<dyn SessionStore>, Option<Arc<MemoryStore>>)> {
    let share = config.limits.msisdn_sessions;
    let replaced = limits.counter(Limit::MsisdnSessions);
    match Backend::parse(&config.sessions.store)
        .map_err(|rule| anyhow::anyhow!("sessions.store {rule}"))?
    {
        Backend::Memory => {
            let memory = Arc::new(
                MemoryStore::with_durable_locales(
                    config.sessions.max,
                    parts.store.tree("prefs")?,
                    parts.writer.clone(),
                )
                .with_share(share, replaced)
                .on_expired(idle_expiry(funnel.clone())),
            );
            Ok((memory.clone(), Some(memory)))
        }
        Backend::Redis(url) => {
            let settings = RedisSettings {
                url: &url,
                max: config.sessions.max,
                timeout: Duration::from_millis(config.sessions.store_timeout_ms),
                hasher: &parts.hasher,
            };
            let redis = RedisStore::open(settings)
                .map_err(|error| anyhow::anyhow!("sessions.store: {error}"))?;
            if config
                .audit
                .hash_key
                .as_deref()
                .is_none_or(|k| k.trim().is_empty())
            {
                tracing::warn!("sessions in redis with no [audit] hash_key or DAFTAR_HASH_KEY: this node's generated key seals them, so no other node can read them; give every node sharing this redis the same hash key");
            }
            Ok((Arc::new(redis.with_share(share, replaced)), None))
        }
    }
}

/// The memory store's hook that counts each session given back at its idle deadline.
fn idle_expiry(funnel: Arc<Funnel>) -> crate::session_store::OnExpired {
    Arc::new(move |expired| funnel.count(&expired.service, &expired.screen, EndReason::Idle))
}

/// The engine over `parts` and `menus`, with its session store and the dialects of `config`.
pub fn build_core(config: &Config, parts: &Parts, menus: Menus) -> anyhow::Result<Core> {
    let dialects = Registry::from_config(&config.dialects)?;
    if let Some((dialect, service)) = dialects
        .default_services()
        .iter()
        .find(|(_, service)| menus.service(service).is_none())
    {
        anyhow::bail!("[dialects.{dialect}] default_service = {service:?} names no service");
    }
    if let Some((name, code)) = config
        .smpp
        .iter()
        .filter_map(|(name, gateway)| Some((name, gateway.service_code.as_ref()?)))
        .find(|(_, code)| menus.route(code).is_none())
    {
        anyhow::bail!("[smpp.{name}] service_code = {code:?} is no service's code");
    }
    let limits = Arc::new(limits_of(config, parts)?);
    let funnel = Arc::new(Funnel::default());
    let (sessions, memory) = session_store(config, parts, &limits, &funnel)?;
    let inquiries = Inquiries {
        store: parts.store.clone(),
        tracker: parts.tracker.clone(),
        writer: parts.writer.clone(),
        hasher: parts.hasher.clone(),
        clock: Clock::System,
        subscriptions: parts.subscriptions.clone(),
    };
    let menus = Arc::new(menus);
    let actions = Actions::new(inquiries.clone(), limits.clone());
    let idle = Duration::from_secs(config.sessions.idle_s);
    let settings = EngineSettings {
        budget: config.screen,
        idle,
        ended: Duration::from_secs(config.sessions.ended_s).min(idle),
        resume_for: Duration::from_secs(config.sessions.resume_s),
        locale_for: LOCALE_KEPT,
    };
    let engine = Engine::new(
        menus.clone(),
        sessions.clone(),
        Arc::new(actions),
        parts.hasher.clone(),
        settings,
        PerDialect {
            default_services: dialects.default_services().clone(),
            screens: config
                .dialects
                .iter()
                .filter_map(|(name, d)| Some((name.clone(), d.screen?)))
                .collect(),
            networks: config
                .dialects
                .iter()
                .flat_map(|(name, d)| {
                    d.networks.iter().filter_map(move |(code, network)| {
                        Some(((name.clone(), code.to_ascii_lowercase()), network.screen?))
                    })
                })
                .collect(),
        },
    )
    .with_limits(limits.clone())
    .with_funnel(funnel.clone())
    // Sessions only this node writes need no claim before an action (issue 13).
    .with_claims(memory.is_none());
    // The API reads the engine's current menus, so a live reload reaches it too.
    let fhir = Arc::new(Fhir::new(
        &config.fhir,
        engine.current_menus(),
        inquiries.clone(),
    ));
    Ok(Core {
        engine: Arc::new(engine),
        limits,
        sessions,
        memory,
        dialects,
        fhir,
        funnel,
        inquiries,
    })
}

/// A server started by [`start`]: its address, and the way to stop it.
pub struct Running {
    pub address: std::net::SocketAddr,
    /// The operators' own address (`[admin] listen`), when they have one.
    pub admin_address: Option<std::net::SocketAddr>,
    supervisor: Supervisor,
    store: Store,
}

impl Running {
    /// Resolves when the server has begun to stop on its own: a task whose failure ends the
    /// process has failed ([`OnFailure::Exit`]).
    pub(crate) async fn stopping(&self) {
        self.supervisor.stopping().await;
    }

    /// Stops accepting, drains in-flight requests, stops the feed, the sweeper and the purge
    /// (all through the supervisor, as SIGTERM does), flushes the store and releases it. An
    /// error when a task whose failure ends the process has failed.
    pub async fn stop(self) -> anyhow::Result<()> {
        let stopped = self.supervisor.stop().await;
        self.store.flush()?;
        match stopped.fatal {
            Some(failure) => Err(failure.into()),
            None => Ok(()),
        }
    }
}

/// `daftar serve`: runs until SIGTERM or SIGINT, or until a task it cannot run without fails;
/// then drains and returns (an error in the second case).
pub async fn run_server(config: Config) -> anyhow::Result<()> {
    let running = start(config).await?;
    tokio::select! {
        () = shutdown_signal() => tracing::info!("shutting down"),
        () = running.stopping() => {},
    }
    running.stop().await
}

/// How long shutdown waits for the tasks beyond the server's grace period for in-flight
/// requests; past it, the tasks still running are aborted and named.
const STOP_MARGIN: Duration = Duration::from_secs(2);

/// Starts the server of `config` and returns once it listens. A configuration that cannot
/// work, faulty menus, a store that cannot be opened, and a feed that cannot be opened are
/// errors here, not a server that runs without them.
pub async fn start(config: Config) -> anyhow::Result<Running> {
    config.validate().context("the configuration is refused")?;
    // Reading menu files, opening sled (which may wait for a lock) and opening the feed are
    // blocking work: off the workers.
    let opening = config.clone();
    let (menus, parts, follower) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let menus = load_checked_menus(&opening)?;
        let parts = open_parts(&opening)?;
        let follower = match &opening.feed.source {
            Some(source) => Some(open_feed(&parts.store, source, &opening.feed)?),
            None => None,
        };
        Ok((menus, parts, follower))
    })
    .await??;
    let core = build_core(&config, &parts, menus)?;
    let claim = claim_node(&config).await?;
    let sources = SourceCap::new(
        config.server.per_source_connections,
        &config.server.source_allowance,
    )
    .context("the configuration is refused")?;
    let mut metrics = Metrics::new().with_writer(parts.writer.stats());
    metrics.register_limited(core.limits.counted());
    metrics.register_funnel(core.funnel.counted());
    let metrics = Arc::new(metrics);
    let sms = SmsChannel::open(
        &config,
        &parts.store,
        parts.writer.clone(),
        parts.subscriptions.clone(),
        parts.hasher.clone(),
        metrics.clone(),
    )?
    .map(Arc::new);
    let listen = config.server.listen;
    let listener = TcpListener::bind(listen).await.with_context(|| {
        format!(
            "cannot listen on {listen}: choose another address with --listen ADDR or \
             [server] listen in the configuration file"
        )
    })?;
    let address = listener.local_addr()?;
    let operators = bind_operators(&config).await?;
    let admin_address = match &operators {
        Some(listener) => Some(listener.local_addr()?),
        None => None,
    };
    warn_of_exposure(&config, address, admin_address);
    let open = core.dialects.open_dialects();
    if !address.ip().is_loopback() && !open.is_empty() {
        let open = open.join(", ");
        tracing::warn!(%address, open = %open, "listening beyond loopback; these dialects have no source allowlist, secret or basic auth configured, so anyone may call them");
    }
    let feed_status = Arc::new(Mutex::new(FeedStatus {
        source: config.feed.source.clone(),
        max_lag_s: (config.feed.max_lag_s > 0).then_some(config.feed.max_lag_s),
        ..FeedStatus::default()
    }));
    let readiness = Arc::new(Readiness::new());
    if let Some((_, confirmed)) = &claim {
        if !confirmed {
            readiness.hold(Unready::NodeUnclaimed(config.node()));
        }
    }
    let menu_reloader = Arc::new(crate::reload::MenuReloader::new(
        config.clone(),
        core.engine.clone(),
        metrics.clone(),
    ));
    let app = Arc::new(App {
        engine: core.engine.clone(),
        dialects: core.dialects.clone(),
        metrics: metrics.clone(),
        tracker: parts.tracker.clone(),
        readiness: readiness.clone(),
        feed: feed_status,
        sms: sms.clone(),
        admin_token: config.admin.token.clone(),
        backups: config
            .store
            .backup_dir
            .clone()
            .map(|dir| Arc::new(Backups::new(parts.store.clone(), dir))),
        body_limit: config.server.body_limit_bytes,
        body_timeout: Duration::from_millis(config.server.body_timeout_ms),
        limits: core.limits.clone(),
        sources,
        menus: menu_reloader.clone(),
        fhir: core.fhir.clone(),
        simulator: config.simulator.enabled,
        funnel: core.funnel.clone(),
        support: Arc::new(crate::support::Support::new(
            core.engine.current_menus(),
            core.inquiries.clone(),
        )),
        node: config.node(),
        cluster: Arc::new(config.cluster.clone()),
    });
    let grace = Duration::from_millis(config.server.shutdown_grace_ms);
    let mut supervisor = Supervisor::new(
        readiness.clone(),
        metrics.task_failures.clone(),
        grace + STOP_MARGIN,
    );
    // A dead accept loop answers no one, and nothing but a restart brings it back.
    let limits = config.server.clone();
    let served = app.clone();
    let routes = match operators {
        Some(_) => Routes::Public,
        None => Routes::All,
    };
    supervisor.spawn("server", OnFailure::Exit, move |stop| async move {
        serve(listener, served, routes, &limits, stop.cancelled_owned()).await;
    });
    if let Some(operators) = operators {
        // The operators' port under the same limits; like the aggregators' loop, nothing but
        // a restart brings a dead one back, and a node no one can watch is not to be kept.
        let (limits, served) = (config.server.clone(), app.clone());
        supervisor.spawn("admin-server", OnFailure::Exit, move |stop| async move {
            let shutdown = stop.cancelled_owned();
            serve(operators, served, Routes::Operators, &limits, shutdown).await;
        });
    }
    // A dead sweeper ends no session: the table fills to `sessions.max` and every new caller
    // gets the busy END, and nothing on this node heals it. A restart does (the table is
    // memory; cumulative dialects replay their paths), so the process ends.
    let every = Duration::from_millis(config.sessions.sweep_ms);
    match core.memory.clone() {
        Some(memory) => supervisor.spawn("sweeper", OnFailure::Exit, move |stop| {
            sweep_sessions(memory, every, stop)
        }),
        // Redis expires its own keys; what the node watches is whether it answers.
        None => {
            let (sessions, readiness) = (core.sessions.clone(), readiness.clone());
            supervisor.spawn("sessions-probe", OnFailure::Unready, move |stop| {
                crate::session_store::probe::watch(sessions, readiness, every, stop)
            });
        }
    }
    // A dead forgetter lets the limiters keep every caller they ever saw: memory grows by
    // tens of bytes a caller, over days; a reason on `/readyz`, not an outage.
    let limits = core.limits.clone();
    if let Some((claim, _)) = claim {
        let readiness = readiness.clone();
        supervisor.spawn("node-claim", OnFailure::Unready, move |stop| {
            claim.keep(readiness, stop)
        });
    }
    supervisor.spawn("limits-forget", OnFailure::Unready, move |stop| {
        forget_limits(limits, stop)
    });
    // A dead purge keeps audit entries past their retention: measured in days, so an
    // operator has time to act on the reason `/readyz` gives; it is no reason to drop the
    // callers in session now.
    let tracker = parts.tracker.clone();
    supervisor.spawn("audit-purge", OnFailure::Unready, move |stop| {
        purge_audit(tracker, stop)
    });
    match &sms {
        Some(sms) => start_sms(&mut supervisor, &config, sms, &parts.store)?,
        None => tracing::info!(
            menus = %config.menus.dir.display(),
            "no SMS words (sms.<locale>.toml) in the menus: the SMS channel is off"
        ),
    }
    #[cfg(unix)]
    {
        let reloader = menu_reloader.clone();
        supervisor.spawn("menu-reload", OnFailure::Unready, move |stop| {
            crate::reload::on_hangup(reloader, stop)
        });
    }
    match follower {
        // A dead follower means stale records: the node is taken out of rotation with the
        // reason, as a failing feed is, while what it answers stays correct as of its
        // watermark; ending the process would turn a feed problem into an outage.
        Some(follower) => {
            readiness.hold(Unready::FeedNotApplied);
            let (store, app) = (parts.store.clone(), app.clone());
            let pace = Pace::of(&config.feed);
            supervisor.spawn("feed-follower", OnFailure::Unready, move |stop| {
                follow_feed(follower, store, app, pace, stop)
            });
        }
        None => publish_watermark(&app, &parts.store),
    }
    start_smpp_binds(&mut supervisor, &config, &core.engine, &metrics);
    tracing::info!(%address, db = %config.store.db.display(), "daftar serving");
    Ok(Running {
        address,
        admin_address,
        supervisor,
        store: parts.store,
    })
}

/// The rate limits: shared through the sessions' Redis when sessions are in Redis
/// (`limits::shared`), else this node's own.
fn limits_of(config: &Config, parts: &Parts) -> anyhow::Result<Limits> {
    let limits = Limits::new(&config.limits, parts.hasher.clone());
    match crate::session_store::Backend::parse(&config.sessions.store) {
        Ok(crate::session_store::Backend::Redis(url)) => {
            let timeout = Duration::from_millis(config.sessions.store_timeout_ms);
            limits.shared_in(&url, timeout)
        }
        _ => Ok(limits),
    }
}

/// With sessions in Redis, this node's claim on its digit (`cluster::claim`) and whether it
/// was confirmed: a digit another running node holds refuses the start; a Redis that does not
/// answer lets the node start unready, its claim retried by the `node-claim` task. `None`:
/// sessions in memory, one node, nothing to claim.
async fn claim_node(
    config: &Config,
) -> anyhow::Result<Option<(crate::cluster::claim::NodeClaim, bool)>> {
    use crate::cluster::claim::{ClaimError, NodeClaim};
    let crate::session_store::Backend::Redis(url) =
        crate::session_store::Backend::parse(&config.sessions.store)
            .map_err(|rule| anyhow::anyhow!("sessions.store: {rule}"))?
    else {
        return Ok(None);
    };
    let ttl = Duration::from_secs(config.cluster.claim_ttl_s);
    let token_file = NodeClaim::token_file(&config.store.db);
    let claim = NodeClaim::new(&url, config.node(), &token_file, ttl)?;
    match claim.take().await {
        Ok(()) => {
            tracing::info!(node = config.node(), "node id claimed");
            Ok(Some((claim, true)))
        }
        Err(taken @ ClaimError::Taken { .. }) => Err(taken.into()),
        Err(error) => {
            tracing::error!(%error, "the node id claim is not confirmed; starting unready");
            Ok(Some((claim, false)))
        }
    }
}

/// The operators' listener of `[admin] listen`, when it is set.
async fn bind_operators(config: &Config) -> anyhow::Result<Option<TcpListener>> {
    let Some(listen) = config.admin.listen else {
        return Ok(None);
    };
    let listener = TcpListener::bind(listen).await.with_context(|| {
        format!("cannot listen on {listen} ([admin] listen): choose another address")
    })?;
    Ok(Some(listener))
}

/// Says at start what the operators' routes are open to: the admin API beyond loopback is
/// guarded by its token alone, and is off without one; `/metrics` on the aggregators' port is
/// read by anyone who can reach it.
fn warn_of_exposure(config: &Config, address: SocketAddr, admin: Option<SocketAddr>) {
    let operators = admin.unwrap_or(address);
    if operators.ip().is_loopback() {
        return;
    }
    match &config.admin.token {
        Some(_) => {
            tracing::warn!(%operators, "the admin API is served beyond loopback; its bearer token is all that guards it")
        }
        None => {
            tracing::info!(%operators, "the admin API is off: no token is set (DAFTAR_ADMIN_TOKEN or [admin] token)")
        }
    }
    if admin.is_none() {
        tracing::warn!(%address, "/metrics is served on the aggregators' port beyond loopback; [admin] listen gives it and the admin API a port of their own");
    }
}

/// One task per `[smpp.<name>]` gateway, named `smpp.<name>`. A gateway that is down is
/// retried inside its task and leaves `/readyz` alone (`smpp` says why); only a panic ends the
/// task, and then the node is unready with the task's name, since its gateway's callers are
/// no longer served.
fn start_smpp_binds(
    supervisor: &mut Supervisor,
    config: &Config,
    engine: &Arc<Engine>,
    metrics: &Arc<Metrics>,
) {
    for (name, gateway) in &config.smpp {
        let idle = Duration::from_secs(config.sessions.idle_s);
        let gateway =
            smpp::Gateway::new(name, gateway.clone(), engine.clone(), metrics.clone(), idle)
                .with_shared_sessions(config.sessions.store != "memory");
        // The supervisor names tasks with static strings; a gateway's name lives as long as
        // the process, and there are as many as configured sections.
        let task: &'static str = Box::leak(format!("smpp.{name}").into_boxed_str());
        supervisor.spawn(task, OnFailure::Unready, move |stop| {
            smpp::keep_bound(gateway, stop)
        });
    }
}

/// The SMS tasks: the alerts, which queue an SMS per feed event of a subscriber, and the sender,
/// when a provider is configured. Without one, messages wait in the outbox.
fn start_sms(
    supervisor: &mut Supervisor,
    config: &Config,
    sms: &Arc<SmsChannel>,
    store: &Store,
) -> anyhow::Result<()> {
    let left_over = sms.answer_left_over();
    if left_over > 0 {
        tracing::info!(
            left_over,
            "inbound sms left unanswered by a stop are answered now"
        );
    }
    // Waits, at shutdown, for the commands still being handled; it fails only with them.
    let handling = sms.clone();
    supervisor.spawn("sms-commands", OnFailure::Unready, move |stop| {
        handling.finish_handling(stop)
    });
    // A dead alert task queues no alert while the commands still work: taken out of rotation
    // with the reason, as a dead follower is; the events wait in the store for a restart.
    let alerts = sms.alerts(store.tree("sms_meta")?);
    let every = Duration::from_millis(config.feed.poll_ms);
    supervisor.spawn("sms-alerts", OnFailure::Unready, move |stop| {
        alerts.run(every, stop)
    });
    match sms.sender(config) {
        // A dead sender sends nothing while the outbox keeps every message: not ready, so an
        // operator sees it, and nothing is lost until a restart sends them.
        Some(sender) => supervisor.spawn("sms-sender", OnFailure::Unready, move |stop| {
            sender.run(stop)
        }),
        None => tracing::info!(
            "[sms] has no provider: SMS replies and alerts are kept in the outbox and not sent"
        ),
    }
    Ok(())
}

/// The follower of the feed `source`: a source that does not parse, or a feed that cannot be
/// opened, is refused here with its path.
fn open_feed(
    store: &Store,
    source: &str,
    config: &crate::config::FeedConfig,
) -> anyhow::Result<Follower> {
    let follower = FeedSource::parse(source)
        .map_err(SyncError::from)
        .and_then(|source| Follower::new(store, source))
        .context("the feed cannot be followed")?;
    Ok(follower
        .with_max_seq_gap(config.max_seq_gap)
        .with_timeout(Duration::from_millis(config.timeout_ms)))
}

/// Waits for SIGTERM or SIGINT.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

async fn sweep_sessions(sessions: Arc<MemoryStore>, every: Duration, stop: CancellationToken) {
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                // A sweep takes only what expired (from the store's expiry queue), off the workers.
                let sessions = sessions.clone();
                let now = tokio::time::Instant::now();
                if let Err(ended) = tokio::task::spawn_blocking(move || sessions.sweep(now)).await {
                    if ended.is_panic() {
                        std::panic::resume_unwind(ended.into_panic());
                    }
                }
            }
            _ = stop.cancelled() => return,
        }
    }
}

/// Forgets, every `limits.forget_every`, the callers the limiters no longer hold back.
async fn forget_limits(limits: Arc<Limits>, stop: CancellationToken) {
    let mut tick = tokio::time::interval(limits.forget_every);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let limits = limits.clone();
                if let Err(ended) = tokio::task::spawn_blocking(move || limits.forget()).await {
                    if ended.is_panic() {
                        std::panic::resume_unwind(ended.into_panic());
                    }
                }
            }
            _ = stop.cancelled() => return,
        }
    }
}

/// How often audit entries past their retention are removed.
const PURGE_EVERY: Duration = Duration::from_secs(3_600);

/// Removes audit entries older than the retention, at start and then every hour. A purge that
/// fails is tried again the next hour; one that panics ends the task (the supervisor reports
/// it).
async fn purge_audit(tracker: Arc<Tracker>, stop: CancellationToken) {
    let mut tick = tokio::time::interval(PURGE_EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => {},
            _ = stop.cancelled() => return,
        }
        let tracker = tracker.clone();
        let now = jiff::Timestamp::now().as_second();
        match tokio::task::spawn_blocking(move || tracker.purge_expired(now)).await {
            Ok(Ok(0)) => {}
            Ok(Ok(removed)) => tracing::info!(removed, "audit entries past retention removed"),
            Ok(Err(error)) => tracing::error!(%error, "audit purge failed"),
            Err(ended) if ended.is_panic() => std::panic::resume_unwind(ended.into_panic()),
            Err(_) => return,
        }
    }
}

/// Applies the feed, clears "feed not applied", then polls for what is new until stopped. A
/// poll that fails holds "feed failing" on `/readyz` until one succeeds (the follower reads
/// the feed again from its start after an error, skipping what the watermark covers), and
/// the next poll waits longer ([`Pace`]). A poll that found more (an HTTP page that moved
/// the watermark) is followed by the next at once.
async fn follow_feed(
    mut follower: Follower,
    store: Store,
    app: Arc<App>,
    pace: Pace,
    stop: CancellationToken,
) {
    let mut failures = 0u32;
    loop {
        let (store_now, stop_now) = (store.clone(), stop.clone());
        let polled = tokio::task::spawn_blocking(move || {
            let report = follower.poll_until(&store_now, &stop_now);
            (follower, report)
        })
        .await;
        let report = match polled {
            Ok((back, report)) => {
                follower = back;
                report
            }
            // The follower is lost with the panic: the supervisor reports it.
            Err(ended) if ended.is_panic() => std::panic::resume_unwind(ended.into_panic()),
            Err(_) => return,
        };
        if stop.is_cancelled() {
            return;
        }
        let wait = match &report {
            Ok(r) if r.more => Duration::ZERO,
            Ok(_) => pace.every,
            Err(e) if e.is_refusal() => pace.most,
            Err(_) => pace.after_failures(failures + 1),
        };
        failures = if report.is_ok() { 0 } else { failures + 1 };
        record_poll(&app, report);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {},
            _ = stop.cancelled() => return,
        }
    }
}

/// How long the follower waits between polls.
#[derive(Debug, Clone, Copy)]
struct Pace {
    /// After a poll that found nothing more: `[feed] poll_ms`.
    every: Duration,
    /// The longest wait after failures: `[feed] backoff_max_ms` (at least `every`).
    most: Duration,
}

impl Pace {
    fn of(config: &crate::config::FeedConfig) -> Pace {
        let every = Duration::from_millis(config.poll_ms);
        Pace {
            every,
            most: Duration::from_millis(config.backoff_max_ms).max(every),
        }
    }

    /// After `n` failures in a row: `every` doubled `n - 1` times, capped at `most`, then
    /// between half and all of it (jitter, so that servers restarted together do not ask a
    /// recovering feed server at the same instant).
    fn after_failures(&self, n: u32) -> Duration {
        let doubled = self
            .every
            .saturating_mul(1u32 << n.saturating_sub(1).min(20));
        let full = doubled.min(self.most);
        let mut byte = [0u8; 1];
        let fraction = match getrandom::fill(&mut byte) {
            Ok(()) => 0.5 + f64::from(byte[0]) / 510.0,
            Err(_) => 1.0,
        };
        full.mul_f64(fraction)
    }
}

/// Publishes a poll's outcome. "Feed not applied" clears only once the feed was read to its
/// end (an HTTP page that found more is not the end).
fn record_poll(app: &App, report: Result<crate::sync::SyncReport, crate::sync::SyncError>) {
    let caught_up = report.as_ref().is_ok_and(|r| !r.more);
    match report {
        Ok(report) => {
            app.metrics.feed_applied.inc_by(report.applied);
            app.metrics.feed_rejected.inc_by(report.rejected_count());
            app.metrics.feed_watermark.set(report.watermark as i64);
            for reject in &report.rejected {
                tracing::warn!(%reject, "feed line rejected");
            }
            if let Ok(mut status) = app.feed.lock() {
                status.watermark = report.watermark;
                status.applied += report.applied;
                status.rejected += report.rejected_count();
                status
                    .last_rejects
                    .extend(report.rejected.iter().map(|r| r.to_string()));
                let keep = status.last_rejects.len().saturating_sub(20);
                status.last_rejects.drain(..keep);
                if !report.more {
                    status.caught_up_at = Some(Instant::now());
                }
                status.last_error = None;
            }
            if report.applied > 0 {
                tracing::info!(
                    applied = report.applied,
                    watermark = report.watermark,
                    "feed applied"
                );
            }
        }
        Err(error) => {
            if let Ok(mut status) = app.feed.lock() {
                status.last_error = Some(crate::sync::redact(&error.to_string()));
            }
            if error.is_refusal() {
                tracing::error!(%error, "the feed refuses the request: check [feed] source and its credentials; retrying at [feed] backoff_max_ms");
                app.readiness.hold(Unready::FeedFailing);
            } else if app.readiness.hold(Unready::FeedFailing) {
                tracing::error!(%error, "feed poll failed; not ready until a poll succeeds");
            } else {
                tracing::debug!(%error, "feed poll failed again");
            }
            return;
        }
    }
    if app.readiness.clear(Unready::FeedFailing) {
        tracing::info!("the feed reads again");
    }
    if caught_up && app.readiness.clear(Unready::FeedNotApplied) {
        tracing::info!("feed applied; ready unless /readyz says why not");
    }
}

fn publish_watermark(app: &App, store: &Store) {
    if let Ok(watermark) = store.watermark() {
        app.metrics.feed_watermark.set(watermark as i64);
        if let Ok(mut status) = app.feed.lock() {
            status.watermark = watermark;
        }
    }
}
