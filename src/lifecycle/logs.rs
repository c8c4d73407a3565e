//! A detached container's output, kept as Docker's `json-file` log driver keeps it:
//! one JSON object a line, `{"log":"hello\n","stream":"stdout","time":"…"}`, so stdout
//! and stderr stay apart and every line carries its time.
//!
//! The container writes into two pipes; its supervisor waits on both with poll(2) and
//! appends a record for each line, until both are closed (the container has ended).
//! <https://docs.docker.com/engine/logging/drivers/json-file/>
//! <https://man7.org/linux/man-pages/man2/poll.2.html>

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;

use miniserde::{json, Deserialize, Serialize};

use crate::error::{Context, Result};
use crate::sys;
use crate::time;

#[derive(Serialize, Deserialize, Debug, PartialEq, Eq)]
pub struct Record {
    pub log: String,
    pub stream: String,
    pub time: String,
}

/// Docker cuts lines longer than this into several records.
const MAX_LINE: usize = 16 << 10;

/// Bytes of one stream waiting for their newline.
struct Lines {
    stream: &'static str,
    pipe: File,
    pending: Vec<u8>,
    open: bool,
}

impl Lines {
    fn new(stream: &'static str, pipe: File) -> Lines {
        Lines {
            stream,
            pipe,
            pending: Vec::new(),
            open: true,
        }
    }

    /// Reads what the pipe has and logs each complete line.
    fn read_some(&mut self, buffer: &mut [u8], log: &mut File) -> Result<()> {
        let n = self
            .pipe
            .read(buffer)
            .context("read the container's output")?;
        if n == 0 {
            self.open = false;
            return self.flush(log);
        }
        self.pending.extend_from_slice(&buffer[..n]);
        while let Some(end) = self.line_end() {
            let line: Vec<u8> = self.pending.drain(..end).collect();
            append(log, self.stream, &line)?;
        }
        Ok(())
    }

    fn line_end(&self) -> Option<usize> {
        match self.pending.iter().position(|&b| b == b'\n') {
            Some(i) => Some((i + 1).min(MAX_LINE)),
            None => (self.pending.len() >= MAX_LINE).then_some(MAX_LINE),
        }
    }

    /// A last line without its newline, when the stream ends.
    fn flush(&mut self, log: &mut File) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let line = std::mem::take(&mut self.pending);
        append(log, self.stream, &line)
    }
}

fn append(log: &mut File, stream: &str, line: &[u8]) -> Result<()> {
    let record = Record {
        log: String::from_utf8_lossy(line).into_owned(),
        stream: stream.into(),
        time: time::now_precise(),
    };
    let mut text = json::to_string(&record);
    text.push('\n');
    log.write_all(text.as_bytes())
        .context("write the container's log")
}

/// Copies the container's stdout and stderr pipes into `log` until both are closed.
pub fn pump(stdout: File, stderr: File, log: &mut File) -> Result<()> {
    let mut streams = [Lines::new("stdout", stdout), Lines::new("stderr", stderr)];
    let mut buffer = vec![0u8; 32 << 10];
    loop {
        let open: Vec<usize> = (0..streams.len()).filter(|&i| streams[i].open).collect();
        if open.is_empty() {
            return Ok(());
        }
        let fds: Vec<_> = open.iter().map(|&i| streams[i].pipe.as_raw_fd()).collect();
        let ready = sys::poll_readable(&fds, -1)?;
        for (&i, ready) in open.iter().zip(ready) {
            if ready {
                streams[i].read_some(&mut buffer, log)?;
            }
        }
    }
}

/// The complete records in `text`; a last line still being written is left out.
pub fn parse(text: &str) -> Vec<Record> {
    text.split_inclusive('\n')
        .filter(|line| line.ends_with('\n'))
        .filter_map(|line| json::from_str(line.trim_end()).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_with_escapes() {
        let mut file = tempfile();
        append(&mut file, "stderr", b"tab\there \"quoted\"\n").unwrap();
        append(&mut file, "stdout", b"no newline").unwrap();
        let text = std::fs::read_to_string(path_of(&file)).unwrap();
        let records = parse(&text);
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].log, "tab\there \"quoted\"\n");
        assert_eq!(records[0].stream, "stderr");
        assert_eq!(records[1].log, "no newline");
    }

    #[test]
    fn a_half_written_line_is_not_a_record() {
        assert!(parse(r#"{"log":"x","stream":"stdout","time":"t"}"#).is_empty());
    }

    fn tempfile() -> File {
        let path = std::env::temp_dir().join(format!("skiff-unit-log-{}", std::process::id()));
        let file = File::options()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        std::fs::remove_file(&path).unwrap();
        file
    }

    fn path_of(file: &File) -> String {
        format!("/proc/self/fd/{}", file.as_raw_fd())
    }
}
