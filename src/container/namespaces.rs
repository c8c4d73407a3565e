//! Namespaces: each gives the container its own copy of one global resource.
//!
//! - PID (`CLONE_NEWPID`): the container's first process is PID 1 and sees only its
//!   descendants. skiff makes it with clone(2) `CLONE_NEWPID`, never unshare(2): an
//!   unshare would set the namespace of all skiff's later children for good
//!   (`/proc/self/ns/pid_for_children`), so a supervisor that restarts the container
//!   (`lifecycle::restart`) could make no second one (EINVAL), nor fork into the first
//!   once its PID 1 has ended (ENOMEM); nor, rootless, setns(2) back into its own.
//! - Mount (`CLONE_NEWNS`): a private copy of the mount table to pivot_root in.
//! - UTS (`CLONE_NEWUTS`): its own hostname.
//! - IPC (`CLONE_NEWIPC`): its own System V IPC and POSIX message queues.
//!
//! The mount namespace is unshared in the child, not the parent: pivot_root(2) changes
//! the root of every process of the namespace still at the old root, skiff included.
//! <https://man7.org/linux/man-pages/man7/namespaces.7.html>

use crate::cgroup::{self, Cgroup};
use crate::error::Result;
use crate::sys;
use crate::trace;

/// In the parent: the container's PID 1, forked into a new PID namespace (and on
/// cgroup v2 into its cgroup): `None` in the child, its pid in the parent.
pub fn fork_pid_1(cgroup: Option<&Cgroup>) -> Result<Option<libc::pid_t>> {
    trace::step("fork its PID 1, in a new PID namespace");
    cgroup::fork_into(cgroup, sys::CLONE_NEWPID) // clone(2); v2: clone3(2) into it
}

/// In the child: its own mount table, hostname and IPC.
pub fn unshare_the_rest(hostname: &str) -> Result<()> {
    trace::step("new mount, UTS and IPC namespaces, and a hostname of its own");
    sys::unshare(sys::CLONE_NEWNS | sys::CLONE_NEWUTS | sys::CLONE_NEWIPC)?;
    sys::sethostname(hostname)
}
