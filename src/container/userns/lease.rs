//! The leases of `--userns=auto`'s ranges: which offsets into skiff's range of host
//! IDs (`/etc/subuid`'s `skiff` line, see `userns`) each container holds.
//!
//! A lease is a file `/run/skiff/userns/OFFSET` holding `COUNT HOLDER`, written under
//! a flock(2) on `/run/skiff/userns.lock`, as the network's address leases are (a
//! rootless user's in their own runtime directory, `rootless::runtime_dir`). Its
//! holder is the container's directory, which also records the range (`userns`,
//! `OFFSET SIZE`): the container keeps it from one start to the next, since its upper
//! layer and volumes are owned by it. `rm` gives a lease back, and any lease taken
//! frees those whose holder is gone. /run is a tmpfs, emptied at reboot while the
//! store stays: each lease taken first relearns the ranges the store's containers
//! recorded, and a container whose range another holds is refused, never moved.
//!
//! <https://man7.org/linux/man-pages/man2/flock.2.html>
//! <https://man7.org/linux/man-pages/man5/subuid.5.html>

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use super::{skiff_range, DEFAULT_SIZE};
use crate::container::id_map::Ids;
use crate::error::{Context, Error, Result};
use crate::sys;

/// The leases' directory, beside the network's (`/run/skiff` for root).
fn leases() -> PathBuf {
    crate::rootless::runtime_dir().join("userns")
}

/// The offset into skiff's range of `holder`'s `size` IDs: the one it had before,
/// else the lowest free; leased under the lock. A container never moves: its upper
/// layer and volumes are owned by its range, so if that range is taken it is refused.
pub fn take(holder: &Path, size: u32) -> Result<u32> {
    let _lock = lock()?;
    let capacity = skiff_range(Ids::User)?.1.min(skiff_range(Ids::Group)?.1);
    let mut held = live_leases(Some(holder))?;
    relearn(holder, &mut held)?;
    let offset = match recorded(holder) {
        Some((offset, _)) if free(&held, offset, size, capacity) => offset,
        Some((offset, _)) => {
            return Err(Error::invalid(format!(
                "its host IDs (offset {offset} in skiff's range) are taken by another container: remove one of them"
            )))
        }
        None => first_free(&held, size, capacity)
            .ok_or_else(|| Error::invalid(format!("no {size} host IDs left in skiff's range")))?,
    };
    write_lease((offset, size), holder)?;
    let record = holder.join("userns");
    fs::write(&record, format!("{offset} {size}"))
        .with_context(|| format!("write {}", record.display()))?;
    Ok(offset)
}

/// A container's range as its directory records it: `OFFSET SIZE` (the offset alone
/// from an older skiff, of the default size).
pub fn recorded(dir: &Path) -> Option<(u32, u32)> {
    let text = fs::read_to_string(dir.join("userns")).ok()?;
    let mut words = text.split_whitespace();
    let offset = words.next()?.parse().ok()?;
    let size = words
        .next()
        .map_or(Some(DEFAULT_SIZE), |w| w.parse().ok())?;
    Some((offset, size))
}

/// Leases again the ranges that `holder`'s fellow containers recorded and that no
/// lease names: a reboot empties /run/skiff, not the store.
fn relearn(holder: &Path, held: &mut Vec<(u32, u32)>) -> Result<()> {
    let Some(Ok(entries)) = holder.parent().map(fs::read_dir) else {
        return Ok(());
    };
    for dir in entries.flatten().map(|entry| entry.path()) {
        match recorded(&dir) {
            Some(range) if dir != holder && !held.contains(&range) => {
                write_lease(range, &dir)?;
                held.push(range);
            }
            _ => {}
        }
    }
    Ok(())
}

fn write_lease((offset, size): (u32, u32), holder: &Path) -> Result<()> {
    let lease = leases().join(offset.to_string());
    let text = format!("{size} {}", holder.display());
    fs::write(&lease, text).with_context(|| format!("write {}", lease.display()))
}

/// Gives back the ranges of containers that are gone (their directories removed).
pub fn release() -> Result<()> {
    if !leases().exists() {
        return Ok(()); // never leased: nothing to lock for
    }
    let _lock = lock()?;
    live_leases(None).map(drop)
}

fn lock() -> Result<File> {
    let dir = leases();
    fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    sys::lock_file(&dir.with_extension("lock"))
}

/// Every lease as `(offset, count)`, once those whose holder is gone, or is `ours`
/// (about to lease again), are removed.
fn live_leases(ours: Option<&Path>) -> Result<Vec<(u32, u32)>> {
    let mut held = Vec::new();
    let dir = leases();
    for entry in fs::read_dir(&dir).with_context(|| format!("read {}", dir.display()))? {
        let path = entry?.path();
        let text = fs::read_to_string(&path).unwrap_or_default();
        let (count, holder) = text.split_once(' ').unwrap_or_default();
        let offset = path.file_name().and_then(|n| n.to_str()?.parse().ok());
        match (offset, count.parse()) {
            (Some(offset), Ok(count))
                if Some(Path::new(holder)) != ours && Path::new(holder).exists() =>
            {
                held.push((offset, count));
            }
            _ => fs::remove_file(&path).with_context(|| format!("remove {}", path.display()))?,
        }
    }
    Ok(held)
}

/// Whether `size` IDs from `offset` fit in `capacity` and overlap no lease of `held`.
fn free(held: &[(u32, u32)], offset: u32, size: u32, capacity: u32) -> bool {
    let end = u64::from(offset) + u64::from(size);
    end <= u64::from(capacity)
        && held.iter().all(|&(first, count)| {
            end <= u64::from(first) || u64::from(first) + u64::from(count) <= u64::from(offset)
        })
}

/// The lowest offset where `size` IDs are free: right after some lease, or at 0.
fn first_free(held: &[(u32, u32)], size: u32, capacity: u32) -> Option<u32> {
    let ends = held.iter().map(|&(first, count)| first.checked_add(count));
    let mut candidates: Vec<u32> = std::iter::once(Some(0)).chain(ends).flatten().collect();
    crate::sort::sort_by(&mut candidates, u32::cmp);
    candidates
        .into_iter()
        .find(|&offset| free(held, offset, size, capacity))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_take_the_lowest_free_range() {
        assert_eq!(first_free(&[], 10, 100), Some(0));
        assert_eq!(first_free(&[(0, 10), (20, 10)], 10, 100), Some(10));
        assert_eq!(first_free(&[(0, 10), (20, 10)], 11, 100), Some(30));
        assert_eq!(first_free(&[(0, 10), (20, 10)], 80, 100), None);
        assert!(!free(&[(5, 10)], 0, 6, 100));
        assert!(free(&[(5, 10)], 15, 85, 100));
    }
}
