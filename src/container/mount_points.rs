//! The store's layer of empty mount points, the lowest layer of every container's root.
//!
//! A container mounts /proc, /sys and /dev, and binds /etc/hostname, /etc/hosts and
//! /etc/resolv.conf: each needs a directory or a file to mount on. Where the image
//! lacks one (a `FROM scratch` image lacks them all), it would be made in the
//! container's writable layer: more inodes to create at each start and to free at each
//! removal, and on a disk mounted with online discard every directory's block is freed
//! with a synchronous discard. Docker keeps them out of the container's layer in an
//! "init" layer of each container's own, between the image and the container. skiff
//! makes one, once per store, and stacks it *below* the image's layers: overlayfs takes
//! a merged directory's owner, mode and times from the topmost layer that has it, so
//! where the image has the directory the image's own is what the container sees; where
//! the image has a file, a link or a whiteout of that name, the image's wins, and the
//! mounts refuse it or make their own as before. A command that writes nothing leaves
//! the container's upper directory empty.
//!
//! The overlay itself is mounted on one empty directory of the store's, `mnt/`, in the
//! container's own private mount namespace, where no other container's mount is seen:
//! the container's directory needs no mount point of its own either.
//!
//! A lower layer is never written through the overlay, but root on the host could
//! change it, and every container would see that. So each start checks its eight
//! entries with lstat(2) (type, owner 0:0, mode, emptiness, and each one's mtime, held
//! at 0 so that an entry added to or removed from a directory shows) and sets right
//! whatever is not. Owner 0 is the store's own: rootless, the user's IDs seen from
//! skiff's namespace; with `--userns`, the layer is mounted idmapped as the image's are.
//! <https://docs.kernel.org/filesystems/overlayfs.html#multiple-lower-layers>
//! <https://docs.kernel.org/filesystems/overlayfs.html#directories>
//! <https://man7.org/linux/man-pages/man2/lstat.2.html>

use std::fs::{self, File, Metadata, Permissions};
use std::io;
use std::os::unix::fs::{lchown, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::error::{Context, Result};
use crate::image::store;
use crate::trace;

/// The layer's entries, each parent before its children: (path, is a directory).
const ENTRIES: [(&str, bool); 8] = [
    ("", true),
    ("dev", true),
    ("etc", true),
    ("etc/hostname", false),
    ("etc/hosts", false),
    ("etc/resolv.conf", false),
    ("proc", true),
    ("sys", true),
];

/// The layer's directory, made or set right first if it is not as [`ENTRIES`] says.
pub fn layer() -> Result<PathBuf> {
    let dir = store::root().join("init");
    let right = |&(name, is_dir): &(&str, bool)| {
        fs::symlink_metadata(dir.join(name)).is_ok_and(|meta| is_right(&meta, is_dir))
    };
    if !ENTRIES.iter().all(right) {
        trace::step("make the store's layer of empty mount points, or set it right");
        set_right(&dir).with_context(|| format!("make {}", dir.display()))?;
    }
    Ok(dir)
}

/// The store's one empty directory on which each container's overlayfs is mounted, in
/// the container's own private mount namespace (so no two of them ever meet there):
/// a container's own directory needs no mount point of its own.
pub fn mount_point() -> Result<PathBuf> {
    let dir = store::root().join("mnt");
    match fs::create_dir(&dir) {
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Ok(dir),
        other => other
            .map(|()| dir.clone())
            .with_context(|| format!("create {}", dir.display())),
    }
}

/// The type and mode an entry must have: `drwxr-xr-x`, or `-rw-r--r--`.
fn mode(is_dir: bool) -> u32 {
    match is_dir {
        true => libc::S_IFDIR | 0o755,
        false => libc::S_IFREG | 0o644,
    }
}

fn is_right(meta: &Metadata, is_dir: bool) -> bool {
    meta.mode() == mode(is_dir)
        && (meta.uid(), meta.gid()) == (0, 0)
        && (meta.mtime(), meta.mtime_nsec()) == (0, 0)
        && (is_dir || meta.len() == 0)
}

/// Makes every entry as it must be, in place: two skiffs at it at once do the same
/// things, in the same order, and a running container's mounts on it stay valid.
fn set_right(dir: &Path) -> io::Result<()> {
    for &(name, is_dir) in &ENTRIES {
        let path = dir.join(name);
        let meta = fs::symlink_metadata(&path).ok();
        if meta.is_some_and(|meta| meta.file_type().is_dir() != is_dir || meta.is_symlink()) {
            remove(&path)?;
        }
        match is_dir {
            true => make_dir(&path, name)?,
            false => drop(File::create(&path)?), // truncated: empty
        }
        lchown(&path, Some(0), Some(0))?;
        fs::set_permissions(&path, Permissions::from_mode(mode(is_dir) & 0o7777))?;
    }
    // Deepest first: making a child changed its parent's mtime, setting its own does not.
    for &(name, _) in ENTRIES.iter().rev() {
        File::open(dir.join(name))?.set_modified(SystemTime::UNIX_EPOCH)?;
    }
    Ok(())
}

/// The directory `name` of the layer, holding only the entries it must.
fn make_dir(path: &Path, name: &str) -> io::Result<()> {
    match fs::create_dir(path) {
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
        other => other?,
    }
    for entry in fs::read_dir(path)? {
        let child = Path::new(name).join(entry?.file_name());
        if !ENTRIES
            .iter()
            .any(|&(wanted, _)| Path::new(wanted) == child)
        {
            remove(&path.join(child.file_name().unwrap_or_default()))?;
        }
    }
    Ok(())
}

fn remove(path: &Path) -> io::Result<()> {
    fs::remove_dir_all(path).or_else(|_| fs::remove_file(path))
}
