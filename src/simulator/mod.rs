//! The browser phone simulator (SPEC §7, `GET /simulator`), for menu authors and support staff:
//! a feature-phone page whose script speaks each HTTP dialect's own wire to `/ussd/<dialect>`
//! on the same port, and shows the request sent and the raw response beside the phone.
//!
//! This module serves the page and its two helpers, nothing else: the page's files (embedded
//! in the binary, nothing fetched from elsewhere), `GET /simulator/catalogue.json` (the served
//! services and dialects, [`catalogue`]) and `POST /simulator/measure` (a screen's encoding and
//! length by the server's own rules, [`measure`]). It never steps a session itself: every
//! screen the page shows came through a real dialect endpoint.

mod catalogue;
mod measure;

use crate::dialect::Registry;
use crate::engine::Engine;

const PAGE: &str = include_str!("page.html");
const STYLE: &str = include_str!("sim.css");
const SCRIPT: &str = include_str!("sim.js");
const ICON: &str = include_str!("icon.svg");

/// The page may load nothing but its own files and talk to nothing but its own server.
pub(crate) const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// What the simulator answers, for the server to put on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) content_type: &'static str,
    pub(crate) body: String,
}

impl Answer {
    fn new(status: u16, content_type: &'static str, body: impl Into<String>) -> Answer {
        Answer {
            status,
            content_type,
            body: body.into(),
        }
    }

    fn plain(status: u16, body: &str) -> Answer {
        Answer::new(status, "text/plain; charset=utf-8", body)
    }

    fn json(value: &impl serde::Serialize) -> Answer {
        let body = serde_json::to_string(value).unwrap_or_default();
        Answer::new(200, "application/json", body)
    }
}

/// Whether `path` is the simulator's.
pub(crate) fn owns(path: &str) -> bool {
    path == "/simulator" || path.starts_with("/simulator/")
}

/// Whether a request to `path` carries a body the simulator reads.
pub(crate) fn reads_body(method: &str, path: &str) -> bool {
    method == "POST" && path == "/simulator/measure"
}

/// The answer to `method path?query` with `body` (read only for [`reads_body`] requests).
pub(crate) fn answer(
    engine: &Engine,
    dialects: &Registry,
    method: &str,
    path: &str,
    query: Option<&str>,
    body: &[u8],
) -> Answer {
    let file = match path {
        "/simulator" | "/simulator/" => Some(("text/html; charset=utf-8", PAGE)),
        "/simulator/sim.css" => Some(("text/css; charset=utf-8", STYLE)),
        "/simulator/sim.js" => Some(("text/javascript; charset=utf-8", SCRIPT)),
        "/simulator/icon.svg" => Some(("image/svg+xml", ICON)),
        _ => None,
    };
    match (method, path, file) {
        ("GET" | "HEAD", _, Some((content_type, text))) => Answer::new(200, content_type, text),
        ("GET" | "HEAD", "/simulator/catalogue.json", _) => {
            Answer::json(&catalogue::Catalogue::of(engine, dialects))
        }
        ("POST", "/simulator/measure", _) => measured(engine, dialects, query, body),
        (_, _, Some(_)) | (_, "/simulator/catalogue.json", _) => Answer::plain(405, "GET only\n"),
        (_, "/simulator/measure", _) => Answer::plain(405, "POST only\n"),
        _ => Answer::plain(404, "not found\n"),
    }
}

/// `POST /simulator/measure?dialect=<name>`: the body is a screen's text (UTF-8).
fn measured(engine: &Engine, dialects: &Registry, query: Option<&str>, body: &[u8]) -> Answer {
    let dialect = query
        .into_iter()
        .flat_map(|q| form_urlencoded::parse(q.as_bytes()))
        .find(|(key, _)| key == "dialect")
        .map(|(_, value)| value.into_owned());
    let Some(dialect) = dialect else {
        return Answer::plain(400, "the query must name the dialect: ?dialect=<name>\n");
    };
    if dialects.find(&dialect).is_none() {
        return Answer::plain(404, "no such dialect\n");
    }
    let Ok(text) = std::str::from_utf8(body) else {
        return Answer::plain(400, "the screen text must be UTF-8\n");
    };
    let screen = engine.screen_of_dialect(&dialect);
    Answer::json(&measure::Measured::of(text, screen))
}
