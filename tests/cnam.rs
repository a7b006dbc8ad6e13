//! Every journey of `cnam` (SPEC §2.2) over HTTP, as Africa's Talking sends it, in Arabic and
//! French, against a real server over a real sled store: a caller identified by their phone,
//! by matricule and CIN, by an SMS-alerts subscription; a wrong pair, three wrong pairs, a
//! matricule typed with its key; « droits ouverts » / « droits fermés » with the ceiling and
//! the chronic coverages; each beneficiary rule of law 2004-71; subscribe, already
//! subscribed, cancel, unsubscribe.

mod common;

use common::people::*;
use common::{luhn_ok, Screen, TestServer};
use daftar::locale::format_date;
use jiff::civil::Date;
use jiff::ToSpan;
use serde_json::json;

const C: &str = "*85666#";
const PHONE: &str = "21698100001";
const EXPIRED_PHONE: &str = "21698100002";
const FAMILY_PHONE: &str = "21698100003";
const STRANGER: &str = "21698999999";

/// A phone of its own for each session that must start in the default locale (a caller's
/// choice of locale is remembered for their phone).
fn fresh(n: usize) -> String {
    format!("2169870{n:04}")
}

const HOLDER: &str = "08100001";
const MATRICULE: &str = "11966433";
const SUSPENDED: &str = "08100002";
const SUSPENDED_MATRICULE: &str = "22000111";
const EXPIRED: &str = "08100003";

struct World {
    today: Date,
    until: Date,
    chronic_until: Date,
    expired_until: Date,
}

/// A covered cnss holder with an over-used ceiling, a chronic coverage and a dependent for
/// each rule; a suspended cnrps holder with no ceiling entry this year and no phone; an
/// expired holder; two holders on one family phone.
fn world() -> (World, Vec<String>) {
    let today = today_tunis();
    let w = World {
        today,
        until: today.checked_add(2.years()).unwrap(),
        chronic_until: today.checked_add(1.years()).unwrap(),
        expired_until: today.checked_sub(40.days()).unwrap(),
    };
    let year = today.year();
    let active = json!({"status": "active", "from": "2015-01-01", "until": iso(w.until)});
    let mut holder = tn_holder("cnam", HOLDER, MATRICULE, "cnss", &[PHONE], active.clone());
    holder["ceilings"] = json!([
        {"kind": "ordinary", "year": year, "limit": "450.000", "used": "500.250"},
        {"kind": "ordinary", "year": year - 1, "limit": "450.000", "used": "12.000"}
    ]);
    holder["chronic"] =
        json!([{"code": "APCI-08", "label": "diabete", "until": iso(w.chronic_until)}]);
    let suspended = tn_holder(
        "cnam",
        SUSPENDED,
        SUSPENDED_MATRICULE,
        "cnrps",
        &[],
        json!({"status": "suspended", "from": "2015-01-01"}),
    );
    let expired = tn_holder(
        "cnam",
        EXPIRED,
        "33000222",
        "cnss",
        &[EXPIRED_PHONE],
        json!({"status": "active", "from": "2015-01-01", "until": iso(w.expired_until)}),
    );
    let aged = |years: i64| years_ago(today, years).checked_sub(60.days()).unwrap();
    let child = |cin: &str, relation: &str, years: i64, facts: serde_json::Value| {
        tn_dependent("cnam", cin, HOLDER, relation, aged(years), facts)
    };
    let people = vec![
        holder,
        suspended,
        expired,
        child("08200001", "spouse", 45, json!({})),
        child("08200002", "spouse", 44, json!({"divorced": true})),
        child("08200003", "spouse", 43, json!({"other_cover": true})),
        child("08200004", "son", 19, json!({})),
        child("08200005", "son", 22, json!({})),
        child("08200006", "son", 30, json!({"disabled": true})),
        child("08200007", "daughter", 28, json!({})),
        child("08200008", "daughter", 27, json!({"married": true})),
        child("08200009", "daughter", 26, json!({"income": true})),
        child("08200010", "father", 75, json!({})),
        child("08200011", "mother", 72, json!({"other_cover": true})),
        tn_holder(
            "cnam",
            "08300001",
            "44000001",
            "cnss",
            &[FAMILY_PHONE],
            active.clone(),
        ),
        tn_holder(
            "cnam",
            "08300002",
            "44000002",
            "cnrps",
            &[FAMILY_PHONE],
            active,
        ),
    ];
    let lines = people
        .into_iter()
        .enumerate()
        .map(|(i, p)| upsert(i as u64 + 1, p))
        .collect();
    (w, lines)
}

fn fr(date: Date) -> String {
    format_date(date, "fr")
}

fn one_code(screen: &Screen) -> String {
    let codes = screen.codes();
    assert_eq!(codes.len(), 1, "one tracking code: {}", screen.text);
    assert!(luhn_ok(&codes[0]), "{}", codes[0]);
    codes[0].clone()
}

fn has(screen: &Screen, words: &[&str]) {
    for w in words {
        assert!(screen.text.contains(w), "{w:?} not in {:?}", screen.text);
    }
}

#[test]
fn the_first_screen_is_arabic_with_latin_digits_and_nine_switches_to_french() {
    let (_, lines) = world();
    let server = TestServer::start(&lines);
    let ar = server.at("s1", C, PHONE, "");
    assert!(ar.is_con());
    has(&ar, &["الكنام", "1. ", "2. ", "3. ", "9. Français"]);
    let fr = server.at("s1", C, PHONE, "9");
    has(
        &fr,
        &[
            "CNAM",
            "1. Mes droits",
            "2. Mes bénéficiaires",
            "3. Alertes SMS",
        ],
    );
    let wrong = server.at("s1", C, PHONE, "9*7");
    assert!(wrong.is_con());
    has(&wrong, &["Choix invalide.", "1. Mes droits"]);
}

#[test]
fn a_holder_identified_by_phone_sees_open_rights_the_used_up_ceiling_and_chronic_cover() {
    let (w, lines) = world();
    let server = TestServer::start(&lines);
    let end = walk(&server, "f1", C, PHONE, "9*1");
    assert!(end.is_end(), "{end:?}");
    has(
        &end,
        &[
            "Droits ouverts",
            &format!("jusqu'au {}", fr(w.until)),
            &format!(
                "Plafond {}: utilisé 500.250 D, reste 0.000 D",
                w.today.year()
            ),
            &format!("APCI diabete jusqu'au {}", fr(w.chronic_until)),
        ],
    );
    one_code(&end);
}

#[test]
fn the_same_in_arabic_with_the_dinar_sign_and_latin_digits() {
    let (w, lines) = world();
    let server = TestServer::start(&lines);
    let end = walk(&server, "a1", C, PHONE, "1");
    assert!(end.is_end(), "{end:?}");
    has(
        &end,
        &[
            "الحقوق مفتوحة",
            &fr(w.until),
            "مستهلك 500.250 د، متبق 0.000 د",
            "diabete",
        ],
    );
    assert!(!end.text.chars().any(|c| ('٠'..='٩').contains(&c)));
    one_code(&end);
}

#[test]
fn an_unknown_phone_is_asked_matricule_then_cin_and_a_suspended_holder_has_closed_rights() {
    let (w, lines) = world();
    let server = TestServer::start(&lines);
    let ask = server.at("f1", C, STRANGER, "9*1");
    has(&ask, &["Matricule de l'assuré, sans la clé:"]);
    let cin = server.at("f1", C, STRANGER, &format!("9*1*{SUSPENDED_MATRICULE}"));
    has(&cin, &["CIN"]);
    let end = walk(
        &server,
        "f1",
        C,
        STRANGER,
        &format!("9*1*{SUSPENDED_MATRICULE}*{SUSPENDED}"),
    );
    assert!(end.is_end());
    has(
        &end,
        &[
            "Droits fermés (suspendus)\nFin des droits: sans date de fin",
            &format!(
                "Plafond {}: utilisé 0.000 D, reste 450.000 D",
                w.today.year()
            ),
            "Aucune APCI",
        ],
    );
    one_code(&end);
    // Arabic-Indic digits and spaces read as digits.
    let arabic = "٢٢٠٠٠١١١";
    let end = walk(
        &server,
        "a1",
        C,
        &fresh(1),
        &format!("1*{arabic}*0810 0002"),
    );
    has(&end, &["الحقوق مغلقة (معلقة)"]);
}

#[test]
fn an_expired_holder_is_told_closed_rights_with_the_end_date() {
    let (w, lines) = world();
    let server = TestServer::start(&lines);
    let end = walk(&server, "f1", C, EXPIRED_PHONE, "9*1");
    has(
        &end,
        &[
            "Droits fermés (expirés)",
            &format!("Fin des droits: {}", fr(w.expired_until)),
        ],
    );
}

#[test]
fn a_family_phone_is_asked_the_pair() {
    let (_, lines) = world();
    let server = TestServer::start(&lines);
    let ask = server.at("f1", C, FAMILY_PHONE, "9*1");
    assert!(ask.is_con());
    has(&ask, &["Matricule"]);
    let end = walk(&server, "f1", C, FAMILY_PHONE, "9*1*44000002*08300002");
    has(&end, &["Droits ouverts"]);
}

#[test]
fn a_wrong_pair_is_refused_without_saying_which_half_and_asked_again() {
    let (_, lines) = world();
    let server = TestServer::start(&lines);
    // Each half belongs to someone, not to one person.
    let again = server.at("f1", C, STRANGER, &format!("9*1*{MATRICULE}*{SUSPENDED}"));
    assert!(again.is_con());
    assert_eq!(
        again.text,
        "Matricule ou CIN incorrect.\nMatricule de l'assuré, sans la clé:"
    );
    let end = walk(
        &server,
        "f1",
        C,
        STRANGER,
        &format!("9*1*{MATRICULE}*{SUSPENDED}*{MATRICULE}*{HOLDER}"),
    );
    has(&end, &["Droits ouverts"]);
}

#[test]
fn the_third_wrong_pair_ends_the_session_politely_with_a_tracking_code() {
    let (_, lines) = world();
    let server = TestServer::start(&lines);
    let wrong = format!("{MATRICULE}*{SUSPENDED}");
    let two = server.at("a1", C, STRANGER, &format!("1*{wrong}*{wrong}"));
    assert!(two.is_con(), "{two:?}");
    has(&two, &["غير متطابق."]);
    let end = server.at(
        "a1",
        C,
        STRANGER,
        &format!("1*{wrong}*{wrong}*99999999*{HOLDER}"),
    );
    assert!(end.is_end(), "{end:?}");
    has(&end, &["المعطيات غير متطابقة"]);
    one_code(&end);
    let fr_end = server.at("f1", C, &fresh(1), &format!("9*2*{wrong}*{wrong}*{wrong}"));
    assert!(fr_end.is_end());
    has(&fr_end, &["Matricule et CIN ne correspondent pas."]);
    // `00` does not start the count again.
    let home = server.at(
        "f2",
        C,
        &fresh(2),
        &format!("9*1*{wrong}*{wrong}*00*3*1*{wrong}"),
    );
    assert!(home.is_end(), "{home:?}");
    has(&home, &["Matricule et CIN ne correspondent pas."]);
}

#[test]
fn a_matricule_with_its_key_or_garbage_is_explained_and_asked_again() {
    let (_, lines) = world();
    let server = TestServer::start(&lines);
    for (i, keyed) in ["00/11966433", "0011966433", "00 / 11966433"]
        .iter()
        .enumerate()
    {
        let again = server.at(&format!("k{i}"), C, &fresh(i), &format!("9*1*{keyed}"));
        assert!(again.is_con());
        has(
            &again,
            &[
                "sans la clé: 11966433, pas 00/11966433",
                "Matricule de l'assuré",
            ],
        );
    }
    let cases = [
        ("", "Rien n'a été saisi."),
        ("abc", "Tapez des chiffres seulement."),
        ("12", "Le nombre de chiffres est incorrect."),
    ];
    for (i, (input, message)) in cases.iter().enumerate() {
        let again = server.at(&format!("g{i}"), C, &fresh(10 + i), &format!("9*1*{input}"));
        assert!(again.is_con(), "{input:?}");
        has(&again, &[message]);
    }
    let huge = "9".repeat(120);
    let again = server.at("h", C, &fresh(20), &format!("1*{huge}"));
    has(&again, &["عدد الأرقام غير صحيح."]);
    let ar = server.at("a1", C, &fresh(21), "1*00/11966433");
    has(&ar, &["اكتب الرقم دون مفتاح"]);
    let cin = server.at("c1", C, &fresh(22), &format!("9*1*{MATRICULE}*0810"));
    has(&cin, &["Le nombre de chiffres est incorrect.", "CIN"]);
    let third = server.at("c1", C, &fresh(22), &format!("9*1*{MATRICULE}*0810*x*y"));
    assert!(third.is_end());
    has(&third, &["Trop d'erreurs."]);
}

#[test]
fn the_booklet_lists_every_beneficiary_eligible_or_not_with_the_reason() {
    let (w, lines) = world();
    let server = TestServer::start(&lines);
    // Arabic first: the phone keeps French once it chose it.
    let ar = walk(&server, "a1", C, PHONE, "2");
    has(
        &ar,
        &[
            "ابن: لا، أكثر من 20 سنة",
            "بنت: لا، متزوجة",
            "بنت: لا، لها مورد رزق",
            "القرين: لا، مطلق",
        ],
    );
    let end = walk(&server, "f1", C, PHONE, "9*2");
    assert!(end.is_end(), "{end:?}");
    let until = format!("oui, jusqu'au {}", fr(w.until));
    has(
        &end,
        &[
            &format!("conjoint: {until}"),
            "conjoint: non, divorcé",
            "conjoint: non, autre couverture",
            "fils: non, plus de 20 ans",
            "fille: non, mariée",
            "fille: non, avec revenu",
            &format!("fille: {until}"),
            &format!("père: {until}"),
            "mère: non, autre couverture",
        ],
    );
    // The son of 19 until the day before his 20th birthday; the disabled son of 30 covered.
    let born = years_ago(w.today, 19).checked_sub(60.days()).unwrap();
    let twenty = born.checked_add(20.years()).unwrap().yesterday().unwrap();
    has(&end, &[&format!("fils: oui, jusqu'au {}", fr(twenty))]);
    assert_eq!(end.text.matches("fils: oui").count(), 2, "{}", end.text);
    one_code(&end);
}

#[test]
fn a_holder_without_dependents_is_told_so() {
    let (_, lines) = world();
    let server = TestServer::start(&lines);
    let end = walk(&server, "f1", C, EXPIRED_PHONE, "9*2");
    has(&end, &["Aucun bénéficiaire"]);
    one_code(&end);
}

#[test]
fn subscribe_confirm_already_then_the_subscribed_phone_identifies_its_caller_then_unsubscribe() {
    let (_, lines) = world();
    let server = TestServer::start(&lines);
    let pair = format!("{SUSPENDED_MATRICULE}*{SUSPENDED}");
    let confirm = server.at("f1", C, STRANGER, &format!("9*3*1*{pair}"));
    assert!(confirm.is_con());
    has(
        &confirm,
        &["Recevoir les alertes", "1. Confirmer", "2. Annuler"],
    );
    let done = server.at("f1", C, STRANGER, &format!("9*3*1*{pair}*1"));
    assert!(done.is_end());
    has(&done, &["Inscription faite"]);
    one_code(&done);
    // The choice of French is remembered for this phone: no `9` from now on.
    let again = server.at("f2", C, STRANGER, &format!("3*1*{pair}*1"));
    has(&again, &["déjà inscrit"]);
    // The phone now identifies the suspended holder without a question.
    let end = walk(&server, "f3", C, STRANGER, "1");
    has(&end, &["Droits fermés (suspendus)"]);
    let ended = server.at("f4", C, STRANGER, "3*2");
    assert!(ended.is_end());
    has(&ended, &["Désinscription faite"]);
    one_code(&ended);
    let nothing = server.at("f5", C, STRANGER, "3*2");
    has(&nothing, &["ne reçoit aucune alerte"]);
    let asks = server.at("f6", C, STRANGER, "1");
    has(&asks, &["Matricule"]);
}

#[test]
fn a_subscription_moves_between_phones_and_a_cancel_changes_nothing() {
    let (_, lines) = world();
    let server = TestServer::start(&lines);
    let pair = format!("{MATRICULE}*{HOLDER}");
    let first = server.at("a1", C, STRANGER, &format!("3*1*{pair}*1"));
    has(&first, &["تم التسجيل"]);
    let moved = server.at("a2", C, EXPIRED_PHONE, &format!("3*1*{pair}*1"));
    has(&moved, &["ستصل الإرساليات إلى هذا الرقم"]);
    let nothing = server.at("a3", C, STRANGER, "3*2");
    has(&nothing, &["غير مسجل"]);
    let cancelled = server.at("a4", C, STRANGER, &format!("3*1*{pair}*2"));
    assert!(cancelled.is_end());
    has(&cancelled, &["تم إلغاء التسجيل."]);
    let wrong = server.at("a5", C, STRANGER, &format!("3*1*{MATRICULE}*{SUSPENDED}"));
    assert!(wrong.is_con());
    has(&wrong, &["غير متطابق."]);
}

#[test]
fn a_retried_final_step_gets_the_same_tracking_code() {
    let (_, lines) = world();
    let server = TestServer::start(&lines);
    let first = walk(&server, "r1", C, PHONE, "9*1");
    let again = walk(&server, "r1", C, PHONE, "9*1");
    assert_eq!(one_code(&first), one_code(&again));
}
