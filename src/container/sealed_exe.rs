//! Keeping the host's skiff binary out of the container's reach (CVE-2019-5736).
//!
//! The container's first process starts as a fork of skiff, so until its execve(2) its
//! `/proc/self/exe` is skiff's own binary, on the host. An image whose command is a
//! script starting `#!/proc/self/exe` makes the kernel execute exactly that binary,
//! inside the container; so can a process that finds any skiff in its PID namespace
//! (think `docker exec`). From there, runc's attackers opened the binary through
//! `/proc/self/exe` and, once runc had exited, wrote their own program into it: the
//! host's next `docker run` ran it as root.
//!
//! So `skiff run` (and `start`, and `exec`) first re-executes itself from a copy nobody can write to, and
//! everything after, the container's first process included, runs from that copy, as
//! runc 1.2 does:
//!
//! 1. A read-only overlayfs of the binary's own directory, made with the new mount API
//!    (fsopen(2), fsmount(2)) and attached to no path: no copy, about 0.6 ms more for
//!    a whole `skiff run`, most of it the execve(2) and the second start-up. overlayfs
//!    wants two lower layers to run without an upper one; the second is `/dev`. The
//!    last close of the mount's descriptor takes the mount down and waits for an RCU
//!    grace period, so that descriptor crosses the execve(2) and is closed while the
//!    container runs ([`let_go_of_view`]).
//! 2. Where that is refused (no overlayfs, or mount(2) forbidden as inside Docker), a
//!    memfd holding a copy of the binary, sealed against writes (memfd_create(2),
//!    `F_ADD_SEALS`): about 2 ms for 2 MB.
//!
//! A skiff already running from a sealed memfd or from a read-only mount has nothing
//! to do.
//! <https://nvd.nist.gov/vuln/detail/CVE-2019-5736>
//! <https://github.com/opencontainers/runc/blob/main/libcontainer/dmz/overlayfs_linux.go>

use std::ffi::{CString, OsString};
use std::fs::{self, File};
use std::io;
use std::os::fd::{IntoRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::error::{Context, Error, Result};
use crate::sys::{self, MOUNT_ATTR_NODEV, MOUNT_ATTR_NOSUID, MOUNT_ATTR_RDONLY};
use crate::trace;

const SELF: &str = "/proc/self/exe";

/// The environment variable that names the view's mount descriptor ([`pass_on`]).
const VIEW: &str = "SKIFF_SEALED_VIEW";

/// That descriptor in the re-executed skiff, with the device and inode it opens: a
/// process that sheds what it inherited (a supervisor) may see its number reused.
static HELD_VIEW: Mutex<Option<(RawFd, u64, u64)>> = Mutex::new(None);

/// Re-executes skiff, same arguments and environment, from a copy nobody can write
/// to; returns at once if this already is one. It must come before anything else a
/// command does: execve(2) starts the process over from `main`, so any earlier work
/// would be done twice, and every process forked later (the supervisor, the
/// container's PID 1) must be a fork of the sealed copy.
pub fn reexec_from_sealed_copy() -> Result<()> {
    let Some(exe) = writable_exe()? else {
        trace::step(
            "skiff runs from a read-only copy of itself: /proc/self/exe leads nowhere writable",
        );
        hold_inherited_view();
        return Ok(());
    };
    trace::step("re-execute skiff from a read-only copy of itself, so no container can reach the host's binary through /proc/self/exe (CVE-2019-5736)");
    let argv = c_strings(std::env::args_os())?;
    let env = std::env::vars_os().filter(|(key, _)| key != VIEW);
    let env = env.map(|(key, value)| {
        let mut entry = key;
        entry.push("=");
        entry.push(value);
        entry
    });
    let (binary, view) = sealed_binary(exe)?;
    let view = view.map(pass_on).transpose()?;
    let envp = c_strings(env.chain(trace::origin_env()).chain(view))?; // --trace counts on
    let err = sys::execveat(&binary, &argv, &envp);
    Err(err.context("re-execute skiff from a sealed copy"))
}

/// The binary through a read-only overlayfs view, with the view's mount; where
/// overlayfs or the new mount API is refused (an older kernel, or mount(2) forbidden as
/// inside Docker), a copy sealed in a memfd instead.
fn sealed_binary(exe: File) -> Result<(File, Option<OwnedFd>)> {
    read_only_view(&exe)
        .map(|(binary, mount)| (binary, Some(mount)))
        .or_else(|err| {
            trace::step(&format!(
                "no read-only overlayfs here ({err}): seal a copy in memory instead"
            ));
            Ok((sealed_copy(exe)?, None))
        })
}

/// The view's mount descriptor, across the execve(2), named in the new environment.
///
/// Closing the last descriptor of a mount attached nowhere takes the mount down, and
/// that waits for an RCU grace period: 0.1 ms (median) to 2 ms here, a tenth of a
/// start. So the re-executed skiff keeps it ([`hold_inherited_view`]), and lets go
/// while the container runs ([`let_go_of_view`]). The binary itself, as
/// /proc/self/exe, keeps the view alive on its own.
fn pass_on(mount: OwnedFd) -> Result<OsString> {
    let fd = mount.into_raw_fd(); // execve(2) passes it on; this process ends there
    sys::set_cloexec(fd, false)?;
    Ok(format!("{VIEW}={fd}").into())
}

/// The descriptor [`pass_on`] names, kept (and closed by the next execve(2)), and
/// its name taken out of the environment, which helpers and hooks inherit.
fn hold_inherited_view() {
    let Some(fd) = std::env::var(VIEW).ok().and_then(|fd| fd.parse().ok()) else {
        return;
    };
    std::env::remove_var(VIEW); // one thread: nobody reads the environment meanwhile
    if fd > 2 && sys::set_cloexec(fd, true).is_ok() {
        if let Some((device, inode)) = identity(fd) {
            *held_view() = Some((fd, device, inode));
        }
    }
}

fn held_view() -> MutexGuard<'static, Option<(RawFd, u64, u64)>> {
    HELD_VIEW.lock().unwrap_or_else(PoisonError::into_inner)
}

fn identity(fd: RawFd) -> Option<(u64, u64)> {
    let meta = fs::metadata(format!("/proc/self/fd/{fd}")).ok()?;
    Some((meta.dev(), meta.ino()))
}

/// Closes the view's mount descriptor, if this process holds it: the container's first
/// process as it starts (its copy is not the last), then the supervisor once the
/// command runs, whose close is then the last and waits for the grace period while
/// the container goes on. Elsewhere it closes with the process.
pub fn let_go_of_view() {
    let Some((fd, device, inode)) = *held_view() else {
        return;
    };
    if identity(fd) == Some((device, inode)) {
        let _ = sys::close_range(fd, fd);
    }
}

/// /proc/self/exe, opened, unless it is a copy nobody can write to already: a file on a
/// read-only mount (asked first, without an open(2): that is what a re-executed skiff
/// runs from), or a memfd with every seal on.
fn writable_exe() -> Result<Option<File>> {
    if sys::mount_flags(Path::new(SELF))? & libc::ST_RDONLY != 0 {
        return Ok(None);
    }
    let exe = File::open(SELF).context("open /proc/self/exe")?;
    let sealed = sys::seals(&exe).is_ok_and(|seals| seals & sys::SEALED == sys::SEALED);
    Ok((!sealed).then_some(exe))
}

/// The binary, opened through a read-only overlayfs of its directory that no path
/// leads to. overlayfs sees the directory itself, not what is mounted on it: a binary
/// bind-mounted into place would show as whatever lies under it, so the file found
/// must look like `exe` (size, time, mode), or it is not used.
fn read_only_view(exe: &File) -> Result<(File, OwnedFd)> {
    let path = fs::read_link(SELF).context("readlink /proc/self/exe")?;
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(Error::invalid(format!("{} names no file", path.display())));
    };
    // The binary's directory on top, so nothing in /dev can hide it.
    let lower = format!("{}:/dev", escape_lowerdir(&dir.to_string_lossy()));
    let context = sys::fsopen("overlay")?;
    sys::fsconfig_set(&context, "lowerdir", &lower)?;
    sys::fsconfig_create(&context)?;
    let mount = sys::fsmount(
        &context,
        MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID,
    )?;
    let view = File::from(sys::open_path_at(&mount, name)?);
    let (want, got) = (exe.metadata()?, view.metadata()?);
    let same = |m: &fs::Metadata| (m.len(), m.modified().ok(), m.permissions().mode());
    if same(&want) != same(&got) {
        return Err(Error::invalid(format!(
            "{} in the overlayfs is another file (a bind mount?)",
            path.display()
        )));
    }
    Ok((view, mount))
}

/// overlayfs splits `lowerdir` at `:`; a `\` escapes it, and itself.
pub fn escape_lowerdir(path: &str) -> String {
    path.replace('\\', "\\\\").replace(':', "\\:")
}

/// A copy of the binary in a memfd, sealed against every change.
fn sealed_copy(mut exe: File) -> Result<File> {
    let mut copy = sys::memfd_create("skiff")?;
    io::copy(&mut exe, &mut copy).context("copy /proc/self/exe into a memfd")?;
    sys::seal(&copy)?;
    Ok(copy)
}

fn c_strings(items: impl Iterator<Item = OsString>) -> Result<Vec<CString>> {
    items.map(sys::c_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowerdir_separators_are_escaped() {
        assert_eq!(escape_lowerdir("/opt/a:b\\c"), "/opt/a\\:b\\\\c");
    }
}
