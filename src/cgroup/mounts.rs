//! What the container sees of its cgroup: a read-only cgroupfs at `/sys/fs/cgroup`.
//!
//! Programs find their limits where a host keeps them (a JVM sizes its heap from
//! `memory.max`), so, as Docker does, the container gets sysfs at `/sys` and a cgroupfs
//! at `/sys/fs/cgroup`, both read-only. Mounted from inside its cgroup namespace, a
//! cgroupfs is rooted at the container's own cgroup: it shows its limits and meters
//! and nothing of the host's tree. On v2 that is one `cgroup2` mount; on v1, a tmpfs
//! holding one mount per tree, named as on the host, then made read-only itself.
//!
//! This runs once the container's root is `/`, so every path here is the container's.
//! <https://man7.org/linux/man-pages/man7/cgroup_namespaces.7.html>

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::{Cgroup, Version};
use crate::error::{Context, Error, Result};
use crate::sys::{self, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REMOUNT};
use crate::trace;

const READ_ONLY: libc::c_ulong = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;

/// Mounts `/sys` and `/sys/fs/cgroup` for a container in its own cgroup namespace
/// (`None`: it has none, and the host's tree is not to be shown). Where mounts are
/// refused, it goes on without them.
pub fn mount_inside(cgroup: Option<&Cgroup>) -> Result<()> {
    let Some(cgroup) = cgroup else {
        return Ok(());
    };
    trace::step("mount sysfs, and a cgroupfs that shows only its own cgroup, read-only");
    match mount_all(cgroup) {
        Err(err) if matches!(err.errno(), Some(libc::EPERM | libc::EACCES)) => {
            trace::step(&format!(
                "/sys/fs/cgroup could not be mounted here ({err}): going on without it"
            ));
            Ok(())
        }
        other => other,
    }
}

fn mount_all(cgroup: &Cgroup) -> Result<()> {
    let (sys, target) = (Path::new("/sys"), Path::new("/sys/fs/cgroup"));
    if !is_mount_point(sys)? {
        sys::mount(
            Some(Path::new("sysfs")),
            sys,
            Some("sysfs"),
            READ_ONLY,
            None,
        )?;
    }
    if cgroup.version == Version::V2 {
        let source = Path::new("cgroup2");
        return sys::mount(Some(source), target, Some("cgroup2"), READ_ONLY, None);
    }
    let tmpfs = Path::new("tmpfs");
    let flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    sys::mount(Some(tmpfs), target, Some("tmpfs"), flags, Some("mode=755"))?;
    for (hierarchy, _) in &cgroup.dirs {
        let Some(name) = hierarchy.mount.file_name() else {
            continue;
        };
        let dir = target.join(name);
        fs::create_dir(&dir).with_context(|| format!("create {}", dir.display()))?;
        let controllers = hierarchy.controllers.join(",");
        sys::mount(
            Some(Path::new("cgroup")),
            &dir,
            Some("cgroup"),
            READ_ONLY,
            Some(&controllers),
        )?;
    }
    sys::mount(None, target, None, MS_REMOUNT | READ_ONLY, Some("mode=755"))
}

/// True if something is mounted on `dir` already; makes `dir` if the image has none.
/// An image could make it a symlink to somewhere else: that is refused.
fn is_mount_point(dir: &Path) -> Result<bool> {
    match fs::symlink_metadata(dir) {
        Ok(meta) if meta.is_dir() => {
            let root = fs::metadata("/").context("stat /")?;
            Ok(meta.dev() != root.dev())
        }
        Ok(_) => Err(Error::invalid(format!(
            "refusing to mount on {}: not a directory",
            dir.display()
        ))),
        Err(_) => {
            fs::create_dir(dir).with_context(|| format!("create {}", dir.display()))?;
            Ok(false)
        }
    }
}
