//! The baseline of SPEC §8: a bare hyper 1 HTTP/1 server with the same connection settings as
//! `src/server.rs` (timer, 5 s header timeout, 16 KiB buffer, keep-alive, nodelay, a semaphore
//! before accept, the body read through `Limited`), answering every request with a fixed
//! `CON ...` body. It does no routing, no form parsing, no session, no store, no metrics.
//!
//! `cargo run --release --example bare_http -- [ADDR]` (default 127.0.0.1:8090).

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

const REPLY: &str =
    "CON تامین اجتماعی\n1. استحقاق من\n2. استعلام عمومی\n3. افراد تحت تکفل\n9. English";
const BODY_LIMIT: usize = 8 * 1024;

async fn answer(req: Request<Incoming>) -> Response<Full<Bytes>> {
    let status = match Limited::new(req.into_body(), BODY_LIMIT).collect().await {
        Ok(_) => StatusCode::OK,
        Err(_) => StatusCode::PAYLOAD_TOO_LARGE,
    };
    let mut response = Response::new(Full::new(Bytes::from_static(REPLY.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn main() -> anyhow::Result<()> {
    let address: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8090".to_string())
        .parse()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(address))
}

async fn serve(address: SocketAddr) -> anyhow::Result<()> {
    let listener = TcpListener::bind(address).await?;
    eprintln!("bare_http listening on {}", listener.local_addr()?);
    let permits = Arc::new(Semaphore::new(2048));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(5_000))
        .max_buf_size(16 * 1024)
        .keep_alive(true);
    loop {
        let permit = permits.clone().acquire_owned().await?;
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                eprintln!("accept failed: {error}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let connection = http.serve_connection(
            TokioIo::new(stream),
            service_fn(|req| async move { Ok::<_, std::convert::Infallible>(answer(req).await) }),
        );
        tokio::spawn(async move {
            let _ = connection.await;
            drop(permit);
        });
    }
}
