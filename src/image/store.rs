//! The image store under `/var/lib/skiff` (or `$SKIFF_ROOT`): content-addressed, so a
//! file's name is the digest of its bytes and can be checked at any time.
//!
//! ```text
//! blobs/sha256/<hex>   manifests, configs and compressed layers, each verified
//! layers/<hex>/        each layer unpacked once, by diff_id, as an overlayfs lower dir
//! unsynced/<hex>       the boot a layer was written in, until it is known to be on disk
//! repositories.json    reference → manifest digest (what `skiff images` lists),
//!                      and `.copy` beside it, its twin should it be damaged
//! containers/<id>/     each container's record and writable layer (see `lifecycle`)
//! init/, mnt/          the mount points every container shares (`container::mount_points`)
//! tmp/                 files being written, and scratch directories of loads
//! lock                 flock(2): one writer at a time
//! ```
//!
//! Every write goes to `tmp/` first, is verified, then renamed into place: rename(2) is
//! atomic, so a `kill -9` at any moment leaves either the old state or the new one,
//! plus some debris in `tmp/` that the next skiff sweeps away (its name carries the pid
//! of the skiff that made it).
//!
//! A layer's thousands of files would each need an fsync(2) (a disk flush apiece), or
//! one syncfs(2) that waits for all of them, before the layer could be trusted after a
//! power cut. Neither is paid inside a pull: a layer is renamed into place marked with
//! the boot it was written in (`/proc/sys/kernel/random/boot_id`). In that boot the page
//! cache is the truth, so the layer is trusted; in a later boot a marked layer may have
//! lost writes, so it is unpacked again from its blob (whose bytes were fsynced and
//! are checked against its name). The next pull that writes settles what earlier ones
//! left: one syncfs(2), by then mostly written back by the kernel anyway, and the
//! marks go.
//! <https://man7.org/linux/man-pages/man2/rename.2.html>
//! <https://man7.org/linux/man-pages/man2/flock.2.html>
//! <https://man7.org/linux/man-pages/man2/syncfs.2.html>
//! <https://man7.org/linux/man-pages/man4/random.4.html> (`boot_id`)

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use miniserde::{json, Deserialize, Serialize};

use crate::digest::{Digest, Hashing};
use crate::error::{Context, Error, Result};
use crate::sys;

pub struct Store {
    root: PathBuf,
    /// Held for as long as the store is open for writing; released on drop.
    _lock: File,
}

/// What a garbage collection deleted: blobs by digest, unpacked layers by diff_id.
#[derive(Default)]
pub struct Removed {
    pub digests: Vec<String>,
    /// The sizes of their files, as `docker system prune` reports what it reclaimed.
    pub bytes: u64,
}

/// A directory that lives as long as one `skiff run`.
pub struct Scratch {
    path: PathBuf,
    removed: bool,
}

/// What the store holds of an unpacked layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    Missing,
    /// Written in this boot, or known to be on disk.
    Trusted,
    /// Written in an earlier boot and never known to reach the disk: it must be
    /// unpacked again before anything uses it.
    Stale,
}

/// A blob being written: every byte read through it is hashed and written to a file
/// under `tmp/`, so whoever reads it (the layer's decoder, while the layer downloads)
/// and the store see the same bytes, in one pass. Only [`Incoming::commit`] makes it a
/// blob, after its digest is checked; dropped, it leaves nothing.
pub struct Incoming<'a> {
    store: &'a Store,
    stream: Hashing<Tee<Box<dyn Read + 'a>>>,
    temp: PathBuf,
    /// What broke the stream: once the source failed, nothing more is asked of it.
    broken: Option<(io::ErrorKind, String)>,
    kept: bool,
}

/// Copies what is read from `source` into `file`.
struct Tee<R> {
    source: R,
    file: File,
}

#[derive(Serialize, Deserialize, Default)]
struct Repositories {
    refs: BTreeMap<String, String>,
}

/// Makes `dir` unless it exists, and its parents only if it has none: one mkdir(2) for
/// a directory that is there, where `create_dir_all` adds a stat(2) to each.
pub fn ensure_dir(dir: &Path) -> Result<()> {
    let made = match fs::create_dir(dir) {
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => fs::create_dir_all(dir),
        made => made,
    };
    made.with_context(|| format!("create {}", dir.display()))
}

/// Marks `dir` as a top of directory hierarchies (`chattr +T`), so that ext4 places
/// each directory made in it in a block group of its own, as it does the directories
/// in `/` (its Orlov allocator; the flag is not inherited, so their own subdirectories
/// and files stay near them): the layers unpacked in `tmp/`, the containers in
/// `containers/`. Without a journal, ext4 skips every inode freed in the last minute
/// (up to six while its inode table is unwritten) each time it allocates one, scanning
/// the group from its start (`recently_deleted` in fs/ext4/ialloc.c): a layer unpacked
/// beside files just deleted paid up to 0.5 ms of kernel time per file here, and each
/// `run --rm` frees some fifteen inodes that the next one's files, and its overlayfs's
/// work directories, stepped over. A hint only: where it is refused, nothing changes.
/// <https://man7.org/linux/man-pages/man2/ioctl_iflags.2.html> (`FS_TOPDIR_FL`)
/// <https://docs.kernel.org/filesystems/ext4/allocators.html>
pub fn spread_subdirectories(dir: &Path) {
    const FS_TOPDIR_FL: libc::c_int = 0x0002_0000;
    let marked = File::open(dir).map_err(Error::from).and_then(|file| {
        let flags = sys::inode_flags(&file, dir)?;
        match flags & FS_TOPDIR_FL {
            0 => sys::set_inode_flags(&file, dir, flags | FS_TOPDIR_FL),
            _ => Ok(()),
        }
    });
    if let Err(err) = marked {
        crate::trace::step(&format!("{} not spread: {err}", dir.display()));
    }
}

impl Store {
    /// Opens (creating if needed) the store and takes its lock, waiting for any other
    /// skiff that holds it.
    pub fn open() -> Result<Store> {
        let root = root();
        for dir in ["tmp", "blobs/sha256", "layers", "unsynced"] {
            ensure_dir(&root.join(dir))?;
        }
        let lock_path = root.join("lock");
        let lock = sys::lock_file(&lock_path)?;
        let store = Store { root, _lock: lock };
        store.sweep_abandoned();
        Ok(store)
    }

    fn tmp(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// A fresh path under `tmp/`, named for this process so a crash can be swept.
    fn temp_path(&self, kind: &str) -> Result<PathBuf> {
        let id = random_id()?;
        Ok(self
            .tmp()
            .join(format!("{kind}-{}-{}", std::process::id(), &id[..12])))
    }

    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root.join("blobs/sha256").join(digest.hex())
    }

    pub fn blob_size(&self, digest: &Digest) -> Result<u64> {
        let path = self.blob_path(digest);
        Ok(fs::metadata(&path)
            .with_context(|| format!("stat {}", path.display()))?
            .len())
    }

    pub fn has_blob(&self, digest: &Digest) -> bool {
        self.blob_path(digest).is_file()
    }

    pub fn read_blob(&self, digest: &Digest) -> Result<Vec<u8>> {
        let path = self.blob_path(digest);
        fs::read(&path).with_context(|| format!("read {}", path.display()))
    }

    /// Streams `content` into the store under `digest`, verifying it on the way; on a
    /// mismatch nothing of it stays. Returns the size written.
    pub fn put_blob(&self, digest: &Digest, content: impl Read) -> Result<u64> {
        let (_, size) = self.incoming(Box::new(content))?.commit(Some(digest))?;
        Ok(size)
    }

    /// Streams `content` into the store under whatever digest it has (for content
    /// that arrives without one: `import`, old `docker save` archives).
    pub fn add_blob(&self, content: impl Read) -> Result<(Digest, u64)> {
        self.incoming(Box::new(content))?.commit(None)
    }

    /// A blob on its way in: read it (or let a decoder read it) and [`Incoming::commit`] it.
    /// (`dyn`: this binary's size is a tracked figure, and a virtual call per read costs
    /// nothing measurable.)
    pub fn incoming<'a>(&'a self, content: Box<dyn Read + 'a>) -> Result<Incoming<'a>> {
        let temp = self.temp_path("blob")?;
        let file = File::create(&temp).with_context(|| format!("create {}", temp.display()))?;
        Ok(Incoming {
            store: self,
            stream: Hashing::new(Tee {
                source: content,
                file,
            }),
            temp,
            broken: None,
            kept: false,
        })
    }

    pub fn layers_dir(&self) -> PathBuf {
        self.root.join("layers")
    }

    pub fn layer_dir(&self, diff_id: &Digest) -> PathBuf {
        self.layers_dir().join(diff_id.hex())
    }

    fn unsynced(&self, diff_id: &Digest) -> PathBuf {
        self.root.join("unsynced").join(diff_id.hex())
    }

    /// Whether `layers/<diff_id>` is there and can be trusted (see the module's notes).
    pub fn has_layer(&self, diff_id: &Digest) -> bool {
        self.layer(diff_id) == Layer::Trusted
    }

    pub fn layer(&self, diff_id: &Digest) -> Layer {
        if !self.layer_dir(diff_id).is_dir() {
            return Layer::Missing;
        }
        let trusted = match fs::read_to_string(self.unsynced(diff_id)) {
            Err(e) => e.kind() == io::ErrorKind::NotFound,
            Ok(boot) => boot_id().is_some_and(|now| boot == now),
        };
        match trusted {
            true => Layer::Trusted,
            false => Layer::Stale,
        }
    }

    /// Makes `layers/<diff_id>` by letting `fill` unpack into a temporary directory,
    /// which is renamed into place only if `fill` succeeds, marked with this boot (or,
    /// where the boot cannot be told, synced first). A stale copy of it is replaced.
    pub fn put_layer(
        &self,
        diff_id: &Digest,
        fill: impl FnOnce(&Path) -> Result<()>,
    ) -> Result<()> {
        let temp = self.temp_path("layer")?;
        spread_subdirectories(&self.tmp()); // each layer in a block group of its own
        fs::create_dir(&temp).with_context(|| format!("create {}", temp.display()))?;
        let result = fill(&temp).and_then(|()| {
            let marker = self.unsynced(diff_id);
            match boot_id() {
                Some(boot) => fs::write(&marker, boot)
                    .with_context(|| format!("write {}", marker.display()))?,
                None => self.sync(&temp)?,
            }
            let target = self.layer_dir(diff_id);
            if target.is_dir() {
                fs::remove_dir_all(&target)
                    .with_context(|| format!("remove {}", target.display()))?;
            }
            fs::rename(&temp, &target).with_context(|| format!("rename to {}", target.display()))
        });
        if result.is_err() {
            let _ = fs::remove_dir_all(&temp); // the error being returned matters more
        }
        result
    }

    /// One syncfs(2) for the layers this boot wrote, if any, then trusts them in any
    /// boot; marks whose layer is gone go too. A pull that writes calls it first, for
    /// what earlier pulls left: the kernel has mostly written that back by then.
    pub fn settle(&self) -> Result<()> {
        let dir = self.root.join("unsynced");
        let mut settled = Vec::new();
        for entry in fs::read_dir(&dir).with_context(|| format!("read {}", dir.display()))? {
            let path = entry?.path();
            let layer = self.layers_dir().join(path.file_name().unwrap_or_default());
            let ours = fs::read_to_string(&path).ok() == boot_id().map(str::to_string);
            if ours || !layer.is_dir() {
                settled.push(path);
            }
        }
        if settled.is_empty() {
            return Ok(());
        }
        self.sync(&self.root)?;
        for path in settled {
            fs::remove_file(&path).with_context(|| format!("remove {}", path.display()))?;
        }
        Ok(())
    }

    fn sync(&self, path: &Path) -> Result<()> {
        let dir = File::open(path).with_context(|| format!("open {}", path.display()))?;
        sys::syncfs(&dir, path)
    }

    fn repositories_path(&self) -> PathBuf {
        self.root.join("repositories.json")
    }

    /// The index of references. A damaged one (a disk or a hand gone wrong: skiff's
    /// own writes are atomic) must not stop every command: it is put aside, and its
    /// copy, written with it at every change, takes its place. With no copy to take it
    /// (a store older than copies), the images lose their names, and garbage collection
    /// deletes nothing while the damaged index is kept ([`Store::lost_index`]): which
    /// blobs the lost names needed is unknown.
    fn repositories(&self) -> Result<Repositories> {
        let path = self.repositories_path();
        if let Some(found) = read_index(&path)? {
            return Ok(found);
        }
        let copy = path.with_extension("json.copy");
        let found = copy.exists().then(|| read_index(&copy).ok().flatten());
        let found = found.flatten();
        let kept = path.with_extension(match found {
            Some(_) => "json.damaged",
            None => "json.lost",
        });
        fs::rename(&path, &kept).with_context(|| format!("rename {}", path.display()))?;
        let (path, kept) = (path.display(), kept.display());
        match &found {
            Some(found) => eprintln!(
                "skiff: {path} was damaged (kept as {kept}): {} images recovered from its copy",
                found.refs.len()
            ),
            None => eprintln!(
                "skiff: {path} was damaged and has no copy (kept as {kept}): its images lost their names, and no blob is deleted while {kept} is there"
            ),
        }
        let found = found.unwrap_or_default();
        self.save_repositories(&found)?;
        Ok(found)
    }

    /// A damaged index kept because no copy could replace it (see `repositories`).
    pub fn lost_index(&self) -> Option<PathBuf> {
        let kept = self.repositories_path().with_extension("json.lost");
        kept.exists().then_some(kept)
    }

    /// Writes the index and its copy, each whole or not at all, the copy first: a
    /// crash between the two leaves the index as it was, which the next write mends.
    fn save_repositories(&self, repositories: &Repositories) -> Result<()> {
        let text = json::to_string(repositories);
        for path in [
            self.repositories_path().with_extension("json.copy"),
            self.repositories_path(),
        ] {
            let temp = self.temp_path("repositories")?;
            write_synced(&temp, text.as_bytes())?;
            fs::rename(&temp, &path).with_context(|| format!("rename to {}", path.display()))?;
        }
        Ok(())
    }

    /// The manifest digest a reference points to, if it has been pulled.
    pub fn resolve(&self, reference: &str) -> Result<Option<Digest>> {
        let repositories = self.repositories()?;
        repositories
            .refs
            .get(reference)
            .map(|d| Digest::parse(d))
            .transpose()
    }

    pub fn tag(&self, reference: &str, manifest: &Digest) -> Result<()> {
        let mut repositories = self.repositories()?;
        repositories
            .refs
            .insert(reference.to_string(), manifest.to_string());
        self.save_repositories(&repositories)
    }

    /// Removes a reference; returns the digest it pointed to.
    pub fn untag(&self, reference: &str) -> Result<Option<Digest>> {
        let mut repositories = self.repositories()?;
        let removed = repositories.refs.remove(reference);
        self.save_repositories(&repositories)?;
        removed.map(|d| Digest::parse(&d)).transpose()
    }

    /// Every (reference, manifest digest), sorted by reference.
    pub fn references(&self) -> Result<Vec<(String, Digest)>> {
        let repositories = self.repositories()?;
        repositories
            .refs
            .into_iter()
            .map(|(reference, digest)| Ok((reference, Digest::parse(&digest)?)))
            .collect()
    }

    /// Every blob and unpacked layer, by path: what a pull compares against should it
    /// fail, to delete what it added and nothing else.
    fn contents(&self) -> Result<BTreeSet<PathBuf>> {
        let mut paths = BTreeSet::new();
        for dir in [self.root.join("blobs/sha256"), self.layers_dir()] {
            for entry in fs::read_dir(&dir).with_context(|| format!("read {}", dir.display()))? {
                paths.insert(entry?.path());
            }
        }
        Ok(paths)
    }

    /// Deletes every blob and unpacked layer whose digest is not in `keep`; returns
    /// what went (see [`Removed`]).
    pub fn remove_all_except(&self, keep: &[Digest]) -> Result<Removed> {
        let kept = |path: &Path| {
            let name = path.file_name().and_then(|n| n.to_str());
            keep.iter().any(|d| name == Some(d.hex()))
        };
        self.remove_unless(kept)
    }

    /// Runs `write` (a pull, a commit); should it fail, deletes every blob and unpacked
    /// layer it added, and nothing else: the store's lock keeps every other writer out,
    /// so what is new is its own.
    pub fn all_or_nothing<T>(&self, write: impl FnOnce() -> Result<T>) -> Result<T> {
        let before = self.contents()?;
        let result = write();
        if result.is_err() {
            let _ = self.remove_unless(|path| before.contains(path)); // write's error says more
        }
        result
    }

    fn remove_unless(&self, kept: impl Fn(&Path) -> bool) -> Result<Removed> {
        let mut removed = Removed::default();
        for path in self.contents()?.iter().filter(|p| !kept(p)) {
            removed.bytes += disk_usage(path);
            fs::remove_dir_all(path).or_else(|_| fs::remove_file(path))?;
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            removed.digests.push(format!("sha256:{name}"));
        }
        Ok(removed)
    }

    /// A directory under `tmp/` that is removed when the returned guard goes.
    pub fn scratch(&self, kind: &str) -> Result<Scratch> {
        let path = self.temp_path(kind)?;
        fs::create_dir_all(&path).with_context(|| format!("create {}", path.display()))?;
        Ok(Scratch {
            path,
            removed: false,
        })
    }

    /// Removes whatever in `tmp/` belongs to a skiff that is gone (killed mid-write).
    fn sweep_abandoned(&self) {
        let Ok(entries) = fs::read_dir(self.tmp()) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let owner = name
                .to_str()
                .and_then(|n| n.split('-').nth(1))
                .filter(|pid| pid.bytes().all(|b| b.is_ascii_digit()));
            if let Some(pid) = owner {
                if !Path::new("/proc").join(pid).exists() {
                    let path = entry.path();
                    let _ = fs::remove_dir_all(&path).or_else(|_| fs::remove_file(&path));
                    // best effort: next run tries again
                }
            }
        }
    }
}

/// An index of references as read from `path`: empty if there is none, `None` if
/// it does not parse (or names something that is not a digest).
fn read_index(path: &Path) -> Result<Option<Repositories>> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(json::from_str::<Repositories>(&text)
            .ok()
            .filter(|r| r.refs.values().all(|d| Digest::parse(d).is_ok()))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            Ok(Some(<Repositories as Default>::default()))
        }
        Err(e) => Err(Error::from(e).context(format!("read {}", path.display()))),
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = File::create(path).with_context(|| format!("create {}", path.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.source.read(buf)?;
        self.file.write_all(&buf[..n])?;
        Ok(n)
    }
}

impl Read for Incoming<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some((kind, why)) = &self.broken {
            return Err(io::Error::new(*kind, why.clone()));
        }
        let read = self.stream.read(buf);
        if let Err(e) = &read {
            self.broken = Some((e.kind(), e.to_string()));
        }
        read
    }
}

impl Incoming<'_> {
    /// Reads what is left of the blob (a stream is only judged whole) and checks it
    /// against `expected`: (digest, size). Asking again reads nothing more.
    pub fn verify(&mut self, expected: Option<&Digest>) -> Result<(Digest, u64)> {
        io::copy(self, &mut io::sink())?;
        let (actual, size) = self.stream.finish()?;
        if let Some(expected) = expected {
            expected.verify("blob", &actual)?;
        }
        Ok((actual, size))
    }

    /// Verifies the blob, then makes it visible under its digest; its bytes reach the
    /// disk first, so no power cut can leave a blob whose name lies.
    pub fn commit(mut self, expected: Option<&Digest>) -> Result<(Digest, u64)> {
        let (digest, size) = self.verify(expected)?;
        self.stream.get_ref().file.sync_all()?;
        let target = self.store.blob_path(&digest);
        fs::rename(&self.temp, &target)
            .with_context(|| format!("rename to {}", target.display()))?;
        self.kept = true;
        Ok((digest, size))
    }
}

impl Drop for Incoming<'_> {
    fn drop(&mut self) {
        if !self.kept {
            let _ = fs::remove_file(&self.temp); // an error is already being reported
        }
    }
}

impl Scratch {
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn remove(mut self) -> Result<()> {
        self.removed = true;
        fs::remove_dir_all(&self.path).with_context(|| format!("remove {}", self.path.display()))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !self.removed {
            let _ = fs::remove_dir_all(&self.path); // an early error is already being reported
        }
    }
}

/// This boot's random ID, which the kernel makes anew at each boot; None where /proc
/// does not say.
fn boot_id() -> Option<&'static str> {
    static BOOT: OnceLock<Option<String>> = OnceLock::new();
    BOOT.get_or_init(|| fs::read_to_string("/proc/sys/kernel/random/boot_id").ok())
        .as_deref()
}

/// The bytes of the files under `path` (a file: its own), counted as `du
/// --apparent-size` does; a link's own size, never what it points to.
pub fn disk_usage(path: &Path) -> u64 {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return 0;
    };
    let inside = match meta.is_dir() {
        true => fs::read_dir(path).map_or(0, |entries| {
            entries.flatten().map(|e| disk_usage(&e.path())).sum()
        }),
        false => 0,
    };
    meta.len() * u64::from(!meta.is_dir()) + inside
}

/// `$SKIFF_ROOT`, or `/var/lib/skiff` (`rootless::data_dir`): where images and containers live.
/// Absolute, so that a detached supervisor may leave the working directory.
pub fn root() -> PathBuf {
    let root = std::env::var_os("SKIFF_ROOT")
        .filter(|r| !r.is_empty())
        .map_or_else(crate::rootless::data_dir, PathBuf::from);
    std::path::absolute(&root).unwrap_or(root)
}

/// 64 hex digits from the kernel's CSPRNG, as Docker's container IDs.
pub fn random_id() -> Result<String> {
    let mut bytes = [0u8; 32];
    sys::getrandom(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
