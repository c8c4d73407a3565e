//! `commit`: a container's changes as one more layer on its image.
//!
//! A container's changes are exactly its overlayfs upper directory: what it created or
//! changed is there (a changed file whole, copied up), and what it deleted is marked
//! there in overlayfs's own way. The layer is that directory as a tar archive, with
//! each mark turned into the OCI image-spec's:
//!
//! - a whiteout, a character device 0/0 named NAME → an empty file `.wh.NAME`;
//! - an opaque directory, with the attribute `trusted.overlay.opaque=y` (made where the
//!   container deleted a directory and made it again) → the directory, and in it an
//!   empty file `.wh..wh..opq`.
//!
//! What skiff itself put there is left out, as Docker keeps it in a layer of its own
//! that it never commits: the empty files that /etc/hosts, /etc/hostname and
//! /etc/resolv.conf are bind-mounted onto, and the empty /dev, /proc and /sys that get
//! their filesystems mounted over them. Extended attributes (file capabilities) and
//! hard links are not kept: each link is a file of its own.
//!
//! The layer is stored uncompressed (OCI's `…layer.v1.tar`), as Docker keeps a commit
//! until it pushes it and as `import` stores a plain tarball: its blob digest is then
//! its diff_id. The new config is the parent's, with the layer's diff_id, a history
//! step and the time; the manifest is OCI's, the parent's layers and this one.
//! <https://docs.kernel.org/filesystems/overlayfs.html#whiteouts-and-opaque-directories>
//! <https://github.com/opencontainers/image-spec/blob/main/layer.md#whiteouts>

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use miniserde::json::{self, Array, Object, Value};

use super::archive::{self, Descriptor, OCI_LAYER, OCI_LAYER_GZIP};
use super::store::Store;
use super::Image;
use crate::digest::Digest;
use crate::error::{Context, Error, Kind, Result};
use crate::sys;
use crate::time;

const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// What the new image's history says of the step that made it.
pub struct Step<'a> {
    /// The container's command, as Docker records it.
    pub created_by: String,
    /// `-m`.
    pub comment: Option<&'a str>,
    /// `-a`.
    pub author: Option<&'a str>,
}

/// Makes the image of `parent` (a manifest) plus the changes in `upper`, tagged
/// `reference`; returns its config's digest, the image ID. A failure leaves nothing.
pub fn commit(
    store: &Store,
    upper: &Path,
    parent: &Digest,
    step: &Step,
    reference: &str,
) -> Result<Digest> {
    store.all_or_nothing(|| make(store, upper, parent, step, reference))
}

fn make(
    store: &Store,
    upper: &Path,
    parent: &Digest,
    step: &Step,
    reference: &str,
) -> Result<Digest> {
    let scratch = store.scratch("commit")?;
    let tarball = scratch.path().join("layer.tar");
    // Unbuffered: tar writes whole 512-byte blocks, and file data in large copies.
    let mut file = File::create(&tarball)?;
    let mut tar = tar::Builder::new(&mut file as &mut dyn Write);
    add_dir(&mut tar, upper, Path::new("")).context("read the container's changes")?;
    tar.into_inner()?;
    let (diff_id, size) = store.add_blob(File::open(&tarball)?)?;
    scratch.remove()?;
    let image = Image::load(store, parent)?;
    let mut layers = Vec::new();
    for layer in &image.layers {
        let media_type = layer.media_type.as_deref().unwrap_or(OCI_LAYER_GZIP);
        layers.push(Descriptor {
            // The same bytes under OCI's name for them: one family in one manifest.
            media_type: match media_type {
                DOCKER_LAYER_GZIP => OCI_LAYER_GZIP,
                other => other,
            }
            .into(),
            digest: layer.digest.clone(),
            size: layer.size.unwrap_or_default(),
        });
    }
    layers.push(Descriptor {
        media_type: OCI_LAYER.into(),
        digest: diff_id.to_string(),
        size,
    });
    let config = child_config(&store.read_blob(&image.config_digest)?, &diff_id, step)?;
    let (config, config_size) = store.add_blob(config.as_bytes())?;
    let manifest = archive::store_manifest(store, config.clone(), config_size, layers)?;
    archive::tag(store, reference, &manifest)?;
    Ok(config)
}

/// The parent's config (every field of it kept, known to skiff or not), with the new
/// layer's diff_id, its history step, and the time it was made.
fn child_config(parent: &[u8], diff_id: &Digest, step: &Step) -> Result<String> {
    let malformed = || {
        Error::new(Kind::Json {
            what: "the image's config".into(),
        })
    };
    let text = std::str::from_utf8(parent).map_err(|_| malformed())?;
    let mut config: Object = json::from_str(text).map_err(|_| malformed())?;
    let now = Value::String(time::format_rfc3339(time::now()));
    let mut entry = Object::new();
    entry.insert("created".into(), now.clone());
    entry.insert("created_by".into(), Value::String(step.created_by.clone()));
    for (key, value) in [("comment", step.comment), ("author", step.author)] {
        if let Some(value) = value {
            entry.insert(key.into(), Value::String(value.into()));
        }
    }
    if let Some(author) = step.author {
        config.insert("author".into(), Value::String(author.into()));
    }
    config.insert("created".into(), now);
    push(config.entry("history".into()), Value::Object(entry));
    let Some(Value::Object(rootfs)) = config.get_mut("rootfs") else {
        return Err(malformed());
    };
    push(
        rootfs.entry("diff_ids".into()),
        Value::String(diff_id.to_string()),
    );
    Ok(json::to_string(&config))
}

/// Appends to the array at `slot`, made if missing (or not an array).
fn push(slot: std::collections::btree_map::Entry<String, Value>, item: Value) {
    let value = slot.or_insert_with(|| Value::Array(Array::new()));
    if !matches!(value, Value::Array(_)) {
        *value = Value::Array(Array::new());
    }
    if let Value::Array(items) = value {
        items.push(item);
    }
}

/// Appends what `dir` of `upper` holds (`dir` as named in the layer), in name order, so
/// the same changes always make the same layer.
fn add_dir(tar: &mut tar::Builder<&mut dyn Write>, upper: &Path, dir: &Path) -> Result<()> {
    let mut names = BTreeSet::new();
    for entry in fs::read_dir(upper.join(dir))? {
        names.insert(dir.join(entry?.file_name()));
    }
    for name in names {
        let path = upper.join(&name);
        let meta = fs::symlink_metadata(&path)?;
        if !skiffs_own(&path, &name, &meta) {
            add(tar, upper, &name, &meta).with_context(|| format!("add {}", name.display()))?;
        }
    }
    Ok(())
}

/// What skiff made for its mounts, which Docker would not commit (see the module doc).
fn skiffs_own(path: &Path, name: &Path, meta: &fs::Metadata) -> bool {
    let name = name.to_str().unwrap_or_default();
    let stub = ["etc/hosts", "etc/hostname", "etc/resolv.conf"].contains(&name);
    let mount_point = ["dev", "proc", "sys"].contains(&name);
    (stub && meta.is_file() && meta.len() == 0)
        || (mount_point
            && meta.is_dir()
            && fs::read_dir(path).is_ok_and(|mut d| d.next().is_none()))
}

/// One entry of the upper dir, with its owner, mode and time; a directory with all
/// it holds.
fn add(
    tar: &mut tar::Builder<&mut dyn Write>,
    upper: &Path,
    name: &Path,
    meta: &fs::Metadata,
) -> Result<()> {
    let path = &upper.join(name);
    let mut header = tar::Header::new_gnu();
    header.set_metadata(meta);
    let kind = meta.file_type();
    if kind.is_char_device() && meta.rdev() == 0 {
        let file_name = name.file_name().unwrap_or_default().to_string_lossy();
        return Ok(marker(
            tar,
            header,
            &name.with_file_name(format!(".wh.{file_name}")),
        )?);
    }
    if kind.is_symlink() {
        return Ok(tar.append_link(&mut header, name, fs::read_link(path)?)?);
    }
    if kind.is_file() {
        return Ok(tar.append_data(&mut header, name, &mut File::open(path)?)?);
    }
    if kind.is_socket() {
        return Ok(()); // a socket is a live endpoint, not content (Docker skips them too)
    }
    // Linux's dev_t: the major number in bits 8-19 and 32-63, the minor in the rest.
    let dev = meta.rdev();
    header.set_device_major(((dev >> 32) & 0xffff_f000 | (dev >> 8) & 0xfff) as u32)?;
    header.set_device_minor(((dev >> 12) & 0xffff_ff00 | dev & 0xff) as u32)?;
    tar.append_data(&mut header, name, &[][..])?;
    if kind.is_dir() {
        if sys::lgetxattr_is(path, "trusted.overlay.opaque".as_ref(), b"y")? {
            marker(tar, header, &name.join(".wh..wh..opq"))?;
        }
        add_dir(tar, upper, name)?;
    }
    Ok(())
}

/// An OCI whiteout marker: an empty regular file, with the owner and mode of what it
/// stands for.
fn marker(
    tar: &mut tar::Builder<&mut dyn Write>,
    mut header: tar::Header,
    name: &Path,
) -> io::Result<()> {
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(0);
    tar.append_data(&mut header, name, &[][..])
}
