//! `-t`, inside the container: a pseudo-terminal of its own on fds 0–2.
//!
//! A pseudo-terminal is a pair of character devices (pty(7)): whatever is written to
//! the *master* reads as typed on the *slave*, and what programs write to the slave
//! reads from the master, with the kernel's line discipline between them (echo, line
//! editing, Ctrl-C as SIGINT, `\n` as `\r\n`: termios(3)). Opening the multiplexor
//! `ptmx` makes a new pair; the slave appears as `/dev/pts/N` on the devpts
//! filesystem the `ptmx` belongs to (pts(4)).
//!
//! As runc and crun do, the pair is made from *inside* the container, after its root
//! is entered: `/dev/pts` there is a devpts `newinstance` of the container's own
//! (`ptmxmode=0666,mode=620,gid=5`, see `mounts`), so the slave's `/dev/pts/N` exists
//! in the container and nowhere else. The `/dev/pts/ptmx` opened is checked to be that
//! instance's real multiplexor (devpts's magic number, inode 2, device 5:2), since the
//! image could have put anything at that path. The slave then goes on fds 0–2 and, for
//! the container's first process only, is bound over `/dev/console` (an `exec -t`'s
//! terminal must not take the console from the container); the process starts a
//! session (setsid(2), done earlier for every container and exec'd process) and takes
//! the slave as its controlling terminal
//! (`TIOCSCTTY`), so Ctrl-C and the terminal's hangup reach it. The size is set
//! before execve(2), so the command never sees 0×0 or 80×24 first.
//!
//! The master goes back to skiff over a Unix socket as an `SCM_RIGHTS` message (the
//! OCI runtime spec's console socket carries it the same way), and the container keeps
//! no copy. The container never gets the host's own terminal: a process holding that
//! could type into the host's shell with the `TIOCSTI` ioctl.
//! <https://man7.org/linux/man-pages/man7/pty.7.html>
//! <https://man7.org/linux/man-pages/man4/pts.4.html>
//! <https://docs.kernel.org/filesystems/devpts.html>
//! <https://man7.org/linux/man-pages/man7/unix.7.html> (`SCM_RIGHTS`)
//! <https://github.com/opencontainers/runtime-spec/blob/main/runtime.md> (consoleSocket)

use std::fs::{self, File};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::os::unix::net::UnixStream;
use std::path::Path;

use crate::error::{Context, Error, Result};
use crate::sys::{self, MS_BIND};
use crate::trace;

/// devpts's `f_type` in statfs(2).
const DEVPTS_SUPER_MAGIC: i64 = 0x1cd1;

/// Whether a new terminal also becomes the container's `/dev/console`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Console {
    /// The container's first process: its terminal is the console.
    Bind,
    /// An `exec -t`: the console stays the first process's.
    Leave,
}

/// Makes a terminal in the container, puts it on fds 0–2 as the controlling terminal,
/// of `size` if known, and sends its master over `socket`.
pub fn attach(socket: UnixStream, size: Option<libc::winsize>, console: Console) -> Result<()> {
    trace::step("-t: a pseudo-terminal from the container's own devpts; its master goes to skiff");
    let master = open_multiplexor(Path::new("/dev/pts/ptmx"))?;
    let number = sys::unlock_pty(&master)?;
    let slave = sys::open_pty_slave(&master)?;
    if let Some(size) = size.filter(|size| size.ws_row > 0 && size.ws_col > 0) {
        sys::set_window_size(slave.as_raw_fd(), &size)?;
    }
    if console == Console::Bind {
        bind_console(&Path::new("/dev/pts").join(number.to_string()))?;
    }
    for fd in 0..3 {
        sys::dup2(slave.as_raw_fd(), fd)?;
    }
    drop(slave);
    sys::set_controlling_terminal(0)?;
    sys::send_fd(&socket, &master, b"t") // the container's copies close here
}

/// Opens `/dev/pts/ptmx` and checks that it is a devpts instance's multiplexor.
fn open_multiplexor(path: &Path) -> Result<File> {
    let master = File::options()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(path)
        .with_context(|| format!("-t: open {}", path.display()))?;
    let meta = master.metadata().context("-t: stat /dev/pts/ptmx")?;
    let real = sys::filesystem_type(&master)? == DEVPTS_SUPER_MAGIC
        && meta.ino() == 2
        && meta.rdev() == libc::makedev(5, 2);
    if !real {
        return Err(Error::invalid(format!(
            "-t: {} is not the multiplexor of a devpts (no devpts of the container's own here?)",
            path.display()
        )));
    }
    Ok(master)
}

/// Binds the slave over `/dev/console`, which programs open to reach "the" terminal.
fn bind_console(slave: &Path) -> Result<()> {
    let console = Path::new("/dev/console");
    if fs::symlink_metadata(console).is_err() {
        File::create(console).context("-t: create /dev/console")?;
    }
    sys::mount(Some(slave), console, None, MS_BIND, None)
}
