//! What an inbound SMS asks (SPEC §4.1, seed 000): subscribe to the CNAM alerts with
//! `cnam*cnss*<matricule>*<CIN>` or `cnam*cnrps*<matricule>*<CIN>`, stop them with `STOP`, or
//! anything else, which is answered with the help text.
//!
//! A phone keyboard slips: the text is read case-insensitively, with spaces and dashes ignored
//! (or taken as the separator when the text has no `*` at all: `cnam cnss 11966433 01234567`),
//! `+` read as `*`, a doubled separator read as one, a trailing `#` dropped, and Persian or
//! Arabic-Indic digits read as digits. A matricule written with its key (`00/11966433`, ten
//! digits) is its own answer, so the sender is told to leave the key out.
//!
//! Pure: no IO, no store. The identifiers keep their types ([`Matricule`], [`Cin`]).

use crate::ids::{normalize_digits, Cin, IdError, Matricule};

/// The longest text read as a command; a longer one is answered with the help text unread.
const MAX_COMMAND_BYTES: usize = 160;

/// The insurance scheme a subscription names: CNSS (private sector) or CNRPS (public sector).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Cnss,
    Cnrps,
}

impl Scheme {
    /// The scheme as a record's `scheme` and the command write it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Scheme::Cnss => "cnss",
            Scheme::Cnrps => "cnrps",
        }
    }

    fn parse(word: &str) -> Option<Scheme> {
        match word {
            "cnss" => Some(Scheme::Cnss),
            "cnrps" => Some(Scheme::Cnrps),
            _ => None,
        }
    }
}

/// What an inbound SMS asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    /// Send the alerts of the person this pair names to the sender's phone.
    Subscribe {
        scheme: Scheme,
        matricule: Matricule,
        cin: Cin,
    },
    /// A subscription whose matricule carries its key: refused with a word on how to write it.
    KeyIncluded,
    /// Stop every alert this phone gets.
    Stop,
    /// Anything else: the help text.
    Help,
}

/// Reads an inbound SMS text.
pub(crate) fn parse(text: &str) -> Command {
    if text.len() > MAX_COMMAND_BYTES {
        return Command::Help;
    }
    let segments = segments(text);
    match segments.as_slice() {
        [stop] if stop == "stop" => Command::Stop,
        [cnam, scheme, matricule, cin] if cnam == "cnam" => {
            subscription(scheme, matricule, cin).unwrap_or(Command::Help)
        }
        _ => Command::Help,
    }
}

fn subscription(scheme: &str, matricule: &str, cin: &str) -> Option<Command> {
    let scheme = Scheme::parse(scheme)?;
    let matricule = match Matricule::parse(matricule) {
        Ok(matricule) => matricule,
        Err(IdError::KeyIncluded) => return Some(Command::KeyIncluded),
        Err(_) => return None,
    };
    let cin = Cin::parse(cin).ok()?;
    Some(Command::Subscribe {
        scheme,
        matricule,
        cin,
    })
}

/// The text's parts, lowercased, with the slips of a phone keyboard forgiven.
fn segments(text: &str) -> Vec<String> {
    let trimmed = text.trim().trim_end_matches('#').trim();
    let starred = trimmed.replace('+', "*");
    let separated = if starred.contains('*') {
        starred
    } else {
        starred.split_whitespace().collect::<Vec<_>>().join("*")
    };
    separated
        .split('*')
        .map(|part| normalize_digits(part).to_lowercase())
        .filter(|part| !part.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subscribe(scheme: Scheme, matricule: &str, cin: &str) -> Command {
        Command::Subscribe {
            scheme,
            matricule: Matricule::parse(matricule).expect("matricule"),
            cin: Cin::parse(cin).expect("cin"),
        }
    }

    #[test]
    fn the_two_forms_of_the_notice_subscribe() {
        let cases = [
            ("cnam*cnss*11966433*01234567", Scheme::Cnss),
            ("cnam*cnrps*11966433*01234567", Scheme::Cnrps),
            ("CNAM*CNSS*11966433*01234567", Scheme::Cnss),
            ("Cnam*Cnrps*11966433*01234567#", Scheme::Cnrps),
            (" cnam * cnss * 11966433 * 01234567 # ", Scheme::Cnss),
            ("cnam+cnss+11966433+01234567", Scheme::Cnss),
            ("cnam**cnss*11966433*01234567", Scheme::Cnss),
            ("cnam*cnss*1196 6433*0123-4567", Scheme::Cnss),
            ("cnam cnss 11966433 01234567", Scheme::Cnss),
            ("cnam*cnss*١١٩٦٦٤٣٣*٠١٢٣٤٥٦٧", Scheme::Cnss),
            ("cnam*cnss*۱۱۹۶۶۴۳۳*۰۱۲۳۴۵۶۷", Scheme::Cnss),
        ];
        for (text, scheme) in cases {
            assert_eq!(
                parse(text),
                subscribe(scheme, "11966433", "01234567"),
                "{text:?}"
            );
        }
        // A matricule written without its leading zeros is the same matricule.
        assert_eq!(
            parse("cnam*cnss*966433*01234567"),
            subscribe(Scheme::Cnss, "00966433", "01234567")
        );
    }

    #[test]
    fn a_matricule_with_its_key_is_named_as_such() {
        for text in [
            "cnam*cnss*00/11966433*01234567",
            "cnam*cnrps*0011966433*01234567",
            "cnam*cnss*00 / 11966433*01234567#",
            "cnam*cnss*٠٠/١١٩٦٦٤٣٣*01234567",
        ] {
            assert_eq!(parse(text), Command::KeyIncluded, "{text:?}");
        }
    }

    #[test]
    fn stop_in_any_case() {
        for text in ["STOP", "stop", " Stop ", "STOP#", "sToP\n"] {
            assert_eq!(parse(text), Command::Stop, "{text:?}");
        }
    }

    #[test]
    fn anything_else_gets_the_help_text() {
        let huge = format!("cnam*cnss*11966433*{}", "0".repeat(10_000));
        let cases = [
            "",
            "   ",
            "#",
            "*",
            "hello",
            "cnam",
            "cnam*cnss",
            "cnam*cnss*11966433",
            "cnam*cnss*11966433*01234567*extra",
            "cnam*cnam*11966433*01234567",
            "cnam*cnss*11966433*0123456",
            "cnam*cnss*11966433*012345678",
            "cnam*cnss*119*01234567",
            "cnam*cnss*1196643a*01234567",
            "mutual*cnss*11966433*01234567",
            "كنام*cnss*11966433*01234567",
            "cnam*сnss*11966433*01234567",
            "stop please",
            "STOPP",
            &huge,
            "\u{0}\u{1}\u{7f}",
            "🙂*🙂*🙂*🙂",
        ];
        for text in cases {
            assert_eq!(parse(text), Command::Help, "{text:?}");
        }
    }
}
