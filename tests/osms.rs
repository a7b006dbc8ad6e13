//! The `osms` journeys over HTTP in Kazakh and Russian: insured with the month row and the
//! polyclinic, not insured, an IIN no record holds, a wrong control digit.

mod common;

use common::people::*;
use common::{luhn_ok, TestServer};
use jiff::ToSpan;
use serde_json::json;

const O: &str = "*1406#";
const PHONE: &str = "77019990009";

fn iins() -> (String, String, String) {
    let insured = kz_iin("90051530012").expect("iin");
    let suspended = kz_iin("85010240015").expect("iin");
    let nobody = kz_iin("95123130077").expect("iin");
    (insured, suspended, nobody)
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
            "coverage": {"status": "active", "from": "2020-01-01"},
            "contributions": contributions,
            "attachment": {"provider": "Emhana 5", "since": "2023-09-01"}}),
        ),
        upsert(
            2,
            json!({"insurer": "osms", "person_id": suspended, "birth_date": "1985-01-02", "sex": "f",
            "coverage": {"status": "suspended", "from": "2020-01-01"}}),
        ),
    ]
}

fn read_all(server: &TestServer, sid: &str, path: &str) -> (String, common::Screen) {
    // Each session its own phone: a locale chosen with 9 is remembered per MSISDN.
    let phone = format!(
        "7701999{:04}",
        sid.bytes().map(u32::from).sum::<u32>() % 10_000
    );
    let mut screen = server.at(sid, O, &phone, path);
    let mut text = screen.text.clone();
    let mut path = path.to_string();
    while screen.is_con() && screen.text.contains("98.") {
        path.push_str("*98");
        screen = server.at(sid, O, &phone, &path);
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
    let (text, last) = read_all(&server, "i1", &format!("1*{insured}"));
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
    let (ru, _) = read_all(&server, "i2", &format!("9*1*{insured}"));
    assert!(
        ru.contains("Застрахован") && !ru.contains("Не застрахован"),
        "{ru}"
    );
}

#[test]
fn suspended_and_unknown_people_are_not_insured() {
    let (_, suspended, nobody) = iins();
    let server = TestServer::start(&feed());
    let (text, _) = read_all(&server, "n1", &format!("9*1*{suspended}"));
    assert!(text.contains("Не застрахован"), "{text}");
    assert_eq!(
        text.matches('✗').count(),
        12,
        "no contributions on record: {text}"
    );
    let (text, last) = read_all(&server, "n2", &format!("9*1*{nobody}"));
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
