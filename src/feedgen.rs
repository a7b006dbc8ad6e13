//! A synthetic change feed: households for `tamin`, insured people for `osms`, deterministic
//! from a seed, for the sample data, tests and benchmarks.
//!
//! Where it sits: beside the feed path, never in it; it only writes NDJSON that `feed` reads.
//! Identifiers are valid (Iranian national codes and Kazakh IINs with their check digits) and
//! unique: each comes from a counter through a seeded permutation, not from a random draw, so
//! no two people collide and no table of used numbers is kept. That is also what lets it
//! stream: a million people need no memory proportional to the count.
//!
//! What it must never do: read the store, or produce identifiers that clash with the hand-picked
//! sample people (those use national codes starting `00`, IIN serials below `0100`, and MSISDN
//! suffixes below `0001000`; generated ones never do).

use crate::ids::{iin_control_digit, national_check_digit};
use crate::record::{
    Attachment, Coverage, CoverageStatus, Facts, HolderLink, MonthKey, Person, Relation, Sex,
};
use jiff::civil::Date;
use jiff::ToSpan;
use std::io::{self, Write};

/// Writes `people` generated people as upserts with `seq` 1, 2, ...; returns the last `seq`.
pub fn write_feed(out: &mut impl Write, people: usize, seed: u64, today: Date) -> io::Result<u64> {
    write_feed_after(out, people, seed, today, 0)
}

/// As [`write_feed`], numbering from `after_seq + 1` (to append to an existing feed).
pub fn write_feed_after(
    out: &mut impl Write,
    people: usize,
    seed: u64,
    today: Date,
    after_seq: u64,
) -> io::Result<u64> {
    let mut generator = Generator::new(seed, today, after_seq, people);
    while generator.left > 0 {
        // A household is about four people: this gives roughly two tamin people to one osms.
        if generator.rng.chance(33) {
            generator.tamin_household(out)?;
        } else {
            generator.osms_person(out)?;
        }
    }
    Ok(generator.seq)
}

const TAMIN_SURNAMES: [&str; 12] = [
    "Ahmadi",
    "Rezaei",
    "Mohammadi",
    "Hosseini",
    "Karimi",
    "Moradi",
    "Jafari",
    "Rahimi",
    "Kazemi",
    "Sadeghi",
    "Nazari",
    "Ebrahimi",
];
const OSMS_SURNAMES: [&str; 10] = [
    "Nurlanov",
    "Seitkali",
    "Akhmetov",
    "Zhakupov",
    "Omarov",
    "Bekova",
    "Tulegenova",
    "Ivanova",
    "Sadykov",
    "Abenova",
];
const INITIALS: &[u8] = b"ABDEFGHKLMNRSZ";
const PROVIDERS: [&str; 5] = [
    "City polyclinic No. 5",
    "City polyclinic No. 11",
    "Family health centre Saryarka",
    "District hospital Talgar",
    "Medical centre Keruen",
];

/// SplitMix64: small, fast, and the same on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`); the modulo bias is irrelevant here.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// A number in `lo..=hi`.
    fn between(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1).max(1) as u64) as i64
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// A bijection of `0..m` (`x ↦ a·x + b mod m`, `a` coprime with `m`), walked by a counter:
/// distinct outputs for the first `m` draws, in a scattered order.
struct Permutation {
    m: u64,
    a: u64,
    b: u64,
    next: u64,
}

impl Permutation {
    fn new(m: u64, rng: &mut Rng) -> Permutation {
        let mut a = rng.below(m) | 1;
        while gcd(a, m) != 1 {
            a += 2;
        }
        Permutation {
            m,
            a,
            b: rng.below(m),
            next: 0,
        }
    }

    fn take(&mut self) -> u64 {
        let x = self.next % self.m;
        self.next += 1;
        ((u128::from(self.a) * u128::from(x) + u128::from(self.b)) % u128::from(self.m)) as u64
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Days of birth dates an IIN can be generated for (about 80 years before today).
const IIN_DAYS: u64 = 80 * 365;
/// Serial blocks per birth date; a block is ten serials tried in turn for a check digit.
const IIN_BLOCKS: u64 = 900;

struct Generator {
    rng: Rng,
    today: Date,
    seq: u64,
    left: usize,
    national_codes: Permutation,
    iins: Permutation,
    tamin_phones: Permutation,
    osms_phones: Permutation,
    /// The last holder's phone, for the occasional family phone.
    last_phone: Option<String>,
}

impl Generator {
    fn new(seed: u64, today: Date, after_seq: u64, people: usize) -> Generator {
        let mut rng = Rng(seed);
        Generator {
            national_codes: Permutation::new(990_000_000, &mut rng),
            iins: Permutation::new(IIN_DAYS * IIN_BLOCKS, &mut rng),
            tamin_phones: Permutation::new(9_999_000, &mut rng),
            osms_phones: Permutation::new(9_999_000, &mut rng),
            rng,
            today,
            seq: after_seq,
            left: people,
            last_phone: None,
        }
    }

    /// Writes one upsert line, `seq` first (so a resuming reader can skip it unparsed).
    fn emit(&mut self, out: &mut impl Write, person: &Person) -> io::Result<()> {
        if self.left == 0 {
            return Ok(());
        }
        let mut value = serde_json::to_value(person).map_err(io::Error::other)?;
        strip_empty(&mut value);
        self.seq += 1;
        self.left -= 1;
        write!(out, "{{\"seq\":{},\"op\":\"upsert\",\"person\":", self.seq)?;
        serde_json::to_writer(&mut *out, &value).map_err(io::Error::other)?;
        out.write_all(b"}\n")
    }

    fn tamin_household(&mut self, out: &mut impl Write) -> io::Result<()> {
        let surname = self.rng.pick(&TAMIN_SURNAMES);
        let sex = if self.rng.chance(75) { Sex::M } else { Sex::F };
        let age = self.rng.between(22, 70);
        let holder = Person {
            insurer: "tamin".into(),
            person_id: self.national_code(),
            name: Some(self.name(surname)),
            birth_date: Some(self.born(age)),
            sex: Some(sex),
            msisdns: self.tamin_msisdns(),
            coverage: Some(self.tamin_coverage()),
            ..Person::default()
        };
        self.emit(out, &holder)?;
        if self.rng.chance(70) {
            let spouse_sex = if sex == Sex::M { Sex::F } else { Sex::M };
            let spouse_age = (age + self.rng.between(-6, 6)).max(18);
            let facts = Facts {
                divorced: self.rng.chance(6),
                income: self.rng.chance(30),
                ..Facts::default()
            };
            self.dependent(
                out,
                &holder,
                Relation::Spouse,
                spouse_sex,
                spouse_age,
                facts,
            )?;
        }
        for _ in 0..self.rng.below(5) {
            let child_age = self.rng.between(0, (age - 18).min(30));
            if self.rng.chance(50) {
                let facts = self.son_facts(child_age);
                self.dependent(out, &holder, Relation::Son, Sex::M, child_age, facts)?;
            } else {
                let facts = self.daughter_facts(child_age);
                self.dependent(out, &holder, Relation::Daughter, Sex::F, child_age, facts)?;
            }
        }
        for (relation, parent_sex, chance) in [
            (Relation::Father, Sex::M, 10),
            (Relation::Mother, Sex::F, 12),
        ] {
            if self.rng.chance(chance) {
                let parent_age = age + self.rng.between(20, 35);
                let facts = Facts {
                    income: self.rng.chance(50),
                    ..Facts::default()
                };
                self.dependent(out, &holder, relation, parent_sex, parent_age, facts)?;
            }
        }
        Ok(())
    }

    fn dependent(
        &mut self,
        out: &mut impl Write,
        holder: &Person,
        relation: Relation,
        sex: Sex,
        age: i64,
        facts: Facts,
    ) -> io::Result<()> {
        let surname = holder
            .name
            .as_deref()
            .and_then(|n| n.split(' ').next_back())
            .unwrap_or("Ahmadi");
        let person = Person {
            insurer: "tamin".into(),
            person_id: self.national_code(),
            name: Some(self.name(surname)),
            birth_date: Some(self.born(age)),
            sex: Some(sex),
            holder: Some(HolderLink {
                person_id: holder.person_id.clone(),
                relation,
            }),
            facts: Some(facts),
            ..Person::default()
        };
        self.emit(out, &person)
    }

    fn son_facts(&mut self, age: i64) -> Facts {
        let mut facts = Facts {
            disabled: self.rng.chance(4),
            ..Facts::default()
        };
        if age >= 18 && self.rng.chance(45) {
            facts.documents.push("university_certificate".into());
            facts.student_until = Some(self.day_from_today(-180, 1100));
        }
        facts
    }

    fn daughter_facts(&mut self, age: i64) -> Facts {
        let mut facts = Facts::default();
        if self.rng.chance(80) {
            facts.documents.push("birth_certificate".into());
        }
        if age >= 18 {
            facts.married = self.rng.chance(30);
            facts.income = self.rng.chance(15);
        }
        facts
    }

    fn tamin_coverage(&mut self) -> Coverage {
        let from = Some(self.day_from_today(-15 * 365, -30));
        let roll = self.rng.below(100);
        let (status, from, until) = match roll {
            0..=68 => (
                CoverageStatus::Active,
                from,
                Some(self.day_from_today(30, 1100)),
            ),
            69..=76 => (CoverageStatus::Active, from, None),
            77..=84 => (
                CoverageStatus::Active,
                from,
                Some(self.day_from_today(-700, -1)),
            ),
            85..=90 => (
                CoverageStatus::Suspended,
                from,
                Some(self.day_from_today(30, 700)),
            ),
            91..=95 => (
                CoverageStatus::Ended,
                from,
                Some(self.day_from_today(-900, -1)),
            ),
            _ => {
                let start = self.day_from_today(1, 180);
                (
                    CoverageStatus::Active,
                    Some(start),
                    start.checked_add(1.year()).ok(),
                )
            }
        };
        Coverage {
            status,
            from,
            until,
        }
    }

    fn tamin_msisdns(&mut self) -> Vec<String> {
        let roll = self.rng.below(100);
        let own = format!("98912{:07}", 1000 + self.tamin_phones.take());
        let phones = match (roll, self.last_phone.take()) {
            (0..=4, _) => Vec::new(),
            (5..=7, Some(family)) => vec![family],
            (8..=17, _) => {
                let second = format!("98912{:07}", 1000 + self.tamin_phones.take());
                vec![own, second]
            }
            _ => vec![own],
        };
        self.last_phone = phones.first().cloned();
        phones
    }

    fn osms_person(&mut self, out: &mut impl Write) -> io::Result<()> {
        let sex = if self.rng.chance(50) { Sex::M } else { Sex::F };
        let (person_id, birth_date) = self.iin(sex);
        let insured = self.rng.chance(82);
        let status = match (insured, self.rng.chance(20)) {
            (true, _) => CoverageStatus::Active,
            (false, true) => CoverageStatus::Ended,
            (false, false) => CoverageStatus::Suspended,
        };
        let attachment = self.rng.chance(70).then(|| Attachment {
            provider: self.rng.pick(&PROVIDERS).to_string(),
            since: Some(self.day_from_today(-3000, -30)),
        });
        let msisdns = if self.rng.chance(90) {
            vec![format!("7701{:07}", 1000 + self.osms_phones.take())]
        } else {
            Vec::new()
        };
        let surname = self.rng.pick(&OSMS_SURNAMES);
        let person = Person {
            insurer: "osms".into(),
            person_id,
            name: Some(self.name(surname)),
            birth_date: Some(birth_date),
            sex: Some(sex),
            msisdns,
            coverage: Some(Coverage {
                status,
                from: Some(self.day_from_today(-3000, -30)),
                until: None,
            }),
            contributions: self.contributions(insured),
            attachment,
            ..Person::default()
        };
        self.emit(out, &person)
    }

    /// The last 14 months before this one: mostly paid when insured, with gaps (a run of
    /// three unpaid months now and then), mostly unpaid when not.
    fn contributions(&mut self, insured: bool) -> Vec<(MonthKey, bool)> {
        let mut month = MonthKey::of(self.today);
        let gap_at = self.rng.chance(15).then(|| self.rng.below(12));
        let mut out = Vec::with_capacity(14);
        for i in 0..14 {
            month = month.previous();
            let in_gap = gap_at.is_some_and(|g| (g..g + 3).contains(&i));
            let paid = !in_gap && self.rng.chance(if insured { 92 } else { 25 });
            out.push((month, paid));
        }
        out.reverse();
        out
    }

    /// A national code from the permutation: nine digits not starting `00`, not a repdigit
    /// (those pass the checksum but are invalid, SPEC §3), plus the check digit.
    fn national_code(&mut self) -> String {
        loop {
            let body = 10_000_000 + self.national_codes.take();
            let digits = digits::<9>(body);
            if digits.iter().all(|d| *d == digits[0]) {
                continue;
            }
            return format!("{body:09}{}", national_check_digit(&digits));
        }
    }

    /// An IIN and the birth date it encodes: the permutation gives a day and a serial block;
    /// the first serial of the block with a valid check digit is used.
    fn iin(&mut self, sex: Sex) -> (String, Date) {
        loop {
            let n = self.iins.take();
            let born = self.day_from_today_exact(-((n % IIN_DAYS) as i64) - 1);
            let block = 10 + n / IIN_DAYS;
            let century = match (born.year() / 100, sex) {
                (18, Sex::M) => 1,
                (18, Sex::F) => 2,
                (19, Sex::M) => 3,
                (19, Sex::F) => 4,
                (_, Sex::M) => 5,
                (_, Sex::F) => 6,
            };
            let date = (born.year().rem_euclid(100) as u64) * 10_000
                + born.month() as u64 * 100
                + born.day() as u64;
            for k in 0..10 {
                let body = (date * 10 + century) * 10_000 + block * 10 + k;
                if let Some(c) = iin_control_digit(&digits::<11>(body)) {
                    return (format!("{body:011}{c}"), born);
                }
            }
        }
    }

    fn name(&mut self, surname: &str) -> String {
        let initial = INITIALS[self.rng.below(INITIALS.len() as u64) as usize] as char;
        format!("{initial}. {surname}")
    }

    /// A birth date for someone `age` years old today.
    fn born(&mut self, age: i64) -> Date {
        let days = age * 365 + self.rng.between(0, 364);
        self.day_from_today_exact(-days)
    }

    fn day_from_today(&mut self, lo: i64, hi: i64) -> Date {
        let days = self.rng.between(lo, hi);
        self.day_from_today_exact(days)
    }

    fn day_from_today_exact(&self, days: i64) -> Date {
        self.today.checked_add(days.days()).unwrap_or(self.today)
    }
}

/// The last `N` decimal digits of `n`, most significant first.
fn digits<const N: usize>(mut n: u64) -> [u8; N] {
    let mut out = [0u8; N];
    for d in out.iter_mut().rev() {
        *d = (n % 10) as u8;
        n /= 10;
    }
    out
}

/// Drops nulls, `false` facts, empty lists and empty objects, so a line carries only what the
/// person has. Contributions keep their `false`: an unpaid month is worth showing as such.
fn strip_empty(v: &mut serde_json::Value) {
    use serde_json::Value;
    let Value::Object(map) = v else {
        return;
    };
    for (key, child) in map.iter_mut() {
        if key != "contributions" {
            strip_empty(child);
        }
    }
    map.retain(|_, child| match child {
        Value::Null | Value::Bool(false) => false,
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Change, ChangeOp};
    use std::collections::HashSet;

    fn today() -> Date {
        jiff::civil::date(2026, 11, 25)
    }

    fn valid_national_code(id: &str) -> bool {
        let Ok(n) = id.parse::<u64>() else {
            return false;
        };
        let d = digits::<10>(n);
        let first9: [u8; 9] = d[..9].try_into().expect("nine digits");
        id.len() == 10 && national_check_digit(&first9) == d[9]
    }

    fn valid_iin(id: &str) -> bool {
        let Ok(n) = id.parse::<u64>() else {
            return false;
        };
        let d = digits::<12>(n);
        let first11: [u8; 11] = d[..11].try_into().expect("eleven digits");
        id.len() == 12 && iin_control_digit(&first11) == Some(d[11])
    }

    #[test]
    fn the_feed_is_deterministic_and_counts_people() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        assert_eq!(write_feed(&mut a, 500, 7, today()).expect("write"), 500);
        write_feed(&mut b, 500, 7, today()).expect("write");
        assert_eq!(a, b);
        assert_eq!(a.iter().filter(|c| **c == b'\n').count(), 500);
        let mut c = Vec::new();
        write_feed(&mut c, 500, 8, today()).expect("write");
        assert_ne!(a, c);
    }

    #[test]
    fn generated_people_are_unique_and_valid() {
        let mut feed = Vec::new();
        write_feed_after(&mut feed, 5_000, 42, today(), 100).expect("write");
        let mut ids = HashSet::new();
        let mut expected_seq = 100;
        for line in feed.split(|c| *c == b'\n').filter(|l| !l.is_empty()) {
            let change: Change = serde_json::from_slice(line).expect("a change");
            expected_seq += 1;
            assert_eq!(change.seq, expected_seq);
            let ChangeOp::Upsert { person } = change.op else {
                panic!("only upserts")
            };
            let id = &person.person_id;
            assert!(ids.insert(id.clone()), "duplicate {id}");
            match person.insurer.as_str() {
                "tamin" => {
                    assert!(valid_national_code(id), "{id}");
                    assert!(!id.starts_with("00"), "{id}");
                }
                "osms" => {
                    assert!(valid_iin(id), "{id}");
                    let born = person.birth_date.expect("born");
                    assert_eq!(&id[..6], born.strftime("%y%m%d").to_string(), "{id}");
                }
                other => panic!("insurer {other}"),
            }
        }
        assert_eq!(expected_seq, 5_100);
    }
}
