//! A feed line read straight into a [`Change`], the fast path of `feed::parse_line`.
//!
//! `Change` flattens an internally tagged enum (`op`), so serde reads every line twice: once
//! into its private buffer of values, then again out of it into the variant. This reads the
//! same fields in one pass into a plain struct and builds the change from it. It only ever
//! says "this is the change" or "not sure": whatever it does not take (an error, a field of
//! the wrong variant missing, a `null`) goes through `Change`'s own `Deserialize`, which keeps
//! the last word on what is accepted and on every error message.

use crate::record::{Change, ChangeOp, Person};
use serde::Deserialize;

/// The fields of any change, each variant's optional.
#[derive(Deserialize)]
struct AnyChange {
    seq: u64,
    op: Op,
    #[serde(default)]
    person: Option<Box<Person>>,
    #[serde(default)]
    insurer: Option<String>,
    #[serde(default)]
    person_id: Option<String>,
    #[serde(default)]
    event: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Op {
    Upsert,
    Delete,
    Event,
}

/// The change `text` holds, when one direct read finds all its variant's fields; `None`
/// sends the line to the full reading.
pub(crate) fn read(text: &str) -> Option<Change> {
    let any: AnyChange = serde_json::from_str(text).ok()?;
    let op = match any.op {
        Op::Upsert => ChangeOp::Upsert {
            person: any.person?,
        },
        Op::Delete => ChangeOp::Delete {
            insurer: any.insurer?,
            person_id: any.person_id?,
        },
        Op::Event => ChangeOp::Event {
            insurer: any.insurer?,
            person_id: any.person_id?,
            event: any.event?,
        },
    };
    Some(Change { seq: any.seq, op })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The full reading, for comparison.
    fn full(text: &str) -> Option<Change> {
        serde_json::from_str::<Change>(text).ok()
    }

    /// Every line the direct read takes, the full reading takes to the same change.
    fn agrees(text: &str) -> bool {
        match read(text) {
            Some(direct) => full(text).as_ref() == Some(&direct),
            None => true,
        }
    }

    #[test]
    fn the_sample_feed_is_read_directly_and_alike() {
        let feed = include_str!("../../data/feed.ndjson");
        let mut taken = 0;
        for line in feed.lines().filter(|l| !l.trim().is_empty()) {
            let direct = read(line);
            assert_eq!(direct, full(line), "{line}");
            taken += usize::from(direct.is_some());
        }
        assert!(taken > 300, "only {taken} lines taken directly");
    }

    #[test]
    fn generated_people_are_read_directly_and_alike() {
        let mut out = Vec::new();
        crate::feedgen::write_feed(&mut out, 2_000, 7, jiff::civil::date(2026, 11, 25))
            .expect("generate");
        let text = String::from_utf8(out).expect("utf-8");
        for line in text.lines() {
            let direct = read(line).expect("a generated line is read directly");
            assert_eq!(Some(direct), full(line), "{line}");
        }
    }

    /// Lines that are odd in each way the two readings could differ: the full reading decides.
    #[test]
    fn odd_lines_are_left_to_the_full_reading_or_read_alike() {
        let person = r#"{"insurer":"tamin","person_id":"0012345679"}"#;
        let lines = [
            String::new(),
            "garbage".into(),
            "{}".into(),
            "[]".into(),
            r#"{"seq":1}"#.into(),
            r#"{"seq":1,"op":"upsert"}"#.into(),
            r#"{"seq":1,"op":"upsert","person":null}"#.into(),
            format!(r#"{{"seq":1,"op":"upsert","person":{person}}}"#),
            format!(r#"{{"seq":1,"op":"upsert","person":{person},"insurer":5}}"#),
            format!(r#"{{"seq":1,"op":"upsert","person":{person},"person":{person}}}"#),
            format!(r#"{{"seq":1,"seq":2,"op":"upsert","person":{person}}}"#),
            format!(r#"{{"op":"upsert","seq":1,"person":{person},"extra":[1,{{}}]}}"#),
            format!(r#"{{"seq":"1","op":"upsert","person":{person}}}"#),
            format!(r#"{{"seq":-1,"op":"upsert","person":{person}}}"#),
            format!(r#"{{"seq":1.0,"op":"upsert","person":{person}}}"#),
            format!(r#"{{"seq":1,"op":"Upsert","person":{person}}}"#),
            format!(r#"{{"seq":1,"op":5,"person":{person}}}"#),
            r#"{"seq":1,"op":"delete","insurer":"tamin"}"#.into(),
            r#"{"seq":1,"op":"delete","insurer":"tamin","person_id":"1"}"#.into(),
            r#"{"seq":1,"op":"delete","insurer":"tamin","person_id":null}"#.into(),
            format!(r#"{{"seq":1,"op":"delete","insurer":"t","person_id":"1","person":{person}}}"#),
            r#"{"seq":1,"op":"event","insurer":"cnam","person_id":"1","event":null}"#.into(),
            r#"{"seq":1,"op":"event","insurer":"cnam","person_id":"1","event":{"kind":"x"}}"#
                .into(),
            r#"{"seq":1,"op":"event","insurer":"cnam","person_id":"1"}"#.into(),
            r#"{"seq":1,"op":"upsert","person":{"insurer":"tamin"}}"#.into(),
            r#"{"seq":1,"op":"upsert","person":["tamin","0012345679"]}"#.into(),
            format!("{{\"seq\":1,\"op\":\"upsert\",\"person\":{person}}} trailing"),
            "ی".repeat(10_000),
        ];
        for line in &lines {
            assert!(agrees(line), "{line}");
        }
        // A line the full reading refuses is never taken directly.
        for line in &lines {
            if full(line).is_none() {
                assert_eq!(read(line), None, "{line}");
            }
        }
    }

    #[test]
    fn the_fuzzing_corpus_is_read_alike() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/feed_line");
        let entries = std::fs::read_dir(dir).expect("the fuzzing corpus of feed lines");
        let mut seen = 0;
        for entry in entries.flatten() {
            let bytes = std::fs::read(entry.path()).expect("read");
            let Ok(text) = std::str::from_utf8(&bytes) else {
                continue;
            };
            for line in text.lines() {
                assert!(agrees(line), "{}: {line}", entry.path().display());
                seen += 1;
            }
        }
        assert!(seen > 0, "the corpus {dir} holds no line");
    }
}
