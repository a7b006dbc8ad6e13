//! Africa's Talking (DIALECTS.md §1): a form-encoded POST per hop with `sessionId`,
//! `serviceCode`, `phoneNumber` (`+` encoded as `%2B`), `networkCode` and `text`, the whole
//! input path joined by `*` (empty on the first hop). The reply is `text/plain` beginning
//! `CON ` (wait for input) or `END ` (close). AT ends the session on a 4xx, so only requests
//! that cannot be read at all get one.

use std::sync::Arc;

use super::{msisdn_digits, BadRequest, Dialect, WireRequest, WireResponse};
use crate::turn::{Reply, Turn, TurnKind};

/// Longest `sessionId` accepted.
const MAX_SESSION_ID: usize = 128;
/// Longest `text` accepted: far more than any menu path.
const MAX_TEXT: usize = 1024;

pub(crate) struct AfricasTalking {
    name: Arc<str>,
}

impl AfricasTalking {
    pub(crate) fn new() -> AfricasTalking {
        AfricasTalking {
            name: Arc::from("africastalking"),
        }
    }
}

impl Dialect for AfricasTalking {
    fn name(&self) -> &Arc<str> {
        &self.name
    }

    fn parse(&self, request: &WireRequest<'_>) -> Result<Turn, BadRequest> {
        if !request.path_tail.is_empty() {
            return Err(BadRequest::Path);
        }
        if request.method != "POST" {
            return Err(BadRequest::Method(request.method.to_string()));
        }
        if let Some(ct) = request.header("content-type") {
            if !ct
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
            {
                return Err(BadRequest::ContentType(ct.to_string()));
            }
        }
        let body = std::str::from_utf8(request.body).map_err(|_| BadRequest::NotUtf8)?;
        let mut form = Form::default();
        for (key, value) in form_urlencoded::parse(body.as_bytes()) {
            form.set(&key, value.into_owned());
        }
        form.into_turn(self.name())
    }

    fn respond(&self, _turn: &Turn, reply: &Reply) -> WireResponse {
        let body = match reply {
            Reply::Continue(text) => format!("CON {text}"),
            Reply::End(text) => format!("END {text}"),
            // Africa's Talking posts no abort on this URL; should one be answered, end it.
            Reply::Ack => "END ".to_string(),
        };
        WireResponse {
            status: 200,
            content_type: "text/plain; charset=utf-8",
            body,
        }
    }
}

/// The fields of one request.
#[derive(Default)]
struct Form {
    session_id: Option<String>,
    service_code: Option<String>,
    phone_number: Option<String>,
    text: Option<String>,
}

impl Form {
    fn set(&mut self, key: &str, value: String) {
        match key {
            "sessionId" => self.session_id = Some(value),
            "serviceCode" => self.service_code = Some(value),
            "phoneNumber" => self.phone_number = Some(value),
            "text" => self.text = Some(value),
            _ => {}
        }
    }

    fn into_turn(self, dialect: &Arc<str>) -> Result<Turn, BadRequest> {
        let session_id = self
            .session_id
            .filter(|s| !s.trim().is_empty())
            .ok_or(BadRequest::Missing("sessionId"))?;
        if session_id.len() > MAX_SESSION_ID || session_id.chars().any(char::is_control) {
            return Err(BadRequest::Invalid("sessionId"));
        }
        let phone = self
            .phone_number
            .ok_or(BadRequest::Missing("phoneNumber"))?;
        let msisdn = msisdn_digits(&phone).ok_or(BadRequest::Invalid("phoneNumber"))?;
        let text = self.text.unwrap_or_default();
        if text.len() > MAX_TEXT {
            return Err(BadRequest::Invalid("text"));
        }
        let mut turn = Turn::new(dialect, &session_id, &msisdn, TurnKind::Path(text));
        turn.service_code = self.service_code.filter(|c| !c.trim().is_empty());
        Ok(turn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &[u8], content_type: Option<&str>) -> Result<Turn, BadRequest> {
        let mut headers = hyper::HeaderMap::new();
        if let Some(ct) = content_type {
            headers.insert("content-type", ct.parse().expect("header value"));
        }
        AfricasTalking::new().parse(&WireRequest {
            method: "POST",
            path_tail: "",
            headers: &headers,
            body,
        })
    }

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

    #[test]
    fn a_first_hop_and_a_later_one() {
        let turn = parse(
            b"sessionId=ATUid_1&serviceCode=%2A4%2A1420%23&phoneNumber=%2B989121110001&networkCode=43211&text=",
            FORM,
        )
        .expect("parses");
        assert_eq!(turn.session_id, "ATUid_1");
        assert_eq!(turn.msisdn, "989121110001");
        assert_eq!(turn.service_code.as_deref(), Some("*4*1420#"));
        assert_eq!(turn.kind, TurnKind::Path(String::new()));
        let turn = parse(
            b"sessionId=ATUid_1&serviceCode=*4*1420%23&phoneNumber=+989121110001&text=2*0012345679",
            FORM,
        )
        .expect("a raw + decodes to a space and is ignored");
        assert_eq!(turn.msisdn, "989121110001");
        assert_eq!(turn.kind, TurnKind::Path("2*0012345679".into()));
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        let huge = format!(
            "sessionId=x&phoneNumber=%2B989121110001&text={}",
            "1*".repeat(600)
        );
        let cases: Vec<(Vec<u8>, Option<&str>, BadRequest)> = vec![
            (b"".to_vec(), FORM, BadRequest::Missing("sessionId")),
            (b"\xff\xfe\x00".to_vec(), FORM, BadRequest::NotUtf8),
            (
                b"{\"text\": 1}".to_vec(),
                Some("application/json"),
                BadRequest::ContentType("application/json".into()),
            ),
            (
                b"sessionId=x&text=1".to_vec(),
                FORM,
                BadRequest::Missing("phoneNumber"),
            ),
            (
                b"sessionId=x&phoneNumber=abc".to_vec(),
                FORM,
                BadRequest::Invalid("phoneNumber"),
            ),
            (
                b"sessionId=%00&phoneNumber=%2B989121110001".to_vec(),
                FORM,
                BadRequest::Invalid("sessionId"),
            ),
            (huge.into_bytes(), FORM, BadRequest::Invalid("text")),
        ];
        for (body, ct, want) in cases {
            assert_eq!(
                parse(&body, ct),
                Err(want),
                "{:?}",
                String::from_utf8_lossy(&body)
            );
        }
    }

    #[test]
    fn replies_begin_con_or_end() {
        let at = AfricasTalking::new();
        let turn = Turn::new(at.name(), "s", "1", TurnKind::Path(String::new()));
        assert_eq!(
            at.respond(&turn, &Reply::Continue("a".into())).body,
            "CON a"
        );
        assert_eq!(at.respond(&turn, &Reply::End("b".into())).body, "END b");
    }
}
