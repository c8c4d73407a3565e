//! `--userns=auto[:size=N]` (and `--uidmap`/`--gidmap`): the container's root is
//! nobody on the host.
//!
//! A user namespace (user_namespaces(7)) renumbers users: the container's uid 0 is a
//! host uid such as 1000000000, which owns nothing on the host, so a process that
//! escapes the container's other walls meets the host's files as a stranger. Docker's
//! daemon-wide `--userns-remap` and podman's per-container `--userns=auto` do this;
//! skiff follows podman's names (`--userns=host`, the default, shares the host's).
//!
//! - **IDs**: each container gets its own `size` IDs (default 65536) from skiff's
//!   range: the first `/etc/subuid` and `/etc/subgid` line of a user named `skiff`
//!   (subuid(5)), else 1000000000:1000000000, far above what useradd(8) hands out to
//!   users (`SUB_UID_MAX` 600100000). The same offset into both, leased for the
//!   container and kept from one start to the next (`lease`).
//!   podman's `--uidmap` and `--gidmap CONTAINER:HOST:SIZE` name the ranges
//!   themselves, with no lease.
//! - **The namespace**: a short-lived child of skiff unshare(2)s `CLONE_NEWUSER`, skiff
//!   writes its maps (`id_map`), opens `/proc/CHILD/ns/user` and lets it go: the
//!   descriptor keeps the namespace. The container's process does everything else as
//!   the host's root (mounts, cgroup, its network), then setns(2)es into it just
//!   before it takes its user and capabilities: from then on it holds capabilities in
//!   that namespace only. Its mount, PID, network, UTS and IPC namespaces stay owned
//!   by the host's: root inside cannot mount, set the hostname or change its network
//!   even with `--cap-add` (Docker's remapped containers can do some of that). `exec`
//!   joins the same way, the user namespace last.
//! - **The image's files**: the layers on disk belong to uid 0. Each layer is mounted
//!   idmapped (mount_setattr(2) `MOUNT_ATTR_IDMAP` with the container's namespace), so
//!   through it uid 0's files are the container's root's, and overlayfs stacks those
//!   mounts (idmapped lower layers: Linux 5.19; ext4 allows idmapping since 5.12,
//!   overlayfs itself refuses it, EINVAL, on 6.1 and 6.18). The upper layer is a plain
//!   directory owned by the mapped root: what the container writes is stored under its
//!   host IDs. Where idmapping is refused, the private copy of the layers is chowned
//!   into the range instead (`shift_owners`).
//! - **Volumes** are not idmapped, as with Docker's remap: a file made there belongs to
//!   the mapped uid on the host. A named volume's `_data`, still the host root's, is
//!   given to the mapped root, so that the container's root can write to it; so are
//!   its /etc files, its /dev and its `--tmpfs` mounts (a terminal's `-t` slave, made
//!   before the switch, stays the host root's: nobody inside).
//!
//! <https://man7.org/linux/man-pages/man7/user_namespaces.7.html>
//! <https://man7.org/linux/man-pages/man2/mount_setattr.2.html>
//! <https://docs.docker.com/engine/security/userns-remap/>
//! <https://docs.podman.io/en/latest/markdown/podman-run.1.html#userns-mode>

use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::unix::fs::{lchown, MetadataExt, PermissionsExt};
use std::path::Path;

mod lease;

pub use lease::release;

use super::id_map::{self, IdMap, Ids, Maps};
use super::Options;
use crate::error::{Context, Error, Result};
use crate::{sys, trace};

const DEFAULT_RANGE: (u32, u32) = (1_000_000_000, 1_000_000_000);
const DEFAULT_SIZE: u32 = 65536;

/// The container's user namespace, held by `file`, and its maps.
pub struct Userns {
    pub file: File,
    pub uids: Vec<IdMap>,
    pub gids: Vec<IdMap>,
}

impl Userns {
    /// The host's uid and gid for the container's root, if it has one.
    fn root(&self) -> Option<(u32, u32)> {
        Some((host_id(&self.uids, 0)?, host_id(&self.gids, 0)?))
    }
}

/// The host's ID for `id` inside, through `maps`.
fn host_id(maps: &[IdMap], id: u32) -> Option<u32> {
    let map = maps
        .iter()
        .find(|m| (m.inside..m.inside + m.count).contains(&id))?;
    Some(map.outside + (id - map.inside))
}

/// `--uidmap`/`--gidmap CONTAINER:HOST:SIZE`, podman's: one range of the container's
/// IDs onto the host's, named by the caller, with no lease.
pub fn parse_map(flag: &str, spec: &str) -> Result<IdMap> {
    let numbers: Vec<Option<u32>> = spec.split(':').map(|n| n.parse().ok()).collect();
    match numbers[..] {
        [Some(inside), Some(outside), Some(count)]
            if count > 0
                && inside.checked_add(count).is_some()
                && outside.checked_add(count).is_some() =>
        {
            Ok(IdMap {
                inside,
                outside,
                count,
            })
        }
        _ => Err(Error::usage(format!(
            "invalid {flag} {spec:?}: want CONTAINER:HOST:SIZE"
        ))),
    }
}

/// `--userns` as given: `host` (`None`), or `auto[:size=N]`: the size of its range.
pub fn size(mode: &str) -> Result<Option<u32>> {
    let size = match mode {
        "" | "host" => return Ok(None),
        "auto" => Some(DEFAULT_SIZE),
        _ => mode
            .strip_prefix("auto:size=")
            .and_then(|n| n.parse().ok())
            .filter(|&n| n > 0),
    };
    size.map(Some).ok_or_else(|| {
        Error::usage(format!(
            "invalid --userns {mode:?}: skiff knows host, auto and auto:size=N"
        ))
    })
}

/// For a container with `--userns=auto` (its range leased for `holder`, its
/// directory) or `--uidmap`/`--gidmap` (each the other's when alone): its namespace,
/// mapped; for an OCI bundle's given by path (`Options::namespaces`), that one. `None`
/// with the host's.
pub fn create(options: &Options, holder: &Path) -> Result<Option<Userns>> {
    let joined = options.namespaces.iter().flatten();
    if let Some((_, path)) = joined.clone().find(|(kind, _)| *kind == "user") {
        // An OCI bundle's, made by its caller: its maps, if given, say whose the IDs are.
        let file = File::open(path).with_context(|| format!("open the user namespace {path}"))?;
        let (uids, gids) = given_maps(options)?;
        return Ok(Some(Userns { file, uids, gids }));
    }
    let Some(Maps { uids, gids }) = maps(options, holder, &mut |holder, size| {
        trace::step(
            "its own user namespace: lease a range of host IDs, map a new namespace onto it",
        );
        lease::take(holder, size).map(Some)
    })?
    else {
        return Ok(None);
    };
    let file = mapped_namespace(&uids, &gids)?;
    Ok(Some(Userns { file, uids, gids }))
}

/// The maps of a container that is not starting, whose directory is `dir`: from its
/// options, or the range `dir` records. `None` with the host's, or if it never ran.
pub fn recorded_maps(options: &Options, dir: &Path) -> Result<Option<Maps>> {
    maps(options, dir, &mut |dir, _| {
        Ok(lease::recorded(dir).map(|(offset, _)| offset))
    })
}

/// The container's maps: `--uidmap`/`--gidmap`'s, or for `--userns=auto` `size` IDs at
/// the offset into skiff's range that `offset` gives for `holder` (`None`: none yet).
fn maps(
    options: &Options,
    holder: &Path,
    offset: &mut dyn FnMut(&Path, u32) -> Result<Option<u32>>,
) -> Result<Option<Maps>> {
    let (uids, gids) = given_maps(options)?;
    let (uids, gids) = match (
        size(options.userns.as_deref().unwrap_or_default())?,
        uids.is_empty(),
        gids.is_empty(),
    ) {
        (Some(size), _, _) => match offset(holder, size)? {
            Some(offset) => (
                leased(offset, size, Ids::User)?,
                leased(offset, size, Ids::Group)?,
            ),
            None => return Ok(None),
        },
        (None, true, true) => return Ok(None),
        (None, true, false) => (gids.clone(), gids),
        (None, false, true) => (uids.clone(), uids),
        (None, false, false) => (uids, gids),
    };
    Ok(Some(Maps { uids, gids }))
}

/// `--uidmap`'s and `--gidmap`'s maps, as given (empty when not).
fn given_maps(options: &Options) -> Result<(Vec<IdMap>, Vec<IdMap>)> {
    let given = |maps: &Option<Vec<String>>, flag| -> Result<Vec<IdMap>> {
        let maps = maps.iter().flatten();
        maps.map(|spec| parse_map(flag, spec)).collect()
    };
    Ok((
        given(&options.uidmap, "--uidmap")?,
        given(&options.gidmap, "--gidmap")?,
    ))
}

/// `--userns=auto`'s map: `size` IDs at `offset` into skiff's range.
fn leased(offset: u32, size: u32, ids: Ids) -> Result<Vec<IdMap>> {
    let (first, _) = skiff_range(ids)?;
    // The lease keeps offset + size within the range, which ends before u32::MAX.
    let outside = first
        .checked_add(offset)
        .filter(|outside| outside.checked_add(size).is_some())
        .ok_or_else(|| Error::invalid("skiff's range of host IDs runs past the last ID"))?;
    Ok(vec![IdMap {
        inside: 0,
        outside,
        count: size,
    }])
}

/// The first `skiff` line of `/etc/subuid` or `/etc/subgid`, else skiff's default.
fn skiff_range(ids: Ids) -> Result<(u32, u32)> {
    let ranges = id_map::subordinate_ranges(ids, "skiff", u32::MAX)?;
    Ok(ranges.first().copied().unwrap_or(DEFAULT_RANGE))
}

/// A user namespace with these maps, held by a descriptor: a child unshare(2)s it
/// and waits on a pipe while skiff writes its maps and opens it, then exits. A child
/// that could not unshare exits at once: its end of the pipe closes, so skiff reads
/// EOF instead of waiting forever, and reaps it on every path.
fn mapped_namespace(uids: &[IdMap], gids: &[IdMap]) -> Result<File> {
    let (mut unshared, unshared_writer) = sys::pipe()?;
    let (go, mut go_writer) = sys::pipe()?;
    let Some(pid) = sys::fork()? else {
        drop((unshared, go_writer));
        let ok =
            sys::unshare(libc::CLONE_NEWUSER).is_ok() && (&unshared_writer).write_all(b"u").is_ok();
        if ok {
            let _ = (&go).read(&mut [0]); // until skiff has opened it, or has gone
        }
        sys::exit_now(i32::from(!ok))
    };
    drop((unshared_writer, go));
    let made = unshared
        .read(&mut [0])
        .context("wait for the user namespace");
    let opened = match made {
        Ok(1) => id_map::write(pid, Ids::Group, gids)
            .and_then(|()| id_map::write(pid, Ids::User, uids))
            .and_then(|()| {
                let path = format!("/proc/{pid}/ns/user");
                File::open(&path).with_context(|| format!("open {path}"))
            }),
        Ok(_) => Err(Error::invalid(
            "unshare(CLONE_NEWUSER) failed in a child (are user namespaces disabled? see /proc/sys/user/max_user_namespaces)",
        )),
        Err(err) => Err(err),
    };
    let _ = go_writer.write_all(b"g"); // EPIPE if it has gone: skiff ignores SIGPIPE
    drop(go_writer);
    let reaped = sys::wait_for_exit(pid);
    let file = opened?;
    reaped?;
    Ok(file)
}

/// setns(2) into the container's user namespace: full capabilities in it, none left
/// in the host's. The last step before the process takes its user and capabilities.
pub fn enter(userns: Option<&File>) -> Result<()> {
    let Some(userns) = userns else {
        return Ok(());
    };
    trace::step("enter its user namespace: from here on root only inside");
    sys::setns(userns, libc::CLONE_NEWUSER, "user namespace")
}

/// Mounts `source` on `target` idmapped through `userns`: open_tree(2) a detached copy,
/// mount_setattr(2) `MOUNT_ATTR_IDMAP`, move_mount(2).
pub fn idmapped(source: &Path, target: &Path, userns: &File) -> Result<()> {
    let mount = sys::open_tree_clone(source, false)?;
    sys::mount_setattr(&mount, 0, Some(userns), source)?;
    sys::move_mount(&mount, target)
}

/// Whether the kernel refused an idmapped mount (too old, or the filesystem cannot).
pub fn idmap_refused(err: &Error) -> bool {
    matches!(
        err.errno(),
        Some(libc::EINVAL | libc::ENOSYS | libc::EPERM | libc::EOPNOTSUPP)
    )
}

/// Where layers cannot be idmapped, their private copy is moved into the range: every
/// file's owner plus the range's first ID (lchown(2), never following a link). chown
/// clears the setuid and setgid bits, so they are set again (chmod(2)); it also drops
/// file capabilities (`security.capability`), which stay dropped: such a program runs
/// without them. A file with several hard links is shifted once. The walk recurses
/// once per directory level, as deep as the image's tree, which an image's tar bounds.
pub fn shift_owners(path: &Path, userns: &Userns) -> Result<()> {
    shift_tree(path, userns, &mut Vec::new())
}

/// `linked`: the hard-linked files shifted so far, few in an image (a Vec is enough).
fn shift_tree(path: &Path, userns: &Userns, linked: &mut Vec<(u64, u64)>) -> Result<()> {
    let meta = fs::symlink_metadata(path).with_context(|| format!("stat {}", path.display()))?;
    let inode = (meta.dev(), meta.ino());
    let shared = !meta.is_dir() && meta.nlink() > 1;
    if shared && linked.contains(&inode) {
        return Ok(()); // shifted through another of its links
    }
    if shared {
        linked.push(inode);
    }
    let (uid, gid) = (meta.uid(), meta.gid());
    if let (Some(uid), Some(gid)) = (host_id(&userns.uids, uid), host_id(&userns.gids, gid)) {
        lchown(path, Some(uid), Some(gid)).with_context(|| format!("chown {}", path.display()))?;
        if meta.mode() & 0o6000 != 0 && !meta.file_type().is_symlink() {
            let mode = fs::Permissions::from_mode(meta.mode() & 0o7777);
            fs::set_permissions(path, mode).with_context(|| format!("chmod {}", path.display()))?;
        }
    }
    if meta.is_dir() {
        for entry in fs::read_dir(path).with_context(|| format!("read {}", path.display()))? {
            shift_tree(&entry?.path(), userns, linked)?;
        }
    }
    Ok(())
}

/// A tmpfs's options, owned by the container's root (`uid=`, `gid=`) unless they say
/// otherwise: a tmpfs made inside Docker's remapped containers is theirs too.
pub fn owned_tmpfs(data: &str, userns: Option<&Userns>) -> String {
    match userns.and_then(Userns::root) {
        Some((uid, gid)) => with_owner(data, uid, gid),
        None => data.to_string(),
    }
}

/// `data` with `uid=` and `gid=` added, each unless it is given already.
fn with_owner(data: &str, uid: u32, gid: u32) -> String {
    let mut options: Vec<String> = data
        .split(',')
        .filter(|o| !o.is_empty())
        .map(String::from)
        .collect();
    for (key, id) in [("uid", uid), ("gid", gid)] {
        if !options.iter().any(|o| o.split('=').next() == Some(key)) {
            options.push(format!("{key}={id}"));
        }
    }
    options.join(",")
}

/// Gives `dir` (the upper layer, a volume's `_data`, the /etc files) to the
/// container's root, if it is still the host root's.
pub fn give_to_root(dir: &Path, userns: &Userns) -> Result<()> {
    let meta = fs::metadata(dir).with_context(|| format!("stat {}", dir.display()))?;
    let Some((uid, gid)) = userns.root().filter(|_| meta.uid() == 0 && meta.gid() == 0) else {
        return Ok(());
    };
    lchown(dir, Some(uid), Some(gid)).with_context(|| format!("chown {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userns_modes_read_as_podman_writes_them() {
        assert_eq!(size("host").unwrap(), None);
        assert_eq!(size("auto").unwrap(), Some(65536));
        assert_eq!(size("auto:size=1024").unwrap(), Some(1024));
        for bad in ["auto:size=0", "auto:size=x", "keep-id", "private"] {
            assert!(size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn maps_are_container_host_size() {
        let map = parse_map("--uidmap", "0:100000:65536").unwrap();
        assert_eq!(host_id(&[map], 0), Some(100000));
        assert_eq!(host_id(&[map], 65535), Some(165535));
        assert_eq!(host_id(&[map], 65536), None);
        for bad in ["0:1", "0:1:0", "a:1:1", "0:4294967295:2"] {
            let err = parse_map("--uidmap", bad).unwrap_err();
            assert!(err.to_string().starts_with("invalid --uidmap"), "{bad}");
        }
    }

    #[test]
    fn a_tmpfs_is_the_mapped_roots_unless_its_options_say_whose() {
        assert_eq!(with_owner("", 7, 8), "uid=7,gid=8");
        assert_eq!(with_owner("size=1m", 7, 8), "size=1m,uid=7,gid=8");
        assert_eq!(with_owner("gid=5", 7, 8), "gid=5,uid=7");
        assert_eq!(with_owner("uid=0,mode=700", 7, 8), "uid=0,mode=700,gid=8");
    }
}
