//! A container's changes: its overlayfs upper directory, read as one more layer.
//!
//! A container's root is an overlay mount: the image's layers below, read-only, and an
//! upper directory of its own above, where every write lands. So the upper dir holds
//! exactly what the container changed, and `diff` and `commit` both read it:
//!
//! - A file created, or changed, is there whole: overlayfs "copies up" a lower file
//!   before the first write to it, with its owner, mode and times.
//! - A directory is there as soon as anything below it changes (copied up, its
//!   metadata kept); it holds only the changes, not the lower layers' files.
//! - A deletion is a *whiteout*: a character device 0/0 of the deleted name.
//! - A directory deleted and made again is *opaque*: it carries the extended attribute
//!   `trusted.overlay.opaque=y`, and hides whatever the lower layers had below it.
//!
//! What skiff itself put there for its mounts is none of the container's changes:
//! the empty files that /etc/hosts, /etc/hostname and /etc/resolv.conf are
//! bind-mounted onto, and the empty /dev, /proc and /sys that get their filesystems
//! mounted over them, made when an image lacks them. Docker makes those in an "init"
//! layer of its own, below the container's, so neither its diff nor its commit sees
//! them; skiff now takes them from a layer below the image (`container::mount_points`),
//! but a container made before, or whose image hides that layer (a whiteout, an opaque
//! `/`), still has them in its upper dir: the one walk leaves them out for both, and
//! tells a stub that came to hold something (`cp` into a stopped container's /dev) as
//! changed, not added.
//! <https://docs.kernel.org/filesystems/overlayfs.html#whiteouts-and-opaque-directories>
//! <https://docs.kernel.org/filesystems/overlayfs.html#non-directories>
//! <https://man7.org/linux/man-pages/man7/xattr.7.html>

use std::ffi::OsString;
use std::fs::{self, Metadata};
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use tar::{Builder, Header};

use crate::error::{Context, Error, Result};
use crate::sys;

/// What an entry of the upper dir says of the image below it.
#[derive(Clone, Copy, PartialEq)]
pub enum Kind {
    /// Nothing of that name below.
    Added,
    /// It replaces what is below, or is a directory whose own size, mode or time changed.
    Changed,
    /// A directory as it is below: only what it holds changed.
    Holds,
    /// A whiteout: what is below is deleted.
    Deleted,
    /// An opaque directory: it replaces what is below, contents and all.
    Opaque,
}

/// One entry of the upper dir.
pub struct Change<'a> {
    /// Inside the container, relative to its root (`etc/passwd`).
    pub path: &'a Path,
    /// Its lstat(2) in the upper dir: the owner, mode and times it has there.
    pub meta: &'a Metadata,
    pub kind: Kind,
}

/// Calls `each` on every entry of `upper` but skiff's bare stubs (see the module doc), over
/// the image's `lower` layers (top first, or none), in name order (as
/// Go's filepath.Walk, and so Docker, walks), a directory before what it holds.
pub fn walk(
    upper: &Path,
    lower: &[PathBuf],
    each: &mut dyn FnMut(&Change) -> Result<()>,
) -> Result<()> {
    let lower: Vec<&Path> = lower.iter().map(PathBuf::as_path).collect();
    walk_dir(upper, Path::new(""), &lower, each)
}

/// `lower`: the layers where `dir` is a real directory, so that looking below it never
/// follows a symlink of an image's on the host.
fn walk_dir(
    upper: &Path,
    dir: &Path,
    lower: &[&Path],
    each: &mut dyn FnMut(&Change) -> Result<()>,
) -> Result<()> {
    for name in sorted_names(&upper.join(dir))? {
        let path = dir.join(&name);
        let full = upper.join(&path);
        let meta =
            fs::symlink_metadata(&full).with_context(|| format!("lstat {}", full.display()))?;
        let (stub, bare) = stub(&full, &path, &meta);
        if bare {
            continue;
        }
        let below: Vec<(&Path, Metadata)> = lower
            .iter()
            .filter_map(|layer| Some((*layer, fs::symlink_metadata(layer.join(&name)).ok()?)))
            .collect();
        // Docker's stubs are in a layer below the container's: what it adds to one
        // changes it.
        let below_first = below.first().map(|(_, old)| old);
        let kind = match kind(&full, &meta, below_first)? {
            Kind::Added if stub => Kind::Changed,
            kind => kind,
        };
        each(&Change {
            path: &path,
            meta: &meta,
            kind,
        })?;
        if meta.is_dir() {
            let dirs: Vec<PathBuf> = below
                .iter()
                .filter(|(_, old)| old.is_dir())
                .map(|(layer, _)| layer.join(&name))
                .collect();
            let dirs: Vec<&Path> = dirs.iter().map(PathBuf::as_path).collect();
            walk_dir(upper, &path, &dirs, each)?;
        }
    }
    Ok(())
}

/// `below`: the same name in the topmost lower layer that has it.
fn kind(full: &Path, meta: &Metadata, below: Option<&Metadata>) -> Result<Kind> {
    let is_dir = meta.is_dir();
    let same = |old: &Metadata| {
        (meta.size(), meta.mode(), meta.mtime(), meta.mtime_nsec())
            == (old.size(), old.mode(), old.mtime(), old.mtime_nsec())
    };
    Ok(match below {
        _ if meta.file_type().is_char_device() && meta.rdev() == 0 => Kind::Deleted,
        _ if is_dir && sys::lgetxattr_is(full, "trusted.overlay.opaque".as_ref(), b"y")? => {
            Kind::Opaque
        }
        None => Kind::Added,
        Some(old) if is_dir && old.is_dir() && same(old) => Kind::Holds,
        Some(_) => Kind::Changed,
    })
}

/// What skiff makes to mount on when an image lacks it (see the module doc): empty
/// files, and empty directories.
const STUB_FILES: [&str; 3] = ["etc/hosts", "etc/hostname", "etc/resolv.conf"];
const STUB_DIRS: [&str; 3] = ["dev", "proc", "sys"];

/// Whether `path` is one of skiff's stubs, and whether it is still only that.
fn stub(full: &Path, path: &Path, meta: &Metadata) -> (bool, bool) {
    let path = path.to_str().unwrap_or_default();
    let (file, dir) = (STUB_FILES.contains(&path), STUB_DIRS.contains(&path));
    let bare = (file && meta.is_file() && meta.len() == 0)
        || (dir && meta.is_dir() && fs::read_dir(full).is_ok_and(|mut d| d.next().is_none()));
    (file || dir, bare)
}

/// The names in a directory, in byte order.
pub fn sorted_names(dir: &Path) -> Result<Vec<OsString>> {
    let what = || format!("read {}", dir.display());
    let entries = fs::read_dir(dir).with_context(what)?;
    let names = entries.map(|entry| entry.map(|e| e.file_name()));
    let mut names = names.collect::<io::Result<Vec<_>>>().with_context(what)?;
    names.sort();
    Ok(names)
}

/// Appends the file at `full`, whose lstat(2) is `meta`, as the entry `name` with
/// `header`: a symlink's target, a device's numbers, a regular file's bytes; a
/// directory alone. The file may have changed since: it is opened without following
/// a link nor waiting on a FIFO that replaced it, and read for exactly the size the
/// header promises.
pub fn append(
    tar: &mut Builder<&mut dyn Write>,
    header: &mut Header,
    full: &Path,
    name: &Path,
    meta: &Metadata,
) -> Result<()> {
    let what = || format!("archive {}", full.display());
    let kind = meta.file_type();
    header.set_size(0);
    if kind.is_symlink() {
        let target = fs::read_link(full).with_context(what)?;
        return Ok(tar.append_link(header, name, target)?);
    }
    if kind.is_char_device() || kind.is_block_device() {
        let rdev = meta.rdev();
        header.set_device_major(libc::major(rdev))?;
        header.set_device_minor(libc::minor(rdev))?;
    }
    if !kind.is_file() {
        return Ok(tar.append_data(header, name, io::empty())?);
    }
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(full)
        .with_context(what)?;
    if !file.metadata().with_context(what)?.is_file() {
        return Err(Error::invalid(format!("{} changed", full.display())));
    }
    header.set_size(meta.len());
    let data = file.take(meta.len()).chain(io::repeat(0)).take(meta.len());
    Ok(tar.append_data(header, name, data)?)
}
