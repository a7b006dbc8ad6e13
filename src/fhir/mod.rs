//! The HL7 FHIR R4 eligibility API: `POST /fhir/CoverageEligibilityRequest` answered with a
//! `CoverageEligibilityResponse`. A thin adapter over `inquiry`, as the USSD actions are: the
//! bearer token names the client (the asker in the audit trail), the identifier's system names
//! the service (`systems`), and the answer is the inquiry's — in force or not for a `provider`
//! client (the general inquiry), and the benefit period too for a `member` client whose
//! request's `Patient.telecom` is a phone the record binds (the own-status rules); for `cnam`
//! and `mutual` the member's ceilings too (`tunisia`). The services' settings are the engine's
//! current menus, so a live reload reaches the API. No identifier and no phone is logged.

pub mod config;
mod request;
mod response;
mod systems;
mod tunisia;

use hyper::StatusCode;
use serde_json::Value;

use crate::engine::CurrentMenus;
use crate::ids::{Iin, IranId};
use crate::inquiry::{Asker, General, Inquiries, InquiryError, Own, Scope};
use crate::menu::Service;
use crate::rules::Entitlement;
use config::{ClientScope, FhirConfig};
use request::{Eligibility, PatientId, RequestError};
use response::{Answer, Item};

pub(crate) use response::outcome;

/// The channel the audit trail names for the API.
const CHANNEL: &str = "fhir";

/// The FHIR media type; `application/json` is taken too.
pub(crate) const FHIR_JSON: &str = "application/fhir+json";

/// One configured client.
struct Client {
    name: String,
    token: String,
    scope: ClientScope,
}

/// The API: its clients, the services' settings, and the inquiries it asks.
pub(crate) struct Fhir {
    clients: Vec<Client>,
    /// The engine's menus as the last reload left them.
    menus: CurrentMenus,
    inquiries: Inquiries,
}

/// An answer for the wire: the status and the FHIR resource.
pub(crate) type Reply = (StatusCode, Value);

impl Fhir {
    pub(crate) fn new(config: &FhirConfig, menus: CurrentMenus, inquiries: Inquiries) -> Fhir {
        let clients = config
            .clients
            .iter()
            .filter_map(|(name, c)| {
                Some(Client {
                    name: name.clone(),
                    token: c.token.clone()?,
                    scope: c.scope,
                })
            })
            .collect();
        Fhir {
            clients,
            menus,
            inquiries,
        }
    }

    /// The client whose token `bearer` is (compared in constant time), if any.
    fn client(&self, bearer: Option<&str>) -> Option<&Client> {
        let bearer = bearer?;
        self.clients.iter().find(|c| {
            crate::dialect::guard::constant_time_eq(c.token.as_bytes(), bearer.as_bytes())
        })
    }

    /// Whether a bearer token names a client; the server asks before reading the body.
    pub(crate) fn knows(&self, bearer: Option<&str>) -> bool {
        self.client(bearer).is_some()
    }

    /// The answer to `body` from the client whose token is `bearer` (checked by [`knows`]).
    pub(crate) async fn answer(&self, bearer: Option<&str>, body: &[u8]) -> Reply {
        let Some(client) = self.client(bearer) else {
            return unauthorised();
        };
        let asked = match request::parse(body) {
            Ok(asked) => asked,
            Err(error) => return refused(&error),
        };
        let menus = self.menus.get();
        let Some(service) = menus.service(asked.patient.service()) else {
            let why = "the identifier's insurer is not served here";
            return (StatusCode::BAD_REQUEST, outcome("not-supported", why));
        };
        let insurer = service.spec.insurer.as_str();
        let asked_of = match &asked.patient {
            PatientId::Tunisia {
                fund,
                matricule,
                cin,
            } => {
                let pair = tunisia::Pair {
                    fund: *fund,
                    matricule,
                    cin,
                };
                tunisia::ask(&self.inquiries, scope(service), client, &asked, pair).await
            }
            PatientId::Iran(id) => self.ask(client, service, &asked, Single::Iran(id)).await,
            PatientId::Kazakh(iin) => self.ask(client, service, &asked, Single::Kazakh(iin)).await,
        };
        reply(&asked, insurer, client, asked_of)
    }

    /// Puts a `tamin` or `osms` question to the service's desk: the member's own status when
    /// the client may ask it, the request asks for benefits and names a phone, and the general
    /// answer otherwise (validation only, or a phone that does not match).
    async fn ask(
        &self,
        client: &Client,
        service: &Service,
        asked: &Eligibility,
        patient: Single<'_>,
    ) -> Result<Asked, InquiryError> {
        let scope = scope(service);
        let member = match (client.scope, asked.msisdn.as_deref()) {
            (ClientScope::Member, Some(msisdn)) if asked.wants_benefits() => Some(Asker::Member {
                name: &client.name,
                msisdn,
            }),
            _ => None,
        };
        if let Some(asker) = member {
            let desk = self.inquiries.desk(scope, asker, CHANNEL);
            if let Some(found) = own(&desk, patient).await? {
                return Ok(Asked::Found(found));
            }
        }
        let asker = Asker::Client { name: &client.name };
        let desk = self.inquiries.desk(scope, asker, CHANNEL);
        general(&desk, patient).await.map(Asked::Found)
    }
}

/// The wire answer of what the inquiries said to `asked` about `insurer`'s person.
fn reply(
    asked: &Eligibility,
    insurer: &str,
    client: &Client,
    asked_of: Result<Asked, InquiryError>,
) -> Reply {
    match asked_of {
        Ok(Asked::Found(found)) => {
            let answer = found.with_insurer(insurer);
            (StatusCode::OK, response::eligibility(asked, &answer))
        }
        Ok(Asked::NoSuchPair(code)) => {
            // The same words whichever half was wrong, or both (SPEC §2.2).
            let why =
                format!("no person holds this matricule and CIN together; tracking code {code}");
            (StatusCode::NOT_FOUND, outcome("not-found", &why))
        }
        Err(error) => {
            tracing::error!(%error, client = %client.name, "fhir inquiry failed");
            let why = "the inquiry could not be answered; try again later";
            (StatusCode::SERVICE_UNAVAILABLE, outcome("transient", why))
        }
    }
}

/// The scope of the questions put to `service`.
fn scope(service: &Service) -> Scope<'_> {
    Scope {
        service: service.spec.id.as_str(),
        insurer: &service.spec.insurer,
        time_zone: &service.spec.time_zone,
        rules: &service.rules,
        benefits: &service.benefits,
    }
}

/// A `tamin` or `osms` identifier (a Tunisian pair is `tunisia`'s).
#[derive(Clone, Copy)]
enum Single<'a> {
    Iran(&'a IranId),
    Kazakh(&'a Iin),
}

/// What the inquiries said: an answer, or (`cnam`, `mutual`) a pair that belongs to no one
/// person, tracked.
enum Asked {
    Found(Found),
    NoSuchPair(crate::audit::TrackingCode),
}

/// What an inquiry says before the insurer is named.
struct Found {
    inforce: bool,
    until: Option<jiff::civil::Date>,
    code: crate::audit::TrackingCode,
    created: jiff::civil::Date,
    /// The member's benefits (`cnam`, `mutual`), when they may learn them.
    items: Vec<Item>,
}

impl Found {
    fn with_insurer(self, insurer: &str) -> Answer<'_> {
        Answer {
            insurer,
            inforce: self.inforce,
            until: self.until,
            code: self.code,
            created: self.created,
            items: self.items,
        }
    }
}

/// In force or not: the general inquiry (`tamin`), the status to a stranger (`osms`).
async fn general(
    desk: &crate::inquiry::Desk<'_>,
    patient: Single<'_>,
) -> Result<Found, InquiryError> {
    let (inforce, code) = match patient {
        Single::Iran(id) => {
            let tracked = desk.general(id).await?;
            (tracked.answer == General::Covered, tracked.code)
        }
        Single::Kazakh(iin) => {
            let tracked = desk.osms_status(iin).await?;
            (tracked.answer.insured, tracked.code)
        }
    };
    Ok(Found {
        inforce,
        until: None,
        code,
        created: desk.today(),
        items: Vec::new(),
    })
}

/// A member's own status: `None` when the phone is not registered for the person (then the
/// general answer is given). `osms` has no benefit period: its status is in force or not.
async fn own(
    desk: &crate::inquiry::Desk<'_>,
    patient: Single<'_>,
) -> Result<Option<Found>, InquiryError> {
    let Single::Iran(IranId::National(code)) = patient else {
        return Ok(None);
    };
    let tracked = desk.own_entitlement(code).await?;
    let (inforce, until) = match tracked.answer {
        Own::Mismatch => return Ok(None),
        Own::Entitlement(Entitlement::Covered { until }, _) => (true, until),
        Own::Entitlement(Entitlement::NotCovered(_), _) => (false, None),
    };
    Ok(Some(Found {
        inforce,
        until,
        code: tracked.code,
        created: desk.today(),
        items: Vec::new(),
    }))
}

/// 401: no token, or one no client has.
pub(crate) fn unauthorised() -> Reply {
    let why = "a bearer token of a configured FHIR client is needed";
    (StatusCode::UNAUTHORIZED, outcome("security", why))
}

/// 400 with the request's fault.
fn refused(error: &RequestError) -> Reply {
    let code = match error {
        RequestError::NotJson => "structure",
        RequestError::UnknownSystem => "not-supported",
        RequestError::IncompletePair | RequestError::NoIdentifier => "required",
        _ => "invalid",
    };
    (StatusCode::BAD_REQUEST, outcome(code, &error.to_string()))
}
