//! Nalo Solutions (DIALECTS.md §4), served at `POST /ussd/nalo`: a JSON POST per hop with
//! `USERID` (the integrator id Nalo issues), `MSISDN` (`233XXXXXXXXX`), `USERDATA`, `MSGTYPE`,
//! `NETWORK` and `SESSIONID`. Inbound, `MSGTYPE:true` is the first request (a
//! [`TurnKind::Start`] whose `USERDATA` is the whole dialled string, `*920*55#`; extra segments
//! pre-answer the menus) and `MSGTYPE:false` a continuing one (a [`TurnKind::Latest`]: the latest
//! input). The reply is JSON `{"USERID":…,"MSISDN":…,"MSG":…,"MSGTYPE":…}`, `USERID` and
//! `MSISDN` echoed as received, where `MSGTYPE` now means the opposite question: `true` keeps the
//! session open, `false` ends it.
//!
//! The source is medium-weak (DIALECTS.md §11: only the Postman introduction is Nalo's own; the
//! field tables come through a package that restates them and two clients). So this reads
//! leniently: keys are matched ignoring case, text fields may come as numbers, `MSGTYPE` may be
//! `"true"`/`"false"` or `1`/`0`; a missing `USERID` is echoed empty (the reply requires the
//! key); a first `USERDATA` that is not a dialled string routes to the dialect's configured
//! default service. `SESSIONID` is absent on old setups, which key sessions by `MSISDN`: then the
//! session is keyed by a hash of the MSISDN (never the number itself). No abort, timeout or retry
//! marker is described: idle expiry ends a dropped session (and leaves the resume offer), a
//! repeated `MSGTYPE:true` for a session under way gets the reply already given. Nalo documents
//! 120 characters per `MSG`; the screens are paged by the engine's budget (SPEC §3), not here.
//!
//! The caller's network (`NETWORK`, when present and plain text) rides on the turn, for the
//! smaller screen `[dialects.nalo.networks.<code>]` may set; an odd one is no network, never
//! a refusal.

use std::sync::Arc;

use super::json_body::{echoed_reply, first_or_latest, JsonFields, MAX_INPUT};
use super::{msisdn_digits, BadRequest, Dialect, WireRequest, WireResponse};
use crate::turn::{Reply, Turn};

pub(crate) struct Nalo {
    name: Arc<str>,
}

impl Nalo {
    pub(crate) fn new() -> Nalo {
        Nalo {
            name: Arc::from("nalo"),
        }
    }
}

/// The session key of an old setup that sends no `SESSIONID`: the caller, hashed.
fn session_of_caller(msisdn: &str) -> String {
    let hash = blake3::hash(format!("nalo-msisdn\u{0}{msisdn}").as_bytes());
    format!("msisdn-{}", &hash.to_hex()[..32])
}

impl Dialect for Nalo {
    fn name(&self) -> &Arc<str> {
        &self.name
    }

    fn carries_network(&self) -> bool {
        true
    }

    fn parse(&self, request: &WireRequest<'_>) -> Result<Turn, BadRequest> {
        let fields = JsonFields::read(request)?;
        let raw_msisdn = fields
            .text("MSISDN", 64)?
            .ok_or(BadRequest::Missing("MSISDN"))?;
        let msisdn = msisdn_digits(&raw_msisdn).ok_or(BadRequest::Invalid("MSISDN"))?;
        let session_id = fields
            .session_id("SESSIONID")?
            .unwrap_or_else(|| session_of_caller(&msisdn));
        let user_id = fields.text("USERID", 128)?.unwrap_or_default();
        let first = fields
            .flag("MSGTYPE")?
            .ok_or(BadRequest::Missing("MSGTYPE"))?;
        let user_data = fields.text("USERDATA", MAX_INPUT)?;
        let (kind, dialled) = first_or_latest(first, user_data, "USERDATA")?;
        let mut turn = Turn::new(self.name(), &session_id, &msisdn, kind);
        turn.service_code = dialled;
        turn.network = fields.network("NETWORK");
        turn.echo.push(("USERID".into(), user_id));
        turn.echo.push(("MSISDN".into(), raw_msisdn));
        Ok(turn)
    }

    fn respond(&self, turn: &Turn, reply: &Reply) -> WireResponse {
        echoed_reply(turn, reply, "MSG", "MSGTYPE")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::turn::TurnKind;

    fn parse_as(body: &[u8], content_type: Option<&str>) -> Result<Turn, BadRequest> {
        crate::dialect::parse_for_test(&Nalo::new(), "POST", "", None, content_type, body)
    }

    fn parse(body: &str) -> Result<Turn, BadRequest> {
        parse_as(body.as_bytes(), Some("application/json"))
    }

    #[test]
    fn the_documented_session_reads_and_is_answered_as_documented() {
        let nalo = Nalo::new();
        let turn = parse(
            r#"{"USERID":"NALOTest","MSISDN":"233501234567","USERDATA":"*920*55#","MSGTYPE":true,"NETWORK":"MTN","SESSIONID":"16590115252429751"}"#,
        )
        .expect("parses");
        assert_eq!(turn.session_id, "16590115252429751");
        assert_eq!(turn.msisdn, "233501234567");
        assert_eq!(turn.kind, TurnKind::Start);
        assert_eq!(turn.service_code.as_deref(), Some("*920*55#"));
        let answer = nalo.respond(
            &turn,
            &Reply::Continue("Welcome to CNAM\n1. Check my cover".into()),
        );
        assert_eq!(answer.status, 200);
        assert_eq!(answer.content_type, "application/json");
        assert_eq!(
            answer.body,
            r#"{"USERID":"NALOTest","MSISDN":"233501234567","MSG":"Welcome to CNAM\n1. Check my cover","MSGTYPE":true}"#
        );

        let turn = parse(
            r#"{"USERID":"NALOTest","MSISDN":"233501234567","USERDATA":"1","MSGTYPE":false,"NETWORK":"MTN","SESSIONID":"16590115252429751"}"#,
        )
        .expect("parses");
        assert_eq!(turn.kind, TurnKind::Latest("1".into()));
        assert_eq!(turn.service_code, None);

        let turn = parse(
            r#"{"USERID":"NALOTest","MSISDN":"233501234567","USERDATA":"12345678","MSGTYPE":false,"NETWORK":"MTN","SESSIONID":"16590115252429751"}"#,
        )
        .expect("parses");
        assert_eq!(turn.kind, TurnKind::Latest("12345678".into()));
        let answer = nalo.respond(&turn, &Reply::End("Covered until 31/12/2026.".into()));
        assert_eq!(
            answer.body,
            r#"{"USERID":"NALOTest","MSISDN":"233501234567","MSG":"Covered until 31/12/2026.","MSGTYPE":false}"#
        );
        let answer = nalo.respond(&turn, &Reply::Ack);
        assert_eq!(
            answer.body,
            r#"{"USERID":"NALOTest","MSISDN":"233501234567","MSG":"","MSGTYPE":false}"#
        );
    }

    #[test]
    fn an_old_setup_without_a_session_id_is_keyed_by_the_hashed_caller() {
        let a =
            parse(r#"{"USERID":"N","MSISDN":"233501234567","USERDATA":"*920*55#","MSGTYPE":true}"#)
                .expect("no SESSIONID");
        let b = parse(r#"{"USERID":"N","MSISDN":"233501234567","USERDATA":"1","MSGTYPE":false}"#)
            .expect("no SESSIONID");
        let c = parse(r#"{"USERID":"N","MSISDN":"233501234568","USERDATA":"1","MSGTYPE":false}"#)
            .expect("no SESSIONID");
        assert_eq!(a.session_id, b.session_id);
        assert_ne!(a.session_id, c.session_id);
        assert!(!a.session_id.contains("233501234567"), "{}", a.session_id);
        assert!(a.session_id.starts_with("msisdn-"));
    }

    #[test]
    fn looseness_of_case_and_type_is_tolerated() {
        let turn = parse(
            r#"{"userid":"N","msisdn":233501234567,"userdata":"*4*1420*2*0012345679#","msgtype":"true","sessionid":16590115252429751}"#,
        )
        .expect("lenient");
        assert_eq!(turn.kind, TurnKind::Start);
        assert_eq!(turn.session_id, "16590115252429751");
        assert_eq!(turn.service_code.as_deref(), Some("*4*1420*2*0012345679#"));
        let turn = parse(r#"{"MSISDN":"233501234567","USERDATA":3,"MSGTYPE":0,"SESSIONID":"s"}"#)
            .expect("numbers, no USERID");
        assert_eq!(turn.kind, TurnKind::Latest("3".into()));
        let answer = Nalo::new().respond(&turn, &Reply::Continue("x".into()));
        assert_eq!(
            answer.body,
            r#"{"USERID":"","MSISDN":"233501234567","MSG":"x","MSGTYPE":true}"#
        );
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        let huge = format!(
            r#"{{"MSISDN":"233501234567","MSGTYPE":false,"SESSIONID":"s","USERDATA":"{}"}}"#,
            "1".repeat(MAX_INPUT + 1)
        );
        let cases: Vec<(Vec<u8>, Option<&str>, BadRequest)> = vec![
            (
                b"".to_vec(),
                Some("application/json"),
                BadRequest::Invalid("body"),
            ),
            (b"42".to_vec(), None, BadRequest::Invalid("body")),
            (
                b"{\"MSISDN\":\"\xff\"}".to_vec(),
                Some("application/json"),
                BadRequest::NotUtf8,
            ),
            (
                b"MSISDN=233501234567".to_vec(),
                Some("application/x-www-form-urlencoded"),
                BadRequest::ContentType("application/x-www-form-urlencoded".into()),
            ),
            (
                br#"{"MSGTYPE":true,"SESSIONID":"s"}"#.to_vec(),
                None,
                BadRequest::Missing("MSISDN"),
            ),
            (
                br#"{"MSISDN":"233501234567","SESSIONID":"s","USERDATA":"1"}"#.to_vec(),
                None,
                BadRequest::Missing("MSGTYPE"),
            ),
            (
                br#"{"MSISDN":"233501234567","SESSIONID":"s","MSGTYPE":false}"#.to_vec(),
                None,
                BadRequest::Missing("USERDATA"),
            ),
            (
                br#"{"MSISDN":"233501234567","SESSIONID":"s","MSGTYPE":"yes"}"#.to_vec(),
                None,
                BadRequest::Invalid("MSGTYPE"),
            ),
            (
                br#"{"MSISDN":"233501234567","SESSIONID":"s","MSGTYPE":2}"#.to_vec(),
                None,
                BadRequest::Invalid("MSGTYPE"),
            ),
            (
                br#"{"MSISDN":true,"SESSIONID":"s","MSGTYPE":true}"#.to_vec(),
                None,
                BadRequest::Invalid("MSISDN"),
            ),
            (
                br#"{"MSISDN":"23350","SESSIONID":"s","MSGTYPE":true}"#.to_vec(),
                None,
                BadRequest::Invalid("MSISDN"),
            ),
            (
                br#"{"MSISDN":"233501234567","SESSIONID":"","MSGTYPE":true}"#.to_vec(),
                None,
                BadRequest::Invalid("SESSIONID"),
            ),
            (
                br#"{"MSISDN":"233501234567","SESSIONID":"s","MSGTYPE":true,"USERID":[1]}"#
                    .to_vec(),
                None,
                BadRequest::Invalid("USERID"),
            ),
            (huge.into_bytes(), None, BadRequest::Invalid("USERDATA")),
        ];
        for (body, ct, want) in cases {
            assert_eq!(
                parse_as(&body, ct),
                Err(want),
                "{:?}",
                String::from_utf8_lossy(&body)
            );
        }
        assert_eq!(Nalo::new().reject(&BadRequest::Invalid("body")).status, 400);
    }
}
