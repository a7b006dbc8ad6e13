//! The PDU ↔ turn mapping, one table row per case of DIALECTS.md §8.2 and §8.3.

use super::*;
use crate::smpp::config::Coding;
use rusmpp::tlvs::MessageDeliveryRequestTlvValue as In;

fn gateway(variant: Variant) -> GatewayConfig {
    GatewayConfig {
        address: "127.0.0.1:2775".into(),
        system_id: "daftar".into(),
        variant,
        ..GatewayConfig::default()
    }
}

fn delivered(op: Option<u8>, its: Option<(u8, u8)>, text: &str) -> Delivered {
    Delivered {
        msisdn: "989121234567".into(),
        destination: "1420".into(),
        op,
        its: its.map(|(session, sequence)| ItsSessionInfo::new(session, sequence)),
        reference: None,
        text: text.into(),
    }
}

fn kind_of(variant: Variant, delivered: &Delivered) -> Option<TurnKind> {
    let dialect: Arc<str> = Arc::from("smpp.test");
    turn_of(&dialect, &gateway(variant), delivered).map(|(turn, _)| turn.kind)
}

/// A variant, an inbound op, its_session_info, the text, and the turn it makes.
type Case = (
    Variant,
    Option<u8>,
    Option<(u8, u8)>,
    &'static str,
    Option<TurnKind>,
);

#[test]
fn each_variant_reads_start_input_and_release_as_vumi_does() {
    use Variant::{Mica, Sixdee, Tata};
    let latest = |text: &str| Some(TurnKind::Latest(text.into()));
    let (start, abort) = (Some(TurnKind::Start), Some(TurnKind::Abort));
    let cases: [Case; 14] = [
        (Sixdee, Some(1), Some((42, 0)), "*4*1420#", start.clone()),
        (Sixdee, Some(18), Some((42, 2)), " 1 ", latest("1")),
        (Sixdee, Some(18), Some((42, 3)), "", abort.clone()),
        (Sixdee, Some(0x81), Some((42, 4)), "", abort.clone()),
        (Sixdee, Some(17), None, "", abort.clone()),
        (Sixdee, Some(99), Some((42, 2)), "2", latest("2")),
        (Sixdee, None, Some((42, 0)), "an SMS", None),
        (Mica, Some(1), None, "*4*1420#", start.clone()),
        (Mica, Some(18), Some((42, 3)), "1", latest("1")),
        (Mica, Some(0x81), None, "", abort.clone()),
        (Tata, Some(1), Some((7, 0)), "*4*1420#", start),
        (Tata, Some(2), Some((7, 2)), "1", latest("1")),
        (Tata, Some(18), Some((7, 5)), "1", abort.clone()),
        (Tata, Some(19), Some((7, 2)), "", abort),
    ];
    for (variant, op, its, text, expected) in cases {
        let got = kind_of(variant, &delivered(op, its, text));
        assert_eq!(got, expected, "{variant:?} op {op:?} its {its:?}");
    }
}

#[test]
fn the_session_is_the_caller_with_the_gateways_session_number() {
    let dialect: Arc<str> = Arc::from("smpp.test");
    let start = delivered(Some(1), Some((42, 0)), "*4*1420#");
    let next = delivered(Some(18), Some((42, 2)), "1");
    let (first, _) = turn_of(&dialect, &gateway(Variant::Sixdee), &start).expect("ussd");
    let (second, _) = turn_of(&dialect, &gateway(Variant::Sixdee), &next).expect("ussd");
    assert_eq!(first.session_id, "989121234567:42");
    assert_eq!(first.session_id, second.session_id);
    let mut mica = delivered(Some(18), None, "1");
    mica.reference = Some(513);
    let (turn, thread) = turn_of(&dialect, &gateway(Variant::Mica), &mica).expect("ussd");
    assert_eq!(turn.session_id, "989121234567:513");
    assert_eq!(thread.reference, Some(513));
}

#[test]
fn the_dialled_string_comes_from_the_message_the_address_or_the_config() {
    let dialect: Arc<str> = Arc::from("smpp.test");
    let mut config = gateway(Variant::Sixdee);
    let code = |config: &GatewayConfig, d: &Delivered| {
        turn_of(&dialect, config, d).and_then(|(turn, _)| turn.service_code)
    };
    let mut start = delivered(Some(1), Some((1, 0)), "*4*1420*2#");
    assert_eq!(code(&config, &start).as_deref(), Some("*4*1420*2#"));
    start.text = String::new();
    assert_eq!(code(&config, &start), None);
    start.destination = "*4*1420#".into();
    assert_eq!(code(&config, &start).as_deref(), Some("*4*1420#"));
    start.destination = "1420".into();
    config.service_code = Some("*1420#".into());
    assert_eq!(code(&config, &start).as_deref(), Some("*1420#"));
}

/// The TLVs of a submit_sm: op, its_session_info, user_message_reference.
fn tlvs_of(submit: &SubmitSm) -> (Option<u8>, Option<ItsSessionInfo>, Option<u16>) {
    let mut found = (None, None, None);
    for value in submit.tlvs().iter().filter_map(|tlv| tlv.value()) {
        match value {
            TlvValue::UssdServiceOp(op) => found.0 = Some(u8::from(*op)),
            TlvValue::ItsSessionInfo(its) => found.1 = Some(*its),
            TlvValue::UserMessageReference(r) => found.2 = Some(r.value),
            _ => {}
        }
    }
    found
}

fn thread(its: Option<(u8, u8)>, reference: Option<u16>) -> Thread {
    Thread {
        msisdn: "989121234567".into(),
        short_code: "1420".into(),
        its: its.map(|(session, sequence)| ItsSessionInfo::new(session, sequence)),
        reference,
    }
}

#[test]
fn a_reply_echoes_the_session_with_the_continue_or_end_op() {
    let config = gateway(Variant::Sixdee);
    let menu = Reply::Continue("1. Inquiry".into());
    let submit = submit_of(&config, &thread(Some((42, 2)), None), &menu).expect("shown");
    assert_eq!(
        tlvs_of(&submit),
        (Some(2), Some(ItsSessionInfo::new(42, 2)), None)
    );
    assert_eq!(submit.short_message().as_ref(), b"1. Inquiry");
    assert_eq!(u8::from(submit.data_coding), 0);
    assert_eq!(address(submit.destination_addr.as_ref()), "989121234567");
    assert_eq!(address(submit.source_addr.as_ref()), "1420");
    assert_eq!(address(submit.service_type.value().as_ref()), "USSD");
    let last = Reply::End("bye".into());
    let submit = submit_of(&config, &thread(Some((42, 2)), Some(9)), &last).expect("shown");
    assert_eq!(
        tlvs_of(&submit),
        (Some(17), Some(ItsSessionInfo::new(42, 3)), Some(9))
    );
    assert!(submit_of(&config, &thread(None, None), &Reply::Ack).is_none());
}

#[test]
fn the_end_op_and_alphabet_follow_the_config() {
    let config = GatewayConfig {
        end_op: Some(0x17),
        data_coding: Coding::Auto,
        ..gateway(Variant::Mica)
    };
    let last = Reply::End("پایان".into());
    let submit = submit_of(&config, &thread(None, Some(3)), &last).expect("shown");
    assert_eq!(tlvs_of(&submit), (Some(0x17), None, Some(3)));
    assert_eq!(u8::from(submit.data_coding), 8);
    assert_eq!(submit.short_message().as_ref().len(), 10);
}

#[test]
fn a_reply_too_long_for_short_message_goes_in_the_payload() {
    let long = Reply::End("ی".repeat(200));
    let submit = submit_of(&gateway(Variant::Sixdee), &thread(None, None), &long).expect("shown");
    assert!(submit.short_message().as_ref().is_empty());
    let payload = submit.tlvs().iter().find_map(|tlv| match tlv.value() {
        Some(TlvValue::MessagePayload(payload)) => Some(payload.value.as_ref().len()),
        _ => None,
    });
    assert_eq!(payload, Some(400));
}

/// A `deliver_sm` as a gateway sends it, built with `rusmpp`'s own types.
fn deliver_sm(short_message: &[u8], data_coding: u8, tlvs: Vec<In>) -> DeliverSm {
    DeliverSm::builder()
        .service_type(ServiceType::new("USSD".parse().expect("service_type")))
        .source_addr("989121234567".parse().expect("source"))
        .destination_addr("1420".parse().expect("destination"))
        .data_coding(DataCoding::from(data_coding))
        .short_message(OctetString::from_slice(short_message).expect("short"))
        .tlvs(tlvs)
        .build()
}

#[test]
fn a_deliver_sm_is_read_off_its_fields_and_tlvs() {
    let pdu = deliver_sm(
        &[0x00, 0x31],
        8,
        vec![
            In::UssdServiceOp(UssdServiceOp::from(18)),
            In::ItsSessionInfo(ItsSessionInfo::new(42, 2)),
            In::UserMessageReference(UserMessageReference::new(7)),
        ],
    );
    let read = Delivered::read(&pdu);
    let expected = Delivered {
        its: Some(ItsSessionInfo::new(42, 2)),
        reference: Some(7),
        ..delivered(Some(18), None, "1")
    };
    assert_eq!(read, expected);
    let payload = MessagePayload::new(AnyOctetString::from_slice(b"*4*1420#"));
    let pdu = deliver_sm(b"", 0, vec![In::MessagePayload(payload)]);
    let read = Delivered::read(&pdu);
    assert_eq!((read.op, read.text.as_str()), (None, "*4*1420#"));
}
