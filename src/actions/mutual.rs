//! The USSD side of `mutual` (SPEC §2.3): the caller identified as for `cnam` (`caller`), then
//! their balances, or the rates of their scheme (the numbers from the service's `[benefits]`,
//! the words from the locale files).

use super::caller::identify;
use super::{ActionError, Ctx};
use crate::benefits::Scheme;
use crate::catalog::mutual::{LISTED, NO_SCHEME, PRIVATE, PUBLIC, REIMBURSEMENT};
use crate::flow::Outcome;

/// Option 1: each beneficiary's balance of the year, and the member's dental balance.
pub(super) async fn balances(ctx: &Ctx<'_>) -> Result<Outcome, ActionError> {
    let person = match identify(ctx).await? {
        Ok(person) => person,
        Err(ask) => return Ok(ask),
    };
    let tracked = ctx.desk.mutual_balances(&person).await?;
    let mut vars = ctx.render.balances(&tracked.answer).to_vec();
    vars.push(ctx.render.code(tracked.code));
    Ok(Outcome::new(LISTED, vars))
}

/// Option 2: the rates of the member's scheme, after the CNAM balance, and the special regime.
pub(super) async fn rates(ctx: &Ctx<'_>) -> Result<Outcome, ActionError> {
    let person = match identify(ctx).await? {
        Ok(person) => person,
        Err(ask) => return Ok(ask),
    };
    let tracked = ctx.desk.mutual_scheme(&person).await?;
    let mut vars = ctx.render.rates(ctx.benefits, ctx.rules);
    vars.push(ctx.render.code(tracked.code));
    let name = match tracked.answer {
        Some(Scheme::Public) => PUBLIC,
        Some(Scheme::Private) => PRIVATE,
        Some(Scheme::Reimbursement) => REIMBURSEMENT,
        None => NO_SCHEME,
    };
    Ok(Outcome::new(name, vars))
}
