//! The insurer's records as daftar holds them: a [`Person`] and the [`Change`]s of the feed.
//!
//! One shape serves the feed (JSON, SPEC §5) and the store (postcard in sled): dates are
//! [`jiff::civil::Date`] written as ISO strings, amounts are [`Money`] (minor units, millimes for
//! dinars) written as decimal strings, so neither format ever sees a float. Fields an insurer
//! does not use are simply absent (`null` when written back: postcard needs every field in
//! place, so nothing is skipped on serialisation). Unknown feed fields are accepted and ignored, so an insurer
//! can add fields to its export without breaking the sync.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::money::Money;

/// One change of the feed: a line of NDJSON.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Change {
    pub seq: u64,
    #[serde(flatten)]
    pub op: ChangeOp,
}

/// The insurers a feed may name (SPEC §5).
const INSURERS: [&str; 4] = ["tamin", "cnam", "mutual", "osms"];

impl Change {
    /// Whether the change names a known insurer and, for a record whose identifier has a check
    /// digit (an Iranian national code, a Kazakh IIN), a valid one; the reason when not. The
    /// reason never quotes the identifier.
    pub(crate) fn check(&self) -> Result<(), String> {
        let (insurer, person_id) = match &self.op {
            ChangeOp::Upsert { person } => (person.insurer.as_str(), person.person_id.as_str()),
            ChangeOp::Delete { insurer, person_id }
            | ChangeOp::Event {
                insurer, person_id, ..
            } => (insurer.as_str(), person_id.as_str()),
        };
        if !INSURERS.contains(&insurer) {
            return Err(format!("insurer is none of {}", INSURERS.join(", ")));
        }
        if let ChangeOp::Event { event, .. } = &self.op {
            // An event of an unknown kind or without its fields would be kept and never
            // alerted: it is refused here, as a line that does not parse is.
            return Event::read(event).map(drop);
        }
        if !matches!(self.op, ChangeOp::Upsert { .. }) {
            // Removing what no record holds changes nothing: only records are held to the
            // identifier's form.
            return Ok(());
        }
        let digits = person_id.len();
        let valid = match insurer {
            // Ten digits are a national code; a foreign national's number has another length.
            "tamin" if digits == 10 => crate::ids::NationalCode::parse(person_id).is_ok(),
            "osms" => crate::ids::Iin::parse(person_id).is_ok(),
            _ => true,
        };
        if valid {
            Ok(())
        } else {
            Err(format!(
                "person_id is not a valid {insurer} identifier (its check digit or form)"
            ))
        }
    }
}

/// What a change does.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ChangeOp {
    /// Replaces the whole record of `(person.insurer, person.person_id)`.
    Upsert { person: Box<Person> },
    /// Removes the record (and its index entries).
    Delete { insurer: String, person_id: String },
    /// Something that happened to a person (alerts, `cnam`); kept as its JSON.
    Event {
        insurer: String,
        person_id: String,
        event: serde_json::Value,
    },
}

/// Something that happened to a person: the `event` of an `event` change (SPEC §5), of one of
/// the kinds the CNAM SMS service announces (seed 000). The README documents each kind with
/// its fields; unknown fields are ignored, an unknown kind or a missing field refuses the line.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Event {
    /// A postal or bank transfer was paid to the member.
    TransferPaid {
        amount: Money,
        #[serde(with = "req_date")]
        date: Date,
    },
    /// An electronic money order was issued in the member's name.
    MoneyOrder {
        amount: Money,
        #[serde(with = "req_date")]
        date: Date,
    },
    /// A decision on the coverage of a health service (prise en charge).
    CoverageDecision { decision: Decision, what: String },
    /// A summons to a medical check, or a request to complete a file, by `date`.
    Summons {
        reason: SummonsReason,
        #[serde(with = "req_date")]
        date: Date,
    },
    /// The coverage of a chronic or serious illness ends on `until`.
    ChronicEnding {
        label: String,
        #[serde(with = "req_date")]
        until: Date,
    },
    /// The annual ceiling for ordinary illnesses of `year` is used up.
    CeilingReached { year: i16 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Decision {
    Accepted,
    Refused,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum SummonsReason {
    MedicalCheck,
    CompleteFile,
}

/// The longest free text (`what`, `label`) an event may carry, in characters: an SMS holds
/// at most two parts, and a longer text is an export gone wrong.
const EVENT_TEXT_CHARS: usize = 120;

impl Event {
    /// The typed event of an `event` change's JSON, or why it is none (without quoting it).
    pub(crate) fn read(json: &serde_json::Value) -> Result<Event, String> {
        let event = Event::deserialize(json).map_err(|e| {
            format!(
                "event refused: {}",
                crate::value_free::plain(&e.to_string())
            )
        })?;
        let text = match &event {
            Event::CoverageDecision { what, .. } => Some(what),
            Event::ChronicEnding { label, .. } => Some(label),
            _ => None,
        };
        match text {
            Some(t) if t.trim().is_empty() => Err("event refused: an empty text".into()),
            Some(t) if t.chars().count() > EVENT_TEXT_CHARS => Err(format!(
                "event refused: a text over {EVENT_TEXT_CHARS} characters"
            )),
            _ => Ok(event),
        }
    }

    /// The kind's name as the feed writes it.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Event::TransferPaid { .. } => "transfer_paid",
            Event::MoneyOrder { .. } => "money_order",
            Event::CoverageDecision { .. } => "coverage_decision",
            Event::Summons { .. } => "summons",
            Event::ChronicEnding { .. } => "chronic_ending",
            Event::CeilingReached { .. } => "ceiling_reached",
        }
    }
}

/// A person as the insurer records them (SPEC §5).
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
pub struct Person {
    pub insurer: String,
    pub person_id: String,
    #[serde(default)]
    pub(crate) member_no: Option<String>,
    #[serde(default)]
    pub(crate) scheme: Option<String>,
    #[serde(default)]
    pub(crate) name: Option<String>,
    #[serde(default, with = "opt_date")]
    pub birth_date: Option<Date>,
    #[serde(default)]
    pub sex: Option<Sex>,
    #[serde(default)]
    pub msisdns: Vec<String>,
    #[serde(default)]
    pub(crate) coverage: Option<Coverage>,
    #[serde(default)]
    pub holder: Option<HolderLink>,
    #[serde(default)]
    pub(crate) facts: Option<Facts>,
    /// `YYYY-MM` → paid (osms).
    #[serde(default, with = "month_map")]
    pub(crate) contributions: Vec<(MonthKey, bool)>,
    #[serde(default)]
    pub(crate) ceilings: Vec<Ceiling>,
    #[serde(default)]
    pub(crate) chronic: Vec<Chronic>,
    #[serde(default)]
    pub attachment: Option<Attachment>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    F,
    M,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum CoverageStatus {
    Active,
    Suspended,
    Ended,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub(crate) struct Coverage {
    pub(crate) status: CoverageStatus,
    #[serde(default, with = "opt_date")]
    pub(crate) from: Option<Date>,
    /// `None`: open-ended.
    #[serde(default, with = "opt_date")]
    pub(crate) until: Option<Date>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Relation {
    Spouse,
    Son,
    Daughter,
    Father,
    Mother,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct HolderLink {
    pub person_id: String,
    pub(crate) relation: Relation,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
pub(crate) struct Facts {
    #[serde(default)]
    pub(crate) married: bool,
    #[serde(default)]
    pub(crate) divorced: bool,
    #[serde(default)]
    pub(crate) custody: bool,
    #[serde(default)]
    pub(crate) income: bool,
    #[serde(default)]
    pub(crate) disabled: bool,
    #[serde(default)]
    pub(crate) other_cover: bool,
    #[serde(default, with = "opt_date")]
    pub(crate) student_until: Option<Date>,
    #[serde(default)]
    pub(crate) documents: Vec<String>,
}

impl Facts {
    /// Whether a document of this kind is on file.
    pub(crate) fn has_document(&self, kind: &str) -> bool {
        self.documents.iter().any(|d| d == kind)
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub(crate) struct Ceiling {
    pub(crate) kind: String,
    pub(crate) year: i32,
    #[serde(default)]
    pub(crate) limit: Option<Money>,
    #[serde(default)]
    pub(crate) used: Money,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub(crate) struct Chronic {
    pub(crate) code: String,
    #[serde(default)]
    pub(crate) label: String,
    #[serde(default, with = "opt_date")]
    pub(crate) until: Option<Date>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Attachment {
    pub(crate) provider: String,
    #[serde(default, with = "opt_date")]
    pub(crate) since: Option<Date>,
}

/// A calendar month, `YYYY-MM` in the feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct MonthKey {
    pub(crate) year: i16,
    pub(crate) month: i8,
}

impl MonthKey {
    pub(crate) fn parse(s: &str) -> Option<MonthKey> {
        let (y, m) = s.split_once('-')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        let year: i16 = y.parse().ok()?;
        let month: i8 = m.parse().ok()?;
        (1..=12)
            .contains(&month)
            .then_some(MonthKey { year, month })
    }

    pub(crate) fn of(date: Date) -> MonthKey {
        MonthKey {
            year: date.year(),
            month: date.month(),
        }
    }

    /// The month before this one.
    pub(crate) fn previous(self) -> MonthKey {
        if self.month == 1 {
            MonthKey {
                year: self.year - 1,
                month: 12,
            }
        } else {
            MonthKey {
                year: self.year,
                month: self.month - 1,
            }
        }
    }
}

impl std::fmt::Display for MonthKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// Parses an ISO `YYYY-MM-DD` date, strictly.
pub(crate) fn parse_date(s: &str) -> Option<Date> {
    if s.len() != 10 {
        return None;
    }
    s.parse::<Date>().ok()
}

mod opt_date {
    use super::parse_date;
    use jiff::civil::Date;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(d: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.to_string()),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(s) => parse_date(&s)
                .map(Some)
                .ok_or_else(|| D::Error::custom("not a YYYY-MM-DD date")),
        }
    }
}

mod req_date {
    use super::parse_date;
    use jiff::civil::Date;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&d.to_string())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let s = String::deserialize(d)?;
        parse_date(&s).ok_or_else(|| D::Error::custom(format!("not a YYYY-MM-DD date: {s:?}")))
    }
}

/// `{"2025-12": true}` in JSON; a sorted list of pairs in the store (postcard has no maps of
/// unknown length problems, but a list keeps the order and the size small).
mod month_map {
    use super::MonthKey;
    use serde::{
        de::{Error, MapAccess, SeqAccess, Visitor},
        ser::SerializeMap,
        Deserializer, Serializer,
    };
    use std::fmt;

    pub(crate) fn serialize<S: Serializer>(
        v: &[(MonthKey, bool)],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(v.len()))?;
        for (k, paid) in v {
            map.serialize_entry(&k.to_string(), paid)?;
        }
        map.end()
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<(MonthKey, bool)>, D::Error> {
        struct Months;
        impl<'de> Visitor<'de> for Months {
            type Value = Vec<(MonthKey, bool)>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of YYYY-MM to true/false")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, paid)) = map.next_entry::<String, bool>()? {
                    let month = MonthKey::parse(&k)
                        .ok_or_else(|| A::Error::custom("a key is not a YYYY-MM month"))?;
                    out.push((month, paid));
                }
                out.sort_by_key(|(m, _)| *m);
                out.dedup_by_key(|(m, _)| *m);
                Ok(out)
            }
            // postcard has no self-description: a map arrives as a map, but keep a sequence form too.
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, paid)) = seq.next_element::<(String, bool)>()? {
                    let month = MonthKey::parse(&k)
                        .ok_or_else(|| A::Error::custom("a key is not a YYYY-MM month"))?;
                    out.push((month, paid));
                }
                Ok(out)
            }
        }
        d.deserialize_map(Months)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_strictly() {
        assert_eq!(
            MonthKey::parse("2025-12"),
            Some(MonthKey {
                year: 2025,
                month: 12
            })
        );
        for bad in ["2025-13", "2025-1", "25-01", "", "2025/01", "abcd-ef"] {
            assert_eq!(MonthKey::parse(bad), None, "{bad:?}");
        }
        let jan = MonthKey {
            year: 2026,
            month: 1,
        };
        assert_eq!(jan.previous().to_string(), "2025-12");
    }

    #[test]
    fn a_person_survives_json_and_postcard() {
        let line = r#"{"seq": 7, "op": "upsert", "person": {"insurer": "cnam", "person_id": "08123456",
            "birth_date": "1988-04-02", "sex": "f", "msisdns": ["21698123456"],
            "coverage": {"status": "active", "from": "2024-01-01"},
            "facts": {"student_until": "2027-06-30", "documents": ["birth_certificate"]},
            "contributions": {"2026-01": false, "2025-12": true},
            "ceilings": [{"kind": "ordinary", "year": 2026, "limit": "450.000", "used": "120.500"}],
            "unknown_field": {"kept": "and ignored"}}}"#;
        let change: Change = serde_json::from_str(line).expect("parses");
        assert_eq!(change.seq, 7);
        let ChangeOp::Upsert { person } = change.op else {
            panic!("an upsert")
        };
        assert_eq!(person.contributions[0].0.to_string(), "2025-12");
        assert_eq!(person.ceilings[0].used, Money::from_minor(120_500));
        let bytes = postcard::to_allocvec(&person).expect("encodes");
        let back: Person = postcard::from_bytes(&bytes).expect("decodes");
        assert_eq!(*person, back);
    }

    #[test]
    fn bad_dates_and_ops_are_refused() {
        for line in [
            r#"{"seq": 1, "op": "upsert", "person": {"insurer": "tamin", "person_id": "1", "birth_date": "1988-02-30"}}"#,
            r#"{"seq": 1, "op": "rename", "insurer": "tamin", "person_id": "1"}"#,
            r#"{"seq": -1, "op": "delete", "insurer": "tamin", "person_id": "1"}"#,
            r#"{"op": "delete", "insurer": "tamin", "person_id": "1"}"#,
        ] {
            assert!(serde_json::from_str::<Change>(line).is_err(), "{line}");
        }
    }
}
