//! The seams the fuzz targets (`fuzz/`) and the corpus replay test (`tests/fuzz_corpus.rs`)
//! drive: each takes bytes as an aggregator, an insurer's feed or a careless operator could
//! write them, runs the real parser on them, and checks what must hold of the answer. None may
//! panic, whatever the bytes; a broken invariant panics here, which is what a fuzzer reports.
//!
//! Hidden from the docs and not an API: it exists so that the parsers can stay `pub(crate)`.
//! It must never do IO beyond what the parser itself does (none of these do any).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use crate::config::{Config, DialectConfig};
use crate::dialect::{Registry, WireRequest};
use crate::ids::{Cin, ForeignNumber, Iin, IranId, Matricule, NationalCode};
use crate::menu::{check, load, Menus};
use crate::turn::Reply;

/// Every dialect the server speaks: the built-in ones and those `declared` (the TOML text of
/// `[dialects.<name>]` sections, as `tests/fixtures/declared/` holds them).
pub struct Dialects {
    registry: Registry,
    names: Vec<String>,
}

impl Dialects {
    /// The built-in dialects and the dialects declared in each of `declared`. A text that does
    /// not declare a dialect is a bug of the caller's (panics).
    pub fn new(declared: &[&str]) -> Dialects {
        let mut sections: BTreeMap<String, DialectConfig> = BTreeMap::new();
        for text in declared {
            let config: Config = toml::from_str(text).expect("a declared dialect's TOML");
            sections.extend(config.dialects);
        }
        let registry =
            Registry::from_config_with(&sections, &|_| None).expect("the declared dialects build");
        let mut names: Vec<String> = crate::dialect::built_in_names();
        names.extend(sections.into_keys());
        names.sort();
        names.dedup();
        Dialects { registry, names }
    }

    /// One request, written as six lines and a body:
    /// `dialect\nmethod\ncontent-type\npath-tail\nquery\n<body bytes>`. A dialect name that is
    /// none of the registry's picks one by the name's bytes, so every input reaches a parser.
    /// What parses is answered both ways (continue and end); what does not is rejected.
    pub fn request(&self, data: &[u8]) {
        let mut fields = data.splitn(6, |b| *b == b'\n');
        let mut next = || String::from_utf8_lossy(fields.next().unwrap_or_default()).into_owned();
        let (name, method, content_type, tail, query) = (next(), next(), next(), next(), next());
        let body = data
            .splitn(6, |b| *b == b'\n')
            .nth(5)
            .unwrap_or_default()
            .to_vec();
        let name = self.pick(&name);
        let Some(dialect) = self.registry.find(name) else {
            return;
        };
        let mut headers = hyper::HeaderMap::new();
        if let Ok(value) = content_type.parse() {
            headers.insert(hyper::header::CONTENT_TYPE, value);
        }
        let request = WireRequest {
            method: &method,
            path_tail: &tail,
            query: (!query.is_empty()).then_some(query.as_str()),
            headers: &headers,
            peer: None,
            body: &body,
        };
        match dialect.parse(&request) {
            Ok(turn) => {
                for reply in [
                    Reply::Continue("1. «سلام» & <ok>\n2. \"x\"".into()),
                    Reply::End("END".into()),
                    Reply::Ack,
                ] {
                    let response = dialect.respond(&turn, &reply);
                    assert!((200..600).contains(&response.status));
                }
            }
            Err(error) => {
                let response = dialect.reject(&error);
                assert!((400..500).contains(&response.status), "{error}");
            }
        }
    }

    fn pick(&self, name: &str) -> &str {
        if let Some(known) = self.names.iter().find(|n| n.as_str() == name) {
            return known;
        }
        let sum: usize = name.bytes().map(usize::from).sum();
        &self.names[sum % self.names.len()]
    }
}

/// One feed line: parsed as the reader parses it. A reject message never quotes a run of the
/// line's digits that could be an identifier or an MSISDN (six or more).
pub fn feed_line(data: &[u8]) {
    if let Err(error) = crate::feed::parse_line(data, false) {
        assert_no_value_of(data, &error.message);
    }
}

/// Panics when `message` repeats a run of six or more digits, or a word of four or more
/// letters, that `data` holds and the message's own words do not explain (a field name, a
/// word of the rule). What a reject message must never do (SPEC §8).
fn assert_no_value_of(data: &[u8], message: &str) {
    let text = String::from_utf8_lossy(data);
    for run in digit_runs(&text) {
        assert!(
            !message.contains(run.as_str()),
            "the message quotes a value of the line: {message}"
        );
    }
}

/// The runs of six or more ASCII digits in `text`.
fn digit_runs(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|run| run.len() >= 6)
        .map(str::to_owned)
        .collect()
}

/// A service file and its words, as a menu author writes them: the service's TOML, then a NUL
/// byte, then the TOML of its words (used for each of its locales). What loads is checked.
pub fn menu(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (service_text, words_text) = text.split_once('\0').unwrap_or((&text, ""));
    // The loader wants the file named after the service's id: name it so.
    let id = service_id(service_text).unwrap_or_else(|| "fuzz".to_string());
    let path = PathBuf::from(format!("{id}.toml"));
    let Ok(words) = load::words_from_text(&path, words_text) else {
        return;
    };
    let mut own = HashMap::new();
    for locale in ["fa", "en", "ar", "fr", "kk", "ru"] {
        own.insert((id.clone(), locale.to_string()), words.clone());
    }
    let Ok(service) = load::service_from_text(&path, service_text, &HashMap::new(), &mut own)
    else {
        return;
    };
    let menus = Menus {
        services: BTreeMap::from([(service.spec.id.clone(), service)]),
        common: HashMap::new(),
    };
    let _ = check::check(&menus, Config::default().screen);
}

/// `[service] id` of a service file's text, if it has a plain one.
fn service_id(text: &str) -> Option<String> {
    let table: toml::Table = toml::from_str(text).ok()?;
    let id = table.get("service")?.get("id")?.as_str()?;
    let plain = !id.is_empty() && id.len() <= 64 && !id.contains(['/', '\\', '\0', '.']);
    plain.then(|| id.to_string())
}

/// A configuration file: parsed, validated, and its dialect sections built as at start.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(config) = toml::from_str::<Config>(text) else {
        return;
    };
    if config.validate().is_ok() {
        let _ = config.tightest_screen();
        let _ = Registry::from_config_with(&config.dialects, &|_| None);
    }
}

/// Every identifier validator on the same text. What one accepts reads back the same through
/// its own display, and again once its digits are written in Persian or Arabic-Indic digits.
pub fn identifiers(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    round_trips(text, NationalCode::parse);
    round_trips(text, Iin::parse);
    round_trips(text, Cin::parse);
    round_trips(text, Matricule::parse);
    let len = data.first().map_or(8, |b| usize::from(b % 24));
    round_trips(text, |s| ForeignNumber::parse(s, len));
    let _ = IranId::parse(text, Some(len));
    let _ = IranId::parse(text, None);
}

/// `parse(text)`, and if it holds: its display parses to the same value, in every script.
fn round_trips<T, E>(text: &str, parse: impl Fn(&str) -> Result<T, E>)
where
    T: PartialEq + std::fmt::Display,
{
    let Ok(value) = parse(text) else {
        return;
    };
    let shown = value.to_string();
    for script in [
        shown.clone(),
        in_script(&shown, '۰'),
        in_script(&shown, '٠'),
    ] {
        let again = parse(&script);
        assert!(again.is_ok_and(|again| again == value), "{script}");
    }
}

/// `digits` with each ASCII digit written in the script whose zero is `zero`.
pub(crate) fn in_script(digits: &str, zero: char) -> String {
    digits
        .chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => char::from_u32(zero as u32 + d).unwrap_or(c),
            None => c,
        })
        .collect()
}
