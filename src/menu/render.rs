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

/// `text` made ready for the phone: digits in the locale's script, cut into pages.
pub(crate) fn pages(service: &Service, locale: &str, text: &str, budget: Budget) -> Vec<String> {
    let more = localize_digits(service.words(locale).get(MORE), locale);
    paginate(&localize_digits(text, locale), &more, budget)
}
