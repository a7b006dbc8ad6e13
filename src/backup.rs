//! Backups of the store (README "Data at rest"): every tree of the sled database copied, key by
//! key, into one file that a new store is restored from. `daftar backup` copies a store no
//! server holds, `POST /admin/backup` the store of the running server (sled reads go on beside
//! its writes), and `daftar restore` fills a new store from a file.
//!
//! Consistent, not frozen: a copy taken while the server runs is not one instant of the store
//! (sled 0.34.7 has no snapshot; its `export` is not one either, and panics on I/O errors,
//! CRATES.md §1). It is a state the store recovers from as it recovers from a crash: the
//! `meta` tree, whose watermark trails the records it covers, is copied first, so the copy's
//! watermark is never ahead of its records, and a restored server that follows the feed
//! re-applies whatever came after (applying a change twice is harmless, SPEC §5). Every
//! tracking code the copy holds was durable when it was copied; a code issued later is absent
//! from the copy and may be issued again by a restored node, which is unique among the codes
//! its trail keeps (SPEC §6).
//!
//! The file: the line `daftar backup 1`, then per tree `T` + name, per entry `E` + key +
//! value (each a u32 big-endian length and its bytes), then `Z` and the BLAKE3 hash of
//! everything before it. It is written beside its final name and renamed once complete and
//! synced, so a crash never leaves a file that looks whole; a restore checks the hash before
//! it writes anything. What it must never do: write into a store that holds anything, or log
//! a key or a value (MSISDNs and identifiers are keys).

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::store::{Store, StoreError};

/// The first bytes of a backup file.
const MAGIC: &[u8] = b"daftar backup 1\n";
const TREE: u8 = b'T';
const ENTRY: u8 = b'E';
const END: u8 = b'Z';
/// No key, value or tree name of the store comes near this; a larger length is a damaged file.
const MAX_PART: u32 = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} exists: a backup never overwrites a file")]
    Exists(PathBuf),
    #[error("{0} holds something: a backup is restored into a new path or an empty directory")]
    NotEmpty(PathBuf),
    #[error("{path} is not a whole daftar backup ({why})")]
    Damaged { path: PathBuf, why: &'static str },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("store: {0}")]
    Sled(#[from] sled::Error),
    #[error("a backup is being written; try again when it is done")]
    Busy,
}

/// What a backup or a restore copied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Copied {
    pub trees: usize,
    pub entries: u64,
    pub bytes: u64,
}

impl std::fmt::Display for Copied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} trees, {} entries, {} bytes",
            self.trees, self.entries, self.bytes
        )
    }
}

/// The running server's backups (`POST /admin/backup`): a new file in `dir` per request, one
/// at a time.
pub(crate) struct Backups {
    store: Store,
    dir: PathBuf,
    busy: std::sync::Mutex<()>,
}

impl Backups {
    pub(crate) fn new(store: Store, dir: PathBuf) -> Backups {
        Backups {
            store,
            dir,
            busy: std::sync::Mutex::new(()),
        }
    }

    /// Writes a backup of the store to `dir/daftar-<UTC time>.backup` (blocking: call it off
    /// the workers); [`BackupError::Busy`] while another one is being written.
    pub(crate) fn take(&self) -> Result<(PathBuf, Copied), BackupError> {
        let _only = self.busy.try_lock().map_err(|_| BackupError::Busy)?;
        owner_only_dir(&self.dir).map_err(|source| BackupError::Io {
            path: self.dir.clone(),
            source,
        })?;
        let stamp = jiff::Timestamp::now().strftime("%Y%m%dT%H%M%S%.3fZ");
        let file = self.dir.join(format!("daftar-{stamp}.backup"));
        let copied = back_up(&self.store, &file)?;
        Ok((file, copied))
    }
}

/// Copies every tree of `store` into the new file `out`.
pub fn back_up(store: &Store, out: &Path) -> Result<Copied, BackupError> {
    if out.exists() {
        return Err(BackupError::Exists(out.to_path_buf()));
    }
    let partial = partial_path(out);
    let io = |source| BackupError::Io {
        path: partial.clone(),
        source,
    };
    // A partial file is what a crash of an earlier backup left: it is no backup.
    let _ = std::fs::remove_file(&partial);
    let file = owner_only_file(&partial).map_err(io)?;
    let mut writer = Hashing::new(BufWriter::new(file));
    let copied = write_trees(store, &mut writer).map_err(|e| match e {
        Copy::Io(source) => io(source),
        Copy::Store(e) => BackupError::Store(e),
    });
    let finished = copied.and_then(|copied| {
        writer.write_all(&[END]).map_err(io)?;
        let digest = writer.hasher.finalize();
        let mut file = writer.inner;
        file.write_all(digest.as_bytes()).map_err(io)?;
        let file = file.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        Ok(Copied {
            bytes: writer.count + 32,
            ..copied
        })
    });
    match finished {
        Ok(copied) => {
            std::fs::rename(&partial, out).map_err(io)?;
            sync_parent(out).map_err(io)?;
            Ok(copied)
        }
        Err(error) => {
            let _ = std::fs::remove_file(&partial);
            Err(error)
        }
    }
}

/// Fills the new store `db` from the backup `from`, after checking that the file is whole.
pub fn restore(from: &Path, db: &Path, cache_bytes: u64) -> Result<Copied, BackupError> {
    let empty = std::fs::read_dir(db).is_ok_and(|mut entries| entries.next().is_none());
    if db.exists() && !empty {
        return Err(BackupError::NotEmpty(db.to_path_buf()));
    }
    read_backup(from, |_| Ok(()))?;
    let store = Store::open(db, cache_bytes)?;
    let mut tree: Option<sled::Tree> = None;
    let copied = read_backup(from, |part| {
        match part {
            Part::Tree(name) => tree = Some(store.tree_for_restore(&name)?),
            Part::Entry(key, value) => {
                if let Some(tree) = &tree {
                    tree.insert(key, value)?;
                }
            }
        }
        Ok(())
    })?;
    store.flush()?;
    Ok(copied)
}

/// A new file only its owner may read: a backup holds identifiers, MSISDNs and, without
/// `DAFTAR_HASH_KEY`, the hashing key.
fn owner_only_file(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// The backup directory, made owner-only when it is new.
fn owner_only_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// The name a backup is written under until it is complete.
fn partial_path(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

/// Makes the rename of `path` durable (POSIX: the directory entry needs its own sync).
fn sync_parent(path: &Path) -> std::io::Result<()> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => File::open(parent)?.sync_all(),
        None => File::open(".")?.sync_all(),
    }
}

/// Why copying stopped.
enum Copy {
    Io(std::io::Error),
    Store(StoreError),
}

impl From<std::io::Error> for Copy {
    fn from(e: std::io::Error) -> Copy {
        Copy::Io(e)
    }
}

impl From<sled::Error> for Copy {
    fn from(e: sled::Error) -> Copy {
        Copy::Store(StoreError::Sled(e))
    }
}

fn write_trees<W: Write>(store: &Store, out: &mut Hashing<W>) -> Result<Copied, Copy> {
    out.write_all(MAGIC)?;
    let trees = store.trees_for_copy().map_err(Copy::Store)?;
    let mut copied = Copied {
        trees: trees.len(),
        ..Copied::default()
    };
    for (name, tree) in trees {
        out.write_all(&[TREE])?;
        write_part(out, &name)?;
        for item in tree.iter() {
            let (key, value) = item?;
            out.write_all(&[ENTRY])?;
            write_part(out, &key)?;
            write_part(out, &value)?;
            copied.entries += 1;
        }
    }
    Ok(copied)
}

fn write_part<W: Write>(out: &mut W, bytes: &[u8]) -> std::io::Result<()> {
    let len = u32::try_from(bytes.len()).map_err(std::io::Error::other)?;
    out.write_all(&len.to_be_bytes())?;
    out.write_all(bytes)
}

/// One record of a backup file.
enum Part {
    Tree(Vec<u8>),
    Entry(Vec<u8>, Vec<u8>),
}

/// Reads the backup `from` record by record into `visit`, then checks its hash: an error if
/// the file is not a whole backup.
fn read_backup(
    from: &Path,
    mut visit: impl FnMut(Part) -> Result<(), BackupError>,
) -> Result<Copied, BackupError> {
    let io = |source| BackupError::Io {
        path: from.to_path_buf(),
        source,
    };
    let damaged = |why| BackupError::Damaged {
        path: from.to_path_buf(),
        why,
    };
    let file = File::open(from).map_err(io)?;
    let mut input = Hashing::new(BufReader::new(file));
    let mut magic = vec![0u8; MAGIC.len()];
    input
        .read_exact(&mut magic)
        .map_err(|_| damaged("no header"))?;
    if magic != MAGIC {
        return Err(damaged("not a daftar backup, or another version"));
    }
    let mut copied = Copied::default();
    loop {
        let mut tag = [0u8; 1];
        input
            .read_exact(&mut tag)
            .map_err(|_| damaged("cut short"))?;
        match tag[0] {
            TREE => {
                copied.trees += 1;
                visit(Part::Tree(
                    read_part(&mut input).ok_or(damaged("cut short"))?,
                ))?;
            }
            ENTRY => {
                copied.entries += 1;
                let key = read_part(&mut input).ok_or(damaged("cut short"))?;
                let value = read_part(&mut input).ok_or(damaged("cut short"))?;
                visit(Part::Entry(key, value))?;
            }
            END => break,
            _ => return Err(damaged("an unknown record")),
        }
    }
    let digest = input.hasher.finalize();
    let mut stored = [0u8; 32];
    let mut rest = input.inner;
    rest.read_exact(&mut stored)
        .map_err(|_| damaged("cut short"))?;
    if stored != *digest.as_bytes() {
        return Err(damaged("its checksum does not match"));
    }
    let mut trailing = [0u8; 1];
    if rest.read(&mut trailing).map_err(io)? != 0 {
        return Err(damaged("bytes after its end"));
    }
    copied.bytes = input.count + 32;
    Ok(copied)
}

fn read_part<R: Read>(input: &mut R) -> Option<Vec<u8>> {
    let mut len = [0u8; 4];
    input.read_exact(&mut len).ok()?;
    let len = u32::from_be_bytes(len);
    if len > MAX_PART {
        return None;
    }
    let mut bytes = vec![0u8; len as usize];
    input.read_exact(&mut bytes).ok()?;
    Some(bytes)
}

/// A reader or writer that hashes and counts the bytes that pass through it.
struct Hashing<T> {
    inner: T,
    hasher: blake3::Hasher,
    count: u64,
}

impl<T> Hashing<T> {
    fn new(inner: T) -> Hashing<T> {
        Hashing {
            inner,
            hasher: blake3::Hasher::new(),
            count: 0,
        }
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.hasher.update(&buf[..written]);
        self.count += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.hasher.update(&buf[..read]);
        self.count += read as u64;
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(dir: &Path) -> Store {
        let store = Store::open(&dir.join("db"), 1 << 22).expect("store");
        let audit = store.tree("audit").expect("tree");
        for i in 0..500u32 {
            audit
                .insert(i.to_be_bytes(), format!("entry {i}").as_bytes())
                .expect("insert");
        }
        store.set_watermark(42).expect("watermark");
        store
    }

    /// Each tree by name, with its entries.
    type Dump = Vec<(Vec<u8>, Vec<(Vec<u8>, Vec<u8>)>)>;

    fn dump(store: &Store) -> Dump {
        store
            .trees_for_copy()
            .expect("trees")
            .into_iter()
            .map(|(name, tree)| {
                let entries = tree
                    .iter()
                    .map(|item| {
                        let (k, v) = item.expect("entry");
                        (k.to_vec(), v.to_vec())
                    })
                    .collect();
                (name, entries)
            })
            .collect()
    }

    #[test]
    fn a_restored_store_holds_every_tree_and_entry_of_the_original() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = filled(dir.path());
        let file = dir.path().join("store.backup");
        let written = back_up(&store, &file).expect("backed up");
        assert_eq!(written.entries, 501);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file)
                .expect("metadata")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "a backup is its owner's only");
        }
        assert!(!partial_path(&file).exists(), "no partial file is left");
        let read = restore(&file, &dir.path().join("restored"), 1 << 22).expect("restored");
        assert_eq!(read, written, "what was read is what was written");
        let restored = Store::open(&dir.path().join("restored"), 1 << 22).expect("opens");
        assert_eq!(dump(&restored), dump(&store));
        assert_eq!(restored.watermark().expect("watermark"), 42);
    }

    #[test]
    fn the_meta_tree_is_copied_first() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = filled(dir.path());
        let names = store.trees_for_copy().expect("trees");
        assert_eq!(names[0].0, b"meta".to_vec());
    }

    /// A filled store in a temp dir, and its backup in `store.backup` beside it.
    fn backed_up() -> (tempfile::TempDir, Store, PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = filled(dir.path());
        let file = dir.path().join("store.backup");
        back_up(&store, &file).expect("backed up");
        (dir, store, file)
    }

    #[test]
    fn a_damaged_or_cut_file_is_refused_before_anything_is_written() {
        let (dir, store, file) = backed_up();
        assert!(matches!(
            back_up(&store, &file),
            Err(BackupError::Exists(_))
        ));
        let bytes = std::fs::read(&file).expect("read");
        let mut flipped = bytes.clone();
        flipped[bytes.len() / 2] ^= 1;
        let cases = [
            ("cut", bytes[..bytes.len() - 10].to_vec()),
            ("flipped", flipped),
            ("empty", Vec::new()),
            ("trailing", [bytes.clone(), b"x".to_vec()].concat()),
        ];
        for (what, damaged) in cases {
            let path = dir.path().join(what);
            std::fs::write(&path, damaged).expect("written");
            let target = dir.path().join(format!("db-{what}"));
            let refused = restore(&path, &target, 1 << 22);
            assert!(
                matches!(refused, Err(BackupError::Damaged { .. })),
                "{what}: {refused:?}"
            );
            assert!(!target.exists(), "{what}: nothing written");
        }
    }

    #[test]
    fn a_store_that_holds_anything_is_never_restored_into() {
        let (dir, store, file) = backed_up();
        drop(store);
        let refused = restore(&file, &dir.path().join("db"), 1 << 22);
        assert!(
            matches!(refused, Err(BackupError::NotEmpty(_))),
            "{refused:?}"
        );
    }
}
