//! Content addressing: every manifest, config and layer is named by the SHA-256 of its
//! bytes, so whatever a registry sends can be checked against the name we asked for.
//!
//! SHA-256 comes from `ring` (already in ureq's TLS stack). [`Hashing`] hashes a stream
//! as it is read, so a layer is verified without ever being held in memory.
//! <https://github.com/opencontainers/image-spec/blob/main/descriptor.md#digests>

use std::fmt;
use std::io::{self, Read};

use ring::digest::{Context as Sha256, SHA256};

use crate::error::{Error, Kind, Result};

/// `sha256:` followed by 64 lower-case hex digits; nothing else is accepted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Digest(String);

impl Digest {
    pub fn parse(text: &str) -> Result<Digest> {
        let hex = text
            .strip_prefix("sha256:")
            .ok_or_else(|| Error::invalid(format!("unsupported digest {text:?}: want sha256")))?;
        let well_formed =
            hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !well_formed {
            return Err(Error::invalid(format!("malformed digest {text:?}")));
        }
        Ok(Digest(text.to_string()))
    }

    pub fn of(bytes: &[u8]) -> Digest {
        Digest::from_ring(ring::digest::digest(&SHA256, bytes))
    }

    fn from_ring(hash: ring::digest::Digest) -> Digest {
        let hex: String = hash.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        Digest(format!("sha256:{hex}"))
    }

    /// The 64 hex digits, safe to use as a file name.
    pub fn hex(&self) -> &str {
        &self.0["sha256:".len()..]
    }

    /// Fails with a digest-mismatch error naming `what` unless `actual` is `self`.
    pub fn verify(&self, what: &str, actual: &Digest) -> Result<()> {
        if self == actual {
            return Ok(());
        }
        Err(Error::new(Kind::Digest {
            what: what.to_string(),
            expected: self.0.clone(),
            actual: actual.0.clone(),
        }))
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A reader that hashes everything read through it.
pub struct Hashing<R> {
    inner: R,
    hash: Sha256,
    bytes: u64,
}

impl<R: Read> Hashing<R> {
    pub fn new(inner: R) -> Self {
        Hashing {
            inner,
            hash: Sha256::new(&SHA256),
            bytes: 0,
        }
    }

    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// Reads whatever is left to EOF (a stream is only judged whole), then gives the
    /// digest and size of everything that passed through. Once at the end, asking again
    /// reads nothing more and gives the same answer.
    pub fn finish(&mut self) -> io::Result<(Digest, u64)> {
        io::copy(self, &mut io::sink())?;
        Ok((Digest::from_ring(self.hash.clone().finish()), self.bytes))
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn digest_of_empty_input_is_the_well_known_one() {
        assert_eq!(Digest::of(b"").to_string(), EMPTY);
    }

    #[test]
    fn hashing_reader_matches_one_shot_digest_and_reads_to_eof() {
        let data = vec![7u8; 100_000];
        let mut reader = Hashing::new(&data[..]);
        let mut first = [0u8; 10];
        reader.read_exact(&mut first).unwrap();
        let (digest, size) = reader.finish().unwrap();
        assert_eq!(digest, Digest::of(&data));
        assert_eq!(size, 100_000);
    }

    #[test]
    fn only_well_formed_sha256_parses() {
        assert!(Digest::parse(EMPTY).is_ok());
        assert!(Digest::parse("sha512:abcd").is_err());
        assert!(Digest::parse("sha256:ABC").is_err());
        assert!(Digest::parse(&EMPTY.replace('e', "E")).is_err());
        assert!(Digest::parse("sha256:../../etc/passwd").is_err());
    }

    #[test]
    fn mismatch_names_what_was_checked() {
        let err = Digest::parse(EMPTY)
            .unwrap()
            .verify("layer 1", &Digest::of(b"x"))
            .unwrap_err();
        assert!(err
            .to_string()
            .starts_with("layer 1: digest mismatch: expected sha256:e3b0"));
    }
}
