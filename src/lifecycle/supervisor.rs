//! Who waits for a container, and records how it ended.
//!
//! Attached (`run`, `start -a`), the skiff the user started is the supervisor: it
//! forwards signals, waits, records the exit and passes the status on.
//!
//! Detached (`run -d`, `start`), skiff makes a supervisor the way daemon(3) does: fork,
//! setsid(2) in the child so that no terminal can signal it, fork again so that it is
//! not a session leader, and let the middle process exit. The supervisor points the
//! container's stdout and stderr at pipes, starts it, tells the waiting `skiff run -d`
//! through a pipe whether the command is running (or why not), then copies the output
//! into the log until the container ends, and records its exit. No threads, no daemon.
//! <https://man7.org/linux/man-pages/man3/daemon.3.html>
//! <https://man7.org/linux/man-pages/man2/setsid.2.html>

use std::fs::File;
use std::os::fd::AsRawFd;

use super::{logs, Container, Process, State, Status};
use crate::cgroup;
use crate::container::{self, RootFs, FORWARDED};
use crate::error::{Context, Error, Result};
use crate::network;
use crate::sys::{self, Exit};
use crate::{time, trace};

/// Runs the container with this process's stdio and waits for it.
pub fn run_attached(container: &mut Container, rootfs: &RootFs) -> Result<Exit> {
    sys::forward_signals(&FORWARDED)?; // sigaction(2)
    let pid = start_recorded(container, rootfs)?;
    let exit = sys::wait_for_exit(pid)?; // waitpid(2)
    trace::step(&format!("the container ended: {exit:?}"));
    record_exit(container, exit)?;
    Ok(exit)
}

/// Starts the container under a supervisor of its own and returns once its command
/// runs (or has failed to start, with the reason).
pub fn run_detached(container: &mut Container, rootfs: &RootFs) -> Result<()> {
    let (outcome, outcome_writer) = sys::pipe()?;
    let Some(middle) = sys::fork()? else {
        drop(outcome);
        become_supervisor(container, rootfs, outcome_writer)
    };
    drop(outcome_writer);
    sys::wait_for_exit(middle)?;
    container::exec_outcome(outcome)
}

/// The middle process: a new session, then the supervisor as its child.
fn become_supervisor(container: &mut Container, rootfs: &RootFs, outcome: File) -> ! {
    let forked = sys::setsid()
        .and_then(|()| keep_only(&outcome))
        .and_then(|()| sys::fork());
    match forked {
        Ok(Some(_supervisor)) => sys::exit_now(0),
        Ok(None) => supervise(container, rootfs, outcome),
        Err(err) => {
            container::report_failure(outcome, &err);
            sys::exit_now(err.exit_code())
        }
    }
}

/// Closes every inherited descriptor from 3 up but `outcome`: a long-lived supervisor
/// must not hold its caller's files (a lock, the other end of a pipe) open for ever.
fn keep_only(outcome: &File) -> Result<()> {
    sys::close_from_3_except(&[outcome.as_raw_fd()])
}

fn supervise(container: &mut Container, rootfs: &RootFs, outcome: File) -> ! {
    let streams = match start_logged(container, rootfs) {
        Ok(streams) => streams,
        Err(err) => {
            if container.config.auto_remove {
                let _ = container.remove(); // the error below is what matters
            }
            container::report_failure(outcome, &err);
            sys::exit_now(err.exit_code())
        }
    };
    drop(outcome); // EOF: `skiff run -d` prints the ID and returns
                   // Nobody is left to tell of a failure from here on; the state says what it can.
    let code = match watch(container, streams) {
        Ok(()) => 0,
        Err(err) => err.exit_code(),
    };
    sys::exit_now(code)
}

/// The container's stdout and stderr, as the supervisor reads them, the log they go
/// to, and its pid.
struct Streams {
    stdout: File,
    stderr: File,
    log: File,
    pid: libc::pid_t,
}

/// Points fds 0–2 at /dev/null and two pipes, so the container inherits them, then
/// starts it and takes the pipes' write ends back out of the supervisor.
fn start_logged(container: &mut Container, rootfs: &RootFs) -> Result<Streams> {
    // Before `skiff run -d` returns: a `logs -f` started right after it must find the log.
    let log = File::options()
        .create(true)
        .append(true)
        .open(container.log_path())
        .context("open the container's log")?;
    sys::chdir(std::path::Path::new("/"))?; // hold no directory busy
    let null = File::open("/dev/null").context("open /dev/null")?;
    let (stdout, stdout_writer) = sys::pipe()?;
    let (stderr, stderr_writer) = sys::pipe()?;
    sys::dup2(null.as_raw_fd(), 0)?;
    sys::dup2(stdout_writer.as_raw_fd(), 1)?;
    sys::dup2(stderr_writer.as_raw_fd(), 2)?;
    let pid = start_recorded(container, rootfs)?;
    // Only the container may hold the write ends now, so the pipes end with it.
    sys::dup2(null.as_raw_fd(), 1)?;
    sys::dup2(null.as_raw_fd(), 2)?;
    Ok(Streams {
        stdout,
        stderr,
        log,
        pid,
    })
}

fn watch(container: &mut Container, mut streams: Streams) -> Result<()> {
    let pumped = logs::pump(streams.stdout, streams.stderr, &mut streams.log);
    let exit = sys::wait_for_exit(streams.pid)?;
    record_exit(container, exit)?;
    pumped
}

/// Starts the container and records it as running, with this process as supervisor.
fn start_recorded(container: &mut Container, rootfs: &RootFs) -> Result<libc::pid_t> {
    let (pid, network) = container::start(&container.config, rootfs)?;
    container.state = State {
        status: Status::Running,
        pid: Process::of(pid).unwrap_or(Process { pid, start_time: 0 }),
        supervisor: Process::current(),
        started_at: time::now_precise(),
        network,
        ..State::default()
    };
    container.save_state()?;
    Ok(pid)
}

/// Records how the container ended (and whether the OOM killer ended it), removes its
/// cgroup and gives its address back.
fn record_exit(container: &mut Container, exit: Exit) -> Result<()> {
    // Kept in the state if this fails, so that the next sweep tries again.
    let network = match container.state.network {
        Some(_) => network::release(&container.config.id), // rtnetlink, under the network lock
        None => Ok(()),
    };
    if network.is_ok() {
        container.state.network = None;
    }
    let released = cgroup::release(&container.config.id); // reads memory.events, rmdir(2)
    container.state.oom_killed = *released.as_ref().unwrap_or(&false);
    container.state.status = Status::Exited;
    container.state.exit_code = exit.status();
    container.state.finished_at = time::now_precise();
    match container.config.auto_remove {
        true => container.remove()?,
        false => container.save_state()?,
    }
    released.map(drop).and(network)
}

/// Blocks until `process` has ended; at once if it already has.
pub fn wait_for(process: Process) -> Result<()> {
    wait_for_at_most(process, -1).map(drop)
}

/// Waits up to `timeout_ms` (-1: forever) for `process` to end; true if it did.
pub fn wait_for_at_most(process: Process, timeout_ms: libc::c_int) -> Result<bool> {
    let pidfd = match sys::pidfd_open(process.pid) {
        Err(err) if err.errno() == Some(libc::ESRCH) => return Ok(true),
        other => other?,
    };
    // The pid may have been reused before we opened it: check it is still the same one.
    if !process.is_alive() {
        return Ok(true);
    }
    let ready = sys::poll_readable(&[pidfd.as_raw_fd()], timeout_ms)?;
    Ok(ready[0])
}

/// Sends `signal` to the container's PID 1, if it still runs.
pub fn signal(container: &Container, signal: libc::c_int) -> Result<()> {
    if container.status() != Status::Running {
        return Err(Error::invalid(format!(
            "container {} is not running",
            container.config.name
        )));
    }
    sys::kill(container.state.pid.pid, signal)
}

/// Waits until the container has ended and its supervisor has recorded it (or died).
pub fn wait_until_recorded(container: &Container) -> Result<()> {
    wait_for(container.state.pid)?;
    wait_for(container.state.supervisor)
}
