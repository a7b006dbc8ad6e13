//! Safaricom direct HTTP (DIALECTS.md §7b, as vumi's Safaricom transport implements it): a
//! `GET` per hop whose query carries `ORIG` (the MSISDN), `DEST` (the short code's digits,
//! `167` for `*167#`), `SESSION_ID` and `USSD_PARAMS`, the whole input path joined by `*`. On
//! the first hop `USSD_PARAMS` holds the dial extension (`DEST=167&USSD_PARAMS=7` is `*167*7#`),
//! so the path is sent to the engine as it comes and the dialled string is `*<DEST>#`: a
//! dialled shortcut replays as a path, and later hops carry it at their head. The reply is
//! `text/plain`, `CON <screen>` or `END <screen>` (the AT convention). Safaricom may send a
//! start twice (vumi PR #304): the same path twice is a retry of the same step for the engine.
//! A request missing a field is answered 400 with vumi's `{"missing_parameter":[…]}`.
//!
//! Where the source is weak (§11: "medium", vumi's transport and tests, no Safaricom document):
//! the query is read leniently — parameter names in any case, `ORIG` with or without `+` (a raw
//! `+` decodes as a space and is ignored), `DEST` with or without its `*`/`#` (`*4*1420#`,
//! `4*1420`), an empty `DEST` serving `[dialects.safaricom] default_service`, `USSD_PARAMS`
//! missing or empty on the first hop, spaces around `*`-joined inputs trimmed. Safaricom sends
//! no abort or timeout in the material found, so this dialect has none (idle expiry and replay
//! cover it).

use std::sync::Arc;

use super::{msisdn_digits, BadRequest, Dialect, WireRequest, WireResponse};
use crate::turn::{Reply, Turn, TurnKind};

/// Longest `SESSION_ID` accepted.
const MAX_SESSION_ID: usize = 128;
/// Longest `USSD_PARAMS` accepted: far more than any menu path.
const MAX_PARAMS: usize = 1024;
/// Longest `DEST` accepted.
const MAX_DEST: usize = 64;

pub(crate) struct Safaricom {
    name: Arc<str>,
}

impl Safaricom {
    pub(crate) fn new() -> Safaricom {
        Safaricom {
            name: Arc::from("safaricom"),
        }
    }
}

impl Dialect for Safaricom {
    fn name(&self) -> &Arc<str> {
        &self.name
    }

    fn parse(&self, request: &WireRequest<'_>) -> Result<Turn, BadRequest> {
        request.expect_at_root("GET")?;
        let query = request.query.unwrap_or("");
        let (mut orig, mut dest, mut session_id, mut params) = (None, None, None, None);
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            let slot = match key.to_ascii_uppercase().as_str() {
                "ORIG" => &mut orig,
                "DEST" => &mut dest,
                "SESSION_ID" => &mut session_id,
                "USSD_PARAMS" => &mut params,
                _ => continue,
            };
            *slot = Some(value.into_owned());
        }
        // Decoding replaced bytes that were not UTF-8: the request is not readable text.
        if [&orig, &dest, &session_id, &params]
            .iter()
            .any(|v| v.as_deref().is_some_and(|v| v.contains('\u{FFFD}')))
        {
            return Err(BadRequest::NotUtf8);
        }
        let session_id = session_id
            .filter(|s| !s.trim().is_empty())
            .ok_or(BadRequest::Missing("SESSION_ID"))?;
        if session_id.len() > MAX_SESSION_ID || session_id.chars().any(char::is_control) {
            return Err(BadRequest::Invalid("SESSION_ID"));
        }
        let orig = orig.ok_or(BadRequest::Missing("ORIG"))?;
        let msisdn = msisdn_digits(&orig).ok_or(BadRequest::Invalid("ORIG"))?;
        let dest = dest.ok_or(BadRequest::Missing("DEST"))?;
        let code = dialled(&dest)?;
        let params = params.unwrap_or_default();
        if params.len() > MAX_PARAMS || params.chars().any(char::is_control) {
            return Err(BadRequest::Invalid("USSD_PARAMS"));
        }
        let path = params
            .trim()
            .trim_end_matches('#')
            .split('*')
            .map(str::trim)
            .collect::<Vec<_>>()
            .join("*");
        let turn = Turn::new(self.name(), &session_id, &msisdn, TurnKind::Path(path));
        Ok(match code {
            Some(code) => turn.dialled(&code),
            None => turn,
        })
    }

    fn respond(&self, _turn: &Turn, reply: &Reply) -> WireResponse {
        let body = match reply {
            Reply::Continue(text) => format!("CON {text}"),
            Reply::End(text) => format!("END {text}"),
            Reply::Ack => "END ".to_string(),
        };
        WireResponse {
            status: 200,
            content_type: "text/plain; charset=utf-8",
            body,
        }
    }

    fn reject(&self, error: &BadRequest) -> WireResponse {
        match error {
            BadRequest::Missing(field) => WireResponse {
                status: 400,
                content_type: "application/json",
                body: serde_json::json!({ "missing_parameter": [field] }).to_string(),
            },
            BadRequest::Path => WireResponse {
                status: 404,
                content_type: "text/plain; charset=utf-8",
                body: format!("bad request: {error}\n"),
            },
            _ => WireResponse {
                status: 400,
                content_type: "text/plain; charset=utf-8",
                body: format!("bad request: {error}\n"),
            },
        }
    }
}

/// The dialled string of a `DEST` (`167` → `*167#`, `*4*1420#` kept), or `None` when it is
/// empty (the dialect's default service then).
fn dialled(dest: &str) -> Result<Option<String>, BadRequest> {
    let digits = dest.trim().trim_start_matches('*').trim_end_matches('#');
    if digits.is_empty() {
        return Ok(None);
    }
    let plausible = digits.len() <= MAX_DEST
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'*')
        && !digits.contains("**");
    if !plausible {
        return Err(BadRequest::Invalid("DEST"));
    }
    Ok(Some(format!("*{digits}#")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get_as(method: &str, query: Option<&str>) -> Result<Turn, BadRequest> {
        let headers = hyper::HeaderMap::new();
        Safaricom::new().parse(&WireRequest {
            method,
            path_tail: "",
            query,
            headers: &headers,
            peer: None,
            body: b"",
        })
    }

    fn get(query: &str) -> Result<Turn, BadRequest> {
        get_as("GET", Some(query))
    }

    #[test]
    fn vumi_shaped_hops() {
        let t = get("ORIG=254700000000&DEST=167&SESSION_ID=sess-1&USSD_PARAMS=").expect("parses");
        assert_eq!(t.session_id, "sess-1");
        assert_eq!(t.msisdn, "254700000000");
        assert_eq!(t.service_code.as_deref(), Some("*167#"));
        assert_eq!(t.kind, TurnKind::Path(String::new()));
        let t = get("ORIG=254700000000&DEST=167&SESSION_ID=sess-1&USSD_PARAMS=7")
            .expect("an extension");
        assert_eq!(t.kind, TurnKind::Path("7".into()));
        let t = get("ORIG=254700000000&DEST=167&SESSION_ID=sess-1&USSD_PARAMS=7*1*0012345679")
            .expect("cumulative");
        assert_eq!(t.kind, TurnKind::Path("7*1*0012345679".into()));
        let t = get("ORIG=254700000000&DEST=167&SESSION_ID=sess-1").expect("no params at start");
        assert_eq!(t.kind, TurnKind::Path(String::new()));
    }

    #[test]
    fn lenient_where_the_source_is_weak() {
        let t = get(
            "orig=%2B989121110001&dest=%2A4%2A1420%23&session_id=s&ussd_params=2%2A+0012345679+",
        )
        .expect("parses");
        assert_eq!(t.msisdn, "989121110001");
        assert_eq!(t.service_code.as_deref(), Some("*4*1420#"));
        assert_eq!(t.kind, TurnKind::Path("2*0012345679".into()));
        let t = get("ORIG=+989121110001&DEST=4*1420&SESSION_ID=s&USSD_PARAMS=1").expect("raw +");
        assert_eq!(t.msisdn, "989121110001");
        assert_eq!(t.service_code.as_deref(), Some("*4*1420#"));
        let t = get("ORIG=989121110001&DEST=&SESSION_ID=s").expect("no code: default service");
        assert_eq!(t.service_code, None);
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        let huge = format!(
            "ORIG=254700000000&DEST=167&SESSION_ID=s&USSD_PARAMS={}",
            "1*".repeat(600)
        );
        let long = format!("ORIG=254700000000&DEST=167&SESSION_ID={}", "s".repeat(200));
        let cases: Vec<(&str, Option<String>, BadRequest)> = vec![
            ("GET", None, BadRequest::Missing("SESSION_ID")),
            (
                "GET",
                Some(String::new()),
                BadRequest::Missing("SESSION_ID"),
            ),
            (
                "POST",
                Some("ORIG=1".into()),
                BadRequest::Method("POST".into()),
            ),
            (
                "GET",
                Some("DEST=167&SESSION_ID=s".into()),
                BadRequest::Missing("ORIG"),
            ),
            (
                "GET",
                Some("ORIG=254700000000&SESSION_ID=s".into()),
                BadRequest::Missing("DEST"),
            ),
            (
                "GET",
                Some("ORIG=abc&DEST=167&SESSION_ID=s".into()),
                BadRequest::Invalid("ORIG"),
            ),
            (
                "GET",
                Some("ORIG=254700000000&DEST=abc&SESSION_ID=s".into()),
                BadRequest::Invalid("DEST"),
            ),
            (
                "GET",
                Some("ORIG=254700000000&DEST=167&SESSION_ID=%00".into()),
                BadRequest::Invalid("SESSION_ID"),
            ),
            (
                "GET",
                Some("ORIG=254700000000&DEST=167&SESSION_ID=s&USSD_PARAMS=%FF%FE".into()),
                BadRequest::NotUtf8,
            ),
            ("GET", Some(huge), BadRequest::Invalid("USSD_PARAMS")),
            ("GET", Some(long), BadRequest::Invalid("SESSION_ID")),
        ];
        for (method, query, want) in cases {
            assert_eq!(get_as(method, query.as_deref()), Err(want), "{query:?}");
        }
        let answer = Safaricom::new().reject(&BadRequest::Missing("ORIG"));
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (400, r#"{"missing_parameter":["ORIG"]}"#)
        );
        assert_eq!(Safaricom::new().reject(&BadRequest::NotUtf8).status, 400);
    }

    #[test]
    fn replies_begin_con_or_end() {
        let s = Safaricom::new();
        let turn = Turn::new(s.name(), "s", "1", TurnKind::Path(String::new()));
        let answer = s.respond(&turn, &Reply::Continue("a\nb".into()));
        assert_eq!(
            (answer.status, answer.content_type, answer.body.as_str()),
            (200, "text/plain; charset=utf-8", "CON a\nb")
        );
        assert_eq!(s.respond(&turn, &Reply::End("b".into())).body, "END b");
        assert_eq!(s.respond(&turn, &Reply::Ack).body, "END ");
    }
}
