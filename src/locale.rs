//! How numbers, dates and amounts are written on a screen, per locale (SPEC §7.1): Solar Hijri
//! dates and Persian digits for `fa`, Latin digits and the locale's day/month order elsewhere.
//!
//! Menu rendering calls these to fill `{placeholders}` before a screen is measured and paged.
//! Pure: the date is an argument, there is no clock and no IO. It must never emit a bidi mark,
//! a no-break space or a grouping separator: each is invisible on a handset yet can switch a
//! GSM screen to UCS-2 (CRATES §2, §7). The Persian calendar comes from `icu_calendar`; no
//! conversion is written by hand here.

use icu_calendar::{cal::Persian, Date};

use crate::money::Money;

/// The language subtag of a locale tag: `fa` for `fa`, `fa-IR` or `fa_IR`.
pub(crate) fn language(locale: &str) -> &str {
    locale.split(['-', '_']).next().unwrap_or(locale)
}

/// Writes ASCII digits in the locale's own digits: Extended Arabic-Indic (U+06F0–U+06F9) for
/// `fa`; every other locale of SPEC §7.1 (including `ar`) keeps Latin digits.
pub(crate) fn localize_digits(s: &str, locale: &str) -> String {
    match language(locale) {
        "fa" => s.chars().map(persian_digit).collect(),
        _ => s.to_owned(),
    }
}

fn persian_digit(c: char) -> char {
    match c.to_digit(10) {
        Some(d) if c.is_ascii_digit() => char::from_u32(0x06F0 + d).unwrap_or(c),
        _ => c,
    }
}

/// A date as the locale writes it (SPEC §7.1): `fa` Solar Hijri `yyyy/mm/dd` in Persian digits,
/// `en` `yyyy-mm-dd`, `ar`/`fr` `dd/mm/yyyy`, `kk`/`ru` `dd.mm.yyyy`, any other locale ISO.
pub fn format_date(d: jiff::civil::Date, locale: &str) -> String {
    let (y, m, day) = (i32::from(d.year()), d.month(), d.day());
    match language(locale) {
        "fa" => match solar_hijri(d) {
            Some((py, pm, pd)) => localize_digits(&format!("{py:04}/{pm:02}/{pd:02}"), "fa"),
            None => format!("{y:04}-{m:02}-{day:02}"),
        },
        "ar" | "fr" => format!("{day:02}/{m:02}/{y:04}"),
        "kk" | "ru" => format!("{day:02}.{m:02}.{y:04}"),
        _ => format!("{y:04}-{m:02}-{day:02}"),
    }
}

/// (year, month, day) in the Solar Hijri calendar, or `None` if ICU4X refuses the date.
fn solar_hijri(d: jiff::civil::Date) -> Option<(i32, u8, u8)> {
    let month = u8::try_from(d.month()).ok()?;
    let day = u8::try_from(d.day()).ok()?;
    let iso = Date::try_new_iso(i32::from(d.year()), month, day).ok()?;
    let p = iso.to_calendar(Persian);
    Some((p.era_year().year, p.month().ordinal, p.day_of_month().0))
}

/// An amount as the locale writes it: [`Money`]'s own decimal form (three decimals, no
/// grouping: `120.500`), in the locale's digits (`fa` Persian); the point stays ASCII.
pub(crate) fn format_money(amount: Money, locale: &str) -> String {
    localize_digits(&amount.to_string(), locale)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn digits_per_locale() {
        let cases = [
            ("0123456789", "fa", "۰۱۲۳۴۵۶۷۸۹"),
            ("code 1420#", "fa-IR", "code ۱۴۲۰#"),
            ("0123456789", "ar", "0123456789"),
            ("0123456789", "en", "0123456789"),
            ("0123456789", "ru", "0123456789"),
            ("۱۲", "fa", "۱۲"),
            ("", "fa", ""),
        ];
        for (s, locale, expected) in cases {
            assert_eq!(localize_digits(s, locale), expected, "{s} {locale}");
        }
    }

    #[test]
    fn solar_hijri_pinned() {
        let cases = [
            (date(2020, 5, 21), "۱۳۹۹/۰۳/۰۱"),
            (date(2024, 3, 19), "۱۴۰۲/۱۲/۲۹"),
            (date(2024, 3, 20), "۱۴۰۳/۰۱/۰۱"),
            (date(2025, 3, 20), "۱۴۰۳/۱۲/۳۰"),
            (date(2025, 3, 21), "۱۴۰۴/۰۱/۰۱"),
            (date(1979, 2, 11), "۱۳۵۷/۱۱/۲۲"),
        ];
        for (d, expected) in cases {
            assert_eq!(format_date(d, "fa"), expected, "{d}");
        }
    }

    #[test]
    fn date_order_per_locale() {
        let d = date(2025, 3, 7);
        let cases = [
            ("en", "2025-03-07"),
            ("ar", "07/03/2025"),
            ("fr", "07/03/2025"),
            ("fr-TN", "07/03/2025"),
            ("kk", "07.03.2025"),
            ("ru", "07.03.2025"),
            ("de", "2025-03-07"),
            ("", "2025-03-07"),
            ("fa", "۱۴۰۳/۱۲/۱۷"),
        ];
        for (locale, expected) in cases {
            assert_eq!(format_date(d, locale), expected, "{locale}");
        }
    }

    fn only_digits_and_separators(s: &str) -> bool {
        s.chars()
            .all(|c| c.is_ascii_digit() || ('۰'..='۹').contains(&c) || "/-.".contains(c))
    }

    #[test]
    fn no_invisible_characters_in_any_locale() {
        let dates = [date(2020, 5, 21), date(1979, 2, 11), date(2025, 12, 31)];
        for locale in ["fa", "en", "ar", "fr", "kk", "ru", "xx"] {
            for d in dates {
                let s = format_date(d, locale);
                assert!(only_digits_and_separators(&s), "{locale}: {s:?}");
            }
            for minor in [0, 5, 120_500, 1_234_567_890, -42] {
                let s = format_money(Money::from_minor(minor), locale);
                assert!(only_digits_and_separators(&s), "{locale}: {s:?}");
            }
        }
    }

    #[test]
    fn amounts_in_dinars() {
        let cases = [
            (120_500, "fr", "120.500"),
            (0, "ar", "0.000"),
            (5, "fr", "0.005"),
            (1_000, "fr", "1.000"),
            (1_234_567_890, "fr", "1234567.890"),
            (-2_500, "ar", "-2.500"),
            (120_500, "fa", "۱۲۰.۵۰۰"),
            (i64::MIN, "en", "-9223372036854775.808"),
        ];
        for (minor, locale, expected) in cases {
            assert_eq!(
                format_money(Money::from_minor(minor), locale),
                expected,
                "{minor} {locale}"
            );
        }
    }
}
