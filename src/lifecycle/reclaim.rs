//! A removed container's files (and an `--rm` one's cgroup), deleted by a detached
//! process after the container is already gone; and the directory of the next
//! container, made by that process too.
//!
//! `rm` and `run --rm` make a container disappear in one step: its directory is
//! renamed to `.gone-ID` (rename(2) is atomic), which no listing reads, and its name
//! is freed. Deleting what the directory holds is another matter: on a filesystem
//! mounted with `discard` (ext4 here, as on many cloud disks) each freed block is
//! discarded while unlink(2) or rmdir(2) waits, about 0.1–0.25 ms per directory of
//! an empty overlayfs layer, and far longer for a layer of gigabytes. Nobody needs
//! to wait for that, so a process of its own does it: forked, in a session of its
//! own (the terminal's Ctrl-C is not for it), holding none of its caller's
//! descriptors (a shell reading `$(skiff run --rm …)` waits for every writer of its
//! pipe), so `rm` returns as soon as the container is gone, as the kernel itself
//! frees a dead process's namespaces after its parent has been told.
//!
//! An `--rm` container's cgroup goes with its files: its exit status is recorded and
//! nobody will read the cgroup again, so `run --rm` need not wait for rmdir(2) in each
//! tree (~0.2 ms with cgroup v1's nine). A cgroup the deleter cannot remove keeps the
//! `.gone-ID`, emptied, for the next sweep. `rm` of any other container (and of one
//! whose files are deleted in place, `--userns=auto`) removes the cgroup itself, as
//! Docker's does, before it returns.
//!
//! The deleter holds an flock(2) on the directory from before the rename until its
//! exit, so a `.gone-ID` whose lock is free was left by a deleter that was killed (or a
//! machine that went down), and [`sweep`], which every `create` and every command that
//! lists containers runs, hands it to a new one. Nobody waits for a deleter: it stays
//! a zombie until its caller exits, which for `rm` and `run --rm` is at once.
//!
//! Before the files, the deleter makes the next container's directory, `.spare`, which
//! `create` takes with one rename(2) ([`new_directory`]). `containers/` is a top of
//! directory hierarchies (see `image::store::spread_subdirectories`): to place a
//! directory made there, ext4's Orlov allocator reads the statistics of every block
//! group of the disk, 0.15–0.4 ms on this machine's, which a start then no longer
//! waits for. It starts that search at a hash of the directory's name, so each spare
//! is made under a name of its own and then renamed ([`make_spare`]). A spare is a new
//! directory, never the removed container's own: a descriptor into a dead container's
//! files, passed out through a shared volume, must reach nothing of the next one
//! (tests/bench/RESULTS.md, session 12's spares).
//! <https://man7.org/linux/man-pages/man2/flock.2.html>
//! <https://docs.kernel.org/admin-guide/ext4.html> (`discard`)
//! <https://docs.kernel.org/filesystems/ext4/allocators.html>

use std::fs::{self, File};
use std::io::ErrorKind;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Context, Error, Result};
use crate::{cgroup, sys, trace};

/// What a removed container's directory is renamed to, in the same directory.
const GONE: &str = ".gone-";

/// The empty directory a deleter leaves for the next container, beside the others.
const SPARE: &str = ".spare";

/// A spare's name while it is made, with the deleter's PID after it ([`make_spare`]).
const MAKING_SPARE: &str = ".spare-";

/// Where `dir` goes when its container is removed.
pub fn gone_path(dir: &Path, id: &str) -> PathBuf {
    dir.with_file_name(format!("{GONE}{id}"))
}

/// The lock the deleter of `dir` will hold, taken before `dir` is renamed, so that no
/// [`sweep`] ever finds a `.gone-ID` unlocked while its deleter lives. `None` when it is
/// not a directory (a dead record may be a stray file, even a FIFO: nothing waits for
/// a writer) or when somebody holds the lock already (or flock(2) is refused): what
/// [`delete`] is then given, it deletes here.
pub fn lock(dir: &Path) -> Option<File> {
    let flags = libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_NONBLOCK;
    let file = File::options()
        .read(true)
        .custom_flags(flags)
        .open(dir)
        .ok()?;
    sys::flock_exclusive_now(&file, dir)
        .ok()
        .filter(|&held| held)?;
    Some(file)
}

/// Deletes `doomed`, holding `lock` (if any) until it is done: in a detached process
/// when `detach` (and there is a lock to hand over), else here, as where fork(2) is
/// refused.
pub fn delete(doomed: &Path, lock: Option<File>, detach: bool) -> Result<()> {
    if let (Some(held), true) = (&lock, detach) {
        trace::step("its files: deleted by a detached process, which nobody waits for");
        match sys::fork() {
            Ok(None) => delete_detached(doomed, held),
            Ok(Some(_deleter)) => return Ok(()), // it holds the lock now
            Err(err) => trace::step(&format!("{err}: delete them here")),
        }
    }
    delete_here(doomed) // `lock` is still held
}

/// The files `doomed` holds, then the cgroup of the container it was, if it is still
/// there (an `--rm` container's is left to its deleter; whatever is still in it is
/// killed, as its container is gone), then `doomed` itself. A cgroup that cannot be
/// removed (a child cgroup left in it, say) keeps `doomed`, emptied, for the next
/// [`sweep`] to try again. A stray file or symlink of that name was never a container
/// with a cgroup left to its deleter: only it goes.
fn delete_here(doomed: &Path) -> Result<()> {
    let name = doomed.file_name().unwrap_or_default().to_string_lossy();
    let container = name.strip_prefix(GONE).filter(|id| super::is_id(id));
    let directory = fs::symlink_metadata(doomed).is_ok_and(|meta| meta.is_dir());
    if let (Some(id), true) = (container, directory) {
        delete_what_it_holds(doomed);
        cgroup::sweep(id)?; // SIGKILL to what is left, rmdir(2)
    }
    // A dead "record" may be a stray file.
    let deleted = fs::remove_dir_all(doomed).or_else(|_| fs::remove_file(doomed));
    match deleted {
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(()), // a sweep was first
        deleted => deleted.with_context(|| format!("remove {}", doomed.display())),
    }
}

/// What directory `doomed` holds, not `doomed` itself (what cannot be deleted, the
/// final rmdir(2) reports).
fn delete_what_it_holds(doomed: &Path) {
    for entry in fs::read_dir(doomed).into_iter().flatten().flatten() {
        let path = entry.path(); // remove_dir_all follows no symlink
        let _ = fs::remove_dir_all(&path).or_else(|_| fs::remove_file(&path));
    }
}

/// The deleter: nothing of its caller's kept but `lock` (not its stdio: a shell reading
/// its output waits for every writer; not its signal handlers, which forward to a
/// container that is gone), then the next container's directory, then the files (and
/// an `--rm` container's cgroup), then gone. Nobody reads its errors: what it leaves,
/// [`sweep`] finds.
fn delete_detached(doomed: &Path, lock: &File) -> ! {
    if let Ok(null) = File::options().read(true).write(true).open("/dev/null") {
        for fd in 0..3 {
            let _ = sys::dup2(null.as_raw_fd(), fd);
        }
    }
    let _ = sys::setsid();
    let _ = sys::reset_signals();
    let _ = sys::chdir(Path::new("/"));
    if sys::close_from_3_except(&[lock.as_raw_fd()]).is_ok() {
        make_spare(doomed);
        let _ = delete_here(doomed);
    }
    sys::exit_now(0)
}

/// Makes `building`, the directory of a container being created: the spare a deleter
/// left, taken with one rename(2) (of two `create`s, one gets it), else a new one. A
/// spare that is not an empty directory is not what a deleter left: it is deleted
/// (nothing a symlink leads to), and a new directory made.
pub fn new_directory(building: &Path) -> Result<()> {
    let spare = spare_path(building);
    match fs::rename(&spare, building) {
        Ok(()) if is_empty_dir(building) => return Ok(()),
        Ok(()) => delete_here(building)?,
        Err(err) if err.kind() == ErrorKind::NotFound => {}
        Err(err) => {
            let what = format!("take {} as {}", spare.display(), building.display());
            return Err(Error::from(err).context(what));
        }
    }
    make_dir(building).with_context(|| format!("create {}", building.display()))
}

/// `.spare` beside `doomed`, unless one is there; made before the files, so that the
/// next `create` finds it the sooner, and whoever waits for this deleter (its lock)
/// finds the store as it stays. It is made under a name of its own, then renamed: ext4
/// starts its search for a block group at a hash of the new directory's name, and one
/// name would put every spare in the same group, among the inodes the last containers
/// freed there. Two deleters may both find none: the second's rename(2) then replaces
/// the first's spare, as empty as its own.
fn make_spare(doomed: &Path) {
    let spare = spare_path(doomed);
    if fs::symlink_metadata(&spare).is_ok() {
        return;
    }
    let fresh = doomed.with_file_name(format!("{MAKING_SPARE}{}", std::process::id()));
    if make_dir(&fresh).is_ok() && fs::rename(&fresh, &spare).is_err() {
        let _ = fs::remove_dir(&fresh);
    }
}

fn spare_path(beside: &Path) -> PathBuf {
    beside.with_file_name(SPARE)
}

/// A container's directory, written by root alone whatever the umask of the skiff
/// that makes it (a deleter makes the next container's).
fn make_dir(path: &Path) -> std::io::Result<()> {
    fs::DirBuilder::new().mode(0o755).create(path)
}

/// Whether `path` is a directory, not a symlink to one, with nothing in it.
fn is_empty_dir(path: &Path) -> bool {
    let dir = fs::symlink_metadata(path).is_ok_and(|meta| meta.is_dir());
    dir && fs::read_dir(path).is_ok_and(|mut entries| entries.next().is_none())
}

/// Hands every `.gone-ID` in `containers` whose deleter is no longer alive (its lock is
/// free) to a deleter of its own: what a killed deleter left, or a power cut, or a
/// service manager that stopped everything its unit had started. A `.spare-PID` such a
/// deleter left half made goes too (one a live deleter is about to rename is lost:
/// only a spare).
pub fn sweep(containers: &Path) {
    let Ok(entries) = fs::read_dir(containers) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(MAKING_SPARE) {
            let _ = fs::remove_dir(entry.path()); // an empty directory, or nothing
            continue;
        }
        if !name.starts_with(GONE) {
            continue;
        }
        let doomed = entry.path();
        let stray = entry.file_type().is_ok_and(|kind| !kind.is_dir()); // a symlink too
        let abandoned = lock(&doomed);
        if abandoned.is_some() || stray {
            if let Err(err) = delete(&doomed, abandoned, true) {
                trace::step(&format!("sweep: {err}"));
            }
        }
    }
}
