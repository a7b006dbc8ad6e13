//! The USSD side of `osms` (SPEC §2.4): the status inquiry, and the screen for its answer. A
//! registered phone sees the month row and the polyclinic; anyone else, the status and a line
//! saying that the details go only to the registered phone (the inquiry decides which).

use super::{ActionError, Ctx};
use crate::catalog::osms::{INSURED, INSURED_BRIEF, NOT_INSURED, NOT_INSURED_BRIEF};
use crate::flow::Outcome;
use crate::session::Answer;

/// The answer this action reads.
const IIN: &str = "iin";

pub(super) async fn status(ctx: &Ctx<'_>) -> Result<Outcome, ActionError> {
    let iin = ctx.answer(IIN, Answer::iin)?;
    let tracked = ctx.desk.osms_status(iin).await?;
    let status = tracked.answer;
    let mut vars = vec![ctx.render.code(tracked.code)];
    let name = match (status.insured, status.details) {
        (insured, Some(details)) => {
            vars.push(ctx.render.months(&details.months));
            vars.push(ctx.render.provider(details.provider.as_deref()));
            if insured {
                INSURED
            } else {
                NOT_INSURED
            }
        }
        (true, None) => INSURED_BRIEF,
        (false, None) => NOT_INSURED_BRIEF,
    };
    Ok(Outcome::new(name, vars))
}
