//! `[limits]`: how much one caller, one queried identifier and one aggregator's address may ask
//! (SPEC §8). Every key has a default generous enough that a person at a phone never meets it;
//! each rate set to 0 is off.

use serde::Deserialize;

use crate::config::Refused;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Steps (USSD requests) one MSISDN may make a minute, in a burst or spread out; 0: off.
    pub msisdn_steps_per_minute: u32,
    /// Open sessions one MSISDN may hold in the table; a new one beyond it replaces the
    /// caller's oldest (a phone runs one USSD session at a time: the older ones are dead).
    /// 0: off.
    pub msisdn_sessions: usize,
    /// Inquiries (answers with a tracking code) one MSISDN may get an hour; 0: off.
    pub msisdn_inquiries_per_hour: u32,
    /// Inquiries about one national code, IIN or foreign number an hour, from all phones
    /// together (keyed by its keyed hash); 0: off.
    pub identifier_inquiries_per_hour: u32,
    /// USSD requests one source address (an aggregator) may make a second; beyond it, 429
    /// with `Retry-After`. 0: off.
    pub source_requests_per_second: u32,
    /// How often the limiters forget the callers they no longer hold back. Above 0.
    pub forget_every_s: u64,
    /// The general inquiry (`tamin` 2) answers only the MSISDNs in `providers` (SPEC §8:
    /// seed 003 gives it to doctors and centres); others are told it is for providers.
    pub providers_only: bool,
    /// The providers' MSISDNs, international form, digits only (`989121234567`).
    pub providers: Vec<String>,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            msisdn_steps_per_minute: 120,
            msisdn_sessions: 4,
            msisdn_inquiries_per_hour: 60,
            identifier_inquiries_per_hour: 30,
            source_requests_per_second: 1_000,
            forget_every_s: 60,
            providers_only: false,
            providers: Vec::new(),
        }
    }
}

impl LimitsConfig {
    /// Every limit off: for tests of something else that step one phone thousands of times.
    pub fn off() -> LimitsConfig {
        LimitsConfig {
            msisdn_steps_per_minute: 0,
            msisdn_sessions: 0,
            msisdn_inquiries_per_hour: 0,
            identifier_inquiries_per_hour: 0,
            source_requests_per_second: 0,
            ..LimitsConfig::default()
        }
    }

    /// Refuses a value that cannot work, naming its key.
    pub(crate) fn check(&self) -> Result<(), Refused> {
        if self.forget_every_s == 0 {
            return Err(Refused::new("limits.forget_every_s", "must be above 0"));
        }
        if self.providers_only && self.providers.is_empty() {
            let rule = "must list the providers' MSISDNs when providers_only is set: else no \
                        one may make a general inquiry";
            return Err(Refused::new("limits.providers", rule));
        }
        if let Some(at) = self.providers.iter().position(|m| !is_msisdn(m)) {
            let rule = "must be an MSISDN in international form, digits only";
            return Err(Refused::new(format!("limits.providers[{at}]"), rule));
        }
        Ok(())
    }
}

/// An MSISDN as the dialects give it: international form, 8 to 15 digits.
fn is_msisdn(text: &str) -> bool {
    (8..=15).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit())
}
