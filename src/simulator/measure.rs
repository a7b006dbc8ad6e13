//! A screen's measure as the phone receives it: its encoding (GSM 7-bit when every character
//! is in the default alphabet, else UCS-2), its length in that encoding's units and the limit
//! of one message there (SPEC §3), by the same functions the pager and `daftar check` use
//! (`text::gsm7`), so the simulator never shows a count of its own invention. Pure.

use serde::Serialize;

use crate::text::gsm7::{measure, Budget, Encoding};

/// What the simulator shows under the phone's screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Measured {
    /// `GSM-7` or `UCS-2`.
    pub(crate) encoding: &'static str,
    /// Septets (an extension character counts two) or UTF-16 code units.
    pub(crate) length: usize,
    /// What one message holds in that encoding on this dialect's screen.
    pub(crate) limit: usize,
    pub(crate) fits: bool,
}

impl Measured {
    pub(crate) fn of(text: &str, screen: Budget) -> Measured {
        let (encoding, length) = measure(text);
        let limit = screen.limit(encoding);
        Measured {
            encoding: match encoding {
                Encoding::Gsm7 => "GSM-7",
                Encoding::Ucs2 => "UCS-2",
            },
            length,
            limit,
            fits: length <= limit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_screen_is_measured_in_the_encoding_that_carries_it() {
        let screen = Budget::default();
        let cases = [
            ("", "GSM-7", 0, true),
            ("1. Status\n2. Dependents", "GSM-7", 23, true),
            // An extension character costs two septets.
            ("{€}", "GSM-7", 6, true),
            ("۱. وضعیت", "UCS-2", 8, true),
            ("Сақтандырылған", "UCS-2", 14, true),
            // One character outside the alphabet makes the whole screen UCS-2.
            ("Status\u{a0}ok", "UCS-2", 9, true),
        ];
        for (text, encoding, length, fits) in cases {
            let seen = Measured::of(text, screen);
            assert_eq!(
                (seen.encoding, seen.length, seen.fits),
                (encoding, length, fits),
                "{text:?}"
            );
        }
    }

    #[test]
    fn the_limit_is_the_dialects_screen_in_that_encoding() {
        let small = Budget {
            gsm7: 140,
            ucs2: 70,
        };
        assert_eq!(Measured::of("a".repeat(141).as_str(), small).limit, 140);
        assert!(!Measured::of("a".repeat(141).as_str(), small).fits);
        assert!(Measured::of("a".repeat(140).as_str(), small).fits);
        let persian = "ب".repeat(71);
        let seen = Measured::of(&persian, small);
        assert_eq!((seen.encoding, seen.limit, seen.fits), ("UCS-2", 70, false));
    }
}
