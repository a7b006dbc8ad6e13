//! The `osms` journeys over HTTP in Kazakh and Russian: insured with the month row and the
//! polyclinic (for a phone registered for the person or their holder), the status alone for any
//! other phone, not insured, an IIN no record holds, a wrong control digit.

mod common;

use common::people::*;
use common::{luhn_ok, TestServer};
use jiff::ToSpan;
use serde_json::json;

const O: &str = "*1406#";
const PHONE: &str = "77019990009";
/// Phones registered for the insured person, one per session (a locale chosen with 9 is
/// remembered per MSISDN), and the one registered for the suspended person.
const INSURED_PHONES: [&str; 3] = ["77019990101", "77019990102", "77019990103"];
const SUSPENDED_PHONE: &str = "77019990201";

fn iins() -> (String, String, String) {
    let insured = kz_iin("90051530012").expect("iin");
    let suspended = kz_iin("85010240015").expect("iin");
    let nobody = kz_iin("95123130077").expect("iin");
    (insured, suspended, nobody)
}

/// A child on the insured person's record, with no phone of its own.
fn child_iin() -> String {
    kz_iin("15060150001").expect("iin")
}

fn feed() -> Vec<String> {
    let (insured, suspended, _) = iins();
    let today = today_almaty();
    let mut contributions = serde_json::Map::new();
    let mut month = today.first_of_month();
    for i in 0..14 {
        month = month.checked_sub(1.month()).unwrap();
        let key = format!("{:04}-{:02}", month.year(), month.month());
        contributions.insert(key, json!(i != 2));
    }
    vec![
        upsert(
            1,
            json!({"insurer": "osms", "person_id": insured, "birth_date": "1990-05-15", "sex": "m",
            "msisdns": INSURED_PHONES,
            "coverage": {"status": "active", "from": "2020-01-01"},
            "contributions": contributions,
            "attachment": {"provider": "Emhana 5", "since": "2023-09-01"}}),
        ),
        upsert(
            2,
            json!({"insurer": "osms", "person_id": suspended, "birth_date": "1985-01-02", "sex": "f",
            "msisdns": [SUSPENDED_PHONE],
            "coverage": {"status": "suspended", "from": "2020-01-01"}}),
        ),
        upsert(
            3,
            json!({"insurer": "osms", "person_id": child_iin(), "birth_date": "2015-06-01", "sex": "m",
            "holder": {"person_id": insured, "relation": "son"},
            "coverage": {"status": "active", "from": "2015-06-01"},
            "attachment": {"provider": "Emhana 11", "since": "2015-06-01"}}),
        ),
    ]
}

/// A phone registered for no one, its own per session (a locale chosen with 9 is remembered
/// per MSISDN).
fn stranger(sid: &str) -> String {
    format!(
        "7701999{:04}",
        sid.bytes().map(u32::from).sum::<u32>() % 10_000
    )
}

/// Every page of the answer to `path`, read with `98`, as `phone` sees it.
fn read_all(server: &TestServer, sid: &str, phone: &str, path: &str) -> (String, common::Screen) {
    let mut screen = server.at(sid, O, phone, path);
    let mut text = screen.text.clone();
    let mut path = path.to_string();
    while screen.is_con() && screen.text.contains("98.") {
        path.push_str("*98");
        screen = server.at(sid, O, phone, &path);
        text.push('\n');
        text.push_str(&screen.text);
    }
    (text, screen)
}

#[test]
fn kazakh_first_then_russian_on_nine() {
    let server = TestServer::start(&feed());
    let kk = server.at("k1", O, PHONE, "");
    assert!(
        kk.is_con() && kk.text.contains("1.") && kk.text.contains("9."),
        "{kk:?}"
    );
    assert!(kk.text.contains("мәртебем"), "{}", kk.text);
    let ru = server.at("k1", O, PHONE, "9");
    assert!(ru.text.contains("Мой статус"), "{}", ru.text);
}

#[test]
fn an_insured_person_sees_twelve_months_and_the_polyclinic() {
    let (insured, _, _) = iins();
    let server = TestServer::start(&feed());
    let (text, last) = read_all(&server, "i1", INSURED_PHONES[0], &format!("1*{insured}"));
    assert!(last.is_end(), "{last:?}");
    assert!(
        text.contains("Сақтандырылған") && !text.contains("Сақтандырылмаған"),
        "{text}"
    );
    assert_eq!(
        text.matches('✓').count() + text.matches('✗').count(),
        12,
        "{text}"
    );
    assert_eq!(
        text.matches('✗').count(),
        1,
        "one gap in the last 12 months: {text}"
    );
    assert!(text.contains("Emhana 5"), "{text}");
    assert!(luhn_ok(&last.codes()[0]));
    let (ru, _) = read_all(&server, "i2", INSURED_PHONES[1], &format!("9*1*{insured}"));
    assert!(
        ru.contains("Застрахован") && !ru.contains("Не застрахован"),
        "{ru}"
    );
}

#[test]
fn suspended_and_unknown_people_are_not_insured() {
    let (_, suspended, nobody) = iins();
    let server = TestServer::start(&feed());
    let (text, _) = read_all(&server, "n1", SUSPENDED_PHONE, &format!("9*1*{suspended}"));
    assert!(text.contains("Не застрахован"), "{text}");
    assert_eq!(
        text.matches('✗').count(),
        12,
        "no contributions on record: {text}"
    );
    let (text, last) = read_all(&server, "n2", &stranger("n2"), &format!("9*1*{nobody}"));
    assert!(text.contains("Не застрахован"), "{text}");
    assert!(
        !text.contains('✓') && !text.contains('✗'),
        "no months for an unknown IIN: {text}"
    );
    assert!(last.is_end());
}

#[test]
fn a_wrong_control_digit_is_asked_again() {
    let (insured, _, _) = iins();
    let server = TestServer::start(&feed());
    let wrong = wrong_check(&insured);
    let again = server.at("w1", O, PHONE, &format!("1*{wrong}"));
    assert!(again.is_con(), "{again:?}");
    assert!(
        again.text.contains("ЖСН"),
        "the question is asked again: {}",
        again.text
    );
    let bad_date = server.at("w2", O, PHONE, "1*901315300120");
    assert!(bad_date.is_con(), "{bad_date:?}");
}

/// The screen with its tracking codes blanked, to compare two answers apart from their codes.
fn without_codes(text: &str, codes: &[String]) -> String {
    let latin = common::latin_digits(text);
    codes
        .iter()
        .fold(latin, |text, code| text.replace(code.as_str(), "CODE"))
}

#[test]
fn the_details_go_only_to_the_registered_phone() {
    let (insured, suspended, nobody) = iins();
    let child = child_iin();
    let server = TestServer::start(&feed());
    let marks = |text: &str| text.matches('✓').count() + text.matches('✗').count();

    // A stranger, in Kazakh and in Russian: the status, the line about the details, a code.
    let cases = [
        ("s1", "", "Сақтандырылған", "тіркелген нөмірге"),
        ("s2", "9*", "Застрахован", "номер из реестра"),
    ];
    for (sid, switch, status, details_line) in cases {
        let phone = stranger(sid);
        let (text, last) = read_all(&server, sid, &phone, &format!("{switch}1*{insured}"));
        assert!(last.is_end() && !text.contains("98."), "one page: {text}");
        assert!(text.starts_with(status), "{text}");
        assert!(text.contains(details_line), "{text}");
        assert_eq!(marks(&text), 0, "no months for a stranger: {text}");
        assert!(
            !text.contains("Emhana"),
            "no provider for a stranger: {text}"
        );
        assert!(luhn_ok(&last.codes()[0]), "{text}");
    }

    // The registered phone: the months and the provider.
    let (text, _) = read_all(&server, "r1", INSURED_PHONES[2], &format!("1*{insured}"));
    assert_eq!(marks(&text), 12, "{text}");
    assert!(
        text.contains("Emhana 5") && !text.contains("тіркелген нөмірге"),
        "{text}"
    );

    // A dependent's details go to the holder's phone, and to no other.
    let (text, _) = read_all(&server, "h1", INSURED_PHONES[0], &format!("1*{child}"));
    assert_eq!(marks(&text), 12, "{text}");
    assert!(text.contains("Emhana 11"), "{text}");
    for (sid, phone) in [("h2", stranger("h2")), ("h3", SUSPENDED_PHONE.to_string())] {
        let (text, _) = read_all(&server, sid, &phone, &format!("1*{child}"));
        assert_eq!(marks(&text), 0, "{phone}: {text}");
        assert!(!text.contains("Emhana"), "{phone}: {text}");
    }

    // An IIN no record holds reads exactly as a stranger's query of a person not insured,
    // apart from its tracking code, to a stranger and to a registered phone alike.
    for (sid, switch) in [("u", ""), ("v", "9*")] {
        let (known, known_last) = read_all(
            &server,
            &format!("{sid}1"),
            &stranger(&format!("{sid}1")),
            &format!("{switch}1*{suspended}"),
        );
        let unknown_phones = [stranger(&format!("{sid}2")), SUSPENDED_PHONE.to_string()];
        for (n, phone) in unknown_phones.iter().enumerate() {
            let (unknown, unknown_last) = read_all(
                &server,
                &format!("{sid}3{n}"),
                phone,
                &format!("{switch}1*{nobody}"),
            );
            let codes = [known_last.codes(), unknown_last.codes()].concat();
            assert_eq!(codes.len(), 2, "one code each: {known} / {unknown}");
            assert_ne!(codes[0], codes[1]);
            assert_eq!(
                without_codes(&unknown, &codes),
                without_codes(&known, &codes),
                "{phone}"
            );
            assert_eq!(unknown_last.kind, known_last.kind);
        }
    }
}
