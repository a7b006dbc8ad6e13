//! A turn in, a reply out: the engine reads the caller's session (with their resume offer and
//! remembered locale) from the [`SessionStore`] in one read, tells a retry from new input,
//! replays a cumulative path it no longer holds, walks the menu tree (`flow`), and writes what
//! changed in one write.
//!
//! One step at a time per session: a second request for a session waits for the first on this
//! node ([`InFlight`]), and a write that finds the session changed by another node is refused by
//! the store's version check and stepped again on what is there, where it is a retry. So an
//! identical retry that arrives while the first request still runs gets the first one's reply,
//! and the action behind it runs once (SPEC §3).
//!
//! Retries: on a cumulative dialect the same whole path is a retry; on a latest-input dialect,
//! the dialect's own mark. A path the store does not hold is replayed from the root, so a
//! restart, an expiry or another node loses no caller. A session with a question open keeps a
//! resume offer for its (service, caller) written eagerly, expiring `resume_for` after the
//! session would; a result or a declined offer removes it. The engine knows no dialect by name.
//!
//! Each step that does new work (a new session, or new input) counts against its MSISDN's
//! steps (`limits`); a retry, a status question, a hang-up or a timeout costs nothing, so a
//! retried final step keeps its reply whatever the limit says. A caller over the limit gets a
//! polite END naming the wait, and nothing is stored.
//!
//! Each session that ends here is counted once in the [`Funnel`], by its service, its screen
//! and why ([`EndReason`]): a step that reaches an END screen, the third wrong answer, an error,
//! the aggregator's abort or timeout of an open session. Idle expiry is the store's to tell.

use dashmap::DashMap;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

mod claim;

use crate::audit::KeyedHasher;
use crate::flow::{ActionRunner, Walk, MAX_TRIES};
use crate::funnel::{EndReason, Funnel};
use crate::limits::{Limited, Limits};
use crate::menu::{Menus, Screen, Service};
use crate::session::{Phase, Session};
use crate::session_store::{
    CallerKey, CallerWrite, Held, Loaded, LocaleChoice, Offer, OfferWrite, SessionKey,
    SessionStore, SessionWrite, StoreError, Version, Write,
};
use crate::text::gsm7::Budget;
use crate::turn::{Reply, Retry, Turn, TurnKind};
use claim::{ClaimWatch, Claiming};

/// The most inputs a replayed path may hold: a real menu path is a handful.
const MAX_REPLAY: usize = 32;
/// How many times a step is tried again when the store says its session changed meanwhile.
const MAX_CONFLICTS: usize = 4;
/// Key under which the engine's own messages are read when no service is known.
const FALLBACK_LOCALE: &str = "en";
/// The language a caller most likely reads, by the country code of their MSISDN, for the
/// one message given before any service is known (longest prefix first).
const LIKELY_LOCALES: &[(&str, &str)] = &[("98", "fa"), ("77", "kk"), ("7", "ru")];

/// Settings of the engine, from the configuration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EngineSettings {
    pub(crate) budget: Budget,
    /// Idle time after which an open session is gone.
    pub(crate) idle: Duration,
    /// How long an ended session keeps its last reply for a retried final step.
    pub(crate) ended: Duration,
    /// How long a dropped session's place is offered after the drop.
    pub(crate) resume_for: Duration,
    /// How long a caller's locale choice is remembered.
    pub(crate) locale_for: Duration,
}

/// What configuration says of each dialect, by name, that the engine needs.
#[derive(Debug, Clone, Default)]
pub struct PerDialect {
    /// The service of turns that carry no service code.
    pub default_services: BTreeMap<String, String>,
    /// A screen smaller than `EngineSettings::budget` for the dialect's gateways.
    pub screens: BTreeMap<String, Budget>,
    /// A smaller screen still for one network of a dialect, by (dialect, network code in
    /// lower case: `MTN` and `mtn` are one network).
    pub networks: BTreeMap<(String, String), Budget>,
}

impl PerDialect {
    /// The screen of `dialect`'s gateways: its own when configured, else `budget`.
    fn dialect_screen(&self, dialect: &str, budget: Budget) -> Budget {
        self.screens.get(dialect).copied().unwrap_or(budget)
    }

    /// The screen a turn is shown on: its network's, within its dialect's, within `budget`.
    fn screen_of(&self, turn: &Turn, budget: Budget) -> Budget {
        let dialect = turn.dialect.as_ref();
        let screen = self.dialect_screen(dialect, budget);
        let network = turn
            .network
            .as_ref()
            .map(|code| (dialect.to_string(), code.to_ascii_lowercase()))
            .and_then(|key| self.networks.get(&key));
        network.map_or(screen, |network| screen.min_each(*network))
    }
}

/// The session engine; share it behind an `Arc`.
pub struct Engine {
    menus: Arc<Menus>,
    /// The version of `menus` in `menu_set`.
    version: u64,
    /// Every menu version a session may still be on, and the current one.
    menu_set: Arc<MenuSet>,
    store: Arc<dyn SessionStore>,
    actions: Arc<dyn ActionRunner>,
    hasher: KeyedHasher,
    settings: EngineSettings,
    /// What configuration says of each dialect (shared by the engines of each menu version).
    dialects: Arc<PerDialect>,
    in_flight: Arc<InFlight>,
    /// The steps each MSISDN may take (`limits`); none held back unless set.
    limits: Arc<Limits>,
    /// Where sessions end, and why.
    funnel: Arc<Funnel>,
    /// Whether a step claims its session before an action runs (`claim`): needed where other
    /// nodes step the same sessions; a node's own steps of a session already take turns.
    claims: bool,
}

/// Why a step is tried again.
enum Again {
    /// The store refused the step's write: the session changed under it.
    Changed,
    /// Another step claimed the session, at this version, to run its action (`claim`).
    Claimed(Version),
}

impl Engine {
    pub(crate) fn new(
        menus: Arc<Menus>,
        store: Arc<dyn SessionStore>,
        actions: Arc<dyn ActionRunner>,
        hasher: KeyedHasher,
        settings: EngineSettings,
        dialects: PerDialect,
    ) -> Engine {
        Engine {
            limits: Arc::new(Limits::off(hasher.clone())),
            funnel: Arc::default(),
            menu_set: Arc::new(MenuSet::new(menus.clone())),
            version: 0,
            menus,
            store,
            actions,
            hasher,
            settings,
            dialects: Arc::new(dialects),
            in_flight: Arc::default(),
            claims: true,
        }
    }

    /// The engine claiming sessions before their actions (`true`, the default), or not: a
    /// store no other node writes needs no claim (the per-session turn lock orders its steps).
    pub(crate) fn with_claims(mut self, claims: bool) -> Engine {
        self.claims = claims;
        self
    }

    /// The engine with the steps of each MSISDN held to `limits`.
    pub(crate) fn with_limits(mut self, limits: Arc<Limits>) -> Engine {
        self.limits = limits;
        self
    }

    /// The engine counting the sessions that end in `funnel`.
    pub(crate) fn with_funnel(mut self, funnel: Arc<Funnel>) -> Engine {
        self.funnel = funnel;
        self
    }

    /// How many open sessions each service holds (the admin API).
    pub(crate) async fn open_by_service(&self) -> Result<BTreeMap<String, usize>, StoreError> {
        self.store.open_by_service().await
    }

    /// How many sessions the store holds.
    pub async fn session_count(&self) -> usize {
        self.store.count().await.unwrap_or(0)
    }

    /// The screen a turn of `dialect` is shown on, before any network's own limit.
    pub(crate) fn screen_of_dialect(&self, dialect: &str) -> Budget {
        self.dialects.dialect_screen(dialect, self.settings.budget)
    }

    /// Makes `menus` the current version (after the same checks as at start): new sessions
    /// open on it, sessions in flight end on the version they started on. Returns its number.
    pub(crate) fn install_menus(&self, menus: Menus) -> u64 {
        self.menu_set.install(Arc::new(menus))
    }

    /// A handle on the current menu version, for the channels that read the menus without a
    /// session (the FHIR API): each read sees the menus the last reload installed.
    pub(crate) fn current_menus(&self) -> CurrentMenus {
        CurrentMenus(self.menu_set.clone())
    }

    /// This engine over menu version `version` (sharing everything else).
    fn on_version(&self, version: u64, menus: Arc<Menus>) -> Engine {
        Engine {
            menus,
            version,
            menu_set: self.menu_set.clone(),
            store: self.store.clone(),
            actions: self.actions.clone(),
            hasher: self.hasher.clone(),
            settings: self.settings,
            dialects: self.dialects.clone(),
            in_flight: self.in_flight.clone(),
            limits: self.limits.clone(),
            funnel: self.funnel.clone(),
            claims: self.claims,
        }
    }

    /// One turn of a session.
    pub async fn step(&self, turn: &Turn) -> Reply {
        let key = SessionKey::new(&turn.dialect, &turn.session_id);
        let _one_at_a_time = self.in_flight.enter(&key).await;
        let mut conflicts = 0;
        let mut claims = ClaimWatch::default();
        loop {
            // Boxed: the walk's state is kilobytes, and a future that size would be copied
            // each time the step's future moves (into its task, say).
            match Box::pin(self.try_step(&key, turn, claims.expired())).await {
                Ok(reply) => return reply,
                Err(Again::Changed) => conflicts += 1,
                Err(Again::Claimed(version)) => {
                    if !claims.wait(version).await {
                        tracing::warn!(
                            "a claim held its session past the wait; the caller is told to retry"
                        );
                        return self.unavailable(turn);
                    }
                }
            }
            if conflicts >= MAX_CONFLICTS {
                tracing::warn!(
                    "a session kept changing under its step; the caller is told to retry"
                );
                return self.unavailable(turn);
            }
        }
    }

    /// Steps `turn` in a task of its own, so that a caller or aggregator who hangs up while an
    /// action runs cannot cut the step short between its action and its write. A step that
    /// panics (a bug) gives a bare end rather than a hang.
    pub(crate) async fn step_apart(engine: Arc<Engine>, turn: Arc<Turn>) -> Reply {
        match tokio::spawn(async move { engine.step(&turn).await }).await {
            Ok(reply) => reply,
            Err(error) => {
                tracing::error!(%error, "a step failed");
                Reply::End(String::new())
            }
        }
    }

    /// The polite END "unavailable, try later" in the words of `turn`'s service: for a step
    /// that cannot be served, and a session the server drops (an SMPP bind it is closing).
    pub(crate) fn unavailable(&self, turn: &Turn) -> Reply {
        let service = self.route(turn).map(|(s, _)| s.id().to_string());
        self.words_end(service.as_deref(), "error.unavailable")
    }

    /// The polite END of a caller over their steps, naming the wait, in the locale of the
    /// session they are in, else the one they chose, else the service's; nothing is stored.
    async fn held_back(&self, key: &SessionKey, turn: &Turn, limited: &Limited) -> Reply {
        let route = self.route(turn).map(|(service, _)| service);
        let caller = route.map(|s| CallerKey::new(s.id(), &self.hasher.hash(&turn.msisdn)));
        let loaded = self.store.load(key, caller.as_ref()).await;
        let loaded = loaded.unwrap_or_default();
        let held = loaded.session.as_ref().map(|held| &held.session);
        let service = held
            .and_then(|session| self.menus.service(&session.service))
            .or(route);
        let Some(service) = service else {
            return self.unknown_service(&turn.msisdn);
        };
        let locale = match held {
            Some(session) if service.serves_locale(&session.place.locale) => {
                session.place.locale.clone()
            }
            _ => opening_locale(service, loaded.locale.as_ref(), key, false),
        };
        let complaints = service.spec.complaints.clone().unwrap_or_default();
        let vars = [("complaints".to_string(), complaints)];
        Reply::End(limited.told(service.words(&locale), &locale, &vars))
    }

    /// One try at a step, on the menu version its session is on: read once (the session with
    /// its caller's offer and locale), and the version chosen from what the read brought; an
    /// open session ends on the version it started on, anything else goes on the current one.
    /// `expired`: a claim whose lease ran out while this step waited, which it takes over.
    async fn try_step(
        &self,
        key: &SessionKey,
        turn: &Turn,
        expired: Option<Version>,
    ) -> Result<Reply, Again> {
        let (current, menus) = self.menu_set.current();
        let newer = (current != self.version).then(|| self.on_version(current, menus));
        let engine = newer.as_ref().unwrap_or(self);
        let caller_hash = self.hasher.hash(&turn.msisdn);
        let route = engine.route(turn);
        let loaded = engine.load(key, route.as_ref(), &caller_hash).await;
        let started_on = match &loaded {
            Ok(Loaded {
                session: Some(held),
                ..
            }) if !held.session.is_ended() => held.session.menus,
            _ => current,
        };
        if started_on == engine.version {
            return engine
                .step_loaded(key, turn, &caller_hash, route, loaded, expired)
                .await;
        }
        let Some(menus) = self.menu_set.get(started_on) else {
            return Ok(self.unavailable(turn));
        };
        let older = self.on_version(started_on, menus);
        let older_route = older.route(turn);
        let same_caller = older_route.as_ref().map(|(s, _)| s.id()) == route.map(|(s, _)| s.id());
        let loaded = if same_caller {
            loaded
        } else {
            // The older menus route the code to another service: its caller's offer and locale.
            older.load(key, older_route.as_ref(), &caller_hash).await
        };
        older
            .step_loaded(key, turn, &caller_hash, older_route, loaded, expired)
            .await
    }

    /// The one read of a step: the session of `key` with the offer and locale of its caller
    /// (the turn's routed service and the keyed hash of its MSISDN).
    async fn load(
        &self,
        key: &SessionKey,
        route: Option<&(&Service, Vec<String>)>,
        caller_hash: &str,
    ) -> Result<Loaded, StoreError> {
        let caller = route.map(|(service, _)| CallerKey::new(service.id(), caller_hash));
        self.store.load(key, caller.as_ref()).await
    }

    /// A step on this engine's menu version, after its read; a session claimed by another
    /// step is waited for, unless its claim is `expired` (then it is taken over).
    async fn step_loaded(
        &self,
        key: &SessionKey,
        turn: &Turn,
        caller_hash: &str,
        route: Option<(&Service, Vec<String>)>,
        loaded: Result<Loaded, StoreError>,
        expired: Option<Version>,
    ) -> Result<Reply, Again> {
        let mut loaded = match loaded {
            Ok(loaded) => loaded,
            Err(error) => {
                tracing::error!(%error, "session store unreadable");
                let service = route.map(|(s, _)| s.id().to_string());
                return Ok(self.words_end(service.as_deref(), "error.unavailable"));
            }
        };
        // The session moves out of the read; what a new session needs of it is its version.
        let held = match loaded.session.take() {
            Some(held) if is_claimed(&held) && turn.kind != TurnKind::Status => {
                if expired != Some(held.version) {
                    return Err(Again::Claimed(held.version));
                }
                Some(Held {
                    session: claim::taken_over(held.session),
                    version: held.version,
                })
            }
            held => held,
        };
        let opened = Opened {
            loaded: &loaded,
            caller: caller_hash,
            expected: held.as_ref().map(|h| h.version),
        };
        match (&turn.kind, held) {
            (TurnKind::Status, held) => Ok(open_or_over(held.as_ref())),
            (TurnKind::Abort, held) => self.dropped(key, held, EndReason::Abort).await,
            (TurnKind::Timeout, held) => self.dropped(key, held, EndReason::Timeout).await,
            // A start repeated for a session under way, or a resend: the reply already given.
            (TurnKind::Start, Some(held)) if !held.session.is_ended() => {
                Ok(held.session.last.unwrap_or(Reply::Ack))
            }
            (TurnKind::Latest(_), Some(held)) if is_retry(&turn.retry, &held) => {
                Ok(held.session.last.unwrap_or(Reply::Ack))
            }
            (TurnKind::Latest(input), Some(held)) => {
                let inputs = std::slice::from_ref(input);
                self.advance(key, held, turn, inputs).await
            }
            (TurnKind::Path(path), held) => {
                let Some((service, pre)) = route else {
                    return Ok(self.unknown_service(&turn.msisdn));
                };
                let full = join_path(&pre, path);
                match held.filter(|h| h.session.service == service.id()) {
                    Some(held) => {
                        self.cumulative(key, turn, service, full, held, opened)
                            .await
                    }
                    None => self.fresh(key, turn, service, full, opened).await,
                }
            }
            // A start (also under an id whose session ended: an aggregator that reuses ids, or
            // keys sessions by phone, starts a new one), or a latest input for a session this
            // node does not hold (expired, or lost in a restart): the first screen of the
            // service, pre-answered by the code.
            (TurnKind::Start, _) | (TurnKind::Latest(_), None) => {
                let Some((service, pre)) = route else {
                    return Ok(self.unknown_service(&turn.msisdn));
                };
                self.fresh(key, turn, service, join_path(&pre, ""), opened)
                    .await
            }
        }
    }

    /// A cumulative dialect's turn for a held session: a retry, the next inputs, or a path to
    /// replay from the root.
    async fn cumulative(
        &self,
        key: &SessionKey,
        turn: &Turn,
        service: &Service,
        full: String,
        held: Held,
        opened: Opened<'_>,
    ) -> Result<Reply, Again> {
        if held.session.path == full {
            if let Some(last) = held.session.last.clone() {
                return Ok(last);
            }
        }
        if let Some(rest) = extension(&held.session.path, &full) {
            let inputs: Vec<String> = rest.split('*').map(str::to_string).collect();
            let mut held = held;
            held.session.path = full;
            return self.advance(key, held, turn, &inputs).await;
        }
        self.fresh(key, turn, service, full, opened).await
    }

    /// A session the store does not hold under this path: a new one, replaying `path` from
    /// the root (over whatever the key held before).
    async fn fresh(
        &self,
        key: &SessionKey,
        turn: &Turn,
        service: &Service,
        path: String,
        opened: Opened<'_>,
    ) -> Result<Reply, Again> {
        if let Err(limited) = self.limits.step(&turn.msisdn).await {
            return Ok(self.held_back(key, turn, &limited).await);
        }
        let Opened {
            loaded,
            caller,
            expected,
        } = opened;
        if !loaded.room {
            // Refused before any action runs: no lookup, no tracking code the caller never sees.
            return Ok(self.words_end(Some(service.id()), "error.busy"));
        }
        let inputs: Vec<&str> = if path.is_empty() {
            Vec::new()
        } else {
            path.split('*').collect()
        };
        let first = inputs.is_empty();
        let (mut session, shown) = self.new_session(service, key, caller, first, loaded);
        if inputs.len() > MAX_REPLAY {
            let words = service.words(&session.place.locale);
            return Ok(Reply::End(words.get("error.too_many").to_string()));
        }
        let claiming = self.claiming(key, &session, expected);
        let walk = self.walk(service, turn, &claiming);
        let walking = async {
            let mut reply = walk.open(&mut session).await;
            let mut was_offer = session.phase == Phase::Offer;
            for input in inputs {
                if session.is_ended() {
                    break;
                }
                reply = walk.input(&mut session, input).await;
                was_offer = was_offer || session.phase == Phase::Offer;
            }
            (reply, was_offer)
        };
        let (reply, was_offer) = match claiming.unless_lost(walking).await {
            Ok(walked) => walked,
            Err(refused) => return self.claim_refused(service.id(), refused),
        };
        session.path = path;
        session.last_mark = mark_of(turn);
        let step = Settled {
            expected: claiming.expected_after(expected),
            was_open: true,
            was_offer,
            shown,
            // The read named this caller: whether an offer was there is known.
            offer_read: Some(loaded.offer.is_some()),
        };
        self.settle(key, session, step, reply).await
    }

    /// The next inputs of a held session (more than one when a cumulative path skipped a hop).
    async fn advance(
        &self,
        key: &SessionKey,
        held: Held,
        turn: &Turn,
        inputs: &[String],
    ) -> Result<Reply, Again> {
        if let Err(limited) = self.limits.step(&turn.msisdn).await {
            return Ok(self.held_back(key, turn, &limited).await);
        }
        let Held {
            mut session,
            version,
        } = held;
        let Some(service) = self.menus.service(&session.service) else {
            return Ok(self.unknown_service(&turn.msisdn));
        };
        let was_offer = session.phase == Phase::Offer;
        let was_open = !session.is_ended();
        let claiming = self.claiming(key, &session, Some(version));
        let walk = self.walk(service, turn, &claiming);
        let walking = async {
            let mut reply = session.last.clone().unwrap_or(Reply::Ack);
            for input in inputs.iter().take(MAX_REPLAY) {
                reply = walk.input(&mut session, input).await;
                if session.is_ended() {
                    break;
                }
            }
            reply
        };
        let reply = match claiming.unless_lost(walking).await {
            Ok(reply) => reply,
            Err(refused) => return self.claim_refused(service.id(), refused),
        };
        session.last_mark = mark_of(turn);
        let step = Settled {
            expected: claiming.expected_after(Some(version)),
            was_open,
            was_offer,
            shown: None,
            offer_read: None,
        };
        self.settle(key, session, step, reply).await
    }

    /// Writes the session after a step, with what it changed for its caller.
    async fn settle(
        &self,
        key: &SessionKey,
        mut session: Session,
        step: Settled,
        reply: Reply,
    ) -> Result<Reply, Again> {
        let caller = CallerKey::new(&session.service, &session.caller);
        let locale = session.locale_chosen.then(|| {
            let choice = LocaleChoice {
                locale: session.place.locale.clone(),
                chosen_by: key.clone(),
                started_in: session.started_in.clone(),
            };
            (choice, self.settings.locale_for)
        });
        session.locale_chosen = false;
        let expected = step.expected;
        let ends_here = (step.was_open && session.is_ended()).then(|| self.end_of(&session));
        let offer = self.offer_after(key, &session, step);
        let ttl = if session.is_ended() {
            self.settings.ended
        } else {
            self.settings.idle
        };
        let service = session.service.clone();
        let write = Write {
            key: key.clone(),
            session: SessionWrite::Put {
                session,
                expected,
                ttl,
            },
            caller: Some((caller, CallerWrite { offer, locale })),
        };
        match self.store.save(write).await {
            Ok(_) => {
                if let Some((screen, reason)) = ends_here {
                    self.funnel.count(&service, &screen, reason);
                }
                Ok(reply)
            }
            Err(StoreError::Conflict) => Err(Again::Changed),
            Err(StoreError::Full) => Ok(self.words_end(Some(&service), "error.busy")),
            Err(StoreError::Unavailable(error)) => {
                tracing::error!(%error, "session store unwritable");
                Ok(self.words_end(Some(&service), "error.unavailable"))
            }
        }
    }

    /// What a step leaves of the caller's resume offer: the place of a question still open,
    /// the offer that was just shown, or nothing once a result came or the offer was answered.
    fn offer_after(&self, key: &SessionKey, session: &Session, step: Settled) -> OfferWrite {
        // Nothing to remove when the step's read found no offer for this caller.
        let remove = |write: OfferWrite| match step.offer_read {
            Some(false) => OfferWrite::Keep,
            _ => write,
        };
        if session.is_ended() {
            return remove(OfferWrite::Remove);
        }
        if session.phase == Phase::Offer {
            return match step.shown {
                Some(offer) => OfferWrite::Put(offer, self.settings.resume_for),
                None => OfferWrite::Keep,
            };
        }
        if self.question_open(session) {
            let ttl = self.settings.idle + self.settings.resume_for;
            return OfferWrite::Put(left_by(key, session), ttl);
        }
        if step.was_offer {
            remove(OfferWrite::Remove)
        } else {
            remove(OfferWrite::RemoveIfLeftBy(key.clone()))
        }
    }

    /// The screen an ended session ended on, and why: an END screen of the menu is a result,
    /// a question answered wrongly [`MAX_TRIES`] times is three wrong answers, anything else
    /// (an action or the store failed, a limit held the caller) an error.
    fn end_of(&self, session: &Session) -> (String, EndReason) {
        let screen = self
            .menus
            .service(&session.service)
            .and_then(|s| s.screen(&session.place.screen));
        let reason = match screen {
            Some(Screen::End { .. }) => EndReason::Result,
            _ if session.tries >= MAX_TRIES => EndReason::WrongAnswers,
            _ => EndReason::Error,
        };
        (session.place.screen.clone(), reason)
    }

    /// The aggregator says the caller hung up or timed out (`why`): the session goes, and a
    /// question left open is offered for `resume_for` from now. An open session's drop is
    /// counted in the funnel; one that had ended already was counted then.
    async fn dropped(
        &self,
        key: &SessionKey,
        held: Option<Held>,
        why: EndReason,
    ) -> Result<Reply, Again> {
        let Some(Held { session, version }) = held else {
            return Ok(Reply::Ack);
        };
        let open =
            (!session.is_ended()).then(|| (session.service.clone(), session.place.screen.clone()));
        let offer = if self.question_open(&session) {
            OfferWrite::Put(left_by(key, &session), self.settings.resume_for)
        } else {
            OfferWrite::Keep
        };
        let write = Write {
            key: key.clone(),
            session: SessionWrite::Remove {
                expected: Some(version),
            },
            caller: Some((
                CallerKey::new(&session.service, &session.caller),
                CallerWrite {
                    offer,
                    locale: None,
                },
            )),
        };
        match self.store.save(write).await {
            Err(StoreError::Conflict) => Err(Again::Changed),
            Err(error) => {
                tracing::error!(%error, "a dropped session could not be closed");
                Ok(Reply::Ack)
            }
            Ok(_) => {
                if let Some((service, screen)) = open {
                    self.funnel.count(&service, &screen, why);
                }
                Ok(Reply::Ack)
            }
        }
    }

    /// Whether `session` waits on a question past its first screen: what a drop would lose.
    fn question_open(&self, session: &Session) -> bool {
        let on_question = self
            .menus
            .service(&session.service)
            .and_then(|s| s.screen(&session.place.screen))
            .is_some_and(|screen| matches!(screen, Screen::Menu { .. } | Screen::Input { .. }));
        session.phase == Phase::Open && on_question && !session.place.history.is_empty()
    }

    /// A new session of `caller`, in the locale they chose, showing the resume offer when one
    /// is waiting for them (and then the offer as it is to be written, marked as shown here).
    fn new_session(
        &self,
        service: &Service,
        key: &SessionKey,
        caller: &str,
        first: bool,
        loaded: &Loaded,
    ) -> (Session, Option<Offer>) {
        let locale = opening_locale(service, loaded.locale.as_ref(), key, !first);
        let mut session = Session::new(service.id(), caller, &service.spec.start, &locale);
        session.menus = self.version;
        let Some(offer) = &loaded.offer else {
            return (session, None);
        };
        let shown_here = offer.shown_to.as_ref() == Some(key);
        if offer.left_by == *key || !(first || shown_here) {
            return (session, None);
        }
        session.phase = Phase::Offer;
        session.place.locale = offer.place.locale.clone();
        session.offered = Some(offer.place.clone());
        let shown = Offer {
            shown_to: Some(key.clone()),
            ..offer.clone()
        };
        (session, Some(shown))
    }

    /// The action runner of a step from `before` (read at `expected`): it claims the session
    /// before the first action runs.
    fn claiming(
        &self,
        key: &SessionKey,
        before: &Session,
        expected: Option<Version>,
    ) -> Claiming<'_> {
        let (actions, store) = (self.actions.as_ref(), self.store.as_ref());
        let claim = self.claims.then_some((key, before));
        Claiming::new(actions, store, claim, expected, self.settings.idle)
    }

    /// What a step whose claim the store refused answers: another node claimed the session
    /// first (step again, and wait for it), the store is full, or it cannot be reached.
    fn claim_refused(&self, service: &str, refused: StoreError) -> Result<Reply, Again> {
        match refused {
            StoreError::Conflict => Err(Again::Changed),
            StoreError::Full => Ok(self.words_end(Some(service), "error.busy")),
            StoreError::Unavailable(error) => {
                tracing::error!(%error, "session store unwritable");
                Ok(self.words_end(Some(service), "error.unavailable"))
            }
        }
    }

    fn walk<'a>(
        &'a self,
        service: &'a Service,
        turn: &'a Turn,
        runner: &'a dyn ActionRunner,
    ) -> Walk<'a> {
        Walk {
            service,
            runner,
            budget: self.dialects.screen_of(turn, self.settings.budget),
            dialect: &turn.dialect,
            msisdn: &turn.msisdn,
        }
    }

    /// The service and pre-answers of a turn: by its dialled string, else the dialect's default.
    fn route(&self, turn: &Turn) -> Option<(&Service, Vec<String>)> {
        let route = match &turn.service_code {
            Some(code) => self.menus.route(code)?,
            None => crate::menu::Route {
                service: self
                    .dialects
                    .default_services
                    .get(turn.dialect.as_ref())?
                    .clone(),
                pre_answers: Vec::new(),
            },
        };
        let service = self.menus.service(&route.service)?;
        Some((service, route.pre_answers))
    }

    /// A polite END from the locale files, in the service's default locale (nothing stored).
    fn words_end(&self, service: Option<&str>, key: &str) -> Reply {
        let Some(service) = service.and_then(|id| self.menus.service(id)) else {
            return self.unknown_service("");
        };
        let words = service.words(service.default_locale());
        let complaints = service.spec.complaints.clone().unwrap_or_default();
        Reply::End(words.fill(key, &[("complaints".to_string(), complaints)]))
    }

    /// A dialled code that no service answers: in the language the caller's country code
    /// suggests, with the English beside it, since no service says which locale is theirs.
    fn unknown_service(&self, msisdn: &str) -> Reply {
        let say = |locale: &str| {
            self.menus
                .common
                .get(locale)
                .map(|w| w.get("error.unknown_service").to_string())
        };
        let english = say(FALLBACK_LOCALE).unwrap_or_default();
        let likely = LIKELY_LOCALES
            .iter()
            .find(|(prefix, _)| msisdn.starts_with(prefix))
            .and_then(|(_, locale)| say(locale))
            .filter(|text| !text.is_empty() && *text != english);
        match likely {
            Some(text) => Reply::End(format!("{text}\n{english}")),
            None => Reply::End(english),
        }
    }
}

/// What a new session starts from: the read of the step and the caller's keyed hash.
#[derive(Clone, Copy)]
struct Opened<'a> {
    /// The read, less the session it held.
    loaded: &'a Loaded,
    caller: &'a str,
    /// The version of the session the key held, which a new session replaces.
    expected: Option<Version>,
}

/// What a step carries from its read to its write.
struct Settled {
    /// The version the step read (`None`: no session was held).
    expected: Option<Version>,
    /// The session was open before this step (a new one is): an end now is counted.
    was_open: bool,
    /// The session showed the resume offer before this step.
    was_offer: bool,
    /// The resume offer this step showed, to be written back as shown.
    shown: Option<Offer>,
    /// Whether the step's read found an offer for the caller (`None`: it did not look).
    offer_read: Option<bool>,
}

/// The resume offer of `session`'s place, left by the session `key`.
fn left_by(key: &SessionKey, session: &Session) -> Offer {
    Offer {
        place: session.place.clone(),
        left_by: key.clone(),
        shown_to: None,
    }
}

/// Whether a session is open, as a reply that shows nothing: the answer to a status question.
fn open_or_over(held: Option<&Held>) -> Reply {
    match held {
        Some(held) if !held.session.is_ended() => Reply::Continue(String::new()),
        _ => Reply::End(String::new()),
    }
}

/// Whether another step claimed `held` to run its action.
fn is_claimed(held: &Held) -> bool {
    matches!(held.session.phase, Phase::Acting { .. })
}

/// Whether a latest input marked `retry` is a resend of the step that made the held
/// session's last reply.
fn is_retry(retry: &Retry, held: &Held) -> bool {
    match retry {
        Retry::Resent => true,
        Retry::Mark(mark) => held.session.last_mark.as_ref() == Some(mark),
        Retry::Unmarked => false,
    }
}

fn mark_of(turn: &Turn) -> Option<String> {
    match &turn.retry {
        Retry::Mark(mark) => Some(mark.clone()),
        _ => None,
    }
}

/// The locale a session of this caller opens in: the remembered choice, the locale the
/// choosing session started in when this is that session replayed, else the default.
fn opening_locale(
    service: &Service,
    choice: Option<&LocaleChoice>,
    key: &SessionKey,
    replay: bool,
) -> String {
    let locale = match choice {
        Some(choice) if replay && choice.chosen_by == *key => choice.started_in.as_str(),
        Some(choice) => choice.locale.as_str(),
        None => "",
    };
    if service.serves_locale(locale) {
        locale.to_string()
    } else {
        service.default_locale().to_string()
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

/// The current menu version of an engine, read afresh each time (`Engine::current_menus`).
#[derive(Clone)]
pub(crate) struct CurrentMenus(Arc<MenuSet>);

impl CurrentMenus {
    /// The menus new sessions open on now.
    pub(crate) fn get(&self) -> Arc<Menus> {
        self.0.current().1
    }
}

/// The menu versions: the current one, and the older ones sessions may still be on (the last
/// [`MenuSet::KEPT`]; a session on one older still ends with "unavailable").
struct MenuSet(std::sync::RwLock<VecDeque<(u64, Arc<Menus>)>>);

impl MenuSet {
    const KEPT: usize = 32;

    fn new(menus: Arc<Menus>) -> MenuSet {
        MenuSet(std::sync::RwLock::new(VecDeque::from([(0, menus)])))
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, VecDeque<(u64, Arc<Menus>)>> {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn current(&self) -> (u64, Arc<Menus>) {
        self.read().back().cloned().expect("a menu version")
    }

    fn get(&self, version: u64) -> Option<Arc<Menus>> {
        let versions = self.read();
        versions
            .iter()
            .find(|(v, _)| *v == version)
            .map(|(_, m)| m.clone())
    }

    fn install(&self, menus: Arc<Menus>) -> u64 {
        let mut versions = self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let next = versions.back().map_or(0, |(v, _)| v + 1);
        versions.push_back((next, menus));
        while versions.len() > Self::KEPT {
            versions.pop_front();
        }
        next
    }
}

/// The sessions being stepped on this node: a second request for one of them waits its turn.
#[derive(Default)]
struct InFlight(DashMap<SessionKey, Arc<tokio::sync::Mutex<()>>>);

/// A session's turn to be stepped; the next request for it goes on when this is dropped.
struct TurnOf<'a> {
    table: &'a InFlight,
    key: SessionKey,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl InFlight {
    async fn enter(&self, key: &SessionKey) -> TurnOf<'_> {
        let lock = self.0.entry(key.clone()).or_default().clone();
        // Made before the wait, so that a request given up while waiting still cleans up.
        let mut turn = TurnOf {
            table: self,
            key: key.clone(),
            guard: None,
        };
        turn.guard = Some(lock.lock_owned().await);
        turn
    }
}

impl Drop for TurnOf<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        // Only the table holds the lock now unless someone waits on it: then it stays.
        self.table
            .0
            .remove_if(&self.key, |_, lock| Arc::strong_count(lock) == 1);
    }
}

#[cfg(test)]
mod tests;
