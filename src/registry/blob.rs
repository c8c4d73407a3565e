//! A layer download that survives a broken connection: HTTP range requests.
//!
//! Layers are large and connections drop. When the body breaks off (a read fails, or it
//! ends before its `Content-Length`), we ask for the rest with `Range: bytes=N-`. A
//! registry that serves ranges answers `206 Partial Content` with
//! `Content-Range: bytes N-LAST/TOTAL`, and the stream goes on where it broke; one that
//! does not answers `200` with the whole blob, and we skip the N bytes we already have.
//! The bytes handed on are the blob's, in order, once: the size and digest checks above
//! this reader see one unbroken stream and keep the last word.
//! <https://www.rfc-editor.org/rfc/rfc9110#name-range-requests>
//! <https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pulling-blobs>

use std::io::{self, Read};

use ureq::http::Response;
use ureq::{Body, BodyReader};

use super::client::Client;
use super::http::header;
use crate::digest::Digest;
use crate::error::{Error, Kind, Result};
use crate::trace;

/// How many times one blob may be resumed before its download fails.
const MAX_RESUMES: u32 = 5;

pub struct BlobReader<'c> {
    client: &'c mut Client,
    /// `blobs/sha256:…`, asked for again on each resumption.
    path: String,
    body: BodyReader<'static>,
    /// Bytes handed on so far.
    position: u64,
    /// Bytes of a `200` answer to a resumption still to throw away.
    skip: u64,
    /// The blob's length, once a response has said it.
    length: Option<u64>,
    resumes: u32,
}

impl<'c> BlobReader<'c> {
    /// A layer, streamed; it resumes by itself if the connection breaks.
    pub fn open(client: &'c mut Client, digest: &Digest) -> Result<Self> {
        let path = format!("blobs/{digest}");
        let response = client.get(&path, None)?;
        let length = content_length(&response);
        Ok(BlobReader {
            client,
            path,
            body: response.into_body().into_reader(),
            position: 0,
            skip: 0,
            length,
            resumes: 0,
        })
    }

    /// Asks for the rest of the blob after the stream broke for `why`.
    fn resume(&mut self, why: &str) -> Result<()> {
        let url = self.client.url(&self.path);
        if self.resumes == MAX_RESUMES {
            let of = self.length.map_or(String::new(), |l| format!(" of {l}"));
            return Err(Error::new(Kind::Net {
                url,
                cause: format!(
                    "{why} after {}{of} bytes (resumed {MAX_RESUMES} times)",
                    self.position
                ),
            }));
        }
        self.resumes += 1;
        trace::step(&format!(
            "GET {url}: {why}; resuming at byte {}",
            self.position
        ));
        let response = self.client.get(&self.path, Some(self.position))?;
        if response.status() == 206 {
            let range = header(&response, "content-range").unwrap_or_default();
            if !range_starts_at(&range, self.position, self.length) {
                return Err(Error::invalid(format!(
                    "{url}: asked for bytes {}- of {}, got Content-Range {range:?}",
                    self.position,
                    self.length.map_or("?".into(), |l| l.to_string())
                )));
            }
            self.skip = 0;
        } else {
            self.skip = self.position; // a 200: the whole blob again
            self.length = self.length.or(content_length(&response));
        }
        self.body = response.into_body().into_reader();
        Ok(())
    }
}

impl Read for BlobReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let broke = match self.body.read(buf) {
                Ok(0) if self.skip > 0 || self.length.is_some_and(|l| self.position < l) => {
                    "the body ended early".to_string()
                }
                Ok(n) => {
                    let dropped = usize::try_from(self.skip).unwrap_or(usize::MAX).min(n);
                    self.skip -= dropped as u64;
                    if dropped == n && n > 0 {
                        continue;
                    }
                    buf.copy_within(dropped..n, 0);
                    self.position += (n - dropped) as u64;
                    return Ok(n - dropped);
                }
                Err(e) => e.to_string(),
            };
            self.resume(&broke)
                .map_err(|e| io::Error::other(e.to_string()))?;
        }
    }
}

fn content_length(response: &Response<Body>) -> Option<u64> {
    header(response, "content-length")?.trim().parse().ok()
}

/// Whether `Content-Range: bytes FIRST-LAST/TOTAL` starts at `position` and, when both
/// are known, agrees with the blob's length.
fn range_starts_at(range: &str, position: u64, length: Option<u64>) -> bool {
    let Some((span, total)) = range.strip_prefix("bytes ").and_then(|r| r.split_once('/')) else {
        return false;
    };
    let first = span
        .split_once('-')
        .and_then(|(first, _)| first.parse::<u64>().ok());
    let total_agrees = match (total.parse::<u64>(), length) {
        (Ok(total), Some(length)) => total == length,
        _ => true, // `*`, or we never learnt the length
    };
    first == Some(position) && total_agrees
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resumed_range_must_start_where_the_stream_broke() {
        assert!(range_starts_at("bytes 100-999/1000", 100, Some(1000)));
        assert!(range_starts_at("bytes 100-999/*", 100, Some(1000)));
        assert!(range_starts_at("bytes 100-999/1000", 100, None));
        assert!(!range_starts_at("bytes 0-999/1000", 100, Some(1000)));
        assert!(!range_starts_at("bytes 100-999/2000", 100, Some(1000)));
        assert!(!range_starts_at("", 100, Some(1000)));
        assert!(!range_starts_at("items 100-999/1000", 100, None));
    }
}
