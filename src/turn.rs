//! The two types that cross the dialect boundary: a [`Turn`] (what a caller did, whatever the
//! aggregator's format) and a [`Reply`] (what the phone shows next). Dialects make turns and
//! write replies; everything behind them sees only these.

use serde::{Deserialize, Serialize};

/// One request of a USSD session, in no aggregator's format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    /// The dialect's name (`africastalking`), part of the session key.
    pub dialect: &'static str,
    /// The aggregator's session id.
    pub session_id: String,
    /// The caller's MSISDN, international form, digits only.
    pub msisdn: String,
    /// The dialled string when the dialect carries one (`*4*1420#`, or with extra segments).
    pub service_code: Option<String>,
    pub input: TurnInput,
}

/// What the caller sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TurnInput {
    /// Cumulative dialects: every input of the session so far, joined by `*` (empty at start).
    Path(String),
    /// The session's first request on a dialect that sends the latest input alone.
    Start,
    /// The latest input alone.
    Latest(String),
    /// The aggregator says the caller hung up or timed out: no reply is shown.
    Abort,
}

/// What the phone shows next: a screen that waits for input, or the last one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    Continue(String),
    End(String),
}

impl Reply {
    pub fn text(&self) -> &str {
        match self {
            Reply::Continue(text) | Reply::End(text) => text,
        }
    }

    pub fn is_end(&self) -> bool {
        matches!(self, Reply::End(_))
    }
}
