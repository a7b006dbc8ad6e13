//! What the XML dialects (Comviva, TruRoute; DIALECTS.md §7a, §7c) share: the content type,
//! a flat document read with `quick-xml`'s pull reader (no DOCTYPE, no entity beyond the five
//! predefined ones and character references, so no XXE and no entity bomb), an element
//! written escaped, and whether a first input is a dialled string.

use std::collections::BTreeMap;

use quick_xml::events::Event;
use quick_xml::Reader;

use super::{BadRequest, WireRequest};

/// Whether a first request's input is a dialled string (`*4*1420#`) rather than an answer or
/// a placeholder.
pub(super) fn looks_dialled(input: &str) -> bool {
    input.len() > 1 && (input.starts_with('*') || input.starts_with('#')) && input.ends_with('#')
}

/// `<name>text</name>`, the text escaped, line breaks as `&#10;` (as the source's sample
/// writes them, so no gateway's whitespace handling can fold them).
pub(super) fn element(out: &mut String, name: &str, text: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    out.push_str(&quick_xml::escape::escape(text).replace('\n', "&#10;"));
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// The fields of a flat XML document POSTed to a dialect's own URL (see [`read_flat`]), once
/// the method, the path, the content type and the UTF-8 of the body are checked.
pub(super) fn read_posted(
    request: &WireRequest<'_>,
    root: &str,
) -> Result<BTreeMap<String, String>, BadRequest> {
    request.expect_at_root("POST")?;
    check_xml_content_type(request)?;
    let body = std::str::from_utf8(request.body).map_err(|_| BadRequest::NotUtf8)?;
    read_flat(body, root)
}

/// An XML content type, or none at all (`text/xml`, `application/xml`, `…+xml`).
fn check_xml_content_type(request: &WireRequest<'_>) -> Result<(), BadRequest> {
    let Some(ct) = request.header("content-type") else {
        return Ok(());
    };
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime == "text/xml" || mime == "application/xml" || mime.ends_with("+xml") {
        Ok(())
    } else {
        Err(BadRequest::ContentType(ct.to_string()))
    }
}

/// Most child elements a flat document may have.
const MAX_CHILDREN: usize = 64;
/// Deepest nesting read (root, child, grandchild…).
const MAX_DEPTH: usize = 8;

/// The text of each direct child of a flat document whose root is `root`, by lower-cased
/// local name (an empty element is `""`; a repeated one keeps its first value). Case, order,
/// attributes and deeper elements are not held against it; a DOCTYPE, an entity that is not
/// predefined, a second root and anything not well formed are.
pub(super) fn read_flat(body: &str, root: &str) -> Result<BTreeMap<String, String>, BadRequest> {
    const XML: BadRequest = BadRequest::Invalid("xml");
    let mut reader = Reader::from_str(body);
    reader.config_mut().trim_text(false);
    let mut fields = BTreeMap::new();
    let mut depth = 0usize;
    let mut seen_root = false;
    // The child being read and its text so far.
    let mut current: Option<(String, String)> = None;
    loop {
        let event = reader.read_event().map_err(|_| XML)?;
        let opened = matches!(event, Event::Start(_));
        match event {
            Event::DocType(_) => return Err(XML),
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::Start(e) | Event::Empty(e) if depth == 0 => {
                let name = e.local_name().into_inner().to_ascii_lowercase();
                if seen_root || !name.eq_ignore_ascii_case(root) {
                    return Err(XML);
                }
                seen_root = true;
                // An empty root (`<request/>`) has no children: depth stays 0.
                if opened {
                    depth = 1;
                }
            }
            Event::Start(e) => {
                if depth == 1 {
                    let name = e.local_name().into_inner().to_ascii_lowercase();
                    current = Some((name, String::new()));
                }
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(XML);
                }
            }
            Event::Empty(e) => {
                if depth == 1 {
                    let name = e.local_name().into_inner().to_ascii_lowercase();
                    fields.entry(name).or_insert_with(String::new);
                }
            }
            Event::End(_) => {
                if depth == 2 {
                    if let Some((name, text)) = current.take() {
                        fields.entry(name).or_insert(text);
                    }
                }
                depth = depth.saturating_sub(1);
            }
            Event::Text(t) => {
                if depth == 2 {
                    if let Some((_, text)) = current.as_mut() {
                        text.push_str(&t.xml10_content());
                    }
                } else if (depth == 0 || depth == 1) && !t.xml10_content().trim().is_empty() {
                    return Err(XML);
                }
            }
            Event::CData(t) => {
                if depth == 2 {
                    if let Some((_, text)) = current.as_mut() {
                        text.push_str(&t.xml10_content());
                    }
                }
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref().map_err(|_| XML)? {
                    Some(c) => c.to_string(),
                    None => quick_xml::escape::resolve_predefined_entity(&r)
                        .ok_or(XML)?
                        .to_string(),
                };
                if depth == 2 {
                    if let Some((_, text)) = current.as_mut() {
                        text.push_str(&resolved);
                    }
                }
            }
            Event::Eof => break,
        }
        if fields.len() > MAX_CHILDREN {
            return Err(XML);
        }
    }
    if !seen_root || depth != 0 {
        return Err(XML);
    }
    Ok(fields)
}
