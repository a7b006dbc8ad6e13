//! One `[smpp.<name>]` section: where an operator's USSD gateway listens, how daftar binds to
//! it, and how that gateway marks a session's start, continuation and end (DIALECTS.md §8).
//!
//! Every key has a default except `address` and `system_id`; the password may come from
//! `DAFTAR_SMPP_<NAME>_PASSWORD` instead of the file. [`check`] refuses, naming the key, a
//! value that cannot work, so a mistake is an error at start rather than a bind that fails
//! every few seconds. Nothing here opens a socket.

use serde::Deserialize;

use crate::config::Refused;

/// How a gateway marks start, continue and end: the three processors vumi met (DIALECTS.md
/// §8.3). The names are vumi's, so an operator can match them to a gateway's documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Variant {
    /// 6D-style, and what §8.2 draws: op 1 starts, op 18 continues, op 0x81 (or 17) or the
    /// `its_session_info` end bit releases; the session is `its_session_info`'s session number
    /// with the MSISDN; replies echo it with the end bit set on the last.
    #[default]
    Sixdee,
    /// Mica: as `sixdee`, but the session is the `user_message_reference` TLV with the MSISDN,
    /// echoed on every reply; the end bit is not read.
    Mica,
    /// Tata (vumi's default processor): the end is the `its_session_info` end bit alone; every
    /// reply carries op 2 unless `end_op` says otherwise.
    Tata,
}

/// The alphabet of daftar's replies (`data_coding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Coding {
    /// GSM 7-bit (data_coding 0) when every character is in the default alphabet, else UCS-2.
    #[default]
    Auto,
    /// Always data_coding 0; a character outside the alphabet goes as `?`.
    Gsm7,
    /// Always UCS-2 (data_coding 8).
    Ucs2,
}

/// One SMPP gateway.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewayConfig {
    /// `host:port` of the gateway's SMPP listener.
    pub address: String,
    /// The ESME's system_id (at most 15 characters).
    pub system_id: String,
    /// The bind password (at most 8 characters); prefer `DAFTAR_SMPP_<NAME>_PASSWORD`.
    pub password: Option<String>,
    /// The bind's system_type (at most 12 characters), often empty.
    pub system_type: String,
    /// `service_type` of each `submit_sm` (at most 5 characters): NowSMS calls `USSD` the de
    /// facto standard (DIALECTS.md §8.1).
    pub service_type: String,
    pub variant: Variant,
    /// `ussd_service_op` of a reply that waits for input: 2 (USSR request).
    pub continue_op: u8,
    /// `ussd_service_op` of the last reply: 17 (PSSR response), or 2 for `tata`.
    pub end_op: Option<u8>,
    pub data_coding: Coding,
    /// The dialled string for a gateway that delivers none in its first `deliver_sm`.
    pub service_code: Option<String>,
    /// Seconds between enquire_links on an idle bind.
    pub enquire_link_s: u64,
    /// How long the gateway may take to answer a request, in milliseconds.
    pub response_timeout_ms: u64,
    /// The first wait before a new bind after a failure, in milliseconds; it doubles (with
    /// jitter) up to `reconnect_max_ms`.
    pub reconnect_min_ms: u64,
    pub reconnect_max_ms: u64,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            address: String::new(),
            system_id: String::new(),
            password: None,
            system_type: String::new(),
            service_type: "USSD".to_string(),
            variant: Variant::default(),
            continue_op: 2,
            end_op: None,
            data_coding: Coding::default(),
            service_code: None,
            enquire_link_s: 30,
            response_timeout_ms: 5_000,
            reconnect_min_ms: 500,
            reconnect_max_ms: 30_000,
        }
    }
}

impl GatewayConfig {
    /// The op of the last reply: `end_op`, else 17, or 2 for `tata` (which ends by the bit).
    pub(crate) fn end_op(&self) -> u8 {
        self.end_op.unwrap_or(match self.variant {
            Variant::Tata => 2,
            Variant::Sixdee | Variant::Mica => 17,
        })
    }

    /// Takes the password from `DAFTAR_SMPP_<NAME>_PASSWORD` (through `env`) when set.
    pub(crate) fn apply_env(&mut self, name: &str, env: impl Fn(&str) -> Option<String>) {
        let upper = name.to_ascii_uppercase().replace('-', "_");
        if let Some(password) = env(&format!("DAFTAR_SMPP_{upper}_PASSWORD")) {
            if !password.is_empty() {
                self.password = Some(password);
            }
        }
    }
}

/// Refuses a value of `[smpp.<name>]` that cannot work, naming its key.
pub(crate) fn check(name: &str, gateway: &GatewayConfig) -> Result<(), Refused> {
    let key = |field: &str| format!("smpp.{name}.{field}");
    let refuse = |field: &str, rule: &str| Err(Refused::new(key(field), rule));
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return refuse("", "the gateway's name must be letters, digits, - or _");
    }
    if !looks_like_host_port(&gateway.address) {
        return refuse("address", "must be host:port, like \"10.0.0.5:2775\"");
    }
    let lengths = [
        ("system_id", gateway.system_id.as_str(), 1, 15),
        ("password", gateway.password.as_deref().unwrap_or(""), 0, 8),
        ("system_type", gateway.system_type.as_str(), 0, 12),
        ("service_type", gateway.service_type.as_str(), 0, 5),
    ];
    for (field, value, least, most) in lengths {
        if !value.is_ascii() || value.len() < least || value.len() > most {
            let rule = format!("must be {least} to {most} ASCII characters (SMPP 3.4 §4.1)");
            return refuse(field, &rule);
        }
    }
    let positive = [
        ("enquire_link_s", gateway.enquire_link_s),
        ("response_timeout_ms", gateway.response_timeout_ms),
        ("reconnect_min_ms", gateway.reconnect_min_ms),
    ];
    if let Some((field, _)) = positive.iter().find(|(_, value)| *value == 0) {
        return refuse(field, "must be above 0");
    }
    if gateway.reconnect_max_ms < gateway.reconnect_min_ms {
        return refuse("reconnect_max_ms", "must be at least reconnect_min_ms");
    }
    if gateway.continue_op == gateway.end_op() && gateway.variant != Variant::Tata {
        let rule = "must differ from continue_op: only variant = \"tata\" ends by the end bit";
        return refuse("end_op", rule);
    }
    Ok(())
}

/// `host:port` with a port number: the form `TcpStream::connect` resolves.
fn looks_like_host_port(address: &str) -> bool {
    match address.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> GatewayConfig {
        GatewayConfig {
            address: "127.0.0.1:2775".into(),
            system_id: "daftar".into(),
            ..GatewayConfig::default()
        }
    }

    #[test]
    fn a_section_reads_with_defaults() {
        let text = "address = \"10.0.0.5:2775\"\nsystem_id = \"daftar\"\ndata_coding = \"ucs2\"\n";
        let gateway: GatewayConfig = toml::from_str(text).expect("valid");
        assert_eq!(gateway.continue_op, 2);
        assert_eq!(gateway.end_op(), 17);
        assert_eq!(gateway.data_coding, Coding::Ucs2);
        assert_eq!(gateway.variant, Variant::Sixdee);
        assert_eq!(gateway.service_type, "USSD");
        assert!(check("mtn", &gateway).is_ok());
    }

    #[test]
    fn tata_ends_with_op_2_unless_told() {
        let mut gateway = GatewayConfig {
            variant: Variant::Tata,
            ..valid()
        };
        assert_eq!(gateway.end_op(), 2);
        assert!(check("tata", &gateway).is_ok());
        gateway.end_op = Some(17);
        assert_eq!(gateway.end_op(), 17);
    }

    #[test]
    fn unknown_keys_and_values_are_refused() {
        for text in [
            "adress = \"x:1\"",
            "variant = \"nokia\"",
            "data_coding = \"latin1\"",
            "end_op = 300",
        ] {
            assert!(toml::from_str::<GatewayConfig>(text).is_err(), "{text}");
        }
    }

    #[test]
    fn values_that_cannot_work_are_refused_naming_their_key() {
        type Spoil = fn(&mut GatewayConfig);
        let cases: [(&str, Spoil); 9] = [
            ("address", |g| g.address = "nowhere".into()),
            ("address", |g| g.address = "host:0".into()),
            ("system_id", |g| g.system_id = String::new()),
            ("system_id", |g| {
                g.system_id = "a-very-long-system-id".into()
            }),
            ("password", |g| g.password = Some("longer-than-8".into())),
            ("enquire_link_s", |g| g.enquire_link_s = 0),
            ("reconnect_min_ms", |g| g.reconnect_min_ms = 0),
            ("reconnect_max_ms", |g| g.reconnect_max_ms = 1),
            ("end_op", |g| g.end_op = Some(2)),
        ];
        for (field, spoil) in cases {
            let mut gateway = valid();
            spoil(&mut gateway);
            let message = check("mtn", &gateway).expect_err(field).to_string();
            assert!(message.contains(&format!("smpp.mtn.{field}")), "{message}");
        }
    }

    #[test]
    fn the_password_comes_from_the_environment() {
        let mut gateway = valid();
        gateway.apply_env("mtn-gh", |key| {
            (key == "DAFTAR_SMPP_MTN_GH_PASSWORD").then(|| "s3cret".to_string())
        });
        assert_eq!(gateway.password.as_deref(), Some("s3cret"));
    }
}
