//! The deployment's two secrets, kept in a file of their own beside (never inside) the store:
//! the key of the keyed hashes of MSISDNs and identifiers in the audit trail (unless
//! `DAFTAR_HASH_KEY` or `[audit] hash_key` gives one), and the key that spreads tracking codes.
//!
//! A copy of the store alone must reveal neither: with the hash key beside the hashes, anyone
//! holding the copy reverses them by trying every national code; with the spread key, one
//! known tracking code tells the next. So the keys live in `<db>.key` (or `[audit] key_file`),
//! owner-only (0600), generated on first start. A store made before this held both in its
//! `audit_meta` tree: they are read once, written to the key file (made durable first), then
//! removed from the store. A key file that others may read is refused, naming the fix.
//!
//! What it must never do: log or print a key, or keep one in the store.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Meta keys under which a store made before the key file kept its secrets.
const META_HASH_KEY: &[u8] = b"audit/hash-key";
const META_CODE_KEY: &[u8] = b"audit/code-key";

/// The two 32-byte secrets of a deployment. Its `Debug` never shows them.
#[derive(Clone)]
pub(crate) struct Keys {
    /// Keys the hashes of MSISDNs and identifiers when no hash key is configured.
    pub(crate) hash: [u8; 32],
    /// Keys the permutation that spreads tracking codes.
    pub(crate) code: [u8; 32],
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys { .. }")
    }
}

/// Where the keys came from on this start: what the start message says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The key file was there.
    File,
    /// The store held them: moved to the key file and removed from the store.
    MovedFromStore,
    /// None anywhere: generated and written to the key file.
    Generated,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum KeyError {
    #[error("key file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "key file {path} may be read by others (mode {mode:o}): `chmod 600 {path}` and start again"
    )]
    Exposed { path: PathBuf, mode: u32 },
    #[error(
        "key file {path} is malformed: it holds `hash = \"<64 hex>\"` and `code = \"<64 hex>\"`"
    )]
    Malformed { path: PathBuf },
    #[error("the store's meta tree: {0}")]
    Store(#[from] sled::Error),
    #[error("no random key could be generated: {0}")]
    Random(getrandom::Error),
    #[error("the store at {0} has no file name to put a key file beside; set [audit] key_file")]
    NoPlace(PathBuf),
}

/// The key file of the store at `db` when none is configured: `<db>.key` beside it.
pub(crate) fn default_path(db: &Path) -> Result<PathBuf, KeyError> {
    let name = db
        .file_name()
        .ok_or_else(|| KeyError::NoPlace(db.to_path_buf()))?;
    let mut file = name.to_os_string();
    file.push(".key");
    Ok(db.with_file_name(file))
}

impl Keys {
    /// The keys of the file at `path`; else those a store made before it kept in `meta`, moved
    /// out to the file; else new ones, written to it. Either way `meta` holds no key after.
    pub(crate) fn open(path: &Path, meta: &sled::Tree) -> Result<(Keys, Origin), KeyError> {
        let (keys, origin) = match read_file(path)? {
            Some(keys) => (keys, Origin::File),
            None => {
                let (keys, origin) = match from_store(meta)? {
                    Some(keys) => (keys, Origin::MovedFromStore),
                    None => (Keys::generate()?, Origin::Generated),
                };
                write_file(path, &keys)?;
                (keys, origin)
            }
        };
        // Only once the file is durable: a crash before this leaves the keys in both places,
        // and the next start removes them from the store.
        forget_in_store(meta)?;
        Ok((keys, origin))
    }

    fn generate() -> Result<Keys, KeyError> {
        let mut keys = Keys {
            hash: [0; 32],
            code: [0; 32],
        };
        getrandom::fill(&mut keys.hash).map_err(KeyError::Random)?;
        getrandom::fill(&mut keys.code).map_err(KeyError::Random)?;
        Ok(keys)
    }

    /// The file's text: one line a key, 64 hex digits each.
    fn to_text(&self) -> String {
        format!(
            "# daftar's secrets (audit hash key, tracking-code key): owner-only, never beside\n\
             # a copy of the store.\nhash = \"{}\"\ncode = \"{}\"\n",
            hex(&self.hash),
            hex(&self.code)
        )
    }
}

/// The keys of the file at `path`, `None` when there is no file.
fn read_file(path: &Path) -> Result<Option<Keys>, KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
    };
    refuse_exposed(path)?;
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct KeyFile {
        hash: String,
        code: String,
    }
    let malformed = || KeyError::Malformed {
        path: path.to_path_buf(),
    };
    let file: KeyFile = toml::from_str(&text).map_err(|_| malformed())?;
    match (unhex(&file.hash), unhex(&file.code)) {
        (Some(hash), Some(code)) => Ok(Some(Keys { hash, code })),
        _ => Err(malformed()),
    }
}

#[cfg(unix)]
fn refuse_exposed(path: &Path) -> Result<(), KeyError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|source| KeyError::Io {
            path: path.to_path_buf(),
            source,
        })?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::Exposed {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn refuse_exposed(_path: &Path) -> Result<(), KeyError> {
    Ok(())
}

/// Writes the file whole or not at all: a temporary file (0600 from its creation), synced,
/// renamed over `path`, and the directory synced.
fn write_file(path: &Path, keys: &Keys) -> Result<(), KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut temporary = path.as_os_str().to_os_string();
    temporary.push(".new");
    let temporary = PathBuf::from(temporary);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temporary).map_err(io)?;
    file.write_all(keys.to_text().as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    drop(file);
    std::fs::rename(&temporary, path).map_err(io)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io)?;
    }
    Ok(())
}

/// The keys a store made before the key file kept in its meta tree, when it kept both. A store
/// that kept one only (a hash key, from before tracking codes were spread) gets a new code key.
fn from_store(meta: &sled::Tree) -> Result<Option<Keys>, KeyError> {
    let read = |key: &[u8]| -> Result<Option<[u8; 32]>, KeyError> {
        Ok(meta
            .get(key)?
            .and_then(|bytes| <[u8; 32]>::try_from(bytes.as_ref()).ok()))
    };
    let (hash, code) = (read(META_HASH_KEY)?, read(META_CODE_KEY)?);
    if hash.is_none() && code.is_none() {
        return Ok(None);
    }
    let mut keys = Keys::generate()?;
    if let Some(hash) = hash {
        keys.hash = hash;
    }
    if let Some(code) = code {
        keys.code = code;
    }
    Ok(Some(keys))
}

/// Removes the keys from the store's meta tree, durably, if it holds any.
fn forget_in_store(meta: &sled::Tree) -> Result<(), KeyError> {
    let mut removed = false;
    for key in [META_HASH_KEY, META_CODE_KEY] {
        removed |= meta.remove(key)?.is_some();
    }
    if removed {
        meta.flush()?;
    }
    Ok(())
}

fn hex(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<[u8; 32]> {
    let text = text.as_bytes();
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(text.chunks(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> (sled::Db, sled::Tree) {
        let db = sled::Config::new()
            .temporary(true)
            .open()
            .expect("temporary sled");
        let meta = db.open_tree("audit_meta").expect("tree");
        (db, meta)
    }

    #[test]
    fn keys_are_generated_once_into_an_owner_only_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db.key");
        let (_db, meta) = meta();
        let (first, origin) = Keys::open(&path, &meta).expect("keys");
        assert_eq!(origin, Origin::Generated);
        let (again, origin) = Keys::open(&path, &meta).expect("keys");
        assert_eq!(origin, Origin::File);
        assert_eq!((first.hash, first.code), (again.hash, again.code));
        assert_ne!(first.hash, first.code);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(format!("{first:?}"), "Keys { .. }");
    }

    #[test]
    fn keys_a_store_held_are_moved_out_of_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db.key");
        let (_db, meta) = meta();
        meta.insert(META_HASH_KEY, &[7u8; 32][..]).expect("insert");
        meta.insert(META_CODE_KEY, &[9u8; 32][..]).expect("insert");
        let (keys, origin) = Keys::open(&path, &meta).expect("keys");
        assert_eq!(origin, Origin::MovedFromStore);
        assert_eq!((keys.hash, keys.code), ([7; 32], [9; 32]));
        assert!(meta.get(META_HASH_KEY).expect("get").is_none());
        assert!(meta.get(META_CODE_KEY).expect("get").is_none());
        let text = std::fs::read_to_string(&path).expect("file");
        assert!(text.contains(&"07".repeat(32)), "{text}");
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_may_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db.key");
        let (_db, meta) = meta();
        Keys::open(&path, &meta).expect("keys");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let error = Keys::open(&path, &meta).expect_err("refused").to_string();
        assert!(error.contains("chmod 600"), "{error}");
    }

    #[test]
    fn a_malformed_key_file_is_refused_without_quoting_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db.key");
        std::fs::write(&path, "hash = \"abcd\"\ncode = \"0123\"\n").expect("write");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        }
        let (_db, meta) = meta();
        let error = Keys::open(&path, &meta).expect_err("refused").to_string();
        assert!(
            error.contains("malformed") && !error.contains("abcd"),
            "{error}"
        );
    }

    #[test]
    fn the_default_key_file_sits_beside_the_store() {
        let path = default_path(Path::new("var/db")).expect("path");
        assert_eq!(path, Path::new("var/db.key"));
        assert!(default_path(Path::new("/")).is_err());
    }
}
