//! The HTTP feed (SPEC §5): `GET <url>?since=<seq>` answers the next changes after `seq` as
//! NDJSON, at most a page; an empty body means caught up.
//!
//! Where it sits: `feed ─► sync ─► store`, beside the file reader. [`HttpFeed::page`] asks
//! for one page (blocking: it runs on a `spawn_blocking` thread, never on a tokio worker) and
//! turns its complete lines into [`FeedLine`]s. A last line without its newline (a page cut
//! short) is dropped: the next poll asks again from the watermark, so it is neither lost nor
//! applied twice. A status other than 200, a connection error, a reset mid-body or a request
//! past `[feed] timeout_ms` is a [`FeedError::Http`] that names the URL and the status or the
//! failure, never the body (a feed line's content is never logged).
//!
//! What it must never do: write to the store; hold a body above [`MAX_PAGE`] bytes.

use super::{leading_seq, parse_line, trim_line, FeedError, FeedLine, MAX_LINE};
use std::path::PathBuf;
use std::time::Duration;

/// The largest page body read; a larger one is an error (ask the feed for smaller pages).
pub(crate) const MAX_PAGE: u64 = 256 * 1024 * 1024;

/// A feed URL and the client that polls it.
#[derive(Debug, Clone)]
pub(crate) struct HttpFeed {
    url: String,
    agent: ureq::Agent,
}

/// One page: its complete lines (after those `skip_through` covers) and what was passed over.
#[derive(Debug, Default)]
pub(crate) struct Page {
    pub(crate) lines: Vec<FeedLine>,
    /// Lines whose leading `seq` the watermark already covers (not parsed).
    pub(crate) passed_over: u64,
    /// Complete lines in the body, blank lines aside: 0 means caught up.
    pub(crate) complete: u64,
    /// Whether the body ended with a line without its newline (dropped).
    pub(crate) truncated: bool,
}

impl HttpFeed {
    pub(crate) fn new(url: &str, timeout: Duration) -> HttpFeed {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .build()
            .into();
        HttpFeed {
            url: url.to_string(),
            agent,
        }
    }

    /// The feed's URL, as configured.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// Asks for the changes after `since` and returns the page's complete lines.
    pub(crate) fn page(&self, since: u64) -> Result<Page, FeedError> {
        let body = self.fetch(since)?;
        Ok(split_page(&body, &self.url, since))
    }

    /// The body of `GET <url>?since=<since>`, read whole, or why not.
    fn fetch(&self, since: u64) -> Result<Vec<u8>, FeedError> {
        let url = page_url(&self.url, since);
        let fail = |message: String| FeedError::Http {
            url: self.url.clone(),
            status: None,
            message,
        };
        let mut response = self
            .agent
            .get(&url)
            .header("Accept", "application/x-ndjson")
            .call()
            .map_err(|e| fail(transport_reason(&e)))?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(FeedError::Http {
                url: self.url.clone(),
                status: Some(status),
                message: format!("answered HTTP {status}"),
            });
        }
        response
            .body_mut()
            .with_config()
            .limit(MAX_PAGE)
            .read_to_vec()
            .map_err(|e| fail(format!("body not read whole: {}", transport_reason(&e))))
    }
}

/// What went wrong, without a URL's query or a body: ureq's errors name neither.
fn transport_reason(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(_) => "no answer within [feed] timeout_ms".to_string(),
        other => other.to_string(),
    }
}

/// `url` with `since=<since>` added to its query (kept when there is one).
pub(crate) fn page_url(url: &str, since: u64) -> String {
    // A fragment is never sent to a server: it is dropped.
    let base = url.split_once('#').map_or(url, |(b, _)| b);
    let sep = match base.split_once('?') {
        None => "?",
        Some((_, "")) => "",
        Some((_, q)) if q.ends_with('&') => "",
        Some(_) => "&",
    };
    format!("{base}{sep}since={since}")
}

/// The complete lines of a page body; a last line without its newline is dropped.
fn split_page(body: &[u8], url: &str, skip_through: u64) -> Page {
    let mut page = Page::default();
    let complete_end = body.iter().rposition(|&c| c == b'\n').map_or(0, |i| i + 1);
    page.truncated = !body[complete_end..].trim_ascii().is_empty();
    let file = PathBuf::from(url);
    for (i, raw) in body[..complete_end].split(|&c| c == b'\n').enumerate() {
        let bytes = trim_line(raw, i == 0);
        if bytes.is_empty() {
            continue;
        }
        page.complete += 1;
        if leading_seq(bytes).is_some_and(|s| s != 0 && s <= skip_through) {
            page.passed_over += 1;
            continue;
        }
        let too_long = bytes.len() > MAX_LINE;
        page.lines.push(FeedLine {
            file: file.clone(),
            line_no: i + 1,
            parsed: parse_line(&bytes[..bytes.len().min(MAX_LINE)], too_long),
            digest: *blake3::hash(bytes).as_bytes(),
        });
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_is_appended_to_the_query() {
        let cases = [
            ("http://h:1/feed", "http://h:1/feed?since=7"),
            ("http://h:1/feed?", "http://h:1/feed?since=7"),
            ("http://h:1/feed?key=a", "http://h:1/feed?key=a&since=7"),
            ("http://h:1/feed?key=a&", "http://h:1/feed?key=a&since=7"),
            ("https://h/f?a=1&b=2#top", "https://h/f?a=1&b=2&since=7"),
        ];
        for (url, want) in cases {
            assert_eq!(page_url(url, 7), want, "{url}");
        }
    }

    #[test]
    fn a_cut_last_line_is_dropped() {
        let body = b"{\"seq\": 1}\n\n{\"seq\": 2}\n{\"seq\": 3, \"op";
        let page = split_page(body, "http://h/f", 1);
        assert!(page.truncated);
        assert_eq!(page.complete, 2);
        assert_eq!(page.passed_over, 1);
        assert_eq!(page.lines.len(), 1);
        assert_eq!(page.lines[0].line_no, 3);
    }

    #[test]
    fn an_empty_body_is_caught_up() {
        let page = split_page(b"", "http://h/f", 0);
        assert_eq!((page.complete, page.truncated), (0, false));
        let page = split_page(b"\n \n", "http://h/f", 0);
        assert_eq!((page.complete, page.truncated), (0, false));
    }
}
