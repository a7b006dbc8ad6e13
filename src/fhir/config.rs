//! `[fhir]`: the clients of the FHIR eligibility API (`[fhir.clients.<name>]`), each with its
//! bearer token (in the file or in an environment variable) and its scope. A client without a
//! token is refused at start.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::config::Refused;

/// `[fhir]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FhirConfig {
    /// The API's clients by name; the name is the asker in the audit trail. None: the API
    /// refuses every request (401).
    pub clients: BTreeMap<String, FhirClient>,
}

/// `[fhir.clients.<name>]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FhirClient {
    /// The bearer token; prefer `token_env`.
    #[serde(default)]
    pub token: Option<String>,
    /// The environment variable holding the bearer token, read at start.
    #[serde(default)]
    pub token_env: Option<String>,
    pub scope: ClientScope,
}

/// What a client may learn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientScope {
    /// In force or not, as the general inquiry answers: a provider's system.
    Provider,
    /// Also the benefit period, when the request's `Patient.telecom` is a phone the record
    /// binds: a member's app or bot.
    Member,
}

impl FhirConfig {
    /// Reads each `token_env` through `env` into `token` (a set, non-empty variable wins).
    pub(crate) fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) {
        for client in self.clients.values_mut() {
            let from_env = client.token_env.as_deref().and_then(&env);
            if let Some(token) = from_env.filter(|t| !t.is_empty()) {
                client.token = Some(token);
            }
        }
    }

    /// Refuses a client with no token (neither in the file nor in its variable).
    pub(crate) fn check(&self) -> Result<(), Refused> {
        match self
            .clients
            .iter()
            .find(|(_, c)| c.token.as_deref().is_none_or(|t| t.trim().is_empty()))
        {
            Some((name, _)) => Err(Refused::new(
                format!("fhir.clients.{name}"),
                "needs a token: `token`, or `token_env` naming a variable that is set",
            )),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> FhirConfig {
        toml::from_str(text).expect("a [fhir] table")
    }

    #[test]
    fn a_client_without_a_token_is_refused() {
        let mut config =
            parsed("[clients.clinic]\ntoken_env = \"CLINIC_TOKEN\"\nscope = \"provider\"\n");
        config.apply_env(|_| None);
        let refused = config.check().expect_err("no token");
        assert_eq!(refused.key, "fhir.clients.clinic");
        config.apply_env(|key| (key == "CLINIC_TOKEN").then(|| "s3cret".to_string()));
        config.check().expect("a token from the environment");
        assert_eq!(config.clients["clinic"].token.as_deref(), Some("s3cret"));
        assert_eq!(config.clients["clinic"].scope, ClientScope::Provider);
    }

    #[test]
    fn an_unknown_key_or_scope_is_refused() {
        assert!(
            toml::from_str::<FhirConfig>("[clients.a]\ntoken = \"t\"\nscope = \"all\"\n").is_err()
        );
        assert!(toml::from_str::<FhirConfig>(
            "[clients.a]\ntoken = \"t\"\nscope = \"member\"\nx = 1\n"
        )
        .is_err());
    }
}
