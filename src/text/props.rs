//! Property tests of pagination (issue 11): whatever the text and its scripts (GSM-7 with its
//! extension characters, Persian, Arabic, Cyrillic, emoji), every page fits the budget in its
//! own encoding, no page is empty, and the pages hold the text's words in order, none lost and
//! none repeated (only whitespace at a cut may go).

use proptest::prelude::*;

use super::gsm7::{fits, Budget};
use super::page::paginate;

/// Pieces of every script a screen may carry, whitespace among them.
const PIECES: [&str; 16] = [
    "Coverage",
    "until",
    "2026-12-31",
    "{[~]}",
    "€^|\\",
    "حمایت",
    "درمانی",
    "۱۲۳۴",
    "التأمين",
    "١٢٣",
    "Застрахован",
    "Сақтандырылған",
    "😀",
    "👍🏽",
    " ",
    "\n",
];

fn text(pieces: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(0..PIECES.len(), 0..pieces).prop_map(|picks| {
        let mut out = String::new();
        for (i, pick) in picks.into_iter().enumerate() {
            out.push_str(PIECES[pick]);
            if i % 3 == 0 {
                out.push(' ');
            }
        }
        out
    })
}

fn budget() -> impl Strategy<Value = Budget> {
    (80usize..=182, 40usize..=80).prop_map(|(gsm7, ucs2)| Budget { gsm7, ucs2 })
}

/// The text without any whitespace: what pagination must keep, in order.
fn visible(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn pages_fit_and_keep_every_word_once(text in text(120), budget in budget(), persian in any::<bool>()) {
        let more = if persian { "۹۸. بیشتر" } else { "98. More" };
        let pages = paginate(&text, more, budget);
        prop_assert!(!pages.is_empty());
        let footer = format!("\n{more}");
        let mut kept = String::new();
        for (i, page) in pages.iter().enumerate() {
            prop_assert!(fits(page, budget), "page {i} over {budget:?}: {page:?}");
            let body = if i + 1 < pages.len() {
                page.strip_suffix(&footer).ok_or_else(|| TestCaseError::fail("no footer"))?
            } else {
                page.as_str()
            };
            if pages.len() > 1 {
                prop_assert!(!body.trim().is_empty(), "page {i} is empty");
            }
            kept.push_str(body);
        }
        prop_assert_eq!(visible(&kept), visible(&text));
    }

    #[test]
    fn a_text_that_fits_is_one_page_unchanged(text in text(10), budget in budget()) {
        prop_assume!(fits(&text, budget));
        prop_assert_eq!(paginate(&text, "98. More", budget), vec![text]);
    }
}
