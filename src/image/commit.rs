//! `commit`: a container's changes as one more layer on its image.
//!
//! A container's changes are exactly its overlayfs upper directory (see `changes`,
//! which also leaves out what skiff made there for its own mounts). The layer is that
//! directory as a tar archive, with overlayfs's marks turned into the OCI image-spec's:
//!
//! - a whiteout, a character device 0/0 named NAME → an empty file `.wh.NAME`;
//! - an opaque directory → the directory, and in it an empty file `.wh..wh..opq`.
//!
//! Extended attributes (file capabilities) and hard links are not kept: each link is
//! a file of its own. A container with a user namespace of its own stored its files
//! under host IDs: they are mapped back to its own (`id_map::Maps::inside`), as Docker
//! does with userns-remap, so the image means the same wherever it runs.
//!
//! The layer is stored uncompressed (OCI's `…layer.v1.tar`), as Docker keeps a commit
//! until it pushes it and as `import` stores a plain tarball: its blob digest is then
//! its diff_id. The new config is the parent's, with the layer's diff_id, a history
//! step and the time; the manifest is OCI's, the parent's layers and this one.
//! <https://docs.kernel.org/filesystems/overlayfs.html#whiteouts-and-opaque-directories>
//! <https://github.com/opencontainers/image-spec/blob/main/layer.md#whiteouts>

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use miniserde::json::{self, Array, Object, Value};

use super::archive::{self, Descriptor, OCI_LAYER, OCI_LAYER_GZIP};
use super::changes::{self, Change};
use super::store::Store;
use super::Image;
use crate::container::id_map::Maps;
use crate::digest::Digest;
use crate::error::{Context, Error, Kind, Result};
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
    (upper, maps): (&Path, Option<&Maps>),
    parent: &Digest,
    step: &Step,
    reference: &str,
) -> Result<Digest> {
    store.all_or_nothing(|| make(store, (upper, maps), parent, step, reference))
}

fn make(
    store: &Store,
    (upper, maps): (&Path, Option<&Maps>),
    parent: &Digest,
    step: &Step,
    reference: &str,
) -> Result<Digest> {
    let scratch = store.scratch("commit")?;
    let tarball = scratch.path().join("layer.tar");
    // Unbuffered: tar writes whole 512-byte blocks, and file data in large copies.
    let mut file = File::create(&tarball)?;
    let mut tar = tar::Builder::new(&mut file as &mut dyn Write);
    write_layer(&mut tar, upper, maps).context("read the container's changes")?;
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

/// Appends each change in `upper` (see `changes`), in the walk's order, so the same
/// changes always make the same layer.
fn write_layer(
    tar: &mut tar::Builder<&mut dyn Write>,
    upper: &Path,
    maps: Option<&Maps>,
) -> Result<()> {
    changes::walk(upper, &[], &mut |change| {
        add(tar, upper, change, maps).with_context(|| format!("add {}", change.path.display()))
    })
}

/// One change, with its owner, mode and time, and overlayfs's marks turned into OCI's.
fn add(
    tar: &mut tar::Builder<&mut dyn Write>,
    upper: &Path,
    change: &Change,
    maps: Option<&Maps>,
) -> Result<()> {
    let (name, meta) = (change.path, change.meta);
    let mut header = tar::Header::new_gnu();
    header.set_metadata(meta);
    if let Some(maps) = maps {
        let (uid, gid) = maps.inside(meta.uid(), meta.gid());
        header.set_uid(uid.into());
        header.set_gid(gid.into());
    }
    if change.kind == changes::Kind::Deleted {
        let file_name = name.file_name().unwrap_or_default().to_string_lossy();
        let whiteout = name.with_file_name(format!(".wh.{file_name}"));
        return Ok(marker(tar, header, &whiteout)?);
    }
    if meta.file_type().is_socket() {
        return Ok(()); // a socket is a live endpoint, not content (Docker skips them too)
    }
    changes::append(tar, &mut header, &upper.join(name), name, meta)?;
    if change.kind == changes::Kind::Opaque {
        marker(tar, header, &name.join(".wh..wh..opq"))?;
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
