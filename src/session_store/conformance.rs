//! The conformance suite of [`SessionStore`], written against the trait alone: every
//! implementation (the in-memory one and the Redis one) must pass it unchanged.
//!
//! It runs on tokio's paused clock ([`tokio::time::advance`]); a store whose entries expire on
//! another clock (a server's TTLs) runs it with real time passing instead ([`Time::Real`]), in
//! shorter units so that the suite takes seconds: every duration of the suite is a number of
//! units, and each expiry is checked with a margin of at least one unit on either side.

use std::time::Duration;

use super::*;
use crate::session::{Answer, Place, Session};

/// How time passes for the store under test.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Time {
    /// tokio's paused clock, a unit a second: time passes in no time.
    Paused,
    /// The wall clock, in units of this length (a server's TTLs).
    Real { unit: Duration },
}

impl Time {
    /// `n` units of this time.
    fn of(self, n: u32) -> Duration {
        match self {
            Time::Paused => Duration::from_secs(u64::from(n)),
            Time::Real { unit } => unit * n,
        }
    }

    /// Lets `n` units pass.
    async fn pass(self, n: u32) {
        match self {
            Time::Paused => tokio::time::advance(self.of(n)).await,
            Time::Real { .. } => tokio::time::sleep(self.of(n)).await,
        }
    }
}

/// Runs every case on fresh stores made by `make(max_sessions)`, on tokio's paused clock.
pub(crate) async fn run(make: impl Fn(usize) -> Box<dyn SessionStore>) {
    run_in(Time::Paused, make).await;
}

/// Runs every case on fresh stores made by `make(max_sessions)`, as `time` passes.
pub(crate) async fn run_in(t: Time, make: impl Fn(usize) -> Box<dyn SessionStore>) {
    get_put_and_versions(make(10).as_ref(), t).await;
    conflicts(make(10).as_ref(), t).await;
    removal(make(10).as_ref(), t).await;
    expiry(make(10).as_ref(), t).await;
    offers(make(10).as_ref(), t).await;
    locales(make(10).as_ref(), t).await;
    the_cap(make(2).as_ref(), t).await;
    a_refused_write_changes_nothing(make(10).as_ref(), t).await;
    open_sessions_by_service(make(10).as_ref(), t).await;
}

/// A store made by `make` with an expiry hook, and the way to make it give back what expired
/// (the memory store's sweep; nothing for a store that drops entries on its own), tells the
/// hook once of each open session dropped at its deadline, with its service and screen, and of
/// nothing else: not an ended session kept for retries, not a live one, not one removed.
/// (On tokio's paused clock: a minute is a minute.)
pub(crate) async fn expiry_told(
    make: impl FnOnce(OnExpired) -> (Arc<dyn SessionStore>, Box<dyn Fn()>),
) {
    const MINUTE: Duration = Duration::from_secs(60);
    let told = Arc::new(std::sync::Mutex::new(Vec::new()));
    let hook_told = told.clone();
    let (store, give_back) = make(Arc::new(move |expired: Expired| {
        hook_told.lock().expect("not poisoned").push(expired);
    }));
    let store = store.as_ref();
    let key = |id: &str| SessionKey::new("d", id);
    store
        .save(put(&key("open"), session("ask_code"), None, MINUTE))
        .await
        .expect("stored");
    let mut ended = session("covered");
    ended.phase = crate::session::Phase::Ended { result: true };
    store
        .save(put(&key("ended"), ended, None, MINUTE))
        .await
        .expect("stored");
    let v = store
        .save(put(&key("removed"), session("ask_iin"), None, MINUTE))
        .await
        .expect("stored");
    store
        .save(put(&key("long"), session("main"), None, 3 * MINUTE))
        .await
        .expect("stored");
    let remove = Write {
        key: key("removed"),
        session: SessionWrite::Remove { expected: v },
        caller: None,
    };
    store.save(remove).await.expect("removed");
    give_back();
    assert!(told.lock().expect("lock").is_empty(), "nothing expired yet");
    tokio::time::advance(MINUTE + Duration::from_secs(1)).await;
    give_back();
    give_back();
    let expected = vec![Expired {
        service: "svc".into(),
        screen: "ask_code".into(),
    }];
    assert_eq!(*told.lock().expect("lock"), expected, "once, the open one");
    // A write on a key whose open session expired before it was given back tells it too.
    store
        .save(put(&key("again"), session("ask_pair"), None, MINUTE))
        .await
        .expect("stored");
    tokio::time::advance(MINUTE + Duration::from_secs(1)).await;
    store
        .save(put(&key("again"), session("main"), None, MINUTE))
        .await
        .expect("a new session over the expired one");
    give_back();
    let told = told.lock().expect("lock");
    let screens: Vec<&str> = told.iter().map(|e| e.screen.as_str()).collect();
    assert_eq!(screens, ["ask_code", "ask_pair"], "{told:?}");
}

async fn open_sessions_by_service(store: &dyn SessionStore, t: Time) {
    let mut other = session("main");
    other.service = "other".into();
    let mut ended = session("end");
    ended.phase = crate::session::Phase::Ended { result: false };
    let sessions = [
        ("1", session("a"), t.of(60)),
        ("2", session("b"), t.of(60)),
        ("3", other, t.of(60)),
        ("4", ended, t.of(60)),
        ("5", session("c"), t.of(5)),
    ];
    for (id, s, ttl) in sessions {
        store
            .save(put(&SessionKey::new("d", id), s, None, ttl))
            .await
            .expect("stored");
    }
    t.pass(6).await;
    let open = store.open_by_service().await.expect("counted");
    let expected = BTreeMap::from([("svc".to_string(), 2), ("other".to_string(), 1)]);
    assert_eq!(open, expected, "open and live sessions only");
}

fn session(screen: &str) -> Session {
    let mut s = Session::new("svc", "caller-hash", "main", "en");
    s.place.screen = screen.to_string();
    s
}

fn put(key: &SessionKey, s: Session, expected: Option<Version>, ttl: Duration) -> Write {
    Write {
        key: key.clone(),
        session: SessionWrite::Put {
            session: s,
            expected,
            ttl,
        },
        caller: None,
    }
}

fn with_caller(mut write: Write, caller: &CallerKey, changes: CallerWrite) -> Write {
    write.caller = Some((caller.clone(), changes));
    write
}

fn place(screen: &str) -> Place {
    Place {
        screen: screen.into(),
        history: vec!["main".into()],
        answers: vec![(
            "national_code".into(),
            Answer::NationalCode("0012345679".parse().expect("valid")),
        )],
        locale: "fa".into(),
    }
}

fn offer(left_by: &SessionKey, screen: &str) -> Offer {
    Offer {
        place: place(screen),
        left_by: left_by.clone(),
        shown_to: None,
    }
}

async fn load(store: &dyn SessionStore, key: &SessionKey, caller: Option<&CallerKey>) -> Loaded {
    store.load(key, caller).await.expect("the store answers")
}

async fn get_put_and_versions(store: &dyn SessionStore, t: Time) {
    let key = SessionKey::new("d", "1");
    let absent = load(store, &key, None).await;
    assert_eq!(absent.session, None);
    assert!(absent.room);
    let v1 = store
        .save(put(&key, session("a"), None, t.of(60)))
        .await
        .expect("a new session is stored")
        .expect("and has a version");
    let held = load(store, &key, None).await.session.expect("held");
    assert_eq!(
        (held.session.place.screen.as_str(), held.version),
        ("a", v1)
    );
    let v2 = store
        .save(put(&key, session("b"), Some(v1), t.of(60)))
        .await
        .expect("the expected version is written over")
        .expect("version");
    assert_ne!(v1, v2, "each write gives a new version");
    let held = load(store, &key, None).await.session.expect("held");
    assert_eq!(
        (held.session.place.screen.as_str(), held.version),
        ("b", v2)
    );
    assert_eq!(store.count().await, Ok(1));
    let other = SessionKey::new("d2", "1");
    assert_eq!(
        load(store, &other, None).await.session,
        None,
        "keys differ by dialect"
    );
}

async fn conflicts(store: &dyn SessionStore, t: Time) {
    let key = SessionKey::new("d", "c");
    let v1 = store
        .save(put(&key, session("a"), None, t.of(60)))
        .await
        .expect("stored")
        .expect("version");
    assert_eq!(
        store.save(put(&key, session("x"), None, t.of(60))).await,
        Err(StoreError::Conflict),
        "a second new session under a held key"
    );
    let v2 = store
        .save(put(&key, session("b"), Some(v1), t.of(60)))
        .await
        .expect("stored")
        .expect("version");
    assert_eq!(
        store
            .save(put(&key, session("stale"), Some(v1), t.of(60)))
            .await,
        Err(StoreError::Conflict),
        "a write that read an older version"
    );
    let missing = SessionKey::new("d", "never");
    assert_eq!(
        store
            .save(put(&missing, session("x"), Some(v2), t.of(60)))
            .await,
        Err(StoreError::Conflict),
        "a write that expected a session nobody holds"
    );
    let held = load(store, &key, None).await.session.expect("held");
    assert_eq!(held.session.place.screen, "b");
}

async fn removal(store: &dyn SessionStore, t: Time) {
    let key = SessionKey::new("d", "r");
    let v = store
        .save(put(&key, session("a"), None, t.of(60)))
        .await
        .expect("stored")
        .expect("version");
    let stale = Write {
        key: key.clone(),
        session: SessionWrite::Remove {
            expected: Some(v + 1_000),
        },
        caller: None,
    };
    assert_eq!(store.save(stale).await, Err(StoreError::Conflict));
    let remove = Write {
        key: key.clone(),
        session: SessionWrite::Remove { expected: Some(v) },
        caller: None,
    };
    assert_eq!(store.save(remove).await, Ok(None));
    assert_eq!(load(store, &key, None).await.session, None);
    assert_eq!(store.count().await, Ok(0));
}

async fn expiry(store: &dyn SessionStore, t: Time) {
    let short = SessionKey::new("d", "short");
    let long = SessionKey::new("d", "long");
    store
        .save(put(&short, session("a"), None, t.of(10)))
        .await
        .expect("stored");
    let v = store
        .save(put(&long, session("a"), None, t.of(30)))
        .await
        .expect("stored");
    t.pass(11).await;
    assert_eq!(
        load(store, &short, None).await.session,
        None,
        "past its TTL"
    );
    assert!(load(store, &long, None).await.session.is_some());
    // A write refreshes the TTL.
    store
        .save(put(&long, session("b"), v, t.of(30)))
        .await
        .expect("refreshed");
    t.pass(25).await;
    assert!(load(store, &long, None).await.session.is_some());
    t.pass(6).await;
    assert_eq!(load(store, &long, None).await.session, None);
    // An expired key takes a new session as if it had never been.
    store
        .save(put(&short, session("again"), None, t.of(60)))
        .await
        .expect("a new session under an expired key");
}

async fn offers(store: &dyn SessionStore, t: Time) {
    let caller = CallerKey::new("svc", "caller-1");
    let a = SessionKey::new("d", "offer-a");
    let b = SessionKey::new("d", "offer-b");
    assert_eq!(load(store, &a, Some(&caller)).await.offer, None);
    let leave = with_caller(
        put(&a, session("code"), None, t.of(60)),
        &caller,
        CallerWrite {
            offer: OfferWrite::Put(offer(&a, "code"), t.of(300)),
            locale: None,
        },
    );
    store.save(leave).await.expect("saved");
    let seen = load(store, &b, Some(&caller)).await;
    assert_eq!(
        seen.offer,
        Some(offer(&a, "code")),
        "read with another session"
    );
    assert_eq!(
        load(store, &b, None).await.offer,
        None,
        "only when a caller is named"
    );
    let elsewhere = CallerKey::new("svc2", "caller-1");
    assert_eq!(
        load(store, &b, Some(&elsewhere)).await.offer,
        None,
        "per service"
    );

    // Only the session that left it removes it by `RemoveIfLeftBy`.
    let not_mine = with_caller(
        put(&b, session("main"), None, t.of(60)),
        &caller,
        CallerWrite {
            offer: OfferWrite::RemoveIfLeftBy(b.clone()),
            locale: None,
        },
    );
    store.save(not_mine).await.expect("saved");
    assert!(load(store, &b, Some(&caller)).await.offer.is_some());
    let v = load(store, &a, None).await.session.map(|h| h.version);
    let mine = with_caller(
        put(&a, session("main"), v, t.of(60)),
        &caller,
        CallerWrite {
            offer: OfferWrite::RemoveIfLeftBy(a.clone()),
            locale: None,
        },
    );
    store.save(mine).await.expect("saved");
    assert_eq!(load(store, &b, Some(&caller)).await.offer, None);

    // An offer expires by its own TTL, whatever the session does.
    let again = with_caller(
        put(
            &SessionKey::new("d", "offer-c"),
            session("code"),
            None,
            t.of(60),
        ),
        &caller,
        CallerWrite {
            offer: OfferWrite::Put(offer(&a, "code"), t.of(20)),
            locale: None,
        },
    );
    store.save(again).await.expect("saved");
    t.pass(21).await;
    assert_eq!(load(store, &b, Some(&caller)).await.offer, None, "expired");

    // `Remove` removes whoever left it.
    let c = SessionKey::new("d", "offer-d");
    let leave = with_caller(
        put(&c, session("code"), None, t.of(60)),
        &caller,
        CallerWrite {
            offer: OfferWrite::Put(offer(&a, "code"), t.of(60)),
            locale: None,
        },
    );
    let v = store.save(leave).await.expect("saved");
    let taken = with_caller(
        put(&c, session("end"), v, t.of(60)),
        &caller,
        CallerWrite {
            offer: OfferWrite::Remove,
            locale: None,
        },
    );
    store.save(taken).await.expect("saved");
    assert_eq!(load(store, &b, Some(&caller)).await.offer, None);
}

async fn locales(store: &dyn SessionStore, t: Time) {
    let caller = CallerKey::new("svc", "caller-2");
    let key = SessionKey::new("d", "locale");
    assert_eq!(load(store, &key, Some(&caller)).await.locale, None);
    let choice = LocaleChoice {
        locale: "en".into(),
        chosen_by: key.clone(),
        started_in: "fa".into(),
    };
    let choose = with_caller(
        put(&key, session("main"), None, t.of(10)),
        &caller,
        CallerWrite {
            offer: OfferWrite::Keep,
            locale: Some((choice.clone(), t.of(3_600))),
        },
    );
    store.save(choose).await.expect("saved");
    let other = SessionKey::new("d", "later");
    assert_eq!(
        load(store, &other, Some(&caller)).await.locale,
        Some(choice)
    );
    let stranger = CallerKey::new("svc", "caller-3");
    assert_eq!(load(store, &other, Some(&stranger)).await.locale, None);
    // The session has expired; the choice has not.
    t.pass(11).await;
    assert_eq!(load(store, &key, None).await.session, None);
    assert!(load(store, &other, Some(&caller)).await.locale.is_some());
}

async fn the_cap(store: &dyn SessionStore, t: Time) {
    let keys: Vec<SessionKey> = (0..3)
        .map(|i| SessionKey::new("d", &format!("cap{i}")))
        .collect();
    let v0 = store
        .save(put(&keys[0], session("a"), None, t.of(60)))
        .await
        .expect("room");
    store
        .save(put(&keys[1], session("a"), None, t.of(60)))
        .await
        .expect("room");
    let refused = load(store, &keys[2], None).await;
    assert!(!refused.room, "a new session would not fit");
    assert!(
        load(store, &keys[0], None).await.room,
        "a held one always does"
    );
    assert_eq!(
        store
            .save(put(&keys[2], session("a"), None, t.of(60)))
            .await,
        Err(StoreError::Full)
    );
    store
        .save(put(&keys[0], session("b"), v0, t.of(60)))
        .await
        .expect("an update is not a new session");
    let remove = Write {
        key: keys[1].clone(),
        session: SessionWrite::Remove {
            expected: load(store, &keys[1], None).await.session.map(|h| h.version),
        },
        caller: None,
    };
    store.save(remove).await.expect("removed");
    store
        .save(put(&keys[2], session("a"), None, t.of(60)))
        .await
        .expect("room again");
}

async fn a_refused_write_changes_nothing(store: &dyn SessionStore, t: Time) {
    let caller = CallerKey::new("svc", "caller-4");
    let key = SessionKey::new("d", "refused");
    store
        .save(put(&key, session("a"), None, t.of(60)))
        .await
        .expect("stored");
    let stale = with_caller(
        put(&key, session("b"), None, t.of(60)),
        &caller,
        CallerWrite {
            offer: OfferWrite::Put(offer(&key, "code"), t.of(60)),
            locale: None,
        },
    );
    assert_eq!(store.save(stale).await, Err(StoreError::Conflict));
    let loaded = load(store, &key, Some(&caller)).await;
    assert_eq!(
        loaded.offer, None,
        "the caller's part of a refused write is not applied"
    );
    assert_eq!(
        loaded.session.map(|h| h.session.place.screen),
        Some("a".into())
    );
}
