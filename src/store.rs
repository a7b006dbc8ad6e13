//! The store: one sled database holding the insurer's records and the indexes the menus read.
//!
//! Where it sits: `feed ─► sync ─► store` writes it; the menu actions read it (a single `get`
//! or a short prefix scan per lookup). Other modules (audit trail, locale preferences, outbox)
//! keep their own trees through [`Store::tree`].
//!
//! Layout (every key part is joined by a `\0`, which no key part may contain):
//!
//! | tree         | key                                   | value                  |
//! |--------------|---------------------------------------|------------------------|
//! | `people`     | `insurer \0 person_id`                | postcard([`Person`])   |
//! | `dependents` | `insurer \0 holder_id \0 person_id`   | empty                  |
//! | `msisdns`    | `insurer \0 msisdn \0 person_id`      | empty                  |
//! | `events`     | `insurer \0 person_id \0 seq (u64 BE)` | the event's JSON      |
//! | `event_seqs` | `seq (u64 BE)`                        | `insurer \0 person_id` |
//! | `meta`       | see the `META_*` constants            | small values           |
//!
//! `event_seqs` lists the events in feed order, for whoever acts on them as they come (the SMS
//! alerts read it up to the watermark; this module knows nothing of what they do).
//!
//! An index entry is only a hint: every hit is checked against the record it points to, so an
//! entry left stale by a crash never shows the wrong person.
//!
//! What it must never do: use `apply_batch` or transactions (the first one switches on a
//! process-wide RwLock in sled 0.34.7 that stalls every reader, CRATES.md §1), call
//! `flush_async` (concurrent calls deadlock), or know anything of menus, sessions or dialects.

use crate::ids::{Cin, Matricule};
use crate::record::{Change, ChangeOp, Person};
use sled::IVec;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Meta key: the highest feed `seq` whose changes (and all before it) are durable, u64 BE.
pub(crate) const META_WATERMARK: &[u8] = b"watermark";
/// Meta key: the feed this store was filled from (`FeedSource` display form), UTF-8.
pub(crate) const META_FEED: &[u8] = b"feed";
/// Meta key: the first change this store applied, which names the feed it belongs to: its
/// `seq` (u64 BE) then the BLAKE3 hash of its line (32 bytes).
pub(crate) const META_FEED_FIRST: &[u8] = b"feed_first";

const PEOPLE: &str = "people";
const DEPENDENTS: &str = "dependents";
const MSISDNS: &str = "msisdns";
const EVENTS: &str = "events";
const EVENT_SEQS: &str = "event_seqs";
const META: &str = "meta";
/// Trees owned by this module; [`Store::tree`] refuses them so no one else writes them.
const RESERVED: [&str; 6] = [PEOPLE, DEPENDENTS, MSISDNS, EVENTS, EVENT_SEQS, META];

/// The longest key part (insurer, identifier, MSISDN) a record may carry.
const MAX_KEY_PART: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the store in {dir} is in use by another process (sled holds the lock on {dir}/db): \
         stop the server that owns it, or use another --db"
    )]
    Locked { dir: PathBuf },
    #[error("cannot prepare the store directory {dir}: {source}")]
    Prepare {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "no store in {dir}: give the --db of an existing store (`daftar sync --db DIR --feed \
         FEED` or `daftar serve` makes one)"
    )]
    Missing { dir: PathBuf },
    #[error(
        "{dir} exists and is not a store: give --db a new path or an empty directory, so that \
         nothing else is mixed into the store"
    )]
    NotAStore { dir: PathBuf },
    #[error("store: {0}")]
    Sled(#[from] sled::Error),
    #[error("store: the record under {key:?} cannot be decoded: {source}")]
    Corrupt {
        key: String,
        source: postcard::Error,
    },
    #[error("store: meta value {key:?} is malformed")]
    BadMeta { key: String },
    #[error("record refused: {0}")]
    Invalid(String),
    #[error("tree {0:?} belongs to the store itself")]
    ReservedTree(String),
}

/// A handle on the store; clones share one database.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    people: sled::Tree,
    dependents: sled::Tree,
    msisdns: sled::Tree,
    events: sled::Tree,
    event_seqs: sled::Tree,
    meta: sled::Tree,
}

/// An event as the store holds it, with the `seq` of the change that brought it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StoredEvent {
    pub(crate) seq: u64,
    pub(crate) insurer: String,
    pub(crate) person_id: String,
    pub(crate) event: serde_json::Value,
}

impl Store {
    /// Opens (or creates) the store in `dir` with a sled page cache of `cache_bytes`.
    pub fn open(dir: &Path, cache_bytes: u64) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Prepare {
            dir: dir.to_path_buf(),
            source,
        })?;
        remove_unfinished_snapshots(dir)?;
        let db = open_db(dir, cache_bytes)?;
        let store = Store {
            people: db.open_tree(PEOPLE)?,
            dependents: db.open_tree(DEPENDENTS)?,
            msisdns: db.open_tree(MSISDNS)?,
            events: db.open_tree(EVENTS)?,
            event_seqs: db.open_tree(EVENT_SEQS)?,
            meta: db.open_tree(META)?,
            db,
        };
        Ok(store)
    }

    /// Closes the store and opens it once more, so that sled writes its snapshot now: sled
    /// 0.34.7 writes one only when it opens a database, after replaying the whole log written
    /// since the last one (a cold sync of 1,000,000 people: seconds). `daftar sync` calls it
    /// after writing, so the first `serve` after it starts from that snapshot instead of
    /// replaying the log. Nothing is written by it but sled's own snapshot file.
    pub fn close_and_snapshot(self, dir: &Path, cache_bytes: u64) -> Result<(), StoreError> {
        self.flush()?;
        drop(self);
        Store::open(dir, cache_bytes).map(drop)
    }

    /// Opens the store in `dir`, which must already hold one: for readers (`track`,
    /// `simulate`), which must never leave an empty store behind a mistyped path.
    pub fn open_existing(dir: &Path, cache_bytes: u64) -> Result<Store, StoreError> {
        if !holds_store(dir) {
            return Err(StoreError::Missing {
                dir: dir.to_path_buf(),
            });
        }
        Store::open(dir, cache_bytes)
    }

    /// Opens the store in `dir`, creating it only where `dir` is new or an empty directory:
    /// a path that holds something else (a mistyped `--db`) is refused, not filled.
    pub fn open_or_create(dir: &Path, cache_bytes: u64) -> Result<Store, StoreError> {
        let empty_dir = std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_none());
        if dir.exists() && !empty_dir && !holds_store(dir) {
            return Err(StoreError::NotAStore {
                dir: dir.to_path_buf(),
            });
        }
        Store::open(dir, cache_bytes)
    }

    /// The record of `person_id` at `insurer`.
    pub fn person(&self, insurer: &str, person_id: &str) -> Result<Option<Person>, StoreError> {
        if !is_key_part(insurer) || !is_key_part(person_id) {
            return Ok(None);
        }
        let mut buf = [0u8; PAIR_KEY_MAX];
        let key = pair_key(&mut buf, insurer, person_id);
        self.people.get(key)?.map(|v| decode(key, &v)).transpose()
    }

    /// The people whose record names `holder_id` as their holder, in identifier order.
    pub fn dependents(&self, insurer: &str, holder_id: &str) -> Result<Vec<Person>, StoreError> {
        self.indexed(&self.dependents, insurer, holder_id, |p| {
            p.holder.as_ref().is_some_and(|h| h.person_id == holder_id)
        })
    }

    /// The person whose identifier is `cin` and whose affiliation number is `matricule`
    /// (`cnam`, `mutual`: both halves must belong to one person). `None` when either half is
    /// wrong, without saying which.
    pub(crate) fn person_by_pair(
        &self,
        insurer: &str,
        matricule: &Matricule,
        cin: &Cin,
    ) -> Result<Option<Person>, StoreError> {
        let person = self.person(insurer, cin.as_str())?;
        Ok(person.filter(|p| p.member_no.as_deref().is_some_and(|m| matricule.matches(m))))
    }

    /// The people whose record lists `msisdn`, in identifier order (several: a family phone).
    pub fn people_by_msisdn(&self, insurer: &str, msisdn: &str) -> Result<Vec<Person>, StoreError> {
        self.indexed(&self.msisdns, insurer, msisdn, |p| {
            p.msisdns.iter().any(|m| m == msisdn)
        })
    }

    /// Applies one feed change. Re-applying a change (after a crash at any point) is harmless
    /// and ends in the same state as applying it once.
    pub fn apply(&self, change: &Change) -> Result<(), StoreError> {
        self.write(&Store::prepare(change)?, Held::Unknown)
            .map(drop)
    }

    /// Checks a change and encodes what it writes, without touching the database: a change
    /// the store refuses ([`StoreError::Invalid`]) is known before any of a batch is written.
    pub fn prepare(change: &Change) -> Result<Prepared, StoreError> {
        let (id, write) = match &change.op {
            ChangeOp::Upsert { person } => {
                validate(person)?;
                let value = postcard::to_allocvec(person)
                    .map_err(|e| StoreError::Invalid(format!("cannot encode the record: {e}")))?;
                let entries = index_entries(person);
                (
                    key(&[&person.insurer, &person.person_id]),
                    Write::Upsert { value, entries },
                )
            }
            ChangeOp::Delete { insurer, person_id } => {
                if !is_key_part(insurer) || !is_key_part(person_id) {
                    return Err(StoreError::Invalid(format!(
                        "delete of an impossible key (empty, over {MAX_KEY_PART} bytes or with a NUL)"
                    )));
                }
                (key(&[insurer, person_id]), Write::Delete)
            }
            ChangeOp::Event {
                insurer,
                person_id,
                event,
            } => {
                if !is_key_part(insurer) || !is_key_part(person_id) {
                    return Err(StoreError::Invalid(format!(
                        "event for an impossible key (empty, over {MAX_KEY_PART} bytes or with a NUL)"
                    )));
                }
                let json = serde_json::to_vec(event)
                    .map_err(|e| StoreError::Invalid(format!("cannot encode the event: {e}")))?;
                let seq = change.seq;
                (key(&[insurer, person_id]), Write::Event { seq, json })
            }
        };
        Ok(Prepared { id, write })
    }

    /// Writes a batch of prepared changes in the order of their records' keys, so that sled
    /// meets them leaf after leaf rather than at random; the changes of one record keep their
    /// order (the sort is stable), and a record written earlier in the batch is not read back.
    /// Plain writes, no sled batch (see the module's header); none of it is durable before a
    /// [`Store::flush`]. Re-writing the batch after a crash at any point ends in the state of
    /// one clean write, as [`Store::apply`] does.
    pub fn write_in_key_order(&self, mut batch: Vec<Prepared>) -> Result<(), StoreError> {
        batch.sort_by(|a, b| a.id.cmp(&b.id));
        let mut previous: Option<(&[u8], Held<'_>)> = None;
        for prepared in &batch {
            let held = match previous.take() {
                Some((id, held)) if id == prepared.id.as_slice() => held,
                _ => Held::Unknown,
            };
            let now = self.write(prepared, held)?;
            previous = Some((&prepared.id, now));
        }
        Ok(())
    }

    /// The watermark: every change with a `seq` at or below it is durable in the store.
    pub fn watermark(&self) -> Result<u64, StoreError> {
        Ok(self.meta_u64(META_WATERMARK)?.unwrap_or(0))
    }

    /// Writes the watermark. Call it only after a [`Store::flush`] that covers its changes.
    pub fn set_watermark(&self, seq: u64) -> Result<(), StoreError> {
        self.meta.insert(META_WATERMARK, &seq.to_be_bytes())?;
        Ok(())
    }

    /// The feed this store was filled from, if one was recorded.
    pub(crate) fn feed_source(&self) -> Result<Option<String>, StoreError> {
        match self.meta.get(META_FEED)? {
            None => Ok(None),
            Some(v) => String::from_utf8(v.to_vec())
                .map(Some)
                .map_err(|_| bad_meta(META_FEED)),
        }
    }

    /// Records the feed this store is filled from.
    pub(crate) fn set_feed_source(&self, feed: &str) -> Result<(), StoreError> {
        self.meta.insert(META_FEED, feed.as_bytes())?;
        Ok(())
    }

    /// The first change this store applied (its `seq` and the hash of its line), if recorded.
    pub(crate) fn feed_first(&self) -> Result<Option<(u64, [u8; 32])>, StoreError> {
        let Some(v) = self.meta.get(META_FEED_FIRST)? else {
            return Ok(None);
        };
        let (seq, digest) = v
            .split_at_checked(8)
            .ok_or_else(|| bad_meta(META_FEED_FIRST))?;
        let seq: [u8; 8] = seq.try_into().map_err(|_| bad_meta(META_FEED_FIRST))?;
        let digest: [u8; 32] = digest.try_into().map_err(|_| bad_meta(META_FEED_FIRST))?;
        Ok(Some((u64::from_be_bytes(seq), digest)))
    }

    /// Records the first change this store applied; see [`Store::feed_first`].
    pub(crate) fn set_feed_first(&self, seq: u64, digest: &[u8; 32]) -> Result<(), StoreError> {
        let mut value = seq.to_be_bytes().to_vec();
        value.extend_from_slice(digest);
        self.meta.insert(META_FEED_FIRST, value)?;
        Ok(())
    }

    /// Makes every earlier write durable (a synchronous fsync of the whole database). Never
    /// call sled's `flush_async` concurrently instead: it deadlocks.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    /// A tree for another module's own data (audit trail, locale preferences, ...).
    pub fn tree(&self, name: &str) -> Result<sled::Tree, StoreError> {
        if RESERVED.contains(&name) {
            return Err(StoreError::ReservedTree(name.to_string()));
        }
        Ok(self.db.open_tree(name)?)
    }

    /// Every tree of the database with its name (sled's default tree and the other modules'
    /// trees included), for a copy of the whole store (`backup`): the `meta` tree first,
    /// because its watermark trails the records it covers, so a copy that reads it before the
    /// records never holds a watermark ahead of them; the rest in name order.
    pub(crate) fn trees_for_copy(&self) -> Result<Vec<(Vec<u8>, sled::Tree)>, StoreError> {
        let mut names: Vec<Vec<u8>> = self
            .db
            .tree_names()
            .into_iter()
            .map(|name| name.to_vec())
            .collect();
        names.sort_by_key(|name| (name.as_slice() != META.as_bytes(), name.clone()));
        names
            .into_iter()
            .map(|name| Ok((name.clone(), self.db.open_tree(&name)?)))
            .collect()
    }

    /// The tree `name`, whatever module owns it: for restoring a copy into a new store only.
    pub(crate) fn tree_for_restore(&self, name: &[u8]) -> Result<sled::Tree, StoreError> {
        Ok(self.db.open_tree(name)?)
    }

    /// Bytes the database takes on disk (0 if sled cannot tell).
    pub fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }

    /// How many people the store holds: a scan of every key, for tests and tools (nothing on
    /// the request or feed path asks, so no write pays for a counter).
    pub fn person_count(&self) -> usize {
        self.people.len()
    }

    /// Writes one prepared change, given what is known of the record it replaces; returns what
    /// is known of the record after it.
    fn write<'b>(&self, prepared: &'b Prepared, held: Held<'b>) -> Result<Held<'b>, StoreError> {
        let id = &prepared.id;
        match &prepared.write {
            Write::Upsert { value, entries } => {
                self.upsert(id, value, entries, held)?;
                Ok(Held::Entries(entries))
            }
            Write::Delete => {
                self.delete(id, held)?;
                Ok(Held::Absent)
            }
            Write::Event { seq, json } => {
                self.record_event(id, *seq, json)?;
                Ok(held)
            }
        }
    }

    /// The index entries of the record under `id` as the store holds it (none if absent).
    fn stored_entries(&self, id: &[u8]) -> Result<Vec<(Index, Vec<u8>)>, StoreError> {
        match self.people.get(id)? {
            Some(v) => Ok(index_entries(&decode(id, &v)?)),
            None => Ok(Vec::new()),
        }
    }

    /// Upsert order, chosen so that re-applying after a crash at any point ends in the exact
    /// state of one clean apply: new index entries, then removal of the old record's stale
    /// ones (the old record is still there to say which), then the record itself.
    fn upsert(
        &self,
        id: &[u8],
        value: &[u8],
        new_entries: &[(Index, Vec<u8>)],
        held: Held<'_>,
    ) -> Result<(), StoreError> {
        let old_entries = held.entries(|| self.stored_entries(id))?;
        for (tree, k) in new_entries {
            self.index_tree(*tree).insert(k.as_slice(), &[])?;
        }
        for (tree, k) in old_entries.iter() {
            if !new_entries.iter().any(|(t, n)| t == tree && n == k) {
                self.index_tree(*tree).remove(k)?;
            }
        }
        self.people.insert(id, value)?;
        Ok(())
    }

    /// Delete order: index entries first, record last, so a crash in between leaves the record
    /// there to name the entries when the delete is applied again.
    fn delete(&self, id: &[u8], held: Held<'_>) -> Result<(), StoreError> {
        if matches!(held, Held::Absent) {
            return Ok(());
        }
        let Some(old) = self.people.get(id)? else {
            return Ok(());
        };
        for (tree, k) in index_entries(&decode(id, &old)?) {
            self.index_tree(tree).remove(k)?;
        }
        self.people.remove(id)?;
        Ok(())
    }

    /// The event under `owner \0 seq`, then its place in feed order.
    fn record_event(&self, owner: &[u8], seq: u64, json: &[u8]) -> Result<(), StoreError> {
        let mut k = owner.to_vec();
        k.push(0);
        k.extend_from_slice(&seq.to_be_bytes());
        // The event before its place in feed order: a reader of the order never finds a place
        // without its event (a crash between the two is mended when the change is applied
        // again, as it is: the watermark covers neither yet).
        self.events.insert(k, json)?;
        self.event_seqs.insert(seq.to_be_bytes(), owner)?;
        Ok(())
    }

    /// The events whose `seq` is above `after` and at most `through`, in feed order, at most
    /// `limit` of them. An index entry whose event is gone (never: events are not deleted) is
    /// passed over.
    pub(crate) fn events_between(
        &self,
        after: u64,
        through: u64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let mut out = Vec::new();
        if after >= through {
            return Ok(out);
        }
        let range = (after + 1).to_be_bytes()..=through.to_be_bytes();
        for entry in self.event_seqs.range(range).take(limit) {
            let (seq, owner) = entry?;
            let seq = <[u8; 8]>::try_from(seq.as_ref())
                .map(u64::from_be_bytes)
                .map_err(|_| bad_meta(EVENT_SEQS.as_bytes()))?;
            let mut parts = owner.split(|b| *b == 0);
            let (Some(insurer), Some(person_id)) = (parts.next(), parts.next()) else {
                continue;
            };
            let mut k = owner.to_vec();
            k.push(0);
            k.extend_from_slice(&seq.to_be_bytes());
            let Some(json) = self.events.get(&k)? else {
                continue;
            };
            let Ok(event) = serde_json::from_slice(&json) else {
                continue;
            };
            out.push(StoredEvent {
                seq,
                insurer: String::from_utf8_lossy(insurer).into_owned(),
                person_id: String::from_utf8_lossy(person_id).into_owned(),
                event,
            });
        }
        Ok(out)
    }

    fn meta_u64(&self, k: &[u8]) -> Result<Option<u64>, StoreError> {
        match self.meta.get(k)? {
            None => Ok(None),
            Some(v) => <[u8; 8]>::try_from(v.as_ref())
                .map(|b| Some(u64::from_be_bytes(b)))
                .map_err(|_| bad_meta(k)),
        }
    }

    /// Scans `insurer \0 value \0` in an index and keeps the records that `still` confirms.
    fn indexed(
        &self,
        index: &sled::Tree,
        insurer: &str,
        value: &str,
        still: impl Fn(&Person) -> bool,
    ) -> Result<Vec<Person>, StoreError> {
        if !is_key_part(insurer) || !is_key_part(value) {
            return Ok(Vec::new());
        }
        let mut prefix = key(&[insurer, value]);
        prefix.push(0);
        let mut out = Vec::new();
        for k in index.scan_prefix(&prefix).keys() {
            let k = k?;
            let Ok(person_id) = std::str::from_utf8(&k[prefix.len()..]) else {
                continue;
            };
            if let Some(p) = self.person(insurer, person_id)? {
                if still(&p) {
                    out.push(p);
                }
            }
        }
        Ok(out)
    }

    fn index_tree(&self, index: Index) -> &sled::Tree {
        match index {
            Index::Dependents => &self.dependents,
            Index::Msisdns => &self.msisdns,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Index {
    Dependents,
    Msisdns,
}

/// A change checked and encoded by [`Store::prepare`], ready for [`Store::write_in_key_order`].
#[derive(Debug)]
pub struct Prepared {
    /// The record's key, `insurer \0 person_id`: what a batch is sorted by.
    id: Vec<u8>,
    write: Write,
}

/// What a prepared change writes.
#[derive(Debug)]
enum Write {
    /// The record, postcard-encoded, and the index entries it should have.
    Upsert {
        value: Vec<u8>,
        entries: Vec<(Index, Vec<u8>)>,
    },
    Delete,
    /// The event's JSON, under the `seq` of its change.
    Event {
        seq: u64,
        json: Vec<u8>,
    },
}

/// A record's index entries: the index and the entry's key.
type Entries = [(Index, Vec<u8>)];

/// What a batch knows of a record before it writes the next change of it.
#[derive(Debug, Clone, Copy)]
enum Held<'b> {
    /// Nothing: the store is asked.
    Unknown,
    /// The batch has just deleted it.
    Absent,
    /// The batch has just written it, with these index entries.
    Entries(&'b Entries),
}

impl<'b> Held<'b> {
    /// The record's index entries, asking `stored` only when the batch does not know them.
    fn entries(
        self,
        stored: impl FnOnce() -> Result<Vec<(Index, Vec<u8>)>, StoreError>,
    ) -> Result<std::borrow::Cow<'b, Entries>, StoreError> {
        Ok(match self {
            Held::Unknown => std::borrow::Cow::Owned(stored()?),
            Held::Absent => std::borrow::Cow::Borrowed(&[]),
            Held::Entries(entries) => std::borrow::Cow::Borrowed(entries),
        })
    }
}

/// The index entries a record should have.
fn index_entries(p: &Person) -> Vec<(Index, Vec<u8>)> {
    let mut out: Vec<(Index, Vec<u8>)> = p
        .msisdns
        .iter()
        .map(|m| (Index::Msisdns, key(&[&p.insurer, m, &p.person_id])))
        .collect();
    if let Some(h) = &p.holder {
        out.push((
            Index::Dependents,
            key(&[&p.insurer, &h.person_id, &p.person_id]),
        ));
    }
    out
}

/// Every key part of a record must be usable in a key: non-empty, short, without `\0`.
fn validate(p: &Person) -> Result<(), StoreError> {
    let holder = p.holder.as_ref().map(|h| h.person_id.as_str());
    let parts = [("insurer", p.insurer.as_str()), ("person_id", &p.person_id)]
        .into_iter()
        .chain(p.msisdns.iter().map(|m| ("msisdn", m.as_str())))
        .chain(holder.map(|h| ("holder.person_id", h)));
    for (what, v) in parts {
        if !is_key_part(v) {
            return Err(StoreError::Invalid(format!(
                "{what} is empty, longer than {MAX_KEY_PART} bytes or holds a NUL"
            )));
        }
    }
    Ok(())
}

fn is_key_part(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_KEY_PART && !s.contains('\0')
}

fn key(parts: &[&str]) -> Vec<u8> {
    let mut k = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            k.push(0);
        }
        k.extend_from_slice(p.as_bytes());
    }
    k
}

/// The longest key of two parts: two parts of at most `MAX_KEY_PART` bytes and a NUL.
const PAIR_KEY_MAX: usize = 2 * MAX_KEY_PART + 1;

/// `key(&[a, b])` written into `buf` (a lookup's key on the stack, no allocation). Both parts
/// must have passed `is_key_part`.
fn pair_key<'b>(buf: &'b mut [u8; PAIR_KEY_MAX], a: &str, b: &str) -> &'b [u8] {
    let len = a.len() + 1 + b.len();
    buf[..a.len()].copy_from_slice(a.as_bytes());
    buf[a.len()] = 0;
    buf[a.len() + 1..len].copy_from_slice(b.as_bytes());
    &buf[..len]
}

fn decode(key: &[u8], v: &IVec) -> Result<Person, StoreError> {
    postcard::from_bytes(v).map_err(|source| StoreError::Corrupt {
        // The insurer only: the rest of the key is a national identifier.
        key: String::from_utf8_lossy(key.split(|b| *b == 0).next().unwrap_or_default())
            .into_owned(),
        source,
    })
}

/// Whether `dir` holds a sled database (sled 0.34 keeps its `conf` and `db` files there).
pub fn holds_store(dir: &Path) -> bool {
    dir.join("conf").is_file() && dir.join("db").is_file()
}

fn bad_meta(k: &[u8]) -> StoreError {
    StoreError::BadMeta {
        key: String::from_utf8_lossy(k).into_owned(),
    }
}

/// sled 0.34.7 may pick a half-written `snap.<lsn>.generating` left by a crash and refuse to
/// open (upstream fix c5763094, never released). The rename that makes a snapshot live never
/// happened for these files, so removing them loses nothing.
fn remove_unfinished_snapshots(dir: &Path) -> Result<(), StoreError> {
    let prepare = |source| StoreError::Prepare {
        dir: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(prepare)? {
        let entry = entry.map_err(prepare)?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("snap.") && name.ends_with(".generating") {
            std::fs::remove_file(entry.path()).map_err(prepare)?;
        }
    }
    Ok(())
}

/// How long [`Store::open`] waits for a lock that this process itself may still hold.
const LOCK_GRACE: Duration = Duration::from_secs(2);

/// Opens sled, waiting a little for the lock: after the last handle of a `Db` is dropped,
/// sled's background flusher thread can hold the file lock a few hundred milliseconds more,
/// so a reopen in the same process (tests, `sync` then `serve`) would fail at once. Another
/// process that holds the store still gets [`StoreError::Locked`], [`LOCK_GRACE`] later.
fn open_db(dir: &Path, cache_bytes: u64) -> Result<sled::Db, StoreError> {
    let started = Instant::now();
    loop {
        let opened = sled::Config::new()
            .path(dir)
            .cache_capacity(cache_bytes)
            .open()
            .map_err(|e| open_error(dir, e));
        match opened {
            Err(StoreError::Locked { .. }) if started.elapsed() < LOCK_GRACE => {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// sled reports a held lock as `Io(Other, "could not acquire lock on ...")` (CRATES.md §1).
fn open_error(dir: &Path, e: sled::Error) -> StoreError {
    match &e {
        sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
            StoreError::Locked {
                dir: dir.to_path_buf(),
            }
        }
        _ => StoreError::Sled(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_join_parts_with_nul() {
        assert_eq!(
            key(&["tamin", "0012345679"]),
            b"tamin\x000012345679".to_vec()
        );
        assert_eq!(key(&["a", "b", "c"]), b"a\0b\0c".to_vec());
    }

    #[test]
    fn a_pair_key_on_the_stack_is_the_joined_key() {
        let longest = "x".repeat(MAX_KEY_PART);
        for (a, b) in [
            ("tamin", "0012345679"),
            ("a", "b"),
            (longest.as_str(), longest.as_str()),
        ] {
            let mut buf = [0u8; PAIR_KEY_MAX];
            assert_eq!(pair_key(&mut buf, a, b), key(&[a, b]).as_slice());
        }
    }

    #[test]
    fn key_parts_are_checked() {
        for (s, ok) in [
            ("0012345679", true),
            ("", false),
            ("a\0b", false),
            (&"9".repeat(64), true),
            (&"9".repeat(65), false),
        ] {
            assert_eq!(is_key_part(s), ok, "{s:?}");
        }
    }

    #[test]
    fn a_lookup_by_an_impossible_key_finds_no_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path(), 1 << 20).expect("open");
        store
            .apply(&person("0012345679", "0012345679", &[]))
            .expect("apply");
        let huge = "1".repeat(1 << 20);
        for (insurer, id) in [
            ("tamin", "0012345679"),
            ("tamin", ""),
            ("tamin", "00123\0"),
            ("tamin", &"9".repeat(MAX_KEY_PART + 1)),
            ("tamin", huge.as_str()),
            ("", "0012345679"),
            ("تامین", "۰۰۱۲۳۴۵۶۷۹"),
        ] {
            let found = store.person(insurer, id).expect("lookup");
            assert_eq!(
                found.is_some(),
                (insurer, id) == ("tamin", "0012345679"),
                "{insurer:?} {id:.20?}"
            );
        }
    }

    #[test]
    fn a_second_open_names_the_locked_dir() {
        let dir = tempfile::tempdir().expect("tempdir");
        let _first = Store::open(dir.path(), 1 << 20).expect("first open");
        match Store::open(dir.path(), 1 << 20) {
            Err(StoreError::Locked { dir: d }) => assert_eq!(d, dir.path()),
            Err(e) => panic!("wrong error: {e}"),
            Ok(_) => panic!("a second open must fail"),
        }
    }

    #[test]
    fn unfinished_snapshots_are_removed_before_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let junk = dir.path().join("snap.00000000000000AB.generating");
        std::fs::write(&junk, b"half a snapshot").expect("write");
        let _store = Store::open(dir.path(), 1 << 20).expect("open");
        assert!(!junk.exists());
    }

    fn person(id: &str, holder: &str, msisdns: &[&str]) -> Change {
        let p = Person {
            insurer: "tamin".into(),
            person_id: id.into(),
            msisdns: msisdns.iter().map(|m| m.to_string()).collect(),
            holder: Some(crate::record::HolderLink {
                person_id: holder.into(),
                relation: crate::record::Relation::Son,
            }),
            ..Person::default()
        };
        Change {
            seq: 1,
            op: ChangeOp::Upsert {
                person: Box::new(p),
            },
        }
    }

    fn dump(store: &Store) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        for (name, tree) in [
            ("p", &store.people),
            ("d", &store.dependents),
            ("m", &store.msisdns),
        ] {
            for kv in tree.iter() {
                let (k, v) = kv.expect("entry");
                out.push((
                    format!("{name}:{}", String::from_utf8_lossy(&k)),
                    v.to_vec(),
                ));
            }
        }
        out
    }

    /// An upsert cut short after any of its steps, then applied again, leaves exactly what one
    /// clean apply leaves: no stale index entry survives.
    #[test]
    fn an_upsert_interrupted_after_any_step_reapplies_exactly() {
        let before = person(
            "0010000119",
            "0012345679",
            &["989120000001", "989120000002"],
        );
        let after = person(
            "0010000119",
            "0020000014",
            &["989120000002", "989120000003"],
        );
        let ChangeOp::Upsert { person: new } = &after.op else {
            unreachable!("an upsert")
        };
        let clean_dir = tempfile::tempdir().expect("tempdir");
        let clean = Store::open(clean_dir.path(), 1 << 20).expect("open");
        clean.apply(&before).expect("apply");
        clean.apply(&after).expect("apply");
        let want = dump(&clean);

        let new_entries = index_entries(new);
        for steps in 0..=new_entries.len() + 3 {
            let dir = tempfile::tempdir().expect("tempdir");
            let store = Store::open(dir.path(), 1 << 20).expect("open");
            store.apply(&before).expect("apply");
            // The first `steps` writes of the upsert, in its order: new entries, stale removals.
            let old_entries = {
                let ChangeOp::Upsert { person: old } = &before.op else {
                    unreachable!("an upsert")
                };
                index_entries(old)
            };
            let stale = old_entries.iter().filter(|e| !new_entries.contains(e));
            let writes: Vec<(bool, &(Index, Vec<u8>))> = new_entries
                .iter()
                .map(|e| (true, e))
                .chain(stale.map(|e| (false, e)))
                .take(steps)
                .collect();
            for (insert, (tree, k)) in writes {
                if insert {
                    store
                        .index_tree(*tree)
                        .insert(k.as_slice(), &[])
                        .expect("insert");
                } else {
                    store.index_tree(*tree).remove(k).expect("remove");
                }
            }
            store.apply(&after).expect("apply again");
            assert_eq!(dump(&store), want, "interrupted after {steps} steps");
        }
    }

    /// A mixed batch: several changes of one record (phones moved, a delete, an upsert after
    /// it, events) among other records, in feed order.
    fn mixed_batch() -> Vec<Change> {
        let mut changes = Vec::new();
        let ids = ["0010000119", "0020000014", "0030000019", "0040000014"];
        for round in 0..3u64 {
            for (n, id) in ids.iter().enumerate().rev() {
                let phone = format!("98912000{round}{n:03}");
                let holder = ids[(n + round as usize) % ids.len()];
                let mut change = person(id, holder, &[&phone, "989129999999"]);
                change.seq = changes.len() as u64 + 1;
                changes.push(change);
            }
            let op = if round == 1 {
                ChangeOp::Delete {
                    insurer: "tamin".into(),
                    person_id: ids[2].into(),
                }
            } else {
                ChangeOp::Event {
                    insurer: "tamin".into(),
                    person_id: ids[1].into(),
                    event: serde_json::json!({"kind": "transfer_paid", "round": round}),
                }
            };
            changes.push(Change {
                seq: changes.len() as u64 + 1,
                op,
            });
        }
        changes.push(Change {
            seq: changes.len() as u64 + 1,
            op: ChangeOp::Delete {
                insurer: "tamin".into(),
                person_id: ids[0].into(),
            },
        });
        changes
    }

    fn dump_all(store: &Store) -> Vec<(String, Vec<u8>)> {
        let mut out = dump(store);
        for (name, tree) in [("e", &store.events), ("s", &store.event_seqs)] {
            for kv in tree.iter() {
                let (k, v) = kv.expect("entry");
                out.push((format!("{name}:{k:?}"), v.to_vec()));
            }
        }
        out
    }

    #[test]
    fn a_batch_in_key_order_ends_as_the_changes_applied_one_by_one() {
        let changes = mixed_batch();
        let one_by_one_dir = tempfile::tempdir().expect("tempdir");
        let one_by_one = Store::open(one_by_one_dir.path(), 1 << 20).expect("open");
        for change in &changes {
            one_by_one.apply(change).expect("apply");
        }
        let want = dump_all(&one_by_one);
        assert!(want.iter().any(|(k, _)| k.starts_with("m:")), "{want:?}");

        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path(), 1 << 20).expect("open");
        // The first half one by one (a store that already holds records), the rest as a batch.
        let (before, batch) = changes.split_at(5);
        for change in before {
            store.apply(change).expect("apply");
        }
        let prepared = batch.iter().map(|c| Store::prepare(c).expect("prepare"));
        store.write_in_key_order(prepared.collect()).expect("write");
        assert_eq!(dump_all(&store), want);
    }

    /// A batch cut short at any write (a crash), then written again whole, ends as one clean
    /// write: what a sync resumed from the watermark does.
    #[test]
    fn a_batch_cut_short_then_written_again_ends_as_a_clean_one() {
        let changes = mixed_batch();
        let prepare = || -> Vec<Prepared> {
            changes
                .iter()
                .map(|c| Store::prepare(c).expect("prepare"))
                .collect()
        };
        let clean_dir = tempfile::tempdir().expect("tempdir");
        let clean = Store::open(clean_dir.path(), 1 << 20).expect("open");
        clean.write_in_key_order(prepare()).expect("write");
        let want = dump_all(&clean);
        for cut in 0..changes.len() {
            let dir = tempfile::tempdir().expect("tempdir");
            let store = Store::open(dir.path(), 1 << 20).expect("open");
            let mut sorted = prepare();
            sorted.sort_by(|a, b| a.id.cmp(&b.id));
            sorted.truncate(cut);
            store.write_in_key_order(sorted).expect("first part");
            store.write_in_key_order(prepare()).expect("again");
            assert_eq!(dump_all(&store), want, "cut after {cut} changes");
        }
    }

    #[test]
    fn a_change_the_store_refuses_is_known_before_any_write() {
        let mut bad = person("0010000119", "0012345679", &["98912\0"]);
        if let ChangeOp::Upsert { person } = &mut bad.op {
            person.msisdns = vec!["98\0912".into()];
        }
        assert!(matches!(Store::prepare(&bad), Err(StoreError::Invalid(_))));
        let empty_delete = Change {
            seq: 1,
            op: ChangeOp::Delete {
                insurer: "tamin".into(),
                person_id: String::new(),
            },
        };
        assert!(matches!(
            Store::prepare(&empty_delete),
            Err(StoreError::Invalid(_))
        ));
        let long_event = Change {
            seq: 1,
            op: ChangeOp::Event {
                insurer: "tamin".into(),
                person_id: "9".repeat(65),
                event: serde_json::json!({}),
            },
        };
        assert!(matches!(
            Store::prepare(&long_event),
            Err(StoreError::Invalid(_))
        ));
    }

    #[test]
    fn a_stale_index_entry_never_shows_the_wrong_person() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path(), 1 << 20).expect("open");
        store
            .apply(&person("0010000119", "0012345679", &["989120000001"]))
            .expect("apply");
        let stale_phone = key(&["tamin", "989120000009", "0010000119"]);
        let stale_holder = key(&["tamin", "0020000014", "0010000119"]);
        store.msisdns.insert(stale_phone, &[]).expect("insert");
        store.dependents.insert(stale_holder, &[]).expect("insert");
        assert!(store
            .people_by_msisdn("tamin", "989120000009")
            .expect("by")
            .is_empty());
        assert!(store
            .dependents("tamin", "0020000014")
            .expect("deps")
            .is_empty());
        assert_eq!(
            store
                .people_by_msisdn("tamin", "989120000001")
                .expect("by")
                .len(),
            1
        );
    }

    #[test]
    fn events_are_listed_in_feed_order_between_two_seqs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path(), 1 << 20).expect("open");
        for (seq, person) in [(3, "08000002"), (5, "08000001"), (9, "08000002")] {
            let op = ChangeOp::Event {
                insurer: "cnam".into(),
                person_id: person.into(),
                event: serde_json::json!({"kind": "ceiling_reached", "year": seq}),
            };
            store.apply(&Change { seq, op }).expect("apply");
        }
        let seqs = |after, through, limit| -> Vec<(u64, String)> {
            store
                .events_between(after, through, limit)
                .expect("events")
                .into_iter()
                .map(|e| (e.seq, e.person_id))
                .collect()
        };
        assert_eq!(
            seqs(0, 100, 10),
            [
                (3, "08000002".into()),
                (5, "08000001".into()),
                (9, "08000002".into())
            ]
        );
        assert_eq!(
            seqs(3, 9, 10),
            [(5, "08000001".into()), (9, "08000002".into())]
        );
        assert_eq!(seqs(0, 8, 1), [(3, "08000002".into())]);
        assert!(seqs(9, 9, 10).is_empty());
        assert!(store.tree("event_seqs").is_err());
        let event = &store.events_between(4, 5, 1).expect("events")[0];
        assert_eq!(event.event["year"], 5);
    }

    #[test]
    fn reserved_trees_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path(), 1 << 20).expect("open");
        assert!(matches!(
            store.tree("people"),
            Err(StoreError::ReservedTree(_))
        ));
        assert!(store.tree("audit").is_ok());
    }

    #[test]
    fn a_pair_finds_its_person_only_when_both_halves_belong_to_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path(), 1 << 20).expect("open");
        let holder = Person {
            insurer: "cnam".into(),
            person_id: "08123456".into(),
            member_no: Some("966433".into()),
            ..Person::default()
        };
        let other = Person {
            insurer: "cnam".into(),
            person_id: "07000001".into(),
            member_no: Some("11966433".into()),
            ..Person::default()
        };
        for (seq, p) in [(1, holder), (2, other)] {
            let op = ChangeOp::Upsert {
                person: Box::new(p),
            };
            store.apply(&Change { seq, op }).expect("apply");
        }
        let pair = |m: &str, c: &str| {
            let (m, c) = (Matricule::parse(m).unwrap(), Cin::parse(c).unwrap());
            store
                .person_by_pair("cnam", &m, &c)
                .expect("pair")
                .map(|p| p.person_id)
        };
        assert_eq!(pair("00966433", "08123456").as_deref(), Some("08123456"));
        assert_eq!(pair("11966433", "07000001").as_deref(), Some("07000001"));
        // Each half belongs to someone, but not to one person.
        assert_eq!(pair("11966433", "08123456"), None);
        assert_eq!(pair("00966433", "07000001"), None);
        assert_eq!(pair("00966433", "09999999"), None);
        let (m, c) = (
            Matricule::parse("966433").unwrap(),
            Cin::parse("08123456").unwrap(),
        );
        assert!(store
            .person_by_pair("mutual", &m, &c)
            .expect("pair")
            .is_none());
    }
}
