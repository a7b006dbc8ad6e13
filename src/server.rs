//! The HTTP side: hyper's accept loop, the routes, the limits, graceful shutdown.
//!
//! Routes: `POST /ussd/<dialect>`, `GET /healthz`, `GET /readyz` (200 `ready` when no reason
//! of `readiness` holds, else 503 with the reasons, one a line), `GET /metrics`, and the admin
//! API under `/admin/` (bearer token; off without one). With `[admin] listen`, `/metrics` and
//! `/admin/` leave the aggregators' port for a port of their own ([`Routes`]).
//! Limits (CRATES.md §9): a header-read timeout that works only because a timer is set, a
//! bounded read buffer, a body limit (413 beyond it, checked on `Content-Length` first), and a
//! semaphore taken before `accept` so that the loop itself applies backpressure. Shutdown stops
//! accepting, lets in-flight requests finish, and gives up after the grace period.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, WWW_AUTHENTICATE};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::audit::{Tracker, TrackingCode};
use crate::config::ServerConfig;
use crate::dialect::guard::{constant_time_eq, Refusal};
use crate::dialect::{Registry, WireRequest, WireResponse};
use crate::engine::Engine;
use crate::metrics::{self, Metrics};
use crate::readiness::Readiness;
use crate::sync::FeedStatus;
use crate::turn::{Reply, Turn, TurnKind};

type Body = Full<Bytes>;

/// What the request handlers share.
pub(crate) struct App {
    pub(crate) engine: Arc<Engine>,
    pub(crate) dialects: Registry,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) tracker: Arc<Tracker>,
    pub(crate) readiness: Arc<Readiness>,
    pub(crate) feed: Arc<std::sync::Mutex<FeedStatus>>,
    pub(crate) admin_token: Option<String>,
    pub(crate) body_limit: usize,
    /// Time allowed for a request body to arrive once its head has been read.
    pub(crate) body_timeout: Duration,
}

/// Which routes a listener serves: all of them (one port), or the aggregators' and the
/// operators' apart, when `[admin] listen` gives the operators a port of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Routes {
    /// Every route on one port (no `[admin] listen`).
    All,
    /// The aggregator-facing port: USSD, health and readiness; no `/metrics`, no `/admin/`.
    Public,
    /// The operators' port: `/metrics`, `/admin/`, health and readiness; no USSD.
    Operators,
}

impl Routes {
    /// Whether a path is served here: the operators' paths on one side, USSD on the other.
    fn serves(self, path: &str) -> bool {
        let operators = path == "/metrics" || path.starts_with("/admin/");
        match self {
            Routes::All => true,
            Routes::Public => !operators,
            Routes::Operators => operators || path == "/healthz" || path == "/readyz",
        }
    }
}

/// Serves `listener` until `shutdown` resolves, then drains in-flight requests.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    routes: Routes,
    limits: &ServerConfig,
    shutdown: impl Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(limits.header_timeout_ms))
        .max_buf_size(16 * 1024)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = service_fn(move |req| {
            let app = app.clone();
            async move { Ok::<_, std::convert::Infallible>(route(&app, routes, req, peer).await) }
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    let grace = Duration::from_millis(limits.shutdown_grace_ms);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the grace period; closing them");
    }
}

async fn route(
    app: &App,
    routes: Routes,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Response<Body> {
    let path = req.uri().path().to_string();
    let method = req.method().as_str().to_string();
    if !routes.serves(&path) {
        return text(StatusCode::NOT_FOUND, "not found\n");
    }
    match (method.as_str(), path.as_str()) {
        ("GET", "/healthz") => text(StatusCode::OK, "ok\n"),
        ("GET", "/readyz") => readyz(app),
        ("GET", "/metrics") => {
            let live = app.engine.session_count().await;
            app.metrics.sessions_live.set(live as i64);
            let mut response = text(StatusCode::OK, &app.metrics.render());
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static(metrics::CONTENT_TYPE),
            );
            response
        }
        _ if path.starts_with("/ussd/") => ussd(app, &path["/ussd/".len()..], req, peer).await,
        _ if path.starts_with("/admin/") => {
            admin(app, &method, &path["/admin/".len()..], &req).await
        }
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

fn readyz(app: &App) -> Response<Body> {
    let reasons = app.readiness.reasons();
    if reasons.is_empty() {
        text(StatusCode::OK, "ready\n")
    } else {
        text(
            StatusCode::SERVICE_UNAVAILABLE,
            &(reasons.join("\n") + "\n"),
        )
    }
}

/// One USSD step: the dialect reads the request, the engine answers, the dialect writes it.
async fn ussd(app: &App, rest: &str, req: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
    let (name, tail) = match rest.find('/') {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    let Some(dialect) = app.dialects.find(name).cloned() else {
        return text(StatusCode::NOT_FOUND, "no such dialect\n");
    };
    // Who may call, before the body is read (SPEC §4); a path secret leaves the tail.
    let tail = match app
        .dialects
        .gate(name)
        .admit(Some(peer), req.headers(), tail)
    {
        Ok(tail) => tail,
        Err(refusal) => {
            app.metrics.count_request(dialect.name(), "refused");
            tracing::debug!(dialect = %dialect.name(), peer = %peer.ip(), reason = refusal.reason(), "caller refused");
            return refused(refusal);
        }
    };
    let (head, body) = req.into_parts();
    let declared = head.headers.get(CONTENT_LENGTH);
    let body = match read_body(declared, body, app.body_limit, app.body_timeout).await {
        Ok(body) => body,
        Err(status) => {
            app.metrics.count_request(dialect.name(), "bad_body");
            return text(status, "request body too large or too slow\n");
        }
    };
    let started = Instant::now();
    let wire = WireRequest {
        method: head.method.as_str(),
        path_tail: tail,
        query: head.uri.query(),
        headers: &head.headers,
        peer: Some(peer),
        body: &body,
    };
    let response = match dialect.parse(&wire) {
        Ok(turn) => {
            let turn = Arc::new(turn);
            let reply = step(app, turn.clone()).await;
            let outcome = match (&turn.kind, &reply) {
                (TurnKind::Status, _) => "status",
                (_, Reply::Continue(_)) => "continue",
                (_, Reply::End(_)) => "end",
                (_, Reply::Ack) => "ack",
            };
            app.metrics.count_request(dialect.name(), outcome);
            if let Some(kind) = turn.ended_by(&reply) {
                app.metrics.count_end(dialect.name(), kind);
            }
            dialect.respond(&turn, &reply)
        }
        Err(error) => {
            app.metrics.count_request(dialect.name(), "bad_request");
            tracing::debug!(dialect = %dialect.name(), %error, "request refused");
            dialect.reject(&error)
        }
    };
    app.metrics
        .observe_step(dialect.name(), started.elapsed().as_secs_f64());
    wire_response(response)
}

/// Steps the engine apart from the connection (`Engine::step_apart`).
async fn step(app: &App, turn: Arc<Turn>) -> Reply {
    Engine::step_apart(app.engine.clone(), turn).await
}

/// The body, or 413 when it is (or says it will be) larger than `limit`.
async fn read_body(
    declared: Option<&HeaderValue>,
    body: Incoming,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, StatusCode> {
    let declared = declared
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(StatusCode::PAYLOAD_TOO_LARGE);
    }
    // The header timeout does not cover the body: a body that trickles in is cut off too.
    let collect = Limited::new(body, limit).collect();
    match tokio::time::timeout(timeout, collect).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(_)) => Err(StatusCode::PAYLOAD_TOO_LARGE),
        Err(_) => Err(StatusCode::REQUEST_TIMEOUT),
    }
}

/// How the admin API's answer begins when no token is configured; `track --server` reads it.
pub(crate) const ADMIN_OFF: &str = "the admin API is off";
/// The whole answer: how to turn it on.
const ADMIN_OFF_HOW: &str = "the admin API is off: set DAFTAR_ADMIN_TOKEN or [admin] token \
     in the configuration, then restart the server\n";

/// The admin API: `GET /admin/track/<code>`, `GET /admin/feed`, `GET /admin/sessions`.
async fn admin(app: &App, method: &str, path: &str, req: &Request<Incoming>) -> Response<Body> {
    let Some(token) = &app.admin_token else {
        return text(StatusCode::NOT_FOUND, ADMIN_OFF_HOW);
    };
    let presented = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if !presented.is_some_and(|p| constant_time_eq(p.as_bytes(), token.as_bytes())) {
        return text(StatusCode::UNAUTHORIZED, "a bearer token is needed\n");
    }
    if method != "GET" {
        return text(StatusCode::METHOD_NOT_ALLOWED, "GET only\n");
    }
    match path.split_once('/') {
        Some(("track", code)) => track(app, code),
        None if path == "feed" => {
            let status = app
                .feed
                .lock()
                .map(|s| {
                    let mut status = s.clone();
                    status.caught_up_secs_ago = s.caught_up_at.map(|t| t.elapsed().as_secs());
                    status
                })
                .unwrap_or_default();
            json(StatusCode::OK, &status)
        }
        None if path == "sessions" => json(
            StatusCode::OK,
            &serde_json::json!({ "live": app.engine.session_count().await }),
        ),
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

fn track(app: &App, code: &str) -> Response<Body> {
    let decoded = percent_decode(code);
    let Some(code) = TrackingCode::parse(&decoded) else {
        return text(StatusCode::BAD_REQUEST, "not a tracking code\n");
    };
    match app.tracker.lookup(code) {
        Ok(Some(entry)) => json(StatusCode::OK, &entry),
        Ok(None) => text(StatusCode::NOT_FOUND, "no such tracking code\n"),
        Err(error) => {
            tracing::error!(%error, "audit lookup failed");
            text(StatusCode::SERVICE_UNAVAILABLE, "audit trail unavailable\n")
        }
    }
}

fn percent_decode(s: &str) -> String {
    form_urlencoded::parse(format!("c={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The answer to a caller the dialect's gate keeps out: 403, or 401 (with a basic challenge
/// when basic auth is what is missing).
fn refused(refusal: Refusal) -> Response<Body> {
    let status = StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::FORBIDDEN);
    let body = if status == StatusCode::FORBIDDEN {
        "source not allowed\n"
    } else {
        "credentials needed\n"
    };
    let mut response = text(status, body);
    if refusal == Refusal::NoBasicAuth {
        response.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"daftar\", charset=\"UTF-8\""),
        );
    }
    response
}

fn wire_response(wire: WireResponse) -> Response<Body> {
    let status = StatusCode::from_u16(wire.status).unwrap_or(StatusCode::OK);
    let mut response = Response::new(Full::new(Bytes::from(wire.body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(wire.content_type));
    response
}

fn text(status: StatusCode, body: &str) -> Response<Body> {
    wire_response(WireResponse {
        status: status.as_u16(),
        content_type: "text/plain; charset=utf-8",
        body: body.to_string(),
    })
}

fn json(status: StatusCode, value: &impl serde::Serialize) -> Response<Body> {
    let body = serde_json::to_string_pretty(value).unwrap_or_default();
    wire_response(WireResponse {
        status: status.as_u16(),
        content_type: "application/json",
        body,
    })
}
