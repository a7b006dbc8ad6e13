//! Where each key of a menu file is written: the line of every table and key, by its dotted
//! path (`screens.main`, `service.start`, `shortcuts.*4*1420*2#`, `main.title`), read from the
//! spans of toml's own parser (`toml::de::DeTable`), so that a fault names its line without a
//! second parser. Nothing here refuses a file: loading does that.

use std::collections::HashMap;
use toml::de::{DeTable, DeValue};

/// Line (from 1) of each dotted key path of one file.
pub(crate) type Lines = HashMap<String, usize>;

/// The line of every key of the TOML `text`; empty for a text that does not parse.
pub(crate) fn key_lines(text: &str) -> Lines {
    let mut out = Lines::new();
    if let Ok(document) = DeTable::parse(text) {
        walk(text, "", document.get_ref(), &mut out);
    }
    out
}

fn walk(text: &str, prefix: &str, table: &DeTable<'_>, out: &mut Lines) {
    for (key, value) in table {
        let path = if prefix.is_empty() {
            key.get_ref().to_string()
        } else {
            format!("{prefix}.{}", key.get_ref())
        };
        out.entry(path.clone())
            .or_insert_with(|| line_at(text, key.span().start));
        if let DeValue::Table(inner) = value.get_ref() {
            walk(text, &path, inner, out);
        }
    }
}

/// The line (from 1) of the byte `offset` of `text`.
fn line_at(text: &str, offset: usize) -> usize {
    let before = text.as_bytes().get(..offset).unwrap_or(text.as_bytes());
    before.iter().filter(|b| **b == b'\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_keys_and_dotted_headers_have_their_lines() {
        let text = "# a comment\n[service]\nid = \"demo\"\nstart = \"main\"\n\n\
                    [screens.main]\nkind = \"menu\"\n\n[shortcuts]\n\"*1*2#\" = \"main\"\n\
                    [main]\ntitle = \"Demo\"\n";
        let lines = key_lines(text);
        let cases = [
            ("service", 2),
            ("service.start", 4),
            ("screens.main", 6),
            ("screens.main.kind", 7),
            ("shortcuts.*1*2#", 10),
            ("main.title", 12),
        ];
        for (path, line) in cases {
            assert_eq!(lines.get(path), Some(&line), "{path}: {lines:?}");
        }
    }

    #[test]
    fn garbage_empty_and_multibyte_texts_give_what_they_can() {
        assert!(key_lines("not = [toml").is_empty());
        assert!(key_lines("").is_empty());
        assert!(key_lines("\u{0}\u{1}").is_empty());
        let persian = "title = \"سازمان تأمین اجتماعی\"\n[ask]\nown_code = \"کد ملی\"\n";
        let lines = key_lines(persian);
        assert_eq!(lines.get("ask.own_code"), Some(&3));
    }
}
