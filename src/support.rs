//! `POST /admin/entitlement`: a person's entitlement as the engine sees it today, for the
//! support staff answering a complaint (issue 12, item 7). A thin adapter over `inquiry`, as
//! the FHIR API is: it reads the JSON body (`{"service": "tamin", "identifier": "…"}`, or
//! `"matricule"` and `"cin"` for `cnam` and `mutual`), validates the identifier with the same
//! validators as the menus, asks the service's desk as the client `admin` on the channel
//! `admin` (audited under a tracking code like any inquiry), and writes the answer as JSON.
//!
//! The person is named in the body only: the server refuses a query string on this route, and
//! nothing here logs or echoes an identifier (errors say which field and what is wrong with it,
//! never its value).

use hyper::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::engine::CurrentMenus;
use crate::ids::{Cin, Iin, IranId, Matricule};
use crate::inquiry::{Asker, Inquiries, PersonView, Ruling, Scope, Subject};
use crate::menu::Service;
use crate::rules::Entitlement;

/// The channel and the client the audit trail names for the support lookup.
pub(crate) const CHANNEL: &str = "admin";
const ASKER: &str = "admin";

/// The lookup: the services' settings and the inquiries it asks.
pub(crate) struct Support {
    menus: CurrentMenus,
    inquiries: Inquiries,
}

/// The body of a lookup.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Asked {
    service: String,
    identifier: Option<String>,
    matricule: Option<String>,
    cin: Option<String>,
}

/// How a service names its people.
enum Named {
    Iran(IranId),
    Kazakh(Iin),
    Pair(Matricule, Cin),
}

/// An answer for the wire: the status and the JSON body.
pub(crate) type Reply = (StatusCode, Value);

impl Support {
    pub(crate) fn new(menus: CurrentMenus, inquiries: Inquiries) -> Support {
        Support { menus, inquiries }
    }

    /// The answer to `body`.
    pub(crate) async fn answer(&self, body: &[u8]) -> Reply {
        let asked: Asked = match serde_json::from_slice(body) {
            Ok(asked) => asked,
            Err(error) => return bad(&body_error(&error)),
        };
        // The menus the last reload installed: their rules and settings.
        let menus = self.menus.get();
        let Some(service) = menus.service(&asked.service) else {
            let known: Vec<&str> = menus.services.keys().map(String::as_str).collect();
            let error = json!({"error": "no such service", "services": known});
            return (StatusCode::NOT_FOUND, error);
        };
        let named = match named(service, &asked) {
            Ok(named) => named,
            Err(why) => return bad(&why),
        };
        let scope = Scope {
            service: service.spec.id.as_str(),
            insurer: &service.spec.insurer,
            time_zone: &service.spec.time_zone,
            rules: &service.rules,
            benefits: &service.benefits,
        };
        let desk = self
            .inquiries
            .desk(scope, Asker::Client { name: ASKER }, CHANNEL);
        let (subject, ruling) = match &named {
            Named::Iran(id) => (Subject::Id(id.as_str()), Ruling::Entitlement),
            Named::Kazakh(iin) => (Subject::Id(iin.as_str()), Ruling::Osms),
            Named::Pair(m, c) => (Subject::Pair(m, c), Ruling::Entitlement),
        };
        match desk.support_view(subject, ruling).await {
            Ok(tracked) => {
                let answer = json!({
                    "service": service.id(),
                    "today": desk.today().to_string(),
                    "tracking_code": tracked.code.to_string(),
                    "found": tracked.answer.is_some(),
                    "person": tracked.answer.as_ref().map(person),
                });
                (StatusCode::OK, answer)
            }
            Err(error) => {
                tracing::error!(%error, service = service.id(), "support lookup failed");
                let error = json!({"error": "the lookup could not be answered; try again later"});
                (StatusCode::SERVICE_UNAVAILABLE, error)
            }
        }
    }
}

/// 400 with what is wrong.
fn bad(why: &str) -> Reply {
    (StatusCode::BAD_REQUEST, json!({ "error": why }))
}

/// What is wrong with a body that does not read, without the values it holds.
fn body_error(error: &serde_json::Error) -> String {
    match error.classify() {
        serde_json::error::Category::Data => {
            let text = error.to_string();
            let text = text.split(" at line ").next().unwrap_or_default();
            format!("the body does not fit: {}", crate::value_free::plain(text))
        }
        _ => "the body is not a JSON object: {\"service\": …, \"identifier\": …} \
              (or \"matricule\" and \"cin\" for cnam and mutual)"
            .to_string(),
    }
}

/// The person the body names, validated as the service's menus validate it.
fn named(service: &Service, asked: &Asked) -> Result<Named, String> {
    let field = |name: &str, value: &Option<String>| -> Result<String, String> {
        value
            .clone()
            .ok_or_else(|| format!("{} names its people by {name}", service.id()))
    };
    let invalid = |name: &str, error: crate::ids::IdError| format!("{name}: {error}");
    match service.spec.insurer.as_str() {
        "cnam" | "mutual" => {
            if asked.identifier.is_some() {
                return Err(format!(
                    "{} names its people by matricule and cin",
                    service.id()
                ));
            }
            let matricule = field("matricule and cin", &asked.matricule)?;
            let cin = field("matricule and cin", &asked.cin)?;
            let matricule = Matricule::parse(&matricule).map_err(|e| invalid("matricule", e))?;
            let cin = Cin::parse(&cin).map_err(|e| invalid("cin", e))?;
            Ok(Named::Pair(matricule, cin))
        }
        insurer => {
            if asked.matricule.is_some() || asked.cin.is_some() {
                return Err(format!("{} names its people by identifier", service.id()));
            }
            let identifier = field("identifier", &asked.identifier)?;
            if insurer == "osms" {
                let iin = Iin::parse(&identifier).map_err(|e| invalid("identifier", e))?;
                return Ok(Named::Kazakh(iin));
            }
            let foreign = service.spec.foreign_number_length;
            let id = IranId::parse(&identifier, foreign).map_err(|e| invalid("identifier", e))?;
            Ok(Named::Iran(id))
        }
    }
}

/// The person's view as JSON.
fn person(view: &PersonView) -> Value {
    let mut out = entitlement(&view.entitlement);
    out["relation"] = json!(view.relation);
    out["until"] = json!(view.until.map(|d| d.to_string()));
    out["dependents"] = view
        .dependents
        .iter()
        .map(|d| {
            let mut line = entitlement(&d.entitlement);
            line["until"] = json!(match d.entitlement {
                Entitlement::Covered { until } => until.map(|d| d.to_string()),
                Entitlement::NotCovered(_) => None,
            });
            line["relation"] = json!(d.relation);
            line["name"] = json!(d.name);
            line
        })
        .collect();
    out["ceilings"] = view
        .ceilings
        .iter()
        .map(|c| {
            json!({
                "kind": c.kind,
                "of": c.of,
                "year": c.year,
                "limit": c.balance.limit.to_string(),
                "used": c.balance.used.to_string(),
                "remaining": c.balance.remaining.to_string(),
            })
        })
        .collect();
    out
}

/// Status and the rule that decided (`in_force`, or the reason's key).
fn entitlement(verdict: &Entitlement) -> Value {
    match verdict {
        Entitlement::Covered { .. } => json!({
            "status": "covered",
            "rule": "in_force",
        }),
        Entitlement::NotCovered(reason) => json!({
            "status": "not_covered",
            "rule": reason.key(),
        }),
    }
}
