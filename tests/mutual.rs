//! Every journey of `mutual` (SPEC §2.3) over HTTP, as Africa's Talking sends it, in Arabic
//! and French, against a real server over a real sled store: the caller identified by their
//! phone, by matricule and CIN, or by a CNAM SMS-alerts subscription of the same CIN; a wrong
//! pair and three; balances per beneficiary (partly used, over-used, no entry this year) and
//! the dental balance; the rates of each scheme with the special regime and the student rule.

mod common;

use common::people::*;
use common::{luhn_ok, Screen, TestServer};
use jiff::ToSpan;
use serde_json::json;

const M: &str = "*85667#";
const C: &str = "*85666#";
const PRIVATE_PHONE: &str = "21697100001";
const PUBLIC_PHONE: &str = "21697100002";
const STRANGER: &str = "21697999999";

const PRIVATE: &str = "07100001";
const PUBLIC: &str = "07100002";
const REIMBURSEMENT: &str = "07100003";
const REIMBURSEMENT_MATRICULE: &str = "55000003";
const SPOUSE: &str = "07200001";
const STUDENT: &str = "07200002";
const CHILD: &str = "07200003";
const OLDER: &str = "07200004";

fn fresh(n: usize) -> String {
    format!("2169770{n:04}")
}

/// A private-scheme member with an over-used dental balance, a spouse partly used, a student
/// of 22 with no entry this year, a child over-used, a son of 23 no longer studying; a public
/// member; a reimbursement member with no phone, also a CNAM holder under the same CIN.
fn world() -> Vec<String> {
    let today = today_tunis();
    let year = today.year();
    let active = json!({"status": "active", "from": "2015-01-01", "until": iso(today.checked_add(2.years()).unwrap())});
    let mut private = tn_holder(
        "mutual",
        PRIVATE,
        "55000001",
        "private",
        &[PRIVATE_PHONE],
        active.clone(),
    );
    private["ceilings"] =
        json!([{"kind": "dental", "year": year, "limit": "300.000", "used": "320.000"}]);
    let public = tn_holder(
        "mutual",
        PUBLIC,
        "55000002",
        "public",
        &[PUBLIC_PHONE],
        active.clone(),
    );
    let reimbursement = tn_holder(
        "mutual",
        REIMBURSEMENT,
        REIMBURSEMENT_MATRICULE,
        "reimbursement",
        &[],
        active.clone(),
    );
    let cnam_twin = tn_holder("cnam", REIMBURSEMENT, "11000003", "cnss", &[], active);
    let aged = |years: i64| years_ago(today, years).checked_sub(60.days()).unwrap();
    let mut spouse = tn_dependent("mutual", SPOUSE, PRIVATE, "spouse", aged(44), json!({}));
    spouse["ceilings"] =
        json!([{"kind": "spouse", "year": year, "limit": "150.000", "used": "40.500"}]);
    let student_until = iso(today.checked_add(1.years()).unwrap());
    let mut student = tn_dependent(
        "mutual",
        STUDENT,
        PRIVATE,
        "son",
        aged(22),
        json!({"student_until": student_until}),
    );
    student["ceilings"] = json!([{"kind": "child", "year": year - 1, "used": "150.000"}]);
    let mut child = tn_dependent("mutual", CHILD, PRIVATE, "daughter", aged(12), json!({}));
    child["ceilings"] = json!([{"kind": "child", "year": year, "used": "170.000"}]);
    let older = tn_dependent("mutual", OLDER, PRIVATE, "son", aged(23), json!({}));
    let people = vec![
        private,
        public,
        reimbursement,
        cnam_twin,
        spouse,
        student,
        child,
        older,
    ];
    people
        .into_iter()
        .enumerate()
        .map(|(i, p)| upsert(i as u64 + 1, p))
        .collect()
}

fn has(screen: &Screen, words: &[&str]) {
    for w in words {
        assert!(screen.text.contains(w), "{w:?} not in {:?}", screen.text);
    }
}

fn one_code(screen: &Screen) {
    let codes = screen.codes();
    assert_eq!(codes.len(), 1, "one tracking code: {}", screen.text);
    assert!(luhn_ok(&codes[0]), "{}", codes[0]);
}

#[test]
fn the_first_screen_offers_balances_rates_and_french() {
    let server = TestServer::start(&world());
    let ar = server.at("a", M, STRANGER, "");
    has(
        &ar,
        &["التعاونية", "1. أرصدتي", "2. نسب الاسترجاع", "9. Français"],
    );
    let fr = server.at("a", M, STRANGER, "9");
    has(
        &fr,
        &["Mutuelle", "1. Mes soldes", "2. Mes taux", "9. عربية"],
    );
}

#[test]
fn balances_per_beneficiary_and_dental_in_french() {
    let server = TestServer::start(&world());
    let end = walk(&server, "f1", M, PRIVATE_PHONE, "9*1");
    assert!(end.is_end(), "{end:?}");
    let year = today_tunis().year();
    has(
        &end,
        &[
            &format!("Soldes {year}:"),
            "conjoint: utilisé 40.500 D, reste 109.500 D",
            "fils: utilisé 0.000 D, reste 150.000 D",
            "fille: utilisé 170.000 D, reste 0.000 D",
            "fils: non couvert, plus de 20 ans, pas étudiant",
            "Dentaire: utilisé 320.000 D, reste 0.000 D",
        ],
    );
    one_code(&end);
}

#[test]
fn balances_in_arabic_with_the_dinar_sign() {
    let server = TestServer::start(&world());
    let end = walk(&server, "a1", M, PRIVATE_PHONE, "1");
    has(
        &end,
        &[
            "القرين: مستهلك 40.500 د، متبق 109.500 د",
            "الأسنان: مستهلك 320.000 د، متبق 0.000 د",
            "ابن: غير مشمول، أكثر من 20 سنة ولا يدرس",
        ],
    );
    one_code(&end);
}

#[test]
fn a_member_with_no_entry_this_year_has_the_whole_allowance() {
    let server = TestServer::start(&world());
    let end = walk(&server, "f1", M, PUBLIC_PHONE, "9*1");
    has(&end, &["Dentaire: utilisé 0.000 D, reste 300.000 D"]);
}

#[test]
fn the_rates_of_each_scheme() {
    let server = TestServer::start(&world());
    let private = walk(&server, "f1", M, PRIVATE_PHONE, "9*2");
    assert!(private.is_end());
    has(
        &private,
        &[
            "Filière privée:\nmédicaments et analyses 90% avec la CNAM",
            "consultation +4.000 D, spécialiste +5.000 D",
            "ordonnance d'hopital public: médicaments 70%, analyses 70%",
            "Solde CNAM épuisé: médicaments 70%, analyses 70%, consultations 50%",
            "Etudiants de 20 à 25 ans, divorcées avec garde: médicaments 80%, analyses 80%, consultations 50%",
            "Dentaire: 30%, 50% le solde épuisé",
        ],
    );
    one_code(&private);
    let public = walk(&server, "f2", M, PUBLIC_PHONE, "9*2");
    has(&public, &["Filière publique", "70%", "Solde CNAM épuisé"]);
    assert!(!public.text.contains("+4.000"), "{}", public.text);
    let pair = format!("{REIMBURSEMENT_MATRICULE}*{REIMBURSEMENT}");
    let reimbursement = walk(&server, "f3", M, &fresh(1), &format!("9*2*{pair}"));
    has(
        &reimbursement,
        &[
            "Filière remboursement:\nmédicaments et analyses 90%",
            "+5.000 D",
        ],
    );
    let ar = walk(&server, "a1", M, &fresh(2), &format!("2*{pair}"));
    has(
        &ar,
        &[
            "منظومة الاسترجاع",
            "90%",
            "+4.000 د",
            "طلبة 20-25 سنة ومطلقات حاضنات: دواء 80%",
        ],
    );
}

#[test]
fn a_cnam_subscription_of_the_same_cin_identifies_the_mutual_caller() {
    let server = TestServer::start(&world());
    let phone = fresh(3);
    let asks = server.at("m1", M, &phone, "1");
    has(&asks, &["رقم الانخراط"]);
    let subscribed = server.at("c1", C, &phone, &format!("3*1*11000003*{REIMBURSEMENT}*1"));
    has(&subscribed, &["تم التسجيل"]);
    let end = walk(&server, "m2", M, &phone, "1");
    assert!(end.is_end(), "{end:?}");
    has(&end, &["الأسنان: مستهلك 0.000 د، متبق 300.000 د"]);
}

#[test]
fn a_wrong_pair_is_asked_again_and_the_third_ends() {
    let server = TestServer::start(&world());
    let wrong = format!("55000001*{PUBLIC}");
    let again = server.at("f1", M, STRANGER, &format!("9*1*{wrong}"));
    assert!(again.is_con());
    assert_eq!(
        again.text,
        "Matricule ou CIN incorrect.\nMatricule de l'adhérent, sans la clé:"
    );
    let right = walk(
        &server,
        "f1",
        M,
        STRANGER,
        &format!("9*1*{wrong}*55000002*{PUBLIC}"),
    );
    has(&right, &["Dentaire"]);
    let end = server.at("a1", M, &fresh(4), &format!("2*{wrong}*{wrong}*{wrong}"));
    assert!(end.is_end());
    has(&end, &["المعطيات غير متطابقة"]);
    one_code(&end);
    let keyed = server.at("a2", M, &fresh(5), "1*00/55000001");
    has(&keyed, &["اكتب الرقم دون مفتاح"]);
}

#[test]
fn a_divorced_spouse_with_custody_identified_by_pair_sees_her_own_balance_only() {
    let mut lines = world();
    let today = today_tunis();
    let mut spouse = tn_dependent(
        "mutual",
        "07200009",
        PUBLIC,
        "spouse",
        years_ago(today, 40),
        json!({"divorced": true, "custody": true}),
    );
    spouse["member_no"] = json!("55000002");
    lines.push(upsert(100, spouse));
    let server = TestServer::start(&lines);
    let end = walk(&server, "f1", M, &fresh(6), "9*1*55000002*07200009");
    has(&end, &["conjoint: utilisé 0.000 D, reste 150.000 D"]);
    assert!(!end.text.contains("Dentaire"), "{}", end.text);
}

#[test]
fn an_operators_override_of_a_ceiling_is_what_the_caller_sees() {
    let server = TestServer::start_with(&world(), |config| {
        let file: daftar::config::Config =
            toml::from_str("[services.mutual.benefits.ceilings]\ndental = \"350.000\"\n")
                .expect("override");
        config.services = file.services;
    });
    let end = walk(&server, "f1", M, PUBLIC_PHONE, "9*1");
    has(&end, &["Dentaire: utilisé 0.000 D, reste 350.000 D"]);
}
