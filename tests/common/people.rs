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
