//! The words of the SMS channel, per locale, read from `menus/sms.<locale>.toml` (the menu
//! loader reads those files as the words of a service that does not exist, and leaves them
//! alone). Behaviour in code, words in tables: a translator edits one file.
//!
//! Every key in [`KEYS`] must have words in every locale of [`LOCALES`]: [`SmsTexts::load`]
//! refuses a file that lacks one, at start and in `daftar check`. A menus directory with no
//! `sms.*.toml` at all has no SMS channel (the server then runs without it, and `check` has
//! nothing to say of it). A text is cut to two SMS
//! parts at most when a value the feed gave (a label, a decision's subject) makes it longer
//! (SPEC §4.1), and measured in the encoding it will travel in (`text::gsm7`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::menu::{fill, load::read_words, Words};
use crate::text::gsm7::{measure, Encoding};

/// The locales of the `cnam` SMS service, the default first (SPEC §2).
pub(crate) const LOCALES: [&str; 2] = ["ar", "fr"];

/// Every text the channel sends.
pub(crate) const KEYS: [&str; 17] = [
    "reply.subscribed",
    "reply.already",
    "reply.not_found",
    "reply.scheme_mismatch",
    "reply.key_included",
    "reply.stopped",
    "reply.not_subscribed",
    "reply.help",
    "reply.unavailable",
    "alert.transfer_paid",
    "alert.money_order",
    "alert.coverage_accepted",
    "alert.coverage_refused",
    "alert.summons_medical_check",
    "alert.summons_complete_file",
    "alert.chronic_ending",
    "alert.ceiling_reached",
];

/// Why the words cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TextsError {
    #[error(transparent)]
    Read(#[from] crate::menu::load::MenuError),
    #[error("{path}: `{key}` has no words")]
    Missing { path: PathBuf, key: String },
}

/// The words of every locale.
#[derive(Debug, Clone)]
pub(crate) struct SmsTexts {
    by_locale: HashMap<&'static str, Words>,
}

impl SmsTexts {
    /// Reads `sms.<locale>.toml` of every locale in `dir`, refusing one that lacks a key;
    /// `None` when `dir` holds none of them.
    pub(crate) fn load(dir: &Path) -> Result<Option<SmsTexts>, TextsError> {
        let file = |locale: &str| dir.join(format!("sms.{locale}.toml"));
        if !LOCALES.iter().any(|locale| file(locale).exists()) {
            return Ok(None);
        }
        let mut by_locale = HashMap::new();
        for locale in LOCALES {
            let path = file(locale);
            let words = read_words(&path)?;
            if let Some(key) = KEYS.iter().find(|key| !words.has(key)) {
                return Err(TextsError::Missing {
                    path,
                    key: key.to_string(),
                });
            }
            by_locale.insert(locale, words);
        }
        Ok(Some(SmsTexts { by_locale }))
    }

    /// The locale a message is written in: `remembered` when the service has it, else the
    /// default (`ar`).
    pub(crate) fn locale_for(remembered: Option<&str>) -> &'static str {
        remembered
            .and_then(|r| LOCALES.iter().find(|l| **l == r))
            .copied()
            .unwrap_or(LOCALES[0])
    }

    /// The text of `key` in `locale` with its `{names}` filled, at most two SMS parts long.
    pub(crate) fn render(&self, locale: &str, key: &str, vars: &[(&str, String)]) -> String {
        let locale = SmsTexts::locale_for(Some(locale));
        let template = self
            .by_locale
            .get(locale)
            .map(|words| words.get(key))
            .unwrap_or(key);
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(name, value)| (name.to_string(), value.clone()))
            .collect();
        within_two_parts(&fill(template, &vars))
    }
}

/// Characters one SMS holds, and one part of a concatenated SMS (SMS.md §1e: the UDH of an
/// 8-bit reference takes 6 octets of each part).
fn capacity(encoding: Encoding) -> (usize, usize) {
    match encoding {
        Encoding::Gsm7 => (160, 153),
        Encoding::Ucs2 => (70, 67),
    }
}

/// How many SMS parts `text` travels in.
pub(crate) fn parts(text: &str) -> usize {
    let (encoding, len) = measure(text);
    let (single, part) = capacity(encoding);
    if len <= single {
        1
    } else {
        len.div_ceil(part)
    }
}

/// The most a message may take: two parts (SPEC §4.1).
const MAX_PARTS: usize = 2;

/// `text`, or as much of it as fits two parts followed by `...`.
fn within_two_parts(text: &str) -> String {
    if parts(text) <= MAX_PARTS {
        return text.to_string();
    }
    let mut cut: String = text.to_string();
    while !cut.is_empty() && parts(&format!("{cut}...")) > MAX_PARTS {
        cut.pop();
    }
    format!("{}...", cut.trim_end())
}

/// Faults of the words in `dir`, one a line, for `daftar check`.
pub(crate) fn check(dir: &Path) -> Vec<String> {
    match SmsTexts::load(dir) {
        Ok(_) => Vec::new(),
        Err(error) => vec![format!("sms: {error}")],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> SmsTexts {
        SmsTexts::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("menus"))
            .expect("loads")
            .expect("shipped")
    }

    /// Values as long as real ones get: an amount in thousands, a date, a scheme.
    fn sample_vars() -> Vec<(&'static str, String)> {
        vec![
            ("amount", "1250.500".into()),
            ("date", "31/12/2026".into()),
            ("until", "31/12/2026".into()),
            ("year", "2026".into()),
            ("scheme", "cnrps".into()),
            ("what", "IRM".into()),
            ("label", "diabete".into()),
        ]
    }

    #[test]
    fn every_shipped_text_fits_one_sms_except_the_help_which_fits_two() {
        let texts = shipped();
        for locale in LOCALES {
            for key in KEYS {
                let text = texts.render(locale, key, &sample_vars());
                assert!(!text.contains('{'), "{locale} {key}: unfilled {text:?}");
                let most = if key == "reply.help" { 2 } else { 1 };
                assert!(parts(&text) <= most, "{locale} {key}: {text:?}");
            }
        }
    }

    #[test]
    fn french_texts_stay_in_the_gsm_alphabet() {
        let texts = shipped();
        for key in KEYS {
            let text = texts.render("fr", key, &sample_vars());
            assert_eq!(measure(&text).0, Encoding::Gsm7, "{key}: {text:?}");
        }
    }

    #[test]
    fn parts_are_counted_per_encoding() {
        let cases = [
            ("a".repeat(160), 1),
            ("a".repeat(161), 2),
            ("a".repeat(306), 2),
            ("a".repeat(307), 3),
            ("ب".repeat(70), 1),
            ("ب".repeat(71), 2),
            ("ب".repeat(134), 2),
            ("ب".repeat(135), 3),
            ("{".repeat(80), 1),
            ("{".repeat(81), 2),
        ];
        for (text, want) in cases {
            assert_eq!(parts(&text), want, "{} chars", text.chars().count());
        }
    }

    #[test]
    fn a_long_value_is_cut_to_two_parts() {
        let texts = shipped();
        let long = vec![("what", "ب".repeat(300)), ("label", "x".repeat(400))];
        for locale in LOCALES {
            for key in ["alert.coverage_accepted", "alert.chronic_ending"] {
                let text = texts.render(locale, key, &long);
                assert_eq!(parts(&text), 2, "{locale} {key}: {text:?}");
                assert!(text.ends_with("..."), "{text:?}");
            }
        }
    }

    #[test]
    fn an_unknown_locale_gets_the_default() {
        assert_eq!(SmsTexts::locale_for(Some("fr")), "fr");
        assert_eq!(SmsTexts::locale_for(Some("fa")), "ar");
        assert_eq!(SmsTexts::locale_for(None), "ar");
    }

    #[test]
    fn a_file_without_a_key_is_refused_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let menus = Path::new(env!("CARGO_MANIFEST_DIR")).join("menus");
        std::fs::copy(menus.join("sms.ar.toml"), dir.path().join("sms.ar.toml")).expect("ar");
        std::fs::write(dir.path().join("sms.fr.toml"), "[reply]\nhelp = \"aide\"\n").expect("fr");
        let faults = check(dir.path());
        assert_eq!(faults.len(), 1, "{faults:?}");
        assert!(faults[0].contains("sms.fr.toml"), "{faults:?}");
        assert!(faults[0].contains("reply.subscribed"), "{faults:?}");
        assert!(check(&menus).is_empty());
        // No SMS words at all: no channel, no fault.
        let none = tempfile::tempdir().expect("tempdir");
        assert!(check(none.path()).is_empty());
        assert!(SmsTexts::load(none.path()).expect("no words").is_none());
    }
}
