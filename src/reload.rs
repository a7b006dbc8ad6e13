//! Live menu reload: `SIGHUP` and `POST /admin/menus/reload` load the menus directory again
//! with the same load, `[services]` overrides and `check` as at start (`app::load_checked_menus`).
//! A menu set that passes becomes the current version of the engine's menus (new sessions open
//! on it; a session in flight ends on the version it started on, `engine::MenuSet`); one that
//! fails is refused with its reason and the old one keeps serving. Each reload counts in
//! `daftar_menu_reloads_total{result}` and logs one line.
//!
//! What it must never do: swap menus that failed the check; read files on a tokio worker (the
//! load runs in `spawn_blocking`).

use crate::config::Config;
use crate::engine::Engine;
use crate::metrics::Metrics;
use std::sync::Arc;

/// Reloads the menus of one server.
pub(crate) struct MenuReloader {
    config: Config,
    engine: Arc<Engine>,
    metrics: Arc<Metrics>,
}

impl MenuReloader {
    pub(crate) fn new(config: Config, engine: Arc<Engine>, metrics: Arc<Metrics>) -> MenuReloader {
        MenuReloader {
            config,
            engine,
            metrics,
        }
    }

    /// Loads, checks and installs the menus; the new version, or the reasons they were refused
    /// (each fault `check` found, or why they could not be read).
    pub(crate) async fn reload(
        self: &Arc<Self>,
        trigger: &'static str,
    ) -> Result<u64, Vec<String>> {
        let this = self.clone();
        let loaded =
            tokio::task::spawn_blocking(move || crate::app::load_and_check_menus(&this.config))
                .await;
        let result = match loaded {
            Ok(Ok(Ok(menus))) => Ok(self.engine.install_menus(menus)),
            Ok(Ok(Err(faults))) => Err(faults),
            Ok(Err(error)) => Err(vec![format!("{error:#}")]),
            Err(_) => Err(vec!["the menu load did not finish".to_string()]),
        };
        let label = if result.is_ok() { "ok" } else { "refused" };
        self.metrics.count_menu_reload(label);
        match &result {
            Ok(version) => tracing::info!(trigger, version, "menus reloaded"),
            Err(reasons) => {
                let reasons = reasons.join("; ");
                tracing::error!(trigger, %reasons, "menu reload refused; the old menus keep serving")
            }
        }
        result
    }
}

/// Reloads on each `SIGHUP` until `stop` is cancelled.
#[cfg(unix)]
pub(crate) async fn on_hangup(
    reloader: Arc<MenuReloader>,
    stop: tokio_util::sync::CancellationToken,
) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hangup = match signal(SignalKind::hangup()) {
        Ok(hangup) => hangup,
        Err(error) => {
            tracing::warn!(%error, "no SIGHUP handler: reload the menus with POST /admin/menus/reload");
            return;
        }
    };
    loop {
        tokio::select! {
            got = hangup.recv() => {
                if got.is_none() { return; }
                let _ = reloader.reload("SIGHUP").await;
            }
            _ = stop.cancelled() => return,
        }
    }
}
