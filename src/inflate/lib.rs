//! gzip's inflater, in a crate of its own so that it is compiled for speed.
//!
//! A gzip file (RFC 1952) is a header, a DEFLATE stream (RFC 1951) and a CRC-32 of what
//! it holds; a layer may be several such members back to back, read as one stream.
//! DEFLATE is LZ77 back-references coded with Huffman tables: inflating it is a tight
//! loop of bit reads and short copies out of a 32 KB window, and it is most of the CPU a
//! pull spends (perf, unpacking into a tmpfs: the decode loop 47%, the window copies 14%;
//! the static binary now makes those short copies itself, see skiff's `sys/memcpy.rs`).
//! <https://www.rfc-editor.org/rfc/rfc1951> <https://www.rfc-editor.org/rfc/rfc1952>
//!
//! Why a crate: skiff is built for size (opt-level "z"), and Cargo can build a crate,
//! but not one function, for speed. libflate's decoder is generic over its reader, so
//! its loop is compiled in the crate that names the reader's type, whatever libflate's
//! own opt-level is. Here that type is named once, [`Input`] over `&mut dyn Read`, and
//! the loop is compiled with this crate's opt-level (3, see skiff's Cargo.toml).
//! Nothing generic crosses the boundary, so skiff holds one copy of the inflater.

use std::io::{self, BufRead, Read};

use libflate::gzip::MultiDecoder;

/// A gzip stream, possibly of several members, read as the bytes it holds. The CRC-32
/// and size of each member are checked at its end; a stream that stops early is an error.
pub struct Gunzip<'a>(MultiDecoder<Input<'a>>);

impl<'a> Gunzip<'a> {
    /// Reads the first member's header.
    pub fn new(input: Input<'a>) -> io::Result<Self> {
        MultiDecoder::new(input).map(Gunzip)
    }
}

impl Read for Gunzip<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.0.read(out)
    }
}

/// The compressed stream, buffered for the inflater. libflate reads its input one byte
/// at a time through `read_exact`; std's `BufReader` answers each with a call and a
/// one-byte `memcpy` (musl's starts with `rep movsq`, slow to start on a short copy),
/// which was a sixth of an unpack's CPU. Here that case inlines into the inflate loop
/// as one load from the buffer; the other reads (gzip headers, stored blocks) are rare
/// and take the call (inlining them too cost a page of binary for nothing measurable).
pub struct Input<'a> {
    inner: &'a mut dyn Read,
    buf: Box<[u8]>,
    pos: usize,
    end: usize,
}

impl<'a> Input<'a> {
    pub fn new(inner: &'a mut dyn Read) -> Self {
        let buf = vec![0; 64 * 1024].into_boxed_slice();
        Input {
            inner,
            buf,
            pos: 0,
            end: 0,
        }
    }

    #[inline(never)]
    fn read_exact_slow(&mut self, mut out: &mut [u8]) -> io::Result<()> {
        while !out.is_empty() {
            match self.read(out) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => out = &mut out[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl BufRead for Input<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.end {
            self.end = self.inner.read(&mut self.buf)?;
            self.pos = 0;
        }
        Ok(&self.buf[self.pos..self.end])
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.end);
    }
}

impl Read for Input<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.end && out.len() >= self.buf.len() {
            return self.inner.read(out); // nothing gained by copying through the buffer
        }
        let buffered = self.fill_buf()?;
        let n = out.len().min(buffered.len());
        out[..n].copy_from_slice(&buffered[..n]);
        self.consume(n);
        Ok(n)
    }

    #[inline(always)]
    fn read_exact(&mut self, out: &mut [u8]) -> io::Result<()> {
        if let ([byte], Some(&next)) = (&mut *out, self.buf[..self.end].get(self.pos)) {
            *byte = next;
            self.pos += 1;
            return Ok(());
        }
        self.read_exact_slow(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_reads_exactly_across_its_buffer_and_ends_early_as_eof() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut bytes = &data[..];
        let mut input = Input::new(&mut bytes);
        let mut got = Vec::new();
        let mut byte = [0; 1];
        let mut seven = [0; 7];
        while got.len() + 7 <= data.len() {
            input.read_exact(&mut byte).unwrap();
            input.read_exact(&mut seven).unwrap();
            got.extend_from_slice(&byte);
            got.extend_from_slice(&seven);
        }
        assert_eq!(got, data[..got.len()]);
        let err = input.read_exact(&mut [0; 64]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }
}
