//! Beem Africa (DIALECTS.md §5): a JSON `POST` per hop, `{"command", "msisdn", "session_id",
//! "operator", "payload": {"request_id", "response"}}`; `command` is `initiate` (the session's
//! first hop), `continue` (the caller answered; `payload.response` is the latest input alone)
//! or `terminate` (the network or the caller closed the session). The reply is JSON echoing
//! `msisdn`, `operator` and `session_id`, with `command` `continue` or `terminate` and
//! `payload: {"request_id", "request": <screen>}` (*request* in the reply, *response* in the
//! callback). Beem carries no dialled string: a Beem turn serves the service that
//! `[dialects.beem] default_service` names (SPEC §4).
//!
//! Where the source is weak (§5 and §11: no Beem document, only a Laravel package, ussd-builder
//! and two apps), this module reads leniently: `command` in any case and with spaces around it
//! (`timeout`/`expired` read as a timeout, any other closing word as `terminate`); `msisdn`,
//! `session_id`, `request_id` and `response` as a string or a number (`request_id` is seen as
//! `0` and `"0"`, `response` as `"0"` and `0`); `operator` optional; `payload` or
//! `payload.response` missing on `initiate`. What `request_id` means is inferred (the id of the
//! prompt being answered, the value our previous reply set): the reply sets the incoming id
//! plus one (0 when it ends the session, as gowelle does), and the retry mark is the id *and*
//! the answer, so that a resend is recognised when Beem echoes the id, and a Beem that sends a
//! constant id still reads a different answer as new input.
//!
//! The caller's network (`operator`, when present) rides on the turn, for the smaller screen
//! `[dialects.beem.networks.<code>]` may set.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::json_body::{expect_json, loose_string};
use super::{msisdn_digits, BadRequest, Dialect, WireRequest, WireResponse};
use crate::turn::{Reply, Retry, Turn, TurnKind};

/// Longest `session_id` accepted.
const MAX_SESSION_ID: usize = 128;
/// Longest latest input accepted: far more than any answer on a screen.
const MAX_INPUT: usize = 512;
/// Longest echoed `operator` accepted.
const MAX_OPERATOR: usize = 64;

pub(crate) struct Beem {
    name: Arc<str>,
}

impl Beem {
    pub(crate) fn new() -> Beem {
        Beem {
            name: Arc::from("beem"),
        }
    }
}

/// What a `command` says the turn is (`None`: not a command at all).
fn command_kind(command: &str) -> Option<Command> {
    let word: String = command
        .trim()
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect::<String>()
        .to_lowercase();
    match word.as_str() {
        "initiate" | "initiation" | "init" | "begin" | "start" => Some(Command::Initiate),
        "continue" | "response" => Some(Command::Continue),
        "timeout" | "timedout" | "expired" => Some(Command::Timeout),
        "terminate" | "terminated" | "end" | "abort" | "release" | "cancel" | "close" => {
            Some(Command::Terminate)
        }
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    Initiate,
    Continue,
    Terminate,
    Timeout,
}

impl Dialect for Beem {
    fn name(&self) -> &Arc<str> {
        &self.name
    }

    fn carries_network(&self) -> bool {
        true
    }

    fn parse(&self, request: &WireRequest<'_>) -> Result<Turn, BadRequest> {
        request.expect_at_root("POST")?;
        expect_json(request)?;
        let body = std::str::from_utf8(request.body).map_err(|_| BadRequest::NotUtf8)?;
        if body.trim().is_empty() {
            return Err(BadRequest::Missing("command"));
        }
        let value: Value = serde_json::from_str(body).map_err(|_| BadRequest::Invalid("body"))?;
        let object = value.as_object().ok_or(BadRequest::Invalid("body"))?;
        let command = object
            .get("command")
            .ok_or(BadRequest::Missing("command"))?
            .as_str()
            .and_then(command_kind)
            .ok_or(BadRequest::Invalid("command"))?;
        let session_id = object
            .get("session_id")
            .ok_or(BadRequest::Missing("session_id"))?;
        let session_id = loose_string(session_id)
            .filter(|s| !s.trim().is_empty())
            .ok_or(BadRequest::Invalid("session_id"))?;
        if session_id.len() > MAX_SESSION_ID || session_id.chars().any(char::is_control) {
            return Err(BadRequest::Invalid("session_id"));
        }
        let closing = matches!(command, Command::Terminate | Command::Timeout);
        let raw_msisdn = match object.get("msisdn") {
            Some(v) => Some(loose_string(v).ok_or(BadRequest::Invalid("msisdn"))?),
            None if closing => None,
            None => return Err(BadRequest::Missing("msisdn")),
        };
        let msisdn = match raw_msisdn.as_deref().map(msisdn_digits) {
            Some(Some(digits)) => digits,
            // A closing hop needs the session id alone: the session knows its caller.
            _ if closing => String::new(),
            _ => return Err(BadRequest::Invalid("msisdn")),
        };
        let operator = match object.get("operator") {
            None | Some(Value::Null) => String::new(),
            Some(v) => loose_string(v)
                .filter(|s| s.len() <= MAX_OPERATOR && !s.chars().any(char::is_control))
                .ok_or(BadRequest::Invalid("operator"))?,
        };
        let payload = match object.get("payload") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(payload)) => payload.clone(),
            Some(_) => return Err(BadRequest::Invalid("payload")),
        };
        let request_id = match payload.get("request_id") {
            None | Some(Value::Null) => None,
            Some(v) => {
                let id = loose_string(v).ok_or(BadRequest::Invalid("payload.request_id"))?;
                let id = id.trim().to_string();
                Some(
                    id.parse::<u32>()
                        .map_err(|_| BadRequest::Invalid("payload.request_id"))?,
                )
            }
        };
        let response = match payload.get("response") {
            None | Some(Value::Null) => None,
            Some(v) => Some(loose_string(v).ok_or(BadRequest::Invalid("payload.response"))?),
        };
        if response.as_ref().is_some_and(|r| r.len() > MAX_INPUT) {
            return Err(BadRequest::Invalid("payload.response"));
        }
        let kind = match command {
            Command::Initiate => TurnKind::Start,
            Command::Continue => TurnKind::Latest(
                response
                    .clone()
                    .ok_or(BadRequest::Missing("payload.response"))?
                    .trim()
                    .to_string(),
            ),
            Command::Terminate => TurnKind::Abort,
            Command::Timeout => TurnKind::Timeout,
        };
        let mut turn = Turn::new(self.name(), &session_id, &msisdn, kind);
        turn.network = Some(operator.clone()).filter(|o| !o.trim().is_empty());
        if let (Command::Continue, Some(id)) = (command, request_id) {
            turn.retry = Retry::Mark(format!("{id}:{}", response.unwrap_or_default()));
        }
        turn.echo = vec![
            ("msisdn".into(), raw_msisdn.unwrap_or_default()),
            ("operator".into(), operator),
            ("session_id".into(), session_id),
            ("request_id".into(), request_id.unwrap_or(0).to_string()),
        ];
        Ok(turn)
    }

    fn respond(&self, turn: &Turn, reply: &Reply) -> WireResponse {
        let echo = |name: &str| {
            turn.echo
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let asked: u32 = echo("request_id").parse().unwrap_or(0);
        let (command, request_id, text) = match reply {
            Reply::Continue(text) => ("continue", asked.saturating_add(1), text.as_str()),
            Reply::End(text) => ("terminate", 0, text.as_str()),
            Reply::Ack => ("terminate", 0, ""),
        };
        let body = json!({
            "msisdn": echo("msisdn"),
            "operator": echo("operator"),
            "session_id": echo("session_id"),
            "command": command,
            "payload": {"request_id": request_id, "request": text},
        });
        WireResponse {
            status: 200,
            content_type: "application/json",
            body: body.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_as(method: &str, ct: Option<&str>, body: &[u8]) -> Result<Turn, BadRequest> {
        crate::dialect::parse_for_test(&Beem::new(), method, "", None, ct, body)
    }

    fn parse(body: &str) -> Result<Turn, BadRequest> {
        parse_as("POST", Some("application/json"), body.as_bytes())
    }

    #[test]
    fn the_three_documented_hops() {
        let start = parse(r#"{"command":"initiate","msisdn":"255762089337","session_id":"4574","operator":"vodacom","payload":{"request_id":0,"response":"0"}}"#).expect("parses");
        assert_eq!(start.kind, TurnKind::Start);
        assert_eq!(start.session_id, "4574");
        assert_eq!(start.msisdn, "255762089337");
        assert_eq!(start.service_code, None, "Beem carries no dialled string");
        assert_eq!(start.retry, Retry::Unmarked);
        let next = parse(r#"{"command":"continue","msisdn":"255762089337","session_id":"4574","operator":"vodacom","payload":{"request_id":1,"response":"1"}}"#).expect("parses");
        assert_eq!(next.kind, TurnKind::Latest("1".into()));
        assert_eq!(next.retry, Retry::Mark("1:1".into()));
        let last = parse(r#"{"command":"continue","msisdn":"255762089337","session_id":"4574","operator":"vodacom","payload":{"request_id":"2","response":12345678}}"#).expect("number or string");
        assert_eq!(last.kind, TurnKind::Latest("12345678".into()));
        assert_eq!(last.retry, Retry::Mark("2:12345678".into()));
        let end = parse(r#"{"command":"terminate","msisdn":"255762089337","session_id":"4574","operator":"vodacom","payload":{"request_id":2,"response":"0"}}"#).expect("parses");
        assert_eq!(end.kind, TurnKind::Abort);
    }

    #[test]
    fn lenient_where_the_source_is_weak() {
        let t = parse(r#"{"command":" Initiate ","msisdn":255762089337,"session_id":4574,"payload":{"request_id":"0","response":0}}"#).expect("parses");
        assert_eq!((t.kind, t.session_id.as_str()), (TurnKind::Start, "4574"));
        let t = parse(r#"{"command":"initiate","msisdn":"+255762089337","session_id":"s"}"#)
            .expect("no payload on initiate");
        assert_eq!(t.msisdn, "255762089337");
        let t = parse(r#"{"command":"TERMINATE","session_id":"s"}"#).expect("a bare terminate");
        assert_eq!((t.kind, t.msisdn.as_str()), (TurnKind::Abort, ""));
        let t = parse(r#"{"command":"timeout","session_id":"s","msisdn":"x"}"#).expect("timeout");
        assert_eq!(t.kind, TurnKind::Timeout);
        let t = parse_as("POST", None, br#"{"command":"continue","msisdn":"255762089337","session_id":"s","payload":{"response":" 2 "}}"#).expect("no content type, no request_id");
        assert_eq!(
            (t.kind, t.retry),
            (TurnKind::Latest("2".into()), Retry::Unmarked)
        );
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        let huge = format!(
            r#"{{"command":"continue","msisdn":"255762089337","session_id":"s","payload":{{"request_id":1,"response":"{}"}}}}"#,
            "1".repeat(MAX_INPUT + 1)
        );
        let long_id = format!(
            r#"{{"command":"initiate","msisdn":"255762089337","session_id":"{}"}}"#,
            "s".repeat(MAX_SESSION_ID + 1)
        );
        let cases: Vec<(&str, Option<&str>, Vec<u8>, BadRequest)> = vec![
            ("POST", Some("application/json"), b"".to_vec(), BadRequest::Missing("command")),
            ("POST", Some("application/json"), b"\xff\xfe{".to_vec(), BadRequest::NotUtf8),
            ("POST", Some("application/json"), b"{not json".to_vec(), BadRequest::Invalid("body")),
            ("POST", Some("application/json"), b"[1,2]".to_vec(), BadRequest::Invalid("body")),
            (
                "POST",
                Some("application/x-www-form-urlencoded"),
                b"command=initiate".to_vec(),
                BadRequest::ContentType("application/x-www-form-urlencoded".into()),
            ),
            ("GET", None, b"".to_vec(), BadRequest::Method("GET".into())),
            ("POST", None, br#"{"msisdn":"255762089337","session_id":"s"}"#.to_vec(), BadRequest::Missing("command")),
            ("POST", None, br#"{"command":"hello","msisdn":"255762089337","session_id":"s"}"#.to_vec(), BadRequest::Invalid("command")),
            ("POST", None, br#"{"command":7,"msisdn":"255762089337","session_id":"s"}"#.to_vec(), BadRequest::Invalid("command")),
            ("POST", None, br#"{"command":"initiate","msisdn":"255762089337"}"#.to_vec(), BadRequest::Missing("session_id")),
            ("POST", None, br#"{"command":"initiate","msisdn":"255762089337","session_id":["s"]}"#.to_vec(), BadRequest::Invalid("session_id")),
            ("POST", None, br#"{"command":"initiate","session_id":"s"}"#.to_vec(), BadRequest::Missing("msisdn")),
            ("POST", None, br#"{"command":"initiate","msisdn":true,"session_id":"s"}"#.to_vec(), BadRequest::Invalid("msisdn")),
            ("POST", None, br#"{"command":"initiate","msisdn":"abc","session_id":"s"}"#.to_vec(), BadRequest::Invalid("msisdn")),
            ("POST", None, br#"{"command":"continue","msisdn":"255762089337","session_id":"s","payload":"1"}"#.to_vec(), BadRequest::Invalid("payload")),
            ("POST", None, br#"{"command":"continue","msisdn":"255762089337","session_id":"s","payload":{"request_id":-1,"response":"1"}}"#.to_vec(), BadRequest::Invalid("payload.request_id")),
            ("POST", None, br#"{"command":"continue","msisdn":"255762089337","session_id":"s","payload":{"request_id":99999999999999,"response":"1"}}"#.to_vec(), BadRequest::Invalid("payload.request_id")),
            ("POST", None, br#"{"command":"continue","msisdn":"255762089337","session_id":"s","payload":{"request_id":1}}"#.to_vec(), BadRequest::Missing("payload.response")),
            ("POST", None, br#"{"command":"continue","msisdn":"255762089337","session_id":"s","payload":{"response":{"a":1}}}"#.to_vec(), BadRequest::Invalid("payload.response")),
            ("POST", None, huge.into_bytes(), BadRequest::Invalid("payload.response")),
            ("POST", None, long_id.into_bytes(), BadRequest::Invalid("session_id")),
        ];
        for (method, ct, body, want) in cases {
            assert_eq!(
                parse_as(method, ct, &body),
                Err(want),
                "{:?}",
                String::from_utf8_lossy(&body)
            );
        }
        let mut headers = hyper::HeaderMap::new();
        headers.insert("content-type", "application/json".parse().expect("value"));
        let other = Beem::new().parse(&WireRequest {
            method: "POST",
            path_tail: "/x",
            query: None,
            headers: &headers,
            peer: None,
            body: b"{}",
        });
        assert_eq!(other, Err(BadRequest::Path));
        assert_eq!(
            Beem::new().reject(&BadRequest::Missing("command")).status,
            400
        );
    }

    #[test]
    fn replies_echo_the_request_and_write_the_documented_bytes() {
        let beem = Beem::new();
        let turn = parse(r#"{"command":"initiate","msisdn":"255762089337","session_id":"4574","operator":"vodacom","payload":{"request_id":0,"response":"0"}}"#).expect("parses");
        let answer = beem.respond(
            &turn,
            &Reply::Continue("Karibu CNAM\n1. Hali ya bima".into()),
        );
        assert_eq!(answer.status, 200);
        assert_eq!(answer.content_type, "application/json");
        assert_eq!(
            answer.body,
            r#"{"command":"continue","msisdn":"255762089337","operator":"vodacom","payload":{"request":"Karibu CNAM\n1. Hali ya bima","request_id":1},"session_id":"4574"}"#
        );
        let turn = parse(r#"{"command":"continue","msisdn":"255762089337","session_id":"4574","operator":"vodacom","payload":{"request_id":2,"response":"12345678"}}"#).expect("parses");
        assert_eq!(
            beem.respond(&turn, &Reply::End("Umesajiliwa hadi 31/12/2026.".into()))
                .body,
            r#"{"command":"terminate","msisdn":"255762089337","operator":"vodacom","payload":{"request":"Umesajiliwa hadi 31/12/2026.","request_id":0},"session_id":"4574"}"#
        );
        assert_eq!(
            beem.respond(&turn, &Reply::Continue("x".into())).body,
            r#"{"command":"continue","msisdn":"255762089337","operator":"vodacom","payload":{"request":"x","request_id":3},"session_id":"4574"}"#
        );
        let end = parse(r#"{"command":"terminate","session_id":"4574"}"#).expect("parses");
        assert_eq!(
            beem.respond(&end, &Reply::Ack).body,
            r#"{"command":"terminate","msisdn":"","operator":"","payload":{"request":"","request_id":0},"session_id":"4574"}"#
        );
    }
}
