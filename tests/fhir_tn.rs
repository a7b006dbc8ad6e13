//! The FHIR R4 eligibility API for the Tunisian services (`cnam`, `mutual`) over a real server,
//! a real sled store and a real HTTP client. A person is named by two identifiers, the CIN and
//! the fund's matricule; a pair that is not one person's is "not found", never saying which
//! half was wrong. A `provider` learns in force or not and nothing more; a `member` whose
//! request's phone the record binds (or subscribed to alerts) learns the ceilings as
//! `item[].benefit` in TND; every refusal is an `OperationOutcome`; every tracking code is in
//! the audit trail under the client's name; a menu reloaded live reaches the API. Every
//! response validates against HL7's R4 schema (`fhir_support`).

mod common;
mod fhir_support;

use common::people::{iso, tn_dependent, tn_holder, today_tunis, upsert, years_ago};
use common::TestServer;
use fhir_support::api::{self, post, post_raw, refused, request, tracking_code, Answer};
use jiff::ToSpan;
use serde_json::{json, Value};

const PROVIDER_TOKEN: &str = "tn-provider-token-0123456789";
const MEMBER_TOKEN: &str = "tn-member-token-0123456789";
const ADMIN_TOKEN: &str = "tn-admin-token-0123456789";
/// The server's default `[server] body_limit_bytes` (8 KiB).
const BODY_LIMIT: usize = 8 * 1024;

const CIN: &str = "https://daftar.example/id/tn-cin";
const CNAM: &str = "https://daftar.example/id/tn-cnam-matricule";
const MUTUAL: &str = "https://daftar.example/id/tn-mutual-member";

const HOLDER: &str = "08123456";
const MATRICULE: &str = "11966433";
const SPOUSE: &str = "08123457";
const PHONE: &str = "21698000001";
const SUSPENDED: &str = "07000001";
const SUSPENDED_MATRICULE: &str = "22000111";
const LONER: &str = "08400001";
const LONER_MATRICULE: &str = "44000001";
const STRANGER: &str = "21698999999";

const MEMBER: &str = "07100001";
const MEMBER_NO: &str = "55000001";
const M_PHONE: &str = "21697100001";
const M_SPOUSE: &str = "07200001";

fn until() -> jiff::civil::Date {
    today_tunis().checked_add(2.years()).expect("date")
}

fn chronic_until() -> jiff::civil::Date {
    today_tunis().checked_add(1.years()).expect("date")
}

/// A CNAM holder with a ceiling entry of the year without a limit (the menu's applies) and a
/// chronic coverage, their spouse (same matricule), a suspended holder, a holder with no phone;
/// a mutual member with a spouse, a son with no entry this year, a daughter with other cover.
fn feed() -> Vec<String> {
    let today = today_tunis();
    let year = today.year();
    let active = json!({"status": "active", "from": "2015-01-01", "until": iso(until())});
    let mut holder = tn_holder("cnam", HOLDER, MATRICULE, "cnss", &[PHONE], active.clone());
    holder["ceilings"] = json!([{"kind": "ordinary", "year": year, "used": "120.500"}]);
    holder["chronic"] =
        json!([{"code": "APCI-08", "label": "diabète", "until": iso(chronic_until())}]);
    let aged = |years: i64| {
        years_ago(today, years)
            .checked_sub(60.days())
            .expect("date")
    };
    let mut spouse = tn_dependent("cnam", SPOUSE, HOLDER, "spouse", aged(44), json!({}));
    spouse["member_no"] = json!(MATRICULE);
    let suspended = tn_holder(
        "cnam",
        SUSPENDED,
        SUSPENDED_MATRICULE,
        "cnrps",
        &[],
        json!({"status": "suspended", "from": "2015-01-01"}),
    );
    let loner = tn_holder("cnam", LONER, LONER_MATRICULE, "cnss", &[], active.clone());
    let mut member = tn_holder("mutual", MEMBER, MEMBER_NO, "private", &[M_PHONE], active);
    member["ceilings"] =
        json!([{"kind": "dental", "year": year, "limit": "300.000", "used": "320.000"}]);
    let mut m_spouse = tn_dependent("mutual", M_SPOUSE, MEMBER, "spouse", aged(44), json!({}));
    m_spouse["member_no"] = json!(MEMBER_NO);
    m_spouse["ceilings"] =
        json!([{"kind": "spouse", "year": year, "limit": "150.000", "used": "40.500"}]);
    let son = tn_dependent("mutual", "07200002", MEMBER, "son", aged(10), json!({}));
    let daughter = tn_dependent(
        "mutual",
        "07200003",
        MEMBER,
        "daughter",
        aged(12),
        json!({"other_cover": true}),
    );
    let people = [
        holder, spouse, suspended, loner, member, m_spouse, son, daughter,
    ];
    (1..)
        .zip(people)
        .map(|(seq, person)| upsert(seq, person))
        .collect()
}

fn server() -> TestServer {
    server_with(|_| {})
}

/// The server with a provider and a member client and the admin token, adjusted.
fn server_with(adjust: impl FnOnce(&mut daftar::config::Config)) -> TestServer {
    let provider = ("clinic-tn", PROVIDER_TOKEN);
    api::start(
        &feed(),
        ADMIN_TOKEN,
        provider,
        ("tn-app", MEMBER_TOKEN),
        adjust,
    )
}

/// A `cnam` request for the pair (`matricule`, `cin`).
fn cnam(matricule: &str, cin: &str, phone: Option<&str>, purpose: &[&str]) -> Value {
    request(&[(CNAM, matricule), (CIN, cin)], phone, purpose)
}

/// A `mutual` request for the pair (`member_no`, `cin`).
fn mutual(member_no: &str, cin: &str, phone: Option<&str>, purpose: &[&str]) -> Value {
    request(&[(MUTUAL, member_no), (CIN, cin)], phone, purpose)
}

const BOTH: [&str; 2] = ["validation", "benefits"];

/// An eligibility response: 200, the patient contained with both halves of its pair, and its
/// `insurance[0]` without the `coverage` (checked to name the insurer only).
fn eligible(answer: &Answer, pair: [(&str, &str); 2]) -> Value {
    assert_eq!(answer.status, 200, "{:#}", answer.body);
    assert!(answer.content_type.starts_with("application/fhir+json"));
    assert_eq!(answer.body["resourceType"], "CoverageEligibilityResponse");
    assert_eq!(answer.body["outcome"], "complete");
    assert_eq!(answer.body["created"], today_tunis().to_string());
    assert_eq!(
        answer.body["request"]["reference"],
        "CoverageEligibilityRequest/req-1"
    );
    assert_eq!(answer.body["patient"], json!({"reference": "#patient"}));
    let identifiers: Vec<Value> = pair
        .iter()
        .map(|(system, value)| json!({"system": system, "value": value}))
        .collect();
    assert_eq!(
        answer.body["contained"],
        json!([{"resourceType": "Patient", "id": "patient", "identifier": identifiers}])
    );
    let mut insurance = answer.body["insurance"][0].clone();
    let insurer = answer.body["insurer"]["display"].clone();
    let coverage = insurance
        .as_object_mut()
        .expect("object")
        .remove("coverage");
    assert_eq!(
        coverage,
        Some(json!({"type": "Coverage", "display": insurer}))
    );
    insurance
}

/// What the audit trail keeps under the answer's tracking code; checked to name `client` as
/// the caller, the API as the channel, and no identifier or phone in clear.
fn audited(server: &TestServer, code: &str, client: &str, kind: &str, result: &str) -> Value {
    let entry = api::trail(server, ADMIN_TOKEN, code);
    assert_eq!(entry["caller"], format!("client:{client}"), "{entry}");
    assert_eq!(entry["channel"], "fhir", "{entry}");
    assert_eq!(
        (&entry["kind"], &entry["result"]),
        (&json!(kind), &json!(result)),
        "{entry}"
    );
    let text = entry.to_string();
    for secret in [
        HOLDER, SPOUSE, SUSPENDED, MEMBER, MATRICULE, MEMBER_NO, PHONE, M_PHONE,
    ] {
        assert!(!text.contains(secret), "{secret} in clear: {text}");
    }
    entry
}

/// A `Money` in TND as the API writes it.
fn tnd(value: f64) -> Value {
    json!({"value": value, "currency": "TND"})
}

/// A ceiling item's benefit, term and period of the current year.
fn ceiling(mut item: Value, allowed: f64, used: f64) -> Value {
    let year = today_tunis().year();
    let object = item.as_object_mut().expect("object");
    assert_eq!(
        object.remove("benefit"),
        Some(json!([{
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/benefit-type", "code": "benefit"}]},
            "allowedMoney": tnd(allowed),
            "usedMoney": tnd(used),
        }]))
    );
    assert_eq!(
        object.remove("term"),
        Some(
            json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/benefit-term", "code": "annual"}]})
        )
    );
    assert_eq!(
        object.remove("extension"),
        Some(period(
            json!({"start": format!("{year}-01-01"), "end": format!("{year}-12-31")})
        ))
    );
    item
}

fn period(period: Value) -> Value {
    json!([{"url": "https://daftar.example/fhir/StructureDefinition/item-period", "valuePeriod": period}])
}

/// An item's category code.
fn category(item: &Value) -> &str {
    assert_eq!(
        item["category"]["coding"][0]["system"],
        "https://daftar.example/fhir/CodeSystem/benefit-category"
    );
    item["category"]["coding"][0]["code"]
        .as_str()
        .expect("a code")
}

#[test]
fn a_provider_learns_in_force_and_nothing_more() {
    let server = server();
    let cases = [
        (CNAM, MATRICULE, HOLDER, true),
        (CNAM, MATRICULE, SPOUSE, true),
        (CNAM, SUSPENDED_MATRICULE, SUSPENDED, false),
        (MUTUAL, MEMBER_NO, MEMBER, true),
    ];
    for (system, matricule, cin, inforce) in cases {
        // The phone the record binds and the benefits purpose change nothing for a provider.
        let asked = request(&[(system, matricule), (CIN, cin)], Some(PHONE), &BOTH);
        let answer = post(&server, PROVIDER_TOKEN, &asked);
        let insurance = eligible(&answer, [(system, matricule), (CIN, cin)]);
        assert_eq!(insurance, json!({"inforce": inforce}), "{system} {cin}");
        assert_eq!(answer.body["purpose"], json!(BOTH));
        let result = if inforce { "covered" } else { "not_covered" };
        audited(
            &server,
            &tracking_code(&answer),
            "clinic-tn",
            "general",
            result,
        );
    }
}

#[test]
fn a_pair_that_is_not_one_persons_is_not_found_without_saying_which_half() {
    let server = server();
    let pairs = [
        cnam(MATRICULE, SUSPENDED, None, &BOTH),
        cnam(SUSPENDED_MATRICULE, HOLDER, None, &BOTH),
        cnam(MATRICULE, "09999999", None, &BOTH),
        cnam("99999999", "09999999", None, &BOTH),
        // The mutual member's pair put to CNAM, and a CNAM pair put to the mutual fund.
        cnam(MEMBER_NO, MEMBER, None, &BOTH),
        mutual(MATRICULE, HOLDER, Some(PHONE), &BOTH),
    ];
    let mut said = Vec::new();
    for (i, pair) in pairs.iter().enumerate() {
        for (token, client) in [(PROVIDER_TOKEN, "clinic-tn"), (MEMBER_TOKEN, "tn-app")] {
            let answer = post(&server, token, pair);
            refused(&answer, 404, "not-found");
            let diagnostics = answer.body["issue"][0]["diagnostics"]
                .as_str()
                .expect("diagnostics")
                .to_string();
            let code = diagnostics
                .rsplit(' ')
                .next()
                .expect("a tracking code")
                .to_string();
            assert!(common::luhn_ok(&code), "{diagnostics}");
            audited(&server, &code, client, "identify", "mismatch");
            let words = diagnostics.replace(&code, "CODE");
            let values = [
                HOLDER,
                SUSPENDED,
                MEMBER,
                MATRICULE,
                SUSPENDED_MATRICULE,
                MEMBER_NO,
                "09999999",
                "99999999",
            ];
            for value in values {
                assert!(!words.contains(value), "pair {i}: {diagnostics}");
            }
            said.push(words);
        }
    }
    said.dedup();
    assert_eq!(
        said.len(),
        1,
        "the same words for every wrong pair: {said:#?}"
    );
}

#[test]
fn a_member_whose_phone_the_record_binds_learns_the_cnam_ceiling_and_chronic_coverages() {
    let server = server();
    let answer = post(
        &server,
        MEMBER_TOKEN,
        &cnam(MATRICULE, HOLDER, Some(PHONE), &["benefits"]),
    );
    let mut insurance = eligible(&answer, [(CNAM, MATRICULE), (CIN, HOLDER)]);
    audited(
        &server,
        &tracking_code(&answer),
        "tn-app",
        "coverage",
        "covered",
    );
    let items = insurance
        .as_object_mut()
        .expect("object")
        .remove("item")
        .expect("items");
    assert_eq!(
        insurance,
        json!({"inforce": true, "benefitPeriod": {"end": until().to_string()}})
    );
    let items = items.as_array().expect("a list").clone();
    assert_eq!(items.len(), 2, "{items:#?}");
    assert_eq!(category(&items[0]), "ordinary");
    // No limit on the record's entry: the menu's 450.000 D; 120.500 D used.
    let ordinary = ceiling(items[0].clone(), 450.0, 120.5);
    assert_eq!(ordinary["category"]["coding"][0]["code"], "ordinary");
    assert_eq!(
        ordinary.as_object().expect("object").len(),
        1,
        "{ordinary:#}"
    );
    assert_eq!(category(&items[1]), "chronic");
    assert_eq!(items[1]["name"], "diabète");
    assert_eq!(
        items[1]["extension"],
        period(json!({"end": chronic_until().to_string()}))
    );
    assert!(items[1].get("benefit").is_none());

    // The holder's phone binds the spouse on their booklet too.
    let spouse = post(
        &server,
        MEMBER_TOKEN,
        &cnam(MATRICULE, SPOUSE, Some(PHONE), &BOTH),
    );
    let insurance = eligible(&spouse, [(CNAM, MATRICULE), (CIN, SPOUSE)]);
    assert_eq!(insurance["inforce"], true);
    assert_eq!(category(&insurance["item"][0]), "ordinary");
    audited(
        &server,
        &tracking_code(&spouse),
        "tn-app",
        "coverage",
        "covered",
    );
}

#[test]
fn without_the_bound_phone_or_the_benefits_purpose_a_member_learns_in_force_only() {
    let server = server();
    let cases = [
        cnam(MATRICULE, HOLDER, Some(STRANGER), &BOTH),
        cnam(MATRICULE, HOLDER, None, &BOTH),
        cnam(MATRICULE, HOLDER, Some(PHONE), &["validation"]),
        // CNAM's phone is not on the mutual record.
        mutual(MEMBER_NO, MEMBER, Some(PHONE), &BOTH),
    ];
    for asked in &cases {
        let answer = post(&server, MEMBER_TOKEN, asked);
        assert_eq!(answer.status, 200, "{:#}", answer.body);
        let insurance = &answer.body["insurance"][0];
        assert_eq!(insurance["inforce"], true, "{asked}");
        assert!(insurance.get("item").is_none(), "{insurance:#}");
        assert!(insurance.get("benefitPeriod").is_none(), "{insurance:#}");
        audited(
            &server,
            &tracking_code(&answer),
            "tn-app",
            "general",
            "covered",
        );
    }
}

#[test]
fn a_phone_subscribed_to_alerts_binds_its_person() {
    let server = server();
    let asked = cnam(LONER_MATRICULE, LONER, Some(STRANGER), &BOTH);
    let before = post(&server, MEMBER_TOKEN, &asked);
    assert!(before.body["insurance"][0].get("item").is_none());
    // The stranger's phone subscribes to the holder's alerts on USSD (option 3 → 1).
    let pair = format!("{LONER_MATRICULE}*{LONER}");
    let done = server.at("sub", "*85666#", STRANGER, &format!("3*1*{pair}*1"));
    assert!(done.is_end(), "{}", done.text);
    let after = post(&server, MEMBER_TOKEN, &asked);
    let insurance = eligible(&after, [(CNAM, LONER_MATRICULE), (CIN, LONER)]);
    assert_eq!(category(&insurance["item"][0]), "ordinary");
    ceiling(insurance["item"][0].clone(), 450.0, 0.0);
    audited(
        &server,
        &tracking_code(&after),
        "tn-app",
        "coverage",
        "covered",
    );
}

#[test]
fn a_mutual_member_learns_each_beneficiarys_ceiling_and_the_dental_balance() {
    let server = server();
    let answer = post(
        &server,
        MEMBER_TOKEN,
        &mutual(MEMBER_NO, MEMBER, Some(M_PHONE), &BOTH),
    );
    let insurance = eligible(&answer, [(MUTUAL, MEMBER_NO), (CIN, MEMBER)]);
    audited(
        &server,
        &tracking_code(&answer),
        "tn-app",
        "balances",
        "listed",
    );
    assert_eq!(insurance["inforce"], true);
    assert_eq!(
        insurance["benefitPeriod"],
        json!({"end": until().to_string()})
    );
    let items = insurance["item"].as_array().expect("items");
    let summary: Vec<(&str, Value, Value)> = items
        .iter()
        .map(|i| (category(i), i["name"].clone(), i["excluded"].clone()))
        .collect();
    assert_eq!(
        summary,
        [
            ("spouse", json!("spouse"), json!(false)),
            ("child", json!("son"), json!(false)),
            ("child", json!("daughter"), json!(true)),
            ("dental", Value::Null, Value::Null),
        ]
    );
    let strip = |item: &Value| {
        let mut item = item.clone();
        let object = item.as_object_mut().expect("object");
        for key in ["category", "name", "excluded"] {
            object.remove(key);
        }
        item
    };
    // The spouse's own entry, the son's year with no entry, the dental balance over-used
    // (used shows as recorded; the USSD screen shows what remains, never below 0).
    assert_eq!(ceiling(strip(&items[0]), 150.0, 40.5), json!({}));
    assert_eq!(ceiling(strip(&items[1]), 150.0, 0.0), json!({}));
    assert_eq!(ceiling(strip(&items[3]), 300.0, 320.0), json!({}));
    // A beneficiary named by their own pair (the member's phone binds them) sees their own
    // line only, without the member's dental balance.
    let own = post(
        &server,
        MEMBER_TOKEN,
        &mutual(MEMBER_NO, M_SPOUSE, Some(M_PHONE), &BOTH),
    );
    let insurance = eligible(&own, [(MUTUAL, MEMBER_NO), (CIN, M_SPOUSE)]);
    let items = insurance["item"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{items:#?}");
    assert_eq!(category(&items[0]), "spouse");
}

#[test]
fn each_bad_request_is_an_operation_outcome_that_echoes_no_value() {
    let server = server();
    let fhir = "application/fhir+json";
    let good = cnam(MATRICULE, HOLDER, None, &BOTH).to_string();
    let huge = format!("{{\"pad\":\"{}\"}}", "x".repeat(BODY_LIMIT));
    let raw: [(Option<&str>, &[u8], u16, &str); 7] = [
        (None, good.as_bytes(), 401, "security"),
        (Some("not-a-token"), good.as_bytes(), 401, "security"),
        (Some(PROVIDER_TOKEN), b"", 400, "structure"),
        (
            Some(PROVIDER_TOKEN),
            b"\xff\xfe\x00garbage",
            400,
            "structure",
        ),
        (Some(PROVIDER_TOKEN), b"[1, 2, 3]", 400, "invalid"),
        (Some(PROVIDER_TOKEN), huge.as_bytes(), 413, "too-costly"),
        (
            Some(PROVIDER_TOKEN),
            b"{\"resourceType\": \"CoverageEligibilityRequest\"",
            400,
            "structure",
        ),
    ];
    for (token, body, status, code) in raw {
        refused(&post_raw(&server, token, fhir, body), status, code);
    }
    let cases = [
        // Bad identifiers: too short a CIN, a matricule with its key, letters of another script.
        (
            cnam(MATRICULE, "0812345", None, &BOTH),
            400,
            "invalid",
            Some("CIN"),
        ),
        (
            cnam("00/11966433", HOLDER, None, &BOTH),
            400,
            "invalid",
            Some("matricule"),
        ),
        (
            cnam(MATRICULE, "О8123456", None, &BOTH),
            400,
            "invalid",
            Some("CIN"),
        ),
        (
            cnam(MATRICULE, "ثمانية", None, &BOTH),
            400,
            "invalid",
            Some("CIN"),
        ),
        // A CIN of 6 000 digits in a body under the limit.
        (
            cnam(MATRICULE, &"9".repeat(6_000), None, &BOTH),
            400,
            "invalid",
            Some("CIN"),
        ),
        // Half a pair, or a CIN beside a system daftar does not know.
        (
            request(&[(CIN, HOLDER)], None, &BOTH),
            400,
            "required",
            None,
        ),
        (
            request(&[(CNAM, MATRICULE)], None, &BOTH),
            400,
            "required",
            None,
        ),
        (
            request(
                &[("urn:oid:2.16.788", MATRICULE), (CIN, HOLDER)],
                None,
                &BOTH,
            ),
            400,
            "required",
            None,
        ),
        (
            request(&[("urn:oid:2.16.788", HOLDER)], None, &BOTH),
            400,
            "not-supported",
            None,
        ),
        (cnam(MATRICULE, HOLDER, None, &[]), 400, "invalid", None),
        (
            cnam(MATRICULE, HOLDER, None, &["everything"]),
            400,
            "invalid",
            None,
        ),
    ];
    for (body, status, code, names) in &cases {
        let answer = post(&server, PROVIDER_TOKEN, body);
        refused(&answer, *status, code);
        let said = answer.body.to_string();
        for value in [
            HOLDER,
            MATRICULE,
            "0812345",
            "О8123456",
            "ثمانية",
            "99999999",
        ] {
            assert!(!said.contains(value), "{said}");
        }
        if let Some(half) = names {
            assert!(said.contains(half), "{said}");
        }
    }
    // A CIN typed in Arabic-Indic digits, with spaces, is the same CIN.
    let arabic = post(
        &server,
        PROVIDER_TOKEN,
        &cnam(MATRICULE, "٠٨١ ٢٣٤ ٥٦", None, &BOTH),
    );
    let insurance = eligible(&arabic, [(CNAM, MATRICULE), (CIN, HOLDER)]);
    assert_eq!(insurance, json!({"inforce": true}));
}

#[test]
fn an_insurer_not_served_is_not_supported() {
    let server = server_with(|c| {
        let off = toml::from_str("disabled = true").expect("an override");
        c.services.insert("mutual".into(), off);
    });
    let answer = post(
        &server,
        PROVIDER_TOKEN,
        &mutual(MEMBER_NO, MEMBER, None, &BOTH),
    );
    refused(&answer, 400, "not-supported");
    let still = post(
        &server,
        PROVIDER_TOKEN,
        &cnam(MATRICULE, HOLDER, None, &BOTH),
    );
    assert_eq!(still.status, 200, "{:#}", still.body);
}

/// `POST /admin/menus/reload`: its status.
fn reload(server: &TestServer) -> u16 {
    let url = format!("{}/admin/menus/reload", server.base);
    let response = common::bin::agent()
        .post(&url)
        .header("Authorization", &format!("Bearer {ADMIN_TOKEN}"))
        .send(&[][..])
        .expect("the admin API answers");
    response.status().as_u16()
}

#[test]
fn a_menu_reloaded_live_reaches_the_api() {
    let dir = tempfile::tempdir().expect("tempdir");
    let menus = dir.path().join("menus");
    common::copy_menus(&menus);
    let server = server_with(|c| c.menus.dir = menus.clone());
    let asked = cnam(MATRICULE, HOLDER, Some(PHONE), &BOTH);
    let allowed = |answer: &Answer| {
        answer.body["insurance"][0]["item"][0]["benefit"][0]["allowedMoney"].clone()
    };
    assert_eq!(allowed(&post(&server, MEMBER_TOKEN, &asked)), tnd(450.0));

    let file = menus.join("cnam.toml");
    let text = std::fs::read_to_string(&file).expect("read");
    let (old, new) = ("ordinary = \"450.000\"", "ordinary = \"500.000\"");
    assert!(text.contains(old), "the sample ceiling moved");
    std::fs::write(&file, text.replacen(old, new, 1)).expect("write");
    assert_eq!(reload(&server), 200);
    assert_eq!(allowed(&post(&server, MEMBER_TOKEN, &asked)), tnd(500.0));

    // A menu that does not parse is refused; the API keeps the last good one.
    let text = std::fs::read_to_string(&file).expect("read");
    std::fs::write(&file, text + "\n[[[broken\n").expect("write");
    assert_ne!(reload(&server), 200, "a broken menu is refused");
    assert_eq!(allowed(&post(&server, MEMBER_TOKEN, &asked)), tnd(500.0));
}
