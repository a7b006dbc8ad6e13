//! Menus as data: one TOML file per service (`menus/<service>.toml`) and one table of words per
//! locale beside it (`menus/<service>.<locale>.toml`, plus `menus/common.<locale>.toml` for the
//! words every service shares).
//!
//! A service file names the service (codes, locales, time zone, complaint line), its rule
//! configuration, and its screens. A screen is flat and typed: a `menu` of options, an `input`
//! with its validator, an `action` that the code performs with the outcomes it can lead to, or
//! an `end` that closes the session. The engine (`flow`) walks these; the only Rust a service
//! needs is its actions and validators. `check` finds what an author got wrong before a caller
//! does; `render` turns a screen and its words into text.

pub(crate) mod check;
pub(crate) mod lines;
pub(crate) mod load;
pub(crate) mod render;

use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

use crate::benefits::Benefits;
use crate::rules::RuleConfig;

pub(crate) use load::load_menus;

/// All services, by id, with the routes from short codes to them.
#[derive(Debug, Clone)]
pub struct Menus {
    pub(crate) services: BTreeMap<String, Service>,
    /// The shared words by locale, for messages given before a service is known.
    pub(crate) common: HashMap<String, Words>,
}

/// One service: its settings, screens and words.
#[derive(Debug, Clone)]
pub(crate) struct Service {
    pub(crate) spec: ServiceSpec,
    pub(crate) rules: RuleConfig,
    /// Ceilings' default limits and reimbursement rates (`cnam`, `mutual`); empty elsewhere.
    pub(crate) benefits: Benefits,
    pub(crate) screens: BTreeMap<String, Screen>,
    /// Words by locale, the service's own merged over the common ones.
    pub(crate) words: HashMap<String, Words>,
    /// Where each screen came from, for the checker's messages.
    pub(crate) file: std::path::PathBuf,
    /// The dialled strings the service promises (posters, stickers) → the screen each reaches
    /// (`[shortcuts]`); `check` walks each through the menu tree.
    pub(crate) shortcuts: BTreeMap<String, String>,
    /// The line of each key of `file` (`screens.main`, `shortcuts.*4*1420*2#`).
    pub(crate) lines: lines::Lines,
    /// The pages of its screens that need no action's variables, once rendered.
    pub(crate) rendered: render::Rendered,
}

/// The `[service]` table of a menu file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ServiceSpec {
    pub(crate) id: String,
    /// The insurer whose records the service reads (`tamin`, `osms`, ...).
    pub(crate) insurer: String,
    pub(crate) codes: Vec<String>,
    /// The first is the default.
    pub(crate) locales: Vec<String>,
    pub(crate) time_zone: String,
    #[serde(default)]
    pub(crate) complaints: Option<String>,
    pub(crate) start: String,
    /// Length of a foreign national's number where the service accepts one.
    #[serde(default)]
    pub(crate) foreign_number_length: Option<usize>,
}

/// A screen of the menu tree.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum Screen {
    /// A list of numbered options.
    Menu {
        text: String,
        options: Vec<MenuOption>,
    },
    /// A question whose answer a validator checks, kept under `save`.
    Input {
        text: String,
        validator: String,
        save: String,
        next: String,
    },
    /// Work done by code; its outcome names the next screen.
    Action {
        action: String,
        outcomes: BTreeMap<String, String>,
    },
    /// The last screen of a session; its words may use the action's variables.
    End {
        text: String,
        /// A result reached (an answer given): the session leaves no resume offer.
        #[serde(default)]
        result: bool,
        /// May run over one page (a list): paged at run time, not refused by `check`.
        #[serde(default)]
        paged: bool,
    },
}

/// One numbered choice of a menu.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MenuOption {
    pub(crate) key: String,
    pub(crate) label: String,
    /// The next screen, or [`SWITCH_LOCALE`].
    pub(crate) next: String,
}

/// The `next` of the option that switches to the service's other locale (first screen only).
pub(crate) const SWITCH_LOCALE: &str = "@locale";

/// The words of one locale: message key → text with `{var}` placeholders.
#[derive(Debug, Clone, Default)]
pub(crate) struct Words {
    pub(crate) entries: HashMap<String, String>,
    /// The file each entry was read from, for the checker's messages.
    pub(crate) files: HashMap<String, std::path::PathBuf>,
    /// The line of each entry in its file.
    pub(crate) lines: lines::Lines,
}

impl Words {
    /// The text for `key`, or the key itself in brackets (never empty: `check` refuses menus
    /// with missing words, so this shows only for a key that code asked for wrongly).
    pub(crate) fn get<'a>(&'a self, key: &'a str) -> &'a str {
        self.entries.get(key).map(String::as_str).unwrap_or(key)
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }

    /// The text for `key` with each `{name}` replaced by its value.
    pub(crate) fn fill(&self, key: &str, vars: &[(String, String)]) -> String {
        fill(self.get(key), vars)
    }
}

/// Replaces each `{name}` in `template` by its value; unknown placeholders stay as they are.
pub(crate) fn fill(template: &str, vars: &[(String, String)]) -> String {
    let mut out = template.to_string();
    for (name, value) in vars {
        let placeholder = format!("{{{name}}}");
        if out.contains(&placeholder) {
            out = out.replace(&placeholder, value);
        }
    }
    out
}

impl Service {
    pub(crate) fn id(&self) -> &str {
        &self.spec.id
    }

    pub(crate) fn default_locale(&self) -> &str {
        self.spec
            .locales
            .first()
            .map(String::as_str)
            .unwrap_or("en")
    }

    /// The locale after `current` in the service's list, wrapping round (`9` on the first screen).
    pub(crate) fn other_locale(&self, current: &str) -> &str {
        let locales = &self.spec.locales;
        let at = locales.iter().position(|l| l == current).unwrap_or(0);
        locales
            .get((at + 1) % locales.len().max(1))
            .map(String::as_str)
            .unwrap_or_else(|| self.default_locale())
    }

    /// The words of `locale`, falling back to the default locale's.
    pub(crate) fn words(&self, locale: &str) -> &Words {
        self.words
            .get(locale)
            .or_else(|| self.words.get(self.default_locale()))
            .unwrap_or(&EMPTY_WORDS)
    }

    pub(crate) fn serves_locale(&self, locale: &str) -> bool {
        self.spec.locales.iter().any(|l| l == locale)
    }

    pub(crate) fn screen(&self, id: &str) -> Option<&Screen> {
        self.screens.get(id)
    }
}

static EMPTY_WORDS: std::sync::LazyLock<Words> = std::sync::LazyLock::new(Words::default);

/// A short code with its extra segments: `*4*1420*2*0012345679#` → service `tamin`, pre-answers
/// `["2", "0012345679"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route {
    pub(crate) service: String,
    pub(crate) pre_answers: Vec<String>,
}

impl Menus {
    pub(crate) fn service(&self, id: &str) -> Option<&Service> {
        self.services.get(id)
    }

    /// Finds the service whose code the dialled string starts with; extra segments become
    /// pre-answers. Codes are compared without their `#` and with spaces removed.
    pub(crate) fn route(&self, dialled: &str) -> Option<Route> {
        let dialled = normalize_code(dialled);
        let mut best: Option<(usize, Route)> = None;
        for service in self.services.values() {
            for code in &service.spec.codes {
                let code = normalize_code(code);
                let Some(rest) = dialled.strip_prefix(code.as_str()) else {
                    continue;
                };
                if !(rest.is_empty() || rest.starts_with('*')) {
                    continue;
                }
                if best.as_ref().is_some_and(|(len, _)| *len >= code.len()) {
                    continue;
                }
                let pre_answers = rest
                    .split('*')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
                best = Some((
                    code.len(),
                    Route {
                        service: service.id().to_string(),
                        pre_answers,
                    },
                ));
            }
        }
        best.map(|(_, route)| route)
    }
}

fn normalize_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '#')
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_and_unknown_ones_kept() {
        let vars = vec![
            ("code".to_string(), "1234567890".to_string()),
            ("until".to_string(), "2026-12-31".to_string()),
        ];
        assert_eq!(
            fill("until {until}, code {code} {other}", &vars),
            "until 2026-12-31, code 1234567890 {other}"
        );
        assert_eq!(fill("", &vars), "");
    }

    #[test]
    fn codes_normalize() {
        assert_eq!(normalize_code("*4*1420#"), "*4*1420");
        assert_eq!(normalize_code(" *1406 # "), "*1406");
    }
}
