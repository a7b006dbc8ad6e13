//! Infobip, the legacy "USSD Gateway to Third-party Application HTTP/REST/JSON" API
//! (DIALECTS.md §6, known only through vumi's Infobip transport quoting Infobip's PDF): per-session
//! URLs under `/ussd/infobip` — `POST /session/{id}/start` (the caller dialled),
//! `POST /session/{id}/response` (the caller answered; `text` is the latest input alone),
//! `PUT /session/{id}/end` (the network or the caller ended it; body `reason`, `exitCode`) and
//! `GET /session/{id}/status`. Start and response bodies are JSON with `msisdn` and `text`
//! (mandatory), `shortCode`, `imsi`, `language`, `optional`, `ussdGwId`. A screen is answered
//! `{"ussdMenu", "shouldClose", "responseExitCode": 200, "responseMessage": ""}`, an end
//! `{"responseExitCode": 200, "responseMessage": ""}`, an error
//! `{"responseExitCode": 400, "responseMessage": <reason>}` (sent with HTTP 400, SPEC §4).
//!
//! Where the source is weak (§11: the shape is 2012-era and its currency unknown), this module
//! reads leniently: `msisdn` as a string or a number, with or without `+`; `text` a string or a
//! number; the dialled string taken from the start's `text` when it looks like one (`*…#`),
//! else from `shortCode` (vumi's test value `*123#1#` is read as `*123*1#`: "not as mandatory
//! as the docs claim"), else none (`[dialects.infobip] default_service`); a missing content type
//! accepted; the end's body optional (any body, even an unreadable one, ends the session), its
//! `reason` read as a timeout when it says so (`timeout`, `expired`), else as the caller's end.
//! A repeated start is answered with the reply already given (the engine's start is idempotent;
//! vumi's "already started" error is not reproduced). The status request (`GET`, no body read)
//! is a [`TurnKind::Status`]: the engine says whether the session is open, without changing it,
//! and it is answered `{"sessionActive": true|false, "responseExitCode": 200,
//! "responseMessage": ""}` as §6 records.

use std::sync::Arc;

use serde_json::{json, Value};

use super::json_body::{expect_json, loose_string};
use super::{msisdn_digits, BadRequest, Dialect, WireRequest, WireResponse};
use crate::turn::{Reply, Turn, TurnKind};

/// Longest session id accepted.
const MAX_SESSION_ID: usize = 128;
/// Longest `text` accepted: a dialled string or an answer.
const MAX_TEXT: usize = 512;

pub(crate) struct Infobip {
    name: Arc<str>,
}

impl Infobip {
    pub(crate) fn new() -> Infobip {
        Infobip {
            name: Arc::from("infobip"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Start,
    Response,
    End,
    Status,
}

/// The session id and the action of a path tail `/session/{id}/{action}`.
fn route(tail: &str) -> Result<(String, Action), BadRequest> {
    let tail = tail.strip_suffix('/').unwrap_or(tail);
    let parts: Vec<&str> = tail.split('/').collect();
    let ["", session, id, action] = parts.as_slice() else {
        return Err(BadRequest::Path);
    };
    if !session.eq_ignore_ascii_case("session") {
        return Err(BadRequest::Path);
    }
    let action = match action.to_ascii_lowercase().as_str() {
        "start" => Action::Start,
        "response" => Action::Response,
        "end" => Action::End,
        "status" => Action::Status,
        _ => return Err(BadRequest::Path),
    };
    // A path segment with its `%XX` escapes decoded; escapes that are not UTF-8 are invalid.
    let id = percent_encoding::percent_decode_str(id)
        .decode_utf8()
        .map_err(|_| BadRequest::Invalid("sessionId"))?
        .into_owned();
    if id.trim().is_empty() {
        return Err(BadRequest::Missing("sessionId"));
    }
    if id.len() > MAX_SESSION_ID || id.chars().any(char::is_control) {
        return Err(BadRequest::Invalid("sessionId"));
    }
    Ok((id, action))
}

/// A dialled string in the form the menus route (`*123#1#` → `*123*1#`), or `None`.
fn dial_string(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if !raw.starts_with('*') || !raw.ends_with('#') || raw.len() > MAX_TEXT {
        return None;
    }
    let inner = raw.trim_matches(|c| c == '*' || c == '#').replace('#', "*");
    let plausible = !inner.is_empty()
        && !inner.contains("**")
        && inner.chars().all(|c| c.is_alphanumeric() || c == '*');
    plausible.then(|| format!("*{inner}#"))
}

impl Dialect for Infobip {
    fn name(&self) -> &Arc<str> {
        &self.name
    }

    fn parse(&self, request: &WireRequest<'_>) -> Result<Turn, BadRequest> {
        let (session_id, action) = route(request.path_tail)?;
        let expected = match action {
            Action::Start | Action::Response => "POST",
            Action::End => "PUT",
            Action::Status => "GET",
        };
        // The end is PUT in the quoted text; a POST there is read as one too.
        let accepted =
            request.method == expected || (action == Action::End && request.method == "POST");
        if !accepted {
            return Err(BadRequest::Method(request.method.to_string()));
        }
        if action == Action::Status {
            return Ok(Turn::new(self.name(), &session_id, "", TurnKind::Status));
        }
        if action == Action::End {
            let reason = serde_json::from_slice::<Value>(request.body)
                .ok()
                .and_then(|v| v.get("reason").and_then(loose_string))
                .unwrap_or_default()
                .to_ascii_lowercase();
            let timeout = ["timeout", "timed out", "timed_out", "expired"]
                .iter()
                .any(|w| reason.contains(w));
            let kind = if timeout {
                TurnKind::Timeout
            } else {
                TurnKind::Abort
            };
            return Ok(Turn::new(self.name(), &session_id, "", kind));
        }
        expect_json(request)?;
        let body = std::str::from_utf8(request.body).map_err(|_| BadRequest::NotUtf8)?;
        if body.trim().is_empty() {
            return Err(BadRequest::Missing("msisdn"));
        }
        let value: Value = serde_json::from_str(body).map_err(|_| BadRequest::Invalid("body"))?;
        let object = value.as_object().ok_or(BadRequest::Invalid("body"))?;
        let msisdn = object.get("msisdn").ok_or(BadRequest::Missing("msisdn"))?;
        let msisdn = loose_string(msisdn)
            .as_deref()
            .and_then(msisdn_digits)
            .ok_or(BadRequest::Invalid("msisdn"))?;
        let text = object.get("text").ok_or(BadRequest::Missing("text"))?;
        let text = loose_string(text).ok_or(BadRequest::Invalid("text"))?;
        if text.len() > MAX_TEXT || text.chars().any(char::is_control) {
            return Err(BadRequest::Invalid("text"));
        }
        let short_code = match object.get("shortCode") {
            None | Some(Value::Null) => None,
            Some(v) => Some(loose_string(v).ok_or(BadRequest::Invalid("shortCode"))?),
        };
        Ok(match action {
            Action::Start => {
                let code =
                    dial_string(&text).or_else(|| short_code.as_deref().and_then(dial_string));
                let turn = Turn::new(self.name(), &session_id, &msisdn, TurnKind::Start);
                match code {
                    Some(code) => turn.dialled(&code),
                    None => turn,
                }
            }
            _ => Turn::new(
                self.name(),
                &session_id,
                &msisdn,
                TurnKind::Latest(text.trim().to_string()),
            ),
        })
    }

    fn respond(&self, turn: &Turn, reply: &Reply) -> WireResponse {
        let body = match (&turn.kind, reply) {
            (TurnKind::Abort | TurnKind::Timeout, _) => {
                json!({"responseExitCode": 200, "responseMessage": ""})
            }
            (TurnKind::Status, reply) => json!({
                "sessionActive": !reply.is_end(),
                "responseExitCode": 200,
                "responseMessage": "",
            }),
            (_, reply) => json!({
                "ussdMenu": reply.text(),
                "shouldClose": reply.is_end(),
                "responseExitCode": 200,
                "responseMessage": "",
            }),
        };
        WireResponse {
            status: 200,
            content_type: "application/json",
            body: body.to_string(),
        }
    }

    fn reject(&self, error: &BadRequest) -> WireResponse {
        let status = if *error == BadRequest::Path { 404 } else { 400 };
        let message = match error {
            BadRequest::Invalid("body") => "Invalid JSON".to_string(),
            other => other.to_string(),
        };
        WireResponse {
            status,
            content_type: "application/json",
            body: json!({"responseExitCode": status, "responseMessage": message}).to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(method: &str, tail: &str, ct: Option<&str>, body: &[u8]) -> Result<Turn, BadRequest> {
        crate::dialect::parse_for_test(&Infobip::new(), method, tail, None, ct, body)
    }

    const JSON: Option<&str> = Some("application/json");

    #[test]
    fn the_documented_hops() {
        let t = call(
            "POST",
            "/session/8a1b/start",
            JSON,
            br#"{"msisdn":"385955363443","imsi":"429011234567890","text":"*123#","shortCode":"*123#","language":null,"optional":"","ussdGwId":"live2"}"#,
        )
        .expect("parses");
        assert_eq!(t.session_id, "8a1b");
        assert_eq!(t.msisdn, "385955363443");
        assert_eq!(t.kind, TurnKind::Start);
        assert_eq!(t.service_code.as_deref(), Some("*123#"));
        let t = call(
            "POST",
            "/session/8a1b/response",
            JSON,
            br#"{"msisdn":"385955363443","text":"1"}"#,
        )
        .expect("parses");
        assert_eq!(t.kind, TurnKind::Latest("1".into()));
        let t = call(
            "PUT",
            "/session/8a1b/end",
            JSON,
            br#"{"reason":"ok","exitCode":0}"#,
        )
        .expect("parses");
        assert_eq!((t.kind, t.session_id.as_str()), (TurnKind::Abort, "8a1b"));
    }

    #[test]
    fn lenient_where_the_source_is_weak() {
        let t = call(
            "POST",
            "/session/s/start",
            None,
            br#"{"msisdn":385955363443,"text":"","shortCode":"*123#1#"}"#,
        )
        .expect("vumi's shortCode");
        assert_eq!(t.service_code.as_deref(), Some("*123*1#"));
        assert_eq!(t.msisdn, "385955363443");
        let t = call(
            "POST",
            "/session/s/start",
            JSON,
            br#"{"msisdn":"+989121110001","text":"*4*1420*2*0012345679#","shortCode":"*4*1420#"}"#,
        )
        .expect("a dialled shortcut");
        assert_eq!(t.service_code.as_deref(), Some("*4*1420*2*0012345679#"));
        let t = call(
            "POST",
            "/session/s/start",
            JSON,
            br#"{"msisdn":"989121110001","text":"hi"}"#,
        )
        .expect("no code: the default service");
        assert_eq!(t.service_code, None);
        let t = call(
            "POST",
            "/Session/a%20b/Response/",
            JSON,
            br#"{"msisdn":"989121110001","text":12}"#,
        )
        .expect("a number as text");
        assert_eq!(
            (t.session_id.as_str(), t.kind),
            ("a b", TurnKind::Latest("12".into()))
        );
        for (body, want) in [
            (&b""[..], TurnKind::Abort),
            (b"\xff", TurnKind::Abort),
            (
                br#"{"reason":"Session Timeout","exitCode":408}"#,
                TurnKind::Timeout,
            ),
            (br#"{"reason":"expired"}"#, TurnKind::Timeout),
            (br#"{"reason":"user abort"}"#, TurnKind::Abort),
        ] {
            assert_eq!(
                call("PUT", "/session/s/end", None, body)
                    .expect("an end")
                    .kind,
                want
            );
        }
        assert_eq!(
            call("POST", "/session/s/end", None, b"")
                .expect("POST end")
                .kind,
            TurnKind::Abort
        );
    }

    /// A method, a path tail, a content type, a body, and why it is refused.
    type Case<'a> = (&'a str, String, Option<&'a str>, Vec<u8>, BadRequest);

    #[test]
    fn garbage_is_refused_with_a_reason() {
        let huge = format!(
            r#"{{"msisdn":"989121110001","text":"{}"}}"#,
            "1".repeat(MAX_TEXT + 1)
        );
        let long = format!("/session/{}/start", "s".repeat(MAX_SESSION_ID + 1));
        let ok = br#"{"msisdn":"989121110001","text":"1"}"#.to_vec();
        let cases: Vec<Case> = vec![
            ("POST", "".into(), JSON, ok.clone(), BadRequest::Path),
            (
                "POST",
                "/session/s".into(),
                JSON,
                ok.clone(),
                BadRequest::Path,
            ),
            (
                "POST",
                "/session/s/other".into(),
                JSON,
                ok.clone(),
                BadRequest::Path,
            ),
            (
                "POST",
                "/sessions/s/start".into(),
                JSON,
                ok.clone(),
                BadRequest::Path,
            ),
            (
                "POST",
                "/session/s/status".into(),
                None,
                vec![],
                BadRequest::Method("POST".into()),
            ),
            (
                "GET",
                "/session/s/start".into(),
                JSON,
                ok.clone(),
                BadRequest::Method("GET".into()),
            ),
            (
                "PUT",
                "/session/s/response".into(),
                JSON,
                ok.clone(),
                BadRequest::Method("PUT".into()),
            ),
            (
                "POST",
                "/session/%20/start".into(),
                JSON,
                ok.clone(),
                BadRequest::Missing("sessionId"),
            ),
            (
                "POST",
                "/session/%FF/start".into(),
                JSON,
                ok.clone(),
                BadRequest::Invalid("sessionId"),
            ),
            (
                "POST",
                long,
                JSON,
                ok.clone(),
                BadRequest::Invalid("sessionId"),
            ),
            (
                "POST",
                "/session/s/start".into(),
                Some("text/plain"),
                ok.clone(),
                BadRequest::ContentType("text/plain".into()),
            ),
            (
                "POST",
                "/session/s/start".into(),
                JSON,
                vec![],
                BadRequest::Missing("msisdn"),
            ),
            (
                "POST",
                "/session/s/start".into(),
                JSON,
                b"\xff\xfe".to_vec(),
                BadRequest::NotUtf8,
            ),
            (
                "POST",
                "/session/s/start".into(),
                JSON,
                b"{oops".to_vec(),
                BadRequest::Invalid("body"),
            ),
            (
                "POST",
                "/session/s/start".into(),
                JSON,
                b"\"x\"".to_vec(),
                BadRequest::Invalid("body"),
            ),
            (
                "POST",
                "/session/s/start".into(),
                JSON,
                br#"{"text":"1"}"#.to_vec(),
                BadRequest::Missing("msisdn"),
            ),
            (
                "POST",
                "/session/s/start".into(),
                JSON,
                br#"{"msisdn":[1],"text":"1"}"#.to_vec(),
                BadRequest::Invalid("msisdn"),
            ),
            (
                "POST",
                "/session/s/response".into(),
                JSON,
                br#"{"msisdn":"989121110001"}"#.to_vec(),
                BadRequest::Missing("text"),
            ),
            (
                "POST",
                "/session/s/response".into(),
                JSON,
                br#"{"msisdn":"989121110001","text":null}"#.to_vec(),
                BadRequest::Invalid("text"),
            ),
            (
                "POST",
                "/session/s/start".into(),
                JSON,
                br#"{"msisdn":"989121110001","text":"","shortCode":{}}"#.to_vec(),
                BadRequest::Invalid("shortCode"),
            ),
            (
                "POST",
                "/session/s/response".into(),
                JSON,
                huge.into_bytes(),
                BadRequest::Invalid("text"),
            ),
        ];
        for (method, tail, ct, body, want) in cases {
            assert_eq!(call(method, &tail, ct, &body), Err(want), "{method} {tail}");
        }
        let infobip = Infobip::new();
        let answer = infobip.reject(&BadRequest::Invalid("body"));
        assert_eq!(
            (answer.status, answer.content_type, answer.body.as_str()),
            (
                400,
                "application/json",
                r#"{"responseExitCode":400,"responseMessage":"Invalid JSON"}"#
            )
        );
        assert_eq!(infobip.reject(&BadRequest::Path).status, 404);
    }

    #[test]
    fn the_status_question_reads_and_is_answered_as_documented() {
        let infobip = Infobip::new();
        let turn = call("GET", "/session/8a1b/status", None, b"").expect("a status");
        assert_eq!(
            (turn.session_id.as_str(), &turn.kind),
            ("8a1b", &TurnKind::Status)
        );
        for (reply, active) in [
            (Reply::Continue(String::new()), true),
            (Reply::End(String::new()), false),
        ] {
            let answer = infobip.respond(&turn, &reply);
            let body: Value = serde_json::from_str(&answer.body).expect("JSON");
            assert_eq!(
                body,
                json!({"sessionActive": active, "responseExitCode": 200, "responseMessage": ""})
            );
        }
    }

    #[test]
    fn replies_are_the_documented_json() {
        let infobip = Infobip::new();
        let turn = Turn::new(infobip.name(), "8a1b", "385955363443", TurnKind::Start);
        let answer = infobip.respond(
            &turn,
            &Reply::Continue("Welcome to CNAM\n1. Check my cover".into()),
        );
        assert_eq!(
            (answer.status, answer.content_type),
            (200, "application/json")
        );
        assert_eq!(
            answer.body,
            r#"{"responseExitCode":200,"responseMessage":"","shouldClose":false,"ussdMenu":"Welcome to CNAM\n1. Check my cover"}"#
        );
        let turn = Turn::new(
            infobip.name(),
            "8a1b",
            "385955363443",
            TurnKind::Latest("1".into()),
        );
        assert_eq!(
            infobip
                .respond(&turn, &Reply::End("Covered until 31/12/2026.".into()))
                .body,
            r#"{"responseExitCode":200,"responseMessage":"","shouldClose":true,"ussdMenu":"Covered until 31/12/2026."}"#
        );
        let end = Turn::new(infobip.name(), "8a1b", "", TurnKind::Abort);
        assert_eq!(
            infobip.respond(&end, &Reply::Ack).body,
            r#"{"responseExitCode":200,"responseMessage":""}"#
        );
    }
}
