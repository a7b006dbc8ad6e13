//! One caller's session as a value: service, screen, answers, locale, page, last reply. It is
//! small and serialisable (a few hundred bytes), so that a store shared by several nodes can
//! hold it as it is, and it holds no MSISDN: the caller's keyed hash is enough, and the MSISDN
//! comes with each turn. Where sessions are kept, and for how long, is `session_store`'s job.
//!
//! An answer keeps the type its validator gave it ([`Answer`]): a stored session can only hold
//! valid identifiers, since each one deserialises through its parser.

use serde::{Deserialize, Serialize};

use crate::ids::{Cin, ForeignNumber, Iin, IranId, Matricule, NationalCode};
use crate::turn::Reply;

/// A caller's answer to a question, as its validator (`flow::validate`) read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Answer {
    NationalCode(NationalCode),
    Iin(Iin),
    /// A foreign national's number in Iran (the general inquiry's other identifier).
    Foreign(ForeignNumber),
    /// A CNAM affiliation number, without its key (`cnam`, `mutual`).
    Matricule(Matricule),
    /// A Tunisian identity card number (`cnam`, `mutual`).
    Cin(Cin),
    /// A count an action keeps between its runs (the wrong matricule and CIN pairs so far).
    Count(u8),
}

impl Answer {
    pub(crate) fn national_code(&self) -> Option<&NationalCode> {
        match self {
            Answer::NationalCode(code) => Some(code),
            _ => None,
        }
    }

    pub(crate) fn iin(&self) -> Option<&Iin> {
        match self {
            Answer::Iin(iin) => Some(iin),
            _ => None,
        }
    }

    pub(crate) fn matricule(&self) -> Option<&Matricule> {
        match self {
            Answer::Matricule(m) => Some(m),
            _ => None,
        }
    }

    pub(crate) fn cin(&self) -> Option<&Cin> {
        match self {
            Answer::Cin(cin) => Some(cin),
            _ => None,
        }
    }

    pub(crate) fn count(&self) -> Option<u8> {
        match self {
            Answer::Count(n) => Some(*n),
            _ => None,
        }
    }

    /// The identifier of a general inquiry in Iran: a national code or a foreign number.
    pub(crate) fn iran_id(&self) -> Option<IranId> {
        match self {
            Answer::NationalCode(code) => Some(IranId::National(code.clone())),
            Answer::Foreign(number) => Some(IranId::Foreign(number.clone())),
            _ => None,
        }
    }
}

impl From<IranId> for Answer {
    fn from(id: IranId) -> Answer {
        match id {
            IranId::National(code) => Answer::NationalCode(code),
            IranId::Foreign(number) => Answer::Foreign(number),
        }
    }
}

/// Where a session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Phase {
    /// Waiting for the caller's next input on `screen`.
    Open,
    /// Showing the resume offer: `1` continue, `2` start again.
    Offer,
    /// Finished; `result` when an answer was reached. The last reply is kept for retries.
    Ended { result: bool },
    /// A node claimed the session to run an action of its step (`engine::claim`): the rest of
    /// the session is as the step found it, and `from_offer` says whether it was showing the
    /// resume offer (else it was open). Other steps wait for the result; a claim that outlives
    /// its lease is taken over from this state.
    Acting { from_offer: bool },
}

/// The part of a session that a resume brings back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Place {
    pub(crate) screen: String,
    pub(crate) history: Vec<String>,
    /// Each question's answer under the name its screen saves it as (`national_code`, `iin`).
    pub(crate) answers: Vec<(String, Answer)>,
    pub(crate) locale: String,
}

/// One caller's session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub(crate) service: String,
    /// The keyed hash of the MSISDN, computed once: the key of offers and preferences.
    pub(crate) caller: String,
    pub(crate) phase: Phase,
    pub(crate) place: Place,
    /// Wrong answers to the current question.
    pub(crate) tries: u8,
    /// The pages of the current screen when it did not fit one message; empty otherwise.
    pub(crate) pages: Vec<String>,
    pub(crate) page: usize,
    /// Cumulative dialects: the path of inputs consumed so far.
    pub(crate) path: String,
    pub(crate) last: Option<Reply>,
    /// The place offered for resumption, while the offer is on screen.
    pub(crate) offered: Option<Place>,
    /// The caller switched locale in this step: the engine remembers it for their MSISDN.
    pub(crate) locale_chosen: bool,
    /// The locale the session opened in (kept with a choice, so that a replay starts there).
    pub(crate) started_in: String,
    /// The dialect's retry mark of the step that made `last`, where the dialect has marks.
    pub(crate) last_mark: Option<String>,
    /// The menu version the session started on (`engine::MenuSet`): it ends on it, so a
    /// reload never mixes two menus in one session. 0: the menus loaded at start.
    #[serde(default)]
    pub(crate) menus: u64,
}

impl Session {
    pub(crate) fn new(service: &str, caller: &str, start: &str, locale: &str) -> Session {
        Session {
            service: service.to_string(),
            caller: caller.to_string(),
            phase: Phase::Open,
            place: Place {
                screen: start.to_string(),
                history: Vec::new(),
                answers: Vec::new(),
                locale: locale.to_string(),
            },
            tries: 0,
            pages: Vec::new(),
            page: 0,
            path: String::new(),
            last: None,
            offered: None,
            locale_chosen: false,
            started_in: locale.to_string(),
            menus: 0,
            last_mark: None,
        }
    }

    pub(crate) fn is_ended(&self) -> bool {
        matches!(self.phase, Phase::Ended { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_small() {
        let mut s = Session::new("tamin", "0123456789abcdef01234567", "main", "fa");
        let code = NationalCode::parse("0012345679").expect("a valid code");
        s.place
            .answers
            .push(("national_code".into(), Answer::NationalCode(code)));
        s.place.history.push("main".into());
        s.last = Some(Reply::End(
            "حمایت درمانی دارد\nکد پیگیری: ۱۲۳۴۵۶۷۸۹۰".into(),
        ));
        let bytes = postcard::to_allocvec(&s).expect("serialises");
        assert!(bytes.len() < 400, "{} bytes", bytes.len());
        let back: Session = postcard::from_bytes(&bytes).expect("reads back");
        assert_eq!(back, s);
    }

    #[test]
    fn a_stored_answer_reads_back_only_when_valid() {
        let valid = [
            Answer::NationalCode(NationalCode::parse("0012345679").expect("valid")),
            Answer::Iin(Iin::parse("900515300127").expect("valid")),
            Answer::Foreign(ForeignNumber::parse("123456789012", 12).expect("valid")),
        ];
        for answer in valid {
            let bytes = postcard::to_allocvec(&answer).expect("serialises");
            assert_eq!(postcard::from_bytes::<Answer>(&bytes).ok(), Some(answer));
        }
        // The same bytes a national code or an IIN would have, with a wrong check digit.
        let forged = [
            (0u8, "0012345678"),
            (0, "1111111111"),
            (1, "900515300120"),
            (2, "12345678901x"),
        ];
        for (variant, digits) in forged {
            let mut bytes = vec![variant, digits.len() as u8];
            bytes.extend_from_slice(digits.as_bytes());
            assert!(postcard::from_bytes::<Answer>(&bytes).is_err(), "{digits}");
        }
    }
}
