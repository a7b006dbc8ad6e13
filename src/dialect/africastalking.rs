//! Africa's Talking (DIALECTS.md §1): a form-encoded POST per hop with `sessionId`,
//! `serviceCode`, `phoneNumber` (`+` encoded as `%2B`), `networkCode` and `text`, the whole
//! input path joined by `*` (empty on the first hop). The reply is `text/plain` beginning
//! `CON ` (wait for input) or `END ` (close). AT ends the session on a 4xx, so only requests
//! that cannot be read at all get one.
//!
//! AT posts no in-session abort or timeout. It can post an end-of-session notification to a
//! separate events URL, served here at `POST /ussd/africastalking/end` (DIALECTS.md §1: form
//! fields `sessionId, serviceCode, networkCode, phoneNumber, status, cost, date, input,
//! hopsCount, errorMessage, lastAppResponse, durationInMillis`; `status` is `Success`,
//! `Incomplete` or `Failed`; answered 200 `OK`; sources: AT's TypeScript types found by code
//! search, and https://www.mintlify.com/DaggieBlanqx/Google-Africastalking-AI-Course/api/ussd-endpoints).
//! It becomes an [`TurnKind::Abort`] (the caller left: `Incomplete`, or any status not known to
//! be the network's) or a [`TurnKind::Timeout`] (the network or the app gave up: `Failed`, a
//! timeout); the engine then closes the session and, when a question was open, leaves the
//! resume offer, so a caller who redials at once is offered their place. A `Success` session
//! reached its end screen, so closing it leaves no offer. The status is read leniently (case,
//! spaces, `_` and `-` ignored), and a notification posted to the main URL by an operator who
//! gave AT one URL for both (a `status` field and no `text`) is read as one too.
//!
//! The caller's network (`networkCode`, when present and plain text) rides on the turn, for the
//! smaller screen `[dialects.africastalking.networks.<code>]` may set; an odd one is no network, never
//! a refusal.

use std::sync::Arc;

use super::json_body::MAX_NETWORK;
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

    fn carries_network(&self) -> bool {
        true
    }

    fn parse(&self, request: &WireRequest<'_>) -> Result<Turn, BadRequest> {
        let notification = match request.path_tail {
            "" => false,
            "/end" | "/end/" => true,
            _ => return Err(BadRequest::Path),
        };
        if request.method != "POST" {
            return Err(BadRequest::Method(request.method.to_string()));
        }
        request.expect_form()?;
        let body = std::str::from_utf8(request.body).map_err(|_| BadRequest::NotUtf8)?;
        let mut form = Form::default();
        for (key, value) in form_urlencoded::parse(body.as_bytes()) {
            form.set(&key, value.into_owned());
        }
        if notification || (form.status.is_some() && form.text.is_none()) {
            form.into_notification(self.name())
        } else {
            form.into_turn(self.name())
        }
    }

    fn respond(&self, turn: &Turn, reply: &Reply) -> WireResponse {
        let body = match (&turn.kind, reply) {
            // The answer to an end-of-session notification: AT expects a 200 `OK`.
            (TurnKind::Abort | TurnKind::Timeout, _) => "OK".to_string(),
            (_, Reply::Continue(text)) => format!("CON {text}"),
            (_, Reply::End(text)) => format!("END {text}"),
            // Nothing to show on a callback hop: end it.
            (_, Reply::Ack) => "END ".to_string(),
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
    /// The caller's network, for its screen budget.
    network_code: Option<String>,
    /// The end-of-session notification's `status`.
    status: Option<String>,
}

impl Form {
    fn set(&mut self, key: &str, value: String) {
        match key {
            "sessionId" => self.session_id = Some(value),
            "serviceCode" => self.service_code = Some(value),
            "phoneNumber" => self.phone_number = Some(value),
            "text" => self.text = Some(value),
            "networkCode" => self.network_code = Some(value),
            "status" => self.status = Some(value),
            _ => {}
        }
    }

    /// The session id, present and plausible.
    fn session_id(&mut self) -> Result<String, BadRequest> {
        let session_id = self
            .session_id
            .take()
            .filter(|s| !s.trim().is_empty())
            .ok_or(BadRequest::Missing("sessionId"))?;
        if session_id.len() > MAX_SESSION_ID || session_id.chars().any(char::is_control) {
            return Err(BadRequest::Invalid("sessionId"));
        }
        Ok(session_id)
    }

    fn into_turn(mut self, dialect: &Arc<str>) -> Result<Turn, BadRequest> {
        let session_id = self.session_id()?;
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
        turn.network = self.network_code.filter(|c| {
            !c.trim().is_empty() && c.len() <= MAX_NETWORK && !c.chars().any(char::is_control)
        });
        Ok(turn)
    }

    /// An end-of-session notification: the session id is needed to find the session; the
    /// phone, when it is missing or odd, is not (the session knows its caller).
    fn into_notification(mut self, dialect: &Arc<str>) -> Result<Turn, BadRequest> {
        let session_id = self.session_id()?;
        let msisdn = self
            .phone_number
            .as_deref()
            .and_then(msisdn_digits)
            .unwrap_or_default();
        let kind = ended_by(self.status.as_deref().unwrap_or(""));
        let mut turn = Turn::new(dialect, &session_id, &msisdn, kind);
        turn.service_code = self.service_code.filter(|c| !c.trim().is_empty());
        Ok(turn)
    }
}

/// What an end-of-session `status` says ended the session: the network or the app giving up
/// is a timeout; anything else (`Incomplete`: the caller left while a question was open;
/// `Success`; a status AT may add) is the caller's end.
fn ended_by(status: &str) -> TurnKind {
    let word: String = status
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect::<String>()
        .to_lowercase();
    let timeout = [
        "failed", "failure", "error", "timeout", "timedout", "expired",
    ];
    if timeout
        .iter()
        .any(|w| word.starts_with(w) || word.ends_with(w))
    {
        TurnKind::Timeout
    } else {
        TurnKind::Abort
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &[u8], content_type: Option<&str>) -> Result<Turn, BadRequest> {
        crate::dialect::parse_for_test(&AfricasTalking::new(), "POST", "", None, content_type, body)
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

    fn notify(path_tail: &str, body: &[u8]) -> Result<Turn, BadRequest> {
        let headers = hyper::HeaderMap::new();
        AfricasTalking::new().parse(&WireRequest {
            method: "POST",
            path_tail,
            query: None,
            headers: &headers,
            peer: None,
            body,
        })
    }

    #[test]
    fn an_end_of_session_notification_is_an_abort_or_a_timeout_answered_ok() {
        let cases = [
            ("Incomplete", TurnKind::Abort),
            ("incomplete", TurnKind::Abort),
            ("Success", TurnKind::Abort),
            ("USER_ABORT", TurnKind::Abort),
            ("", TurnKind::Abort),
            ("Failed", TurnKind::Timeout),
            ("Timeout", TurnKind::Timeout),
            ("network-timeout", TurnKind::Timeout),
            ("TIMED_OUT", TurnKind::Timeout),
        ];
        for (status, want) in cases {
            let body = format!(
                "sessionId=ATUid_9&serviceCode=*4*1420%23&networkCode=63902&phoneNumber=%2B989121110001\
                 &status={status}&cost=KES+0.10&date=2026-11-24+10%3A02%3A11&input=1&hopsCount=2\
                 &errorMessage=&lastAppResponse=CON+x&durationInMillis=14233"
            );
            let turn = notify("/end", body.as_bytes()).expect("parses");
            assert_eq!(turn.kind, want, "{status}");
            assert_eq!(turn.session_id, "ATUid_9");
            assert_eq!(turn.msisdn, "989121110001");
            let at = AfricasTalking::new();
            let answer = at.respond(&turn, &Reply::Ack);
            assert_eq!((answer.status, answer.body.as_str()), (200, "OK"));
        }
        // On the main URL, a form with a status and no text is a notification too.
        let turn = notify(
            "",
            b"sessionId=s&phoneNumber=%2B989121110001&status=Incomplete",
        )
        .expect("parses");
        assert_eq!(turn.kind, TurnKind::Abort);
        // Lenient on the phone, strict on the session id and the path.
        let turn = notify("/end", b"sessionId=s&status=Incomplete").expect("no phone");
        assert_eq!(turn.msisdn, "");
        assert_eq!(
            notify("/end", b"status=Incomplete"),
            Err(BadRequest::Missing("sessionId"))
        );
        assert_eq!(notify("/other", b"sessionId=s"), Err(BadRequest::Path));
    }
}
