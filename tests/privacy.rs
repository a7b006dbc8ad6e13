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

/// The same for `cnam` and `mutual`: a caller identified by the matricule and the CIN, a wrong
/// pair, a subscription to SMS alerts and its end, balances; the log holds neither the phone,
/// nor a CIN, nor a matricule typed.
#[test]
fn a_debug_log_holds_no_cin_or_matricule_of_the_tunisian_services() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut served = Served::start_sample(dir.path(), &[("DAFTAR_LOG", "debug")]);
    let msisdn = "21629990001";
    let phone = format!("+{msisdn}");
    // (service code, session, the whole path, what its screen must show)
    let sessions = [
        (
            "*85666#",
            "t-pair",
            "9*1*22334455*07654321",
            "Droits ouverts",
        ),
        (
            "*85666#",
            "t-wrong",
            "2*11966433*07654321",
            "Matricule ou CIN",
        ),
        (
            "*85666#",
            "t-sub",
            "3*1*11966433*08123456*1",
            "Inscription faite",
        ),
        ("*85666#", "t-unsub", "3*2", "Désinscription faite"),
        ("*85667#", "t-bal", "9*1*70022233*09222333", "Dentaire"),
    ];
    let mut screens = String::new();
    for (code, session, path, shows) in sessions {
        let screen = served.at(session, code, &phone, path);
        assert!(screen.contains(shows), "{session}: {screen}");
        screens.push_str(&screen);
    }
    let (status, _) = served.terminate(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{status}");
    let log = served.log();
    assert!(log.contains("inquiry answered"), "no sessions in:\n{log}");
    let typed = sessions
        .iter()
        .flat_map(|(_, _, path, _)| path.split('*'))
        .filter(|s| s.len() == 8);
    let secrets: Vec<String> = typed
        .map(str::to_string)
        .chain([msisdn.to_string(), phone.clone()])
        .collect();
    assert!(secrets.len() >= 8, "{secrets:?}");
    let leaks: Vec<&String> = secrets
        .iter()
        .filter(|s| log.contains(s.as_str()))
        .collect();
    assert!(leaks.is_empty(), "in clear in the log: {leaks:?}");
}
