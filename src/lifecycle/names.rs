//! Container names: unique, and Docker-style `adjective_scientist` when not given.
//!
//! Each name is reserved by a symlink `containers/.names/NAME -> ID`. symlink(2) fails
//! if the name exists, so taking a name is one atomic step that costs the same with
//! ten containers or ten thousand; no record has to be read. A link whose container
//! is gone (a crash between reserving and recording, or in `rm`) is stale and free, as
//! is one that does not hold an ID; an index that is not a directory is rebuilt.
//!
//! The link holds the ID's 256 bits in base64url (RFC 4648 §5), 43 bytes: ext4 keeps a
//! target under 60 bytes in the inode itself (a "fast" symlink), where the 64 hex digits
//! would take a block of their own, to allocate at `run` and discard at `rm`. Links of
//! the 64-digit form, made before, are read as well.
//! <https://man7.org/linux/man-pages/man2/symlink.2.html>
//! <https://www.kernel.org/doc/html/latest/filesystems/ext4/dynamic.html#symbolic-links>

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::Container;
use crate::error::{Context, Error, Result};
use crate::sys;

const ADJECTIVES: [&str; 16] = [
    "brave", "calm", "eager", "fond", "gentle", "happy", "keen", "lucid", "merry", "nimble",
    "patient", "quiet", "sharp", "steady", "vivid", "witty",
];

const SCIENTISTS: [&str; 16] = [
    "curie",
    "darwin",
    "euler",
    "faraday",
    "hopper",
    "hypatia",
    "kepler",
    "lovelace",
    "meitner",
    "noether",
    "pasteur",
    "ramanujan",
    "ritchie",
    "thompson",
    "torvalds",
    "turing",
];

/// `containers/.names`, where the links are.
pub fn index_dir() -> PathBuf {
    super::containers_dir().join(".names")
}

/// The directory of name links, made (from the records, for a store that predates
/// it) on first use. The caller holds the store's lock.
pub fn index(existing: impl FnOnce() -> Result<Vec<Container>>) -> Result<PathBuf> {
    let dir = index_dir();
    if dir.is_dir() {
        return Ok(dir);
    }
    if fs::remove_file(&dir).is_ok() {
        eprintln!(
            "skiff: {} was damaged (not a directory): rebuilt from the containers' records",
            dir.display()
        );
    }
    let building = dir.with_extension("new");
    let _ = fs::remove_dir_all(&building); // debris of a crash while building it
    fs::create_dir(&building).with_context(|| format!("create {}", building.display()))?;
    for container in existing()? {
        if container.damage.is_some() {
            continue; // a dead container can only be removed: it needs no name
        }
        link(&building, &container.config.name, &container.config.id)?;
    }
    fs::rename(&building, &dir).with_context(|| format!("rename {}", building.display()))?;
    Ok(dir)
}

/// Takes `name` for container `id`. Fails, naming the owner, if a container has it.
pub fn reserve(index: &Path, name: &str, id: &str) -> Result<()> {
    // Most names are free: a link already there is looked at only when there is one.
    if link(index, name, id).is_ok() {
        return Ok(());
    }
    if let Some(owner) = owner(index, name) {
        return Err(Error::invalid(format!(
            "the container name \"/{name}\" is already in use by container \"{owner}\": remove (or rename) that container to reuse the name"
        )));
    }
    let _ = fs::remove_file(index.join(name)); // stale, if there at all
    link(index, name, id)
}

/// Gives `name` back, if container `id` still holds it.
pub fn release(index: &Path, name: &str, id: &str) {
    let path = index.join(name);
    if holder(&path).is_some_and(|holder| holder == id) {
        let _ = fs::remove_file(path);
    }
}

/// The ID a name link holds, of either form; `None` for a damaged one.
fn holder(link: &Path) -> Option<String> {
    let target = fs::read_link(link).ok()?;
    let target = target.to_str()?;
    let id = match target.len() {
        43 => {
            let nibbles = regroup(values(target, BASE64URL)?, 6, 4);
            spelled(&nibbles[..64], HEX)
        }
        _ => target.to_string(),
    };
    super::is_id(&id).then_some(id)
}

/// The ID of the container that holds `name`; `None` if none does, or only a stale link.
pub fn owner(index: &Path, name: &str) -> Option<String> {
    let id = holder(&index.join(name))?;
    let containers = index.parent()?;
    containers.join(&id).is_dir().then_some(id)
}

const HEX: &[u8] = b"0123456789abcdef";
const BASE64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// `id`'s 64 hex digits as 43 base64url ones.
fn packed(id: &str) -> String {
    let nibbles = values(id, HEX).unwrap_or_default(); // an ID is hex: skiff makes them
    spelled(&regroup(nibbles, 4, 6), BASE64URL)
}

/// Each character of `text` as its place in `digits`; `None` if one is not there.
fn values(text: &str, digits: &[u8]) -> Option<Vec<usize>> {
    text.bytes()
        .map(|b| digits.iter().position(|&d| d == b))
        .collect()
}

fn spelled(values: &[usize], digits: &[u8]) -> String {
    values.iter().map(|&v| char::from(digits[v])).collect()
}

/// `values` of `from` bits each as values of `to` bits, the last one padded with zeros.
fn regroup(values: Vec<usize>, from: u32, to: u32) -> Vec<usize> {
    let (mut out, mut bits, mut held) = (Vec::new(), 0, 0usize);
    for value in values {
        held = (held << from) | value;
        bits += from;
        while bits >= to {
            bits -= to;
            out.push(held >> bits);
            held &= (1 << bits) - 1;
        }
    }
    if bits > 0 {
        out.push(held << (to - bits));
    }
    out
}

/// `skiff rename`: the new name is reserved before the record says it and the old one
/// given back after, so that at no moment does either name belong to nobody's record
/// or to two containers. The caller holds the store's lock.
pub fn rename(container: &mut Container, name: &str) -> Result<()> {
    validate(name)?;
    if container.config.name == name {
        return Err(Error::invalid(
            "Renaming a container with the same name as its current name",
        ));
    }
    let index = index(super::list)?;
    reserve(&index, name, &container.config.id)?;
    let old = std::mem::replace(&mut container.config.name, name.to_string());
    let path = container.dir.join("config.json");
    if let Err(err) = super::write_json(&path, &miniserde::json::to_string(&container.config)) {
        release(&index, name, &container.config.id);
        return Err(err);
    }
    release(&index, &old, &container.config.id);
    Ok(())
}

fn link(index: &Path, name: &str, id: &str) -> Result<()> {
    match std::os::unix::fs::symlink(packed(id), index.join(name)) {
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Err(Error::invalid(format!(
            "the container name \"/{name}\" was taken meanwhile"
        ))),
        other => other.with_context(|| format!("reserve the name {name}")),
    }
}

/// A random name no container holds; a number is added once the pairs run out.
pub fn unused(index: &Path) -> Result<String> {
    let in_use = |name: &str| owner(index, name).is_some();
    for attempt in 0..64u32 {
        let mut bytes = [0u8; 2];
        sys::getrandom(&mut bytes)?;
        let adjective = ADJECTIVES[usize::from(bytes[0]) % ADJECTIVES.len()];
        let scientist = SCIENTISTS[usize::from(bytes[1]) % SCIENTISTS.len()];
        let name = match attempt {
            0..=31 => format!("{adjective}_{scientist}"),
            n => format!("{adjective}_{scientist}{n}"),
        };
        if !in_use(&name) {
            return Ok(name);
        }
    }
    Err(Error::invalid(
        "could not find an unused container name: pass --name",
    ))
}

/// Docker's rule for `--name`: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub fn validate(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if first_ok && rest_ok {
        return Ok(());
    }
    Err(Error::usage(format!(
        "invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_dockers_rule() {
        assert!(validate("web-1.a_b").is_ok());
        assert!(validate("_web").is_err());
        assert!(validate("").is_err());
        assert!(validate("a/b").is_err());
    }

    #[test]
    fn a_link_holds_the_id_in_43_bytes_and_either_form_reads_back() {
        let index = std::env::temp_dir().join(format!("skiff-links-{}", std::process::id()));
        fs::create_dir_all(&index).unwrap();
        let id = "0123456789abcdef".repeat(4);
        assert_eq!(packed(&id), "ASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4mrze8");
        link(&index, "new", &id).unwrap();
        std::os::unix::fs::symlink(&id, index.join("old")).unwrap();
        std::os::unix::fs::symlink(
            "ASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4mrze!",
            index.join("bad"),
        )
        .unwrap();
        let held = ["new", "old", "bad"].map(|name| holder(&index.join(name)));
        fs::remove_dir_all(&index).unwrap();
        assert_eq!(held, [Some(id.clone()), Some(id), None]);
    }

    #[test]
    fn generated_names_are_unused_and_valid() {
        let index = std::env::temp_dir().join(format!("skiff-names-{}", std::process::id()));
        fs::create_dir_all(&index).unwrap();
        let name = unused(&index).unwrap();
        fs::remove_dir_all(&index).unwrap();
        assert!(validate(&name).is_ok());
        assert!(name.contains('_'));
    }
}
