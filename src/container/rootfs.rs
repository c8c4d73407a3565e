//! The container's root filesystem, from the image's layers to `/`.
//!
//! 1. Make every mount private, so nothing we mount propagates back to the host
//!    (mount_namespaces(7), "shared subtrees").
//! 2. Stack the image's layers, read-only, under a writable layer of the container's
//!    own with overlayfs: starting a container copies nothing, whatever the image's
//!    size, and its writes never reach the layers another container shares. Below
//!    them, the store's layer of the mount points an image may lack, and the overlay
//!    mounted on the store's one mount point (`mount_points`). Where
//!    overlayfs is refused (its upper dir on overlayfs, inside Docker or Podman), the
//!    layers are unpacked into a private copy instead, bind-mounted onto itself since
//!    pivot_root(2) wants a mount point. An OCI bundle's root directory is bound
//!    instead, and written in place, as runc and crun do. An `--rm` container's
//!    writable layer is `volatile` (Linux 5.10), as podman mounts it: it is deleted
//!    with the container, so overlayfs need not sync it (with its whole filesystem)
//!    when the container's mounts are taken down (overlayfs then refuses that upper
//!    dir until the mark it leaves is removed: `forget_volatile_mark`); `cp` and
//!    `diff` mount it without. That overlayfs is made by skiff itself, in the parent,
//!    beside the container's first process's first steps (its network namespace, if
//!    it makes one): a mount attached to no path (fsopen(2), fsmount(2)) that the first
//!    process, once in its own mount namespace, moves into place (move_mount(2)). Where
//!    it cannot be made so (a kernel before 6.8, a path over 255 bytes, a user
//!    namespace, rootless, move_mount(2) refused), the first process mounts it.
//! 3. Mount /proc, /sys, /dev and the rest inside it (mounts.rs).
//! 4. `pivot_root(".", ".")` then detach the old root stacked underneath: no path leads
//!    back to the host, and no `oldroot` directory is left in the container's `/`.
//!
//! Where `/` is not a mount point (a chroot(2) into a plain directory), bind it onto
//! itself first, so there is a mount to make private. Where pivot_root(2) cannot leave
//! the current root (an initramfs), move the new root over `/` and chroot(2) into it,
//! as switch_root(8) does. Where mounts are forbidden (inside Docker, AppArmor denies
//! mount(2) even with `CAP_SYS_ADMIN`), or would reach the host (that chroot's
//! directory on a shared mount), fall back to a plain chroot(2): weaker, but the
//! command still runs.
//! <https://man7.org/linux/man-pages/man2/pivot_root.2.html>
//! <https://man7.org/linux/man-pages/man7/mount_namespaces.7.html>
//! <https://docs.kernel.org/filesystems/overlayfs.html>
//! <https://man7.org/linux/man-pages/man2/move_mount.2.html>

use std::fs;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::symlink;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use super::namespaces::Shared;
use super::sealed_exe::escape_lowerdir;
use super::userns::{self, Userns};
use super::{mount_points, mounts, Options, RootFs};
use crate::error::{Context, Error, Result};
use crate::image::layer::Whiteouts;
use crate::image::LayerDirs;
use crate::sys::{self, MNT_DETACH, MS_BIND, MS_MOVE, MS_PRIVATE, MS_REC};
use crate::trace;

/// mount(2)'s options must fit in one page.
const MOUNT_DATA_MAX: usize = 4095;

/// How far skiff got in making the root its own.
#[derive(Debug, PartialEq)]
pub enum Entered {
    /// With mounts: every place the container can write to is `nodev`, but an OCI
    /// bundle's /dev where a devices guard holds.
    WithMounts,
    /// mount(2) refused: a plain chroot(2) into a private copy of the layers.
    ChrootWithoutMounts,
}

/// Makes the image's root this process's `/`, with Docker's mounts inside it: make
/// mounts private → stack the layers → mount /proc, /dev, … → pivot_root. Each step
/// that the kernel may refuse has its fallback behind one function that says when.
/// `before_pivot` runs last before pivot_root(2) (or chroot(2)): whatever waits for
/// the container's starter (its network, the OCI runtime's hooks: see `pause`).
/// `guarded`: whether a devices guard holds in its cgroup (see `mounts::populate`).
/// `premade`: the overlayfs its starter stacked ([`receive_overlay`]), if it did.
pub fn enter(
    fs: &RootFs,
    options: &Options,
    (userns, guarded): (Option<&Userns>, bool),
    premade: Option<OwnedFd>,
    before_pivot: impl FnOnce() -> Result<()>,
) -> Result<Entered> {
    if !make_mounts_private()? {
        before_pivot()?;
        chroot_without_mounts(fs, &own_root(fs)?, options, userns)?;
        return Ok(Entered::ChrootWithoutMounts);
    }
    let root = match stacked(fs, true, fs.volatile, userns, premade)? {
        Some(root) => root,
        None if fs.in_place => bind_in_place(fs)?,
        None => copy_layers_instead(fs, userns)?,
    };
    mounts::populate(&root, &fs.scratch, options, userns, guarded)?;
    before_pivot()?;
    pivot_root_or_fallback(&root)?;
    propagate_root(options.root_propagation.as_deref())?;
    Ok(Entered::WithMounts)
}

/// In the container, its mounts made: one byte tells its starter, which runs the OCI
/// runtime's hooks meanwhile (`prestart` and `createRuntime` in the runtime's
/// namespaces, `createContainer` in this mount namespace, where the host's paths are
/// still in reach), then waits for one back, as runc's init waits on its sync pipe
/// (`procHooks`). A socketpair(2), so that either side's end is seen.
pub fn pause(socket: Option<&UnixStream>) -> Result<()> {
    let Some(mut socket) = socket else {
        return Ok(());
    };
    trace::step("mounts made: wait before pivot_root while the runtime runs its hooks");
    socket
        .write_all(b"p")
        .context("tell the runtime the mounts are made")?;
    match socket.read(&mut [0]) {
        Ok(1) => Ok(()),
        _ => Err(Error::invalid(
            "the runtime ended the start before pivot_root",
        )),
    }
}

/// In the parent: waits for `pid` to [`pause`] on `socket`, calls `run`, lets it go
/// on. A child that failed first has closed its end: its exec status says why.
pub fn before_pivot(
    pid: libc::pid_t,
    socket: Option<(UnixStream, UnixStream)>,
    run: Option<&dyn Fn(libc::pid_t) -> Result<()>>,
) -> Result<()> {
    let (Some((mut ours, theirs)), Some(run)) = (socket, run) else {
        return Ok(());
    };
    drop(theirs);
    let read = ours.read(&mut [0]);
    if read.context("wait for the container's mounts")? == 0 {
        return Ok(());
    }
    run(pid)?;
    ours.write_all(b"g").context("let the container go on")
}

/// An OCI bundle's `linux.rootfsPropagation`, set on `/` once it is the container's
/// root, as runc sets it: before pivot_root(2) it would be the host's root's. Unlike
/// runc's, the root was made private first (step 1), so no type reaches the host:
/// `shared` makes a peer group of the container's own, whose mounts reach copies of
/// the root made in it (a bind of `/`), never the host; `slave` and `rslave` are a
/// slave of nothing and receive nothing (runc's `rslave` root receives the host's
/// mounts under the bundle).
fn propagate_root(name: Option<&str>) -> Result<()> {
    let Some(flags) = name.and_then(super::propagation) else {
        return Ok(());
    };
    trace::step("linux.rootfsPropagation: the root's propagation type");
    sys::mount(None, Path::new("/"), None, flags, None)
}

/// The container's own `rootfs/`, where a private copy of the layers is made, or a
/// bundle's root bound. It exists already when a stopped container is started again.
fn own_root(fs: &RootFs) -> Result<PathBuf> {
    let root = fs.scratch.join("rootfs");
    fs::create_dir_all(&root).with_context(|| format!("create {}", root.display()))?;
    Ok(root)
}

/// The layers stacked with overlayfs on the store's one empty mount point
/// ([`mount_points::mount_point`]): in this process's private mount namespace, what is
/// mounted there is the container's alone, and its own directory gains no `rootfs/`
/// (one directory fewer to make and to free per container): `premade`, moved there,
/// or a mount made here. `None` where the kernel will not (the caller copies).
fn stacked(
    fs: &RootFs,
    writable: bool,
    volatile: bool,
    userns: Option<&Userns>,
    premade: Option<OwnedFd>,
) -> Result<Option<PathBuf>> {
    if fs.in_place {
        return Ok(None);
    }
    let root = mount_points::mount_point()?;
    if let Some(overlay) = premade {
        trace::step("attach the overlayfs skiff stacked meanwhile, at its mount point");
        match sys::move_mount(&overlay, &root) {
            Ok(()) => return Ok(Some(root)),
            Err(err) => trace::step(&format!("{err}: stack them here instead")), // an LSM's refusal
        }
    }
    Ok(stack_layers(fs, &root, (writable, volatile), userns)?.then_some(root))
}

/// Whether skiff stacks the layers itself, in the parent, while PID 1 makes its first
/// steps ([`send_overlay`]), decided once before the fork for both: for a container of
/// an image's layers in a mount namespace of its own, without a user namespace (whose
/// root owns the upper dir, and whose layers are idmapped, in PID 1's mount namespace),
/// and not rootless.
pub fn stacks_beside(fs: &RootFs, userns: Option<&Userns>, shared: &Shared) -> bool {
    let layers = fs.layers.is_some() && !fs.in_place;
    let own_mounts = shared.owns(sys::CLONE_NEWNS);
    layers && userns.is_none() && own_mounts && !crate::rootless::active()
}

/// In the parent, beside PID 1's first steps (its network namespace, its longest),
/// where [`stacks_beside`] said so: the image's layers stacked with overlayfs as a
/// mount attached to no path, made with the new mount API (fsopen(2), fsconfig(2),
/// fsmount(2)), sent to PID 1 on `child`, which moves it into place ([`stacked`])
/// instead of making it: the overlayfs mount, its longest, leaves PID 1's path. Each
/// layer is its own `lowerdir+` (Linux 6.8), as fsconfig(2) takes strings of at most
/// 256 bytes. Where it cannot be made so (an older kernel, a longer path, overlayfs
/// refused), the byte comes alone and PID 1 mounts the layers itself, as ever.
pub fn send_overlay(fs: &RootFs, stacks: bool, child: &UnixStream) -> Result<()> {
    let Some(layers) = fs.layers.as_ref().filter(|_| stacks) else {
        return Ok(());
    };
    let sent = match overlay(fs, layers) {
        Ok(overlay) => sys::send_fd(child, &overlay, &[OVERLAY]), // sendmsg(2): SCM_RIGHTS
        Err(err) => {
            trace::step(&format!("{err}: PID 1 stacks them itself"));
            let told = (&mut &*child).write_all(&[OVERLAY]);
            told.context("tell the container's PID 1 to stack its layers")
        }
    };
    match sent {
        Err(err) if err.errno() == Some(libc::EPIPE) => Ok(()), // PID 1 failed first
        other => other,
    }
}

/// The byte [`send_overlay`] sends, with the overlayfs or alone.
const OVERLAY: u8 = b'o';

/// The overlayfs of `layers` under the container's writable layer, attached nowhere.
fn overlay(fs: &RootFs, layers: &LayerDirs) -> Result<OwnedFd> {
    trace::step("stack the image's layers with overlayfs, beside PID 1, attached nowhere");
    let (upper, work) = writable_layer(fs)?;
    let context = sys::fsopen("overlay")?;
    // Named in /proc/mounts as mount(2) names it; the layers in [`lower_dirs`]' order:
    // the top layer first, the store's layer of mount points last.
    sys::fsconfig_set(&context, "source", "overlay")?;
    let lower = layers.names.iter().rev().map(|name| layers.dir.join(name));
    for dir in lower.chain([mount_points::layer()?]) {
        sys::fsconfig_set(&context, "lowerdir+", &dir.to_string_lossy())?;
    }
    sys::fsconfig_set(&context, "upperdir", &upper.to_string_lossy())?;
    sys::fsconfig_set(&context, "workdir", &work.to_string_lossy())?;
    if fs.volatile {
        forget_volatile_mark(&work);
        sys::fsconfig_flag(&context, "volatile")?;
    }
    sys::fsconfig_create(&context)?;
    sys::fsmount(&context, sys::MOUNT_ATTR_NODEV)
}

/// The container's upper and work directories, made if need be.
fn writable_layer(fs: &RootFs) -> Result<(PathBuf, PathBuf)> {
    let (upper, work) = (fs.scratch.join("upper"), fs.scratch.join("work"));
    for dir in [&upper, &work] {
        fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    }
    Ok((upper, work))
}

/// In PID 1, where [`stacks_beside`] said so: what [`send_overlay`] sent on `ready`,
/// the overlayfs mount or nothing (PID 1 then stacks the layers itself).
pub fn receive_overlay(stacks: bool, ready: &UnixStream) -> Result<Option<OwnedFd>> {
    if !stacks {
        return Ok(None);
    }
    let mut byte = [0];
    match sys::recv_fd(ready, &mut byte)? {
        (1, overlay) if byte[0] == OVERLAY => Ok(overlay.map(OwnedFd::from)),
        _ => Err(Error::invalid(
            "skiff ended before it stacked the container's layers",
        )),
    }
}

/// mount(2) with `MS_REC | MS_PRIVATE` on `/`; false where mount(2) is refused
/// altogether (inside Docker, AppArmor denies it even with `CAP_SYS_ADMIN`), or where
/// no mount of ours could be kept from the host (`root_onto_itself`).
fn make_mounts_private() -> Result<bool> {
    trace::step("make every mount private, so nothing we mount reaches the host");
    match sys::mount(None, Path::new("/"), None, MS_REC | MS_PRIVATE, None) {
        Err(err) if mounts::is_refusal(&err) => Ok(false),
        Err(err) if err.errno() == Some(libc::EINVAL) => root_onto_itself(),
        other => other.map(|()| true),
    }
}

/// Where `/` is not a mount point (a chroot(2) into a plain directory) there is no
/// mount for `MS_PRIVATE` to change (EINVAL; runc and crun stop there): bind `/` onto
/// itself, in this mount namespace, and chroot(2) onto that bind, which `/..` reaches
/// (at the root `..` stays put, then crosses the mount on it): now `/` is a mount,
/// and it is made private. The bind belongs to the peer group of the mount holding
/// the directory, if that one has any (`shared:N` in mountinfo): then the bind has
/// reached the host's side as well, and so would every mount after it. It is taken
/// back (its unmount propagates the same way) and false: nothing is mounted. As with
/// `move_into`, the mount holding the directory stays beneath the container's root,
/// where a chroot(2) escape (`CAP_SYS_CHROOT`) reaches what lies outside the chroot.
fn root_onto_itself() -> Result<bool> {
    trace::step("/ is not a mount point (a chroot): bind it onto itself and make that private");
    sys::mount(
        Some(Path::new("/")),
        Path::new("/"),
        None,
        MS_BIND | MS_REC,
        None,
    )?;
    let bind = Path::new("/..");
    if root_bind_is_shared() {
        trace::step(
            "the mount holding / propagates to the host: take the bind back, mount nothing",
        );
        sys::umount2(bind, MNT_DETACH)?;
        return Ok(false);
    }
    sys::chdir(bind)?;
    sys::chroot(Path::new("."))?;
    sys::mount(None, Path::new("/"), None, MS_REC | MS_PRIVATE, None)?;
    Ok(true)
}

/// Whether the newest mount on `/` has peers (proc_pid_mountinfo(5): fields 7 on, up to
/// `-`, hold `shared:N`). Without /proc there is no telling: count it as shared.
fn root_bind_is_shared() -> bool {
    let Ok(mountinfo) = fs::read_to_string("/proc/self/mountinfo") else {
        return true;
    };
    let newest_on_root = mountinfo
        .lines()
        .rev()
        .find(|line| line.split(' ').nth(4) == Some("/"));
    newest_on_root.is_none_or(|line| {
        line.split(' ')
            .skip(6)
            .take_while(|field| *field != "-")
            .any(|field| field.starts_with("shared:"))
    })
}

/// Where mount(2) is refused, or would reach the host: a private copy of the layers,
/// the files Docker would mount written into it, and a plain chroot(2). Weaker (no
/// /proc, no /dev, and a chroot can be escaped with `CAP_SYS_CHROOT`), but the command
/// still runs.
fn chroot_without_mounts(
    fs: &RootFs,
    root: &Path,
    options: &Options,
    userns: Option<&Userns>,
) -> Result<()> {
    trace::step("no mounts here: fall back to chroot(2), without /proc or /dev");
    copy_layers(fs, root, userns)?;
    mounts::populate_without_mounts(root, &fs.scratch, options)?;
    chroot_into(root)
}

/// Where overlayfs is refused (its upper dir on overlayfs, inside Docker or Podman) or
/// the layers stayed blobs: a private copy, bind-mounted onto itself since
/// pivot_root(2) wants a mount point.
fn copy_layers_instead(fs: &RootFs, userns: Option<&Userns>) -> Result<PathBuf> {
    let root = own_root(fs)?;
    copy_layers(fs, &root, userns)?;
    trace::step("bind-mount the copy onto itself: pivot_root(2) needs a mount point");
    sys::mount(Some(&root), &root, None, MS_BIND | MS_REC, None)?;
    mounts::remount(&root, 0)?; // nodev, as the overlay is
    Ok(root)
}

/// The OCI bundle's root directory itself, bound on `root` (`nodev`, as the overlay).
fn bind_in_place(fs: &RootFs) -> Result<PathBuf> {
    let dir = in_place(fs)?;
    let root = own_root(fs)?;
    trace::step("bind the bundle's root directory, written in place");
    sys::mount(Some(&dir), &root, None, MS_BIND | MS_REC, None)?;
    mounts::remount(&root, 0)?;
    Ok(root)
}

/// The OCI bundle's root directory, used in place.
fn in_place(fs: &RootFs) -> Result<PathBuf> {
    match fs
        .layers
        .as_ref()
        .and_then(|l| Some(l.dir.join(l.names.first()?)))
    {
        Some(dir) if fs.in_place => Ok(dir),
        _ => Err(Error::invalid("no root directory to use in place")),
    }
}

/// An OCI bundle's container without a mount namespace of its own (runtime-tools'
/// `linux_ns_itype`): every mount would be the host's, which are not the container's
/// to change (runc makes the host's `/` a slave and leaves its mounts there), so it
/// mounts nothing and chroot(2)s into the bundle's root as it is.
pub fn chroot_in_place(fs: &RootFs, before_pivot: impl FnOnce() -> Result<()>) -> Result<Entered> {
    before_pivot()?;
    trace::step("no mount namespace of its own: mount nothing, chroot(2) into the root");
    chroot_into(&in_place(fs)?)?;
    Ok(Entered::ChrootWithoutMounts)
}

/// pivot_root(2) into `root`; where it cannot leave the current root (EINVAL: an
/// initramfs), switch_root's move; where a seccomp policy refuses it, chroot(2).
fn pivot_root_or_fallback(root: &Path) -> Result<()> {
    match pivot_into(root) {
        Err(err) if err.errno() == Some(libc::EINVAL) => move_into(root),
        Err(err) if mounts::is_refusal(&err) => {
            trace::step("pivot_root(2) is refused (a seccomp policy): fall back to chroot(2)");
            chroot_into(root)
        }
        other => other,
    }
}

/// The container's root filesystem alone (no /proc, no volumes), for `cp`, `diff` and
/// `export`, mounted in this process's own mount namespace so nobody else sees it.
/// Read-only, its upper dir is one more lower layer: no workdir is needed, so a
/// running container's own mount of it is left alone (a second mount on the same
/// workdir would empty it under the first). Never `volatile`, even for an `--rm`
/// container: `cp` into a created one must not leave its start a poisoned upper dir.
pub fn mount_apart(fs: &RootFs, writable: bool) -> Result<PathBuf> {
    sys::unshare(libc::CLONE_NEWNS)?;
    sys::mount(None, Path::new("/"), None, MS_REC | MS_PRIVATE, None)?;
    if let Some(root) = stacked(fs, writable, false, None, None)? {
        return Ok(root);
    }
    let root = own_root(fs)?;
    copy_layers(fs, &root, None)?;
    Ok(root)
}

/// Mounts overlayfs on `root`; false when the kernel will not (the caller copies).
/// With a user namespace, on idmapped mounts of the layers, under an upper dir that
/// belongs to its root.
fn stack_layers(
    fs: &RootFs,
    root: &Path,
    (writable, volatile): (bool, bool),
    userns: Option<&Userns>,
) -> Result<bool> {
    let Some(layers) = &fs.layers else {
        return Ok(false);
    };
    trace::step("stack the image's layers with overlayfs, under a writable layer of its own");
    let (upper, work) = writable_layer(fs)?;
    let lower = match userns {
        None => lower_dirs(fs, layers)?,
        Some(userns) => {
            userns::give_to_root(&upper, userns)?;
            match idmapped_lower_dirs(fs, layers, userns)? {
                Some(lower) => lower,
                None => return Ok(false),
            }
        }
    };
    // Rootless (`rootless`), overlayfs keeps its marks in user.overlay.* attributes.
    let xattrs = if crate::rootless::active() {
        ",userxattr"
    } else {
        ""
    };
    let data = match writable {
        true => format!(
            "lowerdir={lower},upperdir={},workdir={}{xattrs}",
            upper.display(),
            work.display()
        ),
        false => format!("lowerdir={}:{lower}{xattrs}", upper.display()),
    };
    if data.len() > MOUNT_DATA_MAX {
        trace::step("too many layers for one overlayfs mount: copy them instead");
        return Ok(false);
    }
    let volatile = writable && volatile; // a read-only mount has no upper dir to mark
    if volatile {
        forget_volatile_mark(&work);
    }
    match mount_overlay(root, writable, &data, volatile) {
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

/// A `volatile` mount leaves `work/work/incompat/volatile` (with a file `dirty` in it),
/// and overlayfs refuses the upper dir ever after (EINVAL, which would read as "copy
/// the layers instead"): a start that failed once must not poison the next. The mark
/// may go when the machine has not crashed since (overlayfs.rst), and a crash sweeps
/// away `--rm` containers.
fn forget_volatile_mark(work: &Path) {
    let mark = work.join("work/incompat/volatile");
    let _ = fs::remove_file(mark.join("dirty"));
    let _ = fs::remove_dir(mark);
}

/// mount(2) of an overlayfs: `volatile` where the kernel knows it (else EINVAL: then
/// without), and `nodev`, so that a device node made in the image or the container
/// opens nothing.
fn mount_overlay(root: &Path, writable: bool, data: &str, volatile: bool) -> Result<()> {
    let flags = libc::MS_NODEV | if writable { 0 } else { libc::MS_RDONLY };
    let mount = |data: &str| {
        let overlay = Some(Path::new("overlay"));
        sys::mount(overlay, root, Some("overlay"), flags, Some(data))
    };
    match volatile {
        true => mount(&format!("{data},volatile")).or_else(|err| match err.errno() {
            Some(libc::EINVAL) => mount(data),
            _ => Err(err),
        }),
        false => mount(data),
    }
}

/// overlayfs's `lowerdir`, top layer first, named relative to the working directory
/// this leaves: the layers' own directory, where their names (64 hex digits) take a
/// third of the page; for an image of more than about 60 layers, a directory of short
/// links (`0`, `1`, …) to them, made for this container, as Docker's overlay2 does
/// with its `l/` directory. That fits overlayfs's limit of 500 layers in the page.
/// Below them all, the store's layer of mount points (`mount_points`).
fn lower_dirs(fs: &RootFs, layers: &LayerDirs) -> Result<String> {
    let base = escape_lowerdir(&mount_points::layer()?.to_string_lossy());
    sys::chdir(&layers.dir)?;
    let lower = layers
        .names
        .iter()
        .rev()
        .map(String::as_str)
        .chain([base.as_str()])
        .collect::<Vec<_>>()
        .join(":");
    if lower.len() + 2 * fs.scratch.as_os_str().len() + 64 <= MOUNT_DATA_MAX {
        return Ok(lower);
    }
    trace::step("too many layer names for one page: name them by short links instead");
    let links = fs.scratch.join("l");
    if links.exists() {
        // A restarted container: its layers' paths are the same, the links may not be.
        fs::remove_dir_all(&links).with_context(|| format!("remove {}", links.display()))?;
    }
    fs::create_dir(&links).with_context(|| format!("create {}", links.display()))?;
    for (index, name) in layers.names.iter().enumerate() {
        let link = links.join(index.to_string());
        symlink(layers.dir.join(name), &link)
            .with_context(|| format!("link {}", link.display()))?;
    }
    Ok(format!("{}:{base}", numbered(&links, layers.names.len())?))
}

/// Each layer mounted idmapped through the container's user namespace on
/// `idmapped/N`, and the store's layer of mount points on `idmapped/base`, in this
/// process's own mount namespace: overlayfs's `lowerdir`, the layers as [`numbered`]
/// names them, then `base`. `None` where the kernel refuses idmapping (the caller
/// copies and chowns instead).
fn idmapped_lower_dirs(fs: &RootFs, layers: &LayerDirs, userns: &Userns) -> Result<Option<String>> {
    trace::step("mount each layer idmapped: uid 0's files are the container's root's");
    let dir = fs.scratch.join("idmapped");
    let numbered_layers = layers.names.iter().enumerate();
    let sources = numbered_layers.map(|(index, name)| (layers.dir.join(name), index.to_string()));
    for (source, name) in sources.chain([(mount_points::layer()?, "base".to_string())]) {
        let target = dir.join(name);
        fs::create_dir_all(&target).with_context(|| format!("create {}", target.display()))?;
        match userns::idmapped(&source, &target, &userns.file) {
            Err(err) if userns::idmap_refused(&err) => {
                let why = format!(
                    "idmapped mounts are refused here ({err}): copy the layers and chown them"
                );
                trace::step(&why);
                return Ok(None);
            }
            other => other?,
        }
    }
    Ok(Some(format!(
        "{}:base",
        numbered(&dir, layers.names.len())?
    )))
}

/// `N-1:…:1:0`, the top layer first, for layers named by their index in `dir`, which
/// becomes the working directory.
fn numbered(dir: &Path, count: usize) -> Result<String> {
    sys::chdir(dir)?;
    let indexes: Vec<String> = (0..count).rev().map(|i| i.to_string()).collect();
    Ok(indexes.join(":"))
}

/// The slow way, where overlayfs is not to be had: each layer unpacked in turn into
/// the container's own directory, once (a restarted container keeps its copy).
fn copy_layers(fs: &RootFs, root: &Path, userns: Option<&Userns>) -> Result<()> {
    let done = fs.scratch.join("copied");
    if done.exists() {
        return Ok(());
    }
    trace::step("unpack the image's layers into a copy of the container's own");
    if sys::isatty(libc::STDERR_FILENO) {
        // Worth knowing (it costs time and disk), but never noise in a script's output.
        eprintln!("skiff: overlayfs is not available here: using a private copy of the image");
    }
    for layer in &fs.blobs {
        layer.unpack(root, Whiteouts::Apply)?;
    }
    if let Some(userns) = userns {
        trace::step("chown the copy into the container's range of IDs");
        userns::shift_owners(root, userns)?;
    }
    fs::write(&done, b"").with_context(|| format!("create {}", done.display()))
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

/// Where pivot_root(2) cannot work because the current root is not a mount that can
/// move (the initramfs of a minimal VM is the very first mount), do as switch_root(8)
/// does: move the new root's mount over `/` and chroot(2) into it. The old root stays
/// underneath, reachable by a chroot(2) escape, so every other mount is detached first:
/// what is left of the host there is the initramfs's own files.
fn move_into(root: &Path) -> Result<()> {
    trace::step("pivot_root(2) cannot leave this root (an initramfs): detach the host's mounts, move the new root over / and chroot(2) into it, as switch_root does");
    detach_host_mounts(root)?;
    sys::chdir(root)?;
    match sys::mount(Some(Path::new(".")), Path::new("/"), None, MS_MOVE, None) {
        Ok(()) => {}
        Err(err) if err.errno() == Some(libc::EINVAL) || mounts::is_refusal(&err) => {
            trace::step("the root cannot move either: fall back to chroot(2)");
        }
        Err(err) => return Err(err),
    }
    chroot_into(Path::new("."))
}

/// Detaches every mount but `/`, the new root's, and those the new root lies under
/// (they cannot go before it moves), deepest first. Our mount namespace is private,
/// so the host keeps them all.
fn detach_host_mounts(root: &Path) -> Result<()> {
    let mountinfo =
        fs::read_to_string("/proc/self/mountinfo").context("read /proc/self/mountinfo")?;
    let mut points: Vec<PathBuf> = mountinfo
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(crate::mountinfo::unescape)
        .filter(|point| !root.starts_with(point) && !point.starts_with(root))
        .collect();
    crate::sort::sort_by(&mut points, |a, b| {
        b.components().count().cmp(&a.components().count())
    });
    for point in points {
        match sys::umount2(&point, MNT_DETACH) {
            // Already gone with a parent, or not a mount point any more.
            Err(err) if matches!(err.errno(), Some(libc::EINVAL | libc::ENOENT)) => {}
            other => other?,
        }
    }
    Ok(())
}
