//! The author's checker (`daftar check`): what a menu author can get wrong, found before a
//! caller finds it. Each fault names the file and the screen.
//!
//! It refuses: a link to a screen that does not exist; a screen no path reaches; a message key
//! missing in one of the service's locales; an action or validator the code does not know; an
//! action outcome with no screen; the locale switch anywhere but the first screen; a screen (with
//! its longest error message, for a question) longer than one page in its encoding; a
//! `{group.name}` rate that the service's `[benefits.rates]` does not hold; and characters a
//! phone would show as boxes or that silently turn a GSM-7 screen into UCS-2.

use std::collections::{BTreeSet, VecDeque};
use std::fmt;
use std::path::PathBuf;

use super::render::{screen_text, MORE};
use super::{Menus, Screen, Service, Words, SWITCH_LOCALE};
use crate::catalog::{Action, Validator};
use crate::locale::{format_date, localize_digits};
use crate::text::gsm7::{fits, Budget};

/// One thing wrong with a menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fault {
    pub(crate) file: PathBuf,
    /// The line (from 1) in `file` of what is wrong, where one line holds it.
    pub(crate) line: Option<usize>,
    pub(crate) screen: Option<String>,
    pub(crate) message: String,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        match &self.screen {
            Some(screen) => write!(f, ": screen `{screen}`: {}", self.message),
            None => write!(f, ": {}", self.message),
        }
    }
}

impl Fault {
    /// A fault of `service`'s own file, at the line of the dotted key `at` (`service.start`).
    pub(crate) fn in_service(
        service: &Service,
        at: &str,
        screen: Option<&str>,
        message: String,
    ) -> Fault {
        Fault {
            file: service.file.clone(),
            line: service.lines.get(at).copied(),
            screen: screen.map(str::to_string),
            message,
        }
    }

    /// A fault of the word `key` of `words`, in the file and at the line it was read from.
    fn in_words(service: &Service, words: &Words, key: &str, message: String) -> Fault {
        Fault {
            file: words.files.get(key).unwrap_or(&service.file).clone(),
            line: words.lines.get(key).copied(),
            screen: screen_using(service, key),
            message,
        }
    }
}

/// Characters that a localisation library or an editor slips in and that a phone shows as
/// boxes or that push a screen out of GSM-7 (CRATES.md §7).
const FORBIDDEN: &[(char, &str)] = &[
    ('\u{00A0}', "no-break space"),
    ('\u{202F}', "narrow no-break space"),
    ('\u{200E}', "left-to-right mark"),
    ('\u{200F}', "right-to-left mark"),
    ('\u{2066}', "left-to-right isolate"),
    ('\u{2067}', "right-to-left isolate"),
    ('\u{2068}', "first strong isolate"),
    ('\u{2069}', "pop directional isolate"),
    ('\u{202A}', "left-to-right embedding"),
    ('\u{202B}', "right-to-left embedding"),
    ('\u{202C}', "pop directional formatting"),
    ('\u{FEFF}', "byte order mark"),
    ('\t', "tab"),
];

/// Message keys every service needs from its words (the engine's own screens).
pub(crate) const ENGINE_KEYS: &[&str] = &[
    MORE,
    "error.option",
    "error.too_many",
    "error.unavailable",
    "error.busy",
    "resume.offer",
    "limit.phone",
    "limit.number",
];

/// Every fault of every service in `menus`, checked against `budget`.
pub(crate) fn check(menus: &Menus, budget: Budget) -> Vec<Fault> {
    let mut faults = Vec::new();
    for service in menus.services.values() {
        check_service(service, budget, &mut faults);
    }
    faults
}

fn check_service(service: &Service, budget: Budget, faults: &mut Vec<Fault>) {
    let start = &service.spec.start;
    if service.screen(start).is_none() {
        faults.push(Fault::in_service(
            service,
            "service.start",
            None,
            format!("the start screen `{start}` does not exist"),
        ));
    }
    if jiff::tz::TimeZone::get(&service.spec.time_zone).is_err() {
        faults.push(Fault::in_service(
            service,
            "service.time_zone",
            None,
            format!("unknown time zone `{}`", service.spec.time_zone),
        ));
    }
    for key in ENGINE_KEYS {
        for locale in &service.spec.locales {
            if !service.words(locale).has(key) {
                let message = format!("`{key}` has no words in `{locale}`");
                faults.push(Fault::in_service(service, "service.locales", None, message));
            }
        }
    }
    for (id, screen) in &service.screens {
        let at = format!("screens.{id}");
        for message in screen_faults(service, id, screen, budget) {
            faults.push(Fault::in_service(service, &at, Some(id), message));
        }
    }
    for id in unreachable(service) {
        faults.push(Fault::in_service(
            service,
            &format!("screens.{id}"),
            Some(&id),
            "no path from the start screen reaches it".into(),
        ));
    }
    for (locale, words) in &service.words {
        for (key, text) in &words.entries {
            for rate in unknown_rates(service, text) {
                let message = format!(
                    "`{key}` in `{locale}` names `{{{rate}}}`, which no [benefits.rates] holds"
                );
                faults.push(Fault::in_words(service, words, key, message));
            }
            for (ch, name) in FORBIDDEN {
                if text.contains(*ch) {
                    let message = format!(
                        "`{key}` in `{locale}` contains a {name} (U+{:04X})",
                        *ch as u32
                    );
                    faults.push(Fault::in_words(service, words, key, message));
                }
            }
        }
    }
}

/// The `{group.name}` placeholders of `text` that name no rate of the service's
/// `[benefits.rates]` (they would reach the caller as written).
fn unknown_rates<'t>(service: &Service, text: &'t str) -> Vec<&'t str> {
    text.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .filter(|name| match name.split_once('.') {
            Some((group, rate)) => !service
                .benefits
                .rates
                .get(group)
                .is_some_and(|rates| rates.contains_key(rate)),
            None => false,
        })
        .collect()
}

/// The first screen whose words include `key`, if any.
fn screen_using(service: &Service, key: &str) -> Option<String> {
    service
        .screens
        .iter()
        .find(|(_, screen)| message_keys(screen).contains(&key))
        .map(|(id, _)| id.clone())
}

/// The faults of one screen: links, keys, names and length.
fn screen_faults(service: &Service, id: &str, screen: &Screen, budget: Budget) -> Vec<String> {
    let mut out = Vec::new();
    for next in links(screen) {
        if next == SWITCH_LOCALE {
            if id != service.spec.start {
                out.push("the locale switch belongs on the first screen only".into());
            }
        } else if service.screen(next).is_none() {
            out.push(format!("dangling link to `{next}`"));
        }
    }
    for key in message_keys(screen) {
        for locale in &service.spec.locales {
            if !service.words(locale).has(key) {
                out.push(format!("`{key}` has no words in `{locale}`"));
            }
        }
    }
    match screen {
        Screen::Action { action, outcomes } => match Action::from_name(action) {
            None => out.push(format!("unknown action `{action}`")),
            Some(known) => {
                for key in known.words() {
                    for locale in &service.spec.locales {
                        if !service.words(locale).has(&key) {
                            out.push(format!("`{key}` has no words in `{locale}`"));
                        }
                    }
                }
                for outcome in known.outcomes() {
                    if !outcomes.contains_key(*outcome) {
                        out.push(format!(
                            "action `{action}` outcome `{outcome}` leads nowhere"
                        ));
                    }
                }
                for outcome in outcomes.keys() {
                    if !known.outcomes().contains(&outcome.as_str()) {
                        out.push(format!("action `{action}` has no outcome `{outcome}`"));
                    }
                }
            }
        },
        Screen::Input { validator, .. } if Validator::from_name(validator).is_none() => {
            out.push(format!("unknown validator `{validator}`"));
        }
        _ => {}
    }
    out.extend(length_faults(service, screen, budget));
    out
}

/// Screens longer than one page, in each locale, with sample values for their variables.
fn length_faults(service: &Service, screen: &Screen, budget: Budget) -> Vec<String> {
    if matches!(
        screen,
        Screen::Action { .. } | Screen::End { paged: true, .. }
    ) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for locale in &service.spec.locales {
        let vars = sample_vars(service, locale);
        let text = screen_text(service, screen, locale, &vars);
        let shown = localize_digits(&text, locale);
        if !fits(&shown, budget) {
            let (encoding, len) = crate::text::gsm7::measure(&shown);
            out.push(format!(
                "over one page in `{locale}`: {len} characters in {encoding:?}"
            ));
            continue;
        }
        // A question is asked again under its longest error line (flow's `wrong`): the
        // screen a wrong answer shows must fit one page too, or the options it re-asks fall
        // behind `98`.
        let Some((key, error)) = longest_error(service, screen, locale) else {
            continue;
        };
        let again = localize_digits(&format!("{error}\n{text}"), locale);
        if !fits(&again, budget) {
            let (encoding, len) = crate::text::gsm7::measure(&again);
            out.push(format!(
                "asked again after a wrong answer, over one page in `{locale}`: `{key}` and the \
                 screen are {len} characters in {encoding:?}, so an error would page its options"
            ));
        }
    }
    out
}

/// The longest error line a question can be asked again under, with its key: a menu's wrong
/// option, or any of an input's validator's errors.
fn longest_error(service: &Service, screen: &Screen, locale: &str) -> Option<(String, String)> {
    let keys: Vec<&str> = match screen {
        Screen::Menu { .. } => vec!["error.option"],
        Screen::Input { validator, .. } => Validator::from_name(validator)
            .into_iter()
            .flat_map(Validator::error_keys)
            .chain(std::iter::once("error.option"))
            .collect(),
        Screen::End { .. } | Screen::Action { .. } => return None,
    };
    keys.into_iter()
        .map(|key| (key.to_string(), service.words(locale).get(key).to_string()))
        .max_by_key(|(_, words)| words.chars().count())
}

/// Values as long as real ones, for measuring end screens.
fn sample_vars(service: &Service, locale: &str) -> Vec<(String, String)> {
    let date = jiff::civil::date(2026, 12, 31);
    let words = service.words(locale);
    let dated = words.fill("until", &[("date".into(), format_date(date, locale))]);
    let open = words.get("open_ended").to_string();
    let until = std::cmp::max_by_key(dated, open, |s| s.chars().count());
    vec![
        ("code".into(), "1234567890".into()),
        ("until".into(), until),
        (
            "complaints".into(),
            service.spec.complaints.clone().unwrap_or_default(),
        ),
    ]
}

fn links(screen: &Screen) -> Vec<&str> {
    match screen {
        Screen::Menu { options, .. } => options.iter().map(|o| o.next.as_str()).collect(),
        Screen::Input { next, .. } => vec![next.as_str()],
        Screen::Action { outcomes, .. } => outcomes.values().map(String::as_str).collect(),
        Screen::End { .. } => Vec::new(),
    }
}

fn message_keys(screen: &Screen) -> Vec<&str> {
    match screen {
        Screen::Menu { text, options } => std::iter::once(text.as_str())
            .chain(options.iter().map(|o| o.label.as_str()))
            .collect(),
        Screen::Input {
            text, validator, ..
        } => {
            let mut keys = vec![text.as_str()];
            if let Some(validator) = Validator::from_name(validator) {
                keys.extend(validator.error_keys().map(|key| -> &str { key }));
            }
            keys
        }
        Screen::End { text, .. } => vec![text.as_str()],
        Screen::Action { .. } => Vec::new(),
    }
}

fn unreachable(service: &Service) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::from([service.spec.start.as_str()]);
    while let Some(id) = queue.pop_front() {
        if !seen.insert(id) {
            continue;
        }
        if let Some(screen) = service.screen(id) {
            queue.extend(links(screen).into_iter().filter(|n| *n != SWITCH_LOCALE));
        }
    }
    service
        .screens
        .keys()
        .filter(|id| !seen.contains(id.as_str()))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::menu::load_menus;
    use std::path::Path;

    #[test]
    fn the_shipped_menus_have_no_fault() {
        let menus = load_menus(&Path::new(env!("CARGO_MANIFEST_DIR")).join("menus")).expect("load");
        assert_eq!(check(&menus, Budget::default()), Vec::new());
    }

    #[test]
    fn a_menu_whose_options_a_wrong_key_would_page_is_refused() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/paged_by_error");
        let menus = load_menus(&dir).expect("load");
        let faults: Vec<String> = check(&menus, Budget::default())
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(faults.len(), 1, "{faults:#?}");
        assert!(
            faults[0].contains("screen `main`")
                && faults[0].contains("asked again after a wrong answer")
                && faults[0].contains("`fa`")
                && faults[0].contains("error.option"),
            "{faults:#?}"
        );
    }

    #[test]
    fn each_kind_of_fault_is_named_with_its_screen() {
        let service = "[service]\nid = \"demo\"\ninsurer = \"demo\"\ncodes = [\"*1#\"]\n\
            locales = [\"en\", \"fr\"]\ntime_zone = \"Nowhere/Never\"\nstart = \"main\"\n\
            [screens.main]\nkind = \"menu\"\ntext = \"title\"\noptions = [\
              { key = \"1\", label = \"go\", next = \"gone\" },\
              { key = \"2\", label = \"go\", next = \"act\" }]\n\
            [screens.act]\nkind = \"action\"\naction = \"demo.nothing\"\noutcomes = {}\n\
            [screens.lonely]\nkind = \"input\"\ntext = \"title\"\nvalidator = \"psychic\"\n\
            save = \"x\"\nnext = \"main\"\n\
            [benefits.rates.public]\nmedicines = 70\n";
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("demo.toml"), service).unwrap();
        let long = "x".repeat(300);
        std::fs::write(
            dir.path().join("demo.en.toml"),
            format!(
                "title = \"{long}\"\ngo = \"Go\u{200F}\"\n\
                 rates = \"{{public.medicines}}% {{public.tests}}% {{code}} {{private.x}}\"\n"
            ),
        )
        .unwrap();
        let menus = load_menus(dir.path()).expect("loads");
        let faults: Vec<String> = check(&menus, Budget::default())
            .iter()
            .map(ToString::to_string)
            .collect();
        let expected = [
            "unknown time zone",
            "screen `main`: dangling link to `gone`",
            "screen `main`: `title` has no words in `fr`",
            "screen `main`: over one page in `en`",
            "screen `act`: unknown action `demo.nothing`",
            "screen `lonely`: unknown validator `psychic`",
            "screen `lonely`: no path from the start screen reaches it",
            "demo.en.toml:2: screen `main`: `go` in `en` contains a right-to-left mark",
            "`nav.more` has no words in `en`",
            "`rates` in `en` names `{public.tests}`, which no [benefits.rates] holds",
            "`rates` in `en` names `{private.x}`, which no [benefits.rates] holds",
        ];
        for want in expected {
            assert!(
                faults.iter().any(|f| f.contains(want)),
                "{want} not in {faults:#?}"
            );
        }
        assert!(
            !faults.iter().any(|f| f.contains("{public.medicines}")),
            "a configured rate is no fault: {faults:#?}"
        );
        let named = |f: &String| f.contains("demo.toml") || f.contains("demo.en.toml");
        assert!(faults.iter().all(named), "{faults:#?}");
    }
}
