//! SPEC §8: "never logs a national identifier or MSISDN in clear", checked on the real binary at
//! its most talkative (`DAFTAR_LOG=trace`: sled, hyper and h2 are held to their caps whatever it
//! asks). Africa's Talking sessions over HTTP cover a general inquiry, a specific inquiry, a
//! mismatch, a wrong check digit and the dependents list (tamin), and the status of a person
//! from their registered phone and from a stranger's (osms); the feed it follows ends in
//! broken lines carrying identifiers (with dashes), MSISDNs and names. After SIGTERM the whole
//! stderr, and what `/metrics` and the admin API said, are searched for every MSISDN, every
//! identifier typed or in a broken line, and every name of the sample feed; `daftar sync` of
//! the same lines at trace is searched too.

mod daftar_bin;

use daftar_bin::{arg, latin_digits, Served};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

const CODE: &str = "*4*1420#";
const MSISDN: &str = "989120000001";
const OSMS: &str = "*1406#";
/// An osms person of the sample feed, and the phone registered for them.
const IIN: &str = "850714300018";
const IIN_PHONE: &str = "77010000001";
/// A phone no record holds.
const STRANGER: &str = "77019990009";
const TOKEN: &str = "privacy-test-token";

/// Broken feed lines after the sample's last (seq 326): each holds values that must reach no
/// log, report or admin answer, while its reject still says what is wrong.
const BROKEN: [(&str, &str); 5] = [
    (
        r#"{"seq": 400, "op": "upsert", "person": {"insurer": "osms", "person_id": "0012-345-679", "name": "Z. Ahmadi"}}"#,
        "person_id is not a valid osms identifier",
    ),
    (
        r#"{"seq": 401, "op": "upsert", "person": {"insurer": "tamin", "person_id": "0012345679", "name": "Z. Ahmadi", "msisdns": [989121234567]}}"#,
        "person.msisdns[0]: invalid type: integer, expected a string",
    ),
    (
        r#"{"seq": 402, "op": "delete", "insurer": "Z. Ahmadi", "person_id": "0012-345-679"}"#,
        "insurer is none of",
    ),
    (
        r#"{"seq": 403, "op": "upsert", "person": {"insurer": "tamin", "person_id": "0012345679", "birth_date": "Z. Ahmadi 0012-345-679"}}"#,
        "person.birth_date: not a YYYY-MM-DD date",
    ),
    (
        r#"{"seq": 404, "op": "0012-345-679 Z. Ahmadi"}"#,
        "unknown value, expected one of",
    ),
];
/// What the broken lines hold that must stay out of sight.
const BROKEN_VALUES: [&str; 5] = [
    "0012-345-679",
    "Z. Ahmadi",
    "Ahmadi",
    "989121234567",
    "0012345679",
];

/// The sample feed and the broken lines after it.
fn feed_with_broken_lines(dir: &Path) -> std::path::PathBuf {
    let mut text = std::fs::read_to_string(daftar_bin::sample_feed()).expect("sample feed");
    for (line, _) in BROKEN {
        text.push_str(line);
        text.push('\n');
    }
    let path = dir.join("feed.ndjson");
    std::fs::write(&path, text).expect("feed written");
    path
}

/// `GET path` on the admin API with the token.
fn admin_get(served: &Served, path: &str) -> String {
    let url = format!("{}{path}", served.base);
    let bearer = format!("Bearer {TOKEN}");
    let (status, body) = daftar_bin::get_authorized(&daftar_bin::agent(), &url, Some(&bearer));
    assert_eq!(status, 200, "{path}: {body}");
    body
}

#[test]
fn a_debug_log_holds_no_msisdn_national_code_or_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    let feed = feed_with_broken_lines(dir.path());
    let env = [("DAFTAR_LOG", "trace"), ("DAFTAR_ADMIN_TOKEN", TOKEN)];
    let mut served = Served::start_following(dir.path(), &feed, &env);
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
    // osms: the person's own phone sees the details, a stranger the status alone.
    let iin_typed = format!("1*{IIN}");
    for (session, phone, details) in [
        ("p-osms-own", IIN_PHONE, true),
        ("p-osms-stranger", STRANGER, false),
    ] {
        let phone = format!("+{phone}");
        let seen: Vec<String> = ["", "1", &iin_typed]
            .iter()
            .map(|text| served.at(session, OSMS, &phone, text))
            .collect();
        assert_eq!(seen[2].contains('✓'), details, "{session}: {seen:?}");
        screens.push_str(&seen.join("\n"));
    }
    // A request no dialect can read: the server's own DEBUG line for it.
    let refused = daftar_bin::agent()
        .post(format!("{}/ussd/hubtel", served.base))
        .header("Content-Type", "application/json")
        .send(r#"{"Mobile":"989129999999","SessionId":"p-bad"}"#)
        .expect("answered");
    assert_eq!(refused.status().as_u16(), 400);
    let mut said = served.get("/metrics").1;
    let feed_status = admin_get(&served, "/admin/feed");
    for (_, reason) in BROKEN {
        assert!(feed_status.contains(reason), "{reason}: {feed_status}");
    }
    said.push_str(&feed_status);
    said.push_str(&admin_get(&served, "/admin/sessions"));
    said.push_str(&admin_get(&served, "/admin/funnel"));
    // The support staff's lookup: found, a wrong check digit, and a person named in the URL.
    for (path, identifier, status) in [
        ("/admin/entitlement", "0012345679", 200),
        ("/admin/entitlement", "0012345678", 400),
        (
            "/admin/entitlement?identifier=0012345679",
            "0012345679",
            400,
        ),
    ] {
        let body = format!(r#"{{"service":"tamin","identifier":"{identifier}"}}"#);
        let mut answer = daftar_bin::agent()
            .post(format!("{}{path}", served.base))
            .header("Authorization", format!("Bearer {TOKEN}"))
            .send(body.as_str())
            .expect("answered");
        assert_eq!(answer.status().as_u16(), status, "{path} {identifier}");
        let text = answer.body_mut().read_to_string().expect("a body");
        if status == 200 {
            // The answer names the dependents (the staff need it); what the audit trail keeps
            // of the lookup must hold nothing.
            let answer: serde_json::Value = serde_json::from_str(&text).expect("JSON");
            let code = answer["tracking_code"].as_str().expect("a tracking code");
            said.push_str(&admin_get(&served, &format!("/admin/track/{code}")));
        } else {
            said.push_str(&text);
        }
    }
    for code in daftar_bin::tracking_codes(&screens) {
        said.push_str(&admin_get(&served, &format!("/admin/track/{code}")));
    }
    let (status, _) = served.terminate(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{status}");

    let log = served.log();
    assert!(
        log.contains("DEBUG") && log.contains("inquiry answered"),
        "the log did not capture the sessions:\n{log}"
    );

    let mut secrets = vec![MSISDN.to_string(), phone.clone(), IIN.to_string()];
    secrets.extend(
        [IIN_PHONE, STRANGER, "989129999999"]
            .into_iter()
            .chain(BROKEN_VALUES)
            .map(str::to_string),
    );
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

    assert!(log.contains("TRACE") || log.contains("DEBUG"), "{log}");
    assert!(log.contains("feed line rejected"), "{log}");
    assert!(
        log.contains("kind=\"support\""),
        "the support lookup was logged: {log}"
    );
    assert_hidden(&secrets, &log, "the log");
    assert_hidden(&secrets, &said, "/metrics or the admin API");
}

/// Panics naming each of `secrets` that `text` holds, in any digit script or as the list of
/// its bytes (how sled's traces print a key: `[48, 48, 49, …]`).
fn assert_hidden(secrets: &[String], text: &str, what: &str) {
    let latin = latin_digits(text);
    let as_bytes = |s: &str| {
        let bytes: Vec<String> = s.bytes().map(|b| b.to_string()).collect();
        bytes.join(", ")
    };
    let leaks: Vec<&String> = secrets
        .iter()
        .filter(|s| {
            text.contains(s.as_str()) || latin.contains(s.as_str()) || text.contains(&as_bytes(s))
        })
        .collect();
    assert!(leaks.is_empty(), "in clear in {what}: {leaks:?}\n{text}");
}

/// `daftar sync` of the broken lines at `DAFTAR_LOG=trace`: each reject says what is wrong
/// (field, rule, seq, line) and none repeats a value of its line.
#[test]
fn sync_reports_rejects_without_their_values() {
    let dir = tempfile::tempdir().expect("temp dir");
    let feed = feed_with_broken_lines(dir.path());
    let db = dir.path().join("db");
    let sync = daftar_bin::daftar()
        .args(["sync", "--db", arg(&db), "--feed", arg(&feed)])
        .env("DAFTAR_LOG", "trace")
        .output()
        .expect("sync runs");
    let sync = daftar_bin::Run::from(sync);
    assert_eq!(sync.code, Some(3), "{sync}");
    let sample_lines = std::fs::read_to_string(daftar_bin::sample_feed())
        .expect("sample")
        .lines()
        .count();
    for (i, (_, reason)) in BROKEN.iter().enumerate() {
        let place = format!("feed.ndjson:{} (seq {})", sample_lines + i + 1, 400 + i);
        let line = sync.stdout.lines().find(|l| l.contains(&place));
        assert!(
            line.is_some_and(|l| l.contains(reason)),
            "{place}: {reason}\n{sync}"
        );
    }
    let values: Vec<String> = BROKEN_VALUES.iter().map(|v| v.to_string()).collect();
    assert_hidden(&values, &sync.output(), "sync's output");
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
