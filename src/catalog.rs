//! What menu files may name, declared once: the actions (each with the outcomes it can lead to
//! and the message keys it reads) and the validators (each with the message keys of its
//! errors). `daftar check` (`menu::check`) holds menu files to this declaration, and the
//! runtime (`flow` runs the validators, `actions` the actions) reads the same one.
//!
//! A leaf: it knows names and keys, built from `ids`, `record` and `rules`, and nothing of
//! menus, the flow or the actions, so the checker can read it without depending on them.

use crate::ids::IdError;
use crate::record::Relation;
use crate::rules::Reason;

/// The actions menu files may name (`action = "osms.status"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Action {
    /// `tamin` 1: the caller's own entitlement.
    TaminOwnStatus,
    /// `tamin` 2: a provider's general inquiry.
    TaminGeneral,
    /// `tamin` 3: the dependents on the caller's record.
    TaminMyDependents,
    /// `tamin` 3 on a family phone: the dependents of the holder whose code was typed.
    TaminDependentsOf,
    /// `osms` 1: insurance status.
    OsmsStatus,
    /// `cnam` 1: the caller's coverage, ordinary-illness ceiling and chronic coverages.
    CnamCoverage,
    /// `cnam` 2: the people in the caller's care booklet.
    CnamBooklet,
    /// `cnam` 3 → 1: the matricule and CIN of a subscription, before it is confirmed.
    CnamSubscriptionPair,
    /// `cnam` 3 → 1, confirmed: the calling phone gets the person's SMS alerts.
    CnamSubscribe,
    /// `cnam` 3 → 2: the calling phone gets no more SMS alerts.
    CnamUnsubscribe,
    /// `mutual` 1: the member's balances (per beneficiary, and dental).
    MutualBalances,
    /// `mutual` 2: the rates of the member's scheme.
    MutualRates,
}

impl Action {
    pub(crate) const ALL: [Action; 12] = [
        Action::TaminOwnStatus,
        Action::TaminGeneral,
        Action::TaminMyDependents,
        Action::TaminDependentsOf,
        Action::OsmsStatus,
        Action::CnamCoverage,
        Action::CnamBooklet,
        Action::CnamSubscriptionPair,
        Action::CnamSubscribe,
        Action::CnamUnsubscribe,
        Action::MutualBalances,
        Action::MutualRates,
    ];

    /// The name menu files use.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Action::TaminOwnStatus => "tamin.own_status",
            Action::TaminGeneral => "tamin.general",
            Action::TaminMyDependents => "tamin.my_dependents",
            Action::TaminDependentsOf => "tamin.dependents_of",
            Action::OsmsStatus => "osms.status",
            Action::CnamCoverage => "cnam.coverage",
            Action::CnamBooklet => "cnam.booklet",
            Action::CnamSubscriptionPair => "cnam.subscription_pair",
            Action::CnamSubscribe => "cnam.subscribe",
            Action::CnamUnsubscribe => "cnam.unsubscribe",
            Action::MutualBalances => "mutual.balances",
            Action::MutualRates => "mutual.rates",
        }
    }

    /// The action a menu file names, or `None` for a name the code does not know.
    pub(crate) fn from_name(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The outcomes it can lead to; a menu file names a screen for each.
    pub(crate) fn outcomes(self) -> &'static [&'static str] {
        match self {
            Action::TaminOwnStatus => tamin::OWN_STATUS,
            Action::TaminGeneral => tamin::GENERAL,
            Action::TaminMyDependents => tamin::MY_DEPENDENTS,
            Action::TaminDependentsOf => tamin::DEPENDENTS_OF,
            Action::OsmsStatus => osms::STATUS,
            Action::CnamCoverage => cnam::COVERAGE,
            Action::CnamBooklet => cnam::BOOKLET,
            Action::CnamSubscriptionPair => cnam::SUBSCRIPTION_PAIR,
            Action::CnamSubscribe => cnam::SUBSCRIBE,
            Action::CnamUnsubscribe => cnam::UNSUBSCRIBE,
            Action::MutualBalances => mutual::BALANCES,
            Action::MutualRates => mutual::RATES,
        }
    }

    /// The answer naming the person it asks about, by the name the menu saves it as: what
    /// the per-identifier limit counts. `None`: it asks about the caller's own record.
    pub(crate) fn queried(self) -> Option<&'static str> {
        match self {
            Action::TaminOwnStatus | Action::TaminDependentsOf => Some("national_code"),
            Action::TaminGeneral => Some("number"),
            Action::TaminMyDependents => None,
            Action::OsmsStatus => Some("iin"),
            // A caller the phone identifies typed no CIN: then it is their own record.
            Action::CnamCoverage
            | Action::CnamBooklet
            | Action::CnamSubscriptionPair
            | Action::CnamSubscribe
            | Action::MutualBalances
            | Action::MutualRates => Some("cin"),
            Action::CnamUnsubscribe => None,
        }
    }

    /// The message keys it reads itself (beyond its screens' own).
    pub(crate) fn words(self) -> Vec<String> {
        match self {
            Action::TaminOwnStatus => words::entitlement_keys(),
            // Said to a phone not on `[limits] providers` when `providers_only` is set.
            Action::TaminGeneral => vec!["limit.providers".to_string()],
            Action::TaminMyDependents | Action::TaminDependentsOf => words::dependents_keys(),
            Action::OsmsStatus => words::osms_details_keys(),
            Action::CnamCoverage => words::coverage_keys(),
            Action::CnamBooklet => words::dependents_keys(),
            Action::CnamSubscriptionPair | Action::CnamSubscribe | Action::CnamUnsubscribe => {
                Vec::new()
            }
            Action::MutualBalances => words::balances_keys(),
            Action::MutualRates => words::rates_keys(),
        }
    }
}

/// The outcomes of the action named `action`, or `None` for a name the code does not know.
#[cfg(test)]
pub(crate) fn outcomes_of(action: &str) -> Option<&'static [&'static str]> {
    Action::from_name(action).map(Action::outcomes)
}

/// The outcomes of the `tamin` actions (SPEC §2.1): the names menu files give screens.
pub(crate) mod tamin {
    pub(crate) const COVERED: &str = "covered";
    pub(crate) const NOT_COVERED: &str = "not_covered";
    pub(crate) const MISMATCH: &str = "mismatch";
    pub(crate) const LISTED: &str = "listed";
    pub(crate) const NONE: &str = "none";
    pub(crate) const ASK_IDENTIFIER: &str = "ask_identifier";
    pub(crate) const UNKNOWN_CALLER: &str = "unknown_caller";

    pub(crate) const OWN_STATUS: &[&str] = &[COVERED, NOT_COVERED, MISMATCH];
    pub(crate) const GENERAL: &[&str] = &[COVERED, NOT_COVERED];
    pub(crate) const MY_DEPENDENTS: &[&str] = &[LISTED, NONE, ASK_IDENTIFIER, UNKNOWN_CALLER];
    pub(crate) const DEPENDENTS_OF: &[&str] = &[LISTED, NONE, MISMATCH];
}

/// The outcomes of the `osms` status action (SPEC §2.4).
pub(crate) mod osms {
    /// With the details (the asker's phone is registered for the person).
    pub(crate) const INSURED: &str = "insured";
    pub(crate) const NOT_INSURED: &str = "not_insured";
    /// The status alone: any other asker, and every IIN that no record holds.
    pub(crate) const INSURED_BRIEF: &str = "insured_brief";
    pub(crate) const NOT_INSURED_BRIEF: &str = "not_insured_brief";

    pub(crate) const STATUS: &[&str] = &[INSURED, NOT_INSURED, INSURED_BRIEF, NOT_INSURED_BRIEF];
}

/// The outcomes of asking who a `cnam` or `mutual` caller is (SPEC §2 *Who a caller is*),
/// which every action of those services that needs a person can lead to.
pub(crate) mod caller {
    /// The phone identifies no one, or several people: ask the matricule, then the CIN.
    pub(crate) const ASK_IDENTIFIER: &str = "ask_identifier";
    /// The matricule and the CIN do not belong to one person: ask them again.
    pub(crate) const WRONG_PAIR: &str = "wrong_pair";
    /// The third wrong pair: the session ends politely.
    pub(crate) const REFUSED: &str = "refused";
}

/// The outcomes of the `cnam` actions (SPEC §2.2).
pub(crate) mod cnam {
    use super::caller::{ASK_IDENTIFIER, REFUSED, WRONG_PAIR};

    /// « droits ouverts » / « droits fermés ».
    pub(crate) const OPEN: &str = "open";
    pub(crate) const CLOSED: &str = "closed";
    pub(crate) const LISTED: &str = "listed";
    pub(crate) const NONE: &str = "none";
    /// The pair belongs to one person: ask to confirm the subscription.
    pub(crate) const FOUND: &str = "found";
    pub(crate) const SUBSCRIBED: &str = "subscribed";
    pub(crate) const ALREADY: &str = "already";
    pub(crate) const MOVED: &str = "moved";
    pub(crate) const UNSUBSCRIBED: &str = "unsubscribed";

    pub(crate) const COVERAGE: &[&str] = &[OPEN, CLOSED, ASK_IDENTIFIER, WRONG_PAIR, REFUSED];
    pub(crate) const BOOKLET: &[&str] = &[LISTED, NONE, ASK_IDENTIFIER, WRONG_PAIR, REFUSED];
    pub(crate) const SUBSCRIPTION_PAIR: &[&str] = &[FOUND, WRONG_PAIR, REFUSED];
    pub(crate) const SUBSCRIBE: &[&str] = &[SUBSCRIBED, ALREADY, MOVED, REFUSED];
    pub(crate) const UNSUBSCRIBE: &[&str] = &[UNSUBSCRIBED, NONE];
}

/// The outcomes of the `mutual` actions (SPEC §2.3).
pub(crate) mod mutual {
    use super::caller::{ASK_IDENTIFIER, REFUSED, WRONG_PAIR};

    pub(crate) const LISTED: &str = "listed";
    /// The rates of the member's scheme.
    pub(crate) const PUBLIC: &str = "public";
    pub(crate) const PRIVATE: &str = "private";
    pub(crate) const REIMBURSEMENT: &str = "reimbursement";
    /// The member's record names no scheme the fund knows.
    pub(crate) const NO_SCHEME: &str = "no_scheme";

    pub(crate) const BALANCES: &[&str] = &[LISTED, ASK_IDENTIFIER, WRONG_PAIR, REFUSED];
    pub(crate) const RATES: &[&str] = &[
        PUBLIC,
        PRIVATE,
        REIMBURSEMENT,
        NO_SCHEME,
        ASK_IDENTIFIER,
        WRONG_PAIR,
        REFUSED,
    ];
}

/// The message keys the actions' words read (`actions::render` fills them), so that
/// `daftar check` can hold every locale to them.
pub(crate) mod words {
    use super::{Reason, Relation};

    /// `{until}` of a covered person: `until` with the end date (`{date}`), or the open-ended
    /// words (SPEC §5.1: no `until` is open-ended, shown as such, never "until no end date").
    pub(crate) const UNTIL: &str = "until";
    pub(crate) const OPEN_ENDED: &str = "open_ended";
    /// `{reason}` of a person not covered whose end date passed: `{reason}` and `{date}`.
    pub(crate) const ENDED_ON: &str = "ended_on";
    /// A dependent's line: covered (`{who}`, `{until}`) or not (`{who}`, `{reason}`).
    pub(crate) const DEPENDENT_COVERED: &str = "dependent.covered";
    pub(crate) const DEPENDENT_NOT_COVERED: &str = "dependent.not_covered";
    /// Who a dependent's line is about: `{relation}` and `{name}` (the relation alone when the
    /// record has no name).
    pub(crate) const DEPENDENT_WHO: &str = "dependent.who";
    /// The marks of a month with and without a contribution.
    pub(crate) const MONTH_PAID: &str = "month.paid";
    pub(crate) const MONTH_UNPAID: &str = "month.unpaid";
    /// The polyclinic line (`{provider}`), or the line for a person attached to none.
    pub(crate) const PROVIDER: &str = "provider";
    pub(crate) const NO_PROVIDER: &str = "no_provider";
    /// An amount with its unit (`{amount}`: `120.500`).
    pub(crate) const AMOUNT: &str = "amount";
    /// A ceiling's line: `{used}`, `{remaining}`, `{limit}` (amounts with their unit), `{year}`.
    pub(crate) const CEILING: &str = "ceiling";
    /// A chronic coverage's line: `{label}` with `{until}` (`until` or `open_ended`).
    pub(crate) const CHRONIC: &str = "chronic.line";
    /// The line for a holder with no chronic coverage.
    pub(crate) const NO_CHRONIC: &str = "chronic.none";
    /// A beneficiary's balance (`{who}` and the ceiling's variables), or the line of a
    /// beneficiary not covered (`{who}`, `{reason}`).
    pub(crate) const BALANCE: &str = "balance.line";
    pub(crate) const DENTAL: &str = "balance.dental";
    /// The lines every scheme's rates screen shows, as `{name}` → the words that fill it with
    /// the rates' `{group.name}` variables.
    pub(crate) const RATE_LINES: [(&str, &str); 3] = [
        ("after_cnam", "rates.after_cnam"),
        ("special", "rates.special"),
        ("dental", "rates.dental"),
    ];

    pub(crate) const RELATIONS: [Relation; 5] = [
        Relation::Spouse,
        Relation::Son,
        Relation::Daughter,
        Relation::Father,
        Relation::Mother,
    ];

    /// The keys an entitlement reads: the end date's and open-ended words, every reason.
    pub(crate) fn entitlement_keys() -> Vec<String> {
        [UNTIL, OPEN_ENDED, ENDED_ON]
            .iter()
            .map(|k| k.to_string())
            .chain(Reason::ALL.iter().map(|r| reason_key(*r)))
            .collect()
    }

    /// The keys a list of dependents reads: the two lines, every relation, and the
    /// entitlement's.
    pub(crate) fn dependents_keys() -> Vec<String> {
        [DEPENDENT_COVERED, DEPENDENT_NOT_COVERED, DEPENDENT_WHO]
            .iter()
            .map(|k| k.to_string())
            .chain(RELATIONS.iter().map(|r| relation_key(*r)))
            .chain(entitlement_keys())
            .collect()
    }

    /// The keys of a `cnam` coverage: the entitlement's, amounts, the ceiling, chronic lines.
    pub(crate) fn coverage_keys() -> Vec<String> {
        [AMOUNT, CEILING, CHRONIC, NO_CHRONIC]
            .iter()
            .map(|k| k.to_string())
            .chain(entitlement_keys())
            .collect()
    }

    /// The keys of the `mutual` balances: each beneficiary's line (as a dependent's) and the
    /// dental line.
    pub(crate) fn balances_keys() -> Vec<String> {
        [AMOUNT, BALANCE, DENTAL]
            .iter()
            .map(|k| k.to_string())
            .chain(dependents_keys())
            .collect()
    }

    /// The keys of the `mutual` rates: amounts and the lines every scheme shows.
    pub(crate) fn rates_keys() -> Vec<String> {
        std::iter::once(AMOUNT)
            .chain(RATE_LINES.iter().map(|(_, key)| *key))
            .map(str::to_string)
            .collect()
    }

    /// The keys of the osms details: the month marks and the provider lines.
    pub(crate) fn osms_details_keys() -> Vec<String> {
        [MONTH_PAID, MONTH_UNPAID, PROVIDER, NO_PROVIDER]
            .iter()
            .map(|k| k.to_string())
            .collect()
    }

    pub(crate) fn reason_key(reason: Reason) -> String {
        format!("reason.{}", reason.key())
    }

    pub(crate) fn relation_key(relation: Relation) -> String {
        let name = match relation {
            Relation::Spouse => "spouse",
            Relation::Son => "son",
            Relation::Daughter => "daughter",
            Relation::Father => "father",
            Relation::Mother => "mother",
        };
        format!("relation.{name}")
    }
}

/// The validators menu files may name (`validator = "kz_iin"`). What each checks is
/// `flow::validate`'s ([`Validator::check`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Validator {
    /// An Iranian national code.
    IrNationalCode,
    /// An Iranian national code, or a foreign national's number of the configured length.
    IrNationalCodeOrForeign,
    /// A Kazakh IIN.
    KzIin,
    /// A CNAM matricule, written without its key.
    TnMatricule,
    /// A Tunisian identity card number (CIN).
    TnCin,
}

impl Validator {
    pub(crate) const ALL: [Validator; 5] = [
        Validator::IrNationalCode,
        Validator::IrNationalCodeOrForeign,
        Validator::KzIin,
        Validator::TnMatricule,
        Validator::TnCin,
    ];

    /// The name menu files use.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Validator::IrNationalCode => "ir_national_code",
            Validator::IrNationalCodeOrForeign => "ir_national_code_or_foreign",
            Validator::KzIin => "kz_iin",
            Validator::TnMatricule => "tn_matricule",
            Validator::TnCin => "tn_cin",
        }
    }

    /// The validator a menu file names, or `None` for a name the code does not know.
    pub(crate) fn from_name(name: &str) -> Option<Validator> {
        Validator::ALL.into_iter().find(|v| v.name() == name)
    }

    /// The errors this validator can give.
    fn errors(self) -> &'static [IdError] {
        const NATIONAL: &[IdError] = &[
            IdError::Empty,
            IdError::NotDigits,
            IdError::WrongLength,
            IdError::RepeatedDigits,
            IdError::CheckDigit,
        ];
        const IIN: &[IdError] = &[
            IdError::Empty,
            IdError::NotDigits,
            IdError::WrongLength,
            IdError::CheckDigit,
            IdError::BadDate,
        ];
        const MATRICULE: &[IdError] = &[
            IdError::Empty,
            IdError::NotDigits,
            IdError::WrongLength,
            IdError::KeyIncluded,
        ];
        const CIN: &[IdError] = &[IdError::Empty, IdError::NotDigits, IdError::WrongLength];
        match self {
            Validator::IrNationalCode | Validator::IrNationalCodeOrForeign => NATIONAL,
            Validator::KzIin => IIN,
            Validator::TnMatricule => MATRICULE,
            Validator::TnCin => CIN,
        }
    }

    /// The message keys this validator's errors lead to (each needs words in every locale).
    pub(crate) fn error_keys(self) -> impl Iterator<Item = &'static str> {
        self.errors().iter().map(|e| error_key(*e))
    }
}

/// The message key that explains `error` to the caller.
pub(crate) fn error_key(error: IdError) -> &'static str {
    match error {
        IdError::Empty => "error.empty",
        IdError::NotDigits => "error.not_digits",
        IdError::WrongLength => "error.length",
        IdError::RepeatedDigits => "error.repeated",
        IdError::CheckDigit => "error.check_digit",
        IdError::BadDate => "error.bad_date",
        IdError::KeyIncluded => "error.key_included",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_read_back_and_unknown_names_are_none() {
        for action in Action::ALL {
            assert_eq!(Action::from_name(action.name()), Some(action));
            assert_eq!(outcomes_of(action.name()), Some(action.outcomes()));
            assert!(!action.outcomes().is_empty(), "{action:?}");
        }
        for unknown in ["", "demo.nothing", "tamin.own_status ", "TAMIN.GENERAL"] {
            assert_eq!(Action::from_name(unknown), None, "{unknown:?}");
            assert_eq!(outcomes_of(unknown), None);
        }
    }

    #[test]
    fn validator_names_read_back_and_unknown_names_are_none() {
        for v in Validator::ALL {
            assert_eq!(Validator::from_name(v.name()), Some(v));
        }
        for unknown in ["", "psychic", "KZ_IIN", "kz_iin "] {
            assert_eq!(Validator::from_name(unknown), None, "{unknown:?}");
        }
    }
}
