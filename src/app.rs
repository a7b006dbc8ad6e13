//! Putting the house together: from a configuration to a running server. Opens the store,
//! loads and checks the menus, builds the engine, applies the feed before `/readyz` turns
//! ready and then follows it, runs the session sweeper, and shuts all of it down in order on
//! SIGTERM or SIGINT.

use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::actions::Actions;
use crate::audit::{KeyedHasher, Tracker};
use crate::config::Config;
use crate::dialect::Registry;
use crate::engine::{Engine, EngineSettings};
use crate::feed::FeedSource;
use crate::inquiry::{Clock, Inquiries};
use crate::menu::{check, load_menus, Menus};
use crate::metrics::Metrics;
use crate::server::{serve, App};
use crate::session_store::memory::MemoryStore;
use crate::store::Store;
use crate::sync::Follower;
use crate::writer::Writer;

/// The feed as the admin API reports it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FeedStatus {
    pub source: Option<String>,
    pub watermark: u64,
    pub applied: u64,
    pub rejected: u64,
    pub last_rejects: Vec<String>,
    /// Seconds since the feed was last read to its end.
    pub caught_up_secs_ago: Option<u64>,
    #[serde(skip)]
    pub caught_up_at: Option<Instant>,
}

/// The parts every command that touches the store shares.
pub struct Parts {
    pub store: Store,
    pub tracker: Arc<Tracker>,
    pub hasher: KeyedHasher,
    /// The thread every write of the request path goes through.
    pub writer: Arc<Writer>,
}

/// Opens the store of `config` with its audit trail and keyed hasher.
pub fn open_parts(config: &Config) -> anyhow::Result<Parts> {
    let store = Store::open(&config.store.db, config.store.cache_mb * 1024 * 1024)?;
    let meta = store.tree("audit_meta")?;
    let tracker = Tracker::open(
        store.tree("audit")?,
        meta.clone(),
        config.audit.node,
        config.audit.retention_days,
    )?;
    let hasher = KeyedHasher::from_meta(&meta, config.audit.hash_key.as_deref())?;
    Ok(Parts {
        store,
        tracker: Arc::new(tracker),
        hasher,
        writer: Arc::new(Writer::start()?),
    })
}

/// Loads the menus of `config`, applies its service overrides, and refuses faulty ones.
pub fn load_checked_menus(config: &Config) -> anyhow::Result<Menus> {
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
        if let (Some(service), Some(codes)) = (menus.services.get_mut(id), &overrides.codes) {
            service.spec.codes = codes.clone();
        }
    }
    let faults = check::check(&menus, config.screen);
    if let Some(first) = faults.first() {
        anyhow::bail!(
            "the menus have {} fault(s); `daftar check` lists them; the first: {first}",
            faults.len()
        );
    }
    Ok(menus)
}

/// What answers a turn: the engine, the session store it steps on, and the dialects.
pub struct Core {
    pub engine: Arc<Engine>,
    /// The embedded session store, which the sweeper tidies.
    pub sessions: Arc<MemoryStore>,
    pub dialects: Registry,
}

/// How long a caller's choice of locale is remembered.
const LOCALE_KEPT: Duration = Duration::from_secs(400 * 24 * 3_600);

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
    let sessions = Arc::new(MemoryStore::with_durable_locales(
        config.sessions.max,
        parts.store.tree("prefs")?,
        parts.writer.clone(),
    ));
    let actions = Actions::new(Inquiries {
        store: parts.store.clone(),
        tracker: parts.tracker.clone(),
        writer: parts.writer.clone(),
        hasher: parts.hasher.clone(),
        clock: Clock::System,
    });
    let idle = Duration::from_secs(config.sessions.idle_s);
    let settings = EngineSettings {
        budget: config.screen,
        idle,
        ended: Duration::from_secs(config.sessions.ended_s).min(idle),
        resume_for: Duration::from_secs(config.sessions.resume_s),
        locale_for: LOCALE_KEPT,
    };
    let engine = Engine::new(
        Arc::new(menus),
        sessions.clone(),
        Arc::new(actions),
        parts.hasher.clone(),
        settings,
        dialects.default_services().clone(),
    );
    Ok(Core {
        engine: Arc::new(engine),
        sessions,
        dialects,
    })
}

/// A server started by [`start`]: its address, and the way to stop it.
pub struct Running {
    pub address: std::net::SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Stops accepting, drains in-flight requests, stops the feed and the sweeper, flushes the
    /// store and releases it.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.task.await?
    }
}

/// `daftar serve`: runs until SIGTERM or SIGINT, then drains and returns.
pub async fn run_server(config: Config) -> anyhow::Result<()> {
    let running = start(config).await?;
    shutdown_signal().await;
    tracing::info!("shutting down");
    running.stop().await
}

/// Starts the server of `config` and returns once it listens.
pub async fn start(config: Config) -> anyhow::Result<Running> {
    // Reading menu files and opening sled (which may wait for a lock) are blocking work.
    let opening = config.clone();
    let (menus, parts) = tokio::task::spawn_blocking(move || -> anyhow::Result<(Menus, Parts)> {
        Ok((load_checked_menus(&opening)?, open_parts(&opening)?))
    })
    .await??;
    let core = build_core(&config, &parts, menus)?;
    let metrics = Arc::new(Metrics::new());
    let listener = TcpListener::bind(config.server.listen).await?;
    let address = listener.local_addr()?;
    if !address.ip().is_loopback() {
        tracing::warn!(%address, "listening beyond loopback with no source allowlist or secret configured for any dialect");
    }
    let feed_status = Arc::new(Mutex::new(FeedStatus {
        source: config.feed.source.clone(),
        ..FeedStatus::default()
    }));
    let app = Arc::new(App {
        engine: core.engine.clone(),
        dialects: core.dialects.clone(),
        metrics,
        tracker: parts.tracker.clone(),
        ready: false.into(),
        feed: feed_status,
        admin_token: config.admin.token.clone(),
        body_limit: config.server.body_limit_bytes,
        body_timeout: Duration::from_millis(config.server.body_timeout_ms),
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let sweeper = tokio::spawn(sweep_sessions(
        core.sessions.clone(),
        Duration::from_millis(config.sessions.sweep_ms),
        stop_rx.clone(),
    ));
    let purger = tokio::spawn(purge_audit(parts.tracker.clone(), stop_rx.clone()));
    let halt_sync = Arc::new(AtomicBool::new(false));
    let follower = tokio::spawn(follow_feed(
        config.clone(),
        parts.store.clone(),
        app.clone(),
        stop_rx,
        halt_sync.clone(),
    ));
    tracing::info!(%address, db = %config.store.db.display(), "daftar serving");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        serve(listener, app, &config.server, async {
            let _ = stopped.await;
        })
        .await;
        let _ = stop_tx.send(true);
        halt_sync.store(true, Ordering::Relaxed);
        let _ = sweeper.await;
        let _ = purger.await;
        let _ = follower.await;
        parts.store.flush()?;
        Ok(())
    });
    Ok(Running {
        address,
        stop,
        task,
    })
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

async fn sweep_sessions(
    sessions: Arc<MemoryStore>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                // A sweep walks the whole table (milliseconds at 200k sessions): off the workers.
                let sessions = sessions.clone();
                let now = tokio::time::Instant::now();
                let _ = tokio::task::spawn_blocking(move || sessions.sweep(now)).await;
            }
            _ = stop.changed() => return,
        }
    }
}

/// How often audit entries past their retention are removed.
const PURGE_EVERY: Duration = Duration::from_secs(3_600);

/// Removes audit entries older than the retention, at start and then every hour.
async fn purge_audit(tracker: Arc<Tracker>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(PURGE_EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => {},
            _ = stop.changed() => return,
        }
        let tracker = tracker.clone();
        let now = jiff::Timestamp::now().as_second();
        match tokio::task::spawn_blocking(move || tracker.purge_expired(now)).await {
            Ok(Ok(0)) => {}
            Ok(Ok(removed)) => tracing::info!(removed, "audit entries past retention removed"),
            Ok(Err(error)) => tracing::error!(%error, "audit purge failed"),
            Err(_) => tracing::error!("audit purge panicked"),
        }
    }
}

/// Applies the feed, marks the server ready, then polls for what is new until stopped.
async fn follow_feed(
    config: Config,
    store: Store,
    app: Arc<App>,
    mut stop: watch::Receiver<bool>,
    halt: Arc<AtomicBool>,
) {
    let Some(source) = config.feed.source.clone() else {
        publish_watermark(&app, &store);
        app.ready.store(true, Ordering::Release);
        return;
    };
    let source = match FeedSource::parse(&source) {
        Ok(source) => source,
        Err(error) => {
            tracing::error!(%error, "the feed cannot be followed; serving the store as it is");
            app.ready.store(true, Ordering::Release);
            return;
        }
    };
    let mut follower = match Follower::new(&store, source) {
        Ok(follower) => follower,
        Err(error) => {
            tracing::error!(%error, "the feed cannot be followed; serving the store as it is");
            app.ready.store(true, Ordering::Release);
            return;
        }
    };
    let mut tick = tokio::time::interval(Duration::from_millis(config.feed.poll_ms.max(10)));
    loop {
        let (store_now, app_now, halt_now) = (store.clone(), app.clone(), halt.clone());
        let polled = tokio::task::spawn_blocking(move || {
            let report = follower.poll_until(&store_now, &halt_now);
            (follower, report)
        })
        .await;
        let Ok((back, report)) = polled else {
            tracing::error!("the feed follower panicked; stopping it");
            app.ready.store(true, Ordering::Release);
            return;
        };
        follower = back;
        record_poll(&app_now, report);
        if !app.ready.swap(true, Ordering::AcqRel) {
            tracing::info!("feed applied; ready");
        }
        tokio::select! {
            _ = tick.tick() => {},
            _ = stop.changed() => return,
        }
    }
}

fn record_poll(app: &App, report: Result<crate::sync::SyncReport, crate::sync::SyncError>) {
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
                status.caught_up_at = Some(Instant::now());
            }
            if report.applied > 0 {
                tracing::info!(
                    applied = report.applied,
                    watermark = report.watermark,
                    "feed applied"
                );
            }
        }
        Err(error) => tracing::error!(%error, "feed poll failed"),
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
