//! Every journey of `tamin` over HTTP, as Africa's Talking sends it, in both locales, against a
//! real server over a real sled store: covered, not covered, mismatch, unknown, wrong check
//! digit, three wrong entries, each dependent rule, navigation, retries, replay, resume, the
//! remembered locale.

mod common;

use common::people::*;
use common::{luhn_ok, TestServer};
use daftar::locale::format_date;
use jiff::civil::Date;
use jiff::ToSpan;
use serde_json::json;

const T: &str = "*4*1420#";
const PHONE: &str = "989121110001";
const EXPIRED_PHONE: &str = "989121110002";
const FAMILY_PHONE: &str = "989121110003";
const STRANGER: &str = "989129999999";

struct World {
    until: Date,
    holder: String,
    expired: String,
    young_son: String,
    young_son_born: Date,
    son_no_cert: String,
    student: String,
    student_until: Date,
    daughter: String,
    daughter_no_cert: String,
    divorced: String,
    family_a: String,
    family_b: String,
    foreign: String,
}

fn world() -> (World, Vec<String>) {
    let today = today_tehran();
    let until = today.checked_add(2.years()).unwrap();
    let young_son_born = years_ago(today, 18).checked_add(30.days()).unwrap();
    let student_until = today.checked_add(1.years()).unwrap();
    let w = World {
        until,
        holder: ir_code("005123457"),
        expired: ir_code("006234561"),
        young_son: ir_code("007000001"),
        young_son_born,
        son_no_cert: ir_code("007000002"),
        student: ir_code("007000003"),
        student_until,
        daughter: ir_code("007000004"),
        daughter_no_cert: ir_code("007000005"),
        divorced: ir_code("007000006"),
        family_a: ir_code("008000001"),
        family_b: ir_code("008000002"),
        foreign: "123456789012".to_string(),
    };
    let no_facts = json!({});
    let people = vec![
        holder(&w.holder, &[PHONE], until),
        holder(
            &w.expired,
            &[EXPIRED_PHONE],
            today.checked_sub(40.days()).unwrap(),
        ),
        dependent(
            &w.young_son,
            &w.holder,
            "son",
            young_son_born,
            no_facts.clone(),
        ),
        dependent(
            &w.son_no_cert,
            &w.holder,
            "son",
            years_ago(today, 20),
            no_facts.clone(),
        ),
        dependent(
            &w.student,
            &w.holder,
            "son",
            years_ago(today, 21),
            json!({"documents": ["university_certificate"], "student_until": iso(student_until)}),
        ),
        dependent(
            &w.daughter,
            &w.holder,
            "daughter",
            years_ago(today, 25),
            json!({"documents": ["birth_certificate"]}),
        ),
        dependent(
            &w.daughter_no_cert,
            &w.holder,
            "daughter",
            years_ago(today, 12),
            no_facts,
        ),
        dependent(
            &w.divorced,
            &w.holder,
            "spouse",
            years_ago(today, 40),
            json!({"divorced": true}),
        ),
        holder(&w.family_a, &[FAMILY_PHONE], until),
        holder(&w.family_b, &[FAMILY_PHONE, "989121110004"], until),
        dependent(
            &ir_code("008000003"),
            &w.family_b,
            "spouse",
            years_ago(today, 40),
            json!({}),
        ),
        holder(&w.foreign, &["989121110005"], until),
    ];
    let lines = people
        .into_iter()
        .enumerate()
        .map(|(i, p)| upsert(i as u64 + 1, p))
        .collect();
    (w, lines)
}

fn fa_date(date: Date) -> String {
    format_date(date, "fa")
}

#[test]
fn the_first_screen_offers_1_2_3_and_9_in_persian() {
    let (_, lines) = world();
    let server = TestServer::start(&lines);
    let screen = server.at("s1", T, PHONE, "");
    assert_eq!(screen.status, 200);
    assert!(screen.is_con(), "{screen:?}");
    for option in ["۱.", "۲.", "۳.", "۹."] {
        assert!(screen.text.contains(option), "{option} in {}", screen.text);
    }
    assert!(
        !screen.text.chars().any(|c| c.is_ascii_digit()),
        "Persian digits only: {}",
        screen.text
    );
}

#[test]
fn a_covered_holder_sees_status_solar_date_and_tracking_code() {
    let (w, lines) = world();
    let server = TestServer::start(&lines);
    assert!(server.at("s1", T, PHONE, "1").is_con());
    let end = server.at("s1", T, PHONE, &format!("1*{}", w.holder));
    assert!(end.is_end(), "{end:?}");
    assert!(end.text.contains("حمایت درمانی دارد"), "{}", end.text);
    assert!(
        end.text.contains(&fa_date(w.until)),
        "{} lacks {}",
        end.text,
        fa_date(w.until)
    );
    let codes = end.codes();
    assert_eq!(codes.len(), 1, "{}", end.text);
    assert!(luhn_ok(&codes[0]), "{}", codes[0]);
}

#[test]
fn a_code_typed_in_persian_digits_or_without_leading_zeros_is_read() {
    let (w, lines) = world();
    let server = TestServer::start(&lines);
    let persian: String = w
        .holder
        .chars()
        .map(|c| char::from_u32('۰' as u32 + c.to_digit(10).unwrap()).unwrap())
        .collect();
    let end = server.at("p1", T, PHONE, &format!("1*{persian}"));
    assert!(end.text.contains("حمایت درمانی دارد"), "{}", end.text);
    let unpadded = w.holder.trim_start_matches('0');
    assert!(unpadded.len() < 10);
    let end = server.at("p2", T, PHONE, &format!("1*{unpadded}"));
    assert!(end.text.contains("حمایت درمانی دارد"), "{}", end.text);
}

#[test]
fn an_expired_holder_is_not_covered_and_told_the_complaint_line() {
    let (w, lines) = world();
    let server = TestServer::start(&lines);
    let end = server.at("s1", T, EXPIRED_PHONE, &format!("1*{}", w.expired));
    assert!(end.is_end());
    assert!(end.text.contains("حمایت درمانی ندارد"), "{}", end.text);
    assert!(end.latin().contains("1420"), "{}", end.text);
    let passed = today_tehran().checked_sub(40.days()).unwrap();
    assert!(
        end.text.contains(&fa_date(passed)),
        "the end date that passed is shown: {}",
        end.text
    );
}

#[test]
fn open_ended_coverage_reads_as_such_and_a_daughters_reason_names_her_fact() {
    let today = today_tehran();
    let holder_code = ir_code("009000001");
    let phone = "989121110009";
    let mut open = holder(&holder_code, &[phone], today);
    open["coverage"] = json!({"status": "active", "from": "2020-01-01"});
    let people = [
        open,
        dependent(
            &ir_code("009000002"),
            &holder_code,
            "spouse",
            years_ago(today, 40),
            json!({}),
        ),
        dependent(
            &ir_code("009000003"),
            &holder_code,
            "daughter",
            years_ago(today, 25),
            json!({"documents": ["birth_certificate"], "married": true}),
        ),
        dependent(
            &ir_code("009000004"),
            &holder_code,
            "daughter",
            years_ago(today, 27),
            json!({"documents": ["birth_certificate"], "income": true}),
        ),
    ];
    let lines: Vec<String> = people
        .into_iter()
        .enumerate()
        .map(|(i, p)| upsert(i as u64 + 1, p))
        .collect();
    let server = TestServer::start(&lines);
    let fa = server.at("o1", T, phone, &format!("1*{holder_code}"));
    assert!(
        fa.text.contains("بدون تاریخ پایان") && !fa.text.contains("تا بدون"),
        "{}",
        fa.text
    );
    let en = server.at("o2", T, phone, &format!("9*1*{holder_code}"));
    assert!(
        en.text.contains("open-ended") && !en.text.contains("until no end date"),
        "{}",
        en.text
    );
    let mut path = "3".to_string(); // English, remembered from the 9 above
    let mut screen = server.at("o3", T, phone, &path);
    let mut list = screen.text.clone();
    while screen.is_con() {
        path.push_str("*98");
        screen = server.at("o3", T, phone, &path);
        list.push_str(&screen.text);
    }
    assert!(
        list.contains("(spouse): covered with no end date (open-ended)"),
        "{list}"
    );
    assert!(list.contains("not covered, married"), "{list}");
    assert!(list.contains("not covered, has an income"), "{list}");
    assert!(!list.contains("married or"), "{list}");
}

#[test]
fn a_code_of_someone_else_or_of_nobody_is_a_mismatch() {
    let (w, lines) = world();
    let server = TestServer::start(&lines);
    for (sid, code) in [("m1", w.holder.clone()), ("m2", ir_code("009999990"))] {
        let end = server.at(sid, T, STRANGER, &format!("1*{code}"));
        assert!(end.is_end(), "{end:?}");
        assert!(
            end.text.contains("عدم تطابق کد ملی با شماره همراه"),
            "{}",
            end.text
        );
        assert!(end.latin().contains("1420"));
        assert_eq!(end.codes().len(), 1, "a mismatch has its tracking code too");
    }
}

#[test]
fn a_dependent_on_the_callers_record_is_answered_with_the_end_of_its_rule() {
    let (w, lines) = world();
    let server = TestServer::start(&lines);
    let nineteenth = w.young_son_born.checked_add(19.years()).unwrap();
    let last_day = nineteenth.yesterday().unwrap();
    let end = server.at("d1", T, PHONE, &format!("1*{}", w.young_son));
    assert!(end.text.contains("حمایت درمانی دارد"), "{}", end.text);
    assert!(
        end.text.contains(&fa_date(last_day)),
        "{} lacks {}",
        end.text,
        fa_date(last_day)
    );
    let end = server.at("d2", T, PHONE, &format!("1*{}", w.student));
    assert!(end.text.contains(&fa_date(w.student_until)), "{}", end.text);
    let end = server.at("d3", T, PHONE, &format!("1*{}", w.son_no_cert));
    assert!(end.text.contains("حمایت درمانی ندارد"), "{}", end.text);
    assert!(
        end.text.contains("دانشگاه"),
        "the reason is given: {}",
        end.text
    );
}

#[test]
fn the_general_inquiry_says_only_covered_or_not() {
    let (w, lines) = world();
    let server = TestServer::start(&lines);
    let cases = [
        (w.holder.as_str(), true),
        (w.daughter.as_str(), true),
        (w.foreign.as_str(), true),
        (w.expired.as_str(), false),
        (w.daughter_no_cert.as_str(), false),
        (w.divorced.as_str(), false),
    ];
    let nobody = ir_code("009999990");
    let all = cases.iter().copied().chain([(nobody.as_str(), false)]);
    for (i, (number, covered)) in all.enumerate() {
        let end = server.at(&format!("g{i}"), T, STRANGER, &format!("2*{number}"));
        assert!(end.is_end(), "{end:?}");
        let word = if covered {
            "حمایت درمانی دارد"
        } else {
            "حمایت درمانی ندارد"
        };
        assert!(end.text.contains(word), "{number}: {}", end.text);
        let latin = end.latin();
        let lines: Vec<&str> = latin.lines().collect();
        assert!(
            lines.len() <= 3,
            "nothing but the status, the code and the complaint line: {latin}"
        );
        assert!(
            !latin.contains("Holder") && !latin.contains("Dep "),
            "no name: {latin}"
        );
        assert!(!end.text.contains('/'), "no date: {}", end.text);
        assert!(luhn_ok(&end.codes()[0]));
    }
}

#[test]
fn a_wrong_check_digit_is_explained_and_asked_again_and_the_third_ends_politely() {
    let (w, lines) = world();
    let server = TestServer::start(&lines);
    let wrong = wrong_check(&w.holder);
    let first = server.at("w1", T, PHONE, &format!("1*{wrong}"));
    assert!(first.is_con(), "{first:?}");
    assert!(first.text.contains("کد ملی"), "{}", first.text);
    let second = server.at("w1", T, PHONE, &format!("1*{wrong}*abc"));
    assert!(second.is_con(), "{second:?}");
    assert_ne!(first.text, second.text, "each error says what was wrong");
    let third = server.at("w1", T, PHONE, &format!("1*{wrong}*abc*"));
    assert!(third.is_end(), "{third:?}");
    // A right answer after one wrong one is still accepted.
    let ok = server.at("w2", T, PHONE, &format!("1*{wrong}*{}", w.holder));
    assert!(ok.text.contains("حمایت درمانی دارد"), "{}", ok.text);
}

#[test]
fn garbage_answers_never_break_the_session() {
    let (_, lines) = world();
    let server = TestServer::start(&lines);
    let huge = "9".repeat(900);
    for (i, input) in [
        "",
        " ",
        "abc",
        "١٢٣",
        "ДА",
        "😀",
        "1111111111",
        "0000000000",
        huge.as_str(),
        "12-34",
    ]
    .iter()
    .enumerate()
    {
        let screen = server.at(&format!("x{i}"), T, PHONE, &format!("1*{input}"));
        assert_eq!(screen.status, 200);
        assert!(screen.is_con(), "{input:?} → {screen:?}");
    }
    let menu = server.at("x-menu", T, PHONE, "7");
    assert!(
        menu.is_con() && menu.text.contains("۱."),
        "an option not on the screen: {menu:?}"
    );
}

#[test]
fn my_dependents_lists_each_with_status_and_why_not() {
    let (w, lines) = world();
    let server = TestServer::start(&lines);
    let mut screen = server.at("l1", T, PHONE, "3");
    assert_eq!(
        screen.codes().len(),
        1,
        "the first page has the tracking code: {}",
        screen.text
    );
    let mut text = screen.text.clone();
    let mut path = "3".to_string();
    let mut pages = 1;
    while screen.is_con() {
        assert!(
            screen.latin().contains("98"),
            "a long list offers 98: {}",
            screen.text
        );
        path.push_str("*98");
        screen = server.at("l1", T, PHONE, &path);
        text.push('\n');
        text.push_str(&screen.text);
        pages += 1;
        assert!(pages < 20);
    }
    assert!(pages > 1, "six dependents do not fit one Persian screen");
    assert!(text.contains(&fa_date(w.student_until)), "{text}");
    assert!(
        text.contains("دانشگاه"),
        "the son without certificate says why: {text}"
    );
    assert!(
        text.contains("شناسنامه"),
        "the daughter without certificate says why: {text}"
    );
    assert!(text.contains("طلاق"), "the divorced spouse says why: {text}");
    for line in text.lines().filter(|l| l.contains(": ")) {
        assert!(
            line.contains(": دارد ") || line.contains(": ندارد،"),
            "each line has its status word: {line}"
        );
    }
}

/// The pages of the Persian dependents list of the sample feed's holder with 8 dependents
/// (data/README.md: MSISDN 989120000001).
#[test]
fn the_sample_holders_eight_dependents_take_five_pages_with_the_code_on_the_first() {
    let feed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/data/feed.ndjson"))
        .expect("the sample feed");
    let lines: Vec<String> = feed.lines().map(str::to_string).collect();
    let server = TestServer::start(&lines);
    let phone = "989120000001";
    let mut screen = server.at("s1", T, phone, "3");
    let first = screen.clone();
    let mut pages = vec![screen.text.clone()];
    let mut path = "3".to_string();
    while screen.is_con() && pages.len() < 20 {
        path.push_str("*98");
        screen = server.at("s1", T, phone, &path);
        pages.push(screen.text.clone());
    }
    let all = pages.join("\n");
    assert_eq!(first.codes().len(), 1, "the code on the first page: {all}");
    let lines = all.lines().filter(|l| l.contains(": ")).count();
    assert_eq!(lines, 8, "a line for each dependent: {all}");
    assert!(
        !all.contains("بدون تاریخ پایان") || !all.contains("تا بدون"),
        "{all}"
    );
    assert_eq!(pages.len(), 5, "{pages:#?}");
}

#[test]
fn a_family_phone_is_asked_for_the_holders_code() {
    let (w, lines) = world();
    let server = TestServer::start(&lines);
    let ask = server.at("f1", T, FAMILY_PHONE, "3");
    assert!(ask.is_con(), "{ask:?}");
    let list = server.at("f1", T, FAMILY_PHONE, &format!("3*{}", w.family_b));
    assert!(list.is_end(), "{list:?}");
    assert!(list.text.contains("همسر"), "{}", list.text);
    let none = server.at("f2", T, FAMILY_PHONE, &format!("3*{}", w.family_a));
    assert!(none.is_end() && none.codes().len() == 1, "{none:?}");
    let other = server.at("f3", T, FAMILY_PHONE, &format!("3*{}", w.holder));
    assert!(other.text.contains("عدم تطابق"), "{}", other.text);
}

#[test]
fn back_home_and_more_navigate() {
    let (_, lines) = world();
    let server = TestServer::start(&lines);
    let main = server.at("n1", T, PHONE, "");
    let ask = server.at("n1", T, PHONE, "1");
    assert_ne!(main.text, ask.text);
    assert_eq!(
        server.at("n1", T, PHONE, "1*0").text,
        main.text,
        "0 goes back"
    );
    assert!(server.at("n1", T, PHONE, "1*0*2").is_con());
    assert_eq!(
        server.at("n1", T, PHONE, "1*0*2*00").text,
        main.text,
        "00 goes home"
    );
    let nothing_more = server.at("n2", T, PHONE, "98");
    assert!(
        nothing_more.is_con(),
        "98 on a one-page screen is a wrong answer, not a crash"
    );
}

#[test]
fn a_retried_final_step_gets_the_same_reply_and_the_same_tracking_code() {
    let (w, lines) = world();
    let server = TestServer::start(&lines);
    server.at("r1", T, PHONE, "");
    server.at("r1", T, PHONE, "1");
    let first = server.at("r1", T, PHONE, &format!("1*{}", w.holder));
    let again = server.at("r1", T, PHONE, &format!("1*{}", w.holder));
    assert_eq!(first, again);
    let mid = server.at("r1b", T, PHONE, "1");
    assert_eq!(
        server.at("r1b", T, PHONE, "1"),
        mid,
        "a retried middle step too"
    );
}

#[test]
fn a_session_is_replayed_after_a_restart() {
    let (w, lines) = world();
    let mut server = TestServer::start(&lines);
    server.at("rs", T, PHONE, "");
    server.at("rs", T, PHONE, "1");
    server.restart();
    let end = server.at("rs", T, PHONE, &format!("1*{}", w.holder));
    assert!(
        end.is_end() && end.text.contains("حمایت درمانی دارد"),
        "{end:?}"
    );
}

#[test]
fn a_session_is_replayed_after_expiry_and_a_dropped_one_is_offered_back() {
    let (w, lines) = world();
    let server = TestServer::start_with(&lines, |c| {
        c.sessions.idle_s = 1;
        c.sessions.sweep_ms = 100;
    });
    server.at("e1", T, PHONE, "");
    server.at("e1", T, PHONE, "1");
    std::thread::sleep(std::time::Duration::from_millis(1_600));
    // The same session, after expiry: replayed from its whole path.
    let end = server.at("e1", T, PHONE, &format!("1*{}", w.holder));
    assert!(end.text.contains("حمایت درمانی دارد"), "{end:?}");

    // Dropped with a question open: the next session is offered to continue.
    server.at("e2", T, EXPIRED_PHONE, "");
    server.at("e2", T, EXPIRED_PHONE, "2");
    std::thread::sleep(std::time::Duration::from_millis(1_600));
    let offer = server.at("e3", T, EXPIRED_PHONE, "");
    assert!(
        offer.is_con() && offer.latin().contains("1.") && offer.latin().contains("2."),
        "{offer:?}"
    );
    assert!(offer.text.contains("ادامه"), "{}", offer.text);
    let question = server.at("e3", T, EXPIRED_PHONE, "1");
    assert!(
        question.text.contains("اتباع"),
        "back at the general inquiry's question: {}",
        question.text
    );
    let end = server.at("e3", T, EXPIRED_PHONE, &format!("1*{}", w.holder));
    assert!(end.text.contains("حمایت درمانی دارد"), "{end:?}");
    // A result was reached: no offer any more.
    let fresh = server.at("e4", T, EXPIRED_PHONE, "");
    assert!(
        fresh.text.contains("۱.") && !fresh.text.contains("ادامه"),
        "{}",
        fresh.text
    );

    // Declining starts again and uses the offer up.
    server.at("e5", T, STRANGER, "1");
    std::thread::sleep(std::time::Duration::from_millis(1_600));
    assert!(server.at("e6", T, STRANGER, "").text.contains("ادامه"));
    let home = server.at("e6", T, STRANGER, "2");
    assert!(
        home.text.contains("۹."),
        "start again shows the first screen: {}",
        home.text
    );
    std::thread::sleep(std::time::Duration::from_millis(1_600));
    assert!(!server.at("e7", T, STRANGER, "").text.contains("ادامه"));
}

#[test]
fn an_end_of_session_notification_leaves_the_resume_offer_for_an_immediate_redial() {
    let (_w, lines) = world();
    let server = TestServer::start(&lines);
    server.at("n1", T, PHONE, "");
    let question = server.at("n1", T, PHONE, "1");
    assert!(question.is_con(), "{question:?}");
    // The caller hangs up with the question open; Africa's Talking notifies its end.
    let answer = server.at_end("n1", T, PHONE, "Incomplete");
    assert_eq!(answer, (200, "OK".to_string()));
    // Redialled at once, long before idle expiry: offered to continue or start again.
    let offer = server.at("n2", T, PHONE, "");
    assert!(
        offer.is_con() && offer.text.contains("ادامه"),
        "the offer right after the notification: {offer:?}"
    );
    assert!(
        offer.latin().contains("1.") && offer.latin().contains("2."),
        "{offer:?}"
    );
    let back = server.at("n2", T, PHONE, "1");
    assert_eq!(
        back.text, question.text,
        "continue goes back to the question"
    );

    // A session that reached its result leaves no offer when its end is notified.
    server.at("n3", T, STRANGER, "");
    server.at("n3", T, STRANGER, "2");
    let end = server.at("n3", T, STRANGER, "2*0012345679");
    assert!(end.is_end(), "{end:?}");
    assert_eq!(server.at_end("n3", T, STRANGER, "Success").0, 200);
    let fresh = server.at("n4", T, STRANGER, "");
    assert!(!fresh.text.contains("ادامه"), "{}", fresh.text);
    // A notification for a session the server does not hold is acknowledged all the same.
    assert_eq!(
        server.at_end("unknown", T, STRANGER, "Failed"),
        (200, "OK".to_string())
    );
}

#[test]
fn nine_switches_to_english_and_the_choice_is_remembered() {
    let (w, lines) = world();
    let server = TestServer::start(&lines);
    let en = server.at("l1", T, PHONE, "9");
    assert!(en.text.contains("1. My eligibility"), "{}", en.text);
    let end = server.at("l1", T, PHONE, &format!("9*1*{}", w.holder));
    assert!(end.text.contains("has treatment coverage"), "{}", end.text);
    assert!(
        end.text.contains(&w.until.to_string()),
        "en dates are ISO: {}",
        end.text
    );
    let next = server.at("l2", T, PHONE, "");
    assert!(
        next.text.contains("My eligibility"),
        "remembered: {}",
        next.text
    );
    let back = server.at("l2", T, PHONE, "9");
    assert!(back.text.contains("۱."), "9 switches back: {}", back.text);
    let not_nine = server.at("l3", T, PHONE, "1*9");
    assert!(not_nine.is_con(), "{not_nine:?}");
    assert!(
        !not_nine.text.contains("1. My eligibility"),
        "9 means nothing past the first screen: {}",
        not_nine.text
    );
}

#[test]
fn a_dialled_string_with_extra_segments_pre_answers_the_menus() {
    let (w, lines) = world();
    let server = TestServer::start(&lines);
    let end = server.at("pre", &format!("*4*1420*2*{}#", w.holder), STRANGER, "");
    assert!(
        end.is_end() && end.text.contains("حمایت درمانی دارد"),
        "{end:?}"
    );
}

#[test]
fn a_deleted_person_is_no_longer_covered_while_the_server_follows_the_feed() {
    let (w, lines) = world();
    let server = TestServer::start(&lines);
    assert!(server
        .at("fd1", T, STRANGER, &format!("2*{}", w.holder))
        .text
        .contains("دارد"));
    server.append_feed(&[delete(100, "tamin", &w.holder)]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    for attempt in 0.. {
        let end = server.at(
            &format!("fd-{attempt}"),
            T,
            STRANGER,
            &format!("2*{}", w.holder),
        );
        if end.text.contains("ندارد") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the delete was never applied"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn every_tamin_journey_in_english() {
    let (w, lines) = world();
    let server = TestServer::start(&lines);
    let covered = server.at("en1", T, PHONE, &format!("9*1*{}", w.holder));
    assert!(
        covered.text.contains("has treatment coverage until"),
        "{}",
        covered.text
    );
    // The choice is remembered: no 9 from now on for this phone.
    let reason = server.at("en2", T, PHONE, &format!("1*{}", w.son_no_cert));
    assert!(
        reason.text.contains("has no treatment coverage"),
        "{}",
        reason.text
    );
    assert!(
        reason.text.contains("university certificate"),
        "{}",
        reason.text
    );
    assert!(reason.text.contains("1420"), "{}", reason.text);
    let mut list = server.at("en3", T, PHONE, "3");
    let mut text = list.text.clone();
    let mut path = "3".to_string();
    while list.is_con() {
        path.push_str("*98");
        list = server.at("en3", T, PHONE, &path);
        text.push_str(&list.text);
    }
    for relation in ["(son)", "(daughter)", "(spouse)"] {
        assert!(text.contains(relation), "{relation} in {text}");
    }
    assert!(
        text.contains("divorced") && text.contains("birth certificate"),
        "{text}"
    );
    let mismatch = server.at("en4", T, STRANGER, &format!("9*1*{}", w.holder));
    assert!(
        mismatch.text.contains("does not match this mobile number"),
        "{}",
        mismatch.text
    );
    let general = server.at("en5", T, STRANGER, &format!("2*{}", w.expired));
    assert!(
        general.text.contains("has no treatment coverage"),
        "{}",
        general.text
    );
    let wrong = server.at("en6", T, STRANGER, "2*12");
    assert!(
        wrong.is_con() && wrong.text.contains("wrong number of digits"),
        "{}",
        wrong.text
    );
}

#[test]
fn a_locale_is_remembered_when_chosen_and_a_replay_still_switches_the_same_way() {
    let (w, lines) = world();
    let mut server = TestServer::start(&lines);
    assert!(server
        .at("c1", T, PHONE, "9")
        .text
        .contains("My eligibility"));
    // Chosen, not yet ended: the caller's next session already opens in English.
    assert!(server
        .at("c2", T, PHONE, "")
        .text
        .contains("My eligibility"));
    server.restart();
    // The choosing session, replayed from its root, started in Persian: its 9 still means English.
    let end = server.at("c1", T, PHONE, &format!("9*1*{}", w.holder));
    assert!(end.text.contains("has treatment coverage"), "{}", end.text);
    // Another session replayed after the restart opens in English as chosen.
    let other = server.at("c3", T, PHONE, &format!("1*{}", w.holder));
    assert!(
        other.text.contains("has treatment coverage"),
        "{}",
        other.text
    );
}

#[test]
fn a_session_dropped_while_reading_an_answer_leaves_no_offer() {
    let (_, lines) = world();
    let server = TestServer::start_with(&lines, |c| {
        c.sessions.idle_s = 1;
        c.sessions.sweep_ms = 100;
    });
    let list = server.at("q1", T, PHONE, "3");
    assert!(
        list.is_con() && list.latin().contains("98."),
        "a long answer: {list:?}"
    );
    std::thread::sleep(std::time::Duration::from_millis(1_600));
    let next = server.at("q2", T, PHONE, "");
    assert!(
        next.text.contains("۱.") && !next.text.contains("ادامه"),
        "{}",
        next.text
    );
}
