//! The end of a container's mounts, taken off the path of its exit.
//!
//! When a process ends, do_exit() in the kernel lets go of its namespaces
//! (exit_task_namespaces) *before* it tells its parent (exit_notify): waitpid(2), and
//! a pidfd, report the end only after that. If the process was the last of its mount
//! namespace, the whole namespace is taken down in its exit: the ~45 mounts of a
//! container unhooked, an RCU grace period waited for (namespace_unlock), then each
//! superblock shut down (overlayfs, /proc, /sys, the tmpfs mounts, devpts, mqueue,
//! nine v1 cgroupfs). overlayfs's shutdown syncs its upper directory's whole filesystem
//! (ovl_sync_fs: here `/`, with whatever else is dirty on it) and waits for a second
//! grace period. Measured here with perf (cpu-clock and sched_switch stacks of PID 1
//! between exit_group(2) and its parent's wait4(2)): the sync and the two grace
//! periods are most of it, and the time went by before the cleanup could even start.
//!
//! A namespace lives as long as something refers to it: a process in it, or an open
//! `/proc/PID/ns/mnt` (namespaces(7), "The namespace lifetime"). So the container's
//! PID 1 is born in its mount namespace (clone(2) `CLONE_NEWNS`, see `namespaces`) and
//! its starter opens that at once ([`Mounts::hold`]), before the child could end. The
//! exit of PID 1 then drops one reference of two, and its parent hears of it at once.
//! The supervisor forks a reaper ([`Mounts::let_go`]), which setns(2)s into the
//! namespace and exits: the last of its members, it takes the mounts down in its own
//! exit, on the other core, while the supervisor gives back the address and removes
//! the cgroup and (`--rm`) the records. The supervisor waits for the reaper before it
//! returns, and before it records the container as ended: when `skiff run --rm`
//! returns, nothing of the container is left, as before.
//!
//! Why the cleanup may run while the namespace dies: nothing it removes is a mount
//! point in skiff's namespace, and rmdir(2) and unlink(2) are refused (EBUSY) only for
//! those. The cgroupfs mounted in the container are *rooted* at its cgroup directories,
//! which rmdir(2) removes all the same; overlayfs holds `upper/` and `work/` by
//! reference, so unlinking them frees their blocks when the reaper drops the last one;
//! a volume is the source of a bind mount, not its mount point. What must wait is a
//! new start: overlayfs says that two mounts using the same upper and work directories
//! at once is undefined, so a container that stays is recorded as ended (and may be
//! started again) only once the reaper is done; an `--rm` one is removed beside it,
//! since once its record is gone nobody can start it again.
//!
//! Where nothing holds the namespace, PID 1's exit takes it down as before: under the
//! OCI runtime CLI (`create` exits at once; the caller's subreaper waits for PID 1, as
//! with runc and crun), and for a container that joins another's mount namespace.
//! <https://man7.org/linux/man-pages/man7/namespaces.7.html>
//! <https://man7.org/linux/man-pages/man2/setns.2.html>
//! <https://docs.kernel.org/filesystems/overlayfs.html>

use std::fs::File;
use std::os::fd::AsRawFd;

use super::namespaces::Shared;
use crate::sys;
use crate::trace;

/// A container's mount namespace, held open so that its PID 1's exit does not take it
/// down.
pub struct Mounts(File);

/// The process that takes a container's mounts down: they are gone once it has ended.
#[must_use]
pub struct Reaper(Option<libc::pid_t>);

impl Mounts {
    /// In the starter, as soon as PID 1 is forked: its mount namespace, if it has one of
    /// its own (`None` too if it has ended already: then its exit took the mounts down).
    pub fn hold(pid: libc::pid_t, shared: &Shared) -> Option<Mounts> {
        if !shared.owns(sys::CLONE_NEWNS) {
            return None;
        }
        File::open(format!("/proc/{pid}/ns/mnt")).ok().map(Mounts)
    }

    /// Once PID 1 has ended: forks the reaper. It holds nothing else of the supervisor's
    /// (a lock on a descriptor would outlive the supervisor's release of it), and once
    /// it has joined, the order in which it and the supervisor close their descriptors
    /// does not matter. Where it cannot be forked, the mounts go here, at the drop.
    pub fn let_go(self) -> Reaper {
        trace::step("let go of its mounts: a reaper joins their namespace and ends, the last in it: the kernel takes them down in its exit, beside the cleanup");
        match sys::fork() {
            Ok(Some(pid)) => Reaper(Some(pid)),
            Ok(None) => {
                let joined = sys::close_from_3_except(&[self.0.as_raw_fd()])
                    .and_then(|()| sys::setns(&self.0, sys::CLONE_NEWNS, "its mount namespace"));
                if let Err(err) = &joined {
                    trace::step(&format!(
                        "the reaper: {err}: the last close takes them down"
                    ));
                }
                sys::exit_now(i32::from(joined.is_err()))
            }
            Err(err) => {
                trace::step(&format!("{err}: its mounts go here"));
                Reaper(None)
            }
        }
    }
}

impl Reaper {
    /// Returns once the container's mounts are gone.
    pub fn wait(self) {
        if let Some(pid) = self.0 {
            if let Err(err) = sys::wait_for_exit(pid) {
                trace::step(&format!("the reaper: {err}"));
            }
        }
    }
}
