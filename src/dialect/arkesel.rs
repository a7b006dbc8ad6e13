//! Arkesel (DIALECTS.md §3), served at `POST /ussd/arkesel`: a JSON POST per hop with
//! `sessionID`, `userID` (the integrator's app id), `newSession`, `msisdn` (`233…`, no `+`),
//! `userData` and `network`. `newSession:true` is a [`TurnKind::Start`] whose `userData` is the
//! whole dialled string (`*928*1#`; extra segments pre-answer the menus); `newSession:false`
//! is a [`TurnKind::Latest`] whose `userData` is the latest input. The reply is JSON that echoes
//! `sessionID`, `userID` and `msisdn` as received, then `message` and `continueSession`
//! (`true` waits for input, `false` ends).
//!
//! The source is weak (DIALECTS.md §11): no Arkesel document, three client projects that agree
//! on the field names. So this reads leniently: keys are matched ignoring case (`sessionId`
//! reads as `sessionID`), text fields may come as numbers, `newSession` may be `"true"`/`"false"`
//! or `1`/`0`; a missing `userID` is not needed (and not echoed); a first `userData` that is not
//! a dialled string (blank, say) routes to the dialect's configured default service. No abort,
//! timeout or retry marker was seen in any client, so there is none here: idle expiry ends a
//! dropped session (and leaves the resume offer), and a repeated `newSession:true` for a session
//! under way gets the reply already given (the engine's rule for a repeated start). The
//! continuing requests carry no dialled string: a session this server no longer holds can only
//! start again where a default service is configured for `arkesel`.
//!
//! The caller's network (`network`, when present and plain text) rides on the turn, for the
//! smaller screen `[dialects.arkesel.networks.<code>]` may set; an odd one is no network, never
//! a refusal.

use std::sync::Arc;

use super::json_body::{echoed_reply, first_or_latest, JsonFields, MAX_INPUT};
use super::{msisdn_digits, BadRequest, Dialect, WireRequest, WireResponse};
use crate::turn::{Reply, Turn};

pub(crate) struct Arkesel {
    name: Arc<str>,
}

impl Arkesel {
    pub(crate) fn new() -> Arkesel {
        Arkesel {
            name: Arc::from("arkesel"),
        }
    }
}

impl Dialect for Arkesel {
    fn name(&self) -> &Arc<str> {
        &self.name
    }

    fn carries_network(&self) -> bool {
        true
    }

    fn parse(&self, request: &WireRequest<'_>) -> Result<Turn, BadRequest> {
        let fields = JsonFields::read(request)?;
        let session_id = fields
            .session_id("sessionID")?
            .ok_or(BadRequest::Missing("sessionID"))?;
        let user_id = fields.text("userID", 128)?;
        let raw_msisdn = fields
            .text("msisdn", 64)?
            .ok_or(BadRequest::Missing("msisdn"))?;
        let msisdn = msisdn_digits(&raw_msisdn).ok_or(BadRequest::Invalid("msisdn"))?;
        let new_session = fields
            .flag("newSession")?
            .ok_or(BadRequest::Missing("newSession"))?;
        let user_data = fields.text("userData", MAX_INPUT)?;
        let (kind, dialled) = first_or_latest(new_session, user_data, "userData")?;
        let mut turn = Turn::new(self.name(), &session_id, &msisdn, kind);
        turn.service_code = dialled;
        turn.network = fields.network("network");
        turn.echo.push(("sessionID".into(), session_id));
        if let Some(user_id) = user_id {
            turn.echo.push(("userID".into(), user_id));
        }
        turn.echo.push(("msisdn".into(), raw_msisdn));
        Ok(turn)
    }

    fn respond(&self, turn: &Turn, reply: &Reply) -> WireResponse {
        echoed_reply(turn, reply, "message", "continueSession")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::turn::TurnKind;

    fn parse_as(body: &[u8], content_type: Option<&str>) -> Result<Turn, BadRequest> {
        crate::dialect::parse_for_test(&Arkesel::new(), "POST", "", None, content_type, body)
    }

    fn parse(body: &str) -> Result<Turn, BadRequest> {
        parse_as(body.as_bytes(), Some("application/json"))
    }

    fn echo(turn: &Turn) -> Vec<(&str, &str)> {
        turn.echo
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    #[test]
    fn the_documented_session_reads_and_is_answered_as_documented() {
        let arkesel = Arkesel::new();
        let turn = parse(
            r#"{"sessionID":"s9","userID":"CNAMAPP","newSession":true,"msisdn":"233507387216","userData":"*928*1#","network":"MTN"}"#,
        )
        .expect("parses");
        assert_eq!(turn.session_id, "s9");
        assert_eq!(turn.msisdn, "233507387216");
        assert_eq!(turn.kind, TurnKind::Start);
        assert_eq!(turn.service_code.as_deref(), Some("*928*1#"));
        assert_eq!(
            echo(&turn),
            [
                ("sessionID", "s9"),
                ("userID", "CNAMAPP"),
                ("msisdn", "233507387216")
            ]
        );
        let answer = arkesel.respond(
            &turn,
            &Reply::Continue("Welcome to CNAM\n1. Check my cover".into()),
        );
        assert_eq!(answer.status, 200);
        assert_eq!(answer.content_type, "application/json");
        assert_eq!(
            answer.body,
            r#"{"sessionID":"s9","userID":"CNAMAPP","msisdn":"233507387216","message":"Welcome to CNAM\n1. Check my cover","continueSession":true}"#
        );

        let turn = parse(
            r#"{"sessionID":"s9","userID":"CNAMAPP","newSession":false,"msisdn":"233507387216","userData":"1","network":"MTN"}"#,
        )
        .expect("parses");
        assert_eq!(turn.kind, TurnKind::Latest("1".into()));
        assert_eq!(turn.service_code, None);

        let turn = parse(
            r#"{"sessionID":"s9","userID":"CNAMAPP","newSession":false,"msisdn":"233507387216","userData":"12345678","network":"MTN"}"#,
        )
        .expect("parses");
        assert_eq!(turn.kind, TurnKind::Latest("12345678".into()));
        let answer = arkesel.respond(&turn, &Reply::End("Covered until 31/12/2026.".into()));
        assert_eq!(
            answer.body,
            r#"{"sessionID":"s9","userID":"CNAMAPP","msisdn":"233507387216","message":"Covered until 31/12/2026.","continueSession":false}"#
        );
        let answer = arkesel.respond(&turn, &Reply::Ack);
        assert_eq!(
            answer.body,
            r#"{"sessionID":"s9","userID":"CNAMAPP","msisdn":"233507387216","message":"","continueSession":false}"#
        );
    }

    #[test]
    fn looseness_of_case_and_type_is_tolerated() {
        let turn = parse(
            r#"{"sessionId":"s1","userId":"X","newSession":"TRUE","msisdn":233507387216,"userData":"*4*1420*2*0012345679#"}"#,
        )
        .expect("lenient");
        assert_eq!(turn.kind, TurnKind::Start);
        assert_eq!(turn.service_code.as_deref(), Some("*4*1420*2*0012345679#"));
        assert_eq!(turn.msisdn, "233507387216");
        // The keys echoed are the documented ones, whatever the request's case.
        assert_eq!(
            echo(&turn),
            [
                ("sessionID", "s1"),
                ("userID", "X"),
                ("msisdn", "233507387216")
            ]
        );
        let turn =
            parse(r#"{"sessionID":"s1","newSession":0,"msisdn":"233507387216","userData":2}"#)
                .expect("numbers");
        assert_eq!(turn.kind, TurnKind::Latest("2".into()));
        assert_eq!(
            echo(&turn),
            [("sessionID", "s1"), ("msisdn", "233507387216")]
        );
        // A blank first userData: no dialled string (the configured default service).
        let turn =
            parse(r#"{"sessionID":"s2","newSession":true,"msisdn":"233507387216","userData":""}"#)
                .expect("blank");
        assert_eq!((turn.kind, turn.service_code), (TurnKind::Start, None));
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        let huge = format!(
            r#"{{"sessionID":"s","newSession":false,"msisdn":"233507387216","userData":"{}"}}"#,
            "1".repeat(MAX_INPUT + 1)
        );
        let cases: Vec<(Vec<u8>, Option<&str>, BadRequest)> = vec![
            (
                b"".to_vec(),
                Some("application/json"),
                BadRequest::Invalid("body"),
            ),
            (b"null".to_vec(), None, BadRequest::Invalid("body")),
            (
                b"\xc3\x28".to_vec(),
                Some("application/json"),
                BadRequest::NotUtf8,
            ),
            (
                b"sessionID=s".to_vec(),
                Some("text/plain"),
                BadRequest::ContentType("text/plain".into()),
            ),
            (
                br#"{"newSession":true,"msisdn":"233507387216"}"#.to_vec(),
                None,
                BadRequest::Missing("sessionID"),
            ),
            (
                br#"{"sessionID":"s","newSession":true}"#.to_vec(),
                None,
                BadRequest::Missing("msisdn"),
            ),
            (
                br#"{"sessionID":"s","msisdn":"233507387216","userData":"1"}"#.to_vec(),
                None,
                BadRequest::Missing("newSession"),
            ),
            (
                br#"{"sessionID":"s","newSession":false,"msisdn":"233507387216"}"#.to_vec(),
                None,
                BadRequest::Missing("userData"),
            ),
            (
                br#"{"sessionID":"s","newSession":"maybe","msisdn":"233507387216"}"#.to_vec(),
                None,
                BadRequest::Invalid("newSession"),
            ),
            (
                br#"{"sessionID":"s","newSession":[true],"msisdn":"233507387216"}"#.to_vec(),
                None,
                BadRequest::Invalid("newSession"),
            ),
            (
                br#"{"sessionID":"s","newSession":true,"msisdn":"0"}"#.to_vec(),
                None,
                BadRequest::Invalid("msisdn"),
            ),
            (
                br#"{"sessionID":{},"newSession":true,"msisdn":"233507387216"}"#.to_vec(),
                None,
                BadRequest::Invalid("sessionID"),
            ),
            (
                br#"{"sessionID":"s","newSession":false,"msisdn":"233507387216","userData":true}"#
                    .to_vec(),
                None,
                BadRequest::Invalid("userData"),
            ),
            (huge.into_bytes(), None, BadRequest::Invalid("userData")),
        ];
        for (body, ct, want) in cases {
            assert_eq!(
                parse_as(&body, ct),
                Err(want),
                "{:?}",
                String::from_utf8_lossy(&body)
            );
        }
        assert_eq!(
            Arkesel::new().reject(&BadRequest::Invalid("body")).status,
            400
        );
    }
}
