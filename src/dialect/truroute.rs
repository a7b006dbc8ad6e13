//! TruRoute-USSD XML (DIALECTS.md §7c; TNM Malawi, sms.com.na Namibia): an HTTP `POST` of
//! `<ussd><msisdn/><sessionid/><type/><msg/></ussd>` per hop. `type` `1` is a new request
//! (`msg` = the service code dialled), `2` a response in the session (`msg` = the latest input),
//! `3` the user cancelled, `4` the session timed out, `10` a premium charge failed (`msg` = the
//! reason). The reply is `<ussd><type/><msg/><premium><cost/><ref/></premium></ussd>` with
//! `type` `2` continue or `3` release (end); `5` (redirect) is never sent.
//!
//! Sources: the sms.com.na API specification (pages 7–8) and `nndi-oss/dialoguss`'s TruRoute
//! client, which agree on the names; medium-weak, so the reading is lenient where they are
//! thin. The content type is only said to be XML: `text/xml`, `application/xml`, `…+xml` or none
//! is taken. Element names are matched without regard to case; `type` may carry spaces. The
//! spec says the first `msg` is the dialled code, but dialoguss sends `0` there: it is taken as
//! the dialled string only when it looks like one (`*…#`), else the dialect's default service
//! answers. `10` (a charge failed) is read as an abort: this service charges nothing, and the
//! session is over. Neither source shows a retry marker: a repeated `type` `1` for a session
//! under way gets the reply already given; a repeated input is new input. Nothing is echoed:
//! the reply shape has no field of the request. `premium` is written with `cost` `0` and an
//! empty `ref` (no charge), as the documented reply shape has the element.
//!
//! XML is read by [`super::xml_body::read_posted`] (`quick-xml`'s pull reader; a DOCTYPE or an
//! entity that is not predefined is refused with a 400).

use std::sync::Arc;

use super::xml_body::{element, looks_dialled, read_posted};
use super::{msisdn_digits, BadRequest, Dialect, WireRequest, WireResponse};
use crate::turn::{Reply, Turn, TurnKind};

/// Longest `sessionid` accepted.
const MAX_ID: usize = 128;
/// Longest `msg` accepted: far more than any answer, code or charge failure reason.
const MAX_MSG: usize = 512;

pub(crate) struct TruRoute {
    name: Arc<str>,
}

impl TruRoute {
    pub(crate) fn new() -> TruRoute {
        TruRoute {
            name: Arc::from("truroute"),
        }
    }
}

impl Dialect for TruRoute {
    fn name(&self) -> &Arc<str> {
        &self.name
    }

    fn parse(&self, request: &WireRequest<'_>) -> Result<Turn, BadRequest> {
        let fields = read_posted(request, "ussd")?;
        let get = |name: &str| fields.get(name).map(|v| v.trim());

        let session_id = get("sessionid")
            .filter(|s| !s.is_empty())
            .ok_or(BadRequest::Missing("sessionid"))?;
        if session_id.len() > MAX_ID || session_id.chars().any(char::is_control) {
            return Err(BadRequest::Invalid("sessionid"));
        }
        let kind_code = get("type")
            .filter(|s| !s.is_empty())
            .ok_or(BadRequest::Missing("type"))?
            .parse::<u32>()
            .map_err(|_| BadRequest::Invalid("type"))?;
        let msg = get("msg").unwrap_or("");
        if msg.len() > MAX_MSG || msg.chars().any(char::is_control) {
            return Err(BadRequest::Invalid("msg"));
        }
        let kind = match kind_code {
            1 => TurnKind::Start,
            2 => TurnKind::Latest(msg.to_string()),
            3 | 10 => TurnKind::Abort,
            4 => TurnKind::Timeout,
            _ => return Err(BadRequest::Invalid("type")),
        };
        let ends = matches!(kind, TurnKind::Abort | TurnKind::Timeout);
        // The session knows its caller: a cancel or timeout is read without a plausible phone.
        let msisdn = match get("msisdn").filter(|s| !s.is_empty()) {
            Some(raw) => match msisdn_digits(raw) {
                Some(digits) => digits,
                None if ends => String::new(),
                None => return Err(BadRequest::Invalid("msisdn")),
            },
            None if ends => String::new(),
            None => return Err(BadRequest::Missing("msisdn")),
        };
        let mut turn = Turn::new(self.name(), session_id, &msisdn, kind);
        if kind_code == 1 && looks_dialled(msg) {
            turn.service_code = Some(msg.to_string());
        }
        Ok(turn)
    }

    fn respond(&self, _turn: &Turn, reply: &Reply) -> WireResponse {
        let (kind, text) = match reply {
            Reply::Continue(text) => ("2", text.as_str()),
            Reply::End(text) => ("3", text.as_str()),
            Reply::Ack => ("3", ""),
        };
        let mut body = String::from("<ussd>");
        element(&mut body, "type", kind);
        element(&mut body, "msg", text);
        body.push_str("<premium><cost>0</cost><ref></ref></premium></ussd>");
        WireResponse {
            status: 200,
            content_type: "text/xml; charset=utf-8",
            body,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_with(
        method: &str,
        body: &[u8],
        content_type: Option<&str>,
    ) -> Result<Turn, BadRequest> {
        crate::dialect::parse_for_test(&TruRoute::new(), method, "", None, content_type, body)
    }

    fn parse(body: &[u8], content_type: Option<&str>) -> Result<Turn, BadRequest> {
        parse_with("POST", body, content_type)
    }

    const XML: Option<&str> = Some("text/xml");

    fn request(kind: &str, msg: &str) -> String {
        format!(
            "<ussd><msisdn>265991234567</msisdn><sessionid>TR-41</sessionid><type>{kind}</type><msg>{msg}</msg></ussd>"
        )
    }

    #[test]
    fn each_type_becomes_its_turn() {
        let turn = parse(request("1", "*4*1420#").as_bytes(), XML).expect("parses");
        assert_eq!(turn.dialect.as_ref(), "truroute");
        assert_eq!(turn.session_id, "TR-41");
        assert_eq!(turn.msisdn, "265991234567");
        assert_eq!(turn.kind, TurnKind::Start);
        assert_eq!(turn.service_code.as_deref(), Some("*4*1420#"));
        assert_eq!(turn.retry, crate::turn::Retry::Unmarked);
        assert!(turn.echo.is_empty());
        let cases = [
            ("2", "0012345679", TurnKind::Latest("0012345679".into())),
            ("2", "", TurnKind::Latest(String::new())),
            ("3", "", TurnKind::Abort),
            (" 4 ", "", TurnKind::Timeout),
            ("10", "insufficient funds", TurnKind::Abort),
        ];
        for (kind, msg, want) in cases {
            let turn = parse(request(kind, msg).as_bytes(), XML).expect("parses");
            assert_eq!(turn.kind, want, "{kind}");
            assert_eq!(turn.service_code, None);
        }
        // dialoguss's first request: `msg` 0, Go's element order, no declaration.
        let turn = parse(
            b"<ussd><type>1</type><msg>0</msg><sessionid>d1</sessionid><msisdn>+989121110001</msisdn></ussd>",
            Some("text/xml"),
        )
        .expect("parses");
        assert_eq!(turn.kind, TurnKind::Start);
        assert_eq!(turn.service_code, None, "0 is no dialled code");
        assert_eq!(turn.msisdn, "989121110001");
        // A dialled shortcut, with a declaration, upper case names, no content type.
        let turn = parse(
            b"<?xml version=\"1.0\"?>\n<USSD>\n <MSISDN>989121110001</MSISDN>\n <SessionId>x</SessionId>\n \
              <Type>1</Type>\n <Msg>*4*1420*2*0012345679#</Msg>\n</USSD>",
            None,
        )
        .expect("parses");
        assert_eq!(turn.service_code.as_deref(), Some("*4*1420*2*0012345679#"));
        // A cancel needs no plausible phone.
        let turn =
            parse(b"<ussd><sessionid>x</sessionid><type>3</type></ussd>", XML).expect("parses");
        assert_eq!((turn.kind, turn.msisdn.as_str()), (TurnKind::Abort, ""));
    }

    #[test]
    fn replies_are_type_2_or_3_with_the_screen() {
        let truroute = TruRoute::new();
        let turn = Turn::new(truroute.name(), "s", "1", TurnKind::Start);
        let answer = truroute.respond(&turn, &Reply::Continue("1. a & b\n2. c".into()));
        assert_eq!(answer.status, 200);
        assert_eq!(answer.content_type, "text/xml; charset=utf-8");
        assert_eq!(
            answer.body,
            "<ussd><type>2</type><msg>1. a &amp; b&#10;2. c</msg>\
             <premium><cost>0</cost><ref></ref></premium></ussd>"
        );
        assert_eq!(
            truroute.respond(&turn, &Reply::End("پایان".into())).body,
            "<ussd><type>3</type><msg>پایان</msg><premium><cost>0</cost><ref></ref></premium></ussd>"
        );
        assert_eq!(
            truroute.respond(&turn, &Reply::Ack).body,
            "<ussd><type>3</type><msg></msg><premium><cost>0</cost><ref></ref></premium></ussd>"
        );
        let fields =
            crate::dialect::xml_body::read_flat(&answer.body, "ussd").expect("well formed");
        assert_eq!(fields["msg"], "1. a & b\n2. c");
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        let xxe = "<?xml version=\"1.0\"?><!DOCTYPE ussd [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\
                   <ussd><msisdn>989121110001</msisdn><sessionid>s</sessionid><type>2</type><msg>&xxe;</msg></ussd>";
        let cases: Vec<(Vec<u8>, Option<&str>, BadRequest)> = vec![
            (b"".to_vec(), XML, BadRequest::Invalid("xml")),
            (b"\xff\xfe<\x00".to_vec(), XML, BadRequest::NotUtf8),
            (
                b"msisdn=1".to_vec(),
                Some("application/x-www-form-urlencoded"),
                BadRequest::ContentType("application/x-www-form-urlencoded".into()),
            ),
            (
                b"<ussd><type>1</type>".to_vec(),
                XML,
                BadRequest::Invalid("xml"),
            ),
            (
                b"<ussd><type>1</msg></ussd>".to_vec(),
                XML,
                BadRequest::Invalid("xml"),
            ),
            (xxe.as_bytes().to_vec(), XML, BadRequest::Invalid("xml")),
            (
                b"<request><sessionid>s</sessionid></request>".to_vec(),
                XML,
                BadRequest::Invalid("xml"),
            ),
            (b"<ussd/>".to_vec(), XML, BadRequest::Missing("sessionid")),
            (
                b"<ussd><sessionid>s</sessionid><msisdn>989121110001</msisdn></ussd>".to_vec(),
                XML,
                BadRequest::Missing("type"),
            ),
            (
                request("two", "1").into_bytes(),
                XML,
                BadRequest::Invalid("type"),
            ),
            (
                request("5", "1").into_bytes(),
                XML,
                BadRequest::Invalid("type"),
            ),
            (
                request("-1", "1").into_bytes(),
                XML,
                BadRequest::Invalid("type"),
            ),
            (
                b"<ussd><sessionid>s</sessionid><type>2</type><msg>1</msg></ussd>".to_vec(),
                XML,
                BadRequest::Missing("msisdn"),
            ),
            (
                b"<ussd><msisdn>12ab</msisdn><sessionid>s</sessionid><type>2</type></ussd>"
                    .to_vec(),
                XML,
                BadRequest::Invalid("msisdn"),
            ),
            (
                request("2", &"1".repeat(100_000)).into_bytes(),
                XML,
                BadRequest::Invalid("msg"),
            ),
            (
                format!("<ussd><sessionid>{}</sessionid></ussd>", "s".repeat(129)).into_bytes(),
                XML,
                BadRequest::Invalid("sessionid"),
            ),
        ];
        for (body, ct, want) in cases {
            assert_eq!(
                parse(&body, ct),
                Err(want),
                "{:?}",
                String::from_utf8_lossy(&body)
            );
        }
        assert_eq!(
            parse_with("PUT", request("1", "*4*1420#").as_bytes(), XML),
            Err(BadRequest::Method("PUT".into()))
        );
    }
}
