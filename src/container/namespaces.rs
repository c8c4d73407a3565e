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
//!
//! An OCI bundle may ask for less (`Options::namespaces`): a kind it leaves out is
//! shared with the runtime (the spec's "inherit"), and one given by `path` is joined
//! with setns(2) instead of made, as a Kubernetes pod's containers join its pause
//! container's IPC, UTS and PID namespaces. Every path is opened by the parent before
//! it forks, and joined in runc's order (`nsexec.c`): IPC, UTS, (network), PID, mount,
//! cgroup; the user namespace apart and last (`userns`). A PID namespace, joined as
//! made, holds the parent's next child, not the parent; setns(2) with the kind's flag
//! refuses a file of another kind (EINVAL). Without a UTS namespace of its own, the
//! container's hostname is the host's, never set; a joined one keeps its own unless
//! the bundle names one, as runc sets one only when given. The cgroup namespace is
//! joined last, after the container's own (`cgroup::enter`) has mounted /sys/fs/cgroup:
//! a cgroupfs shows the cgroup namespace it was mounted in, so the container still sees
//! only its own cgroup there, as runc binds it, while /proc/self/cgroup shows the
//! joined view.
//! <https://man7.org/linux/man-pages/man7/namespaces.7.html>
//! <https://man7.org/linux/man-pages/man2/setns.2.html>
//! <https://github.com/opencontainers/runtime-spec/blob/main/config-linux.md#namespaces>

use std::fs::File;

use super::Options;
use crate::cgroup::{self, Cgroup};
use crate::error::{Context, Result};
use crate::sys;
use crate::trace;

/// The kinds a container may share or join, as /proc/PID/ns names them, in the order
/// they are joined.
const KINDS: [(&str, libc::c_int); 5] = [
    ("ipc", sys::CLONE_NEWIPC),
    ("uts", sys::CLONE_NEWUTS),
    ("pid", sys::CLONE_NEWPID),
    ("mnt", sys::CLONE_NEWNS),
    ("cgroup", sys::CLONE_NEWCGROUP),
];

/// The namespaces a container does not make itself: those it shares with skiff
/// (their flags), and those it joins, opened.
#[derive(Default)]
pub struct Shared {
    host: libc::c_int,
    joined: Vec<(libc::c_int, File, String)>,
}

impl Shared {
    /// Opens each namespace `options` names by path; the cgroup namespace shared with
    /// skiff is skiff's own, opened too: the container makes one all the same
    /// (`cgroup::enter`), then joins this.
    pub fn open(options: &Options) -> Result<Shared> {
        let mut shared = Shared::default();
        let given = options.namespaces.iter().flatten();
        for (kind, flag) in KINDS {
            let path = match given.clone().find(|(k, _)| *k == kind) {
                Some((_, path)) if path == "host" && kind == "cgroup" => "/proc/self/ns/cgroup",
                Some((_, path)) if path == "host" => {
                    shared.host |= flag;
                    continue;
                }
                Some((_, path)) => path.as_str(),
                None => continue,
            };
            let file =
                File::open(path).with_context(|| format!("open the {kind} namespace {path}"))?;
            shared.joined.push((flag, file, path.to_string()));
        }
        Ok(shared)
    }

    /// Whether the container has a namespace of this kind of its own.
    pub fn owns(&self, flag: libc::c_int) -> bool {
        self.host & flag == 0 && !self.joined.iter().any(|(f, _, _)| *f == flag)
    }

    fn join(&self, flags: libc::c_int) -> Result<()> {
        let joined = self.joined.iter().filter(|(flag, _, _)| flags & flag != 0);
        for (flag, file, path) in joined {
            sys::setns(file, *flag, path)?;
        }
        Ok(())
    }
}

/// In the parent: the container's first process (`None` in the child, its pid in the
/// parent), forked into a new PID namespace as its PID 1 (and on cgroup v2 into its
/// cgroup), or into the one `shared` joins, or skiff's own.
pub fn fork_pid_1(cgroup: Option<&Cgroup>, shared: &Shared) -> Result<Option<libc::pid_t>> {
    let joins = shared
        .joined
        .iter()
        .any(|(flag, _, _)| *flag == sys::CLONE_NEWPID);
    if shared.owns(sys::CLONE_NEWPID) {
        trace::step("fork its PID 1, in a new PID namespace");
        return cgroup::fork_into(cgroup, sys::CLONE_NEWPID); // clone(2); v2: clone3(2) into it
    } else if !joins {
        trace::step("fork its first process, in skiff's own PID namespace");
        return cgroup::fork_into(cgroup, 0);
    }
    trace::step("join its PID namespace for one fork: the process is born in it");
    let ours = File::open("/proc/self/ns/pid").context("open /proc/self/ns/pid")?;
    shared.join(sys::CLONE_NEWPID)?;
    let forked = cgroup::fork_into(cgroup, 0)?;
    if forked.is_some() {
        // The parent's later children (the OCI hooks) are born in the runtime's own.
        sys::setns(&ours, sys::CLONE_NEWPID, "/proc/self/ns/pid")?;
    }
    Ok(forked)
}

/// In the child: its own mount table, hostname and IPC, or those `shared` joins; an
/// empty `hostname` leaves the UTS namespace's as it is.
pub fn enter(shared: &Shared, hostname: &str) -> Result<()> {
    trace::step("new mount, UTS and IPC namespaces, and a hostname of its own");
    let own = [sys::CLONE_NEWNS, sys::CLONE_NEWUTS, sys::CLONE_NEWIPC];
    let own = own.into_iter().filter(|flag| shared.owns(*flag));
    let new = own.fold(0, |flags, flag| flags | flag);
    if new != 0 {
        sys::unshare(new)?;
    }
    shared.join(!(sys::CLONE_NEWPID | sys::CLONE_NEWCGROUP))?;
    match shared.host & sys::CLONE_NEWUTS == 0 && !hostname.is_empty() {
        true => sys::sethostname(hostname),
        false => Ok(()),
    }
}

/// In the child, once its own cgroup namespace has mounted /sys/fs/cgroup (which
/// keeps showing its cgroup alone, as runc's binds of it do): the cgroup namespace
/// `shared` joins instead.
pub fn leave_own_cgroup_namespace(shared: &Shared) -> Result<()> {
    shared.join(sys::CLONE_NEWCGROUP)
}
