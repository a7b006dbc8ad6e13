//! A dialect declared in configuration (SPEC §4, issue 9): an aggregator that is not built in
//! is described under `[dialects.<name>.request]` and `[dialects.<name>.reply]` — where its
//! fields are (a form, a JSON object or the query string), which field holds the session id,
//! the MSISDN, the dialled string and the input (the whole `*`-joined path, or the latest input
//! alone), how a session's first request, an abort and a timeout are marked, and the reply's
//! shape (a JSON object with named fields, or text after a continue or end prefix).
//! [`Declared::build`] checks a declaration at start and refuses what cannot work, naming the
//! key. The built dialect reads as leniently as the built-in JSON dialects (keys compared
//! ignoring case, text given as string or number, yes/no as `true`, `"TRUE"` or `1`:
//! DIALECTS.md §0) and is served at `/ussd/<name>` through the same gate, engine and
//! per-dialect settings as any other. A request it cannot read gets the default 400.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use serde_json::Value;

use super::json_body::{
    echoed_object, first_or_latest, loose_string, ussd_code, JsonFields, Out, MAX_INPUT,
};
use super::{msisdn_digits, BadRequest, Dialect, WireRequest, WireResponse};
use crate::config::{DeclaredReply, DeclaredRequest, DialectConfig, FieldMark, StartMark};
use crate::turn::{Reply, Turn, TurnKind};

/// Longest MSISDN field accepted.
const MAX_MSISDN: usize = 64;
/// Longest echoed, marker, network or service-code field accepted.
const MAX_FIELD: usize = 128;
/// Longest field name or dialect name a declaration may use.
const MAX_NAME: usize = 64;

/// A declaration that cannot work, refused at start with the key it was read from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key} {rule}")]
pub(crate) struct BadDeclaration {
    /// The key as written in the file: `dialects.acme.request.session_id`.
    key: String,
    /// What the value must be.
    rule: String,
}

impl BadDeclaration {
    /// A built-in dialect's section that declares a request or a reply.
    pub(crate) fn built_in(name: &str) -> BadDeclaration {
        BadDeclaration {
            key: format!("dialects.{name}"),
            rule: "is built in: its request and reply cannot be declared; declare the format under another name".into(),
        }
    }
}

/// One aggregator's format, as configuration declares it.
pub(crate) struct Declared {
    name: Arc<str>,
    request: RequestFields,
    reply: ReplyShape,
}

/// Where a request's fields are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Content {
    Form,
    Json,
    Query,
}

/// How a session's first request is told.
enum Start {
    /// A field holds one of some values (Arkesel's `newSession: true`).
    Marked(Mark),
    /// The input is empty or absent.
    EmptyInput,
    /// Nothing marks it: a session the server does not hold is a new one.
    FirstSight,
}

/// A field holding one of some values; when every value is a boolean, a yes/no field.
struct Mark {
    field: &'static str,
    values: Vec<Value>,
}

impl Mark {
    /// Whether `fields` are so marked. A yes/no field must read as one, and with `required`
    /// be present; a text field is compared ignoring case and surrounding spaces.
    fn holds(&self, fields: &JsonFields, required: bool) -> Result<bool, BadRequest> {
        if self.values.iter().all(Value::is_boolean) {
            return match fields.flag(self.field)? {
                Some(flag) => Ok(self.values.contains(&Value::Bool(flag))),
                None if required => Err(BadRequest::Missing(self.field)),
                None => Ok(false),
            };
        }
        let Some(text) = fields.text(self.field, MAX_FIELD)? else {
            return Ok(false);
        };
        let text = text.trim();
        Ok(self
            .values
            .iter()
            .filter_map(loose_string)
            .any(|value| value.eq_ignore_ascii_case(text)))
    }
}

/// The request side of a declaration, checked.
struct RequestFields {
    content: Content,
    method: &'static str,
    session_id: &'static str,
    msisdn: &'static str,
    service_code: Option<&'static str>,
    input: &'static str,
    cumulative: bool,
    start: Start,
    abort: Option<Mark>,
    timeout: Option<Mark>,
    network: Option<&'static str>,
    /// Fields the reply sends back, read with the request.
    echo: Vec<&'static str>,
}

/// The reply side of a declaration, checked.
enum ReplyShape {
    Json {
        content_type: &'static str,
        text: String,
        more: String,
        goes_on: Value,
        ends: Value,
        constants: Vec<(String, Value)>,
    },
    Text {
        content_type: &'static str,
        goes_on: String,
        ends: String,
    },
}

impl Declared {
    /// The dialect `name` as `section` declares it, or the first key that cannot work.
    pub(crate) fn build(name: &str, section: &DialectConfig) -> Result<Declared, BadDeclaration> {
        let at = Keys(format!("dialects.{name}"));
        if !is_plain_name(name) {
            return Err(at.bad(
                "",
                "is not a name for a URL: use a–z, 0–9, _ and - (64 at most)",
            ));
        }
        let request = section.request.as_ref().ok_or_else(|| {
            at.bad(
                ".request",
                "is required: a declared dialect says how its requests read",
            )
        })?;
        let reply = section.reply.as_ref().ok_or_else(|| {
            at.bad(
                ".reply",
                "is required: a declared dialect says how its replies look",
            )
        })?;
        Ok(Declared {
            name: Arc::from(name),
            request: request_fields(&at.under("request"), request, &reply.echo, &at)?,
            reply: reply_shape(&at.under("reply"), reply)?,
        })
    }
}

/// The keys of one table, for naming the one refused.
struct Keys(String);

impl Keys {
    fn under(&self, table: &str) -> Keys {
        Keys(format!("{}.{table}", self.0))
    }

    fn bad(&self, key: &str, rule: impl Into<String>) -> BadDeclaration {
        BadDeclaration {
            key: format!("{}{key}", self.0),
            rule: rule.into(),
        }
    }

    /// The field name under `key`, which must be given.
    fn required(&self, key: &str, value: Option<&String>) -> Result<&'static str, BadDeclaration> {
        let value = value.ok_or_else(|| self.bad(&format!(".{key}"), "is required"))?;
        self.field(key, value)
    }

    /// A field name: not blank, not too long, no control characters.
    fn field(&self, key: &str, value: &str) -> Result<&'static str, BadDeclaration> {
        if value.trim().is_empty() || value.len() > MAX_NAME || value.chars().any(char::is_control)
        {
            return Err(self.bad(
                &format!(".{key}"),
                "must be a field name (1 to 64 characters)",
            ));
        }
        Ok(interned(value))
    }

    /// A field name under `key` when one is given.
    fn optional(
        &self,
        key: &str,
        value: Option<&String>,
    ) -> Result<Option<&'static str>, BadDeclaration> {
        value.map(|v| self.field(key, v)).transpose()
    }

    /// A field and the values that mark a request.
    fn mark(&self, key: &str, mark: &FieldMark) -> Result<Mark, BadDeclaration> {
        let field = self.field(&format!("{key}.field"), &mark.field)?;
        let scalar = |v: &Value| v.is_string() || v.is_number() || v.is_boolean();
        if mark.values.is_empty() || !mark.values.iter().all(scalar) {
            let rule = "must list one or more strings, numbers or booleans";
            return Err(self.bad(&format!(".{key}.values"), rule));
        }
        let flags = mark.values.iter().filter(|v| v.is_boolean()).count();
        if flags != 0 && flags != mark.values.len() {
            let rule = "mixes booleans (a yes/no field) with other values";
            return Err(self.bad(&format!(".{key}.values"), rule));
        }
        Ok(Mark {
            field,
            values: mark.values.clone(),
        })
    }
}

/// The request side of a declaration, with the reply's echoed fields.
fn request_fields(
    at: &Keys,
    request: &DeclaredRequest,
    echo: &[String],
    dialect: &Keys,
) -> Result<RequestFields, BadDeclaration> {
    let content = match request.content.as_deref() {
        Some("form") => Content::Form,
        Some("json") => Content::Json,
        Some("query") => Content::Query,
        Some(other) => {
            let rule = format!("must be \"form\", \"json\" or \"query\", not {other:?}");
            return Err(at.bad(".content", rule));
        }
        None => return Err(at.bad(".content", "is required: \"form\", \"json\" or \"query\"")),
    };
    let method = match (
        request.method.as_deref().map(str::to_ascii_uppercase),
        content,
    ) {
        (None, Content::Query) => "GET",
        (None, _) => "POST",
        (Some(m), Content::Json) if m != "POST" => {
            return Err(at.bad(".method", "must be \"POST\" with content = \"json\""));
        }
        (Some(m), _) if m == "POST" => "POST",
        (Some(m), _) if m == "GET" => "GET",
        (Some(m), _) => {
            return Err(at.bad(".method", format!("must be \"POST\" or \"GET\", not {m:?}")))
        }
    };
    let start = match (&request.start, request.cumulative) {
        (Some(_), true) => {
            let rule = "is not used with cumulative = true: the empty path is the first request";
            return Err(at.bad(".start", rule));
        }
        (None, true) => Start::FirstSight,
        (None, false) => {
            let rule = "is required with cumulative = false: { field = …, values = […] }, \"empty_input\" or \"first_sight\"";
            return Err(at.bad(".start", rule));
        }
        (Some(StartMark::Rule(rule)), false) => match rule.as_str() {
            "empty_input" => Start::EmptyInput,
            "first_sight" => Start::FirstSight,
            other => {
                let rule = format!("must be {{ field = …, values = […] }}, \"empty_input\" or \"first_sight\", not {other:?}");
                return Err(at.bad(".start", rule));
            }
        },
        (Some(StartMark::Field(mark)), false) => Start::Marked(at.mark("start", mark)?),
    };
    let echo = echo
        .iter()
        .map(|field| dialect.under("reply").field("echo", field))
        .collect::<Result<Vec<_>, _>>()?;
    let input = at.required("input", request.input.as_ref())?;
    let service_code = at.optional("service_code", request.service_code.as_ref())?;
    let code_in_input = service_code.is_some_and(|code| code.eq_ignore_ascii_case(input));
    if code_in_input && !matches!(start, Start::Marked(_)) {
        let rule = "names the input field, which holds the dialled string only on a first request \
                    marked by a field (start = { field = …, values = […] })";
        return Err(at.bad(".service_code", rule));
    }
    Ok(RequestFields {
        content,
        method,
        session_id: at.required("session_id", request.session_id.as_ref())?,
        msisdn: at.required("msisdn", request.msisdn.as_ref())?,
        service_code,
        input,
        cumulative: request.cumulative,
        start,
        abort: request
            .abort
            .as_ref()
            .map(|m| at.mark("abort", m))
            .transpose()?,
        timeout: request
            .timeout
            .as_ref()
            .map(|m| at.mark("timeout", m))
            .transpose()?,
        network: at.optional("network", request.network.as_ref())?,
        echo,
    })
}

/// The reply side of a declaration.
fn reply_shape(at: &Keys, reply: &DeclaredReply) -> Result<ReplyShape, BadDeclaration> {
    let content_type = |default: &str| -> Result<&'static str, BadDeclaration> {
        let value = reply.content_type.as_deref().unwrap_or(default);
        if value.is_empty() || hyper::header::HeaderValue::from_str(value).is_err() {
            return Err(at.bad(
                ".content_type",
                "must be a header value such as \"application/json\"",
            ));
        }
        Ok(interned(value))
    };
    let text_keys = [
        ("continue_prefix", reply.continue_prefix.is_some()),
        ("end_prefix", reply.end_prefix.is_some()),
    ];
    let json_keys = [
        ("text", reply.text.is_some()),
        ("more", reply.more.is_some()),
        ("echo", !reply.echo.is_empty()),
        ("constants", !reply.constants.is_empty()),
    ];
    let misplaced = |keys: &[(&str, bool)], shape: &str| {
        keys.iter().find(|(_, set)| *set).map(|(key, _)| {
            at.bad(
                &format!(".{key}"),
                format!("is not used with shape = {shape:?}"),
            )
        })
    };
    match reply.shape.as_deref() {
        Some("json") => {
            if let Some(refused) = misplaced(&text_keys, "json") {
                return Err(refused);
            }
            json_reply(at, reply, content_type("application/json")?)
        }
        Some("text") => {
            if let Some(refused) = misplaced(&json_keys, "text") {
                return Err(refused);
            }
            let prefix = |key: &str, value: Option<&String>| {
                value
                    .cloned()
                    .ok_or_else(|| at.bad(&format!(".{key}"), "is required with shape = \"text\""))
            };
            let goes_on = prefix("continue_prefix", reply.continue_prefix.as_ref())?;
            let ends = prefix("end_prefix", reply.end_prefix.as_ref())?;
            if goes_on == ends {
                return Err(at.bad(".end_prefix", "must differ from continue_prefix"));
            }
            Ok(ReplyShape::Text {
                content_type: content_type("text/plain; charset=utf-8")?,
                goes_on,
                ends,
            })
        }
        Some(other) => Err(at.bad(
            ".shape",
            format!("must be \"json\" or \"text\", not {other:?}"),
        )),
        None => Err(at.bad(".shape", "is required: \"json\" or \"text\"")),
    }
}

/// A JSON reply: echoed fields, constants, the screen's text and whether the session goes on.
fn json_reply(
    at: &Keys,
    reply: &DeclaredReply,
    content_type: &'static str,
) -> Result<ReplyShape, BadDeclaration> {
    let text = at.required("text", reply.text.as_ref())?.to_string();
    let more = reply.more.as_ref().ok_or_else(|| {
        at.bad(
            ".more",
            "is required with shape = \"json\": { field = …, continue = …, end = … }",
        )
    })?;
    let field = at.field("more.field", &more.field)?.to_string();
    let scalar = |v: &Value| v.is_string() || v.is_number() || v.is_boolean();
    if !scalar(&more.goes_on) || !scalar(&more.end) || more.goes_on == more.end {
        return Err(at.bad(
            ".more",
            "continue and end must be two different strings, numbers or booleans",
        ));
    }
    let mut written: Vec<&str> = reply.echo.iter().map(String::as_str).collect();
    for key in [text.as_str(), field.as_str()] {
        if written.iter().any(|w| w.eq_ignore_ascii_case(key)) {
            return Err(at.bad(".text", format!("{key:?} is written twice in the reply")));
        }
        written.push(key);
    }
    if let Some(key) = reply
        .constants
        .keys()
        .find(|k| written.iter().any(|w| w.eq_ignore_ascii_case(k)))
    {
        return Err(at.bad(
            &format!(".constants.{key}"),
            "repeats a key the reply already writes",
        ));
    }
    Ok(ReplyShape::Json {
        content_type,
        text,
        more: field,
        goes_on: more.goes_on.clone(),
        ends: more.end.clone(),
        constants: reply
            .constants
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    })
}

/// Whether `name` can be the last segment of `/ussd/<name>` as written.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// `text` with a `'static` lifetime, kept once per distinct text for the life of the process:
/// declared field names are few and fixed at start, and [`BadRequest`] names its field so.
fn interned(text: &str) -> &'static str {
    static TEXTS: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut texts = TEXTS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(kept) = texts.get(text) {
        return kept;
    }
    let kept: &'static str = Box::leak(text.to_string().into_boxed_str());
    texts.insert(kept);
    kept
}

impl RequestFields {
    /// The request's fields, wherever the declaration says they are.
    fn read(&self, request: &WireRequest<'_>) -> Result<JsonFields, BadRequest> {
        if self.content == Content::Json {
            return JsonFields::read(request);
        }
        request.expect_at_root(self.method)?;
        let text = if self.content == Content::Query {
            request.query.unwrap_or_default()
        } else {
            request.expect_form()?;
            std::str::from_utf8(request.body).map_err(|_| BadRequest::NotUtf8)?
        };
        Ok(JsonFields::from_pairs(form_urlencoded::parse(
            text.as_bytes(),
        )))
    }

    /// What the caller did, and the dialled string when this request carries one.
    fn kind(&self, fields: &JsonFields) -> Result<(TurnKind, Option<String>), BadRequest> {
        for (mark, kind) in [
            (&self.abort, TurnKind::Abort),
            (&self.timeout, TurnKind::Timeout),
        ] {
            if let Some(mark) = mark {
                if mark.holds(fields, false)? {
                    return Ok((kind, None));
                }
            }
        }
        let marked = match &self.start {
            Start::Marked(mark) => mark.holds(fields, true)?,
            Start::EmptyInput | Start::FirstSight => false,
        };
        let input = fields.text(self.input, MAX_INPUT)?;
        if self.cumulative {
            let code = self.separate_code(fields)?;
            return Ok((TurnKind::Path(input.unwrap_or_default()), code));
        }
        let first = match self.start {
            Start::EmptyInput => input.as_deref().is_none_or(|i| i.trim().is_empty()),
            _ => marked,
        };
        let (kind, dialled) = first_or_latest(first, input, self.input)?;
        match self.service_code {
            Some(field) if field.eq_ignore_ascii_case(self.input) => Ok((kind, dialled)),
            _ => Ok((kind, self.separate_code(fields)?)),
        }
    }

    /// The dialled string of a service-code field of its own (`*384*1234#`, `384*1234`).
    fn separate_code(&self, fields: &JsonFields) -> Result<Option<String>, BadRequest> {
        let Some(field) = self.service_code else {
            return Ok(None);
        };
        Ok(fields
            .text(field, MAX_FIELD)?
            .as_deref()
            .and_then(ussd_code))
    }

    /// The fields the reply echoes, as received, in the declared order (absent ones left out).
    fn echoed(&self, fields: &JsonFields) -> Result<Vec<(String, String)>, BadRequest> {
        let mut echo = Vec::new();
        for field in &self.echo {
            if let Some(value) = fields.text(field, MAX_FIELD)? {
                echo.push((field.to_string(), value));
            }
        }
        Ok(echo)
    }
}

impl Dialect for Declared {
    fn name(&self) -> &Arc<str> {
        &self.name
    }

    fn carries_network(&self) -> bool {
        self.request.network.is_some()
    }

    fn parse(&self, request: &WireRequest<'_>) -> Result<Turn, BadRequest> {
        let declared = &self.request;
        let fields = declared.read(request)?;
        let session_id = fields
            .session_id(declared.session_id)?
            .ok_or(BadRequest::Missing(declared.session_id))?;
        let echo = declared.echoed(&fields)?;
        let raw_msisdn = fields
            .text(declared.msisdn, MAX_MSISDN)?
            .ok_or(BadRequest::Missing(declared.msisdn))?;
        let msisdn = msisdn_digits(&raw_msisdn).ok_or(BadRequest::Invalid(declared.msisdn))?;
        let (kind, dialled) = declared.kind(&fields)?;
        let mut turn = Turn::new(self.name(), &session_id, &msisdn, kind);
        turn.service_code = dialled;
        turn.echo = echo;
        turn.network = declared.network.and_then(|field| fields.network(field));
        Ok(turn)
    }

    fn respond(&self, turn: &Turn, reply: &Reply) -> WireResponse {
        let (text, goes_on_now) = (reply.text(), !reply.is_end());
        let (content_type, body) = match &self.reply {
            ReplyShape::Json {
                content_type,
                text: text_key,
                more,
                goes_on,
                ends,
                constants,
            } => {
                let middle: Vec<(&str, Out<'_>)> = constants
                    .iter()
                    .map(|(key, value)| (key.as_str(), Out::Value(value)))
                    .collect();
                let flag = Out::Value(if goes_on_now { goes_on } else { ends });
                let body = echoed_object(turn, &middle, (text_key, text), (more, flag));
                (*content_type, body)
            }
            ReplyShape::Text {
                content_type,
                goes_on,
                ends,
            } => {
                let prefix = if goes_on_now { goes_on } else { ends };
                (*content_type, format!("{prefix}{text}"))
            }
        };
        WireResponse {
            status: 200,
            content_type,
            body,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::dialect::arkesel::Arkesel;
    use crate::dialect::parse_for_test;

    /// The README's first example: Arkesel's format, declared.
    const ARKESEL_DECLARED: &str = include_str!("../../tests/fixtures/declared/arkesel-like.toml");

    /// A cumulative dialect read from the query string.
    const PATHWAY: &str = include_str!("../../tests/fixtures/declared/pathway.toml");

    /// The README's second example: a plain-text form aggregator.
    const TEXT_FORM: &str = include_str!("../../tests/fixtures/declared/textline.toml");

    fn built(toml_text: &str, name: &str) -> Result<Declared, String> {
        let config: Config = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        Declared::build(name, &config.dialects[name]).map_err(|e| e.to_string())
    }

    fn json(
        dialect: &dyn Dialect,
        body: &[u8],
        content_type: Option<&str>,
    ) -> Result<Turn, BadRequest> {
        parse_for_test(dialect, "POST", "", None, content_type, body)
    }

    fn form(dialect: &Declared, body: &str) -> Result<Turn, BadRequest> {
        let ct = Some("application/x-www-form-urlencoded");
        parse_for_test(dialect, "POST", "", None, ct, body.as_bytes())
    }

    #[test]
    fn the_declared_arkesel_reads_and_answers_as_the_built_in_one() {
        let declared = built(ARKESEL_DECLARED, "arkesel-like").expect("builds");
        let arkesel = Arkesel::new();
        let bodies: &[(&[u8], Option<&str>)] = &[
            (br#"{"sessionID":"s9","userID":"CNAMAPP","newSession":true,"msisdn":"233507387216","userData":"*928*1#","network":"MTN"}"#, Some("application/json")),
            (br#"{"sessionID":"s9","userID":"CNAMAPP","newSession":false,"msisdn":"233507387216","userData":"1","network":"MTN"}"#, None),
            (br#"{"sessionId":"s1","userId":"X","newSession":"TRUE","msisdn":233507387216,"userData":"*4*1420*2*0012345679#"}"#, None),
            (br#"{"sessionID":"s1","newSession":0,"msisdn":"233507387216","userData":2}"#, None),
            (br#"{"sessionID":"s2","newSession":true,"msisdn":"233507387216","userData":""}"#, None),
            (b"", Some("application/json")),
            (b"null", None),
            (b"\xc3\x28", None),
            (b"sessionID=s", Some("text/plain")),
            (br#"{"newSession":true,"msisdn":"233507387216"}"#, None),
            (br#"{"sessionID":"s","newSession":true}"#, None),
            (br#"{"sessionID":"s","msisdn":"233507387216","userData":"1"}"#, None),
            (br#"{"sessionID":"s","newSession":false,"msisdn":"233507387216"}"#, None),
            (br#"{"sessionID":"s","newSession":"maybe","msisdn":"233507387216"}"#, None),
            (br#"{"sessionID":"s","newSession":[true],"msisdn":"233507387216"}"#, None),
            (br#"{"sessionID":"s","newSession":true,"msisdn":"0"}"#, None),
            (br#"{"sessionID":{},"newSession":true,"msisdn":"233507387216"}"#, None),
            (br#"{"sessionID":"s","userID":{},"newSession":true,"msisdn":"233507387216"}"#, None),
            (br#"{"sessionID":"s","newSession":false,"msisdn":"233507387216","userData":true}"#, None),
        ];
        for (body, ct) in bodies {
            let want = json(&arkesel, body, *ct);
            let got = json(&declared, body, *ct).map(|mut turn| {
                turn.dialect = arkesel.name().clone();
                turn
            });
            assert_eq!(got, want, "{:?}", String::from_utf8_lossy(body));
            let Ok(turn) = want else { continue };
            for reply in [
                Reply::Continue("a \"b\"\nپ".into()),
                Reply::End("x".into()),
                Reply::Ack,
            ] {
                assert_eq!(
                    declared.respond(&turn, &reply),
                    arkesel.respond(&turn, &reply)
                );
            }
        }
        let wrong_method = parse_for_test(&declared, "GET", "", None, None, b"{}");
        assert_eq!(wrong_method, Err(BadRequest::Method("GET".into())));
    }

    #[test]
    fn a_text_form_dialect_reads_every_kind_of_request() {
        let textline = built(TEXT_FORM, "textline").expect("builds");
        let base = "SESSION_ID=t1&MSISDN=%2B233501234567&SERVICE_CODE=*4*1420%23&OPERATOR=vodafone";
        let turn = form(&textline, &format!("{base}&TYPE=BEGIN&USSD_STRING=")).expect("start");
        assert_eq!(
            (&turn.kind, turn.service_code.as_deref()),
            (&TurnKind::Start, Some("*4*1420#"))
        );
        assert_eq!(
            (turn.msisdn.as_str(), turn.network.as_deref()),
            ("233501234567", Some("vodafone"))
        );
        let turn = form(&textline, &format!("{base}&TYPE=CONTINUE&USSD_STRING=2")).expect("latest");
        assert_eq!(turn.kind, TurnKind::Latest("2".into()));
        for (kind, want) in [
            ("release", TurnKind::Abort),
            ("ABORT", TurnKind::Abort),
            ("Timeout", TurnKind::Timeout),
        ] {
            let turn = form(&textline, &format!("{base}&TYPE={kind}")).expect("an end");
            assert_eq!(turn.kind, want, "{kind}");
        }
        let missing_input = form(&textline, &format!("{base}&TYPE=CONTINUE"));
        assert_eq!(missing_input, Err(BadRequest::Missing("USSD_STRING")));
        let no_phone = form(&textline, "SESSION_ID=t1&TYPE=BEGIN");
        assert_eq!(no_phone, Err(BadRequest::Missing("MSISDN")));
        let as_json = json(&textline, b"{}", Some("application/json"));
        assert_eq!(
            as_json,
            Err(BadRequest::ContentType("application/json".into()))
        );
        let bad_utf8 = parse_for_test(&textline, "POST", "", None, None, b"SESSION_ID=\xff");
        assert_eq!(bad_utf8, Err(BadRequest::NotUtf8));

        let answer = textline.respond(&turn, &Reply::Continue("1. Yes".into()));
        assert_eq!(
            (answer.status, answer.content_type, answer.body.as_str()),
            (200, "text/plain; charset=utf-8", "CON 1. Yes")
        );
        assert_eq!(
            textline.respond(&turn, &Reply::End("Bye".into())).body,
            "END Bye"
        );
        assert_eq!(textline.respond(&turn, &Reply::Ack).body, "END ");
    }

    #[test]
    fn cumulative_query_and_first_sight_dialects_read_their_requests() {
        let cumulative = built(PATHWAY, "pathway").expect("builds");
        let get = |query: &str| parse_for_test(&cumulative, "GET", "", Some(query), None, b"");
        let turn = get("sid=q&from=254711000111&code=384*1&path=1*2").expect("a path");
        assert_eq!(
            (&turn.kind, turn.service_code.as_deref()),
            (&TurnKind::Path("1*2".into()), Some("*384*1#"))
        );
        assert_eq!(
            get("sid=q&from=254711000111").expect("start").kind,
            TurnKind::Path(String::new())
        );
        let posted = parse_for_test(
            &cumulative,
            "POST",
            "",
            Some("sid=q&from=254711000111"),
            None,
            b"",
        );
        assert_eq!(posted, Err(BadRequest::Method("POST".into())));
        let answer = cumulative.respond(&turn, &Reply::Continue("hi".into()));
        assert_eq!(
            (answer.content_type, answer.body.as_str()),
            (
                "application/json",
                r#"{"sid":"q","version":1,"say":"hi","state":"more"}"#
            )
        );

        let sight = built(
            r#"[dialects.sight.request]
content = "form"
session_id = "s"
msisdn = "m"
input = "i"
start = "first_sight"
[dialects.sight.reply]
shape = "text"
continue_prefix = "1|"
end_prefix = "0|"
content_type = "text/plain"
"#,
            "sight",
        )
        .expect("builds");
        let turn = form(&sight, "s=a&m=254711000111&i=").expect("reads");
        assert_eq!(
            (turn.kind.clone(), turn.service_code.clone()),
            (TurnKind::Latest(String::new()), None)
        );
        assert_eq!(sight.respond(&turn, &Reply::End("x".into())).body, "0|x");
    }

    #[test]
    fn an_empty_input_can_mark_the_start() {
        let text = TEXT_FORM.replace(
            r#"start = { field = "TYPE", values = ["BEGIN"] }"#,
            r#"start = "empty_input""#,
        );
        let dialect = built(&text, "textline").expect("builds");
        let base = "SESSION_ID=t1&MSISDN=233501234567";
        assert_eq!(
            form(&dialect, base).expect("no input").kind,
            TurnKind::Start
        );
        assert_eq!(
            form(&dialect, &format!("{base}&USSD_STRING=+"))
                .expect("blank")
                .kind,
            TurnKind::Start
        );
        assert_eq!(
            form(&dialect, &format!("{base}&USSD_STRING=3"))
                .expect("3")
                .kind,
            TurnKind::Latest("3".into())
        );
    }

    #[test]
    fn declarations_that_cannot_work_are_refused_naming_the_key() {
        const START: &str = r#"start = { field = "TYPE", values = ["BEGIN"] }"#;
        const MORE: &str = r#"more = { field = "continueSession", continue = true, end = false }"#;
        let reply_table = TEXT_FORM
            .find("[dialects.textline.reply]")
            .map(|at| &TEXT_FORM[at..])
            .expect("a reply table");
        // (the example spoiled, the text replaced, its replacement, what the refusal says)
        let cases: &[(&str, &str, &str, &str)] = &[
            (
                TEXT_FORM,
                "session_id = \"SESSION_ID\"\n",
                "",
                "request.session_id is required",
            ),
            (
                TEXT_FORM,
                "msisdn = \"MSISDN\"\n",
                "",
                "request.msisdn is required",
            ),
            (
                TEXT_FORM,
                "input = \"USSD_STRING\"\n",
                "",
                "request.input is required",
            ),
            (
                TEXT_FORM,
                "\"SESSION_ID\"",
                "\" \"",
                "request.session_id must be a field name",
            ),
            (TEXT_FORM, "\"form\"", "\"xml\"", "request.content must be"),
            (
                TEXT_FORM,
                "content = \"form\"\n",
                "",
                "request.content is required",
            ),
            (
                TEXT_FORM,
                "\"form\"",
                "\"form\"\nmethod = \"PUT\"",
                "request.method",
            ),
            (TEXT_FORM, START, "", "request.start is required"),
            (
                TEXT_FORM,
                START,
                "start = \"psychic\"",
                "request.start must be",
            ),
            (TEXT_FORM, "[\"BEGIN\"]", "[]", "request.start.values"),
            (
                TEXT_FORM,
                "[\"BEGIN\"]",
                "[true, \"BEGIN\"]",
                "request.start.values mixes",
            ),
            (TEXT_FORM, "[\"TIMEOUT\"]", "[{}]", "request.timeout.values"),
            (
                TEXT_FORM,
                "\"form\"",
                "\"form\"\ncumulative = true",
                "request.start is not used",
            ),
            (
                TEXT_FORM,
                "end_prefix = \"END \"\n",
                "",
                "reply.end_prefix is required",
            ),
            (
                TEXT_FORM,
                "\"END \"",
                "\"CON \"",
                "reply.end_prefix must differ",
            ),
            (TEXT_FORM, "\"text\"", "\"yaml\"", "reply.shape must be"),
            (
                TEXT_FORM,
                "shape = \"text\"\n",
                "",
                "reply.shape is required",
            ),
            (
                TEXT_FORM,
                "\"text\"",
                "\"text\"\ntext = \"m\"",
                "reply.text is not used",
            ),
            (
                TEXT_FORM,
                "\"text\"",
                "\"text\"\ncontent_type = \"a\\nb\"",
                "reply.content_type",
            ),
            (TEXT_FORM, reply_table, "", "reply is required"),
            (ARKESEL_DECLARED, MORE, "", "reply.more is required"),
            (
                ARKESEL_DECLARED,
                r#"start = { field = "newSession", values = [true] }"#,
                r#"start = "first_sight""#,
                "request.service_code names the input field",
            ),
            (
                ARKESEL_DECLARED,
                "text = \"message\"\n",
                "",
                "reply.text is required",
            ),
            (
                ARKESEL_DECLARED,
                "end = false",
                "end = true",
                "reply.more continue and end",
            ),
            (
                ARKESEL_DECLARED,
                "\"message\"",
                "\"message\"\nconstants = { MSISDN = 1 }",
                "reply.constants.MSISDN repeats",
            ),
            (
                ARKESEL_DECLARED,
                "\"message\"",
                "\"msisdn\"",
                "reply.text \"msisdn\" is written twice",
            ),
            (
                ARKESEL_DECLARED,
                "\"json\"\n",
                "\"json\"\nend_prefix = \"E\"\n",
                "reply.end_prefix is not used",
            ),
            (
                ARKESEL_DECLARED,
                "content = \"json\"",
                "content = \"json\"\nmethod = \"GET\"",
                "request.method must be \"POST\"",
            ),
        ];
        for (example, from, to, want) in cases {
            assert!(example.contains(from), "{from:?} is in the example");
            let name = if *example == TEXT_FORM {
                "textline"
            } else {
                "arkesel-like"
            };
            let spoiled = example.replacen(from, to, 1);
            let refused = built(&spoiled, name)
                .err()
                .unwrap_or_else(|| panic!("built: {spoiled}"));
            let want = format!("dialects.{name}.{want}");
            assert!(refused.contains(&want), "{want:?} not in {refused:?}");
        }
        let badly_named = TEXT_FORM.replace("dialects.textline", "dialects.Text_Line");
        let refused = built(&badly_named, "Text_Line").err().expect("refused");
        assert!(
            refused.starts_with("dialects.Text_Line is not a name"),
            "{refused}"
        );
    }

    #[test]
    fn garbage_and_mistyped_declarations_do_not_load() {
        for text in [
            "[dialects.x.request]\nsession_id = 7\n",
            "[dialects.x.request]\nsesion_id = \"a\"\n",
            "[dialects.x.reply]\nmore = { field = \"m\", continue = 1 }\n",
            "[dialects.x.request]\nstart = 12\n",
            "[dialects.x.request]\nstart = { field = \"a\" }\n",
            "[dialects.x]\nrequest = \"json\"\n",
            "[dialects.x.request\n",
        ] {
            assert!(toml::from_str::<Config>(text).is_err(), "{text}");
        }
    }
}
