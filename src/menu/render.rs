//! Turning a screen and its words into what the phone shows: the text of a menu or question,
//! the words of an end screen with the action's variables, digits in the locale's script, and
//! pages cut by encoding budget (SPEC §3) with the `98` footer on every page but the last.
//!
//! Pure: no store, no session. Nothing here adds characters of its own beyond `\n`, `. ` and the
//! locale's digits, so a screen written in GSM-7 stays in GSM-7.

use super::{Screen, Service};
use crate::locale::localize_digits;
use crate::text::gsm7::Budget;
use crate::text::page::paginate;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Key of the footer that offers the next page.
pub(crate) const MORE: &str = "nav.more";

/// The text of `screen` in `locale`, before digits and pages: a menu's title and options, a
/// question, or an end screen filled with `vars`. An action screen has no text of its own.
pub(crate) fn screen_text(
    service: &Service,
    screen: &Screen,
    locale: &str,
    vars: &[(String, String)],
) -> String {
    let words = service.words(locale);
    match screen {
        Screen::Menu { text, options } => {
            let mut out = words.fill(text, vars);
            for option in options {
                out.push('\n');
                out.push_str(&option.key);
                out.push_str(". ");
                out.push_str(words.get(&option.label));
            }
            out
        }
        Screen::Input { text, .. } => words.fill(text, vars),
        Screen::End { text, .. } => words.fill(text, vars),
        Screen::Action { .. } => String::new(),
    }
}

/// The pages of the screens whose text depends on nothing but the screen, the locale and the
/// screen's budget (no action's variables: menus, questions, fixed ends), each rendered once
/// per menu version and then shared. A replayed path (`2*<code>`) passes through such screens
/// without rendering them again, and a first screen costs a lookup.
///
/// Bounded by what the menus and configuration hold: screens × locales × budgets.
#[derive(Default)]
pub(crate) struct Rendered(RwLock<PagesBy>);

/// Pages by budget, then locale, then screen: each level looked up by reference.
type PagesBy = HashMap<Budget, HashMap<String, HashMap<String, Arc<[String]>>>>;

impl Rendered {
    /// The pages of `screen` in `locale` on `budget`, from `render` the first time.
    pub(crate) fn pages_of(
        &self,
        budget: Budget,
        locale: &str,
        screen: &str,
        render: impl FnOnce() -> Vec<String>,
    ) -> Arc<[String]> {
        let held = self.read().get(&budget).and_then(|by_locale| {
            let by_screen = by_locale.get(locale)?;
            by_screen.get(screen).cloned()
        });
        if let Some(pages) = held {
            return pages;
        }
        let pages: Arc<[String]> = render().into();
        let mut all = self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let by_screen = all
            .entry(budget)
            .or_default()
            .entry(locale.to_string())
            .or_default();
        by_screen.insert(screen.to_string(), pages.clone());
        pages
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, PagesBy> {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A copy of a menu set starts with nothing rendered (a copy may be changed before it serves).
impl Clone for Rendered {
    fn clone(&self) -> Self {
        Rendered::default()
    }
}

impl std::fmt::Debug for Rendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rendered")
    }
}

/// `text` made ready for the phone: digits in the locale's script, cut into pages.
pub(crate) fn pages(service: &Service, locale: &str, text: &str, budget: Budget) -> Vec<String> {
    let more = localize_digits(service.words(locale).get(MORE), locale);
    paginate(&localize_digits(text, locale), &more, budget)
}
