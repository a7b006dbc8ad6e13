//! Reading a change feed (SPEC §5): NDJSON lines, each a [`Change`], from a file, from a
//! directory of `*.ndjson` files read in name order, or from an HTTP URL page by page
//! (`feed::http`).
//!
//! Where it sits: `feed ─► sync ─► store`. A [`FeedReader`] remembers where it stopped (file,
//! byte offset, line number), so a follower reads only what is new: lines appended to a file,
//! files appearing in a directory. While following, a last line without its newline is held
//! back until it is complete; a one-shot read takes it at the end of the file.
//!
//! Every line is judged on its own: a line that is not UTF-8, not JSON, not a change, or longer
//! than [`MAX_LINE`] becomes a [`LineError`] (with its `seq` when one can be read) and the next
//! line is read as usual. Only IO errors stop a read.
//!
//! What it must never do: write to the store, or touch HTTP or sessions; load a line of
//! unbounded size into memory.

mod direct;
pub(crate) mod http;
mod reason;

use crate::record::Change;
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// The longest line accepted; a longer one is rejected and skipped without being held whole.
pub(crate) const MAX_LINE: usize = 1 << 20;

/// How many leading bytes of a rejected line are searched for its `seq`.
const SEQ_PROBE: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("feed {url}: {message}")]
    Http {
        url: String,
        /// The HTTP status when the feed answered one other than 200.
        status: Option<u16>,
        message: String,
    },
    #[error("feed {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl FeedError {
    /// Whether the feed refused the request (HTTP 4xx: a wrong URL or credentials), which
    /// waiting alone will not mend: logged at each retry, retried at the slowest pace.
    pub(crate) fn is_refusal(&self) -> bool {
        matches!(self, FeedError::Http { status: Some(s), .. } if (400..500).contains(s))
    }
}

/// Where changes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedSource {
    /// One NDJSON file.
    File(PathBuf),
    /// A directory of `*.ndjson` files, read in name order (names starting with `.` are
    /// ignored, so a writer can prepare `.next.ndjson` and rename it).
    Dir(PathBuf),
    /// An `http://` or `https://` URL answering `GET <url>?since=<seq>` with a page of NDJSON.
    Http(String),
}

impl FeedSource {
    /// The file or directory this feed reads (an URL as a path, for messages).
    pub(crate) fn path(&self) -> &Path {
        match self {
            FeedSource::File(p) | FeedSource::Dir(p) => p,
            FeedSource::Http(url) => Path::new(url),
        }
    }

    /// An `http://` or `https://` URL gives `Http`, a directory path `Dir`, any other path
    /// `File`. Existing paths are made canonical, so the store records one name per feed.
    pub fn parse(s: &str) -> Result<FeedSource, FeedError> {
        if s.starts_with("http://") || s.starts_with("https://") {
            return Ok(FeedSource::Http(s.to_string()));
        }
        let path = PathBuf::from(s);
        let path = std::fs::canonicalize(&path).unwrap_or(path);
        Ok(if path.is_dir() {
            FeedSource::Dir(path)
        } else {
            FeedSource::File(path)
        })
    }

    /// Opens the feed as a read would, without reading a line: a file that cannot be opened
    /// or a directory that cannot be listed is an error here, naming its path, rather than at
    /// the first poll.
    pub(crate) fn probe(&self) -> Result<(), FeedError> {
        match self {
            // An URL is asked at the first poll: a feed server down at start is retried.
            FeedSource::Http(_) => Ok(()),
            FeedSource::File(p) => File::open(p).map(drop).map_err(|e| io_error(p, e)),
            FeedSource::Dir(dir) => {
                if ndjson_files(dir)?.is_empty() {
                    // Not an error: the insurer's first export may not be there yet.
                    tracing::warn!(dir = %dir.display(), "the feed directory holds no *.ndjson file yet");
                }
                Ok(())
            }
        }
    }

    /// The files of the feed, in reading order.
    fn files(&self) -> Result<Vec<PathBuf>, FeedError> {
        match self {
            FeedSource::File(p) => Ok(vec![p.clone()]),
            FeedSource::Dir(dir) => ndjson_files(dir),
            FeedSource::Http(_) => Ok(Vec::new()),
        }
    }
}

impl fmt::Display for FeedSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FeedSource::File(p) => write!(f, "file:{}", p.display()),
            FeedSource::Dir(p) => write!(f, "dir:{}", p.display()),
            FeedSource::Http(url) => write!(f, "{url}"),
        }
    }
}

/// One non-blank line of the feed.
#[derive(Debug)]
pub(crate) struct FeedLine {
    pub(crate) file: PathBuf,
    /// 1-based, counting blank lines too.
    pub(crate) line_no: usize,
    pub(crate) parsed: Result<Change, LineError>,
    /// The BLAKE3 hash of the line's bytes (without its line end): what the store records of
    /// its first change, to know that feed again (`sync::claim_feed`).
    pub(crate) digest: [u8; 32],
}

/// Why a line is not a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LineError {
    /// The line's `seq`, when it could be read from the broken line.
    pub(crate) seq: Option<u64>,
    pub(crate) message: String,
}

/// How a read treats a last line that has no newline yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadMode {
    /// One-shot sync: the file is complete, its last line is taken as it is.
    ToEnd,
    /// Following a live feed: the last line of the last file waits for its newline.
    Follow,
}

/// Where a reader stopped: the next byte to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Cursor {
    /// `None` before the first read.
    pub(crate) file: Option<PathBuf>,
    pub(crate) offset: u64,
    /// Lines of `file` already read.
    pub(crate) line_no: usize,
    /// Device and inode of `file`, to notice a file replaced under the same name.
    identity: Option<(u64, u64)>,
}

/// Reads a feed from where it last stopped.
#[derive(Debug, Clone)]
pub(crate) struct FeedReader {
    source: FeedSource,
    at: Cursor,
}

impl FeedReader {
    pub(crate) fn new(source: FeedSource) -> FeedReader {
        FeedReader {
            source,
            at: Cursor::default(),
        }
    }

    /// Forgets the position: the next read starts at the feed's first line.
    pub(crate) fn reset(&mut self) {
        self.at = Cursor::default();
    }

    /// The lines after the cursor. Lines whose leading `{"seq": N` has `0 < N <= skip_through` are
    /// passed over without being parsed (counted by [`Lines::passed_over`]): resuming a large
    /// feed costs a scan, not a parse. The cursor moves as lines are taken.
    pub(crate) fn read(
        &mut self,
        mode: ReadMode,
        skip_through: u64,
    ) -> Result<Lines<'_>, FeedError> {
        let files = self.pending_files()?;
        Ok(Lines {
            reader: self,
            files,
            next_file: 0,
            open: None,
            mode,
            skip_through,
            passed_over: 0,
            buf: Vec::new(),
        })
    }

    /// The files still to read: the cursor's file (if it is still there) and those after it.
    fn pending_files(&self) -> Result<Vec<PathBuf>, FeedError> {
        let all = self.source.files()?;
        Ok(match &self.at.file {
            None => all,
            Some(current) => all
                .into_iter()
                .filter(|f| f.file_name() >= current.file_name())
                .collect(),
        })
    }
}

/// An open feed file and where reading stands in it.
struct OpenFile {
    path: PathBuf,
    reader: BufReader<File>,
    offset: u64,
    line_no: usize,
    is_last: bool,
}

/// The lines of one read, in order; see [`FeedReader::read`].
pub(crate) struct Lines<'a> {
    reader: &'a mut FeedReader,
    files: Vec<PathBuf>,
    next_file: usize,
    open: Option<OpenFile>,
    mode: ReadMode,
    skip_through: u64,
    passed_over: u64,
    buf: Vec<u8>,
}

impl Lines<'_> {
    /// Lines passed over because their `seq` was at or below `skip_through`.
    pub(crate) fn passed_over(&self) -> u64 {
        self.passed_over
    }

    /// The next line of the open file, or `None` at its end (or at a held-back last line).
    fn next_in_open(&mut self) -> Result<Option<FeedLine>, FeedError> {
        let Some(open) = self.open.as_mut() else {
            return Ok(None);
        };
        loop {
            let raw = read_bounded_line(&mut open.reader, &mut self.buf)
                .map_err(|source| io_error(&open.path, source))?;
            if raw.consumed == 0 {
                return Ok(None);
            }
            if !raw.terminated && self.mode == ReadMode::Follow && open.is_last {
                return Ok(None);
            }
            open.offset += raw.consumed;
            open.line_no += 1;
            self.reader.at.offset = open.offset;
            self.reader.at.line_no = open.line_no;
            let bytes = trim_line(&self.buf, open.line_no == 1);
            if bytes.is_empty() && !raw.too_long {
                continue;
            }
            if leading_seq(bytes).is_some_and(|s| s != 0 && s <= self.skip_through) {
                self.passed_over += 1;
                continue;
            }
            return Ok(Some(FeedLine {
                file: open.path.clone(),
                line_no: open.line_no,
                parsed: parse_line(bytes, raw.too_long),
                digest: *blake3::hash(bytes).as_bytes(),
            }));
        }
    }

    /// Opens the next file of the read, resuming at the cursor if it is the cursor's file.
    fn open_next(&mut self) -> Result<bool, FeedError> {
        let Some(path) = self.files.get(self.next_file).cloned() else {
            return Ok(false);
        };
        self.next_file += 1;
        let is_last = self.next_file == self.files.len();
        let mut file = File::open(&path).map_err(|e| io_error(&path, e))?;
        let meta = file.metadata().map_err(|e| io_error(&path, e))?;
        let identity = file_identity(&meta);
        let at = &mut self.reader.at;
        let same = at.file.as_ref() == Some(&path);
        // A file that shrank or was replaced is read again from its start: changes already
        // applied are skipped by their seq, so re-reading is always safe.
        if !same || meta.len() < at.offset || at.identity != identity {
            *at = Cursor {
                file: Some(path.clone()),
                offset: 0,
                line_no: 0,
                identity,
            };
        }
        file.seek(SeekFrom::Start(at.offset))
            .map_err(|e| io_error(&path, e))?;
        self.open = Some(OpenFile {
            path,
            reader: BufReader::with_capacity(256 * 1024, file),
            offset: at.offset,
            line_no: at.line_no,
            is_last,
        });
        Ok(true)
    }
}

impl Iterator for Lines<'_> {
    type Item = Result<FeedLine, FeedError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.next_in_open() {
                Ok(Some(line)) => return Some(Ok(line)),
                Ok(None) => {}
                Err(e) => return Some(Err(e)),
            }
            // A held-back partial line keeps the cursor in the last file; nothing follows it.
            if self.open.as_ref().is_some_and(|o| o.is_last) {
                self.open = None;
                return None;
            }
            match self.open_next() {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// What one bounded line read found.
struct RawLine {
    /// Bytes consumed from the file, newline included; 0 at end of file.
    consumed: u64,
    /// Whether the line ended with `\n` (else it ended at end of file).
    terminated: bool,
    /// Whether the line was longer than [`MAX_LINE`]; `buf` then holds only its start.
    too_long: bool,
}

/// Reads one line into `buf` (without its `\n`), keeping at most [`MAX_LINE`] bytes of it.
fn read_bounded_line(r: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<RawLine> {
    buf.clear();
    let mut line = RawLine {
        consumed: 0,
        terminated: false,
        too_long: false,
    };
    loop {
        let chunk = r.fill_buf()?;
        if chunk.is_empty() {
            return Ok(line);
        }
        let (take, done) = match memchr_newline(chunk) {
            Some(i) => (i, true),
            None => (chunk.len(), false),
        };
        let room = MAX_LINE.saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..take.min(room)]);
        line.too_long |= take > room;
        let used = if done { take + 1 } else { take };
        r.consume(used);
        line.consumed += used as u64;
        if done {
            line.terminated = true;
            return Ok(line);
        }
    }
}

fn memchr_newline(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

/// Strips a trailing `\r`, surrounding ASCII whitespace, and a UTF-8 BOM on a file's first line.
fn trim_line(b: &[u8], first: bool) -> &[u8] {
    let b = if first {
        b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b)
    } else {
        b
    };
    b.trim_ascii()
}

/// Parses one line into a change, or says why it is not one.
pub(crate) fn parse_line(bytes: &[u8], too_long: bool) -> Result<Change, LineError> {
    if too_long {
        return Err(LineError {
            seq: leading_seq(bytes),
            message: format!("line longer than {MAX_LINE} bytes"),
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| LineError {
        seq: leading_seq(bytes),
        message: format!("not UTF-8 (at byte {})", e.valid_up_to()),
    })?;
    let change = match direct::read(text) {
        Some(change) => change,
        None => serde_json::from_str::<Change>(text).map_err(|_| LineError {
            seq: lenient_seq(text),
            message: reason::reason(text),
        })?,
    };
    change.check().map_err(|message| LineError {
        seq: Some(change.seq),
        message,
    })?;
    Ok(change)
}

/// The `seq` of a line that is not a change: from its JSON if it is JSON, else from its start.
fn lenient_seq(text: &str) -> Option<u64> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) => v.get("seq").and_then(serde_json::Value::as_u64),
        Err(_) => leading_seq(text.as_bytes()),
    }
}

/// `N` from a line that starts `{"seq": N` (whitespace allowed), followed by the end of the
/// line, whitespace, `,` or `}`.
fn leading_seq(bytes: &[u8]) -> Option<u64> {
    let b = &bytes[..bytes.len().min(SEQ_PROBE)];
    let rest = b.trim_ascii_start().strip_prefix(b"{")?;
    let rest = rest.trim_ascii_start().strip_prefix(b"\"seq\"")?;
    let rest = rest.trim_ascii_start().strip_prefix(b":")?;
    let rest = rest.trim_ascii_start();
    let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    let after = rest.get(digits).copied();
    if digits == 0 || !matches!(after, None | Some(b',' | b'}' | b' ' | b'\t' | b'\r')) {
        return None;
    }
    std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
}

/// The `*.ndjson` files of a directory (not starting with `.`), sorted by name.
fn ndjson_files(dir: &Path) -> Result<Vec<PathBuf>, FeedError> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| io_error(dir, e))? {
        let path = entry.map_err(|e| io_error(dir, e))?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name.ends_with(".ndjson") && !name.starts_with('.') && path.is_file() {
            files.push(path);
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

#[cfg(unix)]
fn file_identity(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn file_identity(_meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}

fn io_error(path: &Path, source: std::io::Error) -> FeedError {
    FeedError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_seq_reads_only_a_clean_prefix() {
        let cases: [(&[u8], Option<u64>); 10] = [
            (br#"{"seq": 5"#, Some(5)),
            (br#"{"seq":5,"op":"x"}"#, Some(5)),
            (br#"  { "seq" : 12 }"#, Some(12)),
            (br#"{"seq": 5x"#, None),
            (br#"{"seq": -5}"#, None),
            (br#"{"op": "delete", "seq": 5}"#, None),
            (br#"{"seq": "5"}"#, None),
            (b"", None),
            (br#"{"seq": 99999999999999999999999}"#, None),
            (b"\xff\xfe{\"seq\": 1}", None),
        ];
        for (line, want) in cases {
            assert_eq!(
                leading_seq(line),
                want,
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn lenient_seq_reads_json_anywhere() {
        assert_eq!(lenient_seq(r#"{"op": "nope", "seq": 7}"#), Some(7));
        assert_eq!(lenient_seq(r#"{"seq": 7, "op": "#), Some(7));
        assert_eq!(lenient_seq(r#"[1, 2]"#), None);
    }

    #[test]
    fn bounded_lines_keep_at_most_max_line_bytes() {
        let mut data = vec![b'x'; MAX_LINE + 10];
        data.extend_from_slice(b"\n{\"seq\": 1}");
        let mut r = std::io::BufReader::with_capacity(4096, data.as_slice());
        let mut buf = Vec::new();
        let long = read_bounded_line(&mut r, &mut buf).expect("read");
        assert!(long.too_long && long.terminated);
        assert_eq!(long.consumed, (MAX_LINE + 11) as u64);
        assert_eq!(buf.len(), MAX_LINE);
        let last = read_bounded_line(&mut r, &mut buf).expect("read");
        assert!(!last.too_long && !last.terminated);
        assert_eq!(buf, b"{\"seq\": 1}");
        assert_eq!(
            read_bounded_line(&mut r, &mut buf).expect("read").consumed,
            0
        );
    }

    #[test]
    fn lines_are_trimmed_and_lose_a_bom() {
        assert_eq!(trim_line(b"\xEF\xBB\xBF{}\r", true), b"{}");
        assert_eq!(trim_line(b"\xEF\xBB\xBF{}", false), b"\xEF\xBB\xBF{}");
        assert_eq!(trim_line(b"  \t\r", false), b"");
    }

    #[test]
    fn urls_are_http_feeds() {
        for url in ["https://insurer.example/feed", "http://127.0.0.1:9/f?k=1"] {
            assert_eq!(
                FeedSource::parse(url).expect("parsed"),
                FeedSource::Http(url.to_string())
            );
        }
    }
}
