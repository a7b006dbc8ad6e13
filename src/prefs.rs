//! The locale each caller chose, per service, kept in a sled tree under the caller's keyed hash
//! (never the MSISDN), so that their later sessions open in it (SPEC §2).
//!
//! A choice is remembered the moment it is made (`9` on the first screen), together with the
//! session that made it and the locale that session started in. Replaying that very session
//! from its root (after a restart or an expiry) therefore starts where it started, and its `9`
//! switches the same way again; every other session starts in the chosen locale.

use serde::{Deserialize, Serialize};

use crate::menu::Service;

/// A caller's choice as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Choice {
    locale: String,
    /// The session key of the session that chose.
    chosen_by: String,
    /// The locale that session started in.
    started_in: String,
}

/// The remembered locales; a cheap handle.
#[derive(Clone)]
pub struct LocalePrefs {
    tree: sled::Tree,
}

impl LocalePrefs {
    pub fn new(tree: sled::Tree) -> LocalePrefs {
        LocalePrefs { tree }
    }

    /// The locale a session of `caller` opens in: the remembered choice, the locale the
    /// choosing session started in when `session` replays that session, else the default.
    pub fn opening_locale(
        &self,
        service: &Service,
        caller: &str,
        session: &str,
        replay: bool,
    ) -> String {
        let locale = match self.read(service.id(), caller) {
            Some(choice) if replay && choice.chosen_by == session => choice.started_in,
            Some(choice) => choice.locale,
            None => String::new(),
        };
        if service.serves_locale(&locale) {
            locale
        } else {
            service.default_locale().to_string()
        }
    }

    /// Remembers that `session`, which started in `started_in`, chose `locale`.
    pub fn remember(
        &self,
        service: &str,
        caller: &str,
        locale: &str,
        session: &str,
        started_in: &str,
    ) {
        let choice = Choice {
            locale: locale.to_string(),
            chosen_by: session.to_string(),
            started_in: started_in.to_string(),
        };
        let stored = postcard::to_allocvec(&choice)
            .map_err(|e| e.to_string())
            .and_then(|bytes| {
                self.tree
                    .insert(key(service, caller), bytes)
                    .map_err(|e| e.to_string())
            });
        if let Err(error) = stored {
            tracing::warn!(%error, "locale choice not kept");
        }
    }

    fn read(&self, service: &str, caller: &str) -> Option<Choice> {
        match self.tree.get(key(service, caller)) {
            Ok(Some(bytes)) => postcard::from_bytes(&bytes).ok(),
            Ok(None) => None,
            Err(error) => {
                tracing::warn!(%error, "locale choice unreadable");
                None
            }
        }
    }
}

fn key(service: &str, caller: &str) -> Vec<u8> {
    format!("{service}\u{0}{caller}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::menu::load_menus;
    use std::path::Path;

    #[test]
    fn a_choice_opens_later_sessions_and_replays_start_where_they_started() {
        let menus =
            load_menus(&Path::new(env!("CARGO_MANIFEST_DIR")).join("menus")).expect("menus");
        let tamin = menus.service("tamin").expect("tamin");
        let db = sled::Config::new().temporary(true).open().expect("db");
        let prefs = LocalePrefs::new(db.open_tree("prefs").expect("tree"));
        assert_eq!(
            prefs.opening_locale(tamin, "c1", "s1", false),
            "fa",
            "the default"
        );
        prefs.remember("tamin", "c1", "en", "s1", "fa");
        assert_eq!(prefs.opening_locale(tamin, "c1", "s2", false), "en");
        assert_eq!(
            prefs.opening_locale(tamin, "c1", "s1", true),
            "fa",
            "s1 replayed"
        );
        assert_eq!(
            prefs.opening_locale(tamin, "c1", "s3", true),
            "en",
            "another replay"
        );
        assert_eq!(
            prefs.opening_locale(tamin, "c2", "s1", true),
            "fa",
            "another caller"
        );
        prefs.remember("tamin", "c1", "kk", "s4", "en");
        assert_eq!(
            prefs.opening_locale(tamin, "c1", "s5", false),
            "fa",
            "a locale the service lost"
        );
        db.open_tree("prefs")
            .unwrap()
            .insert(key("tamin", "c3"), &b"garbage"[..])
            .unwrap();
        assert_eq!(prefs.opening_locale(tamin, "c3", "s1", false), "fa");
    }
}
