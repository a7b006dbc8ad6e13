//! The dialect boundary: each aggregator's wire format is one module that turns a request into
//! a [`Turn`] and a [`Reply`] into the response that aggregator expects. Nothing behind this
//! boundary reads a form field or writes a `CON ` prefix; a new aggregator is one new file and
//! one line in [`DIALECTS`].
//!
//! Dialects know the wire and the turn/reply types only: no menus, no store, no sessions.

mod africastalking;

use crate::turn::{Reply, Turn};

/// A request as it came off the wire, before any dialect has read it.
pub struct WireRequest<'a> {
    pub method: &'a str,
    pub query: Option<&'a str>,
    pub content_type: Option<&'a str>,
    pub body: &'a [u8],
}

/// The response a dialect wants sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireResponse {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

/// Why a request could not be read (answered 400, or the dialect's own error form).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadRequest {
    #[error("method {0} is not accepted")]
    Method(String),
    #[error("content type {0:?} is not accepted")]
    ContentType(String),
    #[error("the body is not valid UTF-8")]
    NotUtf8,
    #[error("field {0} is missing")]
    Missing(&'static str),
    #[error("field {0} is not valid")]
    Invalid(&'static str),
}

/// One aggregator's format.
pub trait Dialect: Send + Sync {
    /// The name in `/ussd/<name>` and in the session key.
    fn name(&self) -> &'static str;
    fn parse(&self, request: &WireRequest<'_>) -> Result<Turn, BadRequest>;
    fn respond(&self, reply: &Reply) -> WireResponse;
    /// The answer to a request that could not be read.
    fn reject(&self, error: &BadRequest) -> WireResponse {
        WireResponse {
            status: 400,
            content_type: "text/plain; charset=utf-8",
            body: format!("bad request: {error}\n"),
        }
    }
}

/// Every dialect the server speaks.
pub static DIALECTS: &[&dyn Dialect] = &[&africastalking::AfricasTalking];

/// The dialect served at `/ussd/<name>`.
pub fn find(name: &str) -> Option<&'static dyn Dialect> {
    DIALECTS.iter().copied().find(|d| d.name() == name)
}

/// An MSISDN as digits only (`+254 711-000111` → `254711000111`), or `None` when it is not a
/// plausible international number (6 to 15 digits, E.164).
pub fn msisdn_digits(raw: &str) -> Option<String> {
    let digits: String = raw
        .chars()
        .filter(|c| !matches!(c, '+' | ' ' | '-' | '(' | ')'))
        .collect();
    let plausible = (6..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
    plausible.then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msisdns_are_digits_or_nothing() {
        let cases = [
            ("+254711000111", Some("254711000111")),
            (" 254711000111", Some("254711000111")),
            ("+98 912-111-0001", Some("989121110001")),
            ("", None),
            ("+", None),
            ("12345", None),
            ("1234567890123456", None),
            ("98912abc0001", None),
            ("۹۸۹۱۲۱۱۱۰۰۰۱", None),
        ];
        for (raw, want) in cases {
            assert_eq!(msisdn_digits(raw).as_deref(), want, "{raw:?}");
        }
    }

    #[test]
    fn dialects_are_found_by_name() {
        assert!(find("africastalking").is_some());
        assert!(find("nobody").is_none());
    }
}
