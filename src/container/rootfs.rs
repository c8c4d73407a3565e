//! The container's root filesystem, from the image's layers to `/`.
//!
//! 1. Make every mount private, so nothing we mount propagates back to the host
//!    (mount_namespaces(7), "shared subtrees").
//! 2. Stack the image's layers, read-only, under a writable layer of the container's
//!    own with overlayfs: starting a container copies nothing, whatever the image's
//!    size, and its writes never reach the layers another container shares. Where
//!    overlayfs is refused (its upper dir on overlayfs, inside Docker or Podman), the
//!    layers are unpacked into a private copy instead, bind-mounted onto itself since
//!    pivot_root(2) wants a mount point.
//! 3. Mount a fresh `/proc` (it shows the new PID namespace) and a minimal `/dev`
//!    (a tmpfs with the host's harmless devices bind-mounted in).
//! 4. `pivot_root(".", ".")` then detach the old root stacked underneath: no path leads
//!    back to the host, and no `oldroot` directory is left in the container's `/`.
//!
//! Where mounts are forbidden (inside Docker, AppArmor denies mount(2) even with
//! `CAP_SYS_ADMIN`), fall back to chroot(2): weaker, but the command still runs.
//! <https://man7.org/linux/man-pages/man2/pivot_root.2.html>
//! <https://man7.org/linux/man-pages/man7/mount_namespaces.7.html>
//! <https://docs.kernel.org/filesystems/overlayfs.html>

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use super::RootFs;
use crate::error::{Context, Error, Result};
use crate::image::layer::Whiteouts;
use crate::sys::{self, MNT_DETACH, MS_BIND, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_REC};
use crate::trace;

/// mount(2)'s options must fit in one page.
const MOUNT_DATA_MAX: usize = 4095;

/// Devices every container gets, shared with the host as Docker does.
const DEVICES: [&str; 6] = ["null", "zero", "full", "random", "urandom", "tty"];

/// Makes the image's root this process's `/`, by pivot_root where the kernel allows it.
pub fn enter(fs: &RootFs) -> Result<()> {
    let root = fs.scratch.join("rootfs");
    // It exists already when a stopped container is started again.
    fs::create_dir_all(&root).with_context(|| format!("create {}", root.display()))?;
    trace::step("make every mount private, so nothing we mount reaches the host");
    if let Err(err) = sys::mount(None, Path::new("/"), None, MS_REC | MS_PRIVATE, None) {
        if !is_refusal(&err) {
            return Err(err);
        }
        trace::step("mount(2) is refused here: fall back to chroot(2), without /proc or /dev");
        copy_layers(fs, &root)?;
        return chroot_into(&root);
    }
    if !stack_layers(fs, &root)? {
        copy_layers(fs, &root)?;
        trace::step("bind-mount the copy onto itself: pivot_root(2) needs a mount point");
        sys::mount(Some(&root), &root, None, MS_BIND | MS_REC, None)?;
    }
    unless_refused(mount_proc(&root), "/proc")?;
    unless_refused(mount_dev(&root), "/dev")?;
    match pivot_into(&root) {
        Err(err) if err.errno() == Some(libc::EINVAL) || is_refusal(&err) => {
            trace::step("pivot_root(2) is refused (a root on initramfs, or a seccomp policy): fall back to chroot(2)");
            chroot_into(&root)
        }
        other => other,
    }
}

/// Mounts overlayfs on `root`; false when the kernel will not (the caller copies).
fn stack_layers(fs: &RootFs, root: &Path) -> Result<bool> {
    let Some(layers) = &fs.layers else {
        return Ok(false);
    };
    trace::step("stack the image's layers with overlayfs, under a writable layer of its own");
    let (upper, work) = (fs.scratch.join("upper"), fs.scratch.join("work"));
    for dir in [&upper, &work] {
        fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    }
    // Named relative to their directory, the layers take a third of the page.
    sys::chdir(&layers.dir)?;
    let lower: Vec<&str> = layers.names.iter().rev().map(String::as_str).collect();
    let data = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.join(":"),
        upper.display(),
        work.display()
    );
    if data.len() > MOUNT_DATA_MAX {
        trace::step("too many layers for one overlayfs mount: copy them instead");
        return Ok(false);
    }
    match sys::mount(
        Some(Path::new("overlay")),
        root,
        Some("overlay"),
        libc::MS_NODEV, // a device node made in the image or the container opens nothing
        Some(&data),
    ) {
        Ok(()) => Ok(true),
        Err(err)
            if matches!(
                err.errno(),
                Some(libc::EINVAL | libc::EPERM | libc::EACCES | libc::ENODEV)
            ) =>
        {
            trace::step("overlayfs is refused here: copy the layers instead");
            Ok(false)
        }
        Err(err) => Err(err),
    }
}

/// The slow way, where overlayfs is not to be had: each layer unpacked in turn into
/// the container's own directory, once (a restarted container keeps its copy).
fn copy_layers(fs: &RootFs, root: &Path) -> Result<()> {
    let done = fs.scratch.join("copied");
    if done.exists() {
        return Ok(());
    }
    trace::step("unpack the image's layers into a copy of the container's own");
    for layer in &fs.blobs {
        layer.unpack(root, Whiteouts::Apply)?;
    }
    fs::write(&done, b"").with_context(|| format!("create {}", done.display()))
}

fn is_refusal(err: &Error) -> bool {
    matches!(err.errno(), Some(libc::EPERM | libc::EACCES))
}

/// A container without /proc or /dev still runs its command: degrade, don't die.
fn unless_refused(result: Result<()>, what: &str) -> Result<()> {
    match result {
        Err(err) if is_refusal(&err) => {
            trace::step(&format!(
                "{what} could not be mounted here ({err}): going on without it"
            ));
            Ok(())
        }
        other => other,
    }
}

fn pivot_into(root: &Path) -> Result<()> {
    trace::step("pivot_root into the image, then detach the host's root from under it");
    sys::chdir(root)?;
    sys::pivot_root(Path::new("."), Path::new("."))?;
    sys::umount2(Path::new("."), MNT_DETACH)?;
    sys::chdir(Path::new("/"))
}

fn chroot_into(root: &Path) -> Result<()> {
    sys::chdir(root)?;
    sys::chroot(Path::new("."))?;
    sys::chdir(Path::new("/"))
}

/// A directory to mount on, inside the image. An image could make it a symlink to
/// some host path; mounting there would follow it, so that is refused.
fn mount_point(root: &Path, name: &str) -> Result<std::path::PathBuf> {
    let path = root.join(name);
    match fs::symlink_metadata(&path) {
        Ok(meta) if meta.is_dir() => Ok(path),
        Ok(_) => Err(Error::invalid(format!(
            "refusing to mount on /{name}: not a directory"
        ))),
        Err(_) => {
            fs::create_dir(&path).with_context(|| format!("create /{name}"))?;
            Ok(path)
        }
    }
}

fn mount_proc(root: &Path) -> Result<()> {
    trace::step("mount a /proc that shows the new PID namespace");
    let target = mount_point(root, "proc")?;
    let flags = MS_NOSUID | libc::MS_NODEV | MS_NOEXEC;
    sys::mount(Some(Path::new("proc")), &target, Some("proc"), flags, None)
}

fn mount_dev(root: &Path) -> Result<()> {
    trace::step("mount a minimal /dev: a tmpfs with null, zero, full, random, urandom, tty");
    let dev = mount_point(root, "dev")?;
    // nodev here too: the real devices are bind mounts of their own, which keep theirs.
    let flags = MS_NOSUID | libc::MS_NODEV | libc::MS_STRICTATIME;
    sys::mount(
        Some(Path::new("tmpfs")),
        &dev,
        Some("tmpfs"),
        flags,
        Some("mode=755,size=65536k"),
    )?;
    let present = DEVICES
        .iter()
        .filter(|name| Path::new("/dev").join(name).exists());
    for name in present {
        let node = dev.join(name);
        fs::File::create(&node).with_context(|| format!("create /dev/{name}"))?;
        sys::mount(
            Some(&Path::new("/dev").join(name)),
            &node,
            None,
            MS_BIND,
            None,
        )?;
    }
    let links = [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ];
    for (name, target) in links {
        symlink(target, dev.join(name)).with_context(|| format!("link /dev/{name}"))?;
    }
    Ok(())
}
