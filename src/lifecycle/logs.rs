//! A container's output, kept as Docker's `json-file` log driver keeps it: one JSON
//! object a line, `{"log":"hello\n","stream":"stdout","time":"…"}`, so stdout and
//! stderr stay apart and every line carries its time.
//!
//! The container writes into two pipes; whoever waits for it (the supervisor of a
//! detached one, or the attached `skiff run`, which also passes the bytes on to its
//! own stdout and stderr) polls both with poll(2) and appends a record for each line,
//! until both are closed (the container has ended). With `-t` the container writes
//! into a pseudo-terminal instead, one stream (see `terminal`).
//!
//! Rotation is done by the same writer, as Docker's driver does it: once the file
//! holds `max-size` bytes, `ID-json.log.1` becomes `.2` and so on, the oldest
//! (`max-file` − 1) is dropped, `ID-json.log` becomes `.1`, and a new one begins; rename(2)
//! replaces a file atomically, so a reader sees the old name or the new one. Docker
//! keeps every byte unless told otherwise; a service left running for months would
//! fill the disk, so skiff's default, with no `--log-opt`, is [`DEFAULT_CAP`].
//! `--log-driver none` keeps nothing; `local` is accepted and kept as json-file.
//! <https://docs.docker.com/engine/logging/drivers/json-file/>
//! <https://man7.org/linux/man-pages/man2/poll.2.html>

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use miniserde::{json, Deserialize, Serialize};

use crate::error::{Context, Error, Result};
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

/// With no `--log-opt`: 5 files of 10 MB, at most 50 MB a container. Enough for days
/// of a chatty service's recent history, and a hundred such services still fit a
/// small VM's disk.
pub const DEFAULT_CAP: (u64, u32) = (10_000_000, 5);

/// `--log-driver` and `--log-opt` as given, in Docker's names (its `hostconfig.json`
/// and `docker inspect`'s `HostConfig.LogConfig`).
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct LogConfig {
    /// `json-file`, `local` or `none`.
    #[serde(rename = "Type")]
    pub driver: String,
    /// `max-size`, `max-file`.
    #[serde(rename = "Config")]
    pub options: BTreeMap<String, String>,
}

impl LogConfig {
    /// Whether the container's output is kept at all (not with `none`).
    pub fn kept(config: Option<&LogConfig>) -> bool {
        config.is_none_or(|c| c.driver != "none")
    }

    /// The bytes a file may hold (`None`: no limit) and how many files are kept:
    /// Docker's meaning of whatever options are given (a limit only with
    /// `max-size`, one file unless `max-file`), skiff's [`DEFAULT_CAP`] if none is.
    pub fn cap(config: Option<&LogConfig>) -> Result<(Option<u64>, u32)> {
        let options = match config {
            Some(config) if !config.options.is_empty() => &config.options,
            _ => return Ok((Some(DEFAULT_CAP.0), DEFAULT_CAP.1)),
        };
        let invalid = || Error::usage(format!("invalid log opts {options:?}"));
        let max_size = options
            .get("max-size")
            .map(|size| parse_size(size).filter(|&n| n > 0));
        let max_file = options
            .get("max-file")
            .map(|count| count.parse().ok().filter(|&n| n > 0));
        Ok((
            max_size.map(|n| n.ok_or_else(invalid)).transpose()?,
            max_file.unwrap_or(Some(1)).ok_or_else(invalid)?,
        ))
    }

    /// What `docker run` refuses: another driver, an option the driver lacks.
    pub fn check(&self) -> Result<()> {
        if !matches!(self.driver.as_str(), "json-file" | "local" | "none") {
            return Err(Error::usage(format!(
                "unsupported logging driver {:?}",
                self.driver
            )));
        }
        match self
            .options
            .keys()
            .find(|key| !matches!(key.as_str(), "max-size" | "max-file") || self.driver == "none")
        {
            Some(key) => Err(Error::usage(format!("unknown log opt {key:?}"))),
            None => LogConfig::cap(Some(self)).map(drop),
        }
    }
}

/// A size as Docker's go-units reads `max-size`: `10m`, `1.5k`, `100`, in powers of 1000.
fn parse_size(text: &str) -> Option<u64> {
    let lower = text.to_ascii_lowercase();
    let bare = lower.trim_end_matches('b').trim_end_matches('i');
    let scale = match bare.bytes().last()? {
        b'k' => 1_000,
        b'm' => 1_000_000,
        b'g' => 1_000_000_000,
        b't' => 1_000_000_000_000,
        _ => 1,
    };
    let number = bare.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    crate::units::decimal(number.trim_end(), scale)
}

/// The container's json-file log, with each stream's bytes that wait for their newline.
pub struct Log {
    file: File,
    path: PathBuf,
    /// What `file` holds, and the most it may: then it is rotated.
    size: u64,
    max_size: Option<u64>,
    max_files: u32,
    pending: [Vec<u8>; 2],
    /// The records of one [`Log::write`], written with one write(2): a container that
    /// prints 100 MiB of short lines must not cost a system call per line.
    records: Vec<u8>,
}

/// Which of the container's output streams bytes came from.
#[derive(Clone, Copy)]
pub enum Stream {
    Stdout = 0,
    Stderr = 1,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

impl Log {
    /// Opens (creates) the log at `path` for appending, kept as `config` says.
    pub fn open(path: &Path, config: Option<&LogConfig>) -> Result<Log> {
        let kept = LogConfig::kept(config);
        let file = File::options()
            .create(kept)
            .append(true)
            .open(if kept { path } else { Path::new("/dev/null") })
            .context("open the container's log")?;
        let (max_size, max_files) = LogConfig::cap(config)?;
        let size = file.metadata().map_or(0, |m| m.len());
        Ok(Log {
            size,
            max_size: max_size.filter(|_| kept),
            max_files,
            path: path.to_path_buf(),
            ..Log::to(file)
        })
    }

    fn to(file: File) -> Log {
        Log {
            file,
            path: PathBuf::new(),
            size: 0,
            max_size: None,
            max_files: 1,
            pending: [Vec::new(), Vec::new()],
            records: Vec::new(),
        }
    }

    /// Logs each complete line of what `stream` has said so far, all with the time
    /// they were read at.
    pub fn write(&mut self, stream: Stream, bytes: &[u8]) -> Result<()> {
        let mut pending = std::mem::take(&mut self.pending[stream as usize]);
        let time = time::now_precise();
        let mut rest = bytes;
        if !pending.is_empty() {
            // The line begun in an earlier read ends here, or goes on waiting.
            if let Some(end) = line_end(rest, MAX_LINE - pending.len()) {
                pending.extend_from_slice(&rest[..end]);
                self.push(stream, &pending, &time)?;
                pending.clear();
                rest = &rest[end..];
            }
        }
        while let Some(end) = line_end(rest, MAX_LINE).filter(|_| pending.is_empty()) {
            self.push(stream, &rest[..end], &time)?;
            rest = &rest[end..];
        }
        pending.extend_from_slice(rest);
        self.pending[stream as usize] = pending;
        self.write_records()
    }

    /// A last line without its newline, when the stream ends.
    pub fn flush(&mut self, stream: Stream) -> Result<()> {
        let line = std::mem::take(&mut self.pending[stream as usize]);
        if !line.is_empty() {
            self.push(stream, &line, &time::now_precise())?;
        }
        self.write_records()
    }

    /// Adds one record; a file that is full is written out and rotated, so that no
    /// file outgrows `max-size` by more than one record.
    fn push(&mut self, stream: Stream, line: &[u8], time: &str) -> Result<()> {
        encode(&mut self.records, stream, line, time);
        match self.max_size {
            Some(max) if self.size + self.records.len() as u64 >= max => {
                self.write_records()?;
                self.rotate()
            }
            _ => Ok(()),
        }
    }

    fn write_records(&mut self) -> Result<()> {
        let written = self.file.write_all(&self.records);
        self.size += self.records.len() as u64;
        self.records.clear();
        written.context("write the container's log")
    }

    /// Docker's rotation: `.1` → `.2`, …, the log → `.1`, and a new, empty log.
    fn rotate(&mut self) -> Result<()> {
        for n in (1..self.max_files).rev() {
            let from = numbered(&self.path, n - 1);
            match fs::rename(&from, numbered(&self.path, n)) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {} // not that many yet
                other => other.context("rotate the container's log")?,
            }
        }
        self.file = File::options()
            .create(true)
            .write(true)
            .truncate(true) // with max-file 1, the log starts over
            .open(&self.path)
            .context("rotate the container's log")?;
        self.size = 0;
        Ok(())
    }
}

/// `path` for n = 0, its rotated copy `path.n` after.
fn numbered(path: &Path, n: u32) -> PathBuf {
    match n {
        0 => path.to_path_buf(),
        n => PathBuf::from(format!("{}.{n}", path.display())),
    }
}

/// The rotated copies of the log at `path` that exist, oldest first (`.2`, `.1`).
pub fn rotated(path: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = (1..)
        .map(|n| numbered(path, n))
        .take_while(|file| file.exists())
        .collect();
    files.reverse();
    files
}

/// Where the first line of `bytes` ends: after its newline, or after `room` bytes.
fn line_end(bytes: &[u8], room: usize) -> Option<usize> {
    match bytes.iter().position(|&b| b == b'\n') {
        Some(i) => Some((i + 1).min(room)),
        None => (bytes.len() >= room).then_some(room),
    }
}

/// One record, as `{"log":"…","stream":"…","time":"…"}` and a newline (what
/// miniserde writes for a [`Record`], without building one per line).
fn encode(out: &mut Vec<u8>, stream: Stream, line: &[u8], time: &str) {
    out.extend_from_slice(b"{\"log\":\"");
    let text = String::from_utf8_lossy(line);
    let mut rest = text.as_bytes();
    // Runs of plain bytes are copied whole; only the few that JSON escapes go one by one.
    while let Some(at) = rest
        .iter()
        .position(|&b| b < 0x20 || b == b'"' || b == b'\\')
    {
        out.extend_from_slice(&rest[..at]);
        match rest[at] {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            byte => out.extend_from_slice(format!("\\u{byte:04x}").as_bytes()),
        }
        rest = &rest[at + 1..];
    }
    out.extend_from_slice(rest);
    out.extend_from_slice(b"\",\"stream\":\"");
    out.extend_from_slice(stream.name().as_bytes());
    out.extend_from_slice(b"\",\"time\":\"");
    out.extend_from_slice(time.as_bytes());
    out.extend_from_slice(b"\"}\n");
}

/// One of the container's output pipes, and where else its bytes go.
pub struct Output {
    pub stream: Stream,
    pub pipe: File,
    /// An attached run's own stdout or stderr; `None` for a detached container.
    pub echo: Option<File>,
}

/// Copies the container's stdout and stderr pipes into `log` (and to their echoes)
/// until both are closed.
pub fn pump(outputs: [Output; 2], log: &mut Log) -> Result<()> {
    let mut open: Vec<Output> = outputs.into();
    let mut buffer = vec![0u8; 64 << 10];
    while !open.is_empty() {
        let fds: Vec<_> = open.iter().map(|output| output.pipe.as_raw_fd()).collect();
        let ready = sys::poll_readable(&fds, -1)?;
        let mut i = 0;
        for ready in ready {
            match ready && !pass_on(&mut open[i], &mut buffer, log)? {
                true => drop(open.remove(i)),
                false => i += 1,
            }
        }
    }
    Ok(())
}

/// Reads what the pipe has and passes it on; false once the pipe is closed. When the
/// echo's reader has gone (EPIPE), so does our end of the pipe: the container's next
/// write gets SIGPIPE, as if it wrote to that reader itself (`skiff run … yes | head`).
fn pass_on(output: &mut Output, buffer: &mut [u8], log: &mut Log) -> Result<bool> {
    let n = output
        .pipe
        .read(buffer)
        .context("read the container's output")?;
    if n == 0 {
        log.flush(output.stream)?;
        return Ok(false);
    }
    if let Some(echo) = &mut output.echo {
        match echo.write_all(&buffer[..n]) {
            Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => {
                log.write(output.stream, &buffer[..n])?;
                log.flush(output.stream)?;
                return Ok(false);
            }
            other => other.context("pass on the container's output")?,
        }
    }
    log.write(output.stream, &buffer[..n])?;
    Ok(true)
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
        let file = tempfile();
        let path = path_of(&file);
        let mut log = Log::to(file);
        log.write(Stream::Stderr, b"tab\there \"quoted\" \\ \x01\r\n")
            .unwrap();
        log.write(Stream::Stdout, b"no newline").unwrap();
        log.flush(Stream::Stdout).unwrap();
        let text = std::fs::read_to_string(path).unwrap();
        let records = parse(&text);
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].log, "tab\there \"quoted\" \\ \x01\r\n");
        assert_eq!(records[0].stream, "stderr");
        assert_eq!(records[1].log, "no newline");
        assert_eq!(records[1].stream, "stdout");
    }

    #[test]
    fn a_line_read_in_pieces_is_one_record_and_long_lines_are_cut() {
        let file = tempfile();
        let path = path_of(&file);
        let mut log = Log::to(file);
        log.write(Stream::Stdout, b"hel").unwrap();
        log.write(Stream::Stdout, b"lo\nnext").unwrap();
        log.write(Stream::Stdout, &vec![b'x'; MAX_LINE]).unwrap();
        let text = std::fs::read_to_string(path).unwrap();
        let records = parse(&text);
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].log, "hello\n");
        assert_eq!(records[1].log.len(), MAX_LINE);
        assert!(records[1].log.starts_with("nextxx"));
    }

    #[test]
    fn a_half_written_line_is_not_a_record() {
        assert!(parse(r#"{"log":"x","stream":"stdout","time":"t"}"#).is_empty());
    }

    #[test]
    fn sizes_are_go_units_decimal() {
        assert_eq!(parse_size("10m"), Some(10_000_000));
        assert_eq!(parse_size("1.5k"), Some(1500));
        assert_eq!(parse_size("2MiB"), Some(2_000_000));
        assert_eq!(parse_size("100"), Some(100));
        assert_eq!(parse_size("lots"), None);
    }

    #[test]
    fn options_mean_what_they_mean_to_docker_and_none_means_the_cap() {
        let config = |pairs: &[(&str, &str)]| LogConfig {
            driver: "json-file".into(),
            options: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        assert_eq!(LogConfig::cap(None).unwrap(), (Some(10_000_000), 5));
        assert_eq!(
            LogConfig::cap(Some(&config(&[("max-size", "1m")]))).unwrap(),
            (Some(1_000_000), 1)
        );
        assert_eq!(
            LogConfig::cap(Some(&config(&[("max-file", "3")]))).unwrap(),
            (None, 3)
        );
        assert!(config(&[("max-file", "0")]).check().is_err());
        assert!(config(&[("labels", "a")]).check().is_err());
    }

    #[test]
    fn a_full_log_is_rotated_with_dockers_names() {
        let dir = std::env::temp_dir().join(format!("skiff-unit-rotate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("id-json.log");
        let config = LogConfig {
            driver: "json-file".into(),
            options: [("max-size", "200"), ("max-file", "3")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        let mut log = Log::open(&path, Some(&config)).unwrap();
        for n in 0..20 {
            log.write(Stream::Stdout, format!("line {n:02}\n").as_bytes())
                .unwrap();
        }
        let files = rotated(&path);
        assert_eq!(
            files,
            [dir.join("id-json.log.2"), dir.join("id-json.log.1")]
        );
        let mut text = String::new();
        for file in files.iter().chain([&path]) {
            text += &std::fs::read_to_string(file).unwrap();
            assert!(
                std::fs::metadata(file).unwrap().len() < 200 + 70,
                "{file:?}"
            );
        }
        let lines: Vec<String> = parse(&text).into_iter().map(|r| r.log).collect();
        assert_eq!(lines.last().unwrap(), "line 19\n");
        assert!(lines.windows(2).all(|w| w[0] < w[1]), "{lines:?}");
        assert!(lines.len() < 20, "the oldest file was dropped");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A file of its own for each test: they run in parallel threads of one process.
    fn tempfile() -> File {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("skiff-unit-log-{}-{n}", std::process::id()));
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
