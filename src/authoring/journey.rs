//! Journey files: transcripts of a caller's session that `daftar check --journeys DIR` plays
//! through the real engine, failing on the first difference.
//!
//! A journey is one TOML file: the service, the caller's MSISDN, a small NDJSON feed (SPEC §5,
//! its path relative to the journey file), optionally the dialled string (default: the
//! service's first code) and the locale the caller chose in an earlier session; then its steps,
//! the first being the screen the dial shows and each later one an input with the screen it
//! must show (exact text, or a regex the whole screen must match) and, optionally, whether the
//! session ends there.
//!
//! Each journey gets a store of its own in a temp dir, synced from its feed, and the engine that
//! `app::build_core` builds over it, with the configuration's limits and budgets; "today" is the
//! date in the service's time zone, as for any caller, so a journey's feed uses dates that hold
//! whatever the date (far-future ends, ends long past, ages decades from a limit).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use regex::Regex;
use serde::Deserialize;

use crate::app::{build_core, open_parts};
use crate::config::Config;
use crate::feed::FeedSource;
use crate::menu::load::{toml_files, MenuError};
use crate::menu::Menus;
use crate::turn::{Reply, Turn, TurnKind};

/// The dialect name the journeys' sessions are keyed under.
const DIALECT: &str = "journey";
/// The key of the option that switches locale on a service's first screen (SPEC §2).
const SWITCH_LOCALE: &str = "9";

/// A journey file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JourneyFile {
    service: String,
    msisdn: String,
    feed: PathBuf,
    #[serde(default)]
    dial: Option<String>,
    #[serde(default)]
    locale: Option<String>,
    #[serde(default, rename = "step")]
    steps: Vec<StepFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepFile {
    #[serde(default)]
    input: Option<String>,
    #[serde(default)]
    screen: Option<String>,
    #[serde(default)]
    matches: Option<String>,
    #[serde(default)]
    end: Option<bool>,
}

/// A journey, read and checked.
#[derive(Debug)]
pub(crate) struct Journey {
    pub(crate) file: PathBuf,
    service: String,
    msisdn: String,
    feed: PathBuf,
    dial: Option<String>,
    locale: Option<String>,
    steps: Vec<Step>,
}

/// One step: what the caller types (nothing for the dial) and what the phone must show.
#[derive(Debug)]
struct Step {
    input: Option<String>,
    expect: Expect,
    end: Option<bool>,
}

#[derive(Debug)]
enum Expect {
    Screen(String),
    /// The pattern as written, and compiled to match the whole screen.
    Matches(String, Regex),
}

/// Why a journey did not pass.
#[derive(Debug, thiserror::Error)]
pub(crate) enum JourneyError {
    #[error("cannot read journeys in {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The journeys' directory cannot be listed.
    #[error("journeys: {0}")]
    Listing(String),
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{path}: cannot be played: {message}")]
    Setup { path: PathBuf, message: String },
    #[error("{0}")]
    Differs(Box<Difference>),
}

/// The first step whose screen is not the one expected.
#[derive(Debug)]
pub(crate) struct Difference {
    pub(crate) file: PathBuf,
    /// From 1.
    pub(crate) step: usize,
    pub(crate) input: Option<String>,
    pub(crate) expected: String,
    pub(crate) got: Reply,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let typed = match &self.input {
            Some(input) => format!("input {input:?}"),
            None => "the dial".to_string(),
        };
        writeln!(
            f,
            "{}: step {} ({typed}) differs",
            self.file.display(),
            self.step
        )?;
        writeln!(f, "  expected {}", self.expected)?;
        let (kind, text) = match &self.got {
            Reply::Continue(text) => ("CON", text.as_str()),
            Reply::End(text) => ("END", text.as_str()),
            Reply::Ack => ("no screen", ""),
        };
        write!(f, "  got ({kind})\n{}", quoted(text))
    }
}

/// The most characters of a screen a difference shows (a huge expectation is cut, not dumped).
const SHOWN_MAX: usize = 2_000;

/// `text` as block lines, each behind `  | `, cut after [`SHOWN_MAX`] characters.
fn quoted(text: &str) -> String {
    let count = text.chars().count();
    let shown: String = text.chars().take(SHOWN_MAX).collect();
    let cut = if count > SHOWN_MAX {
        format!("\n  … {} more characters", count - SHOWN_MAX)
    } else {
        String::new()
    };
    let lines = shown
        .split('\n')
        .map(|line| format!("  | {line}"))
        .collect::<Vec<_>>()
        .join("\n");
    format!("{lines}{cut}")
}

/// Every `*.toml` journey in `dir`, in name order; a file that cannot be read as a journey is
/// an error of its own, so one bad file does not hide the others.
pub(crate) fn load_dir(dir: &Path) -> Result<Vec<Result<Journey, JourneyError>>, JourneyError> {
    // Listed as the menus are: the same `*.toml` files in name order.
    let files = toml_files(dir).map_err(|error| match error {
        MenuError::Read { path, source } => JourneyError::Read { path, source },
        other => JourneyError::Listing(other.to_string()),
    })?;
    Ok(files.iter().map(|path| load(path)).collect())
}

/// One journey file.
pub(crate) fn load(path: &Path) -> Result<Journey, JourneyError> {
    let invalid = |message: String| JourneyError::Invalid {
        path: path.to_path_buf(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|source| JourneyError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|_| invalid("is not UTF-8 text".into()))?;
    let file: JourneyFile = toml::from_str(&text).map_err(|e| parse_error(path, &text, &e))?;
    if file.msisdn.is_empty() || !file.msisdn.chars().all(|c| c.is_ascii_digit()) {
        return Err(invalid(
            "msisdn must be digits in international form (989121234567)".into(),
        ));
    }
    if file.steps.is_empty() {
        return Err(invalid(
            "no [[step]]: a journey needs at least the screen the dial shows".into(),
        ));
    }
    let steps = file
        .steps
        .into_iter()
        .enumerate()
        .map(|(i, step)| read_step(i + 1, step).map_err(&invalid))
        .collect::<Result<Vec<_>, _>>()?;
    let base = path.parent().unwrap_or(Path::new("."));
    Ok(Journey {
        file: path.to_path_buf(),
        service: file.service,
        msisdn: file.msisdn,
        feed: base.join(file.feed),
        dial: file.dial,
        locale: file.locale,
        steps,
    })
}

/// A TOML error on one line: the file and line where the parser stopped, and its message.
fn parse_error(path: &Path, text: &str, error: &toml::de::Error) -> JourneyError {
    let line = error.span().map(|span| {
        text.as_bytes()[..span.start.min(text.len())]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    });
    let at = match line {
        Some(line) => format!("{}:{line}", path.display()),
        None => path.display().to_string(),
    };
    JourneyError::Invalid {
        path: PathBuf::from(at),
        message: error.message().trim().to_string(),
    }
}

fn read_step(number: usize, step: StepFile) -> Result<Step, String> {
    match (number, &step.input) {
        (1, Some(_)) => {
            return Err(
                "step 1 is the screen the dial shows: it takes no input (use `dial` for a \
                 dialled shortcut)"
                    .into(),
            )
        }
        (n, None) if n > 1 => return Err(format!("step {n} has no input")),
        _ => {}
    }
    let expect = match (step.screen, step.matches) {
        (Some(screen), None) => Expect::Screen(screen),
        (None, Some(pattern)) => {
            let whole = format!(r"(?s)\A(?:{pattern})\z");
            let regex = Regex::new(&whole)
                .map_err(|e| format!("step {number}: `matches` is not a regex: {e}"))?;
            Expect::Matches(pattern, regex)
        }
        _ => {
            return Err(format!(
            "step {number} needs exactly one of `screen` (the exact text) or `matches` (a regex)"
        ))
        }
    };
    Ok(Step {
        input: step.input,
        expect,
        end: step.end,
    })
}

impl Step {
    /// Whether `got` is what this step expects.
    fn holds(&self, got: &Reply) -> bool {
        let text_holds = match &self.expect {
            Expect::Screen(screen) => got.text() == screen,
            Expect::Matches(_, regex) => regex.is_match(got.text()),
        };
        let end_holds = match (self.end, got) {
            (None, Reply::Continue(_) | Reply::End(_)) => true,
            (Some(end), Reply::Continue(_)) => !end,
            (Some(end), Reply::End(_)) => end,
            (_, Reply::Ack) => false,
        };
        text_holds && end_holds
    }

    fn describe(&self) -> String {
        let kind = match self.end {
            Some(true) => "END",
            Some(false) => "CON",
            None => "CON or END",
        };
        match &self.expect {
            Expect::Screen(screen) => format!("({kind})\n{}", quoted(screen)),
            Expect::Matches(pattern, _) => {
                format!("({kind}) a screen matching\n{}", quoted(pattern))
            }
        }
    }
}

/// Plays `journey` through the engine over `menus` (already checked), with `config`'s limits
/// and budgets over a store of its own. `Ok`: the number of steps, all as expected.
pub(crate) fn play(
    config: &Config,
    menus: &Menus,
    journey: &Journey,
) -> Result<usize, JourneyError> {
    let setup = |message: String| JourneyError::Setup {
        path: journey.file.clone(),
        message,
    };
    let service = menus
        .service(&journey.service)
        .ok_or_else(|| setup(format!("no service `{}` in the menus", journey.service)))?;
    let dial = match &journey.dial {
        Some(dial) => dial.clone(),
        None => service.spec.codes.first().cloned().unwrap_or_default(),
    };
    if menus.route(&dial).map(|route| route.service).as_deref() != Some(service.id()) {
        return Err(setup(format!("`{dial}` does not dial `{}`", service.id())));
    }
    let presses = match &journey.locale {
        None => 0,
        Some(locale) => locale_presses(service, locale).ok_or_else(|| {
            setup(format!(
                "`{}` does not serve the locale `{locale}`",
                service.id()
            ))
        })?,
    };
    let dir = tempfile::tempdir().map_err(|e| setup(format!("no temp dir: {e}")))?;
    let mut config = config.clone();
    config.store.db = dir.path().join("db");
    config.audit.key_file = None;
    let parts = open_parts(&config).map_err(|e| setup(format!("{e:#}")))?;
    let feed = journey.feed.to_string_lossy();
    let source = FeedSource::parse(&feed).map_err(|e| setup(format!("feed: {e}")))?;
    let report = crate::sync::sync_once(&parts.store, &source).map_err(|e| setup(e.to_string()))?;
    if report.rejected_count() > 0 {
        return Err(setup(format!("feed {feed} has rejected lines: {report}")));
    }
    let core = build_core(&config, &parts, menus.clone()).map_err(|e| setup(format!("{e:#}")))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| setup(format!("no runtime: {e}")))?;
    let dialect: Arc<str> = Arc::from(DIALECT);
    let phone = |session: &str, dialled: &str, path: &str| {
        let turn = Turn::new(
            &dialect,
            session,
            &journey.msisdn,
            TurnKind::Path(path.into()),
        )
        .dialled(dialled);
        runtime.block_on(core.engine.step(&turn))
    };
    // The locale chosen in an earlier session: `9` on the first screen of the service's own
    // code, as a caller does.
    let code = service.spec.codes.first().cloned().unwrap_or_default();
    let mut chosen = Vec::new();
    for _ in 0..presses {
        chosen.push(SWITCH_LOCALE);
        phone("journey-locale", &code, &chosen.join("*"));
    }
    let mut path: Vec<&str> = Vec::new();
    for (i, step) in journey.steps.iter().enumerate() {
        if let Some(input) = &step.input {
            path.push(input);
        }
        let got = phone("journey", &dial, &path.join("*"));
        // A session that ended answers every later step with its last screen, so a journey
        // that goes on past an END differs at its next step.
        if !step.holds(&got) {
            return Err(JourneyError::Differs(Box::new(Difference {
                file: journey.file.clone(),
                step: i + 1,
                input: step.input.clone(),
                expected: step.describe(),
                got,
            })));
        }
    }
    Ok(journey.steps.len())
}

/// How many times `9` takes a session of `service` from its default locale to `locale`.
fn locale_presses(service: &crate::menu::Service, locale: &str) -> Option<usize> {
    let mut current = service.default_locale().to_string();
    for presses in 0..service.spec.locales.len() {
        if current == locale {
            return Some(presses);
        }
        current = service.other_locale(&current).to_string();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(input: Option<&str>, screen: Option<&str>, matches: Option<&str>) -> StepFile {
        StepFile {
            input: input.map(str::to_string),
            screen: screen.map(str::to_string),
            matches: matches.map(str::to_string),
            end: None,
        }
    }

    #[test]
    fn a_step_holds_on_its_text_and_on_how_the_session_goes_on() {
        let exact = read_step(2, step(Some("1"), Some("Code?"), None)).expect("valid");
        let pattern = read_step(2, step(Some("1"), None, Some(r"Code: \d{10}"))).expect("valid");
        let cases = [
            (&exact, Reply::Continue("Code?".into()), true),
            (&exact, Reply::End("Code?".into()), true),
            (&exact, Reply::Continue("Code? ".into()), false),
            (&exact, Reply::Ack, false),
            (&pattern, Reply::End("Code: 0123456789".into()), true),
            // The whole screen must match, not a part of it.
            (&pattern, Reply::End("Code: 0123456789\nmore".into()), false),
            (&pattern, Reply::End("x Code: 0123456789".into()), false),
            (&pattern, Reply::End("Code: ۰۱۲۳۴۵۶۷۸۹".into()), true),
        ];
        for (step, got, holds) in cases {
            assert_eq!(step.holds(&got), holds, "{got:?}");
        }
        let mut ends = step(Some("1"), Some("Bye"), None);
        ends.end = Some(true);
        let ends = read_step(2, ends).expect("valid");
        assert!(ends.holds(&Reply::End("Bye".into())));
        assert!(!ends.holds(&Reply::Continue("Bye".into())));
    }

    #[test]
    fn a_dot_in_a_pattern_matches_line_ends() {
        let any = read_step(1, step(None, None, Some("Title.*"))).expect("valid");
        assert!(any.holds(&Reply::Continue("Title\n1. One\n2. Two".into())));
    }

    #[test]
    fn steps_that_cannot_be_played_are_refused_with_their_number() {
        let cases = [
            (
                1,
                step(Some("1"), Some("x"), None),
                "step 1 is the screen the dial shows",
            ),
            (3, step(None, Some("x"), None), "step 3 has no input"),
            (
                2,
                step(Some("1"), None, None),
                "step 2 needs exactly one of",
            ),
            (
                2,
                step(Some("1"), Some("x"), Some("x")),
                "step 2 needs exactly one of",
            ),
            (
                2,
                step(Some("1"), None, Some("[")),
                "step 2: `matches` is not a regex",
            ),
        ];
        for (number, step, says) in cases {
            let error = read_step(number, step).expect_err("refused");
            assert!(error.contains(says), "{error}");
        }
    }

    #[test]
    fn a_long_screen_is_cut_in_a_difference() {
        let shown = quoted(&"x".repeat(SHOWN_MAX + 5));
        assert!(shown.ends_with("\n  … 5 more characters"), "{shown}");
        assert_eq!(quoted("a\nb"), "  | a\n  | b");
    }
}
