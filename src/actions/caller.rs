//! The USSD side of *who a caller is* (`cnam`, `mutual`; SPEC §2): the caller's phone, else
//! the matricule and CIN the menu asked, put to the inquiry layer (`inquiry::caller`). A wrong
//! pair is asked again; the session keeps how many were wrong (an [`Answer::Count`] the walk
//! saves), and the third ends it politely, as the third wrong answer to a question does.

use super::{ActionError, Ctx};
use crate::catalog::caller::{ASK_IDENTIFIER, REFUSED, WRONG_PAIR};
use crate::flow::Outcome;
use crate::inquiry::{Claim, Who};
use crate::record::Person;
use crate::session::Answer;

/// The answers these adapters read, under the names the menus save them as.
const MATRICULE: &str = "matricule";
const CIN: &str = "cin";
/// The wrong pairs so far in this session.
const WRONG_PAIRS: &str = "wrong_pairs";
/// The wrong pair that ends the session (SPEC §3: the third wrong answer).
const MAX_WRONG_PAIRS: u8 = 3;

/// The person the caller is, or the outcome that asks (or refuses).
pub(super) type Identified = Result<Person, Outcome>;

/// The caller: by the pair when the menu asked it, else by the phone.
pub(super) async fn identify(ctx: &Ctx<'_>) -> Result<Identified, ActionError> {
    let pair = (
        ctx.saved(MATRICULE).and_then(Answer::matricule),
        ctx.saved(CIN).and_then(Answer::cin),
    );
    let claim = match pair {
        (Some(matricule), Some(cin)) => Claim::Pair(matricule, cin),
        _ => Claim::Phone,
    };
    resolve(ctx, claim).await
}

/// The caller by the pair the menu asked (a subscription names its person by the pair, never
/// by the phone).
pub(super) async fn identify_by_pair(ctx: &Ctx<'_>) -> Result<Identified, ActionError> {
    let matricule = ctx.answer(MATRICULE, Answer::matricule)?;
    let cin = ctx.answer(CIN, Answer::cin)?;
    resolve(ctx, Claim::Pair(matricule, cin)).await
}

async fn resolve(ctx: &Ctx<'_>, claim: Claim<'_>) -> Result<Identified, ActionError> {
    match ctx.desk.who(claim)? {
        Who::Found(person) => Ok(Ok(*person)),
        Who::AskPair => Ok(Err(Outcome::new(ASK_IDENTIFIER, Vec::new()))),
        Who::WrongPair => wrong_pair(ctx).await.map(Err),
    }
}

/// Asks the pair again, or ends the session after the third wrong one (with a tracking code).
async fn wrong_pair(ctx: &Ctx<'_>) -> Result<Outcome, ActionError> {
    let before = ctx.saved(WRONG_PAIRS).and_then(Answer::count).unwrap_or(0);
    let wrong = before.saturating_add(1);
    if wrong >= MAX_WRONG_PAIRS {
        return refused(ctx).await;
    }
    let mut outcome = Outcome::new(WRONG_PAIR, Vec::new());
    outcome
        .save
        .push((WRONG_PAIRS.to_string(), Answer::Count(wrong)));
    Ok(outcome)
}

/// The end of a session whose pair belongs to no one person.
pub(super) async fn refused(ctx: &Ctx<'_>) -> Result<Outcome, ActionError> {
    let code = ctx.desk.pair_refused().await?;
    Ok(Outcome::new(REFUSED, vec![ctx.render.code(code)]))
}
