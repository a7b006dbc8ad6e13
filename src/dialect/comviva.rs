//! Comviva "Flares" HTTP-pull (DIALECTS.md §7a; MTN and Airtel gateways, Uganda for one): a
//! `POST` of `text/xml` per hop, `<request type="pull">` with `sessionId`, `transactionId`
//! (optional), `msisdn`, `newRequest` (`1` new, `0` continuing), `flowState` (`FD` on a new
//! request, `FE` after) and `subscriberInput`, the latest input alone. The reply is
//! `<response>` with `msisdn`, `sessionId`, `transactionId` (when sent), `<freeflow>
//! <freeflowState>FC|FB</freeflowState></freeflow>` (`FC` continue, `FB` break: end) and
//! `applicationResponse`, the screen.
//!
//! Weakly sourced: one client's simulator and its XSD (`mtvbrianking/laravel-ussd`), no vendor
//! document. So the reading is lenient where that source is thin: element names are matched
//! without regard to case; `newRequest` may be `1`/`0` or `true`/`false`, and when it is absent
//! `flowState` (`FD`/`FE`) decides; the root's `type` attribute is not required. That the first
//! request's `subscriberInput` holds the dialled code is an inference from a code comment
//! there: it is taken as the dialled string only when it looks like one (`*…#`), else the
//! dialect's default service answers. The source shows no abort, timeout or retry marker:
//! a caller who hangs up is seen by idle expiry, and a repeated first request (same
//! `sessionId`, `newRequest` `1`) gets the reply already given. `transactionId` is echoed, not
//! read as a retry mark: nothing says it is per request rather than per session.
//!
//! XML is read with `quick-xml`'s pull reader (maintained, no unsafe parsing of our own, no
//! entity expansion at all): a DOCTYPE, an entity other than the five predefined ones or a
//! character reference, and a document that is not well formed are refused with a 400. The
//! documents are flat, so a pull reader over a map of child names is simpler and more lenient
//! (case, order, number-or-string) than a serde mapping; the reader is `xml_body`, which
//! TruRoute shares.

use std::sync::Arc;

use super::xml_body::{element, looks_dialled, read_posted};
use super::{msisdn_digits, BadRequest, Dialect, WireRequest, WireResponse};
use crate::turn::{Reply, Turn, TurnKind};

/// Longest `sessionId` / `transactionId` accepted.
const MAX_ID: usize = 128;
/// Longest `subscriberInput` accepted: far more than any answer or dialled code.
const MAX_INPUT: usize = 512;

pub(crate) struct Comviva {
    name: Arc<str>,
}

impl Comviva {
    pub(crate) fn new() -> Comviva {
        Comviva {
            name: Arc::from("comviva"),
        }
    }
}

impl Dialect for Comviva {
    fn name(&self) -> &Arc<str> {
        &self.name
    }

    fn parse(&self, request: &WireRequest<'_>) -> Result<Turn, BadRequest> {
        let fields = read_posted(request, "request")?;
        let get = |name: &str| fields.get(&name.to_ascii_lowercase()).map(|v| v.trim());

        let session_id = get("sessionId")
            .filter(|s| !s.is_empty())
            .ok_or(BadRequest::Missing("sessionId"))?;
        if session_id.len() > MAX_ID || session_id.chars().any(char::is_control) {
            return Err(BadRequest::Invalid("sessionId"));
        }
        let raw_msisdn = get("msisdn")
            .filter(|s| !s.is_empty())
            .ok_or(BadRequest::Missing("msisdn"))?;
        let msisdn = msisdn_digits(raw_msisdn).ok_or(BadRequest::Invalid("msisdn"))?;
        let new = match (get("newRequest"), get("flowState")) {
            (Some(flag), _) if !flag.is_empty() => match flag.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" => true,
                "0" | "false" | "no" => false,
                _ => return Err(BadRequest::Invalid("newRequest")),
            },
            (_, Some(state)) if !state.is_empty() => match state.to_ascii_uppercase().as_str() {
                "FD" => true,
                "FE" => false,
                _ => return Err(BadRequest::Invalid("flowState")),
            },
            _ => return Err(BadRequest::Missing("newRequest")),
        };
        let input = get("subscriberInput").unwrap_or("");
        if input.len() > MAX_INPUT || input.chars().any(char::is_control) {
            return Err(BadRequest::Invalid("subscriberInput"));
        }
        let transaction = get("transactionId").unwrap_or("");
        if transaction.len() > MAX_ID || transaction.chars().any(char::is_control) {
            return Err(BadRequest::Invalid("transactionId"));
        }

        let kind = if new {
            TurnKind::Start
        } else {
            TurnKind::Latest(input.to_string())
        };
        let mut turn = Turn::new(self.name(), session_id, &msisdn, kind);
        if new && looks_dialled(input) {
            turn.service_code = Some(input.to_string());
        }
        turn.echo.push(("msisdn".into(), raw_msisdn.to_string()));
        turn.echo.push(("sessionId".into(), session_id.to_string()));
        if !transaction.is_empty() {
            turn.echo
                .push(("transactionId".into(), transaction.to_string()));
        }
        Ok(turn)
    }

    fn respond(&self, turn: &Turn, reply: &Reply) -> WireResponse {
        let echoed = |name: &str| {
            turn.echo
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let (state, text) = match reply {
            Reply::Continue(text) => ("FC", text.as_str()),
            Reply::End(text) => ("FB", text.as_str()),
            Reply::Ack => ("FB", ""),
        };
        let mut body = String::from("<response>");
        element(
            &mut body,
            "msisdn",
            echoed("msisdn").unwrap_or(&turn.msisdn),
        );
        element(
            &mut body,
            "sessionId",
            echoed("sessionId").unwrap_or(&turn.session_id),
        );
        if let Some(transaction) = echoed("transactionId") {
            element(&mut body, "transactionId", transaction);
        }
        body.push_str("<freeflow><freeflowState>");
        body.push_str(state);
        body.push_str("</freeflowState></freeflow>");
        element(&mut body, "applicationResponse", text);
        body.push_str("</response>");
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
        crate::dialect::parse_for_test(&Comviva::new(), method, "", None, content_type, body)
    }

    fn parse(body: &[u8], content_type: Option<&str>) -> Result<Turn, BadRequest> {
        parse_with("POST", body, content_type)
    }

    const XML: Option<&str> = Some("text/xml; charset=UTF8");

    /// The first request as the source's simulator builds it (PHP DOMDocument, formatted).
    const FIRST: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
        <request type=\"pull\">\n  <sessionId>77821</sessionId>\n  <transactionId/>\n  \
        <msisdn>989121110001</msisdn>\n  <newRequest>1</newRequest>\n  <flowState>FD</flowState>\n  \
        <subscriberInput>*4*1420#</subscriberInput>\n</request>\n";

    #[test]
    fn a_first_request_starts_with_the_dialled_code() {
        let turn = parse(FIRST.as_bytes(), XML).expect("parses");
        assert_eq!(turn.dialect.as_ref(), "comviva");
        assert_eq!(turn.session_id, "77821");
        assert_eq!(turn.msisdn, "989121110001");
        assert_eq!(turn.kind, TurnKind::Start);
        assert_eq!(turn.service_code.as_deref(), Some("*4*1420#"));
        assert_eq!(turn.retry, crate::turn::Retry::Unmarked);
        assert_eq!(
            turn.echo,
            vec![
                ("msisdn".to_string(), "989121110001".to_string()),
                ("sessionId".to_string(), "77821".to_string()),
            ]
        );
        // The sample of DIALECTS.md §7a, one line, another phone.
        let turn = parse(
            b"<request type=\"pull\"><sessionId>77821</sessionId><transactionId/><msisdn>256772123456</msisdn>\
              <newRequest>1</newRequest><flowState>FD</flowState><subscriberInput>*4*1420*2*0012345679#</subscriberInput></request>",
            XML,
        )
        .expect("parses");
        assert_eq!(turn.service_code.as_deref(), Some("*4*1420*2*0012345679#"));
    }

    #[test]
    fn a_later_request_carries_the_latest_input_and_its_transaction_is_echoed() {
        let turn = parse(
            b"<request type=\"pull\"><sessionId>77821</sessionId><transactionId>T-9</transactionId>\
              <msisdn>+989121110001</msisdn><newRequest>0</newRequest><flowState>FE</flowState>\
              <subscriberInput>2</subscriberInput></request>",
            XML,
        )
        .expect("parses");
        assert_eq!(turn.kind, TurnKind::Latest("2".into()));
        assert_eq!(turn.service_code, None);
        assert!(turn
            .echo
            .contains(&("transactionId".to_string(), "T-9".to_string())));
        assert!(turn
            .echo
            .contains(&("msisdn".to_string(), "+989121110001".to_string())));
    }

    #[test]
    fn the_reading_is_lenient_where_the_source_is_thin() {
        // Case of names, true/false, flowState alone, no type attribute, no content type,
        // CDATA, a first input that is no dialled code.
        let turn = parse(
            b"<Request><SESSIONID>s</SESSIONID><MSISDN>989121110001</MSISDN>\
              <NewRequest> TRUE </NewRequest><subscriberinput><![CDATA[hello]]></subscriberinput></Request>",
            None,
        )
        .expect("parses");
        assert_eq!(turn.kind, TurnKind::Start);
        assert_eq!(turn.service_code, None, "hello is not a dialled code");
        let turn = parse(
            b"<request><sessionId>s</sessionId><msisdn>989121110001</msisdn>\
              <flowState>fe</flowState><subscriberInput>1 &amp; 2&#10;</subscriberInput></request>",
            Some("application/xml"),
        )
        .expect("parses");
        assert_eq!(turn.kind, TurnKind::Latest("1 & 2".into()), "trimmed");
    }

    #[test]
    fn replies_are_flares_xml_with_fc_or_fb() {
        let comviva = Comviva::new();
        let turn = parse(FIRST.as_bytes(), XML).expect("parses");
        let answer = comviva.respond(&turn, &Reply::Continue("Welcome <1>\n1. Check".into()));
        assert_eq!(answer.status, 200);
        assert_eq!(answer.content_type, "text/xml; charset=utf-8");
        assert_eq!(
            answer.body,
            "<response><msisdn>989121110001</msisdn><sessionId>77821</sessionId>\
             <freeflow><freeflowState>FC</freeflowState></freeflow>\
             <applicationResponse>Welcome &lt;1&gt;&#10;1. Check</applicationResponse></response>"
        );
        let mut turn = turn;
        turn.echo.push(("transactionId".into(), "T-9".into()));
        assert_eq!(
            comviva.respond(&turn, &Reply::End("حمایت".into())).body,
            "<response><msisdn>989121110001</msisdn><sessionId>77821</sessionId>\
             <transactionId>T-9</transactionId>\
             <freeflow><freeflowState>FB</freeflowState></freeflow>\
             <applicationResponse>حمایت</applicationResponse></response>"
        );
        assert!(comviva
            .respond(&turn, &Reply::Ack)
            .body
            .contains("<freeflowState>FB</freeflowState></freeflow><applicationResponse></applicationResponse>"));
        // What we write, we read back.
        let fields =
            crate::dialect::xml_body::read_flat(&answer.body, "response").expect("well formed");
        assert_eq!(fields["applicationresponse"], "Welcome <1>\n1. Check");
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        let huge = format!(
            "<request><sessionId>s</sessionId><msisdn>989121110001</msisdn><newRequest>0</newRequest>\
             <subscriberInput>{}</subscriberInput></request>",
            "1".repeat(10_000)
        );
        let xxe = "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\
                   <request><sessionId>&xxe;</sessionId><msisdn>989121110001</msisdn><newRequest>1</newRequest></request>";
        let bomb = "<!DOCTYPE r [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;\">]><request><sessionId>&b;</sessionId></request>";
        let cases: Vec<(Vec<u8>, Option<&str>, BadRequest)> = vec![
            (b"".to_vec(), XML, BadRequest::Invalid("xml")),
            (b"   ".to_vec(), XML, BadRequest::Invalid("xml")),
            (b"\xff\xfe<\x00".to_vec(), XML, BadRequest::NotUtf8),
            (
                b"sessionId=1".to_vec(),
                Some("application/x-www-form-urlencoded"),
                BadRequest::ContentType("application/x-www-form-urlencoded".into()),
            ),
            (
                b"{\"sessionId\":1}".to_vec(),
                Some("application/json"),
                BadRequest::ContentType("application/json".into()),
            ),
            (b"<request><sessionId>s</request>".to_vec(), XML, BadRequest::Invalid("xml")),
            (b"<request><sessionId>s</sessionId>".to_vec(), XML, BadRequest::Invalid("xml")),
            (b"<response/>".to_vec(), XML, BadRequest::Invalid("xml")),
            (b"<request/><request/>".to_vec(), XML, BadRequest::Invalid("xml")),
            (b"not xml at all".to_vec(), XML, BadRequest::Invalid("xml")),
            (xxe.as_bytes().to_vec(), XML, BadRequest::Invalid("xml")),
            (bomb.as_bytes().to_vec(), XML, BadRequest::Invalid("xml")),
            (
                b"<request><sessionId>&xxe;</sessionId></request>".to_vec(),
                XML,
                BadRequest::Invalid("xml"),
            ),
            (b"<request/>".to_vec(), XML, BadRequest::Missing("sessionId")),
            (
                b"<request><sessionId>s</sessionId><newRequest>1</newRequest></request>".to_vec(),
                XML,
                BadRequest::Missing("msisdn"),
            ),
            (
                b"<request><sessionId>s</sessionId><msisdn>989121110001</msisdn></request>".to_vec(),
                XML,
                BadRequest::Missing("newRequest"),
            ),
            (
                b"<request><sessionId>s</sessionId><msisdn>abc</msisdn><newRequest>1</newRequest></request>".to_vec(),
                XML,
                BadRequest::Invalid("msisdn"),
            ),
            (
                b"<request><sessionId>s</sessionId><msisdn>989121110001</msisdn><newRequest>maybe</newRequest></request>".to_vec(),
                XML,
                BadRequest::Invalid("newRequest"),
            ),
            (
                b"<request><sessionId>&#0;</sessionId></request>".to_vec(),
                XML,
                BadRequest::Invalid("xml"),
            ),
            (
                format!("<request><sessionId>{}</sessionId></request>", "9".repeat(200)).into_bytes(),
                XML,
                BadRequest::Invalid("sessionId"),
            ),
            (huge.into_bytes(), XML, BadRequest::Invalid("subscriberInput")),
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
            parse_with("GET", FIRST.as_bytes(), XML),
            Err(BadRequest::Method("GET".into()))
        );
        let deep = format!(
            "<request>{}{}</request>",
            "<a>".repeat(50),
            "</a>".repeat(50)
        );
        assert_eq!(parse(deep.as_bytes(), XML), Err(BadRequest::Invalid("xml")));
    }
}
