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
//! With `-t` it holds the master of the container's terminal instead of pipes, logs
//! what it shows, and lets `skiff attach` in through `attach.sock` (see `terminal`).
//! When the container's `--restart` policy asks, the supervisor starts it again, the
//! way it started it the first time (see `restart`). An attached skiff whose container
//! is to be restarted makes a detached supervisor for that, and exits with the status
//! of the run it saw, as Docker's client does.
//! <https://man7.org/linux/man-pages/man3/daemon.3.html>
//! <https://man7.org/linux/man-pages/man2/setsid.2.html>

use std::cell::Cell;
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::UnixListener;
use std::time::Instant;

use super::logs::{self, Log, Output, Stream};
use super::restart::{self, Backoff, Policy};
use super::{peers, Container, Process, State, Status};
use crate::cgroup;
use crate::container::{self, RootFs, Started, Stdio, FORWARDED};
use crate::error::{Context, Error, Result};
use crate::network;
use crate::sys::{self, Exit};
use crate::terminal::{self, Ended, RawMode};
use crate::{time, trace};

/// Runs the container attached to this process: its stdout and stderr come through
/// pipes to ours and into its log (as Docker's do), its stdin is ours with `-i` and
/// else empty; signals are forwarded; waits for it and records its end.
pub fn run_attached(container: &mut Container, rootfs: &RootFs) -> Result<Exit> {
    started_by_user(container);
    if container.config.tty == Some(true) {
        return run_in_terminal(container, rootfs);
    }
    sys::forward_signals(&FORWARDED)?; // sigaction(2)
    let mut log = open_log(container)?;
    let null = File::open("/dev/null").context("open /dev/null")?;
    let (stdout, stdout_writer) = sys::pipe()?; // pipe2(2)
    let (stderr, stderr_writer) = sys::pipe()?;
    let stdin = match container.config.open_stdin == Some(true) {
        true => None,
        false => Some(null.as_raw_fd()), // Docker's: at end of file at once
    };
    let stdio = Stdio {
        fds: [
            stdin,
            Some(stdout_writer.as_raw_fd()),
            Some(stderr_writer.as_raw_fd()),
        ],
        ..Stdio::default()
    };
    let pid = start_recorded(container, rootfs, &stdio)?.pid;
    drop((stdout_writer, stderr_writer)); // the pipes end with the container
    let outputs = [
        output(Stream::Stdout, stdout, Some(&std::io::stdout()))?,
        output(Stream::Stderr, stderr, Some(&std::io::stderr()))?,
    ];
    let pumped = logs::pump(outputs, &mut log);
    let exit = sys::wait_for_exit(pid)?; // waitpid(2)
    ended_attached(container, rootfs, exit)?;
    pumped.map(|()| exit)
}

/// `-t`: the container's stdio is a terminal of its own, relayed to ours (see
/// `terminal`), with ours in raw mode while it runs if `-i` gives it our input.
fn run_in_terminal(container: &mut Container, rootfs: &RootFs) -> Result<Exit> {
    let signals = terminal::catch_signals(&FORWARDED)?; // sigprocmask(2), signalfd(2)
    let mut log = open_log(container)?;
    let interactive = container.config.open_stdin == Some(true);
    let raw = match interactive && sys::isatty(0) {
        true => Some(RawMode::enter(0)?), // tcsetattr(3); restored when dropped
        false => None,
    };
    let stdio = Stdio {
        tty: true,
        size: terminal::size(), // TIOCGWINSZ: set in the container before execve(2)
        ..Stdio::default()
    };
    let mut started = start_recorded(container, rootfs, &stdio)?;
    let master = master(&mut started)?;
    let session = terminal::Session::new(master, started.pid, Some(&mut log))
        .with_our_terminal(interactive, raw.as_ref())?;
    let relayed = terminal::relay(session, &signals); // poll(2) loop
    drop(raw);
    log.flush(Stream::Stdout)?;
    if let Ok(Ended::HungUp) = relayed {
        if let Err(err) = stop_after_hangup(container) {
            trace::step(&format!("stop after the hangup: {err}")); // it is waited for below
        }
    }
    let exit = sys::wait_for_exit(started.pid)?; // waitpid(2)
    ended_attached(container, rootfs, exit)?;
    relayed.map(|_| exit)
}

/// Records the end of an attached container. If its restart policy asks for another
/// run, Docker's daemon restarts it while the attached client exits with this run's
/// status; here a supervisor of its own takes it over, as if it had been started
/// with `-d`, and restarts it after the back-off.
fn ended_attached(container: &mut Container, rootfs: &RootFs, exit: Exit) -> Result<()> {
    trace::step(&format!("the container ended: {exit:?}"));
    let status = ended(container, exit, Policy::of(&container.config));
    record_exit(container, exit, status)?;
    match status {
        Status::Restarting => detach(container, rootfs, false),
        _ => Ok(()),
    }
}

/// After SIGTERM or SIGHUP ended its session, the container has its stop timeout to
/// end (a shell does, at the hangup), as with `skiff stop`; then SIGKILL.
fn stop_after_hangup(container: &Container) -> Result<()> {
    let grace = container.config.stop_timeout.saturating_mul(1000);
    let grace = libc::c_int::try_from(grace).unwrap_or(libc::c_int::MAX);
    if !wait_for_at_most(container.state.pid, grace)? {
        trace::step("the container outlived its stop timeout: SIGKILL");
        sys::kill(container.state.pid.pid, libc::SIGKILL)?;
    }
    Ok(())
}

/// A pipe of the container's output, echoed to a copy of `echo` (unbuffered: bytes
/// go out as they come, not when a Rust buffer fills).
fn output(stream: Stream, pipe: File, echo: Option<&impl AsFd>) -> Result<Output> {
    let echo = echo.map(terminal::duplicate).transpose()?;
    Ok(Output { stream, pipe, echo })
}

/// The master of a `-t` container's terminal (`container::start` fails without it).
fn master(started: &mut Started) -> Result<File> {
    started
        .terminal
        .take()
        .ok_or_else(|| Error::invalid("-t: the container has no terminal"))
}

/// Starts the container under a supervisor of its own and returns once its command
/// runs (or has failed to start, with the reason).
pub fn run_detached(container: &mut Container, rootfs: &RootFs) -> Result<()> {
    started_by_user(container);
    detach(container, rootfs, true)
}

/// A supervisor of its own for the container, which it starts now (`start`) or, once
/// the back-off has passed, again.
fn detach(container: &mut Container, rootfs: &RootFs, start: bool) -> Result<()> {
    let (outcome, outcome_writer) = sys::pipe()?;
    let Some(middle) = sys::fork()? else {
        drop(outcome);
        become_supervisor(container, rootfs, outcome_writer, start)
    };
    drop(outcome_writer);
    sys::wait_for_exit(middle)?;
    container::exec_outcome(outcome)
}

/// The middle process: a new session, then the supervisor as its child.
fn become_supervisor(container: &mut Container, rootfs: &RootFs, outcome: File, start: bool) -> ! {
    let forked = sys::setsid()
        .and_then(|()| keep_only(&outcome))
        .and_then(|()| sys::fork());
    match forked {
        Ok(Some(_supervisor)) => sys::exit_now(0),
        Ok(None) => supervise(container, rootfs, outcome, start),
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

fn supervise(container: &mut Container, rootfs: &RootFs, outcome: File, start: bool) -> ! {
    let streams = match take_over(container, rootfs, start) {
        Ok(streams) => streams,
        Err(err) => {
            if container.config.auto_remove {
                let _ = container.remove_with_volumes(); // the error below is what matters
            }
            container::report_failure(outcome, &err);
            sys::exit_now(err.exit_code())
        }
    };
    drop(outcome); // EOF: `skiff run -d` prints the ID and returns
                   // Nobody is left to tell of a failure from here on; the state says what it can.
    let code = match keep_up(container, rootfs, streams) {
        Ok(()) => 0,
        Err(err) => err.exit_code(),
    };
    sys::exit_now(code)
}

/// The container's output as the supervisor reads it, the log it goes to, and its pid.
struct Streams {
    output: Watched,
    log: Log,
    pid: libc::pid_t,
}

enum Watched {
    /// Its stdout and stderr pipes.
    Pipes([Output; 2]),
    /// `-t`: its terminal's master, and the socket `skiff attach` connects to.
    Terminal(File, UnixListener),
}

/// The supervisor holds no directory busy and no terminal or pipe of its caller's
/// open, and starts the container; or, `start` false, takes over from an attached
/// `run` (with none of its signal handling) the container that run saw end.
fn take_over(container: &mut Container, rootfs: &RootFs, start: bool) -> Result<Option<Streams>> {
    sys::chdir(std::path::Path::new("/"))?;
    let null = File::open("/dev/null").context("open /dev/null")?;
    for fd in 0..3 {
        sys::dup2(null.as_raw_fd(), fd)?;
    }
    if start {
        return start_logged(container, rootfs).map(Some);
    }
    sys::reset_signals()?;
    container.state.supervisor = Process::current(); // before the attached run exits
    container.save_state().map(|()| None)
}

/// Starts the container with /dev/null as its stdin and two pipes as its stdout and
/// stderr, or with `-t` a terminal; the output goes to the log.
fn start_logged(container: &mut Container, rootfs: &RootFs) -> Result<Streams> {
    // Before `skiff run -d` returns: a `logs -f` started right after it must find the log.
    let log = open_log(container)?;
    let null = File::open("/dev/null").context("open /dev/null")?;
    if container.config.tty == Some(true) {
        let listener = listen_for_attach(container)?; // before `skiff run -d` returns
        let stdio = Stdio {
            tty: true,
            ..Stdio::default()
        };
        let mut started = start_recorded(container, rootfs, &stdio)?;
        let output = Watched::Terminal(master(&mut started)?, listener);
        let pid = started.pid;
        return Ok(Streams { output, log, pid });
    }
    let (stdout, stdout_writer) = sys::pipe()?;
    let (stderr, stderr_writer) = sys::pipe()?;
    let stdio = Stdio {
        fds: [
            Some(null.as_raw_fd()),
            Some(stdout_writer.as_raw_fd()),
            Some(stderr_writer.as_raw_fd()),
        ],
        ..Stdio::default()
    };
    let pid = start_recorded(container, rootfs, &stdio)?.pid;
    let output = Watched::Pipes([
        output(Stream::Stdout, stdout, None::<&File>)?,
        output(Stream::Stderr, stderr, None::<&File>)?,
    ]);
    Ok(Streams { output, log, pid })
}

/// The socket in the container's directory where `skiff attach` finds its terminal.
fn listen_for_attach(container: &Container) -> Result<UnixListener> {
    let (_dir, path) = container.attach_socket()?;
    // One left by a supervisor that was killed would be in the way; none is in use.
    let _ = std::fs::remove_file(&path);
    UnixListener::bind(&path).with_context(|| format!("bind {}", container.attach_path().display()))
}

/// A start by the user: the restart count starts over, and a stop by the user is
/// forgotten (as Docker's `start` does).
fn started_by_user(container: &mut Container) {
    // Never started, never stopped: a stop marks only a container that runs.
    if !container.state.started_at.is_empty() {
        restart::unmark(container);
    }
    container.state.restart_count = None;
}

/// Watches the container until it ends (`None`: it has, and is restarting), and starts
/// it again for as long as its restart policy asks and nobody stops it.
fn keep_up(container: &mut Container, rootfs: &RootFs, mut streams: Option<Streams>) -> Result<()> {
    let policy = Policy::of(&container.config);
    // Held blocked, so that only a `stop` during the back-off reads it (signalfd(2)).
    let stop = match policy {
        Policy::No => None,
        _ => Some(terminal::catch_signals(&[libc::SIGTERM])?),
    };
    let mut backoff = Backoff::default();
    loop {
        let up_since = Instant::now();
        if let Some(streams) = streams {
            watch(container, streams, policy)?;
        }
        let Some(stop) = stop
            .as_ref()
            .filter(|_| container.state.status == Status::Restarting)
        else {
            return Ok(());
        };
        let delay = backoff.next(up_since.elapsed());
        let wait = libc::c_int::try_from(delay.as_millis()).unwrap_or(libc::c_int::MAX);
        let stopped = sys::poll_readable(&[stop.as_raw_fd()], wait)?[0];
        if stopped || restart::stopped_by_user(container) {
            return give_up(container, None);
        }
        let started = start_logged(container, rootfs);
        streams = Some(started.or_else(|err| give_up(container, Some(&err)).and(Err(err)))?);
    }
}

/// A restart that will not happen: the container stays exited. One that failed
/// (`failure`) leaves its reason in the state, with Docker's exit code for it: 127 or
/// 126 for a command missing or not executable, else 128.
fn give_up(container: &mut Container, failure: Option<&Error>) -> Result<()> {
    container.state.status = Status::Exited;
    if let Some(err) = failure {
        container.state.error = Some(err.to_string());
        container.state.exit_code = match err.exit_code() {
            code @ (126 | 127) => code,
            _ => 128,
        };
    }
    container.save_state()
}

/// Relays the container's output until it ends, and records its end: as restarting
/// if its `policy` asks for that, and the user has not stopped it.
fn watch(container: &mut Container, mut streams: Streams, policy: Policy) -> Result<()> {
    let relayed = match streams.output {
        Watched::Pipes(outputs) => logs::pump(outputs, &mut streams.log),
        Watched::Terminal(master, listener) => {
            let signals = terminal::catch_signals(&[])?; // SIGWINCH only: never comes
            let mut session = terminal::Session::new(master, streams.pid, Some(&mut streams.log));
            session.listener = Some(listener);
            session.open_stdin = container.config.open_stdin == Some(true);
            let relayed = terminal::relay(session, &signals).map(drop);
            let _ = std::fs::remove_file(container.attach_path()); // nobody can attach now
            streams.log.flush(Stream::Stdout).and(relayed)
        }
    };
    let exit = sys::wait_for_exit(streams.pid)?;
    // `update` may have changed the limits and the policy meanwhile. A supervisor that
    // started with no policy has no handler for a stop during the back-off: it keeps none.
    if let Ok(config) = super::read_config(&container.dir.join("config.json")) {
        container.config = config;
    }
    let policy = match policy {
        Policy::No => Policy::No,
        _ => Policy::of(&container.config),
    };
    let status = ended(container, exit, policy);
    record_exit(container, exit, status)?;
    relayed
}

/// How a container that ended with `exit` is to be recorded: as restarting if its
/// `policy` asks for that (one restart more) and the user has not stopped it.
fn ended(container: &mut Container, exit: Exit, policy: Policy) -> Status {
    let restarts = container.state.restart_count.unwrap_or(0);
    if !policy.wants(exit.status(), restarts) || restart::stopped_by_user(container) {
        return Status::Exited;
    }
    container.state.restart_count = Some(restarts + 1);
    Status::Restarting
}

/// Starts the container and records it as running, with this process as supervisor.
fn start_recorded(container: &mut Container, rootfs: &RootFs, stdio: &Stdio) -> Result<Started> {
    // Before anything is made: if this skiff is killed half-way, the next one's sweep
    // knows the start was abandoned, and takes back what it made. A restart's record
    // names this supervisor already, and so does an attached run's config (its starter).
    let supervisor = Process::current();
    if container.state.supervisor != supervisor {
        container.state.supervisor = supervisor;
        container.save_state()?;
    }
    let joined = super::joined_network(&container.config)?; // container:NAME's namespace

    // Written once its command runs (see `Stdio::record`), before `start` returns: a
    // record that cannot be written ends the start, and kills what it would not name.
    let recorded = Cell::new(None);
    let record = |pid, network: Option<&network::Settings>| {
        let state = State {
            status: Status::Running,
            pid: Process::of(pid).unwrap_or(Process { pid, start_time: 0 }),
            supervisor,
            started_at: time::now_precise(),
            network: network.cloned(),
            restart_count: container.state.restart_count,
            ..State::default()
        };
        super::write_state(&container.dir, &state)?;
        recorded.set(Some(state));
        Ok(())
    };
    let stdio = Stdio {
        record: Some(&record),
        ..*stdio
    };
    let started = container::start(&container.config, rootfs, &stdio, joined);
    match (started, recorded.take()) {
        (Ok(started), Some(state)) => {
            container.state = state;
            if let Some(settings) = &container.state.network {
                peers::update(&settings.network); // its name into its network's /etc/hosts files
            }
            Ok(started)
        }
        // Recorded as running but never ran: the record it had again (`created`, or
        // how its last run ended), as Docker keeps a container whose command is missing.
        (Err(err), Some(_)) => {
            if let Err(undo) = container.save_state() {
                trace::step(&format!("its state still says running: {undo}"));
            }
            Err(err)
        }
        (started, None) => started,
    }
}

fn open_log(container: &Container) -> Result<Log> {
    Log::open(&container.log_path(), container.config.log.as_ref())
}

/// Records how the container ended, as `status` (and whether the OOM killer ended it), removes its
/// cgroup (an `--rm` one's goes with its files: `reclaim`) and gives its address back.
fn record_exit(container: &mut Container, exit: Exit, status: Status) -> Result<()> {
    // Kept in the state if this fails, so that the next sweep tries again.
    let left = container.state.network.as_ref().map(|s| s.network.clone());
    let network = match left {
        Some(_) => network::release(&container.config.id, container.state.network.as_ref()), // its lease, under the network lock
        None => Ok(()),
    };
    if network.is_ok() {
        container.state.network = None;
    }
    let released = match container.config.auto_remove {
        true => Ok(false), // its deleter removes it with its files (`remove` below)
        false => cgroup::release(&container.config.id), // reads memory.events, rmdir(2)
    };
    container.state.oom_killed = *released.as_ref().unwrap_or(&false);
    container.state.status = status;
    container.state.exit_code = exit.status();
    container.state.finished_at = time::now_precise();
    match container.config.auto_remove {
        true => container.remove_with_volumes()?,
        false => container.save_state()?,
    }
    if let Some(left) = left {
        peers::update(&left); // its name out of the others' /etc/hosts
    }
    released.map(drop).and(network)
}

/// Blocks until `process` has ended; at once if it already has.
pub fn wait_for(process: Process) -> Result<()> {
    wait_for_at_most(process, -1).map(drop)
}

/// Waits up to `timeout_ms` (-1: forever) for `process` to end; true if it did.
pub fn wait_for_at_most(process: Process, timeout_ms: libc::c_int) -> Result<bool> {
    let Some(pidfd) = sys::pidfd_open_unless_ended(process.pid)? else {
        return Ok(true);
    };
    // The pid may have been reused before we opened it: check it is still the same one.
    if !process.is_alive() {
        return Ok(true);
    }
    let ready = sys::poll_readable(&[pidfd.as_raw_fd()], timeout_ms)?;
    Ok(ready[0])
}

/// Sends `signal` to the container's PID 1, if it still runs; a paused one is thawed to
/// receive it. A user's stop, or a kill that ends the container (`for_good`), first
/// leaves the mark that keeps its supervisor from starting it again (see `restart`),
/// and only once the container is known to run, so that a refused kill leaves none. One
/// waiting to restart needs no more than the mark and the end of that wait: SIGTERM to
/// its supervisor, which reads it in the back-off (Docker's kill and stop do the same).
pub fn signal(container: &Container, signal: libc::c_int, for_good: bool) -> Result<()> {
    let status = container.status();
    if for_good && matches!(status, Status::Running | Status::Restarting) {
        restart::mark_stopped(container)?;
    }
    match status {
        Status::Running => {}
        Status::Restarting if for_good => {
            return sys::kill(container.state.supervisor.pid, libc::SIGTERM)
        }
        _ => {
            let name = &container.config.name;
            return Err(Error::invalid(format!("container {name} is not running")));
        }
    }
    let paused = container.is_paused(); // asked first: a SIGKILL may end it at once on v2
    sys::kill(container.state.pid.pid, signal)?;
    let id = &container.config.id;
    match paused {
        // It acts on the signal once thawed; a cgroup already gone went with its end.
        true => {
            cgroup::freeze(id, false).or_else(|e| if cgroup::exists(id) { Err(e) } else { Ok(()) })
        }
        false => Ok(()),
    }
}

/// Waits until the container has ended and its supervisor has recorded it (or died).
/// A supervisor that restarts it lives on: then until the record says it ended.
pub fn wait_until_recorded(container: &Container) -> Result<()> {
    wait_for(container.state.pid)?;
    while !wait_for_at_most(container.state.supervisor, 10)? {
        let Ok(now) = super::find(&container.config.id) else {
            return Ok(()); // removed (`--rm`): recorded and gone
        };
        if (now.state.status, now.state.pid) != (Status::Running, container.state.pid) {
            return Ok(());
        }
    }
    Ok(())
}
