//! `-t`, on the host: relaying between the user's terminal and the container's.
//!
//! The container's terminal is a pseudo-terminal whose master skiff holds (see
//! `container::console`): what skiff writes to the master, the container reads as
//! typed; what the container prints, skiff reads from the master. One poll(2) loop,
//! single-threaded, moves bytes both ways:
//!
//! - the user's terminal goes into raw mode (cfmakeraw(3): no echo, no line editing,
//!   no signals from Ctrl-C, no output processing), because the container's terminal
//!   does all of that itself; its settings are put back however skiff ends;
//! - signals come into the same loop through signalfd(2), with them blocked
//!   (sigprocmask(2)): no handler runs between two reads. SIGWINCH (the user's
//!   window changed size) is passed on as the master's new size (`TIOCSWINSZ`; the
//!   kernel then sends the container SIGWINCH); the signals `docker run` forwards go
//!   to the container; SIGHUP and SIGTERM also end the session: the terminal is
//!   restored and the master closed, which hangs up the container's terminal, as a
//!   closed ssh session does;
//! - the session ends when the master reads end of file or `EIO`: every process that
//!   held the slave has gone.
//!
//! The master is non-blocking, so a container that reads no input never blocks the
//! output. A pseudo-terminal has one output stream: stdout and stderr arrive merged,
//! and `\n` as `\r\n`.
//! <https://man7.org/linux/man-pages/man7/pty.7.html>
//! <https://man7.org/linux/man-pages/man3/termios.3.html>
//! <https://man7.org/linux/man-pages/man2/signalfd.2.html>
//! <https://man7.org/linux/man-pages/man2/TIOCSWINSZ.2const.html>

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};

use crate::error::{Context, Error, Kind, Result};
use crate::lifecycle::logs::{Log, Stream};
use crate::sys;
use crate::trace;

/// The user's terminal in raw mode until this is dropped, which puts its settings back.
pub struct RawMode {
    fd: RawFd,
    saved: libc::termios,
}

impl RawMode {
    /// Raw mode for the terminal on `fd`.
    pub fn enter(fd: RawFd) -> Result<RawMode> {
        trace::step("-t: the terminal in raw mode: the container's terminal edits and echoes");
        let saved = sys::terminal_settings(fd)?;
        sys::set_terminal_settings(fd, &sys::raw_settings(saved))?;
        Ok(RawMode { fd, saved })
    }

    /// The settings as they were before [`RawMode::enter`].
    pub fn restore(&self) {
        // Nothing else to do if this fails: the terminal has gone.
        let _ = sys::set_terminal_settings(self.fd, &self.saved);
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        self.restore();
    }
}

/// `-it` needs a terminal to read from, as Docker says.
pub fn check_input() -> Result<()> {
    match sys::isatty(0) {
        true => Ok(()),
        false => Err(Error::new(Kind::NotATerminal)),
    }
}

/// The size of the user's terminal: stdin's, or else stdout's; `None` if neither is one.
pub fn size() -> Option<libc::winsize> {
    [0, 1]
        .into_iter()
        .find(|&fd| sys::isatty(fd))
        .and_then(|fd| sys::window_size(fd).ok())
}

/// Blocks `signals` and SIGWINCH and returns a signalfd(2) they can be read from.
/// Before the container starts, so none is missed; it gets them all back unblocked.
pub fn catch_signals(signals: &[libc::c_int]) -> Result<File> {
    let mut caught = signals.to_vec();
    caught.push(libc::SIGWINCH);
    sys::set_signal_mask(libc::SIG_BLOCK, &caught)?;
    sys::signalfd(&caught)
}

/// One terminal session: the container's terminal and the user's side of it.
pub struct Session<'a> {
    /// The master of the container's terminal.
    pub master: File,
    /// The user's input (`-i`), if it is relayed.
    pub input: Option<File>,
    /// Where the container's output goes, if anywhere (a detached one has only its log).
    pub output: Option<File>,
    pub log: Option<&'a mut Log>,
    /// Where forwarded signals go: the container's PID 1 (or an exec'd process).
    pub pid: libc::pid_t,
    /// The user's terminal, to restore at once when a signal ends the session.
    pub raw: Option<&'a RawMode>,
    /// A detached container's: where `skiff attach` connects (see [`attach`]).
    pub listener: Option<UnixListener>,
    /// Whether an attached client's input goes to the container (`-i`).
    pub open_stdin: bool,
    /// The `skiff attach` connected now, if any.
    client: Option<Client>,
}

impl<'a> Session<'a> {
    /// A session with the container's terminal `master`, whose process is `pid`.
    pub fn new(master: File, pid: libc::pid_t, log: Option<&'a mut Log>) -> Session<'a> {
        Session {
            master,
            input: None,
            output: None,
            log,
            pid,
            raw: None,
            listener: None,
            open_stdin: false,
            client: None,
        }
    }

    /// This skiff's own terminal, in `raw` mode, relayed to the container's: our stdout
    /// gets its output, and with `interactive` (`-i`) it gets our stdin.
    pub fn with_our_terminal(
        mut self,
        interactive: bool,
        raw: Option<&'a RawMode>,
    ) -> Result<Self> {
        self.input = interactive
            .then(|| duplicate(&std::io::stdin()))
            .transpose()?;
        self.output = Some(duplicate(&std::io::stdout())?);
        self.raw = raw;
        Ok(self)
    }
}

/// A `skiff attach`: its socket, and the keys that detach it.
struct Client {
    socket: UnixStream,
    keys: DetachKeys,
}

/// A duplicate of stdin or stdout as a plain `File`: read and written unbuffered.
pub fn duplicate(fd: &impl AsFd) -> Result<File> {
    let owned = fd.as_fd().try_clone_to_owned();
    Ok(File::from(owned.context("dup(2) skiff's stdio")?))
}

/// Bytes read from the input, waiting for the master to take them.
#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    sent: usize,
}

/// Why a session ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// No process holds the container's terminal any more (or our output has gone).
    Closed,
    /// SIGHUP or SIGTERM: the container's terminal was hung up, it may still run.
    HungUp,
}

const SIGNALS: usize = 0;
const MASTER: usize = 1;
const INPUT: usize = 2;
const LISTENER: usize = 3;
const CLIENT: usize = 4;

/// Relays until the container's terminal has no process left, or a signal ends the
/// session (the master is then closed: the container's terminal hangs up).
pub fn relay(mut session: Session, signals: &File) -> Result<Ended> {
    trace::step("-t: relay stdin -> master -> stdout in one poll(2) loop");
    sys::set_nonblocking(&session.master)?;
    let mut pending = Pending::default();
    let mut buffer = vec![0u8; 64 << 10];
    loop {
        let waiting = pending.sent < pending.bytes.len();
        let mut fds = poll_set(&session, signals, waiting);
        sys::poll(&mut fds, -1)?;
        if fds[SIGNALS].revents != 0 && !on_signal(&session, sys::read_signal(signals)?)? {
            return Ok(Ended::HungUp);
        }
        if fds[MASTER].revents & libc::POLLOUT != 0 {
            send(&mut session.master, &mut pending)?;
        }
        if fds[MASTER].revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0
            && !from_master(&mut session, &mut buffer)?
        {
            return Ok(Ended::Closed);
        }
        if fds[INPUT].revents != 0 {
            from_input(&mut session, &mut pending, &mut buffer)?;
        }
        if fds[LISTENER].revents != 0 {
            accept(&mut session)?;
        }
        if fds[CLIENT].revents != 0 {
            from_client(&mut session)?;
        }
    }
}

/// What the loop waits for: input only once the master has taken the last of it.
fn poll_set(session: &Session, signals: &File, waiting: bool) -> [libc::pollfd; 5] {
    let fd = |file: Option<RawFd>| file.unwrap_or(-1); // poll(2) skips a negative one
    let out = if waiting { libc::POLLOUT } else { 0 };
    [
        (signals.as_raw_fd(), libc::POLLIN),
        (session.master.as_raw_fd(), libc::POLLIN | out),
        // Out of the set while the master has not taken the last of it: poll(2) reports a
        // hangup whatever the events asked, and reading then would drop what waits.
        (
            fd(session
                .input
                .as_ref()
                .filter(|_| !waiting)
                .map(|f| f.as_raw_fd())),
            libc::POLLIN,
        ),
        (
            fd(session.listener.as_ref().map(|l| l.as_raw_fd())),
            libc::POLLIN,
        ),
        (
            fd(session.client.as_ref().map(|c| c.socket.as_raw_fd())),
            libc::POLLIN,
        ),
    ]
    .map(|(fd, events)| libc::pollfd {
        fd,
        events,
        revents: 0,
    })
}

/// Handles one caught signal; false when it ends the session.
fn on_signal(session: &Session, signal: libc::c_int) -> Result<bool> {
    if signal == libc::SIGWINCH {
        if let Some(size) = size() {
            sys::set_window_size(session.master.as_raw_fd(), &size)?;
        }
        return Ok(true);
    }
    trace::step(&format!("-t: signal {signal}: passed on to the container"));
    let _ = sys::kill(session.pid, signal); // it may have just ended
    let ends = signal == libc::SIGHUP || signal == libc::SIGTERM;
    if ends {
        if let Some(raw) = session.raw {
            raw.restore();
        }
    }
    Ok(!ends)
}

/// Passes on what the container printed; false once no process holds its terminal.
fn from_master(session: &mut Session, buffer: &mut [u8]) -> Result<bool> {
    let n = match session.master.read(buffer) {
        Ok(0) => return Ok(false),
        Ok(n) => n,
        Err(err) if err.kind() == ErrorKind::WouldBlock => return Ok(true),
        Err(err) if err.raw_os_error() == Some(libc::EIO) => return Ok(false),
        Err(err) => return Err(err).context("read the container's terminal"),
    };
    if let Some(log) = session.log.as_deref_mut() {
        log.write(Stream::Stdout, &buffer[..n])?;
    }
    if let Some(output) = &mut session.output {
        match output.write_all(&buffer[..n]) {
            // An attached client has gone: the container runs on.
            Err(_) if session.client.is_some() => detach(session, false),
            // Our own reader has gone: hang up, as a closed ssh session would.
            Err(err) if err.kind() == ErrorKind::BrokenPipe => return Ok(false),
            other => other.context("write the container's output")?,
        }
    }
    Ok(true)
}

/// Reads what the user typed and offers it to the master; an attached client's
/// detach keys end its attachment instead.
fn from_input(session: &mut Session, pending: &mut Pending, buffer: &mut [u8]) -> Result<()> {
    let Some(input) = &mut session.input else {
        return Ok(());
    };
    let n = input.read(buffer).context("read stdin")?;
    if n == 0 {
        session.input = None; // end of input: nothing more to relay
        return Ok(());
    }
    pending.bytes.clear();
    pending.sent = 0;
    let detached = match &mut session.client {
        Some(client) => client.keys.filter(&buffer[..n], &mut pending.bytes),
        None => {
            pending.bytes.extend_from_slice(&buffer[..n]);
            false
        }
    };
    if detached {
        detach(session, true);
    }
    send(&mut session.master, pending)
}

/// Writes what the master takes without blocking; the rest waits for POLLOUT.
fn send(master: &mut File, pending: &mut Pending) -> Result<()> {
    while pending.sent < pending.bytes.len() {
        match master.write(&pending.bytes[pending.sent..]) {
            Ok(n) => pending.sent += n,
            Err(err) if err.kind() == ErrorKind::WouldBlock => return Ok(()),
            Err(err) => return Err(err).context("write to the container's terminal"),
        }
    }
    Ok(())
}

/// `skiff attach` connected: its stdin and stdout arrive as `SCM_RIGHTS` messages
/// (the first carrying its detach keys), and the session relays to them from now on.
fn accept(session: &mut Session) -> Result<()> {
    let Some(listener) = &session.listener else {
        return Ok(());
    };
    let (socket, _) = listener.accept().context("accept(2) an attach")?;
    trace::step("attach: a client's stdin and stdout come over the socket (SCM_RIGHTS)");
    let mut keys = [0u8; 64];
    let (n, input) = sys::recv_fd(&socket, &mut keys)?;
    let (_, output) = sys::recv_fd(&socket, &mut [0])?;
    let (Some(input), Some(output)) = (input, output) else {
        return Ok(()); // not a skiff attach: dropped
    };
    detach(session, true); // one client at a time: the newest; the last one is told
    session.input = session.open_stdin.then_some(input);
    session.output = Some(output);
    session.client = Some(Client {
        socket,
        keys: DetachKeys::new(keys[1..n].to_vec()),
    });
    resize_to_client(session)
}

/// Each byte from the client says its window changed; end of file, that it has gone.
fn from_client(session: &mut Session) -> Result<()> {
    let Some(client) = &mut session.client else {
        return Ok(());
    };
    match client.socket.read(&mut [0u8; 16]) {
        Ok(0) | Err(_) => {
            detach(session, false);
            Ok(())
        }
        Ok(_) => resize_to_client(session),
    }
}

/// The master takes the size of the attached client's terminal.
fn resize_to_client(session: &Session) -> Result<()> {
    let size = [&session.output, &session.input]
        .into_iter()
        .flatten()
        .find_map(|file| sys::window_size(file.as_raw_fd()).ok());
    match size {
        Some(size) => sys::set_window_size(session.master.as_raw_fd(), &size),
        None => Ok(()),
    }
}

/// Lets the client go, telling it (`d`) unless it went itself; the container runs on.
fn detach(session: &mut Session, tell: bool) {
    if let Some(mut client) = session.client.take() {
        trace::step("attach: the client goes, the container stays");
        if tell {
            let _ = client.socket.write_all(b"d"); // it may be gone already
        }
    }
    session.input = None;
    session.output = None;
}

/// `--detach-keys`: a sequence that, typed, detaches instead of reaching the container.
struct DetachKeys {
    keys: Vec<u8>,
    matched: usize,
}

impl DetachKeys {
    fn new(keys: Vec<u8>) -> DetachKeys {
        DetachKeys { keys, matched: 0 }
    }

    /// Appends to `out` what goes to the container; true once the whole sequence was
    /// typed. A partial match is held back until it is complete or broken.
    fn filter(&mut self, typed: &[u8], out: &mut Vec<u8>) -> bool {
        for &byte in typed {
            if self.keys.is_empty() {
                out.push(byte);
                continue;
            }
            if self.matched > 0 && byte != self.keys[self.matched] {
                out.extend_from_slice(&self.keys[..self.matched]);
                self.matched = 0;
            }
            if byte != self.keys[self.matched] {
                out.push(byte);
                continue;
            }
            self.matched += 1;
            if self.matched == self.keys.len() {
                self.matched = 0;
                return true;
            }
        }
        false
    }
}

/// Docker's `--detach-keys` format: comma-separated keys, each one character or
/// `ctrl-X` (X a letter or one of `@[\]^_`); empty means none.
/// <https://docs.docker.com/reference/cli/docker/#customize-the-detach-sequence>
pub fn parse_detach_keys(text: &str) -> Result<Vec<u8>> {
    let invalid = || Error::usage(format!("Invalid detach keys ({text}) provided"));
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|key| match key.strip_prefix("ctrl-").map(str::as_bytes) {
            Some([c @ b'a'..=b'z']) => Ok(c - b'a' + 1),
            Some([c @ (b'@' | b'[' | b'\\' | b']' | b'^' | b'_')]) => Ok(c - b'@'),
            Some(_) => Err(invalid()),
            None => match key.as_bytes() {
                [c] if c.is_ascii() => Ok(*c),
                _ => Err(invalid()),
            },
        })
        .collect()
}

/// `skiff attach`: hands our stdin and stdout to the container's supervisor over
/// `socket` and waits, our terminal in raw mode. True if the container ended, false
/// if we detached (the keys, or SIGHUP, SIGTERM or SIGINT to this process).
pub fn attach(socket: UnixStream, keys: &[u8]) -> Result<bool> {
    let signals = catch_signals(&[libc::SIGHUP, libc::SIGTERM, libc::SIGINT])?;
    let _raw = match sys::isatty(0) {
        true => Some(RawMode::enter(0)?),
        false => None,
    };
    sys::send_fd(&socket, &std::io::stdin(), &[&b"k"[..], keys].concat())?;
    sys::send_fd(&socket, &std::io::stdout(), b"o")?;
    let mut socket = socket;
    loop {
        let mut fds = [socket.as_raw_fd(), signals.as_raw_fd()].map(|fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        });
        sys::poll(&mut fds, -1)?;
        if fds[1].revents != 0 {
            if sys::read_signal(&signals)? != libc::SIGWINCH {
                return Ok(false);
            }
            socket
                .write_all(b"w")
                .context("tell the supervisor of a resize")?;
        }
        if fds[0].revents != 0 {
            let mut note = [0u8];
            let n = socket.read(&mut note).context("read the attach socket")?;
            return Ok(n == 0); // "d": detached; end of file: the container has ended
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_keys_parse_as_docker_writes_them() {
        assert_eq!(parse_detach_keys("ctrl-p,ctrl-q").unwrap(), [16, 17]);
        assert_eq!(parse_detach_keys("a,ctrl-@,ctrl-_").unwrap(), [b'a', 0, 31]);
        assert!(parse_detach_keys("").unwrap().is_empty());
        let err = parse_detach_keys("ctrl-pq").unwrap_err();
        assert_eq!(err.to_string(), "Invalid detach keys (ctrl-pq) provided");
    }

    #[test]
    fn detach_keys_are_held_back_until_complete_or_broken() {
        let mut keys = DetachKeys::new(vec![16, 17]);
        let mut out = Vec::new();
        assert!(!keys.filter(b"ab\x10", &mut out));
        assert_eq!(out, b"ab");
        assert!(!keys.filter(b"\x10c", &mut out)); // a false start goes through
        assert_eq!(out, b"ab\x10\x10c");
        out.clear();
        assert!(!keys.filter(b"\x10", &mut out));
        assert!(keys.filter(b"\x11", &mut out));
        assert!(out.is_empty());
    }
}
