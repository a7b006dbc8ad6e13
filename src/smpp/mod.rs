//! USSD over SMPP: daftar binds as an ESME transceiver to each `[smpp.<name>]` gateway and
//! serves the sessions it delivers through the same engine and session store as the HTTP
//! dialects (DIALECTS.md §8).
//!
//! One supervised task per gateway ([`keep_bound`]) connects with `rusmppc` (plain TCP), binds,
//! and keeps the bind: `rusmppc` sends an enquire_link every `enquire_link_s` and answers the
//! gateway's; a bind that fails or drops is tried again after an exponential backoff with
//! jitter, for as long as the server runs. `daftar_smpp_bound{dialect="smpp.<name>"}` is 1
//! while bound: the thing to alert on. A gateway that is down is logged and retried; it does
//! not touch `/readyz`, which tells a load balancer whether to send HTTP callers to this node:
//! the HTTP dialects are served all the same, and taking the node out would not bring the
//! gateway back.
//!
//! Every `deliver_sm` is answered with its `deliver_sm_resp` at once, before the step; the
//! step runs in its own task (`Engine::step_apart`), joined by the gateway's task, and its
//! reply goes back as a `submit_sm` (`ussd`). Sessions are keyed by the dialect `smpp.<name>`
//! and the gateway's session, so a session whose next `deliver_sm` arrives after a reconnect
//! continues from the session store. When daftar stops, the steps under way finish, then each
//! session waiting for its caller's answer is ended politely (the service's "unavailable"
//! words, and an abort in the engine, which leaves the resume offer) before the unbind —
//! unless sessions are shared (`[sessions] store = "redis://…"`): then other nodes are bound
//! to the same gateway, the caller's next step comes on one of their binds and the session
//! goes on there, so a stopping node leaves its waiting sessions alone. What it must never
//! do: log an MSISDN or what a caller typed.

pub mod config;

pub(crate) mod alphabet;
pub(crate) mod ussd;

use dashmap::DashMap;
use futures_util::{Stream, StreamExt};
use rusmpp::pdus::{BindTransceiver, DeliverSmResp};
use rusmpp::types::COctetString;
use rusmpp::values::{Npi, Ton};
use rusmpp::{Command, Pdu};
use rusmppc::{Client, ConnectionBuilder, Event};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use self::config::GatewayConfig;
use self::ussd::{Delivered, Thread};
use crate::engine::Engine;
use crate::metrics::Metrics;
use crate::turn::{Reply, Turn, TurnKind};

/// One gateway, with what its sessions are served by.
#[derive(Clone)]
pub(crate) struct Gateway {
    /// The dialect name of its sessions, `smpp.<name>`: the session key, the metrics label.
    dialect: Arc<str>,
    config: Arc<GatewayConfig>,
    engine: Arc<Engine>,
    metrics: Arc<Metrics>,
    /// The sessions waiting for their caller's answer, by session id: whom to end politely
    /// when daftar stops. Pruned of those idle longer than the engine keeps a session.
    open: Arc<DashMap<String, Waiting>>,
    /// `sessions.idle_s`: past it the engine has forgotten a session, and so does `open`.
    idle: Duration,
    /// Whether sessions live in a store other nodes share: a session then outlives this bind.
    shared_sessions: bool,
}

/// A session waiting for its caller: where its reply goes, and the dialled string of its
/// start (which names its service).
#[derive(Clone)]
struct Waiting {
    thread: Thread,
    dialled: Option<String>,
    /// When the screen it waits on was sent.
    since: Instant,
}

/// How a bind ended.
enum Unbound {
    /// daftar is stopping.
    Stopped,
    /// The gateway unbound or the connection dropped.
    Lost,
}

impl Gateway {
    /// The gateway `[smpp.<name>]` of `config`, whose sessions the engine forgets after `idle`.
    pub(crate) fn new(
        name: &str,
        config: GatewayConfig,
        engine: Arc<Engine>,
        metrics: Arc<Metrics>,
        idle: Duration,
    ) -> Gateway {
        let dialect: Arc<str> = Arc::from(format!("smpp.{name}"));
        metrics.set_bound(&dialect, false);
        Gateway {
            dialect,
            config: Arc::new(config),
            engine,
            metrics,
            open: Arc::new(DashMap::new()),
            idle,
            shared_sessions: false,
        }
    }

    /// The gateway with sessions shared by several nodes (see the module comment): stopping,
    /// it leaves its waiting sessions to the other nodes' binds.
    pub(crate) fn with_shared_sessions(mut self, shared: bool) -> Gateway {
        self.shared_sessions = shared;
        self
    }

    /// Forgets the waiting sessions idle past `idle`: their callers have gone.
    fn prune_waiting(&self) {
        self.open
            .retain(|_, waiting| waiting.since.elapsed() < self.idle);
    }
}

/// Binds to the gateway and keeps it bound until `stop`; see the module comment.
pub(crate) async fn keep_bound(gateway: Gateway, stop: CancellationToken) {
    let mut failures = 0u32;
    // The steps under way, joined here: a step of a bind that was lost finishes (its reply
    // is lost with the bind; the session is in the store) while the next bind is served.
    let mut steps = JoinSet::new();
    loop {
        let bound = tokio::select! {
            bound = bind(&gateway.config) => bound,
            () = stop.cancelled() => return,
        };
        match bound {
            Ok((client, events)) => {
                tracing::info!(gateway = %gateway.dialect, "bound as transceiver");
                gateway.metrics.set_bound(&gateway.dialect, true);
                failures = 0;
                let unbound = serve(&gateway, &client, events, &mut steps, &stop).await;
                gateway.metrics.set_bound(&gateway.dialect, false);
                match unbound {
                    Unbound::Stopped => return,
                    Unbound::Lost => tracing::warn!(gateway = %gateway.dialect, "bind lost"),
                }
            }
            Err(error) => tracing::warn!(gateway = %gateway.dialect, %error, "bind failed"),
        }
        let wait = backoff(&gateway.config, failures, jitter());
        failures = failures.saturating_add(1);
        tracing::info!(gateway = %gateway.dialect, ?wait, "binding again after a wait");
        tokio::select! {
            () = tokio::time::sleep(wait) => {},
            () = stop.cancelled() => return,
        }
    }
}

/// A connection and a transceiver bind to the gateway of `config`.
async fn bind(
    config: &GatewayConfig,
) -> Result<(Client, impl Stream<Item = Event> + Unpin), rusmppc::error::Error> {
    let (client, events) = ConnectionBuilder::new()
        .enquire_link_interval(Duration::from_secs(config.enquire_link_s))
        .response_timeout(Duration::from_millis(config.response_timeout_ms))
        .connect(format!("smpp://{}", config.address))
        .await?;
    let bound = client
        .bind_transceiver(
            BindTransceiver::builder()
                .system_id(c_string(&config.system_id))
                .password(c_string(config.password.as_deref().unwrap_or("")))
                .system_type(c_string(&config.system_type))
                .addr_ton(Ton::Unknown)
                .addr_npi(Npi::Unknown)
                .address_range(COctetString::empty())
                .build(),
        )
        .await;
    if let Err(error) = bound {
        let _ = client.close().await;
        return Err(error);
    }
    Ok((client, events))
}

/// A value `config::check` has already held to the field's length.
fn c_string<const MIN: usize, const MAX: usize>(text: &str) -> COctetString<MIN, MAX> {
    text.parse().unwrap_or_default()
}

/// Serves the bound connection until it is lost or `stop` is signalled; on `stop`, lets the
/// steps under way finish and ends the sessions left waiting before it unbinds.
async fn serve(
    gateway: &Gateway,
    client: &Client,
    mut events: impl Stream<Item = Event> + Unpin,
    steps: &mut JoinSet<()>,
    stop: &CancellationToken,
) -> Unbound {
    let mut prune = tokio::time::interval(gateway.idle.max(Duration::from_secs(1)));
    loop {
        let event = tokio::select! {
            event = events.next() => event,
            Some(_) = steps.join_next(), if !steps.is_empty() => continue,
            _ = prune.tick() => {
                gateway.prune_waiting();
                continue;
            }
            () = stop.cancelled() => {
                while steps.join_next().await.is_some() {}
                if gateway.shared_sessions {
                    gateway.open.clear();
                } else {
                    end_waiting_sessions(gateway, client).await;
                }
                let _ = client.unbind().await;
                let _ = client.close().await;
                return Unbound::Stopped;
            }
        };
        match event {
            Some(Event::Incoming(command)) => {
                if take(gateway, client, command, steps).await.is_err() {
                    let _ = client.close().await;
                    return Unbound::Lost;
                }
            }
            Some(Event::Error(error)) => {
                tracing::warn!(gateway = %gateway.dialect, %error, "SMPP connection error");
            }
            None => return Unbound::Lost,
        }
    }
}

/// Acts on one PDU from the gateway: a `deliver_sm` is answered at once and stepped apart;
/// an unbind is answered and ends the bind. `Lost` when the bind is over.
async fn take(
    gateway: &Gateway,
    client: &Client,
    command: Command,
    steps: &mut JoinSet<()>,
) -> Result<(), Unbound> {
    let sequence = command.sequence_number();
    match command.pdu() {
        Some(Pdu::DeliverSm(deliver)) => {
            if let Err(error) = client
                .deliver_sm_resp(sequence, DeliverSmResp::default())
                .await
            {
                tracing::warn!(gateway = %gateway.dialect, %error, "deliver_sm_resp not sent");
            }
            let delivered = Delivered::read(deliver);
            steps.spawn(answer(gateway.clone(), client.clone(), delivered));
            Ok(())
        }
        Some(Pdu::Unbind) => {
            let _ = client.unbind_resp(sequence).await;
            tracing::info!(gateway = %gateway.dialect, "the gateway unbound");
            Err(Unbound::Lost)
        }
        _ => {
            tracing::debug!(gateway = %gateway.dialect, id = ?command.id(), "PDU ignored");
            Ok(())
        }
    }
}

/// One turn of a session: the engine's step, then the `submit_sm` that shows its reply.
async fn answer(gateway: Gateway, client: Client, delivered: Delivered) {
    let Some((turn, thread)) = ussd::turn_of(&gateway.dialect, &gateway.config, &delivered) else {
        gateway.metrics.count_request(&gateway.dialect, "not_ussd");
        tracing::debug!(gateway = %gateway.dialect, "deliver_sm without ussd_service_op ignored");
        return;
    };
    let dialled = remembered_dialled(&gateway, &turn);
    let turn = Arc::new(turn);
    let started = Instant::now();
    let reply = Engine::step_apart(gateway.engine.clone(), turn.clone()).await;
    count(&gateway, &turn, &reply);
    let seconds = started.elapsed().as_secs_f64();
    gateway.metrics.observe_step(&gateway.dialect, seconds);
    match &reply {
        Reply::Continue(_) => {
            let waiting = Waiting {
                thread: thread.clone(),
                dialled,
                since: Instant::now(),
            };
            gateway.open.insert(turn.session_id.clone(), waiting);
        }
        Reply::End(_) | Reply::Ack => {
            gateway.open.remove(&turn.session_id);
        }
    }
    send(&gateway, &client, &thread, &reply).await;
}

/// The dialled string that names the session's service: the start's own, or the one its
/// start had (kept for [`end_waiting_sessions`]).
fn remembered_dialled(gateway: &Gateway, turn: &Turn) -> Option<String> {
    match turn.kind {
        TurnKind::Start => turn.service_code.clone(),
        _ => gateway
            .open
            .get(&turn.session_id)
            .and_then(|waiting| waiting.dialled.clone()),
    }
}

fn count(gateway: &Gateway, turn: &Turn, reply: &Reply) {
    let outcome = match reply {
        Reply::Continue(_) => "continue",
        Reply::End(_) => "end",
        Reply::Ack => "ack",
    };
    gateway.metrics.count_request(&gateway.dialect, outcome);
    if let Some(kind) = turn.ended_by(reply) {
        gateway.metrics.count_end(&gateway.dialect, kind);
    }
}

/// Sends the `submit_sm` of `reply` (nothing for an acknowledgement).
async fn send(gateway: &Gateway, client: &Client, thread: &Thread, reply: &Reply) {
    let Some(submit) = ussd::submit_of(&gateway.config, thread, reply) else {
        return;
    };
    if let Err(error) = client.submit_sm(submit).await {
        tracing::warn!(gateway = %gateway.dialect, %error, "submit_sm failed; the caller's screen is lost");
    }
}

/// Ends each session waiting for its caller, all at once (each waits for its
/// `submit_sm_resp`): an abort in the engine (which leaves the resume offer) and the
/// service's "unavailable" words as the last screen.
async fn end_waiting_sessions(gateway: &Gateway, client: &Client) {
    let waiting: Vec<(String, Waiting)> = gateway
        .open
        .iter()
        .map(|entry| (entry.key().clone(), entry.value().clone()))
        .collect();
    gateway.open.clear();
    let mut farewells = JoinSet::new();
    for (session_id, waiting) in waiting {
        let (gateway, client) = (gateway.clone(), client.clone());
        farewells.spawn(async move { farewell(&gateway, &client, &session_id, &waiting).await });
    }
    while farewells.join_next().await.is_some() {}
}

/// The end of one waiting session; see [`end_waiting_sessions`].
async fn farewell(gateway: &Gateway, client: &Client, session_id: &str, waiting: &Waiting) {
    let mut turn = Turn::new(
        &gateway.dialect,
        session_id,
        &waiting.thread.msisdn,
        TurnKind::Abort,
    );
    if let Some(code) = &waiting.dialled {
        turn = turn.dialled(code);
    }
    let _ = gateway.engine.step(&turn).await;
    let last = gateway.engine.unavailable(&turn);
    gateway.metrics.count_end(&gateway.dialect, "unbind");
    send(gateway, client, &waiting.thread, &last).await;
}

/// The wait before bind number `failures + 1`: `reconnect_min_ms` doubled per failure up to
/// `reconnect_max_ms`, times `jitter` (0.5 to 1), so that gateways that fell together do not
/// come back together.
fn backoff(config: &GatewayConfig, failures: u32, jitter: f64) -> Duration {
    let doubled = config
        .reconnect_min_ms
        .saturating_mul(1u64 << failures.min(32));
    let capped = doubled.min(config.reconnect_max_ms);
    Duration::from_millis((capped as f64 * jitter.clamp(0.5, 1.0)) as u64)
}

/// A factor from 0.5 to 1 from the system's randomness (0.75 if it has none).
fn jitter() -> f64 {
    let mut byte = [0u8; 1];
    match getrandom::fill(&mut byte) {
        Ok(()) => 0.5 + f64::from(byte[0]) / 510.0,
        Err(_) => 0.75,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_to_its_cap_with_jitter() {
        let config = GatewayConfig {
            reconnect_min_ms: 100,
            reconnect_max_ms: 1_000,
            ..GatewayConfig::default()
        };
        let ms = |failures, jitter| backoff(&config, failures, jitter).as_millis();
        assert_eq!(ms(0, 1.0), 100);
        assert_eq!(ms(1, 1.0), 200);
        assert_eq!(ms(3, 1.0), 800);
        assert_eq!(ms(4, 1.0), 1_000);
        assert_eq!(ms(40, 1.0), 1_000);
        assert_eq!(ms(1, 0.5), 100);
        assert_eq!(ms(1, 0.0), 100);
        assert!((0.5..=1.0).contains(&jitter()));
    }
}
