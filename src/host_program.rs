//! Running a program of the host and collecting what it writes: a credential helper
//! (`docker-credential-NAME get`) or `ps` for `skiff top`.
//!
//! fork(2), then in the child dup2(2) the three pipes onto stdin, stdout and stderr and
//! execve(2) the program found on `PATH`; the parent writes the input, reads both pipes
//! to their end and reaps the child with wait4(2). Done with skiff's own wrappers, not
//! std's `Command`, which cost the binary 14 KB. The pipes are read one after the other:
//! a helper writes a line or two, far below what a pipe holds (pipe(7): 64 KiB), so it
//! never waits for us to read its stderr while we read its stdout; `ps` may write more,
//! but to stdout, and its stderr is an error line.
//!
//! <https://man7.org/linux/man-pages/man2/fork.2.html>
//! <https://man7.org/linux/man-pages/man7/pipe.7.html>

use std::io::{Read, Write};
use std::os::fd::AsRawFd;

use crate::container;
use crate::error::{Context, Result};
use crate::sys::{self, Exit};

/// `program ARGS…`, found on the host's `PATH`, with `input` on its stdin and pipes
/// for its stdout and stderr: how it ended, and what it wrote.
pub fn run(program: &str, args: &[&str], input: &[u8]) -> Result<(Exit, Vec<u8>, Vec<u8>)> {
    let path_var = std::env::var("PATH").unwrap_or_default();
    let path = sys::c_string(container::find_program(
        program,
        &[format!("PATH={path_var}")],
    )?)?;
    let argv = std::iter::once(program).chain(args.iter().copied());
    let argv = argv.map(sys::c_string).collect::<Result<Vec<_>>>()?;
    let env = std::env::vars_os().map(|(mut key, value)| {
        key.push("=");
        key.push(value);
        sys::c_string(key)
    });
    let env = env.collect::<Result<Vec<_>>>()?;
    let [(stdin, to_stdin), (from_stdout, stdout), (from_stderr, stderr)] =
        [sys::pipe()?, sys::pipe()?, sys::pipe()?];
    let Some(pid) = sys::fork()? else {
        // the child: its stdio on the pipes (dup2 clears O_CLOEXEC), then it
        for (fd, target) in [(&stdin, 0), (&stdout, 1), (&stderr, 2)] {
            if sys::dup2(fd.as_raw_fd(), target).is_err() {
                sys::exit_now(127);
            }
        }
        let err = sys::execve(&path, &argv, &env);
        let _ = writeln!(std::io::stderr(), "{err}"); // its stderr: our pipe
        sys::exit_now(127)
    };
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
