//! Hubtel (DIALECTS.md §2), served at `POST /ussd/hubtel`: a JSON POST per hop with `Mobile`
//! (`233…`, no `+`), `SessionId`, `ServiceCode`, `Type`, `Message`, `Operator`, `Sequence`,
//! `ClientState` (and `Platform` on Programmable Services). `Type` is `Initiation` (a
//! [`TurnKind::Start`]; `Message` is then the whole dialled string, extra segments
//! pre-answering the menus), `Response` (a [`TurnKind::Latest`]: `Message` is the latest
//! input), `Release` (the caller ended: [`TurnKind::Abort`]) or `Timeout`
//! ([`TurnKind::Timeout`]). `Sequence` (1 on Initiation, +1 per hop) is the retry mark: a
//! request with the sequence of the step that made the last reply gets that reply again.
//! The reply is `application/json` `{"Type":"Response"|"Release","Message":…}`; the answer to
//! a `Release` or `Timeout` request (which Hubtel ignores) is `{"Type":"Release","Message":""}`.
//!
//! Where the source is weak, this reads leniently: keys are matched ignoring case (the SDK
//! writes camelCase, the docs PascalCase), `Type` values ignoring case (`Initiation` and
//! `initiation` both appear), `Sequence` as a number or a string; `ServiceCode` is opaque (a
//! short code in several spellings, or a Programmable Services GUID, which routes to the
//! dialect's configured default service); `Message` on `Release`/`Timeout`, and the `Mobile` of
//! those, are not needed. The `Timeout` semantics come from the SDK, not the API reference
//! (DIALECTS.md §11: medium). Other `Type` values (`query`, `favorite`, channels other than
//! USSD) are refused with a 400.
//!
//! The caller's network (`Operator`, when present and plain text) rides on the turn, for the
//! smaller screen `[dialects.hubtel.networks.<code>]` may set; an odd one is no network, never
//! a refusal.

use std::sync::Arc;

use super::json_body::{dialled_string, object, ussd_code, JsonFields, Out, MAX_INPUT};
use super::{msisdn_digits, BadRequest, Dialect, WireRequest, WireResponse};
use crate::turn::{Reply, Retry, Turn, TurnKind};

pub(crate) struct Hubtel {
    name: Arc<str>,
}

impl Hubtel {
    pub(crate) fn new() -> Hubtel {
        Hubtel {
            name: Arc::from("hubtel"),
        }
    }
}

impl Dialect for Hubtel {
    fn name(&self) -> &Arc<str> {
        &self.name
    }

    fn carries_network(&self) -> bool {
        true
    }

    fn parse(&self, request: &WireRequest<'_>) -> Result<Turn, BadRequest> {
        let fields = JsonFields::read(request)?;
        let session_id = fields
            .session_id("SessionId")?
            .ok_or(BadRequest::Missing("SessionId"))?;
        let kind = fields
            .text("Type", 32)?
            .ok_or(BadRequest::Missing("Type"))?;
        let message = fields.text("Message", MAX_INPUT)?;
        let sequence = match fields.text("Sequence", 20)? {
            Some(s) if !s.trim().is_empty() => {
                let number: u64 = s
                    .trim()
                    .parse()
                    .map_err(|_| BadRequest::Invalid("Sequence"))?;
                Some(number.to_string())
            }
            _ => None,
        };
        let mobile = fields.text("Mobile", 64)?;
        let service_code = fields
            .text("ServiceCode", 128)?
            .as_deref()
            .and_then(ussd_code);
        let kind = kind.trim().to_ascii_lowercase();
        let (turn_kind, dialled) = match kind.as_str() {
            "initiation" => {
                // The whole dialled string, extensions and all; else the code alone.
                let dialled = message.as_deref().and_then(dialled_string).or(service_code);
                (TurnKind::Start, dialled)
            }
            "response" => {
                let input = message.ok_or(BadRequest::Missing("Message"))?;
                (TurnKind::Latest(input), service_code)
            }
            "release" => (TurnKind::Abort, service_code),
            "timeout" => (TurnKind::Timeout, service_code),
            _ => return Err(BadRequest::Invalid("Type")),
        };
        let msisdn = match (&turn_kind, mobile) {
            // The session knows its caller: an end needs no phone.
            (TurnKind::Abort | TurnKind::Timeout, mobile) => mobile
                .as_deref()
                .and_then(msisdn_digits)
                .unwrap_or_default(),
            (_, None) => return Err(BadRequest::Missing("Mobile")),
            (_, Some(mobile)) => msisdn_digits(&mobile).ok_or(BadRequest::Invalid("Mobile"))?,
        };
        let mut turn = Turn::new(self.name(), &session_id, &msisdn, turn_kind);
        turn.service_code = dialled;
        turn.network = fields.network("Operator");
        if let Some(sequence) = sequence {
            turn.retry = Retry::Mark(sequence);
        }
        Ok(turn)
    }

    fn respond(&self, turn: &Turn, reply: &Reply) -> WireResponse {
        let (kind, text) = match (&turn.kind, reply) {
            // Hubtel ignores the answer to a release or a timeout: a bare release.
            (TurnKind::Abort | TurnKind::Timeout, _) | (_, Reply::Ack) => ("Release", ""),
            (_, Reply::Continue(text)) => ("Response", text.as_str()),
            (_, Reply::End(text)) => ("Release", text.as_str()),
        };
        WireResponse {
            status: 200,
            content_type: "application/json",
            body: object(&[("Type", Out::Text(kind)), ("Message", Out::Text(text))]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_as(body: &[u8], content_type: Option<&str>, method: &str) -> Result<Turn, BadRequest> {
        crate::dialect::parse_for_test(&Hubtel::new(), method, "", None, content_type, body)
    }

    fn parse(body: &str) -> Result<Turn, BadRequest> {
        parse_as(body.as_bytes(), Some("application/json"), "POST")
    }

    const SID: &str = "c4b1e7a09d6f4e0fb3b2a4f8d1e6c9a2";

    #[test]
    fn the_documented_initiation_response_and_end() {
        let turn = parse(
            r#"{"Mobile":"233244567890","SessionId":"c4b1e7a09d6f4e0fb3b2a4f8d1e6c9a2","ServiceCode":"713*4",
 "Type":"Initiation","Message":"*713*4#","Operator":"mtn","Sequence":1,"ClientState":""}"#,
        )
        .expect("parses");
        assert_eq!(turn.session_id, SID);
        assert_eq!(turn.msisdn, "233244567890");
        assert_eq!(turn.kind, TurnKind::Start);
        assert_eq!(turn.service_code.as_deref(), Some("*713*4#"));
        assert_eq!(turn.retry, Retry::Mark("1".into()));
        assert!(turn.echo.is_empty());

        let turn = parse(
            r#"{"Mobile":"233244567890","SessionId":"c4b1e7a09d6f4e0fb3b2a4f8d1e6c9a2","ServiceCode":"713*4",
 "Type":"Response","Message":"1","Operator":"mtn","Sequence":2,"ClientState":"home"}"#,
        )
        .expect("parses");
        assert_eq!(turn.kind, TurnKind::Latest("1".into()));
        assert_eq!(turn.retry, Retry::Mark("2".into()));
        assert_eq!(turn.service_code.as_deref(), Some("*713*4#"));

        let turn = parse(
            r#"{"Mobile":"233244567890","SessionId":"c4b1e7a09d6f4e0fb3b2a4f8d1e6c9a2","ServiceCode":"713*4",
 "Type":"Response","Message":"12345678","Operator":"mtn","Sequence":"3","ClientState":""}"#,
        )
        .expect("a string sequence");
        assert_eq!(turn.kind, TurnKind::Latest("12345678".into()));
        assert_eq!(turn.retry, Retry::Mark("3".into()));
    }

    #[test]
    fn looseness_of_case_and_type_is_tolerated() {
        let turn = parse(
            r#"{"mobile":"233244567890","sessionId":"s1","serviceCode":"b230733c-1f2e-4a5b",
                "type":"initiation","message":"*4*1420*2*0012345679#","sequence":"1","platform":"USSD"}"#,
        )
        .expect("camelCase keys, lower-case type");
        assert_eq!(turn.kind, TurnKind::Start);
        assert_eq!(turn.service_code.as_deref(), Some("*4*1420*2*0012345679#"));
        // A GUID service code and no dialled string: no code, the dialect's default service.
        let turn = parse(
            r#"{"Mobile":"233244567890","SessionId":"s1","ServiceCode":"b230733c-1f2e-4a5b",
                "Type":"INITIATION","Message":"","Sequence":1}"#,
        )
        .expect("parses");
        assert_eq!(turn.service_code, None);
        // The code alone when the message is not a dialled string.
        let turn = parse(
            r#"{"Mobile":"+233244567890","SessionId":"s1","ServiceCode":"7112#","Type":"Initiation"}"#,
        )
        .expect("no sequence");
        assert_eq!(turn.service_code.as_deref(), Some("*7112#"));
        assert_eq!(turn.retry, Retry::Unmarked);
        assert_eq!(turn.msisdn, "233244567890");
    }

    #[test]
    fn release_and_timeout_close_the_session_and_are_answered_with_a_bare_release() {
        for (word, want) in [
            ("Release", TurnKind::Abort),
            ("release", TurnKind::Abort),
            ("Timeout", TurnKind::Timeout),
            ("timeout", TurnKind::Timeout),
        ] {
            let body = format!(
                r#"{{"Mobile":"233244567890","SessionId":"{SID}","ServiceCode":"713*4","Type":"{word}","Message":"","Operator":"mtn","Sequence":4}}"#
            );
            let turn = parse(&body).expect("parses");
            assert_eq!(turn.kind, want, "{word}");
            let hubtel = Hubtel::new();
            for reply in [Reply::Ack, Reply::End("x".into())] {
                let answer = hubtel.respond(&turn, &reply);
                assert_eq!(answer.status, 200);
                assert_eq!(answer.content_type, "application/json");
                assert_eq!(answer.body, r#"{"Type":"Release","Message":""}"#);
            }
        }
        // No phone, no message: still a release of that session.
        let turn = parse(r#"{"SessionId":"s9","Type":"Release"}"#).expect("parses");
        assert_eq!((turn.kind, turn.msisdn.as_str()), (TurnKind::Abort, ""));
    }

    #[test]
    fn replies_are_the_documented_json() {
        let hubtel = Hubtel::new();
        let turn = Turn::new(hubtel.name(), "s", "233244567890", TurnKind::Start);
        let answer = hubtel.respond(
            &turn,
            &Reply::Continue("Welcome to CNAM\n1. Check my cover".into()),
        );
        assert_eq!(answer.status, 200);
        assert_eq!(answer.content_type, "application/json");
        assert_eq!(
            answer.body,
            r#"{"Type":"Response","Message":"Welcome to CNAM\n1. Check my cover"}"#
        );
        let answer = hubtel.respond(&turn, &Reply::End("حمایت \"درمانی\"".into()));
        assert_eq!(
            answer.body,
            r#"{"Type":"Release","Message":"حمایت \"درمانی\""}"#
        );
        let answer = hubtel.respond(&turn, &Reply::Ack);
        assert_eq!(answer.body, r#"{"Type":"Release","Message":""}"#);
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        let huge = format!(
            r#"{{"Mobile":"233244567890","SessionId":"s","Type":"Response","Message":"{}"}}"#,
            "1".repeat(MAX_INPUT + 1)
        );
        let long_id = format!(
            r#"{{"Mobile":"233244567890","SessionId":"{}","Type":"Initiation"}}"#,
            "a".repeat(200)
        );
        let cases: Vec<(Vec<u8>, Option<&str>, BadRequest)> = vec![
            (b"".to_vec(), Some("application/json"), BadRequest::Invalid("body")),
            (b"[1,2]".to_vec(), Some("application/json"), BadRequest::Invalid("body")),
            (b"{\"SessionId\":".to_vec(), None, BadRequest::Invalid("body")),
            (b"\xff\xfe{}".to_vec(), Some("application/json"), BadRequest::NotUtf8),
            (
                b"SessionId=s&Type=Initiation".to_vec(),
                Some("application/x-www-form-urlencoded"),
                BadRequest::ContentType("application/x-www-form-urlencoded".into()),
            ),
            (
                br#"{"Mobile":"233244567890","Type":"Initiation"}"#.to_vec(),
                None,
                BadRequest::Missing("SessionId"),
            ),
            (
                br#"{"Mobile":"233244567890","SessionId":"s"}"#.to_vec(),
                None,
                BadRequest::Missing("Type"),
            ),
            (
                br#"{"SessionId":"s","Type":"Initiation","Message":"*713#"}"#.to_vec(),
                None,
                BadRequest::Missing("Mobile"),
            ),
            (
                br#"{"Mobile":"233244567890","SessionId":"s","Type":"Response"}"#.to_vec(),
                None,
                BadRequest::Missing("Message"),
            ),
            (
                br#"{"Mobile":"abc","SessionId":"s","Type":"Initiation"}"#.to_vec(),
                None,
                BadRequest::Invalid("Mobile"),
            ),
            (
                br#"{"Mobile":233244567890,"SessionId":["s"],"Type":"Initiation"}"#.to_vec(),
                None,
                BadRequest::Invalid("SessionId"),
            ),
            (
                br#"{"Mobile":"233244567890","SessionId":"s","Type":true}"#.to_vec(),
                None,
                BadRequest::Invalid("Type"),
            ),
            (
                br#"{"Mobile":"233244567890","SessionId":"s","Type":"query"}"#.to_vec(),
                None,
                BadRequest::Invalid("Type"),
            ),
            (
                br#"{"Mobile":"233244567890","SessionId":"s","Type":"Response","Message":"1","Sequence":"two"}"#.to_vec(),
                None,
                BadRequest::Invalid("Sequence"),
            ),
            (
                br#"{"Mobile":"233244567890","SessionId":"s","Type":"Response","Message":{"a":1}}"#.to_vec(),
                None,
                BadRequest::Invalid("Message"),
            ),
            (
                br#"{"Mobile":"233244567890","SessionId":"   ","Type":"Initiation"}"#.to_vec(),
                None,
                BadRequest::Invalid("SessionId"),
            ),
            (huge.into_bytes(), None, BadRequest::Invalid("Message")),
            (long_id.into_bytes(), None, BadRequest::Invalid("SessionId")),
        ];
        for (body, ct, want) in cases {
            assert_eq!(
                parse_as(&body, ct, "POST"),
                Err(want),
                "{:?}",
                String::from_utf8_lossy(&body)
            );
        }
        assert_eq!(
            parse_as(b"{}", None, "GET"),
            Err(BadRequest::Method("GET".into()))
        );
        // A number where a string is documented is read as its digits.
        let turn = parse(r#"{"Mobile":233244567890,"SessionId":12,"Type":"Initiation"}"#)
            .expect("numbers for strings");
        assert_eq!(
            (turn.msisdn.as_str(), turn.session_id.as_str()),
            ("233244567890", "12")
        );
        // Refusals are 400s, never a 5xx.
        let answer = Hubtel::new().reject(&BadRequest::Invalid("body"));
        assert_eq!(answer.status, 400);
    }
}
