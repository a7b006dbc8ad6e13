//! The HTTP side: hyper's accept loop, the routes, the limits, graceful shutdown.
//!
//! Routes: `POST /ussd/<dialect>`, `GET /healthz`, `GET /readyz` (200 `ready` when no reason
//! of `readiness` holds, else 503 with the reasons, one a line), `GET /metrics`, and the admin
//! API under `/admin/` (bearer token; off without one), and the SMS callbacks
//! `POST /sms/africastalking` (an inbound SMS: answered 200 at once, handled in a task) and
//! `POST /sms/africastalking/delivery` (a delivery report), and the phone simulator under
//! `/simulator` (its page, files and helpers; on the aggregators' side). With `[admin] listen`, `/metrics` and
//! `/admin/` leave the aggregators' port for a port of their own ([`Routes`]).
//! Limits (CRATES.md §9): a header-read timeout that works only because a timer is set, a
//! bounded read buffer, a body limit (413 beyond it, checked on `Content-Length` first), a cap
//! of connections per source address and `max_connections` in all, checked as a connection is
//! accepted: one over either is answered 503 at once and closed, so that a slowloris from one
//! address leaves the others served and no caller waits in the backlog past the aggregator's
//! deadline; and a request rate per source address (429 beyond it). Shutdown stops
//! accepting, lets in-flight requests finish, and gives up after the grace period.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{
    HeaderValue, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE,
};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::audit::{Tracker, TrackingCode};
use crate::backup::{BackupError, Backups};
use crate::config::ServerConfig;
use crate::dialect::guard::{constant_time_eq, Refusal};
use crate::dialect::{Registry, WireRequest, WireResponse};
use crate::engine::Engine;
use crate::fhir::{self, Fhir};
use crate::limits::sources::{Admitted, SourceCap};
use crate::limits::{self, Limit, Limits};
use crate::metrics::{self, Metrics};
use crate::readiness::Readiness;
use crate::simulator;
use crate::sms::africastalking::{parse_delivery, parse_inbound};
use crate::sms::SmsChannel;
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
    /// The SMS channel; `None` when the menus hold no SMS words.
    pub(crate) sms: Option<Arc<SmsChannel>>,
    pub(crate) admin_token: Option<String>,
    /// `POST /admin/backup`: off (`None`) without `[store] backup_dir`.
    pub(crate) backups: Option<Arc<Backups>>,
    pub(crate) body_limit: usize,
    /// Time allowed for a request body to arrive once its head has been read.
    pub(crate) body_timeout: Duration,
    /// The rate limits (per source address here; per caller in the engine and the actions).
    pub(crate) limits: Arc<Limits>,
    /// The connections each source address may hold.
    pub(crate) sources: SourceCap,
    /// `POST /admin/menus/reload`.
    pub(crate) menus: Arc<crate::reload::MenuReloader>,
    /// The FHIR eligibility API (`POST /fhir/CoverageEligibilityRequest`).
    pub(crate) fhir: Arc<Fhir>,
    /// Whether `/simulator` is served (`[simulator] enabled`).
    pub(crate) simulator: bool,
    /// Where sessions end, and why (`GET /admin/funnel`).
    pub(crate) funnel: Arc<crate::funnel::Funnel>,
    /// The support staff's entitlement lookup (`POST /admin/entitlement`).
    pub(crate) support: Arc<crate::support::Support>,
    /// This node's digit (`[audit] node`) and its peers' admin URLs (`[cluster] nodes`), for
    /// `GET /admin/track/<code>` of a code another node gave.
    pub(crate) node: u8,
    pub(crate) cluster: Arc<crate::cluster::ClusterConfig>,
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
        let Some(place) = admit(&app, &permits, peer) else {
            shed(stream);
            continue;
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
            drop(place);
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

/// A connection's place: one of `max_connections`, and one of its source address's share.
type Place = (OwnedSemaphorePermit, Admitted);

/// A place for a connection from `peer`, or `None` when its address holds its share (a slow
/// client's connections stay within it) or the server holds `max_connections`.
fn admit(app: &App, permits: &Arc<Semaphore>, peer: SocketAddr) -> Option<Place> {
    let Some(admitted) = app.sources.admit(peer.ip()) else {
        app.limits.count(Limit::SourceConnections);
        return None;
    };
    match permits.clone().try_acquire_owned() {
        Ok(permit) => Some((permit, admitted)),
        Err(_) => {
            tracing::debug!("max_connections reached; a connection is shed");
            None
        }
    }
}

/// The whole answer to a connection the server has no place for: at once, before its request
/// is read, so that the aggregator hears "busy" well before its own deadline (Hubtel waits
/// 5 s) instead of waiting in the listen backlog.
const SHED: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n\
Content-Type: text/plain; charset=utf-8\r\nContent-Length: 5\r\nConnection: close\r\n\r\nbusy\n";

/// Answers 503 without waiting (a fresh socket's send buffer takes it whole) and closes.
fn shed(stream: tokio::net::TcpStream) {
    let _ = stream.try_write(SHED);
    drop(stream);
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
            let pending = app.sms.as_ref().map_or(0, |sms| sms.pending());
            app.metrics.sms_pending.set(pending as i64);
            if let Some(lag) = feed_lag(app) {
                app.metrics.feed_lag.set(lag);
            }
            let mut response = text(StatusCode::OK, &app.metrics.render());
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static(metrics::CONTENT_TYPE),
            );
            response
        }
        ("POST", "/fhir/CoverageEligibilityRequest") => fhir_eligibility(app, req, peer).await,
        _ if app.simulator && simulator::owns(&path) => {
            simulator_answer(app, &method, &path, req, peer).await
        }
        _ if path.starts_with("/ussd/") => ussd(app, &path["/ussd/".len()..], req, peer).await,
        _ if path.starts_with("/sms/") => {
            sms(app, &method, &path["/sms/".len()..], req, peer).await
        }
        _ if path.starts_with("/admin/") => {
            admin(app, &method, &path["/admin/".len()..], req).await
        }
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

fn readyz(app: &App) -> Response<Body> {
    let mut reasons = app.readiness.reasons();
    reasons.extend(feed_lagging(app));
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
    let tail = match admitted(app, name, req.headers(), peer, tail) {
        Ok(tail) => tail,
        Err(refusal) => {
            app.metrics.count_request(dialect.name(), "refused");
            return refused(refusal);
        }
    };
    if let Err(limited) = app.limits.request(peer.ip()) {
        app.metrics.count_request(dialect.name(), "limited");
        return too_many(&limited);
    }
    let (head, body) = req.into_parts();
    let declared = head.headers.get(CONTENT_LENGTH);
    let body = match read_body(declared, body, app.body_limit, app.body_timeout).await {
        Ok(body) => body,
        Err(status) => {
            app.metrics.count_request(dialect.name(), "bad_body");
            return body_refused(status);
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

/// The phone simulator's page, files and helpers (`simulator`), under the source's rate limit
/// and the body limit; the page may load nothing from elsewhere (its content security policy).
async fn simulator_answer(
    app: &App,
    method: &str,
    path: &str,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Response<Body> {
    if let Err(limited) = app.limits.request(peer.ip()) {
        return too_many(&limited);
    }
    let (head, body) = req.into_parts();
    let body = if simulator::reads_body(method, path) {
        let declared = head.headers.get(CONTENT_LENGTH);
        match read_body(declared, body, app.body_limit, app.body_timeout).await {
            Ok(body) => body,
            Err(status) => return body_refused(status),
        }
    } else {
        Bytes::new()
    };
    let query = head.uri.query();
    let answer = simulator::answer(&app.engine, &app.dialects, method, path, query, &body);
    let mut response = wire_response(WireResponse {
        status: answer.status,
        content_type: answer.content_type,
        body: answer.body,
    });
    let headers = response.headers_mut();
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static(simulator::CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("cache-control", HeaderValue::from_static("no-store"));
    response
}

/// `POST /fhir/CoverageEligibilityRequest`: the source's rate limit, the client's token, the
/// media type and the body limit, each refusal an `OperationOutcome`; then the API's answer.
async fn fhir_eligibility(app: &App, req: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
    if let Err(limited) = app.limits.request(peer.ip()) {
        let why = "too many requests from this address";
        let mut response = fhir_json((
            StatusCode::TOO_MANY_REQUESTS,
            fhir::outcome("throttled", why),
        ));
        let waiting = too_many(&limited);
        if let Some(after) = waiting.headers().get(RETRY_AFTER) {
            response.headers_mut().insert(RETRY_AFTER, after.clone());
        }
        return response;
    }
    let (head, body) = req.into_parts();
    let bearer = head
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if !app.fhir.knows(bearer) {
        return fhir_json(fhir::unauthorised());
    }
    let media = head
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if !matches!(media.as_deref(), Some(fhir::FHIR_JSON | "application/json")) {
        let why = "the body must be application/fhir+json or application/json";
        return fhir_json((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            fhir::outcome("not-supported", why),
        ));
    }
    let declared = head.headers.get(CONTENT_LENGTH);
    let body = match read_body(declared, body, app.body_limit, app.body_timeout).await {
        Ok(body) => body,
        Err(status) => {
            let why = status.canonical_reason().unwrap_or("the body was refused");
            let mut response = fhir_json((status, fhir::outcome("too-costly", why)));
            // As `body_refused`: the rest of the body is still on the connection.
            response
                .headers_mut()
                .insert(hyper::header::CONNECTION, HeaderValue::from_static("close"));
            return response;
        }
    };
    fhir_json(app.fhir.answer(bearer, &body).await)
}

/// A FHIR resource as `application/fhir+json`.
fn fhir_json((status, resource): fhir::Reply) -> Response<Body> {
    let mut response = json(status, &resource);
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/fhir+json; charset=utf-8"),
    );
    response
}

/// Who may call, before the body is read (SPEC §4): the path tail the handler is to see (a
/// path secret taken off), or why `gate`'s settings keep the caller out (logged here).
fn admitted<'a>(
    app: &App,
    gate: &str,
    headers: &hyper::HeaderMap,
    peer: SocketAddr,
    tail: &'a str,
) -> Result<&'a str, Refusal> {
    app.dialects
        .gate(gate)
        .admit(Some(peer), headers, tail)
        .inspect_err(|refusal| {
            tracing::debug!(gate, peer = %peer.ip(), reason = refusal.reason(), "caller refused");
        })
}

/// Steps the engine apart from the connection (`Engine::step_apart`).
async fn step(app: &App, turn: Arc<Turn>) -> Reply {
    Engine::step_apart(app.engine.clone(), turn).await
}

/// The provider whose SMS callbacks are served, and whose USSD dialect's gate closes them too.
const SMS_PROVIDER: &str = "africastalking";

/// An SMS provider's callback (SPEC §4.1, SMS.md §1a, §1c). The provider's callbacks are closed
/// by the settings of its USSD dialect (`[dialects.africastalking]`: allowlist, secret in a
/// header or the path, basic auth): one aggregator, one set of credentials.
async fn sms(
    app: &App,
    method: &str,
    rest: &str,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Response<Body> {
    let Some(channel) = &app.sms else {
        return text(StatusCode::NOT_FOUND, "the SMS channel is off\n");
    };
    let Some(tail) = rest.strip_prefix(SMS_PROVIDER) else {
        return text(StatusCode::NOT_FOUND, "no such sms provider\n");
    };
    let tail = match admitted(app, SMS_PROVIDER, req.headers(), peer, tail) {
        Ok(tail) => tail,
        Err(refusal) => {
            channel.metrics().inbound("refused");
            return refused(refusal);
        }
    };
    let delivery = match tail {
        "" => false,
        "/delivery" => true,
        _ => return text(StatusCode::NOT_FOUND, "no such sms callback\n"),
    };
    if method != "POST" {
        return text(StatusCode::METHOD_NOT_ALLOWED, "POST only\n");
    }
    let declared = req.headers().get(CONTENT_LENGTH).cloned();
    let body = match read_body(
        declared.as_ref(),
        req.into_body(),
        app.body_limit,
        app.body_timeout,
    )
    .await
    {
        Ok(body) => body,
        Err(status) => return body_refused(status),
    };
    if delivery {
        return sms_delivery(channel, &body).await;
    }
    let inbound = match parse_inbound(&body) {
        Ok(inbound) => inbound,
        Err(error) => {
            channel.metrics().inbound("bad_request");
            return text(StatusCode::BAD_REQUEST, &format!("{error}\n"));
        }
    };
    if !channel.accepts(&inbound.to) {
        // Acknowledged all the same, so that the provider does not send it again and again.
        channel.metrics().inbound("other_short_code");
        return text(StatusCode::OK, "not for this short code\n");
    }
    // Kept, then acknowledged; the answer leaves through the outbox (SPEC §4.1).
    match channel.receive(inbound).await {
        Ok(()) => text(StatusCode::OK, "ok\n"),
        Err(error) => {
            tracing::error!(%error, "an inbound sms could not be kept");
            text(StatusCode::SERVICE_UNAVAILABLE, "try again later\n")
        }
    }
}

async fn sms_delivery(channel: &SmsChannel, body: &[u8]) -> Response<Body> {
    let report = match parse_delivery(body) {
        Ok(report) => report,
        Err(error) => return text(StatusCode::BAD_REQUEST, &format!("{error}\n")),
    };
    match channel.delivery(report).await {
        Ok(_) => text(StatusCode::OK, "ok\n"),
        Err(error) => {
            tracing::error!(%error, "a delivery report could not be recorded");
            text(StatusCode::SERVICE_UNAVAILABLE, "try again later\n")
        }
    }
}

/// The body, or 413 when it is (or says it will be) larger than `limit`, 408 when it is too
/// slow, 400 when it does not read.
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
        // Over the limit: 413. Anything else is a body that does not read (a malformed
        // chunk, a connection cut mid-body): 400.
        Ok(Err(error)) if error.is::<LengthLimitError>() => Err(StatusCode::PAYLOAD_TOO_LARGE),
        Ok(Err(_)) => Err(StatusCode::BAD_REQUEST),
        Err(_) => Err(StatusCode::REQUEST_TIMEOUT),
    }
}

/// Seconds since the followed feed was last read to its end, -1 before the first time; `None`
/// when no feed is followed.
fn feed_lag(app: &App) -> Option<i64> {
    let status = app.feed.lock().ok()?;
    status.source.as_ref()?;
    Some(
        status
            .caught_up_at
            .map_or(-1, |t| t.elapsed().as_secs() as i64),
    )
}

/// Why this replica's records are too stale to be given callers (`[feed] max_lag_s`), if so.
fn feed_lagging(app: &App) -> Option<String> {
    let status = app.feed.lock().ok()?;
    let lag = status.caught_up_at.map(|t| t.elapsed().as_secs());
    crate::readiness::feed_lag_reason(lag, status.max_lag_s)
}

/// How the admin API's answer begins when no token is configured; `track --server` reads it.
pub(crate) const ADMIN_OFF: &str = "the admin API is off";
/// The whole answer: how to turn it on.
const ADMIN_OFF_HOW: &str = "the admin API is off: set DAFTAR_ADMIN_TOKEN or [admin] token \
     in the configuration, then restart the server\n";

/// How many outbox messages `GET /admin/sms` lists.
const ADMIN_SMS_LISTED: usize = 1_000;

/// The admin API: `GET /admin/track/<code>`, `GET /admin/feed`, `GET /admin/sessions` (the
/// sessions held, and the open ones by service), `GET /admin/funnel` (where sessions end, by
/// service, screen and reason, the most abandoned screen first), `GET /admin/sms` (the outbox:
/// each message's state, attempts, provider id and why), `POST /admin/entitlement` (a person's
/// entitlement for the support staff, the person named in the body), `POST /admin/backup`.
async fn admin(app: &App, method: &str, path: &str, req: Request<Incoming>) -> Response<Body> {
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
    if (method, path) == ("POST", "backup") {
        return backup(app).await;
    }
    if path == "entitlement" || path.starts_with("entitlement/") {
        return entitlement(app, method, path, req).await;
    }
    if (method, path) == ("POST", "menus/reload") {
        return match app.menus.reload("POST /admin/menus/reload").await {
            Ok(version) => json(StatusCode::OK, &serde_json::json!({ "version": version })),
            Err(reasons) => json(
                StatusCode::UNPROCESSABLE_ENTITY,
                &serde_json::json!({ "refused": reasons }),
            ),
        };
    }
    if method != "GET" {
        return text(StatusCode::METHOD_NOT_ALLOWED, "GET only\n");
    }
    match path.split_once('/') {
        Some(("track", code)) => {
            let forwarded = req.headers().contains_key(crate::cluster::peers::FORWARDED);
            let local = track(app, code);
            if local.status() != StatusCode::NOT_FOUND || forwarded {
                return local;
            }
            track_on_peer(app, code, token).await.unwrap_or(local)
        }
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
        None if path == "sms" => match app
            .sms
            .as_ref()
            .map(|sms| (sms, sms.outbox_view(ADMIN_SMS_LISTED)))
        {
            None => text(StatusCode::NOT_FOUND, "the SMS channel is off\n"),
            Some((sms, Ok(messages))) => json(
                StatusCode::OK,
                &serde_json::json!({ "pending": sms.pending(), "messages": messages }),
            ),
            Some((_, Err(error))) => {
                tracing::error!(%error, "outbox unreadable");
                text(StatusCode::SERVICE_UNAVAILABLE, "outbox unavailable\n")
            }
        },
        None if path == "sessions" => sessions(app).await,
        None if path == "funnel" => json(
            StatusCode::OK,
            &serde_json::json!({
                "reasons": crate::funnel::EndReason::ALL.map(|r| r.as_str()),
                "abandon": "abort, timeout and idle: the caller gave up on that screen",
                "screens": app.funnel.view(),
            }),
        ),
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

/// `GET /admin/sessions`: the sessions held (open ones and ended ones kept for a retry), and
/// the open ones by service.
async fn sessions(app: &App) -> Response<Body> {
    let live = app.engine.session_count().await;
    match app.engine.open_by_service().await {
        Ok(open) => json(
            StatusCode::OK,
            &serde_json::json!({ "live": live, "open_by_service": open }),
        ),
        Err(error) => {
            tracing::error!(%error, "session store unreadable");
            text(
                StatusCode::SERVICE_UNAVAILABLE,
                "session store unavailable\n",
            )
        }
    }
}

/// `POST /admin/entitlement`: the person is named in the JSON body, never in the URL, so a
/// query string or a path below the route is refused before anything is read.
async fn entitlement(
    app: &App,
    method: &str,
    path: &str,
    req: Request<Incoming>,
) -> Response<Body> {
    let refuse = |status: StatusCode, why: &str| json(status, &serde_json::json!({ "error": why }));
    if path != "entitlement" || req.uri().query().is_some() {
        let why = "name the person in the JSON body, never in the URL: POST /admin/entitlement \
                   with no query string";
        return refuse(StatusCode::BAD_REQUEST, why);
    }
    if method != "POST" {
        return refuse(StatusCode::METHOD_NOT_ALLOWED, "POST only");
    }
    let (head, body) = req.into_parts();
    let declared = head.headers.get(CONTENT_LENGTH);
    let body = match read_body(declared, body, app.body_limit, app.body_timeout).await {
        Ok(body) => body,
        Err(status) => return body_refused(status),
    };
    let (status, answer) = app.support.answer(&body).await;
    json(status, &answer)
}

/// `POST /admin/backup`: a consistent copy of the store written to `[store] backup_dir` while
/// the server goes on serving (`backup`); answers where it went and what it holds.
async fn backup(app: &App) -> Response<Body> {
    let Some(backups) = app.backups.clone() else {
        return text(
            StatusCode::NOT_FOUND,
            "backups are off: set [store] backup_dir in the configuration, then restart\n",
        );
    };
    let taken = tokio::task::spawn_blocking(move || backups.take()).await;
    match taken {
        Ok(Ok((file, copied))) => {
            tracing::info!(file = %file.display(), %copied, "backup written");
            json(
                StatusCode::OK,
                &serde_json::json!({ "file": file, "copied": copied }),
            )
        }
        Ok(Err(BackupError::Busy)) => text(StatusCode::CONFLICT, "a backup is being written\n"),
        Ok(Err(error)) => {
            tracing::error!(%error, "backup failed");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("backup failed: {error}\n"),
            )
        }
        Err(_) => text(StatusCode::INTERNAL_SERVER_ERROR, "backup failed\n"),
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

/// The answer of the node a tracking code names, when it is another node with an admin URL
/// in `[cluster] nodes`; `None` when the code names this node or a node with none.
async fn track_on_peer(app: &App, code: &str, token: &str) -> Option<Response<Body>> {
    use crate::cluster::peers::{self, PeerAnswer};
    let code = TrackingCode::parse(&percent_decode(code))?.to_string();
    let node = code.bytes().next()?.checked_sub(b'0')?;
    if node == app.node {
        return None;
    }
    let base = app.cluster.peer(node)?;
    let timeout = Duration::from_millis(app.cluster.peer_timeout_ms);
    match peers::track(base, &code, token, timeout).await {
        PeerAnswer::Answered { status: 200, body } => {
            let mut response = text(StatusCode::OK, &body);
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            Some(response)
        }
        PeerAnswer::Answered { status: 404, .. } => None,
        PeerAnswer::Answered { status, .. } => {
            tracing::warn!(node, status, "a peer did not answer a tracking-code lookup");
            Some(text(
                StatusCode::BAD_GATEWAY,
                &format!("node {node} answered HTTP {status}\n"),
            ))
        }
        PeerAnswer::Silent(reason) => {
            tracing::warn!(node, %reason, "a peer did not answer a tracking-code lookup");
            Some(text(
                StatusCode::BAD_GATEWAY,
                &format!("node {node}, which gave this code, does not answer\n"),
            ))
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

/// 429 to an aggregator address over its request rate, with the wait in `Retry-After`.
fn too_many(limited: &limits::Limited) -> Response<Body> {
    let mut response = text(StatusCode::TOO_MANY_REQUESTS, "too many requests\n");
    if let Ok(after) = HeaderValue::from_str(&limited.seconds().to_string()) {
        response.headers_mut().insert(RETRY_AFTER, after);
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

/// The answer to a body refused before it was read to its end: the rest of it is still on the
/// connection, so the connection closes after this answer, and says so, so that a client does
/// not send its next request down a connection that is going away.
fn body_refused(status: StatusCode) -> Response<Body> {
    let why = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "request body too large\n",
        StatusCode::REQUEST_TIMEOUT => "request body too slow\n",
        _ => "request body does not read\n",
    };
    let mut response = text(status, why);
    response
        .headers_mut()
        .insert(hyper::header::CONNECTION, HeaderValue::from_static("close"));
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
