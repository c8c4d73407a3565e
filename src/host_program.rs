//! Running a program of the host: a credential helper (`docker-credential-NAME get`)
//! or `ps` for `skiff top`, collecting what it writes; slirp4netns for a rootless
//! container's network (`network::slirp`), left running.
//!
//! fork(2), then in the child dup2(2) the descriptors it is to have onto 0, 1, 2, …
//! (for a helper, three pipes), close the rest, and execve(2) the program found on
//! `PATH`; the parent writes the input, reads both pipes
//! to their end and reaps the child with wait4(2). Done with skiff's own wrappers, not
//! std's `Command`, which cost the binary 14 KB. The pipes are read one after the other:
//! a helper writes a line or two, far below what a pipe holds (pipe(7): 64 KiB), so it
//! never waits for us to read its stderr while we read its stdout; `ps` may write more,
//! but to stdout, and its stderr is an error line.
//!
//! <https://man7.org/linux/man-pages/man2/fork.2.html>
//! <https://man7.org/linux/man-pages/man7/pipe.7.html>

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::path::PathBuf;

use crate::container;
use crate::error::{Context, Result};
use crate::sys::{self, Exit};

/// `program ARGS…`, found on the host's `PATH`, with `input` on its stdin and pipes
/// for its stdout and stderr: how it ended, and what it wrote.
pub fn run(program: &str, args: &[&str], input: &[u8]) -> Result<(Exit, Vec<u8>, Vec<u8>)> {
    let [(stdin, to_stdin), (from_stdout, stdout), (from_stderr, stderr)] =
        [sys::pipe()?, sys::pipe()?, sys::pipe()?];
    let fds = [stdin.as_raw_fd(), stdout.as_raw_fd(), stderr.as_raw_fd()];
    let pid = spawn(program, args, &fds, false)?;
    drop((stdin, stdout, stderr));
    // A program that exits without reading says why in its exit status and output.
    let _ = (&to_stdin).write_all(input);
    drop(to_stdin);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let read = (&from_stdout)
        .read_to_end(&mut out)
        .and_then(|_| (&from_stderr).read_to_end(&mut err));
    let exit = sys::wait_for_exit(pid)?; // reaped, whatever the reading gave
    read.context("read its output")?;
    Ok((exit, out, err))
}

/// Where `program` is on the host's `PATH` (a "command not found" error if nowhere).
pub fn find(program: &str) -> Result<PathBuf> {
    let path_var = std::env::var("PATH").unwrap_or_default();
    container::find_program(program, &[format!("PATH={path_var}")])
}

/// Starts `program ARGS…`, found on the host's `PATH`, with `fds` as its descriptors
/// 0, 1, 2, … and no others; with `own_session`, in a session of its own (setsid(2)),
/// where no signal meant for skiff's terminal (Ctrl-C) reaches it. Returns its pid,
/// for the caller to reap.
pub fn spawn(
    program: &str,
    args: &[&str],
    fds: &[RawFd],
    own_session: bool,
) -> Result<libc::pid_t> {
    let path = sys::c_string(find(program)?)?;
    let argv = std::iter::once(program).chain(args.iter().copied());
    let argv = argv.map(sys::c_string).collect::<Result<Vec<_>>>()?;
    let env = std::env::vars_os().map(|(mut key, value)| {
        key.push("=");
        key.push(value);
        sys::c_string(key)
    });
    let env = env.collect::<Result<Vec<_>>>()?;
    let Some(pid) = sys::fork()? else {
        if take_fds(fds)
            .and_then(|()| own_session.then(sys::setsid).transpose())
            .is_err()
        {
            sys::exit_now(127);
        }
        let err = sys::execve(&path, &argv, &env);
        let _ = writeln!(std::io::stderr(), "{err}"); // its stderr, from `fds`
        sys::exit_now(127)
    };
    Ok(pid)
}

/// In the child: `fds` onto 0, 1, 2, … (dup2 clears O_CLOEXEC), by way of numbers above
/// all of them, so that none is overwritten before it is copied; then every other
/// descriptor closed.
fn take_fds(fds: &[RawFd]) -> Result<()> {
    let count = fds.len() as RawFd;
    let above = fds.iter().copied().fold(count, RawFd::max) + 1;
    for (fd, i) in fds.iter().zip(0..) {
        sys::dup2(*fd, above + i)?;
    }
    for i in 0..count {
        sys::dup2(above + i, i)?;
    }
    sys::close_range(count, RawFd::MAX)
}
