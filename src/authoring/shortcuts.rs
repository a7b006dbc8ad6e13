//! Stable shortcuts: the dialled strings a service promises in the `[shortcuts]` table of its
//! menu file (`"*4*1420*2#" = "general_number"`) are printed on posters and pharmacy stickers,
//! so an edit that makes one lead elsewhere is a fault.
//!
//! Each is resolved exactly as the engine resolves a dialled string: [`Menus::route`] splits the
//! code from its extra segments, and [`Walk`] answers them in order from the first screen, in the
//! service's default locale, with the engine's own validators. The walk stops at the first
//! action screen (no action runs, nothing is looked up): a shortcut reaches the screen the caller
//! is shown, or the action screen it would run.

use std::sync::Mutex;

use futures_util::FutureExt;

use crate::flow::{ActionCall, ActionFuture, ActionRunner, Outcome, Walk};
use crate::menu::check::Fault;
use crate::menu::{Menus, Service};
use crate::session::Session;
use crate::text::gsm7::Budget;

/// The outcome the stopping runner answers: no action screen has it, so the walk ends there.
const STOPPED: &str = "@shortcut";

/// Where a dialled string leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reached {
    /// The screen shown (or the action screen run) after the last segment.
    Screen(String),
    /// A segment was refused on `screen` (not an option, or a wrong answer).
    Refused { screen: String, input: String },
    /// The string dials no service.
    NoService,
}

/// Every declared shortcut of every service that does not reach its declared screen.
pub(crate) fn faults(menus: &Menus) -> Vec<Fault> {
    let mut faults = Vec::new();
    for service in menus.services.values() {
        for (dialled, promised) in &service.shortcuts {
            if let Some(message) = broken(menus, service, dialled, promised) {
                let at = format!("shortcuts.{dialled}");
                faults.push(Fault::in_service(service, &at, None, message));
            }
        }
    }
    faults
}

/// What is wrong with the shortcut `dialled` → `promised` of `service`, if anything.
fn broken(menus: &Menus, service: &Service, dialled: &str, promised: &str) -> Option<String> {
    if service.screen(promised).is_none() {
        return Some(format!(
            "shortcut `{dialled}` promises `{promised}`, which is no screen"
        ));
    }
    let lead =
        |what: String| format!("shortcut `{dialled}` now {what}, not to `{promised}` as declared");
    let routed = menus.route(dialled).map(|route| route.service);
    if routed.as_deref() != Some(service.id()) {
        return Some(lead(match routed {
            Some(other) => format!("dials the service `{other}`"),
            None => format!(
                "dials no service (the codes of `{}`: {})",
                service.id(),
                service.spec.codes.join(", ")
            ),
        }));
    }
    match reach(menus, dialled) {
        Reached::Screen(screen) if screen == promised => None,
        Reached::Screen(screen) => Some(lead(format!("leads to `{screen}`"))),
        Reached::Refused { screen, input } => Some(lead(format!(
            "stops at `{screen}`, which refuses `{input}`"
        ))),
        Reached::NoService => Some(lead("dials no service".into())),
    }
}

/// Where `dialled` leads through `menus`, as the engine would walk it for a new session.
pub(crate) fn reach(menus: &Menus, dialled: &str) -> Reached {
    let Some(route) = menus.route(dialled) else {
        return Reached::NoService;
    };
    let Some(service) = menus.service(&route.service) else {
        return Reached::NoService;
    };
    let runner = Stop::default();
    let walk = Walk {
        service,
        runner: &runner,
        budget: Budget::default(),
        dialect: "check",
        msisdn: "",
    };
    let locale = service.default_locale();
    let mut session = Session::new(service.id(), "", &service.spec.start, locale);
    // The stopping runner answers at once, so the walk never waits.
    if walk.open(&mut session).now_or_never().is_none() {
        return Reached::Screen(session.place.screen);
    }
    for input in &route.pre_answers {
        if runner.reached().is_some() || session.is_ended() {
            break;
        }
        let tries = session.tries;
        if walk.input(&mut session, input).now_or_never().is_none() {
            break;
        }
        if session.tries > tries {
            return Reached::Refused {
                screen: session.place.screen.clone(),
                input: input.clone(),
            };
        }
    }
    Reached::Screen(runner.reached().unwrap_or(session.place.screen))
}

/// Runs no action: notes the action screen reached and stops the walk there.
#[derive(Default)]
struct Stop(Mutex<Option<String>>);

impl Stop {
    fn reached(&self) -> Option<String> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl ActionRunner for Stop {
    fn run<'a>(&'a self, _action: &'a str, call: ActionCall<'a>) -> ActionFuture<'a> {
        let mut reached = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        reached.get_or_insert_with(|| call.screen.to_string());
        Box::pin(std::future::ready(Ok(Outcome::new(STOPPED, Vec::new()))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::menu::load_menus;
    use std::path::Path;

    fn shipped() -> Menus {
        load_menus(&Path::new(env!("CARGO_MANIFEST_DIR")).join("menus")).expect("load")
    }

    #[test]
    fn dialled_strings_reach_what_the_engine_would_show() {
        let menus = shipped();
        let screen = |s: &str| Reached::Screen(s.to_string());
        let cases = [
            ("*4*1420#", screen("main")),
            ("*4*1420*2#", screen("general_number")),
            ("*4*1420*1#", screen("own_code")),
            // An action screen is reached, not run.
            ("*4*1420*3#", screen("my_dependents")),
            ("*4*1420*2*0012345679#", screen("general")),
            ("*1406*1#", screen("iin")),
            ("*85666*1#", screen("coverage")),
            (" *4*1420*2 # ", screen("general_number")),
            (
                "*4*1420*7#",
                Reached::Refused {
                    screen: "main".into(),
                    input: "7".into(),
                },
            ),
            (
                "*4*1420*1*0012345678#",
                Reached::Refused {
                    screen: "own_code".into(),
                    input: "0012345678".into(),
                },
            ),
            ("*9999#", Reached::NoService),
            ("", Reached::NoService),
            ("garbage", Reached::NoService),
        ];
        for (dialled, want) in cases {
            assert_eq!(reach(&menus, dialled), want, "{dialled:?}");
        }
    }

    #[test]
    fn the_shipped_shortcuts_hold_and_every_service_declares_some() {
        let menus = shipped();
        assert_eq!(faults(&menus), Vec::new());
        for service in menus.services.values() {
            assert!(!service.shortcuts.is_empty(), "{}", service.id());
        }
    }

    #[test]
    fn a_shortcut_that_leads_elsewhere_is_named_with_its_line() {
        let mut menus = shipped();
        let tamin = menus.services.get_mut("tamin").expect("tamin");
        let Some(crate::menu::Screen::Menu { options, .. }) = tamin.screens.get_mut("main") else {
            panic!("tamin's main is a menu");
        };
        // An author swaps options 1 and 2.
        let (one, two) = (options[0].next.clone(), options[1].next.clone());
        options[0].next = two;
        options[1].next = one;
        tamin
            .shortcuts
            .insert("*4*1420*8#".into(), "general_number".into());
        tamin.shortcuts.insert("*85666*2#".into(), "main".into());
        tamin
            .shortcuts
            .insert("*4*1420*1#".into(), "nowhere".into());
        let faults: Vec<String> = faults(&menus).iter().map(ToString::to_string).collect();
        let want = [
            "shortcut `*4*1420*2#` now leads to `own_code`, not to `general_number` as declared",
            "shortcut `*4*1420*8#` now stops at `main`, which refuses `8`",
            "shortcut `*85666*2#` now dials the service `cnam`",
            "shortcut `*4*1420*1#` promises `nowhere`, which is no screen",
        ];
        for want in want {
            assert!(
                faults.iter().any(|f| f.contains(want)),
                "{want}: {faults:#?}"
            );
        }
        let declared = faults
            .iter()
            .find(|f| f.contains("`*4*1420*2#`"))
            .expect("named");
        assert!(
            declared.contains("menus/tamin.toml:") && !declared.contains("tamin.toml: "),
            "file and line: {declared}"
        );
        assert_eq!(faults.len(), 4, "{faults:#?}");
    }
}
