//! Africa's Talking's SMS wire (SMS.md §1): the inbound message callback, the delivery report
//! callback, and the send API with every answer it is known to give.
//!
//! Send: `POST <base_url>/version1/messaging`, form `username`, `to` (with `+`), `message`,
//! `from`; headers `apiKey` and `Accept: application/json` (without it the answer is XML).
//! Accepted means a recipient `statusCode` of 100, 101 or 102: the `status` word is no test
//! (a queued 102 says `Success` too). Known failures: HTTP 401 `text/plain` for a bad key, an
//! empty `Recipients` with the reason in `Message` (`InvalidSenderId`), per-recipient codes
//! 401–409 (permanent for us, but 405 `InsufficientBalance`, which a top-up cures) and 500–502
//! (transient), 429 when throttled, and bodies of the 2016 era without `statusCode`.
//!
//! Knows the wire and nothing of the outbox or the store: what it returns are plain values.

use serde::Deserialize;

use crate::dialect::msisdn_digits;

/// The path of the send API under the configured base.
pub(crate) const SEND_PATH: &str = "/version1/messaging";

/// A callback body that cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum BadCallback {
    #[error("the field `{0}` is missing")]
    Missing(&'static str),
    #[error("the field `{0}` is not valid")]
    Invalid(&'static str),
}

/// An SMS someone sent to the short code (SMS.md §1a).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Inbound {
    /// The sender, international digits.
    pub(crate) from: String,
    /// The number it was sent to (the short code), as given.
    pub(crate) to: String,
    pub(crate) text: String,
    /// The provider's id of the message: a callback delivered twice carries the same.
    pub(crate) id: Option<String>,
}

/// Reads the inbound callback's form.
pub(crate) fn parse_inbound(body: &[u8]) -> Result<Inbound, BadCallback> {
    let form = Form::read(body);
    let from = form.get("from").ok_or(BadCallback::Missing("from"))?;
    let from = msisdn_digits(from).ok_or(BadCallback::Invalid("from"))?;
    Ok(Inbound {
        from,
        to: form.get("to").unwrap_or_default().trim().to_string(),
        text: form.get("text").unwrap_or_default().to_string(),
        id: form
            .get("id")
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(str::to_string),
    })
}

/// What a delivery report says (SMS.md §1c).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeliveryReport {
    /// The `messageId` the send API gave.
    pub(crate) provider_id: String,
    /// The status word as sent (`Success`, `Failed`, ...).
    pub(crate) status: String,
    pub(crate) outcome: DeliveryOutcome,
}

/// The report's status as the outbox reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DeliveryOutcome {
    Delivered,
    /// Failed with the provider's reason (`failureReason`, else the status word).
    /// `AbsentSubscriber` is taken as failed too, though another report may follow it.
    Failed(String),
    /// On its way: `Sent`, `Submitted`, `Buffered`.
    Pending,
    /// A word we do not know: kept, nothing changes (never a 4xx for it, SMS.md §0).
    Unknown,
}

/// Reads the delivery report's form.
pub(crate) fn parse_delivery(body: &[u8]) -> Result<DeliveryReport, BadCallback> {
    let form = Form::read(body);
    let provider_id = form
        .get("id")
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .ok_or(BadCallback::Missing("id"))?;
    let status = form.get("status").map(str::trim).unwrap_or_default();
    let reason = form
        .get("failureReason")
        .map(str::trim)
        .filter(|r| !r.is_empty());
    let outcome = match status {
        "Success" => DeliveryOutcome::Delivered,
        "Failed" | "Rejected" | "Expired" | "AbsentSubscriber" => {
            DeliveryOutcome::Failed(reason.unwrap_or(status).to_string())
        }
        "Sent" | "Submitted" | "Buffered" => DeliveryOutcome::Pending,
        _ => DeliveryOutcome::Unknown,
    };
    Ok(DeliveryReport {
        provider_id: provider_id.to_string(),
        status: status.chars().take(40).collect(),
        outcome,
    })
}

/// The send request's form body.
pub(crate) fn send_form(username: &str, to: &str, message: &str, from: Option<&str>) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("username", username)
        .append_pair("to", &format!("+{to}"))
        .append_pair("message", message);
    if let Some(from) = from {
        form.append_pair("from", from);
    }
    form.finish()
}

/// What the provider made of a send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Sent {
    Accepted {
        provider_id: String,
    },
    /// Worth trying again later.
    Transient(String),
    /// Trying again changes nothing.
    Permanent(String),
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Answer {
    #[serde(rename = "SMSMessageData")]
    data: MessageData,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MessageData {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    recipients: Vec<Recipient>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Recipient {
    #[serde(default)]
    status_code: Option<u16>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    message_id: Option<String>,
}

/// Reads the send API's answer: its HTTP status and body.
pub(crate) fn read_answer(http_status: u16, body: &str) -> Sent {
    match http_status {
        429 => return Sent::Transient("HTTP 429 (throttled)".into()),
        500..=599 => return Sent::Transient(format!("HTTP {http_status}")),
        200..=299 => {}
        _ => {
            // 401 is `text/plain` "The supplied authentication is invalid": quoted, shortly.
            let said: String = body.trim().chars().take(80).collect();
            return Sent::Permanent(format!("HTTP {http_status}: {said}"));
        }
    }
    let Ok(answer) = serde_json::from_str::<Answer>(body) else {
        // Accepted or not, nobody can tell: sent again rather than lost.
        return Sent::Transient(format!("HTTP {http_status} with an unreadable answer"));
    };
    let Some(recipient) = answer.data.recipients.into_iter().next() else {
        let said: String = answer
            .data
            .message
            .unwrap_or_default()
            .chars()
            .take(80)
            .collect();
        return Sent::Permanent(format!("no recipient accepted: {said}"));
    };
    let status = recipient.status.unwrap_or_default();
    match recipient.status_code {
        Some(100..=102) => match recipient
            .message_id
            .filter(|id| !id.is_empty() && id != "None")
        {
            Some(provider_id) => Sent::Accepted { provider_id },
            None => Sent::Permanent(format!("accepted without a messageId ({status})")),
        },
        Some(code @ (405 | 500..=502)) => Sent::Transient(format!("statusCode {code} {status}")),
        Some(code) => Sent::Permanent(format!("statusCode {code} {status}")),
        None => Sent::Permanent(format!("no statusCode: {status}")),
    }
}

/// A form body, percent-decoded.
struct Form(Vec<(String, String)>);

impl Form {
    fn read(body: &[u8]) -> Form {
        Form(form_urlencoded::parse(body).into_owned().collect())
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_inbound_callback_is_read() {
        let body = b"linkId=&text=cnam%2Acnss%2A11966433%2A01234567&to=85666&id=ec9adc86-51d5&date=2017-05-03T06%3A04%3A45Z&from=%2B21620123456&networkCode=60501";
        assert_eq!(
            parse_inbound(body),
            Ok(Inbound {
                from: "21620123456".into(),
                to: "85666".into(),
                text: "cnam*cnss*11966433*01234567".into(),
                id: Some("ec9adc86-51d5".into()),
            })
        );
        let no_text = parse_inbound(b"from=%2B21620123456&to=85666").expect("read");
        assert_eq!((no_text.text.as_str(), no_text.id), ("", None));
        assert_eq!(
            parse_inbound(b"to=85666&text=STOP"),
            Err(BadCallback::Missing("from"))
        );
        assert_eq!(
            parse_inbound(b"from=abc&text=STOP"),
            Err(BadCallback::Invalid("from"))
        );
        assert_eq!(parse_inbound(b""), Err(BadCallback::Missing("from")));
    }

    #[test]
    fn delivery_reports_are_read_leniently() {
        let cases: [(&[u8], DeliveryOutcome); 6] = [
            (b"id=ATXid_1&status=Success", DeliveryOutcome::Delivered),
            (
                b"id=ATXid_1&status=Failed&phoneNumber=%2B254720123123&networkCode=63902&failureReason=UserInBlackList&retryCount=0",
                DeliveryOutcome::Failed("UserInBlackList".into()),
            ),
            (b"id=ATXid_1&status=Rejected", DeliveryOutcome::Failed("Rejected".into())),
            (b"id=ATXid_1&status=Buffered", DeliveryOutcome::Pending),
            (b"id=ATXid_1&status=Teleported", DeliveryOutcome::Unknown),
            (b"id=ATXid_1", DeliveryOutcome::Unknown),
        ];
        for (body, want) in cases {
            let report = parse_delivery(body).expect("read");
            assert_eq!(report.provider_id, "ATXid_1");
            assert_eq!(report.outcome, want, "{}", String::from_utf8_lossy(body));
        }
        assert_eq!(
            parse_delivery(b"status=Success"),
            Err(BadCallback::Missing("id"))
        );
    }

    #[test]
    fn the_send_form_carries_the_recipient_with_its_plus() {
        let form = send_form("cnam", "21620123456", "سلام & bye", Some("85666"));
        let fields: Vec<(String, String)> = form_urlencoded::parse(form.as_bytes())
            .into_owned()
            .collect();
        let want = [
            ("username", "cnam"),
            ("to", "+21620123456"),
            ("message", "سلام & bye"),
            ("from", "85666"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(fields, want);
        assert!(!send_form("u", "1", "m", None).contains("from="));
    }

    #[test]
    fn every_known_answer_is_classified() {
        let accepted = |code: u16, id: &str| {
            format!(
                r#"{{"SMSMessageData":{{"Message":"Sent to 1/1 Total Cost: KES 0.8000","Recipients":[{{"statusCode":{code},"number":"+254711000000","status":"Success","cost":"KES 0.8000","messageId":"{id}"}}]}}}}"#
            )
        };
        for code in [100, 101, 102] {
            assert_eq!(
                read_answer(201, &accepted(code, "ATXid_1")),
                Sent::Accepted {
                    provider_id: "ATXid_1".into()
                }
            );
        }
        let failed = |code: u16, status: &str| {
            format!(
                r#"{{"SMSMessageData":{{"Message":"Sent to 0/1","Recipients":[{{"cost":"0","messageId":"None","number":"+2348","status":"{status}","statusCode":{code}}}]}}}}"#
            )
        };
        let permanent = [
            read_answer(401, "The supplied authentication is invalid"),
            read_answer(
                201,
                r#"{"SMSMessageData":{"Message":"InvalidSenderId","Recipients":[]}}"#,
            ),
            read_answer(201, &failed(403, "InvalidPhoneNumber")),
            read_answer(201, &failed(404, "UnsupportedNumberType")),
            read_answer(201, &failed(406, "UserInBlacklist")),
            read_answer(201, &failed(409, "DoNotDisturbRejection")),
            read_answer(201, &failed(401, "RiskHold")),
            read_answer(
                201,
                r#"{"SMSMessageData":{"Message":"x","Recipients":[{"number":"+1","status":"Could Not Send","messageId":"None"}]}}"#,
            ),
            read_answer(201, &accepted(101, "None")),
            read_answer(400, "bad"),
        ];
        for sent in permanent {
            assert!(matches!(sent, Sent::Permanent(_)), "{sent:?}");
        }
        let transient = [
            read_answer(500, ""),
            read_answer(503, "<html>"),
            read_answer(429, ""),
            read_answer(201, &failed(500, "InternalServerError")),
            read_answer(201, &failed(502, "RejectedByGateway")),
            read_answer(201, &failed(405, "InsufficientBalance")),
            read_answer(201, "<xml/>"),
        ];
        for sent in transient {
            assert!(matches!(sent, Sent::Transient(_)), "{sent:?}");
        }
        match read_answer(401, "The supplied authentication is invalid") {
            Sent::Permanent(why) => assert!(why.contains("401"), "{why}"),
            other => panic!("{other:?}"),
        }
    }
}
