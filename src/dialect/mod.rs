//! The dialect boundary: each aggregator's wire format is one module that turns a request into
//! a [`Turn`] and a [`Reply`] (with the turn it answers, to echo its fields) into the response
//! that aggregator expects. Nothing behind this boundary reads a form field or writes a `CON `
//! prefix. The [`Registry`] is built at start from the built-in dialects and the
//! configuration's `[dialects.<name>]` sections; a new aggregator is one new file and one line
//! in [`built_in`], or, without code, a `[dialects.<name>.request]` and `.reply` declaration
//! (`declared.rs`). Where a format carries the caller's network, its turns carry it too, for
//! the per-network screens of `[dialects.<name>.networks.<code>]`.
//!
//! Dialects know the wire and the turn/reply types only: no menus, no store, no sessions.

mod africastalking;
mod arkesel;
mod beem;
mod comviva;
mod declared;
pub(crate) mod guard;
mod hubtel;
mod infobip;
mod json_body;
mod nalo;
mod safaricom;
mod truroute;
mod xml_body;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::config::DialectConfig;
use crate::turn::{Reply, Turn};
use guard::Gate;

/// A request as it came off the wire, before any dialect has read it.
pub struct WireRequest<'a> {
    pub method: &'a str,
    /// What follows `/ussd/<dialect>` in the path (`""`, or `/end` say).
    pub path_tail: &'a str,
    /// The query string (Safaricom sends its fields there, DIALECTS.md).
    pub query: Option<&'a str>,
    pub headers: &'a hyper::HeaderMap,
    /// The peer's address, for per-dialect source allowlists (SPEC §4).
    pub peer: Option<SocketAddr>,
    pub body: &'a [u8],
}

impl WireRequest<'_> {
    /// Refuses a request that is not a `method` to the dialect's own URL (no path beyond it).
    pub(crate) fn expect_at_root(&self, method: &str) -> Result<(), BadRequest> {
        if !matches!(self.path_tail, "" | "/") {
            return Err(BadRequest::Path);
        }
        if self.method != method {
            return Err(BadRequest::Method(self.method.to_string()));
        }
        Ok(())
    }

    /// Refuses a body whose declared content type is not a form (a missing one is accepted).
    pub(crate) fn expect_form(&self) -> Result<(), BadRequest> {
        match self.header("content-type") {
            Some(ct)
                if !ct
                    .to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded") =>
            {
                Err(BadRequest::ContentType(ct.to_string()))
            }
            _ => Ok(()),
        }
    }

    /// A header's value as text, when it is present and readable.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The response a dialect wants sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WireResponse {
    pub(crate) status: u16,
    pub(crate) content_type: &'static str,
    pub(crate) body: String,
}

/// Why a request could not be read (answered 400, or the dialect's own error form).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum BadRequest {
    #[error("method {0} is not accepted")]
    Method(String),
    #[error("content type {0:?} is not accepted")]
    ContentType(String),
    #[error("the body is not valid UTF-8")]
    NotUtf8,
    #[error("field {0} is missing")]
    Missing(&'static str),
    #[error("field {0} is not valid")]
    Invalid(&'static str),
    #[error("no such endpoint")]
    Path,
}

/// One aggregator's format.
pub(crate) trait Dialect: Send + Sync {
    /// The name in `/ussd/<name>` and in the session key.
    fn name(&self) -> &Arc<str>;
    fn parse(&self, request: &WireRequest<'_>) -> Result<Turn, BadRequest>;
    /// Whether its turns carry the caller's network (for `[dialects.<name>.networks]`).
    fn carries_network(&self) -> bool {
        false
    }
    /// The response to `turn`, whose answer is `reply`.
    fn respond(&self, turn: &Turn, reply: &Reply) -> WireResponse;
    /// The answer to a request that could not be read.
    fn reject(&self, error: &BadRequest) -> WireResponse {
        WireResponse {
            status: if *error == BadRequest::Path { 404 } else { 400 },
            content_type: "text/plain; charset=utf-8",
            body: format!("bad request: {error}\n"),
        }
    }
}

/// Every dialect daftar speaks without configuration.
fn built_in() -> Vec<Arc<dyn Dialect>> {
    vec![
        Arc::new(africastalking::AfricasTalking::new()),
        Arc::new(beem::Beem::new()),
        Arc::new(infobip::Infobip::new()),
        Arc::new(safaricom::Safaricom::new()),
        Arc::new(comviva::Comviva::new()),
        Arc::new(truroute::TruRoute::new()),
        Arc::new(hubtel::Hubtel::new()),
        Arc::new(arkesel::Arkesel::new()),
        Arc::new(nalo::Nalo::new()),
    ]
}

/// The names of the built-in dialects (the fuzz targets reach each by name).
pub(crate) fn built_in_names() -> Vec<String> {
    built_in().iter().map(|d| d.name().to_string()).collect()
}

/// A dialect configuration that cannot work, refused at start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RegistryError {
    #[error(transparent)]
    Unknown(#[from] UnknownDialect),
    #[error(transparent)]
    Gate(#[from] guard::BadGate),
    #[error(transparent)]
    Declared(#[from] declared::BadDeclaration),
    #[error("dialects.{0}.networks is set, but the requests of {0} carry no network code")]
    NoNetwork(String),
}

/// A configuration section names a dialect that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "[dialects.{0}] names no dialect; known: {1}; or declare one with [dialects.{0}.request] and [dialects.{0}.reply]"
)]
pub(crate) struct UnknownDialect(pub String, pub String);

/// The dialects this server answers, by name, with what configuration says of each.
#[derive(Clone)]
pub(crate) struct Registry {
    dialects: BTreeMap<String, Arc<dyn Dialect>>,
    default_services: BTreeMap<String, String>,
    /// Who may call each dialect (SPEC §4), by name; every dialect has one.
    gates: BTreeMap<String, Arc<Gate>>,
}

impl Registry {
    /// The built-in dialects with the settings of `sections` and the environment's secrets; a
    /// section naming no dialect, or a gate setting that cannot work, is refused.
    pub(crate) fn from_config(
        sections: &BTreeMap<String, DialectConfig>,
    ) -> Result<Registry, RegistryError> {
        Self::from_config_with(sections, &|key| std::env::var(key).ok())
    }

    /// As [`Registry::from_config`], reading the environment through `env`.
    pub(crate) fn from_config_with(
        sections: &BTreeMap<String, DialectConfig>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Registry, RegistryError> {
        let mut dialects: BTreeMap<String, Arc<dyn Dialect>> = built_in()
            .into_iter()
            .map(|d| (d.name().to_string(), d))
            .collect();
        let mut default_services = BTreeMap::new();
        for (name, section) in sections {
            if let Some(declared) = declared_in(name, section, &dialects)? {
                dialects.insert(name.clone(), declared);
            }
            let carries_network = dialects.get(name).is_some_and(|d| d.carries_network());
            if !section.networks.is_empty() && !carries_network {
                return Err(RegistryError::NoNetwork(name.clone()));
            }
            if let Some(service) = &section.default_service {
                default_services.insert(name.clone(), service.clone());
            }
        }
        let mut gates = BTreeMap::new();
        for name in dialects.keys() {
            let gate = Gate::build(name, sections.get(name), env)?;
            gates.insert(name.clone(), Arc::new(gate));
        }
        Ok(Registry {
            dialects,
            default_services,
            gates,
        })
    }

    /// Who may call the dialect `name` (open when nothing is configured).
    pub(crate) fn gate(&self, name: &str) -> Arc<Gate> {
        self.gates.get(name).cloned().unwrap_or_default()
    }

    /// The dialects anyone may call: no allowlist, secret or basic auth configured.
    pub(crate) fn open_dialects(&self) -> Vec<&str> {
        self.gates
            .iter()
            .filter(|(_, gate)| gate.is_open())
            .map(|(name, _)| name.as_str())
            .collect()
    }

    /// The name of every dialect served, built-in and declared, in order.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.dialects.keys().map(String::as_str)
    }

    /// The dialect served at `/ussd/<name>`.
    pub(crate) fn find(&self, name: &str) -> Option<&Arc<dyn Dialect>> {
        self.dialects.get(name)
    }

    /// The service each dialect that names one serves turns without a service code.
    pub(crate) fn default_services(&self) -> &BTreeMap<String, String> {
        &self.default_services
    }
}

/// The dialect `section` declares under `name`, if it declares one: a section of a built-in
/// dialect sets its options only, and one of any other name must declare a dialect.
fn declared_in(
    name: &str,
    section: &DialectConfig,
    built_in: &BTreeMap<String, Arc<dyn Dialect>>,
) -> Result<Option<Arc<dyn Dialect>>, RegistryError> {
    let declares = section.request.is_some() || section.reply.is_some();
    match (built_in.contains_key(name), declares) {
        (true, false) => Ok(None),
        (true, true) => Err(declared::BadDeclaration::built_in(name).into()),
        (false, true) => Ok(Some(Arc::new(declared::Declared::build(name, section)?))),
        (false, false) => {
            let known = built_in.keys().cloned().collect::<Vec<_>>().join(", ");
            Err(UnknownDialect(name.to_string(), known).into())
        }
    }
}

/// A request as a test writes it, read by `dialect` (the tests of every dialect module).
#[cfg(test)]
pub(crate) fn parse_for_test(
    dialect: &dyn Dialect,
    method: &str,
    path_tail: &str,
    query: Option<&str>,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Turn, BadRequest> {
    let mut headers = hyper::HeaderMap::new();
    if let Some(ct) = content_type {
        headers.insert("content-type", ct.parse().expect("a header value"));
    }
    dialect.parse(&WireRequest {
        method,
        path_tail,
        query,
        headers: &headers,
        peer: None,
        body,
    })
}

/// An MSISDN as digits only (`+254 711-000111` → `254711000111`), or `None` when it is not a
/// plausible international number (6 to 15 digits, E.164).
pub(crate) fn msisdn_digits(raw: &str) -> Option<String> {
    let digits: String = raw
        .chars()
        .filter(|c| !matches!(c, '+' | ' ' | '-' | '(' | ')'))
        .collect();
    let plausible = (6..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
    plausible.then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msisdns_are_digits_or_nothing() {
        let cases = [
            ("+254711000111", Some("254711000111")),
            (" 254711000111", Some("254711000111")),
            ("+98 912-111-0001", Some("989121110001")),
            ("", None),
            ("+", None),
            ("12345", None),
            ("1234567890123456", None),
            ("98912abc0001", None),
            ("۹۸۹۱۲۱۱۱۰۰۰۱", None),
        ];
        for (raw, want) in cases {
            assert_eq!(msisdn_digits(raw).as_deref(), want, "{raw:?}");
        }
    }

    #[test]
    fn the_registry_is_built_from_configuration() {
        let registry = Registry::from_config(&BTreeMap::new()).expect("no sections");
        assert!(registry.find("africastalking").is_some());
        assert!(registry.find("nobody").is_none());
        let mut sections = BTreeMap::new();
        sections.insert(
            "africastalking".to_string(),
            DialectConfig {
                default_service: Some("tamin".into()),
                ..Default::default()
            },
        );
        let registry = Registry::from_config(&sections).expect("a known dialect");
        assert_eq!(registry.default_services()["africastalking"], "tamin");
        sections.insert("nobody".to_string(), DialectConfig::default());
        let refused = Registry::from_config(&sections).err().expect("refused");
        assert!(
            refused.to_string().contains("[dialects.nobody]")
                && refused.to_string().contains("[dialects.nobody.request]"),
            "{refused}"
        );
    }

    #[test]
    fn a_declared_dialect_joins_the_registry_and_a_built_in_one_cannot_be_redeclared() {
        let config: crate::config::Config = toml::from_str(
            "[dialects.acme]\ndefault_service = \"tamin\"\n\
             [dialects.acme.request]\ncontent = \"form\"\nsession_id = \"s\"\nmsisdn = \"m\"\n\
             input = \"i\"\nstart = \"first_sight\"\n\
             [dialects.acme.reply]\nshape = \"text\"\ncontinue_prefix = \"C\"\nend_prefix = \"E\"\n",
        )
        .expect("valid TOML");
        let registry = Registry::from_config(&config.dialects).expect("declared");
        assert_eq!(
            registry.find("acme").map(|d| d.name().to_string()),
            Some("acme".into())
        );
        assert_eq!(registry.default_services()["acme"], "tamin");
        assert!(registry.open_dialects().contains(&"acme"));
        let mut sections = config.dialects.clone();
        let acme = sections.remove("acme").expect("acme");
        sections.insert("arkesel".into(), acme.clone());
        let refused = Registry::from_config(&sections).err().expect("refused");
        assert!(
            refused
                .to_string()
                .starts_with("dialects.arkesel is built in"),
            "{refused}"
        );
        sections.clear();
        sections.insert(
            "acme".into(),
            DialectConfig {
                request: None,
                ..acme
            },
        );
        let refused = Registry::from_config(&sections).err().expect("refused");
        assert!(
            refused
                .to_string()
                .contains("dialects.acme.request is required"),
            "{refused}"
        );
    }

    #[test]
    fn networks_are_configured_only_where_requests_carry_one() {
        let config: crate::config::Config = toml::from_str(
            "[dialects.arkesel.networks.MTN]\nscreen = { gsm7 = 140 }\n\
             [dialects.africastalking.networks.63902]\nscreen = { ucs2 = 70 }\n",
        )
        .expect("valid TOML");
        assert!(Registry::from_config(&config.dialects).is_ok());
        for name in ["infobip", "safaricom", "comviva", "truroute"] {
            let mut sections = config.dialects.clone();
            sections.insert(name.into(), config.dialects["arkesel"].clone());
            let refused = Registry::from_config(&sections).err().expect("refused");
            let want = format!("dialects.{name}.networks is set");
            assert!(refused.to_string().starts_with(&want), "{refused}");
        }
    }
}
