//! What a screen can ask the code to do: the USSD side of the inquiries. Each action reads the
//! typed answers of the session, puts its question to the inquiry layer (`inquiry`), and turns
//! the typed answer into an [`Outcome`](crate::flow::Outcome): its name picks the next screen in the menu file, its
//! variables (from `render`, the one place values become words) fill that screen's words.
//!
//! [`Action`] (in `catalog`) is the one declaration of what menu files may name, with the
//! outcomes each can lead to and the words each reads: `daftar check` and [`Actions::run`] both
//! read it. Nothing
//! here reads the store, applies a rule or writes the audit trail: that is the inquiry's job.

mod caller;
mod cnam;
mod mutual;
mod osms;
pub(crate) mod render;
mod tamin;

use std::sync::Arc;

use crate::benefits::Benefits;
use crate::catalog::Action;
use crate::flow::{ActionCall, ActionFailure, ActionFuture, ActionRunner};
use crate::inquiry::{Asker, Desk, Inquiries, InquiryError, Scope};
use crate::limits::{Limited, Limits};
use crate::rules::RuleConfig;
use crate::session::Answer;

use render::Render;

/// The actions, over the inquiries.
#[derive(Clone)]
pub(crate) struct Actions {
    inquiries: Inquiries,
    limits: Arc<Limits>,
}

impl Actions {
    pub(crate) fn new(inquiries: Inquiries, limits: Arc<Limits>) -> Actions {
        Actions { inquiries, limits }
    }

    /// Whether the caller may put this question now: the general inquiry may be for providers
    /// alone (`providers_only`), each phone has its inquiries an hour,
    /// and each person asked about theirs, from all phones together (SPEC §8: no walking
    /// through national codes).
    async fn admit(&self, action: Action, call: &ActionCall<'_>) -> Result<(), Limited> {
        if action == Action::TaminGeneral {
            self.limits.provider(call.msisdn)?;
        }
        let queried = action.queried().and_then(|name| {
            let (_, answer) = call.answers.iter().find(|(n, _)| n == name)?;
            identifier_of(answer)
        });
        self.limits.inquiry(call.msisdn, queried.as_deref()).await
    }
}

/// The identifier an answer names, with its kind, as the per-identifier limit keys it (by
/// its keyed hash; never kept in clear). `None`: the answer names no one (a count).
fn identifier_of(answer: &Answer) -> Option<String> {
    match answer {
        Answer::NationalCode(code) => Some(format!("ir:{code}")),
        Answer::Foreign(number) => Some(format!("ir-foreign:{number}")),
        Answer::Iin(iin) => Some(format!("kz:{iin}")),
        Answer::Cin(cin) => Some(format!("tn:{cin}")),
        Answer::Matricule(matricule) => Some(format!("tn-matricule:{matricule}")),
        Answer::Count(_) => None,
    }
}

impl ActionRunner for Actions {
    fn run<'a>(&'a self, action: &'a str, call: ActionCall<'a>) -> ActionFuture<'a> {
        Box::pin(async move {
            let fail = |reason: String| ActionFailure {
                action: action.to_string(),
                reason,
                limited: None,
            };
            // `daftar check` refuses a menu that names an unknown action.
            let Some(known) = Action::from_name(action) else {
                return Err(fail(format!("unknown action {action}")));
            };
            if let Err(limited) = self.admit(known, &call).await {
                return Err(ActionFailure {
                    limited: Some(limited),
                    ..fail("held back by a limit".to_string())
                });
            }
            let service = call.service;
            let scope = Scope {
                service: service.id(),
                insurer: &service.spec.insurer,
                time_zone: &service.spec.time_zone,
                rules: &service.rules,
                benefits: &service.benefits,
            };
            let asker = Asker::Phone {
                msisdn: call.msisdn,
            };
            let desk = self.inquiries.desk(scope, asker, call.channel);
            let ctx = Ctx {
                desk,
                answers: call.answers,
                render: Render {
                    words: service.words(call.locale),
                    locale: call.locale,
                },
                rules: &service.rules,
                benefits: &service.benefits,
            };
            let result = match known {
                Action::TaminOwnStatus => tamin::own_status(&ctx).await,
                Action::TaminGeneral => tamin::general(&ctx).await,
                Action::TaminMyDependents => tamin::my_dependents(&ctx).await,
                Action::TaminDependentsOf => tamin::dependents_of(&ctx).await,
                Action::OsmsStatus => osms::status(&ctx).await,
                Action::CnamCoverage => cnam::coverage(&ctx).await,
                Action::CnamBooklet => cnam::booklet(&ctx).await,
                Action::CnamSubscriptionPair => cnam::subscription_pair(&ctx).await,
                Action::CnamSubscribe => cnam::subscribe(&ctx).await,
                Action::CnamUnsubscribe => cnam::unsubscribe(&ctx).await,
                Action::MutualBalances => mutual::balances(&ctx).await,
                Action::MutualRates => mutual::rates(&ctx).await,
            };
            result.map_err(|e| fail(e.to_string()))
        })
    }
}

/// What an adapter works with: the desk its question goes to, the session's answers, and the
/// caller's words.
pub(crate) struct Ctx<'a> {
    desk: Desk<'a>,
    answers: &'a [(String, Answer)],
    render: Render<'a>,
    /// The service's rules and benefits, for the words that name a limit or a rate.
    rules: &'a RuleConfig,
    benefits: &'a Benefits,
}

/// What can go wrong inside an action: the inquiry failed (store or audit trail), or the menu
/// did not ask the question the action reads.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ActionError {
    #[error(transparent)]
    Inquiry(#[from] InquiryError),
    #[error("the answer `{0}` is missing")]
    MissingAnswer(&'static str),
    #[error("the answer `{0}` is not of the kind the action reads")]
    WrongAnswer(&'static str),
}

impl Ctx<'_> {
    /// The answer saved as `name`, as the kind `kind` picks out of it.
    fn answer<'s, T>(
        &'s self,
        name: &'static str,
        kind: impl FnOnce(&'s Answer) -> Option<T>,
    ) -> Result<T, ActionError> {
        let answer = self.saved(name).ok_or(ActionError::MissingAnswer(name))?;
        kind(answer).ok_or(ActionError::WrongAnswer(name))
    }

    /// The answer saved as `name`, if the caller was asked it.
    fn saved(&self, name: &str) -> Option<&Answer> {
        self.answers.iter().find(|(n, _)| n == name).map(|(_, a)| a)
    }
}
