//! One step of a session through a menu tree: the caller's input against the screen on display,
//! and what the phone shows next.
//!
//! The walker reads the screens of a [`Service`] and changes a [`Session`]; it never reads a
//! wire format, the session table or the store. Navigation is the same on every screen: `0`
//! back (a page, else a screen), `00` home, `98` the next page of a long screen. A wrong answer
//! is explained and the question asked again; the third wrong answer to one question ends the
//! session politely (SPEC §3). Actions are reached through [`ActionRunner`], so the walk can be
//! tested without a store.

pub(crate) mod validate;

use crate::catalog::Validator;

use crate::ids::normalize_digits;
use crate::limits::Limited;
use crate::menu::render::{pages, screen_text};
use crate::menu::{Screen, Service, SWITCH_LOCALE};
use crate::session::{Answer, Phase, Session};
use crate::text::gsm7::Budget;
use crate::turn::Reply;

/// The most action screens one step may chain through (a guard against a loop in a menu file).
const MAX_CHAIN: usize = 8;
/// The wrong answers to one question that end the session.
pub(crate) const MAX_TRIES: u8 = 3;

/// What an action is given.
pub(crate) struct ActionCall<'a> {
    pub(crate) service: &'a Service,
    /// The action screen being run (what `daftar check` reports a shortcut reaches).
    pub(crate) screen: &'a str,
    pub(crate) locale: &'a str,
    pub(crate) msisdn: &'a str,
    /// The answers given so far, typed, under the names their screens save them as.
    pub(crate) answers: &'a [(String, Answer)],
    /// Where the inquiry came from, for the audit trail (`ussd:africastalking`).
    pub(crate) channel: &'a str,
}

/// What an action found: the outcome that names the next screen, and words for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub(crate) name: &'static str,
    pub(crate) vars: Vec<(String, String)>,
    /// Answers the action keeps in the session for its next run (a count of wrong pairs),
    /// saved as a validator's answer is.
    pub(crate) save: Vec<(String, Answer)>,
}

impl Outcome {
    /// An outcome that keeps nothing in the session.
    pub(crate) fn new(name: &'static str, vars: Vec<(String, String)>) -> Outcome {
        Outcome {
            name,
            vars,
            save: Vec::new(),
        }
    }
}

/// An action could not be carried out (the store failed): the caller is told to try later.
#[derive(Debug, thiserror::Error)]
#[error("action {action} failed: {reason}")]
pub(crate) struct ActionFailure {
    pub(crate) action: String,
    pub(crate) reason: String,
    /// The question was not put: a limit held the caller back (the caller is told the wait).
    pub(crate) limited: Option<Limited>,
}

/// What an action's future gives: boxed, so that a walk holds any runner behind `dyn`.
pub(crate) type ActionFuture<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Outcome, ActionFailure>> + Send + 'a>,
>;

/// Runs the actions that menu files name. An action may wait (a write of the audit trail
/// goes through the writer thread), so it is a future.
pub(crate) trait ActionRunner: Send + Sync {
    fn run<'a>(&'a self, action: &'a str, call: ActionCall<'a>) -> ActionFuture<'a>;
}

/// A walk through one service's menu tree, for one caller.
pub(crate) struct Walk<'a> {
    pub(crate) service: &'a Service,
    pub(crate) runner: &'a dyn ActionRunner,
    pub(crate) budget: Budget,
    /// The dialect the caller came through, named in the audit trail as `ussd:<dialect>`.
    pub(crate) dialect: &'a str,
    /// The caller's MSISDN, from the turn (sessions keep none).
    pub(crate) msisdn: &'a str,
}

impl Walk<'_> {
    /// The first screen of a session: the start screen, or the resume offer when one is set.
    pub(crate) async fn open(&self, session: &mut Session) -> Reply {
        let reply = if session.phase == Phase::Offer {
            self.show_offer(session)
        } else {
            let start = self.service.spec.start.clone();
            self.enter(session, &start, Vec::new()).await
        };
        session.last = Some(reply.clone());
        reply
    }

    /// The caller's `input` on the screen on display.
    pub(crate) async fn input(&self, session: &mut Session, input: &str) -> Reply {
        let reply = self.step(session, input).await;
        session.last = Some(reply.clone());
        reply
    }

    async fn step(&self, session: &mut Session, input: &str) -> Reply {
        let key = normalize_digits(input);
        match session.phase {
            Phase::Ended { .. } => {
                return session
                    .last
                    .clone()
                    .unwrap_or_else(|| self.unavailable(session))
            }
            Phase::Offer => return self.answer_offer(session, &key).await,
            // The engine hands no claimed session to a walk (it waits, or takes it over).
            Phase::Open | Phase::Acting { .. } => {}
        }
        match key.as_str() {
            "00" => return self.home(session).await,
            "0" => return self.back(session),
            "98" if session.page + 1 < session.pages.len() => {
                session.page += 1;
                return self.current_page(session);
            }
            _ => {}
        }
        let Some(screen) = self.service.screen(&session.place.screen) else {
            return self.unavailable(session);
        };
        match screen {
            Screen::Menu { options, .. } => match options.iter().find(|o| o.key == key) {
                Some(o) if o.next == SWITCH_LOCALE => self.switch_locale(session),
                Some(o) => self.go(session, &o.next).await,
                None => self.wrong(session, "error.option"),
            },
            Screen::Input {
                validator,
                save,
                next,
                ..
            } => {
                // `daftar check` refuses a menu that names an unknown validator.
                let Some(validator) = Validator::from_name(validator) else {
                    return self.unavailable(session);
                };
                match validator.check(input, &self.service.spec) {
                    Ok(answer) => {
                        set_answer(session, save, answer);
                        self.go(session, next).await
                    }
                    Err(message) => self.wrong(session, message),
                }
            }
            Screen::End { .. } | Screen::Action { .. } => self.wrong(session, "error.option"),
        }
    }

    fn switch_locale(&self, session: &mut Session) -> Reply {
        session.place.locale = self.service.other_locale(&session.place.locale).to_string();
        session.locale_chosen = true;
        self.show(session, &[])
    }

    /// Leaves the current screen for `next`, remembering the way back.
    async fn go(&self, session: &mut Session, next: &str) -> Reply {
        let here = session.place.screen.clone();
        session.place.history.push(here);
        self.enter(session, next, Vec::new()).await
    }

    /// Arrives at `id`, running action screens until one the caller sees.
    async fn enter(
        &self,
        session: &mut Session,
        id: &str,
        mut vars: Vec<(String, String)>,
    ) -> Reply {
        let mut id = id.to_string();
        for _ in 0..MAX_CHAIN {
            let Some(screen) = self.service.screen(&id) else {
                return self.unavailable(session);
            };
            let Screen::Action { action, outcomes } = screen else {
                session.place.screen = id;
                session.tries = 0;
                return self.show(session, &vars);
            };
            let channel = format!("ussd:{}", self.dialect);
            let call = ActionCall {
                service: self.service,
                screen: &id,
                locale: &session.place.locale,
                msisdn: self.msisdn,
                answers: &session.place.answers,
                channel: &channel,
            };
            let outcome = match self.runner.run(action, call).await {
                Ok(outcome) => outcome,
                Err(ActionFailure {
                    limited: Some(limited),
                    ..
                }) => return self.held_back(session, &limited),
                Err(failure) => {
                    tracing::error!(service = %self.service.id(), %failure, "action failed");
                    return self.unavailable(session);
                }
            };
            vars.extend(outcome.vars);
            for (name, answer) in outcome.save {
                set_answer(session, &name, answer);
            }
            match outcomes.get(outcome.name) {
                Some(next) => id = next.clone(),
                None => return self.unavailable(session),
            }
        }
        tracing::error!(service = %self.service.id(), "action screens chain too long");
        self.unavailable(session)
    }

    /// Renders the current screen from its first page; a screen without an action's variables
    /// is rendered once per locale and budget and its pages shared (`render::Rendered`).
    fn show(&self, session: &mut Session, vars: &[(String, String)]) -> Reply {
        if !vars.is_empty() {
            let text = self.screen_text(session, vars);
            return self.paged(session, &text);
        }
        let locale = &session.place.locale;
        let cut =
            self.service
                .rendered
                .pages_of(self.budget, locale, &session.place.screen, || {
                    let text = self.screen_text(session, &[]);
                    pages(self.service, locale, &text, self.budget)
                });
        self.show_pages(session, cut.to_vec())
    }

    fn screen_text(&self, session: &Session, vars: &[(String, String)]) -> String {
        let Some(screen) = self.service.screen(&session.place.screen) else {
            return String::new();
        };
        let mut all = self.base_vars();
        all.extend_from_slice(vars);
        screen_text(self.service, screen, &session.place.locale, &all)
    }

    /// Cuts `text` into pages, keeps them when there is more than one, shows the first.
    fn paged(&self, session: &mut Session, text: &str) -> Reply {
        let cut = pages(self.service, &session.place.locale, text, self.budget);
        self.show_pages(session, cut)
    }

    /// Shows the first of `cut`, keeping them all when there is more than one.
    fn show_pages(&self, session: &mut Session, mut cut: Vec<String>) -> Reply {
        session.page = 0;
        if cut.len() > 1 {
            session.pages = cut;
            return self.current_page(session);
        }
        session.pages.clear();
        let only = cut.pop().unwrap_or_default();
        self.finish(session, only, true)
    }

    fn current_page(&self, session: &mut Session) -> Reply {
        let text = session.pages.get(session.page).cloned().unwrap_or_default();
        let last = session.page + 1 >= session.pages.len();
        self.finish(session, text, last)
    }

    /// A page of the current screen: the session ends on the last page of an end screen.
    fn finish(&self, session: &mut Session, text: String, last_page: bool) -> Reply {
        match self.service.screen(&session.place.screen) {
            Some(Screen::End { result, .. }) if last_page && session.phase == Phase::Open => {
                session.phase = Phase::Ended { result: *result };
                session.pages.clear();
                Reply::End(text)
            }
            _ => Reply::Continue(text),
        }
    }

    fn back(&self, session: &mut Session) -> Reply {
        if session.page > 0 {
            session.page -= 1;
            return self.current_page(session);
        }
        if let Some(previous) = session.place.history.pop() {
            session.place.screen = previous;
        }
        session.tries = 0;
        self.show(session, &[])
    }

    /// Back to the first screen with the caller's answers forgotten, but not the counts an
    /// action keeps (`00` must not reset the wrong matricule and CIN pairs of a session).
    async fn home(&self, session: &mut Session) -> Reply {
        session.place.history.clear();
        session
            .place
            .answers
            .retain(|(_, answer)| matches!(answer, Answer::Count(_)));
        let start = self.service.spec.start.clone();
        self.enter(session, &start, Vec::new()).await
    }

    /// A wrong answer: explained and asked again, or the end after the third.
    fn wrong(&self, session: &mut Session, message: &str) -> Reply {
        session.tries += 1;
        let locale = session.place.locale.clone();
        let words = self.service.words(&locale);
        if session.tries >= MAX_TRIES {
            session.phase = Phase::Ended { result: false };
            session.pages.clear();
            let text = words.fill("error.too_many", &self.base_vars());
            return self.end_text(&locale, &text);
        }
        if !session.pages.is_empty() {
            // A page of a long screen: shown again as it is (its words came from an action
            // that is not run twice, and an explanation would push it over its budget).
            return self.current_page(session);
        }
        let again = if session.phase == Phase::Offer {
            words.get("resume.offer").to_string()
        } else {
            self.screen_text(session, &[])
        };
        let text = format!("{}\n{again}", words.fill(message, &self.base_vars()));
        let mut cut = pages(self.service, &locale, &text, self.budget);
        session.page = 0;
        if cut.len() > 1 {
            session.pages = cut;
            return self.current_page(session);
        }
        session.pages.clear();
        Reply::Continue(cut.pop().unwrap_or_default())
    }

    fn show_offer(&self, session: &mut Session) -> Reply {
        let locale = session.place.locale.clone();
        let text = self.service.words(&locale).get("resume.offer").to_string();
        session.pages.clear();
        session.page = 0;
        Reply::Continue(first_page(pages(self.service, &locale, &text, self.budget)))
    }

    async fn answer_offer(&self, session: &mut Session, key: &str) -> Reply {
        match key {
            "1" => {
                if let Some(place) = session.offered.take() {
                    session.place = place;
                }
                session.phase = Phase::Open;
                session.tries = 0;
                self.show(session, &[])
            }
            "2" => {
                session.offered = None;
                session.phase = Phase::Open;
                self.home(session).await
            }
            _ => self.wrong(session, "error.option"),
        }
    }

    /// The store or a menu failed: a short apology, the session ends.
    fn unavailable(&self, session: &mut Session) -> Reply {
        session.phase = Phase::Ended { result: false };
        session.pages.clear();
        let locale = session.place.locale.clone();
        let text = self
            .service
            .words(&locale)
            .fill("error.unavailable", &self.base_vars());
        self.end_text(&locale, &text)
    }

    /// The END of a caller a limit held back, naming the wait in their words.
    fn held_back(&self, session: &mut Session, limited: &Limited) -> Reply {
        session.phase = Phase::Ended { result: false };
        session.pages.clear();
        let locale = session.place.locale.clone();
        let words = self.service.words(&locale);
        let text = limited.told(words, &locale, &self.base_vars());
        self.end_text(&locale, &text)
    }

    /// A final message, cut to the first page if an author made it too long.
    fn end_text(&self, locale: &str, text: &str) -> Reply {
        Reply::End(first_page(pages(self.service, locale, text, self.budget)))
    }

    fn base_vars(&self) -> Vec<(String, String)> {
        vec![(
            "complaints".to_string(),
            self.service.spec.complaints.clone().unwrap_or_default(),
        )]
    }
}

fn first_page(pages: Vec<String>) -> String {
    pages.into_iter().next().unwrap_or_default()
}

fn set_answer(session: &mut Session, name: &str, value: Answer) {
    match session.place.answers.iter_mut().find(|(n, _)| n == name) {
        Some(slot) => slot.1 = value,
        None => session.place.answers.push((name.to_string(), value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::NationalCode;
    use crate::menu::{load_menus, Menus};
    use crate::session::Place;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A two-locale service whose action answers what the test says.
    fn demo() -> (tempfile::TempDir, Menus) {
        let dir = tempfile::tempdir().expect("temp dir");
        let service = r#"
            [service]
            id = "demo"
            insurer = "demo"
            codes = ["*1#"]
            locales = ["en", "fr"]
            time_zone = "UTC"
            complaints = "123"
            start = "main"

            [screens.main]
            kind = "menu"
            text = "title"
            options = [
              { key = "1", label = "ask", next = "code" },
              { key = "2", label = "list", next = "lookup" },
              { key = "9", label = "lang", next = "@locale" },
            ]

            [screens.code]
            kind = "input"
            text = "prompt"
            validator = "ir_national_code"
            save = "national_code"
            next = "lookup"

            [screens.lookup]
            kind = "action"
            action = "demo.lookup"
            outcomes = { short = "done", long = "long" }

            [screens.done]
            kind = "end"
            text = "done"
            result = true

            [screens.long]
            kind = "end"
            text = "long"
            result = true
            paged = true
        "#;
        let words = |title: &str| {
            format!(
                "title = \"{title}\"\nask = \"Ask\"\nlist = \"List\"\nlang = \"Lang\"\n\
                 prompt = \"Code?\"\ndone = \"Done {{code}}, call {{complaints}}\"\nlong = \"{{text}}\"\n\
                 [nav]\nmore = \"98. More\"\n[error]\noption = \"No such option.\"\n\
                 too_many = \"Too many.\"\nunavailable = \"Unavailable.\"\nlength = \"Wrong length.\"\n\
                 check_digit = \"Wrong check digit.\"\nnot_digits = \"Digits only.\"\n\
                 [resume]\noffer = \"Go on?\\n1. Yes\\n2. Again\"\n"
            )
        };
        std::fs::write(dir.path().join("demo.toml"), service).unwrap();
        std::fs::write(dir.path().join("demo.en.toml"), words("Demo")).unwrap();
        std::fs::write(dir.path().join("demo.fr.toml"), words("Démo")).unwrap();
        let menus = load_menus(dir.path()).expect("loads");
        (dir, menus)
    }

    /// Answers `short` (with a code) or a long text, or fails, as set; counts its calls.
    struct Fake {
        outcome: &'static str,
        calls: AtomicU32,
    }

    impl ActionRunner for Fake {
        fn run<'a>(&'a self, action: &'a str, _: ActionCall<'a>) -> ActionFuture<'a> {
            Box::pin(std::future::ready(self.answer(action)))
        }
    }

    impl Fake {
        fn answer(&self, action: &str) -> Result<Outcome, ActionFailure> {
            let before = self.calls.fetch_add(1, Ordering::SeqCst);
            let line = "a line of the long answer, long enough to need pages";
            match self.outcome {
                "fail" => Err(ActionFailure {
                    action: action.into(),
                    reason: "store down".into(),
                    limited: None,
                }),
                "long" => Ok(Outcome::new(
                    "long",
                    vec![("text".into(), [line; 8].join("\n"))],
                )),
                "save" => {
                    let mut outcome = Outcome::new("short", vec![]);
                    let count = u8::try_from(before + 1).unwrap_or(u8::MAX);
                    outcome.save.push(("runs".into(), Answer::Count(count)));
                    Ok(outcome)
                }
                other => Ok(Outcome::new(
                    if other == "nowhere" {
                        "nowhere"
                    } else {
                        "short"
                    },
                    vec![("code".into(), "1234567890".into())],
                )),
            }
        }
    }

    fn walk<'a>(menus: &'a Menus, runner: &'a Fake) -> Walk<'a> {
        Walk {
            service: menus.service("demo").expect("demo"),
            runner,
            budget: Budget::default(),
            dialect: "test",
            msisdn: "1",
        }
    }

    fn fake(outcome: &'static str) -> Fake {
        Fake {
            outcome,
            calls: AtomicU32::new(0),
        }
    }

    async fn opened(walk: &Walk<'_>) -> (Session, Reply) {
        let mut session = Session::new("demo", "c1", "main", "en");
        let reply = walk.open(&mut session).await;
        (session, reply)
    }

    #[tokio::test]
    async fn a_menu_lists_its_options_and_an_answer_runs_the_action_once() {
        let (_dir, menus) = demo();
        let runner = fake("short");
        let walk = walk(&menus, &runner);
        let (mut s, first) = opened(&walk).await;
        assert_eq!(
            first,
            Reply::Continue("Demo\n1. Ask\n2. List\n9. Lang".into())
        );
        assert_eq!(
            walk.input(&mut s, "1").await,
            Reply::Continue("Code?".into())
        );
        let end = walk.input(&mut s, "0012345679").await;
        assert_eq!(end, Reply::End("Done 1234567890, call 123".into()));
        assert_eq!(s.phase, Phase::Ended { result: true });
        assert_eq!(
            walk.input(&mut s, "anything").await,
            end,
            "an ended session repeats itself"
        );
        assert_eq!(runner.calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn the_third_wrong_answer_to_one_question_ends_the_session() {
        let (_dir, menus) = demo();
        let runner = fake("short");
        let walk = walk(&menus, &runner);
        let (mut s, _) = opened(&walk).await;
        walk.input(&mut s, "1").await;
        let cases = [
            ("0012345678", "Wrong check digit.\nCode?"),
            ("12", "Wrong length.\nCode?"),
        ];
        for (input, want) in cases {
            assert_eq!(
                walk.input(&mut s, input).await,
                Reply::Continue(want.into())
            );
        }
        assert_eq!(
            walk.input(&mut s, "x").await,
            Reply::End("Too many.".into())
        );
        assert_eq!(s.phase, Phase::Ended { result: false });
        assert_eq!(runner.calls.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn navigation_back_home_and_options_not_on_the_screen() {
        let (_dir, menus) = demo();
        let runner = fake("short");
        let walk = walk(&menus, &runner);
        let (mut s, first) = opened(&walk).await;
        assert_eq!(
            walk.input(&mut s, "0").await,
            first,
            "back at the root stays there"
        );
        walk.input(&mut s, "1").await;
        assert_eq!(walk.input(&mut s, "0").await, first);
        walk.input(&mut s, "1").await;
        assert_eq!(walk.input(&mut s, "00").await, first);
        assert!(s.place.history.is_empty());
        for wrong in ["7", "98", "", "٩٩"] {
            let reply = walk.input(&mut s, wrong).await;
            assert!(
                reply.text().starts_with("No such option."),
                "{wrong:?}: {reply:?}"
            );
            s.tries = 0;
        }
        assert_eq!(
            walk.input(&mut s, "۱").await,
            Reply::Continue("Code?".into()),
            "Persian digit"
        );
    }

    #[tokio::test]
    async fn nine_switches_locale_on_the_first_screen_only() {
        let (_dir, menus) = demo();
        let runner = fake("short");
        let walk = walk(&menus, &runner);
        let (mut s, _) = opened(&walk).await;
        let fr = walk.input(&mut s, "9").await;
        assert!(fr.text().starts_with("Démo"), "{fr:?}");
        assert!(s.locale_chosen);
        assert!(
            walk.input(&mut s, "9").await.text().starts_with("Demo"),
            "and back"
        );
        walk.input(&mut s, "1").await;
        assert!(walk
            .input(&mut s, "9")
            .await
            .text()
            .starts_with("Wrong length."));
    }

    #[tokio::test]
    async fn a_long_end_is_paged_and_ends_on_its_last_page() {
        let (_dir, menus) = demo();
        let runner = fake("long");
        let walk = walk(&menus, &runner);
        let (mut s, _) = opened(&walk).await;
        let mut reply = walk.input(&mut s, "2").await;
        let mut pages = vec![reply.clone()];
        while !reply.is_end() {
            assert!(reply.text().ends_with("98. More"), "{reply:?}");
            reply = walk.input(&mut s, "98").await;
            pages.push(reply.clone());
            assert!(pages.len() < 10);
        }
        assert!(pages.len() > 1);
        assert!(!reply.text().contains("98. More"));
        assert_eq!(
            runner.calls.load(Ordering::SeqCst),
            1,
            "paging runs no action again"
        );
        let (mut s, _) = opened(&walk).await;
        let page_one = walk.input(&mut s, "2").await;
        assert_eq!(
            walk.input(&mut s, "5").await,
            page_one,
            "a wrong key shows the page again"
        );
        assert_eq!(walk.input(&mut s, "x").await, page_one);
        assert_eq!(
            walk.input(&mut s, "7").await,
            Reply::End("Too many.".into())
        );
        let (mut s, _) = opened(&walk).await;
        let page_one = walk.input(&mut s, "2").await;
        walk.input(&mut s, "98").await;
        assert_eq!(
            walk.input(&mut s, "0").await,
            page_one,
            "0 goes back a page"
        );
    }

    #[tokio::test]
    async fn what_an_action_saves_is_kept_with_the_answers_and_replaced_on_its_next_run() {
        let (_dir, menus) = demo();
        let runner = fake("save");
        let walk = walk(&menus, &runner);
        let (mut s, _) = opened(&walk).await;
        walk.input(&mut s, "2").await;
        assert_eq!(s.place.answers, [("runs".to_string(), Answer::Count(1))]);
        let (mut s, _) = opened(&walk).await;
        s.place.answers.push(("runs".to_string(), Answer::Count(1)));
        walk.input(&mut s, "2").await;
        assert_eq!(
            s.place.answers,
            [("runs".to_string(), Answer::Count(2))],
            "replaced, not added"
        );
        // `00` forgets the caller's answers, not the action's counts.
        let (mut s, _) = opened(&walk).await;
        s.place.answers.push(("runs".to_string(), Answer::Count(1)));
        walk.input(&mut s, "1").await;
        let code = NationalCode::parse("0012345679").expect("valid");
        s.place
            .answers
            .push(("national_code".to_string(), Answer::NationalCode(code)));
        walk.input(&mut s, "00").await;
        assert_eq!(s.place.answers, [("runs".to_string(), Answer::Count(1))]);
    }

    #[tokio::test]
    async fn a_failing_or_misdeclared_action_ends_with_an_apology() {
        let (_dir, menus) = demo();
        for outcome in ["fail", "nowhere"] {
            let runner = fake(outcome);
            let walk = walk(&menus, &runner);
            let (mut s, _) = opened(&walk).await;
            assert_eq!(
                walk.input(&mut s, "2").await,
                Reply::End("Unavailable.".into())
            );
        }
    }

    #[tokio::test]
    async fn the_resume_offer_continues_or_starts_again() {
        let (_dir, menus) = demo();
        let runner = fake("short");
        let walk = walk(&menus, &runner);
        let place = Place {
            screen: "code".into(),
            history: vec!["main".into()],
            answers: vec![],
            locale: "fr".into(),
        };
        let offered = || async {
            let mut s = Session::new("demo", "c1", "main", "fr");
            s.phase = Phase::Offer;
            s.offered = Some(place.clone());
            let offer = walk.open(&mut s).await;
            assert_eq!(offer, Reply::Continue("Go on?\n1. Yes\n2. Again".into()));
            s
        };
        let mut s = offered().await;
        assert_eq!(
            walk.input(&mut s, "1").await,
            Reply::Continue("Code?".into())
        );
        assert_eq!(s.phase, Phase::Open);
        let mut s = offered().await;
        assert!(walk.input(&mut s, "2").await.text().starts_with("Démo"));
        let mut s = offered().await;
        assert!(walk
            .input(&mut s, "3")
            .await
            .text()
            .starts_with("No such option.\nGo on?"));
        assert_eq!(s.phase, Phase::Offer);
    }
}
