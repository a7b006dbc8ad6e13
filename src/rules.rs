//! Entitlement rules (SPEC §5.1): whether a person is covered on a given day, until when, and if
//! not, why, in domain words ([`Reason`]) that the screens translate.
//!
//! Pure functions of a record, its holder's record, a [`RuleConfig`] and "today" (the date in the
//! service's time zone, chosen by the caller). No IO, no store, no clock, no text a caller reads:
//! the age limits and the documents a rule asks for are configuration, never literals here.
//! Also holds the `osms` status and its 12-month contribution row.

use crate::record::{Coverage, CoverageStatus, Facts, MonthKey, Person, Relation};
use jiff::civil::Date;
use serde::Deserialize;

/// Which column of SPEC §5.1's table a service applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RuleSet {
    /// Iran, Social Security Organization.
    #[default]
    Tamin,
    /// Tunisia, CNAM (law 2004-71).
    Cnam,
    /// Tunisia, the complementary mutual fund.
    Mutual,
}

/// How "unmarried and without income" is read for a daughter. The CNAM notice (seed 000) words
/// it «غير المتزوجة أو التي لا تملك مورد رزق» ("or"); SPEC §5.1 applies "and" by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum DaughterRule {
    #[default]
    UnmarriedAndNoIncome,
    UnmarriedOrNoIncome,
}

/// The numbers and documents of a service's rules. Missing keys take the values of the chosen
/// `rule_set` ([`RuleConfig::for_set`]), not of another set; unknown keys are refused. An empty
/// document name means that no document is required.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RuleConfigFile")]
pub(crate) struct RuleConfig {
    pub(crate) rule_set: RuleSet,
    /// A son is covered on the ground of age while younger than this.
    pub(crate) son_age_limit: i16,
    /// A daughter is covered on the ground of age while younger than this (`cnam`, `mutual`).
    pub(crate) child_age_limit: i16,
    /// A student is covered while younger than this; `None`: no age limit on studies (`tamin`).
    pub(crate) student_age_limit: Option<i16>,
    /// The document a son's studies need on file (`tamin`); `None`: none.
    pub(crate) son_student_document: Option<String>,
    /// The document a daughter needs on file (`tamin`); `None`: none.
    pub(crate) daughter_document: Option<String>,
    pub(crate) daughter_rule: DaughterRule,
}

impl RuleConfig {
    /// SPEC §5.1's values for a rule set.
    pub(crate) fn for_set(rule_set: RuleSet) -> RuleConfig {
        let tamin = rule_set == RuleSet::Tamin;
        RuleConfig {
            rule_set,
            son_age_limit: if tamin { 19 } else { 20 },
            child_age_limit: 20,
            student_age_limit: (rule_set == RuleSet::Mutual).then_some(25),
            son_student_document: tamin.then(|| "university_certificate".to_owned()),
            daughter_document: tamin.then(|| "birth_certificate".to_owned()),
            daughter_rule: DaughterRule::default(),
        }
    }
}

impl Default for RuleConfig {
    fn default() -> RuleConfig {
        RuleConfig::for_set(RuleSet::default())
    }
}

/// The configuration as written in a service's file: every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RuleConfigFile {
    rule_set: Option<RuleSet>,
    son_age_limit: Option<i16>,
    child_age_limit: Option<i16>,
    student_age_limit: Option<i16>,
    son_student_document: Option<String>,
    daughter_document: Option<String>,
    daughter_rule: Option<DaughterRule>,
}

/// Ages a rule may name; anything else is a typo in a configuration file.
const AGE_LIMITS: std::ops::RangeInclusive<i16> = 0..=150;

impl TryFrom<RuleConfigFile> for RuleConfig {
    type Error = String;

    fn try_from(file: RuleConfigFile) -> Result<RuleConfig, String> {
        let base = RuleConfig::for_set(file.rule_set.unwrap_or_default());
        let document = |set: Option<String>, default| match set {
            Some(name) if name.is_empty() => None,
            Some(name) => Some(name),
            None => default,
        };
        let cfg = RuleConfig {
            rule_set: base.rule_set,
            son_age_limit: file.son_age_limit.unwrap_or(base.son_age_limit),
            child_age_limit: file.child_age_limit.unwrap_or(base.child_age_limit),
            student_age_limit: file.student_age_limit.or(base.student_age_limit),
            son_student_document: document(file.son_student_document, base.son_student_document),
            daughter_document: document(file.daughter_document, base.daughter_document),
            daughter_rule: file.daughter_rule.unwrap_or(base.daughter_rule),
        };
        let limits = [cfg.son_age_limit, cfg.child_age_limit];
        if limits
            .iter()
            .chain(&cfg.student_age_limit)
            .any(|l| !AGE_LIMITS.contains(l))
        {
            return Err(format!("an age limit is outside {AGE_LIMITS:?}"));
        }
        Ok(cfg)
    }
}

/// The answer for one person on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entitlement {
    /// Covered through `until` inclusive; `None`: open-ended.
    Covered {
        until: Option<Date>,
    },
    NotCovered(Reason),
}

impl Entitlement {
    pub(crate) fn is_covered(&self) -> bool {
        matches!(self, Entitlement::Covered { .. })
    }
}

/// Why a person is not covered. Each has a key in the locale files ([`Reason::key`]); keys are
/// stable: a translator's table and the audit trail depend on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Reason {
    /// The record carries no coverage at all.
    NoCoverage,
    /// `coverage.status` is `suspended`.
    Suspended,
    /// `coverage.status` is `ended`.
    Ended,
    /// Active, but `until` is before today.
    Expired,
    /// Active, but `from` is after today.
    NotStarted,
    /// A dependent whose holder is not covered.
    HolderNotCovered,
    /// A dependent whose holder's record is not held.
    NoHolderRecord,
    /// A spouse who is divorced (and, for `mutual`, without custody).
    Divorced,
    /// Covered elsewhere (law 2004-71: beneficiaries have no cover of their own).
    OtherCover,
    /// Past the age limit, with no other ground.
    AgeLimit,
    /// An age ground would decide, but the record has no birth date.
    NoBirthDate,
    /// Past the age limit and not (or no longer) a student.
    NotStudent,
    /// A son past the age limit without the study document on file (`tamin`).
    NoUniversityCertificate,
    /// A daughter without the document on file (`tamin`).
    NoBirthCertificate,
    /// A daughter who is married (and without income), with no other ground.
    Married,
    /// A parent with an income (`tamin`), or a daughter with an income (and unmarried), with no
    /// other ground.
    Income,
    /// A daughter who is married and has an income, with no other ground.
    MarriedWithIncome,
}

impl Reason {
    /// Every reason, for checking that each has a translation.
    pub(crate) const ALL: [Reason; 17] = [
        Reason::NoCoverage,
        Reason::Suspended,
        Reason::Ended,
        Reason::Expired,
        Reason::NotStarted,
        Reason::HolderNotCovered,
        Reason::NoHolderRecord,
        Reason::Divorced,
        Reason::OtherCover,
        Reason::AgeLimit,
        Reason::NoBirthDate,
        Reason::NotStudent,
        Reason::NoUniversityCertificate,
        Reason::NoBirthCertificate,
        Reason::Married,
        Reason::Income,
        Reason::MarriedWithIncome,
    ];

    /// The key of this reason in the locale files.
    pub(crate) fn key(&self) -> &'static str {
        match self {
            Reason::NoCoverage => "no_coverage",
            Reason::Suspended => "suspended",
            Reason::Ended => "ended",
            Reason::Expired => "expired",
            Reason::NotStarted => "not_started",
            Reason::HolderNotCovered => "holder_not_covered",
            Reason::NoHolderRecord => "no_holder_record",
            Reason::Divorced => "divorced",
            Reason::OtherCover => "other_cover",
            Reason::AgeLimit => "age_limit",
            Reason::NoBirthDate => "no_birth_date",
            Reason::NotStudent => "not_student",
            Reason::NoUniversityCertificate => "no_university_certificate",
            Reason::NoBirthCertificate => "no_birth_certificate",
            Reason::Married => "married",
            Reason::Income => "income",
            Reason::MarriedWithIncome => "married_with_income",
        }
    }
}

/// How long something holds. `Until(_)` sorts before `Open`, and dates in their order, so `max`
/// is the later end and `min` the earlier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Span {
    Until(Date),
    Open,
}

impl Span {
    fn from_until(until: Option<Date>) -> Span {
        until.map_or(Span::Open, Span::Until)
    }

    fn covered(self) -> Entitlement {
        let until = match self {
            Span::Until(date) => Some(date),
            Span::Open => None,
        };
        Entitlement::Covered { until }
    }
}

/// Whole years completed on `today`; negative when `birth` is after `today`.
pub(crate) fn age_on(birth: Date, today: Date) -> i16 {
    let years = today.year() - birth.year();
    if today < birthday_in(birth, today.year()) {
        years - 1
    } else {
        years
    }
}

/// The birthday of someone born on `birth` in `year`; a 29 February birthday falls on 1 March in
/// a year that has no 29 February. Years beyond the calendar's range are clamped to it.
pub(crate) fn birthday_in(birth: Date, year: i16) -> Date {
    let year = year.clamp(Date::MIN.year(), Date::MAX.year());
    Date::new(year, birth.month(), birth.day())
        .or_else(|_| Date::new(year, 3, 1))
        // Unreachable: every other month and day exists in every year of the range.
        .unwrap_or(birth)
}

/// The last day of an age ground: the day before the birthday at which `limit` is reached.
fn last_day_under(birth: Date, limit: i16) -> Date {
    let birthday = birthday_in(birth, birth.year().saturating_add(limit));
    birthday.yesterday().unwrap_or(birthday)
}

/// Where the coverage on a record, alone, leaves a person today.
fn coverage_span(coverage: &Coverage, today: Date) -> Result<Span, Reason> {
    match coverage.status {
        CoverageStatus::Suspended => return Err(Reason::Suspended),
        CoverageStatus::Ended => return Err(Reason::Ended),
        CoverageStatus::Active => {}
    }
    if coverage.from.is_some_and(|from| from > today) {
        return Err(Reason::NotStarted);
    }
    if coverage.until.is_some_and(|until| until < today) {
        return Err(Reason::Expired);
    }
    Ok(Span::from_until(coverage.until))
}

fn holder_span(person: &Person, today: Date) -> Result<Span, Reason> {
    match &person.coverage {
        Some(coverage) => coverage_span(coverage, today),
        None => Err(Reason::NoCoverage),
    }
}

/// A holder's entitlement: their own coverage, and nothing else (SPEC §5.1).
#[cfg(test)]
pub(crate) fn holder_entitlement(person: &Person, today: Date) -> Entitlement {
    match holder_span(person, today) {
        Ok(span) => span.covered(),
        Err(reason) => Entitlement::NotCovered(reason),
    }
}

/// A person's entitlement. A record without a holder link is a holder. A dependent is covered
/// when `holder` (the record its link names) is covered, its relation's rule holds, and its own
/// coverage, if it has one, holds; it is covered until the earliest of those ends. A `holder`
/// whose `person_id` or `insurer` differs from the link's is treated as absent. When several
/// reasons apply, the holder's comes first, then the rule's, then the own coverage's.
pub(crate) fn entitlement(
    person: &Person,
    holder: Option<&Person>,
    cfg: &RuleConfig,
    today: Date,
) -> Entitlement {
    match dependent_span(person, holder, cfg, today) {
        Ok(span) => span.covered(),
        Err(reason) => Entitlement::NotCovered(reason),
    }
}

fn dependent_span(
    person: &Person,
    holder: Option<&Person>,
    cfg: &RuleConfig,
    today: Date,
) -> Result<Span, Reason> {
    let Some(link) = &person.holder else {
        return holder_span(person, today);
    };
    // A record that is not the one the link names is no holder of this person: never answer
    // for one person with another's coverage.
    let holder = holder
        .filter(|h| h.person_id == link.person_id && h.insurer == person.insurer)
        .ok_or(Reason::NoHolderRecord)?;
    let holder = holder_span(holder, today).map_err(|_| Reason::HolderNotCovered)?;
    let empty = Facts::default();
    let dependent = Dependent {
        person,
        facts: person.facts.as_ref().unwrap_or(&empty),
        cfg,
        today,
    };
    let rule = dependent.rule(link.relation)?;
    let own = match &person.coverage {
        Some(coverage) => coverage_span(coverage, today)?,
        None => Span::Open,
    };
    Ok(holder.min(rule).min(own))
}

/// One dependent on one day, under one configuration: the grounds of SPEC §5.1's table.
struct Dependent<'a> {
    person: &'a Person,
    facts: &'a Facts,
    cfg: &'a RuleConfig,
    today: Date,
}

/// The latest-ending ground that holds, if any.
fn latest<const N: usize>(grounds: [Option<Span>; N]) -> Option<Span> {
    grounds.into_iter().flatten().max()
}

impl Dependent<'_> {
    fn rule(&self, relation: Relation) -> Result<Span, Reason> {
        match self.cfg.rule_set {
            RuleSet::Tamin => self.tamin(relation),
            RuleSet::Cnam => self.cnam(relation),
            RuleSet::Mutual => self.mutual(relation),
        }
    }

    fn tamin(&self, relation: Relation) -> Result<Span, Reason> {
        match relation {
            Relation::Spouse => self.not_divorced(),
            Relation::Son => latest([
                self.younger_than(self.cfg.son_age_limit),
                self.disabled(),
                self.student(),
            ])
            .ok_or_else(|| self.why_not_student()),
            Relation::Daughter => {
                if !self.has(&self.cfg.daughter_document) {
                    return Err(Reason::NoBirthCertificate);
                }
                self.unmarried_without_income()
                    .ok_or_else(|| self.why_not_unmarried_without_income())
            }
            Relation::Father | Relation::Mother => {
                if self.facts.income {
                    Err(Reason::Income)
                } else {
                    Ok(Span::Open)
                }
            }
        }
    }

    fn cnam(&self, relation: Relation) -> Result<Span, Reason> {
        let span = match relation {
            Relation::Spouse => self.not_divorced()?,
            Relation::Son => latest([self.younger_than(self.cfg.son_age_limit), self.disabled()])
                .ok_or_else(|| self.why_too_old())?,
            Relation::Daughter => self.daughter(false)?,
            Relation::Father | Relation::Mother => Span::Open,
        };
        self.without_other_cover(span)
    }

    fn mutual(&self, relation: Relation) -> Result<Span, Reason> {
        match relation {
            // As `cnam`, or divorced with custody of the children (seed 001's special regime).
            Relation::Spouse if self.facts.divorced && self.facts.custody => Ok(Span::Open),
            Relation::Son => {
                let span = latest([
                    self.younger_than(self.cfg.son_age_limit),
                    self.disabled(),
                    self.student(),
                ])
                .ok_or_else(|| self.why_not_student())?;
                self.without_other_cover(span)
            }
            Relation::Daughter => self.without_other_cover(self.daughter(true)?),
            _ => self.cnam(relation),
        }
    }

    /// `cnam` and `mutual`: younger than the limit, or unmarried without income at any age, or
    /// disabled, or (`mutual`) a student as for a son.
    fn daughter(&self, with_studies: bool) -> Result<Span, Reason> {
        latest([
            self.younger_than(self.cfg.child_age_limit),
            self.unmarried_without_income(),
            self.disabled(),
            self.student().filter(|_| with_studies),
        ])
        .ok_or_else(|| self.why_not_unmarried_without_income())
    }

    /// Which of the two facts the record holds, when "unmarried and without income" fails.
    fn why_not_unmarried_without_income(&self) -> Reason {
        match (self.facts.married, self.facts.income) {
            (true, false) => Reason::Married,
            (false, true) => Reason::Income,
            _ => Reason::MarriedWithIncome,
        }
    }

    fn not_divorced(&self) -> Result<Span, Reason> {
        if self.facts.divorced {
            Err(Reason::Divorced)
        } else {
            Ok(Span::Open)
        }
    }

    fn without_other_cover(&self, span: Span) -> Result<Span, Reason> {
        if self.facts.other_cover {
            Err(Reason::OtherCover)
        } else {
            Ok(span)
        }
    }

    /// The age ground: holds until the day before the birthday of `limit`; a record without a
    /// birth date does not hold it.
    fn younger_than(&self, limit: i16) -> Option<Span> {
        let birth = self.person.birth_date?;
        (age_on(birth, self.today) < limit).then(|| Span::Until(last_day_under(birth, limit)))
    }

    fn disabled(&self) -> Option<Span> {
        self.facts.disabled.then_some(Span::Open)
    }

    fn unmarried_without_income(&self) -> Option<Span> {
        let (unmarried, no_income) = (!self.facts.married, !self.facts.income);
        let holds = match self.cfg.daughter_rule {
            DaughterRule::UnmarriedAndNoIncome => unmarried && no_income,
            DaughterRule::UnmarriedOrNoIncome => unmarried || no_income,
        };
        holds.then_some(Span::Open)
    }

    /// The student ground: the study document on file (where one is configured), under the
    /// student age limit (where one is configured), and `student_until` today or later; it
    /// holds until the earlier of `student_until` and the age limit.
    fn student(&self) -> Option<Span> {
        let until = self.facts.student_until.filter(|u| *u >= self.today)?;
        if !self.has(&self.cfg.son_student_document) {
            return None;
        }
        let studies = Span::Until(until);
        match self.cfg.student_age_limit {
            None => Some(studies),
            Some(limit) => self.younger_than(limit).map(|age| age.min(studies)),
        }
    }

    /// Why a son (or a `mutual` child) past the age ground is not covered as a student either.
    fn why_not_student(&self) -> Reason {
        if self.cfg.student_age_limit.is_some() {
            match self.person.birth_date {
                None => return Reason::NoBirthDate,
                Some(_) if self.student_age_limit_reached() => return Reason::AgeLimit,
                Some(_) => {}
            }
        }
        if !self.has(&self.cfg.son_student_document) {
            return Reason::NoUniversityCertificate;
        }
        Reason::NotStudent
    }

    fn student_age_limit_reached(&self) -> bool {
        match (self.cfg.student_age_limit, self.person.birth_date) {
            (Some(limit), Some(birth)) => age_on(birth, self.today) >= limit,
            _ => false,
        }
    }

    /// Why a son under a rule with no student ground is not covered.
    fn why_too_old(&self) -> Reason {
        if self.person.birth_date.is_none() {
            Reason::NoBirthDate
        } else {
            Reason::AgeLimit
        }
    }

    /// Whether a configured document is on file; no document configured means nothing to ask.
    fn has(&self, document: &Option<String>) -> bool {
        document
            .as_deref()
            .is_none_or(|kind| self.facts.has_document(kind))
    }
}

/// The end date that passed for a person not covered, where a record holds one: their own
/// coverage's `until` when it is before `today`, else (a dependent) their holder's. SPEC §2.1
/// shows it on option 1 beside the status.
pub fn ended_on(person: &Person, holder: Option<&Person>, today: Date) -> Option<Date> {
    let passed = |p: &Person| {
        p.coverage
            .as_ref()
            .and_then(|c| c.until)
            .filter(|until| *until < today)
    };
    passed(person).or_else(|| {
        person.holder.as_ref()?;
        holder.and_then(passed)
    })
}

/// `osms`: insured while the coverage is active, whatever its dates (SPEC §5.1).
pub(crate) fn osms_insured(person: &Person) -> bool {
    person
        .coverage
        .as_ref()
        .is_some_and(|c| c.status == CoverageStatus::Active)
}

/// `osms`: the 12 full calendar months before today's month, oldest first, each with whether a
/// contribution was paid; a month with no entry counts as unpaid.
pub(crate) fn contribution_months(person: &Person, today: Date) -> Vec<(MonthKey, bool)> {
    let mut months: Vec<MonthKey> =
        std::iter::successors(Some(MonthKey::of(today)), |m| Some(m.previous()))
            .skip(1)
            .take(12)
            .collect();
    months.reverse();
    months
        .into_iter()
        .map(|month| (month, paid_in(person, month)))
        .collect()
}

fn paid_in(person: &Person, month: MonthKey) -> bool {
    person
        .contributions
        .iter()
        .any(|(m, paid)| *m == month && *paid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::HolderLink;
    use jiff::civil::date;
    use Entitlement::{Covered, NotCovered};
    use Reason::*;

    const TODAY: Date = date(2026, 3, 15);
    const HOLDER_UNTIL: Date = date(2030, 12, 31);
    const HOLDER_ID: &str = "0087654326";

    fn until(d: Date) -> Entitlement {
        Covered { until: Some(d) }
    }

    const HOLDER_END: Entitlement = Covered {
        until: Some(HOLDER_UNTIL),
    };

    fn coverage(status: CoverageStatus, from: Option<Date>, until: Option<Date>) -> Coverage {
        Coverage {
            status,
            from,
            until,
        }
    }

    fn holder_until(until: Option<Date>) -> Person {
        Person {
            insurer: "test".into(),
            person_id: HOLDER_ID.into(),
            coverage: Some(coverage(
                CoverageStatus::Active,
                Some(date(2020, 1, 1)),
                until,
            )),
            ..Person::default()
        }
    }

    /// Facts from words: `married divorced custody income disabled other uni bc`,
    /// `student=YYYY-MM-DD`.
    fn facts(words: &str) -> Facts {
        let mut f = Facts::default();
        for word in words.split_whitespace() {
            match word {
                "married" => f.married = true,
                "divorced" => f.divorced = true,
                "custody" => f.custody = true,
                "income" => f.income = true,
                "disabled" => f.disabled = true,
                "other" => f.other_cover = true,
                "uni" => f.documents.push("university_certificate".into()),
                "bc" => f.documents.push("birth_certificate".into()),
                _ => match word.strip_prefix("student=") {
                    Some(d) => f.student_until = d.parse().ok(),
                    None => panic!("unknown fact word {word:?}"),
                },
            }
        }
        f
    }

    fn dependent(relation: Relation, birth: Option<Date>, words: &str) -> Person {
        Person {
            insurer: "test".into(),
            person_id: "dependent".into(),
            birth_date: birth,
            holder: Some(HolderLink {
                person_id: HOLDER_ID.into(),
                relation,
            }),
            facts: Some(facts(words)),
            ..Person::default()
        }
    }

    /// Born so as to be `years` old on TODAY, with a birthday on 10 June.
    fn aged(years: i16) -> Option<Date> {
        Some(date(2025 - years, 6, 10))
    }

    type Row = (
        &'static str,
        Relation,
        Option<Date>,
        &'static str,
        Entitlement,
    );

    fn run(set: RuleSet, rows: &[Row]) {
        let cfg = RuleConfig::for_set(set);
        let holder = holder_until(Some(HOLDER_UNTIL));
        for (name, relation, birth, words, want) in rows {
            let person = dependent(*relation, *birth, words);
            let got = entitlement(&person, Some(&holder), &cfg, TODAY);
            assert_eq!(got, *want, "{set:?}: {name}");
        }
    }

    use Relation::{Daughter, Father, Mother, Son, Spouse};

    #[test]
    fn tamin_table() {
        // aged(17): 19th birthday 2027-06-10, 20th 2028-06-10.
        #[rustfmt::skip]
        let rows: &[Row] = &[
            ("spouse", Spouse, aged(40), "", HOLDER_END),
            ("divorced spouse", Spouse, aged(40), "divorced", NotCovered(Divorced)),
            ("spouse with other cover", Spouse, aged(40), "other", HOLDER_END),
            ("son under 19", Son, aged(17), "", until(date(2027, 6, 9))),
            ("son under 19, other cover", Son, aged(17), "other married", until(date(2027, 6, 9))),
            ("son of 20", Son, aged(20), "", NotCovered(NoUniversityCertificate)),
            ("son of 20, disabled", Son, aged(20), "disabled", HOLDER_END),
            ("son of 20, student", Son, aged(20), "uni student=2027-06-30", until(date(2027, 6, 30))),
            ("son of 30, student", Son, aged(30), "uni student=2027-06-30", until(date(2027, 6, 30))),
            ("son of 20, certificate, no end", Son, aged(20), "uni", NotCovered(NotStudent)),
            ("son of 20, studies ended yesterday", Son, aged(20), "uni student=2026-03-14", NotCovered(NotStudent)),
            ("son of 20, studies end today", Son, aged(20), "uni student=2026-03-15", until(TODAY)),
            ("son of 20, student, no certificate", Son, aged(20), "student=2027-06-30", NotCovered(NoUniversityCertificate)),
            ("son of 20, birth certificate only", Son, aged(20), "bc student=2027-06-30", NotCovered(NoUniversityCertificate)),
            ("son under 19, longer studies", Son, aged(17), "uni student=2028-06-30", until(date(2028, 6, 30))),
            ("son under 19, shorter studies", Son, aged(17), "uni student=2026-06-30", until(date(2027, 6, 9))),
            ("son, no birth date", Son, None, "", NotCovered(NoUniversityCertificate)),
            ("son, no birth date, disabled", Son, None, "disabled", HOLDER_END),
            ("son, no birth date, student", Son, None, "uni student=2027-06-30", until(date(2027, 6, 30))),
            ("daughter", Daughter, aged(17), "bc", HOLDER_END),
            ("daughter of 40", Daughter, aged(40), "bc", HOLDER_END),
            ("daughter, no birth certificate", Daughter, aged(17), "", NotCovered(NoBirthCertificate)),
            ("daughter, married, no certificate", Daughter, aged(17), "married", NotCovered(NoBirthCertificate)),
            ("daughter, university certificate only", Daughter, aged(17), "uni", NotCovered(NoBirthCertificate)),
            ("married daughter", Daughter, aged(25), "bc married", NotCovered(Married)),
            ("daughter with income", Daughter, aged(25), "bc income", NotCovered(Income)),
            ("married daughter, disabled", Daughter, aged(25), "bc married disabled", NotCovered(Married)),
            ("daughter, other cover", Daughter, aged(25), "bc other", HOLDER_END),
            ("father", Father, aged(70), "", HOLDER_END),
            ("father with income", Father, aged(70), "income", NotCovered(Income)),
            ("mother", Mother, aged(70), "other", HOLDER_END),
            ("mother with income", Mother, aged(70), "income", NotCovered(Income)),
        ];
        run(RuleSet::Tamin, rows);
    }

    #[test]
    fn cnam_table() {
        // aged(17): 20th birthday 2028-06-10.
        #[rustfmt::skip]
        let rows: &[Row] = &[
            ("spouse", Spouse, aged(40), "", HOLDER_END),
            ("divorced spouse", Spouse, aged(40), "divorced", NotCovered(Divorced)),
            ("divorced spouse with custody", Spouse, aged(40), "divorced custody", NotCovered(Divorced)),
            ("spouse with other cover", Spouse, aged(40), "other", NotCovered(OtherCover)),
            ("son under 20", Son, aged(17), "", until(date(2028, 6, 9))),
            ("son of 19", Son, aged(19), "", until(date(2026, 6, 9))),
            ("son of 20", Son, aged(20), "", NotCovered(AgeLimit)),
            ("son of 20, student", Son, aged(20), "uni student=2027-06-30", NotCovered(AgeLimit)),
            ("son of 30, disabled", Son, aged(30), "disabled", HOLDER_END),
            ("son under 20, other cover", Son, aged(17), "other", NotCovered(OtherCover)),
            ("son, disabled, other cover", Son, aged(30), "disabled other", NotCovered(OtherCover)),
            ("son, no birth date", Son, None, "", NotCovered(NoBirthDate)),
            ("son, no birth date, disabled", Son, None, "disabled", HOLDER_END),
            ("daughter under 20", Daughter, aged(17), "", HOLDER_END),
            ("married daughter under 20", Daughter, aged(17), "married", until(date(2028, 6, 9))),
            ("daughter of 40, unmarried", Daughter, aged(40), "", HOLDER_END),
            ("daughter of 25, married", Daughter, aged(25), "married", NotCovered(Married)),
            ("daughter of 25, income", Daughter, aged(25), "income", NotCovered(Income)),
            ("daughter of 25, married, disabled", Daughter, aged(25), "married disabled", HOLDER_END),
            ("daughter of 22, married student", Daughter, aged(22), "married student=2027-06-30", NotCovered(Married)),
            ("daughter, other cover", Daughter, aged(17), "other", NotCovered(OtherCover)),
            ("daughter, no birth date, married", Daughter, None, "married", NotCovered(Married)),
            ("daughter, no birth date", Daughter, None, "", HOLDER_END),
            ("daughter without birth certificate", Daughter, aged(25), "", HOLDER_END),
            ("father", Father, aged(70), "income", HOLDER_END),
            ("father, other cover", Father, aged(70), "other", NotCovered(OtherCover)),
            ("mother", Mother, aged(70), "", HOLDER_END),
            ("mother, other cover", Mother, aged(70), "other", NotCovered(OtherCover)),
        ];
        run(RuleSet::Cnam, rows);
    }

    #[test]
    fn mutual_table() {
        // aged(17): 20th birthday 2028-06-10; aged(22): 25th birthday 2028-06-10.
        #[rustfmt::skip]
        let rows: &[Row] = &[
            ("spouse", Spouse, aged(40), "", HOLDER_END),
            ("spouse with other cover", Spouse, aged(40), "other", NotCovered(OtherCover)),
            ("divorced spouse", Spouse, aged(40), "divorced", NotCovered(Divorced)),
            ("divorced spouse with custody", Spouse, aged(40), "divorced custody", HOLDER_END),
            ("divorced with custody, other cover", Spouse, aged(40), "divorced custody other", HOLDER_END),
            ("spouse, custody, not divorced, other cover", Spouse, aged(40), "custody other", NotCovered(OtherCover)),
            ("son under 20", Son, aged(17), "", until(date(2028, 6, 9))),
            ("son of 22", Son, aged(22), "", NotCovered(NotStudent)),
            ("son of 22, student", Son, aged(22), "student=2027-06-30", until(date(2027, 6, 30))),
            ("son of 22, long studies", Son, aged(22), "student=2030-06-30", until(date(2028, 6, 9))),
            ("son of 22, studies ended", Son, aged(22), "student=2026-03-14", NotCovered(NotStudent)),
            ("son of 25, student", Son, aged(25), "student=2027-06-30", NotCovered(AgeLimit)),
            ("son of 25", Son, aged(25), "", NotCovered(AgeLimit)),
            ("son of 30, disabled", Son, aged(30), "disabled", HOLDER_END),
            ("son under 20, other cover", Son, aged(17), "other", NotCovered(OtherCover)),
            ("son of 22, student, other cover", Son, aged(22), "student=2027-06-30 other", NotCovered(OtherCover)),
            ("son under 20, longer studies", Son, aged(17), "student=2029-06-30", until(date(2029, 6, 30))),
            ("son, no birth date", Son, None, "", NotCovered(NoBirthDate)),
            ("son, no birth date, student", Son, None, "student=2027-06-30", NotCovered(NoBirthDate)),
            ("son, no birth date, disabled", Son, None, "disabled", HOLDER_END),
            ("daughter under 20", Daughter, aged(17), "", HOLDER_END),
            ("married daughter under 20", Daughter, aged(17), "married", until(date(2028, 6, 9))),
            ("daughter of 40", Daughter, aged(40), "", HOLDER_END),
            ("daughter of 22, married", Daughter, aged(22), "married", NotCovered(Married)),
            ("daughter of 22, married student", Daughter, aged(22), "married student=2027-06-30", until(date(2027, 6, 30))),
            ("daughter of 22, income, student", Daughter, aged(22), "income student=2030-06-30", until(date(2028, 6, 9))),
            ("daughter of 26, married student", Daughter, aged(26), "married student=2027-06-30", NotCovered(Married)),
            ("daughter of 26, married, disabled", Daughter, aged(26), "married disabled", HOLDER_END),
            ("daughter, other cover", Daughter, aged(22), "other", NotCovered(OtherCover)),
            ("father", Father, aged(70), "income", HOLDER_END),
            ("mother, other cover", Mother, aged(70), "other", NotCovered(OtherCover)),
        ];
        run(RuleSet::Mutual, rows);
    }

    #[test]
    fn the_day_before_and_the_day_of_each_age_limit() {
        // Born 2006-03-16: 20 on 2026-03-16 (TODAY + 1); born 2006-03-15: 20 on TODAY.
        // Born 2001-03-16 / 2001-03-15: 25 tomorrow / today.
        let (b20, d20) = (Some(date(2006, 3, 16)), Some(date(2006, 3, 15)));
        let (b25, d25) = (Some(date(2001, 3, 16)), Some(date(2001, 3, 15)));
        let studying = "student=2027-06-30";
        let day_before = Some(date(2007, 3, 16)); // 18 on TODAY, 19 tomorrow
        let day_of = Some(date(2007, 3, 15)); // 19 on TODAY
        #[rustfmt::skip]
        let cases: &[(RuleSet, Relation, Option<Date>, &str, Entitlement)] = &[
            (RuleSet::Tamin, Son, day_before, "", until(TODAY)),
            (RuleSet::Tamin, Son, day_of, "", NotCovered(NoUniversityCertificate)),
            (RuleSet::Cnam, Son, Some(date(2006, 3, 16)), "", until(TODAY)),
            (RuleSet::Cnam, Son, Some(date(2006, 3, 15)), "", NotCovered(AgeLimit)),
            (RuleSet::Cnam, Daughter, Some(date(2006, 3, 16)), "married", until(TODAY)),
            (RuleSet::Cnam, Daughter, Some(date(2006, 3, 15)), "married", NotCovered(Married)),
            (RuleSet::Mutual, Son, Some(date(2006, 3, 16)), "", until(TODAY)),
            (RuleSet::Mutual, Son, Some(date(2006, 3, 15)), "", NotCovered(NotStudent)),
            (RuleSet::Mutual, Son, Some(date(2001, 3, 16)), "student=2027-06-30", until(TODAY)),
            (RuleSet::Mutual, Son, Some(date(2001, 3, 15)), "student=2027-06-30", NotCovered(AgeLimit)),
            (RuleSet::Mutual, Daughter, Some(date(2001, 3, 16)), "married student=2027-06-30", until(TODAY)),
            (RuleSet::Mutual, Daughter, Some(date(2001, 3, 15)), "married student=2027-06-30", NotCovered(Married)),
            // The other grounds of cnam and mutual at the 20th and 25th birthdays.
            (RuleSet::Cnam, Daughter, b20, "income", until(TODAY)),
            (RuleSet::Cnam, Daughter, d20, "income", NotCovered(Income)),
            (RuleSet::Cnam, Daughter, b20, "married income", until(TODAY)),
            (RuleSet::Cnam, Daughter, d20, "married income", NotCovered(MarriedWithIncome)),
            (RuleSet::Cnam, Daughter, d20, "", HOLDER_END),
            (RuleSet::Cnam, Son, d20, "disabled", HOLDER_END),
            (RuleSet::Cnam, Son, b20, "other", NotCovered(OtherCover)),
            (RuleSet::Cnam, Son, d20, studying, NotCovered(AgeLimit)),
            (RuleSet::Mutual, Son, d20, studying, until(date(2027, 6, 30))),
            (RuleSet::Mutual, Daughter, b20, "married", until(TODAY)),
            (RuleSet::Mutual, Daughter, d20, "married", NotCovered(Married)),
            (RuleSet::Mutual, Daughter, d20, "married student=2027-06-30", until(date(2027, 6, 30))),
            (RuleSet::Mutual, Son, b25, "student=2030-06-30", until(TODAY)),
            (RuleSet::Mutual, Son, d25, "student=2030-06-30", NotCovered(AgeLimit)),
            (RuleSet::Mutual, Daughter, b25, "income student=2030-06-30", until(TODAY)),
            (RuleSet::Mutual, Daughter, d25, "income student=2030-06-30", NotCovered(Income)),
            (RuleSet::Mutual, Son, d25, "disabled", HOLDER_END),
            (RuleSet::Mutual, Spouse, aged(40), "divorced custody", HOLDER_END),
            (RuleSet::Cnam, Spouse, aged(40), "divorced custody", NotCovered(Divorced)),
        ];
        let holder = holder_until(Some(HOLDER_UNTIL));
        for (set, relation, birth, words, want) in cases {
            let person = dependent(*relation, *birth, words);
            let got = entitlement(&person, Some(&holder), &RuleConfig::for_set(*set), TODAY);
            assert_eq!(got, *want, "{set:?} {relation:?} born {birth:?} {words}");
        }
    }

    #[test]
    fn a_29_february_birthday_falls_on_1_march() {
        let leapling = date(2004, 2, 29);
        let ages = [
            (date(2005, 2, 28), 0),
            (date(2005, 3, 1), 1),
            (date(2023, 2, 28), 18),
            (date(2023, 3, 1), 19),
            (date(2024, 2, 28), 19),
            (date(2024, 2, 29), 20),
            (date(2004, 2, 29), 0),
            (date(2004, 2, 28), -1),
        ];
        for (today, want) in ages {
            assert_eq!(age_on(leapling, today), want, "{today}");
        }
        assert_eq!(birthday_in(leapling, 2023), date(2023, 3, 1));
        assert_eq!(birthday_in(leapling, 2024), date(2024, 2, 29));
        assert_eq!(birthday_in(leapling, 2100), date(2100, 3, 1));
        assert_eq!(birthday_in(date(1990, 12, 31), 2026), date(2026, 12, 31));
        assert_eq!(birthday_in(date(1990, 1, 1), i16::MAX), date(9999, 1, 1));

        // A tamin son born on 29 February 2004 turns 19 on 1 March 2023 (not a leap year).
        let cfg = RuleConfig::for_set(RuleSet::Tamin);
        let holder = holder_until(None);
        let son = dependent(Son, Some(leapling), "");
        let cases = [
            (date(2023, 2, 27), until(date(2023, 2, 28))),
            (date(2023, 2, 28), until(date(2023, 2, 28))),
            (date(2023, 3, 1), NotCovered(NoUniversityCertificate)),
        ];
        for (today, want) in cases {
            assert_eq!(
                entitlement(&son, Some(&holder), &cfg, today),
                want,
                "{today}"
            );
        }
        // A cnam son born on 29 February 2008 turns 20 on 29 February 2028 (a leap year).
        let cfg = RuleConfig::for_set(RuleSet::Cnam);
        let son = dependent(Son, Some(date(2008, 2, 29)), "");
        let cases = [
            (date(2028, 2, 28), until(date(2028, 2, 28))),
            (date(2028, 2, 29), NotCovered(AgeLimit)),
        ];
        for (today, want) in cases {
            assert_eq!(
                entitlement(&son, Some(&holder), &cfg, today),
                want,
                "{today}"
            );
        }
    }

    #[test]
    fn a_mutual_student_born_on_29_february_turns_25_on_1_march() {
        // Born 2000-02-29: 25 on 2025-03-01 (2025 has no 29 February).
        let student = dependent(Son, Some(date(2000, 2, 29)), "student=2030-06-30");
        let holder = holder_until(None);
        let cfg = RuleConfig::for_set(RuleSet::Mutual);
        let cases = [
            (date(2025, 2, 28), until(date(2025, 2, 28))),
            (date(2025, 3, 1), NotCovered(AgeLimit)),
            (date(2024, 6, 1), until(date(2025, 2, 28))),
        ];
        for (today, want) in cases {
            assert_eq!(
                entitlement(&student, Some(&holder), &cfg, today),
                want,
                "{today}"
            );
        }
    }

    #[test]
    fn ages_are_whole_years_completed() {
        let cases = [
            (date(2000, 6, 10), date(2026, 6, 9), 25),
            (date(2000, 6, 10), date(2026, 6, 10), 26),
            (date(2000, 12, 31), date(2026, 1, 1), 25),
            (date(2000, 1, 1), date(2000, 1, 1), 0),
            (date(2000, 1, 2), date(2000, 1, 1), -1),
        ];
        for (birth, today, want) in cases {
            assert_eq!(age_on(birth, today), want, "{birth} on {today}");
        }
    }

    #[test]
    fn holder_coverage_boundaries() {
        use CoverageStatus::{Active, Ended, Suspended};
        let from = date(2024, 1, 1);
        let end = date(2026, 12, 31);
        #[rustfmt::skip]
        let cases: &[(&str, Option<Coverage>, Date, Entitlement)] = &[
            ("active", Some(coverage(Active, Some(from), Some(end))), TODAY, until(end)),
            ("today is from", Some(coverage(Active, Some(from), Some(end))), from, until(end)),
            ("day before from", Some(coverage(Active, Some(from), Some(end))), date(2023, 12, 31), NotCovered(NotStarted)),
            ("today is until", Some(coverage(Active, Some(from), Some(end))), end, until(end)),
            ("day after until", Some(coverage(Active, Some(from), Some(end))), date(2027, 1, 1), NotCovered(Expired)),
            ("open-ended", Some(coverage(Active, Some(from), None)), TODAY, Covered { until: None }),
            ("no from", Some(coverage(Active, None, Some(end))), TODAY, until(end)),
            ("no dates", Some(coverage(Active, None, None)), TODAY, Covered { until: None }),
            ("suspended", Some(coverage(Suspended, Some(from), Some(end))), TODAY, NotCovered(Reason::Suspended)),
            ("ended", Some(coverage(Ended, Some(from), None)), TODAY, NotCovered(Reason::Ended)),
            ("suspended and expired", Some(coverage(Suspended, Some(from), Some(from))), TODAY, NotCovered(Reason::Suspended)),
            ("no coverage", None, TODAY, NotCovered(NoCoverage)),
        ];
        for (name, cov, today, want) in cases {
            let person = Person {
                coverage: cov.clone(),
                ..Person::default()
            };
            assert_eq!(holder_entitlement(&person, *today), *want, "{name}");
            // A record without a holder link is a holder under every rule set.
            for set in [RuleSet::Tamin, RuleSet::Cnam, RuleSet::Mutual] {
                let cfg = RuleConfig::for_set(set);
                assert_eq!(entitlement(&person, None, &cfg, *today), *want, "{name}");
            }
        }
    }

    #[test]
    fn a_dependent_follows_its_holder_and_its_own_coverage() {
        use CoverageStatus::{Active, Ended, Suspended};
        let spouse = dependent(Spouse, aged(40), "");
        let with_own = |c: Coverage| Person {
            coverage: Some(c),
            ..spouse.clone()
        };
        let holder = |c: Option<Coverage>| Person {
            coverage: c,
            ..holder_until(None)
        };
        let active = |until| Some(coverage(Active, Some(date(2020, 1, 1)), until));
        let son17 = dependent(Son, aged(17), "");
        let son20 = dependent(Son, aged(20), "");
        #[rustfmt::skip]
        let cases: Vec<(&str, Person, Option<Person>, Entitlement)> = vec![
            ("holder open, spouse open", spouse.clone(), Some(holder(active(None))), Covered { until: None }),
            ("holder until", spouse.clone(), Some(holder(active(Some(HOLDER_UNTIL)))), HOLDER_END),
            ("holder suspended", spouse.clone(), Some(holder(Some(coverage(Suspended, None, None)))), NotCovered(HolderNotCovered)),
            ("holder ended", spouse.clone(), Some(holder(Some(coverage(Ended, None, None)))), NotCovered(HolderNotCovered)),
            ("holder expired", spouse.clone(), Some(holder(active(Some(date(2026, 3, 14))))), NotCovered(HolderNotCovered)),
            ("holder without coverage", spouse.clone(), Some(holder(None)), NotCovered(HolderNotCovered)),
            ("no holder record", spouse.clone(), None, NotCovered(NoHolderRecord)),
            ("another person's record", spouse.clone(), Some(Person { person_id: "someone".into(), ..holder(active(None)) }), NotCovered(NoHolderRecord)),
            ("another insurer's record", spouse.clone(), Some(Person { insurer: "other".into(), ..holder(active(None)) }), NotCovered(NoHolderRecord)),
            ("holder suspended, son too old", son20.clone(), Some(holder(Some(coverage(Suspended, None, None)))), NotCovered(HolderNotCovered)),
            ("own coverage earlier", with_own(coverage(Active, None, Some(date(2027, 1, 31)))), Some(holder(active(Some(HOLDER_UNTIL)))), until(date(2027, 1, 31))),
            ("own coverage later", with_own(coverage(Active, None, Some(date(2035, 1, 31)))), Some(holder(active(Some(HOLDER_UNTIL)))), HOLDER_END),
            ("own coverage open", with_own(coverage(Active, None, None)), Some(holder(active(Some(HOLDER_UNTIL)))), HOLDER_END),
            ("own coverage suspended", with_own(coverage(Suspended, None, None)), Some(holder(active(None))), NotCovered(Reason::Suspended)),
            ("own coverage ended", with_own(coverage(Ended, None, None)), Some(holder(active(None))), NotCovered(Reason::Ended)),
            ("own coverage expired", with_own(coverage(Active, None, Some(date(2026, 3, 14)))), Some(holder(active(None))), NotCovered(Expired)),
            ("own coverage not started", with_own(coverage(Active, Some(date(2026, 3, 16)), None)), Some(holder(active(None))), NotCovered(NotStarted)),
            ("own coverage ends today", with_own(coverage(Active, None, Some(TODAY))), Some(holder(active(None))), until(TODAY)),
            ("rule and own coverage fail: the rule says why", Person { coverage: Some(coverage(Ended, None, None)), ..son20.clone() }, Some(holder(active(None))), NotCovered(NoUniversityCertificate)),
            ("age limit after holder's end", son17.clone(), Some(holder(active(Some(date(2026, 12, 31))))), until(date(2026, 12, 31))),
            ("age limit before holder's end", son17.clone(), Some(holder(active(Some(HOLDER_UNTIL)))), until(date(2027, 6, 9))),
            ("age limit, holder open", son17.clone(), Some(holder(active(None))), until(date(2027, 6, 9))),
            ("age limit, own coverage earlier", Person { coverage: Some(coverage(Active, None, Some(date(2026, 5, 1)))), ..son17.clone() }, Some(holder(active(None))), until(date(2026, 5, 1))),
            ("no facts at all", Person { facts: None, ..son17.clone() }, Some(holder(active(None))), until(date(2027, 6, 9))),
            ("no facts, daughter", Person { facts: None, ..dependent(Daughter, aged(17), "") }, Some(holder(active(None))), NotCovered(NoBirthCertificate)),
        ];
        let cfg = RuleConfig::for_set(RuleSet::Tamin);
        for (name, person, holder, want) in cases {
            let got = entitlement(&person, holder.as_ref(), &cfg, TODAY);
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn spec_defaults_per_rule_set() {
        let tamin = RuleConfig::for_set(RuleSet::Tamin);
        assert_eq!(tamin.son_age_limit, 19);
        assert_eq!(tamin.student_age_limit, None);
        assert_eq!(
            tamin.son_student_document.as_deref(),
            Some("university_certificate")
        );
        assert_eq!(
            tamin.daughter_document.as_deref(),
            Some("birth_certificate")
        );
        assert_eq!(tamin.daughter_rule, DaughterRule::UnmarriedAndNoIncome);
        assert_eq!(RuleConfig::default(), tamin);
        for set in [RuleSet::Cnam, RuleSet::Mutual] {
            let cfg = RuleConfig::for_set(set);
            assert_eq!(
                (cfg.son_age_limit, cfg.child_age_limit),
                (20, 20),
                "{set:?}"
            );
            assert_eq!(cfg.son_student_document, None);
            assert_eq!(cfg.daughter_document, None);
        }
        assert_eq!(RuleConfig::for_set(RuleSet::Cnam).student_age_limit, None);
        assert_eq!(
            RuleConfig::for_set(RuleSet::Mutual).student_age_limit,
            Some(25)
        );
    }

    #[test]
    fn configuration_reads_with_the_set_defaults() {
        let read = |text: &str| toml::from_str::<RuleConfig>(text).map_err(|e| e.to_string());
        assert_eq!(read(""), Ok(RuleConfig::default()));
        assert_eq!(
            read("rule_set = \"mutual\""),
            Ok(RuleConfig::for_set(RuleSet::Mutual))
        );
        assert_eq!(
            read("rule_set = \"cnam\""),
            Ok(RuleConfig::for_set(RuleSet::Cnam))
        );
        let custom = read(
            "rule_set = \"cnam\"\nson_age_limit = 21\ndaughter_rule = \"unmarried_or_no_income\"",
        );
        assert_eq!(
            custom,
            Ok(RuleConfig {
                son_age_limit: 21,
                daughter_rule: DaughterRule::UnmarriedOrNoIncome,
                ..RuleConfig::for_set(RuleSet::Cnam)
            })
        );
        let no_document = read("daughter_document = \"\"\nson_student_document = \"student_card\"");
        assert_eq!(
            no_document,
            Ok(RuleConfig {
                daughter_document: None,
                son_student_document: Some("student_card".into()),
                ..RuleConfig::for_set(RuleSet::Tamin)
            })
        );
        for bad in [
            "son_age_limt = 19",
            "rule_set = \"osms\"",
            "son_age_limit = -1",
            "student_age_limit = 400",
            "daughter_rule = \"either\"",
            "son_age_limit = \"19\"",
        ] {
            assert!(read(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn limits_and_documents_come_from_configuration() {
        let holder = holder_until(None);
        let son20 = dependent(Son, aged(20), "");
        let cnam21 = RuleConfig {
            son_age_limit: 21,
            ..RuleConfig::for_set(RuleSet::Cnam)
        };
        // aged(20): 21st birthday 2026-06-10.
        assert_eq!(
            entitlement(&son20, Some(&holder), &cnam21, TODAY),
            until(date(2026, 6, 9))
        );

        let tamin18 = RuleConfig {
            son_age_limit: 18,
            ..RuleConfig::default()
        };
        let son18 = dependent(Son, aged(18), "");
        assert_eq!(
            entitlement(&son18, Some(&holder), &tamin18, TODAY),
            NotCovered(NoUniversityCertificate)
        );

        let card = RuleConfig {
            son_student_document: Some("student_card".into()),
            ..RuleConfig::default()
        };
        let mut student = dependent(Son, aged(20), "uni student=2027-06-30");
        assert_eq!(
            entitlement(&student, Some(&holder), &card, TODAY),
            NotCovered(NoUniversityCertificate)
        );
        if let Some(f) = student.facts.as_mut() {
            f.documents.push("student_card".into());
        }
        assert_eq!(
            entitlement(&student, Some(&holder), &card, TODAY),
            until(date(2027, 6, 30))
        );

        let no_document = RuleConfig {
            daughter_document: None,
            ..RuleConfig::default()
        };
        let daughter = dependent(Daughter, aged(17), "");
        assert_eq!(
            entitlement(&daughter, Some(&holder), &no_document, TODAY),
            Covered { until: None }
        );

        let mutual_26 = RuleConfig {
            student_age_limit: Some(26),
            ..RuleConfig::for_set(RuleSet::Mutual)
        };
        let son25 = dependent(Son, aged(25), "student=2027-06-30");
        assert_eq!(
            entitlement(&son25, Some(&holder), &mutual_26, TODAY),
            until(date(2026, 6, 9))
        );
    }

    #[test]
    fn the_end_date_that_passed_is_the_records_or_the_holders() {
        let yesterday = date(2026, 3, 14);
        let spouse = dependent(Spouse, aged(40), "");
        let mut own_expired = spouse.clone();
        own_expired.coverage = Some(coverage(
            CoverageStatus::Active,
            None,
            Some(date(2025, 1, 1)),
        ));
        let cases = [
            (
                "holder, until yesterday",
                holder_until(Some(yesterday)),
                None,
                Some(yesterday),
            ),
            ("holder, until today", holder_until(Some(TODAY)), None, None),
            ("holder, open-ended", holder_until(None), None, None),
            (
                "dependent, holder expired",
                spouse.clone(),
                Some(holder_until(Some(yesterday))),
                Some(yesterday),
            ),
            (
                "dependent, holder covered",
                spouse.clone(),
                Some(holder_until(Some(HOLDER_UNTIL))),
                None,
            ),
            (
                "dependent, own expired first",
                own_expired,
                Some(holder_until(Some(yesterday))),
                Some(date(2025, 1, 1)),
            ),
            ("dependent, no holder record", spouse, None, None),
        ];
        for (name, person, holder, want) in cases {
            assert_eq!(ended_on(&person, holder.as_ref(), TODAY), want, "{name}");
        }
    }

    #[test]
    fn the_daughter_rule_is_configurable() {
        let holder = holder_until(None);
        let or = |set| RuleConfig {
            daughter_rule: DaughterRule::UnmarriedOrNoIncome,
            ..RuleConfig::for_set(set)
        };
        #[rustfmt::skip]
        let cases: &[(RuleSet, &str, Entitlement, Entitlement)] = &[
            // (set, facts, with "and" (default), with "or")
            (RuleSet::Cnam, "", Covered { until: None }, Covered { until: None }),
            (RuleSet::Cnam, "married", NotCovered(Married), Covered { until: None }),
            (RuleSet::Cnam, "income", NotCovered(Income), Covered { until: None }),
            (RuleSet::Cnam, "married income", NotCovered(MarriedWithIncome), NotCovered(MarriedWithIncome)),
            (RuleSet::Mutual, "married", NotCovered(Married), Covered { until: None }),
            (RuleSet::Tamin, "bc income", NotCovered(Income), Covered { until: None }),
            (RuleSet::Tamin, "bc married income", NotCovered(MarriedWithIncome), NotCovered(MarriedWithIncome)),
        ];
        for (set, words, with_and, with_or) in cases {
            let daughter = dependent(Daughter, aged(30), words);
            let cfg = RuleConfig::for_set(*set);
            assert_eq!(
                entitlement(&daughter, Some(&holder), &cfg, TODAY),
                *with_and,
                "{set:?} {words}"
            );
            assert_eq!(
                entitlement(&daughter, Some(&holder), &or(*set), TODAY),
                *with_or,
                "{set:?} {words}"
            );
        }
    }

    #[test]
    fn reason_keys_are_distinct_snake_case() {
        let mut keys: Vec<&str> = Reason::ALL.iter().map(Reason::key).collect();
        assert!(keys
            .iter()
            .all(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')));
        assert_eq!(
            Reason::NoUniversityCertificate.key(),
            "no_university_certificate"
        );
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), Reason::ALL.len());
    }

    #[test]
    fn osms_insured_while_active() {
        use CoverageStatus::{Active, Ended, Suspended};
        let cases = [
            (Some(coverage(Active, None, None)), true),
            (Some(coverage(Active, None, Some(date(2020, 1, 1)))), true),
            (Some(coverage(Suspended, None, None)), false),
            (Some(coverage(Ended, None, None)), false),
            (None, false),
        ];
        for (cov, want) in cases {
            let person = Person {
                coverage: cov.clone(),
                ..Person::default()
            };
            assert_eq!(osms_insured(&person), want, "{cov:?}");
        }
    }

    fn month(year: i16, month: i8) -> MonthKey {
        MonthKey { year, month }
    }

    #[test]
    fn contribution_months_are_the_twelve_before_this_one() {
        let person = Person {
            contributions: vec![
                (month(2024, 12), true),
                (month(2025, 1), true),
                (month(2025, 3), false),
                (month(2025, 11), true),
                (month(2025, 12), true),
                (month(2026, 1), true),
                (month(2026, 2), true),
            ],
            ..Person::default()
        };
        // Today in January: the row is the whole previous year; this month is not shown.
        let got = contribution_months(&person, date(2026, 1, 15));
        let mut want: Vec<(MonthKey, bool)> = (1..=12).map(|m| (month(2025, m), false)).collect();
        for m in [1, 11, 12] {
            want[m - 1].1 = true;
        }
        assert_eq!(got, want);

        // Today on 1 March: March 2025 to February 2026, across the year's end.
        let got = contribution_months(&person, date(2026, 3, 1));
        let months: Vec<String> = got.iter().map(|(m, _)| m.to_string()).collect();
        assert_eq!(months.first().map(String::as_str), Some("2025-03"));
        assert_eq!(months.last().map(String::as_str), Some("2026-02"));
        assert_eq!(got.len(), 12);
        let paid: Vec<bool> = got.iter().map(|(_, p)| *p).collect();
        assert_eq!(
            paid,
            [false, false, false, false, false, false, false, false, true, true, true, true]
        );

        // No entries: twelve unpaid months.
        let nobody = contribution_months(&Person::default(), date(2026, 12, 31));
        assert_eq!(nobody.len(), 12);
        assert_eq!(nobody[0].0, month(2025, 12));
        assert_eq!(nobody[11].0, month(2026, 11));
        assert!(nobody.iter().all(|(_, paid)| !paid));
    }
}
