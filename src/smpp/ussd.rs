//! USSD over SMPP, PDU by PDU: a gateway's `deliver_sm` becomes a [`Turn`], and a [`Reply`]
//! becomes the `submit_sm` that answers it (DIALECTS.md §8). Pure: no socket, no engine.
//!
//! What marks what depends on the gateway ([`Variant`], after vumi's three processors, §8.3):
//! op 1 (PSSR indication) starts a session and carries the dialled string; op 18 (USSR
//! confirm) carries the latest input alone (the session store keeps the path); a release (op
//! 0x81, op 17, or the `its_session_info` end bit where the variant reads it) is an Abort. The
//! session is the MSISDN with `its_session_info`'s session number (or Mica's
//! `user_message_reference`), and the reply echoes what identified it, with the continue or
//! end op code and, at the end, the end bit. SMPP marks no resend of a `deliver_sm` that
//! daftar could tell from new input, so every turn is unmarked (SPEC §3).

use rusmpp::pdus::{DeliverSm, SubmitSm};
use rusmpp::tlvs::{MessageSubmissionRequestTlvValue as Out, TlvValue};
use rusmpp::types::{AnyOctetString, COctetString, OctetString};
use rusmpp::values::{
    DataCoding, EsmClass, ItsSessionInfo, MessagePayload, Npi, RegisteredDelivery, ServiceType,
    Ton, UserMessageReference, UssdServiceOp,
};
use std::sync::Arc;

use super::alphabet;
use super::config::{GatewayConfig, Variant};
use crate::turn::{Reply, Turn, TurnKind};

/// Op 1, PSSR indication: the caller dialled the code.
const PSSR_INDICATION: u8 = 1;
/// Op 2, USSR request: show and wait for input (some gateways send it inbound too).
const USSR_REQUEST: u8 = 2;
/// Op 17, PSSR response: the application's last answer (a release when a gateway sends it).
const PSSR_RESPONSE: u8 = 17;
/// Op 18, USSR confirm: the caller's answer.
const USSR_CONFIRM: u8 = 18;
/// Op 0x81, USSREL indication (vendor range): the caller or network released the session.
const USSREL: u8 = 0x81;
/// Bit 0 of `its_session_info`'s second octet: the last message of the dialogue.
const END_BIT: u8 = 0x01;

/// What a `deliver_sm` says, read off the PDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Delivered {
    /// `source_addr`: the caller.
    pub(crate) msisdn: String,
    /// `destination_addr`: the short code, or the dialled string on some gateways.
    pub(crate) destination: String,
    pub(crate) op: Option<u8>,
    pub(crate) its: Option<ItsSessionInfo>,
    pub(crate) reference: Option<u16>,
    /// `short_message` (or `message_payload`), decoded by `data_coding`.
    pub(crate) text: String,
}

/// Where a reply goes, and what it echoes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Thread {
    pub(crate) msisdn: String,
    /// The address the caller reached, which the reply comes from.
    pub(crate) short_code: String,
    pub(crate) its: Option<ItsSessionInfo>,
    pub(crate) reference: Option<u16>,
}

/// What the caller did, by the gateway's variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    Start,
    Input,
    Release,
}

impl Delivered {
    /// Reads `pdu`'s addresses, USSD TLVs and text.
    pub(crate) fn read(pdu: &DeliverSm) -> Delivered {
        let mut delivered = Delivered {
            msisdn: address(pdu.source_addr.as_ref()),
            destination: address(pdu.destination_addr.as_ref()),
            op: None,
            its: None,
            reference: None,
            text: String::new(),
        };
        let coding = u8::from(pdu.data_coding);
        let mut bytes = pdu.short_message().as_ref().to_vec();
        for value in pdu.tlvs().iter().filter_map(|tlv| tlv.value()) {
            match value {
                TlvValue::UssdServiceOp(op) => delivered.op = Some(u8::from(*op)),
                TlvValue::ItsSessionInfo(its) => delivered.its = Some(*its),
                TlvValue::UserMessageReference(r) => delivered.reference = Some(r.value),
                TlvValue::MessagePayload(payload) if bytes.is_empty() => {
                    bytes = payload.value.as_ref().to_vec();
                }
                _ => {}
            }
        }
        delivered.text = alphabet::decode(coding, &bytes);
        delivered
    }
}

/// A C-octet string (its bytes end with the NUL) as text; addresses are ASCII, anything else
/// is kept, lossily.
fn address(bytes: &[u8]) -> String {
    let text = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    String::from_utf8_lossy(text).trim().to_string()
}

/// The turn `delivered` makes on `dialect`, and where its reply goes; `None` when it is no
/// USSD (no `ussd_service_op`: an SMS, which vumi too tells apart this way, §8.2).
pub(crate) fn turn_of(
    dialect: &Arc<str>,
    gateway: &GatewayConfig,
    delivered: &Delivered,
) -> Option<(Turn, Thread)> {
    let op = delivered.op?;
    let event = event_of(gateway.variant, op, delivered.its);
    let session_id = session_id(gateway.variant, delivered);
    let kind = match event {
        Event::Start => TurnKind::Start,
        Event::Input => TurnKind::Latest(delivered.text.trim().to_string()),
        Event::Release => TurnKind::Abort,
    };
    let mut turn = Turn::new(dialect, &session_id, &delivered.msisdn, kind);
    if event == Event::Start {
        if let Some(code) = dialled(gateway, delivered) {
            turn = turn.dialled(&code);
        }
    }
    let thread = Thread {
        msisdn: delivered.msisdn.clone(),
        short_code: delivered.destination.clone(),
        its: delivered.its,
        reference: delivered.reference,
    };
    Some((turn, thread))
}

/// Start, input or release, as `variant` reads op `op` and the end bit (§8.3's table).
fn event_of(variant: Variant, op: u8, its: Option<ItsSessionInfo>) -> Event {
    let end_bit = its.is_some_and(|its| its.sequence_number & END_BIT == END_BIT);
    match variant {
        Variant::Tata if end_bit => Event::Release,
        Variant::Tata => match op {
            PSSR_INDICATION => Event::Start,
            USSR_REQUEST | USSR_CONFIRM => Event::Input,
            _ => Event::Release,
        },
        Variant::Sixdee if end_bit => Event::Release,
        Variant::Sixdee | Variant::Mica => match op {
            PSSR_INDICATION => Event::Start,
            USSREL | PSSR_RESPONSE => Event::Release,
            // vumi's Mica and 6D processors read an unknown op as input, with a warning.
            _ => Event::Input,
        },
    }
}

/// The gateway's session, with the caller: one MSISDN's session numbers never collide with
/// another's.
fn session_id(variant: Variant, delivered: &Delivered) -> String {
    let number = match variant {
        Variant::Mica => delivered.reference.map(u32::from),
        Variant::Sixdee | Variant::Tata => delivered.its.map(|its| u32::from(its.session_number)),
    };
    match number {
        Some(number) => format!("{}:{number}", delivered.msisdn),
        None => delivered.msisdn.clone(),
    }
}

/// The dialled string of a start: `short_message` (§8.2), else `destination_addr` when it
/// is one (6D can be set so), else the gateway's configured `service_code`.
fn dialled(gateway: &GatewayConfig, delivered: &Delivered) -> Option<String> {
    [delivered.text.trim(), delivered.destination.as_str()]
        .into_iter()
        .find(|text| text.starts_with('*'))
        .map(str::to_string)
        .or_else(|| gateway.service_code.clone())
}

/// The `submit_sm` that shows `reply` on the phone of `thread`; `None` for a bare
/// acknowledgement, which no phone shows.
pub(crate) fn submit_of(
    gateway: &GatewayConfig,
    thread: &Thread,
    reply: &Reply,
) -> Option<SubmitSm> {
    let (op, end) = match reply {
        Reply::Continue(_) => (gateway.continue_op, false),
        Reply::End(_) => (gateway.end_op(), true),
        Reply::Ack => return None,
    };
    let (coding, bytes) = alphabet::encode(gateway.data_coding, reply.text());
    let mut tlvs = vec![Out::UssdServiceOp(UssdServiceOp::from(op))];
    if let Some(its) = thread.its {
        let sequence = (its.sequence_number & !END_BIT) | if end { END_BIT } else { 0 };
        tlvs.push(Out::ItsSessionInfo(ItsSessionInfo::new(
            its.session_number,
            sequence,
        )));
    }
    if let Some(reference) = thread.reference {
        tlvs.push(Out::UserMessageReference(UserMessageReference::new(
            reference,
        )));
    }
    // A screen fits `short_message` (182 septets or 80 UCS-2 characters, at most 182 octets);
    // a longer one, should a budget be raised, goes in `message_payload` as SMPP allows.
    let short_message = match OctetString::from_slice(&bytes) {
        Ok(short) => short,
        Err(_) => {
            tlvs.push(Out::MessagePayload(MessagePayload::new(
                AnyOctetString::from_slice(&bytes),
            )));
            OctetString::empty()
        }
    };
    let submit = SubmitSm::builder()
        .service_type(ServiceType::new(c_string(&gateway.service_type)))
        .source_addr_ton(Ton::Unknown)
        .source_addr_npi(Npi::Unknown)
        .source_addr(c_string(&thread.short_code))
        .dest_addr_ton(Ton::International)
        .dest_addr_npi(Npi::Isdn)
        .destination_addr(c_string(&thread.msisdn))
        .esm_class(EsmClass::default())
        .registered_delivery(RegisteredDelivery::default())
        .data_coding(DataCoding::from(coding))
        .short_message(short_message)
        .tlvs(tlvs)
        .build();
    Some(submit)
}

/// `text` as a C-octet string of at most `MAX - 1` ASCII characters; what does not fit (a
/// config checked at start; an address the gateway sent, at most 20 characters) is cut.
fn c_string<const MIN: usize, const MAX: usize>(text: &str) -> COctetString<MIN, MAX> {
    let kept: String = text
        .chars()
        .filter(|c| c.is_ascii() && *c != '\0')
        .take(MAX.saturating_sub(1))
        .collect();
    kept.parse().unwrap_or_default()
}

#[cfg(test)]
mod tests;
