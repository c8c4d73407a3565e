//! Namespaces: each gives the container its own copy of one global resource.
//!
//! - PID (`CLONE_NEWPID`): the container's first process is PID 1 and sees only its
//!   descendants. unshare(2) does not move the caller; its *next child* is PID 1, which
//!   is why skiff unshares this one in the parent, then forks.
//! - Mount (`CLONE_NEWNS`): a private copy of the mount table to pivot_root in.
//! - UTS (`CLONE_NEWUTS`): its own hostname.
//! - IPC (`CLONE_NEWIPC`): its own System V IPC and POSIX message queues.
//!
//! unshare(2) makes a PID namespace only from the caller's own: a supervisor that
//! restarts a container (`lifecycle::restart`) still has the last one's, dead, for
//! its children, so it first setns(2)s them back into its own.
//!
//! The mount namespace is unshared in the child, not the parent: pivot_root(2) changes
//! the root of every process of the namespace still at the old root, skiff included.
//! <https://man7.org/linux/man-pages/man7/namespaces.7.html>

use crate::error::{Context, Result};
use crate::sys;
use crate::trace;

/// In the parent: the next fork is PID 1 of a new PID namespace.
pub fn new_pid_namespace() -> Result<()> {
    trace::step("new PID namespace: the next process we fork will be its PID 1");
    match sys::unshare(sys::CLONE_NEWPID) {
        Err(err) if err.errno() == Some(libc::EINVAL) => {
            own_pid_namespace()?;
            sys::unshare(sys::CLONE_NEWPID)
        }
        other => other,
    }
}

/// Our children are born in our own PID namespace again: after the PID 1 of the one
/// [`new_pid_namespace`] made has ended, fork(2) into it fails (ENOMEM).
pub fn own_pid_namespace() -> Result<()> {
    let ours = std::fs::File::open("/proc/self/ns/pid").context("open /proc/self/ns/pid")?;
    sys::setns(&ours, sys::CLONE_NEWPID, "/proc/self/ns/pid")
}

/// In the child: its own mount table, hostname and IPC.
pub fn unshare_the_rest(hostname: &str) -> Result<()> {
    trace::step("new mount, UTS and IPC namespaces, and a hostname of its own");
    sys::unshare(sys::CLONE_NEWNS | sys::CLONE_NEWUTS | sys::CLONE_NEWIPC)?;
    sys::sethostname(hostname)
}
