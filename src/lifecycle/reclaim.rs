//! A removed container's files, deleted by a detached process after the container is
//! already gone.
//!
//! `rm` and `run --rm` make a container disappear in one step: its directory is
//! renamed to `.gone-ID` (rename(2) is atomic), which no listing reads, and its name
//! is freed. Deleting what the directory holds is another matter: on a filesystem
//! mounted with `discard` (ext4 here, as on many cloud disks) each freed block is
//! discarded while unlink(2) or rmdir(2) waits, about 0.1–0.25 ms per directory of
//! an empty overlayfs layer, and a minute more for a layer of gigabytes. Nobody needs
//! to wait for that, so a process of its own does it: forked, in a session of its
//! own (the terminal's Ctrl-C is not for it), holding none of its caller's
//! descriptors (a shell reading `$(skiff run --rm …)` waits for every writer of its
//! pipe), so `rm` returns as soon as the container is gone, as the kernel itself
//! frees a dead process's namespaces after its parent has been told.
//!
//! The deleter holds an flock(2) on the directory from before the rename until its
//! exit, so a `.gone-ID` whose lock is free was left by a deleter that was killed (or a
//! machine that went down), and [`sweep`] deletes it.
//! <https://man7.org/linux/man-pages/man2/flock.2.html>
//! <https://docs.kernel.org/admin-guide/ext4.html> (`discard`)

use std::fs::{self, File};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use crate::error::{Context, Result};
use crate::{sys, trace};

/// What a removed container's directory is renamed to, in the same directory.
const GONE: &str = ".gone-";

/// Where `dir` goes when its container is removed.
pub fn gone_path(dir: &Path, id: &str) -> PathBuf {
    dir.with_file_name(format!("{GONE}{id}"))
}

/// The lock the deleter of `dir` will hold, taken before `dir` is renamed, so that no
/// [`sweep`] ever finds a `.gone-ID` unlocked while its deleter lives. `None` when the
/// directory cannot be opened (a dead record may be a stray file): it is then
/// deleted at once by [`delete`].
pub fn lock(dir: &Path) -> Option<File> {
    let file = File::open(dir).ok()?;
    sys::flock_exclusive_now(&file, dir)
        .ok()
        .filter(|&held| held)?;
    Some(file)
}

/// Deletes `doomed`: in a detached process that holds `lock`, or here, where there is
/// no lock to hand over or fork(2) is refused.
pub fn delete(doomed: &Path, lock: Option<File>) -> Result<()> {
    if let Some(lock) = lock {
        trace::step("its files: deleted by a detached process, so nobody waits for the disk to discard their blocks");
        match sys::fork() {
            Ok(None) => delete_detached(doomed, &lock),
            Ok(Some(_deleter)) => return Ok(()), // it holds the lock now
            Err(err) => trace::step(&format!("{err}: delete them here")),
        }
    }
    delete_here(doomed)
}

fn delete_here(doomed: &Path) -> Result<()> {
    fs::remove_dir_all(doomed)
        .or_else(|_| fs::remove_file(doomed)) // a dead "record" may be a stray file
        .with_context(|| format!("remove {}", doomed.display()))
}

/// The deleter: nothing of its caller's kept but `lock`, then the files, then gone.
/// Nobody reads its errors: what it leaves, [`sweep`] finds.
fn delete_detached(doomed: &Path, lock: &File) -> ! {
    let _ = sys::setsid();
    let _ = sys::chdir(Path::new("/"));
    if let Ok(null) = File::options().read(true).write(true).open("/dev/null") {
        for fd in 0..3 {
            let _ = sys::dup2(null.as_raw_fd(), fd);
        }
    }
    if sys::close_from_3_except(&[lock.as_raw_fd()]).is_ok() {
        let _ = fs::remove_dir_all(doomed);
    }
    sys::exit_now(0)
}

/// Deletes every `.gone-ID` in `containers` whose deleter is no longer alive (its lock
/// is free): what a killed deleter, or a power cut, left behind.
pub fn sweep(containers: &Path) {
    let Ok(entries) = fs::read_dir(containers) else {
        return;
    };
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with(GONE) {
            continue;
        }
        let doomed = entry.path();
        let abandoned = lock(&doomed);
        if abandoned.is_some() || !doomed.is_dir() {
            if let Err(err) = delete_here(&doomed) {
                trace::step(&format!("sweep: {err}"));
            }
        }
    }
}
