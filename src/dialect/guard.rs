//! Who may call a dialect's URL (SPEC §4): no aggregator signs its callbacks, so the operator
//! configures, per dialect, a source allowlist (`allow`), a shared secret in a header
//! (`secret`, `secret_header`) or as the last path segment (`secret_in_path`), and/or basic
//! auth (`basic_auth`). Secrets may come from the environment instead
//! (`DAFTAR_DIALECT_<NAME>_SECRET`, `DAFTAR_DIALECT_<NAME>_BASIC_AUTH`). A [`Gate`] is built per
//! dialect at start; with nothing configured it lets everything in, as before. Secrets are
//! compared in constant time and never logged (the gate's `Debug` hides them).

use std::net::{IpAddr, SocketAddr};

use crate::config::DialectConfig;

/// The header the secret is read from when `secret_header` is not given.
pub(crate) const DEFAULT_SECRET_HEADER: &str = "X-Daftar-Secret";

/// A configuration value the gate cannot use, refused at start naming its key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dialects.{dialect}.{key} {rule}")]
pub(crate) struct BadGate {
    pub(crate) dialect: String,
    pub(crate) key: &'static str,
    pub(crate) rule: String,
}

/// One allowlist entry: an address with the number of leading bits that must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// `10.0.0.7`, `196.201.214.0/24`, `2001:db8::/32`; `None` when it is neither.
    pub(crate) fn parse(text: &str) -> Option<Cidr> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address.parse().ok()?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().ok().filter(|&p| p <= max)?
            }
            Some(_) => return None,
            None => max,
        };
        Some(Cidr { network, prefix })
    }

    /// The number of leading bits that must match: the larger, the more specific the range.
    pub(crate) fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` lies in this range; an IPv4-mapped IPv6 peer is read as IPv4.
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Where the shared secret is carried.
#[derive(Clone, PartialEq, Eq)]
enum SecretAt {
    Header(String),
    Path,
}

/// Why a request was kept out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The source address is not on the allowlist: 403.
    Forbidden,
    /// The secret is missing or wrong: 401.
    NoSecret,
    /// Basic auth is missing or wrong: 401 with `WWW-Authenticate: Basic`.
    NoBasicAuth,
}

impl Refusal {
    pub(crate) fn status(self) -> u16 {
        match self {
            Refusal::Forbidden => 403,
            Refusal::NoSecret | Refusal::NoBasicAuth => 401,
        }
    }

    /// Why, for the debug log (no credentials, no caller data).
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Refusal::Forbidden => "source not allowed",
            Refusal::NoSecret => "secret missing or wrong",
            Refusal::NoBasicAuth => "basic auth missing or wrong",
        }
    }
}

/// One dialect's checks, built at start.
#[derive(Clone, Default)]
pub(crate) struct Gate {
    allow: Vec<Cidr>,
    secret: Option<(String, SecretAt)>,
    /// `base64(user:password)`, as the `Authorization: Basic` header carries it.
    basic: Option<String>,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("allow", &self.allow)
            .field("secret", &self.secret.is_some())
            .field("basic", &self.basic.is_some())
            .finish()
    }
}

impl Gate {
    /// The gate of dialect `name` from its section (when any) and the environment, read
    /// through `env` (`DAFTAR_DIALECT_<NAME>_SECRET`, `..._BASIC_AUTH`, which win over the file).
    pub(crate) fn build(
        name: &str,
        section: Option<&DialectConfig>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Gate, BadGate> {
        let bad = |key: &'static str, rule: String| BadGate {
            dialect: name.to_string(),
            key,
            rule,
        };
        let default = DialectConfig::default();
        let section = section.unwrap_or(&default);
        let upper = name.to_ascii_uppercase();
        let from_env =
            |what: &str| env(&format!("DAFTAR_DIALECT_{upper}_{what}")).filter(|v| !v.is_empty());
        let mut allow = Vec::new();
        for entry in section.allow.iter().flatten() {
            let cidr = Cidr::parse(entry).ok_or_else(|| {
                bad(
                    "allow",
                    format!("entry {entry:?} is not an IP address or CIDR range"),
                )
            })?;
            allow.push(cidr);
        }
        if section.allow.as_ref().is_some_and(Vec::is_empty) {
            let rule = "is empty: it would let no one in; leave it out to let anyone in";
            return Err(bad("allow", rule.into()));
        }
        let secret = from_env("SECRET").or_else(|| section.secret.clone());
        let secret = match secret {
            Some(secret) => {
                if secret.is_empty() {
                    return Err(bad("secret", "must not be empty".into()));
                }
                let at = if section.secret_in_path {
                    if section.secret_header.is_some() {
                        let rule = "cannot be set with secret_in_path = true".into();
                        return Err(bad("secret_header", rule));
                    }
                    if secret.contains('/') || secret.contains('?') || secret.contains('%') {
                        let rule = "must not hold '/', '?' or '%' when secret_in_path = true";
                        return Err(bad("secret", rule.into()));
                    }
                    SecretAt::Path
                } else {
                    let header = section
                        .secret_header
                        .clone()
                        .unwrap_or_else(|| DEFAULT_SECRET_HEADER.to_string());
                    if hyper::header::HeaderName::from_bytes(header.as_bytes()).is_err() {
                        return Err(bad("secret_header", "is not a header name".into()));
                    }
                    SecretAt::Header(header)
                };
                Some((secret, at))
            }
            None if section.secret_in_path => {
                let rule = "needs a secret (secret, or DAFTAR_DIALECT_<NAME>_SECRET)".into();
                return Err(bad("secret_in_path", rule));
            }
            None if section.secret_header.is_some() => {
                let rule = "needs a secret (secret, or DAFTAR_DIALECT_<NAME>_SECRET)".into();
                return Err(bad("secret_header", rule));
            }
            None => None,
        };
        let basic = from_env("BASIC_AUTH").or_else(|| section.basic_auth.clone());
        let basic = match basic {
            Some(pair) => match pair.split_once(':') {
                Some((user, _)) if !user.is_empty() => Some(base64(pair.as_bytes())),
                _ => return Err(bad("basic_auth", "must be \"user:password\"".into())),
            },
            None => None,
        };
        Ok(Gate {
            allow,
            secret,
            basic,
        })
    }

    /// Whether nothing is configured: anyone may call.
    pub(crate) fn is_open(&self) -> bool {
        self.allow.is_empty() && self.secret.is_none() && self.basic.is_none()
    }

    /// Lets a request from `peer` with `headers` to `path_tail` in, giving the path tail the
    /// dialect is to see (without a path secret), or says why not.
    pub(crate) fn admit<'a>(
        &self,
        peer: Option<SocketAddr>,
        headers: &hyper::HeaderMap,
        path_tail: &'a str,
    ) -> Result<&'a str, Refusal> {
        if !self.allow.is_empty() {
            let allowed = peer.is_some_and(|p| self.allow.iter().any(|c| c.contains(p.ip())));
            if !allowed {
                return Err(Refusal::Forbidden);
            }
        }
        let mut tail = path_tail;
        match &self.secret {
            Some((secret, SecretAt::Header(name))) => {
                let presented = headers.get(name.as_str()).map(|v| v.as_bytes());
                if !presented.is_some_and(|p| constant_time_eq(p, secret.as_bytes())) {
                    return Err(Refusal::NoSecret);
                }
            }
            Some((secret, SecretAt::Path)) => {
                let rest = path_tail.strip_prefix('/').unwrap_or("");
                let (segment, after) = match rest.find('/') {
                    Some(at) => rest.split_at(at),
                    None => (rest, ""),
                };
                if !constant_time_eq(segment.as_bytes(), secret.as_bytes()) {
                    return Err(Refusal::NoSecret);
                }
                tail = after;
            }
            None => {}
        }
        if let Some(expected) = &self.basic {
            let presented = headers
                .get(hyper::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split_once(' '))
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
                .map(|(_, token)| token.trim());
            if !presented.is_some_and(|p| constant_time_eq(p.as_bytes(), expected.as_bytes())) {
                return Err(Refusal::NoBasicAuth);
            }
        }
        Ok(tail)
    }
}

/// Equality whose time depends on the lengths only, not on where the bytes differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Standard base64 with padding (RFC 4648 §4), as basic auth carries `user:password`.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn gate(section: DialectConfig) -> Gate {
        Gate::build("africastalking", Some(&section), &no_env).expect("a valid gate")
    }

    fn peer(ip: &str) -> Option<SocketAddr> {
        Some(SocketAddr::new(ip.parse().expect("an IP"), 40_000))
    }

    fn headers(pairs: &[(&str, &str)]) -> hyper::HeaderMap {
        let mut map = hyper::HeaderMap::new();
        for (name, value) in pairs {
            let name = hyper::header::HeaderName::from_bytes(name.as_bytes()).expect("a name");
            map.insert(name, value.parse().expect("a value"));
        }
        map
    }

    #[test]
    fn cidr_ranges_match_at_their_edges_v4_and_v6() {
        let net = Cidr::parse("196.201.214.0/24").expect("v4 range");
        for (ip, inside) in [
            ("196.201.214.0", true),
            ("196.201.214.255", true),
            ("196.201.213.255", false),
            ("196.201.215.0", false),
            ("::ffff:196.201.214.9", true),
            ("2001:db8::1", false),
        ] {
            assert_eq!(net.contains(ip.parse().expect("ip")), inside, "{ip}");
        }
        let one = Cidr::parse("10.0.0.7").expect("one address");
        assert!(one.contains("10.0.0.7".parse().expect("ip")));
        assert!(!one.contains("10.0.0.6".parse().expect("ip")));
        assert!(!one.contains("10.0.0.8".parse().expect("ip")));
        let all = Cidr::parse("0.0.0.0/0").expect("everything v4");
        assert!(all.contains("255.255.255.255".parse().expect("ip")));
        assert!(!all.contains("::1".parse().expect("ip")));
        let v6 = Cidr::parse("2001:db8::/32").expect("v6 range");
        for (ip, inside) in [
            ("2001:db8::", true),
            ("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true),
            ("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", false),
            ("2001:db9::", false),
            ("10.0.0.1", false),
        ] {
            assert_eq!(v6.contains(ip.parse().expect("ip")), inside, "{ip}");
        }
        let host6 = Cidr::parse("::1/128").expect("v6 host");
        assert!(host6.contains("::1".parse().expect("ip")));
        assert!(!host6.contains("::2".parse().expect("ip")));
        assert!(Cidr::parse("::/0")
            .expect("all v6")
            .contains("fe80::1".parse().expect("ip")));
    }

    #[test]
    fn bad_cidrs_do_not_parse() {
        for bad in [
            "",
            "10.0.0.300",
            "10.0.0.0/33",
            "2001:db8::/129",
            "10.0.0.0/",
            "10.0.0.0/-1",
            "10.0.0.0/+8",
            "example.com",
            "10.0.0/8",
        ] {
            assert_eq!(Cidr::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_bad_allow_entry_is_refused_at_start_naming_the_key() {
        let section = DialectConfig {
            allow: Some(vec!["10.0.0.7".into(), "10.0.0.0/40".into()]),
            ..DialectConfig::default()
        };
        let error = Gate::build("beem", Some(&section), &no_env).expect_err("refused");
        let message = error.to_string();
        assert!(message.contains("dialects.beem.allow"), "{message}");
        assert!(message.contains("10.0.0.0/40"), "{message}");
        let empty = DialectConfig {
            allow: Some(vec![]),
            ..DialectConfig::default()
        };
        assert!(Gate::build("beem", Some(&empty), &no_env).is_err());
    }

    #[test]
    fn other_bad_settings_are_refused_naming_their_key() {
        let cases: [(&str, DialectConfig); 5] = [
            (
                "secret_in_path",
                DialectConfig {
                    secret_in_path: true,
                    ..DialectConfig::default()
                },
            ),
            (
                "secret_header",
                DialectConfig {
                    secret_header: Some("X-Key".into()),
                    ..DialectConfig::default()
                },
            ),
            (
                "secret",
                DialectConfig {
                    secret: Some(String::new()),
                    ..DialectConfig::default()
                },
            ),
            (
                "secret",
                DialectConfig {
                    secret: Some("a/b".into()),
                    secret_in_path: true,
                    ..DialectConfig::default()
                },
            ),
            (
                "basic_auth",
                DialectConfig {
                    basic_auth: Some("no-colon".into()),
                    ..DialectConfig::default()
                },
            ),
        ];
        for (key, section) in cases {
            let error = Gate::build("nalo", Some(&section), &no_env).expect_err(key);
            assert_eq!(error.key, key, "{error}");
        }
    }

    #[test]
    fn nothing_configured_lets_everyone_in() {
        let open = Gate::build("beem", None, &no_env).expect("open");
        assert!(open.is_open());
        assert_eq!(open.admit(None, &headers(&[]), "/end"), Ok("/end"));
    }

    #[test]
    fn the_allowlist_admits_listed_sources_only() {
        let gate = gate(DialectConfig {
            allow: Some(vec!["196.201.214.0/24".into(), "2001:db8::/64".into()]),
            ..DialectConfig::default()
        });
        assert!(!gate.is_open());
        let h = headers(&[]);
        assert_eq!(gate.admit(peer("196.201.214.200"), &h, ""), Ok(""));
        assert_eq!(gate.admit(peer("2001:db8::5"), &h, ""), Ok(""));
        assert_eq!(
            gate.admit(peer("127.0.0.1"), &h, ""),
            Err(Refusal::Forbidden)
        );
        assert_eq!(gate.admit(None, &h, ""), Err(Refusal::Forbidden));
        assert_eq!(Refusal::Forbidden.status(), 403);
    }

    #[test]
    fn a_header_secret_admits_the_right_one_only() {
        let gate = gate(DialectConfig {
            secret: Some("s3cret".into()),
            ..DialectConfig::default()
        });
        let right = headers(&[(DEFAULT_SECRET_HEADER, "s3cret")]);
        assert_eq!(gate.admit(None, &right, ""), Ok(""));
        for wrong in [
            headers(&[(DEFAULT_SECRET_HEADER, "s3cres")]),
            headers(&[(DEFAULT_SECRET_HEADER, "s3cret ")]),
            headers(&[("X-Other", "s3cret")]),
            headers(&[]),
        ] {
            assert_eq!(gate.admit(None, &wrong, ""), Err(Refusal::NoSecret));
        }
        let named = gate_with_header();
        let right = headers(&[("X-Key", "k")]);
        assert_eq!(named.admit(None, &right, "/end"), Ok("/end"));
        assert_eq!(Refusal::NoSecret.status(), 401);
    }

    fn gate_with_header() -> Gate {
        gate(DialectConfig {
            secret: Some("k".into()),
            secret_header: Some("X-Key".into()),
            ..DialectConfig::default()
        })
    }

    #[test]
    fn a_path_secret_is_taken_off_the_tail() {
        let gate = gate(DialectConfig {
            secret: Some("p4th".into()),
            secret_in_path: true,
            ..DialectConfig::default()
        });
        let h = headers(&[]);
        assert_eq!(gate.admit(None, &h, "/p4th"), Ok(""));
        assert_eq!(gate.admit(None, &h, "/p4th/"), Ok("/"));
        assert_eq!(gate.admit(None, &h, "/p4th/end"), Ok("/end"));
        for wrong in ["", "/", "/end", "/p4t", "/p4thx", "/x/p4th"] {
            assert_eq!(
                gate.admit(None, &h, wrong),
                Err(Refusal::NoSecret),
                "{wrong}"
            );
        }
    }

    #[test]
    fn basic_auth_admits_the_right_pair_only() {
        let gate = gate(DialectConfig {
            basic_auth: Some("aggregator:pa:ss".into()),
            ..DialectConfig::default()
        });
        let right = format!("Basic {}", base64(b"aggregator:pa:ss"));
        assert_eq!(
            gate.admit(None, &headers(&[("authorization", &right)]), ""),
            Ok("")
        );
        let lower = format!("basic {}", base64(b"aggregator:pa:ss"));
        assert_eq!(
            gate.admit(None, &headers(&[("authorization", &lower)]), ""),
            Ok("")
        );
        let wrong = format!("Basic {}", base64(b"aggregator:pa:sS"));
        let bearer = format!("Bearer {}", base64(b"aggregator:pa:ss"));
        for value in [wrong.as_str(), bearer.as_str(), "Basic", ""] {
            let h = headers(&[("authorization", value)]);
            assert_eq!(
                gate.admit(None, &h, ""),
                Err(Refusal::NoBasicAuth),
                "{value}"
            );
        }
        assert_eq!(
            gate.admit(None, &headers(&[]), ""),
            Err(Refusal::NoBasicAuth)
        );
    }

    #[test]
    fn every_mechanism_must_pass_when_several_are_set() {
        let gate = gate(DialectConfig {
            allow: Some(vec!["127.0.0.1".into()]),
            secret: Some("s".into()),
            basic_auth: Some("u:p".into()),
            ..DialectConfig::default()
        });
        let auth = format!("Basic {}", base64(b"u:p"));
        let all = headers(&[(DEFAULT_SECRET_HEADER, "s"), ("authorization", &auth)]);
        assert_eq!(gate.admit(peer("127.0.0.1"), &all, ""), Ok(""));
        assert_eq!(
            gate.admit(peer("127.0.0.2"), &all, ""),
            Err(Refusal::Forbidden)
        );
        let no_secret = headers(&[("authorization", &auth)]);
        assert_eq!(
            gate.admit(peer("127.0.0.1"), &no_secret, ""),
            Err(Refusal::NoSecret)
        );
        let no_basic = headers(&[(DEFAULT_SECRET_HEADER, "s")]);
        assert_eq!(
            gate.admit(peer("127.0.0.1"), &no_basic, ""),
            Err(Refusal::NoBasicAuth)
        );
    }

    #[test]
    fn secrets_come_from_the_environment_and_win_over_the_file() {
        let env = |key: &str| match key {
            "DAFTAR_DIALECT_AFRICASTALKING_SECRET" => Some("from-env".to_string()),
            "DAFTAR_DIALECT_AFRICASTALKING_BASIC_AUTH" => Some("u:env".to_string()),
            _ => None,
        };
        let section = DialectConfig {
            secret: Some("from-file".into()),
            ..DialectConfig::default()
        };
        let gate = Gate::build("africastalking", Some(&section), &env).expect("valid");
        let auth = format!("Basic {}", base64(b"u:env"));
        let h = headers(&[
            (DEFAULT_SECRET_HEADER, "from-env"),
            ("authorization", &auth),
        ]);
        assert_eq!(gate.admit(None, &h, ""), Ok(""));
        let file = headers(&[
            (DEFAULT_SECRET_HEADER, "from-file"),
            ("authorization", &auth),
        ]);
        assert_eq!(gate.admit(None, &file, ""), Err(Refusal::NoSecret));
        // With no section at all, the environment alone closes the dialect.
        let gate = Gate::build("africastalking", None, &env).expect("valid");
        assert!(!gate.is_open());
        // The gate's Debug never shows a secret.
        let shown = format!("{gate:?}");
        assert!(
            !shown.contains("from-env") && !shown.contains(&base64(b"u:env")),
            "{shown}"
        );
    }

    #[test]
    fn secrets_are_compared_in_constant_time_by_length_and_bytes() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"xbc"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn base64_follows_rfc_4648() {
        for (raw, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
            ("Aladdin:open sesame", "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="),
        ] {
            assert_eq!(base64(raw.as_bytes()), encoded, "{raw}");
        }
    }
}
