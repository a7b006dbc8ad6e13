//! Asks another node for a tracking code it gave: `GET <peer>/admin/track/<code>` with the
//! bearer token the operator presented here, on a blocking thread (ureq), bounded by
//! `[cluster] peer_timeout_ms`.
//!
//! A question that came from a peer carries [`FORWARDED`] and is never passed on again, so
//! two nodes configured to point at each other cannot ask each other in a loop.

use std::time::Duration;

/// The header a node sets on a question it passes to a peer.
pub(crate) const FORWARDED: &str = "x-daftar-forwarded";

/// A peer's answer: its HTTP status and body, or why it gave none.
#[derive(Debug)]
pub(crate) enum PeerAnswer {
    Answered {
        status: u16,
        body: String,
    },
    /// No answer (down, refused, too slow): the reason, without the token.
    Silent(String),
}

/// Asks the node at `base` (its admin base URL) for `code`.
pub(crate) async fn track(base: &str, code: &str, bearer: &str, timeout: Duration) -> PeerAnswer {
    let url = format!("{base}/admin/track/{code}");
    let bearer = format!("Bearer {bearer}");
    let asked = tokio::task::spawn_blocking(move || ask(&url, &bearer, timeout)).await;
    asked.unwrap_or_else(|e| PeerAnswer::Silent(format!("the question did not run: {e}")))
}

fn ask(url: &str, bearer: &str, timeout: Duration) -> PeerAnswer {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .build()
        .into();
    let response = agent
        .get(url)
        .header("Authorization", bearer)
        .header(FORWARDED, "1")
        .call();
    match response {
        Ok(mut response) => {
            let status = response.status().as_u16();
            match response
                .body_mut()
                .with_config()
                .limit(64 * 1024)
                .read_to_string()
            {
                Ok(body) => PeerAnswer::Answered { status, body },
                Err(e) => PeerAnswer::Silent(format!("body not read: {e}")),
            }
        }
        Err(e) => PeerAnswer::Silent(e.to_string()),
    }
}
