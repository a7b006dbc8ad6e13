//! People of the tests' own, built relative to today so the rules hold whatever the date:
//! valid Iranian national codes and Kazakh IINs, and the feed lines that carry them.

use jiff::civil::Date;
use jiff::ToSpan;
use serde_json::{json, Value};

/// Today where `tamin` is (Asia/Tehran).
pub fn today_tehran() -> Date {
    let zone = jiff::tz::TimeZone::get("Asia/Tehran").expect("zone");
    jiff::Timestamp::now().to_zoned(zone).date()
}

pub fn today_almaty() -> Date {
    let zone = jiff::tz::TimeZone::get("Asia/Almaty").expect("zone");
    jiff::Timestamp::now().to_zoned(zone).date()
}

/// A valid Iranian national code from its first nine digits.
pub fn ir_code(nine: &str) -> String {
    let d: Vec<u32> = nine
        .chars()
        .map(|c| c.to_digit(10).expect("digit"))
        .collect();
    let s: u32 = (0..9).map(|i| d[i] * (10 - i as u32)).sum::<u32>() % 11;
    let check = if s < 2 { s } else { 11 - s };
    format!("{nine}{check}")
}

/// The same code with a wrong last digit.
pub fn wrong_check(code: &str) -> String {
    let last = code
        .chars()
        .last()
        .and_then(|c| c.to_digit(10))
        .expect("digit");
    format!("{}{}", &code[..code.len() - 1], (last + 1) % 10)
}

/// A valid Kazakh IIN from its first eleven digits (None when no control digit exists).
pub fn kz_iin(eleven: &str) -> Option<String> {
    let d: Vec<u32> = eleven
        .chars()
        .map(|c| c.to_digit(10).expect("digit"))
        .collect();
    let first: u32 = d.iter().zip(1..=11).map(|(a, w)| a * w).sum::<u32>() % 11;
    let check = if first == 10 {
        let weights = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2];
        d.iter().zip(weights).map(|(a, w)| a * w).sum::<u32>() % 11
    } else {
        first
    };
    (check != 10).then(|| format!("{eleven}{check}"))
}

pub fn years_ago(today: Date, years: i64) -> Date {
    today.checked_sub(years.years()).expect("date")
}

pub fn iso(date: Date) -> String {
    date.to_string()
}

/// A feed line for `person`.
pub fn upsert(seq: u64, person: Value) -> String {
    json!({"seq": seq, "op": "upsert", "person": person}).to_string()
}

pub fn delete(seq: u64, insurer: &str, id: &str) -> String {
    json!({"seq": seq, "op": "delete", "insurer": insurer, "person_id": id}).to_string()
}

/// A `tamin` holder covered from 2020 to `until`.
pub fn holder(id: &str, msisdns: &[&str], until: Date) -> Value {
    json!({
        "insurer": "tamin", "person_id": id, "name": "Holder", "birth_date": "1980-05-01",
        "sex": "m", "msisdns": msisdns,
        "coverage": {"status": "active", "from": "2020-01-01", "until": iso(until)}
    })
}

/// A `tamin` dependent of `holder_id`.
pub fn dependent(id: &str, holder_id: &str, relation: &str, born: Date, facts: Value) -> Value {
    json!({
        "insurer": "tamin", "person_id": id, "name": format!("Dep {relation}"),
        "birth_date": iso(born), "sex": if relation == "daughter" || relation == "mother" { "f" } else { "m" },
        "holder": {"person_id": holder_id, "relation": relation},
        "facts": facts
    })
}

/// Today where `cnam` and `mutual` are (Africa/Tunis).
pub fn today_tunis() -> Date {
    let zone = jiff::tz::TimeZone::get("Africa/Tunis").expect("zone");
    jiff::Timestamp::now().to_zoned(zone).date()
}

/// A Tunisian holder (`cnam` or `mutual`) with its matricule, scheme, phones and coverage.
pub fn tn_holder(
    insurer: &str,
    cin: &str,
    matricule: &str,
    scheme: &str,
    msisdns: &[&str],
    coverage: Value,
) -> Value {
    json!({
        "insurer": insurer, "person_id": cin, "member_no": matricule, "scheme": scheme,
        "name": format!("Holder {cin}"), "birth_date": "1975-04-02", "sex": "m",
        "msisdns": msisdns, "coverage": coverage
    })
}

/// A Tunisian dependent of `holder` (no name: the line shows the relation alone).
pub fn tn_dependent(
    insurer: &str,
    cin: &str,
    holder: &str,
    relation: &str,
    born: Date,
    facts: Value,
) -> Value {
    json!({
        "insurer": insurer, "person_id": cin, "birth_date": iso(born),
        "holder": {"person_id": holder, "relation": relation}, "facts": facts
    })
}

/// An Africa's Talking session walked along the cumulative `path`, every page of a long
/// answer read with `98`: the last reply's kind and every page's text, joined.
pub fn walk(
    server: &super::TestServer,
    session: &str,
    code: &str,
    msisdn: &str,
    path: &str,
) -> super::Screen {
    let mut path = path.to_string();
    let mut screen = server.at(session, code, msisdn, &path);
    let mut text = screen.text.clone();
    while screen.is_con()
        && MORE_MARKS
            .iter()
            .any(|m| screen.text.trim_end().ends_with(m))
    {
        path.push_str("*98");
        screen = server.at(session, code, msisdn, &path);
        text.push('\n');
        text.push_str(&screen.text);
    }
    super::Screen { text, ..screen }
}

/// The `98` footers of the shipped locales' long screens.
const MORE_MARKS: [&str; 2] = ["98. Suite", "98. المزيد"];
