//! The USSD side of `tamin` (SPEC §2.1): each action puts its question to the inquiry layer
//! and names the screen that shows the answer. The rules, the registered-phone check and the
//! audit are the inquiry's; the words are `render`'s.

use super::render::Var;
use super::{ActionError, Ctx};
use crate::catalog::tamin::{
    ASK_IDENTIFIER, COVERED, LISTED, MISMATCH, NONE, NOT_COVERED, UNKNOWN_CALLER,
};
use crate::flow::Outcome;
use crate::inquiry::{DependentStatus, General, HolderDependents, Household, Own};
use crate::session::Answer;

/// The answers these actions read, under the names the menu saves them as.
const NATIONAL_CODE: &str = "national_code";
const NUMBER: &str = "number";

/// Option 1: the caller's own status, or a dependent's on the caller's record.
pub(super) async fn own_status(ctx: &Ctx<'_>) -> Result<Outcome, ActionError> {
    let code = ctx.answer(NATIONAL_CODE, Answer::national_code)?;
    let tracked = ctx.desk.own_entitlement(code).await?;
    let mut vars = vec![ctx.render.code(tracked.code)];
    let name = match tracked.answer {
        Own::Mismatch => MISMATCH,
        Own::Entitlement(entitlement, ended) => {
            vars.push(ctx.render.entitlement_ended(&entitlement, ended));
            if entitlement.is_covered() {
                COVERED
            } else {
                NOT_COVERED
            }
        }
    };
    Ok(Outcome::new(name, vars))
}

/// Option 2: a provider's general inquiry: covered or not, and the tracking code.
pub(super) async fn general(ctx: &Ctx<'_>) -> Result<Outcome, ActionError> {
    let id = ctx.answer(NUMBER, Answer::iran_id)?;
    let tracked = ctx.desk.general(&id).await?;
    let name = match tracked.answer {
        General::Covered => COVERED,
        General::NotCovered => NOT_COVERED,
    };
    Ok(Outcome::new(name, vec![ctx.render.code(tracked.code)]))
}

/// Option 3: the dependents on the caller's record; a family phone is asked which holder.
pub(super) async fn my_dependents(ctx: &Ctx<'_>) -> Result<Outcome, ActionError> {
    let outcome = match ctx.desk.my_dependents().await? {
        Household::UnknownCaller(tracked) => {
            Outcome::new(UNKNOWN_CALLER, vec![ctx.render.code(tracked.code)])
        }
        Household::Dependents(listed) => list(ctx, &listed.answer, ctx.render.code(listed.code)),
        Household::SeveralHolders => Outcome::new(ASK_IDENTIFIER, Vec::new()),
    };
    Ok(outcome)
}

/// Option 3 on a family phone: the dependents of the holder whose code was typed.
pub(super) async fn dependents_of(ctx: &Ctx<'_>) -> Result<Outcome, ActionError> {
    let holder = ctx.answer(NATIONAL_CODE, Answer::national_code)?;
    let tracked = ctx.desk.dependents_of(holder).await?;
    let code = ctx.render.code(tracked.code);
    Ok(match tracked.answer {
        HolderDependents::Listed(dependents) => list(ctx, &dependents, code),
        HolderDependents::Mismatch => Outcome::new(MISMATCH, vec![code]),
    })
}

/// The list of dependents, or the screen for none, with the tracking code.
fn list(ctx: &Ctx<'_>, dependents: &[DependentStatus], code: Var) -> Outcome {
    if dependents.is_empty() {
        return Outcome::new(NONE, vec![code]);
    }
    Outcome::new(LISTED, vec![ctx.render.dependents(dependents), code])
}
