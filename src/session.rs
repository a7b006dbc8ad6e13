//! The session table: every live USSD session, keyed by (dialect, session id), in a `DashMap`.
//!
//! A [`Session`] is a small serialisable value (service, screen, answers, locale, page, last
//! reply), a few hundred bytes, so that a later store shared by several nodes can hold it as it
//! is. The table has a size cap (a caller beyond it gets a polite END from the engine, never a
//! timeout) and an idle expiry carried out by [`Sessions::sweep`], which the engine's sweeper
//! task calls; what the sweep removes goes back to the engine, which decides whether a dropped
//! session leaves a resume offer. The table knows nothing of menus, dialects or the store.

use dashmap::DashMap;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::turn::Reply;

/// Where a session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    /// Waiting for the caller's next input on `screen`.
    Open,
    /// Showing the resume offer: `1` continue, `2` start again.
    Offer,
    /// Finished; `result` when an answer was reached. The last reply is kept for retries.
    Ended { result: bool },
}

/// The part of a session that a resume brings back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    pub screen: String,
    pub history: Vec<String>,
    pub answers: Vec<(String, String)>,
    pub locale: String,
}

/// One caller's session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub service: String,
    pub msisdn: String,
    /// The keyed hash of the MSISDN, computed once: the key of offers and preferences.
    pub caller: String,
    pub phase: Phase,
    pub place: Place,
    /// Wrong answers to the current question.
    pub tries: u8,
    /// The pages of the current screen when it did not fit one message; empty otherwise.
    pub pages: Vec<String>,
    pub page: usize,
    /// Cumulative dialects: the path of inputs consumed so far.
    pub path: String,
    pub last: Option<Reply>,
    /// The place offered for resumption, while the offer is on screen.
    pub offered: Option<Place>,
    /// The caller switched locale in this step: the engine remembers it for their MSISDN.
    pub locale_chosen: bool,
    /// The locale the session opened in (kept with a choice, so that a replay starts there).
    pub started_in: String,
}

impl Session {
    pub fn new(service: &str, msisdn: &str, caller: &str, start: &str, locale: &str) -> Session {
        Session {
            service: service.to_string(),
            msisdn: msisdn.to_string(),
            caller: caller.to_string(),
            phase: Phase::Open,
            place: Place {
                screen: start.to_string(),
                history: Vec::new(),
                answers: Vec::new(),
                locale: locale.to_string(),
            },
            tries: 0,
            pages: Vec::new(),
            page: 0,
            path: String::new(),
            last: None,
            offered: None,
            locale_chosen: false,
            started_in: locale.to_string(),
        }
    }

    pub fn is_ended(&self) -> bool {
        matches!(self.phase, Phase::Ended { .. })
    }
}

/// The table is full: the caller gets a polite END.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

/// A cheap, clonable handle on the session table.
#[derive(Clone)]
pub struct Sessions {
    inner: Arc<Inner>,
}

struct Inner {
    map: DashMap<String, Held>,
    max: usize,
    idle: Duration,
    /// How long an ended session is kept for retries of its last step.
    ended: Duration,
}

struct Held {
    session: Session,
    touched: Instant,
}

impl Sessions {
    /// A table of at most `max` sessions; open ones expire after `idle`, ended ones (kept only
    /// for retries of their last step) after `ended`.
    pub fn new(max: usize, idle: Duration, ended: Duration) -> Sessions {
        Sessions {
            inner: Arc::new(Inner {
                map: DashMap::new(),
                max,
                idle,
                ended,
            }),
        }
    }

    /// Whether `key` may be stored: it is held already, or the table has room.
    pub fn admits(&self, key: &str) -> bool {
        self.inner.map.len() < self.inner.max || self.inner.map.contains_key(key)
    }

    /// The key of a session: its dialect and the aggregator's id.
    pub fn key(dialect: &str, session_id: &str) -> String {
        format!("{dialect}\u{0}{session_id}")
    }

    pub fn get(&self, key: &str) -> Option<Session> {
        self.inner.map.get(key).map(|held| held.session.clone())
    }

    /// Stores `session` under `key`, refreshing its idle clock. A new key is refused when the
    /// table holds its maximum.
    pub fn put(&self, key: &str, session: Session) -> Result<(), Full> {
        let now = Instant::now();
        if let Some(mut held) = self.inner.map.get_mut(key) {
            held.session = session;
            held.touched = now;
            return Ok(());
        }
        if self.inner.map.len() >= self.inner.max {
            return Err(Full);
        }
        self.inner.map.insert(
            key.to_string(),
            Held {
                session,
                touched: now,
            },
        );
        Ok(())
    }

    pub fn remove(&self, key: &str) -> Option<Session> {
        self.inner.map.remove(key).map(|(_, held)| held.session)
    }

    pub fn len(&self) -> usize {
        self.inner.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.inner.map.is_empty()
    }

    /// Removes and returns the sessions past their time: open ones idle since before
    /// `now - idle`, ended ones untouched since before `now - ended`.
    pub fn sweep(&self, now: Instant) -> Vec<Session> {
        let (idle, ended) = (self.inner.idle, self.inner.ended);
        let mut expired = Vec::new();
        self.inner.map.retain(|_, held| {
            let limit = if held.session.is_ended() { ended } else { idle };
            let keep = now.saturating_duration_since(held.touched) < limit;
            if !keep {
                expired.push(held.session.clone());
            }
            keep
        });
        expired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        Session::new(
            "tamin",
            "989121234567",
            "0123456789abcdef01234567",
            "main",
            "fa",
        )
    }

    #[test]
    fn the_cap_refuses_new_sessions_but_not_known_ones() {
        let table = Sessions::new(2, Duration::from_secs(60), Duration::from_secs(60));
        assert!(table.put("a", session()).is_ok());
        assert!(table.put("b", session()).is_ok());
        assert_eq!(table.put("c", session()), Err(Full));
        assert!(
            table.put("a", session()).is_ok(),
            "an update is not a new session"
        );
        table.remove("a");
        assert!(table.put("c", session()).is_ok());
    }

    #[test]
    fn sweep_removes_only_idle_sessions() {
        let table = Sessions::new(10, Duration::from_millis(50), Duration::from_millis(50));
        table.put("old", session()).unwrap();
        std::thread::sleep(Duration::from_millis(60));
        table.put("new", session()).unwrap();
        let swept = table.sweep(Instant::now());
        assert_eq!(swept.len(), 1);
        assert!(table.get("new").is_some());
        assert!(table.get("old").is_none());
    }

    #[test]
    fn a_session_is_small() {
        let mut s = session();
        s.place
            .answers
            .push(("national_code".into(), "0012345679".into()));
        s.place.history.push("main".into());
        s.last = Some(Reply::End(
            "حمایت درمانی دارد\nکد پیگیری: ۱۲۳۴۵۶۷۸۹۰".into(),
        ));
        let bytes = postcard::to_allocvec(&s).expect("serialises");
        assert!(bytes.len() < 400, "{} bytes", bytes.len());
    }
}
