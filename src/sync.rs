//! Applying a change feed to the store, idempotently and crash-safely (SPEC §5).
//!
//! Where it sits: `feed ─► sync ─► store`. [`sync_once`] is the `daftar sync` command: it reads
//! the whole feed once. A [`Follower`] is what the server runs on an interval (from
//! `tokio::task::spawn_blocking`): each [`Follower::poll`] applies what is new since the last.
//!
//! The rules, in the order a line meets them:
//! - a line that does not parse is rejected with its line number (and its `seq` if one could
//!   be read); the next lines go on;
//! - a `seq` at or below the watermark is skipped: it is already in the store;
//! - a `seq` not above the last one applied in this run is rejected as out of order;
//! - a `seq` more than the maximum gap (`[feed] max_seq_gap`) above the last one applied (the
//!   watermark at start) is rejected as a jump: one mistyped `seq` (9999999999) must not move
//!   the watermark past every later change. A store that has applied nothing has no last
//!   `seq`: its first change sets it;
//! - anything else is checked and encoded by the store ([`Store::prepare`]; a record the store
//!   refuses is rejected here, in feed order) and joins the batch.
//!
//! Every [`CHECKPOINT_EVERY`] changes taken into the batch and at the end: the batch is written
//! in the order of its records' keys with plain writes ([`Store::write_in_key_order`]: sled
//! meets sorted keys leaf after leaf, where the feed's own order hits its tree at random; one
//! record's changes keep their feed order), then `flush`, THEN the watermark (the last `seq`
//! taken) is written, then `flush` again. So the watermark never runs ahead of the changes it
//! covers, and a sync killed at any point, run again, re-applies what followed the last
//! watermark and ends in exactly the state of a clean sync (the order within a batch only
//! matters per record). A rejected line whose `seq` is below a later applied one is covered by
//! the watermark with it.
//!
//! An HTTP feed (`feed::http`) goes through the same rules a page at a time: each poll asks
//! for the changes after the watermark, applies the page's complete lines, then checkpoints.
//! A poll "found more" ([`SyncReport::more`]) when its page held lines and moved the
//! watermark: the follower asks again at once. A rejected line comes back in every page
//! until the watermark passes it, so the follower reports it once (by its hash) and skips it
//! after.
//!
//! What it must never do: touch sessions or menus; use sled batches or transactions.

use crate::feed::http::{HttpFeed, Page};
use crate::feed::{FeedError, FeedLine, FeedReader, FeedSource, Lines, ReadMode};
use crate::record::Change;
use crate::store::{Prepared, Store, StoreError};
use std::fmt;
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

/// How many applied changes make one batch, written in key order, between two durable
/// watermarks.
pub const CHECKPOINT_EVERY: u64 = 10_000;

/// How many rejects a report lists; the rest are only counted, so a feed of garbage cannot
/// fill memory.
pub(crate) const REJECTS_LISTED: usize = 1_000;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Feed(#[from] FeedError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "{} is not the feed that filled this store: {why}. A store's watermark (now {watermark}) \
         belongs to the feed that filled it, and this feed's lines at or below it would be \
         skipped. Give this feed a new store with --db DIR, or give this store its own feed \
         (a next file of it continues the seq numbering after the watermark)",
        feed.display()
    )]
    OtherFeed {
        feed: PathBuf,
        why: String,
        watermark: u64,
    },
}

impl SyncError {
    /// Whether an HTTP feed refused the request (4xx); see [`FeedError::is_refusal`].
    pub(crate) fn is_refusal(&self) -> bool {
        matches!(self, SyncError::Feed(e) if e.is_refusal())
    }
}

/// A line that was not applied, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    pub file: PathBuf,
    pub line_no: usize,
    pub seq: Option<u64>,
    pub message: String,
}

/// `feed.ndjson:17 (seq 17): <why>`: the place, then the reason.
impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seq = self.seq.map_or_else(|| "?".to_string(), |s| s.to_string());
        write!(
            f,
            "{}:{} (seq {seq}): {}",
            self.file.display(),
            self.line_no,
            self.message
        )
    }
}

/// What one sync or one poll did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub applied: u64,
    pub skipped: u64,
    /// The first [`REJECTS_LISTED`] rejects.
    pub rejected: Vec<Reject>,
    /// Rejects beyond those listed.
    pub(crate) rejected_unlisted: u64,
    /// The store's watermark when the run ended.
    pub watermark: u64,
    /// An HTTP page brought lines and moved the watermark: more may be waiting now.
    pub more: bool,
}

impl SyncReport {
    /// Every reject, listed or not (`daftar sync` exits 3 when this is not 0).
    pub fn rejected_count(&self) -> u64 {
        self.rejected.len() as u64 + self.rejected_unlisted
    }

    /// Adds a later run's report to this one (its watermark and `more` replace these).
    fn add(&mut self, later: SyncReport) {
        self.applied += later.applied;
        self.skipped += later.skipped;
        self.rejected_unlisted += later.rejected_unlisted;
        for r in later.rejected {
            self.reject(r);
        }
        self.watermark = later.watermark;
        self.more = later.more;
    }

    fn reject(&mut self, reject: Reject) {
        if self.rejected.len() < REJECTS_LISTED {
            self.rejected.push(reject);
        } else {
            self.rejected_unlisted += 1;
        }
    }
}

impl fmt::Display for SyncReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "applied {}, skipped {}, rejected {}, watermark {}",
            self.applied,
            self.skipped,
            self.rejected_count(),
            self.watermark
        )?;
        for r in &self.rejected {
            write!(f, "\n  rejected {r}")?;
        }
        if self.rejected_unlisted > 0 {
            write!(f, "\n  ... and {} more rejected", self.rejected_unlisted)?;
        }
        Ok(())
    }
}

/// The feed as the admin API reports it: what the server's follower has applied so far (the
/// follower updates it after each poll; `/admin/feed` shows it).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub(crate) struct FeedStatus {
    pub(crate) source: Option<String>,
    pub(crate) watermark: u64,
    pub(crate) applied: u64,
    pub(crate) rejected: u64,
    pub(crate) last_rejects: Vec<String>,
    /// Seconds since the feed was last read to its end.
    pub(crate) caught_up_secs_ago: Option<u64>,
    /// `[feed] max_lag_s`: past it, `/readyz` is false; `None` when off.
    pub(crate) max_lag_s: Option<u64>,
    /// Why the last poll failed (`None` once one succeeds); never a feed line's content.
    pub(crate) last_error: Option<String>,
    #[serde(skip)]
    pub(crate) caught_up_at: Option<std::time::Instant>,
}

/// Applies the whole feed once (a last line without its newline included), with the default
/// largest `seq` gap.
pub fn sync_once(store: &Store, source: &FeedSource) -> Result<SyncReport, SyncError> {
    sync_once_gapped(store, source, crate::config::DEFAULT_MAX_SEQ_GAP)
}

/// As [`sync_once`], rejecting a `seq` more than `max_seq_gap` above the last one applied
/// (0: no limit).
pub fn sync_once_gapped(
    store: &Store,
    source: &FeedSource,
    max_seq_gap: u64,
) -> Result<SyncReport, SyncError> {
    let timeout = std::time::Duration::from_millis(DEFAULT_HTTP_TIMEOUT_MS);
    sync_once_with(store, source, max_seq_gap, timeout)
}

/// As [`sync_once_gapped`], an HTTP page request taking at most `timeout`.
pub fn sync_once_with(
    store: &Store,
    source: &FeedSource,
    max_seq_gap: u64,
    timeout: std::time::Duration,
) -> Result<SyncReport, SyncError> {
    claim_feed(store, source)?;
    let stop = CancellationToken::new();
    if let FeedSource::Http(url) = source {
        return sync_http_to_end(store, &HttpFeed::new(url, timeout), max_seq_gap);
    }
    let mut reader = FeedReader::new(source.clone());
    run(store, &mut reader, ReadMode::ToEnd, max_seq_gap, &stop)
}

/// `[feed] timeout_ms` by default.
pub(crate) const DEFAULT_HTTP_TIMEOUT_MS: u64 = 10_000;

/// Asks an HTTP feed for pages until one brings nothing new; a page cut short at the end is
/// an error (its last line would be missing).
fn sync_http_to_end(
    store: &Store,
    feed: &HttpFeed,
    max_seq_gap: u64,
) -> Result<SyncReport, SyncError> {
    let stop = CancellationToken::new();
    let mut seen = Reported::default();
    let mut total = SyncReport::default();
    loop {
        let (report, truncated) = run_http(store, feed, &mut seen, max_seq_gap, &stop)?;
        total.add(report);
        if !total.more {
            if truncated {
                return Err(SyncError::Feed(FeedError::Http {
                    url: feed.url().to_string(),
                    status: None,
                    message: "the last page ended in the middle of a line".into(),
                }));
            }
            return Ok(total);
        }
    }
}

/// Follows a feed for the server: each poll applies what is new since the previous one.
#[derive(Debug)]
pub struct Follower {
    reader: Reader,
    max_seq_gap: u64,
}

/// Where a follower reads.
#[derive(Debug)]
enum Reader {
    Files(FeedReader),
    Http(HttpFeed, Reported),
}

/// The hashes of the rejected lines an HTTP follower has already reported (a page repeats
/// them until the watermark passes them); forgotten whole when it grows past a bound.
#[derive(Debug, Default)]
struct Reported(std::collections::HashSet<[u8; 32]>);

impl Reported {
    /// Most hashes kept.
    const MAX: usize = 10 * REJECTS_LISTED;

    fn remember(&mut self, digest: [u8; 32]) {
        if self.0.len() >= Self::MAX {
            self.0.clear();
        }
        self.0.insert(digest);
    }
}

impl Follower {
    /// A follower that starts at the feed's beginning (its first poll skips, without parsing,
    /// every line the store's watermark already covers). Checks that the store belongs to
    /// this feed.
    pub fn new(store: &Store, source: FeedSource) -> Result<Follower, SyncError> {
        claim_feed(store, &source)?;
        let reader = match source {
            FeedSource::Http(url) => Reader::Http(
                HttpFeed::new(
                    &url,
                    std::time::Duration::from_millis(DEFAULT_HTTP_TIMEOUT_MS),
                ),
                Reported::default(),
            ),
            other => Reader::Files(FeedReader::new(other)),
        };
        Ok(Follower {
            reader,
            max_seq_gap: crate::config::DEFAULT_MAX_SEQ_GAP,
        })
    }

    /// How long one HTTP page request may take (no effect on a file feed).
    pub fn with_timeout(mut self, timeout: std::time::Duration) -> Follower {
        if let Reader::Http(feed, _) = &mut self.reader {
            *feed = HttpFeed::new(feed.url(), timeout);
        }
        self
    }

    /// The largest step a `seq` may take above the last one applied (0: no limit).
    pub fn with_max_seq_gap(mut self, max_seq_gap: u64) -> Follower {
        self.max_seq_gap = max_seq_gap;
        self
    }

    /// Applies the lines added since the last poll; a last line without its newline waits for
    /// the next poll. After an error the next poll reads the feed again from its start (every
    /// line the watermark covers is skipped), so nothing between the two is lost.
    pub fn poll(&mut self, store: &Store) -> Result<SyncReport, SyncError> {
        self.poll_until(store, &CancellationToken::new())
    }

    /// As [`Follower::poll`], stopping early (after a checkpoint) once `stop` is cancelled (it
    /// is checked between lines: this runs in blocking code), so that a server shutting down
    /// during a long first sync need not wait for its end. What was not applied is applied by
    /// the next poll or the next start.
    pub(crate) fn poll_until(
        &mut self,
        store: &Store,
        stop: &CancellationToken,
    ) -> Result<SyncReport, SyncError> {
        match &mut self.reader {
            Reader::Files(reader) => {
                let result = run(store, reader, ReadMode::Follow, self.max_seq_gap, stop);
                if result.is_err() {
                    reader.reset();
                }
                result
            }
            Reader::Http(feed, seen) => {
                run_http(store, feed, seen, self.max_seq_gap, stop).map(|(report, _)| report)
            }
        }
    }
}

/// Checks that `source` is the feed that filled the store, and records its path.
///
/// A store's watermark belongs to the feed that filled it (SPEC §5): another feed's lines at or
/// below it would be skipped without a word. The path is no identity (an insurer's export is
/// often a new file each day, continuing the `seq` numbering), so the store records the first
/// change it applied: its `seq` and a hash of its line's bytes. A feed is the store's own when
/// - it holds the line of that `seq` with the same bytes (the same feed again), or
/// - its lines begin after the watermark (the next file of the feed), or
/// - the store has applied nothing yet.
///
/// Any other feed (one that holds the store's first `seq` with other content, or starts at or
/// below the watermark without the store's first line) is refused with [`SyncError::OtherFeed`]:
/// give it a store of its own (`--db`). A store made before this rule records no first change;
/// it takes the first change it applies next as its first.
fn claim_feed(store: &Store, source: &FeedSource) -> Result<(), SyncError> {
    source.probe()?;
    if let Some((first, digest)) = store.feed_first()? {
        let watermark = store.watermark()?;
        let why = match find_line(source, first)? {
            Found::Line(found) if found == digest => None,
            Found::Line(_) => Some(format!(
                "its seq {first} is not the line the store applied as seq {first}"
            )),
            Found::Not {
                starts: Some(starts),
            } if starts <= watermark => Some(format!(
                "it starts at seq {starts}, at or below the store's watermark {watermark}, \
                 without the store's first change (seq {first})"
            )),
            Found::Not { .. } => None,
        };
        if let Some(why) = why {
            return Err(SyncError::OtherFeed {
                feed: source.path().to_path_buf(),
                why,
                watermark,
            });
        }
    }
    let given = source.to_string();
    let previous = store.feed_source()?;
    if previous.as_deref() != Some(given.as_str()) {
        if let Some(previous) = previous {
            tracing::info!(%previous, feed = %given, "the store now reads another file of its feed; the seq numbering continues");
        }
        store.set_feed_source(&given)?;
        store.flush()?;
    }
    Ok(())
}

/// What a feed holds at a given `seq`.
enum Found {
    /// The hash of its line of that `seq`.
    Line([u8; 32]),
    /// No line of that `seq`; the first `seq` the feed holds, if any.
    Not { starts: Option<u64> },
}

/// Reads `source` from its start up to the line of `seq` (or the first line past it).
fn find_line(source: &FeedSource, seq: u64) -> Result<Found, SyncError> {
    let mut reader = FeedReader::new(source.clone());
    let mut starts = None;
    for line in reader.read(ReadMode::ToEnd, 0)? {
        let line = line?;
        let Some(at) = (match &line.parsed {
            Ok(change) => Some(change.seq),
            Err(e) => e.seq,
        }) else {
            continue;
        };
        starts.get_or_insert(at);
        if at == seq {
            return Ok(Found::Line(line.digest));
        }
        if at > seq {
            break;
        }
    }
    Ok(Found::Not { starts })
}

/// Applies what `reader` reads after the store's watermark. The lines are read and parsed on a
/// thread of their own, a few chunks ahead of the one that takes them and writes the store, so
/// parsing and writing share the machine's cores. A run that stops early (cancelled, or an
/// error) leaves the reader at the feed's start: lines read ahead were not taken, and the next
/// read passes over what the watermark covers.
fn run(
    store: &Store,
    reader: &mut FeedReader,
    mode: ReadMode,
    max_seq_gap: u64,
    stop: &CancellationToken,
) -> Result<SyncReport, SyncError> {
    let mut state = Run::start(store, max_seq_gap)?;
    let lines = reader.read(mode, state.watermark)?;
    let taken = std::thread::scope(|scope| {
        let (parsed, to_take) = std::sync::mpsc::sync_channel(CHUNKS_AHEAD);
        let parser = scope.spawn(move || read_ahead(lines, &parsed));
        let taken = take_all(&mut state, &to_take, stop);
        drop(to_take);
        let passed_over = parser
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        taken.map(|whole| (whole, passed_over))
    });
    let (whole, passed_over) = match taken {
        Ok(taken) => taken,
        Err(e) => {
            reader.reset();
            return Err(e);
        }
    };
    if !whole {
        reader.reset();
    }
    state.report.skipped += passed_over;
    state.checkpoint()?;
    Ok(state.report)
}

/// How many lines go to the taking thread at once.
const CHUNK_LINES: usize = 256;
/// How many chunks the reading thread may be ahead.
const CHUNKS_AHEAD: usize = 8;

/// A chunk of read lines, or the error that ended the read.
type Chunk = Vec<Result<FeedLine, FeedError>>;

/// Reads and parses every line, sending them in chunks until the taker hangs up or the read
/// fails; returns how many lines the watermark let it pass over.
fn read_ahead(mut lines: Lines<'_>, parsed: &std::sync::mpsc::SyncSender<Chunk>) -> u64 {
    let mut chunk = Vec::with_capacity(CHUNK_LINES);
    for line in lines.by_ref() {
        let failed = line.is_err();
        chunk.push(line);
        if failed {
            break;
        }
        if chunk.len() == CHUNK_LINES {
            let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK_LINES));
            if parsed.send(full).is_err() {
                return lines.passed_over();
            }
        }
    }
    if !chunk.is_empty() {
        let _ = parsed.send(chunk);
    }
    lines.passed_over()
}

/// Takes the lines in their order; whether it took them all (`false`: `stop` came first).
fn take_all(
    state: &mut Run<'_>,
    to_take: &std::sync::mpsc::Receiver<Chunk>,
    stop: &CancellationToken,
) -> Result<bool, SyncError> {
    for chunk in to_take {
        for line in chunk {
            state.take(line?)?;
            if stop.is_cancelled() {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// One HTTP page after the watermark, applied; also whether its last line was cut short.
fn run_http(
    store: &Store,
    feed: &HttpFeed,
    seen: &mut Reported,
    max_seq_gap: u64,
    stop: &CancellationToken,
) -> Result<(SyncReport, bool), SyncError> {
    let mut state = Run::start(store, max_seq_gap)?;
    let Page {
        lines,
        passed_over,
        complete,
        truncated,
    } = feed.page(state.watermark)?;
    for line in lines {
        if seen.0.contains(&line.digest) {
            state.report.skipped += 1;
            continue;
        }
        let (digest, before) = (line.digest, state.report.rejected_count());
        state.take(line)?;
        if state.report.rejected_count() > before {
            seen.remember(digest);
        }
        if stop.is_cancelled() {
            break;
        }
    }
    state.report.skipped += passed_over;
    state.checkpoint()?;
    state.report.more = complete > 0 && state.report.watermark > state.watermark;
    Ok((state.report, truncated))
}

/// One run over a feed: the watermark it started from and what it has applied since.
struct Run<'a> {
    store: &'a Store,
    /// Whether the store has yet to record its first change (see [`claim_feed`]).
    first_unrecorded: bool,
    /// The largest step a `seq` may take above `last_applied` (0: no limit).
    max_seq_gap: u64,
    watermark: u64,
    last_applied: u64,
    /// The changes taken since the last checkpoint, checked and encoded, not yet written.
    batch: Vec<Prepared>,
    /// The store's first change (its `seq` and line hash), to record with the batch it is in.
    first: Option<(u64, [u8; 32])>,
    report: SyncReport,
}

impl<'a> Run<'a> {
    /// A run from the store's watermark.
    fn start(store: &'a Store, max_seq_gap: u64) -> Result<Run<'a>, SyncError> {
        let watermark = store.watermark()?;
        Ok(Run {
            store,
            max_seq_gap,
            first_unrecorded: store.feed_first()?.is_none(),
            watermark,
            last_applied: watermark,
            batch: Vec::new(),
            first: None,
            report: SyncReport {
                watermark,
                ..SyncReport::default()
            },
        })
    }

    fn take(&mut self, line: FeedLine) -> Result<(), SyncError> {
        let change = match line.parsed {
            Ok(change) => change,
            Err(e) if e.seq.is_some_and(|s| s != 0 && s <= self.watermark) => {
                self.report.skipped += 1;
                return Ok(());
            }
            Err(e) => {
                self.reject(&line.file, line.line_no, e.seq, e.message);
                return Ok(());
            }
        };
        let seq = change.seq;
        if seq == 0 {
            self.reject(
                &line.file,
                line.line_no,
                Some(0),
                "seq must be 1 or more".into(),
            );
        } else if seq <= self.watermark {
            self.report.skipped += 1;
        } else if seq <= self.last_applied {
            let message = format!("seq out of order: not above {}", self.last_applied);
            self.reject(&line.file, line.line_no, Some(seq), message);
        } else if self.jumps(seq) {
            let message = format!(
                "seq jumps more than feed.max_seq_gap ({}) above the last seq applied ({}): \
                 a mistyped seq? The lines after it are read as usual",
                self.max_seq_gap, self.last_applied
            );
            self.reject(&line.file, line.line_no, Some(seq), message);
        } else {
            self.apply(&line.file, line.line_no, &change)?;
            if self.first_unrecorded && self.last_applied == seq {
                self.first = Some((seq, line.digest));
                self.first_unrecorded = false;
            }
        }
        Ok(())
    }

    /// Whether `seq` lies more than the maximum gap above the last `seq` applied (never for a
    /// store that has applied nothing yet, nor with no limit).
    fn jumps(&self, seq: u64) -> bool {
        self.max_seq_gap > 0 && self.last_applied > 0 && seq - self.last_applied > self.max_seq_gap
    }

    /// Takes the change into the batch, or rejects it when the store refuses it.
    fn apply(&mut self, file: &Path, line_no: usize, change: &Change) -> Result<(), SyncError> {
        match Store::prepare(change) {
            Ok(prepared) => self.batch.push(prepared),
            Err(StoreError::Invalid(message)) => {
                self.reject(file, line_no, Some(change.seq), message);
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        }
        self.report.applied += 1;
        self.last_applied = change.seq;
        if self.batch.len() as u64 >= CHECKPOINT_EVERY {
            self.checkpoint()?;
        }
        Ok(())
    }

    /// The batch written in key order and durable first, then the watermark that covers it,
    /// durable in its turn.
    fn checkpoint(&mut self) -> Result<(), SyncError> {
        if !self.batch.is_empty() {
            self.store
                .write_in_key_order(std::mem::take(&mut self.batch))?;
        }
        if let Some((seq, digest)) = self.first.take() {
            self.store.set_feed_first(seq, &digest)?;
        }
        if self.last_applied > self.report.watermark {
            self.store.flush()?;
            self.store.set_watermark(self.last_applied)?;
            self.store.flush()?;
            self.report.watermark = self.last_applied;
        }
        Ok(())
    }

    /// `message` says what is wrong without the line's values (`feed::reason`), so it is
    /// reported whole: masking digits would hide the real error.
    fn reject(&mut self, file: &Path, line_no: usize, seq: Option<u64>, message: String) {
        self.report.reject(Reject {
            file: file.to_path_buf(),
            line_no,
            seq,
            message,
        });
    }
}

/// Shortest run of digits taken for an identifier or an MSISDN.
const IDENTIFIER_DIGITS: usize = 6;

/// The message with every run of six or more digits masked: a failed task's error or panic
/// text (`tasks`) may quote a value, and a national identifier or an MSISDN must never reach a
/// log in clear. Feed rejects need none of it: their messages never hold a value.
pub(crate) fn redact(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        if digits.chars().count() >= IDENTIFIER_DIGITS {
            out.push_str("[digits]");
        } else {
            out.push_str(digits);
        }
        digits.clear();
    };
    for c in message.chars() {
        if c.is_numeric() {
            digits.push(c);
        } else {
            flush(&mut digits, &mut out);
            out.push(c);
        }
    }
    flush(&mut digits, &mut out);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn identifiers_in_reject_messages_are_masked() {
        let cases = [
            (
                "invalid type: integer `12345678`, expected a string",
                "invalid type: integer `[digits]`, expected a string",
            ),
            (
                "msisdn \"989121234567\" is too long",
                "msisdn \"[digits]\" is too long",
            ),
            ("not a date: \"2026-13-01\"", "not a date: \"2026-13-01\""),
            (
                "seq out of order: not above 41",
                "seq out of order: not above 41",
            ),
            ("۰۰۱۲۳۴۵۶۷۹", "[digits]"),
            ("", ""),
        ];
        for (message, want) in cases {
            assert_eq!(super::redact(message), want);
        }
    }

    use super::*;

    #[test]
    fn a_report_prints_its_rejects() {
        let mut report = SyncReport {
            applied: 3,
            skipped: 1,
            watermark: 4,
            ..SyncReport::default()
        };
        report.reject(Reject {
            file: PathBuf::from("feed.ndjson"),
            line_no: 2,
            seq: None,
            message: "expected value".into(),
        });
        assert_eq!(
            report.to_string(),
            "applied 3, skipped 1, rejected 1, watermark 4\n  \
             rejected feed.ndjson:2 (seq ?): expected value"
        );
    }

    #[test]
    fn rejects_beyond_the_list_are_counted() {
        let mut report = SyncReport::default();
        for i in 0..REJECTS_LISTED + 5 {
            report.reject(Reject {
                file: PathBuf::from("f"),
                line_no: i,
                seq: None,
                message: String::new(),
            });
        }
        assert_eq!(report.rejected.len(), REJECTS_LISTED);
        assert_eq!(report.rejected_count(), (REJECTS_LISTED + 5) as u64);
    }
}
