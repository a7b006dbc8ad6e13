//! The tools for menu authors as an author runs them (README "Tools for menu authors"):
//! `daftar check`'s table of screens, a stable shortcut broken by an edit, and
//! `daftar check --journeys` over the shipped journeys, a journey that differs, and journey
//! files that are garbage, empty, wrong or name a feed that is not there. Every test runs the
//! real binary (which plays journeys through the real engine over a sled store of its own) and
//! reads only its exit code and output.

mod daftar_bin;

use daftar_bin::{arg, menus_dir, run};
use std::path::Path;

/// A copy of the shipped menus (not their journeys) in `dir`.
fn copy_menus(dir: &Path) {
    for entry in std::fs::read_dir(menus_dir()).expect("menus") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            std::fs::copy(&path, dir.join(path.file_name().expect("name"))).expect("copied");
        }
    }
}

/// The shipped journey `name` and its feed, copied into `dir`.
fn copy_journey(name: &str, feed: &str, dir: &Path) -> std::path::PathBuf {
    let journeys = menus_dir().join("journeys");
    std::fs::copy(journeys.join(feed), dir.join(feed)).expect("feed copied");
    let to = dir.join(name);
    std::fs::copy(journeys.join(name), &to).expect("journey copied");
    to
}

#[test]
fn check_prints_each_screen_with_its_length_encoding_and_pages() {
    let check = run(&["check", "--menus", "menus"], "");
    assert_eq!(check.code, Some(0), "{check}");
    let lines: Vec<&str> = check.stdout.lines().collect();
    let columns = |line: &str| {
        line.split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        columns(lines[0]),
        ["service", "screen", "locale", "length", "encoding", "pages"]
    );
    let row = |service: &str, screen: &str, locale: &str| {
        lines
            .iter()
            .map(|l| columns(l))
            .find(|c| c.len() == 6 && c[0] == service && c[1] == screen && c[2] == locale)
            .unwrap_or_else(|| panic!("no row {service} {screen} {locale}:\n{check}"))
    };
    // Persian is UCS-2 (80 a page), English GSM-7 (182); the lengths are the screens' own.
    let fa = row("tamin", "main", "fa");
    assert!(
        fa[3].ends_with("/80") && fa[4] == "UCS-2" && fa[5] == "1",
        "{fa:?}"
    );
    let en = row("tamin", "general_covered", "en");
    assert_eq!(en[3..], ["61/182", "GSM-7", "1"], "{en:?}");
    // A list filled with eight sample dependents runs over several pages.
    let list = row("tamin", "dependents_list", "fa");
    let pages: usize = list[5].parse().expect("pages");
    assert!(pages > 1, "{list:?}");
    // Every locale of every service has its rows; action screens have none.
    for (service, locale) in [
        ("osms", "kk"),
        ("osms", "ru"),
        ("cnam", "ar"),
        ("mutual", "fr"),
    ] {
        row(service, "main", locale);
    }
    assert!(!lines
        .iter()
        .any(|l| l.starts_with("tamin ") && l.contains(" own_status ")));
    assert!(check.stdout.contains("no fault"), "{check}");
}

#[test]
fn an_edit_that_makes_a_printed_shortcut_lead_elsewhere_fails_the_check() {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_menus(dir.path());
    let tamin = dir.path().join("tamin.toml");
    let text = std::fs::read_to_string(&tamin).expect("tamin");
    // The author swaps options 1 and 2 of the first screen.
    let swapped = text
        .replace(
            "{ key = \"1\", label = \"main.own\"",
            "{ key = \"2\", label = \"main.own\"",
        )
        .replace(
            "{ key = \"2\", label = \"main.general\"",
            "{ key = \"1\", label = \"main.general\"",
        );
    assert_ne!(swapped, text, "the edit applies");
    std::fs::write(&tamin, &swapped).expect("edited");
    let check = run(&["check", "--menus", arg(dir.path())], "");
    assert_eq!(check.code, Some(1), "{check}");
    let line = swapped
        .lines()
        .position(|l| l.starts_with("\"*4*1420*2#\""))
        .expect("declared")
        + 1;
    let at = format!("{}:{line}:", tamin.display());
    let general = check
        .stdout
        .lines()
        .find(|l| l.contains("`*4*1420*2#`"))
        .unwrap_or_else(|| panic!("the shortcut is not named:\n{check}"));
    assert!(
        general.starts_with(&at)
            && general.contains("leads to `own_code`, not to `general_number`"),
        "{general}"
    );
    assert!(check.stdout.contains("`*4*1420*1#`"), "{check}");
    assert!(check.stdout.contains("\n2 fault(s)"), "{check}");
    // The shipped copy, unedited, passes.
    std::fs::write(&tamin, &text).expect("restored");
    let check = run(&["check", "--menus", arg(dir.path())], "");
    assert_eq!(check.code, Some(0), "{check}");
}

#[test]
fn faults_name_the_file_and_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_menus(dir.path());
    let words = dir.path().join("tamin.en.toml");
    let text = std::fs::read_to_string(&words).expect("words");
    let edited = text.replace(
        "own = \"My eligibility\"",
        "own = \"My\u{00A0}eligibility\"",
    );
    assert_ne!(edited, text);
    std::fs::write(&words, &edited).expect("edited");
    let check = run(&["check", "--menus", arg(dir.path())], "");
    assert_eq!(check.code, Some(1), "{check}");
    let line = edited
        .lines()
        .position(|l| l.starts_with("own = "))
        .expect("key")
        + 1;
    let at = format!("{}:{line}: screen `main`:", words.display());
    assert!(
        check
            .stdout
            .lines()
            .any(|l| l.starts_with(&at) && l.contains("no-break space")),
        "{at} not in:\n{check}"
    );
}

#[test]
fn the_shipped_journeys_play_through_the_engine() {
    let check = run(&["check", "--journeys", "menus/journeys"], "");
    assert_eq!(check.code, Some(0), "{check}");
    for service in ["tamin", "osms", "cnam", "mutual"] {
        let played = check
            .stdout
            .lines()
            .filter(|l| l.contains(&format!("journeys/{service}_")) && l.contains("as expected"))
            .count();
        assert!(played >= 2, "{service}: {played} journeys\n{check}");
    }
    let summary = check.stdout.lines().last().expect("a summary");
    assert!(
        summary.ends_with("as expected, 0 failed") && summary.contains(" journey(s) played, "),
        "{summary}"
    );
}

#[test]
fn a_journey_that_differs_fails_with_the_step_the_expected_and_what_came() {
    let dir = tempfile::tempdir().expect("temp dir");
    let journey = copy_journey("tamin_wrong_answers.toml", "tamin.ndjson", dir.path());
    let text = std::fs::read_to_string(&journey).expect("journey");
    // The author expects the second wrong answer to be told the check digit again.
    let wrong = text.replacen(
        "فقط رقم وارد کنید.",
        "کد ملی معتبر نیست؛ دوباره بررسی کنید.",
        1,
    );
    assert_ne!(wrong, text);
    std::fs::write(&journey, wrong).expect("edited");
    let check = run(&["check", "--journeys", arg(dir.path())], "");
    assert_eq!(check.code, Some(1), "{check}");
    let head = format!("{}: step 4 (input \"abc\") differs", journey.display());
    assert!(check.stdout.contains(&head), "{head}:\n{check}");
    let expected_at = check
        .stdout
        .find("  expected (CON or END)")
        .expect("expected");
    let got_at = check.stdout.find("  got (CON)").expect("got");
    assert!(expected_at < got_at, "{check}");
    assert!(
        check.stdout[got_at..].contains("  | فقط رقم وارد کنید."),
        "{check}"
    );
    assert!(
        check
            .stdout
            .contains("1 journey(s) played, 0 as expected, 1 failed"),
        "{check}"
    );
    // A step 5 that was never reached is not reported.
    assert!(!check.stdout.contains("step 5"), "{check}");
}

#[test]
fn a_journey_expecting_an_end_where_the_session_goes_on_fails() {
    let dir = tempfile::tempdir().expect("temp dir");
    let journey = copy_journey("osms_insured_details.toml", "osms.ndjson", dir.path());
    let text = std::fs::read_to_string(&journey).expect("journey");
    let wrong = text.replacen("end = false", "end = true", 1);
    std::fs::write(&journey, wrong).expect("edited");
    let check = run(&["check", "--journeys", arg(dir.path())], "");
    assert_eq!(check.code, Some(1), "{check}");
    assert!(
        check
            .stdout
            .contains("step 3 (input \"850714300018\") differs"),
        "{check}"
    );
    assert!(check.stdout.contains("expected (END)"), "{check}");
    assert!(check.stdout.contains("got (CON)"), "{check}");
}

#[test]
fn persian_digits_typed_in_a_journey_are_read_as_digits() {
    let dir = tempfile::tempdir().expect("temp dir");
    let journey = copy_journey("tamin_own_covered.toml", "tamin.ndjson", dir.path());
    let text = std::fs::read_to_string(&journey).expect("journey");
    let persian = text.replace("input = \"0012345679\"", "input = \"۰۰۱۲۳۴۵۶۷۹\"");
    assert_ne!(persian, text);
    std::fs::write(&journey, persian).expect("edited");
    let check = run(&["check", "--journeys", arg(dir.path())], "");
    assert_eq!(check.code, Some(0), "{check}");
}

#[test]
fn bad_journey_files_each_get_a_clear_answer_and_fail_the_check() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    copy_journey("tamin_mismatch.toml", "tamin.ndjson", d);
    let head = "service = \"tamin\"\nmsisdn = \"989120000001\"\nfeed = \"tamin.ndjson\"\n";
    let files: &[(&str, String, &str)] = &[
        (
            "a_garbage.toml",
            "\u{0}\u{1}[[[ not toml".into(),
            "a_garbage.toml:1: ",
        ),
        ("b_empty.toml", String::new(), "missing field"),
        ("c_no_steps.toml", head.into(), "no [[step]]"),
        (
            "d_both.toml",
            format!("{head}[[step]]\nscreen = \"x\"\nmatches = \"x\"\n"),
            "exactly one of `screen`",
        ),
        (
            "e_bad_regex.toml",
            format!("{head}[[step]]\nmatches = \"(unclosed\"\n"),
            "`matches` is not a regex",
        ),
        (
            "f_input_on_dial.toml",
            format!("{head}[[step]]\ninput = \"1\"\nscreen = \"x\"\n"),
            "step 1 is the screen the dial shows",
        ),
        (
            "g_no_input.toml",
            format!("{head}[[step]]\nscreen = \"x\"\n[[step]]\nscreen = \"y\"\n"),
            "step 2 has no input",
        ),
        (
            "h_letters.toml",
            head.replace("989120000001", "+98 912 ABC") + "[[step]]\nscreen = \"x\"\n",
            "msisdn must be digits",
        ),
        (
            "i_no_feed.toml",
            head.replace("tamin.ndjson", "missing.ndjson") + "[[step]]\nscreen = \"x\"\n",
            "cannot be played",
        ),
        (
            "j_no_service.toml",
            head.replace("\"tamin\"", "\"nowhere\"") + "[[step]]\nscreen = \"x\"\n",
            "no service `nowhere`",
        ),
        (
            "k_wrong_locale.toml",
            format!("{head}locale = \"kk\"\n[[step]]\nscreen = \"x\"\n"),
            "does not serve the locale `kk`",
        ),
        (
            "l_other_dial.toml",
            format!("{head}dial = \"*1406#\"\n[[step]]\nscreen = \"x\"\n"),
            "`*1406#` does not dial `tamin`",
        ),
        (
            "m_unknown_key.toml",
            format!("{head}today = \"2026-01-01\"\n[[step]]\nscreen = \"x\"\n"),
            "unknown field `today`",
        ),
        (
            "n_huge.toml",
            format!("{head}[[step]]\nscreen = \"{}\"\n", "x".repeat(200_000)),
            "n_huge.toml: step 1 (the dial) differs",
        ),
    ];
    for (name, text, _) in files {
        std::fs::write(d.join(name), text).expect("written");
    }
    std::fs::write(
        d.join("rejected.ndjson"),
        "{\"seq\": 1, \"op\": \"upsert\"}\n",
    )
    .unwrap();
    std::fs::write(
        d.join("o_rejected_feed.toml"),
        head.replace("tamin.ndjson", "rejected.ndjson") + "[[step]]\nscreen = \"x\"\n",
    )
    .unwrap();
    let check = run(&["check", "--journeys", arg(d)], "");
    assert_eq!(check.code, Some(1), "{check}");
    for (name, _, says) in files {
        let named = check
            .stdout
            .lines()
            .any(|l| l.contains(name) && l.contains(says));
        assert!(named, "{name}: no line says {says:?}:\n{check}");
    }
    assert!(
        check
            .stdout
            .lines()
            .any(|l| l.contains("o_rejected_feed.toml") && l.contains("rejected")),
        "{check}"
    );
    assert!(
        check.stdout.contains("  … 198000 more characters"),
        "a huge expectation is cut:\n{check}"
    );
    assert!(
        check
            .stdout
            .contains("tamin_mismatch.toml: 3 step(s) as expected"),
        "one bad file hides no other:\n{check}"
    );
    assert!(
        check
            .stdout
            .contains("16 journey(s) played, 1 as expected, 15 failed"),
        "{check}"
    );
}

#[test]
fn journeys_in_a_directory_that_is_not_there_or_holds_none_fail() {
    let missing = run(&["check", "--journeys", "/nonexistent/journeys"], "");
    assert_eq!(missing.code, Some(1), "{missing}");
    assert!(
        missing.output().contains("/nonexistent/journeys"),
        "{missing}"
    );
    let empty = tempfile::tempdir().expect("temp dir");
    let none = run(&["check", "--journeys", arg(empty.path())], "");
    assert_eq!(none.code, Some(1), "{none}");
    assert!(none.stdout.contains("no journey (*.toml)"), "{none}");
}

#[test]
fn journeys_are_not_played_over_menus_with_faults() {
    let check = run(
        &[
            "check",
            "--menus",
            "tests/fixtures/dangling",
            "--journeys",
            "menus/journeys",
        ],
        "",
    );
    assert_eq!(check.code, Some(1), "{check}");
    assert!(
        check.stdout.contains("not played: the menus have faults"),
        "{check}"
    );
}
