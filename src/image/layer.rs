//! One image layer, from the registry's byte stream to files under the root directory.
//!
//! A layer is a tar archive of what one build step added, changed or deleted, usually
//! gzip-compressed (sometimes as several gzip members back to back). Layers are applied
//! in order onto one directory, and each can delete from the layers below it with
//! *whiteouts*, markers that never appear in the result:
//!
//! - `dir/.wh.NAME` deletes `dir/NAME` (a file, a symlink or a whole tree);
//! - `dir/.wh..wh..opq` makes `dir` opaque: whatever the lower layers put in it is gone.
//!
//! Both only hide what lower layers made, never the entries of their own layer.
//! <https://github.com/opencontainers/image-spec/blob/main/layer.md>
//!
//! A layer can be applied two ways ([`Whiteouts`]): onto one directory holding the layers
//! below it, deleting what its whiteouts name; or into a directory of its own, keeping
//! each whiteout as overlayfs's marker (a 0/0 character device, or the
//! `trusted.overlay.opaque` attribute), so the kernel can stack the layers at run time.
//! <https://docs.kernel.org/filesystems/overlayfs.html#whiteouts-and-opaque-directories>
//!
//! A layer comes from the network, so it is treated as hostile. Its paths are resolved
//! here, by hand, the way the kernel would if `root` were `/` (path_resolution(7)): a name
//! with `..` is refused, and a symlink met on the way (`var/run -> /run`, `x -> ../../..`)
//! is followed *inside* root, with `..` stopping at root, so no entry can land outside it.
//! Every directory in a resolved path is a real one, so the host kernel never follows a
//! link while we use it. The last component is never followed either: whatever sits there
//! is replaced, and files are created with `O_EXCL|O_NOFOLLOW`. This is why the tar
//! crate's `unpack` is not used: it follows such links on the host and knows nothing of
//! whiteouts. (openat2(2)'s `RESOLVE_IN_ROOT` would do the resolving in the kernel, but
//! needs Linux 5.6.) Nor may a layer bring device nodes beyond the harmless few every
//! container has anyway ([`HARMLESS_DEVICES`]): any other would be the host's hardware.
//!
//! The uncompressed stream is hashed on its way through: its SHA-256 is the layer's
//! diff_id, which the image config lists, so the caller can check what was unpacked.
//! <https://github.com/opencontainers/image-spec/blob/main/config.md#layer-diffid>
//! <https://man7.org/linux/man-pages/man7/path_resolution.7.html>
//! <https://man7.org/linux/man-pages/man2/openat2.2.html>

use std::collections::{HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::fs::{self, DirBuilder, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{fchown, lchown, symlink, DirBuilderExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime};

use skiff_inflate::{Gunzip, Input};
use tar::{Archive, Entry, EntryType, Header};

use crate::digest::{Digest, Hashing};
use crate::error::{Context, Error, Result};
use crate::sys;

/// Bytes of file data per write(2).
const WRITE_SIZE: usize = 256 * 1024;
/// Linux gives up after following this many symlinks in one lookup (path_resolution(7)).
const MAX_SYMLINKS: u32 = 40;
const WHITEOUT: &[u8] = b".wh.";
const OPAQUE: &[u8] = b".wh..wh..opq";
/// aufs kept its own bookkeeping under this prefix (`.wh..wh.plnk`): not files, not whiteouts.
const AUFS_META: &[u8] = b".wh..wh.";
/// Where PAX headers keep extended attributes (the name follows), as GNU tar and Go write them.
const PAX_XATTR: &[u8] = b"SCHILY.xattr.";
/// The character devices every container gets in its /dev anyway (null, zero, full,
/// random, urandom, tty), by major and minor number: the only ones a layer may make.
/// Any other node is the host's hardware (c 1:11 is its kernel log, b 8:0 a disk):
/// Docker makes them and has its devices cgroup refuse to open them; skiff's guard
/// would too, but a store is also read by the host and by containers that run without
/// a cgroup, so skiff never makes them.
/// <https://docs.kernel.org/admin-guide/devices.html>
/// <https://docs.kernel.org/admin-guide/cgroup-v1/devices.html>
const HARMLESS_DEVICES: [(u32, u32); 6] = [(1, 3), (1, 5), (1, 7), (1, 8), (1, 9), (5, 0)];

/// What a whiteout does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whiteouts {
    /// Delete from the lower layers already in `root`.
    Apply,
    /// Leave overlayfs's marker in this layer's own directory.
    Overlay,
    /// None: `.wh.NAME` is a file like any other (`cp`'s archives are no layers).
    Keep,
}

/// overlayfs reads a directory with this attribute set to `y` as opaque. A rootless
/// skiff's overlayfs, mounted with `userxattr`, reads the `user.` one (`rootless`).
fn overlay_opaque() -> &'static str {
    match crate::rootless::active() {
        true => "user.overlay.opaque",
        false => "trusted.overlay.opaque",
    }
}

/// How a layer blob is compressed, from its descriptor's media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Uncompressed,
}

impl Compression {
    /// The gzip and plain tar layer types of Docker's schema 2 and of OCI (nondistributable
    /// ones included); anything else, zstd among them, is refused by name.
    /// <https://github.com/opencontainers/image-spec/blob/main/media-types.md>
    pub fn for_media_type(media_type: &str) -> Result<Compression> {
        match media_type {
            "application/vnd.docker.image.rootfs.diff.tar.gzip"
            | "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
            | "application/vnd.oci.image.layer.v1.tar+gzip"
            | "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip" => {
                Ok(Compression::Gzip)
            }
            "application/vnd.docker.image.rootfs.diff.tar"
            | "application/vnd.docker.image.rootfs.foreign.diff.tar"
            | "application/vnd.oci.image.layer.v1.tar"
            | "application/vnd.oci.image.layer.nondistributable.v1.tar" => {
                Ok(Compression::Uncompressed)
            }
            _ if media_type.ends_with("+zstd") => Err(Error::invalid(format!(
                "unsupported layer media type {media_type} (zstd is not supported)"
            ))),
            _ => Err(Error::invalid(format!(
                "unsupported layer media type {media_type}"
            ))),
        }
    }
}

/// A layer blob in the store, and the diff_id that unpacking it must produce.
#[derive(Debug, Clone)]
pub struct StoredLayer {
    pub blob: PathBuf,
    pub compression: Compression,
    pub diff_id: Digest,
}

impl StoredLayer {
    /// Unpacks the blob onto `root` and checks what came out against the diff_id.
    pub fn unpack(&self, root: &Path, whiteouts: Whiteouts) -> Result<()> {
        let mut blob =
            fs::File::open(&self.blob).with_context(|| format!("open {}", self.blob.display()))?;
        self.unpack_from(&mut blob, root, whiteouts)
    }

    /// The same, from the blob's bytes as they arrive (a pull unpacks while it downloads).
    /// `dyn`: one copy of the tar loop in the binary, whatever the source.
    pub fn unpack_from(
        &self,
        blob: &mut dyn Read,
        root: &Path,
        whiteouts: Whiteouts,
    ) -> Result<()> {
        let actual = unpack(blob, self.compression, root, whiteouts)?;
        self.diff_id.verify("uncompressed layer (diff_id)", &actual)
    }
}

/// Streams one layer onto `root` (a directory that already holds the layers below it) and
/// returns the diff_id: the SHA-256 of the uncompressed tar. Both the decompressed stream
/// and the tar are read to their end first, since a corrupt tar can end "successfully".
pub fn unpack(
    blob: &mut dyn Read,
    compression: Compression,
    root: &Path,
    whiteouts: Whiteouts,
) -> Result<Digest> {
    let blob = Input::new(blob);
    match compression {
        Compression::Gzip => {
            let tar = Gunzip::new(blob)
                .map_err(stream_error)
                .context("read layer")?;
            unpack_tar(tar, root, whiteouts)
        }
        Compression::Uncompressed => unpack_tar(blob, root, whiteouts),
    }
}

fn unpack_tar(tar: impl Read, root: &Path, whiteouts: Whiteouts) -> Result<Digest> {
    let mut archive = Archive::new(Hashing::new(tar));
    apply_entries(&mut archive, root, whiteouts, &mut |name, _| {
        Ok(name.to_path_buf())
    })?;
    let (diff_id, _) = archive
        .into_inner()
        .finish()
        .map_err(stream_error)
        .context("read layer to its end")?;
    Ok(diff_id)
}

/// A `cp` archive unpacked under `root` with a layer's rules (no `..`, links followed
/// inside root, no host devices), but whiteout names are plain files; `place` says where
/// each entry goes, from its name and whether it is a directory. Read through the same
/// types as an uncompressed layer (hashed for nothing), so the binary holds one copy of
/// the unpacking code for both.
pub fn unpack_placed(tar: &mut dyn Read, root: &Path, place: &mut Place) -> Result<()> {
    let mut archive = Archive::new(Hashing::new(Input::new(tar)));
    apply_entries(&mut archive, root, Whiteouts::Keep, place)
}

/// Where an entry goes, from its name and whether it is a directory.
pub type Place<'a> = dyn FnMut(&Path, bool) -> Result<PathBuf> + 'a;

fn apply_entries<R: Read>(
    archive: &mut Archive<R>,
    root: &Path,
    whiteouts: Whiteouts,
    place: &mut Place,
) -> Result<()> {
    let mut layer = Layer::new(root, whiteouts);
    for entry in archive.entries().context("read layer")? {
        let mut entry = entry.map_err(stream_error).context("read layer")?;
        let name = entry.path().context("read layer")?.into_owned();
        let entry_type = entry.header().entry_type();
        let path = place(&name, entry_type == EntryType::Directory)?;
        // A hard link's target is an earlier entry's name, so it goes where that went.
        let link = match entry_type {
            EntryType::Link => entry.link_name()?.map(|t| place(&t, false)).transpose()?,
            _ => None,
        };
        layer
            .apply(&mut entry, &path, link.as_deref())
            .with_context(|| format!("unpack entry {}", name.display()))?;
    }
    layer.warn_about_skipped();
    Ok(())
}

/// What an entry becomes on disk; tar's other kinds (PAX global headers, unknown
/// types) carry nothing we unpack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    File,
    Dir,
    Symlink,
    Hardlink,
    /// A character or block device or a FIFO, with its `S_IF*` type bits.
    Node(u32),
}

impl FileKind {
    fn of(entry_type: EntryType) -> Option<FileKind> {
        match entry_type {
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                Some(FileKind::File)
            }
            EntryType::Directory => Some(FileKind::Dir),
            EntryType::Symlink => Some(FileKind::Symlink),
            EntryType::Link => Some(FileKind::Hardlink),
            EntryType::Char => Some(FileKind::Node(libc::S_IFCHR)),
            EntryType::Block => Some(FileKind::Node(libc::S_IFBLK)),
            EntryType::Fifo => Some(FileKind::Node(libc::S_IFIFO)),
            _ => None,
        }
    }
}

/// One layer being applied: where, and what it has written so far.
struct Layer<'a> {
    root: &'a Path,
    whiteouts: Whiteouts,
    /// Paths (resolved, relative to root) this layer made, and all their ancestors:
    /// whiteouts must leave these alone, since they only hide lower layers.
    ours: HashSet<PathBuf>,
    /// Device nodes not made: the host's, and any the kernel refused (mknod(2) needs
    /// CAP_MKNOD, which a rootless or nested skiff may lack).
    skipped_devices: u64,
    /// Not every filesystem takes every attribute (ENOTSUP), nor every user (EPERM).
    skipped_xattrs: u64,
    /// Directories already resolved, by their name in the layer: the entries of a
    /// directory follow each other, and walking its path again would cost an lstat(2)
    /// per component per entry. Forgotten whenever anything is removed, since a path
    /// may have led through what went.
    dirs: HashMap<PathBuf, PathBuf>,
    /// One buffer for every file's data, so each write(2) is large.
    buf: Vec<u8>,
}

impl<'a> Layer<'a> {
    fn new(root: &'a Path, whiteouts: Whiteouts) -> Self {
        Layer {
            root,
            whiteouts,
            ours: HashSet::new(),
            skipped_devices: 0,
            skipped_xattrs: 0,
            dirs: HashMap::new(),
            buf: vec![0; WRITE_SIZE],
        }
    }

    fn apply<R: Read>(
        &mut self,
        entry: &mut Entry<R>,
        name: &Path,
        link: Option<&Path>,
    ) -> Result<()> {
        let path = layer_path(name)?;
        let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
            return Ok(()); // root itself ("./"): its owner and mode are the store's
        };
        if name.as_bytes().starts_with(WHITEOUT) && self.whiteouts != Whiteouts::Keep {
            return self.whiteout(dir, name);
        }
        let Some(kind) = FileKind::of(entry.header().entry_type()) else {
            return Ok(());
        };
        let rel = self.resolve_dir(dir)?.join(name);
        let full = self.root.join(&rel);
        let mut file = None;
        match kind {
            FileKind::File => file = Some(self.write_file(entry, &full)?),
            FileKind::Dir => {
                // Its own mode comes with the rest of its metadata.
                let mkdir = || Ok(DirBuilder::new().mode(0o700).create(&full)?);
                self.make(&full, true, mkdir)
                    .with_context(|| format!("mkdir {}", full.display()))?;
                self.dirs.insert(path.clone(), rel.clone());
            }
            FileKind::Symlink => self.make_symlink(entry, &full)?,
            // The new name shares its target's inode, and with it owner and mode.
            FileKind::Hardlink => return self.make_hardlink(link, &rel),
            FileKind::Node(file_type) => {
                if !self.make_node(entry.header(), file_type, &full)? {
                    return Ok(());
                }
            }
        }
        self.set_metadata(entry, &full, kind, file.as_ref())?;
        self.mark_ours(&rel);
        Ok(())
    }

    fn resolve_dir(&mut self, dir: &Path) -> Result<PathBuf> {
        if let Some(resolved) = self.dirs.get(dir) {
            return Ok(resolved.clone());
        }
        let resolved = resolve_dir(self.root, dir)?;
        self.dirs.insert(dir.to_path_buf(), resolved.clone());
        Ok(resolved)
    }

    /// Makes a new entry at `full` with `make`, which fails with EEXIST where something
    /// is in the way (a lower layer's, or an earlier entry's): that is cleared and
    /// `make` tried once more, so the common case costs no lstat(2). A directory stays
    /// where a directory is made (its contents are lower layers' and survive): then
    /// this returns None.
    fn make<T>(
        &mut self,
        full: &Path,
        for_dir: bool,
        make: impl Fn() -> Result<T>,
    ) -> Result<Option<T>> {
        match make() {
            Err(e) if e.errno() == Some(libc::EEXIST) => {}
            made => return made.map(Some),
        }
        if make_room(full, for_dir)? {
            return Ok(None);
        }
        self.dirs.clear();
        Ok(Some(make()?))
    }

    /// Streams the entry's data into a new file, in large writes; owner and mode come
    /// afterwards, on the returned file.
    fn write_file<R: Read>(&mut self, entry: &mut Entry<R>, full: &Path) -> Result<fs::File> {
        let Some(mut file) = self
            .make(full, false, || sys::create_new(full, 0o600))
            .with_context(|| format!("create {}", full.display()))?
        else {
            return Err(Error::invalid("a file cannot replace a directory here"));
        };
        copy_filling(entry, &mut file, &mut self.buf)
            .map_err(stream_error)
            .with_context(|| format!("write {}", full.display()))?;
        // A time beyond SystemTime's range is left alone rather than trusted.
        let mtime = Duration::from_secs(entry.header().mtime()?);
        if let Some(mtime) = SystemTime::UNIX_EPOCH.checked_add(mtime) {
            file.set_modified(mtime)
                .with_context(|| format!("set mtime of {}", full.display()))?;
        }
        Ok(file)
    }

    /// The target is stored verbatim: it means something only inside the container.
    fn make_symlink<R: Read>(&mut self, entry: &Entry<R>, full: &Path) -> Result<()> {
        let target = entry
            .link_name()?
            .ok_or_else(|| Error::invalid("symlink without a target"))?;
        self.make(full, false, || Ok(symlink(&target, full)?))
            .with_context(|| format!("symlink {}", full.display()))
            .map(drop)
    }

    /// `dir/.wh.NAME` deletes `dir/NAME`; `dir/.wh..wh..opq` empties `dir` of what lower
    /// layers put there. The directory holding a marker is part of this layer.
    fn whiteout(&mut self, dir: &Path, marker: &OsStr) -> Result<()> {
        let dir = self.resolve_dir(dir)?;
        self.mark_ours(&dir);
        let marker = marker.as_bytes();
        if marker == OPAQUE {
            return match self.whiteouts {
                Whiteouts::Apply | Whiteouts::Keep => {
                    self.dirs.clear();
                    self.clear_lower(&dir)
                }
                Whiteouts::Overlay => {
                    sys::lsetxattr(&self.root.join(&dir), overlay_opaque().as_ref(), b"y")
                }
            };
        }
        if marker.starts_with(AUFS_META) {
            return Ok(());
        }
        let hidden = &marker[WHITEOUT.len()..];
        if matches!(hidden, b"" | b"." | b"..") {
            return Err(Error::invalid("whiteout names no file"));
        }
        let rel = dir.join(OsStr::from_bytes(hidden));
        if self.ours.contains(&rel) {
            return Ok(());
        }
        let full = self.root.join(rel);
        match self.whiteouts {
            Whiteouts::Apply | Whiteouts::Keep => {
                self.dirs.clear();
                remove(&full)
            }
            Whiteouts::Overlay => {
                // Without CAP_MKNOD this fails, and the layer cannot be kept this way.
                make_room(&full, false)?;
                self.dirs.clear();
                sys::mknod(&full, libc::S_IFCHR, 0, 0)
            }
        }
    }

    /// Deletes everything under `dir` that this layer did not make; a directory this layer
    /// wrote into is kept, but emptied of its lower contents in turn.
    fn clear_lower(&self, dir: &Path) -> Result<()> {
        let full = self.root.join(dir);
        let children = fs::read_dir(&full).with_context(|| format!("read {}", full.display()))?;
        for child in children {
            let child = child.with_context(|| format!("read {}", full.display()))?;
            let rel = dir.join(child.file_name());
            if !self.ours.contains(&rel) {
                remove(&child.path())?;
            } else if child.file_type()?.is_dir() {
                self.clear_lower(&rel)?;
            }
        }
        Ok(())
    }

    fn mark_ours(&mut self, rel: &Path) {
        for path in rel.ancestors() {
            // A path already here has all its ancestors here too.
            if path.as_os_str().is_empty() || !self.ours.insert(path.to_path_buf()) {
                break;
            }
        }
    }

    /// A hard link's target (placed like an entry's name) names a path in the layer (or
    /// below it): it is resolved in root like any entry, must already exist and may not
    /// be a directory.
    fn make_hardlink(&mut self, name: Option<&Path>, rel: &Path) -> Result<()> {
        let name = name.ok_or_else(|| Error::invalid("hard link without a target"))?;
        let what = || format!("hard link target {}", name.display());
        let target = layer_path(name).with_context(what)?;
        let (Some(dir), Some(file)) = (target.parent(), target.file_name()) else {
            return Err(Error::invalid(format!("{} is root", what())));
        };
        let source = self.root.join(self.resolve_dir(dir)?.join(file));
        if fs::symlink_metadata(&source).with_context(what)?.is_dir() {
            return Err(Error::invalid(format!("{} is a directory", what())));
        }
        let full = self.root.join(rel);
        if source != full {
            // linkat(2) without AT_SYMLINK_FOLLOW: a symlink is linked, never followed.
            self.make(&full, false, || Ok(fs::hard_link(&source, &full)?))
                .with_context(|| format!("link {}", full.display()))?;
        }
        self.mark_ours(rel);
        Ok(())
    }

    /// Returns false when the node is skipped, which is not fatal: a device that is not
    /// harmless, or one the kernel refused (EPERM). Either way it replaces what was there.
    fn make_node(&mut self, header: &Header, file_type: u32, full: &Path) -> Result<bool> {
        // A FIFO has no device number, and tar writers often leave the fields empty.
        let (major, minor) = match file_type {
            libc::S_IFIFO => (0, 0),
            _ => (
                header.device_major()?.unwrap_or(0),
                header.device_minor()?.unwrap_or(0),
            ),
        };
        make_room(full, false)?;
        self.dirs.clear(); // whatever was there is gone (nodes are few)
        let harmless = match file_type {
            libc::S_IFIFO => true,
            libc::S_IFCHR => HARMLESS_DEVICES.contains(&(major, minor)),
            _ => false,
        };
        if !harmless {
            self.skipped_devices += 1;
            return Ok(false);
        }
        match sys::mknod(full, file_type | (header.mode()? & 0o7777), major, minor) {
            Err(e) if e.errno() == Some(libc::EPERM) => {
                self.skipped_devices += 1;
                Ok(false)
            }
            result => result.map(|()| true),
        }
    }

    /// Owner first: chown(2) clears the setuid and setgid bits, and the
    /// `security.capability` attribute, so mode and attributes come after it.
    /// A symlink has no mode of its own (chmod(2) would follow it).
    /// A regular file is still open (`file`): its metadata is set through the descriptor,
    /// with no path to look up again.
    fn set_metadata<R: Read>(
        &mut self,
        entry: &mut Entry<R>,
        full: &Path,
        kind: FileKind,
        file: Option<&fs::File>,
    ) -> Result<()> {
        let header = entry.header();
        let uid = u32::try_from(header.uid()?).map_err(|_| Error::invalid("uid out of range"))?;
        let gid = u32::try_from(header.gid()?).map_err(|_| Error::invalid("gid out of range"))?;
        let owned = match file {
            Some(file) => fchown(file, Some(uid), Some(gid)),
            None => lchown(full, Some(uid), Some(gid)),
        };
        match owned {
            // Rootless, only the user's own ID is mapped (`rootless`): a file owned by
            // any other stays the user's, as podman's `ignore_chown_errors` leaves it.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) && crate::rootless::active() => {}
            owned => owned.with_context(|| format!("chown {} {uid}:{gid}", full.display()))?,
        }
        if kind != FileKind::Symlink {
            let mode = Permissions::from_mode(header.mode()? & 0o7777);
            match file {
                Some(file) => file.set_permissions(mode.clone()),
                None => fs::set_permissions(full, mode.clone()),
            }
            .with_context(|| format!("chmod {} {:o}", full.display(), mode.mode()))?;
        }
        self.set_xattrs(entry, full)
    }

    /// Extended attributes travel in PAX headers as `SCHILY.xattr.NAME=VALUE`.
    fn set_xattrs<R: Read>(&mut self, entry: &mut Entry<R>, full: &Path) -> Result<()> {
        let Some(extensions) = entry.pax_extensions()? else {
            return Ok(());
        };
        for extension in extensions {
            let extension = extension?;
            let Some(name) = extension.key_bytes().strip_prefix(PAX_XATTR) else {
                continue;
            };
            // trusted.* belongs to the host's administrator (overlayfs keeps its own
            // whiteouts and redirects there): an image has no business setting it, nor
            // user.overlay.*, where a rootless overlayfs keeps them.
            if name.starts_with(b"trusted.") || name.starts_with(b"user.overlay.") {
                continue;
            }
            let name = OsStr::from_bytes(name);
            match sys::lsetxattr(full, name, extension.value_bytes()) {
                Err(e) if matches!(e.errno(), Some(libc::ENOTSUP | libc::EPERM)) => {
                    self.skipped_xattrs += 1;
                }
                result => result?,
            }
        }
        Ok(())
    }

    /// One line per layer, and only on a terminal: off a terminal, skiff's stderr
    /// belongs to the container.
    fn warn_about_skipped(&self) {
        if !sys::isatty(2) {
            return;
        }
        if self.skipped_devices > 0 {
            let n = self.skipped_devices;
            eprintln!("skiff: warning: skipped {n} device nodes (the host's, or refused here)");
        }
        if self.skipped_xattrs > 0 {
            let n = self.skipped_xattrs;
            eprintln!("skiff: warning: skipped {n} extended attributes (not supported here)");
        }
    }
}

/// Follows `dir` (a relative path) from root as the kernel would if root were
/// `/`, creating missing directories on the way (0755, as Docker does), and returns
/// where it really is, relative to root. Every component of the answer is a real
/// directory, so the host kernel never follows a symlink in it.
pub fn resolve_dir(root: &Path, dir: &Path) -> Result<PathBuf> {
    let mut resolved = PathBuf::new();
    let mut pending: Vec<OsString> = parts(dir).rev().collect();
    let mut links = 0;
    while let Some(part) = pending.pop() {
        if part == ".." {
            resolved.pop(); // at root, `..` is root
            continue;
        }
        let candidate = resolved.join(&part);
        let full = root.join(&candidate);
        match fs::symlink_metadata(&full) {
            Ok(meta) if meta.is_dir() => {}
            Ok(meta) if meta.file_type().is_symlink() => {
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(Error::invalid(format!(
                        "too many levels of symbolic links in {}",
                        dir.display()
                    )));
                }
                let target = fs::read_link(&full)
                    .with_context(|| format!("readlink {}", candidate.display()))?;
                if target.has_root() {
                    resolved = PathBuf::new();
                }
                pending.extend(parts(&target).rev());
                continue;
            }
            Ok(_) => {
                return Err(Error::invalid(format!(
                    "{} is not a directory",
                    candidate.display()
                )))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => create_dir(&full, 0o755)?,
            Err(e) => return Err(Error::from(e).context(format!("lstat {}", full.display()))),
        }
        resolved = candidate;
    }
    Ok(resolved)
}

/// The decoders report a cut-off stream as `UnexpectedEof`, which reads "failed to fill
/// whole buffer": say what it means.
fn stream_error(err: io::Error) -> Error {
    match err.kind() {
        io::ErrorKind::UnexpectedEof => Error::invalid("the layer stream ends early"),
        _ => err.into(),
    }
}

/// An entry's name as a relative path: leading `/` and `./` dropped, `..` refused.
fn layer_path(name: &Path) -> Result<PathBuf> {
    let mut clean = PathBuf::new();
    for part in name.components() {
        match part {
            Component::Normal(part) => clean.push(part),
            Component::ParentDir => return Err(Error::invalid("path contains a .. component")),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    Ok(clean)
}

/// The names and `..`s of a path, in order; `/` and `.` say nothing more here.
fn parts(path: &Path) -> impl DoubleEndedIterator<Item = OsString> + '_ {
    path.components().filter_map(|part| match part {
        Component::Normal(name) => Some(name.to_os_string()),
        Component::ParentDir => Some(OsString::from("..")),
        Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
    })
}

fn create_dir(full: &Path, mode: u32) -> Result<()> {
    DirBuilder::new()
        .mode(mode)
        .create(full)
        .with_context(|| format!("mkdir {}", full.display()))?;
    // The umask may have taken bits away.
    fs::set_permissions(full, Permissions::from_mode(mode))
        .with_context(|| format!("chmod {} {mode:o}", full.display()))
}

/// Clears the spot for a new entry without following what is there. A directory stays
/// when a directory replaces it (its contents are lower layers' and survive); returns
/// whether one did.
fn make_room(full: &Path, for_dir: bool) -> Result<bool> {
    match fs::symlink_metadata(full) {
        Ok(meta) if for_dir && meta.is_dir() => Ok(true),
        Ok(_) => remove(full).map(|()| false),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::from(e).context(format!("lstat {}", full.display()))),
    }
}

/// Removes whatever is at `full`, a whole tree if it is a directory, never following a
/// symlink (remove_dir_all does not either); a missing path is fine.
fn remove(full: &Path) -> Result<()> {
    let removed = match fs::symlink_metadata(full) {
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(full),
        Ok(_) => fs::remove_file(full),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    };
    removed.with_context(|| format!("remove {}", full.display()))
}

/// Copies `from` to `to` in writes of `buf`'s size: tar hands out a file's data in
/// pieces as small as the decoder's, and each would be a write(2).
fn copy_filling(from: &mut impl Read, to: &mut impl Write, buf: &mut [u8]) -> io::Result<()> {
    loop {
        let mut filled = 0;
        while filled < buf.len() {
            match from.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if filled == 0 {
            return Ok(());
        }
        to.write_all(&buf[..filled])?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::{FileTypeExt, MetadataExt};

    /// A fresh directory per test, removed even when an assertion fails. The root sits
    /// three levels down, so any escape through `..` still lands inside the guard.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let dir = std::env::temp_dir()
                .join(format!("skiff-test-layer-{}-{name}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(dir.join("a/b/root")).unwrap();
            Scratch(dir)
        }

        fn root(&self) -> PathBuf {
            self.0.join("a/b/root")
        }

        fn at(&self, rel: &str) -> PathBuf {
            self.root().join(rel)
        }

        /// Everything in the guard that is not root or inside it.
        fn outside_root(&self) -> Vec<PathBuf> {
            let mut found = Vec::new();
            for dir in [self.0.clone(), self.0.join("a"), self.0.join("a/b")] {
                for child in fs::read_dir(dir).unwrap() {
                    let path = child.unwrap().path();
                    if path != self.0.join("a") && path != self.0.join("a/b") && path != self.root()
                    {
                        found.push(path);
                    }
                }
            }
            found
        }

        fn apply(&self, tar: &[u8]) -> Result<Digest> {
            self.apply_as(tar, Whiteouts::Apply)
        }

        fn apply_as(&self, tar: &[u8], whiteouts: Whiteouts) -> Result<Digest> {
            unpack(
                &mut { tar },
                Compression::Uncompressed,
                &self.root(),
                whiteouts,
            )
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// A layer built in memory; names are written verbatim, since tar's own setters
    /// refuse the hostile ones these tests need.
    struct Tar(tar::Builder<Vec<u8>>);

    impl Tar {
        fn new() -> Tar {
            Tar(tar::Builder::new(Vec::new()))
        }

        fn entry(mut self, kind: EntryType, path: &str, mode: u32, link: &str, data: &[u8]) -> Tar {
            let mut header = Header::new_gnu();
            header.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
            header.set_entry_type(kind);
            header.set_mode(mode);
            header.set_uid(0);
            header.set_gid(0);
            header.set_size(data.len() as u64);
            header.set_mtime(1_600_000_000);
            if !link.is_empty() {
                header.set_link_name(link).unwrap();
            }
            header.set_cksum();
            self.0.append(&header, data).unwrap();
            self
        }

        fn file(self, path: &str, data: &str) -> Tar {
            self.entry(EntryType::Regular, path, 0o644, "", data.as_bytes())
        }

        fn dir(self, path: &str) -> Tar {
            self.entry(EntryType::Directory, path, 0o755, "", b"")
        }

        fn symlink(self, path: &str, target: &str) -> Tar {
            self.entry(EntryType::Symlink, path, 0o777, target, b"")
        }

        fn hardlink(self, path: &str, target: &str) -> Tar {
            self.entry(EntryType::Link, path, 0o644, target, b"")
        }

        fn device(mut self, kind: EntryType, path: &str, major: u32, minor: u32) -> Tar {
            let mut header = Header::new_gnu();
            header.set_path(path).unwrap();
            header.set_entry_type(kind);
            header.set_mode(0o666);
            header.set_uid(0);
            header.set_gid(0);
            header.set_device_major(major).unwrap();
            header.set_device_minor(minor).unwrap();
            header.set_size(0);
            header.set_cksum();
            self.0.append(&header, &b""[..]).unwrap();
            self
        }

        fn owned_file(mut self, path: &str, mode: u32, uid: u64, gid: u64) -> Tar {
            let mut header = Header::new_gnu();
            header.set_path(path).unwrap();
            header.set_mode(mode);
            header.set_uid(uid);
            header.set_gid(gid);
            header.set_size(5);
            header.set_mtime(1_600_000_000);
            header.set_cksum();
            self.0.append(&header, &b"hello"[..]).unwrap();
            self
        }

        fn bytes(self) -> Vec<u8> {
            self.0.into_inner().unwrap()
        }
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = libflate::gzip::Encoder::new(Vec::new()).unwrap();
        encoder.write_all(data).unwrap();
        encoder.finish().into_result().unwrap()
    }

    fn read(path: PathBuf) -> String {
        fs::read_to_string(path).unwrap()
    }

    fn is_symlink(path: PathBuf) -> bool {
        fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
    }

    #[test]
    fn regular_file_gets_data_mode_owner_and_mtime() {
        let s = Scratch::new("file");
        s.apply(
            &Tar::new()
                .owned_file("etc/passwd", 0o640, 1000, 2000)
                .bytes(),
        )
        .unwrap();
        let meta = fs::metadata(s.at("etc/passwd")).unwrap();
        assert_eq!(read(s.at("etc/passwd")), "hello");
        assert_eq!(meta.mode() & 0o7777, 0o640);
        assert_eq!((meta.uid(), meta.gid()), (1000, 2000));
        assert_eq!(meta.mtime(), 1_600_000_000);
        assert_eq!(fs::metadata(s.at("etc")).unwrap().mode() & 0o7777, 0o755);
    }

    #[test]
    fn setuid_and_sticky_bits_survive_the_chown() {
        let s = Scratch::new("setuid");
        let tar = Tar::new().owned_file("bin/su", 0o4755, 1000, 0).entry(
            EntryType::Directory,
            "tmp/",
            0o1777,
            "",
            b"",
        );
        s.apply(&tar.bytes()).unwrap();
        assert_eq!(
            fs::metadata(s.at("bin/su")).unwrap().mode() & 0o7777,
            0o4755
        );
        assert_eq!(fs::metadata(s.at("tmp")).unwrap().mode() & 0o7777, 0o1777);
    }

    #[test]
    fn whiteout_removes_a_lower_file_and_a_lower_tree() {
        let s = Scratch::new("whiteout");
        let lower = Tar::new()
            .file("a/file", "x")
            .file("a/keep", "x")
            .file("d/sub/x", "x");
        s.apply(&lower.bytes()).unwrap();
        let upper = Tar::new()
            .file("a/.wh.file", "")
            .file(".wh.d", "")
            .file("a/.wh.missing", "");
        s.apply(&upper.bytes()).unwrap();
        assert!(!s.at("a/file").exists() && !s.at("d").exists());
        assert!(s.at("a/keep").exists());
        assert!(!s.at("a/.wh.file").exists() && !s.at(".wh.d").exists());
    }

    #[test]
    fn overlay_whiteouts_become_0_0_character_devices() {
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        let s = Scratch::new("overlay-whiteout");
        let layer = Tar::new().file("a/.wh.gone", "").file("a/new", "x");
        s.apply_as(&layer.bytes(), Whiteouts::Overlay).unwrap();
        let marker = fs::symlink_metadata(s.at("a/gone")).unwrap();
        assert!(marker.file_type().is_char_device());
        assert_eq!(marker.rdev(), 0);
        assert_eq!(read(s.at("a/new")), "x");
        assert!(!s.at("a/.wh.gone").exists());
    }

    #[test]
    fn whiteout_naming_dot_or_dotdot_is_refused() {
        let s = Scratch::new("whiteout-dots");
        s.apply(&Tar::new().file("a/keep", "x").bytes()).unwrap();
        for marker in ["a/.wh..", "a/.wh..."] {
            assert!(s.apply(&Tar::new().file(marker, "").bytes()).is_err());
        }
        assert!(s.at("a/keep").exists());
    }

    #[test]
    fn opaque_dir_drops_lower_contents_but_keeps_this_layers() {
        let s = Scratch::new("opaque");
        let lower = Tar::new()
            .file("d/old", "x")
            .file("d/sub/old", "x")
            .file("e/kept", "x");
        s.apply(&lower.bytes()).unwrap();
        let upper = Tar::new()
            .dir("d/")
            .file("d/before", "x")
            .file("d/sub/before", "x")
            .file("d/.wh..wh..opq", "")
            .file("d/after", "x");
        s.apply(&upper.bytes()).unwrap();
        assert!(!s.at("d/old").exists() && !s.at("d/sub/old").exists());
        for kept in ["d/before", "d/sub/before", "d/after", "e/kept"] {
            assert!(s.at(kept).exists(), "{kept} is gone");
        }
        assert!(!s.at("d/.wh..wh..opq").exists());
    }

    #[test]
    fn dir_becomes_symlink_and_symlink_becomes_dir_across_layers() {
        let s = Scratch::new("replace");
        s.apply(&Tar::new().file("x/f", "x").bytes()).unwrap();
        s.apply(&Tar::new().symlink("x", "elsewhere").bytes())
            .unwrap();
        assert!(is_symlink(s.at("x")));
        s.apply(&Tar::new().dir("x/").file("x/g", "y").bytes())
            .unwrap();
        assert!(fs::symlink_metadata(s.at("x")).unwrap().is_dir());
        assert!(s.at("x/g").exists() && !s.at("x/f").exists());
    }

    #[test]
    fn file_replaces_a_lower_symlink_without_following_it() {
        let s = Scratch::new("no-follow");
        let outside = s.0.join("outside");
        let lower = Tar::new().symlink("f", outside.to_str().unwrap());
        s.apply(&lower.bytes()).unwrap();
        s.apply(&Tar::new().file("f", "mine").bytes()).unwrap();
        assert!(!is_symlink(s.at("f")));
        assert_eq!(read(s.at("f")), "mine");
        assert!(s.outside_root().is_empty());
    }

    #[test]
    fn absolute_symlink_in_a_parent_is_resolved_inside_root() {
        let s = Scratch::new("var-run");
        let tar = Tar::new()
            .symlink("var/run", "/run")
            .file("var/run/x", "pid");
        s.apply(&tar.bytes()).unwrap();
        assert_eq!(read(s.at("run/x")), "pid");
        assert!(is_symlink(s.at("var/run")));
    }

    #[test]
    fn dotdot_entry_is_refused_and_nothing_escapes() {
        let s = Scratch::new("dotdot");
        for name in ["../../escape", "ok/../../../escape", "./../escape"] {
            let err = s.apply(&Tar::new().file(name, "x").bytes()).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("unpack entry {name}: path contains a .. component")
            );
        }
        assert!(s.outside_root().is_empty());
    }

    #[test]
    fn symlinks_to_host_root_lead_back_into_root() {
        let s = Scratch::new("evil");
        let name = format!("skiff-test-layer-owned-{}", std::process::id());
        let tar = Tar::new()
            .symlink("evil", "/")
            .symlink("deep/evil2", "../../../../..")
            .file(&format!("evil/etc/{name}"), "a")
            .file(&format!("deep/evil2/tmp/{name}"), "b");
        s.apply(&tar.bytes()).unwrap();
        assert_eq!(read(s.at(&format!("etc/{name}"))), "a");
        assert_eq!(read(s.at(&format!("tmp/{name}"))), "b");
        assert!(!Path::new("/etc").join(&name).exists());
        assert!(!Path::new("/tmp").join(&name).exists());
        assert!(s.outside_root().is_empty());
    }

    #[test]
    fn symlink_loop_is_an_error() {
        let s = Scratch::new("loop");
        let tar = Tar::new()
            .symlink("a", "b")
            .symlink("b", "/a")
            .file("a/x", "");
        let err = s.apply(&tar.bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unpack entry a/x: too many levels of symbolic links in a"
        );
    }

    #[test]
    fn file_as_a_parent_is_an_error() {
        let s = Scratch::new("file-parent");
        let err = s
            .apply(&Tar::new().file("f", "").file("f/x", "").bytes())
            .unwrap_err();
        assert_eq!(err.to_string(), "unpack entry f/x: f is not a directory");
    }

    #[test]
    fn hardlink_shares_the_inode_of_a_file() {
        let s = Scratch::new("hardlink");
        let tar = Tar::new()
            .file("bin/busybox", "bb")
            .hardlink("bin/sh", "./bin/busybox");
        s.apply(&tar.bytes()).unwrap();
        let (a, b) = (
            fs::metadata(s.at("bin/busybox")).unwrap(),
            fs::metadata(s.at("bin/sh")).unwrap(),
        );
        assert_eq!((a.ino(), a.nlink()), (b.ino(), 2));
    }

    #[test]
    fn hardlink_to_an_absolute_path_resolves_inside_root() {
        let s = Scratch::new("hardlink-abs");
        let missing = Tar::new().hardlink("stolen", "/etc/passwd");
        let err = s.apply(&missing.bytes()).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("unpack entry stolen: hard link target /etc/passwd: "));
        let through_link = Tar::new()
            .symlink("evil", "/")
            .hardlink("stolen", "evil/etc/passwd");
        assert!(s.apply(&through_link.bytes()).is_err());
        assert!(!s.at("stolen").exists());
        let tar = Tar::new()
            .file("etc/passwd", "inside")
            .hardlink("stolen", "/etc/passwd");
        s.apply(&tar.bytes()).unwrap();
        assert_eq!(read(s.at("stolen")), "inside");
        let host = fs::metadata("/etc/passwd").unwrap();
        assert_ne!(fs::metadata(s.at("stolen")).unwrap().ino(), host.ino());
    }

    #[test]
    fn hardlink_to_a_host_symlink_links_the_symlink_itself() {
        let s = Scratch::new("hardlink-symlink");
        let tar = Tar::new().symlink("p", "/etc/passwd").hardlink("h", "p");
        s.apply(&tar.bytes()).unwrap();
        assert!(is_symlink(s.at("h")));
    }

    #[test]
    fn hardlink_to_a_directory_or_with_dotdot_is_refused() {
        let s = Scratch::new("hardlink-bad");
        assert!(s
            .apply(&Tar::new().dir("d/").hardlink("h", "d").bytes())
            .is_err());
        assert!(s
            .apply(&Tar::new().hardlink("h", "../../etc/passwd").bytes())
            .is_err());
        assert!(s.outside_root().is_empty());
    }

    #[test]
    fn fifo_and_device_nodes_are_made_or_skipped() {
        let s = Scratch::new("nodes");
        let tar = Tar::new()
            .entry(EntryType::Fifo, "run/fifo", 0o600, "", b"")
            .device(EntryType::Char, "dev/null", 1, 3);
        s.apply(&tar.bytes()).unwrap();
        assert!(fs::symlink_metadata(s.at("run/fifo"))
            .unwrap()
            .file_type()
            .is_fifo());
        if let Ok(meta) = fs::symlink_metadata(s.at("dev/null")) {
            assert!(meta.file_type().is_char_device());
            assert_eq!(meta.rdev(), libc::makedev(1, 3));
        }
    }

    #[test]
    fn host_devices_are_never_made() {
        let s = Scratch::new("host-devices");
        s.apply(&Tar::new().file("kmsg", "lower").bytes()).unwrap();
        let tar = Tar::new()
            .device(EntryType::Char, "kmsg", 1, 11)
            .device(EntryType::Char, "mem", 1, 1)
            .device(EntryType::Block, "disk", 8, 0);
        s.apply(&tar.bytes()).unwrap();
        for name in ["kmsg", "mem", "disk"] {
            assert!(fs::symlink_metadata(s.at(name)).is_err(), "{name} is there");
        }
    }

    #[test]
    fn diff_id_is_the_sha256_of_all_the_tar_bytes() {
        let s = Scratch::new("diff-id");
        let mut tar = Tar::new().file("a", "x").bytes();
        tar.extend_from_slice(&[0; 4096]); // padding past the end-of-archive blocks
        assert_eq!(s.apply(&tar).unwrap(), Digest::of(&tar));
        let gzipped = unpack(
            &mut &gzip(&tar)[..],
            Compression::Gzip,
            &s.root(),
            Whiteouts::Apply,
        )
        .unwrap();
        assert_eq!(gzipped, Digest::of(&tar));
    }

    #[test]
    fn multi_member_gzip_is_read_to_the_end() {
        let s = Scratch::new("multi-gzip");
        let tar = Tar::new().file("first", "1").file("second", "2").bytes();
        let (head, tail) = tar.split_at(1024); // first header and data block, then the rest
        let blob = [gzip(head), gzip(tail)].concat();
        let diff_id = unpack(
            &mut &blob[..],
            Compression::Gzip,
            &s.root(),
            Whiteouts::Apply,
        )
        .unwrap();
        assert_eq!(diff_id, Digest::of(&tar));
        assert_eq!(read(s.at("first")) + &read(s.at("second")), "12");
    }

    #[test]
    fn truncated_gzip_is_an_error() {
        let s = Scratch::new("truncated");
        let blob = gzip(&Tar::new().file("a", &"x".repeat(10_000)).bytes());
        for cut in [blob.len() - 4, blob.len() / 2, 5] {
            let err = unpack(
                &mut &blob[..cut],
                Compression::Gzip,
                &s.root(),
                Whiteouts::Apply,
            )
            .unwrap_err();
            assert!(
                err.to_string().ends_with("the layer stream ends early"),
                "{err}"
            );
        }
    }

    #[test]
    fn media_types_map_to_compression() {
        let gzip = [
            "application/vnd.docker.image.rootfs.diff.tar.gzip",
            "application/vnd.oci.image.layer.v1.tar+gzip",
            "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        ];
        for media_type in gzip {
            assert_eq!(
                Compression::for_media_type(media_type).unwrap(),
                Compression::Gzip
            );
        }
        let plain = Compression::for_media_type("application/vnd.oci.image.layer.v1.tar");
        assert_eq!(plain.unwrap(), Compression::Uncompressed);
        let zstd = "application/vnd.oci.image.layer.v1.tar+zstd";
        assert_eq!(
            Compression::for_media_type(zstd).unwrap_err().to_string(),
            format!("unsupported layer media type {zstd} (zstd is not supported)")
        );
        let json = Compression::for_media_type("application/json").unwrap_err();
        assert_eq!(
            json.to_string(),
            "unsupported layer media type application/json"
        );
    }
}
