//! `skiff kill [-s SIG] CONTAINER...`: one signal to each container's PID 1
//! (`SIGKILL` unless told otherwise), as `docker kill` does. SIGKILL, or the
//! container's stop signal, ends its restarts too, as a `stop` does.

use crate::cli::{self, Opt};
use crate::error::{Context, Result};
use crate::lifecycle::{self, signals, supervisor};

pub const HELP: &str = "Usage:  skiff kill [OPTIONS] CONTAINER [CONTAINER...]

Kill one or more running containers

Options:
  -h, --help            Print usage
  -s, --signal string   Signal to send to the container (default \"KILL\")";

pub fn main(argv: &[String]) -> Result<i32> {
    let mut signal = None;
    let options = &mut [Opt::Value(&["-s", "--signal"], &mut signal)];
    let rest = cli::parse(argv, "kill", HELP, options)?;
    let signal = signal
        .as_deref()
        .map_or(Ok(libc::SIGKILL), signals::parse)?;
    for query in cli::at_least_one(rest, "kill")? {
        let container = lifecycle::find(&query)?;
        let ends_it = signal == libc::SIGKILL
            || signals::parse(&container.config.stop_signal).ok() == Some(signal);
        supervisor::signal(&container, signal, ends_it).with_context(|| format!("kill {query}"))?;
        println!("{query}");
    }
    Ok(0)
}
