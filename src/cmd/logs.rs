//! `skiff logs [-f] [--tail N] [-t] [--since T] [--until T] [--details] CONTAINER`: a
//! detached container's output, stdout to stdout and stderr to stderr, as it was
//! recorded (see `lifecycle::logs`), from its rotated files on, oldest first.

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;

use crate::cli::{self, Opt};
use crate::error::{Context, Error, Result};
use crate::lifecycle::logs::{self, LogConfig, Record};
use crate::lifecycle::{self, supervisor, Container};
use crate::time;

pub const HELP: &str = "Usage:  skiff logs [OPTIONS] CONTAINER

Fetch the logs of a container

Options:
      --details        Show extra details provided to logs
  -f, --follow         Follow log output
  -h, --help           Print usage
      --since string   Show logs since a time (2013-01-02T13:23:37Z) or a while ago (42m)
  -n, --tail string    Number of lines to show from the end of the logs (default \"all\")
  -t, --timestamps     Show timestamps
      --until string   Show logs before a time (2013-01-02T13:23:37Z) or a while ago (42m)";

#[derive(Default)]
struct Args {
    follow: bool,
    tail: Option<usize>,
    timestamps: bool,
    details: bool,
    /// `--since`, `--until`: nanoseconds since 1970.
    since: Option<i64>,
    until: Option<i64>,
}

/// How often `logs -f` looks for more, while the container runs.
const FOLLOW_INTERVAL_MS: libc::c_int = 100;

pub fn main(argv: &[String]) -> Result<i32> {
    let (mut args, mut lines, mut since, mut until) = (Args::default(), None, None, None);
    let options = &mut [
        Opt::Switch(&["-f", "--follow"], &mut args.follow),
        Opt::Value(&["-n", "--tail"], &mut lines),
        Opt::Switch(&["-t", "--timestamps"], &mut args.timestamps),
        Opt::Switch(&["--details"], &mut args.details),
        Opt::Value(&["--since"], &mut since),
        Opt::Value(&["--until"], &mut until),
    ];
    let rest = cli::parse(argv, "logs", HELP, options)?;
    args.tail = lines.as_deref().map_or(Ok(None), tail)?;
    args.since = since.map(|t| instant(&t, "since")).transpose()?;
    args.until = until.map(|t| instant(&t, "until")).transpose()?;
    let [query] = &cli::at_least_one(rest, "logs")?[..] else {
        return Err(Error::usage("\"skiff logs\" takes exactly one container."));
    };
    let container = lifecycle::find(query)?;
    if !LogConfig::kept(container.config.log.as_ref()) {
        return Err(Error::invalid(
            "configured logging driver does not support reading",
        ));
    }
    show(&container, &args)?;
    Ok(0)
}

fn tail(text: &str) -> Result<Option<usize>> {
    match text {
        "all" => Ok(None),
        n => n
            .parse()
            .map(Some)
            .map_err(|_| Error::usage(format!("invalid --tail value: {n:?}"))),
    }
}

/// A time as Docker's `--since` takes it: a duration before now (`10m`), or an RFC
/// 3339 time or date.
fn instant(text: &str, flag: &str) -> Result<i64> {
    let ago = time::parse_duration(text).map(|ago| time::now_nanos() - ago);
    ago.or_else(|| time::parse_nanos(text)).ok_or_else(|| {
        Error::usage(format!(
            "invalid value for \"{flag}\": {text:?} is no time or duration"
        ))
    })
}

fn show(container: &Container, args: &Args) -> Result<()> {
    let path = container.log_path();
    let mut pending = String::new();
    for rotated in logs::rotated(&path) {
        pending += &std::fs::read_to_string(rotated).context("read the container's log")?;
    }
    let mut log = match File::open(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()), // never detached
        other => other.context("open the container's log")?,
    };
    let records = args.read(&mut log, &mut pending)?;
    let skip = args.tail.map_or(0, |n| records.len().saturating_sub(n));
    args.print(&records[skip..])?;
    if args.follow {
        follow(container, log, pending, args)?;
    }
    Ok(())
}

/// Prints records as they are appended, until the container's supervisor is done;
/// once the log is rotated and read to its end, from the new one.
fn follow(container: &Container, mut log: File, mut pending: String, args: &Args) -> Result<()> {
    loop {
        let done = !container.is_supervised() // it restarts the container, too
            || supervisor::wait_for_at_most(container.state.supervisor, FOLLOW_INTERVAL_MS)?;
        args.print(&args.read(&mut log, &mut pending)?)?;
        if done {
            return Ok(());
        }
        let now = std::fs::metadata(container.log_path()); // absent for a moment in a rotation
        if now.is_ok_and(|now| log.metadata().is_ok_and(|old| old.ino() != now.ino())) {
            // What was written to the old one between the read above and its rotation.
            args.print(&args.read(&mut log, &mut pending)?)?;
            log = File::open(container.log_path()).context("open the container's log")?;
        }
    }
}

impl Args {
    /// The complete records the log has gained that are wanted; a line still being
    /// written waits in `pending` for the next read.
    fn read(&self, log: &mut File, pending: &mut String) -> Result<Vec<Record>> {
        log.read_to_string(pending)
            .context("read the container's log")?;
        let complete = pending.rfind('\n').map_or(0, |i| i + 1);
        let mut records = lifecycle::logs::parse(&pending[..complete]);
        pending.drain(..complete);
        records.retain(|record| self.wanted(record));
        Ok(records)
    }

    /// Within `--since` and `--until`, both included, as Docker's.
    fn wanted(&self, record: &Record) -> bool {
        let Some(at) = time::parse_nanos(&record.time) else {
            return true;
        };
        self.since.is_none_or(|since| at >= since) && self.until.is_none_or(|until| at <= until)
    }

    fn print(&self, records: &[Record]) -> Result<()> {
        let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
        for record in records {
            let sink: &mut dyn Write = match record.stream.as_str() {
                "stderr" => &mut err,
                _ => &mut out,
            };
            if self.timestamps {
                write!(sink, "{} ", record.time)?;
            }
            if self.details {
                sink.write_all(b" ")?; // the log's attributes (none are kept), then a space
            }
            sink.write_all(record.log.as_bytes())?;
        }
        out.flush()?;
        Ok(())
    }
}
