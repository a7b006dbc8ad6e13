//! The engine through the [`SessionStore`] trait, over the shipped menus and an action runner
//! that counts its calls: retries, concurrent steps of one session, latest-input turns, the
//! resume offer, the remembered locale.

use super::*;
use crate::flow::{ActionCall, ActionFailure, ActionFuture, Outcome};
use crate::menu::load_menus;
use crate::session_store::memory::MemoryStore;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Answers every action with its first outcome and a tracking code of its own per call,
/// yielding to the runtime first so that concurrent steps interleave.
#[derive(Default)]
struct Counting {
    calls: AtomicU64,
}

impl ActionRunner for Counting {
    fn run<'a>(&'a self, action: &'a str, _call: ActionCall<'a>) -> ActionFuture<'a> {
        Box::pin(async move {
            tokio::task::yield_now().await;
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            let name = crate::catalog::outcomes_of(action)
                .and_then(|o| o.first().copied())
                .ok_or_else(|| ActionFailure {
                    action: action.to_string(),
                    reason: "unknown".into(),
                    limited: None,
                })?;
            tokio::time::sleep(Duration::from_millis(2)).await;
            Ok(Outcome::new(
                name,
                vec![
                    ("code".into(), format!("{n:010}")),
                    ("until".into(), "2030-01-01".into()),
                    ("list".into(), "-".into()),
                    ("months".into(), "-".into()),
                    ("provider".into(), "-".into()),
                ],
            ))
        })
    }
}

const IDLE: Duration = Duration::from_secs(180);
const RESUME: Duration = Duration::from_secs(300);
const TAMIN: &str = "*4*1420#";
const PHONE: &str = "989120000001";

struct Rig {
    engine: Arc<Engine>,
    actions: Arc<Counting>,
    store: Arc<MemoryStore>,
}

/// The engine settings every test engine runs on.
fn settings() -> EngineSettings {
    EngineSettings {
        budget: Budget::default(),
        idle: IDLE,
        ended: Duration::from_secs(30),
        resume_for: RESUME,
        locale_for: Duration::from_secs(86_400),
    }
}

fn rig_with(max: usize, defaults: &[(&str, &str)]) -> Rig {
    let menus = load_menus(&Path::new(env!("CARGO_MANIFEST_DIR")).join("menus")).expect("menus");
    let store = Arc::new(MemoryStore::new(max));
    let actions = Arc::new(Counting::default());
    let settings = settings();
    let defaults = PerDialect {
        default_services: defaults
            .iter()
            .map(|(d, s)| (d.to_string(), s.to_string()))
            .collect(),
        ..PerDialect::default()
    };
    let engine = Engine::new(
        Arc::new(menus),
        store.clone(),
        actions.clone(),
        KeyedHasher::new([7; 32]),
        settings,
        defaults,
    );
    Rig {
        engine: Arc::new(engine),
        actions,
        store,
    }
}

fn rig() -> Rig {
    rig_with(1_000, &[])
}

fn at(session: &str, msisdn: &str, path: &str) -> Turn {
    Turn::new(
        &Arc::from("at"),
        session,
        msisdn,
        TurnKind::Path(path.into()),
    )
    .dialled(TAMIN)
}

fn latest(session: &str, kind: TurnKind) -> Turn {
    Turn::new(&Arc::from("stub"), session, PHONE, kind)
}

impl Rig {
    /// Another engine on this rig's menus, settings and dialects, over `store` and `actions`.
    fn engine_over(&self, store: Arc<dyn SessionStore>, actions: Arc<dyn ActionRunner>) -> Engine {
        Engine::new(
            self.engine.menus.clone(),
            store,
            actions,
            KeyedHasher::new([7; 32]),
            self.engine.settings,
            (*self.engine.dialects).clone(),
        )
    }

    async fn step(&self, turn: &Turn) -> Reply {
        self.engine.step(turn).await
    }

    fn calls(&self) -> u64 {
        self.actions.calls.load(Ordering::SeqCst)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn identical_final_steps_at_once_run_the_action_once_and_get_one_reply() {
    let rig = rig();
    for round in 0..40 {
        let id = format!("race-{round}");
        rig.step(&at(&id, PHONE, "2")).await;
        let before = rig.calls();
        let barrier = Arc::new(tokio::sync::Barrier::new(6));
        let tasks: Vec<_> = (0..6)
            .map(|_| {
                let (engine, barrier) = (rig.engine.clone(), barrier.clone());
                let turn = at(&id, PHONE, "2*0012345679");
                tokio::spawn(async move {
                    barrier.wait().await;
                    engine.step(&turn).await
                })
            })
            .collect();
        let mut replies = Vec::new();
        for task in tasks {
            replies.push(task.await.expect("step"));
        }
        assert_eq!(rig.calls() - before, 1, "round {round}: one action");
        assert!(replies[0].is_end(), "{:?}", replies[0]);
        assert!(
            replies.iter().all(|r| *r == replies[0]),
            "round {round}: one reply, one tracking code: {replies:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn steps_of_different_sessions_do_not_wait_for_each_other() {
    let rig = rig();
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let engine = rig.engine.clone();
            tokio::spawn(async move {
                engine
                    .step(&at(&format!("p{i}"), PHONE, "2*0012345679"))
                    .await
            })
        })
        .collect();
    for task in tasks {
        assert!(task.await.expect("step").is_end());
    }
    assert_eq!(rig.calls(), 50);
    assert!(rig.engine.in_flight.0.is_empty(), "no lock is left behind");
}

#[tokio::test]
async fn a_cumulative_retry_and_a_replay_after_the_store_lost_the_session() {
    let rig = rig();
    let first = rig.step(&at("c1", PHONE, "2*0012345679")).await;
    assert_eq!(rig.step(&at("c1", PHONE, "2*0012345679")).await, first);
    assert_eq!(rig.calls(), 1, "a retry runs nothing");
    // Another node (a store without the session) replays the path from the root.
    let other = rig_with(1_000, &[]);
    let replayed = other.step(&at("c1", PHONE, "2*0012345679")).await;
    assert!(replayed.is_end(), "{replayed:?}");
    assert_eq!(other.calls(), 1);
}

#[tokio::test]
async fn a_latest_input_dialect_starts_continues_and_retries_by_its_mark() {
    let rig = rig_with(1_000, &[("stub", "tamin")]);
    let menu = rig.step(&latest("l1", TurnKind::Start)).await;
    assert!(
        matches!(menu, Reply::Continue(_)),
        "the first screen of tamin: {menu:?}"
    );
    assert_eq!(
        rig.step(&latest("l1", TurnKind::Start)).await,
        menu,
        "a repeated start is idempotent"
    );
    let mut two = latest("l1", TurnKind::Latest("2".into()));
    two.retry = Retry::Mark("seq-2".into());
    let ask = rig.step(&two).await;
    assert!(matches!(ask, Reply::Continue(_)));
    assert_eq!(rig.step(&two).await, ask, "the same mark is a retry");
    let mut code = latest("l1", TurnKind::Latest("0012345679".into()));
    code.retry = Retry::Mark("seq-3".into());
    let end = rig.step(&code).await;
    assert!(end.is_end());
    code.retry = Retry::Resent;
    assert_eq!(rig.step(&code).await, end, "a declared resend is a retry");
    assert_eq!(rig.calls(), 1);
}

#[tokio::test]
async fn a_latest_input_for_a_session_not_held_starts_at_the_first_screen() {
    let started = rig_with(1_000, &[("stub", "tamin")]);
    let first = started.step(&latest("fresh", TurnKind::Start)).await;
    // A restart lost the session: the next input shows the first screen, not "not in service".
    let restarted = rig_with(1_000, &[("stub", "tamin")]);
    let again = restarted
        .step(&latest("lost", TurnKind::Latest("2".into())))
        .await;
    assert_eq!(
        again, first,
        "the input is not taken as an answer to a screen never shown"
    );
    // With a dialled code and no default service, the code routes it.
    let bare = rig();
    let dialled = latest("lost2", TurnKind::Latest("1".into())).dialled(TAMIN);
    assert_eq!(bare.step(&dialled).await, first);
    let nowhere = bare
        .step(&latest("lost3", TurnKind::Latest("1".into())))
        .await;
    assert!(nowhere.is_end(), "no code and no default: not in service");
}

#[tokio::test(start_paused = true)]
async fn an_abort_with_a_question_open_leaves_the_offer_and_an_answer_takes_it() {
    let rig = rig_with(1_000, &[("stub", "tamin")]);
    rig.step(&latest("a1", TurnKind::Start)).await;
    rig.step(&latest("a1", TurnKind::Latest("1".into()))).await;
    assert_eq!(rig.step(&latest("a1", TurnKind::Abort)).await, Reply::Ack);
    let offer = rig.step(&latest("a2", TurnKind::Start)).await;
    let offered = offer.text().to_string();
    assert!(offered.contains('۱') && offered.contains('۲'), "{offer:?}");
    let resumed = rig.step(&latest("a2", TurnKind::Latest("1".into()))).await;
    assert!(matches!(resumed, Reply::Continue(_)));
    let end = rig
        .step(&latest("a2", TurnKind::Latest("0012345679".into())))
        .await;
    assert!(end.is_end(), "{end:?}");
    let plain = rig.step(&latest("a3", TurnKind::Start)).await;
    assert_ne!(plain.text(), offered, "a result leaves no offer");
    // The offer outlives the drop by `resume_for` only.
    rig.step(&latest("b1", TurnKind::Start)).await;
    rig.step(&latest("b1", TurnKind::Latest("1".into()))).await;
    rig.step(&latest("b1", TurnKind::Timeout)).await;
    tokio::time::advance(RESUME + Duration::from_secs(1)).await;
    let late = rig.step(&latest("b2", TurnKind::Start)).await;
    assert_ne!(late.text(), offered, "the offer expired: {late:?}");
}

#[tokio::test(start_paused = true)]
async fn an_idle_expiry_with_a_question_open_leaves_the_offer_without_a_sweeper() {
    let rig = rig();
    rig.step(&at("i1", PHONE, "1")).await;
    tokio::time::advance(IDLE + Duration::from_secs(1)).await;
    let offer = rig.step(&at("i2", PHONE, "")).await;
    let declined = rig.step(&at("i2", PHONE, "2")).await;
    assert_ne!(offer, declined);
    let after = rig.step(&at("i3", PHONE, "")).await;
    assert_eq!(after, declined, "declined: no offer, the first screen");
    // The session that left the offer, replayed by its path, is not offered its own place.
    rig.step(&at("j1", PHONE, "1")).await;
    tokio::time::advance(IDLE + Duration::from_secs(1)).await;
    let replay = rig.step(&at("j1", PHONE, "1*0012345679")).await;
    assert!(replay.is_end(), "{replay:?}");
    // Past idle + resume there is nothing to offer.
    rig.step(&at("k1", PHONE, "1")).await;
    tokio::time::advance(IDLE + RESUME + Duration::from_secs(1)).await;
    assert_eq!(rig.step(&at("k2", PHONE, "")).await, declined);
}

#[tokio::test]
async fn a_full_store_refuses_new_sessions_before_any_action() {
    let rig = rig_with(1, &[]);
    rig.step(&at("f1", PHONE, "")).await;
    let busy = rig.step(&at("f2", PHONE, "2*0012345679")).await;
    assert!(busy.is_end());
    assert_eq!(rig.calls(), 0, "no inquiry for a caller turned away");
    let known = rig.step(&at("f1", PHONE, "2")).await;
    assert!(
        matches!(known, Reply::Continue(_)),
        "a held session goes on"
    );
}

#[tokio::test]
async fn a_chosen_locale_opens_the_next_session_and_a_replay_starts_where_it_did() {
    let rig = rig();
    let persian = rig.step(&at("p1", PHONE, "")).await;
    let english = rig.step(&at("p1", PHONE, "9")).await;
    assert_ne!(persian, english);
    assert_eq!(rig.step(&at("p2", PHONE, "")).await, english, "remembered");
    let other = rig.step(&at("p3", "989120000002", "")).await;
    assert_eq!(other, persian, "per caller");
    // p1 replayed on a store that lost it but kept the choice: it starts in Persian again.
    let key = SessionKey::new("at", "p1");
    let held = rig.store.load(&key, None).await.expect("loads").session;
    let remove = Write {
        key,
        session: SessionWrite::Remove {
            expected: held.map(|h| h.version),
        },
        caller: None,
    };
    rig.store.save(remove).await.expect("removed");
    assert_eq!(rig.step(&at("p1", PHONE, "9")).await, english);
}

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

/// The walk's state is kilobytes: it lives on the heap, so the step's own future stays small
/// and cheap to move into its task.
#[test]
fn the_step_future_is_small() {
    let rig = rig();
    let turn = at("s", PHONE, "");
    let step = rig.engine.step(&turn);
    assert!(
        std::mem::size_of_val(&step) < 1024,
        "{} bytes",
        std::mem::size_of_val(&step)
    );
}

#[tokio::test]
async fn a_code_no_service_answers_is_told_in_the_callers_likely_language_and_english() {
    let rig = rig();
    let unknown = |msisdn: &str| {
        Turn::new(&Arc::from("at"), "u", msisdn, TurnKind::Path(String::new())).dialled("*999#")
    };
    let persian = rig.step(&unknown("989120000001")).await;
    assert_eq!(
        persian,
        Reply::End("این کد فعال نیست.\nThis code is not in service.".into())
    );
    let kazakh = rig.step(&unknown("77010000001")).await;
    assert!(kazakh.text().starts_with("Бұл нөмір"), "{kazakh:?}");
    let russian = rig.step(&unknown("79990000001")).await;
    assert!(russian.text().starts_with("Этот номер"), "{russian:?}");
    let other = rig.step(&unknown("447700900000")).await;
    assert_eq!(other, Reply::End("This code is not in service.".into()));
    for reply in [persian, kazakh, russian] {
        assert!(
            crate::text::gsm7::fits(reply.text(), Budget::default()),
            "{reply:?}"
        );
    }
}

#[tokio::test]
async fn a_start_under_the_id_of_an_ended_session_is_a_new_session() {
    let rig = rig_with(1_000, &[("stub", "tamin")]);
    let menu = rig.step(&latest("reused", TurnKind::Start)).await;
    rig.step(&latest("reused", TurnKind::Latest("2".into())))
        .await;
    let end = rig
        .step(&latest("reused", TurnKind::Latest("0012345679".into())))
        .await;
    assert!(end.is_end());
    assert_eq!(
        rig.step(&latest("reused", TurnKind::Start)).await,
        menu,
        "the first screen again, not the last session's end"
    );
}

#[tokio::test]
async fn a_dialect_with_a_smaller_screen_gets_its_pages_within_it() {
    let mut rig = rig();
    let small = Budget { gsm7: 80, ucs2: 40 };
    let engine = Arc::get_mut(&mut rig.engine).expect("one owner");
    Arc::make_mut(&mut engine.dialects)
        .screens
        .insert("small".into(), small);
    let wide = rig.step(&at("w1", PHONE, "")).await;
    let narrow_turn = Turn::new(
        &Arc::from("small"),
        "n1",
        PHONE,
        TurnKind::Path(String::new()),
    )
    .dialled(TAMIN);
    let narrow = rig.step(&narrow_turn).await;
    assert!(crate::text::gsm7::fits(narrow.text(), small), "{narrow:?}");
    assert!(
        !crate::text::gsm7::fits(wide.text(), small),
        "the same menu is wider elsewhere"
    );
    assert!(crate::text::gsm7::fits(wide.text(), Budget::default()));
}

#[tokio::test]
async fn a_network_with_a_smaller_screen_gets_its_pages_within_it_and_no_other_does() {
    let mut rig = rig();
    let small = Budget { gsm7: 80, ucs2: 40 };
    let engine = Arc::get_mut(&mut rig.engine).expect("one owner");
    Arc::make_mut(&mut engine.dialects)
        .networks
        .insert(("at".into(), "mtn".into()), small);
    let from = |session: &str, network: Option<&str>| {
        let mut turn = at(session, PHONE, "");
        turn.network = network.map(str::to_string);
        turn
    };
    // The network's code is matched ignoring case: `MTN` is the `mtn` configured.
    let narrow = rig.step(&from("n1", Some("MTN"))).await;
    assert!(crate::text::gsm7::fits(narrow.text(), small), "{narrow:?}");
    for (session, network) in [("o1", Some("vodafone")), ("o2", None)] {
        let wide = rig.step(&from(session, network)).await;
        assert!(
            !crate::text::gsm7::fits(wide.text(), small),
            "{network:?}: {wide:?}"
        );
        assert!(crate::text::gsm7::fits(wide.text(), Budget::default()));
    }
}

#[tokio::test]
async fn a_network_screen_is_never_wider_than_its_dialects() {
    let mut rig = rig();
    let engine = Arc::get_mut(&mut rig.engine).expect("one owner");
    let dialect = Budget { gsm7: 80, ucs2: 40 };
    Arc::make_mut(&mut engine.dialects)
        .screens
        .insert("at".into(), dialect);
    let network = Budget {
        gsm7: 182,
        ucs2: 80,
    };
    Arc::make_mut(&mut engine.dialects)
        .networks
        .insert(("at".into(), "mtn".into()), network);
    let mut turn = at("w1", PHONE, "");
    turn.network = Some("mtn".into());
    let reply = rig.step(&turn).await;
    assert!(crate::text::gsm7::fits(reply.text(), dialect), "{reply:?}");
}

/// Fails every action, as a store that cannot be read would.
struct Failing;

impl ActionRunner for Failing {
    fn run<'a>(&'a self, action: &'a str, _call: ActionCall<'a>) -> ActionFuture<'a> {
        Box::pin(async move {
            Err(ActionFailure {
                action: action.to_string(),
                reason: "the store is gone".into(),
                limited: None,
            })
        })
    }
}

/// The funnel's counts of tamin's `screen`, by reason (only the reasons counted).
fn ends_at(funnel: &Funnel, screen: &str) -> Vec<(&'static str, u64)> {
    let view = funnel.view();
    let Some(row) = view
        .iter()
        .find(|r| r.service == "tamin" && r.screen == screen)
    else {
        return Vec::new();
    };
    row.reasons
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(r, n)| (*r, *n))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn each_end_is_counted_once_on_its_screen_with_its_reason() {
    let funnel = Arc::new(Funnel::default());
    let rig = rig_with(1_000, &[("stub", "tamin")]);
    let engine = Arc::new(
        rig.engine_over(rig.store.clone(), rig.actions.clone())
            .with_funnel(funnel.clone()),
    );
    let step = |turn: Turn| {
        let engine = engine.clone();
        async move { engine.step(&turn).await }
    };
    // A result, retried: one end.
    step(at("r", PHONE, "")).await;
    step(at("r", PHONE, "1")).await;
    assert!(step(at("r", PHONE, "1*0012345679")).await.is_end());
    step(at("r", PHONE, "1*0012345679")).await;
    assert_eq!(ends_at(&funnel, "own_covered"), [("result", 1)]);
    // Three wrong answers on the national code question.
    for path in ["", "1", "1*1", "1*1*2"] {
        assert!(!step(at("w", PHONE, path)).await.is_end(), "{path}");
    }
    assert!(step(at("w", PHONE, "1*1*2*3")).await.is_end());
    // An abort and a timeout with a question open; an abort after the end counts nothing.
    step(latest("a", TurnKind::Start)).await;
    step(latest("a", TurnKind::Latest("2".into()))).await;
    step(latest("a", TurnKind::Abort)).await;
    step(latest("a", TurnKind::Abort)).await;
    // Another phone: this one's next session would be offered the place "a" left.
    let other = |kind| Turn::new(&Arc::from("stub"), "t", "989120000002", kind);
    step(other(TurnKind::Start)).await;
    step(other(TurnKind::Latest("1".into()))).await;
    step(other(TurnKind::Timeout)).await;
    step(at("r", PHONE, "1*0012345679")).await;
    assert_eq!(
        ends_at(&funnel, "own_code"),
        [("timeout", 1), ("wrong_answers", 1)]
    );
    assert_eq!(ends_at(&funnel, "general_number"), [("abort", 1)]);
    assert_eq!(ends_at(&funnel, "own_covered"), [("result", 1)]);

    // An action that fails ends the session with an error where the caller stood.
    let failing = rig
        .engine_over(Arc::new(MemoryStore::new(10)), Arc::new(Failing))
        .with_funnel(funnel.clone());
    failing.step(&at("e", PHONE, "")).await;
    failing.step(&at("e", PHONE, "1")).await;
    assert!(failing.step(&at("e", PHONE, "1*0012345679")).await.is_end());
    assert_eq!(
        ends_at(&funnel, "own_code"),
        [("error", 1), ("timeout", 1), ("wrong_answers", 1)]
    );
}

/// A memory store that counts the reads made of it.
struct CountingReads {
    inner: MemoryStore,
    loads: AtomicU64,
    saves: AtomicU64,
}

impl SessionStore for CountingReads {
    fn load<'a>(
        &'a self,
        key: &'a SessionKey,
        caller: Option<&'a CallerKey>,
    ) -> crate::session_store::StoreFuture<'a, Loaded> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        self.inner.load(key, caller)
    }

    fn save(&self, write: Write) -> crate::session_store::StoreFuture<'_, Option<Version>> {
        self.saves.fetch_add(1, Ordering::SeqCst);
        self.inner.save(write)
    }

    fn count(&self) -> crate::session_store::StoreFuture<'_, usize> {
        self.inner.count()
    }

    fn open_by_service(
        &self,
    ) -> crate::session_store::StoreFuture<'_, std::collections::BTreeMap<String, usize>> {
        self.inner.open_by_service()
    }
}

/// The menu version of the session `id` holds (on Africa's Talking, as `at` makes it).
async fn menus_of(store: &MemoryStore, id: &str) -> u64 {
    let key = SessionKey::new("at", id);
    let held = store.load(&key, None).await.expect("loads").session;
    held.expect("held").session.menus
}

#[tokio::test]
async fn after_a_menu_reload_each_step_reads_its_session_once_and_keeps_its_version() {
    let menus = load_menus(&Path::new(env!("CARGO_MANIFEST_DIR")).join("menus")).expect("menus");
    let store = Arc::new(CountingReads {
        inner: MemoryStore::new(100),
        loads: AtomicU64::new(0),
        saves: AtomicU64::new(0),
    });
    let settings = settings();
    let engine = Engine::new(
        Arc::new(menus.clone()),
        store.clone(),
        Arc::new(Counting::default()),
        KeyedHasher::new([7; 32]),
        settings,
        PerDialect::default(),
    );
    let opened = engine.step(&at("before", PHONE, "")).await;
    assert_eq!(engine.install_menus(menus.clone()), 1);
    assert_eq!(engine.install_menus(menus), 2);
    let reads = store.loads.load(Ordering::SeqCst);
    let next = engine.step(&at("before", PHONE, "2")).await;
    assert_eq!(store.loads.load(Ordering::SeqCst), reads + 1, "one read");
    assert!(!next.is_end() && next.text() != opened.text(), "{next:?}");
    assert_eq!(
        menus_of(&store.inner, "before").await,
        0,
        "ends on the version it began on"
    );
    let reads = store.loads.load(Ordering::SeqCst);
    // Another phone: this one has a question open, and would be offered its place back.
    let fresh = engine.step(&at("after", "989120000002", "")).await;
    assert_eq!(store.loads.load(Ordering::SeqCst), reads + 1, "one read");
    assert_eq!(fresh.text(), opened.text(), "the same menus, reloaded");
    assert_eq!(
        menus_of(&store.inner, "after").await,
        2,
        "a new session opens on the current one"
    );
}

// One action per step across nodes (`claim`): engines that share a store but not their turn
// locks, as two nodes over one Redis do.

/// An engine over `store` with `actions`: another node of the same deployment.
fn node(store: Arc<dyn SessionStore>, actions: Arc<Counting>) -> Arc<Engine> {
    let menus = load_menus(&Path::new(env!("CARGO_MANIFEST_DIR")).join("menus")).expect("menus");
    let settings = settings();
    let engine = Engine::new(
        Arc::new(menus),
        store,
        actions,
        KeyedHasher::new([7; 32]),
        settings,
        PerDialect::default(),
    );
    Arc::new(engine)
}

fn is_claim(write: &Write) -> bool {
    matches!(&write.session, SessionWrite::Put { session, .. }
        if matches!(session.phase, Phase::Acting { .. }))
}

/// A memory store where the first claim waits until a second claim has been accepted: the
/// step that reached its action first loses the race to claim it. It counts the claims it
/// refused and the reads that found a session claimed.
struct LateClaim {
    inner: MemoryStore,
    claims: AtomicU64,
    refused: AtomicU64,
    claimed_reads: AtomicU64,
    second_accepted: tokio::sync::Notify,
}

impl SessionStore for LateClaim {
    fn load<'a>(
        &'a self,
        key: &'a SessionKey,
        caller: Option<&'a CallerKey>,
    ) -> crate::session_store::StoreFuture<'a, Loaded> {
        Box::pin(async move {
            let loaded = self.inner.load(key, caller).await?;
            if loaded.session.as_ref().is_some_and(is_claimed) {
                self.claimed_reads.fetch_add(1, Ordering::SeqCst);
            }
            Ok(loaded)
        })
    }

    fn save(&self, write: Write) -> crate::session_store::StoreFuture<'_, Option<Version>> {
        Box::pin(async move {
            let claim = is_claim(&write);
            let nth = if claim {
                self.claims.fetch_add(1, Ordering::SeqCst)
            } else {
                u64::MAX
            };
            if nth == 0 {
                self.second_accepted.notified().await;
            }
            let saved = self.inner.save(write).await;
            if claim && saved == Err(StoreError::Conflict) {
                self.refused.fetch_add(1, Ordering::SeqCst);
            }
            if nth == 1 && saved.is_ok() {
                self.second_accepted.notify_one();
            }
            saved
        })
    }

    fn count(&self) -> crate::session_store::StoreFuture<'_, usize> {
        self.inner.count()
    }

    fn open_by_service(&self) -> crate::session_store::StoreFuture<'_, BTreeMap<String, usize>> {
        self.inner.open_by_service()
    }
}

#[tokio::test]
async fn a_step_that_loses_the_claim_race_runs_no_action_and_replays_the_winners_reply() {
    let store = Arc::new(LateClaim {
        inner: MemoryStore::new(1_000),
        claims: AtomicU64::new(0),
        refused: AtomicU64::new(0),
        claimed_reads: AtomicU64::new(0),
        second_accepted: tokio::sync::Notify::new(),
    });
    let (on_a, on_b) = (Arc::new(Counting::default()), Arc::new(Counting::default()));
    let a = node(store.clone(), on_a.clone());
    let b = node(store.clone(), on_b.clone());
    assert!(matches!(
        a.step(&at("lose", PHONE, "2")).await,
        Reply::Continue(_)
    ));
    let last = at("lose", PHONE, "2*0012345679");
    // `a` reaches its action first, and its claim is held until `b`'s is accepted.
    let first = tokio::spawn({
        let (a, last) = (a.clone(), last.clone());
        async move { a.step(&last).await }
    });
    while store.claims.load(Ordering::SeqCst) == 0 {
        tokio::task::yield_now().await;
    }
    let won = b.step(&last).await;
    let lost = first.await.expect("step");
    assert!(won.is_end(), "{won:?}");
    assert_eq!(lost, won, "the loser replays the winner's reply");
    assert_eq!(
        on_b.calls.load(Ordering::SeqCst),
        1,
        "the winner ran the action"
    );
    assert_eq!(on_a.calls.load(Ordering::SeqCst), 0, "the loser ran none");
    assert_eq!(store.claims.load(Ordering::SeqCst), 2);
    assert_eq!(store.refused.load(Ordering::SeqCst), 1, "the loser's claim");
    assert!(
        store.claimed_reads.load(Ordering::SeqCst) >= 1,
        "the loser found the claim and waited for it"
    );
    let held = store
        .inner
        .load(&last_key("lose"), None)
        .await
        .expect("read");
    let held = held.session.expect("held");
    assert!(held.session.is_ended(), "the result replaced the claim");
}

fn last_key(session: &str) -> SessionKey {
    SessionKey::new("at", session)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_final_step_sent_to_two_nodes_at_once_runs_its_action_once() {
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new(1_000));
    let actions = Arc::new(Counting::default());
    let nodes = [
        node(store.clone(), actions.clone()),
        node(store.clone(), actions.clone()),
    ];
    for round in 0..40 {
        let id = format!("two-{round}");
        nodes[round % 2].step(&at(&id, PHONE, "2")).await;
        let before = actions.calls.load(Ordering::SeqCst);
        let barrier = Arc::new(tokio::sync::Barrier::new(4));
        let tasks: Vec<_> = (0..4)
            .map(|i| {
                let (engine, barrier) = (nodes[i % 2].clone(), barrier.clone());
                let turn = at(&id, PHONE, "2*0012345679");
                tokio::spawn(async move {
                    barrier.wait().await;
                    engine.step(&turn).await
                })
            })
            .collect();
        let mut replies = Vec::new();
        for task in tasks {
            replies.push(task.await.expect("step"));
        }
        let calls = actions.calls.load(Ordering::SeqCst) - before;
        assert_eq!(calls, 1, "round {round}: one action over both nodes");
        assert!(replies[0].is_end(), "{:?}", replies[0]);
        assert!(
            replies.iter().all(|r| *r == replies[0]),
            "round {round}: one reply on both nodes: {replies:?}"
        );
    }
}

/// The session of `id` after its first two steps, claimed as a node that died mid-action
/// would have left it.
async fn claimed_and_abandoned(rig: &Rig, id: &str) {
    assert!(matches!(
        rig.step(&at(id, PHONE, "2")).await,
        Reply::Continue(_)
    ));
    let held = rig.store.load(&last_key(id), None).await.expect("read");
    let held = held.session.expect("held");
    let write = Write {
        key: last_key(id),
        session: SessionWrite::Put {
            session: claim::claim_of(&held.session),
            expected: Some(held.version),
            ttl: IDLE,
        },
        caller: None,
    };
    rig.store.save(write).await.expect("claimed");
}

#[tokio::test(start_paused = true)]
async fn a_claim_whose_holder_died_is_taken_over_after_its_lease() {
    let rig = rig();
    claimed_and_abandoned(&rig, "died").await;
    let began = tokio::time::Instant::now();
    let reply = rig.step(&at("died", PHONE, "2*0012345679")).await;
    assert!(reply.is_end(), "the step was taken over: {reply:?}");
    assert_eq!(
        rig.calls(),
        1,
        "the action ran once, on the node that took over"
    );
    assert!(
        began.elapsed() >= claim::LEASE,
        "not taken over before the lease: {:?}",
        began.elapsed()
    );
    // A retry now is a retry: no second action.
    assert_eq!(rig.step(&at("died", PHONE, "2*0012345679")).await, reply);
    assert_eq!(rig.calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_step_that_finds_a_claim_waits_for_its_result_within_the_lease() {
    let rig = rig();
    claimed_and_abandoned(&rig, "busy").await;
    // The claiming node writes its result a second later (within the lease).
    let result = Reply::End("the winner's reply".into());
    let writer = {
        let (store, result) = (rig.store.clone(), result.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let held = store.load(&last_key("busy"), None).await.expect("read");
            let held = held.session.expect("held");
            let mut session = held.session;
            session.phase = Phase::Ended { result: true };
            session.path = "2*0012345679".into();
            session.last = Some(result);
            let write = Write {
                key: last_key("busy"),
                session: SessionWrite::Put {
                    session,
                    expected: Some(held.version),
                    ttl: IDLE,
                },
                caller: None,
            };
            store.save(write).await.expect("the result")
        })
    };
    let reply = rig.step(&at("busy", PHONE, "2*0012345679")).await;
    writer.await.expect("writer");
    assert_eq!(reply, result, "the winner's reply, replayed");
    assert_eq!(rig.calls(), 0, "no action on the waiting node");
}

#[tokio::test(start_paused = true)]
async fn a_status_question_is_not_held_up_by_a_claim() {
    let rig = rig();
    claimed_and_abandoned(&rig, "asked").await;
    let mut status = at("asked", PHONE, "");
    status.kind = TurnKind::Status;
    let began = tokio::time::Instant::now();
    assert_eq!(rig.step(&status).await, Reply::Continue(String::new()));
    assert!(began.elapsed() < claim::LEASE, "answered without waiting");
}

/// The writes of a step that runs an action: its claim and its result where other nodes share
/// the store, its result alone where none does.
#[tokio::test]
async fn a_step_claims_before_its_action_only_where_other_nodes_share_the_store() {
    for (claims, writes) in [(true, 2), (false, 1)] {
        let rig = rig_with(100, &[("at", "tamin")]);
        let store = Arc::new(CountingReads {
            inner: MemoryStore::new(100),
            loads: AtomicU64::new(0),
            saves: AtomicU64::new(0),
        });
        let actions = Arc::new(Counting::default());
        let engine = rig
            .engine_over(store.clone(), actions.clone())
            .with_claims(claims);
        engine.step(&at("c", PHONE, "")).await;
        engine.step(&at("c", PHONE, "2")).await;
        let before = store.saves.load(Ordering::SeqCst);
        let answer = engine.step(&at("c", PHONE, "2*0012345679")).await;
        assert!(answer.is_end(), "{answer:?}");
        assert_eq!(actions.calls.load(Ordering::SeqCst), 1, "claims {claims}");
        assert_eq!(
            store.saves.load(Ordering::SeqCst) - before,
            writes,
            "claims {claims}"
        );
    }
}
