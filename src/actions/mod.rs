//! What a screen can ask the code to do: look people up, apply the rules, issue a tracking code
//! and write the audit trail. One file per service; this one holds the registry that menu
//! files name actions from, and the context every action shares.
//!
//! An action returns an [`Outcome`]: its name picks the next screen in the menu file, its
//! variables fill that screen's words. Words themselves stay in the locale files; an action
//! only chooses keys and formats values (dates, digits) for the caller's locale.

mod osms;
mod tamin;

use jiff::civil::Date;
use std::sync::Arc;

use crate::audit::{AuditEntry, AuditError, KeyedHasher, Tracker, TrackingCode};
use crate::flow::{ActionCall, ActionFailure, ActionFuture, ActionRunner};
use crate::store::Store;
use crate::writer::{WriteError, Writer};

/// An action's name, its outcomes, and the message keys it reads.
type Registered = (&'static str, &'static [&'static str], fn() -> Vec<String>);

/// Every action, the outcomes it can lead to, and the message keys it reads itself; `daftar
/// check` holds menu files to this.
const REGISTRY: &[Registered] = &[
    ("tamin.own_status", tamin::OWN_STATUS, tamin::words),
    ("tamin.general", tamin::GENERAL, tamin::words),
    ("tamin.my_dependents", tamin::MY_DEPENDENTS, tamin::words),
    ("tamin.dependents_of", tamin::DEPENDENTS_OF, tamin::words),
    ("osms.status", osms::STATUS, osms::words),
];

/// The outcomes of `action`, or `None` for an action the code does not know.
pub fn outcomes_of(action: &str) -> Option<&'static [&'static str]> {
    REGISTRY
        .iter()
        .find(|(name, ..)| *name == action)
        .map(|(_, outcomes, _)| *outcomes)
}

/// The message keys `action` reads from the locale files (beyond its screens' own).
pub fn words_of(action: &str) -> Vec<String> {
    REGISTRY
        .iter()
        .find(|(name, ..)| *name == action)
        .map(|(.., words)| words())
        .unwrap_or_default()
}

/// How actions learn the date: the service's own time zone, or a fixed day for tests.
#[derive(Debug, Clone, Copy)]
pub enum Clock {
    System,
    Fixed(Date),
}

impl Clock {
    /// Today in the time zone `tz` (SPEC §2: every rule uses the service's local date).
    pub fn today(&self, tz: &str) -> Date {
        match self {
            Clock::Fixed(date) => *date,
            Clock::System => {
                let zone = jiff::tz::TimeZone::get(tz).unwrap_or(jiff::tz::TimeZone::UTC);
                jiff::Timestamp::now().to_zoned(zone).date()
            }
        }
    }
}

/// The actions, over the store and the audit trail. Reads of the store run on the caller's
/// worker (sled's cache); every write of the audit trail goes through the writer thread.
#[derive(Clone)]
pub struct Actions {
    pub store: Store,
    pub tracker: Arc<Tracker>,
    pub writer: Arc<Writer>,
    pub hasher: KeyedHasher,
    pub clock: Clock,
}

impl ActionRunner for Actions {
    fn run<'a>(&'a self, action: &'a str, call: ActionCall<'a>) -> ActionFuture<'a> {
        Box::pin(async move {
            let fail = |reason: String| ActionFailure {
                action: action.to_string(),
                reason,
            };
            let today = self.clock.today(&call.service.spec.time_zone);
            let ctx = Ctx {
                actions: self,
                call,
                today,
            };
            let result = match action {
                "tamin.own_status" => tamin::own_status(&ctx).await,
                "tamin.general" => tamin::general(&ctx).await,
                "tamin.my_dependents" => tamin::my_dependents(&ctx).await,
                "tamin.dependents_of" => tamin::dependents_of(&ctx).await,
                "osms.status" => osms::status(&ctx).await,
                other => return Err(fail(format!("unknown action {other}"))),
            };
            result.map_err(|e| fail(e.to_string()))
        })
    }
}

/// What an action works with.
pub(crate) struct Ctx<'a> {
    actions: &'a Actions,
    call: ActionCall<'a>,
    today: Date,
}

/// What can go wrong inside an action: the store or the audit trail failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ActionError {
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("audit: {0}")]
    Audit(#[from] AuditError),
    #[error("audit: {0}")]
    Writer(#[from] WriteError),
    #[error("the answer `{0}` is missing")]
    MissingAnswer(&'static str),
}

impl Ctx<'_> {
    fn store(&self) -> &Store {
        &self.actions.store
    }

    fn insurer(&self) -> &str {
        &self.call.service.spec.insurer
    }

    fn answer(&self, name: &'static str) -> Result<&str, ActionError> {
        self.call
            .answers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| match v {
                crate::session::Answer::NationalCode(code) => code.as_str(),
                crate::session::Answer::Iin(iin) => iin.as_str(),
                crate::session::Answer::Foreign(number) => number.as_str(),
            })
            .ok_or(ActionError::MissingAnswer(name))
    }

    /// The words of the caller's locale for `key`, filled with `vars`.
    fn words(&self, key: &str, vars: &[(String, String)]) -> String {
        self.call.service.words(self.call.locale).fill(key, vars)
    }

    fn date(&self, date: Date) -> String {
        crate::locale::format_date(date, self.call.locale)
    }

    /// Issues a tracking code and writes the audit entry for an answer, on the writer thread.
    async fn audit(
        &self,
        kind: &str,
        result: &str,
        subject: Option<&str>,
    ) -> Result<TrackingCode, ActionError> {
        let entry = AuditEntry {
            at_unix: jiff::Timestamp::now().as_second(),
            channel: self.call.channel.to_string(),
            service: self.call.service.id().to_string(),
            kind: kind.to_string(),
            result: result.to_string(),
            caller: self.actions.hasher.hash(self.call.msisdn),
            subject: subject.map(|s| self.actions.hasher.hash(s)),
        };
        let service = entry.service.clone();
        let tracker = self.actions.tracker.clone();
        let code = self
            .actions
            .writer
            .run(move || -> Result<TrackingCode, AuditError> {
                let code = tracker.issue()?;
                tracker.record(code, &entry)?;
                Ok(code)
            })
            .await??;
        tracing::info!(
            %code,
            %service,
            kind,
            result,
            caller = %self.actions.hasher.tag(self.call.msisdn),
            "inquiry answered"
        );
        Ok(code)
    }
}

/// A variable for a screen's words.
fn var(name: &str, value: impl Into<String>) -> (String, String) {
    (name.to_string(), value.into())
}
