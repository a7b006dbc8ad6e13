//! `GET /simulator/catalogue.json`: what the page offers, read from the server itself — the
//! services of the current menus (their codes, and per locale its writing direction, the first
//! line of the first screen and the "more" line of a paged screen) and every dialect of the
//! registry (whether anyone may call it, the service it serves without a code, its screen).
//!
//! The page recognises with these lines which locale a screen is in and whether more pages
//! follow; nothing here holds a person's data or a secret (a gate says only open or closed).

use serde::Serialize;

use crate::dialect::{built_in_names, Registry};
use crate::engine::Engine;
use crate::locale::{language, localize_digits};
use crate::menu::render::{screen_text, MORE};
use crate::menu::Service;

#[derive(Debug, Serialize)]
pub(crate) struct Catalogue {
    services: Vec<ServiceEntry>,
    dialects: Vec<DialectEntry>,
}

#[derive(Debug, Serialize)]
struct ServiceEntry {
    id: String,
    /// The dialled codes, the first the one the page dials by default.
    codes: Vec<String>,
    /// In the service's order: the first is its default.
    locales: Vec<LocaleEntry>,
}

#[derive(Debug, Serialize)]
struct LocaleEntry {
    locale: String,
    /// `rtl` or `ltr`: how the locale's screens are written.
    dir: &'static str,
    /// The first line of the service's first screen in this locale, as the phone shows it.
    first_line: String,
    /// The line that ends every page of a long screen but the last, as the phone shows it.
    more: String,
}

#[derive(Debug, Serialize)]
struct DialectEntry {
    name: String,
    /// A built-in dialect, whose wire the page writes; else one declared in configuration.
    built_in: bool,
    /// No allowlist, secret or basic auth configured: the page's requests are let in.
    open: bool,
    /// The service of requests that carry no service code (Beem's carry none).
    default_service: Option<String>,
    /// One message of this dialect's screen: GSM 7-bit septets and UCS-2 units.
    screen_gsm7: usize,
    screen_ucs2: usize,
}

impl Catalogue {
    pub(crate) fn of(engine: &Engine, dialects: &Registry) -> Self {
        let menus = engine.current_menus().get();
        let built_in = built_in_names();
        let open = dialects.open_dialects();
        let defaults = dialects.default_services();
        Catalogue {
            services: menus.services.values().map(service_entry).collect(),
            dialects: dialects
                .names()
                .map(|name| {
                    let screen = engine.screen_of_dialect(name);
                    DialectEntry {
                        name: name.to_string(),
                        built_in: built_in.iter().any(|b| b == name),
                        open: open.contains(&name),
                        default_service: defaults.get(name).cloned(),
                        screen_gsm7: screen.gsm7,
                        screen_ucs2: screen.ucs2,
                    }
                })
                .collect(),
        }
    }
}

fn service_entry(service: &Service) -> ServiceEntry {
    ServiceEntry {
        id: service.id().to_string(),
        codes: service.spec.codes.clone(),
        locales: service
            .spec
            .locales
            .iter()
            .map(|locale| locale_entry(service, locale))
            .collect(),
    }
}

fn locale_entry(service: &Service, locale: &str) -> LocaleEntry {
    let first = service
        .screens
        .get(&service.spec.start)
        .map(|screen| screen_text(service, screen, locale, &[]))
        .unwrap_or_default();
    let first_line = first.lines().next().unwrap_or_default();
    LocaleEntry {
        locale: locale.to_string(),
        dir: direction(locale),
        first_line: localize_digits(first_line, locale),
        more: localize_digits(service.words(locale).get(MORE), locale),
    }
}

/// The writing direction of a locale tag's language (`fa-IR` is `fa`).
fn direction(locale: &str) -> &'static str {
    match language(locale) {
        "ar" | "fa" | "he" | "ur" | "ps" | "ckb" | "dv" | "yi" | "sd" | "ug" => "rtl",
        _ => "ltr",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn right_to_left_by_language() {
        let cases = [
            ("fa", "rtl"),
            ("fa-IR", "rtl"),
            ("ar_TN", "rtl"),
            ("en", "ltr"),
            ("kk", "ltr"),
            ("ru", "ltr"),
            ("fr", "ltr"),
            ("", "ltr"),
        ];
        for (locale, want) in cases {
            assert_eq!(direction(locale), want, "{locale:?}");
        }
    }
}
