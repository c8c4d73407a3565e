//! What is mounted inside a container's root before it is entered, as Docker does:
//!
//! - `/proc` for the new PID namespace, with what it says about the host hidden:
//!   /dev/null bound over files such as /proc/kcore and /proc/timer_list, an empty
//!   read-only tmpfs over directories such as /proc/acpi, and /proc/sys, /proc/irq,
//!   /proc/sysrq-trigger, … read-only (they would change the host's kernel).
//! - `/sys`, read-only, with /sys/firmware masked (rootless on the host's network, the
//!   host's /sys bound: sysfs is refused there).
//! - `/dev`: a tmpfs with the host's harmless devices bound in, a private `/dev/pts`
//!   (devpts `newinstance`, `/dev/ptmx -> pts/ptmx`), `/dev/shm` and `/dev/mqueue`
//!   (the POSIX message queues of the container's own IPC namespace). `--device`
//!   nodes are bound from the host too: Docker makes them with mknod(2), but skiff's
//!   /dev is `nodev`, where a node made opens nothing; a bind mount of the host's
//!   node keeps the host /dev's mount flags. The cgroup's devices guard decides what
//!   each may do (see `cgroup/devices.rs`). In the runtime mode /dev is runc's: not
//!   `nodev`, with an OCI bundle's `linux.devices` made in it by mknod(2) (bound from
//!   the host where mknod is refused, in a user namespace), the guard alone deciding;
//!   but where no guard holds (no cgroup could be made, or no `devices` controller),
//!   nothing would stop a node the container makes, the host's disk say, from opening:
//!   there /dev stays `nodev` and the host's nodes are bound instead.
//! - `/etc/hostname`, `/etc/hosts`, `/etc/resolv.conf`, from the scratch directory.
//! - `-v` bind mounts, volumes (see `volume.rs`: filled from the image first when empty),
//!   `--tmpfs` and an OCI bundle's mounts (with runc's options: flags, then each
//!   propagation type asked, mount_namespaces(7)), parents before children; then, with
//!   `--read-only`, the root itself becomes read-only (the mounts on it stay as they are).
//!
//! `--privileged` skips the masks and leaves /sys and /proc/sys writable. Every mount a
//! container can make a file in is `nodev` (see capabilities.rs), but that guarded /dev;
//! the /etc files are files, bound as Docker binds them (one mount(2) each, a remount
//! only for `--read-only`): no node can be made in one. Each target is resolved
//! inside the root, symlinks included, as if the root were `/`: an image cannot point
//! a mount at the host.
//! <https://man7.org/linux/man-pages/man5/proc.5.html>
//! <https://docs.kernel.org/filesystems/devpts.html>
//! <https://github.com/moby/moby/blob/master/oci/defaults.go>

use std::fs;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{lchown, symlink};
use std::path::{Path, PathBuf};

use super::etc_files;
use super::options::{self, is_allowed_target, Bind, MountOptions, Options, Tmpfs};
use super::userns::{self, Userns};
use crate::error::{Context, Error, Result};
use crate::image::layer::resolve_dir;
use crate::sys::{
    self, MOUNT_ATTR_NODEV, MOUNT_ATTR_NOEXEC, MOUNT_ATTR_NOSUID, MOUNT_ATTR_RDONLY, MS_BIND,
    MS_NOATIME, MS_NODEV, MS_NODIRATIME, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REC, MS_RELATIME,
    MS_REMOUNT, MS_STRICTATIME, MS_SYNCHRONOUS,
};
use crate::{cgroup, trace, volume};

/// Docker's masked paths: what they tell about the host is nobody's business.
const PROC_MASKED: [&str; 9] = [
    "proc/asound",
    "proc/acpi",
    "proc/kcore",
    "proc/keys",
    "proc/latency_stats",
    "proc/timer_list",
    "proc/timer_stats",
    "proc/sched_debug",
    "proc/scsi",
];
const SYS_MASKED: [&str; 2] = ["sys/firmware", "sys/devices/virtual/powercap"];

/// Docker's read-only paths: writing them would change the host's kernel.
const PROC_READ_ONLY: [&str; 5] = [
    "proc/bus",
    "proc/fs",
    "proc/irq",
    "proc/sys",
    "proc/sysrq-trigger",
];

/// Whether every container skiff starts (not `--privileged`) has `path` masked, or with
/// `masked` false, at least read-only: what an OCI `maskedPaths` or `readonlyPaths` may ask.
pub fn hides(path: &str, masked: bool) -> bool {
    let path = path.trim_start_matches('/');
    let read_only = PROC_READ_ONLY.iter().filter(|_| !masked);
    PROC_MASKED
        .iter()
        .chain(&SYS_MASKED)
        .chain(read_only)
        .any(|p| *p == path)
}

/// Devices every container gets, shared with the host as Docker does.
const DEVICES: [&str; 6] = ["null", "zero", "full", "random", "urandom", "tty"];

/// Mount flags a bind remount must repeat, or lose.
const KEPT_FLAGS: libc::c_ulong = MS_RDONLY
    | MS_NOSUID
    | MS_NODEV
    | MS_NOEXEC
    | MS_SYNCHRONOUS
    | MS_NOATIME
    | MS_NODIRATIME
    | MS_RELATIME;

/// Everything mounted inside `root` before the container enters it.
/// With a user namespace, a volume's `_data` still the host root's becomes its root's.
/// `guarded`: whether a devices guard holds in its cgroup, known only once the cgroup
/// is made; the runtime mode's /dev may drop `nodev` only then.
pub fn populate(
    root: &Path,
    scratch: &Path,
    options: &Options,
    userns: Option<&Userns>,
    guarded: bool,
) -> Result<()> {
    let privileged = options.privileged;
    if mounted(mount_proc(root), "/proc")? && !privileged {
        hide(root, &PROC_MASKED, &PROC_READ_ONLY)?;
    }
    if let Some(userns) = userns {
        for (_, file) in etc_files::mounts(scratch) {
            userns::give_to_root(&file, userns)?; // its root may edit /etc/hosts, as Docker's
        }
    }
    // In the order runc's and runtime-tools' default config.json list them.
    let nodes = options.device_nodes.as_deref();
    let nodev = nodes.is_none() || !guarded;
    if mounted(mount_dev(root, userns, nodev), "/dev")? {
        mount_dev_filesystems(root, options.shm_size.unwrap_or(DEFAULT_SHM_SIZE))?;
    }
    if mounted(mount_sys(root, privileged), "/sys")? && !privileged {
        hide(root, &SYS_MASKED, &[])?;
    }
    for spec in options.devices.iter().flatten() {
        let device = cgroup::Device::parse(spec)?;
        trace::step(&format!("--device: bind {}", device.host.display()));
        bind_node(root, &device.host, &device.target)?;
    }
    for node in nodes.into_iter().flatten() {
        make_node(root, node, nodev)?;
    }
    for mount in mount_list(scratch, options)? {
        mount.attach(root, userns)?;
    }
    hide_also(root, options)?;
    if options.read_only {
        trace::step(
            "--read-only: remount the root read-only; the mounts on it keep their own mode",
        );
        remount(root, MS_RDONLY)?;
    }
    Ok(())
}

/// Where mount(2) is refused altogether, or would reach the host, the root is a
/// private copy: the /etc files are copied straight into it.
pub fn populate_without_mounts(root: &Path, scratch: &Path, options: &Options) -> Result<()> {
    if options.needs_mounts() {
        return Err(Error::invalid(
            "no mounts here (mount(2) is refused, or would reach the host), so -v, --tmpfs, --device and --read-only cannot be honoured",
        ));
    }
    trace::step("copy /etc/hostname, /etc/hosts and /etc/resolv.conf into the copy");
    for (target, source) in etc_files::mounts(scratch) {
        let target = root.join(resolve_file(root, &target)?);
        fs::copy(&source, &target).with_context(|| format!("write {}", target.display()))?;
    }
    Ok(())
}

pub fn is_refusal(err: &Error) -> bool {
    matches!(err.errno(), Some(libc::EPERM | libc::EACCES))
}

/// A container without /proc, /sys or /dev still runs its command: degrade, don't die.
/// True if `result` mounted it.
pub fn mounted(result: Result<()>, what: &str) -> Result<bool> {
    match result {
        Err(err) if is_refusal(&err) => {
            trace::step(&format!(
                "{what} could not be mounted here ({err}): going on without it"
            ));
            Ok(false)
        }
        other => other.map(|()| true),
    }
}

/// A directory to mount on, inside the image. An image could make it a symlink to
/// some host path; mounting there would follow it, so that is refused.
fn mount_point(root: &Path, name: &str) -> Result<PathBuf> {
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

fn mount_fs(fstype: &str, target: &Path, flags: libc::c_ulong, data: Option<&str>) -> Result<()> {
    sys::mount(Some(Path::new(fstype)), target, Some(fstype), flags, data)
}

fn mount_proc(root: &Path) -> Result<()> {
    trace::step("mount a /proc that shows the new PID namespace");
    let target = mount_point(root, "proc")?;
    mount_fs("proc", &target, MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
}

fn mount_sys(root: &Path, privileged: bool) -> Result<()> {
    trace::step("mount /sys, read-only unless --privileged");
    let target = mount_point(root, "sys")?;
    let read_only = if privileged { 0 } else { MS_RDONLY };
    let flags = read_only | MS_NOSUID | MS_NODEV | MS_NOEXEC;
    match mount_fs("sysfs", &target, flags, None) {
        Err(err) if is_refusal(&err) && crate::rootless::active() => {
            bind_host_sys(&target, privileged)
        }
        other => other,
    }
}

/// Rootless on the host's network: only a user namespace that owns the network
/// namespace may mount sysfs (sysfs(5) shows that namespace's devices), and the host's
/// owns the host's network. So the host's /sys is bound instead, every mount below it
/// with it (`AT_RECURSIVE`), all read-only unless `--privileged`, as rootless podman
/// does: open_tree(2), mount_setattr(2), move_mount(2).
fn bind_host_sys(target: &Path, privileged: bool) -> Result<()> {
    trace::step("sysfs refused (the host's network is not ours): bind the host's /sys instead");
    let host = Path::new("/sys");
    let tree = sys::open_tree_clone(host, true)?;
    let read_only = if privileged { 0 } else { MOUNT_ATTR_RDONLY };
    let flags = read_only | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
    sys::mount_setattr(&tree, flags, None, host)?;
    sys::move_mount(&tree, target)
}

/// Masks `masked` and makes `read_only` read-only; paths this kernel lacks are skipped.
fn hide(root: &Path, masked: &[&str], read_only: &[&str]) -> Result<()> {
    trace::step("hide what it tells about the host: /dev/null over files, an empty tmpfs over directories; the kernel's knobs read-only");
    for name in masked {
        let path = root.join(name);
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => mount_fs("tmpfs", &path, MS_RDONLY, None)?,
            Ok(_) => sys::mount(Some(Path::new("/dev/null")), &path, None, MS_BIND, None)?,
            Err(_) => {}
        }
    }
    for name in read_only {
        let path = root.join(name);
        if path.exists() {
            sys::mount(Some(&path), &path, None, MS_BIND | MS_REC, None)?;
            remount(&path, MS_RDONLY)?;
        }
    }
    Ok(())
}

/// Changes a mount's own flags (not its filesystem's): adds `flags` and `nodev` to
/// those it has.
pub fn remount(path: &Path, flags: libc::c_ulong) -> Result<()> {
    let kept = sys::mount_flags(path)? & KEPT_FLAGS;
    sys::mount(
        None,
        path,
        None,
        MS_REMOUNT | MS_BIND | kept | MS_NODEV | flags,
        None,
    )
}

fn mount_dev(root: &Path, userns: Option<&Userns>, nodev: bool) -> Result<()> {
    trace::step("mount a minimal /dev: a tmpfs with null, zero, full, random, urandom, tty");
    let dev = mount_point(root, "dev")?;
    // nodev here too: the real devices are bind mounts of their own, which keep theirs.
    let flags = MS_NOSUID | MS_STRICTATIME | if nodev { MS_NODEV } else { 0 };
    let data = userns::owned_tmpfs("mode=755,size=65536k", userns);
    mount_fs("tmpfs", &dev, flags, Some(&data))?;
    let present = DEVICES
        .iter()
        .filter(|name| Path::new("/dev").join(name).exists());
    for name in present {
        let node = dev.join(name);
        fs::File::create(&node).with_context(|| format!("create /dev/{name}"))?;
        let host = Path::new("/dev").join(name);
        sys::mount(Some(&host), &node, None, MS_BIND, None)?;
    }
    let links = [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
        ("ptmx", "pts/ptmx"),
    ];
    for (name, target) in links {
        symlink(target, dev.join(name)).with_context(|| format!("link /dev/{name}"))?;
    }
    Ok(())
}

/// `--device`: the `host`'s node bound where the container asked (`target`).
fn bind_node(root: &Path, host: &Path, target: &Path) -> Result<()> {
    let resolved = resolve_file(root, target)?;
    outside_proc_and_sys(&resolved)?;
    sys::mount(Some(host), &root.join(resolved), None, MS_BIND, None)
}

/// A device's place, resolved inside the root: an image cannot redirect it into /proc
/// or /sys with a symlink.
fn outside_proc_and_sys(resolved: &Path) -> Result<()> {
    match ["proc", "sys"].iter().any(|d| resolved.starts_with(d)) {
        true => Err(Error::invalid(format!(
            "cannot put a device on /{}",
            resolved.display()
        ))),
        false => Ok(()),
    }
}

/// One of `linux.devices`, made as runc makes it: mknod(2) with its permission bits
/// (0666 if not given) under a umask of 0, so that they are set whole in the one call
/// that makes it (a chmod(2) after would follow a symlink put there meanwhile), then
/// its owner (root if not given), lchown(2) not following links either. A file already
/// there stays; where mknod is refused (EPERM: a user namespace), or in a `nodev` /dev,
/// where a node made opens nothing, the host's node at the same path is bound instead
/// (if the host has one).
/// <https://man7.org/linux/man-pages/man2/mknod.2.html>
fn make_node(root: &Path, node: &super::DeviceNode, nodev: bool) -> Result<()> {
    let at = Path::new(&node.path);
    trace::step(&format!(
        "mknod {} {} {}:{}",
        node.path, node.kind, node.major, node.minor
    ));
    let (resolved, there) = resolve_last(root, at)?;
    outside_proc_and_sys(&resolved)?;
    if there.is_some() {
        return Ok(());
    }
    if nodev && node.kind != "p" && host_device(at) {
        return bind_node(root, at, at);
    }
    let path = root.join(resolved);
    let mode = node.file_mode.unwrap_or(0o666) & 0o7777;
    let kind = match node.kind.as_str() {
        "b" => libc::S_IFBLK,
        "p" => libc::S_IFIFO,
        _ => libc::S_IFCHR,
    };
    let umask = sys::umask(0);
    let made = sys::mknod(&path, kind | mode, node.major, node.minor);
    sys::umask(umask);
    match made {
        Err(err) if err.errno() == Some(libc::EPERM) && host_device(at) => {
            return bind_node(root, at, at)
        }
        made => made?,
    }
    lchown(&path, node.uid.or(Some(0)), node.gid.or(Some(0)))
        .with_context(|| format!("chown {}", node.path))
}

/// Whether the host has a device node at `path`: only such a file is bound in for a
/// node that cannot be made (a bundle's path is not to bring any other host file in).
fn host_device(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    fs::metadata(path)
        .is_ok_and(|m| m.file_type().is_char_device() || m.file_type().is_block_device())
}

/// Docker's size for /dev/shm, unless `--shm-size` says otherwise.
const DEFAULT_SHM_SIZE: i64 = 64 << 20;

/// /dev/pts, /dev/shm (`shm_size` bytes) and /dev/mqueue, each skipped where refused.
fn mount_dev_filesystems(root: &Path, shm_size: i64) -> Result<()> {
    let shm = format!("mode=1777,size={shm_size}");
    // Rootless, one gid is mapped: `tty` (5) is not, and naming it is EINVAL.
    let tty = if crate::rootless::active() {
        ""
    } else {
        ",gid=5"
    };
    let pts = format!("newinstance,ptmxmode=0666,mode=0620{tty}");
    trace::step("mount /dev/pts (terminals of its own), /dev/shm and /dev/mqueue");
    let dev = root.join("dev");
    // The source, which mountinfo shows, is the type's name, but "shm" for /dev/shm.
    let filesystems = [
        ("pts", "devpts", MS_NOSUID | MS_NOEXEC, Some(pts.as_str())),
        (
            "shm",
            "tmpfs",
            MS_NOSUID | MS_NODEV | MS_NOEXEC,
            Some(shm.as_str()),
        ),
        ("mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, None),
    ];
    for (name, fstype, flags, data) in filesystems {
        let target = dev.join(name);
        fs::create_dir(&target).with_context(|| format!("create /dev/{name}"))?;
        let source = if name == "shm" { name } else { fstype };
        let mount = sys::mount(Some(Path::new(source)), &target, Some(fstype), flags, data);
        mounted(mount, &format!("/dev/{name}"))?;
    }
    Ok(())
}

/// One mount into the container, from its options or Docker's /etc files.
struct Mount {
    /// Relative to the container's root, before symlinks are resolved.
    target: PathBuf,
    source: Source,
}

enum Source {
    /// One of skiff's own /etc files, a regular file in the container's directory.
    EtcFile { from: PathBuf, read_only: bool },
    Bind {
        from: options::Source,
        read_only: bool,
    },
    /// A mount of type `kind`, or a bind, with its options as runc reads them: an
    /// OCI bundle's, or `--tmpfs` (see [`mount_typed`]).
    Typed {
        kind: String,
        from: PathBuf,
        options: MountOptions,
    },
}

/// The /etc files, then `-v`, `--tmpfs` and a bundle's mounts, parents before
/// children; a user's mount replaces Docker's file at the same place.
fn mount_list(scratch: &Path, options: &Options) -> Result<Vec<Mount>> {
    let mut mounts: Vec<Mount> = etc_files::mounts(scratch)
        .map(|(target, from)| Mount {
            target,
            source: Source::EtcFile {
                from,
                read_only: options.read_only,
            },
        })
        .collect();
    for volume in &options.volumes {
        let bind = Bind::parse(volume)?;
        put(
            &mut mounts,
            Mount {
                target: bind.target,
                source: Source::Bind {
                    from: bind.source,
                    read_only: bind.read_only,
                },
            },
        );
    }
    for tmpfs in &options.tmpfs {
        let tmpfs = Tmpfs::parse(tmpfs)?;
        put(
            &mut mounts,
            Mount {
                target: tmpfs.target,
                source: Source::Typed {
                    kind: "tmpfs".into(),
                    from: PathBuf::from("tmpfs"),
                    options: tmpfs.options,
                },
            },
        );
    }
    for spec in options.spec_mounts.iter().flatten() {
        let (target, options) = spec.parse()?;
        let (kind, from) = (spec.kind.clone(), PathBuf::from(&spec.source));
        let source = Source::Typed {
            kind,
            from,
            options,
        };
        put(&mut mounts, Mount { target, source });
    }
    // stable: equal depths keep their order
    crate::sort::sort_by(&mut mounts, |a, b| {
        a.target
            .components()
            .count()
            .cmp(&b.target.components().count())
    });
    Ok(mounts)
}

/// Adds `mount`, replacing any earlier one on the same target: the user's `-v` and
/// `--tmpfs` win over skiff's own /etc files, and a later flag over an earlier one.
fn put(mounts: &mut Vec<Mount>, mount: Mount) {
    mounts.retain(|m| m.target != mount.target);
    mounts.push(mount);
}

impl Mount {
    fn attach(&self, root: &Path, userns: Option<&Userns>) -> Result<()> {
        let is_dir = match &self.source {
            Source::Bind {
                from: options::Source::Host(host),
                ..
            } => host.is_dir(),
            Source::Typed { from, options, .. } if options.flags & MS_BIND != 0 => from.is_dir(),
            Source::EtcFile { .. } => false,
            _ => true,
        };
        let resolved = match is_dir {
            true => resolve_dir(root, &self.target)?,
            false => resolve_file(root, &self.target)?,
        };
        if !is_allowed_target(&resolved) {
            return Err(Error::invalid(format!(
                "cannot mount over /{} (it leads to /{})",
                self.target.display(),
                resolved.display()
            )));
        }
        let target = root.join(&resolved);
        match &self.source {
            Source::EtcFile { from, read_only } => {
                // A bind of a regular file holds no device node for `nodev` to refuse,
                // and skiff made the file: only --read-only needs the remount.
                sys::mount(Some(from), &target, None, MS_BIND, None)?;
                match read_only {
                    true => remount(&target, MS_RDONLY),
                    false => Ok(()),
                }
            }
            Source::Bind { from, read_only } => {
                let host = match from {
                    options::Source::Host(host) => host.clone(),
                    options::Source::Volume(name) => {
                        let name = name.as_deref().unwrap_or_default();
                        volume::copy_up(name, &target)?; // the image's files, if it is empty
                        let data = volume::data(name);
                        if let Some(userns) = userns {
                            userns::give_to_root(&data, userns)?; // chown(2)
                        }
                        data
                    }
                };
                sys::mount(Some(&host), &target, None, MS_BIND | MS_REC, None)?;
                remount(&target, if *read_only { MS_RDONLY } else { 0 })
            }
            Source::Typed {
                kind,
                from,
                options,
            } => mount_typed(&target, kind, from, options, userns),
        }
    }
}

/// A mount as runc makes it: a bind, then a remount for its flags (which
/// a bind alone ignores); or a filesystem of its type, a tmpfs with `tmpcopyup`
/// starting with the image's files; then each propagation type asked, in order
/// (mount_namespaces(7)). `nodev` always, as every mount a container can write to.
fn mount_typed(
    target: &Path,
    kind: &str,
    from: &Path,
    options: &MountOptions,
    userns: Option<&Userns>,
) -> Result<()> {
    let data = options.data.join(",");
    let flags = options.flags | MS_NODEV;
    if flags & MS_BIND != 0 {
        sys::mount(Some(from), target, None, flags & (MS_BIND | MS_REC), None)?;
        remount(target, flags & !(MS_BIND | MS_REC))?;
    } else if kind == "tmpfs" {
        mount_tmpfs(
            target,
            flags,
            &userns::owned_tmpfs(&data, userns),
            options.copy_up,
        )?;
    } else {
        let data = Some(data.as_str()).filter(|d| !d.is_empty());
        sys::mount(Some(from), target, Some(kind), flags, data)?;
    }
    for &propagation in &options.propagation {
        sys::mount(None, target, None, propagation, None)?;
    }
    Ok(())
}

/// A tmpfs; with `copy_up` (`tmpcopyup`) it starts with what the
/// image has at `target`.
fn mount_tmpfs(target: &Path, flags: libc::c_ulong, data: &str, copy_up: bool) -> Result<()> {
    let data = Some(data).filter(|d| !d.is_empty());
    // The directory the tmpfs covers stays reachable through an fd to it.
    let below = copy_up.then(|| fs::File::open(target)).transpose()?;
    let Some(below) = below else {
        return mount_fs("tmpfs", target, flags, data);
    };
    mount_fs("tmpfs", target, flags & !MS_RDONLY, data)?;
    trace::step("tmpcopyup: the tmpfs starts with what the image has there");
    // `/.` : the directory the fd's link leads to, not the link.
    let from = PathBuf::from(format!("/proc/self/fd/{}/.", below.as_raw_fd()));
    volume::copy_contents(&from, target, None)?;
    match flags & MS_RDONLY {
        0 => Ok(()),
        _ => remount(target, MS_RDONLY),
    }
}

/// Like [`resolve_dir`] for a file: the last component's symlinks are followed inside
/// the root too, and a missing file is created empty, to mount on.
fn resolve_file(root: &Path, path: &Path) -> Result<PathBuf> {
    let (resolved, meta) = resolve_last(root, path)?;
    match meta {
        Some(meta) if meta.is_dir() => Err(Error::invalid(format!(
            "/{} is a directory",
            resolved.display()
        ))),
        Some(_) => Ok(resolved),
        None => {
            let full = root.join(&resolved);
            fs::File::create(&full).with_context(|| format!("create {}", full.display()))?;
            Ok(resolved)
        }
    }
}

/// `path` resolved inside the root, the last component's symlinks followed too, and
/// what is there (`None`: nothing yet).
fn resolve_last(root: &Path, path: &Path) -> Result<(PathBuf, Option<fs::Metadata>)> {
    let mut path = path.to_path_buf();
    for _ in 0..40 {
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            break;
        };
        let resolved = resolve_dir(root, parent)?.join(name);
        let full = root.join(&resolved);
        match fs::symlink_metadata(&full) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target =
                    fs::read_link(&full).with_context(|| format!("readlink {}", full.display()))?;
                path = resolved.parent().unwrap_or(Path::new("")).join(target);
            }
            Ok(meta) => return Ok((resolved, Some(meta))),
            Err(_) => return Ok((resolved, None)),
        }
    }
    Err(Error::invalid(format!(
        "cannot resolve /{} inside the container",
        path.display()
    )))
}

/// An OCI config's `linux.maskedPaths` and `linux.readonlyPaths` beyond Docker's
/// (`hides`), each resolved inside the root; one that is not there is left alone.
fn hide_also(root: &Path, options: &Options) -> Result<()> {
    let resolve = |paths: &Option<Vec<String>>| -> Result<Vec<String>> {
        let mut found = Vec::new();
        for path in paths.iter().flatten() {
            let Some(relative) = path.strip_prefix('/') else {
                return Err(Error::invalid(format!("{path:?} is not an absolute path")));
            };
            if let (resolved, Some(_)) = resolve_last(root, Path::new(relative))? {
                found.push(resolved.to_string_lossy().into_owned());
            }
        }
        Ok(found)
    };
    let (masked, read_only) = (
        resolve(&options.masked_paths)?,
        resolve(&options.readonly_paths)?,
    );
    let masked: Vec<&str> = masked.iter().map(String::as_str).collect();
    let read_only: Vec<&str> = read_only.iter().map(String::as_str).collect();
    hide(root, &masked, &read_only)
}
