//! A real HTTP server playing Africa's Talking's send API (`POST /version1/messaging`, SMS.md
//! §1b) on a loopback port, for the SMS tests: it records every request (headers and form) and
//! answers from a script, else with an acceptance carrying a fresh `messageId`. It can also
//! hold requests unanswered, as a provider that hangs while daftar is killed.
//!
//! A small hyper server rather than `wiremock`: hyper is already a dependency, and holding a
//! request open until the test says so is a few lines here.

#![allow(dead_code)]

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request as the provider got it.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
    pub form: Vec<(String, String)>,
}

impl Received {
    pub fn field(&self, name: &str) -> &str {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    pub fn header(&self, name: &str) -> &str {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// What the provider answers to one request.
#[derive(Debug, Clone)]
pub enum Answer {
    /// 201 with one recipient of `statusCode` 101 and a fresh `messageId` (`ATXid_<n>`).
    Accept,
    /// This status, content type and body.
    Raw(u16, &'static str, String),
    /// No answer until the connection is dropped.
    Hold,
}

#[derive(Default)]
struct State {
    received: Vec<Received>,
    script: VecDeque<Answer>,
    holding: bool,
    next_id: u64,
}

/// The fake provider; stops when dropped.
pub struct FakeAt {
    pub base: String,
    state: Arc<Mutex<State>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeAt {
    pub fn start() -> FakeAt {
        let state = Arc::new(Mutex::new(State::default()));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = state.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(serve(listener, serving, stopped));
        });
        FakeAt {
            base,
            state,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The answers to the next requests, in order; after them, [`Answer::Accept`].
    pub fn script(&self, answers: Vec<Answer>) {
        self.state.lock().expect("state").script.extend(answers);
    }

    /// From now on every request is held unanswered (`true`) or answered again (`false`).
    pub fn hold_all(&self, holding: bool) {
        self.state.lock().expect("state").holding = holding;
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().expect("state").received.clone()
    }

    /// Waits until at least `n` requests came, and returns them all; panics after `limit`.
    pub fn wait_for(&self, n: usize, limit: Duration) -> Vec<Received> {
        eventually(limit, || {
            let received = self.received();
            if received.len() >= n {
                Ok(received)
            } else {
                Err(format!(
                    "{} request(s), not {n}: {received:#?}",
                    received.len()
                ))
            }
        })
    }
}

impl Drop for FakeAt {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(
    listener: std::net::TcpListener,
    state: Arc<Mutex<State>>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(_) => continue,
            },
            _ = &mut stopped => return,
        };
        let state = state.clone();
        let service = service_fn(move |req| answer(state.clone(), req));
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn answer(
    state: Arc<Mutex<State>>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    let path = req.uri().path().to_string();
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                v.to_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let form = form_urlencoded::parse(&body).into_owned().collect();
    let (answer, id) = {
        let mut state = state.lock().expect("state");
        state.received.push(Received {
            path,
            headers,
            form,
        });
        state.next_id += 1;
        let answer = if state.holding {
            Answer::Hold
        } else {
            state.script.pop_front().unwrap_or(Answer::Accept)
        };
        (answer, state.next_id)
    };
    let (status, content_type, body) = match answer {
        Answer::Accept => (201, "application/json", accepted(&format!("ATXid_{id}"))),
        Answer::Raw(status, content_type, body) => (status, content_type, body),
        Answer::Hold => std::future::pending().await,
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = hyper::StatusCode::from_u16(status).expect("status");
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    Ok(response)
}

/// Polls `check` until it gives a value; panics with its last complaint after `limit` (a bound
/// against a hang, not a measure of speed).
pub fn eventually<T>(limit: Duration, mut check: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        match check() {
            Ok(value) => return value,
            Err(complaint) => assert!(Instant::now() < deadline, "after {limit:?}: {complaint}"),
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The send API's acceptance of one message (SMS.md §1b).
pub fn accepted(message_id: &str) -> String {
    format!(
        r#"{{"SMSMessageData":{{"Message":"Sent to 1/1 Total Cost: TND 0.0200","Recipients":[{{"statusCode":101,"number":"+21620000000","status":"Success","cost":"TND 0.0200","messageId":"{message_id}"}}]}}}}"#
    )
}

/// The form body of an inbound SMS callback (SMS.md §1a).
pub fn inbound_form(from: &str, to: &str, text: &str, id: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("from", &format!("+{from}"))
        .append_pair("to", to)
        .append_pair("text", text)
        .append_pair("date", "2026-11-30T10:00:00Z")
        .append_pair("id", id)
        .append_pair("networkCode", "60502")
        .finish()
}

/// The words of the SMS channel in `locale`, as shipped (`menus/sms.<locale>.toml`).
pub fn words(locale: &str, key: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("menus")
        .join(format!("sms.{locale}.toml"));
    let table: toml::Table =
        toml::from_str(&std::fs::read_to_string(path).expect("words")).expect("toml");
    let (section, name) = key.split_once('.').expect("section.key");
    table[section][name].as_str().expect("a string").to_string()
}
