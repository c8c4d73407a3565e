//! `--init`: a tiny init as the container's PID 1, as `docker run --init` puts tini there.
//!
//! PID 1 of a PID namespace has two duties most programs don't expect
//! (pid_namespaces(7)): orphaned processes are re-parented to it, so it must reap them
//! or zombies pile up; and the kernel drops any signal it has not installed a handler
//! for, so a plain `SIGTERM` from `skiff stop` does nothing to it. skiff's init is
//! skiff itself: the process that would have exec'd the command forks once more; the
//! child execs the command, and PID 1 forwards signals to it and reaps every child
//! until the command ends, then exits with the command's status (the kernel then
//! kills whatever is left in the namespace).
//! <https://man7.org/linux/man-pages/man7/pid_namespaces.7.html>

use std::fs::File;
use std::os::fd::RawFd;

use super::{Failed, FORWARDED};
use crate::sys;
use crate::trace;

/// Forks the command's process. Returns (with the exec-status pipe) only in the child;
/// PID 1 keeps reaping until the command ends, then exits with its status.
pub fn split_off_command(exec_status: File) -> Result<File, Failed> {
    trace::step("--init: stay PID 1 to reap orphans and forward signals; the command is its child");
    let forked = sys::forward_signals(&FORWARDED).and_then(|()| sys::fork());
    let command = match forked {
        Err(err) => return Err((err, exec_status)),
        Ok(None) => return Ok(exec_status),
        Ok(Some(command)) => command,
    };
    drop(exec_status); // the command's exec alone must close it
    sys::forward_signals_to(command);
    // PID 1 never execs, so close-on-exec never sheds what it inherited (the
    // supervisor's pipes among them): close it all, or their readers never see EOF.
    if let Err(err) = sys::close_range(3, RawFd::MAX) {
        sys::exit_now(err.exit_code());
    }
    let status = loop {
        match sys::wait_any() {
            Ok((pid, exit)) if pid == command => break exit,
            Ok(_) => continue, // an orphan, reaped
            Err(err) => sys::exit_now(err.exit_code()),
        }
    };
    sys::exit_now(status.status())
}
