//! Tracking codes and the audit trail (SPEC §6): every inquiry that reaches an answer gets a
//! [`TrackingCode`], and the trail keeps what was asked, when, through which channel and with
//! which result, the caller and the queried identifier only as keyed hashes.
//!
//! An action asks the [`Tracker`] for a code, records its [`AuditEntry`] and shows the code on the
//! final screen; `daftar track` and the admin API read it back. A code is node digit, 8-digit
//! per-node sequence spread by a keyed permutation secret to the store, Luhn digit; the sequence survives restarts because blocks of it are
//! reserved in the meta tree, and flushed, before any code of the block is shown. This module
//! must never reuse a code the trail still keeps, and never write or log an MSISDN or a national
//! identifier in clear: only [`KeyedHasher`] output leaves it.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// Codes reserved per write of the sequence high-water mark: one fsync per this many codes, and
/// at most this many codes skipped by a crash.
const RESERVE_BLOCK: u64 = 1_000;
/// The sequence part of a code has 8 digits.
const SEQ_MODULUS: u64 = 100_000_000;
const SECONDS_PER_DAY: i64 = 86_400;
/// Context string of the key derivation: changing it changes every stored hash.
const KEY_CONTEXT: &str = "daftar keyed hash v1";
/// Audit tree prefixes: an entry by code, and a time index `t` + at + code for purging.
const ENTRY: u8 = b'c';
const BY_TIME: u8 = b't';

/// What went wrong in the audit trail. Never carries an MSISDN or an identifier.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AuditError {
    #[error("audit store: {0}")]
    Store(#[from] sled::Error),
    #[error("audit entry encoding: {0}")]
    Encoding(#[from] postcard::Error),
    #[error("node id {0} is out of range: a node is one digit, 0 to 9")]
    Node(u8),
    #[error("audit meta key {key} holds a malformed value")]
    Corrupt { key: String },
}

/// Context string of the tracking-code key's derivation from the generated secret.
const CODE_KEY_CONTEXT: &str = "daftar tracking code spread v1";
/// The 8-digit sequence space as two 4-digit halves for the Feistel rounds.
const HALF_MODULUS: u64 = 10_000;
const FEISTEL_ROUNDS: u8 = 6;

/// A keyed permutation of the 8-digit sequence space: consecutive sequence numbers become
/// codes that neither count up nor repeat from one store to the next, so one caller's code
/// does not tell another's (issue 7, item 10). A Feistel network over two 4-digit halves with
/// addition modulo 10^4 is a bijection of [0, 10^8) whatever its round function, so no two
/// sequence numbers of a node share a code before the sequence wraps; the domain is exactly
/// the 8-digit space, so no cycle-walking is needed. The key is a secret generated once per
/// deployment (not the hashing key: an operator who changes that must not change the codes),
/// kept outside the store (`keys`): a copy of the store tells nothing of the next code.
#[derive(Clone)]
struct Spread {
    key: [u8; 32],
}

impl Spread {
    fn apply(&self, seq: u64) -> u64 {
        let value = seq % SEQ_MODULUS;
        let (mut left, mut right) = (value / HALF_MODULUS, value % HALF_MODULUS);
        for round in 0..FEISTEL_ROUNDS {
            let mixed = (left + self.round(round, right)) % HALF_MODULUS;
            left = right;
            right = mixed;
        }
        left * HALF_MODULUS + right
    }

    fn round(&self, round: u8, half: u64) -> u64 {
        let mut input = [0u8; 9];
        input[0] = round;
        input[1..].copy_from_slice(&half.to_be_bytes());
        let digest = blake3::keyed_hash(&self.key, &input);
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest.as_bytes()[..8]);
        u64::from_be_bytes(first) % HALF_MODULUS
    }

    /// The spread keyed by the deployment's code secret (`keys::Keys::code`).
    fn from_secret(secret: &[u8; 32]) -> Spread {
        Spread {
            key: blake3::derive_key(CODE_KEY_CONTEXT, secret),
        }
    }
}

/// A 10-digit tracking code: node digit, 8-digit (spread) sequence, Luhn check digit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct TrackingCode(u64);

impl TrackingCode {
    /// The code of node `node` (0–9) whose middle eight digits are `spread` (modulo 10^8).
    fn new(node: u8, spread: u64) -> TrackingCode {
        let first_nine = u64::from(node % 10) * SEQ_MODULUS + spread % SEQ_MODULUS;
        TrackingCode(first_nine * 10 + u64::from(luhn_digit(first_nine)))
    }

    /// Reads a code as a caller or an operator types it: ASCII, Persian (U+06F0–U+06F9) or
    /// Arabic-Indic (U+0660–U+0669) digits; spaces, dashes and bidi marks are ignored. Exactly
    /// ten digits with a valid check digit, else `None`.
    pub(crate) fn parse(s: &str) -> Option<TrackingCode> {
        let mut value = 0u64;
        let mut count = 0usize;
        for c in s.chars() {
            if is_ignorable(c) {
                continue;
            }
            count += 1;
            if count > 10 {
                return None;
            }
            value = value * 10 + u64::from(digit_value(c)?);
        }
        let valid = count == 10 && luhn_digit(value / 10) == (value % 10) as u8;
        valid.then_some(TrackingCode(value))
    }
}

impl fmt::Display for TrackingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:010}", self.0)
    }
}

/// Separators a typed or pasted code may contain: whitespace, dashes, and the bidi marks an RTL
/// screen or a copy from one can add.
fn is_ignorable(c: char) -> bool {
    c.is_whitespace()
        || matches!(c, '-' | '\u{2010}'..='\u{2015}' | '\u{2212}')
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The value of an ASCII, Extended Arabic-Indic (Persian) or Arabic-Indic digit.
fn digit_value(c: char) -> Option<u8> {
    let d = match c {
        '0'..='9' => u32::from(c) - u32::from('0'),
        '\u{06F0}'..='\u{06F9}' => u32::from(c) - 0x06F0,
        '\u{0660}'..='\u{0669}' => u32::from(c) - 0x0660,
        _ => return None,
    };
    u8::try_from(d).ok()
}

/// The Luhn check digit over the nine digits of `first_nine` (leading zeros count as digits;
/// only the last nine digits are used).
pub(crate) fn luhn_digit(first_nine: u64) -> u8 {
    let mut rest = first_nine;
    let mut sum = 0u64;
    for position in 0..9 {
        let d = rest % 10;
        rest /= 10;
        // The check digit will sit to the right, so the rightmost payload digit is doubled.
        sum += match position % 2 {
            0 if d * 2 > 9 => d * 2 - 9,
            0 => d * 2,
            _ => d,
        };
    }
    ((10 - sum % 10) % 10) as u8
}

/// One line of the audit trail, as `daftar track` shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct AuditEntry {
    /// Unix seconds of the answer.
    pub(crate) at_unix: i64,
    /// How the inquiry arrived, e.g. `ussd:africastalking`.
    pub(crate) channel: String,
    /// The service id, e.g. `tamin`.
    pub(crate) service: String,
    /// `specific`, `general`, `dependents` or `status`.
    pub(crate) kind: String,
    /// `covered`, `not_covered`, `mismatch`, …
    pub(crate) result: String,
    /// The caller's MSISDN as a [`KeyedHasher`] hash; an API client as `client:<name>`.
    pub(crate) caller: String,
    /// The queried identifier as a [`KeyedHasher`] hash, if there was one.
    pub(crate) subject: Option<String>,
}

impl fmt::Display for AuditEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match jiff::Timestamp::from_second(self.at_unix) {
            Ok(at) => writeln!(f, "time     {at}")?,
            Err(_) => writeln!(f, "time     {} (unix seconds)", self.at_unix)?,
        }
        writeln!(f, "channel  {}", self.channel)?;
        writeln!(f, "service  {}", self.service)?;
        writeln!(f, "inquiry  {}", self.kind)?;
        writeln!(f, "result   {}", self.result)?;
        writeln!(f, "caller   {}", self.caller)?;
        write!(f, "subject  {}", self.subject.as_deref().unwrap_or("-"))
    }
}

/// Issues tracking codes and keeps the audit trail. Thread-safe; share it behind an `Arc`.
///
/// `issue` is lock-free except once per [`RESERVE_BLOCK`] codes, when it writes and flushes the
/// new high-water mark (a blocking fsync) under a mutex.
pub(crate) struct Tracker {
    audit: sled::Tree,
    meta: sled::Tree,
    node: u8,
    retention_days: u32,
    spread: Spread,
    /// The next sequence number to hand out (not reduced modulo 10^8).
    next: AtomicU64,
    /// Sequence numbers below this one are reserved durably; the mutex serialises reserving.
    reserved: AtomicU64,
    reserving: Mutex<()>,
}

impl fmt::Debug for Tracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tracker")
            .field("node", &self.node)
            .field("retention_days", &self.retention_days)
            .field("next", &self.next.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Tracker {
    /// Opens the tracker of node `node` (0–9) over the audit and meta trees. The sequence
    /// resumes at the high-water mark of the last run, so codes of a block that a crash left
    /// unused are skipped, never reissued.
    pub(crate) fn open(
        audit: sled::Tree,
        meta: sled::Tree,
        node: u8,
        retention_days: u32,
        code_secret: &[u8; 32],
    ) -> Result<Tracker, AuditError> {
        if node > 9 {
            return Err(AuditError::Node(node));
        }
        // Sequence 0 would read «۰۰۰۰۰۰۰۰۰۰», which looks like a placeholder: start at 1.
        let start = read_u64(&meta, &seq_key(node))?.unwrap_or(1).max(1);
        let spread = Spread::from_secret(code_secret);
        Ok(Tracker {
            audit,
            meta,
            node,
            retention_days,
            spread,
            next: AtomicU64::new(start),
            reserved: AtomicU64::new(start),
            reserving: Mutex::new(()),
        })
    }

    /// A new tracking code, unique for this node until its 8-digit sequence wraps.
    /// A code the trail still keeps is passed over: a store whose codes were spread otherwise
    /// before (an older version) never reissues one of them.
    pub(crate) fn issue(&self) -> Result<TrackingCode, AuditError> {
        loop {
            let seq = self.next.fetch_add(1, Ordering::Relaxed);
            if seq >= self.reserved.load(Ordering::Acquire) {
                self.reserve_through(seq)?;
            }
            let code = TrackingCode::new(self.node, self.spread.apply(seq));
            if !self.audit.contains_key(entry_key(code))? {
                return Ok(code);
            }
        }
    }

    /// Durably reserves sequence numbers up to and including `seq` before any is handed out.
    fn reserve_through(&self, seq: u64) -> Result<(), AuditError> {
        // A poisoned lock only means another thread panicked while reserving; the atomics and
        // the stored mark are still consistent, so carry on.
        let _guard = self
            .reserving
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut reserved = self.reserved.load(Ordering::Acquire);
        if seq < reserved {
            return Ok(());
        }
        while seq >= reserved {
            reserved += RESERVE_BLOCK;
        }
        self.meta
            .insert(seq_key(self.node), &reserved.to_be_bytes()[..])?;
        self.meta.flush()?;
        self.reserved.store(reserved, Ordering::Release);
        Ok(())
    }

    /// Keeps `entry` under `code`, replacing what the code held (a retried step records the
    /// same answer again).
    pub(crate) fn record(&self, code: TrackingCode, entry: &AuditEntry) -> Result<(), AuditError> {
        let value = postcard::to_allocvec(entry)?;
        // The index first: a crash between the two leaves an index key without an entry,
        // which purging simply removes.
        self.audit.insert(time_key(entry.at_unix, code), &[][..])?;
        self.audit.insert(entry_key(code), value)?;
        Ok(())
    }

    /// What the trail holds for `code`, if anything.
    pub(crate) fn lookup(&self, code: TrackingCode) -> Result<Option<AuditEntry>, AuditError> {
        match self.audit.get(entry_key(code))? {
            Some(bytes) => Ok(Some(postcard::from_bytes(&bytes)?)),
            None => Ok(None),
        }
    }

    /// Removes the entries older than the retention at `now_unix`; returns how many.
    pub(crate) fn purge_expired(&self, now_unix: i64) -> Result<usize, AuditError> {
        let retention = i64::from(self.retention_days) * SECONDS_PER_DAY;
        let cutoff = now_unix.saturating_sub(retention);
        let mut removed = 0;
        for item in self
            .audit
            .range(time_key(i64::MIN, TrackingCode(0))..time_key(cutoff, TrackingCode(0)))
        {
            let (key, _) = item?;
            if let Some(code) = code_of_time_key(&key) {
                removed += usize::from(self.remove_if_older(code, cutoff)?);
            }
            self.audit.remove(key)?;
        }
        Ok(removed)
    }

    /// Removes the entry of `code` if it is older than `cutoff`; a code recorded again later
    /// keeps its newer entry even though its older index key expires.
    fn remove_if_older(&self, code: TrackingCode, cutoff: i64) -> Result<bool, AuditError> {
        let expired = match self.lookup(code) {
            Ok(Some(entry)) => entry.at_unix < cutoff,
            Ok(None) => false,
            // An entry nobody can read any more is of no use to anyone; let it go.
            Err(AuditError::Encoding(_)) => true,
            Err(e) => return Err(e),
        };
        if expired {
            self.audit.remove(entry_key(code))?;
        }
        Ok(expired)
    }
}

fn seq_key(node: u8) -> Vec<u8> {
    format!("audit/seq/{node}").into_bytes()
}

fn entry_key(code: TrackingCode) -> [u8; 9] {
    let mut key = [ENTRY; 9];
    key[1..].copy_from_slice(&code.0.to_be_bytes());
    key
}

/// `t`, the time with its sign bit flipped (so byte order is time order), then the code.
fn time_key(at_unix: i64, code: TrackingCode) -> [u8; 17] {
    let mut key = [BY_TIME; 17];
    let ordered = (at_unix as u64) ^ (1 << 63);
    key[1..9].copy_from_slice(&ordered.to_be_bytes());
    key[9..].copy_from_slice(&code.0.to_be_bytes());
    key
}

fn code_of_time_key(key: &[u8]) -> Option<TrackingCode> {
    let bytes: [u8; 8] = key.get(9..17)?.try_into().ok()?;
    Some(TrackingCode(u64::from_be_bytes(bytes)))
}

fn read_u64(tree: &sled::Tree, key: &[u8]) -> Result<Option<u64>, AuditError> {
    let Some(bytes) = tree.get(key)? else {
        return Ok(None);
    };
    let array: [u8; 8] = bytes.as_ref().try_into().map_err(|_| AuditError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
    })?;
    Ok(Some(u64::from_be_bytes(array)))
}

/// Hashes MSISDNs and identifiers with a secret key, so the trail and the logs can match the
/// same person across entries without revealing who it is. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct KeyedHasher {
    key: [u8; 32],
}

impl fmt::Debug for KeyedHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyedHasher { .. }")
    }
}

impl KeyedHasher {
    pub fn new(key: [u8; 32]) -> KeyedHasher {
        KeyedHasher { key }
    }

    /// The hasher of this deployment: derived from the configured secret if there is one (an
    /// empty secret counts as none), else the generated key of the key file (`keys`), so
    /// hashes stay comparable across restarts and a copy of the store cannot reverse them.
    pub(crate) fn of_deployment(generated: &[u8; 32], configured: Option<&str>) -> KeyedHasher {
        match configured.filter(|s| !s.trim().is_empty()) {
            Some(secret) => KeyedHasher::new(blake3::derive_key(KEY_CONTEXT, secret.as_bytes())),
            None => KeyedHasher::new(*generated),
        }
    }

    /// A key for another use, derived from this one (BLAKE3 `derive_key` under `context`), so
    /// that what follows the hash key (a shared session store's names and sealing) is the same
    /// on every node that shares it, and reveals nothing of it.
    pub(crate) fn derive(&self, context: &str) -> [u8; 32] {
        blake3::derive_key(context, &self.key)
    }

    /// The keyed BLAKE3 hash of `value`: its first 12 bytes as 24 lowercase hex digits.
    pub fn hash(&self, value: &str) -> String {
        let digest = blake3::keyed_hash(&self.key, value.as_bytes());
        hex(&digest.as_bytes()[..12])
    }

    /// A short tag for logs: the first 8 hex digits of [`KeyedHasher::hash`].
    pub(crate) fn tag(&self, value: &str) -> String {
        let digest = blake3::keyed_hash(&self.key, value.as_bytes());
        hex(&digest.as_bytes()[..4])
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn temp_db() -> sled::Db {
        match sled::Config::new().temporary(true).open() {
            Ok(db) => db,
            Err(e) => panic!("temporary sled: {e}"),
        }
    }

    /// Opens the store at `path`, waiting for a previous handle's background threads to let go
    /// of sled's file lock (they can outlive the dropped `Db` by a moment; a real restart is a
    /// new process and never sees this).
    fn open_at(path: &std::path::Path) -> sled::Db {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            match sled::open(path) {
                Ok(db) => return db,
                Err(e) if std::time::Instant::now() > deadline => panic!("open: {e}"),
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
            }
        }
    }

    fn tracker(db: &sled::Db, node: u8) -> Tracker {
        tracker_keyed(db, node, &[1; 32])
    }

    fn tracker_keyed(db: &sled::Db, node: u8, secret: &[u8; 32]) -> Tracker {
        let open = |name: &str| db.open_tree(name).expect("tree");
        Tracker::open(open("audit"), open("meta"), node, 400, secret).expect("tracker")
    }

    fn entry(at_unix: i64) -> AuditEntry {
        AuditEntry {
            at_unix,
            channel: "ussd:africastalking".into(),
            service: "tamin".into(),
            kind: "specific".into(),
            result: "covered".into(),
            caller: "0123456789abcdef01234567".into(),
            subject: Some("89abcdef0123456789abcdef".into()),
        }
    }

    /// Luhn validity of a whole digit string, written independently of `luhn_digit`.
    fn luhn_valid(digits: &str) -> bool {
        let sum: u32 = digits
            .chars()
            .rev()
            .filter_map(|c| c.to_digit(10))
            .enumerate()
            .map(|(i, d)| {
                if i % 2 == 1 {
                    (d * 2) / 10 + (d * 2) % 10
                } else {
                    d
                }
            })
            .sum();
        sum.is_multiple_of(10)
    }

    #[test]
    fn luhn_reference_values() {
        assert!(luhn_valid("79927398713"));
        let cases = [
            (0, 0),
            (992_739_871, 0),
            (123_456_789, 7),
            (1, 8),
            (100_000_000, 8),
        ];
        for (first_nine, check) in cases {
            assert_eq!(luhn_digit(first_nine), check, "{first_nine}");
            assert!(luhn_valid(&format!("{first_nine:09}{check}")));
        }
    }

    #[test]
    fn issued_codes_are_ten_digits_with_valid_luhn() {
        let db = temp_db();
        let t = tracker(&db, 7);
        for _ in 0..2_500 {
            let code = t.issue().expect("issue");
            let text = code.to_string();
            assert_eq!(text.len(), 10);
            assert!(text.starts_with('7'));
            assert!(luhn_valid(&text), "{text}");
            assert_eq!(TrackingCode::parse(&text), Some(code));
        }
    }

    #[test]
    fn every_single_digit_change_fails() {
        let db = temp_db();
        let t = tracker(&db, 3);
        for _ in 0..50 {
            let text = t.issue().expect("issue").to_string();
            for (i, original) in text.char_indices() {
                for d in '0'..='9' {
                    if d == original {
                        continue;
                    }
                    let mut changed = text.clone();
                    changed.replace_range(i..i + 1, &d.to_string());
                    assert_eq!(TrackingCode::parse(&changed), None, "{changed}");
                }
            }
        }
    }

    #[test]
    fn parse_accepts_typed_forms() {
        let code = TrackingCode::new(1, 42);
        let text = code.to_string();
        let persian: String = text
            .chars()
            .map(|c| crate::locale::localize_digits(&c.to_string(), "fa"))
            .collect();
        let arabic: String = text
            .chars()
            .filter_map(|c| c.to_digit(10).and_then(|d| char::from_u32(0x0660 + d)))
            .collect();
        let cases = [
            text.clone(),
            persian.clone(),
            arabic,
            format!("{}-{}", &text[..5], &text[5..]),
            format!(" {} {} ", &text[..3], &text[3..]),
            format!("\u{200F}{persian}\u{200F}"),
        ];
        for typed in cases {
            assert_eq!(TrackingCode::parse(&typed), Some(code), "{typed:?}");
        }
    }

    #[test]
    fn parse_rejects_malformed() {
        let text = TrackingCode::new(0, 5).to_string();
        let cases = [
            String::new(),
            text[..9].to_owned(),
            format!("{text}0"),
            format!("{}a", &text[..9]),
            format!("{}.{}", &text[..5], &text[5..]),
            "１２３４５６７８９０".to_owned(),
        ];
        for typed in cases {
            assert_eq!(TrackingCode::parse(&typed), None, "{typed:?}");
        }
    }

    #[test]
    fn display_pads_to_ten_digits() {
        assert_eq!(TrackingCode::new(0, 0).to_string(), "0000000000");
        assert!(TrackingCode::new(0, 61_803_399)
            .to_string()
            .starts_with("061803399"));
        assert!(TrackingCode::new(7, 1).to_string().starts_with("700000001"));
        assert_eq!(TrackingCode::new(9, SEQ_MODULUS - 1).to_string().len(), 10);
        assert_eq!(
            TrackingCode::new(2, SEQ_MODULUS + 1),
            TrackingCode::new(2, 1)
        );
    }

    #[test]
    fn the_spread_is_a_permutation_that_differs_by_store() {
        let a = Spread { key: [1; 32] };
        let b = Spread { key: [2; 32] };
        let range = 1..200_001u64;
        let spread: HashSet<u64> = range.clone().map(|s| a.apply(s)).collect();
        assert_eq!(spread.len(), 200_000, "unique over a range");
        assert!(spread.iter().all(|v| *v < SEQ_MODULUS));
        let wrapped = [0, 1, SEQ_MODULUS - 1];
        for s in wrapped {
            assert_eq!(a.apply(s), a.apply(s + SEQ_MODULUS));
        }
        let firsts_a: Vec<u64> = (1..6).map(|s| a.apply(s)).collect();
        let firsts_b: Vec<u64> = (1..6).map(|s| b.apply(s)).collect();
        assert_ne!(firsts_a, firsts_b);
        // Consecutive numbers do not give consecutive codes.
        assert!(firsts_a.windows(2).all(|w| w[1].abs_diff(w[0]) > 1));
    }

    #[test]
    fn two_fresh_stores_issue_different_codes_each_valid() {
        let (one, two) = (temp_db(), temp_db());
        let (a, b) = (
            tracker_keyed(&one, 0, &[1; 32]),
            tracker_keyed(&two, 0, &[2; 32]),
        );
        let codes_a: Vec<String> = (0..5)
            .map(|_| a.issue().expect("issue").to_string())
            .collect();
        let codes_b: Vec<String> = (0..5)
            .map(|_| b.issue().expect("issue").to_string())
            .collect();
        assert_ne!(codes_a, codes_b);
        assert!(codes_a.iter().chain(&codes_b).all(|c| luhn_valid(c)));
        // The same store reopened with its key keeps its spread.
        let again = tracker_keyed(&one, 0, &[1; 32]);
        assert_eq!(again.spread.apply(1), a.spread.apply(1));
    }

    #[test]
    fn a_code_the_trail_keeps_is_never_issued_again() {
        let db = temp_db();
        let t = tracker(&db, 0);
        let next = TrackingCode::new(0, t.spread.apply(t.next.load(Ordering::Relaxed)));
        t.record(next, &entry(1_742_515_200)).expect("record");
        assert_ne!(t.issue().expect("issue"), next);
    }

    #[test]
    fn ten_thousand_codes_are_distinct() {
        let db = temp_db();
        let t = tracker(&db, 0);
        let codes: HashSet<_> = (0..10_000).map(|_| t.issue().expect("issue")).collect();
        assert_eq!(codes.len(), 10_000);
    }

    #[test]
    fn concurrent_issue_is_distinct() {
        let db = temp_db();
        let t = tracker(&db, 4);
        let codes: Vec<TrackingCode> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        (0..1_500)
                            .map(|_| t.issue().expect("issue"))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("thread"))
                .collect()
        });
        let distinct: HashSet<_> = codes.iter().collect();
        assert_eq!(distinct.len(), codes.len());
    }

    #[test]
    fn reopen_never_repeats() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut seen = HashSet::new();
        for run in 0..3 {
            let db = open_at(dir.path());
            let t = tracker(&db, 5);
            for _ in 0..1_234 {
                assert!(
                    seen.insert(t.issue().expect("issue")),
                    "run {run} repeated a code"
                );
            }
            drop(t);
            drop(db);
        }
        assert_eq!(seen.len(), 3 * 1_234);
    }

    #[test]
    fn two_nodes_never_collide() {
        let db = temp_db();
        let (a, b) = (tracker(&db, 1), tracker(&db, 2));
        let mut seen = HashSet::new();
        for _ in 0..3_000 {
            assert!(seen.insert(a.issue().expect("issue")));
            assert!(seen.insert(b.issue().expect("issue")));
        }
    }

    #[test]
    fn bad_node_is_refused() {
        let db = temp_db();
        let open = |name: &str| db.open_tree(name).expect("tree");
        assert!(matches!(
            Tracker::open(open("audit"), open("meta"), 10, 400, &[1; 32]),
            Err(AuditError::Node(10))
        ));
    }

    #[test]
    fn record_and_lookup_round_trip() {
        let db = temp_db();
        let t = tracker(&db, 0);
        let code = t.issue().expect("issue");
        assert_eq!(t.lookup(code).expect("lookup"), None);
        let e = entry(1_742_515_200);
        t.record(code, &e).expect("record");
        assert_eq!(t.lookup(code).expect("lookup"), Some(e.clone()));
        let shown = e.to_string();
        assert!(shown.contains("2025-03-21T00:00:00Z"), "{shown}");
        assert!(shown.contains("ussd:africastalking") && shown.contains("covered"));
    }

    #[test]
    fn purge_removes_only_expired() {
        let db = temp_db();
        let t = tracker(&db, 0);
        let day = SECONDS_PER_DAY;
        let now = 1_800_000_000;
        let cases = [
            (now - 401 * day, false),
            (now - 400 * day - 1, false),
            (now - 400 * day, true),
            (now - 399 * day, true),
            (now, true),
        ];
        let mut codes = Vec::new();
        for (at, _) in cases {
            let code = t.issue().expect("issue");
            t.record(code, &entry(at)).expect("record");
            codes.push(code);
        }
        // Recorded again later: the old index key expires, the newer entry stays.
        let again = codes[0];
        let renewed = t.issue().expect("issue");
        t.record(renewed, &entry(now - 500 * day)).expect("record");
        t.record(renewed, &entry(now)).expect("record");

        assert_eq!(t.purge_expired(now).expect("purge"), 2);
        for (code, (_, kept)) in codes.iter().zip(cases) {
            assert_eq!(t.lookup(*code).expect("lookup").is_some(), kept, "{code}");
        }
        assert!(t.lookup(renewed).expect("lookup").is_some());
        assert_eq!(t.lookup(again).expect("lookup"), None);
        assert_eq!(t.purge_expired(now).expect("purge"), 0);
    }

    #[test]
    fn hasher_key_sources() {
        let configured = KeyedHasher::of_deployment(&[3; 32], Some("s3cret"));
        let same = KeyedHasher::new(blake3::derive_key(KEY_CONTEXT, b"s3cret"));
        assert_eq!(configured.hash("989121234567"), same.hash("989121234567"));

        let generated = KeyedHasher::of_deployment(&[3; 32], None);
        let again = KeyedHasher::of_deployment(&[3; 32], Some(""));
        assert_eq!(generated.hash("989121234567"), again.hash("989121234567"));
        assert_ne!(
            generated.hash("989121234567"),
            configured.hash("989121234567")
        );
    }

    /// Consecutive codes of one node share no obvious relation: neither the difference nor
    /// the digits in each place repeat from one pair to the next (issue 11).
    #[test]
    fn consecutive_codes_tell_nothing_of_the_next() {
        let db = temp_db();
        let t = tracker_keyed(&db, 0, &[5; 32]);
        let codes: Vec<u64> = (0..200).map(|_| t.issue().expect("issue").0).collect();
        let steps: HashSet<i128> = codes
            .windows(2)
            .map(|w| i128::from(w[1]) - i128::from(w[0]))
            .collect();
        assert!(steps.len() > 190, "{} distinct steps of 199", steps.len());
        for place in 1..9u32 {
            let digit = |c: u64| (c / 10u64.pow(place)) % 10;
            let kept = codes
                .windows(2)
                .filter(|w| digit(w[0]) == digit(w[1]))
                .count();
            assert!(kept < 60, "digit {place} kept in {kept} of 199 pairs");
        }
    }

    #[test]
    fn hash_and_tag_shape() {
        let h = KeyedHasher::new([7; 32]);
        let hash = h.hash("0012345679");
        assert_eq!(hash.len(), 24);
        assert!(hash.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')));
        assert!(!hash.contains("0012345679"));
        assert_eq!(h.tag("0012345679"), hash[..8]);
        assert_ne!(h.hash("0012345679"), h.hash("0012345678"));
        assert_ne!(KeyedHasher::new([8; 32]).hash("0012345679"), hash);
        assert_eq!(format!("{h:?}"), "KeyedHasher { .. }");
    }
}
