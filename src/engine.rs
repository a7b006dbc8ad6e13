//! A turn in, a reply out: the engine finds or makes the caller's session, tells a retry from
//! new input, replays a cumulative path for a session it no longer holds, walks the menu tree
//! (`flow`), and keeps what outlives a session: the resume offer after a drop and the locale a
//! caller chose.
//!
//! Retries (SPEC §3): on a cumulative dialect the same whole path is a retry and gets the last
//! reply again, with no action run twice. A path the table does not know is replayed from the
//! root, so a restart, an expiry or another node loses no caller. The sweeper ends idle
//! sessions; one dropped while a question was open leaves a resume offer for its (service,
//! MSISDN), kept `resume_s` seconds.

use dashmap::DashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::actions::Actions;
use crate::audit::KeyedHasher;
use crate::flow::Walk;
use crate::menu::{Menus, Screen, Service};
use crate::prefs::LocalePrefs;
use crate::session::{Phase, Place, Session, Sessions};
use crate::text::gsm7::Budget;
use crate::turn::{Reply, Turn, TurnInput};

/// The most inputs a replayed path may hold: a real menu path is a handful.
const MAX_REPLAY: usize = 32;
/// Key under which the engine's own messages are read when no service is known.
const FALLBACK_LOCALE: &str = "en";

/// Settings of the engine, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct EngineSettings {
    pub budget: Budget,
    pub resume_for: Duration,
}

/// The session engine; cheap to share behind an `Arc`.
pub struct Engine {
    menus: Arc<Menus>,
    sessions: Sessions,
    actions: Actions,
    hasher: KeyedHasher,
    prefs: LocalePrefs,
    offers: DashMap<String, Offer>,
    settings: EngineSettings,
    default_services: std::collections::BTreeMap<String, String>,
}

/// A dropped session's place, offered to the caller's next session of that service.
struct Offer {
    place: Place,
    until: Instant,
    /// The session that was shown the offer, so that replaying it shows the offer again.
    shown_to: Option<String>,
}

impl Engine {
    pub fn new(
        menus: Arc<Menus>,
        sessions: Sessions,
        actions: Actions,
        prefs: LocalePrefs,
        settings: EngineSettings,
        default_services: std::collections::BTreeMap<String, String>,
    ) -> Engine {
        let hasher = actions.hasher.clone();
        Engine {
            menus,
            sessions,
            actions,
            hasher,
            prefs,
            offers: DashMap::new(),
            settings,
            default_services,
        }
    }

    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// One turn of a session.
    pub fn step(&self, turn: &Turn) -> Reply {
        let key = Sessions::key(turn.dialect, &turn.session_id);
        let path = match &turn.input {
            TurnInput::Abort => {
                if let Some(session) = self.sessions.remove(&key) {
                    self.dropped(session);
                }
                return Reply::End(String::new());
            }
            // A held session needs no routing: latest-input dialects often send the dialled
            // code on the first request only.
            TurnInput::Latest(input) => match self.sessions.get(&key) {
                Some(session) => {
                    return self.advance(&key, session, turn, std::slice::from_ref(input))
                }
                // Expired on a latest-input dialect: it starts again at the first screen.
                None => None,
            },
            TurnInput::Start => None,
            TurnInput::Path(path) => Some(path.as_str()),
        };
        let Some((service, pre)) = self.route(turn) else {
            return self.unknown_service();
        };
        match path {
            Some(path) => self.cumulative(&key, turn, service, join_path(&pre, path)),
            None => self.fresh(&key, turn, service, join_path(&pre, "")),
        }
    }

    /// A cumulative dialect's turn (`full`: pre-answers and the whole path): a retry, the next
    /// inputs, or a path to replay.
    fn cumulative(&self, key: &str, turn: &Turn, service: &Service, full: String) -> Reply {
        if let Some(session) = self.sessions.get(key).filter(|s| s.service == service.id()) {
            if session.path == full {
                if let Some(last) = session.last.clone() {
                    return last;
                }
            }
            if let Some(inputs) = extension(&session.path, &full) {
                let inputs: Vec<String> = inputs.split('*').map(str::to_string).collect();
                let mut session = session;
                session.path = full;
                return self.advance(key, session, turn, &inputs);
            }
        }
        self.fresh(key, turn, service, full)
    }

    /// A session this node does not hold: a new one, replaying `path` from the root.
    fn fresh(&self, key: &str, turn: &Turn, service: &Service, path: String) -> Reply {
        let inputs: Vec<&str> = if path.is_empty() {
            Vec::new()
        } else {
            path.split('*').collect()
        };
        if !self.sessions.admits(key) {
            // Refused before any action runs: no lookup, no tracking code the caller never sees.
            return self.busy(service.id());
        }
        let mut session = self.new_session(service, key, &turn.msisdn, path.is_empty());
        if inputs.len() > MAX_REPLAY {
            let words = service.words(&session.place.locale);
            return Reply::End(words.get("error.too_many").to_string());
        }
        let walk = self.walk(service, turn.dialect);
        let mut reply = walk.open(&mut session);
        let mut was_offer = session.phase == Phase::Offer;
        for input in inputs {
            if session.is_ended() {
                break;
            }
            reply = walk.input(&mut session, input);
            was_offer = was_offer || session.phase == Phase::Offer;
        }
        session.path = path;
        self.settle(key, session, was_offer, reply)
    }

    /// The next inputs of a held session (more than one when a cumulative path skipped a hop).
    fn advance(&self, key: &str, mut session: Session, turn: &Turn, inputs: &[String]) -> Reply {
        let Some(service) = self.menus.service(&session.service) else {
            return self.unknown_service();
        };
        let was_offer = session.phase == Phase::Offer;
        let walk = self.walk(service, turn.dialect);
        let mut reply = session.last.clone().unwrap_or(Reply::End(String::new()));
        for input in inputs.iter().take(MAX_REPLAY) {
            reply = walk.input(&mut session, input);
            if session.is_ended() {
                break;
            }
        }
        self.settle(key, session, was_offer, reply)
    }

    /// Stores the session after a step and keeps what outlives it.
    fn settle(&self, key: &str, session: Session, was_offer: bool, reply: Reply) -> Reply {
        let offer_key = offer_key(&session.service, &session.caller);
        if was_offer && session.phase != Phase::Offer {
            // The offer was answered, by continuing or by declining: it is used up.
            self.offers.remove(&offer_key);
        }
        if session.is_ended() {
            self.offers.remove(&offer_key);
        }
        let mut session = session;
        if session.locale_chosen {
            self.prefs.remember(
                &session.service,
                &session.caller,
                &session.place.locale,
                key,
                &session.started_in,
            );
            session.locale_chosen = false;
        }
        let service = session.service.clone();
        if self.sessions.put(key, session).is_err() {
            return self.busy(&service);
        }
        reply
    }

    fn new_session(&self, service: &Service, key: &str, msisdn: &str, first: bool) -> Session {
        let caller = self.hasher.hash(msisdn);
        let locale = self.prefs.opening_locale(service, &caller, key, !first);
        let mut session = Session::new(service.id(), msisdn, &caller, &service.spec.start, &locale);
        let offer_key = offer_key(service.id(), &caller);
        if let Some(mut offer) = self.offers.get_mut(&offer_key) {
            let mine = offer.shown_to.as_deref() == Some(key);
            if offer.until > Instant::now() && (first || mine) {
                offer.shown_to = Some(key.to_string());
                session.phase = Phase::Offer;
                session.place.locale = offer.place.locale.clone();
                session.offered = Some(offer.place.clone());
            }
        }
        session
    }

    fn walk<'a>(&'a self, service: &'a Service, dialect: &'static str) -> Walk<'a> {
        Walk {
            service,
            runner: &self.actions,
            budget: self.settings.budget,
            channel: channel_name(dialect),
        }
    }

    /// The service and pre-answers of a turn: by its dialled string, else the dialect's default.
    fn route(&self, turn: &Turn) -> Option<(&Service, Vec<String>)> {
        let route = match &turn.service_code {
            Some(code) => self.menus.route(code)?,
            None => crate::menu::Route {
                service: self.default_services.get(turn.dialect)?.clone(),
                pre_answers: Vec::new(),
            },
        };
        let service = self.menus.service(&route.service)?;
        Some((service, route.pre_answers))
    }

    /// Ends idle sessions; a session dropped with a question open leaves a resume offer.
    pub fn sweep(&self, now: Instant) {
        for session in self.sessions.sweep(now) {
            self.dropped(session);
        }
        self.offers.retain(|_, offer| offer.until > now);
    }

    /// A session that ended without an answer: remember its place if a question was open.
    fn dropped(&self, session: Session) {
        let question_open = self
            .menus
            .service(&session.service)
            .and_then(|s| s.screen(&session.place.screen))
            .is_some_and(|screen| matches!(screen, Screen::Menu { .. } | Screen::Input { .. }));
        let under_way =
            session.phase == Phase::Open && question_open && !session.place.history.is_empty();
        if under_way {
            let key = offer_key(&session.service, &session.caller);
            self.offers.insert(
                key,
                Offer {
                    place: session.place,
                    until: Instant::now() + self.settings.resume_for,
                    shown_to: None,
                },
            );
        }
    }

    /// The table is full: a polite END in the service's default locale, nothing stored.
    fn busy(&self, service: &str) -> Reply {
        let text = self
            .menus
            .service(service)
            .map(|s| s.words(s.default_locale()).get("error.busy").to_string())
            .unwrap_or_default();
        Reply::End(text)
    }

    /// A dialled code that no service answers.
    fn unknown_service(&self) -> Reply {
        let text = self
            .menus
            .common
            .get(FALLBACK_LOCALE)
            .map(|w| w.get("error.unknown_service").to_string())
            .unwrap_or_default();
        Reply::End(text)
    }
}

/// The key of what outlives a session for one caller of one service (resume offer, locale):
/// the service and the caller's keyed hash, never the MSISDN itself.
fn offer_key(service: &str, caller: &str) -> String {
    format!("{service}\u{0}{caller}")
}

/// The channel name in the audit trail: `ussd:<dialect>`.
fn channel_name(dialect: &'static str) -> &'static str {
    match dialect {
        "africastalking" => "ussd:africastalking",
        _ => "ussd",
    }
}

/// The pre-answers of the dialled string followed by the path the dialect sent.
fn join_path(pre: &[String], path: &str) -> String {
    let mut parts: Vec<&str> = pre.iter().map(String::as_str).collect();
    if !path.is_empty() {
        parts.push(path);
    }
    parts.join("*")
}

/// The new inputs when `full` continues `seen`: what follows `seen*`. Every input of daftar's
/// menus is digits, so a `*` in the rest separates hops (a hop the server never saw, say); a
/// menu that took free text would have to take the rest whole (DIALECTS.md §0).
fn extension<'a>(seen: &str, full: &'a str) -> Option<&'a str> {
    if seen.is_empty() {
        return (!full.is_empty()).then_some(full);
    }
    full.strip_prefix(seen)?.strip_prefix('*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_hop_is_what_follows_the_seen_path() {
        let cases = [
            ("", "1", Some("1")),
            ("", "", None),
            ("1", "1*0012345679", Some("0012345679")),
            ("1", "1*12*34", Some("12*34")),
            ("9", "9*1*0012345679", Some("1*0012345679")),
            ("1*2", "1*2", None),
            ("1*2", "1*3", None),
            ("1*2", "1*23", None),
            ("2", "1*2", None),
        ];
        for (seen, full, want) in cases {
            assert_eq!(extension(seen, full), want, "{seen:?} → {full:?}");
        }
    }

    #[test]
    fn pre_answers_come_first() {
        assert_eq!(
            join_path(&["2".into(), "0012345679".into()], ""),
            "2*0012345679"
        );
        assert_eq!(join_path(&["2".into()], "0012345679"), "2*0012345679");
        assert_eq!(join_path(&[], "1*2"), "1*2");
        assert_eq!(join_path(&[], ""), "");
    }
}
