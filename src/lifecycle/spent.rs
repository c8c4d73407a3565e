//! A removed container whose directory holds nothing of its own: its empty skeleton,
//! deleted later, while another container runs.
//!
//! Removing a container renames its directory away at once (see
//! [`Container::remove`](super::Container::remove)): from then on no command sees it and
//! its name is free. What is left to delete is, for most `--rm` runs, only a skeleton:
//! the directory, an empty `upper/`, the `work/` tree overlayfs made in it, a few small
//! records. On a filesystem mounted `discard` every block freed is a TRIM the disk must
//! finish before unlink(2) or rmdir(2) returns (without a journal to batch them: ~0.17
//! ms per block measured here, six directories per container), so that deletion was
//! most of a `run --rm`'s cleanup. A skeleton is renamed `.spent-ID` instead, and the
//! next skiff that starts a container deletes it while its own command runs, when
//! that skiff only waits. A container that wrote anything of its own (`upper/` not
//! empty, a copied rootfs, a log of some size) is deleted at once, as Docker's `rm`
//! does: its disk space is back when `rm` or `run --rm` returns.
//! <https://www.kernel.org/doc/html/latest/admin-guide/ext4.html> (`discard`)

use std::fs;
use std::path::Path;

use super::containers_dir;
use crate::trace;

/// A skeleton's records together (config.json, state.json, the /etc files, a log):
/// more than this and the container is deleted at once.
const LITTLE: u64 = 256 * 1024;

/// The prefix of a skeleton left for [`sweep`].
pub const PREFIX: &str = ".spent-";

/// Whether `dir`, a container's directory, is only a skeleton: an empty `upper/`,
/// overlayfs's `work/`, and files of [`LITTLE`] bytes at most in all.
pub fn is_skeleton(dir: &Path) -> bool {
    let Ok(entries) = fs::read_dir(dir) else {
        return false;
    };
    let mut bytes = 0;
    for entry in entries {
        let Ok(entry) = entry else { return false };
        let Ok(kind) = entry.file_type() else {
            return false;
        };
        let name = entry.file_name();
        let own = match name.to_str() {
            Some("upper") if kind.is_dir() => is_empty(&entry.path()),
            Some("work") if kind.is_dir() => true, // overlayfs's: a few empty directories
            _ if kind.is_file() => {
                bytes += entry.metadata().map_or(u64::MAX, |m| m.len());
                bytes <= LITTLE
            }
            _ => false, // a copied rootfs, a socket: deleted at once
        };
        if !own {
            return false;
        }
    }
    true
}

fn is_empty(dir: &Path) -> bool {
    fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_none())
}

/// Deletes the skeletons of removed containers. Any skiff may sweep at the same time:
/// one that finds an entry gone meanwhile leaves the rest to the next sweep.
pub fn sweep() {
    let Ok(entries) = fs::read_dir(containers_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(PREFIX) {
            if let Err(err) = fs::remove_dir_all(entry.path()) {
                trace::step(&format!("sweep {}: {err}", entry.path().display()));
            }
        }
    }
}
