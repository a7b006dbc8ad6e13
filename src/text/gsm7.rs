//! How long a screen is on the air: GSM 03.38 septets when every character is in the GSM 7-bit
//! default alphabet (an extension-table character costs two), else UTF-16 code units (UCS-2).
//!
//! Pagination (`text::page`), the dialects and `daftar check` all measure with these functions,
//! so a screen that passes the checker is a screen that fits on the phone (SPEC §3). Pure: no IO,
//! no allocation beyond the return value. It must never call a character GSM that an aggregator
//! would have to send as UCS-2: one such character (a no-break space, a bidi mark) silently
//! halves the screen, and this module is where that is caught.

use serde::Deserialize;

/// The encoding an aggregator picks for a message: GSM 7-bit when it can, else UCS-2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Encoding {
    Gsm7,
    Ucs2,
}

/// How much one USSD message holds, per encoding. The defaults are the network's (SPEC §3:
/// 182 septets, 80 UCS-2 characters); an operator may configure lower limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Budget {
    /// GSM 7-bit septets (an extension character counts two).
    pub(crate) gsm7: usize,
    /// UTF-16 code units.
    pub(crate) ucs2: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            gsm7: 182,
            ucs2: 80,
        }
    }
}

impl Budget {
    /// The smaller of two budgets in each encoding.
    pub(crate) fn min_each(self, other: Budget) -> Budget {
        Budget {
            gsm7: self.gsm7.min(other.gsm7),
            ucs2: self.ucs2.min(other.ucs2),
        }
    }

    /// The limit for a message sent in `encoding`.
    pub(crate) fn limit(&self, encoding: Encoding) -> usize {
        match encoding {
            Encoding::Gsm7 => self.gsm7,
            Encoding::Ucs2 => self.ucs2,
        }
    }
}

/// Septets a character costs in the GSM 03.38 default alphabet, or `None` if it is not in it.
///
/// The basic table holds 127 printable characters (the 128th code, ESC, only introduces the
/// extension table). The extension characters (`^{}\[~]|€` and form feed) are sent as ESC plus
/// one septet, hence two. 3GPP TS 23.038 §6.2.1.
pub(crate) fn septets(c: char) -> Option<usize> {
    match c {
        'A'..='Z' | 'a'..='z' | '%'..='?' => Some(1),
        ' ' | '!' | '"' | '#' | '$' | '@' | '_' | '\n' | '\r' => Some(1),
        '£' | '¥' | 'è' | 'é' | 'ù' | 'ì' | 'ò' | 'Ç' | 'Ø' | 'ø' | 'Å' | 'å' | 'Æ' | 'æ' | 'ß'
        | 'É' | '¤' | '¡' | 'Ä' | 'Ö' | 'Ñ' | 'Ü' | '§' | '¿' | 'ä' | 'ö' | 'ñ' | 'ü' | 'à' => {
            Some(1)
        }
        'Δ' | 'Φ' | 'Γ' | 'Λ' | 'Ω' | 'Π' | 'Ψ' | 'Σ' | 'Θ' | 'Ξ' => Some(1),
        '^' | '{' | '}' | '\\' | '[' | '~' | ']' | '|' | '€' | '\u{0C}' => Some(2),
        _ => None,
    }
}

/// Length of `s` in GSM 7-bit septets, or `None` if any character is outside the default
/// alphabet and its extension table.
pub(crate) fn gsm7_len(s: &str) -> Option<usize> {
    s.chars().try_fold(0usize, |n, c| septets(c).map(|k| n + k))
}

/// Length of `s` in UTF-16 code units (a character outside the BMP, an emoji, counts two).
pub(crate) fn ucs2_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// The encoding `s` would travel in, and its length in that encoding's units.
pub(crate) fn measure(s: &str) -> (Encoding, usize) {
    match gsm7_len(s) {
        Some(n) => (Encoding::Gsm7, n),
        None => (Encoding::Ucs2, ucs2_len(s)),
    }
}

/// Whether `s` fits one message of budget `b` in the encoding it would travel in.
pub fn fits(s: &str, b: Budget) -> bool {
    let (encoding, len) = measure(s);
    len <= b.limit(encoding)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GSM 03.38 basic table in code order, without ESC (0x1B).
    const BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
        ¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
    const EXTENSION: &str = "^{}\\[~]|€\u{0C}";

    #[test]
    fn basic_table_counts_one_each() {
        assert_eq!(BASIC.chars().count(), 127);
        for c in BASIC.chars() {
            assert_eq!(septets(c), Some(1), "{c:?}");
        }
        assert_eq!(gsm7_len(BASIC), Some(127));
    }

    #[test]
    fn extension_table_counts_two_each() {
        for c in EXTENSION.chars() {
            assert_eq!(septets(c), Some(2), "{c:?}");
        }
        assert_eq!(gsm7_len(EXTENSION), Some(20));
    }

    #[test]
    fn nothing_else_in_the_bmp_is_gsm() {
        let known: Vec<char> = BASIC.chars().chain(EXTENSION.chars()).collect();
        let gsm: Vec<char> = (0u32..=0xFFFF)
            .filter_map(char::from_u32)
            .filter(|c| septets(*c).is_some())
            .collect();
        assert_eq!(gsm.len(), known.len());
        for c in gsm {
            assert!(known.contains(&c), "{c:?} counted as GSM");
        }
    }

    #[test]
    fn non_gsm_characters() {
        let cases = [
            ("nbsp", "12\u{00A0}000"),
            ("narrow nbsp", "12\u{202F}000"),
            ("fsi", "\u{2068}x"),
            ("pdi", "x\u{2069}"),
            ("lrm", "\u{200E}x"),
            ("rlm", "\u{200F}x"),
            ("check mark", "✓"),
            ("cyrillic", "Застрахован"),
            ("kazakh", "Сақтандырылған"),
            ("arabic", "مرحبا"),
            ("persian", "حمایت درمانی دارد"),
            ("persian digits", "۱۳۹۹"),
            ("backtick", "`"),
            ("tab", "\t"),
            ("esc", "\u{1B}"),
            ("lowercase c cedilla", "ç"),
            ("emoji", "👍"),
        ];
        for (name, s) in cases {
            assert_eq!(gsm7_len(s), None, "{name}");
            assert_eq!(measure(s).0, Encoding::Ucs2, "{name}");
        }
    }

    #[test]
    fn lengths_by_encoding() {
        let cases = [
            ("", Encoding::Gsm7, 0),
            ("1. Yes\n2. No", Encoding::Gsm7, 12),
            ("Prix: 5€", Encoding::Gsm7, 9),
            ("{x}", Encoding::Gsm7, 5),
            ("droits ouverts", Encoding::Gsm7, 14),
            ("« droits ouverts »", Encoding::Ucs2, 18),
            ("سلام", Encoding::Ucs2, 4),
            ("a👍", Encoding::Ucs2, 3),
        ];
        for (s, encoding, len) in cases {
            assert_eq!(measure(s), (encoding, len), "{s:?}");
        }
    }

    #[test]
    fn fits_at_the_limits() {
        let b = Budget::default();
        let cases = [
            ("a".repeat(182), true),
            ("a".repeat(183), false),
            ("€".repeat(91), true),
            ("€".repeat(92), false),
            ("س".repeat(80), true),
            ("س".repeat(81), false),
            (format!("{}✓", "a".repeat(79)), true),
            (format!("{}✓", "a".repeat(80)), false),
            ("👍".repeat(40), true),
            (format!("{}a", "👍".repeat(40)), false),
        ];
        for (s, expected) in cases {
            assert_eq!(fits(&s, b), expected, "{s:?}");
        }
    }

    #[test]
    fn budget_defaults_and_partial_config() {
        assert_eq!(
            Budget::default(),
            Budget {
                gsm7: 182,
                ucs2: 80
            }
        );
        let b: Budget = serde_json::from_str(r#"{"ucs2": 70}"#).unwrap_or_default();
        assert_eq!(
            b,
            Budget {
                gsm7: 182,
                ucs2: 70
            }
        );
    }
}
