//! Volumes: directories under the store that outlive containers, mounted into them with
//! `-v NAME:/path`, kept as Docker's `local` volume driver keeps them:
//!
//! ```text
//! volumes/<name>/_data     what containers see, bind-mounted on their path
//!                copy-up/  a copy being made (see below); debris if skiff was killed
//! ```
//!
//! `<name>`'s modification time is the volume's `CreatedAt`, as Docker's local driver
//! reports it. A volume is made the first time a container names it (or by `skiff
//! volume create`), under the store's lock, so two `run`s that make one at once share
//! it. It is the user's data: `rm`, `rmi` and garbage collection never touch a named
//! one; `volume rm` removes it, refused while any container, running or not, names it.
//! `-v /path` alone gets an anonymous volume (64 random hex digits), which `rm -v` and
//! `run --rm` remove with their container, as Docker does. (The paths in an image
//! config's `Volumes` get none yet: they stay in the container's writable layer.)
//!
//! Copy-up: when a container starts with an empty volume on a path where its image has
//! content, that content is copied in first (files, directories, symlinks, owners and
//! modes), so `-v data:/var/lib/app` begins with the image's files, as in Docker
//! (Docker copies when the container is created; skiff as it starts, so a volume that
//! was emptied since is filled again). The image is hostile: the path was resolved
//! inside the container's root (`layer::resolve_dir`), the copy never follows a symlink
//! (it copies the link), and it is built in `copy-up/` and moved into `_data` with
//! rename(2), which does not follow a link in its last component either, so a container
//! writing into the volume at that moment cannot steer the copy onto the host. A
//! flock(2) on the volume's directory makes two starts copy once.
//! <https://docs.docker.com/engine/storage/volumes/>
//! <https://man7.org/linux/man-pages/man2/rename.2.html>

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{lchown, symlink, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Context, Error, Kind, Result};
use crate::image::store::{self, Store};
use crate::{sys, time, trace};

/// The only driver skiff has, named as Docker names its own.
pub const DRIVER: &str = "local";

/// Docker's rule for a local volume's name: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn is_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && name.len() > 1
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

/// Whether skiff named it (64 hex digits, as `-v /path` and a nameless `volume create`
/// do): what `volume prune` removes without `-a`, as Docker 23 and later.
pub fn is_anonymous(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

fn dir(name: &str) -> PathBuf {
    store::root().join("volumes").join(name)
}

/// Where the volume's files are, on the host (`docker volume inspect`'s `Mountpoint`).
pub fn data(name: &str) -> PathBuf {
    dir(name).join("_data")
}

/// Makes volume `name` unless it exists (the store's lock is held).
pub fn create(_lock: &Store, name: &str) -> Result<()> {
    if !is_name(name) {
        return Err(Error::usage(format!(
            "invalid volume name {name:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
        )));
    }
    let data = data(name);
    if !data.is_dir() {
        trace::step(&format!("create volume {name}"));
        fs::create_dir_all(&data).with_context(|| format!("create volume {name}"))?;
    }
    Ok(())
}

/// Every volume's name, sorted, as `volume ls` lists them.
pub fn list() -> Result<Vec<String>> {
    let root = store::root().join("volumes");
    let entries = match fs::read_dir(&root) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        other => other.with_context(|| format!("read {}", root.display()))?,
    };
    let mut names = Vec::new();
    for entry in entries {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if is_name(&name) {
            let at = names.partition_point(|earlier| *earlier < name); // sorted as they come
            names.insert(at, name);
        }
    }
    Ok(names)
}

/// Fails, as Docker's CLI does, for a volume that does not exist.
pub fn existing(name: &str) -> Result<()> {
    match is_name(name) && data(name).is_dir() {
        true => Ok(()),
        false => Err(Error::new(Kind::Refused(format!("No such volume: {name}")))),
    }
}

/// When it was made, as RFC 3339.
pub fn created_at(name: &str) -> Result<String> {
    existing(name)?;
    let dir = dir(name);
    let meta = fs::metadata(&dir).with_context(|| format!("stat {}", dir.display()))?;
    Ok(time::format_rfc3339(meta.mtime()))
}

/// Deletes volume `name` and its files (the store's lock is held), unless a container
/// in `users` (their IDs) names it. Renamed away first, so that nobody mounts half of it.
pub fn remove(_lock: &Store, name: &str, users: &[String]) -> Result<()> {
    existing(name)?;
    if !users.is_empty() {
        return Err(Error::new(Kind::Refused(format!(
            "remove {name}: volume is in use - [{}]",
            users.join(", ")
        ))));
    }
    let doomed = store::root().join("volumes").join(format!(".gone-{name}"));
    fs::rename(dir(name), &doomed).with_context(|| format!("remove volume {name}"))?;
    fs::remove_dir_all(&doomed).with_context(|| format!("remove {}", doomed.display()))
}

/// Fills volume `name` from `from`, a directory of the container's root resolved inside
/// it, if the volume is empty.
pub fn copy_up(name: &str, from: &Path) -> Result<()> {
    existing(name)?;
    let dir = dir(name);
    let lock = File::open(&dir).with_context(|| format!("open {}", dir.display()))?;
    sys::flock_exclusive(&lock, &dir)?;
    fill(from, &dir).with_context(|| format!("copy into volume {name}"))
}

/// The copy, made in `copy-up/` (what a killed skiff left there is debris: the lock is
/// ours) and renamed into `_data`, which then takes `from`'s owner and mode, as Docker's.
fn fill(from: &Path, dir: &Path) -> Result<()> {
    let data = dir.join("_data");
    if fs::read_dir(&data)?.next().is_some() {
        return Ok(());
    }
    trace::step("the volume is empty: copy what the image has at its path into it");
    copy_contents(from, &data, Some(&dir.join("copy-up")))
}

/// Copies what the directory `from` holds into the directory `into`, and gives `into`
/// `from`'s owner and mode: a volume's first filling, by way of `temp` (on `into`'s
/// filesystem, renamed from: a volume is filled whole or not at all), and a tmpfs's
/// `tmpcopyup`, straight into the fresh tmpfs (`None`), which nobody sees half-filled
/// and where any name of the image's must fit.
pub fn copy_contents(from: &Path, into: &Path, temp: Option<&Path>) -> Result<()> {
    let staging = temp.unwrap_or(into);
    if let Some(temp) = temp {
        if fs::symlink_metadata(temp).is_ok() {
            fs::remove_dir_all(temp)?;
        }
        fs::create_dir(temp)?;
    }
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        copy_tree(&entry.path(), &staging.join(entry.file_name()))?;
    }
    if let Some(temp) = temp {
        for entry in fs::read_dir(temp)? {
            let entry = entry?;
            fs::rename(entry.path(), into.join(entry.file_name()))?;
        }
        fs::remove_dir(temp)?;
    }
    Ok(same_owner_and_mode(into, &fs::symlink_metadata(from)?)?)
}

/// Copies the tree at `from` to a new `to`: owners, modes and files' times kept,
/// symlinks copied as links and never followed, device nodes, FIFOs and sockets left
/// out (a volume is for data).
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    let copied = copy_one(from, to).with_context(|| format!("copy {}", from.display()))?;
    if let Some(entries) = copied {
        for entry in entries {
            let entry = entry?;
            copy_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
    }
    Ok(())
}

/// Copies one entry; a directory's entries are returned, for the caller to copy.
fn copy_one(from: &Path, to: &Path) -> io::Result<Option<fs::ReadDir>> {
    let meta = fs::symlink_metadata(from)?;
    let kind = meta.file_type();
    let entries = if kind.is_dir() {
        fs::create_dir(to)?;
        Some(fs::read_dir(from)?)
    } else if kind.is_symlink() {
        symlink(fs::read_link(from)?, to)?;
        None
    } else if kind.is_file() {
        let mut source = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(from)?;
        let mut copy = OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW)
            .mode(0o600)
            .open(to)?;
        // By hand: io::copy between two files brings std's copy_file_range/sendfile/splice
        // machinery into the binary, whose size is a tracked figure.
        let mut buffer = [0; 64 * 1024];
        loop {
            match source.read(&mut buffer)? {
                0 => break,
                n => copy.write_all(&buffer[..n])?,
            }
        }
        copy.set_modified(meta.modified()?)?;
        None
    } else {
        return Ok(None);
    };
    same_owner_and_mode(to, &meta)?;
    Ok(entries)
}

/// Owner first: chown(2) clears the setuid and setgid bits. A symlink has no mode of
/// its own (chmod(2) would follow it).
fn same_owner_and_mode(path: &Path, meta: &fs::Metadata) -> io::Result<()> {
    lchown(path, Some(meta.uid()), Some(meta.gid()))?;
    match meta.file_type().is_symlink() {
        true => Ok(()),
        false => fs::set_permissions(path, Permissions::from_mode(meta.mode() & 0o7777)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_dockers_rule() {
        for good in ["redisdata", "a1", "my_vol.2-x", "0abc"] {
            assert!(is_name(good), "{good}");
        }
        for bad in [
            "", "a", "_x", ".hidden", "-x", "a/b", "a b", "..", "é1", "x:y",
        ] {
            assert!(!is_name(bad), "{bad}");
        }
    }
}
