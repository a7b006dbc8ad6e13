//! serde's data errors without the values they quote (SPEC §8: a feed's values are national
//! identifiers, MSISDNs and names, and an error message ends up in logs and reports).
//!
//! serde writes `invalid type: string "0012345679", expected u64` or ``unknown variant
//! `tzz999…`, expected one of …``: [`plain`] keeps the rule and the field names and leaves the
//! value out. A leaf: the feed's reject reasons and the record's own checks both use it.

/// What the schema's field names look like (`person_id`, `student_until`).
pub(crate) fn is_field_name(key: &str) -> bool {
    !key.is_empty() && key.len() <= 32 && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

/// serde's data error `text` with the value left out.
pub(crate) fn plain(text: &str) -> String {
    for (form, keeps_name) in [
        ("missing field ", true),
        ("duplicate field ", true),
        ("unknown field ", false),
        ("unknown variant ", false),
    ] {
        if let Some(rest) = text.strip_prefix(form) {
            let expected = rest.rsplit_once(", expected ").map(|(_, e)| e);
            let head = if keeps_name {
                format!("{form}{}", unquoted_or_hidden(rest))
            } else if form == "unknown variant " {
                "unknown value".to_string()
            } else {
                "unknown field".to_string()
            };
            return match expected {
                Some(expected) => format!("{head}, expected {expected}"),
                None => head,
            };
        }
    }
    for form in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = text.strip_prefix(form) {
            let kind = rest
                .split(['`', '"', ','])
                .next()
                .unwrap_or_default()
                .trim();
            let expected = rest.rsplit_once(", expected ").map(|(_, e)| e);
            let head = format!("{form}{kind}");
            return match expected {
                Some(expected) => format!("{head}, expected {expected}"),
                None => head,
            };
        }
    }
    if text.starts_with("invalid length ") {
        return text.to_string();
    }
    // Another message (a Deserialize impl's own): what it quotes is left out.
    without_quotes(text)
}

/// The quoted name at the start of `rest` (`` `person_id` ``) when it is a field name.
fn unquoted_or_hidden(rest: &str) -> String {
    let name = rest
        .strip_prefix('`')
        .and_then(|r| r.split_once('`'))
        .map(|(name, _)| name);
    match name {
        Some(name) if is_field_name(name) => format!("`{name}`"),
        _ => "(not shown)".to_string(),
    }
}

/// `text` with every part between quotes or backticks replaced by `…`.
fn without_quotes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut open: Option<char> = None;
    for c in text.chars() {
        match open {
            Some(quote) if c == quote => {
                out.push('…');
                out.push(c);
                open = None;
            }
            Some(_) => {}
            None => {
                out.push(c);
                if c == '`' || c == '"' {
                    open = Some(c);
                }
            }
        }
    }
    if open.is_some() {
        out.push('…');
    }
    out
}
