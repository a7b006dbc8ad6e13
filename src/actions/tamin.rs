//! The actions of `tamin` (Iran, Social Security Organization; SPEC §2.1): the specific inquiry
//! (national code and mobile number must belong together), the general inquiry for providers
//! (covered / not covered and nothing else), and the caller's dependents.

use super::{var, ActionError, Ctx};
use crate::flow::Outcome;
use crate::record::{Person, Relation};
use crate::rules::{entitlement, Entitlement, Reason};

pub const OWN_STATUS: &[&str] = &["covered", "not_covered", "mismatch"];
pub const GENERAL: &[&str] = &["covered", "not_covered"];
pub const MY_DEPENDENTS: &[&str] = &["listed", "none", "ask_identifier", "unknown_caller"];
pub const DEPENDENTS_OF: &[&str] = &["listed", "none", "mismatch"];

/// The message keys these actions read: relations, reasons, the dependent lines.
pub fn words() -> Vec<String> {
    let mut keys: Vec<String> = ["open_ended", "dependent.covered", "dependent.not_covered"]
        .iter()
        .map(|k| k.to_string())
        .collect();
    keys.extend(
        RELATIONS
            .iter()
            .map(|r| format!("relation.{}", relation_key(*r))),
    );
    keys.extend(Reason::ALL.iter().map(|r| format!("reason.{}", r.key())));
    keys
}

const RELATIONS: [Relation; 5] = [
    Relation::Spouse,
    Relation::Son,
    Relation::Daughter,
    Relation::Father,
    Relation::Mother,
];

/// Option 1: the caller's own status, or a dependent's on the caller's record. A code that no
/// record holds, or that belongs to someone this MSISDN is not registered for, is a mismatch.
pub(crate) async fn own_status(ctx: &Ctx<'_>) -> Result<Outcome, ActionError> {
    let code = ctx.answer("national_code")?;
    let person = ctx.store().person(ctx.insurer(), code)?;
    let holder = match &person {
        Some(p) => holder_of(ctx, p)?,
        None => None,
    };
    let allowed = person.as_ref().is_some_and(|p| {
        registered(p, ctx.call.msisdn)
            || holder
                .as_ref()
                .is_some_and(|h| registered(h, ctx.call.msisdn))
    });
    let Some(person) = person.filter(|_| allowed) else {
        let tracking = ctx.audit("specific", "mismatch", Some(code)).await?;
        return Ok(Outcome {
            name: "mismatch",
            vars: vec![var("code", tracking.to_string())],
        });
    };
    let verdict = entitlement(&person, holder.as_ref(), &ctx.call.service.rules, ctx.today);
    let (name, result) = match verdict {
        Entitlement::Covered { .. } => ("covered", "covered"),
        Entitlement::NotCovered(_) => ("not_covered", "not_covered"),
    };
    let tracking = ctx.audit("specific", result, Some(code)).await?;
    let mut vars = vec![var("code", tracking.to_string())];
    vars.extend(verdict_vars(ctx, &verdict));
    Ok(Outcome { name, vars })
}

/// Option 2: a provider's general inquiry. Only covered / not covered; a number no record holds
/// is "not covered", so the answer never tells whether a person exists.
pub(crate) async fn general(ctx: &Ctx<'_>) -> Result<Outcome, ActionError> {
    let number = ctx.answer("number")?;
    let covered = match ctx.store().person(ctx.insurer(), number)? {
        Some(person) => {
            let holder = holder_of(ctx, &person)?;
            let verdict = entitlement(&person, holder.as_ref(), &ctx.call.service.rules, ctx.today);
            matches!(verdict, Entitlement::Covered { .. })
        }
        None => false,
    };
    let name = if covered { "covered" } else { "not_covered" };
    let tracking = ctx.audit("general", name, Some(number)).await?;
    Ok(Outcome {
        name,
        vars: vec![var("code", tracking.to_string())],
    })
}

/// Option 3: the dependents on the record of the caller's MSISDN. A phone registered for
/// several holders (a family phone) asks for the national code instead.
pub(crate) async fn my_dependents(ctx: &Ctx<'_>) -> Result<Outcome, ActionError> {
    let people = ctx
        .store()
        .people_by_msisdn(ctx.insurer(), ctx.call.msisdn)?;
    let holders: Vec<&Person> = people.iter().filter(|p| p.holder.is_none()).collect();
    match holders.as_slice() {
        [] if people.is_empty() => {
            let tracking = ctx.audit("dependents", "mismatch", None).await?;
            Ok(Outcome {
                name: "unknown_caller",
                vars: vec![var("code", tracking.to_string())],
            })
        }
        [] => list(ctx, None).await,
        [holder] => list(ctx, Some(holder)).await,
        _ => Ok(Outcome {
            name: "ask_identifier",
            vars: Vec::new(),
        }),
    }
}

/// Option 3 on a family phone: the dependents of the holder whose code was typed, if this
/// MSISDN is registered for that holder.
pub(crate) async fn dependents_of(ctx: &Ctx<'_>) -> Result<Outcome, ActionError> {
    let code = ctx.answer("national_code")?;
    match ctx.store().person(ctx.insurer(), code)? {
        Some(person) if registered(&person, ctx.call.msisdn) => list(ctx, Some(&person)).await,
        _ => {
            let tracking = ctx.audit("dependents", "mismatch", Some(code)).await?;
            Ok(Outcome {
                name: "mismatch",
                vars: vec![var("code", tracking.to_string())],
            })
        }
    }
}

/// The dependents of `holder`, one line each: covered with the end date, or why not.
async fn list(ctx: &Ctx<'_>, holder: Option<&Person>) -> Result<Outcome, ActionError> {
    let dependents = match holder {
        Some(h) => ctx.store().dependents(ctx.insurer(), &h.person_id)?,
        None => Vec::new(),
    };
    let subject = holder.map(|h| h.person_id.as_str());
    if dependents.is_empty() {
        let tracking = ctx.audit("dependents", "none", subject).await?;
        return Ok(Outcome {
            name: "none",
            vars: vec![var("code", tracking.to_string())],
        });
    }
    let lines: Vec<String> = dependents
        .iter()
        .map(|d| dependent_line(ctx, d, holder))
        .collect();
    let tracking = ctx.audit("dependents", "listed", subject).await?;
    Ok(Outcome {
        name: "listed",
        vars: vec![
            var("list", lines.join("\n")),
            var("code", tracking.to_string()),
        ],
    })
}

fn dependent_line(ctx: &Ctx<'_>, dependent: &Person, holder: Option<&Person>) -> String {
    let verdict = entitlement(dependent, holder, &ctx.call.service.rules, ctx.today);
    let relation = dependent
        .holder
        .as_ref()
        .map(|h| ctx.words(&format!("relation.{}", relation_key(h.relation)), &[]))
        .unwrap_or_default();
    let who = match &dependent.name {
        Some(name) if !name.trim().is_empty() => format!("{} ({relation})", name.trim()),
        _ => relation,
    };
    let mut vars = vec![var("who", who)];
    vars.extend(verdict_vars(ctx, &verdict));
    match verdict {
        Entitlement::Covered { .. } => ctx.words("dependent.covered", &vars),
        Entitlement::NotCovered(_) => ctx.words("dependent.not_covered", &vars),
    }
}

/// `until` for a covered person (a date, or the words for open-ended), `reason` for one who is not.
fn verdict_vars(ctx: &Ctx<'_>, verdict: &Entitlement) -> Vec<(String, String)> {
    match verdict {
        Entitlement::Covered { until: Some(date) } => vec![var("until", ctx.date(*date))],
        Entitlement::Covered { until: None } => vec![var("until", ctx.words("open_ended", &[]))],
        Entitlement::NotCovered(reason) => {
            vec![var(
                "reason",
                ctx.words(&format!("reason.{}", reason.key()), &[]),
            )]
        }
    }
}

fn holder_of(ctx: &Ctx<'_>, person: &Person) -> Result<Option<Person>, ActionError> {
    match &person.holder {
        Some(link) => Ok(ctx.store().person(ctx.insurer(), &link.person_id)?),
        None => Ok(None),
    }
}

/// Whether `msisdn` is registered on `person`'s record.
fn registered(person: &Person, msisdn: &str) -> bool {
    person.msisdns.iter().any(|m| m == msisdn)
}

fn relation_key(relation: Relation) -> &'static str {
    match relation {
        Relation::Spouse => "spouse",
        Relation::Son => "son",
        Relation::Daughter => "daughter",
        Relation::Father => "father",
        Relation::Mother => "mother",
    }
}
