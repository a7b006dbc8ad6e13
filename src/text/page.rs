//! Pagination by encoding: a screen too long for one USSD message becomes pages, each ending in
//! the localized "more" line (`98. …`), each fitting one message in its own encoding (SPEC §3).
//!
//! The flow renders a screen, hands it here with the caller's budget, and keeps the pages in the
//! session; `98` shows the next one. Pure: no IO, no locale files (the "more" line arrives
//! already localized). It must never drop or reorder words, never add characters of its own
//! beyond the newline before the footer, and never produce an empty page.
//!
//! Cuts are made, in order of preference, at the last line break that fits, else at the last
//! whitespace that fits (a line too long for a page), else at the last character that fits (a
//! word too long for a page). Whitespace at a cut is dropped; everything else is kept in order.

use super::gsm7::{septets, Budget, Encoding};

/// Splits `text` into pages that fit `budget`. Every page but the last ends with `"\n" + more`.
///
/// A text that fits whole is one page, unchanged (an empty text is one empty page). A page may
/// exceed the budget only when the footer alone leaves no room for one character of text.
pub fn paginate(text: &str, more: &str, budget: Budget) -> Vec<String> {
    let footer = format!("\n{more}");
    let footer_cost = Cost::of(&footer);
    let mut pages = Vec::new();
    let mut rest = text;
    loop {
        if let Some(last) = last_page(rest, budget) {
            pages.push(last.to_owned());
            return pages;
        }
        let cut = find_cut(rest, footer_cost, budget);
        let body = rest[..cut].trim_end();
        rest = rest[cut..].trim_start();
        if rest.is_empty() {
            // Only whitespace was left after the cut: this page is the last one.
            pages.push(body.to_owned());
            return pages;
        }
        pages.push(format!("{body}{footer}"));
    }
}

/// `rest` as the last page (no footer) if it fits, trailing whitespace dropped if that helps.
fn last_page(rest: &str, budget: Budget) -> Option<&str> {
    // Every character costs at least one unit in either encoding: a text with more characters
    // than the larger budget cannot fit, and measuring it whole each page would be quadratic.
    let ceiling = budget.gsm7.max(budget.ucs2);
    if rest.trim_end().chars().nth(ceiling).is_some() {
        return None;
    }
    if Cost::of(rest).fits(budget) {
        return Some(rest);
    }
    let trimmed = rest.trim_end();
    Cost::of(trimmed).fits(budget).then_some(trimmed)
}

/// The byte offset at which to end the next page of `rest` (which does not fit whole).
///
/// Always a char boundary greater than zero with some non-whitespace before it, so every page
/// makes progress and none is empty.
fn find_cut(rest: &str, footer: Cost, budget: Budget) -> usize {
    // Past this many UTF-16 units no prefix can fit in either encoding: a GSM prefix costs at
    // least one septet per unit, a UCS-2 prefix exactly one unit per unit.
    let ceiling = budget.gsm7.max(budget.ucs2);
    let mut prefix = Cost::EMPTY;
    let mut seen_text = false;
    let (mut at_line, mut at_space, mut at_char) = (None, None, None);
    for (i, c) in rest.char_indices() {
        if seen_text && prefix.plus(footer).fits(budget) {
            at_char = Some(i);
            if c == '\n' {
                at_line = Some(i);
            }
            if c.is_whitespace() {
                at_space = Some(i);
            }
        }
        prefix = prefix.plus(Cost::of_char(c));
        seen_text |= !c.is_whitespace();
        if prefix.units + footer.units > ceiling {
            break;
        }
    }
    at_line
        .or(at_space)
        .or(at_char)
        .unwrap_or_else(|| forced_cut(rest))
}

/// The end of the first non-whitespace character: the smallest page that is not empty, used
/// only when the footer leaves no room at all.
fn forced_cut(rest: &str) -> usize {
    rest.char_indices()
        .find(|(_, c)| !c.is_whitespace())
        .map_or(rest.len(), |(i, c)| i + c.len_utf8())
}

/// The cost of a piece of text in both encodings, so prefixes can be extended one char at a time.
#[derive(Clone, Copy, Debug)]
struct Cost {
    /// Septets, or `None` once a character outside the GSM alphabet was seen.
    septets: Option<usize>,
    /// UTF-16 code units.
    units: usize,
}

impl Cost {
    const EMPTY: Cost = Cost {
        septets: Some(0),
        units: 0,
    };

    fn of(s: &str) -> Cost {
        s.chars()
            .fold(Cost::EMPTY, |acc, c| acc.plus(Cost::of_char(c)))
    }

    fn of_char(c: char) -> Cost {
        Cost {
            septets: septets(c),
            units: c.len_utf16(),
        }
    }

    fn plus(self, other: Cost) -> Cost {
        Cost {
            septets: self.septets.zip(other.septets).map(|(a, b)| a + b),
            units: self.units + other.units,
        }
    }

    fn fits(self, budget: Budget) -> bool {
        match self.septets {
            Some(n) => n <= budget.limit(Encoding::Gsm7),
            None => self.units <= budget.limit(Encoding::Ucs2),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::gsm7::fits;

    const MORE: &str = "98. More";
    const MORE_FA: &str = "۹۸. بیشتر";

    /// Pages with their footers taken off.
    fn bodies<'a>(pages: &'a [String], more: &str) -> Vec<&'a str> {
        let footer = format!("\n{more}");
        let last = pages.len().saturating_sub(1);
        pages
            .iter()
            .enumerate()
            .map(|(i, p)| match i == last {
                true => p.as_str(),
                false => p.strip_suffix(footer.as_str()).unwrap_or("<no footer>"),
            })
            .collect()
    }

    fn without_whitespace(s: &str) -> String {
        s.chars().filter(|c| !c.is_whitespace()).collect()
    }

    /// The invariants every pagination must keep.
    fn check(text: &str, more: &str, budget: Budget) -> Vec<String> {
        let pages = paginate(text, more, budget);
        assert!(!pages.is_empty());
        let bodies = bodies(&pages, more);
        for (i, page) in pages.iter().enumerate() {
            assert!(fits(page, budget), "page {i} over budget: {page:?}");
            if pages.len() > 1 {
                assert!(!bodies[i].trim().is_empty(), "page {i} empty");
            }
        }
        // Nothing lost, nothing reordered: only whitespace at the cuts may go.
        assert_eq!(
            without_whitespace(&bodies.concat()),
            without_whitespace(text)
        );
        // Every body is the text itself, in order, from where the previous one ended.
        let mut from = 0;
        for body in &bodies {
            let at = text[from..].find(body).map(|k| from + k);
            assert!(at.is_some(), "body not found in order: {body:?}");
            from = at.unwrap_or(from) + body.len();
        }
        pages
    }

    fn lines(n: usize, line: &str) -> String {
        vec![line; n].join("\n")
    }

    #[test]
    fn page_counts() {
        let b = Budget::default();
        let persian_line = "حمایت درمانی دارد تا ۱۴۰۴/۰۱/۰۱";
        let cases: Vec<(&str, String, &str, usize)> = vec![
            ("empty", String::new(), MORE, 1),
            ("short", "1. Yes\n2. No".into(), MORE, 1),
            ("gsm exactly at budget", "a".repeat(182), MORE, 1),
            ("gsm one over", "a".repeat(183), MORE, 2),
            ("ucs2 exactly at budget", "س".repeat(80), MORE_FA, 1),
            ("ucs2 one over", "س".repeat(81), MORE_FA, 2),
            ("extension chars at budget", "€".repeat(91), MORE, 1),
            ("extension chars one over", "€".repeat(92), MORE, 2),
            ("persian lines", lines(10, persian_line), MORE_FA, 5),
            ("gsm lines", lines(20, "12. Some option"), MORE, 2),
        ];
        for (name, text, more, expected) in cases {
            let pages = check(&text, more, b);
            assert_eq!(pages.len(), expected, "{name}: {pages:#?}");
        }
    }

    #[test]
    fn short_text_is_returned_unchanged() {
        let text = "  Choose:\n1. Yes\n2. No\n";
        assert_eq!(
            paginate(text, MORE, Budget::default()),
            vec![text.to_owned()]
        );
        assert_eq!(paginate("", MORE, Budget::default()), vec![String::new()]);
    }

    #[test]
    fn cuts_at_line_breaks_first() {
        let text = lines(20, "12. Some option");
        let pages = check(&text, MORE, Budget::default());
        for body in bodies(&pages, MORE) {
            for line in body.lines() {
                assert_eq!(line, "12. Some option");
            }
        }
        // Greedy: the first page holds as many whole lines as fit with the footer.
        // 11 lines = 11*15 + 10 = 175 septets, + 9 for the footer = 184 > 182; 10 lines fit,
        // and the footer is the 11th line of the page.
        assert_eq!(pages[0].lines().count(), 11);
    }

    #[test]
    fn long_line_is_cut_at_spaces() {
        let text = "word ".repeat(60);
        let pages = check(text.trim_end(), MORE, Budget::default());
        for body in bodies(&pages, MORE) {
            assert!(body.split(' ').all(|w| w == "word"), "{body:?}");
        }
    }

    #[test]
    fn long_word_is_hard_split() {
        let text = "x".repeat(500);
        let pages = check(&text, MORE, Budget::default());
        assert_eq!(pages[0].len(), 182);
        assert_eq!(pages.len(), 3);
    }

    #[test]
    fn persian_pages_are_ucs2() {
        let text = "حمایت درمانی دارد ".repeat(20);
        let pages = check(&text, MORE_FA, Budget::default());
        assert!(pages.len() > 4);
        for page in &pages {
            assert!(page.encode_utf16().count() <= 80);
        }
    }

    #[test]
    fn mixed_text_pages_each_in_their_own_encoding() {
        // A GSM head, then a Cyrillic tail: the first pages may use 182, the last only 80.
        let text = format!(
            "{}\n{}",
            lines(12, "1. Option one"),
            lines(6, "Застрахован до 01.01.2025")
        );
        let pages = check(&text, MORE, Budget::default());
        assert!(crate::text::gsm7::gsm7_len(&pages[0]).is_some());
        assert!(pages[0].chars().count() > 80);
    }

    #[test]
    fn emoji_never_split_and_counted_as_two_units() {
        let text = "👍".repeat(100);
        let pages = check(&text, MORE, Budget::default());
        // 80 units - 9 for the footer = 71 units, so 35 emoji per page.
        assert_eq!(pages[0].chars().filter(|c| *c == '👍').count(), 35);
        assert_eq!(pages.len(), 3);
    }

    #[test]
    fn five_thousand_chars() {
        let sentence =
            "Le droit est ouvert jusqu'au 31/12/2025 pour l'assuré et ses ayants droit. ";
        let text: String = sentence.chars().cycle().take(5_000).collect();
        let pages = check(&text, MORE, Budget::default());
        assert!(pages.len() >= 5_000 / 182);
        let persian: String = "بیمه شده حمایت درمانی دارد. "
            .chars()
            .cycle()
            .take(5_000)
            .collect();
        let pages = check(&persian, MORE_FA, Budget::default());
        assert!(pages.len() >= 5_000 / 80);
    }

    #[test]
    fn blank_lines_and_trailing_whitespace_make_no_empty_page() {
        let text = format!("\n\n{}\n\n\n{}\n   \n", "a".repeat(150), "b".repeat(150));
        let pages = check(&text, MORE, Budget::default());
        assert_eq!(pages.len(), 2);
    }

    #[test]
    fn tiny_budgets_still_make_progress() {
        let cases = [
            Budget { gsm7: 10, ucs2: 5 },
            Budget { gsm7: 1, ucs2: 1 },
            Budget { gsm7: 0, ucs2: 0 },
        ];
        for b in cases {
            let pages = paginate("abc def ghi", MORE, b);
            assert!(pages.iter().all(|p| !p.trim().is_empty()));
            let joined: String = bodies(&pages, MORE).concat();
            assert_eq!(without_whitespace(&joined), "abcdefghi");
        }
    }
}
