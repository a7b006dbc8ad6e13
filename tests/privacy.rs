//! SPEC §8: "never logs a national identifier or MSISDN in clear", checked on the real binary at
//! its most talkative (`DAFTAR_LOG=debug`). Africa's Talking sessions over HTTP cover a general
//! inquiry, a specific inquiry, a mismatch, a wrong check digit and the dependents list; after
//! SIGTERM the whole stderr is searched for the caller's number, every national code typed, and
//! every name of the sample feed (some of which the screens showed).

mod daftar_bin;

use daftar_bin::{latin_digits, Served};
use std::collections::BTreeSet;
use std::time::Duration;

const CODE: &str = "*4*1420#";
const MSISDN: &str = "989120000001";

#[test]
fn a_debug_log_holds_no_msisdn_national_code_or_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut served = Served::start_sample(dir.path(), &[("DAFTAR_LOG", "debug")]);
    let phone = format!("+{MSISDN}");
    // (session, the whole path at each step, what one of its screens must show)
    let sessions: &[(&str, &[&str], &str)] = &[
        (
            "p-general",
            &["", "2", "2*0030000017"],
            "حمایت درمانی ندارد",
        ),
        (
            "p-specific",
            &["", "1", "1*0012345679"],
            "حمایت درمانی دارد",
        ),
        ("p-mismatch", &["", "1", "1*0040000011"], "عدم تطابق"),
        (
            "p-check-digit",
            &["", "1", "1*0012345678"],
            "کد ملی معتبر نیست",
        ),
        // The check-digit session above was left with its question open: a new session of the
        // same phone is offered to resume it first (SPEC §3); `2` starts again.
        ("p-dependents", &["", "2", "2*3"], "Rezaei"),
    ];
    let mut screens = String::new();
    for (session, steps, shows) in sessions {
        let mut seen = Vec::new();
        for text in *steps {
            seen.push(served.at(session, CODE, &phone, text));
        }
        // A long list: page on (98) to its END.
        let mut path = steps.last().copied().unwrap_or_default().to_string();
        while seen.len() < 20
            && seen
                .last()
                .is_some_and(|s| s.starts_with("CON") && latin_digits(s).contains("\n98."))
        {
            path.push_str("*98");
            seen.push(served.at(session, CODE, &phone, &path));
        }
        let seen = seen.join("\n");
        assert!(seen.contains(shows), "{session}: {seen}");
        screens.push_str(&seen);
    }
    let (status, _) = served.terminate(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{status}");

    let log = served.log();
    assert!(
        log.contains("DEBUG") && log.contains("inquiry answered"),
        "the log did not capture the sessions:\n{log}"
    );

    let mut secrets = vec![MSISDN.to_string(), phone.clone()];
    for (_, steps, _) in sessions {
        for step in *steps {
            secrets.extend(
                step.split('*')
                    .filter(|s| s.len() >= 10)
                    .map(str::to_string),
            );
        }
    }
    let sample = std::fs::read_to_string(daftar_bin::sample_feed()).expect("sample feed");
    let names: BTreeSet<String> = sample
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|c| c["person"]["name"].as_str().map(str::to_string))
        .collect();
    let shown: Vec<&String> = names.iter().filter(|n| screens.contains(*n)).collect();
    assert!(
        shown.len() >= 8,
        "the screens should have shown names: {screens}"
    );
    secrets.extend(names.iter().cloned());

    let latin = latin_digits(&log);
    let leaks: Vec<&String> = secrets
        .iter()
        .filter(|s| log.contains(s.as_str()) || latin.contains(s.as_str()))
        .collect();
    assert!(leaks.is_empty(), "in clear in the log: {leaks:?}");
}
