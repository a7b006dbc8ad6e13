//! The two types that cross the dialect boundary: a [`Turn`] (what a caller did, whatever the
//! aggregator's format) and a [`Reply`] (what the phone shows next, or a bare acknowledgement).
//! Dialects make turns and write replies; everything behind them sees only these.

use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// One request of a USSD session, in no aggregator's format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    /// The dialect's name (`africastalking`), part of the session key.
    pub dialect: Arc<str>,
    /// The aggregator's session id.
    pub session_id: String,
    /// The caller's MSISDN, international form, digits only.
    pub(crate) msisdn: String,
    /// The dialled string when the dialect carries one (`*4*1420#`, or with extra segments).
    pub(crate) service_code: Option<String>,
    pub(crate) kind: TurnKind,
    /// How the dialect marks a resend of a request it already sent, where it has a way.
    pub retry: Retry,
    /// Fields of the request that the dialect must echo in its reply (Arkesel, Nalo, Beem and
    /// Comviva send some back); the engine never reads them.
    pub(crate) echo: Vec<(String, String)>,
    /// The caller's network as the dialect names it (`MTN`, `63902`), where it carries one:
    /// a network may have a smaller screen than its dialect.
    pub(crate) network: Option<String>,
}

/// What the caller did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TurnKind {
    /// Cumulative dialects: every input of the session so far, joined by `*` (empty at start).
    Path(String),
    /// The session's first request on a dialect that sends the latest input alone.
    Start,
    /// The latest input alone.
    Latest(String),
    /// The caller hung up (the aggregator's abort or release): nothing is shown.
    Abort,
    /// The aggregator gave up waiting for the caller: nothing is shown.
    Timeout,
    /// The aggregator asks whether the session is still open (Infobip's status URL): nothing
    /// changes; the reply is an empty [`Reply::Continue`] when it is, an empty
    /// [`Reply::End`] when it is not.
    Status,
}

/// A dialect's retry marker (SPEC §3: a retry is recognised exactly where the dialect makes it
/// visible). Cumulative dialects need none: the same whole path is the retry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Retry {
    /// The dialect has no marker: a repeated latest input is new input.
    #[default]
    Unmarked,
    /// A per-request mark (a sequence number): the same mark as the step that made the
    /// session's last reply is a retry of that step.
    Mark(String),
    /// The aggregator says this request is a resend.
    Resent,
}

impl Turn {
    /// A turn with no retry marker and nothing to echo.
    pub fn new(dialect: &Arc<str>, session_id: &str, msisdn: &str, kind: TurnKind) -> Turn {
        Turn {
            dialect: dialect.clone(),
            session_id: session_id.to_string(),
            msisdn: msisdn.to_string(),
            service_code: None,
            kind,
            retry: Retry::Unmarked,
            echo: Vec::new(),
            network: None,
        }
    }

    /// How the session ended at this turn, if it did, as the session-end metric labels it:
    /// `abort`, `timeout`, or `end` (the last screen).
    pub(crate) fn ended_by(&self, reply: &Reply) -> Option<&'static str> {
        match (&self.kind, reply) {
            (TurnKind::Status, _) => None,
            (TurnKind::Abort, _) => Some("abort"),
            (TurnKind::Timeout, _) => Some("timeout"),
            (_, Reply::End(_)) => Some("end"),
            _ => None,
        }
    }

    /// The same turn with the dialled string set.
    pub fn dialled(mut self, code: &str) -> Turn {
        self.service_code = Some(code.to_string());
        self
    }
}

/// What the phone shows next: a screen that waits for input, the last one, or nothing (the
/// answer to an abort or a timeout, which no phone shows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    Continue(String),
    End(String),
    Ack,
}

impl Reply {
    pub fn text(&self) -> &str {
        match self {
            Reply::Continue(text) | Reply::End(text) => text,
            Reply::Ack => "",
        }
    }

    /// Whether the session is over after this reply.
    pub fn is_end(&self) -> bool {
        !matches!(self, Reply::Continue(_))
    }
}
