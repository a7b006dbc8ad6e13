//! Reading a menus directory: service files, their words per locale, and the common words.
//!
//! `menus/<service>.toml` is a service; `menus/<service>.<locale>.toml` its words in a locale;
//! `menus/common.<locale>.toml` the words every service shares (navigation, errors). A word
//! table is flat (`key = "text"`) or nested (`[error] check_digit = "…"` is `error.check_digit`).
//! Loading refuses what cannot be parsed; what parses but is wrong is `check`'s job.

use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::lines::key_lines;
use super::{Menus, Screen, Service, ServiceSpec, Words};
use crate::benefits::Benefits;
use crate::rules::RuleConfig;

/// The file name of the words every service shares.
const COMMON: &str = "common";

#[derive(Debug, thiserror::Error)]
pub(crate) enum MenuError {
    #[error("cannot read menus in {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("no service menus found in {0}")]
    Empty(PathBuf),
}

/// A service file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceFile {
    service: ServiceSpec,
    #[serde(default)]
    rules: Option<RuleConfig>,
    #[serde(default)]
    benefits: Benefits,
    screens: BTreeMap<String, Screen>,
    /// Dialled string → the screen it promises to reach.
    #[serde(default)]
    shortcuts: BTreeMap<String, String>,
}

/// Loads every service in `dir` with its words.
pub(crate) fn load_menus(dir: &Path) -> Result<Menus, MenuError> {
    let files = toml_files(dir)?;
    let mut common: HashMap<String, Words> = HashMap::new();
    let mut words: HashMap<(String, String), Words> = HashMap::new();
    let mut service_files = Vec::new();
    for path in files {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        match stem.split_once('.') {
            None => service_files.push(path),
            Some((owner, locale)) => {
                let table = read_words(&path)?;
                if owner == COMMON {
                    common.insert(locale.to_string(), table);
                } else {
                    words.insert((owner.to_string(), locale.to_string()), table);
                }
            }
        }
    }
    let mut services = BTreeMap::new();
    for path in service_files {
        let service = read_service(&path, &common, &mut words)?;
        services.insert(service.spec.id.clone(), service);
    }
    if services.is_empty() {
        return Err(MenuError::Empty(dir.to_path_buf()));
    }
    Ok(Menus { services, common })
}

/// The `*.toml` files of `dir` (not its subdirectories), in name order.
pub(crate) fn toml_files(dir: &Path) -> Result<Vec<PathBuf>, MenuError> {
    let read_err = |source| MenuError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let path = entry.map_err(read_err)?.path();
        if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn read_text(path: &Path) -> Result<String, MenuError> {
    std::fs::read_to_string(path).map_err(|source| MenuError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn parse_err(path: &Path, message: impl ToString) -> MenuError {
    MenuError::Parse {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

fn read_service(
    path: &Path,
    common: &HashMap<String, Words>,
    words: &mut HashMap<(String, String), Words>,
) -> Result<Service, MenuError> {
    service_from_text(path, &read_text(path)?, common, words)
}

/// A service from the text of its file at `path` (whose stem must be its id), with its words
/// taken out of `words` over the `common` ones.
pub(crate) fn service_from_text(
    path: &Path,
    text: &str,
    common: &HashMap<String, Words>,
    words: &mut HashMap<(String, String), Words>,
) -> Result<Service, MenuError> {
    let file: ServiceFile = toml::from_str(text).map_err(|e| parse_err(path, e))?;
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    if file.service.id != stem {
        return Err(parse_err(
            path,
            format!(
                "service id {:?} differs from the file name",
                file.service.id
            ),
        ));
    }
    if file.service.locales.is_empty() {
        return Err(parse_err(path, "a service needs at least one locale"));
    }
    let mut merged = HashMap::new();
    for locale in &file.service.locales {
        let mut table = common.get(locale).cloned().unwrap_or_default();
        if let Some(own) = words.remove(&(file.service.id.clone(), locale.clone())) {
            table.entries.extend(own.entries);
            table.files.extend(own.files);
            table.lines.extend(own.lines);
        }
        merged.insert(locale.clone(), table);
    }
    let rules = file.rules.unwrap_or_default();
    Ok(Service {
        spec: file.service,
        rules,
        benefits: file.benefits,
        screens: file.screens,
        words: merged,
        file: path.to_path_buf(),
        shortcuts: file.shortcuts,
        lines: key_lines(text),
        rendered: Default::default(),
    })
}

pub(crate) fn read_words(path: &Path) -> Result<Words, MenuError> {
    words_from_text(path, &read_text(path)?)
}

/// A word table from the text of its file at `path`.
pub(crate) fn words_from_text(path: &Path, text: &str) -> Result<Words, MenuError> {
    let table: toml::Table = toml::from_str(text).map_err(|e| parse_err(path, e))?;
    let mut entries = HashMap::new();
    flatten(path, "", &table, &mut entries)?;
    let files = entries
        .keys()
        .map(|key| (key.clone(), path.to_path_buf()))
        .collect();
    let all_lines = key_lines(text);
    let lines = entries
        .keys()
        .filter_map(|key| Some((key.clone(), *all_lines.get(key)?)))
        .collect();
    Ok(Words {
        entries,
        files,
        lines,
    })
}

fn flatten(
    path: &Path,
    prefix: &str,
    table: &toml::Table,
    out: &mut HashMap<String, String>,
) -> Result<(), MenuError> {
    for (key, value) in table {
        let full = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::String(text) => {
                out.insert(full, text.clone());
            }
            toml::Value::Table(inner) => flatten(path, &full, inner, out)?,
            other => {
                return Err(parse_err(
                    path,
                    format!("{full}: words must be strings, not {}", other.type_str()),
                ))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVICE: &str = "[service]\nid = \"demo\"\ninsurer = \"demo\"\ncodes = [\"*1#\"]\n\
        locales = [\"en\"]\ntime_zone = \"UTC\"\nstart = \"main\"\n\
        [screens.main]\nkind = \"end\"\ntext = \"bye\"\n";

    fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).expect("written");
        }
        dir
    }

    #[test]
    fn the_shipped_menus_load() {
        let menus = load_menus(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("menus")
                .as_path(),
        )
        .expect("shipped menus load");
        assert!(menus.service("tamin").is_some() && menus.service("osms").is_some());
        let tamin = menus.service("tamin").expect("tamin");
        assert_eq!(
            tamin.words("fa").get("nav.more"),
            "98. بیشتر",
            "common words merged"
        );
    }

    #[test]
    fn words_nest_and_service_words_win_over_common_ones() {
        let dir = dir_with(&[
            ("demo.toml", SERVICE),
            (
                "common.en.toml",
                "bye = \"common\"\n[nav]\nmore = \"98. More\"\n",
            ),
            ("demo.en.toml", "bye = \"own\"\n"),
        ]);
        let menus = load_menus(dir.path()).expect("loads");
        let words = menus.service("demo").expect("demo").words("en");
        assert_eq!(words.get("bye"), "own");
        assert_eq!(words.get("nav.more"), "98. More");
    }

    #[test]
    fn broken_files_are_refused_with_their_path() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("demo.toml", "not = [toml")], "demo.toml"),
            (&[("demo.toml", "")], "demo.toml"),
            (
                &[(
                    "demo.toml",
                    &SERVICE.replace("id = \"demo\"", "id = \"other\""),
                )],
                "file name",
            ),
            (
                &[(
                    "demo.toml",
                    &SERVICE.replace("kind = \"end\"", "kind = \"dance\""),
                )],
                "demo.toml",
            ),
            (
                &[("demo.toml", SERVICE), ("demo.en.toml", "bye = 3\n")],
                "must be strings",
            ),
            (
                &[
                    ("demo.toml", SERVICE),
                    ("demo.en.toml", "\u{0}\u{1}garbage"),
                ],
                "demo.en.toml",
            ),
            (&[("README.md", "no menus here")], "no service menus"),
        ];
        for (files, expected) in cases {
            let dir = dir_with(files);
            let error = load_menus(dir.path()).expect_err("refused").to_string();
            assert!(error.contains(expected), "{error} lacks {expected}");
        }
        let missing = load_menus(Path::new("/nonexistent/menus")).expect_err("refused");
        assert!(missing.to_string().contains("/nonexistent/menus"));
    }
}
