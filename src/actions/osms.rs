//! The action of `osms` (Kazakhstan, compulsory social health insurance; SPEC §2.4): whether a
//! person is insured, a row of the last 12 months' contributions, and their primary-care
//! provider. An IIN that no record holds is answered "not insured" with no months.

use super::{var, ActionError, Ctx};
use crate::flow::Outcome;
use crate::rules::{contribution_months, osms_insured};

pub const STATUS: &[&str] = &["insured", "not_insured", "unknown"];

/// The message keys this action reads.
pub fn words() -> Vec<String> {
    ["month.paid", "month.unpaid", "provider", "no_provider"]
        .iter()
        .map(|k| k.to_string())
        .collect()
}

pub(crate) async fn status(ctx: &Ctx<'_>) -> Result<Outcome, ActionError> {
    let iin = ctx.answer("iin")?;
    let Some(person) = ctx.store().person(ctx.insurer(), iin)? else {
        let tracking = ctx.audit("status", "not_covered", Some(iin)).await?;
        return Ok(Outcome {
            name: "unknown",
            vars: vec![var("code", tracking.to_string())],
        });
    };
    let insured = osms_insured(&person);
    let months: Vec<String> = contribution_months(&person, ctx.today)
        .into_iter()
        .map(|(month, paid)| {
            let mark = ctx.words(if paid { "month.paid" } else { "month.unpaid" }, &[]);
            format!("{:02}{mark}", month.month)
        })
        .collect();
    let provider = match &person.attachment {
        Some(a) if !a.provider.trim().is_empty() => {
            ctx.words("provider", &[var("provider", a.provider.trim())])
        }
        _ => ctx.words("no_provider", &[]),
    };
    let (name, result) = if insured {
        ("insured", "covered")
    } else {
        ("not_insured", "not_covered")
    };
    let tracking = ctx.audit("status", result, Some(iin)).await?;
    Ok(Outcome {
        name,
        vars: vec![
            var("months", months.concat()),
            var("provider", provider),
            var("code", tracking.to_string()),
        ],
    })
}
