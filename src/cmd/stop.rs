//! `skiff stop [-t N] [-s SIG] CONTAINER...`: the stop signal, a grace period, then
//! `SIGKILL`, as `docker stop` does. A process that ignores the signal (PID 1 ignores
//! any it has no handler for) is killed when the grace period ends. A stop is final:
//! the container's restart policy does not start it again (see `lifecycle::restart`).

use crate::cli::{self, Opt};
use crate::error::{Context, Result};
use crate::lifecycle::{self, signals, supervisor, Container, Status};

pub const HELP: &str = "Usage:  skiff stop [OPTIONS] CONTAINER [CONTAINER...]

Stop one or more running containers

Options:
  -h, --help            Print usage
  -s, --signal string   Signal to send to the container (default: its stop signal)
  -t, --time int        Seconds to wait before killing the container (default: its stop timeout)";

pub fn main(argv: &[String]) -> Result<i32> {
    let (mut signal, mut grace) = (None, None);
    let options = &mut [
        Opt::Value(&["-s", "--signal"], &mut signal),
        Opt::Value(&["-t", "--time", "--timeout"], &mut grace),
    ];
    let rest = cli::parse(argv, "stop", HELP, options)?;
    let signal = signal.as_deref().map(signals::parse).transpose()?;
    let grace = grace.as_deref().map(cli::seconds).transpose()?;
    for query in cli::at_least_one(rest, "stop")? {
        let container = lifecycle::find(&query)?;
        stop(&container, signal, grace).with_context(|| format!("stop {query}"))?;
        println!("{query}");
    }
    Ok(0)
}

/// Stops `container` if it runs or waits to restart, and returns once its end is
/// recorded and its supervisor has gone.
pub fn stop(container: &Container, signal: Option<i32>, grace: Option<u32>) -> Result<()> {
    if !matches!(container.status(), Status::Running | Status::Restarting) {
        return Ok(());
    }
    loop {
        let Ok(current) = lifecycle::find(&container.config.id) else {
            return Ok(()); // `--rm`: its supervisor removed it once it ended
        };
        if matches!(current.status(), Status::Running | Status::Restarting) {
            ended_anyway(stop_running(&current, signal, grace))?;
        }
        // A restart begun before the mark was written runs once more: stop that too.
        if supervisor::wait_for_at_most(current.state.supervisor, 100)? {
            return Ok(());
        }
    }
}

/// A process that ended (and was reaped) before its signal came did what `stop` asks.
fn ended_anyway(signalled: Result<()>) -> Result<()> {
    match signalled {
        Err(err) if err.errno() == Some(libc::ESRCH) => Ok(()),
        other => other,
    }
}

/// The stop signal, the grace period, SIGKILL; returns once PID 1 has gone.
fn stop_running(container: &Container, signal: Option<i32>, grace: Option<u32>) -> Result<()> {
    let signal = match signal {
        Some(signal) => signal,
        None => signals::parse(&container.config.stop_signal)?,
    };
    let grace = grace.unwrap_or(container.config.stop_timeout);
    // One waiting to restart has no PID 1 left to wait for: the waits return at once.
    supervisor::signal(container, signal, true)?;
    let grace_ms = i32::try_from(u64::from(grace) * 1000).unwrap_or(i32::MAX);
    if !supervisor::wait_for_at_most(container.state.pid, grace_ms)? {
        supervisor::signal(container, libc::SIGKILL, true)?;
    }
    supervisor::wait_for(container.state.pid)
}
