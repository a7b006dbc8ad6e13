//! The USSD side of `cnam` (SPEC §2.2): each action identifies the caller (`caller`), puts its
//! question to the inquiry layer and names the screen of the answer. The rules, the ceiling's
//! arithmetic and the audit are the inquiry's; the words are `render`'s.

use super::caller::{identify, identify_by_pair, refused};
use super::{ActionError, Ctx};
use crate::catalog::cnam::{
    ALREADY, CLOSED, FOUND, LISTED, MOVED, NONE, OPEN, SUBSCRIBED, UNSUBSCRIBED,
};
use crate::flow::Outcome;
use crate::subscriptions::Subscribed;

/// Option 1: « droits ouverts » or « droits fermés », the end date, the ceiling, the chronic
/// coverages, the tracking code.
pub(super) async fn coverage(ctx: &Ctx<'_>) -> Result<Outcome, ActionError> {
    let person = match identify(ctx).await? {
        Ok(person) => person,
        Err(ask) => return Ok(ask),
    };
    let tracked = ctx.desk.cnam_coverage(&person).await?;
    let answer = tracked.answer;
    let vars = vec![
        ctx.render.code(tracked.code),
        ctx.render.entitlement(&answer.entitlement),
        ("end".to_string(), ctx.render.end_date(answer.until)),
        ctx.render.ceiling(answer.ceiling),
        ctx.render.chronic(&answer.chronic),
    ];
    let name = if answer.entitlement.is_covered() {
        OPEN
    } else {
        CLOSED
    };
    Ok(Outcome::new(name, vars))
}

/// Option 2: the people of the care booklet, each eligible or not, with the reason.
pub(super) async fn booklet(ctx: &Ctx<'_>) -> Result<Outcome, ActionError> {
    let person = match identify(ctx).await? {
        Ok(person) => person,
        Err(ask) => return Ok(ask),
    };
    let tracked = ctx.desk.cnam_booklet(&person).await?;
    let code = ctx.render.code(tracked.code);
    if tracked.answer.is_empty() {
        return Ok(Outcome::new(NONE, vec![code]));
    }
    Ok(Outcome::new(
        LISTED,
        vec![ctx.render.dependents(&tracked.answer), code],
    ))
}

/// Option 3 → 1, before the confirmation: the pair must belong to one person.
pub(super) async fn subscription_pair(ctx: &Ctx<'_>) -> Result<Outcome, ActionError> {
    Ok(match identify_by_pair(ctx).await? {
        Ok(_) => Outcome::new(FOUND, Vec::new()),
        Err(ask) => ask,
    })
}

/// Option 3 → 1, confirmed: subscribed, already subscribed, or moved to this phone.
pub(super) async fn subscribe(ctx: &Ctx<'_>) -> Result<Outcome, ActionError> {
    // The pair was checked before the confirmation; a record deleted since is refused.
    let Ok(person) = identify_by_pair(ctx).await? else {
        return refused(ctx).await;
    };
    let tracked = ctx.desk.cnam_subscribe(&person).await?;
    let name = match tracked.answer {
        Subscribed::New => SUBSCRIBED,
        Subscribed::Already => ALREADY,
        Subscribed::Moved => MOVED,
    };
    Ok(Outcome::new(name, vec![ctx.render.code(tracked.code)]))
}

/// Option 3 → 2: this phone gets no more alerts (said so also when it had none).
pub(super) async fn unsubscribe(ctx: &Ctx<'_>) -> Result<Outcome, ActionError> {
    let tracked = ctx.desk.cnam_unsubscribe().await?;
    let name = if tracked.answer > 0 {
        UNSUBSCRIBED
    } else {
        NONE
    };
    Ok(Outcome::new(name, vec![ctx.render.code(tracked.code)]))
}
