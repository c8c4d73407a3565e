//! `skiff logs [-f] [--tail N] [-t] CONTAINER`: a detached container's output, stdout
//! to stdout and stderr to stderr, as it was recorded (see `lifecycle::logs`).

use std::fs::File;
use std::io::{Read, Write};

use crate::cli::{self, Opt};
use crate::error::{Context, Error, Result};
use crate::lifecycle::{self, logs::Record, supervisor, Container, Status};

pub const HELP: &str = "Usage:  skiff logs [OPTIONS] CONTAINER

Fetch the logs of a container

Options:
  -f, --follow         Follow log output
  -h, --help           Print usage
  -n, --tail string    Number of lines to show from the end of the logs (default \"all\")
  -t, --timestamps     Show timestamps";

#[derive(Default)]
struct Args {
    follow: bool,
    tail: Option<usize>,
    timestamps: bool,
}

/// How often `logs -f` looks for more, while the container runs.
const FOLLOW_INTERVAL_MS: libc::c_int = 100;

pub fn main(argv: &[String]) -> Result<i32> {
    let (mut args, mut lines) = (Args::default(), None);
    let options = &mut [
        Opt::Switch(&["-f", "--follow"], &mut args.follow),
        Opt::Value(&["-n", "--tail"], &mut lines),
        Opt::Switch(&["-t", "--timestamps"], &mut args.timestamps),
    ];
    let rest = cli::parse(argv, "logs", HELP, options)?;
    args.tail = lines.as_deref().map_or(Ok(None), tail)?;
    let [query] = &cli::at_least_one(rest, "logs")?[..] else {
        return Err(Error::usage("\"skiff logs\" takes exactly one container."));
    };
    let container = lifecycle::find(query)?;
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

fn show(container: &Container, args: &Args) -> Result<()> {
    let mut log = match std::fs::File::open(container.log_path()) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()), // never detached
        other => other.context("open the container's log")?,
    };
    let mut pending = String::new();
    let records = read_records(&mut log, &mut pending)?;
    let skip = args.tail.map_or(0, |n| records.len().saturating_sub(n));
    print(&records[skip..], args.timestamps)?;
    if args.follow {
        follow(container, log, pending, args.timestamps)?;
    }
    Ok(())
}

/// Prints records as they are appended, until the container's supervisor is done.
fn follow(
    container: &Container,
    mut log: File,
    mut pending: String,
    timestamps: bool,
) -> Result<()> {
    loop {
        let done = container.status() != Status::Running
            || supervisor::wait_for_at_most(container.state.supervisor, FOLLOW_INTERVAL_MS)?;
        print(&read_records(&mut log, &mut pending)?, timestamps)?;
        if done {
            return Ok(());
        }
    }
}

/// The complete records the log has gained; a line still being written waits in
/// `pending` for the next read.
fn read_records(log: &mut File, pending: &mut String) -> Result<Vec<Record>> {
    log.read_to_string(pending)
        .context("read the container's log")?;
    let complete = pending.rfind('\n').map_or(0, |i| i + 1);
    let records = lifecycle::logs::parse(&pending[..complete]);
    pending.drain(..complete);
    Ok(records)
}

fn print(records: &[Record], timestamps: bool) -> Result<()> {
    let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
    for record in records {
        let sink: &mut dyn Write = match record.stream.as_str() {
            "stderr" => &mut err,
            _ => &mut out,
        };
        if timestamps {
            write!(sink, "{} ", record.time)?;
        }
        sink.write_all(record.log.as_bytes())?;
    }
    out.flush()?;
    Ok(())
}
