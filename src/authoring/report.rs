//! The table `daftar check` prints for authors: per service, screen and locale, the length of
//! the screen rendered with sample values (`samples`) against its budget, its encoding, and the
//! pages it takes. Measured by `text::gsm7` and cut by `menu::render::pages`, exactly as a
//! caller's screen is, so what the table says is what the phone gets.

use std::fmt::Write;

use super::samples::vars_for;
use crate::locale::localize_digits;
use crate::menu::render::{pages, screen_text};
use crate::menu::{Menus, Screen, Service};
use crate::text::gsm7::{measure, Budget, Encoding};

/// One screen in one locale, as measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Measured {
    pub(crate) service: String,
    pub(crate) screen: String,
    pub(crate) locale: String,
    /// Characters (GSM-7 septets or UTF-16 units) of the whole screen, before paging.
    pub(crate) length: usize,
    /// The limit of one page in `encoding`.
    pub(crate) budget: usize,
    pub(crate) encoding: Encoding,
    pub(crate) pages: usize,
}

/// Every screen a caller sees (action screens have no text), in every locale of its service.
pub(crate) fn measure_all(menus: &Menus, budget: Budget) -> Vec<Measured> {
    let mut rows = Vec::new();
    for service in menus.services.values() {
        for (id, screen) in &service.screens {
            if matches!(screen, Screen::Action { .. }) {
                continue;
            }
            for locale in &service.spec.locales {
                rows.push(measure_one(service, id, screen, locale, budget));
            }
        }
    }
    rows
}

fn measure_one(
    service: &Service,
    id: &str,
    screen: &Screen,
    locale: &str,
    budget: Budget,
) -> Measured {
    let vars = vars_for(service, id, locale);
    let text = screen_text(service, screen, locale, &vars);
    let (encoding, length) = measure(&localize_digits(&text, locale));
    Measured {
        service: service.id().to_string(),
        screen: id.to_string(),
        locale: locale.to_string(),
        length,
        budget: budget.limit(encoding),
        encoding,
        pages: pages(service, locale, &text, budget).len(),
    }
}

/// The rows as an aligned table with a header line.
pub(crate) fn table(rows: &[Measured]) -> String {
    let header = ["service", "screen", "locale", "length", "encoding", "pages"];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|row| {
            [
                row.service.clone(),
                row.screen.clone(),
                row.locale.clone(),
                format!("{}/{}", row.length, row.budget),
                encoding_name(row.encoding).to_string(),
                row.pages.to_string(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        let _ = writeln!(out, "{}", padded.join("  ").trim_end());
    };
    line(&header.map(str::to_string));
    for row in &cells {
        line(row);
    }
    out
}

pub(crate) fn encoding_name(encoding: Encoding) -> &'static str {
    match encoding {
        Encoding::Gsm7 => "GSM-7",
        Encoding::Ucs2 => "UCS-2",
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

    fn row<'a>(rows: &'a [Measured], service: &str, screen: &str, locale: &str) -> &'a Measured {
        rows.iter()
            .find(|r| r.service == service && r.screen == screen && r.locale == locale)
            .unwrap_or_else(|| panic!("{service} {screen} {locale}"))
    }

    #[test]
    fn every_screen_a_caller_sees_is_measured_in_every_locale() {
        let menus = shipped();
        let rows = measure_all(&menus, Budget::default());
        for service in menus.services.values() {
            for (id, screen) in &service.screens {
                let shown = !matches!(screen, Screen::Action { .. });
                for locale in &service.spec.locales {
                    let found = rows.iter().any(|r| {
                        r.service == service.id() && &r.screen == id && &r.locale == locale
                    });
                    assert_eq!(found, shown, "{} {id} {locale}", service.id());
                }
            }
        }
    }

    #[test]
    fn lengths_encodings_and_pages_follow_the_words_and_the_samples() {
        let menus = shipped();
        let rows = measure_all(&menus, Budget::default());
        let en = row(&rows, "tamin", "general_covered", "en");
        let words = menus.service("tamin").expect("tamin").words("en");
        let expected = words
            .get("general.covered")
            .replace("{code}", super::super::samples::CODE);
        assert_eq!(en.encoding, Encoding::Gsm7);
        assert_eq!(en.length, expected.chars().count());
        assert_eq!((en.budget, en.pages), (182, 1));
        let fa = row(&rows, "tamin", "main", "fa");
        assert_eq!((fa.encoding, fa.budget), (Encoding::Ucs2, 80));
        // Eight named dependents do not fit one page: the list is paged, and says so.
        let list = row(&rows, "tamin", "dependents_list", "en");
        assert!(list.pages > 1 && list.length > list.budget, "{list:?}");
        // A question fits one page.
        let question = row(&rows, "osms", "iin", "kk");
        assert_eq!((question.encoding, question.pages), (Encoding::Ucs2, 1));
    }

    #[test]
    fn a_smaller_budget_takes_more_pages() {
        let menus = shipped();
        let wide = measure_all(&menus, Budget::default());
        let narrow = measure_all(&menus, Budget { gsm7: 60, ucs2: 40 });
        let (w, n) = (
            row(&wide, "osms", "insured", "ru"),
            row(&narrow, "osms", "insured", "ru"),
        );
        assert_eq!(w.length, n.length);
        assert!(n.pages > w.pages, "{w:?} {n:?}");
    }

    #[test]
    fn the_table_is_aligned_with_a_header() {
        let rows = vec![Measured {
            service: "tamin".into(),
            screen: "main".into(),
            locale: "fa".into(),
            length: 74,
            budget: 80,
            encoding: Encoding::Ucs2,
            pages: 1,
        }];
        assert_eq!(
            table(&rows),
            "service  screen  locale  length  encoding  pages\n\
             tamin    main    fa      74/80   UCS-2     1\n"
        );
        assert_eq!(
            table(&[]),
            "service  screen  locale  length  encoding  pages\n"
        );
    }
}
