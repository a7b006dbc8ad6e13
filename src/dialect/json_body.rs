//! What the JSON dialects share: reading a POSTed JSON object with keys compared
//! case-insensitively and values read as number-or-string (DIALECTS.md §0, "Case and type
//! looseness"), and writing a flat JSON object whose keys come in the order the format's samples
//! show them. Hubtel, Arkesel, Nalo and the declared dialects read through [`JsonFields`]; Beem and Infobip, whose
//! bodies nest or may be empty, take [`expect_json`] and [`loose_string`].

use serde_json::{Map, Value};
use std::borrow::Cow;

use super::{BadRequest, WireRequest, WireResponse};
use crate::turn::{Reply, Turn, TurnKind};

/// Longest session id accepted.
pub(crate) const MAX_SESSION_ID: usize = 128;
/// Longest network code kept.
pub(crate) const MAX_NETWORK: usize = 64;
/// Longest input accepted: far more than any menu answer or dialled string.
pub(crate) const MAX_INPUT: usize = 1024;

/// The fields of one JSON request.
pub(crate) struct JsonFields(Map<String, Value>);

impl JsonFields {
    /// The body of a `POST` to the dialect's own URL, as a JSON object. A missing content type is
    /// accepted; one that does not say JSON is not.
    pub(crate) fn read(request: &WireRequest<'_>) -> Result<JsonFields, BadRequest> {
        request.expect_at_root("POST")?;
        expect_json(request)?;
        let body = std::str::from_utf8(request.body).map_err(|_| BadRequest::NotUtf8)?;
        match serde_json::from_str::<Value>(body) {
            Ok(Value::Object(map)) => Ok(JsonFields(map)),
            _ => Err(BadRequest::Invalid("body")),
        }
    }

    /// Fields given as name–value pairs (a form or a query string), every value a string.
    pub(crate) fn from_pairs<'a>(
        pairs: impl Iterator<Item = (Cow<'a, str>, Cow<'a, str>)>,
    ) -> JsonFields {
        let map = pairs
            .map(|(key, value)| (key.into_owned(), Value::String(value.into_owned())))
            .collect();
        JsonFields(map)
    }

    /// The value of `name`: the exact key, else the first key equal to it ignoring case.
    fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).or_else(|| {
            self.0
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value)
        })
    }

    /// A text field, given as a string or a number; `None` when absent or `null`. Longer than
    /// `max` bytes, or holding a control character other than a line break, is invalid.
    pub(crate) fn text(
        &self,
        name: &'static str,
        max: usize,
    ) -> Result<Option<String>, BadRequest> {
        let text = match self.get(name) {
            None | Some(Value::Null) => return Ok(None),
            Some(value) => loose_string(value).ok_or(BadRequest::Invalid(name))?,
        };
        if text.len() > max
            || text
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\r')
        {
            return Err(BadRequest::Invalid(name));
        }
        Ok(Some(text))
    }

    /// A yes/no field: a JSON boolean, or leniently `"true"`/`"false"` (any case), `1`/`0`.
    pub(crate) fn flag(&self, name: &'static str) -> Result<Option<bool>, BadRequest> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::Number(n)) => match n.as_u64() {
                Some(1) => Ok(Some(true)),
                Some(0) => Ok(Some(false)),
                _ => Err(BadRequest::Invalid(name)),
            },
            Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(Some(true)),
                "false" | "0" => Ok(Some(false)),
                _ => Err(BadRequest::Invalid(name)),
            },
            Some(_) => Err(BadRequest::Invalid(name)),
        }
    }

    /// The caller's network (`MTN`, `63902`), read for its screen budget alone: a value that is
    /// blank or not text is no network, never a refusal.
    pub(crate) fn network(&self, name: &str) -> Option<String> {
        let value = self.get(name).and_then(loose_string)?;
        let plain = !value.trim().is_empty()
            && value.len() <= MAX_NETWORK
            && !value.chars().any(char::is_control);
        plain.then(|| value.trim().to_string())
    }

    /// A session id: present, not blank, not too long, no control characters.
    pub(crate) fn session_id(&self, name: &'static str) -> Result<Option<String>, BadRequest> {
        let Some(id) = self.text(name, MAX_SESSION_ID)? else {
            return Ok(None);
        };
        if id.trim().is_empty() || id.chars().any(char::is_control) {
            return Err(BadRequest::Invalid(name));
        }
        Ok(Some(id))
    }
}

/// Refuses a body whose declared content type does not say JSON (a missing one is accepted).
pub(crate) fn expect_json(request: &WireRequest<'_>) -> Result<(), BadRequest> {
    match request.header("content-type") {
        Some(ct) if !ct.to_ascii_lowercase().contains("json") => {
            Err(BadRequest::ContentType(ct.to_string()))
        }
        _ => Ok(()),
    }
}

/// A string, or a number written as one (DIALECTS.md §0: aggregators send either); `None`
/// for any other JSON type.
pub(crate) fn loose_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A dialled USSD string (`*713*4#`, `713*4`, `*4*1420*2*0012345679#`) in the form the menus
/// route (`*…#`), or `None` when `raw` is not one (a Programmable Services GUID, free text).
pub(crate) fn ussd_code(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let core = raw.trim_start_matches('*').trim_end_matches('#');
    let shaped = !core.is_empty()
        && core.len() <= 64
        && core.bytes().all(|b| b.is_ascii_digit() || b == b'*')
        && core.bytes().next().is_some_and(|b| b.is_ascii_digit());
    shaped.then(|| format!("*{core}#"))
}

/// The string a caller dialled, as the first request's input field carries it (`*928*1#`):
/// only a string that begins with `*` is one.
pub(crate) fn dialled_string(raw: &str) -> Option<String> {
    if raw.trim().starts_with('*') {
        ussd_code(raw)
    } else {
        None
    }
}

/// A first request (its input the dialled string, when it is one) or a later one (the latest
/// input, which it must carry in `field`), as the engine takes it: Arkesel and Nalo.
pub(crate) fn first_or_latest(
    first: bool,
    input: Option<String>,
    field: &'static str,
) -> Result<(TurnKind, Option<String>), BadRequest> {
    if first {
        Ok((TurnKind::Start, input.as_deref().and_then(dialled_string)))
    } else {
        let input = input.ok_or(BadRequest::Missing(field))?;
        Ok((TurnKind::Latest(input), None))
    }
}

/// One field of a reply.
#[derive(Clone, Copy)]
pub(crate) enum Out<'a> {
    Text(&'a str),
    Flag(bool),
    /// Any JSON value, as configuration wrote it (a declared dialect's constants).
    Value(&'a Value),
}

/// The JSON reply of a format that echoes the request's fields (`turn.echo`, in order) and
/// adds the screen under `text_key` and whether the session goes on under `more_key`
/// (Arkesel, Nalo).
pub(crate) fn echoed_reply(
    turn: &Turn,
    reply: &Reply,
    text_key: &str,
    more_key: &str,
) -> WireResponse {
    let more = (more_key, Out::Flag(!reply.is_end()));
    WireResponse {
        status: 200,
        content_type: "application/json",
        body: echoed_object(turn, &[], (text_key, reply.text()), more),
    }
}

/// A flat JSON object: the request's echoed fields (`turn.echo`, in order), then `middle`, then
/// the screen under its key, then whether the session goes on.
pub(crate) fn echoed_object(
    turn: &Turn,
    middle: &[(&str, Out<'_>)],
    (text_key, text): (&str, &str),
    (more_key, more): (&str, Out<'_>),
) -> String {
    let mut fields: Vec<(&str, Out<'_>)> = turn
        .echo
        .iter()
        .map(|(key, value)| (key.as_str(), Out::Text(value)))
        .collect();
    fields.extend(middle.iter().map(|(key, value)| (*key, *value)));
    fields.push((text_key, Out::Text(text)));
    fields.push((more_key, more));
    object(&fields)
}

/// A flat JSON object with its keys in the given order.
pub(crate) fn object(fields: &[(&str, Out<'_>)]) -> String {
    let parts: Vec<String> = fields
        .iter()
        .map(|(key, value)| {
            let value = match value {
                Out::Text(text) => Value::String((*text).to_string()).to_string(),
                Out::Flag(flag) => flag.to_string(),
                Out::Value(value) => value.to_string(),
            };
            format!("{}:{value}", Value::String((*key).to_string()))
        })
        .collect();
    format!("{{{}}}", parts.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialled_strings_are_normalised_or_refused() {
        let cases = [
            ("*713*4#", Some("*713*4#")),
            ("713*4", Some("*713*4#")),
            ("7112#", Some("*7112#")),
            (" *4*1420*2*0012345679# ", Some("*4*1420*2*0012345679#")),
            ("b230733c-1f2e-4a5b-9c8d-0e1f2a3b4c5d", None),
            ("1", Some("*1#")),
            ("", None),
            ("*#", None),
            ("*4*abc#", None),
        ];
        for (raw, want) in cases {
            assert_eq!(ussd_code(raw).as_deref(), want, "{raw:?}");
        }
        assert_eq!(dialled_string("*928*1#").as_deref(), Some("*928*1#"));
        assert_eq!(dialled_string("1"), None);
        assert_eq!(dialled_string(""), None);
    }

    #[test]
    fn objects_keep_their_order_and_escape_text() {
        let body = object(&[
            ("Type", Out::Text("Response")),
            ("Message", Out::Text("a \"b\"\nپ")),
            ("more", Out::Flag(true)),
        ]);
        assert_eq!(
            body,
            "{\"Type\":\"Response\",\"Message\":\"a \\\"b\\\"\\nپ\",\"more\":true}"
        );
    }
}
